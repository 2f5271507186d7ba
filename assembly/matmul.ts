// Linear layers: out[i, r] = Σ_c x[i, c]·W[r, c] with W packed in 4-row panels.
//
// Packed layout (f32), for W [rows, cols] row-major (rows = output features):
//   C4 = ceil(cols / 4) k-blocks, P = ceil(rows / 4) panels, panelBytes = 64·C4.
//   Panel p (rows 4p..4p+3) starts at byte p·panelBytes; inside it, k-block b (cols 4b..4b+3)
//   is 64 contiguous bytes: W[4p+0, 4b..4b+3], W[4p+1, 4b..], W[4p+2, 4b..], W[4p+3, 4b..].
//   float index of W[r, c] = (r >> 2)·16·C4 + (c >> 2)·16 + (r & 3)·4 + (c & 3).
//   Padding rows (≥ rows) and padding cols (≥ cols) are zero. Total bytes = 64·P·C4.
// One sequential stream per panel is what keeps the hardware prefetcher at DRAM speed (a 4-row
// row-major kernel reads 4 short streams and runs at ~40 % of it). Panels are independent: a thread
// can run a block of whole panels (wPtr + p·panelBytes, outPtr + 4p·4, rows − 4p).
//
// Kernels never read x beyond cols (the tail k-block of x is loaded lane by lane) and never write
// out beyond rows (a partial last panel is stored lane by lane).

import { madd, sum4, loadTail, storeTail } from './simd';

/** Bytes of one packed 4-row panel of `cols` columns (64 per k-block of 4 columns). */
// @ts-ignore: decorator
@inline function panelBytes(cols: i32): usize {
  return (<usize>((cols + 3) >> 2)) << 6;
}

/** Store the 4 outputs of one panel (lanes of v) at outPtr, only the first `valid` (1..4) of them. */
// @ts-ignore: decorator
@inline function storePanel(outPtr: usize, v: v128, valid: i32): void {
  if (valid >= 4) v128.store(outPtr, v);
  else storeTail(outPtr, v, valid);
}

/**
 * One panel against one x row, "4x2t": two k-blocks per step, the two products of a row combined
 * before they reach the loop-carried accumulator (4 accumulators + 2 x + 8 w = 14 live v128,
 * inside V8's 15 usable XMM registers; the accumulator chain is one add per step).
 * Returns the 4 row sums as the lanes of one vector.
 */
// @ts-ignore: decorator
@inline function panelDot(wPtr: usize, xPtr: usize, cols: i32): v128 {
  const full = cols >> 2; // k-blocks fully inside cols
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let w = wPtr, x = xPtr;
  // one pointer compare per step: V8 keeps this loop free of spills and stack reloads
  const pairEnd = wPtr + (<usize>(full >> 1) << 7);
  for (; w < pairEnd; w += 128, x += 32) {
    const x0 = v128.load(x), x1 = v128.load(x, 16);
    a0 = f32x4.add(a0, madd(v128.load(w), x0, f32x4.mul(v128.load(w, 64), x1)));
    a1 = f32x4.add(a1, madd(v128.load(w, 16), x0, f32x4.mul(v128.load(w, 80), x1)));
    a2 = f32x4.add(a2, madd(v128.load(w, 32), x0, f32x4.mul(v128.load(w, 96), x1)));
    a3 = f32x4.add(a3, madd(v128.load(w, 48), x0, f32x4.mul(v128.load(w, 112), x1)));
  }
  if (full & 1) {
    const x0 = v128.load(x);
    a0 = madd(v128.load(w), x0, a0);
    a1 = madd(v128.load(w, 16), x0, a1);
    a2 = madd(v128.load(w, 32), x0, a2);
    a3 = madd(v128.load(w, 48), x0, a3);
    w += 64;
    x += 16;
  }
  const tail = cols & 3;
  if (tail) {
    const x0 = loadTail(x, tail); // zero lanes meet the zero padding of W
    a0 = madd(v128.load(w), x0, a0);
    a1 = madd(v128.load(w, 16), x0, a1);
    a2 = madd(v128.load(w, 32), x0, a2);
    a3 = madd(v128.load(w, 48), x0, a3);
  }
  return sum4(a0, a1, a2, a3);
}

/**
 * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows.
 * out: [n, outStride] (only columns < rows are written), x: [n, cols], W: packed panels (see top).
 * n = 1 streams each panel once (4x2t). n ≥ 2 runs a 4-row × 2-x-row tile (8 accumulators) over
 * each panel while it sits in L1, so every weight loaded is used for two x rows.
 */
export function matmul_f32(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const pb = panelBytes(cols);
  const xRowBytes = <usize>cols << 2;
  const outRowBytes = <usize>outStride << 2;
  const full = cols >> 2;
  const tail = cols & 3;
  let r0 = 0;
  if (n == 1) {
    // one x row (decode): runs of whole panels in 2 interleaved streams (as the quantised kernels read
    // theirs: assembly/matmul_quant.ts, MATVEC_STREAMS; 2 × 4 accumulators fit the registers), each
    // panel summed as panelDot sums it (so a thread's block of panels gives the full call's bits);
    // the panels after the runs take panelDot
    const part = (rows >> 2) >> 1;
    const st = <usize>part * pb;
    for (let j = 0; j < part; j++) {
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let wk = wPtr + <usize>j * pb, x = xPtr;
      const pairEnd = wk + (<usize>(full >> 1) << 7);
      for (; wk < pairEnd; wk += 128, x += 32) {
        const x0 = v128.load(x), x1 = v128.load(x, 16);
        a0 = f32x4.add(a0, madd(v128.load(wk), x0, f32x4.mul(v128.load(wk, 64), x1)));
        b0 = f32x4.add(b0, madd(v128.load(wk + st), x0, f32x4.mul(v128.load(wk + st, 64), x1)));
        a1 = f32x4.add(a1, madd(v128.load(wk, 16), x0, f32x4.mul(v128.load(wk, 80), x1)));
        b1 = f32x4.add(b1, madd(v128.load(wk + st, 16), x0, f32x4.mul(v128.load(wk + st, 80), x1)));
        a2 = f32x4.add(a2, madd(v128.load(wk, 32), x0, f32x4.mul(v128.load(wk, 96), x1)));
        b2 = f32x4.add(b2, madd(v128.load(wk + st, 32), x0, f32x4.mul(v128.load(wk + st, 96), x1)));
        a3 = f32x4.add(a3, madd(v128.load(wk, 48), x0, f32x4.mul(v128.load(wk, 112), x1)));
        b3 = f32x4.add(b3, madd(v128.load(wk + st, 48), x0, f32x4.mul(v128.load(wk + st, 112), x1)));
      }
      // an odd last whole k-block, then the partial one (zero lanes meet the zero padding of W)
      for (let rest = (full & 1) + (tail != 0 ? 1 : 0); rest > 0; rest--, wk += 64, x += 16) {
        const x0 = rest == 1 && tail != 0 ? loadTail(x, tail) : v128.load(x);
        a0 = madd(v128.load(wk), x0, a0);
        b0 = madd(v128.load(wk + st), x0, b0);
        a1 = madd(v128.load(wk, 16), x0, a1);
        b1 = madd(v128.load(wk + st, 16), x0, b1);
        a2 = madd(v128.load(wk, 32), x0, a2);
        b2 = madd(v128.load(wk + st, 32), x0, b2);
        a3 = madd(v128.load(wk, 48), x0, a3);
        b3 = madd(v128.load(wk + st, 48), x0, b3);
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
      for (; wk < wEnd; wk += 64, off += 16) {
        const va = v128.load(xa + off), vb = v128.load(xb + off);
        const w0 = v128.load(wk), w1 = v128.load(wk, 16), w2 = v128.load(wk, 32), w3 = v128.load(wk, 48);
        a0 = madd(w0, va, a0);
        b0 = madd(w0, vb, b0);
        a1 = madd(w1, va, a1);
        b1 = madd(w1, vb, b1);
        a2 = madd(w2, va, a2);
        b2 = madd(w2, vb, b2);
        a3 = madd(w3, va, a3);
        b3 = madd(w3, vb, b3);
      }
      if (tail) {
        const va = loadTail(xa + off, tail), vb = loadTail(xb + off, tail);
        const w0 = v128.load(wk), w1 = v128.load(wk, 16), w2 = v128.load(wk, 32), w3 = v128.load(wk, 48);
        a0 = madd(w0, va, a0);
        b0 = madd(w0, vb, b0);
        a1 = madd(w1, va, a1);
        b1 = madd(w1, vb, b1);
        a2 = madd(w2, va, a2);
        b2 = madd(w2, vb, b2);
        a3 = madd(w3, va, a3);
        b3 = madd(w3, vb, b3);
      }
      const oa = o + <usize>i * outRowBytes;
      storePanel(oa, sum4(a0, a1, a2, a3), valid);
      storePanel(oa + outRowBytes, sum4(b0, b1, b2, b3), valid);
    }
    if (i < n) {
      storePanel(o + <usize>i * outRowBytes, panelDot(w, xPtr + <usize>i * xRowBytes, cols), valid);
    }
  }
}

/**
 * Scalar twin of matmul_f32 over the same packed layout: per output, four lane accumulators
 * (one per column mod 4), combined as (l0 + l2) + (l1 + l3).
 */
export function matmul_f32_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const full = cols >> 2;
  const pb = panelBytes(cols);
  for (let i = 0; i < n; i++) {
    const x = xPtr + ((<usize>i * <usize>cols) << 2);
    const o = outPtr + ((<usize>i * <usize>outStride) << 2);
    for (let r = 0; r < rows; r++) {
      // W[r, 4b + l] is at panel r >> 2, k-block b, row-in-panel r & 3, lane l
      const wRow = wPtr + <usize>(r >> 2) * pb + (<usize>(r & 3) << 4);
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      let b = 0;
      for (; b < full; b++) {
        const wb = wRow + (<usize>b << 6);
        const xb = x + (<usize>b << 4);
        s0 += load<f32>(wb) * load<f32>(xb);
        s1 += load<f32>(wb, 4) * load<f32>(xb, 4);
        s2 += load<f32>(wb, 8) * load<f32>(xb, 8);
        s3 += load<f32>(wb, 12) * load<f32>(xb, 12);
      }
      // the last, partial k-block: only columns < cols exist in x
      const wb = wRow + (<usize>b << 6);
      const xb = x + (<usize>b << 4);
      const tail = cols & 3;
      if (tail > 0) s0 += load<f32>(wb) * load<f32>(xb);
      if (tail > 1) s1 += load<f32>(wb, 4) * load<f32>(xb, 4);
      if (tail > 2) s2 += load<f32>(wb, 8) * load<f32>(xb, 8);
      store<f32>(o + (<usize>r << 2), (s0 + s2) + (s1 + s3));
    }
  }
}

/**
 * Pack row-major W [rows, cols] (f32 at srcPtr) into the panel layout at dstPtr
 * (64·ceil(rows/4)·ceil(cols/4) bytes), zero-padding rows and cols.
 * Panels are independent: packing rows [4p, rows) alone = (dst + p·panelBytes, src + 4p·cols·4, rows − 4p).
 */
export function pack_f32(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): void {
  packF32(dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_f32: one weight at a time. */
export function pack_f32_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): void {
  packF32(dstPtr, srcPtr, rows, cols, false);
}

// @ts-ignore: decorator
@inline function packF32(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): void {
  const kBlocks = (cols + 3) >> 2;
  let d = dstPtr;
  for (let r0 = 0; r0 < rows; r0 += 4) {
    if (fast && r0 + 4 <= rows) {
      // a whole panel: each k-block is the 4 rows' 4 columns, one vector each (a partial last k-block below)
      const s0 = srcPtr + ((<usize>r0 * <usize>cols) << 2), s1 = s0 + (<usize>cols << 2), s2 = s1 + (<usize>cols << 2), s3 = s2 + (<usize>cols << 2);
      const whole = cols >> 2;
      for (let b = 0; b < whole; b++, d += 64) {
        const o = <usize>b << 4;
        v128.store(d, v128.load(s0 + o));
        v128.store(d, v128.load(s1 + o), 16);
        v128.store(d, v128.load(s2 + o), 32);
        v128.store(d, v128.load(s3 + o), 48);
      }
      if (whole == kBlocks) continue;
      for (let rr = 0; rr < 4; rr++) {
        const src = s0 + ((<usize>rr * <usize>cols) << 2);
        for (let l = 0; l < 4; l++, d += 4) {
          const c = (whole << 2) + l;
          store<f32>(d, c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
        }
      }
      continue;
    }
    for (let b = 0; b < kBlocks; b++) {
      for (let rr = 0; rr < 4; rr++) {
        const r = r0 + rr;
        const src = srcPtr + ((<usize>r * <usize>cols) << 2);
        for (let l = 0; l < 4; l++, d += 4) {
          const c = (b << 2) + l;
          store<f32>(d, r < rows && c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
        }
      }
    }
  }
}

/**
 * Copy rows [r0, r0 + count) of f32 panels (matmul_f32's layout) into dst (f32 [count, cols],
 * row-major): the embedding lookup when the token embedding is stored as a packed f32 linear.
 */
export function dequant_f32(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  const pb = <usize>((cols + 3) >> 2) << 6;
  for (let k = 0; k < count; k++) {
    const r = r0 + k;
    const row = wPtr + <usize>(r >> 2) * pb + (<usize>(r & 3) << 4);
    const dst = dstPtr + ((<usize>k * <usize>cols) << 2);
    for (let c = 0; c < cols; c++) store<f32>(dst + (<usize>c << 2), load<f32>(row + (<usize>(c >> 2) << 6) + (<usize>(c & 3) << 2)));
  }
}
