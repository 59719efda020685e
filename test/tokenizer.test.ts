// Phi-3-mini/medium SentencePiece tokenizer against llama.cpp's llama-tokenize output
// (reference/tokenizer_cases.json), loaded both from the tiny GGUF's metadata and from the real HF
// tokenizer.json files; plus decode, the decode stream and malformed-input errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FormatError, Phi3Error } from '../src/errors.js';
import { readGGUF } from '../src/formats/gguf.js';
import { SpmTokenizer, tokenizerFromGGUFMetadata, type Tokenizer } from '../src/tokenizer/tokenizer.js';
import { REFERENCE, TOKENIZER_DIR, readJson } from './helpers.js';

interface Case {
  index: number;
  text: string;
  ids: number[];
  ids_no_parse_special: number[];
  pieces: string[];
}

const CASES = readJson<{ cases: Case[] }>(join(REFERENCE, 'tokenizer_cases.json')).cases;
const GGUF_PATH = join(REFERENCE, 'tiny-4k/model.gguf');
const gguf = readGGUF(GGUF_PATH);
const ggufGet = (k: string) => gguf.get(k);

function fromHF(dir: string): SpmTokenizer {
  const tok = readJson(join(TOKENIZER_DIR, dir, 'tokenizer.json'));
  const cfg = readJson(join(TOKENIZER_DIR, dir, 'tokenizer_config.json'));
  return SpmTokenizer.fromTokenizerJson(tok, cfg, `${dir}/tokenizer.json`);
}

const SOURCES: [string, Tokenizer][] = [
  ['GGUF metadata', SpmTokenizer.fromGGUFMetadata(ggufGet, GGUF_PATH)],
  ['phi-3-mini tokenizer.json', fromHF('phi-3-mini')],
  ['phi-3-medium tokenizer.json', fromHF('phi-3-medium')],
];
const ggufTok = SOURCES[0][1];
const miniTok = SOURCES[1][1];

/** A special token directly followed by text gets a dummy-prefix space and rstrip eats whitespace. */
const DECODES_DIFFERENTLY: Record<number, string> = {
  16: '<|user|> Hi<|end|><|assistant|>',
  22: 'Hello<|end|> world<|endoftext|>',
};

function streamChunks(tok: Tokenizer, ids: number[], skipSpecial = false): string[] {
  const s = tok.createDecodeStream({ skipSpecial });
  return [...ids.map((id) => s.push(id)), s.flush()];
}

function hasBrokenChar(s: string): boolean {
  return s.includes('\uFFFD') || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

for (const [name, tok] of SOURCES) {
  describe(`tokenizer from ${name}`, () => {
    it('has the Phi-3 special ids and settings', () => {
      assert.equal(tok.vocabSize, 32064);
      assert.deepEqual([tok.bosId, tok.eosId, tok.unkId, tok.padId, tok.addBos], [1, 32000, 0, 32000, false]);
    });

    it('encodes every reference case like llama.cpp (special parsing on and off)', () => {
      for (const c of CASES) {
        assert.deepEqual(tok.encode(c.text), c.ids, `case ${c.index} ${JSON.stringify(c.text)}`);
        assert.deepEqual(tok.encode(c.text, { parseSpecial: false }), c.ids_no_parse_special, `case ${c.index} (no parse)`);
        assert.deepEqual(c.ids.map((id) => tok.idToPiece(id)), c.pieces, `case ${c.index} pieces`);
      }
    });

    it('decode(encode(x)) gives x back', () => {
      for (const c of CASES) {
        assert.equal(tok.decode(tok.encode(c.text, { parseSpecial: false })), c.text, `case ${c.index} (no parse)`);
        const expected = DECODES_DIFFERENTLY[c.index] ?? c.text;
        assert.equal(tok.decode(tok.encode(c.text)), expected, `case ${c.index}`);
      }
    });

    it('the decode stream, one id at a time, equals decode and never emits half a character', () => {
      for (const c of CASES) {
        for (const ids of [c.ids, c.ids_no_parse_special]) {
          for (const skipSpecial of [false, true]) {
            const chunks = streamChunks(tok, ids, skipSpecial);
            assert.equal(chunks.join(''), tok.decode(ids, { skipSpecial }), `case ${c.index}`);
            for (const ch of chunks) assert.ok(!hasBrokenChar(ch), `case ${c.index}: chunk ${JSON.stringify(ch)}`);
          }
        }
      }
    });

    it('tokenId finds the chat tokens', () => {
      const table: [string, number][] = [
        ['<unk>', 0], ['<s>', 1], ['</s>', 2], ['<|endoftext|>', 32000], ['<|assistant|>', 32001],
        ['<|placeholder1|>', 32002], ['<|system|>', 32006], ['<|end|>', 32007], ['<|placeholder6|>', 32009],
        ['<|user|>', 32010], ['▁', 29871], ['<0x0A>', 13],
      ];
      for (const [text, id] of table) {
        assert.equal(tok.tokenId(text), id, text);
        assert.equal(tok.idToPiece(id), text);
      }
      assert.equal(tok.tokenId('no such piece'), undefined);
      assert.ok(tok.isSpecial(32007) && tok.isSpecial(1) && tok.isSpecial(32063));
      assert.ok(!tok.isSpecial(15043) && !tok.isSpecial(13) && !tok.isSpecial(99999));
    });
  });
}

describe('tokenizer sources agree', () => {
  it('tokenizer.json gives the same vocabulary as the GGUF, piece for piece', () => {
    for (const [name, tok] of SOURCES.slice(1)) {
      for (let id = 0; id < ggufTok.vocabSize; id++) {
        assert.equal(tok.idToPiece(id), ggufTok.idToPiece(id), `${name} id ${id}`);
        assert.equal(tok.isSpecial(id), ggufTok.isSpecial(id), `${name} id ${id} special`);
      }
    }
  });

  it('tokenizer.json and GGUF encode the same on whitespace runs and random mixed text', () => {
    const texts: string[] = [];
    for (let n = 1; n <= 70; n++) for (const [a, b] of [['', ''], ['x', 'y'], ['\n', 'def'], ['.', ' the']]) texts.push(a + ' '.repeat(n) + b);
    const alphabet = [' ', '  ', '\n', '\t', 'a', 'th', 'the', 'ing', 'Z', '1', '.', 'é', '日', '😀', '<|end|>', '<|user|>', '</s>', '<s>', '<unk>', '<', '|', '>', '\u200b'];
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    for (let k = 0; k < 1500; k++) texts.push(Array.from({ length: rnd(25) }, () => alphabet[rnd(alphabet.length)]).join(''));
    for (const text of texts) {
      for (const parseSpecial of [true, false]) {
        assert.deepEqual(miniTok.encode(text, { parseSpecial }), ggufTok.encode(text, { parseSpecial }), JSON.stringify(text));
      }
    }
  });
});

describe('tokenizer behaviour', () => {
  const tok = ggufTok;

  it('adds BOS / EOS only when asked (Phi-3 adds neither by default)', () => {
    assert.deepEqual(tok.encode('Hello world', { addBos: true }), [1, 15043, 3186]);
    assert.deepEqual(tok.encode('Hello world', { addBos: true, addEos: true }), [1, 15043, 3186, 32000]);
    assert.deepEqual(tok.encode(''), []);
    assert.deepEqual(tok.encode('', { addBos: true }), [1]);
  });

  it('rstrip swallows whitespace after <|end|> but not after <|endoftext|>', () => {
    assert.deepEqual(tok.encode('<|end|>\n \tHi'), [32007, 6324]);
    assert.deepEqual(tok.encode('<|endoftext|>\nHi'), [32000, 29871, 13, 18567]);
    assert.deepEqual(tok.encode('<|end|>\n'), [32007]);
  });

  it('gives no RSTRIP when general.name does not say phi3 (as llama.cpp)', () => {
    const plain = SpmTokenizer.fromGGUFMetadata((k) => (k === 'general.name' ? 'tiny' : gguf.get(k)), 'renamed');
    const ids = plain.encode('<|user|>\nHi');
    assert.equal(ids[0], 32010);
    assert.ok(ids.includes(13), `newline kept: ${ids}`);
  });

  it('streams byte tokens of an emoji as one piece when the character is complete', () => {
    const ids = tok.encode('emoji 😀🎉');
    const chunks = streamChunks(tok, ids);
    assert.deepEqual(chunks, ['em', 'o', 'ji', ' ', '', '', '', '😀', '', '', '', '🎉', '']);
  });

  it('strips the leading space only at the start of the stream', () => {
    const ids = tok.encode('Hello world');
    assert.deepEqual(streamChunks(tok, ids), ['Hello', ' world', '']);
    assert.equal(tok.decode([3186, 3186]), 'world world');
    assert.equal(tok.decode([32010, 6324]), '<|user|> Hi');
  });

  it('skipSpecial drops control tokens', () => {
    assert.equal(tok.decode([32010, 6324, 32007, 32001], { skipSpecial: true }), 'Hi');
    assert.equal(tok.decode([1, 15043, 2], { skipSpecial: true }), 'Hello');
    assert.equal(tok.decode([1, 15043, 2]), '<s> Hello</s>');
  });

  it('decodes invalid UTF-8 as U+FFFD, in decode and in the stream alike', () => {
    for (const ids of [[243, 162, 15043], [953, 243], [131], [243, 162, 155, 131, 131]]) {
      const text = tok.decode(ids);
      assert.ok(text.includes('\uFFFD'), JSON.stringify(text));
      assert.equal(streamChunks(tok, ids).join(''), text);
    }
  });

  it('keeps a leading U+FEFF (not a byte-order mark here)', () => {
    assert.equal(tok.decode(tok.encode('\uFEFFhi')), '\uFEFFhi');
  });

  it('tokenizes long input quickly enough to be practical', () => {
    const text = 'The quick brown fox 😀 jumps   over\n\tthe lazy dog. 日本語 '.repeat(500) + 'a'.repeat(20000);
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text);
  });

  it('rejects ids outside the vocabulary with a Phi3Error naming the id and the size', () => {
    for (const bad of [32064, -1, 1.5, NaN]) {
      assert.throws(() => tok.decode([15043, bad]), (e: unknown) => e instanceof Phi3Error && e.message.includes(String(bad)) && e.message.includes('32064'));
      assert.throws(() => tok.createDecodeStream().push(bad), Phi3Error);
      assert.throws(() => tok.idToPiece(bad), Phi3Error);
    }
  });

  it('tokenizerFromGGUFMetadata picks SentencePiece for model "llama"', () => {
    assert.deepEqual(tokenizerFromGGUFMetadata(ggufGet).encode('Hello world'), [15043, 3186]);
  });
});

describe('tokenizer user-defined and lstrip tokens (synthetic tokenizer.json)', () => {
  const mini = readJson<Record<string, unknown>>(join(TOKENIZER_DIR, 'phi-3-mini/tokenizer.json'));
  const withAdded = (extra: object[]) =>
    SpmTokenizer.fromTokenizerJson({ ...mini, added_tokens: [...(mini.added_tokens as object[]), ...extra] }, undefined, 'synthetic');

  it('matches a non-special added token even without special parsing; lstrip eats whitespace before it', () => {
    const tok = withAdded([{ id: 32011, content: '<tool>', special: false, lstrip: true, rstrip: false }]);
    assert.deepEqual(tok.encode('Hi  <tool>x', { parseSpecial: false }), [6324, 32011, 921]);
    assert.equal(tok.isSpecial(32011), true);
    assert.equal(tok.idToPiece(32012), '<|placeholder7|>');
  });
});

describe('tokenizer malformed input', () => {
  const isFormat = (file: string, what: string) => (e: unknown) =>
    e instanceof FormatError && e.file === file && e.message.includes(what);
  const mini = readJson<Record<string, unknown>>(join(TOKENIZER_DIR, 'phi-3-mini/tokenizer.json'));
  const model = mini.model as Record<string, unknown>;

  it('tokenizer.json', () => {
    const json = (tok: unknown, cfg?: unknown) => () => SpmTokenizer.fromTokenizerJson(tok, cfg, 'bad.json');
    assert.throws(json(null), isFormat('bad.json', 'not a JSON object'));
    assert.throws(json({}), isFormat('bad.json', '"model"'));
    assert.throws(json({ ...mini, model: { ...model, type: 'Unigram' } }), isFormat('bad.json', 'model.type'));
    assert.throws(json({ ...mini, model: { ...model, vocab: undefined } }), isFormat('bad.json', 'missing model.vocab'));
    assert.throws(json({ ...mini, model: { ...model, merges: undefined } }), isFormat('bad.json', 'missing model.merges'));
    assert.throws(json({ ...mini, model: { ...model, merges: ['▁ t', 'qq zz'] } }), isFormat('bad.json', 'model.merges[1]'));
    assert.throws(json({ ...mini, model: { ...model, merges: [42] } }), isFormat('bad.json', 'model.merges[0]'));
    assert.throws(json({ ...mini, normalizer: { type: 'NFKC' } }), isFormat('bad.json', 'normalizer'));
    assert.throws(json({ ...mini, added_tokens: [{ id: 'x', content: '<a>' }] }), isFormat('bad.json', 'added_tokens[0]'));
    assert.throws(json(mini, { bos_token: '<nope>' }), isFormat('bad.json', 'bos_token'));
    assert.throws(json(mini, 'config'), isFormat('bad.json', 'tokenizer_config.json'));
    const noBytes = Object.fromEntries(Object.entries(model.vocab as object).filter(([p]) => p !== '<0x41>'));
    assert.throws(json({ ...mini, model: { ...model, vocab: noBytes } }), isFormat('bad.json', 'no piece for id'));
  });

  it('GGUF metadata', () => {
    const meta = (over: Record<string, unknown>) => () =>
      SpmTokenizer.fromGGUFMetadata((k) => (k in over ? over[k] : gguf.get(k)), 'bad.gguf');
    const tokens = gguf.get('tokenizer.ggml.tokens') as string[];
    assert.throws(meta({ 'tokenizer.ggml.tokens': undefined }), isFormat('bad.gguf', 'missing tokenizer.ggml.tokens'));
    assert.throws(meta({ 'tokenizer.ggml.scores': undefined }), isFormat('bad.gguf', 'missing tokenizer.ggml.scores'));
    assert.throws(meta({ 'tokenizer.ggml.token_type': [1, 2] }), isFormat('bad.gguf', 'tokenizer.ggml.token_type has 2'));
    assert.throws(meta({ 'tokenizer.ggml.model': 'gpt2' }), isFormat('bad.gguf', 'gpt2'));
    assert.throws(meta({ 'tokenizer.ggml.bos_token_id': 99999 }), isFormat('bad.gguf', 'bos_token_id'));
    assert.throws(meta({ 'tokenizer.ggml.add_bos_token': 'yes' }), isFormat('bad.gguf', 'add_bos_token'));
    const noBytes = tokens.map((t) => (t === '<0x41>' ? 'A-byte' : t));
    assert.throws(meta({ 'tokenizer.ggml.tokens': noBytes }), isFormat('bad.gguf', 'type BYTE but is not a <0xXX>'));
    const types = (gguf.get('tokenizer.ggml.token_type') as number[]).map((t, i) => (i === 68 ? 1 : t));
    const noByte = { 'tokenizer.ggml.tokens': noBytes, 'tokenizer.ggml.token_type': types };
    assert.throws(meta(noByte), isFormat('bad.gguf', 'no byte token <0x41>'));
    assert.throws(meta({ 'tokenizer.ggml.token_type': types.map((t, i) => (i === 5 ? 9 : t)) }), isFormat('bad.gguf', 'token_type[5]'));
    assert.throws(() => tokenizerFromGGUFMetadata(() => undefined, 'empty.gguf'), isFormat('empty.gguf', 'tokenizer.ggml.model'));
  });
});
