/**
 * Boundary checks of the public verifier API: every bad input becomes a typed error whose message
 * says what was expected and what was found. Inside (NodeVerifier, kernels) inputs are trusted.
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { ProbVector, VerifierName } from './types.js';

/**
 * How far Σ p may be from 1. Inputs are renormalised in f64 after this check, so the tolerance
 * only separates "a probability vector with rounding" (f32 softmax rows) from "not one at all".
 */
export const PROB_SUM_TOL = 1e-4;

/** Most drafts the public API takes per call. */
export const MAX_DRAFTS = 1024;

/** Checks a probability vector; returns its f64 sum. */
export function checkProbs(x: unknown, name: string, where: string): number {
  if (!(x instanceof Float64Array || x instanceof Float32Array)) {
    throw new InvalidArgumentError(`${where}: expected ${name} to be a Float32Array or Float64Array, got ${describe(x)}`);
  }
  if (x.length < 1) throw new ShapeError(`${where}: expected ${name} with at least one entry, got length 0`);
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= 0) || v === Infinity) {
      throw new InvalidArgumentError(`${where}: expected ${name}[${i}] to be a finite probability >= 0, got ${v}`);
    }
    s += v;
  }
  if (!(Math.abs(s - 1) <= PROB_SUM_TOL)) {
    throw new InvalidArgumentError(`${where}: expected ${name} to sum to 1 (±${PROB_SUM_TOL}), got ${s}`);
  }
  return s;
}

/** p and q must have one length. */
export function checkSameLength(p: ProbVector, q: ProbVector, where: string): void {
  if (p.length !== q.length) throw new ShapeError(`${where}: expected p and q of the same length, got ${p.length} and ${q.length}`);
}

/**
 * k must be an integer in [1, MAX_DRAFTS]; sd takes k = 1. (A k above the number of tokens q has
 * is allowed: SpecHub and RRS without replacement then draft the tokens there are, E5.)
 */
export function checkK(name: VerifierName, k: unknown, where: string): number {
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > MAX_DRAFTS) {
    throw new InvalidArgumentError(`${where}: expected k to be an integer in [1, ${MAX_DRAFTS}], got ${describe(k)}`);
  }
  if (name === 'sd' && k !== 1) throw new InvalidArgumentError(`${where}: sd verifies a single draft, expected k = 1, got ${k}`);
  return k;
}

/** The RNG must be an Rng (src/rng.ts). */
export function checkRng(rng: unknown, where: string): Rng {
  if (typeof rng !== 'object' || rng === null || typeof (rng as Rng).next !== 'function') {
    throw new InvalidArgumentError(`${where}: expected an Rng (createRng(seed)), got ${describe(rng)}`);
  }
  return rng as Rng;
}

/**
 * Drafts: integer tokens in [0, V) with q > 0 (E1), and the structure the method drafts (one for
 * sd; distinct for rrs-wo). Copied into `out`; returns the count.
 */
export function checkDrafts(name: VerifierName, drafts: unknown, q: ProbVector, out: Int32Array, where: string): number {
  if (!(drafts instanceof Int32Array || Array.isArray(drafts) || ArrayBuffer.isView(drafts))) {
    throw new InvalidArgumentError(`${where}: expected drafts as an Int32Array or number[], got ${describe(drafts)}`);
  }
  const d = drafts as ArrayLike<number>;
  if (d.length < 1) throw new ShapeError(`${where}: expected at least one draft, got none`);
  if (d.length > out.length) throw new ShapeError(`${where}: expected at most ${Math.min(out.length, MAX_DRAFTS)} drafts, got ${d.length}`);
  if (name === 'sd' && d.length !== 1) throw new ShapeError(`${where}: sd verifies a single draft, got ${d.length}`);
  for (let j = 0; j < d.length; j++) {
    const x = d[j]!;
    if (!Number.isInteger(x) || x < 0 || x >= q.length) {
      throw new InvalidArgumentError(`${where}: expected drafts[${j}] to be a token in [0, ${q.length}), got ${x}`);
    }
    if (!(q[x]! > 0)) throw new InvalidArgumentError(`${where}: drafts[${j}] = ${x} has q = ${q[x]}; drafts must come from q`);
    if (name === 'rrs-wo') {
      for (let i = 0; i < j; i++) if (d[i] === x) throw new InvalidArgumentError(`${where}: rrs-wo drafts are distinct, got ${x} twice`);
    }
    out[j] = x;
  }
  return d.length;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === 'object') return `a ${(x as object).constructor?.name ?? 'object'}`;
  return `${typeof x} ${String(x)}`;
}
