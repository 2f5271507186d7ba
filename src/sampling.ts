/**
 * Logits → probabilities for the target and the draft model alike (docs/verifiers.md E14: the same
 * transform for p and q), in Hugging Face's warper order:
 *
 *   temperature = 0:  one-hot at argmax (lowest index on ties), so verifiers need no greedy branch
 *   otherwise:        z = logits / T;  top-k: keep z >= the k-th largest (ties at it kept);
 *                     p = softmax over the kept;  top-p: order by logit desc (ties: lower index
 *                     first), keep a token iff the mass before it is < topP (so >= 1 token); renormalise
 *
 * Probabilities below e^-708 (3e-308) of the largest one are 0: exp underflows there anyway.
 * Logits rows are f32 and probability rows f64, both views into the runtime memory; the work runs
 * in WASM kernels (assembly/sampling.ts) with no allocation. `sampleCategorical` draws a token.
 */
import { InvalidArgumentError, NumericError, ShapeError } from './errors.js';
import type { Runtime } from './wasm/runtime.js';

/** How a logits row becomes a probability row. */
export interface SamplingParams {
  /** Softmax temperature, >= 0; 0 means greedy (a one-hot at the argmax). */
  temperature: number;
  /** Keep only the topK largest logits (ties at the k-th kept); 0 (default) or >= V disables. */
  topK?: number;
  /** Nucleus mass in (0, 1]; 1 (default) disables. */
  topP?: number;
}

/**
 * Smallest positive temperature. Logits are scaled by 1/T in f64, which is infinite below about
 * 5.6e-309 (and ∞·0 = NaN at the largest logit); 1e-300 keeps a round margin. Anything this cold
 * is greedy in effect: use 0.
 */
export const MIN_TEMPERATURE = 1e-300;

/** Greedy decoding. */
export const GREEDY: Readonly<SamplingParams> = Object.freeze({ temperature: 0 });

/**
 * Checks sampling parameters; returns them with defaults filled in.
 * @throws InvalidArgumentError naming the bad field.
 */
export function validateSamplingParams(params: SamplingParams): Required<SamplingParams> {
  if (typeof params !== 'object' || params === null) {
    throw new InvalidArgumentError(`sampling: expected { temperature, topK?, topP? }, got ${String(params)}`);
  }
  const { temperature, topK = 0, topP = 1 } = params;
  if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError(`sampling: expected temperature to be a finite number >= 0, got ${String(temperature)}`);
  }
  if (temperature > 0 && !(temperature >= MIN_TEMPERATURE)) {
    // logits are scaled by 1/T: below this 1/T is infinite (and 0·∞ = NaN at the largest logit)
    throw new InvalidArgumentError(`sampling: expected temperature 0 (greedy) or at least ${MIN_TEMPERATURE} (1/T must be finite), got ${temperature}`);
  }
  if (typeof topK !== 'number' || !Number.isSafeInteger(topK) || topK < 0) {
    throw new InvalidArgumentError(`sampling: expected topK to be an integer >= 0 (0 disables), got ${String(topK)}`);
  }
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) {
    throw new InvalidArgumentError(`sampling: expected topP in (0, 1] (1 disables), got ${String(topP)}`);
  }
  return { temperature, topK, topP };
}

/**
 * Turns logits rows into probability rows and draws tokens, with scratch planned once in the
 * runtime arena. Create one per runtime at plan time.
 */
export class Sampler {
  private readonly histPtr: number; // 256 × 8 bytes: u32 counts for top-k, f64 masses for top-p

  private constructor(
    readonly runtime: Runtime,
    readonly maxVocab: number,
  ) {
    this.histPtr = runtime.arena.alloc('sampling.hist', 256 * 8).ptr;
  }

  /** A sampler for rows of up to maxVocab entries. */
  static create(runtime: Runtime, maxVocab: number): Sampler {
    if (!Number.isSafeInteger(maxVocab) || maxVocab < 1) throw new InvalidArgumentError(`Sampler: expected maxVocab >= 1, got ${maxVocab}`);
    return new Sampler(runtime, maxVocab);
  }

  /**
   * Writes the probabilities of `logits` under `params` into `probs` (normalised, f64).
   * logits: f32 [V], probs: f64 [V], both views into the runtime memory.
   * @throws InvalidArgumentError for bad params; NumericError for a row with NaN / +Infinity / no finite logit.
   */
  toProbs(logits: Float32Array, probs: Float64Array, params: SamplingParams): void {
    const { temperature, topK, topP } = validateSamplingParams(params);
    const n = logits.length;
    this.checkView(logits, 'logits');
    this.checkView(probs, 'probs');
    if (probs.length !== n) throw new ShapeError(`sampling: expected probs of length ${n} like logits, got ${probs.length}`);
    this.toProbsAt(logits.byteOffset, probs, temperature, topK, topP);
  }

  /**
   * The decode-path form of `toProbs`: the logits row by byte address (f32 [probs.length]) and
   * parameters already checked by `validateSamplingParams` (so nothing is allocated per call).
   */
  toProbsAt(logitsPtr: number, probs: Float64Array, temperature: number, topK: number, topP: number): void {
    const k = this.runtime.k;
    const n = probs.length;
    const lPtr = logitsPtr;
    const pPtr = probs.byteOffset;
    const best = k.argmax_f32(lPtr, n);
    const max = best >= 0 ? this.runtime.heapF32[(lPtr >>> 2) + best]! : NaN;
    if (!(max > -Infinity && max < Infinity)) {
      throw new NumericError(`sampling: expected finite logits (at least one), got ${best < 0 ? 'NaN' : `max ${max}`}`);
    }
    if (temperature === 0) {
      k.fill_f64(pPtr, n, 0);
      probs[best] = 1;
      return;
    }
    const minLogit = topK > 0 && topK < n ? k.kth_largest_f32(lPtr, n, topK, this.histPtr) : -Infinity;
    let mass = k.exp_probs_f32(pPtr, lPtr, n, 1 / temperature, max, minLogit);
    if (!(mass >= 1 && mass < Infinity)) throw new NumericError(`sampling: expected logits without NaN, got a row whose softmax sum is ${mass}`);
    if (topP < 1) mass = k.topp_mask_f64(pPtr, lPtr, n, topP * mass, this.histPtr);
    k.scale_f64(pPtr, n, 1 / mass);
  }

  /** Inverse-CDF draw of a token from a normalised row with uniform u ∈ [0, 1).  probs: f64 [V] view */
  sample(probs: Float64Array, u: number): number {
    this.checkView(probs, 'probs');
    return this.runtime.k.sample_f64(probs.byteOffset, probs.length, u);
  }

  private checkView(x: Float32Array | Float64Array, name: string): void {
    if (this.runtime.stale(x)) {
      throw new InvalidArgumentError(`sampling: expected ${name} to be a view into the runtime memory, got a separate buffer`);
    }
    if (x.length < 1 || x.length > this.maxVocab) throw new ShapeError(`sampling: expected ${name} of length 1..${this.maxVocab}, got ${x.length}`);
  }
}

/**
 * Inverse-CDF draw: the first index i with p[0] + ... + p[i] > target, where target = u * mass.
 * If rounding leaves the target at or above the total, the last index with p > 0 is returned;
 * -1 only when every entry is 0. Zero entries are never returned.  probs: [V]
 */
export function sampleIndex(probs: ArrayLike<number>, target: number): number {
  let acc = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (v > 0) {
      acc += v;
      last = i;
      if (acc > target) return i;
    }
  }
  return last;
}

/**
 * The same draw skipping the indices in `excluded` (any order).  probs: [V]
 */
export function sampleIndexExcept(probs: ArrayLike<number>, target: number, excluded: ArrayLike<number>): number {
  let acc = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (v > 0 && !isExcluded(excluded, i)) {
      acc += v;
      last = i;
      if (acc > target) return i;
    }
  }
  return last;
}

function isExcluded(excluded: ArrayLike<number>, i: number): boolean {
  for (let j = 0; j < excluded.length; j++) if (excluded[j] === i) return true;
  return false;
}

/**
 * Inverse-CDF draw from any probability row in plain TS: the first index whose running sum
 * exceeds u·Σprobs (never an entry that is 0). Same rule as the `sample_f64` kernel.  probs: [V]
 */
export function sampleCategorical(probs: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i]!;
  const i = sampleIndex(probs, u * total);
  if (i < 0) throw new InvalidArgumentError('sampleCategorical: expected a row with positive mass, got all zeros');
  return i;
}
