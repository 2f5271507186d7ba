/**
 * Dynamic draft trees (`--tree dynamic:N`; docs/verifiers-sequence.md §4): instead of a fixed
 * branching per level, the drafter decides, level by level and under a budget of N draft nodes per
 * step, how many children each node gets — expanding where the draft model is confident, like
 * EAGLE-2's path-probability expansion, Sequoia's budgeted trees and llama.cpp's p_split.
 *
 * The drafter maximises its own estimate of the tokens a step gains, believing the target is the
 * draft (it never sees p):
 *   path probability  P(root) = 1,  P(c) = P(n) · q_n(x_c)        for a child c of n drafted as x_c
 *   coverage          c_j(n) = the chance, under q_n, that the target's next token is covered by the
 *                     j-th child and not by children 1..j−1, for the method's drafting law:
 *                       single / i.i.d.:  Σ_y q(y)² (1 − q(y))^(j−1)
 *                       without replacement:  the j-th largest q
 *                       hub law:  cov(k) − cov(k−1), cov(k) = q(G) + Σ_{y∉G} q(y)² / q(∉G), G = top k−1
 *                     (sums over the 8 largest entries of q_n: the tail adds little and costs O(V))
 *   value of a slot   v(n, j) = P(n) · c_j(n): the believed gain of giving n a j-th child
 * At each level, a best-first search over the level's real slots and *predicted* slots of the levels
 * below (a predicted child of value v has slots v · ĝ_j, ĝ_j a running mean of c_j over drafted
 * nodes) spends the remaining budget; the level's nodes get the real slots it picked (a prefix
 * j = 1..k_n per node, since c_j falls with j), the predicted ones only reserve budget and are
 * planned again with real q once their level is drafted.
 *
 * Why exactness is kept: the children of a node are still drawn from the method's drafting law,
 * and the number k_n of children of n is fixed before they are drawn, from draft-model quantities
 * only (q of n and of nodes at or above its level, their tokens, and ĝ). So given everything the
 * verifier has looked at when it reaches n, n's children are a fresh draw of the law with k_n
 * children — the one property every verifier's proof uses (verifiers.md §10; for traversal, the
 * subtree lemma holds for any shape). The decision may never use p: a shape chosen from the
 * target's probabilities would select drafts the target likes and bias the output. Nor may it use a
 * node's own children (no pruning after drawing): a sibling set kept because of its tokens is not
 * a draw of the law any more.
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

/** Entries of q the coverage estimates look at. */
const TOP = 8;

/** Prior of ĝ_j (mean coverage of the j-th child) before any node was drafted. */
const PRIOR = [0.5, 0.12, 0.05, 0.03];

/** Weight of one node in the running means ĝ. */
const RATE = 1 / 16;

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
 * Decides children counts for dynamic trees. One per generation setup; `reset` forgets the running
 * means (the Stepper resets it with every generation, so a seed reproduces its text).
 */
export class DynamicPlanner {
  /** The draft's path probability of every node of the current tree.  [maxNodes] */
  readonly pathProb: Float64Array;
  /** Coverage c_j of the nodes of the current level, by node id.  [maxNodes][maxK] */
  private readonly cov: Float64Array;
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
  private readonly idxPtr: number; // i32 [TOP]
  private readonly restPtr: number; // f64 [1]
  private idx: Int32Array; // [TOP] view of idxPtr (re-derived when the memory grows)
  private readonly top: Float64Array; // [TOP] values of q's largest entries
  private readonly maxK: number;
  private lastVal = 0; // value of the item `pop` returned last

  constructor(
    private readonly runtime: Runtime,
    readonly maxNodes: number,
    maxK: number,
    readonly law: DraftLaw,
    private readonly kernels: ProbKernels = runtime.k,
  ) {
    if (!Number.isSafeInteger(maxNodes) || maxNodes < 2) throw new InvalidArgumentError(`dynamic tree: expected room for >= 2 nodes, got ${maxNodes}`);
    this.maxK = law === 'single' ? 1 : Math.max(1, Math.min(maxK, DYNAMIC_MAX_K));
    this.pathProb = new Float64Array(maxNodes);
    this.cov = new Float64Array(maxNodes * this.maxK);
    this.mean = new Float64Array(this.maxK);
    const cap = 4 * maxNodes + 4;
    this.heapVal = new Float64Array(cap);
    this.heapItem = new Int32Array(cap);
    this.itemNode = new Int32Array(cap);
    this.itemJ = new Int32Array(cap);
    this.predP = new Float64Array(cap);
    this.predLeft = new Int32Array(cap);
    this.idxPtr = runtime.arena.alloc('dynamic.idx', 4 * TOP).ptr;
    this.restPtr = runtime.arena.alloc('dynamic.rest', 8).ptr;
    this.idx = new Int32Array(runtime.memory.buffer, this.idxPtr, TOP);
    this.top = new Float64Array(TOP);
    this.reset();
  }

  /** Most children per node this planner gives. */
  get childLimit(): number {
    return this.maxK;
  }

  /** Forget the running means (a new generation). */
  reset(): void {
    for (let j = 0; j < this.maxK; j++) this.mean[j] = PRIOR[Math.min(j, PRIOR.length - 1)]!;
  }

  /** Start a tree: the root's path probability is 1. */
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
      this.coverage(n, qOf(n));
      const v = this.pathProb[n]! * this.cov[n * K]!;
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
          const next = this.pathProb[node]! * this.cov[node * K + j]!;
          if (next > 0) this.push(next, node, j + 1);
        }
        below = levelsLeft - 1;
      } else {
        const pi = -1 - node;
        if (j < K) this.push(this.predP[pi]! * this.mean[j]!, node, j + 1);
        below = this.predLeft[pi]! - 1;
      }
      if (below >= 1) {
        // the child this slot creates, predicted: its path probability is the slot's value
        const pi = this.preds++;
        this.predP[pi] = value;
        this.predLeft[pi] = below;
        this.push(value * this.mean[0]!, -1 - pi, 1);
      }
    }
    return planned;
  }

  /** Path probabilities of the children of `parent` (drafted from q): P(c) = P(parent) q(x_c). */
  recordChildren(parent: number, q: Float64Array, tree: PlannerTree, first: number, count: number): void {
    const base = this.pathProb[parent]!;
    for (let c = first; c < first + count; c++) this.pathProb[c] = base * q[tree.tokens[c]!]!;
  }

  /** The coverage c_1..c_K of node n from the largest entries of q, and the running means. */
  private coverage(n: number, q: Float64Array): void {
    const K = this.maxK;
    const got = this.kernels.topk_f64(this.idxPtr, this.restPtr, q.byteOffset, q.length, TOP);
    if (this.idx.buffer !== this.runtime.memory.buffer) this.idx = new Int32Array(this.runtime.memory.buffer, this.idxPtr, TOP);
    const idx = this.idx;
    const top = this.top;
    for (let m = 0; m < TOP; m++) top[m] = m < got ? q[idx[m]!]! : 0;
    const out = this.cov;
    const base = n * K;
    if (this.law === 'single' || this.law === 'iid') {
      for (let j = 0; j < K; j++) {
        let s = 0;
        for (let m = 0; m < got; m++) s += top[m]! * top[m]! * Math.pow(1 - top[m]!, j);
        out[base + j] = s;
      }
    } else if (this.law === 'wo') {
      for (let j = 0; j < K; j++) out[base + j] = top[j] ?? 0;
    } else {
      let prev = 0;
      for (let k = 1; k <= K; k++) {
        // G = the top k−1 entries; cov(k) = q(G) + Σ_{y∉G} q(y)² / q(∉G), the tail beyond TOP ignored
        let g = 0;
        for (let m = 0; m < k - 1; m++) g += top[m]!;
        const rest = 1 - g;
        let sq = 0;
        for (let m = k - 1; m < got; m++) sq += top[m]! * top[m]!;
        const c = rest > 0 ? g + sq / rest : g;
        out[base + k - 1] = Math.max(c - prev, 0);
        prev = c;
      }
    }
    for (let j = 0; j < K; j++) this.mean[j]! += RATE * (out[base + j]! - this.mean[j]!);
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
