// The single SIMD vocabulary of the kernels (ggml style): every kernel builds on these helpers,
// so one source compiles to the plain-SIMD and the relaxed-SIMD builds.

/** acc + a·b, fused where the engine has relaxed SIMD (ASC_FEATURE_RELAXED_SIMD is a compile-time constant). */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

/** Horizontal sum of the four f32 lanes, pairwise: (l0 + l2) + (l1 + l3), the order `sum4` uses per lane. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 2)) + (f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 3));
}

/** Horizontal maximum of the four f32 lanes (NaN lanes are ignored unless all are NaN). */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1);
  const c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  const ab = a < b ? b : a, cd = c < d ? d : c;
  return ab < cd ? cd : ab;
}

/**
 * Transpose-and-add of four accumulators: lane r of the result is hsum(a_r).
 * Turns the per-row partial sums of a 4-row panel into one vector of 4 outputs.
 */
// @ts-ignore: decorator
@inline export function sum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 4, 1, 5), f32x4.shuffle(a0, a1, 2, 6, 3, 7)); // [a0.0+a0.2, a1.0+a1.2, a0.1+a0.3, a1.1+a1.3]
  const s23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 4, 1, 5), f32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(s01, s23, 0, 1, 4, 5), f32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

/** Load `count` (0..3) f32 from ptr into the low lanes, zeros above: never reads past ptr + 4·count. */
// @ts-ignore: decorator
@inline export function loadTail(ptr: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  return v;
}

/** Store the low `count` (1..3) lanes of v at ptr: never writes past ptr + 4·count. */
// @ts-ignore: decorator
@inline export function storeTail(ptr: usize, v: v128, count: i32): void {
  store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(ptr, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(ptr, f32x4.extract_lane(v, 2), 8);
}

// exp: Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-7 Taylor polynomial
// (truncation error < 6e-9 relative, below f32 rounding), then scaling by 2^n done as two
// exponent-field multiplies so that results near overflow and in the subnormal range are right.
// Latency matters more than operation count here (V8 runs exp4 loops latency-bound: the chain of
// one call is longer than the out-of-order window can hide), so the polynomial is evaluated by
// Estrin's scheme (depth 3 instead of Horner's 7) and n is read from the bits of m + 1.5·2^23
// (no float → int conversion, whose wasm saturating form costs V8 five instructions).
// @ts-ignore: decorator
@lazy const LOG2E: f32 = 1.44269504088896341;
// @ts-ignore: decorator
@lazy const LN2_HI: f32 = 0.693359375; // 9 significant bits: n·LN2_HI is exact for |n| < 2^15
// @ts-ignore: decorator
@lazy const LN2_LO: f32 = -2.12194440054690583e-4; // ln2 − LN2_HI
// @ts-ignore: decorator
@lazy const EXP_LO: f32 = -104.0; // exp(x) rounds to 0 in f32 below about −103.97
// @ts-ignore: decorator
@lazy const EXP_HI: f32 = 89.0; // exp(x) overflows f32 above about 88.72
// @ts-ignore: decorator
@lazy const ROUND_SHIFT: f32 = 12582912.0; // 1.5·2^23: m + ROUND_SHIFT = round(m) + ROUND_SHIFT for |m| < 2^22
// @ts-ignore: decorator
@lazy const ROUND_SHIFT_BITS: i32 = 0x4b400000; // its bit pattern: bits(round(m) + ROUND_SHIFT) − this = round(m)

/**
 * exp of each lane, within a few f32 ulp of the correctly rounded value (tested against Math.exp).
 * exp(−∞) = 0, exp(+∞) = +∞, exp(NaN) = NaN; results below ~1.2e-38 are subnormal or 0.
 */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // pmax/pmin keep NaN (their first operand wins when a comparison is false)
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  const m = f32x4.mul(xc, f32x4.splat(LOG2E));
  const nf = f32x4.nearest(m);
  let r = madd(nf, f32x4.splat(-LN2_HI), xc);
  r = madd(nf, f32x4.splat(-LN2_LO), r);
  // Σ_{k≤7} r^k / k! = (1 + r + r²(1/2 + r/6)) + r⁴((1/24 + r/120) + r²(1/720 + r/5040))
  const r2 = f32x4.mul(r, r);
  const p01 = f32x4.add(r, f32x4.splat(1.0));
  const p23 = madd(r, f32x4.splat(1.0 / 6.0), f32x4.splat(0.5));
  const p45 = madd(r, f32x4.splat(1.0 / 120.0), f32x4.splat(1.0 / 24.0));
  const p67 = madd(r, f32x4.splat(1.0 / 5040.0), f32x4.splat(1.0 / 720.0));
  const r4 = f32x4.mul(r2, r2);
  const p03 = madd(r2, p23, p01);
  const p47 = madd(r2, p67, p45);
  const p = madd(r4, p47, p03);
  // 2^n = 2^h · 2^(n−h) with h = n >> 1, each factor a normal f32 for n in [−150, 129]
  // (m + ROUND_SHIFT rounds m to the integer nearest() gave: both round to nearest, ties to even)
  const n = i32x4.sub(f32x4.add(m, f32x4.splat(ROUND_SHIFT)), i32x4.splat(ROUND_SHIFT_BITS));
  const h = i32x4.shr_s(n, 1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(h, bias), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(n, h), bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

// @ts-ignore: decorator
@lazy const EXPS_LO: f32 = -64.0; // exp(−64) ≈ 1.6e-28 ≈ 2^-92.3

/**
 * exp of each lane for softmax arguments x = s − max ≤ 0: as exp4 on [−64, 0], 0 below −64 and for
 * −∞, NaN for NaN. Never produces a subnormal, and keeps products weight·value away from them: on
 * x64 an f32 operation that underflows costs about 40 cycles (a microcode assist), which made
 * exp(−∞) of masked scores the most expensive part of attention. The weights flushed to 0 are
 * below 1.6e-28 (2^-92) while the row's largest weight is 1: 2^-68 below the rounding of the
 * softmax sum. Shorter than exp4: one clamp, one scaling multiply (2^n is normal for n ≥ −93).
 */
// @ts-ignore: decorator
@inline export function expSoftmax4(x: v128): v128 {
  const xc = f32x4.pmax(x, f32x4.splat(EXPS_LO)); // keeps NaN; −∞ → EXPS_LO (zeroed below)
  const m = f32x4.mul(xc, f32x4.splat(LOG2E));
  const nf = f32x4.nearest(m);
  let r = madd(nf, f32x4.splat(-LN2_HI), xc);
  r = madd(nf, f32x4.splat(-LN2_LO), r);
  const r2 = f32x4.mul(r, r);
  const p01 = f32x4.add(r, f32x4.splat(1.0));
  const p23 = madd(r, f32x4.splat(1.0 / 6.0), f32x4.splat(0.5));
  const p45 = madd(r, f32x4.splat(1.0 / 120.0), f32x4.splat(1.0 / 24.0));
  const p67 = madd(r, f32x4.splat(1.0 / 5040.0), f32x4.splat(1.0 / 720.0));
  const r4 = f32x4.mul(r2, r2);
  const p03 = madd(r2, p23, p01);
  const p47 = madd(r2, p67, p45);
  const p = madd(r4, p47, p03);
  const n = i32x4.sub(f32x4.add(m, f32x4.splat(ROUND_SHIFT)), i32x4.splat(ROUND_SHIFT_BITS));
  const scale = i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(p, scale), f32x4.lt(x, f32x4.splat(EXPS_LO)));
}

/**
 * Softmax of one row in place: exp(x − max) / Σ. A row with no finite maximum (all −∞) becomes
 * all zeros: there is nothing to normalise, and zeros are safer downstream than NaN.
 * Shared by softmax_f32 and attention_f32 (activations.ts, attention.ts).
 */
// @ts-ignore: decorator
@inline export function softmaxRow(x: usize, count: i32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  const end = <usize>count << 2;
  let mv = f32x4.splat(-Infinity);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) mv = f32x4.pmax(mv, v128.load(x + off));
  let m = hmax(mv);
  for (; off < end; off += 4) {
    const v = load<f32>(x + off);
    if (v > m) m = v;
  }
  if (m == -Infinity) {
    for (off = 0; off < end; off += 4) store<f32>(x + off, 0);
    return;
  }
  const ms = f32x4.splat(m);
  let sv = f32x4.splat(0);
  for (off = 0; off < vecEnd; off += 16) {
    const e = exp4(f32x4.sub(v128.load(x + off), ms));
    v128.store(x + off, e);
    sv = f32x4.add(sv, e);
  }
  const tail = count & 3;
  let sum = hsum(sv);
  if (tail) {
    // zero lanes of the tail vector become exp(−m) ≠ 0: sum only the real lanes
    const e = exp4(f32x4.sub(loadTail(x + off, tail), ms));
    storeTail(x + off, e, tail);
    sum += f32x4.extract_lane(e, 0);
    if (tail > 1) sum += f32x4.extract_lane(e, 1);
    if (tail > 2) sum += f32x4.extract_lane(e, 2);
  }
  const inv = f32x4.splat(1 / sum);
  for (off = 0; off < vecEnd; off += 16) v128.store(x + off, f32x4.mul(v128.load(x + off), inv));
  for (; off < end; off += 4) store<f32>(x + off, load<f32>(x + off) * f32x4.extract_lane(inv, 0));
}

/** Scalar twin of softmaxRow. */
// @ts-ignore: decorator
@inline export function softmaxRowRef(x: usize, count: i32): void {
  const end = <usize>count << 2;
  let m: f32 = -Infinity;
  for (let off: usize = 0; off < end; off += 4) m = max(m, load<f32>(x + off));
  if (m == -Infinity) {
    for (let off: usize = 0; off < end; off += 4) store<f32>(x + off, 0);
    return;
  }
  let sum: f32 = 0;
  for (let off: usize = 0; off < end; off += 4) {
    const e = Mathf.exp(load<f32>(x + off) - m);
    store<f32>(x + off, e);
    sum += e;
  }
  const inv: f32 = 1 / sum;
  for (let off: usize = 0; off < end; off += 4) store<f32>(x + off, load<f32>(x + off) * inv);
}

// @ts-ignore: decorator
@lazy const TANH_SMALL: f32 = 0.25; // below: the odd Taylor polynomial; above: 1 − 2/(e^{2|x|} + 1)

/**
 * tanh of each lane within a few f32 ulp (relative) everywhere: |x| < 1/4 by its odd Taylor
 * polynomial to x⁹ (truncation < 2e-9 relative), else 1 − 2/(exp(2|x|) + 1) with the sign of x
 * (the subtraction loses at most 2 bits there, as tanh(1/4) ≈ 0.245). ±1 for |x| ≥ 44.5 (exp4
 * saturates), NaN for NaN.
 */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = exp4(f32x4.add(ax, ax));
  const one = f32x4.splat(1);
  const big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
  // x·(1 − x²/3 + 2x⁴/15 − 17x⁶/315 + 62x⁸/2835)
  const x2 = f32x4.mul(x, x);
  let p = madd(x2, f32x4.splat(62.0 / 2835.0), f32x4.splat(-17.0 / 315.0));
  p = madd(x2, p, f32x4.splat(2.0 / 15.0));
  p = madd(x2, p, f32x4.splat(-1.0 / 3.0));
  const small = madd(f32x4.mul(x2, p), x, x);
  const signed = v128.or(big, v128.and(x, f32x4.splat(-0.0)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(TANH_SMALL)));
}

// ---- f64 / i32 / f32 element access for the probability kernels (verify.ts, sampling.ts) ----

// @ts-ignore: decorator
@inline export function f64At(ptr: usize, i: i32): f64 {
  return load<f64>(ptr + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline export function i32At(ptr: usize, i: i32): i32 {
  return load<i32>(ptr + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline export function hsum2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline export function f32At(ptr: usize, i: i32): f32 {
  return load<f32>(ptr + (<usize>i << 2));
}

/** The last index in [0, n) with x > 0 that is not in idx, or -1. */
export function lastPositive(xPtr: usize, n: i32, idxPtr: usize, m: i32): i32 {
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
