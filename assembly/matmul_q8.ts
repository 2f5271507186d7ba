// Q8_0 linear layers (W8A8, as llama.cpp's q8_0 × q8_0): out[i, r] = Σ_g d[r, g]·s[i, g]·Σ_{c ∈ g} qw[r, c]·qx[i, c].
//
// Packed layout ("Q8_0"), for W [rows, cols] row-major: GGML Q8_0's values (int8 quants, one f16 scale
// d per row per group of 32 columns), rearranged into 4-row panels.
//   G = ceil(cols / 32) groups, P = ceil(rows / 4) panels, panelBytes = 136·G, total 136·G·P.
//   Panel p (rows 4p..4p+3) starts at p·136·G; its group g (cols 32g..32g+31) is 136 bytes at 136·g:
//     bytes [0, 64):    k-block 2g   (cols c0 = 32g ..):      row rr's 16 bytes at 16·rr
//     bytes [64, 128):  k-block 2g+1 (cols c0 = 32g + 16 ..): row rr's 16 bytes at 64 + 16·rr
//       in a row's 16 bytes: byte 2j = qw[r, c0 + j], byte 2j + 1 = qw[r, c0 + 8 + j]  (j < 8)
//     bytes [128, 136): f16 d[4p + rr, g] at 128 + 2·rr (little-endian, either sign, finite)
//   W[r, c] = d[r, ⌊c/32⌋]·qw[r, c] exactly as ggml's dequantize_row_q8_0 computes it. Padding rows:
//   quants and scales 0; padding columns: quants 0. 34 bytes per row per group, as in the file.
// Widening without shuffles: read as i16 lanes, `shl 8` gives 256·qw of columns c0..c0+7 and
// `and 0xff00` gives 256·qw of columns c0+8..c0+15, both in x's own order; the factor 256 is exact
// (|Σ| ≤ 32·256·128·127 < 2^31, and 256·Σ has at most 24 significant bits, so its f32 is exact) and
// is folded into the f16 decoding constant (2^104 instead of 2^112). Every panel is one sequential
// run of bytes and a thread runs a block of whole panels (wPtr + p·panelBytes, outPtr + 4p·4, rows − 4p).
//
// Relaxed build, one x row: the signed weight bytes go into i16x8.relaxed_dot_i8x16_i7x16_s as they
// are stored, against the activations' positive and negative parts (q⁺, q⁻ ≤ 127: section A's pn,
// kept in this byte order): two dots, a subtraction and one pmaddwd per row and k-block instead of
// the shift, mask and two pmaddwd; the integer sums are the same, ×256 by one shift per group.
//
// Batches: from Q8_ROWS_MIN x rows with the per-thread scratch, the row-lane path below (weights
// unpacked once per panel group into vectors whose i32 lanes are the panel's rows, x pairs broadcast:
// no transpose per x row). Without the scratch, or for fewer rows (a small draft tree), pairs of x
// rows go through a 4×2 register tile (each widened weight vector multiplies two x rows: 8
// accumulators) and an odd last row through the one-row loop, reading the panels as interleaved
// streams too (q8Streams: 4 groups of a panel per visit, the sums kept in the output between visits;
// from DRAM 1.38–1.50× at n = 2, 1.14–1.19× at n = 4 on the Xeon, 896×4864 and 4864×896). Every path:
// same integers, same f32 steps.
//
// x is section A of the prepared input (matmul_quant.ts). Per group the 4 rows' integer dot products
// are exact; then acc ← acc + f32(256·Σ)·((d·2^-8)·s) with separate multiplies and adds in group
// order, in every build: the SIMD kernel and _ref agree bit for bit, and so do the plain and relaxed builds.

import { kconst, storeScaledI8, truncInRange, absMax8, K_Q8ORDER, K_HI8, K_F16MASK, K_F16SCALE_Q8, K_ONES16, qxPn, f16x4m, f16s, f16Value, f16NonFinite, f32ToF16Bits, isum4, storePanel4, qx_row_bytes, qxD, qxT16, QXT16_CELL, MATVEC_STREAMS, streamPart, streamOut, storeStreams } from './matmul_quant';

// @ts-ignore: decorator
@lazy const INV_256: f32 = 0.00390625;
// @ts-ignore: decorator
@lazy const F32_MAX: f32 = 3.4028234663852886e38;

/** Bytes of one Q8_0 panel: 136 per group of 32 columns. */
// @ts-ignore: decorator
@inline function panelBytesQ8(cols: i32): usize {
  return <usize>((cols + 31) >> 5) * 136;
}

/** acc + exact 256·Σ over one row's 16-column k-block (w: its 16 bytes; x0, x1: the 16 i16 quants). */
// @ts-ignore: decorator
@inline function blockDot(acc: v128, w: usize, x0: v128, x1: v128, hi8: v128): v128 {
  const a = v128.load(w);
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(i16x8.shl(a, 8), x0), i32x4.dot_i16x8_s(v128.and(a, hi8), x1)));
}

/** Relaxed build: i16 lanes of Σ w·q⁺ − Σ w·q⁻ over one row's 16-column k-block at w (pairs of columns, exact). */
// @ts-ignore: decorator
@inline function pnDot(w: usize, xp: v128, xn: v128): v128 {
  const a = v128.load(w);
  return i16x8.sub(i16x8.relaxed_dot_i8x16_i7x16_s(a, xp), i16x8.relaxed_dot_i8x16_i7x16_s(a, xn));
}

/**
 * out[i, r] = Σ_c x[i, c]·W[r, c] for i < n, r < rows, with W packed as Q8_0 and xPtr the prepared
 * input (quant_x) of n rows of cols. out: [n, outStride]; only columns < rows are written.
 * Panel-major: each panel is streamed once and stays in L1 while every x row runs over it; per group
 * and row, 4 pmaddwd on pre-widened i16 give exact integer sums, one transpose-add turns the 4 rows
 * into one vector, and the only loop-carried value across groups is the f32 accumulator.
 */
export function matmul_q8_0(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  if (scratchPtr == 0 || n < Q8_ROWS_MIN) {
    matmulQ8Direct(outPtr, outStride, wPtr, xPtr, n, rows, cols);
    return;
  }
  // the row-lane path takes x rows in fours; a remainder of 3 repeats a row there, one of 1 or 2 is
  // cheaper on the direct path (measured)
  const rem = n & 3;
  const tiled = rem == 3 ? n : n - rem;
  matmulQ8Rows(outPtr, outStride, wPtr, xPtr, tiled, n, rows, cols, scratchPtr);
  if (tiled < n) matmulQ8Direct(outPtr + <usize>tiled * (<usize>outStride << 2), outStride, wPtr, xPtr + <usize>tiled * <usize>qx_row_bytes(cols), n - tiled, rows, cols);
}

/**
 * acc + the 4 rows' f32 sums over one group of the panel (at wk) for one x row: xq its i16 quants
 * (plain build), pn its q⁺/q⁻ bytes (relaxed build), xs its scale.
 */
// @ts-ignore: decorator
@inline function q8Group(acc: v128, wk: usize, xq: usize, xs: usize, pn: usize, hi8: v128, ones: v128, fmask: v128, s104: v128): v128 {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  if (ASC_FEATURE_RELAXED_SIMD) {
    // Σ w·q = Σ w·q⁺ − Σ w·q⁻: two relaxed dots per row and k-block on the signed weight bytes as
    // stored (pn holds q⁺, q⁻ in their order); each i16 lane is a pair's exact sum (≤ 2·128·127), so
    // the difference is exact; × 256 (shl 8) gives the plain path's integers and so its bits
    for (let kb: usize = 0; kb < 128; kb += 64) {
      const xp = v128.load(pn + (kb >> 1)), xn = v128.load(pn + (kb >> 1), 16);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(pnDot(wk + kb, xp, xn), ones));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(pnDot(wk + kb + 16, xp, xn), ones));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(pnDot(wk + kb + 32, xp, xn), ones));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(pnDot(wk + kb + 48, xp, xn), ones));
    }
    const scale = f32x4.mul(f16x4m(wk + 128, fmask, s104), v128.load32_splat(xs));
    return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(i32x4.shl(isum4(a0, a1, a2, a3), 8)), scale));
  }
  // The group's two k-blocks as a 2-step loop: V8 issues a block's loads first and its pure
  // ops level by level, so a fully unrolled group (12 loads, 16 widened vectors live) spills;
  // one k-block (6 loads + 4 accumulators + the mask) stays within the 15 XMM registers.
  for (let kb: usize = 0; kb < 128; kb += 64) {
    const x0 = v128.load(xq + (kb >> 1)), x1 = v128.load(xq + (kb >> 1), 16);
    a0 = blockDot(a0, wk + kb, x0, x1, hi8);
    a1 = blockDot(a1, wk + kb + 16, x0, x1, hi8);
    a2 = blockDot(a2, wk + kb + 32, x0, x1, hi8);
    a3 = blockDot(a3, wk + kb + 48, x0, x1, hi8);
  }
  // d·2^-8 (the widening's 256 undone), exactly: the f16 decoded with 2^104 instead of 2^112
  const scale = f32x4.mul(f16x4m(wk + 128, fmask, s104), v128.load32_splat(xs));
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum4(a0, a1, a2, a3)), scale));
}

/** matmul_q8_0 without the scratch: n = 1 the one-row streams, else q8Streams (the 4×2 tile for pairs of x rows, the one-row loop for an odd last one). */
function matmulQ8Direct(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const pb = panelBytesQ8(cols);
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD((cols + 31) & ~31);
  const outRowBytes = <usize>outStride << 2;
  const hi8 = kconst(K_HI8), fmask = kconst(K_F16MASK), s104 = kconst(K_F16SCALE_Q8), ones = kconst(K_ONES16);
  const pnOff = qxPn((cols + 31) & ~31);
  if (n == 1) {
    // one x row (decode): runs of whole panels in MATVEC_STREAMS interleaved streams (matmul_quant.ts);
    // the panels after them one by one
    const part = streamPart(rows);
    const st = <usize>part * pb;
    const xs = xPtr + dOff, pn = xPtr + pnOff;
    // (the streams unrolled, their sums in registers: a loop over the streams with the sums in memory
    // measured 0.72–0.83× of this)
    for (let j = 0; j < part; j++) {
      const w = wPtr + <usize>j * pb, wEnd = w + pb;
      let a = f32x4.splat(0), b = a, c = a, d = a, e = a, f = a, g = a, h = a;
      let xq = xPtr, xd = xs, xpn = pn;
      for (let wk = w; wk < wEnd; wk += 136, xq += 64, xd += 4, xpn += 64) {
        a = q8Group(a, wk, xq, xd, xpn, hi8, ones, fmask, s104);
        b = q8Group(b, wk + st, xq, xd, xpn, hi8, ones, fmask, s104);
        c = q8Group(c, wk + 2 * st, xq, xd, xpn, hi8, ones, fmask, s104);
        d = q8Group(d, wk + 3 * st, xq, xd, xpn, hi8, ones, fmask, s104);
        e = q8Group(e, wk + 4 * st, xq, xd, xpn, hi8, ones, fmask, s104);
        f = q8Group(f, wk + 5 * st, xq, xd, xpn, hi8, ones, fmask, s104);
        g = q8Group(g, wk + 6 * st, xq, xd, xpn, hi8, ones, fmask, s104);
        h = q8Group(h, wk + 7 * st, xq, xd, xpn, hi8, ones, fmask, s104);
      }
      storeStreams(outPtr, j, part, a, b, c, d, e, f, g, h);
    }
    let w = wPtr + <usize>part * MATVEC_STREAMS * pb;
    for (let r = part * MATVEC_STREAMS << 2; r < rows; r += 4, w += pb) {
      let acc = f32x4.splat(0);
      let xq = xPtr, xd = xs, xpn = pn;
      for (let wk = w, wEnd = w + pb; wk < wEnd; wk += 136, xq += 64, xd += 4, xpn += 64) acc = q8Group(acc, wk, xq, xd, xpn, hi8, ones, fmask, s104);
      storePanel4(outPtr + (<usize>r << 2), acc, rows - r);
    }
    return;
  }
  // several x rows (a small draft tree): the whole panels as MATVEC_STREAMS runs, then those left as
  // runs of one panel each, the sums kept in the output between visits; the partial last panel row by row
  const whole = rows >> 2;
  const part = streamPart(rows);
  const groups = (cols + 31) >> 5;
  q8Streams(outPtr, outRowBytes, wPtr, xPtr, n, groups, pb, rec, dOff, pnOff, MATVEC_STREAMS, part, hi8, ones, fmask, s104);
  const done = part * MATVEC_STREAMS;
  if (done < whole) {
    q8Streams(outPtr + (<usize>done << 4), outRowBytes, wPtr + <usize>done * pb, xPtr, n, groups, pb, rec, dOff, pnOff, whole - done, 1, hi8, ones, fmask, s104);
  }
  if (whole << 2 < rows) {
    const w = wPtr + <usize>whole * pb, o = outPtr + (<usize>whole << 4);
    for (let i = 0; i < n; i++) {
      const xi = xPtr + <usize>i * rec;
      let xq = xi, xs = xi + dOff, pn = xi + pnOff;
      let acc = f32x4.splat(0);
      for (let wk = w, wEnd = w + pb; wk < wEnd; wk += 136, xq += 64, xs += 4, pn += 64) acc = q8Group(acc, wk, xq, xs, pn, hi8, ones, fmask, s104);
      storePanel4(o + <usize>i * outRowBytes, acc, rows - (whole << 2));
    }
  }
}

/** Groups of a panel q8Streams reads per visit, the sums in registers meanwhile (measured: 4 beat 1, 2, 3 and 8). */
// @ts-ignore: decorator
@lazy const Q8_STREAM_GROUPS: i32 = 4;

/**
 * x rows [0, n) over S runs of `part` whole panels each (run s: panels s·part .. s·part + part − 1 of
 * wPtr): step j visits panel j of every run in turn, Q8_STREAM_GROUPS groups a visit, so S sequential
 * streams are read at once. Each panel's 4 sums of each x row stay in the output between visits (an
 * f32 stored and loaded back is the same value) and are added in group order with the one-row loop's
 * steps: the same bits. Pairs of x rows share each widened weight vector (4×2 register tile); an odd
 * last row takes q8Group.
 */
function q8Streams(outPtr: usize, outRowBytes: usize, wPtr: usize, xPtr: usize, n: i32, groups: i32, pb: usize, rec: usize, dOff: usize, pnOff: usize, S: i32, part: i32, hi8: v128, ones: v128, fmask: v128, s104: v128): void {
  const st = <usize>part * pb;
  const pairs = n & ~1;
  for (let j = 0; j < part; j++) {
    const w = wPtr + <usize>j * pb;
    for (let g0 = 0; g0 < groups; g0 += Q8_STREAM_GROUPS) {
      const first = g0 == 0;
      const gEnd = min(groups, g0 + Q8_STREAM_GROUPS);
      for (let s = 0; s < S; s++) {
        const w0 = w + <usize>s * st + <usize>g0 * 136, w1 = w + <usize>s * st + <usize>gEnd * 136;
        const o = streamOut(outPtr, j, part, s);
        for (let i = 0; i < pairs; i += 2) {
          let xa = xPtr + <usize>i * rec + (<usize>g0 << 6);
          let xb = xa + rec;
          let sa = xPtr + <usize>i * rec + dOff + (<usize>g0 << 2);
          const oa = o + <usize>i * outRowBytes, ob = oa + outRowBytes;
          let accA = first ? f32x4.splat(0) : v128.load(oa);
          let accB = first ? f32x4.splat(0) : v128.load(ob);
          for (let wk = w0; wk < w1; wk += 136, sa += 4) {
            let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
            let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            // 8 columns per step (4 loaded rows + 2 loaded x rows beside the 8 accumulators): a row's
            // columns c0..c0+7 are its even bytes, shl 8 of the 16 bytes at wb gives 256·qw; c0+8..c0+15
            // are its odd bytes, shl 8 of the 16 bytes one further gives them (the spare top byte read
            // is the next row's or the group's scales, always inside the panel). Steps at wb, wb + 1,
            // wb + 64, wb + 65: the stride alternates 1, 63.
            const kEnd = wk + 128;
            let step: usize = 1;
            for (let wb = wk; wb < kEnd; wb += step, step = 64 - step, xa += 16, xb += 16) {
              const x0 = v128.load(xa), x1 = v128.load(xb);
              let v = i16x8.shl(v128.load(wb), 8);
              a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, x0));
              b0 = i32x4.add(b0, i32x4.dot_i16x8_s(v, x1));
              v = i16x8.shl(v128.load(wb, 16), 8);
              a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, x0));
              b1 = i32x4.add(b1, i32x4.dot_i16x8_s(v, x1));
              v = i16x8.shl(v128.load(wb, 32), 8);
              a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v, x0));
              b2 = i32x4.add(b2, i32x4.dot_i16x8_s(v, x1));
              v = i16x8.shl(v128.load(wb, 48), 8);
              a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v, x0));
              b3 = i32x4.add(b3, i32x4.dot_i16x8_s(v, x1));
            }
            const dw = f16x4m(wk + 128, fmask, s104);
            accA = f32x4.add(accA, f32x4.mul(f32x4.convert_i32x4_s(isum4(a0, a1, a2, a3)), f32x4.mul(dw, v128.load32_splat(sa))));
            accB = f32x4.add(accB, f32x4.mul(f32x4.convert_i32x4_s(isum4(b0, b1, b2, b3)), f32x4.mul(dw, v128.load32_splat(sa + rec))));
          }
          v128.store(oa, accA);
          v128.store(ob, accB);
        }
        if (pairs < n) {
          const xi = xPtr + <usize>pairs * rec;
          const oi = o + <usize>pairs * outRowBytes;
          let acc = first ? f32x4.splat(0) : v128.load(oi);
          let xq = xi + (<usize>g0 << 6), xs = xi + dOff + (<usize>g0 << 2), pn = xi + pnOff + (<usize>g0 << 6);
          for (let wk = w0; wk < w1; wk += 136, xq += 64, xs += 4, pn += 64) acc = q8Group(acc, wk, xq, xs, pn, hi8, ones, fmask, s104);
          v128.store(oi, acc);
        }
      }
    }
  }
}

// ---- batches through row-lane vectors (needs the per-thread scratch) ----
//
// For a batch, the 4 rows' integer sums per group are better kept one row per i32 lane than
// transposed per x row and group: groups of a panel are unpacked once into the scratch as 16 vectors
// per group, vector t = the 4 rows' weights of columns 2t and 2t + 1 as i16 (×256: the byte in the
// high half), lanes (row 0: c, c + 1; row 1: c, c + 1; …), so that i32x4.dot_i16x8_s with the
// activation pair (x[2t], x[2t + 1]) broadcast (v128.load32_splat of section A's q16) adds row r's
// two products to lane r. Per x row and group that is 16 broadcasts, 16 dots and 16 adds and no
// transpose; the unpack (a byte shuffle to column order, a 4×8 transpose of i16 pairs, and the
// interleave with zero bytes) costs about 70 operations per panel group, shared by all n rows.
// The integer sums are the one-row loop's (256·Σ), and acc ← acc + f32(256·Σ)·((d·2^-8)·s) in group
// order as everywhere else: the same bits as matmul_q8_0_ref.
//
// Panels go in pairs (8 rows × 4 x rows: 8 accumulators, 2 weight vectors and 4 broadcasts per step,
// 2.75 vector operations per i32x4.dot_i16x8_s against 3.25 in the 4×2 tile plus its transposes); an
// odd last panel runs alone. Measured against the 4×2 tile on this host (1024×1024, one process,
// interleaved; bench:quants has the committed figures): 1.10–1.15× at n = 8–12, 1.2–1.3× from n = 32.
// Whole blocks of 4 x rows read the prepared input's section T16 (matmul_quant.ts: a step's 4 rows'
// column pairs side by side, then their d), one pointer at constant offsets instead of 4 records:
// 1.03–1.10× (896×4864 and 4864×896, 8–128 x rows, one thread, the same bits).
//
// Scratch (quant_scratch_bytes), two panels: groups [g0, g0 + 4) of the first panel, 256 bytes each
// @256·j, of the second @1024 + 256·j · their f32x4 d·2^-8 @2048 + 16·j and @2112 + 16·j · the 8 rows'
// f32x4 accumulators of the n x rows @3328 + 32·i. One panel: groups [g0, g0 + 8) @256·j · d·2^-8 @2048
// + 16·j · accumulators @3328 + 16·i.

/** Smallest batch that takes the row-lane path (measured). */
// @ts-ignore: decorator
@lazy const Q8_ROWS_MIN: i32 = 8;
// @ts-ignore: decorator
@lazy const ROWS_ACC: usize = 3328;

/** A row's 16 stored bytes in column order (order: K_Q8ORDER, in a register: a constant shuffle mask would be rebuilt at every use). */
// @ts-ignore: decorator
@inline function colOrder(v: v128, order: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(v, order);
  return i8x16.swizzle(v, order);
}

/** Unpack groups [0, count) of the panel groups at grp into the row-lane vectors (see above). */
// @ts-ignore: decorator
@inline function unpackQ8Rows(grp: usize, count: i32, scratch: usize, scales: usize, fmask: v128, s104: v128, order: v128): void {
  const zero = i32x4.splat(0);
  let dst = scratch;
  for (let j = 0; j < count; j++, grp += 136, dst += 256) {
    for (let kb: usize = 0; kb < 128; kb += 64) {
      // a row's 16 bytes in column order (stored: byte 2j = column j, 2j + 1 = column 8 + j)
      const v0 = colOrder(v128.load(grp + kb), order);
      const v1 = colOrder(v128.load(grp + kb, 16), order);
      const v2 = colOrder(v128.load(grp + kb, 32), order);
      const v3 = colOrder(v128.load(grp + kb, 48), order);
      // column pairs (16-bit units) of rows 0..3 side by side
      const a = i16x8.shuffle(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11);
      const b = i16x8.shuffle(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15);
      const c = i16x8.shuffle(v2, v3, 0, 8, 1, 9, 2, 10, 3, 11);
      const d = i16x8.shuffle(v2, v3, 4, 12, 5, 13, 6, 14, 7, 15);
      const e = i32x4.shuffle(a, c, 0, 4, 1, 5); // pairs 0, 1
      const f = i32x4.shuffle(a, c, 2, 6, 3, 7); // pairs 2, 3
      const g = i32x4.shuffle(b, d, 0, 4, 1, 5); // pairs 4, 5
      const h = i32x4.shuffle(b, d, 2, 6, 3, 7); // pairs 6, 7
      // each byte into the high half of an i16 lane: 256·q, exact
      const o = dst + (kb << 1);
      v128.store(o, i8x16.shuffle(zero, e, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
      v128.store(o, i8x16.shuffle(zero, e, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
      v128.store(o, i8x16.shuffle(zero, f, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), 32);
      v128.store(o, i8x16.shuffle(zero, f, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 48);
      v128.store(o, i8x16.shuffle(zero, g, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), 64);
      v128.store(o, i8x16.shuffle(zero, g, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 80);
      v128.store(o, i8x16.shuffle(zero, h, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), 96);
      v128.store(o, i8x16.shuffle(zero, h, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 112);
    }
    v128.store(scales + (<usize>j << 4), f16x4m(grp + 128, fmask, s104));
  }
}

/** x rows [0, n) of the prepared input of nx ≥ n rows. */
function matmulQ8Rows(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, nx: i32, rows: i32, cols: i32, scratch: usize): void {
  const pairRows = (rows >> 3) << 3;
  if (pairRows > 0) q8RowsTile(2, outPtr, outStride, wPtr, xPtr, n, nx, pairRows, cols, scratch);
  if (pairRows < rows) q8RowsTile(1, outPtr + (<usize>pairRows << 2), outStride, wPtr + <usize>(pairRows >> 2) * panelBytesQ8(cols), xPtr, n, nx, rows - pairRows, cols, scratch);
}

/**
 * P panels (P = 1 or 2, a constant; with 2, rows is a multiple of 8) × 4 x rows: per step P weight
 * vectors, 4 broadcasts and 4·P accumulators. Groups go in chunks of 8 / P through the scratch.
 */
// @ts-ignore: decorator
@inline function q8RowsTile(P: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, nx: i32, rows: i32, cols: i32, scratch: usize): void {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ8(cols);
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD(G << 5);
  const outRowBytes = <usize>outStride << 2;
  const fmask = kconst(K_F16MASK), s104 = kconst(K_F16SCALE_Q8), order = kconst(K_Q8ORDER);
  const C = 8 / P; // groups per chunk
  const dB = <usize>(C << 4); // second panel's scales after the first's
  const accs = scratch + ROWS_ACC;
  let w = wPtr;
  for (let r = 0; r < rows; r += 4 * P, w += pb * <usize>P) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let g0 = 0; g0 < G; g0 += C) {
      const count = min(C, G - g0);
      const last = g0 + count == G;
      unpackQ8Rows(w + <usize>g0 * 136, count, scratch, scratch + 2048, fmask, s104, order);
      if (P > 1) unpackQ8Rows(w + pb + <usize>g0 * 136, count, scratch + 1024, scratch + 2048 + dB, fmask, s104, order);
      // 4 x rows at a time: whole blocks from section T16, a short last block (from its records)
      // repeats its last row (same values to the same place)
      let i = 0;
      for (; i + 4 <= n; i += 4) q8Block(P, true, i, xPtr, n, nx, rec, dOff, cols, g0, count, last, accs, scratch, dB, o, outRowBytes, valid);
      if (i < n) q8Block(P, false, i, xPtr, n, nx, rec, dOff, cols, g0, count, last, accs, scratch, dB, o, outRowBytes, valid);
    }
  }
}

/**
 * 4 x rows i .. i + 3 (the last repeated when beyond n) over the unpacked groups [g0, g0 + count) of
 * P panels. tiled (a constant): the rows are a whole block, read from its section-T16 cells (the
 * prepared input of nx rows; matmul_quant.ts) at constant offsets from one pointer; else from their records.
 */
// @ts-ignore: decorator
@inline function q8Block(P: i32, tiled: bool, i: i32, xPtr: usize, n: i32, nx: i32, rec: usize, dOff: usize, cols: i32, g0: i32, count: i32, last: bool, accs: usize, scratch: usize, dB: usize, o: usize, outRowBytes: usize, valid: i32): void {
  const i1 = min(i + 1, n - 1), i2 = min(i + 2, n - 1), i3 = min(i + 3, n - 1);
  const b0 = xPtr + <usize>i * rec, b1 = xPtr + <usize>i1 * rec, b2 = xPtr + <usize>i2 * rec, b3 = xPtr + <usize>i3 * rec;
  let x0 = b0 + (<usize>g0 << 6), x1 = b1 + (<usize>g0 << 6), x2 = b2 + (<usize>g0 << 6), x3 = b3 + (<usize>g0 << 6);
  let s0 = b0 + dOff + (<usize>g0 << 2), s1 = b1 + dOff + (<usize>g0 << 2), s2 = b2 + dOff + (<usize>g0 << 2), s3 = b3 + dOff + (<usize>g0 << 2);
  let q = tiled ? xPtr + qxT16(nx, cols) + (<usize>(i >> 2) * <usize>((cols + 31) >> 5) + <usize>g0) * <usize>QXT16_CELL : 0;
  const AS = <usize>(3 + P); // log2 of an x row's accumulator bytes (16·P)
  const p0 = accs + (<usize>i << AS), p1 = accs + (<usize>i1 << AS), p2 = accs + (<usize>i2 << AS), p3 = accs + (<usize>i3 << AS);
  let e0 = f32x4.splat(0), e1 = e0, e2 = e0, e3 = e0, f0 = e0, f1 = e0, f2 = e0, f3 = e0;
  if (g0 != 0) {
    e0 = v128.load(p0);
    e1 = v128.load(p1);
    e2 = v128.load(p2);
    e3 = v128.load(p3);
    if (P > 1) {
      f0 = v128.load(p0, 16);
      f1 = v128.load(p1, 16);
      f2 = v128.load(p2, 16);
      f3 = v128.load(p3, 16);
    }
  }
  let p = scratch, ds = scratch + 2048;
  for (let j = 0; j < count; j++, p += 256, ds += 16, x0 += 64, x1 += 64, x2 += 64, x3 += 64, s0 += 4, s1 += 4, s2 += 4, s3 += 4, q += tiled ? <usize>QXT16_CELL - 256 : 0) {
    let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    // one step per iteration: V8 issues a block's loads first, and one step's P + 4 loads beside
    // the 4·P accumulators stay in registers
    for (let t: usize = 0; t < 64; t += 4, q += tiled ? 16 : 0) {
      const wa = v128.load(p + (t << 2));
      const y0 = tiled ? v128.load32_splat(q) : v128.load32_splat(x0 + t), y1 = tiled ? v128.load32_splat(q, 4) : v128.load32_splat(x1 + t);
      const y2 = tiled ? v128.load32_splat(q, 8) : v128.load32_splat(x2 + t), y3 = tiled ? v128.load32_splat(q, 12) : v128.load32_splat(x3 + t);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(wa, y0));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(wa, y1));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(wa, y2));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(wa, y3));
      if (P > 1) {
        const wb = v128.load(p + (t << 2), 1024);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(wb, y0));
        c1 = i32x4.add(c1, i32x4.dot_i16x8_s(wb, y1));
        c2 = i32x4.add(c2, i32x4.dot_i16x8_s(wb, y2));
        c3 = i32x4.add(c3, i32x4.dot_i16x8_s(wb, y3));
      }
    }
    const da = v128.load(ds), db = P > 1 ? v128.load(ds + dB) : da;
    // tiled: q is at the cell's d (after its 256 bytes of quants)
    let z = tiled ? v128.load32_splat(q, 0) : v128.load32_splat(s0);
    e0 = f32x4.add(e0, f32x4.mul(f32x4.convert_i32x4_s(a0), f32x4.mul(da, z)));
    if (P > 1) f0 = f32x4.add(f0, f32x4.mul(f32x4.convert_i32x4_s(c0), f32x4.mul(db, z)));
    z = tiled ? v128.load32_splat(q, 4) : v128.load32_splat(s1);
    e1 = f32x4.add(e1, f32x4.mul(f32x4.convert_i32x4_s(a1), f32x4.mul(da, z)));
    if (P > 1) f1 = f32x4.add(f1, f32x4.mul(f32x4.convert_i32x4_s(c1), f32x4.mul(db, z)));
    z = tiled ? v128.load32_splat(q, 8) : v128.load32_splat(s2);
    e2 = f32x4.add(e2, f32x4.mul(f32x4.convert_i32x4_s(a2), f32x4.mul(da, z)));
    if (P > 1) f2 = f32x4.add(f2, f32x4.mul(f32x4.convert_i32x4_s(c2), f32x4.mul(db, z)));
    z = tiled ? v128.load32_splat(q, 12) : v128.load32_splat(s3);
    e3 = f32x4.add(e3, f32x4.mul(f32x4.convert_i32x4_s(a3), f32x4.mul(da, z)));
    if (P > 1) f3 = f32x4.add(f3, f32x4.mul(f32x4.convert_i32x4_s(c3), f32x4.mul(db, z)));
  }
  if (last) {
    // (a pair of panels is always whole; a single one may be the matrix's partial last)
    const q0 = o + <usize>i * outRowBytes, q1 = o + <usize>i1 * outRowBytes, q2 = o + <usize>i2 * outRowBytes, q3 = o + <usize>i3 * outRowBytes;
    storePanel4(q0, e0, valid);
    storePanel4(q1, e1, valid);
    storePanel4(q2, e2, valid);
    storePanel4(q3, e3, valid);
    if (P > 1) {
      v128.store(q0, f0, 16);
      v128.store(q1, f1, 16);
      v128.store(q2, f2, 16);
      v128.store(q3, f3, 16);
    }
  } else {
    v128.store(p0, e0);
    v128.store(p1, e1);
    v128.store(p2, e2);
    v128.store(p3, e3);
    if (P > 1) {
      v128.store(p0, f0, 16);
      v128.store(p1, f1, 16);
      v128.store(p2, f2, 16);
      v128.store(p3, f3, 16);
    }
  }
}

/** Byte offset, inside its group, of the quant of row-in-panel rr and group column j (0..31). */
// @ts-ignore: decorator
@inline function q8Offset(rr: usize, j: i32): usize {
  const kb = <usize>(j >> 4); // k-block within the group
  const c = j & 15;
  return (kb << 6) + (rr << 4) + <usize>(((c & 7) << 1) | (c >> 3));
}

/** Scalar twin of matmul_q8_0 over the same layout: per output, group by group, acc ← acc + f32(256·Σ)·((d·2^-8)·s). */
export function matmul_q8_0_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const pb = panelBytesQ8(cols);
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD((cols + 31) & ~31);
  for (let i = 0; i < n; i++) {
    const xq = xPtr + <usize>i * rec;
    const xs = xq + dOff;
    const o = outPtr + ((<usize>i * <usize>outStride) << 2);
    for (let r = 0; r < rows; r++) {
      const panel = wPtr + <usize>(r >> 2) * pb;
      const rr = <usize>(r & 3);
      let acc: f32 = 0;
      for (let g = 0; g < G; g++) {
        const grp = panel + <usize>g * 136;
        let sum: i32 = 0;
        for (let j = 0; j < 32; j++) sum += <i32>load<i8>(grp + q8Offset(rr, j)) * <i32>load<i16>(xq + (<usize>((g << 5) + j) << 1));
        const scale = f16s(<u32>load<u16>(grp + 128 + (rr << 1))) * INV_256 * load<f32>(xs + (<usize>g << 2));
        acc = acc + <f32>(sum << 8) * scale;
      }
      store<f32>(o + (<usize>r << 2), acc);
    }
  }
}

/**
 * Repack GGUF Q8_0 blocks (row-major [rows, cols/32] blocks of 34 bytes at srcPtr: f16 d, 32 int8)
 * into the Q8_0 layout at dstPtr, without changing a value (d of either sign, quants −128..127).
 * cols must be a multiple of 32. Returns −1, or the block index r·G + g of the first block whose
 * scale is Inf or NaN (that group is stored as zeros).
 */
export function pack_q8_0(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packQ8(dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q8_0: one quant at a time through q8Offset. */
export function pack_q8_0_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packQ8(dstPtr, srcPtr, rows, cols, false);
}

// @ts-ignore: decorator
@inline function packQ8(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): i32 {
  const G = cols >> 5;
  const pb = panelBytesQ8(cols);
  let bad = -1;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const rr = <usize>(r & 3);
    const panel = dstPtr + <usize>(r >> 2) * pb;
    for (let g = 0; g < G; g++) {
      const grp = panel + <usize>g * 136;
      const blk = srcPtr + <usize>(r * G + g) * 34;
      let h: u32 = r < rows ? <u32>load<u16>(blk) : 0;
      let ok = r < rows;
      if (f16NonFinite(h)) {
        if (bad < 0) bad = r * G + g;
        h = 0;
        ok = false;
      }
      if (fast) {
        // a k-block's stored order is a byte shuffle of its 16 columns (q8Offset): c0 c8 c1 c9 ..
        let v0 = i32x4.splat(0), v1 = v0;
        if (ok) {
          v0 = v128.load(blk + 2);
          v1 = v128.load(blk + 18);
        }
        v128.store(grp + (rr << 4), i8x16.shuffle(v0, v0, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
        v128.store(grp + (rr << 4), i8x16.shuffle(v1, v1, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15), 64);
      } else for (let j = 0; j < 32; j++) store<i8>(grp + q8Offset(rr, j), ok ? load<i8>(blk + 2 + <usize>j) : 0);
      store<u16>(grp + 128 + (rr << 1), <u16>h);
    }
  }
  return bad;
}

/**
 * Quantise row-major f32 W [rows, cols] into the Q8_0 layout exactly as ggml's quantize_row_q8_0_ref
 * does (a partial last group as if zero-padded): per group, d = max|w|/127 (f32, stored as f16),
 * q = roundf(w·(1/d)). Returns −1, or the index r·G + g of the first group holding a NaN/Inf weight or
 * whose f16 scale is not finite (max|w| beyond 127·65504); that group is stored as zeros.
 */
export function quant_q8_0(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return quantQ8(dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of quant_q8_0: one weight at a time (whole groups of the fast one take 8 f32x4 steps). */
export function quant_q8_0_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return quantQ8(dstPtr, srcPtr, rows, cols, false);
}

/** 16 weights (a..d) × id rounded as roundAway, as 16 i8 (|w·id| ≤ 127.5: no saturation). */
// @ts-ignore: decorator
@inline function quantBytes(a: v128, b: v128, c: v128, d: v128, id: v128): v128 {
  const ab = i16x8.narrow_i32x4_s(truncInRange(roundAway4(f32x4.mul(a, id))), truncInRange(roundAway4(f32x4.mul(b, id))));
  const cd = i16x8.narrow_i32x4_s(truncInRange(roundAway4(f32x4.mul(c, id))), truncInRange(roundAway4(f32x4.mul(d, id))));
  return i8x16.narrow_i16x8_s(ab, cd);
}

/** C's roundf of 4 lanes (half away from zero), exact: trunc, then ±1 where the dropped fraction (exact) is ≥ 0.5. */
// @ts-ignore: decorator
@inline function roundAway4(v: v128): v128 {
  const t = f32x4.trunc(v);
  const up = f32x4.ge(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5));
  return f32x4.add(t, v128.and(up, v128.or(v128.and(v, i32x4.splat(0x80000000)), f32x4.splat(1))));
}

// @ts-ignore: decorator
@inline function quantQ8(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): i32 {
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
      if (fast && count == 32) {
        // a whole group: the same d, id and quants as the loop below, 4 weights at a time
        const p = src + (<usize>c0 << 2);
        const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
        const v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
        const amax = absMax8(v0, v1, v2, v3, v4, v5, v6, v7); // NaN if any weight is NaN
        const d: f32 = amax / 127;
        const id: f32 = d != 0 ? <f32>1 / d : 0;
        let h = f32ToF16Bits(d);
        if (!(amax <= F32_MAX) || f16NonFinite(h)) {
          if (bad < 0) bad = r * G + g;
          v128.store(grp + (rr << 4), i32x4.splat(0));
          v128.store(grp + (rr << 4), i32x4.splat(0), 64);
          store<u16>(grp + 128 + (rr << 1), 0);
          continue;
        }
        // an f32-subnormal d makes 1/d infinite: such a group takes the loop below (its quants are what
        // the scalar conversion makes of Inf and NaN)
        if (id <= F32_MAX) {
          const s = f32x4.splat(id);
          const q0 = quantBytes(v0, v1, v2, v3, s), q1 = quantBytes(v4, v5, v6, v7, s);
          v128.store(grp + (rr << 4), i8x16.shuffle(q0, q0, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
          v128.store(grp + (rr << 4), i8x16.shuffle(q1, q1, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15), 64);
          store<u16>(grp + 128 + (rr << 1), <u16>h);
          continue;
        }
      }
      let amax: f32 = 0;
      let finite = true;
      for (let c = 0; c < count; c++) {
        const a = abs<f32>(load<f32>(src + (<usize>(c0 + c) << 2)));
        if (!(a <= F32_MAX)) finite = false; // NaN / ±Inf: refused (ggml's MAX would let a NaN slip through)
        amax = amax > a ? amax : a;
      }
      const d: f32 = amax / 127;
      const id: f32 = d != 0 ? <f32>1 / d : 0;
      let h = f32ToF16Bits(d);
      const ok = finite && !f16NonFinite(h);
      if (!ok) {
        if (bad < 0) bad = r * G + g;
        h = 0;
      }
      for (let j = 0; j < 32; j++) {
        let q: i32 = 0;
        // as ggml: quants from the f32 d even where its f16 rounds to 0 (|w·(1/d)| ≤ 127.5 here)
        if (j < count && ok) q = <i32>roundAway(load<f32>(src + (<usize>(c0 + j) << 2)) * id);
        store<i8>(grp + q8Offset(rr, j), <i8>q);
      }
      store<u16>(grp + 128 + (rr << 1), <u16>h);
    }
  }
  return bad;
}

/** C's roundf (half away from zero), exact: the + 0.5 is done in f64. */
// @ts-ignore: decorator
@inline export function roundAway(v: f32): f32 {
  const a = <f64>abs<f32>(v);
  const r = <f32>floor(a + 0.5);
  return v < 0 ? -r : r;
}

/**
 * Dequantise rows [r0, r0 + count) of a Q8_0 panel matrix into dst (f32 [count, cols], row-major):
 * d·q as ggml's dequantize_row_q8_0 (bit for bit). Used for embedding lookups and tests.
 */
export function dequant_q8_0(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantQ8(dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q8_0: one weight at a time; the same values, bit for bit. */
export function dequant_q8_0_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantQ8(dstPtr, wPtr, rows, cols, r0, count, false);
}

/** A k-block's 16 quants of one row (bytes in the panel's order) → f32(q)·d at dst, columns in order. */
// @ts-ignore: decorator
@inline function dqQ8(dst: usize, v: v128, d: v128): void {
  storeScaledI8(dst, i8x16.shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15), d); // d·f32(q) = f32(q)·d
}

// @ts-ignore: decorator
@inline function dequantQ8(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32, fast: bool): void {
  const pb = panelBytesQ8(cols);
  // the vector path takes whole groups; a row's last partial group (cols % 32) goes one weight at a time
  const whole = fast ? cols >> 5 : 0;
  for (let k = 0; k < count; k++) {
    const r = r0 + k;
    const rr = <usize>(r & 3);
    const panel = wPtr + <usize>(r >> 2) * pb;
    const dst = dstPtr + ((<usize>k * <usize>cols) << 2);
    let grp = panel;
    for (let g = 0; g < whole; g++, grp += 136) {
      const d = f32x4.splat(f16Value(<u32>load<u16>(grp + 128 + (rr << 1))));
      const o = dst + (<usize>g << 7);
      dqQ8(o, v128.load(grp + (rr << 4)), d);
      dqQ8(o + 64, v128.load(grp + 64 + (rr << 4)), d);
    }
    for (let c = whole << 5; c < cols; c++) {
      const grp = panel + <usize>(c >> 5) * 136;
      const d = f16Value(<u32>load<u16>(grp + 128 + (rr << 1)));
      store<f32>(dst + (<usize>c << 2), <f32>load<i8>(grp + q8Offset(rr, c & 31)) * d);
    }
  }
}
