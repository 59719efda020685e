// The Phi-3-small tokenizer (src/tokenizer/tiktoken.ts): cl100k_base ids against the test vectors of
// tiktoken's public test suite (openai/tiktoken tests/test_encoding.py: test_simple, test_simple_regex,
// test_basic_encode, test_encode_surrogate_pairs, test_catastrophically_repetitive, test_basic_roundtrip),
// copied here as data; the Phi-3-small specials against FACTS.md §4.6 and against the dummy-token table
// Microsoft's code used (reference/tiny-small/expected.json); the GGUF vocabulary round trip; bad files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, RequestError } from '../src/errors.js';
import { ChatTemplate, PHI3_SMALL_TEMPLATE } from '../src/chat/template.js';
import { TiktokenTokenizer, phi3SmallSpecialTokens } from '../src/tokenizer/tiktoken.js';
import { REFERENCE, TOKENIZER_DIR, readJson, tempDir } from './helpers.js';

const RANKS = join(TOKENIZER_DIR, 'phi-3-small/cl100k_base.tiktoken');
const tok = TiktokenTokenizer.fromTiktokenFile(RANKS);

/** openai/tiktoken tests/test_encoding.py, cl100k_base assertions (text → ids). */
const TIKTOKEN_VECTORS: [string, number[]][] = [
  ['hello world', [15339, 1917]],
  ['hello <|endoftext|>', [15339, 220, 100257]], // allowed_special="all", as Phi-3-small encodes
  ['rer', [38149]],
  ["'rer", [2351, 81]],
  ['today\n ', [31213, 198, 220]],
  ['today\n \n', [31213, 27907]],
  ['today\n  \n', [31213, 14211]],
  [' \x850', [220, 126, 227, 15]], // U+0085 is whitespace to tiktoken's regex, not to JS's \s
  ['👍', [9468, 239, 235]],
  ['\ud83d\udc4d', [9468, 239, 235]],
];

describe('tiktoken cl100k_base', () => {
  it('has the 100256 ranks and the padded Phi-3-small vocabulary', () => {
    assert.equal(tok.rankCount, 100256);
    assert.equal(tok.vocabSize, 100352);
  });

  for (const [text, ids] of TIKTOKEN_VECTORS)
    it(`encodes ${JSON.stringify(text)} as tiktoken does`, () => {
      assert.deepEqual(tok.encode(text), ids);
      assert.equal(tok.decode(ids), text.replace('\ud83d\udc4d', '👍'));
    });

  it('replaces a lone surrogate like U+FFFD (test_encode_surrogate_pairs)', () => {
    assert.deepEqual(tok.encode('\ud83d'), tok.encode('\ufffd'));
  });

  it('round-trips the test_basic_roundtrip strings and catastrophically repetitive input', () => {
    for (const v of ['hello', 'hello ', 'hello  ', ' hello', ' hello ', ' hello  ', 'hello world', '请考试我的软件！12345'])
      assert.equal(tok.decode(tok.encode(v)), v);
    for (const c of ['^', '0', 'a', "'s", ' ', '\n']) {
      let big = c.repeat(10_000);
      assert.equal(tok.decode(tok.encode(big)), big);
      big = ' ' + big;
      assert.equal(tok.decode(tok.encode(big)), big);
      big = big + '\n';
      assert.equal(tok.decode(tok.encode(big)), big);
    }
  });

  it('maps every rank\'s bytes back to its id (test_simple, all ranks)', () => {
    for (let id = 0; id < tok.rankCount; id++) assert.equal(tok.tokenId(tok.idToPiece(id)), id);
  });
});

describe('Phi-3-small special tokens', () => {
  it('has the ids of FACTS.md §4.6', () => {
    const expected: Record<string, number> = {
      '<|endoftext|>': 100257, '<|fim_prefix|>': 100258, '<|fim_middle|>': 100259, '<|fim_suffix|>': 100260,
      '<|system|>': 100261, '<|user|>': 100262, '<|assistant|>': 100263, '<|dummy_id_0|>': 100264,
      '<|dummy_id_1|>': 100265, '<|end|>': 100266, '<|dummy_id_2|>': 100256, '<|dummy_id_3|>': 100267,
      '<|dummy_id_11|>': 100275, '<|endofprompt|>': 100276, '<|dummy_id_12|>': 100277, '<|dummy_id_86|>': 100351,
    };
    for (const [text, id] of Object.entries(expected)) {
      assert.equal(tok.tokenId(text), id, text);
      assert.equal(tok.idToPiece(id), text);
      assert.ok(tok.isSpecial(id));
    }
    // Every id from 100256 to 100351 is exactly one special token.
    const ids = [...phi3SmallSpecialTokens().values()].sort((a, b) => a - b);
    assert.deepEqual(ids, Array.from({ length: 96 }, (_, i) => 100256 + i));
    assert.equal(tok.bosId, 100257);
    assert.equal(tok.eosId, 100257);
    assert.ok(!tok.isSpecial(100255));
  });

  it('masks exactly the dummy / fim / endofprompt ids Microsoft\'s code masks', () => {
    const ref = readJson<{ dummy_token_ids: number[] }>(join(REFERENCE, 'tiny-small/expected.json')).dummy_token_ids;
    const ours = [...phi3SmallSpecialTokens()].filter(([t]) => /dummy_id|fim_|endofprompt/.test(t)).map(([, id]) => id);
    assert.deepEqual(ours.sort((a, b) => a - b), [...ref].sort((a, b) => a - b));
  });

  it('parses specials anywhere in the text, and not with parseSpecial: false', () => {
    const text = 'Hi<|end|>\n<|assistant|>there<|endoftext|>';
    assert.deepEqual(tok.encode(text), [...tok.encode('Hi'), 100266, ...tok.encode('\n'), 100263, ...tok.encode('there'), 100257]);
    const plain = tok.encode(text, { parseSpecial: false });
    assert.ok(plain.every((id) => id < 100256));
    assert.equal(tok.decode(plain), text);
    assert.equal(tok.decode(tok.encode(text), { skipSpecial: true }), 'Hi\nthere');
  });

  it('renders and encodes the Phi-3-small chat template', () => {
    const t = new ChatTemplate(PHI3_SMALL_TEMPLATE, { bosToken: '<|endoftext|>', eosToken: '<|endoftext|>' });
    const ids = tok.encode(t.render([{ role: 'user', content: 'Hello' }], true));
    assert.deepEqual(ids, [100257, 100262, ...tok.encode('\nHello'), 100266, ...tok.encode('\n'), 100263, ...tok.encode('\n')]);
  });

  it('streams decoding without splitting characters', () => {
    const ids = tok.encode('añ👍 日本語<|end|>');
    const s = tok.createDecodeStream();
    let out = '';
    for (const id of ids) {
      const piece = s.push(id);
      assert.ok(!piece.includes('\ufffd'));
      out += piece;
    }
    assert.equal(out + s.flush(), 'añ👍 日本語<|end|>');
  });
});

describe('tiktoken vocabulary in GGUF form and bad input', () => {
  it('rebuilds the same tokenizer from its GGUF vocabulary', () => {
    const v = tok.ggufVocab();
    const meta: Record<string, unknown> = {
      'tokenizer.ggml.tokens': v.tokens,
      'tokenizer.ggml.token_type': v.types,
      'tokenizer.ggml.bos_token_id': 100257,
      'tokenizer.ggml.eos_token_id': 100257,
    };
    const again = TiktokenTokenizer.fromGGUFMetadata((k) => meta[k], 'test');
    for (const [text, ids] of TIKTOKEN_VECTORS) assert.deepEqual(again.encode(text), ids);
    assert.equal(again.tokenId('<|end|>'), 100266);
    assert.equal(again.vocabSize, 100352);
  });

  it('rejects malformed ranks files and out-of-range ids with clear errors', () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.tiktoken');
    writeFileSync(bad, 'IQ== 0\nnot a line\n');
    assert.throws(() => TiktokenTokenizer.fromTiktokenFile(bad), (e: unknown) => e instanceof FormatError && /line 2/.test(e.message));
    writeFileSync(bad, 'IQ== 0\nIg== 5\n');
    assert.throws(() => TiktokenTokenizer.fromTiktokenFile(bad), (e: unknown) => e instanceof FormatError && /out of order/.test(e.message));
    writeFileSync(bad, 'IQ== 0\n');
    assert.throws(() => TiktokenTokenizer.fromTiktokenFile(bad), (e: unknown) => e instanceof FormatError && /single byte/.test(e.message));
    assert.throws(() => TiktokenTokenizer.fromTiktokenFile(join(dir, 'missing.tiktoken')), FormatError);
    assert.throws(() => tok.decode([100352]), RequestError);
    assert.throws(() => tok.decode([-1]), RequestError);
  });
});
