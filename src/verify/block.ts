/**
 * Block verification (Sun, Mendlovic, Leviathan, Aharoni, Ro, Beirami, Suresh, "Block Verification
 * Accelerates Speculative Decoding", ICLR 2025, arXiv 2403.10444; docs/verifiers-sequence.md §1),
 * for a chain of γ drafts x_1..x_γ, x_i ~ q_{i−1} = q(.|x_{<i}), with targets p_i = p(.|x_{≤i}):
 *
 *   w_0 = 1,  w_i = min(1, w_{i−1} p_{i−1}(x_i) / q_{i−1}(x_i))            (sequence-level weights)
 *   h_γ = w_γ,  h_i = S_i / (S_i + 1 − w_i),  S_i = Σ_y (w_i p_i(y) − q_i(y))⁺   for i < γ
 *   τ = the largest i with u_i < h_i (τ = 0 if none; u_i fresh uniforms): keep x_1..x_τ
 *   emit y ~ norm((w_τ p_τ − q_τ)⁺) if τ < γ, y ~ p_γ if τ = γ              (p_τ itself when S_τ ≤ 1e-12)
 *   P(τ ≥ i) = E[w_i],  E[τ] = Σ_i E_{x_{≤i}}[ min_{j≤i} Π_{j<l≤i} p_{l−1}(x_l) / q_{l−1}(x_l) ]
 *
 * Single-draft SD (sd.ts) keeps x_i only if every token-level test up to i passed, so
 * P(τ_SD ≥ i) = E[Π_{l≤i} min(1, p_{l−1}(x_l)/q_{l−1}(x_l))] ≤ E[w_i]: block verification never keeps
 * fewer drafts in expectation, and the paper proves it optimal among all valid verifiers of one
 * draft chain. The residual norm((w_τ p_τ − q_τ)⁺) is the correction that makes it exact: dropping
 * it (emitting from p_τ, or from the token-level residual (p_τ − q_τ)⁺) biases the output.
 *
 * The engine runs block verification as traversal verification on a chain (traversal.ts, whose
 * weight update after a rejected child is exactly h_i, and whose residual is exactly the one
 * above); this file has the chain-level math layer the tests compare the engine with: the paper's
 * backward form as an exact outcome law, and the closed form of E[τ].
 */
import { InvalidArgumentError } from '../errors.js';
import { RESIDUAL_EPS } from './types.js';

/** The exact law of one block verification of a chain, given the drafts. */
export interface BlockOutcome {
  /** Sequence-level weights w_0..w_γ (the paper's p_i).  [γ + 1] */
  weight: Float64Array;
  /** Acceptance weights h_0..h_γ (h_0 = 1: the empty prefix is always kept).  [γ + 1] */
  h: Float64Array;
  /** P(τ = i): exactly the first i drafts are kept.  [γ + 1] */
  keep: Float64Array;
  /** Law of the token emitted after x_1..x_i (normalised).  [γ + 1][V] */
  residual: Float64Array[];
}

/**
 * Block verification's outcome law for drafts x_1..x_γ. p: targets p_0..p_γ ([γ + 1][V]), q: draft
 * distributions q_0..q_{γ−1} ([γ][V]), all normalised.
 */
export function blockOutcome(p: readonly ArrayLike<number>[], q: readonly ArrayLike<number>[], drafts: ArrayLike<number>): BlockOutcome {
  const gamma = drafts.length;
  if (p.length !== gamma + 1 || q.length !== gamma) {
    throw new InvalidArgumentError(`blockOutcome: expected ${gamma + 1} target rows and ${gamma} draft rows for ${gamma} drafts, got ${p.length} and ${q.length}`);
  }
  const V = p[0]!.length;
  const weight = new Float64Array(gamma + 1);
  weight[0] = 1;
  for (let i = 1; i <= gamma; i++) {
    const x = drafts[i - 1]!;
    const qx = q[i - 1]![x]!;
    if (!(qx > 0)) throw new InvalidArgumentError(`blockOutcome: expected drafted token ${x} to have q > 0, got q = ${qx}`);
    weight[i] = Math.min(1, (weight[i - 1]! * p[i - 1]![x]!) / qx);
  }
  const h = new Float64Array(gamma + 1);
  const residual: Float64Array[] = [];
  for (let i = 0; i <= gamma; i++) {
    const r = new Float64Array(V);
    if (i === gamma) {
      h[i] = weight[i]!;
      for (let y = 0; y < V; y++) r[y] = p[i]![y]!;
    } else {
      let s = 0;
      for (let y = 0; y < V; y++) {
        r[y] = Math.max(weight[i]! * p[i]![y]! - q[i]![y]!, 0);
        s += r[y]!;
      }
      const w = weight[i]!;
      h[i] = i === 0 ? 1 : s + 1 - w > 0 ? s / (s + 1 - w) : 0;
      if (s > RESIDUAL_EPS) for (let y = 0; y < V; y++) r[y]! /= s;
      else for (let y = 0; y < V; y++) r[y] = p[i]![y]!; // E10: no residual mass, emit from p_i
    }
    residual.push(r);
  }
  // τ = the largest i with u_i < h_i: P(τ = i) = h_i Π_{j>i} (1 − h_j)
  const keep = new Float64Array(gamma + 1);
  let above = 1;
  for (let i = gamma; i >= 0; i--) {
    keep[i] = above * h[i]!;
    above *= 1 - h[i]!;
  }
  return { weight, h, keep, residual };
}

/** A next-token law as a function of the tokens after the verified prefix (tests use table models). */
export type ChainLaw = (continuation: readonly number[]) => ArrayLike<number>;

/**
 * E[τ] of block verification for chains of γ drafts from `draft` verified against `target`, by the
 * closed form Σ_{i=1..γ} E[w_i] (enumerates every draft prefix: small V and γ only).
 */
export function blockExpectedKept(target: ChainLaw, draft: ChainLaw, gamma: number): number {
  return expectedKept(target, draft, gamma, (w, ratio) => Math.min(1, w * ratio));
}

/** E[τ] of token-level SD on the same chains: Σ_i E[Π_{l≤i} min(1, p/q)]. */
export function sdExpectedKept(target: ChainLaw, draft: ChainLaw, gamma: number): number {
  return expectedKept(target, draft, gamma, (w, ratio) => w * Math.min(1, ratio));
}

/** Σ_i Σ_{x≤i} Q(x≤i) W_i(x≤i) with W_0 = 1 and W_i = next(W_{i−1}, p(x_i)/q(x_i)). */
function expectedKept(target: ChainLaw, draft: ChainLaw, gamma: number, next: (w: number, ratio: number) => number): number {
  if (!Number.isSafeInteger(gamma) || gamma < 0) throw new InvalidArgumentError(`expected kept drafts: expected gamma >= 0, got ${gamma}`);
  const prefix: number[] = [];
  const rec = (depth: number, w: number): number => {
    if (depth === gamma) return 0;
    const p = target(prefix);
    const q = draft(prefix);
    let total = 0;
    for (let x = 0; x < q.length; x++) {
      if (!(q[x]! > 0)) continue;
      const wx = next(w, p[x]! / q[x]!);
      prefix.push(x);
      total += q[x]! * (wx + rec(depth + 1, wx));
      prefix.pop();
    }
    return total;
  };
  return rec(0, 1);
}
