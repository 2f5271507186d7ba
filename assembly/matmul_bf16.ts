// bf16 and f16 linear layers: out[i, r] = Σ_c x[i, c]·W[r, c] with W stored as bfloat16 or IEEE
// binary16 (GGUF F16), x and sums in f32. Both share one layout and one kernel; only the decoding of a
// weight differs (f16: 3 more ops per 4 weights, exact for every finite value, see decodeF16).
//
// Packed layout ("BF16" / "F16"), for W [rows, cols] row-major:
//   C8 = ceil(cols / 8) k-blocks, P = ceil(rows / 4) panels, panelBytes = 64·C8, total 64·P·C8.
//   Panel p (rows 4p..4p+3) starts at p·64·C8; its k-block b (cols 8b..8b+7) is 64 bytes at 64·b,
//   16 bytes per row rr = 0..3 at 16·rr, read as four u32 lanes l = 0..3:
//     low half of lane l = half(W[4p + rr, 8b + l]),  high half = half(W[4p + rr, 8b + 4 + l]).
//   u16 index of W[r, c] = (r >> 2)·32·C8 + (c >> 3)·32 + (r & 3)·8 + 2·(c & 3) + ((c >> 2) & 1).
//   Padding rows and columns are +0.
// Decoding is two ops per 8 weights: `shl 16` gives the low halves (columns 8b..8b+3) and
// `and 0xffff0000` the high halves (8b+4..8b+7) as f32 lanes that line up with two plain loads of x,
// so x needs no shuffling and no preparation. Panels are independent, as for f32.
//
// Per output lane l, every k-block adds (w_lo·x_lo + w_hi·x_hi) to the lane sum (product pairs are
// combined before the loop-carried add: "4x2t"); lanes are combined as (l0 + l2) + (l1 + l3). The n = 1
// matvec, the n ≥ 2 tile and the scalar twin all use that order, so the plain-SIMD build equals the
// twin bit for bit. Kernels never read x beyond cols and never write out beyond rows.

import { madd, sum4, loadTail } from './simd';
import { storePanel4 } from './matmul_quant';

/** Bytes of one bf16 panel: 64 per k-block of 8 columns. */
// @ts-ignore: decorator
@inline function panelBytesBf16(cols: i32): usize {
  return (<usize>((cols + 7) >> 3)) << 6;
}

/** The two x vectors of a partial last k-block (tail = cols & 7 columns exist): zeros beyond. */
// @ts-ignore: decorator
@inline function tailLo(x: usize, tail: i32): v128 {
  return tail >= 4 ? v128.load(x) : loadTail(x, tail);
}
// @ts-ignore: decorator
@inline function tailHi(x: usize, tail: i32): v128 {
  return tail > 4 ? loadTail(x + 16, tail - 4) : f32x4.splat(0);
}

/** Weight kinds sharing this layout (compile-time constants of the @inline kernels). */
// @ts-ignore: decorator
@lazy const BF16: i32 = 0;
// @ts-ignore: decorator
@lazy const F16: i32 = 1;
/** 2^112: rescales an f16 placed in an f32's bit positions (see decodeF16). */
// @ts-ignore: decorator
@lazy const F16_SCALE: f32 = 5.192296858534828e33;

/**
 * f32 lanes holding an f16 bit pattern in their high half (low half 0) → the f16 values, exactly, for
 * every finite f16: an arithmetic shift right by 3 puts exponent and mantissa where an f32's are (the
 * value 2^112 too small, subnormals included) with copies of the sign in bits 28..31; clearing bits
 * 28..30 and one multiply by 2^112 finish. Inf/NaN weights are refused when packing.
 */
// @ts-ignore: decorator
@inline function decodeF16(t: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(t, 3), i32x4.splat(0x8fffffff)), f32x4.splat(F16_SCALE));
}
/** Columns 8b..8b+3 of a row's k-block, as f32 lanes. */
// @ts-ignore: decorator
@inline function lowHalf(kind: i32, v: v128): v128 {
  const t = i32x4.shl(v, 16);
  return kind == F16 ? decodeF16(t) : t;
}
/** Columns 8b+4..8b+7. */
// @ts-ignore: decorator
@inline function highHalf(kind: i32, v: v128): v128 {
  const t = v128.and(v, i32x4.splat(0xffff0000));
  return kind == F16 ? decodeF16(t) : t;
}

/** acc + (lo(v)·x0 + hi(v)·x1): one row's k-block of 8 columns. */
// @ts-ignore: decorator
@inline function step(kind: i32, acc: v128, v: v128, x0: v128, x1: v128): v128 {
  return f32x4.add(acc, madd(lowHalf(kind, v), x0, f32x4.mul(highHalf(kind, v), x1)));
}

/** One panel against one x row (4 accumulators, one loop-carried add per row per k-block). */
// @ts-ignore: decorator
@inline function panelDot(kind: i32, wPtr: usize, xPtr: usize, cols: i32): v128 {
  const full = cols >> 3;
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let w = wPtr, x = xPtr;
  const wEnd = wPtr + (<usize>full << 6);
  for (; w < wEnd; w += 64, x += 32) {
    const x0 = v128.load(x), x1 = v128.load(x, 16);
    a0 = step(kind, a0, v128.load(w), x0, x1);
    a1 = step(kind, a1, v128.load(w, 16), x0, x1);
    a2 = step(kind, a2, v128.load(w, 32), x0, x1);
    a3 = step(kind, a3, v128.load(w, 48), x0, x1);
  }
  const tail = cols & 7;
  if (tail) {
    const x0 = tailLo(x, tail), x1 = tailHi(x, tail);
    a0 = step(kind, a0, v128.load(w), x0, x1);
    a1 = step(kind, a1, v128.load(w, 16), x0, x1);
    a2 = step(kind, a2, v128.load(w, 32), x0, x1);
    a3 = step(kind, a3, v128.load(w, 48), x0, x1);
  }
  return sum4(a0, a1, a2, a3);
}

/**
 * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows. out: [n, outStride] (columns < rows written),
 * x: [n, cols] f32, W: bf16 panels (see top). n = 1 streams each panel once; n ≥ 2 runs a 4-row ×
 * 2-x-row tile over each panel while it sits in L1, decoding each weight vector once for two x rows.
 */
// @ts-ignore: decorator
@inline function matmulHalf(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const pb = panelBytesBf16(cols);
  const xRowBytes = <usize>cols << 2;
  const outRowBytes = <usize>outStride << 2;
  const full = cols >> 3;
  const tail = cols & 7;
  let r0 = 0;
  if (n == 1) {
    // one x row: 2 streams of panels as in matmul_f32 (assembly/matmul.ts), each panel in panelDot's order
    const part = (rows >> 2) >> 1;
    const st = <usize>part * pb;
    for (let j = 0; j < part; j++) {
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let wk = wPtr + <usize>j * pb;
      let off: usize = 0;
      const wEnd = wk + (<usize>full << 6);
      for (; wk < wEnd; wk += 64, off += 32) {
        const x0 = v128.load(xPtr + off), x1 = v128.load(xPtr + off, 16);
        a0 = step(kind, a0, v128.load(wk), x0, x1);
        b0 = step(kind, b0, v128.load(wk + st), x0, x1);
        a1 = step(kind, a1, v128.load(wk, 16), x0, x1);
        b1 = step(kind, b1, v128.load(wk + st, 16), x0, x1);
        a2 = step(kind, a2, v128.load(wk, 32), x0, x1);
        b2 = step(kind, b2, v128.load(wk + st, 32), x0, x1);
        a3 = step(kind, a3, v128.load(wk, 48), x0, x1);
        b3 = step(kind, b3, v128.load(wk + st, 48), x0, x1);
      }
      if (tail) {
        const x0 = tailLo(xPtr + off, tail), x1 = tailHi(xPtr + off, tail);
        a0 = step(kind, a0, v128.load(wk), x0, x1);
        b0 = step(kind, b0, v128.load(wk + st), x0, x1);
        a1 = step(kind, a1, v128.load(wk, 16), x0, x1);
        b1 = step(kind, b1, v128.load(wk + st, 16), x0, x1);
        a2 = step(kind, a2, v128.load(wk, 32), x0, x1);
        b2 = step(kind, b2, v128.load(wk + st, 32), x0, x1);
        a3 = step(kind, a3, v128.load(wk, 48), x0, x1);
        b3 = step(kind, b3, v128.load(wk + st, 48), x0, x1);
      }
      v128.store(outPtr + (<usize>j << 4), sum4(a0, a1, a2, a3));
      v128.store(outPtr + (<usize>(j + part) << 4), sum4(b0, b1, b2, b3));
    }
    r0 = part << 3;
  }
  let w = wPtr + <usize>(r0 >> 2) * pb;
  for (let r = r0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    let i = 0;
    for (; i + 2 <= n; i += 2) {
      const xa = xPtr + <usize>i * xRowBytes;
      const xb = xa + xRowBytes;
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let wk = w;
      let off: usize = 0;
      const wEnd = w + (<usize>full << 6);
      // (A two-pass variant, low halves then high halves, runs without spills but no faster on
      // Zen 4: ~32 GOP/s either way, bound by the FP and shift ports; this one keeps the summation
      // order of the matvec and the scalar twin.)
      for (; wk < wEnd; wk += 64, off += 32) {
        const xa0 = v128.load(xa + off), xa1 = v128.load(xa + off, 16);
        const xb0 = v128.load(xb + off), xb1 = v128.load(xb + off, 16);
        let v = v128.load(wk);
        a0 = step(kind, a0, v, xa0, xa1);
        b0 = step(kind, b0, v, xb0, xb1);
        v = v128.load(wk, 16);
        a1 = step(kind, a1, v, xa0, xa1);
        b1 = step(kind, b1, v, xb0, xb1);
        v = v128.load(wk, 32);
        a2 = step(kind, a2, v, xa0, xa1);
        b2 = step(kind, b2, v, xb0, xb1);
        v = v128.load(wk, 48);
        a3 = step(kind, a3, v, xa0, xa1);
        b3 = step(kind, b3, v, xb0, xb1);
      }
      if (tail) {
        const xa0 = tailLo(xa + off, tail), xa1 = tailHi(xa + off, tail);
        const xb0 = tailLo(xb + off, tail), xb1 = tailHi(xb + off, tail);
        let v = v128.load(wk);
        a0 = step(kind, a0, v, xa0, xa1);
        b0 = step(kind, b0, v, xb0, xb1);
        v = v128.load(wk, 16);
        a1 = step(kind, a1, v, xa0, xa1);
        b1 = step(kind, b1, v, xb0, xb1);
        v = v128.load(wk, 32);
        a2 = step(kind, a2, v, xa0, xa1);
        b2 = step(kind, b2, v, xb0, xb1);
        v = v128.load(wk, 48);
        a3 = step(kind, a3, v, xa0, xa1);
        b3 = step(kind, b3, v, xb0, xb1);
      }
      const oa = o + <usize>i * outRowBytes;
      storePanel4(oa, sum4(a0, a1, a2, a3), valid);
      storePanel4(oa + outRowBytes, sum4(b0, b1, b2, b3), valid);
    }
    if (i < n) storePanel4(o + <usize>i * outRowBytes, panelDot(kind, w, xPtr + <usize>i * xRowBytes, cols), valid);
  }
}

/**
 * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows. out: [n, outStride] (columns < rows written),
 * x: [n, cols] f32, W: bf16 panels (see top). n = 1 streams each panel once; n ≥ 2 runs a 4-row ×
 * 2-x-row tile over each panel while it sits in L1, decoding each weight vector once for two x rows.
 */
export function matmul_bf16(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulHalf(BF16, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}

/** matmul_bf16 with W as f16 panels (the same layout holding binary16 bit patterns). */
export function matmul_f16(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulHalf(F16, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}

/** The f32 value of a bf16 bit pattern. */
// @ts-ignore: decorator
@inline function bf16(h: u32): f32 {
  return reinterpret<f32>(h << 16);
}
/** The f32 value of a finite f16 bit pattern (decodeF16's operations on one lane). */
// @ts-ignore: decorator
@inline function f16(h: u32): f32 {
  return reinterpret<f32>(((<i32>(h << 16)) >> 3) & 0x8fffffff) * F16_SCALE;
}
// @ts-ignore: decorator
@inline function half(kind: i32, h: u32): f32 {
  return kind == F16 ? f16(h) : bf16(h);
}

/** Scalar twin of matmul_bf16 over the same layout (same summation order, see top). */
export function matmul_bf16_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulHalfRef(BF16, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
/** Scalar twin of matmul_f16. */
export function matmul_f16_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulHalfRef(F16, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}

// @ts-ignore: decorator
@inline function matmulHalfRef(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const C8 = (cols + 7) >> 3;
  const pb = panelBytesBf16(cols);
  for (let i = 0; i < n; i++) {
    const x = xPtr + ((<usize>i * <usize>cols) << 2);
    const o = outPtr + ((<usize>i * <usize>outStride) << 2);
    for (let r = 0; r < rows; r++) {
      const wRow = wPtr + <usize>(r >> 2) * pb + (<usize>(r & 3) << 4);
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      for (let b = 0; b < C8; b++) {
        const wb = wRow + (<usize>b << 6);
        const c0 = b << 3;
        // lane l: columns c0 + l (low half) and c0 + 4 + l (high half); x is 0 beyond cols
        s0 += half(kind, load<u16>(wb)) * xAt(x, c0, cols) + half(kind, load<u16>(wb, 2)) * xAt(x, c0 + 4, cols);
        s1 += half(kind, load<u16>(wb, 4)) * xAt(x, c0 + 1, cols) + half(kind, load<u16>(wb, 6)) * xAt(x, c0 + 5, cols);
        s2 += half(kind, load<u16>(wb, 8)) * xAt(x, c0 + 2, cols) + half(kind, load<u16>(wb, 10)) * xAt(x, c0 + 6, cols);
        s3 += half(kind, load<u16>(wb, 12)) * xAt(x, c0 + 3, cols) + half(kind, load<u16>(wb, 14)) * xAt(x, c0 + 7, cols);
      }
      store<f32>(o + (<usize>r << 2), (s0 + s2) + (s1 + s3));
    }
  }
}

// @ts-ignore: decorator
@inline function xAt(x: usize, c: i32, cols: i32): f32 {
  return c < cols ? load<f32>(x + (<usize>c << 2)) : 0;
}

/** f32 bit pattern → bf16 bit pattern, round to nearest even; NaN stays NaN (quieted), overflow → ±Inf. */
// @ts-ignore: decorator
@inline function toBf16(b: u32): u32 {
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Store bf16 bits h of W[r, c] at its place in a panel (k-block b = c >> 3 of the panel at `panel`). */
// @ts-ignore: decorator
@inline function placeBf16(panel: usize, rr: usize, c: i32, h: u32): void {
  store<u16>(panel + (<usize>(c >> 3) << 6) + (rr << 4) + (<usize>(c & 3) << 2) + (<usize>((c >> 2) & 1) << 1), <u16>h);
}

/**
 * Pack row-major W [rows, cols] (f32 at srcPtr) into the bf16 layout at dstPtr (64·P·C8 bytes),
 * rounding each weight to nearest even (NaN kept as a quiet NaN), zero-padding rows and columns.
 */
export function pack_bf16(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): void {
  const pb = panelBytesBf16(cols);
  const padCols = ((cols + 7) >> 3) << 3;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const panel = dstPtr + <usize>(r >> 2) * pb;
    const src = srcPtr + ((<usize>r * <usize>cols) << 2);
    for (let c = 0; c < padCols; c++) {
      placeBf16(panel, <usize>(r & 3), c, r < rows && c < cols ? toBf16(load<u32>(src + (<usize>c << 2))) : 0);
    }
  }
}

/**
 * Pack row-major W [rows, cols] given as bf16 bit patterns (u16 at srcPtr, e.g. a BF16 checkpoint's
 * bytes) into the bf16 layout at dstPtr without changing any bit; rows and columns zero-padded.
 */
export function pack_bf16_bits(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): void {
  packHalfBits(dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_bf16_bits: one weight at a time through placeBf16. */
export function pack_bf16_bits_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): void {
  packHalfBits(dstPtr, srcPtr, rows, cols, false);
}

/** A k-block's stored order of its 8 half-precision columns (placeBf16): c0 c4 c1 c5 c2 c6 c3 c7. */
// @ts-ignore: decorator
@inline function halfOrder(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
}

// @ts-ignore: decorator
@inline function packHalfBits(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): void {
  const pb = panelBytesBf16(cols);
  const padCols = ((cols + 7) >> 3) << 3;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const panel = dstPtr + <usize>(r >> 2) * pb;
    const src = srcPtr + ((<usize>r * <usize>cols) << 1);
    let c0 = 0;
    if (fast && r < rows) {
      // whole k-blocks of a real row: one shuffle each
      for (; c0 + 8 <= cols; c0 += 8) v128.store(panel + (<usize>(c0 >> 3) << 6) + (<usize>(r & 3) << 4), halfOrder(v128.load(src + (<usize>c0 << 1))));
    }
    for (let c = c0; c < padCols; c++) {
      placeBf16(panel, <usize>(r & 3), c, r < rows && c < cols ? <u32>load<u16>(src + (<usize>c << 1)) : 0);
    }
  }
}

/**
 * Pack row-major f16 bit patterns (u16 [rows, cols] at srcPtr, a GGUF F16 tensor's bytes) into the
 * same panel layout without changing any bit; rows and columns zero-padded. Returns −1, or the index
 * r·cols + c of the first Inf/NaN weight (which the f16 kernel cannot decode; stored as 0).
 */
export function pack_f16_bits(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packF16Bits(dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_f16_bits: one weight at a time through placeBf16. */
export function pack_f16_bits_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packF16Bits(dstPtr, srcPtr, rows, cols, false);
}

// @ts-ignore: decorator
@inline function packF16Bits(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): i32 {
  const pb = panelBytesBf16(cols);
  const padCols = ((cols + 7) >> 3) << 3;
  let bad = -1;
  const e5 = i16x8.splat(0x7c00);
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const panel = dstPtr + <usize>(r >> 2) * pb;
    const src = srcPtr + ((<usize>r * <usize>cols) << 1);
    let c0 = 0;
    if (fast && r < rows) {
      // whole k-blocks of a real row without Inf/NaN: one shuffle each (the first block holding one ends the run)
      for (; c0 + 8 <= cols; c0 += 8) {
        const v = v128.load(src + (<usize>c0 << 1));
        if (v128.any_true(i16x8.eq(v128.and(v, e5), e5))) break;
        v128.store(panel + (<usize>(c0 >> 3) << 6) + (<usize>(r & 3) << 4), halfOrder(v));
      }
    }
    for (let c = c0; c < padCols; c++) {
      let h: u32 = r < rows && c < cols ? <u32>load<u16>(src + (<usize>c << 1)) : 0;
      if ((h & 0x7c00) == 0x7c00) {
        if (bad < 0) bad = r * cols + c;
        h = 0;
      }
      placeBf16(panel, <usize>(r & 3), c, h);
    }
  }
  return bad;
}

/** Dequantise rows [r0, r0 + count) of bf16 / f16 panels into dst (f32 [count, cols]): exact values. */
// @ts-ignore: decorator
@inline function dequantHalf(kind: i32, dstPtr: usize, wPtr: usize, cols: i32, r0: i32, count: i32): void {
  const pb = panelBytesBf16(cols);
  for (let k = 0; k < count; k++) {
    const r = r0 + k;
    const panel = wPtr + <usize>(r >> 2) * pb + (<usize>(r & 3) << 4);
    const dst = dstPtr + ((<usize>k * <usize>cols) << 2);
    for (let c = 0; c < cols; c++) {
      const h = <u32>load<u16>(panel + (<usize>(c >> 3) << 6) + (<usize>(c & 3) << 2) + (<usize>((c >> 2) & 1) << 1));
      store<f32>(dst + (<usize>c << 2), half(kind, h));
    }
  }
}
export function dequant_bf16(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantHalf(BF16, dstPtr, wPtr, cols, r0, count);
}
export function dequant_f16(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantHalf(F16, dstPtr, wPtr, cols, r0, count);
}
