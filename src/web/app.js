// The chat page's behaviour: conversations (sidebar, kept in localStorage by store.js), sending a
// message and streaming the answer into the page as Markdown, Stop (aborts the request, which stops
// the model on the server), Regenerate, settings (system prompt, sampling, API key), the Search toggle
// with the sources an answer cites, and tokens per second. One answer streams at a time. Served
// without a model (no /props: `phi3 serve --static`, a static host) the same page runs the engine in
// this browser: local.js answers getProps/streamChat as the server would, models.js picks the model.
/* global document, window, requestAnimationFrame, performance, navigator, AbortController */
import { ApiError, getProps, streamChat } from './api.js';
import { LocalEngine } from './local.js';
import { setupModels } from './models.js';
import { messageView, statsText } from './view.js';
import { loadConversations, loadSettings, newConversation, saveConversations, saveSettings, titleFor } from './store.js';

const $ = (id) => document.getElementById(id);
const els = {
  sidebar: $('sidebar'), scrim: $('scrim'), list: $('conversations'), messages: $('messages'), empty: $('empty'),
  input: $('input'), send: $('send'), stop: $('stop'), composer: $('composer'), title: $('chat-title'), model: $('model-name'),
  searchToggle: $('search-toggle'), search: $('search'), liveStats: $('live-stats'), dialog: $('settings'), keyNote: $('key-note'),
};

const state = {
  conversations: loadConversations(),
  currentId: null,
  settings: loadSettings(),
  props: null,
  /** {controller, message, conversation} while an answer streams */
  streaming: null,
};

/** Where answers come from: the server (api.js), or the engine in this browser (local.js). */
let api = { getProps, streamChat, local: false };

const current = () => state.conversations.find((c) => c.id === state.currentId) ?? null;

function persist() {
  saveConversations(state.conversations);
}

// ---------- sidebar ----------

function renderList() {
  els.list.replaceChildren();
  const sorted = [...state.conversations].sort((a, b) => b.updatedAt - a.updatedAt);
  for (const c of sorted) {
    const row = document.createElement('div');
    row.className = `conv${c.id === state.currentId ? ' active' : ''}`;
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'conv-open';
    open.textContent = c.title;
    open.title = c.title;
    open.addEventListener('click', () => selectConversation(c.id));
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'conv-delete';
    del.textContent = '✕';
    del.setAttribute('aria-label', `Delete "${c.title}"`);
    del.addEventListener('click', () => deleteConversation(c.id));
    row.append(open, del);
    els.list.append(row);
  }
}

function selectConversation(id) {
  if (state.streaming) stopStreaming();
  state.currentId = id;
  renderList();
  renderMessages();
  closeSidebar();
}

function deleteConversation(id) {
  if (state.streaming?.conversation.id === id) stopStreaming();
  state.conversations = state.conversations.filter((c) => c.id !== id);
  persist();
  if (state.currentId === id) state.currentId = null;
  renderList();
  renderMessages();
}

function openSidebar() {
  els.sidebar.classList.add('open');
  els.scrim.hidden = false;
}

function closeSidebar() {
  els.sidebar.classList.remove('open');
  els.scrim.hidden = true;
}

// ---------- messages ----------

const viewOptions = () => ({ streaming: state.streaming?.message, onRegenerate: regenerate });

function renderMessages() {
  const c = current();
  els.title.textContent = c?.title ?? 'New chat';
  els.messages.replaceChildren(els.empty);
  els.empty.hidden = !!c?.messages.length;
  if (c) c.messages.forEach((m, i) => els.messages.append(messageView(c, m, i, viewOptions())));
  els.messages.scrollTop = els.messages.scrollHeight;
}

/** Re-renders only the streaming message (at most once per frame). */
let frameQueued = false;
function updateStreaming() {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(() => {
    frameQueued = false;
    const s = state.streaming;
    if (!s || s.conversation.id !== state.currentId) return;
    const i = s.conversation.messages.indexOf(s.message);
    const old = els.messages.querySelector(`article[data-index="${i}"]`);
    const nearBottom = els.messages.scrollHeight - els.messages.scrollTop - els.messages.clientHeight < 80;
    const view = messageView(s.conversation, s.message, i, viewOptions());
    if (old) old.replaceWith(view);
    else els.messages.append(view);
    if (nearBottom) els.messages.scrollTop = els.messages.scrollHeight;
  });
}

// ---------- sending ----------

function setBusy(busy) {
  els.send.hidden = busy;
  els.stop.hidden = !busy;
  els.input.disabled = false;
}

async function send(text) {
  if (state.streaming) return;
  let c = current();
  if (!c) {
    c = newConversation();
    state.conversations.push(c);
    state.currentId = c.id;
  }
  if (c.messages.length === 0) c.title = titleFor(text);
  c.messages.push({ role: 'user', content: text });
  await answer(c);
}

async function regenerate() {
  const c = current();
  if (!c || state.streaming) return;
  while (c.messages.length && c.messages[c.messages.length - 1].role === 'assistant') c.messages.pop();
  if (c.messages.length) await answer(c);
}

async function answer(c) {
  const s = state.settings;
  const history = c.messages.filter((m) => !m.error || m.content).map((m) => ({ role: m.role, content: m.content }));
  const message = { role: 'assistant', content: '', stats: null, pending: true };
  c.messages.push(message);
  c.updatedAt = Date.now();
  const controller = new AbortController();
  state.streaming = { controller, message, conversation: c };
  setBusy(true);
  renderList();
  renderMessages();
  persist();

  const body = {
    model: state.props?.model,
    messages: s.system.trim() ? [{ role: 'system', content: s.system.trim() }, ...history] : history,
    temperature: Number(s.temperature),
    top_p: Number(s.top_p),
  };
  if (Number(s.max_tokens) > 0) body.max_tokens = Number(s.max_tokens);
  if (s.seed !== '' && Number.isInteger(Number(s.seed))) body.seed = Number(s.seed);
  if (els.search.checked && state.props?.search) body.search = true;

  const started = performance.now();
  let firstAt = 0;
  let pieces = 0;
  let lastSave = 0;
  try {
    await api.streamChat(body, {
      apiKey: s.apiKey,
      signal: controller.signal,
      onChunk(chunk) {
        if (chunk.sources) message.sources = chunk.sources;
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) {
          if (!firstAt) firstAt = performance.now();
          pieces++;
          message.content += choice.delta.content;
          const secs = (performance.now() - firstAt) / 1000;
          message.stats = { tokens: pieces, tps: secs > 0.2 ? (pieces - 1) / secs : 0 };
          els.liveStats.textContent = statsText(message.stats);
        }
        if (choice?.finish_reason) message.stats = { ...(message.stats ?? { tokens: 0 }), finish: choice.finish_reason };
        if (chunk.usage) {
          const t = chunk.timings;
          message.stats = { ...(message.stats ?? {}), tokens: chunk.usage.completion_tokens, tps: t?.predicted_per_second || message.stats?.tps || 0 };
        }
        updateStreaming();
        // Save now and then, so a reload mid-answer keeps what has arrived.
        if (performance.now() - lastSave > 400) {
          lastSave = performance.now();
          persist();
        }
      },
    });
  } catch (e) {
    if (controller.signal.aborted) message.stats = { ...(message.stats ?? { tokens: pieces }), finish: 'stopped' };
    else {
      message.error = e instanceof ApiError ? e.message : api.local ? `the engine failed (${e.message})` : `could not reach the server (${e.message})`;
      if (e instanceof ApiError && e.status === 401) openSettings(true);
    }
  } finally {
    if (!message.stats) message.stats = { tokens: pieces, tps: 0 };
    delete message.pending;
    message.stats.ms = Math.round(performance.now() - started);
    state.streaming = null;
    c.updatedAt = Date.now();
    persist();
    setBusy(false);
    els.liveStats.textContent = '';
    renderList();
    if (c.id === state.currentId) renderMessages();
  }
}

function stopStreaming() {
  state.streaming?.controller.abort();
}

// ---------- settings ----------

function openSettings(needKey = false) {
  const s = state.settings;
  $('s-system').value = s.system;
  $('s-temperature').value = String(s.temperature);
  $('s-top-p').value = String(s.top_p);
  $('s-max-tokens').value = String(s.max_tokens);
  $('s-seed').value = String(s.seed);
  $('s-api-key').value = s.apiKey;
  els.keyNote.hidden = !needKey;
  if (!els.dialog.open) els.dialog.showModal();
}

function readSettings() {
  const num = (id, fallback, lo, hi) => {
    const v = Number($(id).value);
    return $(id).value.trim() === '' || !Number.isFinite(v) ? fallback : Math.min(hi, Math.max(lo, v));
  };
  const s = state.settings;
  state.settings = {
    ...s,
    system: $('s-system').value,
    temperature: num('s-temperature', s.temperature, 0, 2),
    top_p: num('s-top-p', s.top_p, 0.01, 1),
    max_tokens: Math.round(num('s-max-tokens', s.max_tokens, 0, 1e6)),
    seed: $('s-seed').value.trim() === '' ? '' : Math.round(num('s-seed', 0, -(2 ** 31), 2 ** 31)),
    apiKey: $('s-api-key').value.trim(),
  };
  saveSettings(state.settings);
}

/** No /props here (404, or a page opened from a static host or file): run the engine in this browser. */
function goLocal() {
  const engine = new LocalEngine();
  api = { getProps: () => engine.getProps(), streamChat: (body, o) => engine.streamChat(body, o), local: true };
  window.phi3Engine = engine; // for the browser tests and the console
  // keep the page and the engine for offline visits (the model itself is kept in OPFS)
  navigator.serviceWorker?.register('./sw.js').catch(() => undefined);
  const autoload = setupModels(engine, () => void connect());
  els.model.textContent = 'no model loaded: pick one (Models)';
  return autoload();
}

async function connect() {
  try {
    state.props = await api.getProps(state.settings.apiKey);
    els.model.textContent = `${state.props.model} · context ${state.props.context_size}` + (state.props.local ? ` · in this browser (${state.props.backend})` : '');
    els.searchToggle.hidden = !state.props.search;
    els.search.checked = !!state.settings.search && !!state.props.search;
  } catch (e) {
    if (!api.local && ((e instanceof ApiError && e.status === 404) || !(e instanceof ApiError))) return goLocal();
    if (api.local) {
      els.model.textContent = 'no model loaded: pick one (Models)';
      return;
    }
    els.model.textContent = e instanceof ApiError && e.status === 401 ? 'API key needed (Settings)' : `offline: ${e.message}`;
    if (e instanceof ApiError && e.status === 401) openSettings(true);
  }
}

// ---------- wiring ----------

els.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = els.input.value.trim();
  if (!text || state.streaming) return;
  els.input.value = '';
  autosize();
  void send(text);
});
els.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    els.composer.requestSubmit();
  }
});
function autosize() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, window.innerHeight * 0.4)}px`;
}
els.input.addEventListener('input', autosize);
els.stop.addEventListener('click', stopStreaming);
$('new-chat').addEventListener('click', () => {
  if (state.streaming) stopStreaming();
  state.currentId = null;
  renderList();
  renderMessages();
  closeSidebar();
  els.input.focus();
});
$('toggle-sidebar').addEventListener('click', openSidebar);
els.scrim.addEventListener('click', closeSidebar);
$('open-settings').addEventListener('click', () => openSettings());
$('open-settings-top').addEventListener('click', () => openSettings());
els.dialog.addEventListener('close', () => {
  if (els.dialog.returnValue !== 'save') return;
  readSettings();
  void connect();
});
els.search.addEventListener('change', () => {
  state.settings = { ...state.settings, search: els.search.checked };
  saveSettings(state.settings);
});
els.messages.addEventListener('click', (e) => {
  const target = e.target instanceof window.Element ? e.target : null;
  const copy = target?.closest('.copy-code');
  if (copy) {
    const code = copy.closest('.code')?.querySelector('code')?.textContent ?? '';
    void navigator.clipboard?.writeText(code);
    copy.textContent = 'Copied';
    return;
  }
  const cite = target?.closest('a[data-cite]');
  if (cite) {
    e.preventDefault();
    const msg = cite.closest('article');
    const li = document.getElementById(`src-${msg?.dataset.index}-${cite.dataset.cite}`);
    if (li) {
      li.scrollIntoView({ block: 'nearest' });
      li.classList.add('flash');
      window.setTimeout(() => li.classList.remove('flash'), 1200);
    }
  }
});

// A conversation left streaming by a reload has no running request any more.
for (const c of state.conversations)
  for (const m of c.messages)
    if (m.pending) {
      delete m.pending;
      m.stats = { ...(m.stats ?? { tokens: 0 }), finish: 'stopped' };
    }
state.currentId = [...state.conversations].sort((a, b) => b.updatedAt - a.updatedAt)[0]?.id ?? null;
renderList();
renderMessages();
void connect();
