/**
 * Dynamic draft trees (`--tree dynamic:N`; docs/verifiers-sequence.md §4): instead of a fixed
 * branching per level, the drafter decides, level by level and under a budget of N draft nodes per
 * step, how many children each node gets — expanding where the draft model is confident, like
 * EAGLE-2's path-probability expansion, Sequoia's budgeted trees and llama.cpp's p_split.
 *
 * The drafter maximises an estimate of the tokens a step gains — Sequoia's objective, the sum over
 * draft nodes of the probability that the accepted path reaches them — steering by its own
 * confidence like EAGLE-2:
 *   confidence   b(n) = the bin of max_y q_n(y) (edges .3 .5 .7 .85 .95)
 *   acceptance   A_k(n) = α(k, b(n)): how often the walk went on from a node of that confidence bin
 *                with k children, counted over the earlier steps of the generation, shrunk towards
 *                α(k) of all bins (worth 4 observations), itself shrunk towards 1 − 0.4^k (worth 2);
 *                made non-decreasing in k
 *   reach        R(root) = 1,  R(c) = R(n) · A_k(n) · q_n(x_c) / Σ_siblings q_n(x_s)
 *   value        v(n, j) = R(n) · (A_j(n) − A_{j−1}(n)): the gain of giving n a j-th child
 * At each level, a best-first search over the level's real slots and *predicted* slots of the levels
 * below (a predicted child of value v has slots v · ĝ_j, ĝ_j a running mean of A_j − A_{j−1} over
 * drafted nodes) spends the remaining budget; the level's nodes get the real slots it picked (a
 * prefix j = 1..k_n per node, since the marginal values fall with j), the predicted ones only
 * reserve budget and are planned again with real q once their level is drafted. A confident draft
 * that is usually right grows chains; where it hesitates, or is often wrong, the tree widens.
 *
 * Why exactness is kept: the children of a node are still drawn from the method's drafting law,
 * and the number k_n of children of n is fixed before they are drawn, from draft-model quantities
 * of this step only (q of n and of nodes at or above its level, their tokens) and from the
 * acceptance table α and ĝ, which were fixed before the step began. So given everything the
 * verifier has looked at when it reaches n, n's children are a fresh draw of the law with k_n
 * children — the one property every verifier's proof uses (docs/verifiers.md §10; for traversal, the
 * subtree lemma holds for any shape). The decision never uses this step's p: a shape chosen from
 * the target's probabilities would select drafts the target likes and bias the output. Nor does it
 * use a node's own children (no pruning after drawing): a sibling set kept because of its tokens is
 * not a draw of the law any more. Counts from earlier steps are like the prefix itself: the law of
 * this step's tokens given them is still the target's (the same holds for `--tree auto`'s α(k) and
 * Sequoia's offline acceptance vector).
 *
 * The planner is allocation-free: every array is sized at construction for the largest budget.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ProbKernels } from '../wasm/kernels.js';
import type { Runtime } from '../wasm/runtime.js';
import type { DraftLaw } from '../verify/types.js';

/** A dynamic tree: up to `dynamic` draft nodes per step, shaped by the drafter. */
export interface DynamicTreeSpec {
  readonly dynamic: number;
}

/** Largest depth of a dynamic tree (rows of target probabilities are planned per level). */
export const DYNAMIC_MAX_DEPTH = 32;

/** Most children a node of a dynamic tree gets (methods drafting one token per node get 1). */
export const DYNAMIC_MAX_K = 4;

/** Largest budget `dynamic:N` accepts. */
export const DYNAMIC_MAX_BUDGET = 1023;

/** Upper edges of the confidence bins (max q); the last bin is [.95, 1]. */
const BIN_EDGES = [0.3, 0.5, 0.7, 0.85, 0.95];
const BINS = BIN_EDGES.length + 1;

/** α(k) of all bins before any observation: 1 − (1 − FIRST)^k, worth PRIOR_WEIGHT observations. */
const FIRST = 0.6;
const PRIOR_WEIGHT = 2;
/** α(k, b) is shrunk towards α(k) with this weight (observations). */
const POOL_WEIGHT = 4;

/** Prior of ĝ_j (mean marginal acceptance of the j-th child) before any node was drafted. */
const GAIN_PRIOR = [0.6, 0.15, 0.05, 0.03];

/** Weight of one node in the running means ĝ. */
const RATE = 1 / 16;

/** The confidence bin of a node whose q has largest entry qMax. */
function binOf(qMax: number): number {
  let b = 0;
  while (b < BIN_EDGES.length && qMax >= BIN_EDGES[b]!) b++;
  return b;
}

/** Depth of a dynamic tree with budget N: min(N, DYNAMIC_MAX_DEPTH). */
export function dynamicDepth(budget: number): number {
  return Math.min(budget, DYNAMIC_MAX_DEPTH);
}

/** Parses "dynamic:N" (N in 1..DYNAMIC_MAX_BUDGET); null when `spec` is not of that form. */
export function parseDynamicSpec(spec: string): DynamicTreeSpec | null {
  const m = /^dynamic:(.*)$/.exec(spec.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (!/^\d+$/.test(m[1]!.trim()) || !Number.isSafeInteger(n) || n < 1 || n > DYNAMIC_MAX_BUDGET) {
    throw new InvalidArgumentError(`tree shape: expected dynamic:N with N a node budget in 1..${DYNAMIC_MAX_BUDGET}, got "${spec}"`);
  }
  return { dynamic: n };
}

/** Whether a tree option is a dynamic tree. */
export function isDynamicSpec(x: unknown): x is DynamicTreeSpec {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as DynamicTreeSpec).dynamic === 'number';
}

/** Checks a DynamicTreeSpec given as an object. */
export function checkDynamicSpec(spec: DynamicTreeSpec): DynamicTreeSpec {
  const n = spec.dynamic;
  if (!Number.isSafeInteger(n) || n < 1 || n > DYNAMIC_MAX_BUDGET) {
    throw new InvalidArgumentError(`tree: expected { dynamic: N } with N a node budget in 1..${DYNAMIC_MAX_BUDGET}, got ${String(n)}`);
  }
  return { dynamic: n };
}

/** The tree a dynamic planner reads: node tokens and the row of each node's q. */
export interface PlannerTree {
  readonly tokens: Int32Array; // [capacity]
}

/**
 * Decides children counts for dynamic trees. One per generation setup; `reset` forgets what it
 * learned (the Stepper resets it with every generation, so a seed reproduces its text).
 */
export class DynamicPlanner {
  /** Reach R of every node of the current tree.  [maxNodes] */
  readonly pathProb: Float64Array;
  /** Acceptance A_k of every planned node of the current tree, by node id.  [maxNodes][maxK] */
  private readonly accept: Float64Array;
  /** Confidence bin of every planned node.  [maxNodes] */
  private readonly bin: Uint8Array;
  /** α's counts by (bin, k): nodes reached with k children, and how often the walk went on.  [BINS][maxK] */
  private readonly reached: Float64Array;
  private readonly continued: Float64Array;
  /** The same counts over all bins.  [maxK] */
  private readonly reachedAll: Float64Array;
  private readonly continuedAll: Float64Array;
  /** Running means ĝ_j.  [maxK] */
  private readonly mean: Float64Array;
  // best-first heap over items (a real slot of a level node, or a slot of a predicted node)
  private readonly heapVal: Float64Array;
  private readonly heapItem: Int32Array;
  private heapSize = 0;
  private readonly itemNode: Int32Array; // real: node id; predicted: -1 - predicted index
  private readonly itemJ: Int32Array;
  private items = 0;
  private readonly predP: Float64Array;
  private readonly predLeft: Int32Array; // levels that may still be added below the predicted node
  private preds = 0;
  private readonly maxK: number;
  private lastVal = 0; // value of the item `pop` returned last

  constructor(
    private readonly runtime: Runtime,
    readonly maxNodes: number,
    maxK: number,
    readonly law: DraftLaw,
    private readonly kernels: Pick<ProbKernels, 'argmax_f64'> = runtime.k,
  ) {
    if (!Number.isSafeInteger(maxNodes) || maxNodes < 2) throw new InvalidArgumentError(`dynamic tree: expected room for >= 2 nodes, got ${maxNodes}`);
    this.maxK = law === 'single' ? 1 : Math.max(1, Math.min(maxK, DYNAMIC_MAX_K));
    this.pathProb = new Float64Array(maxNodes);
    this.accept = new Float64Array(maxNodes * this.maxK);
    this.bin = new Uint8Array(maxNodes);
    this.reached = new Float64Array(BINS * this.maxK);
    this.continued = new Float64Array(BINS * this.maxK);
    this.reachedAll = new Float64Array(this.maxK);
    this.continuedAll = new Float64Array(this.maxK);
    this.mean = new Float64Array(this.maxK);
    const cap = 4 * maxNodes + 4;
    this.heapVal = new Float64Array(cap);
    this.heapItem = new Int32Array(cap);
    this.itemNode = new Int32Array(cap);
    this.itemJ = new Int32Array(cap);
    this.predP = new Float64Array(cap);
    this.predLeft = new Int32Array(cap);
    this.reset();
  }

  /** Most children per node this planner gives. */
  get childLimit(): number {
    return this.maxK;
  }

  /** α(k, b): the estimated chance that the walk goes on from a node of confidence bin b with k children. */
  acceptance(k: number, b: number): number {
    const prior = 1 - Math.pow(1 - FIRST, k);
    const pooled = (this.continuedAll[k - 1]! + PRIOR_WEIGHT * prior) / (this.reachedAll[k - 1]! + PRIOR_WEIGHT);
    const i = b * this.maxK + k - 1;
    return (this.continued[i]! + POOL_WEIGHT * pooled) / (this.reached[i]! + POOL_WEIGHT);
  }

  /** Forget the acceptance counts and running means (a new generation). */
  reset(): void {
    for (let j = 0; j < this.maxK; j++) this.mean[j] = GAIN_PRIOR[Math.min(j, GAIN_PRIOR.length - 1)]!;
    this.reached.fill(0);
    this.continued.fill(0);
    this.reachedAll.fill(0);
    this.continuedAll.fill(0);
  }

  /**
   * Counts a verified step: the accepted path (node ids, root first) of the tree this planner
   * shaped; every path node with children was reached, and the walk went on from all but the last.
   */
  observePath(path: Int32Array, length: number, childCount: Int32Array): void {
    for (let j = 0; j < length; j++) {
      const node = path[j]!;
      const k = childCount[node]!;
      if (k === 0) continue;
      const kk = Math.min(k, this.maxK) - 1;
      const i = this.bin[node]! * this.maxK + kk;
      this.reached[i]!++;
      this.reachedAll[kk]!++;
      if (j + 1 < length) {
        this.continued[i]!++;
        this.continuedAll[kk]!++;
      }
    }
  }

  /** Start a tree: the root's reach is 1. */
  beginTree(): void {
    this.pathProb[0] = 1;
  }

  /**
   * Children counts for the level's nodes [from, to) (all at one depth) into counts[node], given
   * their draft rows (qOf(node): f64 [V] in runtime memory), the budget of draft nodes left and the
   * levels that may still be added below them (≥ 1). Returns the number of children planned.
   */
  planLevel(from: number, to: number, qOf: (node: number) => Float64Array, budget: number, levelsLeft: number, counts: Int32Array): number {
    const K = this.maxK;
    this.heapSize = 0;
    this.items = 0;
    this.preds = 0;
    for (let n = from; n < to; n++) {
      counts[n] = 0;
      this.model(n, qOf(n));
      const v = this.pathProb[n]! * this.accept[n * K]!;
      if (levelsLeft >= 1 && v > 0) this.push(v, n, 1);
    }
    let left = budget;
    let planned = 0;
    while (left > 0 && this.heapSize > 0) {
      const item = this.pop();
      const value = this.lastVal;
      const node = this.itemNode[item]!;
      const j = this.itemJ[item]!;
      left--;
      let below: number; // levels that may still be added under the child this slot creates
      if (node >= 0) {
        counts[node] = j;
        planned++;
        if (j < K) {
          const next = this.pathProb[node]! * (this.accept[node * K + j]! - this.accept[node * K + j - 1]!);
          if (next > 0) this.push(next, node, j + 1);
        }
        below = levelsLeft - 1;
      } else {
        const pi = -1 - node;
        if (j < K) this.push(this.predP[pi]! * this.mean[j]!, node, j + 1);
        below = this.predLeft[pi]! - 1;
      }
      if (below >= 1) {
        // the child this slot creates, predicted: its reach is the slot's value
        const pi = this.preds++;
        this.predP[pi] = value;
        this.predLeft[pi] = below;
        this.push(value * this.mean[0]!, -1 - pi, 1);
      }
    }
    return planned;
  }

  /** Reach of the children of `parent` (drafted from q): R(c) = R(parent) A_k(parent) q(x_c) / Σ_siblings q. */
  recordChildren(parent: number, q: Float64Array, tree: PlannerTree, first: number, count: number): void {
    if (count === 0) return;
    let total = 0;
    for (let c = first; c < first + count; c++) total += q[tree.tokens[c]!]!;
    const base = (this.pathProb[parent]! * this.accept[parent * this.maxK + Math.min(count, this.maxK) - 1]!) / total;
    for (let c = first; c < first + count; c++) this.pathProb[c] = base * q[tree.tokens[c]!]!;
  }

  /** Node n's confidence bin, acceptance A_1..A_K (non-decreasing) and the running means of its gains. */
  private model(n: number, q: Float64Array): void {
    const K = this.maxK;
    const best = this.kernels.argmax_f64(q.byteOffset, q.length);
    const b = binOf(best >= 0 ? q[best]! : 0);
    this.bin[n] = b;
    let prev = 0;
    for (let k = 1; k <= K; k++) {
      const a = Math.max(prev, this.acceptance(k, b));
      this.accept[n * K + k - 1] = a;
      this.mean[k - 1]! += RATE * (a - prev - this.mean[k - 1]!);
      prev = a;
    }
  }

  private push(value: number, node: number, j: number): void {
    const item = this.items++;
    this.itemNode[item] = node;
    this.itemJ[item] = j;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heapVal[parent]! >= value) break;
      this.heapVal[i] = this.heapVal[parent]!;
      this.heapItem[i] = this.heapItem[parent]!;
      i = parent;
    }
    this.heapVal[i] = value;
    this.heapItem[i] = item;
  }

  /** Removes the item of largest value (its value in lastVal). */
  private pop(): number {
    const top = this.heapItem[0]!;
    this.lastVal = this.heapVal[0]!;
    const n = --this.heapSize;
    if (n > 0) {
      const v = this.heapVal[n]!;
      const it = this.heapItem[n]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.heapVal[c + 1]! > this.heapVal[c]!) c++;
        if (this.heapVal[c]! <= v) break;
        this.heapVal[i] = this.heapVal[c]!;
        this.heapItem[i] = this.heapItem[c]!;
        i = c;
      }
      this.heapVal[i] = v;
      this.heapItem[i] = it;
    }
    return top;
  }
}
