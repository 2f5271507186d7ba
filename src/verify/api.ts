/**
 * The public verifier API: `createVerifier(name, { runtime })` → { draft, verify, acceptance },
 * over user arrays (Float32Array or Float64Array probability vectors). Inputs are validated,
 * converted to f64, renormalised and copied into the runtime memory, then handed to the
 * allocation-free NodeVerifier, so this API and the decode path run the same code.
 *
 * In Node, `import { createVerifier } from 'spechub'` supplies a runtime when none is given.
 * In browsers (the core, `spechub/core`), create one first and pass it:
 *
 *   const rt = await Runtime.create(await (await fetch(wasmUrl)).arrayBuffer(), { build: 'simd' });
 *   const v = createVerifier('spechub', { runtime: rt });
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError } from '../errors.js';
import type { Runtime } from '../wasm/runtime.js';
import { mathMethod } from './methods.js';
import { NodeVerifier } from './node-verifier.js';
import { otmIid } from './otm.js';
import { createNodeMeta, SEQUENCE_METHODS, VERIFIER_NAMES, type NodeMeta, type ProbVector, type VerifierName, type VerifyResult } from './types.js';
import { checkDrafts, checkK, checkProbs, checkRng, checkSameLength, MAX_DRAFTS } from './validate.js';

/** A verifier method behind the public API. */
export interface Verifier {
  readonly name: VerifierName;
  /**
   * Drafts children from q with this method's joint law. Returns min(k, what q allows) tokens:
   * k, except SpecHub on a q with fewer than k positive entries (E5).  q: [V]
   * @throws InvalidArgumentError / ShapeError on invalid input (see the README).
   */
  draft(q: ProbVector, k: number, rng: Rng): Int32Array;
  /**
   * Verifies drafts (as `draft` made them) against the target p. `accepted` is the index of the
   * accepted draft, or -1 when the token came from the residual.  p, q: [V]
   */
  verify(p: ProbVector, q: ProbVector, drafts: ArrayLike<number>, rng: Rng): VerifyResult;
  /** Exact probability that verification accepts a draft, for k requested drafts.  p, q: [V] */
  acceptance(p: ProbVector, q: ProbVector, k: number): number;
}

/** Options of createVerifier. */
export interface VerifierOptions {
  /** Runtime whose memory and kernels the verifier uses (required in the core; Node supplies one). */
  runtime?: Runtime;
}

/**
 * A verifier for `name` ('sd' | 'rrs' | 'rrs-wo' | 'spechub' | 'k-seq') over `options.runtime`.
 * @throws InvalidArgumentError for an unknown name or a missing runtime.
 */
export function createVerifier(name: VerifierName, options: VerifierOptions = {}): Verifier {
  if (!VERIFIER_NAMES.includes(name)) {
    if ((SEQUENCE_METHODS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(
        `createVerifier: expected a node verifier (${VERIFIER_NAMES.join(', ')}), got ${name}, which verifies whole draft trees: use it through Generator or Stepper ({ method: '${name}' })`,
      );
    }
    throw new InvalidArgumentError(`createVerifier: expected one of ${VERIFIER_NAMES.join(', ')}, got ${String(name)}`);
  }
  if (!options.runtime) {
    throw new InvalidArgumentError(
      "createVerifier: expected options.runtime (in Node import createVerifier from 'spechub', which makes one; in browsers pass Runtime.create(bytes, { build: 'simd' }))",
    );
  }
  return new PublicVerifier(name, options.runtime);
}

/** Exact OTM optimum for k i.i.d. drafts from q (the O(V log V) prefix search).  p, q: [V] */
export function otmAcceptance(p: ProbVector, q: ProbVector, k: number): number {
  const where = 'otmAcceptance';
  const sp = checkProbs(p, 'p', where);
  const sq = checkProbs(q, 'q', where);
  checkSameLength(p, q, where);
  checkK('rrs', k, q, where);
  return otmIid(normalized(p, sp), normalized(q, sq), k);
}

/** p / Σ p as a new Float64Array. */
function normalized(x: ProbVector, s: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / s;
  return out;
}

class PublicVerifier implements Verifier {
  private node: NodeVerifier | null = null;
  private pPtr = 0;
  private qPtr = 0;
  private meta: NodeMeta = createNodeMeta(1);
  private drafts = new Int32Array(1);

  constructor(
    readonly name: VerifierName,
    private readonly runtime: Runtime,
  ) {}

  draft(q: ProbVector, k: number, rng: Rng): Int32Array {
    const where = `${this.name}.draft`;
    const sq = checkProbs(q, 'q', where);
    checkK(this.name, k, q, where);
    checkRng(rng, where);
    const node = this.ensure(q.length, k);
    const qv = this.copy(this.qPtr, q, sq);
    const count = node.draftInto(qv, k, rng, this.drafts, this.meta);
    return this.drafts.slice(0, count);
  }

  verify(p: ProbVector, q: ProbVector, drafts: ArrayLike<number>, rng: Rng): VerifyResult {
    const where = `${this.name}.verify`;
    const sp = checkProbs(p, 'p', where);
    const sq = checkProbs(q, 'q', where);
    checkSameLength(p, q, where);
    checkRng(rng, where);
    const node = this.ensure(q.length, Math.min(MAX_DRAFTS, Math.max(1, (drafts as ArrayLike<number> | undefined)?.length ?? 1)));
    const count = checkDrafts(this.name, drafts, q, this.drafts, where);
    const pv = this.copy(this.pPtr, p, sp);
    const qv = this.copy(this.qPtr, q, sq);
    node.inferMeta(qv, this.drafts, count, this.meta);
    const r = node.verifyNode(pv, qv, this.drafts, count, this.meta, rng);
    return { token: r.token, accepted: r.accepted };
  }

  acceptance(p: ProbVector, q: ProbVector, k: number): number {
    const where = `${this.name}.acceptance`;
    const sp = checkProbs(p, 'p', where);
    const sq = checkProbs(q, 'q', where);
    checkSameLength(p, q, where);
    checkK(this.name, k, q, where);
    return mathMethod(this.name).acceptance(normalized(p, sp), normalized(q, sq), k);
  }

  /** A NodeVerifier and p, q rows for at least V tokens and k drafts (grown by doubling). */
  private ensure(v: number, k: number): NodeVerifier {
    const node = this.node;
    if (node && node.maxVocab >= v && node.maxK >= k) return node;
    const maxVocab = Math.max(v, node ? node.maxVocab : 0);
    const maxK = Math.max(k, node ? node.maxK : 0, 8);
    const grownVocab = node && maxVocab > node.maxVocab ? Math.max(maxVocab, 2 * node.maxVocab) : maxVocab;
    const arena = this.runtime.arena;
    this.pPtr = arena.alloc(`verifier.${this.name}.p`, 8 * grownVocab).ptr; // f64 [maxVocab]
    this.qPtr = arena.alloc(`verifier.${this.name}.q`, 8 * grownVocab).ptr; // f64 [maxVocab]
    this.meta = createNodeMeta(maxK);
    this.drafts = new Int32Array(maxK);
    this.node = NodeVerifier.create(this.runtime, this.name, { maxVocab: grownVocab, maxK });
    return this.node;
  }

  /** x / s converted to f64 into the runtime row at ptr; returns the view. */
  private copy(ptr: number, x: ProbVector, s: number): Float64Array {
    const view = this.runtime.f64(ptr, x.length);
    for (let i = 0; i < x.length; i++) view[i] = x[i]! / s;
    return view;
  }
}
