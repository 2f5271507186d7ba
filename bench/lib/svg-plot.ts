/**
 * A small SVG line-chart writer for the benches (no plotting dependency): a grid of panels, each
 * with x/y axes, ticks, gridlines and series drawn as polylines with markers; one shared legend.
 * The x axis may be log2 (draft nodes per step span 2..32). Output is a standalone SVG string.
 */

/** One series of a panel: points in data units, drawn in one colour and dash style. */
export interface Series {
  /** Legend key; series with the same key share a colour across panels. */
  readonly key: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  /** Dashed line (e.g. dynamic trees next to fixed ones). */
  readonly dashed?: boolean;
  /** Marker: circle (default) or square. */
  readonly marker?: 'circle' | 'square';
}

/** One panel of the grid. */
export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
}

/** Chart options. */
export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Panels per row. */
  readonly columns: number;
  /** Log2 x axis. */
  readonly logX?: boolean;
  /** Legend entries in order, with display labels (keys not listed are drawn unlabelled). */
  readonly legend: readonly { readonly key: string; readonly label: string }[];
  /** Extra legend lines (e.g. what dashed lines mean). */
  readonly notes?: readonly string[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const W = 430; // panel width
const H = 300; // panel height
const M = { left: 52, right: 14, top: 30, bottom: 42 };

/** Escapes text for SVG. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Round-number ticks from at or below lo to at or above hi. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const out: number[] = [];
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  for (let i = 0; first + i * step <= last + 1e-9; i++) out.push(Number((first + i * step).toFixed(10)));
  return out;
}

/** Renders the chart. */
export function renderPlot(panels: readonly Panel[], o: PlotOptions): string {
  const cols = Math.max(1, o.columns);
  const rows = Math.ceil(panels.length / cols);
  const legendH = 26 + 18 * Math.ceil(o.legend.length / 4) + 16 * (o.notes?.length ?? 0);
  const width = cols * W;
  const height = 34 + rows * H + legendH;
  const colour = new Map<string, string>();
  o.legend.forEach((l, i) => colour.set(l.key, PALETTE[i % PALETTE.length]!));
  const colourOf = (key: string) => colour.get(key) ?? PALETTE[(colour.size + key.length) % PALETTE.length]!;
  // a shared x axis; each panel its own y range (panels differ in scale)
  const all = panels.flatMap((p) => p.series.flatMap((s) => s.points));
  const fx = (x: number) => (o.logX ? Math.log2(x) : x);
  const xs = all.map((p) => fx(p.x));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const xPad = (xMax - xMin) * 0.04 || 0.5;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  panels.forEach((panel, i) => {
    const ox = (i % cols) * W;
    const oy = 34 + Math.floor(i / cols) * H;
    const pw = W - M.left - M.right;
    const ph = H - M.top - M.bottom;
    const ys = panel.series.flatMap((s) => s.points.map((p) => p.y));
    const yTicks = niceTicks(Math.min(...ys), Math.max(...ys));
    const yMin = yTicks[0]!;
    const yMax = yTicks[yTicks.length - 1]!;
    const px = (x: number) => ox + M.left + ((fx(x) - xMin + xPad) / (xMax - xMin + 2 * xPad)) * pw;
    const py = (y: number) => oy + M.top + (1 - (y - yMin) / (yMax - yMin || 1)) * ph;
    out.push(`<text x="${ox + M.left + pw / 2}" y="${oy + 18}" text-anchor="middle" font-size="12" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(`<rect x="${ox + M.left}" y="${oy + M.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
    for (const t of yTicks) {
      const y = py(t).toFixed(1);
      out.push(`<line x1="${ox + M.left}" x2="${ox + M.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${ox + M.left - 5}" y="${y}" dy="3.5" text-anchor="end">${t}</text>`);
    }
    const xTicks = o.logX
      ? Array.from({ length: Math.floor(xMax + xPad) - Math.ceil(xMin - xPad) + 1 }, (_, k) => 2 ** (Math.ceil(xMin - xPad) + k))
      : niceTicks(xMin, xMax);
    for (const t of xTicks) {
      const x = px(t).toFixed(1);
      out.push(`<line x1="${x}" x2="${x}" y1="${oy + M.top}" y2="${oy + M.top + ph}" stroke="#eeeeee"/>`);
      out.push(`<text x="${x}" y="${oy + M.top + ph + 14}" text-anchor="middle">${t}</text>`);
    }
    out.push(`<text x="${ox + M.left + pw / 2}" y="${oy + H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
    out.push(`<text transform="translate(${ox + 14} ${oy + M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
    for (const s of panel.series) {
      const c = colourOf(s.key);
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      if (pts.length > 1) {
        const d = pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
        out.push(`<polyline points="${d}" fill="none" stroke="${c}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
      }
      for (const p of pts) {
        const x = px(p.x).toFixed(1);
        const y = py(p.y).toFixed(1);
        out.push(
          s.marker === 'square'
            ? `<rect x="${(Number(x) - 3).toFixed(1)}" y="${(Number(y) - 3).toFixed(1)}" width="6" height="6" fill="${c}"/>`
            : `<circle cx="${x}" cy="${y}" r="2.8" fill="${c}"/>`,
        );
      }
    }
  });
  // legend
  const ly = 34 + rows * H + 14;
  const perRow = 4;
  const colW = width / perRow;
  o.legend.forEach((l, i) => {
    const x = (i % perRow) * colW + 20;
    const y = ly + Math.floor(i / perRow) * 18;
    out.push(`<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${colourOf(l.key)}" stroke-width="2.5"/>`);
    out.push(`<text x="${x + 28}" y="${y}" dy="4">${esc(l.label)}</text>`);
  });
  (o.notes ?? []).forEach((n, i) => {
    out.push(`<text x="20" y="${ly + 18 * Math.ceil(o.legend.length / perRow) + 16 * i + 4}" fill="#333">${esc(n)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
