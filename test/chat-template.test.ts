// Chat templates render to exactly the prompt strings the Phi-3 models were trained on (FACTS.md §2).
// The templates come from the real tokenizer_config.json files in ../shared (mini: system role; medium:
// the April-2024 user/assistant template), and Phi-3-small's from FACTS §2. Expected strings are written
// out by hand from the format <|role|>\n{content}<|end|>\n.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChatTemplate, PHI3_SMALL_TEMPLATE, PHI3_TEMPLATE, type ChatMessage } from '../src/chat/template.js';
import { RequestError } from '../src/errors.js';
import { TOKENIZER_DIR, readJson } from './helpers.js';

const mini = readJson<{ chat_template: string; bos_token: string; eos_token: string }>(join(TOKENIZER_DIR, 'phi-3-mini/tokenizer_config.json'));
const medium = readJson<{ chat_template: string }>(join(TOKENIZER_DIR, 'phi-3-medium/tokenizer_config.json'));

const conversation: ChatMessage[] = [
  { role: 'system', content: 'S' },
  { role: 'user', content: 'Q' },
  { role: 'assistant', content: 'A' },
  { role: 'user', content: 'Q2' },
];

describe('chat templates', () => {
  it('phi-3-mini (tokenizer_config.json): system, multi-turn, generation prompt', () => {
    const t = new ChatTemplate(mini.chat_template, { bosToken: mini.bos_token, eosToken: mini.eos_token });
    assert.equal(t.render(conversation.slice(0, 2)), '<|system|>\nS<|end|>\n<|user|>\nQ<|end|>\n<|assistant|>\n');
    assert.equal(
      t.render(conversation),
      '<|system|>\nS<|end|>\n<|user|>\nQ<|end|>\n<|assistant|>\nA<|end|>\n<|user|>\nQ2<|end|>\n<|assistant|>\n',
    );
    // Without a generation prompt the template closes with eos_token.
    assert.equal(t.render(conversation.slice(1, 3), false), '<|user|>\nQ<|end|>\n<|assistant|>\nA<|end|>\n<|endoftext|>');
  });

  it('the built-in fallback is the phi-3-mini template', () => {
    assert.equal(PHI3_TEMPLATE, mini.chat_template);
  });

  it('phi-3-medium (April 2024 template): user turns open the assistant turn, system is dropped', () => {
    const t = new ChatTemplate(medium.chat_template);
    assert.equal(t.render(conversation), '<|user|>\nQ<|end|>\n<|assistant|>\nA<|end|>\n<|user|>\nQ2<|end|>\n<|assistant|>\n');
  });

  it('phi-3-small: BOS <|endoftext|> first, every role tagged', () => {
    const t = new ChatTemplate(PHI3_SMALL_TEMPLATE, { bosToken: '<|endoftext|>', eosToken: '<|endoftext|>' });
    assert.equal(
      t.render(conversation.slice(0, 2)),
      '<|endoftext|><|system|>\nS<|end|>\n<|user|>\nQ<|end|>\n<|assistant|>\n',
    );
  });

  it('rejects malformed messages with a message naming the field', () => {
    const t = new ChatTemplate(PHI3_TEMPLATE);
    assert.throws(() => t.render([]), RequestError);
    assert.throws(() => t.render([{ role: 'robot', content: 'x' } as unknown as ChatMessage]), /messages\[0\]\.role/);
    assert.throws(() => t.render([{ role: 'user', content: 5 } as unknown as ChatMessage]), /messages\[0\]\.content/);
  });

  it('reports a template that does not parse', () => {
    assert.throws(() => new ChatTemplate('{% for %}'), /chat template does not parse/);
  });
});
