/**
 * The step view: one speculative step's draft tree as an SVG, root on the left, one column per
 * level. Drafts on the accepted path are green, the others grey; the step's final token hangs off
 * the path's last node (dashed): a correction (orange) where that node's drafts were all rejected,
 * a bonus (blue) at a leaf. Every node carries data-node / data-token / data-parent (the final one
 * data-node="final" and data-kind), so what is drawn can be checked against what the library said.
 */
import type { StepRecord } from '../protocol.js';

const COL = 118; // px per level
const ROW = 28; // px per leaf row
const NODE_W = 100;
const NODE_H = 22;
const PAD_X = 10;
const PAD_TOP = 26; // room for the level labels

/** Text for SVG/HTML. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A token piece as a short readable label (SentencePiece ▁ and GPT-2 Ġ shown as ␣, newlines as ↵). */
export function pieceLabel(piece: string, max = 11): string {
  let s = piece.replace(/^▁|^Ġ/, '␣').replace(/▁|Ġ/g, '␣').replace(/<0x0A>|\n|Ċ/g, '↵');
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  return s;
}

/** Render `step` into `container` (replacing what was there). `labels[id]` is the token's piece. */
export function renderTree(container: HTMLElement, step: StepRecord, labels: readonly string[]): void {
  const n = step.tokens.length;
  const last = step.path[step.path.length - 1]!;
  const onPath = new Set(step.path);
  const finalToken = step.emitted[step.emitted.length - 1]!;
  // children lists, the final token appended as an extra child (id n) of the path's last node
  const children: number[][] = Array.from({ length: n + 1 }, () => []);
  for (let i = 1; i < n; i++) children[step.parents[i]!]!.push(i);
  children[last]!.push(n);
  const depth = new Array<number>(n + 1).fill(0);
  for (let i = 1; i < n; i++) depth[i] = depth[step.parents[i]!]! + 1;
  depth[n] = depth[last]! + 1;
  // rows: leaves in depth-first order; a parent sits at the middle of its children
  const y = new Array<number>(n + 1).fill(0);
  let row = 0;
  const place = (v: number): void => {
    const kids = children[v]!;
    if (kids.length === 0) {
      y[v] = row++;
      return;
    }
    for (const c of kids) place(c);
    y[v] = (y[kids[0]!]! + y[kids[kids.length - 1]!]!) / 2;
  };
  place(0);
  const levels = Math.max(...depth) + 1;
  const width = PAD_X * 2 + (levels - 1) * COL + NODE_W;
  const height = PAD_TOP + row * ROW + 6;
  const px = (v: number) => PAD_X + depth[v]! * COL;
  const py = (v: number) => PAD_TOP + y[v]! * ROW + ROW / 2;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-step="${step.step}" data-size="${n}">`);
  for (let l = 0; l < levels; l++) {
    const acc = l >= 1 ? step.acceptance[l - 1] : undefined;
    const text = l === 0 ? 'root' : `level ${l}${acc !== undefined && Number.isFinite(acc) ? ` · ${Math.round(acc * 100)}%` : ''}`;
    parts.push(`<text class="level-label" x="${PAD_X + l * COL}" y="14">${text}</text>`);
  }
  const edge = (a: number, b: number, cls: string) => {
    const x1 = px(a) + NODE_W;
    const y1 = py(a);
    const x2 = px(b);
    const y2 = py(b);
    const mx = (x1 + x2) / 2;
    parts.push(`<path class="edge ${cls}" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`);
  };
  for (let i = 1; i < n; i++) edge(step.parents[i]!, i, onPath.has(i) ? 'on-path' : '');
  const finalKind = step.final === 'plain' ? 'bonus' : step.final;
  edge(last, n, `to-final ${finalKind}`);
  const node = (v: number, cls: string, token: number, attrs: string) => {
    const label = escapeXml(pieceLabel(labels[token] ?? `#${token}`));
    const title = escapeXml(`${labels[token] ?? ''} (id ${token})`);
    parts.push(
      `<g class="node ${cls}" ${attrs} data-token="${token}"><title>${title}</title>` +
        `<rect x="${px(v)}" y="${py(v) - NODE_H / 2}" width="${NODE_W}" height="${NODE_H}"/>` +
        `<text x="${px(v) + 6}" y="${py(v) + 1}">${label}</text></g>`,
    );
  };
  for (let i = 0; i < n; i++) {
    const cls = i === 0 ? 'root' : onPath.has(i) ? 'accepted' : 'rejected';
    node(i, cls, step.tokens[i]!, `data-node="${i}" data-parent="${step.parents[i]}"`);
  }
  node(n, step.final === 'plain' ? 'bonus plain' : step.final, finalToken, `data-node="final" data-parent="${last}" data-kind="${step.final}"`);
  parts.push('</svg>');
  container.innerHTML = parts.join('');
}
