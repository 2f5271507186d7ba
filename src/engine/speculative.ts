/**
 * One decoding step, plain or speculative, over a target model and an optional drafter.
 *
 * Speculative step (docs/verifiers.md §10), with root = the last emitted token (not yet in the target
 * cache) at position P:
 *   1. draft: feed the drafter's pending tokens, then the tree level by level — the root, then each
 *      level's nodes as one batch with a tree mask (staged after the upper levels) — and at every
 *      expanded node draw its children from q with the method's joint sampler;
 *   2. target: one forward over [root, every draft node] with the tree mask → p at every node;
 *   3. walk from the root: at a node with children, the method's verifier emits a token; continue
 *      into the child holding that token (accepted draft, or a residual sample that happens to equal
 *      a child — exact, §10), else stop with that token as the correction; at a leaf, emit a bonus
 *      token from p. Sequence-level methods (block, traversal, spechub-traversal) instead walk the
 *      tree leaf to root (src/verify/traversal.ts) and accept a whole path plus a bonus token;
 *   4. commit: the target cache keeps the root and the accepted path (compaction, no recompute);
 *      the drafter's cache keeps the path nodes it has seen; the last emitted token is the next root.
 * A plain step is the same with no drafts: one forward of the root and a sample from p.
 *
 * The tree is a fixed branching per level, or dynamic (`{ dynamic: N }`): the drafter decides each
 * level's children counts from the draft's own probabilities under a budget of N nodes
 * (src/draft/dynamic.ts explains why that keeps every method exact).
 *
 * Everything is planned at construction; a step allocates nothing.
 */
import { CapacityError, ContextBusyError, InvalidArgumentError, NumericError, TokenizerError } from '../errors.js';
import type { Rng } from '../rng.js';
import type { Runtime } from '../wasm/runtime.js';
import { DraftTree, treeNodeCount, treeSpecLabel, type TreeSpec } from '../draft/tree.js';
import { DYNAMIC_MAX_K, DynamicPlanner, dynamicDepth, isDynamicSpec } from '../draft/dynamic.js';
import { NodeVerifier } from '../verify/node-verifier.js';
import { HubNodeTests } from '../verify/spechub-traversal.js';
import { IidNodeTests, TreeTraversal, createTestScratch, type NodeTests, type TestScratch, type TraversalSource } from '../verify/traversal.js';
import {
  METHOD_NAMES,
  createNodeMeta,
  draftLawOf,
  draftingMethod,
  isSequenceMethod,
  maxChildrenOf,
  type MethodName,
  type NodeMeta,
  type VerifyResult,
} from '../verify/types.js';
import { Sampler, validateSamplingParams, type SamplingParams } from '../sampling.js';
import type { Tokenizer } from '../tokenizer.js';

/**
 * What a step needs from a model: batch buffers, a staged forward, logits rows and a KV cache.
 * A LlamaContext is one (and a LlamaModel, through its own context); tests use table-driven models
 * with exactly known next-token laws.
 */
export interface StepModel {
  readonly rt: Runtime;
  /** For messages (a LlamaContext's name). */
  readonly name?: string;
  readonly config: { readonly vocabSize: number; readonly nLayers: number };
  readonly maxBatch: number;
  readonly cache: {
    readonly length: number;
    readonly capacity: number;
    commit(n: number): void;
    commitRows(rows: Int32Array, count: number): void;
    truncate(length: number): void;
  };
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  readonly mask: Uint8Array;
  forward(n: number, logitsFrom?: number, tree?: boolean, stagedBefore?: number, layers?: number): void;
  logitsPtr(row: number): number;
  /**
   * True when the model writes −∞ logits on purpose (tokens of probability 0, as a log-probability
   * table does). Otherwise (LlamaModel) every logit must be finite: −∞ from a forward pass is an f32
   * overflow, and NaN or ±∞ logits stop generation with a NumericError.
   */
  readonly maskedLogits?: boolean;
}

/**
 * The randomness of a step: drafting children at a node, verifying them, sampling from p.
 * The default rule is the method's NodeVerifier plus inverse-CDF sampling; exact-enumeration
 * tests substitute a rule that branches over every outcome instead of sampling one.
 */
export interface StepRule {
  draftInto(q: Float64Array, k: number, rng: Rng, out: Int32Array, meta: NodeMeta): number;
  verifyNode(p: Float64Array, q: Float64Array, drafts: Int32Array, count: number, meta: NodeMeta, rng: Rng): VerifyResult;
  /** A token from the target row p (bonus token, or a plain step). */
  sampleTarget(p: Float64Array, rng: Rng): number;
  /** True with probability `prob` (a sequence-level method's test of a node). */
  bernoulli(prob: number, rng: Rng): boolean;
  /** A token from row / mass, row unnormalised (a sequence-level method's residual).  row: f64 [V] */
  sampleRow(row: Float64Array, mass: number, rng: Rng): number;
}

/** Where drafts come from. */
export interface Drafter {
  /** The draft model; for early exit, the target model itself. */
  readonly model: StepModel;
  /** Layers the draft runs (early exit: fewer than the model has). */
  readonly layers: number;
  /** True when the draft runs inside the target's own cache (early exit). */
  readonly sharesTargetCache: boolean;
  /** Label for stats ("weights/stories281K-draft", "exit:2", "int4", …). */
  readonly label: string;
}

/** Counts of a Stepper's steps: forwards, tokens, draft nodes, and per tree level the nodes reached and accepted ([depth]). */
export interface StepStats {
  /** Target forwards (= steps, one per step). */
  targetForwards: number;
  targetMs: number;
  /** Draft forwards (pending catch-up and one per expanded level). */
  draftForwards: number;
  draftMs: number;
  /** Probability rows and verification. */
  verifyMs: number;
  /** Tokens emitted by steps. */
  tokens: number;
  /** Draft nodes proposed by steps (tree nodes other than the root). */
  draftNodes: number;
  /** Per tree level l (1-based index l−1): how often the walk reached level l−1 with children there … */
  levelReached: number[];
  /** … and how often it continued into a child at level l. */
  levelAccepted: number[];
  /** By a node's child count k (index k): how often a node with k children was verified … */
  reachedByK: number[];
  /** … and how often the walk continued into one of its children. */
  acceptedByK: number[];
}

export function newStepStats(depth: number, maxK = 8): StepStats {
  return {
    reachedByK: new Array<number>(maxK + 1).fill(0),
    acceptedByK: new Array<number>(maxK + 1).fill(0),
    targetForwards: 0,
    targetMs: 0,
    draftForwards: 0,
    draftMs: 0,
    verifyMs: 0,
    tokens: 0,
    draftNodes: 0,
    levelReached: new Array<number>(depth).fill(0),
    levelAccepted: new Array<number>(depth).fill(0),
  };
}

/** What a Stepper runs: target, drafter, verifier method, the tree (and the trees `setTree` may switch to), sampling. */
export interface StepperOptions {
  target: StepModel;
  drafter: Drafter | null;
  /** Verifier method: a node verifier or a sequence-level method (block needs chains). */
  method: MethodName;
  /** Branching per level ([] = plain decoding), or a dynamic tree { dynamic: N }. */
  tree: TreeSpec;
  /** Other trees `setTree` may switch to later (memory is planned for the largest). */
  altShapes?: readonly TreeSpec[];
  sampling: SamplingParams;
  /** Replace the method's verifier and sampler (tests). */
  rule?: (verifier: NodeVerifier | null, probs: ProbsTransform) => StepRule;
  /** Replace a sequence-level method's node tests (tests: deliberately broken variants). */
  nodeTests?: (scratch: TestScratch, maxDepth: number) => NodeTests;
}

/** Memory bounds of a Stepper: any tree within them can be set. */
interface Plan {
  depth: number;
  nodes: number;
  /** Nodes whose draft distribution is kept (fixed trees: nodes with children; dynamic: every fed node). */
  qRows: number;
  /** Largest batch a draft forward takes (one level of the tree). */
  draftBatch: number;
  maxK: number;
  /** Largest dynamic budget (0 if none). */
  dynamic: number;
}

/** Bounds of one tree for `method`: depth, nodes, kept q rows, widest drafted level, most children. */
function treeBounds(spec: TreeSpec, method: MethodName): Plan {
  if (isDynamicSpec(spec)) {
    const n = spec.dynamic;
    return { depth: dynamicDepth(n), nodes: n + 1, qRows: n + 1, draftBatch: n, maxK: Math.min(DYNAMIC_MAX_K, maxChildrenOf(method)), dynamic: n };
  }
  const inner = spec.slice(0, Math.max(0, spec.length - 1));
  let width = 1;
  let widest = spec.length > 0 ? 1 : 0;
  for (const k of inner) widest = Math.max(widest, (width *= k));
  return { depth: spec.length, nodes: treeNodeCount(spec), qRows: treeNodeCount(inner), draftBatch: widest, maxK: Math.max(1, ...spec), dynamic: 0 };
}

/** Refuses a method/tree pair that would not be exact or that the method cannot draft. */
export function checkMethodTree(method: MethodName, spec: TreeSpec): void {
  if (!METHOD_NAMES.includes(method)) {
    throw new InvalidArgumentError(`speculative: expected a verifier in ${METHOD_NAMES.join(', ')}, got ${String(method)}`);
  }
  if (!isDynamicSpec(spec) && maxChildrenOf(method) === 1 && spec.some((k) => k !== 1)) {
    const why = method === 'block' ? 'block verification is exact on chains only' : 'sd drafts one token per node';
    throw new InvalidArgumentError(`speculative: ${why}; expected a chain like 1,1,1,1 (or dynamic:N), got ${spec.join(',')}`);
  }
}

/**
 * The Stepper that last wrote each KV cache (keyed by the cache object). Several Steppers (Generators)
 * may share a model; a Stepper may only continue a cache that nobody else wrote since.
 */
const cacheWriter = new WeakMap<object, Stepper>();
/**
 * The Stepper running a generation on each KV cache right now (between `begin()` and `end()`), keyed
 * by the cache object. While one holds a cache, every other Stepper's use of it is refused
 * (ContextBusyError): interleaved on the event loop, the two would overwrite each other's tokens.
 */
const cacheHolder = new WeakMap<object, Stepper>();

/** Runs steps of plain or speculative decoding; owns the planned buffers of one generation setup. */
export class Stepper {
  readonly target: StepModel;
  readonly drafter: Drafter | null;
  readonly method: MethodName;
  /** Current fixed tree shape ([] = plain decoding, or a dynamic tree when `dynamic` > 0). */
  shape: readonly number[];
  /** Node budget of the current dynamic tree, 0 for a fixed shape. */
  dynamic = 0;
  readonly vocabSize: number;
  /** Emitted tokens of the last step, in order. */
  readonly emitted: Int32Array;
  emittedCount = 0;
  /** The last step's draft tree as drawn (node 0 = its root; a plain step has the root alone). */
  readonly tree: DraftTree;
  /** Node ids of the last step's accepted path, root first: path[0..pathLength). */
  readonly path: Int32Array;
  pathLength = 0;
  /**
   * How the last step's final token came about: at a node with children that none of them matched
   * (a correction), or at a leaf of the tree (a bonus token from p; in a plain step, the only token).
   */
  lastIsBonus = false;
  stats: StepStats;

  private readonly rule: StepRule;
  private readonly metas: NodeMeta[];
  private readonly drafts: Int32Array;
  private readonly probs: ProbsTransform;
  private readonly qRows: Float64Array[]; // [plan.qRows][V]
  private readonly qDraftRows: Float64Array[]; // qRows[i][0..draftVocab) (a draft with fewer rows than V)
  private readonly pRows: Float64Array[]; // [depth + 1][V]
  private readonly qPtr: number; // byte address of qRows[0]
  private readonly pPtr: number; // byte address of pRows[0]
  private readonly rows: Int32Array; // scratch for commitRows
  /** Committed tokens the drafter has not seen yet (separate draft model only). */
  private readonly pending: Int32Array;
  private pendingCount = 0;
  /** Ids the draft has logits for that the target has too: min(V, draft rows); q is 0 past it. */
  private draftVocab = 0;
  /** Set when the draft cache has no room left: the rest of the generation is plain decoding. */
  private draftStale = false;
  private readonly maxNodes: number;
  /** What memory was planned for: any tree within these bounds can be set. */
  private readonly plan: Plan;
  /** Dynamic trees: the planner and the children counts it decides, by node id. */
  private readonly planner: DynamicPlanner | null;
  private readonly counts: Int32Array;
  private readonly qOf: (node: number) => Float64Array;
  /** Sequence-level methods: the leaf-to-root walker, its node tests and its view of the rows. */
  private readonly traversal: TreeTraversal | null;
  private readonly nodeTests: NodeTests | null;
  private readonly source: TraversalSource;

  constructor(o: StepperOptions) {
    this.target = o.target;
    const specs = [o.tree, ...(o.altShapes ?? [])];
    const anyTree = specs.some((x) => isDynamicSpec(x) || x.length > 0);
    this.drafter = anyTree ? o.drafter : null;
    this.method = o.method;
    if (anyTree && o.drafter === null) throw new InvalidArgumentError('speculative: a tree needs a drafter');
    for (const x of specs) checkMethodTree(o.method, x);
    const rt = o.target.rt;
    const V = o.target.config.vocabSize;
    this.vocabSize = V;
    if (this.drafter) {
      const d = this.drafter.model;
      if (d.rt !== rt) throw new InvalidArgumentError('speculative: draft and target must share one runtime');
      // the models may have different numbers of embedding rows (Qwen2.5: 151936 vs 152064) for one
      // tokenizer (modelDrafter checks it is the same): q covers the target's V ids, from the draft's
      // first min(V, Vd) logits, and is 0 past the draft's rows (see draftTree)
      this.draftVocab = Math.min(V, d.config.vocabSize);
      if (d.config.vocabSize < 1) {
        throw new TokenizerError(`speculative: the draft has ${d.config.vocabSize} logits`);
      }
    }
    const bounds = this.drafter ? specs.map((x) => treeBounds(x, o.method)) : [treeBounds([], o.method)];
    const plan: Plan = {
      depth: Math.max(...bounds.map((b) => b.depth)),
      nodes: Math.max(...bounds.map((b) => b.nodes)),
      qRows: Math.max(...bounds.map((b) => b.qRows)),
      draftBatch: Math.max(...bounds.map((b) => b.draftBatch)),
      maxK: Math.max(...bounds.map((b) => b.maxK)),
      dynamic: Math.max(...bounds.map((b) => b.dynamic)),
    };
    this.plan = plan;
    this.maxNodes = plan.nodes;
    if (this.maxNodes > o.target.maxBatch) {
      throw new CapacityError(`speculative: a tree of ${this.maxNodes} nodes needs a target maxBatch >= ${this.maxNodes}, got ${o.target.maxBatch}`);
    }
    if (this.drafter && plan.draftBatch > this.drafter.model.maxBatch) {
      throw new CapacityError(`speculative: the draft needs maxBatch >= ${plan.draftBatch}, got ${this.drafter.model.maxBatch}`);
    }
    const depth = plan.depth;
    this.tree = new DraftTree(this.maxNodes);
    const maxK = plan.maxK;
    const verifier = this.drafter ? NodeVerifier.create(rt, draftingMethod(o.method), { maxVocab: V, maxK }) : null;
    this.metas = Array.from({ length: this.drafter ? plan.qRows : 0 }, () => createNodeMeta(maxK));
    this.drafts = new Int32Array(maxK);
    this.probs = new ProbsTransform(rt, V, o.sampling, !(o.target.maskedLogits || this.drafter?.model.maskedLogits));
    this.rule = o.rule ? o.rule(verifier, this.probs) : defaultRule(verifier, this.probs);
    const qCount = this.drafter ? plan.qRows : 0;
    this.qPtr = rt.arena.alloc('spec.q', Math.max(1, qCount) * V * 8).ptr;
    this.pPtr = rt.arena.alloc('spec.p', (depth + 1) * V * 8).ptr;
    this.qRows = new Array<Float64Array>(qCount);
    this.qDraftRows = new Array<Float64Array>(qCount);
    this.pRows = new Array<Float64Array>(depth + 1);
    this.path = new Int32Array(depth + 2);
    this.rows = new Int32Array(this.maxNodes);
    this.emitted = new Int32Array(depth + 1);
    // committed tokens a separate draft has not seen: a step's path, or every token of a run of plain
    // steps (caught up in one batched feed when a tree comes back), up to the draft's whole context
    const ownDraftCache = this.drafter !== null && !this.drafter.sharesTargetCache;
    this.pending = new Int32Array(ownDraftCache ? Math.max(depth + 2, this.drafter!.model.cache.capacity + 1) : depth + 2);
    this.stats = newStepStats(depth, maxK);
    this.planner = this.drafter && plan.dynamic > 0 ? new DynamicPlanner(rt, this.maxNodes, maxK, draftLawOf(o.method)) : null;
    this.counts = new Int32Array(this.planner ? this.maxNodes : 0);
    this.qOf = (node) => this.qRows[this.tree.qRow[node]!]!;
    if (this.drafter && isSequenceMethod(o.method)) {
      const scratch = createTestScratch(rt, maxK);
      this.traversal = new TreeTraversal(rt.k, depth);
      this.nodeTests = o.nodeTests
        ? o.nodeTests(scratch, depth)
        : draftLawOf(o.method) === 'hub'
          ? new HubNodeTests(scratch, depth)
          : new IidNodeTests(scratch, depth);
      const law = draftLawOf(o.method);
      if (!this.nodeTests.laws.includes(law)) {
        throw new InvalidArgumentError(
          `speculative: ${o.method} drafts siblings by the ${law} law, but its node tests are exact only for ${this.nodeTests.laws.join(' / ')} siblings`,
        );
      }
    } else {
      this.traversal = null;
      this.nodeTests = null;
    }
    const probs = this.probs;
    const target = this.target;
    this.source = {
      targetProbs: (node, out) => probs.apply(target.logitsPtr(node), out),
      draftProbs: (row) => this.qRows[row]!,
      draftMeta: (row) => this.metas[row]!,
    };
    this.shape = [];
    this.setTree(this.drafter ? o.tree : []);
    this.refreshViews();
  }

  /** Switch to another fixed tree shape within the planned bounds ([] = plain steps). */
  setShape(shape: readonly number[]): void {
    this.setTree(shape);
  }

  /** Switch to another tree (a fixed shape, [] for plain steps, or { dynamic: N }) within the planned bounds. */
  setTree(spec: TreeSpec): void {
    const dyn = isDynamicSpec(spec);
    if ((dyn || spec.length > 0) && this.drafter === null) throw new InvalidArgumentError('speculative: a tree needs a drafter');
    checkMethodTree(this.method, spec);
    const b = treeBounds(spec, this.method);
    const p = this.plan;
    if (b.depth > p.depth || b.nodes > p.nodes || b.qRows > p.qRows || b.maxK > p.maxK || b.draftBatch > p.draftBatch || (dyn && this.planner === null)) {
      throw new CapacityError(`speculative: tree ${treeSpecLabel(spec)} exceeds the planned ${p.nodes} nodes / depth ${p.depth} / k ${p.maxK}`);
    }
    if (dyn) {
      this.dynamic = spec.dynamic;
      this.shape = [];
    } else {
      this.dynamic = 0;
      this.shape = [...spec];
    }
  }

  /** The current tree: the fixed shape or { dynamic: N }. */
  get treeSpec(): TreeSpec {
    return this.dynamic > 0 ? { dynamic: this.dynamic } : this.shape;
  }

  /** (Re-)derive the f64 row views when the memory is not the one they were made over (growth). */
  private refreshViews(): void {
    const buf = this.target.rt.memory.buffer;
    if (this.pRows[0]?.buffer === buf) return;
    const V = this.vocabSize;
    for (let i = 0; i < this.qRows.length; i++) {
      this.qRows[i] = new Float64Array(buf, this.qPtr + i * V * 8, V);
      this.qDraftRows[i] = this.qRows[i]!.subarray(0, this.draftVocab);
    }
    for (let i = 0; i < this.pRows.length; i++) this.pRows[i] = new Float64Array(buf, this.pPtr + i * V * 8, V);
  }

  /**
   * Hold the target's and the draft's KV caches for one generation (until `end()`): any other Stepper
   * that touches them meanwhile gets a ContextBusyError, and so does this one's `begin()` when another
   * holds them. Generator.generate and chat turns call it around each generation.
   */
  begin(): void {
    this.checkFree();
    cacheHolder.set(this.target.cache, this);
    if (this.drafter && !this.drafter.sharesTargetCache) cacheHolder.set(this.drafter.model.cache, this);
  }

  /** Let go of the caches held by `begin()`. */
  end(): void {
    for (const c of [this.target.cache, this.drafter?.model.cache]) if (c && cacheHolder.get(c) === this) cacheHolder.delete(c);
  }

  /** Throw ContextBusyError when another Stepper is running a generation on one of this one's caches. */
  private checkFree(): void {
    const busy = (m: StepModel, what: string) => {
      const holder = cacheHolder.get(m.cache);
      if (holder !== undefined && holder !== this) {
        throw new ContextBusyError(
          `generate: the ${what} context${m.name ? ` ${m.name}` : ''} is running another generation; a context runs one at a time ` +
            '(give each concurrent stream its own: model.createContext(), GeneratorOptions.context)',
        );
      }
    };
    busy(this.target, 'target');
    if (this.drafter && !this.drafter.sharesTargetCache) busy(this.drafter.model, 'draft');
  }

  /**
   * Prefill: commit `tokens` (the prompt without its last token) into the target cache, and into
   * the draft's: now, so the first step does not pay for it, or with `deferDraft` pending for the
   * first tree (a caller about to run plain steps: a draft never used costs nothing).
   */
  prefill(tokens: Int32Array, deferDraft = false): void {
    this.checkFree();
    this.markCaches();
    // (timed by the caller as prefill; the step statistics cover decoding only)
    feedCausal(this.target, tokens, this.target.config.nLayers);
    const d = this.drafter;
    if (d && !d.sharesTargetCache) {
      if (deferDraft && this.pendingCount === 0 && tokens.length + 2 <= d.model.cache.capacity) this.defer(tokens);
      else feedCausal(d.model, tokens, d.layers, d.model.config.vocabSize);
    }
  }

  /** Committed tokens for a separate draft's next catch-up (they fit: the buffer spans its context). */
  private defer(tokens: Int32Array): void {
    this.pending.set(tokens, this.pendingCount);
    this.pendingCount += tokens.length;
  }

  /** Positions left in the target cache (the next root goes at position target.cache.length). */
  get room(): number {
    return this.target.cache.capacity - this.target.cache.length;
  }

  /**
   * One step from `root` (the last emitted token, at position target.cache.length). Writes the
   * emitted tokens to `emitted[0..emittedCount)`; commits the root and accepted drafts.
   * `maxTokens` bounds how many tokens the step may emit (the tree is cut to fit).
   * The parts, in order: how deep a tree fits, drafting it, one target forward over it, the
   * verifiers' walk, and committing the accepted path to both caches.
   */
  step(root: number, rng: Rng, maxTokens: number): void {
    this.checkFree();
    this.markCaches();
    const target = this.target;
    const P = target.cache.length;
    if (P >= target.cache.capacity) throw new CapacityError(`generate: the context of ${target.cache.capacity} positions is full`);
    this.refreshViews();
    const d = this.draftStale ? null : this.drafter;
    const depth = this.stepDepth(P, maxTokens, d);
    const tree = this.tree;
    tree.reset(root);
    const fed = d && depth > 0 ? this.draftTree(depth, rng) : 0; // tree nodes the drafter has staged (ids [0, fed))
    this.stats.draftNodes += tree.size - 1;
    const t1 = this.forwardTree(P);
    const len = this.verifyTree(rng);
    this.stats.verifyMs += performance.now() - t1;
    this.stats.tokens += this.emittedCount;
    this.pathLength = len;
    this.commitPath(root, len, fed, d);
  }

  /**
   * The tree depth this step can use from position P: emitted ≤ depth + 1 tokens, and every node's
   * position must fit both models (a node at depth t sits at position P + t; the draft sees depths
   * < depth). Marks the draft stale when its context is full (the steps after it are plain).
   */
  private stepDepth(P: number, maxTokens: number, d: Drafter | null): number {
    const target = this.target;
    const treeDepth = this.dynamic > 0 ? dynamicDepth(this.dynamic) : this.shape.length;
    let depth = Math.min(treeDepth, maxTokens - 1, target.cache.capacity - P - 1);
    if (d) {
      const dc = d.model.cache;
      const draftNext = d.sharesTargetCache ? P : dc.length + this.pendingCount; // position of the root in the draft
      depth = Math.min(depth, dc.capacity - draftNext);
    }
    if (depth < 0) depth = 0;
    if (d && depth === 0 && this.pendingCount + treeDepth + 1 > this.pending.length) {
      // the draft cannot keep up any more (its context is full): finish with plain steps
      this.draftStale = true;
    }
    return depth;
  }

  /** The target's one forward over the whole tree, staged at positions P + depth; returns the time it ended. */
  private forwardTree(P: number): number {
    const target = this.target;
    const tree = this.tree;
    const t0 = performance.now();
    const n = tree.size;
    const tk = target.tokens;
    const pos = target.positions;
    for (let i = 0; i < n; i++) {
      tk[i] = tree.tokens[i]!;
      pos[i] = P + tree.depths[i]!;
    }
    if (n > 1) tree.fillMask(target.mask, 0, n, 0);
    target.forward(n, 0, n > 1);
    const t1 = performance.now();
    this.stats.targetMs += t1 - t0;
    this.stats.targetForwards++;
    return t1;
  }

  /** The verifiers' walk over the forwarded tree (sequence-level or token-level); returns the path length. */
  private verifyTree(rng: Rng): number {
    const tree = this.tree;
    const n = tree.size;
    const len = this.traversal && n > 1 ? this.walkLeafToRoot(rng) : this.walkTopDown(rng);
    if (this.dynamic > 0 && n > 1) this.planner!.observePath(this.path, len, tree.childCount);
    return len;
  }

  /**
   * Commit the accepted path (root first, node ids = staged rows) to the target's cache, and to the
   * draft's: the path nodes among the `fed` it staged, the others pending for its next step.
   */
  private commitPath(root: number, len: number, fed: number, d: Drafter | null): void {
    const tree = this.tree;
    for (let j = 0; j < len; j++) this.rows[j] = this.path[j]!;
    this.target.cache.commitRows(this.rows, len);
    if (d && !d.sharesTargetCache && !this.draftStale) {
      // the drafter staged nodes [0, fed) in id order; keep the path nodes among them
      let kept = 0;
      for (let j = 0; j < len && this.path[j]! < fed; j++) this.rows[kept++] = this.path[j]!;
      if (fed > 0) d.model.cache.commitRows(this.rows, kept);
      else {
        // nothing staged this step (no room for a tree): the root is still pending
        this.pending[this.pendingCount++] = root;
      }
      // path nodes the drafter never saw are pending for the next step
      for (let j = kept; j < len; j++) {
        if (fed === 0 && j === 0) continue;
        this.pending[this.pendingCount++] = tree.tokens[this.path[j]!]!;
      }
    }
  }

  /**
   * Token-level walk from the root (docs/verifiers.md §10): the method's verifier at each node emits a
   * token; continue into the child holding it, else stop; a bonus token from p at a leaf.
   * Leaves the path in `path` and the tokens in `emitted`; returns the path length.
   */
  private walkTopDown(rng: Rng): number {
    const tree = this.tree;
    let node = 0;
    let len = 0; // path length (nodes)
    this.emittedCount = 0;
    for (;;) {
      this.path[len] = node;
      const p = this.pRows[len]!;
      len++;
      this.probs.apply(this.target.logitsPtr(node), p);
      const first = tree.firstChild[node]!;
      if (first < 0) {
        this.emitted[this.emittedCount++] = this.rule.sampleTarget(p, rng);
        this.lastIsBonus = true;
        break;
      }
      const count = tree.childCount[node]!;
      for (let j = 0; j < count; j++) this.drafts[j] = tree.tokens[first + j]!;
      const level = tree.depths[node]!;
      this.stats.levelReached[level]!++;
      this.stats.reachedByK[count]!++;
      const res = this.rule.verifyNode(p, this.qRows[tree.qRow[node]!]!, this.drafts, count, this.metas[tree.qRow[node]!]!, rng);
      const token = res.token;
      this.emitted[this.emittedCount++] = token;
      const child = res.accepted >= 0 ? first + res.accepted : tree.childWithToken(node, token);
      if (child < 0) {
        this.lastIsBonus = false;
        break;
      }
      this.stats.levelAccepted[level]!++;
      this.stats.acceptedByK[count]!++;
      node = child;
    }
    return len;
  }

  /**
   * Sequence-level walk (src/verify/traversal.ts): the whole tree leaf to root; the accepted path's
   * tokens and the bonus are emitted. Statistics count the accepted path as the top-down walk does
   * (a node reached, and whether the path went on into one of its children).
   */
  private walkLeafToRoot(rng: Rng): number {
    const tree = this.tree;
    const trav = this.traversal!;
    const len = trav.run(tree, this.source, this.nodeTests!, this.rule, rng, this.pRows);
    this.emittedCount = 0;
    for (let j = 0; j < len; j++) {
      const node = trav.path[j]!;
      this.path[j] = node;
      if (j > 0) this.emitted[this.emittedCount++] = tree.tokens[node]!;
      const count = tree.childCount[node]!;
      if (count === 0) continue;
      const level = tree.depths[node]!;
      this.stats.levelReached[level]!++;
      this.stats.reachedByK[count]!++;
      if (j + 1 < len) {
        this.stats.levelAccepted[level]!++;
        this.stats.acceptedByK[count]!++;
      }
    }
    this.emitted[this.emittedCount++] = trav.bonus;
    // the final token is a bonus from p at a leaf of the tree, else a correction from a residual
    this.lastIsBonus = tree.childCount[trav.path[len - 1]!] === 0;
    return len;
  }

  /** Build the draft tree (depth ≥ 1 levels). Returns how many nodes the drafter staged. */
  private draftTree(depth: number, rng: Rng): number {
    const d = this.drafter!;
    const dm = d.model;
    const tree = this.tree;
    const planner = this.dynamic > 0 ? this.planner : null;
    const t0 = performance.now();
    // catch up on committed tokens the draft has not seen
    if (this.pendingCount > 0) {
      feedCausal(dm, this.pending.subarray(0, this.pendingCount), d.layers, dm.config.vocabSize);
      this.stats.draftForwards++;
      this.pendingCount = 0;
    }
    const P = d.sharesTargetCache ? this.target.cache.length : dm.cache.length;
    let budget = this.dynamic; // dynamic trees: draft nodes left this step
    planner?.beginTree();
    // level by level: stage nodes [from, to) after the [0, from) staged before
    let from = 0;
    let to = 1;
    let qNext = 0;
    for (let level = 0; level < depth; level++) {
      const n = to - from;
      const tk = dm.tokens;
      const pos = dm.positions;
      const rows = dm.config.vocabSize;
      for (let i = from; i < to; i++) {
        const t = tree.tokens[i]!;
        tk[i - from] = t < rows ? t : 0; // the root may be a target padding id the draft has no row for (see feedCausal)
        pos[i - from] = P + tree.depths[i]!;
      }
      tree.fillMask(dm.mask, from, to, 0);
      dm.forward(n, 0, true, from, d.layers);
      this.stats.draftForwards++;
      for (let i = from; i < to; i++) {
        const qi = qNext++;
        tree.qRow[i] = qi;
        const q = this.qRows[qi]!;
        if (this.draftVocab < this.vocabSize) {
          // a draft with fewer rows than the target: its law over its own ids, 0 for the rest
          this.probs.apply(dm.logitsPtr(i - from), this.qDraftRows[qi]!);
          q.fill(0, this.draftVocab);
        } else this.probs.apply(dm.logitsPtr(i - from), q);
      }
      // children counts: the fixed branching, or the planner's choice from q alone (never p)
      if (planner) planner.planLevel(from, to, this.qOf, budget, depth - level, this.counts);
      for (let i = from; i < to; i++) {
        const k = planner ? this.counts[i]! : this.shape[level]!;
        if (k === 0) continue; // a leaf (dynamic trees): addChildren is never called, firstChild stays -1
        const q = this.qRows[tree.qRow[i]!]!;
        const count = this.rule.draftInto(q, k, rng, this.drafts, this.metas[tree.qRow[i]!]!);
        const first = tree.size;
        tree.addChildren(i, this.drafts, count);
        if (planner) {
          planner.recordChildren(i, q, tree, first, count);
          budget -= count;
        }
      }
      from = to;
      to = tree.size;
      if (from === to || (planner && budget <= 0)) break; // no children drawn, or the budget is spent
    }
    this.stats.draftMs += performance.now() - t0;
    return from;
  }

  /** Whether this Stepper was the last to write the target cache (so its contents are what it left). */
  get ownsCache(): boolean {
    return cacheWriter.get(this.target.cache) === this;
  }

  private markCaches(): void {
    cacheWriter.set(this.target.cache, this);
    if (this.drafter && !this.drafter.sharesTargetCache) cacheWriter.set(this.drafter.model.cache, this);
  }

  /** Forget everything (a new generation on the same models). */
  reset(): void {
    this.checkFree();
    this.target.cache.truncate(0);
    if (this.drafter && !this.drafter.sharesTargetCache) this.drafter.model.cache.truncate(0);
    this.pendingCount = 0;
    this.draftStale = false;
    this.stats = newStepStats(this.plan.depth, this.plan.maxK);
    this.planner?.reset();
  }

  /**
   * Roll back both caches to the first `length` committed tokens (e.g. back to the prompt for another
   * completion). A separate draft keeps what it has of them; committed tokens it has not seen yet
   * stay pending for its next catch-up.
   */
  truncate(length: number): void {
    this.checkFree();
    this.target.cache.truncate(length);
    if (this.drafter && !this.drafter.sharesTargetCache) {
      const dc = this.drafter.model.cache;
      if (dc.length >= length) {
        dc.truncate(length);
        this.pendingCount = 0;
      } else {
        // the draft holds target tokens [0, dc.length) and, unless stale, has [dc.length, old length) pending
        this.pendingCount = this.draftStale ? 0 : Math.min(this.pendingCount, length - dc.length);
      }
    }
  }

  /**
   * Prefill that continues a cache: the first `keep` committed positions of the target already hold
   * tokens[0..keep) (the caller knows); they stay, the rest of the cache is dropped, and
   * tokens[keep..) are fed. A separate draft keeps the part of tokens it already holds and catches up
   * on the rest now (with `deferDraft`, at its first tree, as for prefill); if they do not fit its
   * context, the generation runs on plain steps. Resets the step statistics, as reset() does.
   */
  prefillFrom(tokens: Int32Array, keep: number, deferDraft = false): void {
    if (!(Number.isSafeInteger(keep) && keep >= 0 && keep <= tokens.length && keep <= this.target.cache.length)) {
      throw new InvalidArgumentError(`speculative: prefillFrom expects 0 <= keep <= min(${tokens.length} tokens, ${this.target.cache.length} cached), got ${keep}`);
    }
    this.checkFree();
    // a cache another Stepper wrote since holds someone else's tokens: start it over
    const own = (c: object) => cacheWriter.get(c) === this;
    const draftOwned = this.drafter !== null && !this.drafter.sharesTargetCache && own(this.drafter.model.cache);
    if (!own(this.target.cache) && keep > 0) throw new InvalidArgumentError('speculative: prefillFrom with keep > 0, but another generator wrote the cache since');
    this.markCaches();
    this.target.cache.truncate(keep);
    feedCausal(this.target, tokens.subarray(keep), this.target.config.nLayers);
    this.pendingCount = 0;
    this.draftStale = false;
    if (this.drafter && !this.drafter.sharesTargetCache) {
      const d = this.drafter;
      const dc = d.model.cache;
      const dkeep = draftOwned ? Math.min(keep, dc.length) : 0;
      dc.truncate(dkeep);
      // the first step stages the root and at least one level after the prompt
      if (tokens.length + 2 > dc.capacity) this.draftStale = true;
      else if (deferDraft) this.defer(tokens.subarray(dkeep));
      else feedCausal(d.model, tokens.subarray(dkeep), d.layers, d.model.config.vocabSize);
    }
    this.stats = newStepStats(this.plan.depth, this.plan.maxK);
  }
}

/** The method's NodeVerifier for drafting and verifying, inverse-CDF sampling for p. */
function defaultRule(verifier: NodeVerifier | null, probs: ProbsTransform): StepRule {
  const none = (): never => {
    throw new InvalidArgumentError('speculative: no verifier (plain decoding)');
  };
  return {
    draftInto: verifier ? (q, k, rng, out, meta) => verifier.draftInto(q, k, rng, out, meta) : none,
    verifyNode: verifier ? (p, q, d, c, meta, rng) => verifier.verifyNode(p, q, d, c, meta, rng) : none,
    sampleTarget: (p, rng) => probs.sample(p, rng.next()),
    bernoulli: (prob, rng) => rng.next() < prob,
    sampleRow: (row, mass, rng) => probs.sampleMass(row, mass, rng.next()),
  };
}

/**
 * Commit `tokens` through `model` as causal batches of up to maxBatch rows (no logits). With
 * `draftRows` (a draft model's row count), an id the draft has no embedding row for (a padding row of
 * a target with more rows) is fed as id 0: that only changes what the draft proposes next, never the
 * law of the output (verification uses the target's p).
 */
export function feedCausal(model: StepModel, tokens: Int32Array, layers: number, draftRows = Infinity): void {
  for (let start = 0; start < tokens.length; start += model.maxBatch) {
    const n = Math.min(model.maxBatch, tokens.length - start);
    const tk = model.tokens;
    const pos = model.positions;
    const base = model.cache.length;
    for (let i = 0; i < n; i++) {
      const t = tokens[start + i]!;
      tk[i] = t < draftRows ? t : 0;
      pos[i] = base + i;
    }
    model.forward(n, n, false, 0, layers);
    model.cache.commit(n);
  }
}

/**
 * Logits rows → probability rows with one validated set of sampling parameters (identical for the
 * target and the draft, docs/verifiers.md E14), and draws from them. Allocation-free per call.
 */
export class ProbsTransform {
  readonly sampler: Sampler;
  readonly params: Required<SamplingParams>;

  constructor(
    private readonly rt: Runtime,
    vocabSize: number,
    params: SamplingParams,
    /** Refuse any non-finite logit (models whose logits are never −∞ on purpose; see StepModel.maskedLogits). */
    private readonly finiteLogits = true,
  ) {
    this.sampler = Sampler.create(rt, vocabSize);
    this.params = validateSamplingParams(params);
  }

  /**
   * probs = transform(logits row at logitsPtr). probs: f64 [V] view into the runtime memory. With
   * `finiteLogits` every logit must be finite (NumericError otherwise): from a LlamaModel, −∞ is an
   * f32 overflow, not a mask, and would silently give its token probability 0.
   */
  apply(logitsPtr: number, probs: Float64Array): void {
    const bad = this.finiteLogits ? this.rt.k.first_nonfinite_f32(logitsPtr, probs.length) : -1;
    if (bad >= 0) {
      throw new NumericError(`sampling: expected finite logits from the model, got ${new Float32Array(this.rt.memory.buffer, logitsPtr + 4 * bad, 1)[0]} for token ${bad}`);
    }
    const p = this.params;
    this.sampler.toProbsAt(logitsPtr, probs, p.temperature, p.topK, p.topP);
  }

  /** Inverse-CDF draw with uniform u. */
  sample(probs: Float64Array, u: number): number {
    return this.sampler.sample(probs, u);
  }

  /** Inverse-CDF draw from an unnormalised row of total `mass` with uniform u.  row: f64 [V] view */
  sampleMass(row: Float64Array, mass: number, u: number): number {
    return this.sampler.runtime.k.sample_f64(row.byteOffset, row.length, u * mass);
  }
}
