// Loss curves as a self-contained SVG: one panel per numeric field asked for (default: loss, plus
// heldOutLoss / rewardMargin / heldOutPrefAccuracy when present), x = step, one line per phase,
// with axis ticks. No dependencies: a training log is plotted wherever Node runs.
// Tested by test/train.test.ts (the polyline passes through the logged points).

export interface LogRecord {
  phase?: string;
  step: number;
  [k: string]: unknown;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function ticks(lo: number, hi: number, n = 5): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(+v.toPrecision(12));
  return out;
}

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export function plotSvg(records: LogRecord[], fields?: string[], title = 'training'): string {
  const numeric = (k: string) => records.some((r) => typeof r[k] === 'number' && Number.isFinite(r[k]));
  const want = fields ?? ['loss', 'heldOutLoss', 'rewardMargin', 'heldOutPrefAccuracy'].filter(numeric);
  if (want.length === 0) throw new Error('the log has no numeric field to plot');
  // steps restart at 1 in every phase: lay phases end to end
  const phases: string[] = [];
  const offset = new Map<string, number>();
  let total = 0;
  for (const r of records) {
    const p = r.phase ?? '';
    if (!offset.has(p)) {
      phases.push(p);
      const last = Math.max(...records.filter((x) => (x.phase ?? '') === p).map((x) => x.step));
      offset.set(p, total);
      total += last;
    }
  }
  const W = 640, H = 220, M = { l: 60, r: 20, t: 28, b: 34 };
  const parts: string[] = [];
  want.forEach((field, pi) => {
    const pts = records.filter((r) => typeof r[field] === 'number' && Number.isFinite(r[field]));
    const ys = pts.map((r) => r[field] as number);
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
    const X = (s: number) => M.l + ((W - M.l - M.r) * s) / Math.max(1, total);
    const Y = (v: number) => pi * H + M.t + (H - M.t - M.b) * (1 - (v - y0) / (y1 - y0));
    parts.push(`<text x="${W / 2}" y="${pi * H + 18}" text-anchor="middle" font-size="14">${esc(title)}: ${esc(field)}</text>`);
    parts.push(`<rect x="${M.l}" y="${pi * H + M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#888"/>`);
    for (const v of ticks(y0, y1)) parts.push(`<text x="${M.l - 6}" y="${Y(v) + 4}" text-anchor="end" font-size="10">${v}</text><line x1="${M.l}" x2="${W - M.r}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`);
    for (const s of ticks(0, total)) parts.push(`<text x="${X(s)}" y="${(pi + 1) * H - M.b + 14}" text-anchor="middle" font-size="10">${s}</text>`);
    phases.forEach((p, k) => {
      const line = pts.filter((r) => (r.phase ?? '') === p).map((r) => `${X(r.step + offset.get(p)!).toFixed(2)},${Y(r[field] as number).toFixed(2)}`);
      if (line.length === 0) return;
      const color = COLORS[k % COLORS.length];
      parts.push(`<polyline data-phase="${esc(p)}" data-field="${esc(field)}" fill="none" stroke="${color}" stroke-width="1.5" points="${line.join(' ')}"/>`);
      parts.push(`<text x="${M.l + 8}" y="${pi * H + M.t + 14 + 12 * k}" font-size="11" fill="${color}">${esc(p || 'run')}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * want.length}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
