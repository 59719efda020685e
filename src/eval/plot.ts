// The report's Figure 2 style plot as a standalone SVG: log(error) of one benchmark's headline against
// log(model size), one point per results file, joined in size order. Axes use decade ticks of the
// parameter count and error (1 − accuracy). Tested in test/eval-report.test.ts (point positions).
import { Phi3Error } from '../errors.js';
import type { EvalResults } from './harness.js';

export interface PlotPoint {
  label: string;
  parameters: number;
  error: number;
}

export function plotPoints(results: EvalResults[], benchmark: string): PlotPoint[] {
  const pts = results.flatMap((r) => {
    const b = r.benchmarks.find((x) => x.benchmark === benchmark);
    return b && Number.isFinite(b.value) ? [{ label: r.model.name, parameters: r.model.parameters, error: 1 - b.value }] : [];
  });
  if (pts.length === 0) throw new Phi3Error(`no results file has the benchmark "${benchmark}" to plot`);
  if (pts.some((p) => p.error <= 0 || p.parameters <= 0)) throw new Phi3Error(`cannot plot log error: a model has 100% on ${benchmark} or no parameter count`);
  return pts.sort((a, b) => a.parameters - b.parameters);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmtParams(p: number): string {
  return p >= 1e9 ? `${+(p / 1e9).toPrecision(3)}B` : p >= 1e6 ? `${+(p / 1e6).toPrecision(3)}M` : `${+(p / 1e3).toPrecision(3)}K`;
}

/** Maps the points into a W×H SVG with margins; x = log10(params), y = log10(error). */
export function plotSvg(points: PlotPoint[], benchmark: string, W = 640, H = 420): string {
  const m = { l: 70, r: 20, t: 40, b: 55 };
  const lx = points.map((p) => Math.log10(p.parameters));
  const ly = points.map((p) => Math.log10(p.error));
  const x0 = Math.floor(Math.min(...lx) - 0.1), x1 = Math.ceil(Math.max(...lx) + 0.1);
  const y0 = Math.min(...ly) - 0.05, y1 = Math.max(0, Math.max(...ly) + 0.05);
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">log error of ${esc(benchmark)} vs log model size</text>`);
  out.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (let d = x0; d <= x1; d++)
    out.push(`<line x1="${X(d).toFixed(1)}" y1="${H - m.b}" x2="${X(d).toFixed(1)}" y2="${H - m.b + 5}" stroke="black"/><text x="${X(d).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${fmtParams(10 ** d)}</text>`);
  const step = (y1 - y0) / 4;
  for (let i = 0; i <= 4; i++) {
    const v = y0 + i * step;
    out.push(`<line x1="${m.l - 5}" y1="${Y(v).toFixed(1)}" x2="${m.l}" y2="${Y(v).toFixed(1)}" stroke="black"/><text x="${m.l - 8}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end">${(10 ** v).toFixed(2)}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">parameters (log scale)</text>`);
  out.push(`<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">error = 1 − score (log scale)</text>`);
  out.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${points.map((_, i) => `${X(lx[i]).toFixed(1)},${Y(ly[i]).toFixed(1)}`).join(' ')}"/>`);
  points.forEach((p, i) => {
    out.push(`<circle cx="${X(lx[i]).toFixed(1)}" cy="${Y(ly[i]).toFixed(1)}" r="4" fill="#1f77b4"><title>${esc(p.label)}: error ${p.error.toFixed(3)}</title></circle>`);
    out.push(`<text x="${(X(lx[i]) + 6).toFixed(1)}" y="${(Y(ly[i]) - 6).toFixed(1)}">${esc(p.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
