// Talking to the server: GET /props, and a streaming POST /v1/chat/completions read as Server-Sent
// Events. streamChat() calls onChunk for every parsed event and resolves when the stream ends;
// aborting the signal (the Stop button) closes the connection, which stops generation on the server.
/* global fetch, TextDecoder */

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(apiKey) {
  const h = { 'Content-Type': 'application/json' };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

async function errorOf(res) {
  let message = `HTTP ${res.status}`;
  try {
    const j = await res.json();
    if (j?.error?.message) message = j.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, message);
}

export async function getProps(apiKey) {
  const res = await fetch('/props', { headers: headers(apiKey) });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

export async function streamChat(body, { apiKey, signal, onChunk }) {
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(apiKey),
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data) continue; // a keep-alive comment
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(500, chunk.error.message ?? 'the server reported an error');
      onChunk(chunk);
    }
  }
}
