// Tokenizer throughput of our tiktoken (src/tokenizer/tiktoken.ts) on the Phi-3-small vocabulary, and of
// js-tiktoken on the same text in the same run when it is installed (it is not a dependency: it is the
// library the issue asked us to consider: `npm install --prefix DIR js-tiktoken` and set JS_TIKTOKEN=DIR/node_modules/js-tiktoken). Also reports
// whether each one reproduces tiktoken's own " \x850" test vector (U+0085 is whitespace to tiktoken).
// Usage: node --import tsx bench/tiktoken.ts [text-file] [repeats]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TiktokenTokenizer } from '../src/tokenizer/tiktoken.js';

const SHARED = process.env.PHI3_SHARED ?? join(import.meta.dirname, '../../shared');
const file = process.argv[2] ?? join(SHARED, 'phi3/FACTS.md');
const text = readFileSync(file, 'utf8').repeat(Number(process.argv[3] ?? 5));
const bytes = Buffer.byteLength(text);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function measure(name: string, encode: (s: string) => number[]): number {
  const times: number[] = [];
  let n = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    n = encode(text).length;
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  const exact = JSON.stringify(encode(' \x850')) === JSON.stringify([220, 126, 227, 15]);
  console.log(`${name.padEnd(12)} ${n} tokens  median ${ms.toFixed(0)} ms  ${(bytes / ms / 1e3).toFixed(2)} MB/s  U+0085 vector ${exact ? 'exact' : 'WRONG'}`);
  return ms;
}

let t0 = performance.now();
const ours = TiktokenTokenizer.fromTiktokenFile(join(SHARED, 'phi3/tokenizer/phi-3-small/cl100k_base.tiktoken'));
console.log(`text: ${file} ×, ${bytes} bytes; our ranks load ${(performance.now() - t0).toFixed(0)} ms`);
const a = measure('phi3', (s) => ours.encode(s));
try {
  const dir = process.env.JS_TIKTOKEN;
  if (!dir) throw new Error('no JS_TIKTOKEN');
  const lite = (await import(join(dir, 'dist/lite.js'))) as { Tiktoken: new (r: unknown) => { encode(s: string, a: string): number[] } };
  const ranks = ((await import(join(dir, 'dist/ranks/cl100k_base.js'))) as { default: unknown }).default;
  t0 = performance.now();
  const enc = new lite.Tiktoken(ranks);
  console.log(`js-tiktoken load ${(performance.now() - t0).toFixed(0)} ms`);
  const b = measure('js-tiktoken', (s) => enc.encode(s, 'all'));
  console.log(`speed ratio phi3 / js-tiktoken: ${(b / a).toFixed(2)}×`);
} catch {
  console.log('js-tiktoken not installed: no comparison');
}
