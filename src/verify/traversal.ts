/**
 * Traversal verification (Weng, Hu, Chen, Liu, Mei, Qiu, Tian, Shi, "Traversal Verification for
 * Speculative Tree Decoding", NeurIPS 2025, arXiv 2505.12398; docs/verifiers-sequence.md §2), for
 * trees whose siblings are drafted i.i.d. from q (the RRS drafting law).
 *
 * Every node v carries a sequence-level weight w_v (the paper's p_α): the root has w = 1, and a
 * child x of v starts with w_x = min(1, w_v p_v(x) / q_v(x)). The tree is walked leaf to root in
 * post-order (first child first):
 *
 *   at a leaf u:       accept u with probability w_u; then emit the path root→u and a bonus
 *                      y ~ p_u (u's current target, a residual if u had children)
 *   when u is rejected (its whole subtree is gone), its parent v is updated:
 *                      S   = Σ_y (w_v p_v(y) − q_v(y))⁺
 *                      p_v ← norm((w_v p_v − q_v)⁺),  w_v ← S / (S + 1 − w_v)      (q_v unchanged: i.i.d.)
 *                      the next child x of v starts with w_x = min(1, w_v p_v(x) / q_v(x))
 *   when v has no child left, v is the next leaf; the root (w = 1) is always accepted.
 *
 * In our notation this is RRS (rrs.ts) run on the *augmented target* p̃_v = (w_v p_v, 1 − w_v)
 * over V ∪ {⊥}, where ⊥ ("reject v") is never drafted (q(⊥) = 0), with each acceptance test
 * "accept child x with probability ρ" replaced by "walk x's subtree with weight ρ": RRS's residual
 * (p̃ − M q)⁺ keeps the ⊥ mass 1 − w untouched, and its ratio r(x) / (M q(x)) is exactly the
 * paper's updated weight above. A node whose tests all failed samples its residual over V ∪ {⊥}:
 * ⊥ hands control back to its parent, any y ∈ V accepts the node with bonus y.
 *
 * Exactness (docs/verifiers-sequence.md §2.3) rests on one lemma, proved there by induction over
 * the subtree: walking the subtree of a node entered with weight w accepts with total probability w,
 * and the emitted continuation then has exactly the target's law — so a subtree walk is, for the
 * node above it, indistinguishable from a Bernoulli(w) test. Hence any exact node verifier made of
 * sequential tests (RRS here, SpecHub in spechub-traversal.ts, single-draft SD on chains = block
 * verification in block.ts) stays exact when its tests are deferred to subtree walks and it runs on
 * the augmented target.
 *
 * This file has the walker (`TreeTraversal`, allocation-free, over rows in runtime memory) and the
 * i.i.d. node tests (`IidNodeTests`); `NodeTests` is the interface other laws implement.
 */
import type { Rng } from '../rng.js';
import type { Runtime } from '../wasm/runtime.js';
import type { Kernels, ProbKernels } from '../wasm/kernels.js';
import { InvalidArgumentError } from '../errors.js';
import { clampRatio } from './common.js';
import { assertDrafted } from './sd.js';
import { RESIDUAL_EPS, type DraftLaw, type NodeMeta } from './types.js';

/** The draft tree as the walker reads it (DraftTree is one): BFS order, siblings contiguous. */
export interface TraversalTree {
  /** Token of each node (node 0 is the root).  [capacity] */
  readonly tokens: Int32Array;
  /** First child of each node, -1 for a leaf.  [capacity] */
  readonly firstChild: Int32Array;
  /** Number of children of each node.  [capacity] */
  readonly childCount: Int32Array;
  /** Row of the draft distribution (and metadata) of each node with children.  [capacity] */
  readonly qRow: Int32Array;
}

/** Where the walker gets distributions: p on demand (only for nodes it visits), q as drafted. */
export interface TraversalSource {
  /** Writes the target distribution at `node` (normalised, f64 [V]) into `out`. */
  targetProbs(node: number, out: Float64Array): void;
  /** The draft distribution of the node with q-row `row` (normalised, f64 [V] in runtime memory). */
  draftProbs(row: number): Float64Array;
  /** The drafter's metadata for that node (SpecHub's hub set). */
  draftMeta(row: number): NodeMeta;
}

/** The walker's randomness: a Bernoulli test and a draw from an unnormalised row (tests enumerate these). */
export interface TraversalRule {
  /** True with probability `prob` (one fresh uniform). */
  bernoulli(prob: number, rng: Rng): boolean;
  /** A token drawn from row / mass (one fresh uniform).  row: f64 [V] view into runtime memory */
  sampleRow(row: Float64Array, mass: number, rng: Rng): number;
}

/** Kernels and the small index / output scratch node tests use (planned once). */
export interface TestScratch {
  readonly kernels: ProbKernels;
  readonly memory: WebAssembly.Memory;
  /** Sorted exclusion indices, i32 [maxK]. */
  readonly idxPtr: number;
  /** Small kernel outputs, f64 [2]. */
  readonly outPtr: number;
  idx: Int32Array; // [maxK] view of idxPtr
  out: Float64Array; // [2] view of outPtr
  readonly maxK: number;
}

/** Plans a TestScratch for up to maxK children in the runtime arena. */
export function createTestScratch(runtime: Runtime, maxK: number, kernels: ProbKernels = runtime.k): TestScratch {
  const idx = runtime.arena.alloc('traversal.idx', 4 * maxK); // i32 [maxK]
  const out = runtime.arena.alloc('traversal.out', 16); // f64 [2]
  return {
    kernels,
    memory: runtime.memory,
    idxPtr: idx.ptr,
    outPtr: out.ptr,
    idx: new Int32Array(runtime.memory.buffer, idx.ptr, maxK),
    out: new Float64Array(runtime.memory.buffer, out.ptr, 2),
    maxK,
  };
}

/** Re-derive the scratch views after memory growth. */
export function refreshScratch(s: TestScratch): void {
  if (s.idx.buffer !== s.memory.buffer) {
    s.idx = new Int32Array(s.memory.buffer, s.idxPtr, s.maxK);
    s.out = new Float64Array(s.memory.buffer, s.outPtr, 2);
  }
}

/**
 * The sequential tests of one node against its augmented target p̃ = (w p, 1 − w), kept per depth
 * d of the walk so that a node's tests can wait while a child's subtree is walked. The walker
 * writes w p into `row` (in place; the tests turn it into their residual), sets massV[d] = w and
 * reject[d] = 1 − w, then calls begin. Implementations keep their state in typed arrays indexed by
 * d (nothing is allocated per call).
 */
export abstract class NodeTests {
  /** The drafting laws these tests are exact for (the siblings' joint law they assume). */
  abstract readonly laws: readonly DraftLaw[];
  /** Mass of the row over V (the residual's mass once tests failed).  [maxDepth + 1] */
  readonly massV: Float64Array;
  /** Mass of ⊥ ("reject this node"): 1 − w, untouched by the tests.  [maxDepth + 1] */
  readonly reject: Float64Array;
  /** Conditional acceptance probability of the current test (the child's walk weight).  [maxDepth + 1] */
  readonly ratio: Float64Array;
  /** 1 when the residual over V ∪ {⊥} has no mass left (E10): the walker falls back to p̃.  [maxDepth + 1] */
  readonly exhausted: Uint8Array;
  protected readonly rows: (Float64Array | null)[];
  protected readonly qs: (Float64Array | null)[];

  constructor(
    protected readonly scratch: TestScratch,
    readonly maxDepth: number,
  ) {
    this.massV = new Float64Array(maxDepth + 1);
    this.reject = new Float64Array(maxDepth + 1);
    this.ratio = new Float64Array(maxDepth + 1);
    this.exhausted = new Uint8Array(maxDepth + 1);
    this.rows = new Array<Float64Array | null>(maxDepth + 1).fill(null);
    this.qs = new Array<Float64Array | null>(maxDepth + 1).fill(null);
  }

  /**
   * Start the tests of a node at depth d: `row` holds w p (f64 [V], updated in place), q its draft
   * distribution, its children are tokens[first .. first + count), meta what its drafter recorded.
   */
  abstract begin(d: number, row: Float64Array, q: Float64Array, tokens: Int32Array, first: number, count: number, meta: NodeMeta): void;
  /** The slot of the next child to walk (its weight in ratio[d]), or -1 when no test is left. */
  abstract next(d: number): number;
  /** The child returned by `next` was rejected (its subtree walk failed): update the residual. */
  abstract fail(d: number): void;

  /** Re-derive the scratch views if the memory grew (once per walk). */
  refresh(): void {
    refreshScratch(this.scratch);
  }

  /** Shared start: remember the rows and clear the exhausted flag. */
  protected start(d: number, row: Float64Array, q: Float64Array): void {
    this.rows[d] = row;
    this.qs[d] = q;
    this.exhausted[d] = 0;
  }

  /** Marks depth d exhausted when the residual over V ∪ {⊥} has (numerically) no mass left. */
  protected checkMass(d: number, extra = 0): void {
    if (!(this.massV[d]! + this.reject[d]! + extra > RESIDUAL_EPS)) this.exhausted[d] = 1;
  }
}

/**
 * RRS tests for i.i.d. siblings (rrs.ts) on the augmented target: with M = massV + (1 − w) the
 * residual's total mass, child j is walked with weight r(x_j) / (M q(x_j)); when it is rejected,
 * r ← (r − M q)⁺ over V (⊥ has q = 0, so its mass 1 − w stays). Duplicated siblings are walked
 * like any other (never skipped: docs/verifiers.md E11). With one child per node this is single-draft
 * speculative sampling, and the walker on a chain is block verification (block.ts).
 */
export class IidNodeTests extends NodeTests {
  readonly laws: readonly DraftLaw[] = ['iid', 'single'];
  protected readonly test: Int32Array;
  protected readonly count: Int32Array;
  protected readonly first: Int32Array;
  protected tokens: Int32Array = new Int32Array(0);

  constructor(scratch: TestScratch, maxDepth: number) {
    super(scratch, maxDepth);
    this.test = new Int32Array(maxDepth + 1);
    this.count = new Int32Array(maxDepth + 1);
    this.first = new Int32Array(maxDepth + 1);
  }

  begin(d: number, row: Float64Array, q: Float64Array, tokens: Int32Array, first: number, count: number): void {
    this.start(d, row, q);
    this.tokens = tokens;
    this.test[d] = 0;
    this.count[d] = count;
    this.first[d] = first;
  }

  next(d: number): number {
    const j = this.test[d]!;
    if (this.exhausted[d] || j >= this.count[d]!) return -1;
    const x = this.tokens[this.first[d]! + j]!;
    const q = this.qs[d]!;
    if (!(q[x]! > 0)) assertDrafted(q, x, 'traversal');
    this.ratio[d] = clampRatio(this.rows[d]![x]!, (this.massV[d]! + this.reject[d]!) * q[x]!);
    return j;
  }

  fail(d: number): void {
    const row = this.rows[d]!;
    const mass = this.massV[d]! + this.reject[d]!;
    // the multiplier M <= 1 never needs the scaled form of scaledFactor (E17): qScale = 1
    this.massV[d] = this.scratch.kernels.residual_f64(row.byteOffset, row.byteOffset, this.qs[d]!.byteOffset, row.length, mass, 1);
    this.test[d]!++;
    this.checkMass(d);
  }
}

/**
 * The walker: one per generation setup, planned for trees of depth ≤ maxDepth. `run` walks a
 * drafted tree leaf to root with the given node tests and leaves the accepted path (node ids, root
 * first) in `path[0 .. length)` and the bonus token in `bonus`. Allocation-free.
 */
export class TreeTraversal {
  /** Accepted path, root first.  [maxDepth + 1] */
  readonly path: Int32Array;
  /** The token emitted after the accepted path (a sample of the accepted node's residual). */
  bonus = -1;
  /** Walk weight of the node at each depth of the current path.  [maxDepth + 1] */
  private readonly weight: Float64Array;
  /** 1 when the node at that depth has children.  [maxDepth + 1] */
  private readonly expanded: Uint8Array;

  constructor(
    private readonly kernels: Pick<Kernels, 'scale_f64'>,
    readonly maxDepth: number,
  ) {
    if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) throw new InvalidArgumentError(`traversal: expected maxDepth >= 0, got ${maxDepth}`);
    this.path = new Int32Array(maxDepth + 1);
    this.weight = new Float64Array(maxDepth + 1);
    this.expanded = new Uint8Array(maxDepth + 1);
  }

  /**
   * Walks `tree` (root = node 0) and returns the length of the accepted path (≥ 1: the root).
   * rows[d] is scratch for the target row at depth d (f64 [V] views into runtime memory; the tree
   * must be no deeper than rows.length − 1 and maxDepth).
   */
  run(tree: TraversalTree, source: TraversalSource, tests: NodeTests, rule: TraversalRule, rng: Rng, rows: readonly Float64Array[]): number {
    const path = this.path;
    tests.refresh();
    let d = 0;
    path[0] = 0;
    this.enter(tree, source, tests, rows, 0, 0, 1);
    for (;;) {
      if (this.expanded[d]) {
        const slot = tests.next(d);
        if (slot >= 0) {
          const w = tests.ratio[d]!;
          if (!(w > 0)) {
            // a child of weight 0 is rejected without walking it (its uniform is still drawn, see settle)
            rule.bernoulli(0, rng);
            tests.fail(d);
            continue;
          }
          const child = tree.firstChild[path[d]!]! + slot;
          if (d + 1 >= rows.length || d + 1 > this.maxDepth) {
            throw new InvalidArgumentError(`traversal: expected a tree of depth <= ${Math.min(rows.length - 1, this.maxDepth)}, got a deeper node`);
          }
          d++;
          path[d] = child;
          this.enter(tree, source, tests, rows, d, child, w);
          continue;
        }
      }
      // the node at depth d has no child left to walk: accept it (bonus from its residual) or hand back
      if (this.settle(source, tests, rule, rng, rows[d]!, d, path[d]!)) return d + 1;
      d--;
      tests.fail(d);
    }
  }

  /** Step onto `node` at depth d with walk weight w: its augmented target and, if it has children, its tests. */
  private enter(tree: TraversalTree, source: TraversalSource, tests: NodeTests, rows: readonly Float64Array[], d: number, node: number, w: number): void {
    this.weight[d] = w;
    tests.massV[d] = w;
    tests.reject[d] = 1 - w;
    const first = tree.firstChild[node]!;
    if (first < 0) {
      this.expanded[d] = 0; // a leaf: its row is computed only if it is accepted
      return;
    }
    this.expanded[d] = 1;
    const row = rows[d]!;
    source.targetProbs(node, row);
    if (w < 1) this.kernels.scale_f64(row.byteOffset, row.length, w);
    const qi = tree.qRow[node]!;
    tests.begin(d, row, source.draftProbs(qi), tree.tokens, first, tree.childCount[node]!, source.draftMeta(qi));
  }

  /**
   * The node's own test: with V-mass m and ⊥-mass b of its residual, accept with probability
   * m / (m + b) (w for a leaf) and draw the bonus from the residual. A residual without mass (E10)
   * is replaced by the node's augmented target (w p, 1 − w). Every node but the root draws one
   * uniform for its test, even when it is certain, and one for the bonus: so a node test consumes
   * uniforms exactly like the token-level verifier's test it replaces, and a depth-1 tree gives,
   * seed for seed, the tokens of RRS (SpecHub, SD) itself.
   */
  private settle(source: TraversalSource, tests: NodeTests, rule: TraversalRule, rng: Rng, row: Float64Array, d: number, node: number): boolean {
    let m = tests.massV[d]!;
    const b = tests.reject[d]!;
    let fromResidual = this.expanded[d] === 1;
    let prob = fromResidual ? m / (m + b) : this.weight[d]!;
    if (fromResidual && (tests.exhausted[d] || !(m + b > RESIDUAL_EPS))) {
      fromResidual = false;
      m = this.weight[d]!;
      prob = m;
    }
    if (d > 0 && !rule.bernoulli(prob, rng)) return false;
    if (fromResidual && m > RESIDUAL_EPS) {
      this.bonus = rule.sampleRow(row, m, rng);
    } else {
      source.targetProbs(node, row);
      this.bonus = rule.sampleRow(row, 1, rng);
    }
    return true;
  }
}
