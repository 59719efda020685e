// How messages look: a user bubble (plain text), an assistant bubble (sanitised Markdown), the sources
// an answer was given (numbered like its [n] citations), and a line of stats and actions (Copy,
// Regenerate on the last answer). Pure DOM building; app.js decides when to render.
/* global document, navigator */
import { renderMarkdown } from './markdown.js';

export function statsText(stats) {
  if (!stats) return '';
  const parts = [`${stats.tokens} tokens`];
  if (stats.tps) parts.push(`${stats.tps.toFixed(1)} tok/s`);
  if (stats.finish === 'length') parts.push('cut at the token limit');
  if (stats.finish === 'stopped') parts.push('stopped');
  return parts.join(' · ');
}

export function messageView(c, m, i, { streaming, onRegenerate }) {
  const wrap = document.createElement('article');
  wrap.className = `msg ${m.role}`;
  wrap.dataset.index = String(i);
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  if (m.role === 'user') bubble.textContent = m.content;
  else {
    bubble.innerHTML = renderMarkdown(m.content, m.sources?.length ?? 0);
    if (streaming === m) bubble.classList.add('pending');
  }
  wrap.append(bubble);
  if (m.role === 'assistant') {
    if (m.sources?.length) wrap.append(sourcesView(m.sources, i));
    const meta = document.createElement('div');
    meta.className = 'meta';
    if (m.error) {
      const e = document.createElement('span');
      e.className = 'error';
      e.textContent = m.error;
      meta.append(e);
    }
    const s = document.createElement('span');
    s.className = 'stat';
    s.textContent = statsText(m.stats);
    meta.append(s);
    if (streaming !== m) {
      meta.append(actionButton('Copy', () => navigator.clipboard?.writeText(m.content)));
      if (i === c.messages.length - 1) meta.append(actionButton('Regenerate', onRegenerate, 'regenerate'));
    }
    wrap.append(meta);
  }
  return wrap;
}

function sourcesView(sources, msgIndex) {
  const box = document.createElement('div');
  box.className = 'sources';
  box.append('Sources');
  const ol = document.createElement('ol');
  for (const s of sources) {
    const li = document.createElement('li');
    li.id = `src-${msgIndex}-${s.index}`;
    li.value = s.index;
    const isUrl = /^https?:\/\//i.test(s.source);
    const title = document.createElement(isUrl ? 'a' : 'span');
    title.textContent = s.title || s.source;
    if (isUrl) {
      title.href = s.source;
      title.target = '_blank';
      title.rel = 'noopener noreferrer nofollow';
    }
    const where = document.createElement('span');
    where.className = 'where';
    where.textContent = s.source && s.source !== s.title ? ` — ${s.source}` : '';
    li.append(title, where);
    ol.append(li);
  }
  box.append(ol);
  return box;
}

function actionButton(label, onClick, cls = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', onClick);
  return b;
}

