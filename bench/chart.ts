// A small SVG bar chart of a bench result: per model, prefill and decode tok/s of our engine beside
// llama.cpp's, with the ratio written over each pair. No dependencies; used by bench/run.ts.

interface Pair {
  model: string;
  ours: { prefill_tok_s: number; decode_tok_s: number };
  llama: { prefill_tok_s: number; decode_tok_s: number };
  ratio: { prefill: number; decode: number };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

export function chart(result: {
  models: Pair[];
  machine: { cpu?: string; cores: number; load_average_before?: number[] };
  settings: Record<string, unknown>;
}): string {
  const groups = result.models.flatMap((m) => [
    { label: `${m.model.split(' ')[1]} prefill`, ours: m.ours.prefill_tok_s, llama: m.llama.prefill_tok_s, ratio: m.ratio.prefill },
    { label: `${m.model.split(' ')[1]} decode`, ours: m.ours.decode_tok_s, llama: m.llama.decode_tok_s, ratio: m.ratio.decode },
  ]);
  const W = Math.max(640, 140 * groups.length + 80);
  const H = 300;
  const top = 50;
  const base = H - 50;
  const max = Math.max(1e-9, ...groups.flatMap((g) => [g.ours, g.llama]));
  const bar = (x: number, v: number, color: string) => {
    const h = ((base - top) * v) / max;
    return `<rect x="${x}" y="${(base - h).toFixed(1)}" width="40" height="${h.toFixed(1)}" fill="${color}"/>` +
      `<text x="${x + 20}" y="${(base - h - 4).toFixed(1)}" font-size="10" text-anchor="middle">${v.toFixed(1)}</text>`;
  };
  const parts = groups.map((g, i) => {
    const x = 60 + i * 140;
    return bar(x, g.ours, '#3b7dd8') + bar(x + 45, g.llama, '#999') +
      `<text x="${x + 42}" y="${base + 16}" font-size="11" text-anchor="middle">${esc(g.label)}</text>` +
      `<text x="${x + 42}" y="${base + 30}" font-size="11" text-anchor="middle" font-weight="bold">${g.ratio.toFixed(2)}×</text>`;
  });
  const s = result.settings;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<text x="10" y="18" font-size="13" font-weight="bold">phi3 (blue) vs llama.cpp (grey), tok/s — ${esc(String(s.threads))} threads, ${esc(String(s['prompt-tokens']))}-token prompt, ${esc(String(s['gen-tokens']))} generated</text>
<text x="10" y="34" font-size="10">${esc(result.machine.cpu ?? '')}, ${result.machine.cores} cores, load average ${(result.machine.load_average_before ?? []).map((x) => x.toFixed(1)).join(' ')} at start; ratio = ours / llama.cpp (medians)</text>
<line x1="50" y1="${base}" x2="${W - 10}" y2="${base}" stroke="#000"/>
${parts.join('\n')}
</svg>
`;
}
