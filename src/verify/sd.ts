/**
 * Single-draft speculative sampling (Leviathan, Kalman, Matias 2023; Chen et al. 2023).
 *
 *   x ~ q
 *   accept x  if u < p(x) / q(x)                       (strict <, u in [0, 1): E2, E12)
 *   else emit y ~ norm(max(p - q, 0))                   (p itself when that mass <= 1e-12: E10)
 *   α = Σ min(p, q) = 1 - TV(p, q)
 *
 * Exact by the master lemma (docs/verifiers.md §0.1) with t = p, s = q.
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError } from '../errors.js';
import { clampRatio, finishOutcome } from './common.js';
import { sampleIndex } from '../sampling.js';
import { accept, emitResidual, type NodeCtx } from './node-ctx.js';
import type { DraftOutcome, LevelOutcome, VerifyResult } from './types.js';

// ---- math layer (f64, no RNG) ----

/** Σ min(p, q).  p, q: [V] */
export function overlap(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.min(p[i]!, q[i]!);
  return s;
}

/** Exact acceptance of SD: Σ min(p, q). */
export function sdAcceptance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  return overlap(p, q);
}

/** q(x) of a drafted token must be positive (E1): a zero means the drafts do not come from q. */
export function assertDrafted(q: ArrayLike<number>, x: number, where: string): void {
  if (!(q[x]! > 0)) throw new InvalidArgumentError(`${where}: expected drafted token ${x} to have q > 0, got q = ${q[x]}`);
}

/** Outcome law of one SD step with draft x = drafts[0].  p, q: [V] */
export function sdOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>): LevelOutcome {
  const x = drafts[0]!;
  assertDrafted(q, x, 'sd');
  const ratio = clampRatio(p[x]!, q[x]!);
  const r = new Float64Array(p.length);
  let mass = 0;
  for (let i = 0; i < p.length; i++) {
    r[i] = Math.max(p[i]! - q[i]!, 0);
    mass += r[i]!;
  }
  return finishOutcome(1, [0], [ratio], r, mass, p, false);
}

/** The drafting law of one draft: x ~ q. */
export function sdLaw(q: Float64Array): DraftOutcome[] {
  const out: DraftOutcome[] = [];
  for (let x = 0; x < q.length; x++) if (q[x]! > 0) out.push({ drafts: Int32Array.of(x), prob: q[x]!, hubs: new Int32Array(0) });
  return out;
}

/** Reference draw x ~ q (one uniform). */
export function drawFromQ(q: ArrayLike<number>, rng: Rng): number {
  return sampleIndex(q, rng.next());
}

// ---- fast layer (kernels over runtime memory, no allocation) ----

/**
 * One SD verification of ctx.drafts[0] against ctx.p, ctx.q (views into runtime memory). With
 * `residualMass` >= 0 the residual max(p - q, 0) is already in ctx.r with that sum (the public
 * API's checking pass made it, bit for bit as residual_f64 does); otherwise it is made on rejection.
 */
export function verifySdNode(ctx: NodeCtx, residualMass = -1): VerifyResult {
  const { p, q } = ctx;
  const x = ctx.drafts[0]!;
  const qx = q[x]!;
  if (!(qx > 0)) assertDrafted(q, x, 'sd');
  if (ctx.rng.next() < p[x]! / qx) return accept(ctx, 0, x);
  const mass = residualMass >= 0 ? residualMass : ctx.kernels.residual_f64(ctx.rPtr, p.byteOffset, q.byteOffset, p.length, 1, 1);
  return emitResidual(ctx, mass);
}
