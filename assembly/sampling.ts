// The sampling passes (src/sampling.ts, and the draws the verifiers make): inverse-CDF draws,
// logits → probabilities (argmax, exp at a temperature, top-k, top-p, scaling). Probability rows
// are f64, logits rows f32. idx arguments are i32 lists, ascending, distinct, < n. Every kernel has
// a scalar twin `_ref` beside it.
// Sampling kernels return the first index whose running sum exceeds `target`; when rounding leaves
// the target at or above the total, the last positive index; -1 only if every entry is 0.
// SIMD clamps use pmax/pmin (one instruction each); they equal max/min on the NaN-free rows these
// kernels are given, while max/min cost V8 a NaN-handling sequence.

import { f64At, i32At, f32At, hsum2, lastPositive } from './simd';

// ---- categorical sampling ----

/** Inverse-CDF draw from x.  x: f64 [n] */
export function sample_f64(xPtr: usize, n: i32, target: f64): i32 {
  // block sums skip 4 entries at a time; the block holding the crossing is walked one by one
  let acc = 0.0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = xPtr + (<usize>i << 3);
    const block = hsum2(f64x2.add(v128.load(p), v128.load(p, 16)));
    if (acc + block > target) {
      for (let j = i; j < i + 4; j++) {
        const v = f64At(xPtr, j);
        if (v > 0) {
          acc += v;
          if (acc > target) return j;
        }
      }
    } else {
      acc += block;
    }
  }
  for (; i < n; i++) {
    const v = f64At(xPtr, i);
    if (v > 0) {
      acc += v;
      if (acc > target) return i;
    }
  }
  return lastPositive(xPtr, n, 0, 0);
}

export function sample_f64_ref(xPtr: usize, n: i32, target: f64): i32 {
  let acc = 0.0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const v = f64At(xPtr, i);
    if (v > 0) {
      acc += v;
      last = i;
      if (acc > target) return i;
    }
  }
  return last;
}

/** Inverse-CDF draw from x with the indices in idx removed.  x: f64 [n], idx: i32 [m] */
export function sample_except_f64(xPtr: usize, n: i32, target: f64, idxPtr: usize, m: i32): i32 {
  let acc = 0.0;
  let lo = 0;
  for (let t = 0; t <= m; t++) {
    const hi = t < m ? i32At(idxPtr, t) : n;
    let i = lo;
    for (; i + 4 <= hi; i += 4) {
      const p = xPtr + (<usize>i << 3);
      const block = hsum2(f64x2.add(v128.load(p), v128.load(p, 16)));
      if (acc + block > target) {
        for (let j = i; j < i + 4; j++) {
          const v = f64At(xPtr, j);
          if (v > 0) {
            acc += v;
            if (acc > target) return j;
          }
        }
      } else {
        acc += block;
      }
    }
    for (; i < hi; i++) {
      const v = f64At(xPtr, i);
      if (v > 0) {
        acc += v;
        if (acc > target) return i;
      }
    }
    lo = hi + 1;
  }
  return lastPositive(xPtr, n, idxPtr, m);
}

export function sample_except_f64_ref(xPtr: usize, n: i32, target: f64, idxPtr: usize, m: i32): i32 {
  let acc = 0.0;
  let last = -1;
  let t = 0;
  for (let i = 0; i < n; i++) {
    if (t < m && i32At(idxPtr, t) == i) {
      t++;
      continue;
    }
    const v = f64At(xPtr, i);
    if (v > 0) {
      acc += v;
      last = i;
      if (acc > target) return i;
    }
  }
  return last;
}

// ---- logits → probabilities ----

/** Index of the largest logit, the lowest index on ties; -1 if a logit is NaN.  x: f32 [n], n >= 1 */
export function argmax_f32(xPtr: usize, n: i32): i32 {
  let mv = f32x4.splat(f32At(xPtr, 0));
  let nan = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(xPtr + (<usize>i << 2));
    mv = f32x4.pmax(mv, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  if (v128.any_true(nan)) return -1;
  let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; i < n; i++) m = max(m, f32At(xPtr, i));
  const target = f32x4.splat(m);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const eq = f32x4.eq(v128.load(xPtr + (<usize>i << 2)), target);
    if (v128.any_true(eq)) return i + ctz(i32x4.bitmask(eq));
  }
  for (; i < n; i++) if (f32At(xPtr, i) == m) return i;
  return -1; // m is NaN: some entry is NaN
}

export function argmax_f32_ref(xPtr: usize, n: i32): i32 {
  let best = 0;
  let m = f32At(xPtr, 0);
  for (let i = 0; i < n; i++) {
    const v = f32At(xPtr, i);
    if (v != v) return -1;
    if (v > m) {
      m = v;
      best = i;
    }
  }
  return best;
}

/**
 * Index of the first entry that is NaN or ±Infinity, or -1 when all are finite (a model's logits
 * row must be: -Infinity from a forward pass is an overflow, not a mask).  x: f32 [n]
 */
export function first_nonfinite_f32(xPtr: usize, n: i32): i32 {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(xPtr + (<usize>i << 2));
    const bad = f32x4.ne(f32x4.sub(v, v), f32x4.splat(0)); // x − x is 0 exactly for finite x
    if (v128.any_true(bad)) return i + ctz(i32x4.bitmask(bad));
  }
  for (; i < n; i++) {
    const v = f32At(xPtr, i);
    if (v - v != 0) return i;
  }
  return -1;
}

export function first_nonfinite_f32_ref(xPtr: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    if (!isFinite(f32At(xPtr, i))) return i;
  }
  return -1;
}

// exp(z) for z <= 0 on f64x2: Cody–Waite reduction z = k ln2 + r, |r| <= ln2/2, Taylor to r^13
// (truncation < 1e-17 relative), then scaling by 2^k through the exponent bits. z < -708 gives 0
// (those probabilities are below 1e-307 of the largest one).
const LOG2E: f64 = 1.4426950408889634;
const LN2_HI: f64 = 6.93147180369123816490e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const EXP_MIN: f64 = -708.0;

// @ts-ignore: decorator
@inline function expv(z: v128): v128 {
  const x = f64x2.pmin(f64x2.pmax(f64x2.splat(EXP_MIN), z), f64x2.splat(0)); // NaN → EXP_MIN (flagged by the caller)
  const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(LOG2E)));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(k, f64x2.splat(LN2_HI))), f64x2.mul(k, f64x2.splat(LN2_LO)));
  let e = f64x2.splat(1.0 / 6227020800.0); // 1/13!
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 479001600.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 39916800.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 3628800.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 362880.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 40320.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 5040.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 720.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 120.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 24.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0 / 6.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(0.5));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0));
  e = f64x2.add(f64x2.mul(e, r), f64x2.splat(1.0));
  const ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const scale = i64x2.shl(i64x2.add(ki, i64x2.splat(1023)), 52);
  const y = f64x2.mul(e, scale);
  return v128.and(y, f64x2.ge(z, f64x2.splat(EXP_MIN))); // z < -708 (or -inf) → 0
}

/**
 * out[i] = exp((x[i] - maxLogit)·invT) if x[i] >= minLogit else 0, in f64; returns Σ out.
 * A NaN logit makes the sum NaN (the caller checks). out: f64 [n], x: f32 [n]
 */
export function exp_probs_f32(outPtr: usize, xPtr: usize, n: i32, invT: f64, maxLogit: f64, minLogit: f64): f64 {
  const mx = f64x2.splat(maxLogit);
  const it = f64x2.splat(invT);
  const lo = f64x2.splat(minLogit);
  const nan = f64x2.splat(NaN);
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const l = f64x2.promote_low_f32x4(v128.load64_zero(xPtr + (<usize>i << 2)));
    const z = f64x2.mul(f64x2.sub(l, mx), it);
    const e = v128.and(expv(z), f64x2.ge(l, lo));
    v128.store(outPtr + (<usize>i << 3), e);
    acc = f64x2.add(acc, v128.or(e, v128.and(f64x2.ne(l, l), nan))); // a NaN logit poisons the sum
  }
  let s = hsum2(acc);
  for (; i < n; i++) {
    const l = <f64>f32At(xPtr, i);
    const e = l >= minLogit ? Math.exp((l - maxLogit) * invT) : 0.0;
    s += l != l ? NaN : e;
    store<f64>(outPtr + (<usize>i << 3), e);
  }
  return s;
}

export function exp_probs_f32_ref(outPtr: usize, xPtr: usize, n: i32, invT: f64, maxLogit: f64, minLogit: f64): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    const l = <f64>f32At(xPtr, i);
    const e = l >= minLogit ? Math.exp((l - maxLogit) * invT) : 0.0;
    s += l != l ? NaN : e;
    store<f64>(outPtr + (<usize>i << 3), e);
  }
  return s;
}

/** x *= s.  x: f64 [n] */
export function scale_f64(xPtr: usize, n: i32, s: f64): void {
  const sv = f64x2.splat(s);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const p = xPtr + (<usize>i << 3);
    v128.store(p, f64x2.mul(v128.load(p), sv));
  }
  for (; i < n; i++) store<f64>(xPtr + (<usize>i << 3), f64At(xPtr, i) * s);
}

export function scale_f64_ref(xPtr: usize, n: i32, s: f64): void {
  for (let i = 0; i < n; i++) store<f64>(xPtr + (<usize>i << 3), f64At(xPtr, i) * s);
}

/** x = v.  x: f64 [n] */
export function fill_f64(xPtr: usize, n: i32, v: f64): void {
  const vv = f64x2.splat(v);
  let i = 0;
  for (; i + 2 <= n; i += 2) v128.store(xPtr + (<usize>i << 3), vv);
  for (; i < n; i++) store<f64>(xPtr + (<usize>i << 3), v);
}

export function fill_f64_ref(xPtr: usize, n: i32, v: f64): void {
  for (let i = 0; i < n; i++) store<f64>(xPtr + (<usize>i << 3), v);
}

// ---- top-k and top-p on logits (radix select over order-preserving u32 keys) ----

/** Order-preserving map f32 bits → u32 (negatives flipped, positives get the sign bit). */
// @ts-ignore: decorator
@inline function keyOf(bits: u32): u32 {
  return bits ^ (<u32>(<i32>bits >> 31) | 0x80000000);
}

// @ts-ignore: decorator
@inline function valueOfKey(key: u32): f32 {
  return reinterpret<f32>(key & 0x80000000 ? key ^ 0x80000000 : ~key);
}

// @ts-ignore: decorator
@inline function keyAt(xPtr: usize, i: i32): u32 {
  return keyOf(load<u32>(xPtr + (<usize>i << 2)));
}

/**
 * The k-th largest value of x (1 <= k <= n, repeats counted): four 8-bit radix passes, each
 * counting the keys that share the prefix found so far.  x: f32 [n], hist: u32 [256] scratch
 */
export function kth_largest_f32(xPtr: usize, n: i32, k: i32, histPtr: usize): f32 {
  let prefix: u32 = 0;
  let mask: u32 = 0;
  let remaining = k;
  for (let shift = 24; shift >= 0; shift -= 8) {
    for (let b = 0; b < 256; b++) store<u32>(histPtr + (<usize>b << 2), 0);
    for (let i = 0; i < n; i++) {
      const key = keyAt(xPtr, i);
      if ((key & mask) == prefix) {
        const h = histPtr + (<usize>((key >> shift) & 255) << 2);
        store<u32>(h, load<u32>(h) + 1);
      }
    }
    let b = 255;
    for (; b > 0; b--) {
      const c = <i32>load<u32>(histPtr + (<usize>b << 2));
      if (c >= remaining) break;
      remaining -= c;
    }
    prefix |= <u32>b << shift;
    mask |= <u32>255 << shift;
  }
  return valueOfKey(prefix);
}

export function kth_largest_f32_ref(xPtr: usize, n: i32, k: i32, histPtr: usize): f32 {
  // the largest key K with #{key >= K} >= k, bit by bit from the top (32 counting passes)
  let result: u32 = 0;
  for (let bit = 31; bit >= 0; bit--) {
    const cand = result | (<u32>1 << bit);
    let count = 0;
    for (let i = 0; i < n; i++) if (keyAt(xPtr, i) >= cand) count++;
    if (count >= k) result = cand;
  }
  return valueOfKey(result);
}

/**
 * Top-p (nucleus) mask in place. Order tokens by logit descending, ties by the lower index; keep
 * a token iff the probability mass strictly before it is < target; zero the others. Radix passes
 * over the logit keys, histogramming probability mass, find the key θ of the last kept token.
 * Returns the kept mass.  probs: f64 [n], logits: f32 [n], hist: f64 [256] scratch
 */
export function topp_mask_f64(probsPtr: usize, logitsPtr: usize, n: i32, target: f64, histPtr: usize): f64 {
  let prefix: u32 = 0;
  let mask: u32 = 0;
  let above = 0.0; // mass of keys above every key sharing the current prefix
  for (let shift = 24; shift >= 0; shift -= 8) {
    for (let b = 0; b < 256; b++) store<f64>(histPtr + (<usize>b << 3), 0.0);
    for (let i = 0; i < n; i++) {
      const key = keyAt(logitsPtr, i);
      if ((key & mask) == prefix) {
        const h = histPtr + (<usize>((key >> shift) & 255) << 3);
        store<f64>(h, load<f64>(h) + f64At(probsPtr, i));
      }
    }
    let chosen = -1;
    let lastNonEmpty = -1;
    for (let b = 255; b >= 0; b--) {
      const h = load<f64>(histPtr + (<usize>b << 3));
      if (!(h > 0)) continue;
      if (above + h >= target) {
        chosen = b;
        break;
      }
      above += h;
      lastNonEmpty = b;
    }
    if (chosen < 0) {
      // rounding left the target above the total: keep through the lowest non-empty bucket
      chosen = lastNonEmpty < 0 ? 0 : lastNonEmpty;
      if (lastNonEmpty >= 0) above -= load<f64>(histPtr + (<usize>lastNonEmpty << 3));
    }
    prefix |= <u32>chosen << shift;
    mask |= <u32>255 << shift;
  }
  return toppFinish(probsPtr, logitsPtr, n, target, prefix, above);
}

/** Final pass of top-p: keys > θ kept, keys == θ kept in index order while the mass before < target. */
function toppFinish(probsPtr: usize, logitsPtr: usize, n: i32, target: f64, theta: u32, aboveIn: f64): f64 {
  let before = aboveIn;
  let kept = 0.0;
  for (let i = 0; i < n; i++) {
    const key = keyAt(logitsPtr, i);
    const p = f64At(probsPtr, i);
    let keep = key > theta;
    if (key == theta) {
      keep = before < target;
      before += p;
    }
    if (keep) kept += p;
    else store<f64>(probsPtr + (<usize>i << 3), 0.0);
  }
  return kept;
}

export function topp_mask_f64_ref(probsPtr: usize, logitsPtr: usize, n: i32, target: f64, histPtr: usize): f64 {
  // θ = the largest key K with mass(keys >= K) >= target, bit by bit (32 passes)
  let theta: u32 = 0;
  for (let bit = 31; bit >= 0; bit--) {
    const cand = theta | (<u32>1 << bit);
    let mass = 0.0;
    for (let i = 0; i < n; i++) if (keyAt(logitsPtr, i) >= cand) mass += f64At(probsPtr, i);
    if (mass >= target) theta = cand;
  }
  let above = 0.0;
  for (let i = 0; i < n; i++) if (keyAt(logitsPtr, i) > theta) above += f64At(probsPtr, i);
  return toppFinish(probsPtr, logitsPtr, n, target, theta, above);
}
