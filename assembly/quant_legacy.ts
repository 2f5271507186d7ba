// The 32-column block types Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL as linear layers (weights × section A
// of the prepared input, as llama.cpp pairs them with q8_0/q8_1 activations):
//   out[i, r] = Σ_g s[i, g]·(d[r, g]·Σ_{c ∈ g} u[r, c]·qx[i, c] − off·d[r, g]·Σ_{c ∈ g} qx[i, c]) (+ m[r, g]·s[i, g]·Σ qx)
// with u the stored unsigned quant (Q4: 0..15, Q5: 0..31; off = 8 for Q4_0, 16 for Q5_0, 0 for the
// _1 types, which add m instead), or for IQ4_NL the signed table value KVALUES[u] (no offset).
//
// Packed layout, for W [rows, cols] (cols a multiple of 32 for GGUF data; quant_q4_0 pads a last
// partial group as ggml would a zero-padded block): 4-row panels, G = ceil(cols/32) groups per panel,
// group g of panel p at p·GB·G + g·GB (GB = bytes per group, below), rows rr = 0..3:
//   [0, 64)    row rr's 16 quant bytes A at 16·rr. Q4 and IQ4_NL: GGML's own order, byte j = u[c0 + j] |
//              u[c0 + 16 + j] << 4. Q5 (u has 5 bits): byte j = u[c0 + j] | (u[c0 + 16 + j] >> 2) << 5
//   Q5 only:   [64, 80) the 4 rows' 16 bytes B: byte j, bits 2·rr and 2·rr + 1, hold u[c0 + 16 + j] & 3 of
//              row rr (the low two bits of the high plane), so one shift and one mask give a row's (high5)
//   then       f16 d of the 4 rows (8 bytes), and for Q4_1 / Q5_1 f16 m of the 4 rows (8 bytes)
//   GB: Q4_0 72, Q4_1 80, Q5_0 88, Q5_1 96, IQ4_NL 72 — exactly GGML's bytes per row per block, ×4.
// Scales keep their bits (either sign; Inf/NaN refused when packing). The value of a weight is ggml's
// dequantised value; dequant_* reproduce dequantize_row_* bit for bit.
// pack_T moves a block's 16 quant bytes (Q5: and its fifth bits, spread from qh) as one vector;
// pack_T_ref, its scalar twin, goes byte by byte.
//
// Kernel: per group and row, the two 16-column planes (Q4: low and high nibbles of A; Q5: A & 0x1f, and
// (A >> 3) & 0x1c with the row's two bits of B or-ed in, see high5; B is loaded once for the 4 rows:
// the layout costs 5–6 SIMD operations per row and group where GGML's costs 10) go through dot2 (exact
// integer sums), a transpose-add gives the 4 rows in one vector, the offset is subtracted as an
// integer, then acc ← acc + f32(Σ)·(d·s) (and acc ← acc + m·f16(s·Σqx) for the _1 types, the product
// rounded as llama.cpp's q8_1 activations store it) with
// unfused f32 operations: the SIMD kernels equal their scalar twins bit for bit in every build.
// Batches (given the per-thread scratch) unpack each group once for all x rows: the i16 tile, and in
// the relaxed build the row-lane tiles (sections below).

import { dot2, storeScaledI8, storeDequant16, kconst, truncInRange, absMax8, K_M15, K_M1F, K_M1C, K_M3, K_B16, K_ONES16, K_F16MASK, K_F16SCALE, f16x4m, dotSigned1, f16x4, f16s, f16Value, f16NonFinite, f32ToF16Bits, isum4, storePanel4, qx_row_bytes, qxD, qxBs32, qxS, qxLs, q4RowLanes, storeTransposed4, QXT_CELL, MATVEC_STREAMS, streamPart, storeStreams } from './matmul_quant';

// @ts-ignore: decorator
@lazy const Q4_0: i32 = 0;
// @ts-ignore: decorator
@lazy const Q4_1: i32 = 1;
// @ts-ignore: decorator
@lazy const Q5_0: i32 = 2;
// @ts-ignore: decorator
@lazy const Q5_1: i32 = 3;
// @ts-ignore: decorator
@lazy const IQ4_NL: i32 = 4;

// @ts-ignore: decorator
@lazy const F32_MAX: f32 = 3.4028234663852886e38;
/** Smallest batch that takes the 4×2 tile (it wins from 2 x rows up: measured; relaxed build: rowsMin). */
// @ts-ignore: decorator
@lazy const BATCH_MIN: i32 = 2;

/**
 * Smallest batch that takes the relaxed row-lane path (measured against the one-row loop below it:
 * Q4_1 wins from 4 x rows, Q4_0 from 6, Q5_0 and Q5_1 from 3).
 */
// @ts-ignore: decorator
@inline function rowsMin(kind: i32): i32 {
  return kind == Q4_1 ? 4 : kind == Q4_0 ? 6 : 3;
}

/** IQ4_NL's 16 values (ggml's kvalues_iq4nl) as bytes, for the table lookup. */
// @ts-ignore: decorator
@lazy const KVALUES: v128 = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

// @ts-ignore: decorator
@inline function isQ5(kind: i32): bool {
  return kind == Q5_0 || kind == Q5_1;
}
// @ts-ignore: decorator
@inline function hasMin(kind: i32): bool {
  return kind == Q4_1 || kind == Q5_1;
}
/** Bytes per group of a panel. */
// @ts-ignore: decorator
@inline function groupBytes(kind: i32): usize {
  return kind == Q4_1 ? 80 : kind == Q5_0 ? 88 : kind == Q5_1 ? 96 : 72;
}
/** Offset of the 4 f16 d inside a group. */
// @ts-ignore: decorator
@inline function dAt(kind: i32): usize {
  return isQ5(kind) ? 80 : 64;
}
/** The integer offset subtracted from u (Q4_0 8, Q5_0 16, else 0). */
// @ts-ignore: decorator
@inline function offsetOf(kind: i32): i32 {
  return kind == Q4_0 ? 8 : kind == Q5_0 ? 16 : 0;
}

/**
 * Q5: a row's two low bits of the high-plane columns as bits 0 and 1 of each byte, from the group's
 * 16 bytes B (bq, loaded once for the 4 rows; layout above): row rr's field sits at bits 2·rr, so an
 * i16 shift right by 2·rr (none for row 0) and the 0x03 mask (m3) take it; the bits the i16 shift
 * pulls in from the next byte land at bit 2 or above and are masked off.
 */
// @ts-ignore: decorator
@inline function high5(kind: i32, bq: v128, rr: usize, m3: v128): v128 {
  if (!isQ5(kind)) return i32x4.splat(0);
  if (rr == 0) return v128.and(bq, m3);
  return v128.and(i16x8.shr_u(bq, <i32>(rr << 1)), m3);
}

/** Q5: the group's 16 bytes B (zeros for the other kinds, unused there). */
// @ts-ignore: decorator
@inline function loadB(kind: i32, grp: usize): v128 {
  return isQ5(kind) ? v128.load(grp + 64) : i32x4.splat(0);
}

/** The low plane (columns 0..15) of one row's group, as unsigned bytes u (lom: 0x1f for Q5, else 0x0f). */
// @ts-ignore: decorator
@inline function planeLo(row: usize, lom: v128): v128 {
  return v128.and(v128.load(row), lom);
}
/** The high plane (columns 16..31), as unsigned bytes u (y: high5; him: 0x1c for Q5, else 0x0f). */
// @ts-ignore: decorator
@inline function planeHi(kind: i32, row: usize, y: v128, him: v128): v128 {
  if (!isQ5(kind)) return v128.and(i16x8.shr_u(v128.load(row), 4), him);
  return v128.or(v128.and(i16x8.shr_u(v128.load(row), 3), him), y);
}

/** IQ4_NL: 16 indices → their signed table values. */
// @ts-ignore: decorator
@inline function lookup(idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(KVALUES, idx);
  return i8x16.swizzle(KVALUES, idx);
}

/** Relaxed build, unsigned types: a row's two planes lo, hi against one x row's activation bytes x0, x1: i16 pair sums (each ≤ 2·2·31·127). */
// @ts-ignore: decorator
@inline function planeDots(x0: v128, x1: v128, lo: v128, hi: v128): v128 {
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(x1, hi));
}

/** Two rows' i16 pair sums p, q (one x row) → [Σ half of p, Σ other half of p, Σ half of q, Σ other half of q] as i32 lanes (exact). */
// @ts-ignore: decorator
@inline function fold2(p: v128, q: v128, ones: v128): v128 {
  const a = i32x4.dot_i16x8_s(p, ones), b = i32x4.dot_i16x8_s(q, ones);
  return i32x4.add(i32x4.shuffle(a, b, 0, 1, 4, 5), i32x4.shuffle(a, b, 2, 3, 6, 7));
}

/**
 * Exact Σ over one row's group (i32x4 partial sums). Relaxed build, unsigned types: one
 * relaxed_dot per plane against the group's activation bytes xlo, xhi (loaded once for the panel's
 * 4 rows); otherwise the widened i16 activations at q16 (dot2, or IQ4_NL's signed table values).
 */
// @ts-ignore: decorator
@inline function rowGroup(kind: i32, grp: usize, rr: usize, bq: v128, xlo: v128, xhi: v128, q16: usize, lom: v128, him: v128, m3: v128, ones: v128): v128 {
  const row = grp + (rr << 4);
  const y = high5(kind, bq, rr, m3);
  const lo = planeLo(row, lom);
  const hi = planeHi(kind, row, y, him);
  if (kind == IQ4_NL) return i32x4.add(dotSigned1(lookup(lo), q16), dotSigned1(lookup(hi), q16 + 32));
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.dot_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xlo, lo), i16x8.relaxed_dot_i8x16_i7x16_s(xhi, hi)), ones);
  return dot2(lo, hi, 0, q16);
}

// ---- the batched path (n ≥ batchMin x rows; needs the per-thread scratch) ----
//
// Per panel, up to 8 groups at a time are unpacked into the scratch as signed i16 weights u − off (IQ4_NL:
// the table value) in "octets": group j's columns 8o .. 8o + 7 (o = 0..3) of row rr at 256j + 64o + 16rr,
// with the 4 rows' d (and m) decoded to f32. Then pairs of x rows run over them in a 4×2 register tile:
// per octet 4 weight loads feed 8 pmaddwd (two x rows), 8 accumulators, within the 15 XMM registers (V8
// issues a block's loads first: a step holds 4 + 2 loaded vectors); an odd last x row takes a one-row
// loop. Σ (u − off)·x = Σ u·x − off·Σ x exactly, so the integers are the direct path's and the f32 steps
// are the same in the same order: identical results.
// Scratch: octets @0 (2048 B) · d f32x4 [8] @2048 · m @2176 · the x rows' accumulators @3328
// (quant_k.ts SCRATCH_ACC; quant_scratch_bytes there).

/** Unpack groups [g0, g0 + count) of the panel at w into the scratch (octets, d, m). */
// @ts-ignore: decorator
@inline function unpackLegacy(kind: i32, w: usize, g0: i32, count: i32, scratch: usize, lom: v128, him: v128, m3: v128, fmask: v128, f16scale: v128): void {
  const GB = groupBytes(kind);
  const offv = i8x16.splat(<i8>offsetOf(kind));
  let grp = w + <usize>g0 * GB;
  let dst = scratch;
  for (let j = 0; j < count; j++, grp += GB, dst += 256) {
    const bq = loadB(kind, grp);
    for (let rr: usize = 0; rr < 4; rr++) {
      const y = high5(kind, bq, rr, m3);
      let lo = planeLo(grp + (rr << 4), lom);
      let hi = planeHi(kind, grp + (rr << 4), y, him);
      if (kind == IQ4_NL) {
        lo = lookup(lo);
        hi = lookup(hi);
      } else if (offsetOf(kind) != 0) {
        lo = i8x16.sub(lo, offv);
        hi = i8x16.sub(hi, offv);
      }
      const p = dst + (rr << 4);
      v128.store(p, i16x8.extend_low_i8x16_s(lo));
      v128.store(p, i16x8.extend_high_i8x16_s(lo), 64);
      v128.store(p, i16x8.extend_low_i8x16_s(hi), 128);
      v128.store(p, i16x8.extend_high_i8x16_s(hi), 192);
    }
    v128.store(scratch + 2048 + (<usize>j << 4), f16x4m(grp + dAt(kind), fmask, f16scale));
    if (hasMin(kind)) v128.store(scratch + 2176 + (<usize>j << 4), f16x4m(grp + dAt(kind) + 8, fmask, f16scale));
  }
}

// @ts-ignore: decorator
@inline function matmulLegacyBatched(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const G = (cols + 31) >> 5;
  const GB = groupBytes(kind);
  const pb = <usize>G * GB;
  const CA = G << 5;
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD(CA);
  const sOff = qxS(CA);
  const outRowBytes = <usize>outStride << 2;
  const lom = kconst(isQ5(kind) ? K_M1F : K_M15), him = kconst(isQ5(kind) ? K_M1C : K_M15), m3 = kconst(K_M3), fmask = kconst(K_F16MASK);
  const f16scale = kconst(K_F16SCALE);
  const accs = scratch + 3328;
  const pairs = n & ~1;
  let w = wPtr;
  for (let r = 0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let g0 = 0; g0 < G; g0 += 8) {
      const count = min(8, G - g0);
      const first = g0 == 0;
      const last = g0 + count == G;
      unpackLegacy(kind, w, g0, count, scratch, lom, him, m3, fmask, f16scale);
      const pEnd = scratch + (<usize>count << 8);
      for (let i = 0; i < pairs; i += 2) {
        const baseA = xPtr + <usize>i * rec;
        const apA = accs + (<usize>i << 4);
        let accA = first ? f32x4.splat(0) : v128.load(apA);
        let accB = first ? f32x4.splat(0) : v128.load(apA, 16);
        let xa = baseA + (<usize>g0 << 6), xb = xa + rec;
        let dx = baseA + dOff + (<usize>g0 << 2);
        let p = scratch, dw = scratch + 2048;
        for (; p < pEnd; dw += 16, dx += 4) {
          let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
          let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
          const gEnd = p + 256;
          for (; p < gEnd; p += 64, xa += 16, xb += 16) {
            const x0 = v128.load(xa), x1 = v128.load(xb);
            let v = v128.load(p);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, x0));
            b0 = i32x4.add(b0, i32x4.dot_i16x8_s(v, x1));
            v = v128.load(p, 16);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, x0));
            b1 = i32x4.add(b1, i32x4.dot_i16x8_s(v, x1));
            v = v128.load(p, 32);
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v, x0));
            b2 = i32x4.add(b2, i32x4.dot_i16x8_s(v, x1));
            v = v128.load(p, 48);
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v, x0));
            b3 = i32x4.add(b3, i32x4.dot_i16x8_s(v, x1));
          }
          const d = v128.load(dw);
          accA = f32x4.add(accA, f32x4.mul(f32x4.convert_i32x4_s(isum4(a0, a1, a2, a3)), f32x4.mul(d, v128.load32_splat(dx))));
          accB = f32x4.add(accB, f32x4.mul(f32x4.convert_i32x4_s(isum4(b0, b1, b2, b3)), f32x4.mul(d, v128.load32_splat(dx + rec))));
          if (hasMin(kind)) {
            const m = v128.load(dw, 128);
            accA = f32x4.add(accA, f32x4.mul(m, v128.load32_splat(dx + (sOff - dOff))));
            accB = f32x4.add(accB, f32x4.mul(m, v128.load32_splat(dx + rec + (sOff - dOff))));
          }
        }
        if (last) {
          storePanel4(o + <usize>i * outRowBytes, accA, valid);
          storePanel4(o + <usize>(i + 1) * outRowBytes, accB, valid);
        } else {
          v128.store(apA, accA);
          v128.store(apA, accB, 16);
        }
      }
      if (pairs < n) {
        // the odd last x row: two octets per step
        const i = pairs;
        const base = xPtr + <usize>i * rec;
        const ap = accs + (<usize>i << 4);
        let acc = first ? f32x4.splat(0) : v128.load(ap);
        let xq = base + (<usize>g0 << 6);
        let dx = base + dOff + (<usize>g0 << 2);
        let p = scratch, dw = scratch + 2048;
        for (; p < pEnd; dw += 16, dx += 4) {
          let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
          const gEnd = p + 256;
          for (; p < gEnd; p += 128, xq += 32) {
            const x0 = v128.load(xq), x1 = v128.load(xq, 16);
            a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(v128.load(p), x0), i32x4.dot_i16x8_s(v128.load(p, 64), x1)));
            a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 16), x0), i32x4.dot_i16x8_s(v128.load(p, 80), x1)));
            a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 32), x0), i32x4.dot_i16x8_s(v128.load(p, 96), x1)));
            a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 48), x0), i32x4.dot_i16x8_s(v128.load(p, 112), x1)));
          }
          acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum4(a0, a1, a2, a3)), f32x4.mul(v128.load(dw), v128.load32_splat(dx))));
          if (hasMin(kind)) acc = f32x4.add(acc, f32x4.mul(v128.load(dw, 128), v128.load32_splat(dx + (sOff - dOff))));
        }
        if (last) storePanel4(o + <usize>i * outRowBytes, acc, valid);
        else v128.store(ap, acc);
      }
    }
  }
}

// ---- relaxed build, batches: row-lane vectors (unsigned types; needs the per-thread scratch) ----
//
// For a batch the 4 rows' integer sums are better kept one row per i32 lane than reduced per x row and
// group by isum4: each group of a panel is unpacked once into 8 "row-lane" vectors, vector t (t = 0..7)
// = the 4 rows' bytes u of columns 4t .. 4t + 3, lanes (row 0: c .. c + 3, row 1: …, row 3) (a 4×4
// transpose of i32 lanes; Q4 transposes the stored bytes once and masks / shifts both planes out of
// the result). For an x row, v128.load32_splat of its 4 activation bytes at q8 + 4t and
// i16x8.relaxed_dot_i8x16_i7x16_s (x the signed operand, u ≤ 31 the 7-bit one) give row r's two pair
// sums in i16 lanes 2r, 2r + 1, each lane over 16 of the group's columns (4k, 4k + 1 and 4k + 2,
// 4k + 3). All 8 steps add in i16, then one i32x4.dot_i16x8_s with ones folds a row's two lanes into
// its i32 lane. Q4: a lane is ≤ 16·15·127 = 30480, exact. Q5: the sum Σ u·x can reach 16·31·127 =
// 62992 and wraps, but Σ (u − 16)·x, with u − 16 in [−16, 15], stays within ±16·16·127 = 32512; so
// subtracting 16·Σ x over the lane's columns (the prepared input's two lane sums, ls) in wrapping i16
// arithmetic leaves that value exactly, for Q5_0 the offset sum itself and for Q5_1 16·Σ x short of
// Σ u·x (added back in i32). Per x row, panel and group: 8 broadcasts, 8 pmaddubsw, 8 i16 adds and 1
// pmaddwd (Q5: and a shift and a subtraction). The offset is subtracted from the exact sums as an
// integer and the f32 steps are the one-row loop's, in its order: the same bits as matmulLegacyRef.
// Tiles: panels in pairs (rows a multiple of 8, then 1–2 single panels, the last maybe partial) × 4
// x rows, then 2 and 1 for the rest of n: per step 1–2 weight loads and up to 4 broadcasts feed up to
// 8 i16 sums, within V8's 15 XMM registers (one step per loop iteration: V8 issues a block's loads at
// its start). A tile of 4 x rows reads the prepared input's section T (matmul_quant.ts), where a step's
// 4 × 4 activation bytes and a group's d, ls·16, s and bs32 of the 4 rows sit at constant offsets from
// one pointer: no address arithmetic per x row, and no shift of ls. Against the 4 separate records
// (x64 AVX-512 VM, one thread, 896×4864, the same bits): Q5_0 1.10–1.14×, Q5_1 1.11–1.24×, Q4_0
// 1.10–1.12×, Q4_1 1.02–1.08× at 8–128 x rows; 4864×896 Q5_0 1.10× at 128.
// Measured against the paths it replaced (their time / its time; x64 AVX-512 VM, one thread, 1024×1024,
// 896×4864 and 4864×896, n = 6 .. 128; the same bits): Q4_0 1.2–1.65× from 8 x rows (0.96–1.19 at 6),
// Q4_1 1.25–1.6× from 6; below that the gain is within noise or a loss: the thresholds in rowsMin.
// Q5 ran its sums in two runs of 4 steps, each folded to i32 by its own pmaddwd, with panel pairs
// taking 2 x rows at a time; the lane sums (one run, 4 x rows) made it 1.12–1.27× (Q5_0) and
// 1.02–1.23× (Q5_1) faster at 8–128 x rows, 896×4864, and it now beats the byte path that served 3–7 x
// rows (1.0–1.27×).
// Scratch: panel A's group j @128·j, panel B's @1024 + 128·j · d f32x4 of A @2048 + 16·j, of B @2304
// + 16·j (m 128 bytes after each) · the x rows' f32x4 sums @3328 + 32·i (A's, then B's).

/** Relaxed build, unsigned types: unpack groups [g0, g0 + count) into row-lane vectors (see above). */
// @ts-ignore: decorator
@inline function unpackLegacyRows(kind: i32, w: usize, g0: i32, count: i32, dst: usize, scales: usize, lom: v128, him: v128, m3: v128, fmask: v128, f16scale: v128): void {
  const GB = groupBytes(kind);
  let grp = w + <usize>g0 * GB;
  for (let j = 0; j < count; j++, grp += GB, dst += 128) {
    if (isQ5(kind)) {
      const bq = loadB(kind, grp);
      storeTransposed4(planeLo(grp, lom), planeLo(grp + 16, lom), planeLo(grp + 32, lom), planeLo(grp + 48, lom), dst);
      storeTransposed4(planeHi(kind, grp, high5(kind, bq, 0, m3), him), planeHi(kind, grp + 16, high5(kind, bq, 1, m3), him), planeHi(kind, grp + 32, high5(kind, bq, 2, m3), him), planeHi(kind, grp + 48, high5(kind, bq, 3, m3), him), dst + 64);
    } else {
      q4RowLanes(grp, dst, lom);
    }
    v128.store(scales + (<usize>j << 4), f16x4m(grp + dAt(kind), fmask, f16scale));
    if (hasMin(kind)) v128.store(scales + (<usize>j << 4), f16x4m(grp + dAt(kind) + 8, fmask, f16scale), 128);
  }
}

/** i16 pair sums of row-lane vector w against the 4 activation bytes at x, added to h. */
// @ts-ignore: decorator
@inline function laneStep(h: v128, w: v128, x: usize): v128 {
  return i16x8.add(h, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load32_splat(x), w));
}

/** zk × the x row's Σ x over the group (its bs32 at p), splatted; nothing read when zk is 0 (Q4_1, Q5_0). */
// @ts-ignore: decorator
@inline function groupZ(zk: i32, p: usize): v128 {
  return zk != 0 ? i32x4.splat(zk * <i32>load<i16>(p)) : i32x4.splat(0);
}

/** zk × an x row's Σ x over the group from its section-T cell (bs32 as i32 at q + off), splatted; nothing read when zk is 0. */
// @ts-ignore: decorator
@inline function cellZ(zk: i32, q: usize, off: usize): v128 {
  return zk != 0 ? i32x4.splat(zk * load<i32>(q + off)) : i32x4.splat(0);
}

/**
 * One panel's f32 step for a group of the row-lane tile, the one-row loop's in its order: acc + f32(a −
 * z)·(d·y) (z = off·Σ x of the group, exact), then for the _1 types + m·ym (ym: the x row's s).
 */
// @ts-ignore: decorator
@inline function rowsGroupStep(kind: i32, acc: v128, a: v128, z: v128, d: v128, y: v128, m: v128, ym: v128): v128 {
  acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(kind == Q4_0 || kind == Q5_1 ? i32x4.sub(a, z) : a), f32x4.mul(d, y)));
  if (hasMin(kind)) acc = f32x4.add(acc, f32x4.mul(m, ym));
  return acc;
}

/**
 * One tile of the row-lane path over the unpacked groups [0, count): P panels (1 or 2; panel B's
 * vectors 1024 bytes after A's, its d and m 256 after) × XR x rows i .. i + XR − 1 (1, 2 or 4; all
 * compile-time, the unused accumulators fold away). Per step 1–2 weight vectors, XR broadcasts and
 * P·XR pmaddubsw into as many i16 sums (at most 8). 4 x rows (i a multiple of 4) read their block's
 * section-T cells (matmul_quant.ts: quants, d, ls·16, s, bs32 at constant offsets from one pointer); 1
 * or 2 read their records.
 */
// @ts-ignore: decorator
@inline function rowsTile(kind: i32, P: i32, XR: i32, i: i32, xPtr: usize, rec: usize, g0: i32, count: i32, CA: i32, dOff: usize, bsOff: usize, sOff: usize, lsOff: usize, scratch: usize, o: usize, outRowBytes: usize, valid: i32, ones: v128, n: i32): void {
  const zk = kind == Q5_1 ? -16 : kind == Q5_0 ? 0 : offsetOf(kind); // × Σ x of the group: subtracted from the sums
  const first = g0 == 0;
  const last = g0 + count == (CA >> 5);
  // 1 or 2 x rows: their records (section A)
  const b0 = xPtr + <usize>i * rec, b1 = b0 + rec;
  const q8 = (<usize>CA << 1) + (<usize>g0 << 5);
  let x0 = b0 + q8, x1 = b1 + q8;
  let gx = <usize>g0 << 1; // group g's bs32 (i16) at bsOff + gx, its d and s (f32) at twice that
  const p0 = scratch + 3328 + (<usize>i << 5), p1 = p0 + 32, p2 = p0 + 64, p3 = p0 + 96;
  let e0 = f32x4.splat(0), e1 = e0, e2 = e0, e3 = e0, f0 = e0, f1 = e0, f2 = e0, f3 = e0;
  if (!first) {
    e0 = v128.load(p0);
    if (P > 1) f0 = v128.load(p0, 16);
    if (XR > 1) {
      e1 = v128.load(p1);
      if (P > 1) f1 = v128.load(p1, 16);
    }
    if (XR > 2) {
      e2 = v128.load(p2);
      e3 = v128.load(p3);
      if (P > 1) {
        f2 = v128.load(p2, 16);
        f3 = v128.load(p3, 16);
      }
    }
  }
  let p = scratch, dw = scratch + 2048;
  // 4 x rows: their block's cells of section T, one pointer for the group's quants and its x values
  let q = XR > 2 ? xPtr + <usize>n * rec + (<usize>(i >> 2) * <usize>(CA >> 5) + <usize>g0) * <usize>QXT_CELL : 0;
  for (let j = 0; j < count; j++, dw += 16, gx += 2, x0 += 32, x1 += 32) {
    let h0 = i32x4.splat(0), h1 = h0, h2 = h0, h3 = h0, k0 = h0, k1 = h0, k2 = h0, k3 = h0;
    if (XR > 2) {
      for (let t = 0; t < 8; t++, p += 16, q += 16) {
        const wa = v128.load(p), wb = P > 1 ? v128.load(p, 1024) : wa;
        let y = v128.load32_splat(q);
        h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k0 = i16x8.add(k0, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
        y = v128.load32_splat(q, 4);
        h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k1 = i16x8.add(k1, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
        y = v128.load32_splat(q, 8);
        h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k2 = i16x8.add(k2, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
        y = v128.load32_splat(q, 12);
        h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k3 = i16x8.add(k3, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
      }
      // q: the cell's d, ls·16, s, bs32 (at 128 .. 191 of the cell)
      if (isQ5(kind)) {
        let l = v128.load32_splat(q, 16);
        h0 = i16x8.sub(h0, l);
        k0 = i16x8.sub(k0, l);
        l = v128.load32_splat(q, 20);
        h1 = i16x8.sub(h1, l);
        k1 = i16x8.sub(k1, l);
        l = v128.load32_splat(q, 24);
        h2 = i16x8.sub(h2, l);
        k2 = i16x8.sub(k2, l);
        l = v128.load32_splat(q, 28);
        h3 = i16x8.sub(h3, l);
        k3 = i16x8.sub(k3, l);
      }
      const a0 = i32x4.dot_i16x8_s(h0, ones), c0 = i32x4.dot_i16x8_s(k0, ones);
      const a1 = i32x4.dot_i16x8_s(h1, ones), c1 = i32x4.dot_i16x8_s(k1, ones);
      const a2 = i32x4.dot_i16x8_s(h2, ones), c2 = i32x4.dot_i16x8_s(k2, ones);
      const a3 = i32x4.dot_i16x8_s(h3, ones), c3 = i32x4.dot_i16x8_s(k3, ones);
      const da = v128.load(dw), db = P > 1 ? v128.load(dw, 256) : da;
      const ma = hasMin(kind) ? v128.load(dw, 128) : da, mb = hasMin(kind) && P > 1 ? v128.load(dw, 384) : da;
      let z = cellZ(zk, q, 48), y = v128.load32_splat(q), ym = hasMin(kind) ? v128.load32_splat(q, 32) : y;
      e0 = rowsGroupStep(kind, e0, a0, z, da, y, ma, ym);
      if (P > 1) f0 = rowsGroupStep(kind, f0, c0, z, db, y, mb, ym);
      z = cellZ(zk, q, 52);
      y = v128.load32_splat(q, 4);
      ym = hasMin(kind) ? v128.load32_splat(q, 36) : y;
      e1 = rowsGroupStep(kind, e1, a1, z, da, y, ma, ym);
      if (P > 1) f1 = rowsGroupStep(kind, f1, c1, z, db, y, mb, ym);
      z = cellZ(zk, q, 56);
      y = v128.load32_splat(q, 8);
      ym = hasMin(kind) ? v128.load32_splat(q, 40) : y;
      e2 = rowsGroupStep(kind, e2, a2, z, da, y, ma, ym);
      if (P > 1) f2 = rowsGroupStep(kind, f2, c2, z, db, y, mb, ym);
      z = cellZ(zk, q, 60);
      y = v128.load32_splat(q, 12);
      ym = hasMin(kind) ? v128.load32_splat(q, 44) : y;
      e3 = rowsGroupStep(kind, e3, a3, z, da, y, ma, ym);
      if (P > 1) f3 = rowsGroupStep(kind, f3, c3, z, db, y, mb, ym);
      q += <usize>QXT_CELL - 128;
      continue;
    }
    // one step per iteration: V8 issues a block's loads first, and one step's loads beside the
    // accumulators stay in registers
    for (let t: usize = 0; t < 32; t += 4, p += 16) {
      const wa = v128.load(p), wb = P > 1 ? v128.load(p, 1024) : wa;
      if (P > 1) {
        let y = v128.load32_splat(x0 + t);
        h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        k0 = i16x8.add(k0, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
        if (XR > 1) {
          y = v128.load32_splat(x1 + t);
          h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
          k1 = i16x8.add(k1, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
        }
      } else {
        h0 = laneStep(h0, wa, x0 + t);
        if (XR > 1) h1 = laneStep(h1, wa, x1 + t);
      }
    }
    if (isQ5(kind)) {
      // Q5: the i16 sums wrapped; Σ (u − 16)·x over a lane's 16 columns is within ±16·16·127, so
      // subtracting 16·Σ x of those columns (ls) in i16 gives it exactly (see above)
      let l = i16x8.shl(v128.load32_splat(b0 + lsOff + (gx << 1)), 4);
      h0 = i16x8.sub(h0, l);
      k0 = i16x8.sub(k0, l);
      if (XR > 1) {
        l = i16x8.shl(v128.load32_splat(b1 + lsOff + (gx << 1)), 4);
        h1 = i16x8.sub(h1, l);
        k1 = i16x8.sub(k1, l);
      }
    }
    const a0 = i32x4.dot_i16x8_s(h0, ones), c0 = i32x4.dot_i16x8_s(k0, ones);
    const a1 = i32x4.dot_i16x8_s(h1, ones), c1 = i32x4.dot_i16x8_s(k1, ones);
    // the integer Σ (u − off)·x of the one-row loop (Q4_0: Σ u·x − 8·Σ x; Q5_0: already; Q5_1: Σ u·x =
    // Σ (u − 16)·x + 16·Σ x), exact; then its f32 steps, in its order
    const da = v128.load(dw), db = P > 1 ? v128.load(dw, 256) : da;
    const dx = dOff + (gx << 1), sx = sOff + (gx << 1);
    const ma = hasMin(kind) ? v128.load(dw, 128) : da, mb = hasMin(kind) && P > 1 ? v128.load(dw, 384) : da;
    let z = groupZ(zk, b0 + bsOff + gx), y = v128.load32_splat(b0 + dx), ym = hasMin(kind) ? v128.load32_splat(b0 + sx) : y;
    e0 = rowsGroupStep(kind, e0, a0, z, da, y, ma, ym);
    if (P > 1) f0 = rowsGroupStep(kind, f0, c0, z, db, y, mb, ym);
    if (XR > 1) {
      z = groupZ(zk, b1 + bsOff + gx);
      y = v128.load32_splat(b1 + dx);
      ym = hasMin(kind) ? v128.load32_splat(b1 + sx) : y;
      e1 = rowsGroupStep(kind, e1, a1, z, da, y, ma, ym);
      if (P > 1) f1 = rowsGroupStep(kind, f1, c1, z, db, y, mb, ym);
    }
  }
  if (last) {
    // P = 2 only for full panels (rows a multiple of 8); P = 1 may hold the partial last panel
    const q0 = o + <usize>i * outRowBytes, q1 = q0 + outRowBytes, q2 = q1 + outRowBytes, q3 = q2 + outRowBytes;
    if (P > 1) {
      v128.store(q0, e0);
      v128.store(q0, f0, 16);
      if (XR > 1) {
        v128.store(q1, e1);
        v128.store(q1, f1, 16);
      }
      if (XR > 2) {
        v128.store(q2, e2);
        v128.store(q2, f2, 16);
        v128.store(q3, e3);
        v128.store(q3, f3, 16);
      }
    } else {
      storePanel4(q0, e0, valid);
      if (XR > 1) storePanel4(q1, e1, valid);
      if (XR > 2) {
        storePanel4(q2, e2, valid);
        storePanel4(q3, e3, valid);
      }
    }
  } else {
    v128.store(p0, e0);
    if (P > 1) v128.store(p0, f0, 16);
    if (XR > 1) {
      v128.store(p1, e1);
      if (P > 1) v128.store(p1, f1, 16);
    }
    if (XR > 2) {
      v128.store(p2, e2);
      v128.store(p3, e3);
      if (P > 1) {
        v128.store(p2, f2, 16);
        v128.store(p3, f3, 16);
      }
    }
  }
}

/** The row-lane path over P-panel blocks (P = 2: rows a multiple of 8): x rows in tiles of 4, then 2, then 1. */
// @ts-ignore: decorator
@inline function matmulLegacyRowsP(kind: i32, P: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const G = (cols + 31) >> 5;
  const pb = <usize>G * groupBytes(kind);
  const CA = G << 5;
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD(CA);
  const bsOff = qxBs32(CA, 32);
  const sOff = qxS(CA);
  const lsOff = qxLs(CA);
  const outRowBytes = <usize>outStride << 2;
  const lom = kconst(isQ5(kind) ? K_M1F : K_M15), him = kconst(isQ5(kind) ? K_M1C : K_M15), m3 = kconst(K_M3), ones = kconst(K_ONES16), fmask = kconst(K_F16MASK);
  const f16scale = kconst(K_F16SCALE);
  let w = wPtr;
  for (let r = 0; r < rows; r += P << 2, w += pb * <usize>P) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let g0 = 0; g0 < G; g0 += 8) {
      const count = min(8, G - g0);
      unpackLegacyRows(kind, w, g0, count, scratch, scratch + 2048, lom, him, m3, fmask, f16scale);
      if (P > 1) unpackLegacyRows(kind, w + pb, g0, count, scratch + 1024, scratch + 2304, lom, him, m3, fmask, f16scale);
      let i = 0;
      for (; i + 4 <= n; i += 4) rowsTile(kind, P, 4, i, xPtr, rec, g0, count, CA, dOff, bsOff, sOff, lsOff, scratch, o, outRowBytes, valid, ones, n);
      for (; i + 2 <= n; i += 2) rowsTile(kind, P, 2, i, xPtr, rec, g0, count, CA, dOff, bsOff, sOff, lsOff, scratch, o, outRowBytes, valid, ones, n);
      if (i < n) rowsTile(kind, P, 1, i, xPtr, rec, g0, count, CA, dOff, bsOff, sOff, lsOff, scratch, o, outRowBytes, valid, ones, n);
    }
  }
}

// @ts-ignore: decorator
@inline function matmulLegacyRows(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const pairRows = (rows >> 3) << 3;
  if (pairRows > 0) matmulLegacyRowsP(kind, 2, outPtr, outStride, wPtr, xPtr, n, pairRows, cols, scratch);
  if (pairRows < rows) matmulLegacyRowsP(kind, 1, outPtr + (<usize>pairRows << 2), outStride, wPtr + <usize>(pairRows >> 2) * <usize>((cols + 31) >> 5) * groupBytes(kind), xPtr, n, rows - pairRows, cols, scratch);
}

/**
 * acc + the 4 rows' f32 sums over the panel group at grp for one x row (q16 / q8 its activation quants
 * as i16 / bytes, bs its bs32, dx its d; s at dx + sd).
 */
// @ts-ignore: decorator
@inline function legacyGroup(kind: i32, acc: v128, grp: usize, q16: usize, q8: usize, bs: usize, dx: usize, sd: usize, lom: v128, him: v128, m3: v128, ones: v128, fmask: v128, f16scale: v128): v128 {
  // relaxed, unsigned types: the group's 32 activation bytes, loaded once for the 4 rows
  const bytes = ASC_FEATURE_RELAXED_SIMD && kind != IQ4_NL;
  const xlo = bytes ? v128.load(q8) : i32x4.splat(0), xhi = bytes ? v128.load(q8, 16) : i32x4.splat(0);
  const bq = loadB(kind, grp);
  let s = isum4(rowGroup(kind, grp, 0, bq, xlo, xhi, q16, lom, him, m3, ones), rowGroup(kind, grp, 1, bq, xlo, xhi, q16, lom, him, m3, ones), rowGroup(kind, grp, 2, bq, xlo, xhi, q16, lom, him, m3, ones), rowGroup(kind, grp, 3, bq, xlo, xhi, q16, lom, him, m3, ones));
  const off = offsetOf(kind);
  if (off != 0) s = i32x4.sub(s, i32x4.splat(off * <i32>load<i16>(bs)));
  acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(f16x4m(grp + dAt(kind), fmask, f16scale), v128.load32_splat(dx))));
  if (hasMin(kind)) acc = f32x4.add(acc, f32x4.mul(f16x4m(grp + dAt(kind) + 8, fmask, f16scale), v128.load32_splat(dx + sd)));
  return acc;
}

// @ts-ignore: decorator
@inline function matmulLegacy(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const G = (cols + 31) >> 5;
  const GB = groupBytes(kind);
  const pb = <usize>G * GB;
  const CA = G << 5;
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD(CA);
  const bsOff = qxBs32(CA, 32);
  const sOff = qxS(CA);
  const outRowBytes = <usize>outStride << 2;
  if (ASC_FEATURE_RELAXED_SIMD && kind != IQ4_NL) {
    if (scratch != 0 && n >= rowsMin(kind)) {
      matmulLegacyRows(kind, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratch);
      return;
    }
  } else if (scratch != 0 && n >= BATCH_MIN) {
    matmulLegacyBatched(kind, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratch);
    return;
  }
  const lom = kconst(isQ5(kind) ? K_M1F : K_M15), him = kconst(isQ5(kind) ? K_M1C : K_M15), m3 = kconst(K_M3), ones = kconst(K_ONES16), fmask = kconst(K_F16MASK);
  const f16scale = kconst(K_F16SCALE);
  const sd = sOff - dOff;
  let r0 = 0;
  if (n == 1) {
    // one x row (decode): runs of whole panels in MATVEC_STREAMS interleaved streams (matmul_quant.ts);
    // the panels after them take the loop below
    const q16 = xPtr, q8 = xPtr + (<usize>CA << 1), bs = xPtr + bsOff, dx = xPtr + dOff;
    const part = streamPart(rows);
    const st = <usize>part * pb;
    // (the streams unrolled, their sums in registers: a loop over the streams with the sums in memory
    // measured 0.67–0.8× of this on 32-column groups)
    for (let j = 0; j < part; j++) {
      const w = wPtr + <usize>j * pb;
      let a = f32x4.splat(0), b = a, c = a, d = a, e = a, f = a, h = a, k = a;
      for (let g: usize = 0; g < <usize>G; g++) {
        const grp = w + g * GB, xq = q16 + (g << 6), xb = q8 + (g << 5), xbs = bs + (g << 1), xd = dx + (g << 2);
        a = legacyGroup(kind, a, grp, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        b = legacyGroup(kind, b, grp + st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        c = legacyGroup(kind, c, grp + 2 * st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        d = legacyGroup(kind, d, grp + 3 * st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        e = legacyGroup(kind, e, grp + 4 * st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        f = legacyGroup(kind, f, grp + 5 * st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        h = legacyGroup(kind, h, grp + 6 * st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
        k = legacyGroup(kind, k, grp + 7 * st, xq, xb, xbs, xd, sd, lom, him, m3, ones, fmask, f16scale);
      }
      storeStreams(outPtr, j, part, a, b, c, d, e, f, h, k);
    }
    r0 = part * MATVEC_STREAMS << 2;
  }
  let w = wPtr + <usize>(r0 >> 2) * pb;
  for (let r = r0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    const wEnd = w + pb;
    let i0 = 0;
    if (ASC_FEATURE_RELAXED_SIMD && kind != IQ4_NL) {
      // pairs of x rows: each row's planes decoded once for both
      for (; i0 + 2 <= n; i0 += 2) {
        const base = xPtr + <usize>i0 * rec;
        let accA = f32x4.splat(0), accB = accA;
        let q8 = base + (<usize>CA << 1), bs = base + bsOff, dx = base + dOff;
        for (let grp = w; grp < wEnd; grp += GB, q8 += 32, bs += 2, dx += 4) {
          const xa0 = v128.load(q8), xa1 = v128.load(q8, 16), xb0 = v128.load(q8 + rec), xb1 = v128.load(q8 + rec, 16);
          const bq = loadB(kind, grp);
          // rows 0, 1 then 2, 3: each row's planes once, its i16 pair sums for both x rows, folded to i32 lanes
          let lo = planeLo(grp, lom), hi = planeHi(kind, grp, high5(kind, bq, 0, m3), him);
          let pA = planeDots(xa0, xa1, lo, hi), pB = planeDots(xb0, xb1, lo, hi);
          lo = planeLo(grp + 16, lom);
          hi = planeHi(kind, grp + 16, high5(kind, bq, 1, m3), him);
          const s01A = fold2(pA, planeDots(xa0, xa1, lo, hi), ones), s01B = fold2(pB, planeDots(xb0, xb1, lo, hi), ones);
          lo = planeLo(grp + 32, lom);
          hi = planeHi(kind, grp + 32, high5(kind, bq, 2, m3), him);
          pA = planeDots(xa0, xa1, lo, hi);
          pB = planeDots(xb0, xb1, lo, hi);
          lo = planeLo(grp + 48, lom);
          hi = planeHi(kind, grp + 48, high5(kind, bq, 3, m3), him);
          const s23A = fold2(pA, planeDots(xa0, xa1, lo, hi), ones), s23B = fold2(pB, planeDots(xb0, xb1, lo, hi), ones);
          let iA = i32x4.add(i32x4.shuffle(s01A, s23A, 0, 2, 4, 6), i32x4.shuffle(s01A, s23A, 1, 3, 5, 7));
          let iB = i32x4.add(i32x4.shuffle(s01B, s23B, 0, 2, 4, 6), i32x4.shuffle(s01B, s23B, 1, 3, 5, 7));
          const off = offsetOf(kind);
          if (off != 0) {
            iA = i32x4.sub(iA, i32x4.splat(off * <i32>load<i16>(bs)));
            iB = i32x4.sub(iB, i32x4.splat(off * <i32>load<i16>(bs + rec)));
          }
          const d = f16x4m(grp + dAt(kind), fmask, f16scale);
          accA = f32x4.add(accA, f32x4.mul(f32x4.convert_i32x4_s(iA), f32x4.mul(d, v128.load32_splat(dx))));
          accB = f32x4.add(accB, f32x4.mul(f32x4.convert_i32x4_s(iB), f32x4.mul(d, v128.load32_splat(dx + rec))));
          if (hasMin(kind)) {
            const m = f16x4m(grp + dAt(kind) + 8, fmask, f16scale);
            accA = f32x4.add(accA, f32x4.mul(m, v128.load32_splat(dx + sd)));
            accB = f32x4.add(accB, f32x4.mul(m, v128.load32_splat(dx + rec + sd)));
          }
        }
        storePanel4(o + <usize>i0 * outRowBytes, accA, valid);
        storePanel4(o + <usize>(i0 + 1) * outRowBytes, accB, valid);
      }
    }
    for (let i = i0; i < n; i++) {
      const base = xPtr + <usize>i * rec;
      let acc = f32x4.splat(0);
      // x pointers advance with the group: q16 by 64 bytes, q8 by 32, bs32 by 2, d and s by 4
      let q16 = base, q8 = base + (<usize>CA << 1), bs = base + bsOff, dx = base + dOff;
      for (let grp = w; grp < wEnd; grp += GB, q16 += 64, q8 += 32, bs += 2, dx += 4) {
        acc = legacyGroup(kind, acc, grp, q16, q8, bs, dx, sd, lom, him, m3, ones, fmask, f16scale);
      }
      storePanel4(o + <usize>i * outRowBytes, acc, valid);
    }
  }
}

/**
 * 16 quant bytes u of one row (columns in order) → their values at dst, with the scalar loop's
 * operations in its order: f32(u − off)·d, f32(u)·d + m (the _1 types), or d·f32(table value) (IQ4_NL).
 */
// @ts-ignore: decorator
@inline function dq16(kind: i32, dst: usize, u: v128, d: v128, m: v128): void {
  if (kind == IQ4_NL) storeScaledI8(dst, lookup(u), d);
  else storeDequant16(dst, u, offsetOf(kind), d, m, hasMin(kind));
}

/** The stored quant u (or IQ4_NL's table value) of row-in-panel rr, group column j, in the group at grp. */
// @ts-ignore: decorator
@inline function quantAt(kind: i32, grp: usize, rr: usize, j: i32): i32 {
  const b = <i32>load<u8>(grp + (rr << 4) + <usize>(j & 15));
  if (isQ5(kind)) {
    if (j < 16) return b & 31;
    const t = <i32>load<u8>(grp + 64 + <usize>(j & 15)); // B byte j − 16, row rr's field at bits 2·rr
    return ((b >> 5) << 2) | ((t >> (<i32>rr << 1)) & 3);
  }
  const u = j < 16 ? b & 15 : b >> 4;
  if (kind == IQ4_NL) return kvalue(u);
  return u;
}

// @ts-ignore: decorator
@inline function kvalue(u: i32): i32 {
  return <i32>i8x16.extract_lane_s(i8x16.swizzle(KVALUES, i8x16.splat(<i8>u)), 0);
}

// @ts-ignore: decorator
@inline function matmulLegacyRef(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const G = (cols + 31) >> 5;
  const GB = groupBytes(kind);
  const pb = <usize>G * GB;
  const CA = G << 5;
  const rec = <usize>qx_row_bytes(cols);
  const dOff = qxD(CA);
  const bsOff = qxBs32(CA, 32);
  const sOff = qxS(CA);
  const off = offsetOf(kind);
  for (let i = 0; i < n; i++) {
    const base = xPtr + <usize>i * rec;
    const o = outPtr + ((<usize>i * <usize>outStride) << 2);
    for (let r = 0; r < rows; r++) {
      const rr = <usize>(r & 3);
      let acc: f32 = 0;
      for (let g = 0; g < G; g++) {
        const grp = wPtr + <usize>(r >> 2) * pb + <usize>g * GB;
        let sum: i32 = 0;
        for (let j = 0; j < 32; j++) sum += quantAt(kind, grp, rr, j) * <i32>load<i16>(base + (<usize>((g << 5) + j) << 1));
        const bs = <i32>load<i16>(base + bsOff + (<usize>g << 1));
        sum -= off * bs;
        const sx = load<f32>(base + dOff + (<usize>g << 2));
        acc = acc + <f32>sum * (f16s(<u32>load<u16>(grp + dAt(kind) + (rr << 1))) * sx);
        if (hasMin(kind)) acc = acc + f16s(<u32>load<u16>(grp + dAt(kind) + 8 + (rr << 1))) * load<f32>(base + sOff + (<usize>g << 2));
      }
      store<f32>(o + (<usize>r << 2), acc);
    }
  }
}

/** GGUF block bytes of each kind. */
// @ts-ignore: decorator
@inline function blockBytes(kind: i32): usize {
  return kind == Q4_1 ? 20 : kind == Q5_0 ? 22 : kind == Q5_1 ? 24 : 18;
}
/** Offset of the nibbles inside a GGUF block. */
// @ts-ignore: decorator
@inline function blockQs(kind: i32): usize {
  return kind == Q4_1 ? 4 : kind == Q5_0 ? 6 : kind == Q5_1 ? 8 : 2;
}
/** Offset of qh (u32) inside a GGUF Q5 block. */
// @ts-ignore: decorator
@inline function blockQh(kind: i32): usize {
  return kind == Q5_0 ? 2 : 4;
}

/**
 * Repack GGUF blocks (row-major [rows, cols/32] blocks at srcPtr) into the panel layout; no value
 * changes. Returns −1, or the block index r·G + g of the first block with an Inf/NaN scale or min
 * (that group is stored as zeros).
 */
// @ts-ignore: decorator
@inline function packLegacy(kind: i32, dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): i32 {
  const G = cols >> 5;
  const GB = groupBytes(kind);
  const pb = <usize>G * GB;
  const BB = blockBytes(kind);
  let bad = -1;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const rr = <usize>(r & 3);
    for (let g = 0; g < G; g++) {
      const grp = dstPtr + <usize>(r >> 2) * pb + <usize>g * GB;
      const blk = srcPtr + <usize>(r * G + g) * BB;
      let d: u32 = r < rows ? <u32>load<u16>(blk) : 0;
      let m: u32 = r < rows && hasMin(kind) ? <u32>load<u16>(blk, 2) : 0;
      let ok = r < rows;
      if (f16NonFinite(d) || f16NonFinite(m)) {
        if (bad < 0) bad = r * G + g;
        ok = false;
        d = 0;
        m = 0;
      }
      if (fast) {
        let q = i32x4.splat(0), qh = q;
        if (ok) {
          q = v128.load(blk + blockQs(kind));
          if (isQ5(kind)) qh = v128.load32_splat(blk + blockQh(kind));
        }
        if (isQ5(kind)) {
          // qh bit j (j < 16) is the fifth bit of u[j], bit 16 + j that of u[16 + j]: spread to bytes
          const bit = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
          const f = kconst(K_B16), m15 = kconst(K_M15);
          const lo = v128.and(i8x16.shuffle(qh, qh, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), bit);
          const hi = v128.and(i8x16.shuffle(qh, qh, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), bit);
          const u0 = v128.or(v128.and(q, m15), v128.and(i8x16.eq(lo, bit), f));
          const u1 = v128.or(i8x16.shr_u(q, 4), v128.and(i8x16.eq(hi, bit), f));
          v128.store(grp + (rr << 4), v128.or(u0, i8x16.shl(i8x16.shr_u(u1, 2), 5)));
          const sh = <i32>(rr << 1);
          const bp = grp + 64;
          v128.store(bp, v128.or(v128.andnot(v128.load(bp), i32x4.splat(0x03030303 << sh)), i8x16.shl(v128.and(u1, kconst(K_M3)), sh)));
        } else {
          v128.store(grp + (rr << 4), q);
        }
      } else if (isQ5(kind)) {
        // A byte j: u[j] | (u[16 + j] >> 2) << 5; B byte j, bits 2·rr and 2·rr + 1: u[16 + j] & 3
        const qh = ok ? load<u32>(blk + blockQh(kind)) : 0;
        for (let j = 0; j < 16; j++) {
          const b = ok ? <u32>load<u8>(blk + blockQs(kind) + <usize>j) : 0;
          const u0 = (b & 15) | (((qh >> <u32>j) & 1) << 4);
          const u1 = (b >> 4) | (((qh >> <u32>(j + 16)) & 1) << 4);
          store<u8>(grp + (rr << 4) + <usize>j, <u8>(u0 | ((u1 >> 2) << 5)));
          const bp = grp + 64 + <usize>j;
          store<u8>(bp, <u8>((<u32>load<u8>(bp) & ~(<u32>3 << <u32>(rr << 1))) | ((u1 & 3) << <u32>(rr << 1))));
        }
      } else {
        for (let j = 0; j < 16; j++) store<u8>(grp + (rr << 4) + <usize>j, ok ? load<u8>(blk + blockQs(kind) + <usize>j) : 0);
      }
      store<u16>(grp + dAt(kind) + (rr << 1), <u16>d);
      if (hasMin(kind)) store<u16>(grp + dAt(kind) + 8 + (rr << 1), <u16>m);
    }
  }
  return bad;
}

/** Dequantise rows [r0, r0 + count) into dst (f32 [count, cols]) exactly as ggml's dequantize_row_*. */
// @ts-ignore: decorator
@inline function dequantLegacy(kind: i32, dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32, fast: bool): void {
  const G = (cols + 31) >> 5;
  const GB = groupBytes(kind);
  const pb = <usize>G * GB;
  const off = offsetOf(kind);
  const lom = kconst(isQ5(kind) ? K_M1F : K_M15), him = kconst(isQ5(kind) ? K_M1C : K_M15), m3 = kconst(K_M3);
  // the vector path takes whole groups; a row's last partial group (cols % 32) goes one weight at a time
  const whole = fast ? cols >> 5 : 0;
  for (let k = 0; k < count; k++) {
    const r = r0 + k;
    const rr = <usize>(r & 3);
    const dst = dstPtr + ((<usize>k * <usize>cols) << 2);
    let grp = wPtr + <usize>(r >> 2) * pb;
    for (let g = 0; g < whole; g++, grp += GB) {
      const d = f32x4.splat(f16Value(<u32>load<u16>(grp + dAt(kind) + (rr << 1))));
      const m = hasMin(kind) ? f32x4.splat(f16Value(<u32>load<u16>(grp + dAt(kind) + 8 + (rr << 1)))) : d;
      const row = grp + (rr << 4);
      const o = dst + (<usize>g << 7);
      dq16(kind, o, planeLo(row, lom), d, m);
      dq16(kind, o + 64, planeHi(kind, row, high5(kind, loadB(kind, grp), rr, m3), him), d, m);
    }
    for (let c = whole << 5; c < cols; c++) {
      const grp = wPtr + <usize>(r >> 2) * pb + <usize>(c >> 5) * GB;
      const d = f16Value(<u32>load<u16>(grp + dAt(kind) + (rr << 1)));
      const u = quantAt(kind, grp, rr, c & 31);
      let v: f32;
      if (kind == IQ4_NL) v = d * <f32>u; // d * kvalues[q]
      else if (hasMin(kind)) v = <f32>u * d + f16Value(<u32>load<u16>(grp + dAt(kind) + 8 + (rr << 1)));
      else v = <f32>(u - off) * d;
      store<f32>(dst + (<usize>c << 2), v);
    }
  }
}

export function matmul_q4_0(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulLegacy(Q4_0, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q4_0_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulLegacyRef(Q4_0, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q4_0(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q4_0, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q4_0: byte by byte. */
export function pack_q4_0_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q4_0, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q4_0(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q4_0, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q4_0: one weight at a time; the same values, bit for bit. */
export function dequant_q4_0_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q4_0, dstPtr, wPtr, rows, cols, r0, count, false);
}

export function matmul_q4_1(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulLegacy(Q4_1, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q4_1_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulLegacyRef(Q4_1, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q4_1(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q4_1, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q4_1: byte by byte. */
export function pack_q4_1_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q4_1, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q4_1(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q4_1, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q4_1: one weight at a time; the same values, bit for bit. */
export function dequant_q4_1_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q4_1, dstPtr, wPtr, rows, cols, r0, count, false);
}

export function matmul_q5_0(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulLegacy(Q5_0, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q5_0_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulLegacyRef(Q5_0, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q5_0(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q5_0, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q5_0: byte by byte. */
export function pack_q5_0_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q5_0, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q5_0(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q5_0, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q5_0: one weight at a time; the same values, bit for bit. */
export function dequant_q5_0_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q5_0, dstPtr, wPtr, rows, cols, r0, count, false);
}

export function matmul_q5_1(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulLegacy(Q5_1, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q5_1_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulLegacyRef(Q5_1, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q5_1(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q5_1, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q5_1: byte by byte. */
export function pack_q5_1_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(Q5_1, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q5_1(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q5_1, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q5_1: one weight at a time; the same values, bit for bit. */
export function dequant_q5_1_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(Q5_1, dstPtr, wPtr, rows, cols, r0, count, false);
}

export function matmul_iq4_nl(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulLegacy(IQ4_NL, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_iq4_nl_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulLegacyRef(IQ4_NL, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_iq4_nl(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(IQ4_NL, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_iq4_nl: byte by byte. */
export function pack_iq4_nl_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packLegacy(IQ4_NL, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_iq4_nl(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(IQ4_NL, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_iq4_nl: one weight at a time; the same values, bit for bit. */
export function dequant_iq4_nl_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantLegacy(IQ4_NL, dstPtr, wPtr, rows, cols, r0, count, false);
}

/**
 * Quantise row-major f32 W [rows, cols] into the Q4_0 layout exactly as ggml's quantize_row_q4_0_ref
 * (a partial last group as if zero-padded): per group, max = the value of largest magnitude (the first
 * one on ties), d = max/−8 (stored as f16), u = min(15, trunc(w·(1/d) + 8.5)). Returns −1, or the index
 * r·G + g of the first group holding a NaN/Inf weight or whose f16 scale is not finite (stored as zeros).
 */
export function quant_q4_0(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return quantQ4(dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of quant_q4_0: one weight at a time (whole groups of the fast one take f32x4 steps). */
export function quant_q4_0_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return quantQ4(dstPtr, srcPtr, rows, cols, false);
}

/** min(15, trunc(w·id + 8.5)) of 16 weights (a..d) as bytes, as the scalar loop computes each (unfused f32). */
// @ts-ignore: decorator
@inline function nibbles16(a: v128, b: v128, c: v128, d: v128, id: v128): v128 {
  const h = f32x4.splat(8.5), top = i32x4.splat(15);
  const ab = i16x8.narrow_i32x4_s(i32x4.min_s(truncInRange(f32x4.add(f32x4.mul(a, id), h)), top), i32x4.min_s(truncInRange(f32x4.add(f32x4.mul(b, id), h)), top));
  const cd = i16x8.narrow_i32x4_s(i32x4.min_s(truncInRange(f32x4.add(f32x4.mul(c, id), h)), top), i32x4.min_s(truncInRange(f32x4.add(f32x4.mul(d, id), h)), top));
  return i8x16.narrow_i16x8_s(ab, cd);
}

// @ts-ignore: decorator
@inline function quantQ4(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): i32 {
  const G = (cols + 31) >> 5;
  const pb = <usize>G * 72;
  let bad = -1;
  for (let r = 0; r < ((rows + 3) & ~3); r++) {
    const rr = <usize>(r & 3);
    const src = srcPtr + ((<usize>r * <usize>cols) << 2);
    for (let g = 0; g < G; g++) {
      const grp = dstPtr + <usize>(r >> 2) * pb + <usize>g * 72;
      const c0 = g << 5;
      const count = r < rows ? min(32, cols - c0) : 0;
      if (fast && count == 32) {
        // a whole group: the same d (from the first weight of largest magnitude), id and quants as below
        const p = src + (<usize>c0 << 2);
        const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
        const v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
        const amax = absMax8(v0, v1, v2, v3, v4, v5, v6, v7); // NaN if any weight is NaN
        let h: u32 = 0;
        let ok = amax <= F32_MAX; // false for NaN / ±Inf
        let id: f32 = 0;
        if (ok) {
          // the first weight whose magnitude is amax gives the sign (the scalar loop's strict < keeps the first)
          const am = f32x4.splat(amax);
          const bits = i32x4.bitmask(f32x4.eq(f32x4.abs(v0), am)) | (i32x4.bitmask(f32x4.eq(f32x4.abs(v1), am)) << 4) |
            (i32x4.bitmask(f32x4.eq(f32x4.abs(v2), am)) << 8) | (i32x4.bitmask(f32x4.eq(f32x4.abs(v3), am)) << 12) |
            (i32x4.bitmask(f32x4.eq(f32x4.abs(v4), am)) << 16) | (i32x4.bitmask(f32x4.eq(f32x4.abs(v5), am)) << 20) |
            (i32x4.bitmask(f32x4.eq(f32x4.abs(v6), am)) << 24) | (i32x4.bitmask(f32x4.eq(f32x4.abs(v7), am)) << 28);
          const mx = amax > 0 ? load<f32>(p + (<usize>ctz(bits) << 2)) : <f32>0;
          const d: f32 = mx / -8;
          id = d != 0 ? <f32>1 / d : 0;
          h = f32ToF16Bits(d);
          ok = !f16NonFinite(h);
        }
        if (!ok) {
          if (bad < 0) bad = r * G + g;
          v128.store(grp + (rr << 4), i32x4.splat(0));
          store<u16>(grp + 64 + (rr << 1), 0);
          continue;
        }
        // an f32-subnormal d makes 1/d infinite: such a group takes the loop below (its quants are what
        // the scalar conversion makes of Inf and NaN)
        if (abs<f32>(id) <= F32_MAX) {
          const s = f32x4.splat(id);
          v128.store(grp + (rr << 4), v128.or(nibbles16(v0, v1, v2, v3, s), i8x16.shl(nibbles16(v4, v5, v6, v7, s), 4)));
          store<u16>(grp + 64 + (rr << 1), <u16>h);
          continue;
        }
      }
      let amax: f32 = 0, mx: f32 = 0;
      let finite = true;
      for (let c = 0; c < count; c++) {
        const v = load<f32>(src + (<usize>(c0 + c) << 2));
        if (!(abs<f32>(v) <= F32_MAX)) finite = false; // NaN / ±Inf: refused
        if (amax < abs<f32>(v)) {
          amax = abs<f32>(v);
          mx = v;
        }
      }
      const d: f32 = mx / -8;
      const id: f32 = d != 0 ? <f32>1 / d : 0;
      let h = r < rows ? f32ToF16Bits(d) : 0; // padding rows: all zero
      let ok = r < rows;
      if (!finite || f16NonFinite(h)) {
        if (bad < 0) bad = r * G + g;
        h = 0;
        ok = false;
      }
      for (let j = 0; j < 16; j++) {
        const x0: f32 = c0 + j < cols && r < rows ? load<f32>(src + (<usize>(c0 + j) << 2)) : 0;
        const x1: f32 = c0 + 16 + j < cols && r < rows ? load<f32>(src + (<usize>(c0 + 16 + j) << 2)) : 0;
        const u0 = ok ? min(15, <i32>(x0 * id + <f32>8.5)) : 0;
        const u1 = ok ? min(15, <i32>(x1 * id + <f32>8.5)) : 0;
        store<u8>(grp + (rr << 4) + <usize>j, <u8>(u0 | (u1 << 4)));
      }
      store<u16>(grp + 64 + (rr << 1), <u16>h);
    }
  }
  return bad;
}
