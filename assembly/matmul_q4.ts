// int4 linear layers (W4A8): out[i, r] = Σ_g d[r, g]·s[i, g]·Σ_{c ∈ g} qw[r, c]·qx[i, c], qw ∈ [−8, 7].
//
// Packed layout ("q4"), for W [rows, cols] row-major: symmetric 4-bit quants qw ∈ [−8, 7] stored as
// two's-complement nibbles, two per byte, one f16 scale d ≥ 0 per row per group of 32 columns.
//   G = ceil(cols / 32) groups, P = ceil(rows / 4) panels, panelBytes = 72·G, total 72·G·P.
//   Panel p (rows 4p..4p+3) starts at p·72·G; its group g (cols c0 = 32g ..) is 72 bytes at 72·g:
//     bytes [0, 64):  row rr's 16 bytes at 16·rr; byte 8h + j (h < 2, j < 8) holds
//                     qw[r, c0 + 16h + j] in bits 0..3 and qw[r, c0 + 16h + 8 + j] in bits 4..7
//     bytes [64, 72): f16 d[4p + rr, g] at 64 + 2·rr (little-endian, sign bit clear)
//   W[r, c] ≈ d[r, ⌊c/32⌋]·qw[r, c]. Padding rows: quants and scales 0; padding columns: quants 0.
// Unpacking without shuffles or subtractions: `load8x8_u` puts byte j of a half in i16 lane j; then
// `shl 12` moves the low nibble and `shl 8` + `and 0xf000` the high nibble to the top 4 bits, giving
// 4096·qw, signed, for 8 columns each in x's own order. The factor 4096 is exact (|Σ| ≤ 32·8·127, so
// 4096·Σ < 2^31 has at most 15 significant bits) and folded into the f16 decoding constant
// (2^100 instead of 2^112). Panels are independent, as for f32 and q8.
// Measured alternatives (Zen 4, V8 11.3): f32 activations (nibbles converted to f32, no prepared
// input) run at ~11.5 GOP/s against ~33 for this W4A8 kernel including quant_x_q8; the relaxed
// build's i32x4.relaxed_dot_i8x16_i7x16_add_s (weights as q + 8 ∈ [0, 15], a −8·Σx correction)
// is no faster: V8 lowers each to 5 instructions (it rematerialises the ones vector every time).

import { madd } from './simd';
import { f16x4Scaled, f16ValueScaled, f16Value, f16CeilBits, isum4, storePanel4 } from './matmul_quant';

/** 2^100 = 2^112 / 4096: decodes an f16 scale and divides it by the 4096 of the unpacking. */
// @ts-ignore: decorator
@lazy const SCALE_Q4: f32 = 1.2676506002282294e30;

/** Bytes of one q4 panel: 72 per group of 32 columns. */
// @ts-ignore: decorator
@inline function panelBytesQ4(cols: i32): usize {
  return <usize>((cols + 31) >> 5) * 72;
}

/** acc + exact 4096·Σ over 16 columns of one row (w: the 8 bytes of nibbles; x0, x1: the 16 i16 quants). */
// @ts-ignore: decorator
@inline function halfDot(acc: v128, w: usize, x0: v128, x1: v128): v128 {
  const v = v128.load8x8_u(w);
  const lo = i16x8.shl(v, 12);
  const hi = v128.and(i16x8.shl(v, 8), i16x8.splat(<i16>0xf000));
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(lo, x0), i32x4.dot_i16x8_s(hi, x1)));
}

/**
 * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows, with W packed as q4 and x prepared by
 * quant_x_q8 (xqPtr, n rows of cols). out: [n, outStride]; only columns < rows are written.
 * Same structure as matmul_q8 (panel-major, exact integer group sums, one f32 accumulator).
 */
export function matmul_q4(outPtr: usize, outStride: i32, wPtr: usize, xqPtr: usize, n: i32, rows: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ4(cols);
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
      for (let wk = w; wk < wEnd; wk += 72, xs += 4) {
        // the group's two 16-column halves as a 2-step loop (see matmul_q8: no spills)
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        const hEnd = wk + 16;
        for (let wb = wk; wb < hEnd; wb += 8, xq += 32) {
          const x0 = v128.load(xq), x1 = v128.load(xq, 16);
          a0 = halfDot(a0, wb, x0, x1);
          a1 = halfDot(a1, wb + 16, x0, x1);
          a2 = halfDot(a2, wb + 32, x0, x1);
          a3 = halfDot(a3, wb + 48, x0, x1);
        }
        const s = isum4(a0, a1, a2, a3);
        acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4Scaled(wk + 64, SCALE_Q4), v128.load32_splat(xs)), acc);
      }
      storePanel4(o + <usize>i * outRowBytes, acc, valid);
    }
  }
}

/** Scalar twin of matmul_q4 over the same layout: per output, group by group, acc ← f32(4096·Σ)·(d/4096·s) + acc. */
export function matmul_q4_ref(outPtr: usize, outStride: i32, wPtr: usize, xqPtr: usize, n: i32, rows: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ4(cols);
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
        const grp = panel + <usize>g * 72;
        const xg = xq + (<usize>g << 6);
        let sum: i32 = 0;
        for (let j = 0; j < 16; j++) {
          // byte j: columns 16h + (j & 7) (low nibble) and 16h + 8 + (j & 7) (high nibble), h = j >> 3
          const u = <i32>load<u8>(grp + (rr << 4) + <usize>j);
          const c = ((j >> 3) << 4) + (j & 7);
          sum += ((u << 28) >> 28) * <i32>load<i16>(xg + (<usize>c << 1));
          sum += ((u << 24) >> 28) * <i32>load<i16>(xg + (<usize>(c + 8) << 1));
        }
        const d = f16ValueScaled(<u32>load<u16>(grp + 64 + (rr << 1)), SCALE_Q4);
        acc = <f32>(sum << 12) * (d * load<f32>(xs + (<usize>g << 2))) + acc;
      }
      store<f32>(o + (<usize>r << 2), acc);
    }
  }
}

/**
 * Quantise row-major W [rows, cols] (f32 at srcPtr) into the q4 layout at dstPtr (72·G·P bytes):
 * per row and group, d = the smallest f16 ≥ max(max⁺/7, max⁻/8) (max⁺ = largest w, max⁻ = largest −w,
 * both at least 0) and qw = nearest(w/d) ∈ [−8, 7], so |w − d·qw| ≤ d/2 with no clamping; the −8 level
 * is used when the negative side dominates. An all-zero group gets d = 0. Returns −1, or the index
 * r·G + g of the first group whose scale is not a finite f16 (stored as zeros).
 */
export function pack_q4(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ4(cols);
  let bad = -1;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const rr = <usize>(r & 3);
    const panel = dstPtr + <usize>(r >> 2) * pb;
    const src = srcPtr + ((<usize>r * <usize>cols) << 2);
    for (let g = 0; g < G; g++) {
      const grp = panel + <usize>g * 72;
      const c0 = g << 5;
      const count = r < rows ? min(32, cols - c0) : 0;
      let pos: f64 = 0, neg: f64 = 0;
      for (let c = 0; c < count; c++) {
        const v = <f64>load<f32>(src + (<usize>(c0 + c) << 2));
        pos = max(pos, v);
        neg = max(neg, -v);
      }
      let h = f16CeilBits(max(pos / 7, neg / 8));
      if (h < 0) {
        if (bad < 0) bad = r * G + g;
        h = 0;
      }
      const d = <f64>f16Value(<u32>h);
      for (let j = 0; j < 16; j++) {
        const c = ((j >> 3) << 4) + (j & 7);
        const lo = c < count && d > 0 ? quant4(<f64>load<f32>(src + (<usize>(c0 + c) << 2)), d) : 0;
        const hi = c + 8 < count && d > 0 ? quant4(<f64>load<f32>(src + (<usize>(c0 + c + 8) << 2)), d) : 0;
        store<u8>(grp + (rr << 4) + <usize>j, <u8>((lo & 15) | ((hi & 15) << 4)));
      }
      store<u16>(grp + 64 + (rr << 1), <u16>h);
    }
  }
  return bad;
}

// @ts-ignore: decorator
@inline function quant4(w: f64, d: f64): i32 {
  const q = <i32>nearest<f64>(w / d);
  return q < -8 ? -8 : q > 7 ? 7 : q;
}
