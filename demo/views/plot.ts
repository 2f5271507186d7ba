/**
 * The generation plot: per step, tokens emitted (bars) and tokens per step so far (line, left axis),
 * and the acceptance rate so far — accepted drafts over drafts the walk reached — (line, right
 * axis, 0–100 %). Long generations are drawn in buckets of steps.
 */
import type { StepRecord } from '../protocol.js';

const W = 860;
const H = 220;
const L = 44; // left margin
const R = 46; // right margin
const T = 12;
const B = 30;

/** Running series of one generation, extended step by step (no recomputation from the start). */
export class PlotSeries {
  readonly perStep: number[] = [];
  readonly meanTokens: number[] = [];
  readonly acceptance: number[] = [];
  private accepted = 0;
  private reached = 0;
  private generated = 0;

  add(s: StepRecord): void {
    const kept = s.generated - this.generated;
    this.generated = s.generated;
    this.perStep.push(kept);
    this.meanTokens.push(s.generated / (s.step + 1));
    const acc = s.path.length - 1;
    this.accepted += acc;
    this.reached += acc + (s.final === 'correction' ? 1 : 0);
    this.acceptance.push(this.reached > 0 ? this.accepted / this.reached : NaN);
  }
}

export function renderPlot(container: HTMLElement, series: PlotSeries): void {
  const n = series.perStep.length;
  if (n === 0) {
    container.innerHTML = '<p class="hint">Generate to see tokens per step and acceptance over the generation.</p>';
    return;
  }
  const buckets = Math.min(n, 200);
  const per = n / buckets;
  const bucket = (arr: number[], b: number, mode: 'mean' | 'last') => {
    const a = Math.floor(b * per);
    const e = Math.max(a + 1, Math.floor((b + 1) * per));
    if (mode === 'last') return arr[e - 1]!;
    let sum = 0;
    for (let i = a; i < e; i++) sum += arr[i]!;
    return sum / (e - a);
  };
  const bars = Array.from({ length: buckets }, (_, b) => bucket(series.perStep, b, 'mean'));
  const mean = Array.from({ length: buckets }, (_, b) => bucket(series.meanTokens, b, 'last'));
  const acc = Array.from({ length: buckets }, (_, b) => bucket(series.acceptance, b, 'last'));
  const ymax = Math.max(2, Math.ceil(Math.max(...bars, ...mean)));
  const pw = W - L - R;
  const ph = H - T - B;
  const bx = (b: number) => L + (b / buckets) * pw;
  const yl = (v: number) => T + ph - (v / ymax) * ph;
  const yr = (v: number) => T + ph - v * ph;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" data-steps="${n}">`];
  for (let v = 0; v <= ymax; v++) {
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${yl(v)}" y2="${yl(v)}"/><text x="${L - 6}" y="${yl(v) + 4}" text-anchor="end">${v}</text>`);
  }
  for (const p of [0, 0.5, 1]) parts.push(`<text x="${W - R + 6}" y="${yr(p) + 4}">${p * 100}%</text>`);
  const bw = Math.max(1, pw / buckets - 1);
  bars.forEach((v, b) => parts.push(`<rect class="tps-bar" x="${bx(b)}" y="${yl(v)}" width="${bw}" height="${Math.max(0, T + ph - yl(v))}"/>`));
  const line = (vals: number[], y: (v: number) => number) =>
    vals.map((v, b) => (Number.isFinite(v) ? `${bx(b) + bw / 2},${y(v)}` : null)).filter((p) => p !== null).join(' ');
  parts.push(`<polyline class="tps-line" points="${line(mean, yl)}"/>`);
  parts.push(`<polyline class="acc-line" points="${line(acc, yr)}"/>`);
  parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}"/>`);
  parts.push(`<text x="${L}" y="${H - 8}">step 1</text><text x="${W - R}" y="${H - 8}" text-anchor="end">step ${n}</text>`);
  parts.push(
    `<text x="${L + pw / 2}" y="${H - 8}" text-anchor="middle">` +
      `<tspan fill="#8da2f0">■</tspan> tokens in the step  <tspan fill="#3556d8">━</tspan> tokens/step so far (left)  <tspan fill="#1f9d55">━</tspan> acceptance so far (right)</text>`,
  );
  parts.push('</svg>');
  container.innerHTML = parts.join('');
}
