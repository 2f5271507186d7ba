/**
 * The public verifier API: `createVerifier(name, { runtime })` → { draft, verify, acceptance, rows },
 * over user arrays (Float32Array or Float64Array probability vectors). A row is copied into the
 * runtime memory (a typed-array copy; Float32Array converts to f64 on the way), checked and summed
 * in one WASM pass (`checked_sum_f64`), and renormalised there only when its sum is off by more
 * than f64 rounding; then the allocation-free NodeVerifier runs, so this API and the decode path run
 * the same code. Rows obtained from `rows(V)` are already in the runtime memory and skip the copy.
 * A row that fails the check is re-examined in TypeScript to name the bad entry in the error.
 * SD, whose decode-path node costs O(1) when it accepts, checks inside the pass it makes anyway:
 * its draft checks q while it scans for the draw (`checked_sample_f64`); its verify decides from
 * p(x)/q(x) first and, on a rejection, checks p and q while it computes the residual the rejection
 * needs (`checked_residual_f64`): one pass over the rows per call.
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
import { checkDrafts, checkK, checkProbs, checkRng, checkSameLength, MAX_DRAFTS, PROB_SUM_TOL } from './validate.js';

/** A verifier method behind the public API. */
export interface Verifier {
  readonly name: VerifierName;
  /**
   * Drafts children from q with this method's joint law. Returns min(k, what q allows) tokens:
   * k, except that SpecHub and RRS without replacement draft only the tokens q has when it has
   * fewer than k positive entries (E5).  q: [V]
   * @throws InvalidArgumentError / ShapeError on invalid input (see the README).
   */
  draft(q: ProbVector, k: number, rng: Rng): Int32Array;
  /**
   * Verifies drafts (as `draft` made them) against the target p. `accepted` is the index of the
   * accepted draft, or -1 when the token came from the residual.  p, q: [V]
   */
  verify(p: ProbVector, q: ProbVector, drafts: ArrayLike<number>, rng: Rng): VerifyResult;
  /**
   * Exact probability that verification accepts a draft, for k requested drafts (of which
   * SpecHub and RRS without replacement make at most |supp q|).  p, q: [V]
   */
  acceptance(p: ProbVector, q: ProbVector, k: number): number;
  /**
   * Input rows in the runtime memory for `vocab` tokens: write p and q into them and pass them to
   * draft / verify, which then read them in place instead of copying (the fast way to call this
   * API; a copy of two rows costs about as much as a verification). A row whose sum is off by more
   * than f64 rounding is renormalised in place. The views stay valid until the runtime memory
   * grows (loading a model, planning anything); call rows() again after that.  p, q: f64 [vocab]
   */
  rows(vocab: number): { p: Float64Array; q: Float64Array };
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
  checkK('rrs', k, where);
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
  /** f64 [2]: the row sums the fused SD passes write. */
  private sumsPtr = 0;
  private meta: NodeMeta = createNodeMeta(1);
  private drafts = new Int32Array(1);
  // cached views of the p and q rows at the last length used (re-derived after memory growth)
  private pView: Float64Array = new Float64Array(0);
  private qView: Float64Array = new Float64Array(0);

  constructor(
    readonly name: VerifierName,
    private readonly runtime: Runtime,
  ) {}

  draft(q: ProbVector, k: number, rng: Rng): Int32Array {
    const where = `${this.name}.draft`;
    checkK(this.name, k, where);
    checkRng(rng, where);
    const n = rowLength(q, 'q', where);
    const node = this.ensure(n, k);
    // the fused pass reads the uniform from a clone (an rng of plain objects may lack one)
    if (this.name === 'sd' && typeof rng.clone === 'function') return Int32Array.of(this.draftSd(q, rng, where));
    const qv = this.load(false, q, 'q', where);
    const count = node.draftInto(qv, k, rng, this.drafts, this.meta);
    return this.drafts.slice(0, count);
  }

  verify(p: ProbVector, q: ProbVector, drafts: ArrayLike<number>, rng: Rng): VerifyResult {
    const where = `${this.name}.verify`;
    const n = rowLength(p, 'p', where);
    rowLength(q, 'q', where);
    checkSameLength(p, q, where);
    checkRng(rng, where);
    const node = this.ensure(n, Math.min(MAX_DRAFTS, Math.max(1, (drafts as ArrayLike<number> | undefined)?.length ?? 1)));
    let pv: Float64Array;
    let qv: Float64Array;
    let residualMass = -1;
    if (this.name === 'sd' && typeof rng.clone === 'function') {
      // SD's decision needs only p(x)/q(x): read it first (the uniform from a clone), then check the
      // rows in the pass the outcome needs anyway: a rejection's residual pass, or a plain check
      pv = this.place(true, p);
      qv = this.place(false, q);
      // (bad drafts are reported by checkDrafts below, after the rows' check)
      const x = typeof drafts === 'object' && drafts !== null ? (drafts as ArrayLike<number>)[0] : undefined;
      const rejects = typeof x === 'number' && qv[x]! > 0 && !(rng.clone().next() < pv[x]! / qv[x]!);
      let mass = -1;
      if (rejects) mass = node.checkSdRows(pv, qv, this.sumsPtr);
      else this.runtime.k.checked_sums2_f64(this.pPtr, this.qPtr, n, this.sumsPtr);
      const sums = this.runtime.f64(this.sumsPtr, 2);
      const scaledP = this.settle(this.pPtr, p, sums[0]!, 'p', where);
      const scaledQ = this.settle(this.qPtr, q, sums[1]!, 'q', where);
      if (!scaledP && !scaledQ) residualMass = mass; // else verifyNode decides again on the scaled rows
    } else {
      pv = this.load(true, p, 'p', where);
      qv = this.load(false, q, 'q', where);
    }
    const count = checkDrafts(this.name, drafts, qv, this.drafts, where);
    node.inferMeta(qv, this.drafts, count, this.meta);
    const r = node.verifyNode(pv, qv, this.drafts, count, this.meta, rng, residualMass);
    return { token: r.token, accepted: r.accepted };
  }

  acceptance(p: ProbVector, q: ProbVector, k: number): number {
    const where = `${this.name}.acceptance`;
    const sp = checkProbs(p, 'p', where);
    const sq = checkProbs(q, 'q', where);
    checkSameLength(p, q, where);
    checkK(this.name, k, where);
    return mathMethod(this.name).acceptance(normalized(p, sp), normalized(q, sq), k);
  }

  rows(vocab: number): { p: Float64Array; q: Float64Array } {
    if (!Number.isSafeInteger(vocab) || vocab < 1) throw new InvalidArgumentError(`${this.name}.rows: expected a vocabulary size >= 1, got ${String(vocab)}`);
    this.ensure(vocab, MAX_DRAFTS); // room for any call, so no later call grows the memory under them
    return { p: this.runtime.f64(this.pPtr, vocab), q: this.runtime.f64(this.qPtr, vocab) };
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
    this.sumsPtr = arena.alloc(`verifier.${this.name}.sums`, 16).ptr; // f64 [2]
    this.meta = createNodeMeta(maxK);
    this.drafts = new Int32Array(maxK);
    this.node = NodeVerifier.create(this.runtime, this.name, { maxVocab: grownVocab, maxK });
    return this.node;
  }

  /**
   * x as a normalised f64 row in the runtime memory (the p row or the q row): placed there (`place`),
   * checked and summed in one WASM pass, then settled (`settle`).
   */
  private load(isP: boolean, x: ProbVector, name: string, where: string): Float64Array {
    const view = this.place(isP, x);
    this.settle(view.byteOffset, x, this.runtime.k.checked_sum_f64(view.byteOffset, x.length), name, where);
    return view;
  }

  /** The view of the p or q row at x's length, holding x: copied unless x is that row already (from `rows()`). */
  private place(isP: boolean, x: ProbVector): Float64Array {
    const n = x.length;
    const ptr = isP ? this.pPtr : this.qPtr;
    let view = isP ? this.pView : this.qView;
    if (view.length !== n || view.byteOffset !== ptr || this.runtime.stale(view)) {
      view = this.runtime.f64(ptr, n);
      if (isP) this.pView = view;
      else this.qView = view;
    }
    if (!(x instanceof Float64Array && x.buffer === view.buffer && x.byteOffset === ptr)) view.set(x);
    return view;
  }

  /**
   * Acts on a WASM check's result s for the row at ptr that holds x (s = Σx, or -1 when an entry is
   * NaN, ±Infinity or negative): a failed check, or a sum off by more than PROB_SUM_TOL, re-runs the
   * TypeScript check, which throws naming the bad entry or agrees at the edge; then the row is scaled
   * by 1/Σ unless Σ is 1 up to the rounding of an f64 sum (n·2^-52, the tolerance the decode path's
   * Sampler rows have too). Returns whether it scaled.
   */
  private settle(ptr: number, x: ProbVector, s: number, name: string, where: string): boolean {
    const n = x.length;
    if (!(Math.abs(s - 1) <= PROB_SUM_TOL)) s = checkProbs(x, name, where); // throws, or agrees at the edge
    if (Math.abs(s - 1) <= n * Number.EPSILON) return false;
    this.runtime.k.scale_f64(ptr, n, 1 / s);
    return true;
  }

  /**
   * SD's draft x ~ q with q's check in the same pass (checked_sample_f64 scans as sample_f64 does, so
   * the draw equals the decode path's). The uniform is read from a clone first, so a row that fails
   * the check leaves rng where it was; a row that needs renormalising is scaled and drawn again.
   */
  private draftSd(q: ProbVector, rng: Rng, where: string): number {
    const n = q.length;
    this.place(false, q);
    const u = rng.clone().next();
    let x = this.runtime.k.checked_sample_f64(this.qPtr, n, u, this.sumsPtr);
    if (this.settle(this.qPtr, q, this.runtime.f64(this.sumsPtr, 1)[0]!, 'q', where)) x = this.runtime.k.sample_f64(this.qPtr, n, u);
    rng.next();
    return x;
  }
}

/** The length of a probability row, after the cheap checks (type, non-empty). */
function rowLength(x: unknown, name: string, where: string): number {
  if (!(x instanceof Float64Array || x instanceof Float32Array) || x.length < 1) checkProbs(x, name, where); // throws
  return (x as ProbVector).length;
}
