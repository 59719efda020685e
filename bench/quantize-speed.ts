// Quantizer throughput, in elements per CPU-second of this thread (process.cpuUsage), so the figure
// holds on a busy machine too; `phi3 quantize` runs one helper per core on top of this.
//   node --import tsx bench/quantize-speed.ts [--mib 16]
import { cpuUsage } from 'node:process';
import { hasFastKQuants, quantizeFast } from '../src/quant/fast.js';
import { GGMLType, quantizeRow } from '../src/quant/index.js';

const args = process.argv.slice(2);
const n = (args.includes('--mib') ? Number(args[args.indexOf('--mib') + 1]) : 4) * (1 << 18);
const x = new Float32Array(n);
let s = 12345;
for (let i = 0; i < n; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  x[i] = ((s / 2 ** 32) - 0.5) * 0.05;
}
const phiMini = 3.821e9;
console.log('| type | implementation | M elements / CPU-second | phi-3-mini (3.82 B weights) on one core |');
console.log('| --- | --- | --- | --- |');
for (const t of [GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
  const impls: Array<[string, typeof quantizeRow]> = [['TypeScript reference', quantizeRow]];
  if (hasFastKQuants() && (t === GGMLType.Q4_K || t === GGMLType.Q5_K || t === GGMLType.Q6_K)) impls.push(['WASM (phi3 quantize)', quantizeFast]);
  for (const [name, fn] of impls) {
    fn(t, x, Math.min(n, 1 << 16)); // warm up
    const c0 = cpuUsage();
    fn(t, x, n);
    const c = cpuUsage(c0);
    const sec = (c.user + c.system) / 1e6;
    console.log(`| ${GGMLType[t]} | ${name} | ${(n / sec / 1e6).toFixed(1)} | ${(phiMini / (n / sec) / 60).toFixed(1)} min |`);
  }
}
