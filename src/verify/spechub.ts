/**
 * SpecHub (Sun, Zhou, Chen, Sun, EMNLP 2024, arXiv 2411.05289; docs/verifiers.md §4), and its
 * generalisation to k > 2 drafts with a hub set (Hu et al. 2025's greedy law; §4.5, §7.1).
 *
 * k = 2, hub a = argmax q (stored with the node), s = Σ_{i≠a} q(i), w = q(a)/s:
 *   x1 ~ q;  x2 = a if x1 ≠ a, else x2 ~ q(.|≠a)      so Q(i,a) = q(i), Q(a,i) = q(a) q(i)/s
 *   p1 = max(p - q, 0), R1 = Σ_{i≠a} max(q - p, 0), R2 = Σ_{i≠a} max(w q - p1, 0)
 *   case (i, a):  accept i if u1 < p(i)/q(i);           else accept a if u2 < max(p(a) - R2, 0)/R1
 *   case (a, i):  accept i if u1 < p1(i)/(w q(i));      else accept a if u2 < p(a)/R2
 *   else emit y ~ norm(res), res(i) = max(p1(i) - w q(i), 0), res(a) = max(p(a) - R2 - R1, 0)
 *   α = p(a) + Σ_{i≠a} min(p(i), q(i)/s)               (= the OTM optimum for this joint)
 * k > 2, hub set G = top-(k-1) of q, s = Σ_{y∉G} q(y), m = q/s off G:
 *   x1 ~ q; slots 2..k hold G, the slot of x1 (if x1 ∈ G) holding X ~ q(.|∉G) instead
 *   accept X if u < p(X)/m(X); else with T = p(G) + Σ_{y∉G} max(p - m, 0): emit g ∈ G with
 *   probability p(g)/T (sequential tests in slot order), else y ~ norm(max(p - m, 0) off G)
 *   α = p(G) + Σ_{y∉G} min(p(y), q(y)/s)
 * The number of drafts is min(k, |supp q|); one draft is plain SD (E5). No p(a) > 1 - 1e-3 short-cut.
 */
import type { Rng } from '../rng.js';
import { InvalidArgumentError } from '../errors.js';
import {
  clampRatio,
  finishOutcome,
  includes,
  sampleSmallRest,
  SCALE_BELOW,
  scaledFactor,
  sumExcept,
  supportSize,
  topHubs,
} from './common.js';
import { sampleIndex, sampleIndexExcept } from '../sampling.js';
import { accept, emitResidual, emitTarget, type NodeCtx } from './node-ctx.js';
import { insertSorted } from './rrs-wo.js';
import { assertDrafted, overlap, sdOutcome, verifySdNode } from './sd.js';
import { RESIDUAL_EPS, type DraftOutcome, type LevelOutcome, type VerifyResult } from './types.js';

// ---- math layer ----

/** Number of drafts SpecHub makes for k requested: min(k, |supp q|). */
export function spechubCount(q: ArrayLike<number>, k: number): number {
  return Math.min(k, supportSize(q));
}

/** The default hub set for `count` drafts: the top count-1 tokens of q (ties: lower index). */
export function defaultHubs(q: ArrayLike<number>, count: number): Int32Array {
  return topHubs(q, count - 1);
}

/**
 * Outcome law of one SpecHub step. `hubs` is the hub set in slot order (default: the top
 * drafts.length - 1 tokens of q); any hub set with positive q mass and s > 0 is exact (E7).
 */
export function spechubOutcome(
  p: Float64Array,
  q: Float64Array,
  drafts: ArrayLike<number>,
  hubs: ArrayLike<number> = defaultHubs(q, drafts.length),
): LevelOutcome {
  const count = drafts.length;
  if (count === 1) return sdOutcome(p, q, drafts);
  if (hubs.length !== count - 1) {
    throw new InvalidArgumentError(`spechub: expected ${count - 1} hubs for ${count} drafts, got ${hubs.length}`);
  }
  return count === 2 ? pairOutcome(p, q, drafts, hubs[0]!) : multiHubOutcome(p, q, drafts, hubs);
}

/** The quantities of the k = 2 verifier for hub a (docs/verifiers.md §4.3), all deterministic in (p, q, a). */
export interface HubPairState {
  /** Σ_{i≠a} q(i), summed directly (E8). */
  s: number;
  /** q(a)/s, so Q(a, i) = w q(i); computed as w·(q·qScale) (see scaledFactor, E17). */
  w: number;
  /** 1, or the power of two q is prescaled by when s is subnormal. */
  qScale: number;
  /** Σ_{i≠a} max(q - p, 0): unused mass of the pairs (i, a). */
  r1: number;
  /** Σ_{i≠a} max(w q - max(p - q, 0), 0): unused mass of the pairs (a, i). */
  r2: number;
  /** Unnormalised residual res(i) = max(max(p - q, 0) - w q, 0), res(a) = max(p(a) - R2 - R1, 0).  [V] */
  res: Float64Array;
  /** Σ res = 1 - α_hub. */
  mass: number;
}

/** SpecHub's pair masses and residual for hub a.  p, q: [V] */
export function hubPairState(p: ArrayLike<number>, q: ArrayLike<number>, a: number): HubPairState {
  const n = p.length;
  const s = sumExcept(q, [a]);
  if (!(s > 0)) throw new InvalidArgumentError(`spechub: expected q mass outside the hub ${a}, got 0 (use one draft)`);
  const { c: w, qScale } = scaledFactor(q[a]!, s);
  let r1 = 0;
  let r2 = 0;
  for (let y = 0; y < n; y++) {
    if (y === a) continue;
    r1 += Math.max(q[y]! - p[y]!, 0);
    r2 += Math.max(w * (q[y]! * qScale) - Math.max(p[y]! - q[y]!, 0), 0);
  }
  const res = new Float64Array(n);
  let mass = 0;
  for (let y = 0; y < n; y++) {
    res[y] = y === a ? Math.max(p[a]! - r2 - r1, 0) : Math.max(Math.max(p[y]! - q[y]!, 0) - w * (q[y]! * qScale), 0);
    mass += res[y]!;
  }
  return { s, w, qScale, r1, r2, res, mass };
}

/** The paper's k = 2 verifier, in the authors' transport order (§4.3). */
function pairOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>, a: number): LevelOutcome {
  const { w, qScale, r1, r2, res, mass } = hubPairState(p, q, a);
  const caseA = drafts[0] !== a;
  const i = caseA ? drafts[0]! : drafts[1]!;
  if ((caseA && drafts[1] !== a) || i === a) {
    throw new InvalidArgumentError(`spechub: expected the hub ${a} in exactly one of the two slots, got [${drafts[0]}, ${drafts[1]}]`);
  }
  assertDrafted(q, i, 'spechub');
  const order = caseA ? [0, 1] : [1, 0];
  const ratio = caseA
    ? [clampRatio(p[i]!, q[i]!), clampRatio(Math.max(p[a]! - r2, 0), r1)]
    : [clampRatio(Math.max(p[i]! - q[i]!, 0), w * (q[i]! * qScale)), clampRatio(p[a]!, r2)];
  return finishOutcome(2, order, ratio, res, mass, p, false);
}

/**
 * The slot of the one draft outside G, validating the slot structure of the hub law: slots 1..
 * hold G in order, except that the slot of x1's hub (when x1 ∈ G) holds the draw X instead.
 */
function findXSlot(drafts: ArrayLike<number>, hubs: ArrayLike<number>): number {
  const count = drafts.length;
  let xSlot = -1;
  for (let j = 0; j < count; j++) {
    if (includes(hubs, drafts[j]!)) continue;
    if (xSlot >= 0) throw new InvalidArgumentError(`spechub: expected one draft outside the hub set, got ${drafts[xSlot]} and ${drafts[j]}`);
    xSlot = j;
  }
  let ok = xSlot >= 0;
  for (let j = 1; j < count && ok; j++) ok = j === xSlot ? drafts[0] === hubs[j - 1] : drafts[j] === hubs[j - 1];
  if (!ok) throw new InvalidArgumentError(`spechub: drafts [${Array.from(drafts)}] do not follow the hub law for hubs [${Array.from(hubs)}]`);
  return xSlot;
}

function indexOf(xs: ArrayLike<number>, x: number): number {
  for (let i = 0; i < xs.length; i++) if (xs[i] === x) return i;
  return -1;
}

/** The multi-hub verifier (§7.1) for the hub set G in slot order. */
function multiHubOutcome(p: Float64Array, q: Float64Array, drafts: ArrayLike<number>, hubs: ArrayLike<number>): LevelOutcome {
  const n = p.length;
  const count = drafts.length;
  const xSlot = findXSlot(drafts, hubs);
  const s = sumExcept(q, hubs);
  if (!(s > 0)) throw new InvalidArgumentError(`spechub: expected q mass outside the hub set, got 0 (use fewer drafts)`);
  const { c: invS, qScale } = scaledFactor(1, s); // m(y) = invS·(q(y)·qScale) = q(y)/s
  const x = drafts[xSlot]!;
  assertDrafted(q, x, 'spechub');
  const order: number[] = [xSlot];
  const ratio: number[] = [clampRatio(p[x]!, invS * (q[x]! * qScale))];
  const res = new Float64Array(n);
  let mass = 0;
  for (let y = 0; y < n; y++) {
    res[y] = includes(hubs, y) ? 0 : Math.max(p[y]! - invS * (q[y]! * qScale), 0);
    mass += res[y]!;
  }
  let total = mass;
  for (let j = 0; j < count; j++) if (j !== xSlot) total += p[drafts[j]!]!;
  if (!(total > RESIDUAL_EPS)) return finishOutcome(count, order, ratio, res, mass, p, true);
  for (let j = 0; j < count; j++) {
    if (j === xSlot) continue;
    let remaining = mass;
    for (let t = j; t < count; t++) if (t !== xSlot) remaining += p[drafts[t]!]!;
    order.push(j);
    ratio.push(clampRatio(p[drafts[j]!]!, remaining));
  }
  return finishOutcome(count, order, ratio, res, mass, p, false);
}

/**
 * Exact acceptance: p(G) + Σ_{y∉G} min(p(y), q(y)/s) for the top-(k'-1) hub set, k' = min(k, |supp q|)
 * (for k' = 2 this is the paper's α_hub; for k' = 1 it is Σ min(p, q)).
 */
export function spechubAcceptance(p: ArrayLike<number>, q: ArrayLike<number>, k: number): number {
  const count = spechubCount(q, k);
  if (count <= 1) return overlap(p, q);
  const hubs = defaultHubs(q, count);
  return hubAcceptance(p, q, hubs);
}

/** p(G) + Σ_{y∉G} min(p(y), q(y)/s) for a given hub set G. */
export function hubAcceptance(p: ArrayLike<number>, q: ArrayLike<number>, hubs: ArrayLike<number>): number {
  const s = sumExcept(q, hubs);
  let a = 0;
  for (let y = 0; y < p.length; y++) a += includes(hubs, y) ? p[y]! : Math.min(p[y]!, q[y]! / s);
  return a;
}

/**
 * The SpecHub drafting law for count = min(k, |supp q|) drafts and the hub set (default: top
 * count-1 of q): every ordered outcome with its probability.
 */
export function spechubLaw(q: Float64Array, k: number, hubs?: ArrayLike<number>): DraftOutcome[] {
  const count = hubs ? hubs.length + 1 : spechubCount(q, k);
  const out: DraftOutcome[] = [];
  if (count <= 1) {
    for (let x = 0; x < q.length; x++) if (q[x]! > 0) out.push({ drafts: Int32Array.of(x), prob: q[x]!, hubs: new Int32Array(0) });
    return out;
  }
  const g = Int32Array.from(hubs ?? defaultHubs(q, count));
  const s = sumExcept(q, g);
  for (let x1 = 0; x1 < q.length; x1++) {
    if (!(q[x1]! > 0)) continue;
    const j = indexOf(g, x1);
    if (j < 0) {
      out.push({ drafts: Int32Array.of(x1, ...g), prob: q[x1]!, hubs: g });
      continue;
    }
    for (let x = 0; x < q.length; x++) {
      if (!(q[x]! > 0) || includes(g, x)) continue;
      const d = Int32Array.of(x1, ...g);
      d[j + 1] = x;
      out.push({ drafts: d, prob: q[x1]! * (q[x]! / s), hubs: g }); // q(x)/s first: the product can underflow (E17)
    }
  }
  return out;
}

/** Reference SpecHub drafting (one uniform for x1, one more when x1 is a hub). */
export function drawSpechub(q: Float64Array, k: number, rng: Rng, hubs?: ArrayLike<number>): { drafts: Int32Array; hubs: Int32Array } {
  const count = hubs ? hubs.length + 1 : spechubCount(q, k);
  const x1 = sampleIndex(q, rng.next());
  if (count <= 1) return { drafts: Int32Array.of(x1), hubs: new Int32Array(0) };
  const g = Int32Array.from(hubs ?? defaultHubs(q, count));
  const j = indexOf(g, x1);
  const d = Int32Array.of(x1, ...g);
  if (j >= 0) {
    const u = rng.next();
    const s = sumExcept(q, g);
    d[j + 1] = s < SCALE_BELOW ? sampleSmallRest(q, u, s, g) : sampleIndexExcept(q, u * s, g);
  }
  return { drafts: d, hubs: g };
}

// ---- fast layer ----

/**
 * SpecHub drafts from ctx.q into ctx.drafts, the hub set (slot order), X's slot and s into
 * ctx.meta. Returns min(k, |supp q|) drafts.
 */
export function draftSpechubNode(ctx: NodeCtx): number {
  const { q, k, rng, meta, kernels: kn, drafts: out } = ctx;
  const n = q.length;
  const qPtr = q.byteOffset;
  // one pass: the hub set G in slot order (into idx scratch) and s = Σ_{y∉G} q(y) (into out[0])
  let g = 0;
  let s = 1;
  if (k > 1) {
    g = kn.topk_f64(ctx.idxPtr, ctx.outPtr, qPtr, n, k - 1);
    s = ctx.out[0]!;
    for (let j = 0; j < g; j++) meta.hubs[j] = ctx.idx[j]!;
  }
  if (g > 0 && !(s > 0)) {
    // supp q ⊆ G: make min(k, |supp q|) = g drafts, with the top g-1 as hubs; everything
    // outside G is 0, so the new s is exactly the dropped hub's q.
    g--;
    s = g > 0 ? q[meta.hubs[g]!]! : 1;
  }
  const x1 = kn.sample_f64(qPtr, n, rng.next());
  out[0] = x1;
  meta.hubCount = g;
  meta.restMass = s;
  meta.xSlot = 0;
  for (let j = 0; j < g; j++) {
    const h = meta.hubs[j]!;
    out[j + 1] = h;
    if (h === x1) meta.xSlot = j + 1;
  }
  if (meta.xSlot > 0) {
    sortIdx(ctx, meta.hubs, g);
    const u = rng.next();
    out[meta.xSlot] = s < SCALE_BELOW ? sampleSmallRest(q, u, s, ctx.idx, g) : kn.sample_except_f64(qPtr, n, u * s, ctx.idxPtr, g);
  }
  meta.count = g + 1;
  return g + 1;
}

/** Copy hubs[0..g) into the idx scratch, ascending (what the *_except kernels take). */
function sortIdx(ctx: NodeCtx, hubs: Int32Array, g: number): void {
  for (let j = 0; j < g; j++) insertSorted(ctx.idx, j, hubs[j]!);
}

/**
 * Hub metadata for drafts made by the default rule, for callers that kept no meta (the public
 * API): hubs = top count-1 of q, X's slot, s. Throws if the drafts do not follow the hub law.
 */
export function spechubMeta(ctx: NodeCtx): void {
  const { q, drafts, count, meta } = ctx;
  const kn = ctx.kernels;
  const g = count - 1;
  meta.count = count;
  meta.hubCount = g;
  if (g === 0) {
    meta.xSlot = 0;
    meta.restMass = 1;
    return;
  }
  const got = kn.topk_f64(ctx.idxPtr, ctx.outPtr, q.byteOffset, q.length, g);
  if (got !== g) throw new InvalidArgumentError(`spechub: expected ${count} drafts for a q with ${got + 1}+ positive entries`);
  meta.restMass = ctx.out[0]!;
  for (let j = 0; j < g; j++) meta.hubs[j] = ctx.idx[j]!;
  meta.xSlot = findXSlot(drafts.subarray(0, count), meta.hubs.subarray(0, g));
  if (!(meta.restMass > 0) || meta.xSlot < 0) {
    throw new InvalidArgumentError(`spechub: ${count} drafts need q mass outside the top ${g}, got ${meta.restMass}`);
  }
}

/** One SpecHub verification of ctx.count drafts with the node's stored hub set (ctx.meta). */
export function verifySpechubNode(ctx: NodeCtx): VerifyResult {
  const count = ctx.count;
  if (count === 1) return verifySdNode(ctx);
  return count === 2 ? verifyPairNode(ctx) : verifyMultiHubNode(ctx);
}

function verifyPairNode(ctx: NodeCtx): VerifyResult {
  const { p, q, drafts, meta, rng } = ctx;
  const kn = ctx.kernels;
  const n = p.length;
  const a = meta.hubs[0]!;
  const f = scaledFactor(q[a]!, meta.restMass, ctx.factor); // w = q(a)/s, as w·(q·qScale)
  const caseA = drafts[0] !== a;
  const slotI = caseA ? 0 : 1;
  const i = drafts[slotI]!;
  const qi = q[i]!;
  if (!(qi > 0)) assertDrafted(q, i, 'spechub');
  const pi = p[i]!;
  if (caseA ? rng.next() < pi / qi : rng.next() < Math.max(pi - qi, 0) / (f.c * (qi * f.qScale))) return accept(ctx, slotI, i);
  // one fused pass: the residual (into r) and the pair leftovers R1, R2
  let mass = kn.hub_pass_f64(ctx.rPtr, ctx.outPtr, p.byteOffset, q.byteOffset, n, a, f.c, f.qScale);
  const r1 = ctx.out[0]!;
  const r2 = ctx.out[1]!;
  const pa = p[a]!;
  // Reaching here makes the denominator positive: R1 >= max(q(i) - p(i), 0) > 0 in case A,
  // R2 >= max(w q(i) - p1(i), 0) > 0 in case B (same float expressions as the kernel).
  if (caseA ? rng.next() < Math.max(pa - r2, 0) / r1 : rng.next() < pa / r2) return accept(ctx, 1 - slotI, a);
  const ra = Math.max(pa - r2 - r1, 0);
  ctx.r[a] = ra;
  mass += ra;
  return emitResidual(ctx, mass);
}

function verifyMultiHubNode(ctx: NodeCtx): VerifyResult {
  const { p, q, drafts, count, meta, rng } = ctx;
  const n = p.length;
  const xSlot = meta.xSlot;
  const f = scaledFactor(1, meta.restMass, ctx.factor); // m = q/s, as invS·(q·qScale)
  const x = drafts[xSlot]!;
  const qx = q[x]!;
  if (!(qx > 0)) assertDrafted(q, x, 'spechub');
  if (rng.next() < p[x]! / (f.c * (qx * f.qScale))) return accept(ctx, xSlot, x);
  sortIdx(ctx, meta.hubs, meta.hubCount);
  const mass = ctx.kernels.residual_except_f64(ctx.rPtr, p.byteOffset, q.byteOffset, n, f.c, f.qScale, ctx.idxPtr, meta.hubCount);
  let total = mass;
  for (let j = 0; j < count; j++) if (j !== xSlot) total += p[drafts[j]!]!;
  if (!(total > RESIDUAL_EPS)) return emitTarget(ctx);
  for (let j = 0; j < count; j++) {
    if (j === xSlot) continue;
    let remaining = mass;
    for (let t = j; t < count; t++) if (t !== xSlot) remaining += p[drafts[t]!]!;
    const g = drafts[j]!;
    if (rng.next() < p[g]! / remaining) return accept(ctx, j, g);
  }
  return emitResidual(ctx, mass);
}
