/**
 * Tree-size auto-tuning (`--tree auto`). On a CPU the target's cost grows with the rows verified
 * at once — memory-bound (nearly flat) for small batches of a large model, compute-bound (about
 * linear) past a few rows, and linear from the start for tiny models — so the best tree depends
 * on the machine, the models and how well the draft predicts the target.
 *
 *   cost:  measured once at start-up: ms of a target forward of n rows and of a draft forward of
 *          n rows (medians of 3, at a realistic context; 1–4, 6, 8, 12, 16 rows, then doubling),
 *          interpolated in n;
 *   gain:  α(k) = P(continue into a child | a node with k children), counted during generation
 *          and across generations, starting optimistic (α = 1, worth 4 observations) so that a
 *          tree that could pay is tried at once and dropped quickly if the draft disagrees; the
 *          expected tokens of a step with shape [k1..kD] are τ = 1 + Σ_d Π_{j≤d} α(k_j)
 *          (positional independence, docs/verifiers.md §10);
 *   pick:  the shape (or plain decoding) with the most expected tokens per millisecond,
 *          re-evaluated every few steps; while plain decoding wins, a tree that would win if every
 *          draft were accepted is still tried now and then so that α keeps being measured. A tree
 *          that cannot beat plain decoding even then is never tried.
 *
 * Dynamic trees (`{ dynamic: N }`, src/draft/dynamic.ts) have no fixed shape for the α model to
 * score, so the tuner treats them, and the model's own pick, as arms of a bandit judged by measured
 * speed: every decision period (the steps between two re-evaluations) run on an arm adds its
 * tokens per millisecond to that arm's running mean. A dynamic arm's best case, recomputed at every
 * re-evaluation from the acceptance counted so far, bounds what it can make: along the accepted path
 * each level is reached from the one above with probability at most α* = max α(k) over the widths
 * k = 1 … K a dynamic tree can give a node (K = DYNAMIC_MAX_K, 1 for single-draft methods; α(k) as
 * above, so α* = 1 before any count, and while a width has too few observations to outweigh the
 * prior), so a tree of depth h (at most D = dynamicDepth(N)) emits at most 1 + Σ_{d=1..h} α*^d
 * tokens per step, in no less than the milliseconds of verifying N + 1 rows and h draft forwards of
 * one row; the best case is the largest of these rates over h (with α* = 1: a full chain of depth D,
 * every draft accepted). Early on, a width no step has used yet keeps α* at 1; the arms are tried in
 * the order of dynamicBudgets (smallest first from generate.ts), so the counts of a smaller tree's
 * trial can rule out the larger ones. An arm whose best case beats plain decoding is tried for
 * MIN_PERIODS periods once the model arm has been measured as long, unless its best case is already
 * below the best rate measured by then (an F32 target verifying 33 rows at once costs several single-row forwards:
 * unless the draft is nearly always accepted, such an arm cannot win, and trying it would cost dozens
 * of slow steps). Then the fastest arm is used, and every REVISIT re-evaluations the arm measured
 * least recently whose best case could still beat the fastest is run for one period again, so the
 * means follow the acceptance as it changes. What the best case assumes is spelled out at
 * `dynamicBestCase`.
 *
 * Exploration has a budget: a period of a dynamic arm's trial or revisit, or of the α model's try of
 * a tree while plain decoding wins, starts only if the time spent on such periods, with this one's
 * estimate added, stays within EXPLORE_SHARE (10 %) of all the time generated so far (across
 * generations), the estimate included. The estimate is PERIOD_STEPS steps at the arm's full-depth
 * step (target[N + 1] + D · draft[1]), or at the tree's modelled step; what a period really took is
 * what counts afterwards (a draft with its own cache first catches up with every token plain
 * decoding emitted: hundreds of rows). A period that would take 4 s (an F32 target
 * verifying 17 or 33 rows at once) then waits until some 36 s have been generated, and the next one
 * until the time explored is again a tenth of the total: a short generation is not spent on an arm
 * that may not pay, a long one still learns whether it does.
 */
import { treeNodeCount, type TreeSpec } from '../draft/tree.js';
import { DYNAMIC_MAX_K, dynamicDepth } from '../draft/dynamic.js';
import type { StepModel, Drafter, StepStats } from './speculative.js';
import { median } from '../util/stats.js';

/** Milliseconds of one forward by rows, index n = rows (index 0 unused). */
export interface CostCurves {
  readonly target: Float64Array; // [maxRows + 1]
  readonly draft: Float64Array; // [maxRows + 1]
  /** Context length the curves were measured at. */
  readonly context: number;
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
  // small trees are chosen most and their costs bend most (memory-bound → compute-bound): dense up to 16
  // rows, then doubling (a 0.5B-parameter target's curve took a minute at every size from 1 to 64, five times)
  const sizes = [1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128].filter((n) => n <= maxRows);
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
  const tc = measureModel(target, target.config.nLayers, maxRows, ctx, 3);
  let dc = new Float64Array(maxRows + 1);
  if (drafter) {
    const dm = drafter.model;
    const dRows = Math.min(maxRows, dm.maxBatch);
    const part = measureModel(dm, drafter.layers, dRows, Math.min(ctx, dm.cache.capacity >> 1), 3);
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

/** The tuner's pick: a tree (or plain decoding) and the tokens per step and per millisecond it expects. */
export interface TuneChoice {
  /** The tree to use: a fixed shape ([] = plain decoding) or a dynamic tree. */
  tree: TreeSpec;
  /** The fixed shape to use ([] = plain decoding, and for a dynamic tree). */
  shape: number[];
  /** Expected (fixed shapes) or measured (dynamic trees) tokens per step and per millisecond. */
  tokensPerStep: number;
  tokensPerMs: number;
}

/** Steps between two re-evaluations: the Generator calls `choose` every PERIOD_STEPS target forwards. */
export const PERIOD_STEPS = 8;
/** Decision periods each arm is measured for before the tuner compares arms. */
const MIN_PERIODS = 2;
/** Largest share of the time generated so far that exploring may take (default; see the header). */
export const EXPLORE_SHARE = 0.1;
/** Re-evaluations between two revisits of the least recently measured arm. */
const REVISIT = 24;
/** Weight of one period in an arm's running mean of tokens per millisecond. */
const RATE_WEIGHT = 0.3;

/** Picks tree shapes from measured costs and the acceptance observed so far. */
export class TreeTuner {
  /** The optimistic prior α = 1 is worth this many observations. */
  private static readonly PRIOR_WEIGHT = 4;
  private sinceExplore = 0;
  current: TuneChoice;
  /** Arm 0 is the α model's pick; arm i > 0 the dynamic tree with budget dynamicBudgets[i − 1]. */
  private readonly armRate: Float64Array;
  private readonly armPeriods: Int32Array;
  private readonly armSeen: Int32Array; // re-evaluation at which the arm last ran
  /** A dynamic arm's best case (tokens per millisecond) from the counts of the last `choose`. */
  private readonly armBest: Float64Array;
  private arm = 0;
  private periodTokens = 0;
  private periodMs = 0;
  private evaluations = 0;
  /** Whether the current period is an exploration (counted in exploreMs): a dynamic arm's trial or
   * revisit, or the α model's try of a tree while plain decoding wins. */
  private exploring = false;
  /** Whether the α model's last pick is such a try. */
  private modelExploring = false;
  private totalMs = 0;
  private exploreMs = 0;

  constructor(
    readonly costs: CostCurves,
    readonly candidates: readonly number[][],
    /** Draft forwards of pending tokens ride along with the first level when the draft has its own cache. */
    readonly separateDraftCache: boolean,
    /** Node budgets of the dynamic trees to compare with the model's pick by measured speed. */
    readonly dynamicBudgets: readonly number[] = [],
    /** Most children a dynamic tree gives a node (1 for single-draft methods such as sd and block). */
    readonly dynamicMaxK: number = DYNAMIC_MAX_K,
    /** Largest share of the time generated so far that exploring may take (1: no budget). */
    readonly exploreShare: number = EXPLORE_SHARE,
  ) {
    this.current = { tree: [], shape: [], tokensPerStep: 1, tokensPerMs: 1 / costs.target[1]! };
    const arms = 1 + dynamicBudgets.length;
    this.armRate = new Float64Array(arms);
    this.armPeriods = new Int32Array(arms);
    this.armSeen = new Int32Array(arms);
    this.armBest = new Float64Array(arms);
  }

  /** Records a step run with the current choice: tokens it emitted and its wall-clock milliseconds. */
  observe(tokens: number, ms: number): void {
    this.periodTokens += tokens;
    this.periodMs += ms;
    this.totalMs += ms;
    if (this.exploring) this.exploreMs += ms;
  }

  /** Milliseconds observed so far, and the part of them spent exploring (see the header). */
  get exploration(): { totalMs: number; exploreMs: number } {
    return { totalMs: this.totalMs, exploreMs: this.exploreMs };
  }

  /**
   * Whether a period on dynamic arm a fits the exploration budget: the time explored so far plus the
   * period's estimate (PERIOD_STEPS steps at the arm's full-depth step) within exploreShare of the
   * time generated so far plus the estimate.
   */
  private affordable(a: number): boolean {
    const c = this.costs;
    const budget = this.dynamicBudgets[a - 1]!;
    return this.fits(c.target[Math.min(budget + 1, c.target.length - 1)]! + dynamicDepth(budget) * c.draft[1]!);
  }

  /** Whether a period of PERIOD_STEPS steps of stepMs fits the exploration budget (see affordable). */
  private fits(stepMs: number): boolean {
    const estimate = PERIOD_STEPS * stepMs;
    return this.exploreMs + estimate <= this.exploreShare * (this.totalMs + estimate);
  }

  /** Measured tokens per millisecond of each arm so far (0 = not measured).  [1 + dynamic budgets] */
  get measuredRates(): readonly number[] {
    return Array.from(this.armRate);
  }

  /** α(k) from the counts and the optimistic prior (1, worth PRIOR_WEIGHT observations). */
  alpha(k: number, stats: StepStats | null): number {
    if (!stats || k >= stats.reachedByK.length) return 1;
    const w = TreeTuner.PRIOR_WEIGHT;
    return (stats.acceptedByK[k]! + w) / (stats.reachedByK[k]! + w);
  }

  /**
   * α* = max α(k) over the widths k = 1 … dynamicMaxK a dynamic tree can give a node: an upper
   * bound on how often its walk goes on from a node (1 without counts; a width the counts do not
   * cover, or with too few observations to outweigh the prior, keeps it at or near 1).
   */
  dynamicAlpha(stats: StepStats | null): number {
    let a = 0;
    for (let k = 1; k <= Math.max(1, this.dynamicMaxK); k++) a = Math.max(a, this.alpha(k, stats));
    return Math.min(1, a);
  }

  /**
   * Best case of the dynamic tree with budget N, tokens per millisecond, given the counts so far:
   *   max over depths h = 1 … D = dynamicDepth(N) of (1 + Σ_{d=1..h} α*^d) / (target[N + 1] + h · draft[1]).
   * With α* = 1 (no counts) this is the old best case, a full chain of depth D with every draft
   * accepted (for target[N + 1] ≥ draft[1]); with α* < 1 a shallower tree can be the best case.
   * What it assumes (the same as the α model's τ, plus what a dynamic tree costs at least):
   *  - a step emits 1 + the levels its walk went on through; from a node with k children the walk
   *    goes on with probability α(k), whatever happened at the levels above (positional
   *    independence). Both walks count a dynamic step's nodes like a fixed shape's (by the node's
   *    own child count, src/engine/speculative.ts), so its reach to level d is at most α*^d. If
   *    acceptance comes in runs (the draft right for a whole passage, wrong for the next) a deep
   *    tree can make more than this: α(k), counted per node, does not see the runs;
   *  - a node's acceptance does not fall when it gets more children, and the counts are
   *    representative of the nodes a dynamic tree reaches. Fixed shapes give every node of a level the
   *    same width whatever the draft's confidence, so their α(k) is an average over nodes; the
   *    dynamic planner gives fewer children where the draft is confident, so its own steps count its
   *    confident nodes at small k (α(1) read high, α(K) low). The rate a dynamic tree goes on at
   *    is a mix of its own α(k), so at most their max; pooled with fixed-shape counts, the max can
   *    read a little low. The prior (worth 4 observations at α = 1) leaves some slack;
   *  - a step verifies N + 1 rows (the planner spends its budget; only a generation's last steps,
   *    cut to fit, verify fewer) and runs one draft forward of ≥ 1 row per level it draws (the
   *    curves do not decrease); catch-up draft forwards and the verifiers' time only add to it.
   */
  dynamicBestCase(budget: number, stats: StepStats | null): number {
    const c = this.costs;
    const a = this.dynamicAlpha(stats);
    const targetMs = c.target[Math.min(budget + 1, c.target.length - 1)]!;
    let best = 0;
    let tokens = 1;
    let reach = 1;
    for (let h = 1; h <= dynamicDepth(budget); h++) {
      reach *= a;
      tokens += reach;
      best = Math.max(best, tokens / (targetMs + h * c.draft[1]!));
    }
    return best;
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

  /**
   * The next choice (every few steps): the α model's pick among fixed shapes and plain decoding,
   * or a dynamic tree when one has measured faster (see the header). stats: acceptance so far.
   */
  choose(stats: StepStats | null): TuneChoice {
    this.closePeriod();
    this.evaluations++;
    const model = this.chooseModel(stats);
    if (this.dynamicBudgets.length === 0) return this.use(0, model);
    const arms = this.armRate.length;
    const plainRate = 1 / this.costs.target[1]!;
    // each dynamic arm's best case from the acceptance counted so far; one that cannot beat plain
    // decoding even then is not run
    for (let a = 1; a < arms; a++) this.armBest[a] = this.dynamicBestCase(this.dynamicBudgets[a - 1]!, stats);
    const ready = this.armPeriods[0]! >= MIN_PERIODS;
    let measured = 0; // the best rate measured so far
    for (let a = 0; a < arms; a++) if (this.armPeriods[a]! > 0) measured = Math.max(measured, this.armRate[a]!);
    for (let a = 1; a < arms && ready; a++) {
      if (this.armBest[a]! > plainRate && this.armPeriods[a]! < MIN_PERIODS && this.armBest[a]! > measured && this.affordable(a)) {
        return this.use(a, model, true);
      }
    }
    // the fastest measured arm (an arm measured once stays comparable by its measured rate)
    let best = 0;
    for (let a = 1; a < arms; a++) if (this.armPeriods[a]! > 0 && this.armRate[a]! > this.armRate[best]!) best = a;
    if (ready && this.evaluations % REVISIT === 0) {
      let stale = -1;
      for (let a = 0; a < arms; a++) {
        if (a === best || (a > 0 && (this.armBest[a]! <= plainRate || this.armBest[a]! <= this.armRate[best]! || !this.affordable(a)))) continue;
        if (stale < 0 || this.armSeen[a]! < this.armSeen[stale]!) stale = a;
      }
      if (stale >= 0) return this.use(stale, model, stale > 0);
    }
    return this.use(best, model);
  }

  /** Adds the finished period's measured speed to its arm's running mean. */
  private closePeriod(): void {
    if (this.periodMs > 0) {
      const a = this.arm;
      const rate = this.periodTokens / this.periodMs;
      this.armRate[a] = this.armPeriods[a] === 0 ? rate : this.armRate[a]! + RATE_WEIGHT * (rate - this.armRate[a]!);
      this.armPeriods[a]!++;
    }
    this.periodTokens = 0;
    this.periodMs = 0;
  }

  /** Switch to arm a (0: the model's pick); exploring: a dynamic arm's trial or revisit (the model's try of a tree is flagged by chooseModel). */
  private use(a: number, model: TuneChoice, exploring = false): TuneChoice {
    this.arm = a;
    this.exploring = exploring || (a === 0 && this.modelExploring);
    this.armSeen[a] = this.evaluations;
    if (a === 0) {
      this.current = model;
      return model;
    }
    const n = this.dynamicBudgets[a - 1]!;
    this.current = { tree: { dynamic: n }, shape: [], tokensPerStep: Number.NaN, tokensPerMs: this.armRate[a]! };
    return this.current;
  }

  /** The α model's best fixed shape or plain decoding given the statistics so far (null before any step). */
  private chooseModel(stats: StepStats | null): TuneChoice {
    const plainRate = 1 / this.costs.target[1]!;
    let best: TuneChoice = { tree: [], shape: [], tokensPerStep: 1, tokensPerMs: plainRate };
    let bestTree: TuneChoice | null = null;
    let bestTreeMs = 0;
    for (const s of this.candidates) {
      const { tokens, ms } = this.evaluate(s, stats);
      const c = { tree: s, shape: s, tokensPerStep: tokens, tokensPerMs: tokens / ms };
      if (c.tokensPerMs > best.tokensPerMs) best = c;
      // a tree worth exploring: one that would beat plain decoding if every draft were accepted
      if ((s.length + 1) / ms > plainRate && (!bestTree || c.tokensPerMs > bestTree.tokensPerMs)) {
        bestTree = c;
        bestTreeMs = ms;
      }
    }
    // keep measuring α while plain decoding wins (only trees that could win at all): one try every
    // 32 re-evaluations, or later, when it fits the exploration budget (its measured time includes
    // the draft catching up with the tokens plain decoding emitted)
    this.modelExploring = false;
    if (best.shape.length === 0 && bestTree && ++this.sinceExplore >= 32 && this.fits(bestTreeMs)) {
      this.sinceExplore = 0;
      this.modelExploring = true;
      return bestTree;
    }
    return best;
  }
}
