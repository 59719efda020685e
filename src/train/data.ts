// Training data → token batches, deterministically: the batch of (step, micro-step) depends only on the
// run seed and those two numbers, so a resumed run sees exactly the batches an uninterrupted one would.
//  - pretraining: a weighted mixture of sources (src/data/synth generators as "textbook" text or chat,
//    or document files through src/data/docs.ts), packed into rows of seqLen+1 tokens, each document
//    followed by the end-of-text token;
//  - SFT: one conversation per row, rendered with the chat template; only the assistant's tokens (its
//    answer and the <|end|> that closes it) are scored;
//  - DPO: (chosen, rejected) pairs, two rows each, scored on the answers only.
// Held-out data: a synth record whose question hashes to 0 mod HOLDOUT_MOD is never trained on; the
// evaluations use exactly those. Tested by test/train.test.ts.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { ChatTemplate, PHI3_TEMPLATE, type ChatMessage } from '../chat/template.js';
import { FormatError, Phi3Error } from '../errors.js';
import { isGGUF, readGGUF } from '../formats/gguf.js';
import { Rng } from '../generate/sampler.js';
import { readDocs } from '../data/docs.js';
import { generator, synthRecord, toChat, toText, type SynthRecord } from '../data/synth/index.js';
import { fnv1a, recordRng, type SynthGenerator } from '../data/synth/types.js';
import { basic } from './easy-synth.js';
import { spmVocabFromGGUF } from '../tokenizer/spm-gguf.js';
import { spmVocabFromTokenizerJson } from '../tokenizer/spm-hf.js';
import { SpmTokenizer } from '../tokenizer/spm-tokenizer.js';
import type { SpmVocab } from '../tokenizer/vocab.js';
import type { Batch } from './model.js';

export const HOLDOUT_MOD = 16;
export const isHeldOut = (question: string) => fnv1a(question) % HOLDOUT_MOD === 0;

export interface TokenizerBundle {
  path: string;
  vocab: SpmVocab;
  tokenizer: SpmTokenizer;
  template: ChatTemplate;
  templateSource: string;
  /** End-of-document id (<|endoftext|>, the vocab's eos). */
  eos: number;
  /** <|end|>: closes every chat turn. */
  endTurn: number;
}

/** A tokenizer from a Phi-3 GGUF, a tokenizer.json, or a folder holding one (with tokenizer_config.json). */
export function openTokenizer(path: string): TokenizerBundle {
  if (!existsSync(path)) throw new FormatError(path, 'tokenizer: no such file or folder');
  let vocab: SpmVocab;
  let tmpl: string | undefined;
  if (statSync(path).isFile() && isGGUF(path)) {
    const f = readGGUF(path);
    vocab = spmVocabFromGGUF((k) => f.get(k), path);
    const t = f.get('tokenizer.chat_template');
    tmpl = typeof t === 'string' ? t : undefined;
  } else {
    const tokPath = statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
    const cfgPath = join(dirname(tokPath), 'tokenizer_config.json');
    const readJson = (p: string) => {
      try {
        return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new FormatError(p, `cannot read JSON: ${(e as Error).message}`);
      }
    };
    const cfg = existsSync(cfgPath) ? readJson(cfgPath) : undefined;
    vocab = spmVocabFromTokenizerJson(readJson(tokPath), cfg, tokPath);
    tmpl = typeof cfg?.chat_template === 'string' ? cfg.chat_template : undefined;
  }
  const tokenizer = SpmTokenizer.fromVocab(vocab, path);
  const eos = tokenizer.tokenId('<|endoftext|>') ?? vocab.eosId;
  const endTurn = tokenizer.tokenId('<|end|>');
  if (eos === undefined || endTurn === undefined) throw new FormatError(path, 'tokenizer lacks <|endoftext|> or <|end|>: not a Phi-3 chat vocabulary');
  const templateSource = tmpl ?? PHI3_TEMPLATE;
  return { path, vocab, tokenizer, template: new ChatTemplate(templateSource, { eosToken: '<|endoftext|>' }), templateSource, eos, endTurn };
}

/** Per-(seed, step, micro) generator: the only randomness the data path uses. */
export function stepRng(seed: number, step: number, micro: number, what = ''): Rng {
  return new Rng(fnv1a(`${seed}:${step}:${micro}:${what}`));
}

const LOCAL: Record<string, SynthGenerator> = { basic };

/** The generator of a skill: this folder's (basic) or src/data/synth's registry. */
export function skillGenerator(skill: string): SynthGenerator {
  return LOCAL[skill] ?? generator(skill);
}

/** Record `index` of `skill` for `seed` (src/data/synth's scheme, extended to the local skills). */
export function record(skill: string, seed: number, index: number): SynthRecord {
  const g = LOCAL[skill];
  if (!g) return synthRecord(skill, seed, index);
  return { id: `${skill}-${seed}-${index}`, skill, ...g.make(recordRng(seed, skill, index)) };
}

/** A training record of `skill` that is not held out, drawn from rng. */
export function trainRecord(skill: string, seed: number, rng: Rng): SynthRecord {
  skillGenerator(skill); // validates the name
  for (;;) {
    const r = record(skill, seed, Math.floor(rng.next() * 2 ** 31));
    if (!isHeldOut(r.question)) return r;
  }
}

/** The first `n` held-out records of `skill` (never trained on). */
export function heldOutRecords(skill: string, seed: number, n: number): SynthRecord[] {
  const out: SynthRecord[] = [];
  for (let i = 0; out.length < n; i++) {
    const r = record(skill, seed ^ 0x5eed, i);
    if (isHeldOut(r.question)) out.push(r);
  }
  return out;
}

export interface SourceSpec {
  /** A src/data/synth skill (arithmetic, units, logic, code). */
  synth?: string;
  /** 'text' (Question/Solution/Answer document, default) or 'chat' (rendered with the chat template). */
  format?: 'text' | 'chat';
  /** A document file or folder (JSON lines with "text", or plain text; see src/data/docs.ts). */
  file?: string;
  weight?: number;
}

interface Source {
  weight: number;
  doc(rng: Rng): string;
}

/** Loads the sources of a mixture (files are read whole: the corpora this trainer is for are small). */
export async function openMixture(specs: SourceSpec[], tok: TokenizerBundle, seed: number): Promise<Source[]> {
  if (!Array.isArray(specs) || specs.length === 0) throw new Phi3Error('a phase needs a non-empty "mixture"');
  const out: Source[] = [];
  for (const [i, s] of specs.entries()) {
    const weight = s.weight ?? 1;
    if (!(weight > 0)) throw new Phi3Error(`mixture[${i}].weight must be > 0`);
    if (s.synth !== undefined) {
      const skill = s.synth;
      skillGenerator(skill);
      out.push({
        weight,
        doc: (rng) => {
          const r = trainRecord(skill, seed, rng);
          return s.format === 'chat' ? tok.template.render([...toChat(r)] as ChatMessage[], false) : toText(r);
        },
      });
    } else if (s.file !== undefined) {
      const docs: string[] = [];
      for await (const d of readDocs(s.file)) if (d.text.trim()) docs.push(d.text);
      if (docs.length === 0) throw new FormatError(s.file, 'no documents');
      out.push({ weight, doc: (rng) => docs[Math.floor(rng.next() * docs.length)] });
    } else throw new Phi3Error(`mixture[${i}] needs "synth" or "file"`);
  }
  return out;
}

/** A packed pretraining batch: documents from the mixture, each followed by <|endoftext|>. */
export function pretrainBatch(sources: Source[], tok: TokenizerBundle, batch: number, seqLen: number, rng: Rng): Batch {
  const total = sources.reduce((a, s) => a + s.weight, 0);
  const tokens = new Int32Array(batch * seqLen);
  const targets = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const row: number[] = [];
    while (row.length < seqLen + 1) {
      let u = rng.next() * total;
      let src = sources[sources.length - 1];
      for (const s of sources) if ((u -= s.weight) < 0) {
        src = s;
        break;
      }
      row.push(...tok.tokenizer.encode(src.doc(rng)), tok.eos);
    }
    for (let t = 0; t < seqLen; t++) {
      tokens[b * seqLen + t] = row[t];
      targets[b * seqLen + t] = row[t + 1];
    }
  }
  return { batch, seqLen, tokens, targets };
}

/**
 * Token ids of a conversation and, per position, whether the NEXT token is the assistant's (scored).
 * The assistant span of turn i starts where the generation prompt of the conversation up to it ends
 * (so training sees exactly the prompt inference will feed) and runs through its closing <|end|>.
 */
export function chatTokens(messages: ChatMessage[], tok: TokenizerBundle): { ids: number[]; scored: boolean[] } {
  const ids = tok.tokenizer.encode(tok.template.render(messages, false));
  const scored = new Array<boolean>(ids.length).fill(false);
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const prompt = tok.tokenizer.encode(tok.template.render(messages.slice(0, i), true));
    for (let k = 0; k < prompt.length; k++)
      if (prompt[k] !== ids[k]) throw new Phi3Error('the chat template tokenizes the prompt differently inside the conversation; cannot mask');
    let t = prompt.length;
    while (t < ids.length && ids[t] !== tok.endTurn) scored[t++ - 1] = true;
    if (t < ids.length) scored[t - 1] = true; // <|end|> itself: the model learns to stop
  });
  return { ids, scored };
}

/** Writes one conversation into row b of a batch (truncated to seqLen, padded with eos, unscored). */
function fillChatRow(out: Batch, b: number, c: { ids: number[]; scored: boolean[] }, pad: number): void {
  const T = out.seqLen;
  for (let t = 0; t < T; t++) {
    out.tokens[b * T + t] = t < c.ids.length ? c.ids[t] : pad;
    out.targets[b * T + t] = t + 1 < c.ids.length && c.scored[t] ? c.ids[t + 1] : -1;
  }
}

export function chatBatch(convs: ChatMessage[][], tok: TokenizerBundle, seqLen: number): Batch {
  const out: Batch = { batch: convs.length, seqLen, tokens: new Int32Array(convs.length * seqLen), targets: new Int32Array(convs.length * seqLen) };
  convs.forEach((m, b) => fillChatRow(out, b, chatTokens(m, tok), tok.eos));
  return out;
}

export interface PreferencePair {
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
}

/** Rows 2i (chosen) and 2i+1 (rejected) for each pair. */
export function preferenceBatch(pairs: PreferencePair[], tok: TokenizerBundle, seqLen: number): Batch {
  const convs: ChatMessage[][] = [];
  for (const p of pairs) convs.push([...p.prompt, { role: 'assistant', content: p.chosen }], [...p.prompt, { role: 'assistant', content: p.rejected }]);
  return chatBatch(convs, tok, seqLen);
}

/**
 * A synthetic preference pair: the correct worked answer vs the same answer with a wrong result, off by
 * a small amount and carried consistently through the last step and the final line ("3 × 7 = 13 …
 * Answer: 13": the mistake a small model makes), so preferring the chosen one takes arithmetic.
 */
export function synthPair(r: SynthRecord, rng: Rng): PreferencePair {
  const chat = toChat(r);
  const good = chat[1].content;
  const n = Number(r.answer);
  let bad: string;
  if (Number.isFinite(n)) {
    const delta = (rng.next() < 0.5 ? -1 : 1) * (1 + Math.floor(rng.next() * 9));
    const wrong = String(n + delta >= 0 ? n + delta : n - delta); // never equal to n, never negative
    const lines = good.split('\n');
    lines[lines.length - 1] = `Answer: ${wrong}`;
    if (lines.length > 1) lines[lines.length - 2] = lines[lines.length - 2].replace(new RegExp(`= ${r.answer}(?![\\d.])`), `= ${wrong}`);
    bad = lines.join('\n');
  } else bad = good.replace(/Answer: .*$/, `Answer: not ${r.answer}`);
  return { prompt: [chat[0]] as ChatMessage[], chosen: good, rejected: bad };
}

/** Reads a JSON-lines file of {"messages":[...]} (SFT) records. */
export function readChatFile(path: string): ChatMessage[][] {
  return readJsonl(path).map((o, i) => {
    if (!Array.isArray(o.messages)) throw new FormatError(path, `line ${i + 1}: expected {"messages": [...]}`);
    return o.messages as ChatMessage[];
  });
}

/** Reads a JSON-lines file of {"prompt": string | messages, "chosen": string, "rejected": string}. */
export function readPairFile(path: string): PreferencePair[] {
  return readJsonl(path).map((o, i) => {
    const prompt = typeof o.prompt === 'string' ? [{ role: 'user' as const, content: o.prompt }] : o.prompt;
    if (!Array.isArray(prompt) || typeof o.chosen !== 'string' || typeof o.rejected !== 'string')
      throw new FormatError(path, `line ${i + 1}: expected {"prompt", "chosen", "rejected"}`);
    return { prompt: prompt as ChatMessage[], chosen: o.chosen, rejected: o.rejected };
  });
}

function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) throw new FormatError(path, 'no such file');
  const out: Record<string, unknown>[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      throw new FormatError(path, `line ${i + 1} is not JSON`);
    }
  });
  if (out.length === 0) throw new FormatError(path, 'no records');
  return out;
}
