// Answers as Markdown, safely: marked (GitHub-flavoured) with every piece of raw HTML escaped, links
// only to http(s)/mailto, no images (a model must not make the page load URLs), code blocks with a
// Copy button, and citations [1] turned into links to the answer's sources when it has them.
import { Marked } from './vendor/marked.esm.js';

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const SAFE_URL = /^(https?:|mailto:)/i;

/** How many sources the message being rendered has (citations beyond that stay plain text). */
let citeCount = 0;

const citation = {
  name: 'citation',
  level: 'inline',
  start(src) {
    const m = /\[\d/.exec(src);
    return m ? m.index : undefined;
  },
  tokenizer(src) {
    const m = /^\[(\d{1,2})\](?![(:[])/.exec(src);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= citeCount) return { type: 'citation', raw: m[0], n: Number(m[1]) };
    return undefined;
  },
  renderer(token) {
    return `<sup class="cite"><a href="#" data-cite="${token.n}" title="Source ${token.n}">${token.n}</a></sup>`;
  },
};

const marked = new Marked({ gfm: true, breaks: true, async: false });
marked.use({
  extensions: [citation],
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    link({ href, tokens }) {
      const text = this.parser.parseInline(tokens);
      if (!SAFE_URL.test(href ?? '')) return text;
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer nofollow">${text}</a>`;
    },
    image({ text }) {
      return escapeHtml(text ? `[image: ${text}]` : '[image]');
    },
    code({ text, lang }) {
      const language = (lang ?? '').split(/\s/)[0];
      return (
        `<div class="code"><div class="code-head"><span>${escapeHtml(language || 'code')}</span>` +
        `<button type="button" class="copy-code">Copy</button></div><pre><code>${escapeHtml(text)}</code></pre></div>`
      );
    },
  },
});

/** Markdown → HTML string safe to assign to innerHTML. */
export function renderMarkdown(text, sourceCount = 0) {
  citeCount = sourceCount;
  try {
    return marked.parse(text);
  } catch {
    return `<p>${escapeHtml(text)}</p>`;
  } finally {
    citeCount = 0;
  }
}
