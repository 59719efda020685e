// Conversations and settings, kept in the browser's localStorage (nothing about them is stored on the
// server). A conversation: {id, title, createdAt, updatedAt, messages: [{role, content, sources?,
// stats?, error?}]}. Corrupt or missing data falls back to empty, never to a broken page.
/* global localStorage, crypto */

const CONVERSATIONS = 'phi3.conversations.v1';
const SETTINGS = 'phi3.settings.v1';

export const DEFAULT_SETTINGS = Object.freeze({
  system: '',
  temperature: 0.7,
  top_p: 0.95,
  max_tokens: 1024,
  seed: '',
  apiKey: '',
  search: false,
});

function read(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null');
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    // Storage full or disabled: the page keeps working for this visit.
    return false;
  }
}

export function loadSettings() {
  const s = read(SETTINGS, {});
  return { ...DEFAULT_SETTINGS, ...(typeof s === 'object' && s ? s : {}) };
}

export function saveSettings(s) {
  write(SETTINGS, s);
}

export function loadConversations() {
  const list = read(CONVERSATIONS, []);
  if (!Array.isArray(list)) return [];
  return list.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages));
}

export function saveConversations(list) {
  return write(CONVERSATIONS, list);
}

export function newConversation() {
  const now = Date.now();
  return { id: crypto.randomUUID(), title: 'New chat', createdAt: now, updatedAt: now, messages: [] };
}

/** A title from the first user message. */
export function titleFor(text) {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 48 ? `${t.slice(0, 47)}…` : t || 'New chat';
}
