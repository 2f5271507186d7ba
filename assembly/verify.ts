// The verifier passes (src/verify/*): sums that never cancel, residuals max(r - c·q, 0), the
// overlap Σ min(q, c·p), K-SEQ's and SpecHub's fused passes, and the hub set (top-k of q).
// Probability rows are f64 (docs/verifiers.md §4.7: all verifier arithmetic in f64). idx arguments
// are i32 lists, ascending, distinct, < n. Every kernel has a scalar twin `_ref` beside it.
// SIMD clamps use pmax/pmin (one instruction each); they equal max/min on the NaN-free rows these
// kernels are given (signed zeros included), while max/min cost V8 a NaN-handling sequence.
// Operation order inside each element matches the TS math layer (src/verify/*.ts) exactly, so a
// test and its residual agree: a draft rejected by `u < r/(c·q)` gets max(r - c·q, 0) = 0.
// Passes that scale q by a multiplier c read it as c·(q·qScale): qScale is 1, or a power of two
// when c = num/den would overflow because den is subnormal (src/verify/common.ts `scaledFactor`,
// docs/verifiers.md E17); q·qScale is exact, so qScale = 1 gives c·q bit for bit.

import { f64At, i32At, hsum2, lastPositive } from './simd';
import { sample_f64_ref } from './sampling';

/** Σ x[lo..hi) with two f64x2 accumulators. */
// @ts-ignore: decorator
@inline function sumRange(xPtr: usize, lo: i32, hi: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = a0;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const p = xPtr + (<usize>i << 3);
    a0 = f64x2.add(a0, v128.load(p));
    a1 = f64x2.add(a1, v128.load(p, 16));
  }
  let s = hsum2(f64x2.add(a0, a1));
  for (; i < hi; i++) s += f64At(xPtr, i);
  return s;
}

// ---- sums ----

/** Σ x.  x: f64 [n] */
export function sum_f64(xPtr: usize, n: i32): f64 {
  return sumRange(xPtr, 0, n);
}

export function sum_f64_ref(xPtr: usize, n: i32): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) s += f64At(xPtr, i);
  return s;
}

/** Σ x[i] for i not in idx, summed directly (1 - x(G) would cancel).  x: f64 [n], idx: i32 [m] */
export function sum_except_f64(xPtr: usize, n: i32, idxPtr: usize, m: i32): f64 {
  let s = 0.0;
  let lo = 0;
  for (let t = 0; t < m; t++) {
    const e = i32At(idxPtr, t);
    s += sumRange(xPtr, lo, e);
    lo = e + 1;
  }
  return s + sumRange(xPtr, lo, n);
}

export function sum_except_f64_ref(xPtr: usize, n: i32, idxPtr: usize, m: i32): f64 {
  let s = 0.0;
  let t = 0;
  for (let i = 0; i < n; i++) {
    if (t < m && i32At(idxPtr, t) == i) {
      t++;
      continue;
    }
    s += f64At(xPtr, i);
  }
  return s;
}

/**
 * The public API's row check in the integer domain: an f64 is finite and >= +0 exactly when its high
 * 32 bits, unsigned, are below 0x7FF00000 (sign clear, exponent not all ones), so the lane-wise
 * unsigned maximum of the loaded vectors (i32x4.max_u, lanes 1 and 3: the high words) flags every
 * NaN, ±Infinity and negative entry. It runs on the integer vector ports while f64x2.add keeps the
 * sum on the FP adders: an f64x2.pmin there shared the FP ports with the adds and bound the pass
 * to ~58 GB/s. -0 (high word 0x80000000) is flagged too, but it is a valid entry (-0 >= 0), so a
 * flagged row is decided again, exactly, by `entriesOk`: only rows with -0 or a bad entry pay it.
 */
const HIGH_WORD_LIMIT: u32 = 0x7ff00000;

/** Whether the high words (lanes 1 and 3) of a running i32x4.max_u are all below HIGH_WORD_LIMIT. */
// @ts-ignore: decorator
@inline function highWordsOk(h: v128): bool {
  return max(i32x4.extract_lane(h, 1) as u32, i32x4.extract_lane(h, 3) as u32) < HIGH_WORD_LIMIT;
}

/** Whether every entry of x[0..n) is finite and >= 0 (-0 included): the exact check of a flagged row. */
function entriesOk(xPtr: usize, n: i32): bool {
  for (let i = 0; i < n; i++) {
    const v = f64At(xPtr, i);
    if (!(v >= 0 && v < Infinity)) return false;
  }
  return true;
}

/** checked_sum_f64's verdict on x[0..n): s when the SIMD high-word maximum h and the scalar minimum low pass (else the exact check decides) and s is finite, else -1. */
// @ts-ignore: decorator
@inline function checkedVerdict(xPtr: usize, n: i32, s: f64, h: v128, low: f64): f64 {
  const ok = (highWordsOk(h) && low >= 0) || entriesOk(xPtr, n);
  return ok && s < Infinity ? s : -1.0; // s < Infinity is false for NaN
}

/**
 * Σ x when every entry is a probability (finite and >= 0) and the sum is finite, else -1 (an entry
 * that is NaN, ±Infinity or negative). One pass, the public API's check of a row in memory: NaN,
 * ±Infinity and negatives show in the high words' unsigned maximum (see HIGH_WORD_LIMIT), an
 * overflowing sum in the sum. 16 entries a step: pairs are added (and max-ed) before they reach the
 * four sum and two maximum accumulators, so each loop-carried chain takes one operation per step.
 * x: f64 [n]
 */
export function checked_sum_f64(xPtr: usize, n: i32): f64 {
  return checkedSumFrom(xPtr, 0, n, 0.0, i32x4.splat(0));
}

/** checked_sum_f64's pass over x[lo..n), continuing a running sum s and high-word maximum h of what came before. */
// @ts-ignore: decorator
@inline function checkedSumFrom(xPtr: usize, lo: i32, n: i32, s: f64, h: v128): f64 {
  const zero = f64x2.splat(0);
  let a0 = zero;
  let a1 = zero;
  let a2 = zero;
  let a3 = zero;
  let h0 = h;
  let h1 = h;
  let i = lo;
  for (; i + 16 <= n; i += 16) {
    const p = xPtr + (<usize>i << 3);
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    const v2 = v128.load(p, 32);
    const v3 = v128.load(p, 48);
    const v4 = v128.load(p, 64);
    const v5 = v128.load(p, 80);
    const v6 = v128.load(p, 96);
    const v7 = v128.load(p, 112);
    a0 = f64x2.add(a0, f64x2.add(v0, v1));
    a1 = f64x2.add(a1, f64x2.add(v2, v3));
    a2 = f64x2.add(a2, f64x2.add(v4, v5));
    a3 = f64x2.add(a3, f64x2.add(v6, v7));
    h0 = i32x4.max_u(h0, i32x4.max_u(i32x4.max_u(v0, v1), i32x4.max_u(v2, v3)));
    h1 = i32x4.max_u(h1, i32x4.max_u(i32x4.max_u(v4, v5), i32x4.max_u(v6, v7)));
  }
  s += hsum2(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
  let lowest = 0.0;
  for (; i < n; i++) {
    const v = f64At(xPtr, i);
    s += v;
    if (v < lowest) lowest = v;
  }
  return checkedVerdict(xPtr, n, s, i32x4.max_u(h0, h1), lowest);
}

export function checked_sum_f64_ref(xPtr: usize, n: i32): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    const v = f64At(xPtr, i);
    if (!(v >= 0 && v < Infinity)) return -1.0;
    s += v;
  }
  return s < Infinity ? s : -1.0;
}

/**
 * checked_sum_f64 of p into sums[0] and of q into sums[1] in one pass over both rows (8 entries of
 * each a step): the public SD verify's check when the draft is accepted.  p, q: f64 [n], sums: f64 [2]
 */
export function checked_sums2_f64(pPtr: usize, qPtr: usize, n: i32, sumsPtr: usize): void {
  const zero = f64x2.splat(0);
  let ap0 = zero;
  let ap1 = zero;
  let aq0 = zero;
  let aq1 = zero;
  let hp = zero;
  let hq = zero;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const off = <usize>i << 3;
    const p0 = v128.load(pPtr + off);
    const p1 = v128.load(pPtr + off, 16);
    const p2 = v128.load(pPtr + off, 32);
    const p3 = v128.load(pPtr + off, 48);
    const q0 = v128.load(qPtr + off);
    const q1 = v128.load(qPtr + off, 16);
    const q2 = v128.load(qPtr + off, 32);
    const q3 = v128.load(qPtr + off, 48);
    ap0 = f64x2.add(ap0, f64x2.add(p0, p1));
    ap1 = f64x2.add(ap1, f64x2.add(p2, p3));
    aq0 = f64x2.add(aq0, f64x2.add(q0, q1));
    aq1 = f64x2.add(aq1, f64x2.add(q2, q3));
    hp = i32x4.max_u(hp, i32x4.max_u(i32x4.max_u(p0, p1), i32x4.max_u(p2, p3)));
    hq = i32x4.max_u(hq, i32x4.max_u(i32x4.max_u(q0, q1), i32x4.max_u(q2, q3)));
  }
  let sp = hsum2(f64x2.add(ap0, ap1));
  let sq = hsum2(f64x2.add(aq0, aq1));
  let lowP = 0.0;
  let lowQ = 0.0;
  for (; i < n; i++) {
    const pv = f64At(pPtr, i);
    const qv = f64At(qPtr, i);
    sp += pv;
    sq += qv;
    if (pv < lowP) lowP = pv;
    if (qv < lowQ) lowQ = qv;
  }
  store<f64>(sumsPtr, checkedVerdict(pPtr, n, sp, hp, lowP));
  store<f64>(sumsPtr, checkedVerdict(qPtr, n, sq, hq, lowQ), 8);
}

export function checked_sums2_f64_ref(pPtr: usize, qPtr: usize, n: i32, sumsPtr: usize): void {
  store<f64>(sumsPtr, checked_sum_f64_ref(pPtr, n));
  store<f64>(sumsPtr, checked_sum_f64_ref(qPtr, n), 8);
}

// ---- residuals ----

/** out[lo..hi) = max(r - c·(q·qScale), 0); returns the sum. */
// @ts-ignore: decorator
@inline function residualRange(outPtr: usize, rPtr: usize, qPtr: usize, lo: i32, hi: i32, c: f64, qScale: f64): f64 {
  const cv = f64x2.splat(c);
  const sv = f64x2.splat(qScale);
  const zero = f64x2.splat(0);
  let a0 = zero;
  let a1 = zero;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const off = <usize>i << 3;
    const d0 = f64x2.pmax(zero, f64x2.sub(v128.load(rPtr + off), f64x2.mul(cv, f64x2.mul(v128.load(qPtr + off), sv))));
    const d1 = f64x2.pmax(zero, f64x2.sub(v128.load(rPtr + off, 16), f64x2.mul(cv, f64x2.mul(v128.load(qPtr + off, 16), sv))));
    v128.store(outPtr + off, d0);
    v128.store(outPtr + off, d1, 16);
    a0 = f64x2.add(a0, d0);
    a1 = f64x2.add(a1, d1);
  }
  let s = hsum2(f64x2.add(a0, a1));
  for (; i < hi; i++) {
    const d = max(f64At(rPtr, i) - c * (f64At(qPtr, i) * qScale), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

/** out = max(r - c·(q·qScale), 0); returns Σ out. out may equal r.  out, r, q: f64 [n] */
export function residual_f64(outPtr: usize, rPtr: usize, qPtr: usize, n: i32, c: f64, qScale: f64): f64 {
  return residualRange(outPtr, rPtr, qPtr, 0, n, c, qScale);
}

export function residual_f64_ref(outPtr: usize, rPtr: usize, qPtr: usize, n: i32, c: f64, qScale: f64): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    const d = max(f64At(rPtr, i) - c * (f64At(qPtr, i) * qScale), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

/**
 * sample_f64's draw (the same scan, so the same index for the same target) fused with the public
 * API's check of the whole row: writes checked_sum_f64's result to sum[0] (Σ x, or -1 when an entry
 * is NaN, ±Infinity or negative) and returns the index. The scan's blocks feed the check; after the
 * crossing the rest of the row is only checked. One pass instead of two for the public SD draft.
 * x: f64 [n], sum: f64 [1]
 */
export function checked_sample_f64(xPtr: usize, n: i32, target: f64, sumPtr: usize): i32 {
  const zero = f64x2.splat(0);
  let s0 = zero;
  let h0 = zero;
  let acc = 0.0;
  let found = -1;
  let i = 0;
  for (; found < 0 && i + 4 <= n; i += 4) {
    const p = xPtr + (<usize>i << 3);
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    const pair = f64x2.add(v0, v1);
    s0 = f64x2.add(s0, pair);
    h0 = i32x4.max_u(h0, i32x4.max_u(v0, v1));
    const block = hsum2(pair);
    if (acc + block > target) {
      for (let j = i; j < i + 4; j++) {
        const v = f64At(xPtr, j);
        if (v > 0) {
          acc += v;
          if (acc > target) {
            found = j;
            break;
          }
        }
      }
    } else {
      acc += block;
    }
  }
  let s = hsum2(s0);
  if (found >= 0) {
    // the rest of the row: checked only, at checked_sum_f64's speed
    store<f64>(sumPtr, checkedSumFrom(xPtr, i, n, s, h0));
    return found;
  }
  let lowest = 0.0;
  for (; i < n; i++) {
    const v = f64At(xPtr, i);
    s += v;
    if (v < lowest) lowest = v;
    if (found < 0 && v > 0) {
      acc += v;
      if (acc > target) found = i;
    }
  }
  store<f64>(sumPtr, checkedVerdict(xPtr, n, s, h0, lowest));
  return found >= 0 ? found : lastPositive(xPtr, n, 0, 0);
}

export function checked_sample_f64_ref(xPtr: usize, n: i32, target: f64, sumPtr: usize): i32 {
  store<f64>(sumPtr, checked_sum_f64_ref(xPtr, n));
  return sample_f64_ref(xPtr, n, target);
}

/**
 * residual_f64(out, p, q, n, 1, 1) fused with the public API's check of both rows: writes out and
 * returns Σ out, bit for bit what residual_f64 gives (the same steps and sum order; c = qScale = 1
 * multiply exactly), and writes checked_sum_f64's result for p to sums[0] and for q to sums[1]
 * (Σ, or -1 when the row has an entry that is NaN, ±Infinity or negative). One pass over p and q
 * instead of three: the public SD verify checks its rows and has the residual ready for a rejection.
 * out, p, q: f64 [n], sums: f64 [2]
 */
export function checked_residual_f64(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, sumsPtr: usize): f64 {
  const zero = f64x2.splat(0);
  let a0 = zero;
  let a1 = zero;
  let sp = zero;
  let sq = zero;
  let hp = zero;
  let hq = zero;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 3;
    const p0 = v128.load(pPtr + off);
    const p1 = v128.load(pPtr + off, 16);
    const q0 = v128.load(qPtr + off);
    const q1 = v128.load(qPtr + off, 16);
    const d0 = f64x2.pmax(zero, f64x2.sub(p0, q0));
    const d1 = f64x2.pmax(zero, f64x2.sub(p1, q1));
    v128.store(outPtr + off, d0);
    v128.store(outPtr + off, d1, 16);
    a0 = f64x2.add(a0, d0);
    a1 = f64x2.add(a1, d1);
    sp = f64x2.add(sp, f64x2.add(p0, p1));
    sq = f64x2.add(sq, f64x2.add(q0, q1));
    hp = i32x4.max_u(hp, i32x4.max_u(p0, p1));
    hq = i32x4.max_u(hq, i32x4.max_u(q0, q1));
  }
  let s = hsum2(f64x2.add(a0, a1));
  let sumP = hsum2(sp);
  let sumQ = hsum2(sq);
  let lowP = 0.0;
  let lowQ = 0.0;
  for (; i < n; i++) {
    const pv = f64At(pPtr, i);
    const qv = f64At(qPtr, i);
    const d = max(pv - qv, 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
    sumP += pv;
    sumQ += qv;
    if (pv < lowP) lowP = pv;
    if (qv < lowQ) lowQ = qv;
  }
  store<f64>(sumsPtr, checkedVerdict(pPtr, n, sumP, hp, lowP));
  store<f64>(sumsPtr, checkedVerdict(qPtr, n, sumQ, hq, lowQ), 8);
  return s;
}

export function checked_residual_f64_ref(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, sumsPtr: usize): f64 {
  store<f64>(sumsPtr, checked_sum_f64_ref(pPtr, n));
  store<f64>(sumsPtr, checked_sum_f64_ref(qPtr, n), 8);
  return residual_f64_ref(outPtr, pPtr, qPtr, n, 1.0, 1.0);
}

/** out = max(p - c·(q·qScale), 0) with out[i] = 0 for i in idx; returns Σ out.  f64 [n], idx: i32 [m] */
export function residual_except_f64(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, c: f64, qScale: f64, idxPtr: usize, m: i32): f64 {
  let s = 0.0;
  let lo = 0;
  for (let t = 0; t < m; t++) {
    const e = i32At(idxPtr, t);
    s += residualRange(outPtr, pPtr, qPtr, lo, e, c, qScale);
    store<f64>(outPtr + (<usize>e << 3), 0.0);
    lo = e + 1;
  }
  return s + residualRange(outPtr, pPtr, qPtr, lo, n, c, qScale);
}

export function residual_except_f64_ref(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, c: f64, qScale: f64, idxPtr: usize, m: i32): f64 {
  let s = 0.0;
  let t = 0;
  for (let i = 0; i < n; i++) {
    let d = 0.0;
    if (t < m && i32At(idxPtr, t) == i) t++;
    else d = max(f64At(pPtr, i) - c * (f64At(qPtr, i) * qScale), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

/** Σ min(q, c·p).  p, q: f64 [n] */
export function overlap_f64(pPtr: usize, qPtr: usize, n: i32, c: f64): f64 {
  const cv = f64x2.splat(c);
  let a0 = f64x2.splat(0);
  let a1 = a0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 3;
    a0 = f64x2.add(a0, f64x2.pmin(v128.load(qPtr + off), f64x2.mul(cv, v128.load(pPtr + off))));
    a1 = f64x2.add(a1, f64x2.pmin(v128.load(qPtr + off, 16), f64x2.mul(cv, v128.load(pPtr + off, 16))));
  }
  let s = hsum2(f64x2.add(a0, a1));
  for (; i < n; i++) s += min(f64At(qPtr, i), c * f64At(pPtr, i));
  return s;
}

export function overlap_f64_ref(pPtr: usize, qPtr: usize, n: i32, c: f64): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) s += min(f64At(qPtr, i), c * f64At(pPtr, i));
  return s;
}

/** K-SEQ residual: out = max(p - c·min(q, invRho·p), 0); returns Σ out.  f64 [n] */
export function kseq_residual_f64(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, invRho: f64, c: f64): f64 {
  const rv = f64x2.splat(invRho);
  const cv = f64x2.splat(c);
  const zero = f64x2.splat(0);
  let a0 = zero;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const off = <usize>i << 3;
    const p = v128.load(pPtr + off);
    const d = f64x2.pmax(zero, f64x2.sub(p, f64x2.mul(cv, f64x2.pmin(v128.load(qPtr + off), f64x2.mul(rv, p)))));
    v128.store(outPtr + off, d);
    a0 = f64x2.add(a0, d);
  }
  let s = hsum2(a0);
  for (; i < n; i++) {
    const p = f64At(pPtr, i);
    const d = max(p - c * min(f64At(qPtr, i), invRho * p), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

export function kseq_residual_f64_ref(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, invRho: f64, c: f64): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    const p = f64At(pPtr, i);
    const d = max(p - c * min(f64At(qPtr, i), invRho * p), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

// ---- SpecHub ----

/**
 * One pass over [lo, hi), with wq = w·(q·qScale): res = max(max(p - q, 0) - wq, 0) stored, and acc
 * lanes += (R1, R2) terms max(q - p, 0) and max(wq - max(p - q, 0), 0); returns Σ res over the range.
 */
// @ts-ignore: decorator
@inline function hubPassRange(resPtr: usize, pPtr: usize, qPtr: usize, lo: i32, hi: i32, w: f64, qScale: f64, accPtr: usize): f64 {
  const wv = f64x2.splat(w);
  const sv = f64x2.splat(qScale);
  const zero = f64x2.splat(0);
  let r1 = zero;
  let r2 = zero;
  let rs = zero;
  let i = lo;
  for (; i + 2 <= hi; i += 2) {
    const off = <usize>i << 3;
    const p = v128.load(pPtr + off);
    const q = v128.load(qPtr + off);
    const wq = f64x2.mul(wv, f64x2.mul(q, sv));
    const p1 = f64x2.pmax(zero, f64x2.sub(p, q));
    const d = f64x2.pmax(zero, f64x2.sub(p1, wq));
    v128.store(resPtr + off, d);
    rs = f64x2.add(rs, d);
    r1 = f64x2.add(r1, f64x2.pmax(zero, f64x2.sub(q, p)));
    r2 = f64x2.add(r2, f64x2.pmax(zero, f64x2.sub(wq, p1)));
  }
  let s1 = hsum2(r1);
  let s2 = hsum2(r2);
  let sr = hsum2(rs);
  for (; i < hi; i++) {
    const p = f64At(pPtr, i);
    const q = f64At(qPtr, i);
    const wq = w * (q * qScale);
    const p1 = max(p - q, 0.0);
    const d = max(p1 - wq, 0.0);
    store<f64>(resPtr + (<usize>i << 3), d);
    sr += d;
    s1 += max(q - p, 0.0);
    s2 += max(wq - p1, 0.0);
  }
  store<f64>(accPtr, load<f64>(accPtr) + s1);
  store<f64>(accPtr, load<f64>(accPtr, 8) + s2, 8);
  return sr;
}

/**
 * SpecHub's O(V) pass for hub a (docs/verifiers.md §4.3), fused, with wq = w·(q·qScale): the residual
 * res(i) = max(max(p - q, 0) - wq, 0) for i != hub, res(hub) = 0 (the caller sets res(a)),
 * and the pair leftovers out[0] = R1 = Σ_{i≠hub} max(q - p, 0), out[1] = R2 = Σ_{i≠hub} max(wq - max(p - q, 0), 0).
 * Returns Σ res.  res, p, q: f64 [n], out: f64 [2]
 */
export function hub_pass_f64(resPtr: usize, outPtr: usize, pPtr: usize, qPtr: usize, n: i32, hub: i32, w: f64, qScale: f64): f64 {
  store<f64>(outPtr, 0.0);
  store<f64>(outPtr, 0.0, 8);
  let s = hubPassRange(resPtr, pPtr, qPtr, 0, hub, w, qScale, outPtr);
  store<f64>(resPtr + (<usize>hub << 3), 0.0);
  s += hubPassRange(resPtr, pPtr, qPtr, hub + 1, n, w, qScale, outPtr);
  return s;
}

export function hub_pass_f64_ref(resPtr: usize, outPtr: usize, pPtr: usize, qPtr: usize, n: i32, hub: i32, w: f64, qScale: f64): f64 {
  let r1 = 0.0;
  let r2 = 0.0;
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    let d = 0.0;
    if (i != hub) {
      const p = f64At(pPtr, i);
      const q = f64At(qPtr, i);
      const p1 = max(p - q, 0.0);
      const wq = w * (q * qScale);
      d = max(p1 - wq, 0.0);
      r1 += max(q - p, 0.0);
      r2 += max(wq - p1, 0.0);
    }
    store<f64>(resPtr + (<usize>i << 3), d);
    s += d;
  }
  store<f64>(outPtr, r1);
  store<f64>(outPtr, r2, 8);
  return s;
}

// ---- argmax and top-k ----

/** Index of the largest entry, the lowest index on ties; -1 if an entry is NaN.  x: f64 [n], n >= 1 */
export function argmax_f64(xPtr: usize, n: i32): i32 {
  // pmax is one instruction (max's NaN rules cost V8 several); NaN is tracked on the side
  let mv = f64x2.splat(f64At(xPtr, 0));
  let nan = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const v = v128.load(xPtr + (<usize>i << 3));
    mv = f64x2.pmax(mv, v);
    nan = v128.or(nan, f64x2.ne(v, v));
  }
  if (v128.any_true(nan)) return -1;
  let m = max(f64x2.extract_lane(mv, 0), f64x2.extract_lane(mv, 1));
  for (; i < n; i++) m = max(m, f64At(xPtr, i));
  const target = f64x2.splat(m);
  i = 0;
  for (; i + 2 <= n; i += 2) {
    const eq = f64x2.eq(v128.load(xPtr + (<usize>i << 3)), target);
    if (v128.any_true(eq)) return i64x2.extract_lane(eq, 0) != 0 ? i : i + 1;
  }
  for (; i < n; i++) if (f64At(xPtr, i) == m) return i;
  return -1; // m is NaN: some entry is NaN
}

export function argmax_f64_ref(xPtr: usize, n: i32): i32 {
  let best = 0;
  let m = f64At(xPtr, 0);
  for (let i = 0; i < n; i++) {
    const v = f64At(xPtr, i);
    if (v != v) return -1;
    if (v > m) {
      m = v;
      best = i;
    }
  }
  return best;
}

/**
 * The m largest positive entries of x, largest first, ties by the lower index, into out; returns
 * how many. Also writes to rest the sum of every entry NOT selected, summed directly (so the
 * SpecHub mass 1 - q(G) never cancels). One pass keeping a sorted list: entries that never enter
 * it, and entries evicted from it, are added to the rest sum; a SIMD pre-test skips pairs below
 * the current m-th.  out: i32 [m], rest: f64 [1], x: f64 [n]
 */
export function topk_f64(outPtr: usize, restPtr: usize, xPtr: usize, n: i32, m: i32): i32 {
  if (m <= 0) {
    store<f64>(restPtr, sumRange(xPtr, 0, n));
    return 0;
  }
  let count = 0;
  let thr = 0.0; // a candidate must exceed this (strictly: equal values keep the earlier index)
  let thrV = f64x2.splat(0);
  let restV = f64x2.splat(0);
  let rest = 0.0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = xPtr + (<usize>i << 3);
    const a = v128.load(p);
    const b = v128.load(p, 16);
    if (!v128.any_true(v128.or(f64x2.gt(a, thrV), f64x2.gt(b, thrV)))) {
      restV = f64x2.add(restV, f64x2.add(a, b));
      continue;
    }
    for (let j = i; j < i + 4; j++) {
      const v = f64At(xPtr, j);
      if (v > thr) {
        if (count == m) rest += f64At(xPtr, i32At(outPtr, m - 1)); // evicted
        count = topkInsert(outPtr, xPtr, count, m, j, v);
        if (count == m) {
          thr = f64At(xPtr, i32At(outPtr, m - 1));
          thrV = f64x2.splat(thr);
        }
      } else {
        rest += v;
      }
    }
  }
  for (; i < n; i++) {
    const v = f64At(xPtr, i);
    if (v > thr) {
      if (count == m) rest += f64At(xPtr, i32At(outPtr, m - 1));
      count = topkInsert(outPtr, xPtr, count, m, i, v);
      if (count == m) thr = f64At(xPtr, i32At(outPtr, m - 1));
    } else {
      rest += v;
    }
  }
  store<f64>(restPtr, rest + hsum2(restV));
  return count;
}

/** Insert index j (value v) into the list out[0..count) sorted by value desc; returns the new count (<= m). */
function topkInsert(outPtr: usize, xPtr: usize, count: i32, m: i32, j: i32, v: f64): i32 {
  let pos = count < m ? count : m - 1;
  // shift down every entry with a smaller value (equal values stay ahead: lower index first)
  while (pos > 0 && f64At(xPtr, i32At(outPtr, pos - 1)) < v) {
    store<i32>(outPtr + (<usize>pos << 2), i32At(outPtr, pos - 1));
    pos--;
  }
  store<i32>(outPtr + (<usize>pos << 2), j);
  return count < m ? count + 1 : m;
}

export function topk_f64_ref(outPtr: usize, restPtr: usize, xPtr: usize, n: i32, m: i32): i32 {
  // m passes: each picks the largest positive entry not yet chosen (lowest index on ties)
  let count = 0;
  for (let t = 0; t < m; t++) {
    let best = -1;
    let bv = 0.0;
    for (let i = 0; i < n; i++) {
      const v = f64At(xPtr, i);
      if (!(v > bv)) continue;
      let taken = false;
      for (let s = 0; s < count; s++) if (i32At(outPtr, s) == i) taken = true;
      if (!taken) {
        best = i;
        bv = v;
      }
    }
    if (best < 0) break;
    store<i32>(outPtr + (<usize>count << 2), best);
    count++;
  }
  let rest = 0.0;
  for (let i = 0; i < n; i++) {
    let taken = false;
    for (let s = 0; s < count; s++) if (i32At(outPtr, s) == i) taken = true;
    if (!taken) rest += f64At(xPtr, i);
  }
  store<f64>(restPtr, rest);
  return count;
}
