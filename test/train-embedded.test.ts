// The embedded default chat model (models/phi3-chat.gguf, trained by runs/phi3-chat/run.sh): through the
// same path as `phi3 chat` it answers held-out arithmetic word problems (never in its training data) in
// the chat format, stops by itself, and gets many right (38% of 100 held-out problems when it was trained; 14 of these 30): far above
// chance for free-form numbers, and the figure a retrained model must keep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/phi3.js';
import { heldOutRecords } from '../src/train/data.js';
import { REPO } from './helpers.js';

const MODEL = join(REPO, 'models/phi3-chat.gguf');
const skip = existsSync(MODEL) ? false : 'models/phi3-chat.gguf is not built (runs/phi3-chat/run.sh)';

test('the embedded chat model answers held-out problems in format, stops, and is often right', { skip }, async () => {
  const m = await loadModel(MODEL);
  const recs = heldOutRecords('basic', 1, 30);
  let right = 0, stopped = 0, formatted = 0;
  for (const r of recs) {
    const gen = m.chat([{ role: 'user', content: r.question }], { maxTokens: 40, temperature: 0 });
    let s = await gen.next();
    while (!s.done) s = await gen.next();
    const a = /Answer:\s*(\d+)$/.exec(s.value.text.trim());
    if (s.value.finishReason === 'stop') stopped++;
    if (a) formatted++;
    if (a?.[1] === r.answer) right++;
  }
  assert.ok(stopped >= 28, `stops by itself: ${stopped}/30`);
  assert.ok(formatted >= 28, `ends with "Answer: N": ${formatted}/30`);
  assert.ok(right >= 10, `correct: ${right}/30`);
});
