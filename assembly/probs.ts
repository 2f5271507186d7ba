// Probability kernels for the verifiers and for sampling (src/verify/*, src/sampling.ts).
// SIMD clamps use pmax/pmin (one instruction each); they equal max/min on the NaN-free rows these
// kernels are given (signed zeros included), while max/min cost V8 a NaN-handling sequence.
// Probability rows are f64 (verifiers.md §4.7: "do all the math in f64"); logits rows are f32.
// idx arguments are i32 lists, ascending, distinct, < n. Every kernel has a scalar twin `_ref`.
// Sampling kernels return the first index whose running sum exceeds `target`; when rounding leaves
// the target at or above the total, the last positive index; -1 only if every entry is 0.
// Operation order inside each element matches the TS math layer (src/verify/*.ts) exactly, so a
// test and its residual agree: a draft rejected by `u < r/(c·q)` gets max(r - c·q, 0) = 0.

// ---- helpers ----

// @ts-ignore: decorator
@inline function f64At(ptr: usize, i: i32): f64 {
  return load<f64>(ptr + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function i32At(ptr: usize, i: i32): i32 {
  return load<i32>(ptr + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function hsum2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

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

// ---- residuals ----

/** out[lo..hi) = max(r - c·q, 0); returns the sum. */
// @ts-ignore: decorator
@inline function residualRange(outPtr: usize, rPtr: usize, qPtr: usize, lo: i32, hi: i32, c: f64): f64 {
  const cv = f64x2.splat(c);
  const zero = f64x2.splat(0);
  let a0 = zero;
  let a1 = zero;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const off = <usize>i << 3;
    const d0 = f64x2.pmax(zero, f64x2.sub(v128.load(rPtr + off), f64x2.mul(cv, v128.load(qPtr + off))));
    const d1 = f64x2.pmax(zero, f64x2.sub(v128.load(rPtr + off, 16), f64x2.mul(cv, v128.load(qPtr + off, 16))));
    v128.store(outPtr + off, d0);
    v128.store(outPtr + off, d1, 16);
    a0 = f64x2.add(a0, d0);
    a1 = f64x2.add(a1, d1);
  }
  let s = hsum2(f64x2.add(a0, a1));
  for (; i < hi; i++) {
    const d = max(f64At(rPtr, i) - c * f64At(qPtr, i), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

/** out = max(r - c·q, 0); returns Σ out. out may equal r.  out, r, q: f64 [n] */
export function residual_f64(outPtr: usize, rPtr: usize, qPtr: usize, n: i32, c: f64): f64 {
  return residualRange(outPtr, rPtr, qPtr, 0, n, c);
}

export function residual_f64_ref(outPtr: usize, rPtr: usize, qPtr: usize, n: i32, c: f64): f64 {
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    const d = max(f64At(rPtr, i) - c * f64At(qPtr, i), 0.0);
    store<f64>(outPtr + (<usize>i << 3), d);
    s += d;
  }
  return s;
}

/** out = max(p - c·q, 0) with out[i] = 0 for i in idx; returns Σ out.  f64 [n], idx: i32 [m] */
export function residual_except_f64(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, c: f64, idxPtr: usize, m: i32): f64 {
  let s = 0.0;
  let lo = 0;
  for (let t = 0; t < m; t++) {
    const e = i32At(idxPtr, t);
    s += residualRange(outPtr, pPtr, qPtr, lo, e, c);
    store<f64>(outPtr + (<usize>e << 3), 0.0);
    lo = e + 1;
  }
  return s + residualRange(outPtr, pPtr, qPtr, lo, n, c);
}

export function residual_except_f64_ref(outPtr: usize, pPtr: usize, qPtr: usize, n: i32, c: f64, idxPtr: usize, m: i32): f64 {
  let s = 0.0;
  let t = 0;
  for (let i = 0; i < n; i++) {
    let d = 0.0;
    if (t < m && i32At(idxPtr, t) == i) t++;
    else d = max(f64At(pPtr, i) - c * f64At(qPtr, i), 0.0);
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
 * One pass over [lo, hi): res = max(max(p - q, 0) - w·q, 0) stored, and acc lanes += (R1, R2) terms
 * max(q - p, 0) and max(w·q - max(p - q, 0), 0); returns Σ res over the range.
 */
// @ts-ignore: decorator
@inline function hubPassRange(resPtr: usize, pPtr: usize, qPtr: usize, lo: i32, hi: i32, w: f64, accPtr: usize): f64 {
  const wv = f64x2.splat(w);
  const zero = f64x2.splat(0);
  let r1 = zero;
  let r2 = zero;
  let rs = zero;
  let i = lo;
  for (; i + 2 <= hi; i += 2) {
    const off = <usize>i << 3;
    const p = v128.load(pPtr + off);
    const q = v128.load(qPtr + off);
    const wq = f64x2.mul(wv, q);
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
    const wq = w * q;
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
 * SpecHub's O(V) pass for hub a (verifiers.md §4.3), fused: the residual
 * res(i) = max(max(p - q, 0) - w·q, 0) for i != hub, res(hub) = 0 (the caller sets res(a)),
 * and the pair leftovers out[0] = R1 = Σ_{i≠hub} max(q - p, 0), out[1] = R2 = Σ_{i≠hub} max(w·q - max(p - q, 0), 0).
 * Returns Σ res.  res, p, q: f64 [n], out: f64 [2]
 */
export function hub_pass_f64(resPtr: usize, outPtr: usize, pPtr: usize, qPtr: usize, n: i32, hub: i32, w: f64): f64 {
  store<f64>(outPtr, 0.0);
  store<f64>(outPtr, 0.0, 8);
  let s = hubPassRange(resPtr, pPtr, qPtr, 0, hub, w, outPtr);
  store<f64>(resPtr + (<usize>hub << 3), 0.0);
  s += hubPassRange(resPtr, pPtr, qPtr, hub + 1, n, w, outPtr);
  return s;
}

export function hub_pass_f64_ref(resPtr: usize, outPtr: usize, pPtr: usize, qPtr: usize, n: i32, hub: i32, w: f64): f64 {
  let r1 = 0.0;
  let r2 = 0.0;
  let s = 0.0;
  for (let i = 0; i < n; i++) {
    let d = 0.0;
    if (i != hub) {
      const p = f64At(pPtr, i);
      const q = f64At(qPtr, i);
      const p1 = max(p - q, 0.0);
      d = max(p1 - w * q, 0.0);
      r1 += max(q - p, 0.0);
      r2 += max(w * q - p1, 0.0);
    }
    store<f64>(resPtr + (<usize>i << 3), d);
    s += d;
  }
  store<f64>(outPtr, r1);
  store<f64>(outPtr, r2, 8);
  return s;
}

// ---- categorical sampling ----

/** The last index in [0, n) with x > 0 that is not in idx, or -1. */
function lastPositive(xPtr: usize, n: i32, idxPtr: usize, m: i32): i32 {
  let t = m - 1;
  for (let i = n - 1; i >= 0; i--) {
    if (t >= 0 && i32At(idxPtr, t) == i) {
      t--;
      continue;
    }
    if (f64At(xPtr, i) > 0) return i;
  }
  return -1;
}

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

// ---- logits → probabilities ----

// @ts-ignore: decorator
@inline function f32At(ptr: usize, i: i32): f32 {
  return load<f32>(ptr + (<usize>i << 2));
}

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
    const v = f32At(xPtr, i);
    if (!isFinite(v)) return i;
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
