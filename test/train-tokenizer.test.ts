// The SentencePiece-BPE trainer: merges derived by hand on a toy corpus, determinism, the Phi-3 layout
// (bytes, specials, multiple of 64), digits kept apart, byte fallback; and the tokenizer.json it writes
// reads back (through src/tokenizer/spm-hf.ts) into a tokenizer that encodes exactly the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { SpmTokenizer } from '../src/tokenizer/spm-tokenizer.js';
import { TokenType } from '../src/tokenizer/vocab.js';
import { trainTokenizer } from '../src/train/tokenizer-train.js';
import { writeTokenizerFiles } from '../src/train/tokenizer-json.js';
import { openTokenizer, record } from '../src/train/data.js';
import { toText } from '../src/data/synth/index.js';
import { tempDir } from './helpers.js';

test('BPE merges on a toy corpus are the hand-derived ones', () => {
  // words: ▁ab ×3, ▁ac ×1. Chars a ▁ (4 each; ties in code-point order) b (c occurs once: byte fallback).
  // pair counts: (▁,a) 4, (a,b) 3 → merge ▁a; then (▁a,b) 3 → merge ▁ab; nothing else occurs twice.
  const v = trainTokenizer(['ab ab ab ac'], { vocabSize: 300 });
  const firstChar = 3 + 256;
  assert.deepEqual(v.pieces.slice(firstChar, firstChar + 5), ['a', '▁', 'b', '▁a', '▁ab']);
  assert.equal(v.pieces[firstChar + 5], '<|endoftext|>');
  assert.ok(v.scores[firstChar + 3] > v.scores[firstChar + 4], 'earlier merges have higher priority');
  const tok = SpmTokenizer.fromVocab(v);
  assert.deepEqual(tok.encode('ab ac').map((id) => tok.idToPiece(id)), ['▁ab', '▁a', '<0x63>']);
});

test('the Phi-3 layout: <unk> <s> </s>, 256 bytes, specials, padded to 64; digits never merged; deterministic', () => {
  const docs = Array.from({ length: 400 }, (_, i) => toText(record('basic', 2, i)));
  const v = trainTokenizer(docs, { vocabSize: 700 });
  assert.equal(v.pieces.length % 64, 0);
  assert.deepEqual(v.pieces.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
  assert.equal(v.pieces[258], '<0xFF>');
  assert.equal(v.types[100], TokenType.BYTE);
  for (const s of ['<|endoftext|>', '<|assistant|>', '<|system|>', '<|end|>', '<|user|>']) assert.ok(v.pieces.includes(s), s);
  assert.equal(v.pieces[v.eosId!], '<|endoftext|>');
  for (const p of v.pieces) if (/\d/.test(p) && !p.startsWith('<')) assert.ok(/^▁?\d$/.test(p), `digit merged into ${p}`);
  assert.ok(v.pieces.includes('▁How'), 'frequent words become single pieces');
  assert.deepEqual(trainTokenizer(docs, { vocabSize: 700 }).pieces, v.pieces);
  const tok = SpmTokenizer.fromVocab(v);
  for (const s of ['Zoe has 17 apples.', 'Grüße 😀 ∑ tab\there', 'x'.repeat(30)]) assert.equal(tok.decode(tok.encode(s)), s);
  assert.throws(() => trainTokenizer(docs, { vocabSize: 100 }), /at least/);
  assert.throws(() => trainTokenizer(['', '  '], { vocabSize: 400 }), /empty/);
});

test('written tokenizer.json + tokenizer_config.json read back into the same tokenizer', () => {
  const docs = Array.from({ length: 300 }, (_, i) => toText(record('arithmetic', 4, i)));
  const v = trainTokenizer(docs, { vocabSize: 512 });
  const dir = tempDir();
  writeTokenizerFiles(dir, v, 'TEMPLATE {{ messages }}');
  const back = openTokenizer(dir);
  assert.deepEqual(back.vocab.pieces, v.pieces);
  assert.equal(back.templateSource, 'TEMPLATE {{ messages }}');
  const a = SpmTokenizer.fromVocab(v);
  for (const s of [docs[0], docs[7], '<|user|>\nHi 42<|end|>\n<|assistant|>\nOK<|end|>']) assert.deepEqual(back.tokenizer.encode(s), a.encode(s));
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.eos_token, '<|endoftext|>');
  assert.equal(cfg.tokenizer_class, 'LlamaTokenizer');
});
