// Shared pieces of the quantised linear kernels (matmul_q8.ts, matmul_q4.ts): f16 scale codecs,
// the integer transpose-add, and the activation quantiser that prepares x once per call.
//
// Prepared input ("q8x"), what matmul_q8 / matmul_q4 read instead of x [n, cols] f32:
//   G = ceil(cols / 32) groups per row.
//   quants: i16 [n, 32·G] at dstPtr, row i at dstPtr + 64·G·i; element c of row i is
//           q = nearest(x[i, c]·(127 / amax_g)) ∈ [−127, 127] for c < cols, 0 for cols ≤ c < 32·G
//           (pre-widened to i16 so the kernels feed i32x4.dot_i16x8_s without widening x per row);
//   scales: f32 [n, G] at dstPtr + 64·G·n: s[i, g] = amax_g / 127, amax_g = max |x[i, 32g .. 32g+31]|
//           (columns < cols only). x[i, c] ≈ s[i, g]·q.
//   Total 68·G·n bytes. A group with amax < 2^-120 (so small that 127/amax would overflow) quantises
//   to zeros with scale 0; a group holding a NaN gets scale NaN (the outputs become NaN, as the f32
//   kernel's would); ±Inf gives scale Inf and quants 0 (NaN outputs).
// Only x[i, c < cols] is read.

import { storeTail } from './simd';

/** 2^112: scales an f16 bit pattern shifted into f32 position (13 bits up) to its value. */
// @ts-ignore: decorator
@lazy const F16_TO_F32_SCALE: f32 = 5.192296858534828e33;
/** Below this a group's 127/amax overflows f32: the group becomes zeros. */
// @ts-ignore: decorator
@lazy const X_TINY: f32 = 7.52316384526264e-37; // 2^-120

/**
 * Four non-negative f16 (8 bytes at ptr) → f32x4 times 2^(e − 112), where `scale` = 2^e: the bit
 * pattern shifted 13 up is an f32 2^112 times too small (exponent bias 15 vs 127), so one multiply by
 * 2^112 decodes it exactly, normal or subnormal; a kernel passes 2^(112 − k) to also fold in the 2^-k
 * of its fixed-point widening (exact). Packers store finite scales with the sign bit clear.
 */
// @ts-ignore: decorator
@inline export function f16x4Scaled(ptr: usize, scale: f32): v128 {
  return f32x4.mul(i32x4.shl(v128.load16x4_u(ptr), 13), f32x4.splat(scale));
}

/** Scalar twin of f16x4Scaled for one non-negative f16 bit pattern (same operations, same result). */
// @ts-ignore: decorator
@inline export function f16ValueScaled(h: u32, scale: f32): f32 {
  return reinterpret<f32>(h << 13) * scale;
}

/** The value of a finite f16 bit pattern (either sign; exact). */
// @ts-ignore: decorator
@inline export function f16Value(h: u32): f32 {
  const mag = reinterpret<f32>((h & 0x7fff) << 13) * F16_TO_F32_SCALE;
  return reinterpret<f32>(reinterpret<u32>(mag) | ((h & 0x8000) << 16));
}
/** f32 → f16 bit pattern, round to nearest even (overflow → ±Inf, NaN → quiet NaN). */
export function f32ToF16Bits(x: f32): u32 {
  const b = reinterpret<u32>(x);
  const s = (b >>> 16) & 0x8000;
  const e = <i32>((b >>> 23) & 0xff);
  const m = b & 0x7fffff;
  if (e == 0xff) return s | 0x7c00 | (m != 0 ? 0x200 | (m >>> 13) : 0);
  const he = e - 112;
  if (he >= 0x1f) return s | 0x7c00;
  if (he <= 0) {
    if (he < -10) return s;
    const mm = m | 0x800000;
    const shift = <u32>(14 - he);
    let h = mm >>> shift;
    const rem = mm & ((<u32>1 << shift) - 1);
    const half = <u32>1 << (shift - 1);
    if (rem > half || (rem == half && (h & 1) == 1)) h++;
    return s | h;
  }
  let h = (<u32>he << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) h++;
  return s | h;
}

/**
 * Smallest f16 ≥ t (t ≥ 0, as a bit pattern), or −1 when t is NaN or above the largest finite f16
 * (65504). t = 0 gives 0. Used for group scales: d ≥ the exact amax/qmax, so no quant is clamped
 * and |w − d·q| ≤ d/2 holds for every element.
 */
export function f16CeilBits(t: f64): i32 {
  if (!(t <= 65504)) return -1;
  if (t <= 0) return 0;
  let h = f32ToF16Bits(<f32>t);
  while (<f64>f16Value(h) < t) h++; // at most twice: the f32 and f16 roundings are each half an ulp
  return <i32>h;
}

/** Integer transpose-add: lane r of the result is the sum of the four i32 lanes of a_r (wrapping). */
// @ts-ignore: decorator
@inline export function isum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const s23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

/** Bytes of the prepared input of n rows of cols (68·ceil(cols/32)·n). */
// @ts-ignore: decorator
@inline export function q8xBytes(n: i32, cols: i32): usize {
  return <usize>n * <usize>((cols + 31) >> 5) * 68;
}

/** The scale of a group from its max |x|, and the multiplier that maps x to [−127, 127]. */
// @ts-ignore: decorator
@inline function groupScale(amax: f32): f32 {
  if (amax != amax) return amax; // NaN: keep it, so it reaches the outputs
  return amax >= X_TINY ? amax / 127 : 0;
}
// @ts-ignore: decorator
@inline function groupInv(amax: f32): f32 {
  return amax >= X_TINY ? <f32>127 / amax : 0; // NaN and tiny → 0 (NaN lanes then truncate to 0)
}

/**
 * Quantise x [n, cols] (f32) into the prepared input at dstPtr (layout at the top of this file).
 * dst must not overlap x. Reads x only below cols.
 */
export function quant_x_q8(dstPtr: usize, xPtr: usize, n: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const fullG = cols >> 5;
  const rowQ = <usize>G << 6;
  const sBase = dstPtr + <usize>n * rowQ;
  const lim = i32x4.splat(127), nlim = i32x4.splat(-127);
  for (let i = 0; i < n; i++) {
    const x = xPtr + ((<usize>i * <usize>cols) << 2);
    const q = dstPtr + <usize>i * rowQ;
    const s = sBase + ((<usize>i * <usize>G) << 2);
    for (let g = 0; g < G; g++) {
      const xg = x + (<usize>g << 7);
      const qg = q + (<usize>g << 6);
      if (g < fullG) {
        const v0 = v128.load(xg), v1 = v128.load(xg, 16), v2 = v128.load(xg, 32), v3 = v128.load(xg, 48);
        const v4 = v128.load(xg, 64), v5 = v128.load(xg, 80), v6 = v128.load(xg, 96), v7 = v128.load(xg, 112);
        const m = f32x4.max(
          f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3))),
          f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))),
        );
        // f32x4.max propagates NaN; the scalar max below keeps it too
        const m01 = max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
        const m23 = max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3));
        const amax = max(m01, m23);
        store<f32>(s + (<usize>g << 2), groupScale(amax));
        const inv = f32x4.splat(groupInv(amax));
        const q0 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v0, inv))), lim), nlim);
        const q1 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v1, inv))), lim), nlim);
        const q2 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v2, inv))), lim), nlim);
        const q3 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v3, inv))), lim), nlim);
        const q4 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v4, inv))), lim), nlim);
        const q5 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v5, inv))), lim), nlim);
        const q6 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v6, inv))), lim), nlim);
        const q7 = i32x4.max_s(i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v7, inv))), lim), nlim);
        v128.store(qg, i16x8.narrow_i32x4_s(q0, q1));
        v128.store(qg, i16x8.narrow_i32x4_s(q2, q3), 16);
        v128.store(qg, i16x8.narrow_i32x4_s(q4, q5), 32);
        v128.store(qg, i16x8.narrow_i32x4_s(q6, q7), 48);
      } else {
        // the partial last group: scalar over the columns that exist, zeros above
        const count = cols - (g << 5);
        let amax: f32 = 0;
        for (let c = 0; c < count; c++) amax = max(amax, abs<f32>(load<f32>(xg + (<usize>c << 2))));
        store<f32>(s + (<usize>g << 2), groupScale(amax));
        const inv = groupInv(amax);
        for (let c = 0; c < 32; c++) {
          store<i16>(qg + (<usize>c << 1), c < count ? quantOne(load<f32>(xg + (<usize>c << 2)), inv) : 0);
        }
      }
    }
  }
}

/** One activation quant: nearest(x·inv) clamped to [−127, 127]; NaN → 0 (the trunc_sat rule). */
// @ts-ignore: decorator
@inline function quantOne(x: f32, inv: f32): i16 {
  const t = nearest<f32>(x * inv);
  if (t != t) return 0;
  return <i16>(t > 127 ? 127 : t < -127 ? -127 : <i32>t);
}

/** Scalar twin of quant_x_q8 (same layout, same results bit for bit). */
export function quant_x_q8_ref(dstPtr: usize, xPtr: usize, n: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const rowQ = <usize>G << 6;
  const sBase = dstPtr + <usize>n * rowQ;
  for (let i = 0; i < n; i++) {
    const x = xPtr + ((<usize>i * <usize>cols) << 2);
    const q = dstPtr + <usize>i * rowQ;
    const s = sBase + ((<usize>i * <usize>G) << 2);
    for (let g = 0; g < G; g++) {
      const c0 = g << 5;
      const count = min(32, cols - c0);
      let amax: f32 = 0;
      let nan = false;
      for (let c = 0; c < count; c++) {
        const v = load<f32>(x + (<usize>(c0 + c) << 2));
        if (v != v) nan = true;
        else amax = max(amax, abs<f32>(v));
      }
      if (nan) amax = NaN;
      store<f32>(s + (<usize>g << 2), groupScale(amax));
      const inv = groupInv(amax);
      for (let c = 0; c < 32; c++) {
        store<i16>(q + (<usize>(c0 + c) << 1), c < count ? quantOne(load<f32>(x + (<usize>(c0 + c) << 2)), inv) : 0);
      }
    }
  }
}

/** Store the 4 outputs of one panel (lanes of v) at outPtr, only the first `valid` (1..4) of them. */
// @ts-ignore: decorator
@inline export function storePanel4(outPtr: usize, v: v128, valid: i32): void {
  if (valid >= 4) v128.store(outPtr, v);
  else storeTail(outPtr, v, valid);
}
