/**
 * Tree-size auto-tuning (`--tree auto`). On a CPU the target's cost grows with the rows verified
 * at once — memory-bound (nearly flat) for small batches of a large model, compute-bound (about
 * linear) past a few rows, and linear from the start for tiny models — so the best tree depends
 * on the machine, the models and how well the draft predicts the target.
 *
 *   cost:  measured once at start-up: ms of a target forward of n rows and of a draft forward of
 *          n rows (medians, at a realistic context), interpolated in n;
 *   gain:  α(k) = P(continue into a child | a node with k children), counted during generation
 *          and across generations, starting optimistic (α = 1, worth 4 observations) so that a
 *          tree that could pay is tried at once and dropped quickly if the draft disagrees; the
 *          expected tokens of a step with shape [k1..kD] are τ = 1 + Σ_d Π_{j≤d} α(k_j)
 *          (positional independence, docs/verifiers.md §10);
 *   pick:  the shape (or plain decoding) with the most expected tokens per millisecond,
 *          re-evaluated every few steps; while plain decoding wins, a tree that would win if every
 *          draft were accepted is still tried now and then so that α keeps being measured. A tree
 *          that cannot beat plain decoding even then is never tried.
 */
import { treeNodeCount } from '../draft/tree.js';
import type { StepModel, Drafter, StepStats } from './speculative.js';

/** Milliseconds of one forward by rows, index n = rows (index 0 unused). */
export interface CostCurves {
  readonly target: Float64Array; // [maxRows + 1]
  readonly draft: Float64Array; // [maxRows + 1]
  /** Context length the curves were measured at. */
  readonly context: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Forward cost by rows for `model` running `layers` layers at `context` committed tokens. */
function measureModel(model: StepModel, layers: number, maxRows: number, context: number, reps: number): Float64Array {
  const out = new Float64Array(maxRows + 1);
  const V = model.config.vocabSize;
  const base = model.cache.length;
  // a committed context of `context` tokens (the cost of attention grows with it)
  const ctx = Math.min(context, model.cache.capacity - base - 1);
  for (let start = 0; start < ctx; start += model.maxBatch) {
    const n = Math.min(model.maxBatch, ctx - start);
    for (let i = 0; i < n; i++) {
      model.tokens[i] = (start + i) % V;
      model.positions[i] = model.cache.length + i;
    }
    model.forward(n, n, false, 0, layers);
    model.cache.commit(n);
  }
  const P = model.cache.length;
  const sizes = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128].filter((n) => n <= maxRows);
  if (sizes[sizes.length - 1] !== maxRows) sizes.push(maxRows);
  const at = new Float64Array(sizes.length);
  sizes.forEach((n, si) => {
    for (let i = 0; i < n; i++) {
      model.tokens[i] = (7 * i + 3) % V;
      model.positions[i] = Math.min(P + i, model.cache.capacity - 1);
    }
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      model.forward(n, 0, false, 0, layers);
      times.push(performance.now() - t0);
    }
    at[si] = median(times);
  });
  model.cache.truncate(base);
  // a forward of more rows never costs less: the lower envelope from the right removes timing noise
  for (let i = at.length - 2; i >= 0; i--) at[i] = Math.min(at[i]!, at[i + 1]!);
  // piecewise-linear interpolation over the measured sizes
  let j = 0;
  for (let n = 1; n <= maxRows; n++) {
    while (j + 1 < sizes.length && sizes[j + 1]! < n) j++;
    const n0 = sizes[j]!;
    const n1 = sizes[Math.min(j + 1, sizes.length - 1)]!;
    if (n <= n0 || n1 === n0) out[n] = at[j]!;
    else out[n] = at[j]! + ((at[j + 1]! - at[j]!) * (n - n0)) / (n1 - n0);
  }
  return out;
}

/**
 * Measure the cost curves (load time; runs a few dozen forwards, then rolls the caches back).
 * Warm-up runs first so the JIT has tiered up the kernels.
 */
export function measureCosts(target: StepModel, drafter: Drafter | null, maxRows: number, context = 128): CostCurves {
  const ctx = Math.max(0, Math.min(context, target.cache.capacity >> 1));
  measureModel(target, target.config.nLayers, Math.min(maxRows, 8), 8, 2); // warm-up
  const tc = measureModel(target, target.config.nLayers, maxRows, ctx, 5);
  let dc = new Float64Array(maxRows + 1);
  if (drafter) {
    const dm = drafter.model;
    const dRows = Math.min(maxRows, dm.maxBatch);
    const part = measureModel(dm, drafter.layers, dRows, Math.min(ctx, dm.cache.capacity >> 1), 5);
    dc = new Float64Array(maxRows + 1);
    for (let n = 1; n <= maxRows; n++) dc[n] = part[Math.min(n, dRows)]!;
  }
  return { target: tc, draft: dc, context: ctx };
}

/** Non-increasing branching sequences over 1..maxK, depth 1..maxDepth, within maxNodes. */
export function candidateShapes(maxNodes: number, maxDepth = 6, maxK = 4, chainsOnly = false): number[][] {
  const out: number[][] = [];
  const rec = (prefix: number[], limit: number) => {
    if (prefix.length > 0) out.push([...prefix]);
    if (prefix.length === maxDepth) return;
    for (let k = chainsOnly ? 1 : Math.min(limit, maxK); k >= 1; k--) {
      const next = [...prefix, k];
      if (treeNodeCount(next) > maxNodes) continue;
      rec(next, k);
    }
  };
  rec([], maxK);
  return out;
}

export interface TuneChoice {
  /** The shape to use ([] = plain decoding). */
  shape: number[];
  /** Expected tokens per step and per millisecond of that choice. */
  tokensPerStep: number;
  tokensPerMs: number;
}

/** Picks tree shapes from measured costs and the acceptance observed so far. */
export class TreeTuner {
  /** The optimistic prior α = 1 is worth this many observations. */
  private static readonly PRIOR_WEIGHT = 4;
  private sinceExplore = 0;
  current: TuneChoice;

  constructor(
    readonly costs: CostCurves,
    readonly candidates: readonly number[][],
    /** Draft forwards of pending tokens ride along with the first level when the draft has its own cache. */
    readonly separateDraftCache: boolean,
  ) {
    this.current = { shape: [], tokensPerStep: 1, tokensPerMs: 1 / costs.target[1]! };
  }

  /** α(k) from the counts and the optimistic prior (1, worth PRIOR_WEIGHT observations). */
  alpha(k: number, stats: StepStats | null): number {
    if (!stats || k >= stats.reachedByK.length) return 1;
    const w = TreeTuner.PRIOR_WEIGHT;
    return (stats.acceptedByK[k]! + w) / (stats.reachedByK[k]! + w);
  }

  /** Expected tokens per step and milliseconds per step of a shape. */
  evaluate(shape: readonly number[], stats: StepStats | null): { tokens: number; ms: number } {
    const c = this.costs;
    if (shape.length === 0) return { tokens: 1, ms: c.target[1]! };
    let tokens = 1;
    let reach = 1;
    let width = 1;
    let draftMs = 0;
    for (const k of shape) {
      draftMs += c.draft[Math.min(width, c.draft.length - 1)]!; // one draft forward per level over its nodes
      reach *= this.alpha(k, stats);
      tokens += reach;
      width *= k;
    }
    // an accepted leaf is fed to a separate draft model at the next step
    if (this.separateDraftCache) draftMs += reach * c.draft[1]!;
    const nodes = treeNodeCount(shape);
    const ms = c.target[Math.min(nodes, c.target.length - 1)]! + draftMs;
    return { tokens, ms };
  }

  /** The best choice given the statistics so far (null before any step). */
  choose(stats: StepStats | null): TuneChoice {
    const plainRate = 1 / this.costs.target[1]!;
    let best: TuneChoice = { shape: [], tokensPerStep: 1, tokensPerMs: plainRate };
    let bestTree: TuneChoice | null = null;
    for (const s of this.candidates) {
      const { tokens, ms } = this.evaluate(s, stats);
      const c = { shape: s, tokensPerStep: tokens, tokensPerMs: tokens / ms };
      if (c.tokensPerMs > best.tokensPerMs) best = c;
      // a tree worth exploring: one that would beat plain decoding if every draft were accepted
      if ((s.length + 1) / ms > plainRate && (!bestTree || c.tokensPerMs > bestTree.tokensPerMs)) bestTree = c;
    }
    // keep measuring α while plain decoding wins (only trees that could win at all): one try every
    // 32 re-evaluations
    if (best.shape.length === 0 && bestTree && ++this.sinceExplore >= 32) {
      this.sinceExplore = 0;
      this.current = bestTree;
      return bestTree;
    }
    this.current = best;
    return best;
  }
}
