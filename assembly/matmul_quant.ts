// Shared pieces of the quantised linear kernels (matmul_q8.ts, quant_legacy.ts, quant_k.ts): f16
// scale codecs, the integer transpose-add, the plane dot products, and the activation quantiser that
// prepares x once per call.
//
// Prepared input ("qx"): what every quantised kernel reads instead of x [n, cols] f32. Row i of x is
// quantised into one record of qx_row_bytes(cols) bytes at dstPtr + i·qx_row_bytes(cols), holding one
// or two sections:
//   section A (always; C = cols rounded up to 32, scale groups of SG = 32: what llama.cpp's q8_0
//     activations are, read by Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL weights) at offset 0;
//   section B (only when cols % 256 == 0; C = cols, SG = 256: llama.cpp's q8_K, read by the K-quants
//     and IQ4_XS) at offset qx_offset_k(cols).
// A section of C columns and scale groups of SG:
//   q16  i16 [C]       at 0            the quants, pre-widened (plain-SIMD kernels feed i32x4.dot_i16x8_s)
//   q8   i8  [C]       at 2C           the same quants as bytes (relaxed kernels feed i16x8 relaxed dot)
//   d    f32 [C/SG]    at 3C           the group scales
//   bs16 i16 [C/16]    after d (16-byte padded)       Σ q over each 16 columns
//   bs32 i16 [C/32]    after bs16 (16-byte padded)    Σ q over each 32 columns
//   s    f32 [C/32]    after bs32 (16-byte padded; section A only)   d·Σ q per group, rounded to f16 as
//                      llama.cpp's q8_1 stores it: the term Q4_1 / Q5_1 weights multiply their min by
//   pn   u8 [2C]       after s (section A only)   per 16 columns c0.., 32 bytes: max(q, 0) then max(−q, 0),
//                      each in Q8_0's packed order (byte 2j: column c0 + j, byte 2j + 1: c0 + 8 + j), so
//                      that Σ w·q = Σ w·q⁺ − Σ w·q⁻ takes two i16x8.relaxed_dot_i8x16_i7x16_s on signed
//                      weight bytes (matmul_q8.ts; q⁺, q⁻ ≤ 127 are valid 7-bit operands)
//   ls   i16 [C/16]    after pn (section A only)   per 32 columns c0.., two sums: Σ q over the columns
//                      c0 + 4k, c0 + 4k + 1, then over c0 + 4k + 2, c0 + 4k + 3 (k = 0..7): the two i16
//                      lanes of a row in the row-lane kernels' pmaddubsw sums (quant_legacy.ts, Q5 tiles)
// After the n records, for x rows in whole blocks of 4 (rows 4b .. 4b + 3, b < n/4), section T: section
// A's values rearranged for the row-lane tiles of the 32-column types (quant_legacy.ts), so that a tile
// of 4 x rows reads everything of a group from one pointer at constant offsets. Block b's group g
// (G = ceil(cols/32) groups) is a cell of QXT_CELL = 192 bytes at n·qx_row_bytes(cols) + (b·G + g)·192:
//   q    i8 [8][4][4]  at 0     step t (the group's columns 4t .. 4t + 3): the 4 rows' 4 quant bytes
//   d    f32 [4]       at 128   the rows' d
//   ls   i16 [4][2]    at 144   the rows' two lane sums (ls), times 16
//   s    f32 [4]       at 160   the rows' s
//   bs32 i32 [4]       at 176   the rows' bs32
// Then section T16, the same blocks for Q8_0's row-lane tile (matmul_q8.ts), which multiplies the
// pre-widened quants: block b's group g is a cell of QXT16_CELL = 272 bytes at n·qx_row_bytes(cols) +
// (n/4)·G·192 + (b·G + g)·272:
//   q16  i16 [16][4][2] at 0    step t (the group's columns 2t, 2t + 1): the 4 rows' 2 quants
//   d    f32 [4]        at 256  the rows' d
// qx_bytes(n, cols) is the whole size. So a kernel called for n x rows needs the prepared input of
// exactly those n rows (one made for more rows has its section T elsewhere); a single x row (decode)
// has no section T.
// Quantisation, per group of SG columns (columns ≥ cols count as 0): amax = max |x|,
// d = amax/127, q = nearest(x·(127/amax)) ∈ [−127, 127] (ties to even): llama.cpp's q8_0 (its AVX
// path) and q8_K activations. In section A, d is rounded to f16 as q8_0 stores it (kept in f32 only
// beyond 65504, where llama.cpp would make it Inf), so both engines multiply the same activations. A
// group with amax < 2^-120 (127/amax would overflow) quantises to zeros with d = 0; a group
// holding a NaN gets d = NaN (so the outputs become NaN, as an f32 kernel's would); ±Inf gives d = Inf
// and quants 0. Only x[i, c < cols] is read.
//
// Integer plane dots (the inner step of every nibble kernel): a "plane" is 16 unsigned weights u ≤ 63
// in the bytes of a v128, matching 16 consecutive columns of x. The relaxed build multiplies it with
// i16x8.relaxed_dot_i8x16_i7x16_s (one pmaddubsw on x64: u is the 7-bit operand, so the result is
// fully defined); the plain build widens both to i16 and uses i32x4.dot_i16x8_s. Both give the exact
// integer sums, so the two builds produce the same bits (kernels combine them with unfused f32 ops).

import { storeTail } from './simd';

/** 2^112: scales an f16 bit pattern shifted into f32 position (13 bits up) to its value. */
// @ts-ignore: decorator
@lazy const F16_TO_F32_SCALE: f32 = 5.192296858534828e33;
/** Below this a group's 127/amax overflows f32: the group becomes zeros. */
// @ts-ignore: decorator
@lazy const X_TINY: f32 = 7.52316384526264e-37; // 2^-120
// @ts-ignore: decorator
@lazy const F16_MAX: f32 = 65504;
// @ts-ignore: decorator
@lazy const F16_MIN_NORMAL: f32 = 6.103515625e-5; // 2^-14

/** 16 signed bytes t, each times s, as 16 f32 at dst in lane order (s·f32(t): the dequantisers' products). */
// @ts-ignore: decorator
@inline export function storeScaledI8(dst: usize, t: v128, s: v128): void {
  const a = i16x8.extend_low_i8x16_s(t), b = i16x8.extend_high_i8x16_s(t);
  v128.store(dst, f32x4.mul(s, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(a))));
  v128.store(dst, f32x4.mul(s, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(a))), 16);
  v128.store(dst, f32x4.mul(s, f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(b))), 32);
  v128.store(dst, f32x4.mul(s, f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(b))), 48);
}

/**
 * 16 unsigned quants u → their f32 values at dst, in lane order: f32(u)·s + m when withMin, else
 * s·f32(u − off) (off, withMin: constants). One rounding per operation, as the scalar dequantisers do:
 * their dl·f32(u) − ml is f32(u)·dl + (−ml) bit for bit (a product commutes, and x − y is x + (−y)).
 */
// @ts-ignore: decorator
@inline export function storeDequant16(dst: usize, u: v128, off: i32, s: v128, m: v128, withMin: bool): void {
  const lo = i16x8.extend_low_i8x16_u(u), hi = i16x8.extend_high_i8x16_u(u);
  v128.store(dst, dequant4(i32x4.extend_low_i16x8_u(lo), off, s, m, withMin));
  v128.store(dst, dequant4(i32x4.extend_high_i16x8_u(lo), off, s, m, withMin), 16);
  v128.store(dst, dequant4(i32x4.extend_low_i16x8_u(hi), off, s, m, withMin), 32);
  v128.store(dst, dequant4(i32x4.extend_high_i16x8_u(hi), off, s, m, withMin), 48);
}
// @ts-ignore: decorator
@inline function dequant4(u: v128, off: i32, s: v128, m: v128, withMin: bool): v128 {
  if (withMin) return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(u), s), m);
  return f32x4.mul(s, f32x4.convert_i32x4_s(off != 0 ? i32x4.sub(u, i32x4.splat(off)) : u));
}

/** The largest magnitude of 32 f32 lanes (a load-time quantiser's group), or a NaN if any lane is NaN. */
// @ts-ignore: decorator
@inline export function absMax8(v0: v128, v1: v128, v2: v128, v3: v128, v4: v128, v5: v128, v6: v128, v7: v128): f32 {
  // a magnitude's bits (sign cleared) order as its value, and NaN's above +Inf's: an integer maximum
  // (one instruction, where f32x4.max is several) gives the largest magnitude, or a NaN if any is NaN
  const a = i32x4.splat(0x7fffffff);
  const m = i32x4.max_s(i32x4.max_s(i32x4.max_s(v128.and(v0, a), v128.and(v1, a)), i32x4.max_s(v128.and(v2, a), v128.and(v3, a))),
    i32x4.max_s(i32x4.max_s(v128.and(v4, a), v128.and(v5, a)), i32x4.max_s(v128.and(v6, a), v128.and(v7, a))));
  return reinterpret<f32>(max(max(i32x4.extract_lane(m, 0), i32x4.extract_lane(m, 1)), max(i32x4.extract_lane(m, 2), i32x4.extract_lane(m, 3))));
}

/**
 * i32 lanes of f32 lanes that are whole numbers or finite and well inside the i32 range (the load-time
 * quantisers' quants): the relaxed build's plain conversion (one cvttps2dq), else the saturating one;
 * the two agree on such values.
 */
// @ts-ignore: decorator
@inline export function truncInRange(v: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_trunc_f32x4_s(v);
  return i32x4.trunc_sat_f32x4_s(v);
}

/**
 * Four finite f16 of either sign (8 bytes at ptr) → f32x4, exactly: sign-extending each to 32 bits
 * and shifting 13 up puts the magnitude's bits where an f32's are (2^112 too small) with copies of the
 * sign in bits 28..31; clearing bits 28..30 leaves the sign bit, and one multiply by 2^112 rescales
 * (normal and subnormal f16 alike). Packers refuse Inf/NaN scales, so they never reach it.
 */
// @ts-ignore: decorator
@inline export function f16x4(ptr: usize): v128 {
  return f32x4.mul(v128.and(i32x4.shl(v128.load16x4_s(ptr), 13), i32x4.splat(0x8fffffff)), f32x4.splat(F16_TO_F32_SCALE));
}

/** Scalar twin of f16x4 for one finite f16 bit pattern (same operations, same value). */
// @ts-ignore: decorator
@inline export function f16s(h: u32): f32 {
  return reinterpret<f32>(((<i32>(<i16>h)) << 13) & 0x8fffffff) * F16_TO_F32_SCALE;
}

/** The value of a finite f16 bit pattern (either sign; exact). */
// @ts-ignore: decorator
@inline export function f16Value(h: u32): f32 {
  const mag = reinterpret<f32>((h & 0x7fff) << 13) * F16_TO_F32_SCALE;
  return reinterpret<f32>(reinterpret<u32>(mag) | ((h & 0x8000) << 16));
}

/** Whether an f16 bit pattern is Inf or NaN. */
// @ts-ignore: decorator
@inline export function f16NonFinite(h: u32): bool {
  return (h & 0x7c00) == 0x7c00;
}

/** f32 → f16 bit pattern, round to nearest even (overflow → ±Inf, NaN → sign | 0x7e00, as ggml). */
export function f32ToF16Bits(x: f32): u32 {
  const b = reinterpret<u32>(x);
  const s = (b >>> 16) & 0x8000;
  if ((b & 0x7fffffff) > 0x7f800000) return s | 0x7e00;
  const e = <i32>((b >>> 23) & 0xff);
  const m = b & 0x7fffff;
  if (e == 0xff) return s | 0x7c00;
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
  // round to nearest even without a branch (the remainder is data: a branch on it mispredicts)
  const h = (<u32>he << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  return s | (h + (<u32>(rem > 0x1000) | (<u32>(rem == 0x1000) & (h & 1))));
}

/** Integer transpose-add: lane r of the result is the sum of the four i32 lanes of a_r (wrapping). */
// @ts-ignore: decorator
@inline export function isum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const s23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

/** Store the 4 outputs of one panel (lanes of v) at outPtr, only the first `valid` (1..4) of them. */
// @ts-ignore: decorator
@inline export function storePanel4(outPtr: usize, v: v128, valid: i32): void {
  if (valid >= 4) v128.store(outPtr, v);
  else storeTail(outPtr, v, valid);
}

// ---- matrix–vector products: interleaved panel streams ----

/**
 * The one-row (decode) kernels read their panels as MATVEC_STREAMS sequential streams at once: the
 * panels split into that many runs of `part` consecutive panels, and each step takes the same group
 * (or super-block) of the first panel of every run, then of the second, and so on; the panels left
 * over after the runs (the last partial one among them) go one at a time. Each panel's sum is computed
 * exactly as in a one-panel loop, so the results are the same bits. A core's hardware prefetcher
 * follows each stream by itself: on an Intel Xeon (Emerald Rapids) one stream read DRAM at about
 * 7 GB/s through any of these kernels, against 11 GB/s for a bare read loop, and 8 streams at 10–14
 * (docs/performance.md §1 and §7, session 16).
 */
export const MATVEC_STREAMS = 8;

/** Panels per stream run for `rows` rows: whole panels only (0 when fewer than MATVEC_STREAMS of them). */
// @ts-ignore: decorator
@inline export function streamPart(rows: i32): i32 {
  return (rows >> 2) / MATVEC_STREAMS;
}

/**
 * Where stream s's panel of step j keeps its running sums for one x row: the panel's 4 outputs at
 * outPtr (runs cover only whole panels, so all 4 are inside the output row). An f32 stored and loaded
 * back is the same value: the sums are those of a register accumulator.
 */
// @ts-ignore: decorator
@inline export function streamOut(outPtr: usize, j: i32, part: i32, s: i32): usize {
  return outPtr + (<usize>(j + s * part) << 4);
}

/** Store the MATVEC_STREAMS (8) streams' sums of step j for one x row (registers a..h; whole panels). */
// @ts-ignore: decorator
@inline export function storeStreams(outPtr: usize, j: i32, part: i32, a: v128, b: v128, c: v128, d: v128, e: v128, f: v128, g: v128, h: v128): void {
  v128.store(streamOut(outPtr, j, part, 0), a);
  v128.store(streamOut(outPtr, j, part, 1), b);
  v128.store(streamOut(outPtr, j, part, 2), c);
  v128.store(streamOut(outPtr, j, part, 3), d);
  v128.store(streamOut(outPtr, j, part, 4), e);
  v128.store(streamOut(outPtr, j, part, 5), f);
  v128.store(streamOut(outPtr, j, part, 6), g);
  v128.store(streamOut(outPtr, j, part, 7), h);
}

// ---- loop constants ----

/**
 * Vector constants the kernels keep in registers: V8 rematerialises a v128.const at each use inside a
 * loop (a 64-bit immediate move and a broadcast, or a memory operand through a scratch register),
 * while a value loaded from memory before the loop is an ordinary loop-invariant register.
 */
// @ts-ignore: decorator
@lazy const KCONST: usize = memory.data<u8>([
  15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, // K_M15: bytes 0x0f
  1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, //                 K_ONES16: i16 lanes 1
  16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, // K_B16: bytes 0x10
  0xff, 0xff, 0xff, 0x8f, 0xff, 0xff, 0xff, 0x8f, 0xff, 0xff, 0xff, 0x8f, 0xff, 0xff, 0xff, 0x8f, // K_F16MASK: i32 0x8fffffff
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, //                 K_M3: bytes 0x03
  0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, // K_HI8: i16 0xff00
  0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, // K_M30: bytes 0x30
  4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, //                 K_B4: bytes 0x04
  15, 0, 15, 0, 15, 0, 15, 0, 15, 0, 15, 0, 15, 0, 15, 0, //         K_W15: i16 lanes 0x000f
  0, 0, 0x80, 0x77, 0, 0, 0x80, 0x77, 0, 0, 0x80, 0x77, 0, 0, 0x80, 0x77, // K_F16SCALE: f32 lanes 2^112
  0, 0, 0x80, 0x73, 0, 0, 0x80, 0x73, 0, 0, 0x80, 0x73, 0, 0, 0x80, 0x73, // K_F16SCALE_Q8: f32 lanes 2^104
  0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, // K_M1F: bytes 0x1f
  0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, // K_M1C: bytes 0x1c
  0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, //          K_Q8ORDER: Q8_0's stored byte order → column order
  0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, // K_M3F: bytes 0x3f
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, //                 K_M7: bytes 0x07
], 16);
export const K_M15 = 0;
export const K_ONES16 = 1;
export const K_B16 = 2;
export const K_F16MASK = 3;
export const K_M3 = 4;
export const K_HI8 = 5;
export const K_M30 = 6;
export const K_B4 = 7;
export const K_W15 = 8;
export const K_F16SCALE = 9;
export const K_F16SCALE_Q8 = 10;
export const K_M1F = 11;
export const K_M1C = 12;
export const K_Q8ORDER = 13;
export const K_M3F = 14;
export const K_M7 = 15;

/** Constant `i` of KCONST (load it before a loop, not inside). */
// @ts-ignore: decorator
@inline export function kconst(i: i32): v128 {
  return v128.load(KCONST + (<usize>i << 4));
}

/** f16x4 with its mask passed in (a register; see kconst). */
// @ts-ignore: decorator
@inline export function f16x4m(ptr: usize, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(v128.load16x4_s(ptr), 13), mask), scale);
}

// ---- integer plane dots ----

/**
 * Σ over 32 columns of u·q as i32x4 partial sums (their lane sum is the total): plane p0 holds the
 * unsigned weights of columns [0, 16), p1 of [16, 32), all ≤ 63; q8/q16 point at the group's
 * activation quants (bytes / i16).
 */
// @ts-ignore: decorator
@inline export function dot2(p0: v128, p1: v128, q8: usize, q16: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    // each i16 lane ≤ 2·2·63·127 = 32004: the two planes add without overflow
    return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(q8), p0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(q8, 16), p1)));
  }
  const a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(p0), v128.load(q16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(p0), v128.load(q16, 16)));
  const b = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(p1), v128.load(q16, 32)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(p1), v128.load(q16, 48)));
  return i32x4.add(a, b);
}

/** Σ over 16 columns of u·q as i32x4 partial sums: one plane of unsigned weights ≤ 63 (see dot2). */
// @ts-ignore: decorator
@inline export function dot1(p: v128, q8: usize, q16: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(q8), p));
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(p), v128.load(q16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(p), v128.load(q16, 16)));
}

/**
 * i16 partial sums of u·q over 16 columns (their lane sum is the total; each lane ≤ 2·63·127 in
 * magnitude): one plane of unsigned weights u ≤ 63 against the activation quants at q8 / q16. Relaxed:
 * one i16x8.relaxed_dot_i8x16_i7x16_s (pairs of columns); plain: two i16 multiplies of the widened
 * plane (columns j and j + 8). Lanes differ between the builds, totals do not.
 */
// @ts-ignore: decorator
@inline export function pdot16(p: v128, q8: usize, q16: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(q8), p);
  return i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(p), v128.load(q16)), i16x8.mul(i16x8.extend_high_i8x16_u(p), v128.load(q16, 16)));
}

/** The signed byte at p in every i16 lane. */
// @ts-ignore: decorator
@inline export function splatS8(p: usize): v128 {
  return i16x8.shr_s(v128.load8_splat(p), 8);
}
/** The unsigned byte at p in every i16 lane. */
// @ts-ignore: decorator
@inline export function splatU8(p: usize): v128 {
  return i16x8.shr_u(v128.load8_splat(p), 8);
}

/** Σ over 16 columns of w·q as i32x4 partial sums for signed byte weights (both builds: widened to i16). */
// @ts-ignore: decorator
@inline export function dotSigned1(p: v128, q16: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(p), v128.load(q16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(p), v128.load(q16, 16)));
}

/**
 * Relaxed build, row-lane batches (quant_legacy.ts Q4_0 / Q4_1, quant_k.ts Q4_K): one 32-column group
 * of a 4-row panel stored as 4 rows × 16 bytes at grp (row rr's byte t = u(t) | u(16 + t) << 4) → 8
 * row-lane vectors at dst (vector v = the 4 rows' u of columns 4v .. 4v + 3, one row per i32 lane). The
 * nibble masks and shifts act on each byte alone, so the stored bytes are transposed once and both
 * planes taken from the result (8 shuffles where two transposes would take 16).
 */
// @ts-ignore: decorator
@inline export function q4RowLanes(grp: usize, dst: usize, m15: v128): void {
  const v0 = v128.load(grp), v1 = v128.load(grp, 16), v2 = v128.load(grp, 32), v3 = v128.load(grp, 48);
  const a = i32x4.shuffle(v0, v1, 0, 4, 1, 5), b = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const c = i32x4.shuffle(v2, v3, 0, 4, 1, 5), d = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  const t0 = i64x2.shuffle(a, c, 0, 2), t1 = i64x2.shuffle(a, c, 1, 3), t2 = i64x2.shuffle(b, d, 0, 2), t3 = i64x2.shuffle(b, d, 1, 3);
  v128.store(dst, v128.and(t0, m15));
  v128.store(dst, v128.and(t1, m15), 16);
  v128.store(dst, v128.and(t2, m15), 32);
  v128.store(dst, v128.and(t3, m15), 48);
  v128.store(dst, v128.and(i16x8.shr_u(t0, 4), m15), 64);
  v128.store(dst, v128.and(i16x8.shr_u(t1, 4), m15), 80);
  v128.store(dst, v128.and(i16x8.shr_u(t2, 4), m15), 96);
  v128.store(dst, v128.and(i16x8.shr_u(t3, 4), m15), 112);
}

// ---- the prepared input ----

// @ts-ignore: decorator
@inline function pad16(b: i32): i32 {
  return (b + 15) & ~15;
}

/** Bytes of one section of C columns with scale groups of SG (see the top of this file). */
// @ts-ignore: decorator
@inline export function qxSectionBytes(C: i32, SG: i32): i32 {
  return 3 * C + pad16((C / SG) << 2) + pad16(C >> 3) + pad16(C >> 4) + (SG == 32 ? pad16(C >> 3) + 2 * C + pad16(C >> 3) : 0);
}

/** Byte offset of a section's d (f32 [C/SG]) from its start. */
// @ts-ignore: decorator
@inline export function qxD(C: i32): usize {
  return <usize>(3 * C);
}
/** Byte offset of a section's bs16 (i16 [C/16]). */
// @ts-ignore: decorator
@inline export function qxBs16(C: i32, SG: i32): usize {
  return <usize>(3 * C + pad16((C / SG) << 2));
}
/** Byte offset of a section's bs32 (i16 [C/32]). */
// @ts-ignore: decorator
@inline export function qxBs32(C: i32, SG: i32): usize {
  return <usize>(3 * C + pad16((C / SG) << 2) + pad16(C >> 3));
}
/** Byte offset of section A's s (f32 [C/32]). */
// @ts-ignore: decorator
@inline export function qxS(C: i32): usize {
  return <usize>(3 * C + pad16(C >> 3) + pad16(C >> 3) + pad16(C >> 4));
}

/** Byte offset of section A's pn (u8 [2C]: q⁺ and q⁻ per 16 columns). */
// @ts-ignore: decorator
@inline export function qxPn(C: i32): usize {
  return qxS(C) + <usize>pad16(C >> 3);
}

/** Byte offset of section A's ls (i16 [C/16]: two lane sums per 32 columns). */
// @ts-ignore: decorator
@inline export function qxLs(C: i32): usize {
  return qxPn(C) + (<usize>C << 1);
}

/** Bytes of one row's record of the prepared input for x rows of `cols` columns. */
export function qx_row_bytes(cols: i32): i32 {
  const a = qxSectionBytes((cols + 31) & ~31, 32);
  return cols % 256 == 0 ? a + qxSectionBytes(cols, 256) : a;
}

/** Bytes of one cell of section T (a block of 4 x rows × one 32-column group). */
// @ts-ignore: decorator
@lazy export const QXT_CELL: i32 = 192;

/** Bytes of one cell of section T16 (a block of 4 x rows × one 32-column group, as i16). */
// @ts-ignore: decorator
@lazy export const QXT16_CELL: i32 = 272;

/** Bytes of the whole prepared input of n x rows of `cols` columns: the n records, then sections T and T16. */
export function qx_bytes(n: i32, cols: i32): i32 {
  return n * qx_row_bytes(cols) + (n >> 2) * ((cols + 31) >> 5) * (QXT_CELL + QXT16_CELL);
}

/** Offset of section T16 in the prepared input of n x rows of `cols` columns. */
// @ts-ignore: decorator
@inline export function qxT16(n: i32, cols: i32): usize {
  return <usize>n * <usize>qx_row_bytes(cols) + <usize>(n >> 2) * <usize>((cols + 31) >> 5) * <usize>QXT_CELL;
}

/** Offset of section B (scale groups of 256) inside a row's record; only meaningful when cols % 256 == 0. */
export function qx_offset_k(cols: i32): i32 {
  return qxSectionBytes((cols + 31) & ~31, 32);
}

/** amax/127 (0 below 2^-120, NaN kept so it reaches the outputs). */
// @ts-ignore: decorator
@inline function groupScale(amax: f32): f32 {
  if (amax != amax) return <f32>NaN; // one NaN whatever the input's payload (SIMD and scalar amax differ there)
  return amax >= X_TINY ? amax / 127 : 0;
}
/** A value rounded to f16 as llama.cpp stores its q8_0/q8_1 fields (nearest even, subnormals too), kept beyond ±65504. */
// @ts-ignore: decorator
@inline function asF16(v: f32): f32 {
  const a = abs<f32>(v);
  if (!(a <= F16_MAX)) return v;
  if (a < F16_MIN_NORMAL) return f16Value(f32ToF16Bits(v));
  // an f16 normal: the f32 with its 13 low mantissa bits rounded off (to nearest, ties to even)
  const b = reinterpret<u32>(v);
  return reinterpret<f32>((b + 0xfff + ((b >>> 13) & 1)) & ~(<u32>0x1fff));
}
// @ts-ignore: decorator
@inline function groupInv(amax: f32): f32 {
  return amax >= X_TINY ? <f32>127 / amax : 0; // NaN and tiny → 0 (NaN lanes then truncate to 0)
}

/** One activation quant: nearest(x·inv) clamped to [−127, 127]; NaN → 0 (the trunc_sat rule). */
// @ts-ignore: decorator
@inline function quantOne(x: f32, inv: f32): i32 {
  const t = nearest<f32>(x * inv);
  if (t != t) return 0;
  return t > 127 ? 127 : t < -127 ? -127 : <i32>t;
}

/**
 * quantOne on 4 lanes, for inv ≠ 0 (then every x of the group is finite and |x·inv| ≤ 127·(1 + 2^-22),
 * so neither the clamp nor the NaN rule can apply): nearest(v) for |v| < 2^22 is v + 1.5·2^23 − 1.5·2^23,
 * the add rounding to the nearest even integer, read from the sum's low bits.
 */
// @ts-ignore: decorator
@inline function q4(v: v128, inv: v128): v128 {
  return i32x4.sub(f32x4.add(f32x4.mul(v, inv), f32x4.splat(12582912)), i32x4.splat(0x4b400000));
}

// @ts-ignore: decorator
@inline function hsumI32(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/**
 * Quantise the 32 columns [c0, c0 + 32) of one x row with multiplier inv into a section at sec
 * (columns relative to the section start): q16, q8, bs16 ×2, bs32. SIMD when all 32 columns exist.
 */
// @ts-ignore: decorator
@inline function quantChunk(sec: usize, C: i32, SG: i32, x: usize, cols: i32, c0: i32, inv: f32, simd: bool): i32 {
  const q16 = sec + (<usize>c0 << 1);
  const q8 = sec + (<usize>(2 * C + c0));
  const bs16 = sec + qxBs16(C, SG) + (<usize>(c0 >> 4) << 1);
  const bs32 = sec + qxBs32(C, SG) + (<usize>(c0 >> 5) << 1);
  if (simd && c0 + 32 <= cols) {
    const xv = x + (<usize>c0 << 2);
    const iv = f32x4.splat(inv);
    let a = i32x4.splat(0), b = a, c = a, d = a; // inv = 0 (tiny, Inf or NaN group): every quant is 0
    if (inv != 0) {
      a = i16x8.narrow_i32x4_s(q4(v128.load(xv), iv), q4(v128.load(xv, 16), iv));
      b = i16x8.narrow_i32x4_s(q4(v128.load(xv, 32), iv), q4(v128.load(xv, 48), iv));
      c = i16x8.narrow_i32x4_s(q4(v128.load(xv, 64), iv), q4(v128.load(xv, 80), iv));
      d = i16x8.narrow_i32x4_s(q4(v128.load(xv, 96), iv), q4(v128.load(xv, 112), iv));
    }
    v128.store(q16, a);
    v128.store(q16, b, 16);
    v128.store(q16, c, 32);
    v128.store(q16, d, 48);
    v128.store(q8, i8x16.narrow_i16x8_s(a, b));
    v128.store(q8, i8x16.narrow_i16x8_s(c, d), 16);
    if (SG == 32) {
      // Q8_0 order per 16 columns: the i16 lane j of (a & 0xff) | b << 8 holds bytes (column j, column 8 + j)
      const pn = sec + qxPn(C) + (<usize>c0 << 1);
      const lo = v128.or(v128.and(a, i16x8.splat(0xff)), i16x8.shl(b, 8));
      const hi = v128.or(v128.and(c, i16x8.splat(0xff)), i16x8.shl(d, 8));
      const z = i32x4.splat(0);
      v128.store(pn, i8x16.max_s(lo, z));
      v128.store(pn, i8x16.max_s(i8x16.sub(z, lo), z), 16);
      v128.store(pn, i8x16.max_s(hi, z), 32);
      v128.store(pn, i8x16.max_s(i8x16.sub(z, hi), z), 48);
      // lane j of a + b + c + d sums the columns ≡ j (mod 8), so lanes 0, 1, 4, 5 give the first lane
      // sum and 2, 3, 6, 7 the second
      const e = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.add(a, b), i16x8.add(c, d)));
      const f = i32x4.add(e, i64x2.shuffle(e, e, 1, 0));
      const ls = sec + qxLs(C) + (<usize>(c0 >> 5) << 2);
      store<i16>(ls, <i16>i32x4.extract_lane(f, 0));
      store<i16>(ls, <i16>i32x4.extract_lane(f, 1), 2);
    }
    const s0 = hsumI32(i32x4.extadd_pairwise_i16x8_s(i16x8.add(a, b)));
    const s1 = hsumI32(i32x4.extadd_pairwise_i16x8_s(i16x8.add(c, d)));
    store<i16>(bs16, <i16>s0);
    store<i16>(bs16, <i16>s1, 2);
    store<i16>(bs32, <i16>(s0 + s1));
    return s0 + s1;
  }
  let s0 = 0, s1 = 0, l0 = 0, l1 = 0;
  for (let j = 0; j < 32; j++) {
    const c = c0 + j;
    const q = c < cols ? quantOne(load<f32>(x + (<usize>c << 2)), inv) : 0;
    store<i16>(q16 + (<usize>j << 1), <i16>q);
    store<i8>(q8 + <usize>j, <i8>q);
    if (SG == 32) {
      const c = j & 15;
      const p = sec + qxPn(C) + (<usize>c0 << 1) + (<usize>(j >> 4) << 5) + <usize>(((c & 7) << 1) | (c >> 3));
      store<u8>(p, <u8>(q > 0 ? q : 0));
      store<u8>(p, <u8>(q < 0 ? -q : 0), 16);
    }
    if (j < 16) s0 += q;
    else s1 += q;
    if ((j & 2) == 0) l0 += q;
    else l1 += q;
  }
  if (SG == 32) {
    const ls = sec + qxLs(C) + (<usize>(c0 >> 5) << 2);
    store<i16>(ls, <i16>l0);
    store<i16>(ls, <i16>l1, 2);
  }
  store<i16>(bs16, <i16>s0);
  store<i16>(bs16, <i16>s1, 2);
  store<i16>(bs32, <i16>(s0 + s1));
  return s0 + s1;
}

/** max |x| over columns [c0, c1) of one row (NaN if any is NaN); SIMD over whole 4-column runs. */
// @ts-ignore: decorator
@inline function rangeAmax(x: usize, c0: i32, c1: i32, simd: bool): f32 {
  let amax: f32 = 0;
  let c = c0;
  if (simd) {
    // |x| as i32 bits orders as |x| does, with NaN above Inf: an integer max, 1 instruction
    const ab = i32x4.splat(0x7fffffff);
    let m = i32x4.splat(0), m2 = m;
    for (; c + 8 <= c1; c += 8) {
      m = i32x4.max_s(m, v128.and(v128.load(x + (<usize>c << 2)), ab));
      m2 = i32x4.max_s(m2, v128.and(v128.load(x + (<usize>c << 2), 16), ab));
    }
    for (; c + 4 <= c1; c += 4) m = i32x4.max_s(m, v128.and(v128.load(x + (<usize>c << 2)), ab));
    m = i32x4.max_s(m, m2);
    m = i32x4.max_s(m, i64x2.shuffle(m, m, 1, 0));
    m = i32x4.max_s(m, i32x4.shuffle(m, m, 1, 0, 3, 2));
    amax = reinterpret<f32>(i32x4.extract_lane(m, 0));
  }
  for (; c < c1; c++) {
    const v = abs<f32>(load<f32>(x + (<usize>c << 2)));
    amax = v != v ? v : max(amax, v);
  }
  return amax;
}

/** Quantise one x row into one section (C columns, groups of SG). */
// @ts-ignore: decorator
@inline function quantSection(sec: usize, C: i32, SG: i32, x: usize, cols: i32, simd: bool): void {
  const dPtr = sec + qxD(C);
  for (let g0 = 0; g0 < C; g0 += SG) {
    const amax = rangeAmax(x, g0, min(g0 + SG, cols), simd);
    const d = groupScale(amax);
    store<f32>(dPtr + (<usize>(g0 / SG) << 2), SG == 32 ? asF16(d) : d);
    const inv = groupInv(amax);
    for (let c0 = g0; c0 < g0 + SG; c0 += 32) {
      const sum = quantChunk(sec, C, SG, x, cols, c0, inv, simd);
      if (SG == 32) store<f32>(sec + qxS(C) + (<usize>(c0 >> 5) << 2), asF16(d * <f32>sum)); // as q8_1: f16(d·Σq), d unrounded
    }
  }
}

/** 4 i32 lanes (v0..v3's lane k → vector k's lanes 0..3): the 4×4 transpose, stored as 4 vectors 16 bytes apart at dst. */
// @ts-ignore: decorator
@inline export function storeTransposed4(v0: v128, v1: v128, v2: v128, v3: v128, dst: usize): void {
  const a = i32x4.shuffle(v0, v1, 0, 4, 1, 5), b = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const c = i32x4.shuffle(v2, v3, 0, 4, 1, 5), d = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(a, c, 0, 2));
  v128.store(dst, i64x2.shuffle(a, c, 1, 3), 16);
  v128.store(dst, i64x2.shuffle(b, d, 0, 2), 32);
  v128.store(dst, i64x2.shuffle(b, d, 1, 3), 48);
}

/** Sections T and T16 (layout at the top of this file) from the records of rows [0, 4·(n/4)) at dstPtr. */
// @ts-ignore: decorator
@inline function tileX(dstPtr: usize, n: i32, cols: i32, simd: bool): void {
  const rowBytes = <usize>qx_row_bytes(cols);
  const CA = (cols + 31) & ~31;
  const G = CA >> 5;
  const q8 = <usize>(CA << 1), dOff = qxD(CA), lsOff = qxLs(CA), sOff = qxS(CA), bsOff = qxBs32(CA, 32);
  let cell = dstPtr + <usize>n * rowBytes;
  for (let b = 0; b < (n >> 2); b++) {
    const r0 = dstPtr + <usize>(b << 2) * rowBytes;
    for (let g = 0; g < G; g++, cell += <usize>QXT_CELL) {
      transpose4Rows(r0 + q8 + (<usize>g << 5), rowBytes, cell, simd);
      transpose4Rows(r0 + q8 + (<usize>g << 5) + 16, rowBytes, cell + 64, simd);
      for (let r: usize = 0; r < 4; r++) {
        const rec = r0 + r * rowBytes;
        store<f32>(cell + (r << 2), load<f32>(rec + dOff + (<usize>g << 2)), 128);
        const ls = rec + lsOff + (<usize>g << 2);
        store<i16>(cell + (r << 2), <i16>(load<i16>(ls) << 4), 144);
        store<i16>(cell + (r << 2), <i16>(load<i16>(ls, 2) << 4), 146);
        store<f32>(cell + (r << 2), load<f32>(rec + sOff + (<usize>g << 2)), 160);
        store<i32>(cell + (r << 2), <i32>load<i16>(rec + bsOff + (<usize>g << 1)), 176);
      }
    }
  }
  // section T16: the q16 of a group are 64 bytes per row, 4 runs of 16 (4 steps each)
  for (let b = 0; b < (n >> 2); b++) {
    const r0 = dstPtr + <usize>(b << 2) * rowBytes;
    for (let g = 0; g < G; g++, cell += <usize>QXT16_CELL) {
      const gq = r0 + (<usize>g << 6);
      for (let k: usize = 0; k < 64; k += 16) transpose4Rows(gq + k, rowBytes, cell + (k << 2), simd);
      for (let r: usize = 0; r < 4; r++) store<f32>(cell + (r << 2), load<f32>(r0 + r * rowBytes + dOff + (<usize>g << 2)), 256);
    }
  }
}

/** 16 bytes of 4 records rowBytes apart, as 4 steps of 4 × 4 bytes at cell (step t: the 4 rows' bytes 4t .. 4t + 3). */
// @ts-ignore: decorator
@inline function transpose4Rows(gq: usize, rowBytes: usize, cell: usize, simd: bool): void {
  if (simd) {
    storeTransposed4(v128.load(gq), v128.load(gq + rowBytes), v128.load(gq + 2 * rowBytes), v128.load(gq + 3 * rowBytes), cell);
  } else {
    for (let t: usize = 0; t < 4; t++) {
      for (let r: usize = 0; r < 4; r++) store<u32>(cell + (t << 4) + (r << 2), load<u32>(gq + r * rowBytes + (t << 2)));
    }
  }
}

// @ts-ignore: decorator
@inline function quantX(dstPtr: usize, xPtr: usize, n: i32, cols: i32, simd: bool): void {
  const rowBytes = <usize>qx_row_bytes(cols);
  const CA = (cols + 31) & ~31;
  const offB = <usize>qxSectionBytes(CA, 32);
  for (let i = 0; i < n; i++) {
    const x = xPtr + ((<usize>i * <usize>cols) << 2);
    const rec = dstPtr + <usize>i * rowBytes;
    quantSection(rec, CA, 32, x, cols, simd);
    if (cols % 256 == 0) quantSection(rec + offB, cols, 256, x, cols, simd);
  }
  tileX(dstPtr, n, cols, simd);
}

/**
 * Quantise x [n, cols] (f32) into the prepared input at dstPtr (qx_bytes(n, cols) bytes, layout at
 * the top of this file). dst must not overlap x. Reads x only below cols.
 */
export function quant_x(dstPtr: usize, xPtr: usize, n: i32, cols: i32): void {
  quantX(dstPtr, xPtr, n, cols, true);
}

/** Scalar twin of quant_x (same layout, same results bit for bit). */
export function quant_x_ref(dstPtr: usize, xPtr: usize, n: i32, cols: i32): void {
  quantX(dstPtr, xPtr, n, cols, false);
}
