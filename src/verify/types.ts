/**
 * Shared vocabulary of the verifiers (see docs/verifiers.md §0). p is the target distribution at a
 * tree node, q the draft distribution, k the number of drafts (children), u a uniform in [0, 1).
 */

/** Names of the verifier methods. */
export type VerifierName = 'sd' | 'rrs' | 'rrs-wo' | 'spechub' | 'k-seq';

/** Every node-level method, in the order tables print them. */
export const VERIFIER_NAMES: readonly VerifierName[] = ['sd', 'rrs', 'rrs-wo', 'spechub', 'k-seq'];

/**
 * Sequence-level methods (docs/verifiers-sequence.md): they decide whole root-to-node paths of a
 * draft tree at once, so they exist only inside the engine (the Stepper), not as node verifiers.
 * block: chains only (Sun et al., ICLR 2025); traversal: i.i.d. siblings (Weng et al., NeurIPS
 * 2025); spechub-traversal: traversal over SpecHub's hub law and its transport verifier.
 */
export type SequenceMethod = 'block' | 'traversal' | 'spechub-traversal';

/** Every sequence-level method, in the order tables print them. */
export const SEQUENCE_METHODS: readonly SequenceMethod[] = ['block', 'traversal', 'spechub-traversal'];

/** A method the engine can decode with: a node verifier or a sequence-level one. */
export type MethodName = VerifierName | SequenceMethod;

/** Every method the engine takes, in the order tables print them. */
export const METHOD_NAMES: readonly MethodName[] = [...VERIFIER_NAMES, ...SEQUENCE_METHODS];

/**
 * How a method drafts the children of one node: 'single' one draft x ~ q; 'iid' k independent
 * draws from q; 'wo' k distinct draws (successive sampling); 'hub' SpecHub's hub law.
 */
export type DraftLaw = 'single' | 'iid' | 'wo' | 'hub';

/** Whether a method name is one of the sequence-level methods. */
export function isSequenceMethod(name: MethodName): name is SequenceMethod {
  return (SEQUENCE_METHODS as readonly string[]).includes(name);
}

/** The drafting law of a method. */
export function draftLawOf(name: MethodName): DraftLaw {
  switch (name) {
    case 'sd':
    case 'block':
      return 'single';
    case 'rrs':
    case 'k-seq':
    case 'traversal':
      return 'iid';
    case 'rrs-wo':
      return 'wo';
    case 'spechub':
    case 'spechub-traversal':
      return 'hub';
  }
}

/** The node method whose drafter draws a method's children (sequence methods draft like SD, RRS, SpecHub). */
export function draftingMethod(name: MethodName): VerifierName {
  switch (name) {
    case 'block':
      return 'sd';
    case 'traversal':
      return 'rrs';
    case 'spechub-traversal':
      return 'spechub';
    default:
      return name;
  }
}

/** Largest children count a method drafts per node (Infinity: no limit but the plan). */
export function maxChildrenOf(name: MethodName): number {
  return draftLawOf(name) === 'single' ? 1 : Infinity;
}

/** A probability vector as the public API accepts it. */
export type ProbVector = Float32Array | Float64Array;

/**
 * A residual whose mass is at most this is treated as empty: the verifier emits a sample of p
 * instead (docs/verifiers.md §4.7, E10). The branch is reached with probability at most this mass, so
 * the error this introduces is bounded by 1e-12 in total variation, and there is never a NaN.
 */
export const RESIDUAL_EPS = 1e-12;

/**
 * What a verification step did. `token` is the emitted token; `accepted` is the slot of the
 * accepted draft, or -1 when the token came from the residual (or from p in the E10 fallback).
 * A tree walker may continue into any child whose token equals `token` (docs/verifiers.md §10).
 */
export interface VerifyResult {
  token: number;
  accepted: number;
}

/**
 * Per-node metadata a drafter writes for its verifier (docs/verifiers.md §10 "keep, per node ...").
 * Reused: create one per tree node at plan time with `createNodeMeta(maxK)`.
 */
export interface NodeMeta {
  /** Number of drafts written (may be < k: without replacement, or SpecHub on a small support). */
  count: number;
  /** SpecHub: number of hub tokens (k' - 1 for k' drafts). */
  hubCount: number;
  /** SpecHub: the hub set G in slot order, hubs[0] = the hub a when k = 2.  [maxK] */
  readonly hubs: Int32Array;
  /** SpecHub: the slot holding the draw from q(.|not in G), -1 if none. */
  xSlot: number;
  /** SpecHub: sum of q outside G, computed as a sum (never 1 - q(G)). */
  restMass: number;
  /** RRS without replacement: untried q mass before draft j; mass[0] = 1.  [maxK] */
  readonly mass: Float64Array;
}

/** Fresh, zeroed node metadata for up to `maxK` drafts. */
export function createNodeMeta(maxK: number): NodeMeta {
  return {
    count: 0,
    hubCount: 0,
    hubs: new Int32Array(maxK),
    xSlot: -1,
    restMass: 0,
    mass: new Float64Array(maxK).fill(1),
  };
}

/**
 * The exact outcome law of one verification step given the drafts (the math layer, docs/verifiers.md §11.1).
 * The step runs sequential tests: test t accepts slot `order[t]` with conditional probability
 * `ratio[t]` (given every earlier test failed), each test consuming one fresh uniform; when all
 * fail, the emitted token is a draw of `residual` (one more uniform).
 */
export interface LevelOutcome {
  /** Slot tested by each test, in test order.  [tests] */
  order: Int32Array;
  /** Conditional acceptance probability of each test, in [0, 1].  [tests] */
  ratio: Float64Array;
  /** Unconditional probability that slot j is the accepted one.  [count] */
  accept: Float64Array;
  /** Probability that every test fails. */
  reject: number;
  /** Law of the emitted token when every test fails (normalised; p in the E10 fallback).  [V] */
  residual: Float64Array;
  /** True when the residual mass was at most RESIDUAL_EPS and p was used instead. */
  fallback: boolean;
}

/** One outcome of a drafting law: the drafts in slot order, its probability, and its metadata. */
export interface DraftOutcome {
  drafts: Int32Array;
  prob: number;
  /** SpecHub hub set in slot order (empty for other methods). */
  hubs: Int32Array;
}
