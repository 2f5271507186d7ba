// int8 linear layers (W8A8, q8_0-compatible): out[i, r] = Σ_g d[r, g]·s[i, g]·Σ_{c ∈ g} qw[r, c]·qx[i, c].
//
// Packed layout ("q8"), for W [rows, cols] row-major: symmetric int8 quants qw ∈ [−127, 127]
// (GGUF Q8_0 data may also hold −128) with one f16 scale d per row per group of 32 columns.
//   G = ceil(cols / 32) groups, P = ceil(rows / 4) panels, panelBytes = 136·G, total 136·G·P.
//   Panel p (rows 4p..4p+3) starts at p·136·G; its group g (cols 32g..32g+31) is 136 bytes at 136·g:
//     bytes [0, 64):    k-block 2g   (cols c0 = 32g ..):      row rr's 16 bytes at 16·rr
//     bytes [64, 128):  k-block 2g+1 (cols c0 = 32g + 16 ..): row rr's 16 bytes at 64 + 16·rr
//       in a row's 16 bytes: byte 2j = qw[r, c0 + j], byte 2j + 1 = qw[r, c0 + 8 + j]  (j < 8)
//     bytes [128, 136): f16 d[4p + rr, g] at 128 + 2·rr (little-endian, sign bit clear: d ≥ 0)
//   W[r, c] ≈ d[r, ⌊c/32⌋]·qw[r, c]. Padding rows: quants and scales 0; padding columns: quants 0.
// Widening without shuffles: read as i16 lanes, `shl 8` gives 256·qw of columns c0..c0+7 and
// `and 0xff00` gives 256·qw of columns c0+8..c0+15, both in x's own order; the factor 256 is exact
// (|Σ| ≤ 32·256·128·127 < 2^31, and 256·Σ has at most 24 significant bits, so its f32 is exact) and
// is folded into the f16 decoding constant (2^104 instead of 2^112). Scales are stored non-negative
// (a negative Q8_0 scale is stored as |d| with negated quants), so decoding is 3 ops per 4 scales.
// So every panel is one sequential stream (4-row panels interleaved per 16 bytes, as for f32), the
// scales travel with their group, and a thread runs a block of whole panels
// (wPtr + p·panelBytes, outPtr + 4p·4, rows − 4p) exactly as for f32.
//
// x is the prepared input of quant_x_q8 (matmul_quant.ts): i16 quants [n, 32·G] + f32 scales [n, G].
// Per group the 4 rows' integer dot products are exact; then acc ← f32(256·Σ)·(d/256·s) + acc, in
// group order: SIMD (plain build) and _ref agree bit for bit.

import { madd } from './simd';
import { f16x4Scaled, f16ValueScaled, f16Value, f16CeilBits, f32ToF16Bits, isum4, storePanel4 } from './matmul_quant';

/** 2^104 = 2^112 / 256: decodes an f16 scale and divides it by the 256 of the widening. */
// @ts-ignore: decorator
@lazy const SCALE_Q8: f32 = 2.028240960365167e31;

/** Bytes of one q8 panel: 136 per group of 32 columns. */
// @ts-ignore: decorator
@inline function panelBytesQ8(cols: i32): usize {
  return <usize>((cols + 31) >> 5) * 136;
}

/** acc + exact 256·Σ over one row's 16-column k-block (w: its 16 bytes; x0, x1: the 16 i16 quants). */
// @ts-ignore: decorator
@inline function blockDot(acc: v128, w: usize, x0: v128, x1: v128): v128 {
  const a = v128.load(w);
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(i16x8.shl(a, 8), x0), i32x4.dot_i16x8_s(v128.and(a, i16x8.splat(<i16>0xff00)), x1)));
}

/**
 * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows, with W packed as q8 and x prepared by
 * quant_x_q8 (xqPtr, n rows of cols). out: [n, outStride]; only columns < rows are written.
 * Panel-major: each panel is streamed once and stays in L1 while every x row runs over it; per group
 * and row, 4 pmaddwd on pre-widened i16 give exact integer sums, one transpose-add turns the 4 rows
 * into one vector, and the only loop-carried value across groups is the f32 accumulator.
 * n ≥ 2 runs the same per-row loop over the L1-resident panel (~42 GOP/s hot for n = 1 and n = 8 on
 * Zen 4); a 4-row × 2-x-row tile sharing the widened weights was not tried: it needs 8 integer
 * accumulators and 4 x vectors live, beyond V8's 15 XMM registers.
 */
export function matmul_q8(outPtr: usize, outStride: i32, wPtr: usize, xqPtr: usize, n: i32, rows: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ8(cols);
  const rowQ = <usize>G << 6;
  const sBase = xqPtr + <usize>n * rowQ;
  const outRowBytes = <usize>outStride << 2;
  let w = wPtr;
  for (let r = 0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    const wEnd = w + pb;
    for (let i = 0; i < n; i++) {
      let xq = xqPtr + <usize>i * rowQ;
      let xs = sBase + ((<usize>i * <usize>G) << 2);
      let acc = f32x4.splat(0);
      for (let wk = w; wk < wEnd; wk += 136, xs += 4) {
        // The group's two k-blocks as a 2-step loop: V8 issues a block's loads first and its pure
        // ops level by level, so a fully unrolled group (12 loads, 16 widened vectors live) spills;
        // one k-block (6 loads + 4 accumulators + the mask) stays within the 15 XMM registers.
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        const kEnd = wk + 128;
        for (let wb = wk; wb < kEnd; wb += 64, xq += 32) {
          const x0 = v128.load(xq), x1 = v128.load(xq, 16);
          a0 = blockDot(a0, wb, x0, x1);
          a1 = blockDot(a1, wb + 16, x0, x1);
          a2 = blockDot(a2, wb + 32, x0, x1);
          a3 = blockDot(a3, wb + 48, x0, x1);
        }
        const s = isum4(a0, a1, a2, a3);
        acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4Scaled(wk + 128, SCALE_Q8), v128.load32_splat(xs)), acc);
      }
      storePanel4(o + <usize>i * outRowBytes, acc, valid);
    }
  }
}

/** Scalar twin of matmul_q8 over the same layout: per output, group by group, acc ← f32(256·Σ)·(d/256·s) + acc. */
export function matmul_q8_ref(outPtr: usize, outStride: i32, wPtr: usize, xqPtr: usize, n: i32, rows: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ8(cols);
  const rowQ = <usize>G << 6;
  const sBase = xqPtr + <usize>n * rowQ;
  for (let i = 0; i < n; i++) {
    const xq = xqPtr + <usize>i * rowQ;
    const xs = sBase + ((<usize>i * <usize>G) << 2);
    const o = outPtr + ((<usize>i * <usize>outStride) << 2);
    for (let r = 0; r < rows; r++) {
      const panel = wPtr + <usize>(r >> 2) * pb;
      const rr = <usize>(r & 3);
      let acc: f32 = 0;
      for (let g = 0; g < G; g++) {
        const grp = panel + <usize>g * 136;
        const xg = xq + (<usize>g << 6);
        let sum: i32 = 0;
        for (let j = 0; j < 16; j++) {
          // byte 2j is column j, byte 2j + 1 column 8 + j (of each 16-column k-block)
          const c = (j >> 1) + ((j & 1) << 3);
          sum += <i32>load<i8>(grp + (rr << 4) + <usize>j) * <i32>load<i16>(xg + (<usize>c << 1));
          sum += <i32>load<i8>(grp + 64 + (rr << 4) + <usize>j) * <i32>load<i16>(xg + 32 + (<usize>c << 1));
        }
        const d = f16ValueScaled(<u32>load<u16>(grp + 128 + (rr << 1)), SCALE_Q8);
        acc = <f32>(sum << 8) * (d * load<f32>(xs + (<usize>g << 2))) + acc;
      }
      store<f32>(o + (<usize>r << 2), acc);
    }
  }
}

/**
 * Quantise row-major W [rows, cols] (f32 at srcPtr) into the q8 layout at dstPtr (136·G·P bytes):
 * per row and group, d = the smallest f16 ≥ max|w|/127 and qw = nearest(w/d) (so |w − d·qw| ≤ d/2,
 * qw ∈ [−127, 127]); an all-zero group gets d = 0. Returns −1, or the index r·G + g of the first
 * group whose scale is not a finite f16 (non-finite weights or max|w| > 127·65504); that group is
 * stored as zeros. Panels are independent (pack rows [4p, rows) alone with src + 4p·cols·4).
 */
export function pack_q8(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ8(cols);
  let bad = -1;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const rr = <usize>(r & 3);
    const panel = dstPtr + <usize>(r >> 2) * pb;
    const src = srcPtr + ((<usize>r * <usize>cols) << 2);
    for (let g = 0; g < G; g++) {
      const grp = panel + <usize>g * 136;
      const c0 = g << 5;
      const count = r < rows ? min(32, cols - c0) : 0;
      let amax: f64 = 0;
      for (let c = 0; c < count; c++) amax = max(amax, abs<f64>(<f64>load<f32>(src + (<usize>(c0 + c) << 2))));
      let h = f16CeilBits(amax / 127);
      if (h < 0) {
        if (bad < 0) bad = r * G + g;
        h = 0;
      }
      const d = <f64>f16Value(<u32>h);
      for (let j = 0; j < 32; j++) {
        let q: i32 = 0;
        if (j < count && d > 0) q = clampI(<i32>nearest<f64>(<f64>load<f32>(src + (<usize>(c0 + j) << 2)) / d), -127, 127);
        store<i8>(grp + q8Offset(rr, j), <i8>q);
      }
      store<u16>(grp + 128 + (rr << 1), <u16>h);
    }
  }
  return bad;
}

/**
 * Pack planar q8 data (GGUF Q8_0 as readTensorQ8_0 gives it) into the q8 layout without
 * re-quantising: scales f32 [rows, G] (each an f16 value), qs i8 [rows, cols]; columns of a partial
 * last group are padded with zero quants. A negative scale d is stored as −d with negated quants (the
 * same values). Returns −1, or the index r·G + g of the first group that cannot be stored as is: a
 * scale that is not a finite f16 value, or a negative scale with a −128 quant (that group is stored as zeros).
 */
export function pack_q8_planar(dstPtr: usize, scalesPtr: usize, qsPtr: usize, rows: i32, cols: i32): i32 {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ8(cols);
  let bad = -1;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const rr = <usize>(r & 3);
    const panel = dstPtr + <usize>(r >> 2) * pb;
    const qRow = qsPtr + <usize>r * <usize>cols;
    for (let g = 0; g < G; g++) {
      const grp = panel + <usize>g * 136;
      const c0 = g << 5;
      const count = r < rows ? min(32, cols - c0) : 0;
      let h: u32 = 0;
      let sign = 1;
      if (count > 0) {
        const s = load<f32>(scalesPtr + ((<usize>r * <usize>G + <usize>g) << 2));
        h = f32ToF16Bits(s);
        let ok = (h & 0x7c00) != 0x7c00 && f16Value(h) == s;
        if (ok && (h & 0x8000) != 0) {
          h &= 0x7fff;
          sign = -1;
          for (let j = 0; j < count; j++) if (load<i8>(qRow + <usize>(c0 + j)) == -128) ok = false;
        }
        if (!ok) {
          if (bad < 0) bad = r * G + g;
          h = 0;
        }
      }
      for (let j = 0; j < 32; j++) {
        const q: i32 = j < count && h != 0 ? sign * <i32>load<i8>(qRow + <usize>(c0 + j)) : 0;
        store<i8>(grp + q8Offset(rr, j), <i8>q);
      }
      store<u16>(grp + 128 + (rr << 1), <u16>h);
    }
  }
  return bad;
}

/** Byte offset, inside its group, of the quant of row-in-panel rr and group column j (0..31). */
// @ts-ignore: decorator
@inline function q8Offset(rr: usize, j: i32): usize {
  const kb = <usize>(j >> 4); // k-block within the group
  const c = j & 15;
  return (kb << 6) + (rr << 4) + <usize>(((c & 7) << 1) | (c >> 3));
}

// @ts-ignore: decorator
@inline function clampI(v: i32, lo: i32, hi: i32): i32 {
  return v < lo ? lo : v > hi ? hi : v;
}
