// Writes a SentencePiece vocabulary as Hugging Face tokenizer files (tokenizer.json: model BPE with
// byte_fallback, the Llama normalizer and decoder; tokenizer_config.json: special tokens + chat
// template), the format src/tokenizer/spm-hf.ts reads and transformers' LlamaTokenizerFast loads.
// Merges come from the scores the way HF's SentencePieceExtractor derives them: every split of a piece
// into two vocabulary pieces, ordered by the merged piece's score. Tested by test/train-tokenizer.test.ts
// (written files tokenize exactly as the vocabulary they came from).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenType, type SpmVocab } from '../tokenizer/vocab.js';

/** First id of the added (special) tokens: the first id ≥ 3 that is neither a normal nor a byte piece. */
function modelEnd(v: SpmVocab): number {
  for (let id = 3; id < v.pieces.length; id++) if (v.types[id] !== TokenType.NORMAL && v.types[id] !== TokenType.BYTE) return id;
  return v.pieces.length;
}

export function tokenizerJson(v: SpmVocab): Record<string, unknown> {
  const end = modelEnd(v);
  const vocab: Record<string, number> = {};
  const ids = new Map<string, number>();
  for (let id = 0; id < end; id++) {
    vocab[v.pieces[id]] = id;
    ids.set(v.pieces[id], id);
  }
  const ranked: Array<{ score: number; id: number; a: string; b: string; ia: number; ib: number }> = [];
  for (let id = 0; id < end; id++) {
    if (v.types[id] !== TokenType.NORMAL) continue;
    const chars = Array.from(v.pieces[id]);
    for (let k = 1; k < chars.length; k++) {
      const a = chars.slice(0, k).join(''), b = chars.slice(k).join('');
      const ia = ids.get(a), ib = ids.get(b);
      if (ia !== undefined && ib !== undefined) ranked.push({ score: v.scores[id], id, a, b, ia, ib });
    }
  }
  ranked.sort((x, y) => y.score - x.score || x.id - y.id || x.ia - y.ia || x.ib - y.ib);
  const added = [];
  for (let id = 0; id < v.pieces.length; id++) {
    if (id >= 3 && id < end) continue;
    added.push({
      id,
      content: v.pieces[id],
      single_word: false,
      lstrip: v.lstrip[id] === 1,
      rstrip: v.rstrip[id] === 1,
      normalized: false,
      special: v.types[id] !== TokenType.USER_DEFINED,
    });
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        ...(v.addSpacePrefix ? [{ type: 'Prepend', prepend: '▁' }] : []),
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(v.addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: v.unkId !== undefined ? v.pieces[v.unkId] : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ranked.map((r) => `${r.a} ${r.b}`),
    },
  };
}

export function tokenizerConfigJson(v: SpmVocab, chatTemplate: string | undefined, maxLength: number): Record<string, unknown> {
  const piece = (id: number | undefined) => (id === undefined ? null : v.pieces[id]);
  const decoder: Record<string, unknown> = {};
  for (let id = 0; id < v.pieces.length; id++) {
    if (v.types[id] === TokenType.NORMAL || v.types[id] === TokenType.BYTE) continue;
    decoder[String(id)] = { content: v.pieces[id], lstrip: v.lstrip[id] === 1, normalized: false, rstrip: v.rstrip[id] === 1, single_word: false, special: v.types[id] !== TokenType.USER_DEFINED };
  }
  return {
    add_bos_token: v.addBos,
    add_eos_token: v.addEos,
    added_tokens_decoder: decoder,
    bos_token: piece(v.bosId),
    eos_token: piece(v.eosId),
    pad_token: piece(v.padId ?? v.eosId),
    unk_token: piece(v.unkId),
    ...(chatTemplate ? { chat_template: chatTemplate } : {}),
    clean_up_tokenization_spaces: false,
    legacy: false,
    model_max_length: maxLength,
    sp_model_kwargs: {},
    tokenizer_class: 'LlamaTokenizer',
    use_default_system_prompt: false,
  };
}

export function writeTokenizerFiles(dir: string, v: SpmVocab, chatTemplate: string | undefined, maxLength = 4096): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(v), null, 1));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(v, chatTemplate, maxLength), null, 2));
}
