// The K-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) and IQ4_XS as linear layers: 256-column super-blocks with
// an f16 scale d (and dmin) per row and small integer sub-scales per 16 or 32 columns, against section B
// of the prepared input (activations quantised per 256 columns, as llama.cpp's q8_K). Per super-block
// and output everything but two multiplies is integer arithmetic:
//   out[i, r] += s[i, b]·d[r, b]·Σ_k sc[r, k]·(Σ_{c ∈ k} u[r, c]·qx[i, c] − off·Σ_{c ∈ k} qx[i, c])
//              − s[i, b]·dmin[r, b]·Σ_k m[r, k]·Σ_{c ∈ k} qx[i, c]                       (Q2_K, Q4_K, Q5_K)
// with u the stored unsigned quant (Q2_K 0..3, Q3_K 0..7 with off 4, Q4_K 0..15, Q5_K 0..31, Q6_K 0..63
// with off 32) or IQ4_XS's signed table value; sub-blocks k of 16 columns (Q2_K, Q3_K, Q6_K) or 32
// (Q4_K, Q5_K, IQ4_XS). The value of a weight is ggml's dequantised value (dequant_* reproduce
// dequantize_row_* bit for bit); the kernels compute the exact product sums of the integers, so their
// only rounding is in the two f32 multiplies and adds per super-block (unfused, in super-block order:
// SIMD kernels and scalar twins agree bit for bit in every build).
//
// Packed layout, for W [rows, cols] (cols a multiple of 256): 4-row panels, S = cols/256 super-blocks
// per panel, super-block b of panel p at p·PB·S + b·PB (PB below). Rows rr = 0..3 of the panel; f16
// fields keep their bits; "×4" fields hold rows 0..3 in order. Columns are relative to the super-block.
// Sub-scales (and mins) are bytes, row rr's at 8·rr or 16·rr: a kernel broadcasts one and multiplies
// it into a row's integer sums with i32x4.dot_i16x8_s. A "plane" is 16 consecutive columns of one row.
//   Q4_K (PB 592):  d ×4 f16 @0 · dmin ×4 @8 · sc u8 [4 rows][8 groups] @16 · m u8 [4 rows][8] @48 ·
//                   group j (cols 32j ..) 64 B @80 + 64j: row rr's 16 bytes @16rr, byte t = u(32j + t) | u(32j + 16 + t) << 4
//   Q5_K (PB 720):  as Q4_K up to @80, then group j 80 B @80 + 80j as Q5_0's (quant_legacy.ts): row rr's
//                   16 bytes A @16rr, byte t = u(32j + t) | (u(32j + 16 + t) >> 2) << 5, and 16 bytes B @64
//                   shared by the 4 rows (byte t bits 2rr, 2rr + 1: u(32j + 16 + t) & 3 of row rr)
//   Q6_K (PB 840):  d ×4 @0 · sc i8 [4 rows][16 sub-blocks] @8 · chunk q (cols 64q ..) 192 B @72 + 192q:
//                   row rr's 48 bytes @48rr: V0 @0, V1 @16, L @32 holding its 4 "pair planes" P0..P3 of 16
//                   u each: P(2h + j) (half h = cols 32h .. of the chunk, sub-blocks s = 0, 1 of 16 columns)
//                   byte 4i + 2s + e = u(32h + 16s + 8j + 2i + e) (i < 4, e < 2): columns 2i, 2i + 1 of both
//                   sub-blocks in turn, so an i16 pair sum belongs to sub-block s = its lane & 1.
//                   V_h byte t = P(2h)[t] | (P(2h + 1)[t] >> 4) << 6; L byte t = P1[t] & 15 | (P3[t] & 15) << 4
//   Q3_K (PB 456):  d ×4 @0 · sc i8 (the 6-bit scale − 32) [4 rows][16] @8 · half h (cols 128h ..) 192 B
//                   @72 + 192h: row rr's 48 bytes @48rr: 8 pair planes P0..P7 of 16 u each, P(2m + j) as
//                   Q6_K's P(j) over columns 32m .. 32m + 31 of the half (sub-blocks 2m, 2m + 1), packed
//                   into Va @0 = P0 | P1 << 3 | (P2 & 3) << 6, Vb @16 = P3 | P4 << 3 | (P5 & 3) << 6,
//                   Vc @32 = P6 | P7 << 3 | (P2 >> 2) << 6 | (P5 >> 2) << 7
//   Q2_K (PB 336):  d ×4 @0 · dmin ×4 @8 · sc u8 (scale | min << 4, as stored) [4 rows][16] @16 ·
//                   chunk q 64 B @80 + 64q: row rr's 16 bytes @16rr (byte t bits 2k, 2k + 1: column 64q + 16k + t)
//   IQ4_XS (PB 552): d ×4 @0 · sc i8 (the 6-bit scale − 32) [8 groups][4 rows] @8 · group j 64 B @40 + 64j
//                   (indices into KVALUES, nibbles as Q4_K)
// Bytes per weight: 4.625 (Q4_K; 4.5 in the file), 5.625 (5.5), 6.5625 (=), 3.5625 (3.4375), 2.625 (=),
// 4.3125 (4.25): the scales are unpacked from their 6-bit codes at load so the kernels read bytes.
// pack_T repacks a GGUF block in whole vectors (placeBlock: nibble splits, pair planes by byte shuffle);
// pack_T_ref, its scalar twin, places one quant at a time (placeQuant) and is the layout's definition.
//
// Kernel, per super-block, x row and panel: each row rr keeps an i32x4 accumulator. A plane's quants
// (nibbles and high bits moved into place by shifts and masks) are multiplied with the activation quants
// into i16 pair sums (pdot16), and i32x4.dot_i16x8_s with the broadcast sub-scale adds them, scaled, to
// the row's accumulator; Q4_K / Q5_K add a group's two planes first (Q5_K's group is laid out as Q5_0's:
// 5–6 operations per row and group where its old 5th-bit planes took 9, 1.25–1.37× its matrix–vector).
// Q6_K and Q3_K store two sub-blocks interleaved in each "pair plane" (layout above) and take 32 columns
// with two pair sums, one add and one dot with both sub-scales (pairAcc), the activations shuffled into
// the same order once for the panel's 4 rows (q6kX); their bytes put most planes one or two operations
// away (Q6_K: P(2h) one mask, P(2h + 1) at most two shifts, two masks and an or; Q3_K: 1–5). Against the
// per-sub-block planes they replaced: Q6_K 1.23–1.27×, Q3_K 1.39–1.56× (docs/performance.md §7).
// The offset (Q3_K 4, Q6_K 32) and the mins are Σ_k scale·Σ_{c ∈ k} qx: one dot of the row's scale
// bytes with the activation's sub-block sums.
// One transpose-add per super-block gives the 4 rows' exact integer sums, combined with d·s (and
// dmin·s) in f32 at its end. IQ4_XS (signed table values) widens to i16 and transposes per group.

import {
  dot2, dotSigned1, pdot16, splatS8, splatU8, storeScaledI8, storeDequant16, kconst, K_M15, K_M3, K_M30, K_M3F, K_M1F, K_M1C, K_M7, K_B16, K_B4, K_W15, K_F16MASK, K_F16SCALE, K_ONES16,
  f16x4m, f16s, f16Value, f16NonFinite, isum4, storePanel4, qx_row_bytes, qx_offset_k, qxD, qxBs16, qxBs32, q4RowLanes, MATVEC_STREAMS, streamPart, streamOut,
} from './matmul_quant';

// @ts-ignore: decorator
@lazy const Q2_K: i32 = 0;
// @ts-ignore: decorator
@lazy const Q3_K: i32 = 1;
// @ts-ignore: decorator
@lazy const Q4_K: i32 = 2;
// @ts-ignore: decorator
@lazy const Q5_K: i32 = 3;
// @ts-ignore: decorator
@lazy const Q6_K: i32 = 4;
// @ts-ignore: decorator
@lazy const IQ4_XS: i32 = 5;

// @ts-ignore: decorator
@lazy const KVALUES: v128 = i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

/** Bytes of one panel super-block. */
// @ts-ignore: decorator
@inline function sbBytes(kind: i32): usize {
  return kind == Q2_K ? 336 : kind == Q3_K ? 456 : kind == Q4_K ? 592 : kind == Q5_K ? 720 : kind == Q6_K ? 840 : 552;
}
// @ts-ignore: decorator
@inline function hasMin(kind: i32): bool {
  return kind == Q2_K || kind == Q4_K || kind == Q5_K;
}

/** Address of the sub-scale byte of row-in-panel rr, sub-block k (see the layout). */
// @ts-ignore: decorator
@inline function scalePtr(kind: i32, sb: usize, rr: usize, k: i32): usize {
  if (kind == Q4_K || kind == Q5_K) return sb + 16 + (rr << 3) + <usize>k;
  if (kind == Q2_K) return sb + 16 + (rr << 4) + <usize>k;
  if (kind == IQ4_XS) return sb + 8 + (<usize>k << 2) + rr;
  return sb + 8 + (rr << 4) + <usize>k; // Q3_K, Q6_K
}

/** i16 shift of every lane by s (left for s > 0, right for s < 0; s a constant). */
// @ts-ignore: decorator
@inline function shiftBy(v: v128, s: i32): v128 {
  if (s > 0) return i16x8.shl(v, <u32>s);
  if (s < 0) return i16x8.shr_u(v, <u32>-s);
  return v;
}

/** Q4_K / Q5_K: row acc + sc·Σ over one 32-column group (planes lo, hi), sc the byte at scp. */
// @ts-ignore: decorator
@inline function groupAcc(acc: v128, lo: v128, hi: v128, x8: usize, x16: usize, scp: usize): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(pdot16(lo, x8, x16), pdot16(hi, x8 + 16, x16 + 32)), splatU8(scp)));
}
/** Row acc + sc·Σ over one plane, sc the i16 broadcast scale. */
// @ts-ignore: decorator
@inline function planeAcc(acc: v128, p: v128, x8: usize, x16: usize, sc: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(pdot16(p, x8, x16), sc));
}

/** Q4_K row rr of group j (group at g, x at x8/x16). */
// @ts-ignore: decorator
@inline function q4kRow(acc: v128, g: usize, rr: usize, scp: usize, x8: usize, x16: usize, m15: v128): v128 {
  const v = v128.load(g + (rr << 4));
  return groupAcc(acc, v128.and(v, m15), v128.and(i16x8.shr_u(v, 4), m15), x8, x16, scp);
}
/** Q5_K: plane 0 (columns 0..15) or 1 of row rr in the group at g, as bytes u (bq: the group's B; m1f, m1c, m3: byte masks). */
// @ts-ignore: decorator
@inline function q5kPlane(g: usize, rr: usize, second: bool, bq: v128, m1f: v128, m1c: v128, m3: v128): v128 {
  const v = v128.load(g + (rr << 4));
  if (!second) return v128.and(v, m1f);
  // the i16 shifts pull neighbouring bits in above each field: the masks drop them
  const y = rr == 0 ? v128.and(bq, m3) : v128.and(i16x8.shr_u(bq, <i32>(rr << 1)), m3);
  return v128.or(v128.and(i16x8.shr_u(v, 3), m1c), y);
}
/** Q5_K row rr of the group at g (bq: its B, loaded once for the 4 rows). */
// @ts-ignore: decorator
@inline function q5kRow(acc: v128, g: usize, rr: usize, bq: v128, scp: usize, x8: usize, x16: usize, m1f: v128, m1c: v128, m3: v128): v128 {
  return groupAcc(acc, q5kPlane(g, rr, false, bq, m1f, m1c, m3), q5kPlane(g, rr, true, bq, m1f, m1c, m3), x8, x16, scp);
}
/** Q6_K: pair plane P(2h) (j = 0) or P(2h + 1) (j = 1) of a row's chunk (48 bytes at row) as bytes u; m3f = 0x3f. */
// @ts-ignore: decorator
@inline function q6kPlane(row: usize, h: i32, j: i32, m15: v128, m30: v128, m3f: v128): v128 {
  const v = v128.load(row + <usize>(h << 4));
  if (j == 0) return v128.and(v, m3f);
  const l = v128.load(row + 32);
  return v128.or(v128.and(h == 0 ? l : i16x8.shr_u(l, 4), m15), v128.and(i16x8.shr_u(v, 2), m30));
}
/**
 * Q6_K: the activations of a chunk half (x8: its 32 bytes; x16: its 32 i16) in pair-plane order, part
 * `which`: relaxed, 0 and 2 the bytes against P(2h) and P(2h + 1) (1 and 3 unused); plain, the i16
 * activations against their low (0, 2) and high (1, 3) 8 bytes.
 */
// @ts-ignore: decorator
@inline function q6kX(x8: usize, x16: usize, which: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    if (which == 0) return i16x8.shuffle(v128.load(x8), v128.load(x8, 16), 0, 8, 1, 9, 2, 10, 3, 11);
    if (which == 2) return i16x8.shuffle(v128.load(x8), v128.load(x8, 16), 4, 12, 5, 13, 6, 14, 7, 15);
    return i32x4.splat(0);
  }
  const lo = v128.load(x16 + <usize>((which >> 1) << 4)), hi = v128.load(x16 + 32 + <usize>((which >> 1) << 4));
  return (which & 1) == 0 ? i32x4.shuffle(lo, hi, 0, 4, 1, 5) : i32x4.shuffle(lo, hi, 2, 6, 3, 7);
}
/**
 * Q6_K row (48 bytes at row), half h of its chunk: acc + Σ over the half's two sub-blocks of sc·Σ u·x.
 * scp: the half's first sub-scale (the second follows it); x8, x16: the half's activations.
 */
// @ts-ignore: decorator
@inline function q6kHalf(acc: v128, row: usize, h: i32, scp: usize, x8: usize, x16: usize, m15: v128, m30: v128, m3f: v128): v128 {
  return pairAcc(acc, q6kPlane(row, h, 0, m15, m30, m3f), q6kPlane(row, h, 1, m15, m30, m3f), scp,
    q6kX(x8, x16, 0), q6kX(x8, x16, 1), q6kX(x8, x16, 2), q6kX(x8, x16, 3));
}
/**
 * Q6_K / Q3_K: acc + Σ over two 16-column sub-blocks of sc·Σ u·x, from their pair planes a, b (u ≤ 63).
 * The pair planes' i16 pair sums hold both sub-blocks in alternate lanes (relaxed) or alternate lane
 * pairs (plain), so one i32x4.dot_i16x8_s with both sub-scales spread the same way takes the 32 columns:
 * relaxed: xa, xb the activation bytes in pair-plane order (q6kX); plain: the i16 activations of the pair
 * planes' low (xa, xb) and high (xa1, xb1) 8 bytes. A lane adds 4 products: ≤ 4·63·128 < 2^15.
 * scp: the first sub-scale (the second follows it).
 */
// @ts-ignore: decorator
@inline function pairAcc(acc: v128, a: v128, b: v128, scp: usize, xa: v128, xa1: v128, xb: v128, xb1: v128): v128 {
  const s = i16x8.extend_low_i8x16_s(v128.load16_splat(scp)); // sc_k, sc_k+1 alternating
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xa, a), i16x8.relaxed_dot_i8x16_i7x16_s(xb, b)), s));
  }
  const sum = i16x8.add(i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(a), xa), i16x8.mul(i16x8.extend_high_i8x16_u(a), xa1)),
    i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(b), xb), i16x8.mul(i16x8.extend_high_i8x16_u(b), xb1)));
  return i32x4.add(acc, i32x4.dot_i16x8_s(sum, i16x8.shuffle(s, s, 0, 0, 1, 1, 2, 2, 3, 3)));
}
/** Q3_K: pair plane P (0..7, a constant) of a row's half (48 bytes at row) as bytes u ≤ 7 (see the layout). */
// @ts-ignore: decorator
@inline function q3kPlane(row: usize, P: i32, m7: v128, m3: v128, b4: v128): v128 {
  if (P == 0) return v128.and(v128.load(row), m7);
  if (P == 1) return v128.and(i16x8.shr_u(v128.load(row), 3), m7);
  if (P == 2) return v128.or(v128.and(i16x8.shr_u(v128.load(row), 6), m3), v128.and(i16x8.shr_u(v128.load(row, 32), 4), b4));
  if (P == 3) return v128.and(v128.load(row, 16), m7);
  if (P == 4) return v128.and(i16x8.shr_u(v128.load(row, 16), 3), m7);
  if (P == 5) return v128.or(v128.and(i16x8.shr_u(v128.load(row, 16), 6), m3), v128.and(i16x8.shr_u(v128.load(row, 32), 5), b4));
  if (P == 6) return v128.and(v128.load(row, 32), m7);
  return v128.and(i16x8.shr_u(v128.load(row, 32), 3), m7);
}
/** Q3_K row (48 bytes at row): acc + its sub-blocks 2m, 2m + 1 of the half (m a constant; x8, x16: the half's activations). */
// @ts-ignore: decorator
@inline function q3kPair(acc: v128, row: usize, m: i32, scp: usize, x8: usize, x16: usize, m7: v128, m3: v128, b4: v128): v128 {
  const c8 = x8 + <usize>(32 * m), c16 = x16 + <usize>(64 * m);
  return pairAcc(acc, q3kPlane(row, 2 * m, m7, m3, b4), q3kPlane(row, 2 * m + 1, m7, m3, b4), scp + <usize>(2 * m),
    q6kX(c8, c16, 0), q6kX(c8, c16, 1), q6kX(c8, c16, 2), q6kX(c8, c16, 3));
}
/** Q3_K row (48 bytes at row): acc + its half super-block (scp: the half's first sub-scale). */
// @ts-ignore: decorator
@inline function q3kHalf(acc: v128, row: usize, scp: usize, x8: usize, x16: usize, m7: v128, m3: v128, b4: v128): v128 {
  acc = q3kPair(acc, row, 0, scp, x8, x16, m7, m3, b4);
  acc = q3kPair(acc, row, 1, scp, x8, x16, m7, m3, b4);
  acc = q3kPair(acc, row, 2, scp, x8, x16, m7, m3, b4);
  return q3kPair(acc, row, 3, scp, x8, x16, m7, m3, b4);
}
/** Q2_K row (16 bytes at row) of a chunk: its 4 planes; scp: the chunk's first scale byte (low nibble). */
// @ts-ignore: decorator
@inline function q2kRow(acc: v128, row: usize, scp: usize, x8: usize, x16: usize, m3: v128, w15: v128): v128 {
  const l = v128.load(row);
  let a = acc;
  a = planeAcc(a, v128.and(l, m3), x8, x16, v128.and(v128.load8_splat(scp), w15));
  a = planeAcc(a, v128.and(i16x8.shr_u(l, 2), m3), x8 + 16, x16 + 32, v128.and(v128.load8_splat(scp + 1), w15));
  a = planeAcc(a, v128.and(i16x8.shr_u(l, 4), m3), x8 + 32, x16 + 64, v128.and(v128.load8_splat(scp + 2), w15));
  return planeAcc(a, v128.and(i16x8.shr_u(l, 6), m3), x8 + 48, x16 + 96, v128.and(v128.load8_splat(scp + 3), w15));
}
/** Σ_k sc_k·bs16_k over a row's 16 signed scale bytes at p (i32x4 partial sums). */
// @ts-ignore: decorator
@inline function scaleDotS(p: usize, bs16: usize): v128 {
  const v = v128.load(p);
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(bs16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(bs16, 16)));
}
/** Q2_K: Σ_k min_k·bs16_k over a row's 16 scale bytes at p (min: the high nibble). */
// @ts-ignore: decorator
@inline function minDotQ2(p: usize, bs16: usize, m15: v128): v128 {
  const v = v128.and(i16x8.shr_u(v128.load(p), 4), m15);
  return i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(v), v128.load(bs16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(v), v128.load(bs16, 16)));
}

// @ts-ignore: decorator
@inline function sc4s(p: usize): v128 {
  return i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(p)));
}
/** IQ4_XS: exact Σ over one row's 32-column group (i32x4 partial sums). */
// @ts-ignore: decorator
@inline function iq4Group(grp: usize, rr: usize, q16: usize, m15: v128): v128 {
  const v = v128.load(grp + (rr << 4));
  const lo = v128.and(v, m15);
  const hi = v128.and(i16x8.shr_u(v, 4), m15);
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.add(dotSigned1(i8x16.relaxed_swizzle(KVALUES, lo), q16), dotSigned1(i8x16.relaxed_swizzle(KVALUES, hi), q16 + 32));
  return i32x4.add(dotSigned1(i8x16.swizzle(KVALUES, lo), q16), dotSigned1(i8x16.swizzle(KVALUES, hi), q16 + 32));
}

// ---- the batched paths (needs the per-thread scratch) ----
//
// Three ways to run n x rows over a panel super-block unpacked once into the scratch:
//  - the relaxed build's row-lane tiles for Q4_K (matmulQ4KRows, below), n ≥ Q4K_ROWS_MIN;
//  - the 4×2 tile (matmulKTiled, below): every build, n ≥ tileMin;
//  - the relaxed build's byte path (matmulKBatched), below tileMin (Q5_K: every batch): the
//    4 rows' planes as 16 bytes of u each with each sub-scale broadcast to i16 lanes beside them; x rows
//    run over them in pairs, two panel rows at a time (kBytePair): per plane, row and x row one
//    i16x8.relaxed_dot_i8x16_i7x16_s pair sum, per sub-block one i32x4.dot_i16x8_s with the scale.
// The integers are the direct path's, combined in the same order: the results are identical.
// Scratch (quant_scratch_bytes): planes @0 (the tile's i16 octets: 2048 B; the byte path's planes: 1024 B,
// then kBytePair's 8 sums @1024) · scales @2048 ([4 rows][NS][i16x8], ≤ 1024 B) ·
// the f32x4 accumulators of the n x rows @SCRATCH_ACC (16 B per row here; 32 for the row-lane paths,
// which run two panels at a time: Q4_K below, Q8_0 and the 32-column types in matmul_q8.ts, quant_legacy.ts).

/**
 * Relaxed build: smallest batch that takes the byte path (below it the direct kernel is as fast: measured).
 * Q6_K and Q3_K: their tileMin, so never: the direct path's pair planes run 3–7 x rows as fast as the
 * byte path or faster (Q6_K 1.0–1.1×, Q3_K 1.06–1.25×; it has to shuffle them back into sub-blocks).
 * Q4_K: never (its row lanes from Q4K_ROWS_MIN x rows, the direct kernel below; the byte path ran it from 16).
 */
// @ts-ignore: decorator
@inline function batchMin(kind: i32): i32 {
  return kind == Q4_K ? i32.MAX_VALUE : kind == Q2_K || kind == Q6_K || kind == Q3_K ? 8 : 3;
}
/**
 * Smallest batch that takes the 4×2 tile (measured): 2 in the plain build; in the relaxed build 8 for
 * Q6_K and Q3_K (the direct kernel ties it at 8 and loses from 12) and 16 for Q2_K, while Q5_K keeps
 * the byte path throughout (1.13–1.23× the tile from 16 x rows, docs/performance.md §7) and Q4_K takes
 * its row lanes.
 */
// @ts-ignore: decorator
@inline function tileMin(kind: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 2;
  return kind == Q6_K || kind == Q3_K ? 8 : kind == Q2_K ? 16 : i32.MAX_VALUE;
}
/** Offset of the accumulators in the scratch. */
// @ts-ignore: decorator
@lazy const SCRATCH_ACC: usize = 3328;

/** Bytes of the scratch the quantised kernels need for batches of n x rows (per thread). */
export function quant_scratch_bytes(n: i32): i32 {
  return <i32>SCRATCH_ACC + 32 * max(n, 1);
}

/** Sub-blocks per super-block. */
// @ts-ignore: decorator
@inline function subBlocks(kind: i32): i32 {
  return kind == Q4_K || kind == Q5_K ? 8 : 16;
}

/** Plane p (columns 16p .. 16p + 15 of the super-block) of row rr as unsigned bytes u (p a constant). */
// @ts-ignore: decorator
@inline function planeK(kind: i32, sb: usize, rr: usize, p: i32, m15: v128, m3: v128, m30: v128, b16: v128, b4: v128): v128 {
  if (kind == Q4_K) {
    const v = v128.load(sb + 80 + <usize>(64 * (p >> 1)) + (rr << 4));
    return (p & 1) == 0 ? v128.and(v, m15) : v128.and(i16x8.shr_u(v, 4), m15);
  }
  if (kind == Q5_K) {
    const g = sb + 80 + <usize>(80 * (p >> 1));
    return q5kPlane(g, rr, (p & 1) == 1, v128.load(g + 64), v128.or(m15, b16), kconst(K_M1C), m3);
  }
  if (kind == Q6_K) {
    // sub-block s of half h: its i16 column pairs are the pair planes' lanes s, s + 2, ..
    const row = sb + 72 + <usize>(192 * (p >> 2)) + rr * 48;
    const h = (p >> 1) & 1;
    const a = q6kPlane(row, h, 0, m15, m30, v128.or(m15, m30)), b = q6kPlane(row, h, 1, m15, m30, m15);
    if ((p & 1) == 0) return i16x8.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    return i16x8.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  }
  if (kind == Q3_K) {
    // sub-block p & 7 of half p >> 3: lanes (p & 1), (p & 1) + 2, .. of its pair planes, as Q6_K's
    const row = sb + 72 + <usize>(192 * (p >> 3)) + rr * 48;
    const P = p & 6, m7 = v128.or(m3, b4);
    const a = q3kPlane(row, P, m7, m3, b4), b = q3kPlane(row, P + 1, m7, m3, b4);
    if ((p & 1) == 0) return i16x8.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    return i16x8.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  }
  // Q2_K
  return v128.and(shiftBy(v128.load(sb + 80 + <usize>(64 * (p >> 2)) + (rr << 4)), -2 * (p & 3)), m3);
}

/** Store plane p of row rr into the scratch as bytes (the relaxed byte path). */
// @ts-ignore: decorator
@inline function putPlane(dst: usize, rr: usize, p: i32, v: v128): void {
  v128.store(dst + (rr << 8) + <usize>(p << 4), v);
}

/** Unpack one panel super-block into the scratch: 4 rows × 16 planes, and the broadcast sub-scales. */
// @ts-ignore: decorator
@inline function unpackK(kind: i32, sb: usize, scratch: usize, m15: v128, m3: v128, m30: v128, b16: v128, b4: v128, w15: v128): void {
  const NS = subBlocks(kind);
  for (let rr: usize = 0; rr < 4; rr++) {
    putPlane(scratch, rr, 0, planeK(kind, sb, rr, 0, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 1, planeK(kind, sb, rr, 1, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 2, planeK(kind, sb, rr, 2, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 3, planeK(kind, sb, rr, 3, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 4, planeK(kind, sb, rr, 4, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 5, planeK(kind, sb, rr, 5, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 6, planeK(kind, sb, rr, 6, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 7, planeK(kind, sb, rr, 7, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 8, planeK(kind, sb, rr, 8, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 9, planeK(kind, sb, rr, 9, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 10, planeK(kind, sb, rr, 10, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 11, planeK(kind, sb, rr, 11, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 12, planeK(kind, sb, rr, 12, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 13, planeK(kind, sb, rr, 13, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 14, planeK(kind, sb, rr, 14, m15, m3, m30, b16, b4));
    putPlane(scratch, rr, 15, planeK(kind, sb, rr, 15, m15, m3, m30, b16, b4));
    const sc = scratch + 2048 + ((rr * <usize>NS) << 4);
    for (let k = 0; k < NS; k++) {
      const p = scalePtr(kind, sb, rr, k);
      let v: v128;
      if (kind == Q4_K || kind == Q5_K) v = splatU8(p);
      else if (kind == Q2_K) v = v128.and(v128.load8_splat(p), w15);
      else v = splatS8(p);
      v128.store(sc + (<usize>k << 4), v);
    }
  }
}

/** i16 pair sums of one unpacked plane (u as bytes) with 16 activation quants: the relaxed byte path. */
// @ts-ignore: decorator
@inline function planeDot(plane: v128, x: v128): v128 {
  return i16x8.relaxed_dot_i8x16_i7x16_s(x, plane);
}

/** Bytes of one unpacked plane in the scratch (the relaxed byte path). */
// @ts-ignore: decorator
@inline function planeBytes(): usize {
  return 16;
}

/**
 * Two panel rows (planes at pl, scales at sk) × two x rows (byte quants at xa, xb) over one super-block:
 * stores the i32x4 partial sums [xa·row0, xa·row1, xb·row0, xb·row1] at dst. Two rows, not four, so
 * that the 4 x loads, 4 plane loads and 2 scale loads of a step and the 4 sums stay in registers.
 */
// @ts-ignore: decorator
@inline function kBytePair(NS: i32, pl: usize, sk: usize, xa: usize, xb: usize, dst: usize): void {
  const RB = planeBytes() << 4;
  const SRB = <usize>NS << 4;
  let a0 = i32x4.splat(0), a1 = a0, b0 = a0, b1 = a0;
  if (NS == 16) {
    for (let k = 0; k < 16; k++, pl += 16, sk += 16, xa += 16, xb += 16) {
      const x0 = v128.load(xa), x1 = v128.load(xb);
      let p = v128.load(pl), s = v128.load(sk);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(planeDot(p, x0), s));
      b0 = i32x4.add(b0, i32x4.dot_i16x8_s(planeDot(p, x1), s));
      p = v128.load(pl + RB);
      s = v128.load(sk + SRB);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(planeDot(p, x0), s));
      b1 = i32x4.add(b1, i32x4.dot_i16x8_s(planeDot(p, x1), s));
    }
  } else {
    for (let k = 0; k < 8; k++, pl += 32, sk += 16, xa += 32, xb += 32) {
      const xa0 = v128.load(xa), xa1 = v128.load(xa, 16), xb0 = v128.load(xb), xb1 = v128.load(xb, 16);
      let p0 = v128.load(pl), p1 = v128.load(pl, 16), s = v128.load(sk);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.add(planeDot(p0, xa0), planeDot(p1, xa1)), s));
      b0 = i32x4.add(b0, i32x4.dot_i16x8_s(i16x8.add(planeDot(p0, xb0), planeDot(p1, xb1)), s));
      p0 = v128.load(pl + RB);
      p1 = v128.load(pl + RB, 16);
      s = v128.load(sk + SRB);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.add(planeDot(p0, xa0), planeDot(p1, xa1)), s));
      b1 = i32x4.add(b1, i32x4.dot_i16x8_s(i16x8.add(planeDot(p0, xb0), planeDot(p1, xb1)), s));
    }
  }
  v128.store(dst, a0);
  v128.store(dst, a1, 16);
  v128.store(dst, b0, 32);
  v128.store(dst, b1, 48);
}

/** Q6_K / Q3_K: row rr's sums less the offset term (sc·off·Σx per sub-block) over one super-block. */
// @ts-ignore: decorator
@inline function offsetCorrect(kind: i32, a: v128, sb: usize, rr: usize, bs16: usize): v128 {
  if (kind != Q6_K && kind != Q3_K) return a;
  return i32x4.sub(a, i32x4.shl(scaleDotS(sb + 8 + (rr << 4), bs16), kind == Q6_K ? 5 : 2));
}

/** One x row's step after its four row sums (a0..a3) over a super-block: the offset term, then kStep. */
// @ts-ignore: decorator
@inline function kByteStep(kind: i32, a0: v128, a1: v128, a2: v128, a3: v128, sb: usize, d: v128, sec: usize, b: i32, bs16Off: usize, bs32Off: usize, dOff: usize, m15: v128, fmask: v128, f16scale: v128, ap: usize, last: bool, out: usize, valid: i32): void {
  const bs16 = sec + bs16Off + (<usize>b << 5);
  const ai = isum4(offsetCorrect(kind, a0, sb, 0, bs16), offsetCorrect(kind, a1, sb, 1, bs16),
    offsetCorrect(kind, a2, sb, 2, bs16), offsetCorrect(kind, a3, sb, 3, bs16));
  kStep(kind, ai, sb, d, sec, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, ap, last, out, valid);
}

// @ts-ignore: decorator
@inline function matmulKBatched(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const PB = sbBytes(kind);
  const S = cols >> 8;
  const pb = <usize>S * PB;
  const rec = <usize>qx_row_bytes(cols);
  const offB = <usize>qx_offset_k(cols);
  const q8Off = <usize>cols << 1;
  const dOff = qxD(cols);
  const bs16Off = qxBs16(cols, 256);
  const bs32Off = qxBs32(cols, 256);
  const outRowBytes = <usize>outStride << 2;
  const NS = subBlocks(kind);
  const PLB = planeBytes();
  const RB = PLB << 4; // one row's planes
  const SRB = <usize>NS << 4; // one row's scales
  const m15 = kconst(K_M15), m3 = kconst(K_M3), m30 = kconst(K_M30), b16 = kconst(K_B16), b4 = kconst(K_B4), w15 = kconst(K_W15);
  const fmask = kconst(K_F16MASK), f16scale = kconst(K_F16SCALE);
  const scales = scratch + 2048;
  const sums = scratch + 1024; // kBytePair's results: 8 vectors
  const accs = scratch + SCRATCH_ACC;
  let w = wPtr;
  for (let r = 0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let b = 0; b < S; b++) {
      const sb = w + <usize>b * PB;
      const last = b == S - 1;
      unpackK(kind, sb, scratch, m15, m3, m30, b16, b4, w15);
      const d = f16x4m(sb, fmask, f16scale);
      let i = 0;
      for (; i + 2 <= n; i += 2) {
        const secA = xPtr + <usize>i * rec + offB; // section B of x row i (row i + 1: + rec)
        const xa = secA + q8Off + (<usize>b << 8);
        kBytePair(NS, scratch, scales, xa, xa + rec, sums);
        kBytePair(NS, scratch + 2 * RB, scales + 2 * SRB, xa, xa + rec, sums + 64);
        kByteStep(kind, v128.load(sums), v128.load(sums, 16), v128.load(sums, 64), v128.load(sums, 80), sb, d, secA, b,
          bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + (<usize>i << 4), last, o + <usize>i * outRowBytes, valid);
        kByteStep(kind, v128.load(sums, 32), v128.load(sums, 48), v128.load(sums, 96), v128.load(sums, 112), sb, d, secA + rec, b,
          bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + (<usize>(i + 1) << 4), last, o + <usize>(i + 1) * outRowBytes, valid);
      }
      if (i < n) {
        // the odd last x row: all four rows per step
        const sec = xPtr + <usize>i * rec + offB;
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let pl = scratch, sk = scales, q8 = sec + q8Off + (<usize>b << 8);
        if (NS == 16) {
          for (let k = 0; k < 16; k++, pl += PLB, sk += 16, q8 += 16) {
            const x = v128.load(q8);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(planeDot(v128.load(pl), x), v128.load(sk)));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(planeDot(v128.load(pl + RB), x), v128.load(sk + SRB)));
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(planeDot(v128.load(pl + 2 * RB), x), v128.load(sk + 2 * SRB)));
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(planeDot(v128.load(pl + 3 * RB), x), v128.load(sk + 3 * SRB)));
          }
        } else {
          for (let k = 0; k < 8; k++, pl += 2 * PLB, sk += 16, q8 += 32) {
            const x0 = v128.load(q8), x1 = v128.load(q8, 16);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.add(planeDot(v128.load(pl), x0), planeDot(v128.load(pl + PLB), x1)), v128.load(sk)));
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.add(planeDot(v128.load(pl + RB), x0), planeDot(v128.load(pl + RB + PLB), x1)), v128.load(sk + SRB)));
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.add(planeDot(v128.load(pl + 2 * RB), x0), planeDot(v128.load(pl + 2 * RB + PLB), x1)), v128.load(sk + 2 * SRB)));
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.add(planeDot(v128.load(pl + 3 * RB), x0), planeDot(v128.load(pl + 3 * RB + PLB), x1)), v128.load(sk + 3 * SRB)));
          }
        }
        kByteStep(kind, a0, a1, a2, a3, sb, d, sec, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + (<usize>i << 4), last, o + <usize>i * outRowBytes, valid);
      }
    }
  }
}

// ---- relaxed build, Q4_K batches: row-lane vectors ----
//
// As the 32-column legacy types' row-lane tiles (quant_legacy.ts): each 32-column group of a panel
// super-block is unpacked into 8 row-lane vectors (q4RowLanes: Q4_K's group bytes are Q4_0's), an x
// row's 4 activation bytes at a time are broadcast against them, and a group's 8 steps add in i16 (a
// lane ≤ 16·15·127 = 30480). One i32x4.dot_i16x8_s with the group's sub-scales spread as (sc_r, sc_r)
// over row r's two lanes then adds sc·Σ u·x to the row's i32 lane, so after the 8 groups the lanes hold
// the 4 rows' integer sums of the direct path, with no transpose-add, and kStep goes on as there: the
// same bits. Tiles as the legacy types': panels in pairs × 4, 2 and 1 x rows.
// Scratch: panel A's groups @128·j (1 KB), panel B's @1024 + 128·j · the sub-scale vectors of A @2048 +
// 16·j, of B @2176 + 16·j · the x rows' f32x4 sums @SCRATCH_ACC + 32·i (A's, then B's).

/**
 * Relaxed build: smallest batch that takes Q4_K's row-lane path. Against the paths it replaced (their time
 * ÷ its time, 896×4864, one thread, the same bits): the direct kernel 1.09–1.2× at 4–7 x rows (0.88× at
 * 3), 1.29× at 8; the byte path 1.14× at 16, 1.29–1.38× at 32–128.
 */
// @ts-ignore: decorator
@lazy const Q4K_ROWS_MIN: i32 = 4;

/** Unpack one Q4_K panel super-block: its 8 groups as row-lane vectors at dst, the sub-scale vectors at scd. */
// @ts-ignore: decorator
@inline function unpackQ4KRows(sb: usize, dst: usize, scd: usize, m15: v128): void {
  let g = sb + 80;
  for (let j = 0; j < 8; j++, g += 64, dst += 128) q4RowLanes(g, dst, m15);
  for (let rr: usize = 0; rr < 4; rr++) {
    for (let j: usize = 0; j < 8; j++) {
      const sc = <u32>load<u8>(sb + 16 + (rr << 3) + j);
      store<u32>(scd + (j << 4) + (rr << 2), sc | (sc << 16));
    }
  }
}

/**
 * One tile of Q4_K's row-lane path over super-block b: P panels (1 or 2) × XR x rows i .. i + XR − 1
 * (1, 2 or 4; all compile-time). Per step 1–2 weight vectors, XR broadcasts and P·XR pmaddubsw into as
 * many i16 sums; per group P·XR dots with the sub-scales into the rows' i32 sums.
 */
// @ts-ignore: decorator
@inline function q4kRowsTile(P: i32, XR: i32, i: i32, xPtr: usize, rec: usize, offB: usize, b: i32, cols: i32, scratch: usize, sbA: usize, sbB: usize, dA: v128, dB: v128, m15: v128, fmask: v128, f16scale: v128, last: bool, o: usize, outRowBytes: usize, valid: i32): void {
  const dOff = qxD(cols), bs16Off = qxBs16(cols, 256), bs32Off = qxBs32(cols, 256);
  const s0 = xPtr + <usize>i * rec + offB, s1 = s0 + rec, s2 = s1 + rec, s3 = s2 + rec; // section B of each x row
  const q8 = (<usize>cols << 1) + (<usize>b << 8);
  let x0 = s0 + q8, x1 = s1 + q8, x2 = s2 + q8, x3 = s3 + q8;
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
  let p = scratch, sc = scratch + 2048;
  for (let j = 0; j < 8; j++, sc += 16, x0 += 32, x1 += 32, x2 += 32, x3 += 32) {
    let h0 = i32x4.splat(0), h1 = h0, h2 = h0, h3 = h0, k0 = h0, k1 = h0, k2 = h0, k3 = h0;
    // one step per iteration (as the legacy tiles: V8 issues a block's loads first)
    for (let t: usize = 0; t < 32; t += 4, p += 16) {
      const wa = v128.load(p), wb = P > 1 ? v128.load(p, 1024) : wa;
      let y = v128.load32_splat(x0 + t);
      h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
      if (P > 1) k0 = i16x8.add(k0, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
      if (XR > 1) {
        y = v128.load32_splat(x1 + t);
        h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k1 = i16x8.add(k1, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
      }
      if (XR > 2) {
        y = v128.load32_splat(x2 + t);
        h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k2 = i16x8.add(k2, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
        y = v128.load32_splat(x3 + t);
        h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(y, wa));
        if (P > 1) k3 = i16x8.add(k3, i16x8.relaxed_dot_i8x16_i7x16_s(y, wb));
      }
    }
    const sa = v128.load(sc), sbv = P > 1 ? v128.load(sc, 128) : sa;
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(h0, sa));
    if (P > 1) c0 = i32x4.add(c0, i32x4.dot_i16x8_s(k0, sbv));
    if (XR > 1) {
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(h1, sa));
      if (P > 1) c1 = i32x4.add(c1, i32x4.dot_i16x8_s(k1, sbv));
    }
    if (XR > 2) {
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(h2, sa));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(h3, sa));
      if (P > 1) {
        c2 = i32x4.add(c2, i32x4.dot_i16x8_s(k2, sbv));
        c3 = i32x4.add(c3, i32x4.dot_i16x8_s(k3, sbv));
      }
    }
  }
  const accs = scratch + SCRATCH_ACC + (<usize>i << 5), q0 = o + <usize>i * outRowBytes;
  kStep(Q4_K, a0, sbA, dA, s0, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs, last, q0, valid);
  if (P > 1) kStep(Q4_K, c0, sbB, dB, s0, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 16, last, q0 + 16, valid - 4);
  if (XR > 1) {
    kStep(Q4_K, a1, sbA, dA, s1, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 32, last, q0 + outRowBytes, valid);
    if (P > 1) kStep(Q4_K, c1, sbB, dB, s1, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 48, last, q0 + outRowBytes + 16, valid - 4);
  }
  if (XR > 2) {
    const q2 = q0 + 2 * outRowBytes, q3 = q2 + outRowBytes;
    kStep(Q4_K, a2, sbA, dA, s2, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 64, last, q2, valid);
    kStep(Q4_K, a3, sbA, dA, s3, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 96, last, q3, valid);
    if (P > 1) {
      kStep(Q4_K, c2, sbB, dB, s2, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 80, last, q2 + 16, valid - 4);
      kStep(Q4_K, c3, sbB, dB, s3, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + 112, last, q3 + 16, valid - 4);
    }
  }
}

/** Q4_K's row-lane path over P-panel blocks (P = 2: rows a multiple of 8): x rows in tiles of 4, then 2, then 1. */
// @ts-ignore: decorator
@inline function matmulQ4KRowsP(P: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const PB = sbBytes(Q4_K);
  const S = cols >> 8;
  const pb = <usize>S * PB;
  const rec = <usize>qx_row_bytes(cols);
  const offB = <usize>qx_offset_k(cols);
  const outRowBytes = <usize>outStride << 2;
  const m15 = kconst(K_M15), fmask = kconst(K_F16MASK), f16scale = kconst(K_F16SCALE);
  let w = wPtr;
  for (let r = 0; r < rows; r += P << 2, w += pb * <usize>P) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let b = 0; b < S; b++) {
      const sbA = w + <usize>b * PB, sbB = sbA + pb;
      unpackQ4KRows(sbA, scratch, scratch + 2048, m15);
      if (P > 1) unpackQ4KRows(sbB, scratch + 1024, scratch + 2176, m15);
      const dA = f16x4m(sbA, fmask, f16scale), dB = P > 1 ? f16x4m(sbB, fmask, f16scale) : dA;
      const last = b == S - 1;
      let i = 0;
      for (; i + 4 <= n; i += 4) q4kRowsTile(P, 4, i, xPtr, rec, offB, b, cols, scratch, sbA, sbB, dA, dB, m15, fmask, f16scale, last, o, outRowBytes, valid);
      for (; i + 2 <= n; i += 2) q4kRowsTile(P, 2, i, xPtr, rec, offB, b, cols, scratch, sbA, sbB, dA, dB, m15, fmask, f16scale, last, o, outRowBytes, valid);
      if (i < n) q4kRowsTile(P, 1, i, xPtr, rec, offB, b, cols, scratch, sbA, sbB, dA, dB, m15, fmask, f16scale, last, o, outRowBytes, valid);
    }
  }
}

// @ts-ignore: decorator
@inline function matmulQ4KRows(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const pairRows = (rows >> 3) << 3;
  if (pairRows > 0) matmulQ4KRowsP(2, outPtr, outStride, wPtr, xPtr, n, pairRows, cols, scratch);
  if (pairRows < rows) matmulQ4KRowsP(1, outPtr + (<usize>pairRows << 2), outStride, wPtr + <usize>(pairRows >> 2) * <usize>(cols >> 8) * sbBytes(Q4_K), xPtr, n, rows - pairRows, cols, scratch);
}

// The 4×2 tile (see tileMin): the super-block is unpacked as
// i16 weights already multiplied by their sub-scale, w = sc_k·(u − off) (|w| ≤ 128·32: Q6_K), in octets
// (columns 8o .. 8o + 7 of row rr at 64o + 16rr: 2048 B), so that Σ_c w·x = Σ_k sc_k·(Σ_{c ∈ k} u·x − off·Σ_{c ∈ k} x)
// is the direct path's integer; then pairs of x rows run over the octets: per octet 4 weight loads feed 8
// pmaddwd into 8 accumulators (within the 15 XMM registers), an odd last x row takes a one-row loop. The
// mins term and the f32 steps are the direct path's, in the same order: identical results.

/** Unpack one panel super-block into the scratch as scaled i16 octets (see above). */
// @ts-ignore: decorator
@inline function unpackKScaled(kind: i32, sb: usize, scratch: usize, m15: v128, m3: v128, m30: v128, b16: v128, b4: v128, w15: v128): void {
  const off = i16x8.splat(<i16>offsetOf(kind));
  for (let rr: usize = 0; rr < 4; rr++) {
    const dst = scratch + (rr << 4);
    scaledPlane(kind, sb, rr, 0, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 1, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 2, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 3, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 4, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 5, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 6, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 7, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 8, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 9, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 10, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 11, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 12, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 13, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 14, dst, off, m15, m3, m30, b16, b4, w15);
    scaledPlane(kind, sb, rr, 15, dst, off, m15, m3, m30, b16, b4, w15);
  }
}

/** Plane p of row rr as i16 sc·(u − off) into its two octets (row base dst: octets 2p, 2p + 1). */
// @ts-ignore: decorator
@inline function scaledPlane(kind: i32, sb: usize, rr: usize, p: i32, dst: usize, off: v128, m15: v128, m3: v128, m30: v128, b16: v128, b4: v128, w15: v128): void {
  const u = planeK(kind, sb, rr, p, m15, m3, m30, b16, b4);
  const k = subBlocks(kind) == 8 ? p >> 1 : p;
  const scp = scalePtr(kind, sb, rr, k);
  let sc: v128;
  if (kind == Q4_K || kind == Q5_K) sc = splatU8(scp);
  else if (kind == Q2_K) sc = v128.and(v128.load8_splat(scp), w15);
  else sc = splatS8(scp);
  let lo = i16x8.extend_low_i8x16_u(u), hi = i16x8.extend_high_i8x16_u(u);
  if (offsetOf(kind) != 0) {
    lo = i16x8.sub(lo, off);
    hi = i16x8.sub(hi, off);
  }
  v128.store(dst + <usize>(p << 7), i16x8.mul(lo, sc));
  v128.store(dst + <usize>(p << 7), i16x8.mul(hi, sc), 64);
}

/** Q4_K / Q5_K / Q2_K: the rows' Σ_k m_k·Σ_{c ∈ k} qx over one super-block (bs16, bs32: x's sub-block sums). */
// @ts-ignore: decorator
@inline function minSums(kind: i32, sb: usize, bs16: usize, bs32: usize, m15: v128): v128 {
  if (kind == Q4_K || kind == Q5_K) {
    const bs = v128.load(bs32);
    return isum4(i32x4.dot_i16x8_s(v128.load8x8_u(sb + 48), bs), i32x4.dot_i16x8_s(v128.load8x8_u(sb + 56), bs),
      i32x4.dot_i16x8_s(v128.load8x8_u(sb + 64), bs), i32x4.dot_i16x8_s(v128.load8x8_u(sb + 72), bs));
  }
  return isum4(minDotQ2(sb + 16, bs16, m15), minDotQ2(sb + 32, bs16, m15), minDotQ2(sb + 48, bs16, m15), minDotQ2(sb + 64, bs16, m15));
}

// @ts-ignore: decorator
@inline function matmulKTiled(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  const PB = sbBytes(kind);
  const S = cols >> 8;
  const pb = <usize>S * PB;
  const rec = <usize>qx_row_bytes(cols);
  const offB = <usize>qx_offset_k(cols);
  const dOff = qxD(cols);
  const bs16Off = qxBs16(cols, 256);
  const bs32Off = qxBs32(cols, 256);
  const outRowBytes = <usize>outStride << 2;
  const m15 = kconst(K_M15), m3 = kconst(K_M3), m30 = kconst(K_M30), b16 = kconst(K_B16), b4 = kconst(K_B4), w15 = kconst(K_W15);
  const fmask = kconst(K_F16MASK), f16scale = kconst(K_F16SCALE);
  const accs = scratch + SCRATCH_ACC;
  const pEnd = scratch + 2048;
  const pairs = n & ~1;
  let w = wPtr;
  for (let r = 0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let b = 0; b < S; b++) {
      const sb = w + <usize>b * PB;
      unpackKScaled(kind, sb, scratch, m15, m3, m30, b16, b4, w15);
      const d = f16x4m(sb, fmask, f16scale);
      for (let i = 0; i < pairs; i += 2) {
        const secA = xPtr + <usize>i * rec + offB; // section B of x row i (row i + 1: + rec)
        let xa = secA + (<usize>b << 9), xb = xa + rec;
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (let p = scratch; p < pEnd; p += 64, xa += 16, xb += 16) {
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
        const apA = accs + (<usize>i << 4);
        kStep(kind, isum4(a0, a1, a2, a3), sb, d, secA, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, apA, b == S - 1, o + <usize>i * outRowBytes, valid);
        kStep(kind, isum4(b0, b1, b2, b3), sb, d, secA + rec, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, apA + 16, b == S - 1, o + <usize>(i + 1) * outRowBytes, valid);
      }
      if (pairs < n) {
        // the odd last x row: two octets per step
        const i = pairs;
        const sec = xPtr + <usize>i * rec + offB;
        let xq = sec + (<usize>b << 9);
        let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (let p = scratch; p < pEnd; p += 128, xq += 32) {
          const x0 = v128.load(xq), x1 = v128.load(xq, 16);
          a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(v128.load(p), x0), i32x4.dot_i16x8_s(v128.load(p, 64), x1)));
          a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 16), x0), i32x4.dot_i16x8_s(v128.load(p, 80), x1)));
          a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 32), x0), i32x4.dot_i16x8_s(v128.load(p, 96), x1)));
          a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(v128.load(p, 48), x0), i32x4.dot_i16x8_s(v128.load(p, 112), x1)));
        }
        kStep(kind, isum4(a0, a1, a2, a3), sb, d, sec, b, bs16Off, bs32Off, dOff, m15, fmask, f16scale, accs + (<usize>i << 4), b == S - 1, o + <usize>i * outRowBytes, valid);
      }
    }
  }
}

/**
 * One x row's f32 step for a super-block, as the direct path: acc (at ap; 0 for the first super-block)
 * + f32(ai)·(d·s) (− f32(mins)·(dmin·s)); the last super-block stores the panel's outputs at out.
 */
// @ts-ignore: decorator
@inline function kStep(kind: i32, ai: v128, sb: usize, d: v128, sec: usize, b: i32, bs16Off: usize, bs32Off: usize, dOff: usize, m15: v128, fmask: v128, f16scale: v128, ap: usize, last: bool, out: usize, valid: i32): void {
  const sx = v128.load32_splat(sec + dOff + (<usize>b << 2));
  let acc = b == 0 ? f32x4.splat(0) : v128.load(ap);
  acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(ai), f32x4.mul(d, sx)));
  if (hasMin(kind)) {
    const am = minSums(kind, sb, sec + bs16Off + (<usize>b << 5), sec + bs32Off + (<usize>b << 4), m15);
    acc = f32x4.sub(acc, f32x4.mul(f32x4.convert_i32x4_s(am), f32x4.mul(f16x4m(sb + 8, fmask, f16scale), sx)));
  }
  if (last) storePanel4(out, acc, valid);
  else v128.store(ap, acc);
}

/**
 * acc + the 4 rows' f32 sums over the panel super-block at sb for one x row (section B pointers of its
 * super-block: x16 / x8 the quants as i16 / bytes, dx its scale, bs16 / bs32 its sub-block sums).
 */
// @ts-ignore: decorator
@inline function kSuperBlock(kind: i32, acc: v128, sb: usize, x16: usize, x8: usize, dx: usize, bs16: usize, bs32: usize, m15: v128, m3: v128, m30: v128, b4: v128, w15: v128, m3f: v128, m1f: v128, m1c: v128, m7: v128, fmask: v128, f16scale: v128): v128 {
  let a0 = i32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let am = a0;
  if (kind == Q4_K) {
    let g = sb + 80, scp = sb + 16, q8 = x8, q16 = x16;
    for (let j = 0; j < 8; j++, g += 64, scp++, q8 += 32, q16 += 64) {
      a0 = q4kRow(a0, g, 0, scp, q8, q16, m15);
      a1 = q4kRow(a1, g, 1, scp + 8, q8, q16, m15);
      a2 = q4kRow(a2, g, 2, scp + 16, q8, q16, m15);
      a3 = q4kRow(a3, g, 3, scp + 24, q8, q16, m15);
    }
  } else if (kind == Q5_K) {
    let g = sb + 80, scp = sb + 16, q8 = x8, q16 = x16;
    for (let j = 0; j < 8; j++, g += 80, scp++, q8 += 32, q16 += 64) {
      const bq = v128.load(g + 64);
      a0 = q5kRow(a0, g, 0, bq, scp, q8, q16, m1f, m1c, m3);
      a1 = q5kRow(a1, g, 1, bq, scp + 8, q8, q16, m1f, m1c, m3);
      a2 = q5kRow(a2, g, 2, bq, scp + 16, q8, q16, m1f, m1c, m3);
      a3 = q5kRow(a3, g, 3, bq, scp + 24, q8, q16, m1f, m1c, m3);
    }
  } else if (kind == Q6_K) {
    // per half of a chunk: the activations in pair-plane order, the same shuffles for the 4 rows
    let ch = sb + 72, scp = sb + 8, q8 = x8, q16 = x16;
    for (let q = 0; q < 4; q++, ch += 192, scp += 4, q8 += 64, q16 += 128) {
      a0 = q6kHalf(a0, ch, 0, scp, q8, q16, m15, m30, m3f);
      a1 = q6kHalf(a1, ch + 48, 0, scp + 16, q8, q16, m15, m30, m3f);
      a2 = q6kHalf(a2, ch + 96, 0, scp + 32, q8, q16, m15, m30, m3f);
      a3 = q6kHalf(a3, ch + 144, 0, scp + 48, q8, q16, m15, m30, m3f);
      a0 = q6kHalf(a0, ch, 1, scp + 2, q8 + 32, q16 + 64, m15, m30, m3f);
      a1 = q6kHalf(a1, ch + 48, 1, scp + 18, q8 + 32, q16 + 64, m15, m30, m3f);
      a2 = q6kHalf(a2, ch + 96, 1, scp + 34, q8 + 32, q16 + 64, m15, m30, m3f);
      a3 = q6kHalf(a3, ch + 144, 1, scp + 50, q8 + 32, q16 + 64, m15, m30, m3f);
    }
  } else if (kind == Q3_K) {
    // the activations in pair-plane order: the same shuffles for the 4 rows (V8 computes them once)
    let hf = sb + 72, scp = sb + 8, q8 = x8, q16 = x16;
    for (let h = 0; h < 2; h++, hf += 192, scp += 8, q8 += 128, q16 += 256) {
      a0 = q3kHalf(a0, hf, scp, q8, q16, m7, m3, b4);
      a1 = q3kHalf(a1, hf + 48, scp + 16, q8, q16, m7, m3, b4);
      a2 = q3kHalf(a2, hf + 96, scp + 32, q8, q16, m7, m3, b4);
      a3 = q3kHalf(a3, hf + 144, scp + 48, q8, q16, m7, m3, b4);
    }
  } else if (kind == Q2_K) {
    let ch = sb + 80, scp = sb + 16, q8 = x8, q16 = x16;
    for (let q = 0; q < 4; q++, ch += 64, scp += 4, q8 += 64, q16 += 128) {
      a0 = q2kRow(a0, ch, scp, q8, q16, m3, w15);
      a1 = q2kRow(a1, ch + 16, scp + 16, q8, q16, m3, w15);
      a2 = q2kRow(a2, ch + 32, scp + 32, q8, q16, m3, w15);
      a3 = q2kRow(a3, ch + 48, scp + 48, q8, q16, m3, w15);
    }
  }
  let ai: v128;
  if (kind == IQ4_XS) {
    ai = a0;
    let g = sb + 40, q16 = x16;
    for (let j = 0; j < 8; j++, g += 64, q16 += 64) {
      const t = isum4(iq4Group(g, 0, q16, m15), iq4Group(g, 1, q16, m15), iq4Group(g, 2, q16, m15), iq4Group(g, 3, q16, m15));
      ai = i32x4.add(ai, i32x4.mul(t, sc4s(sb + 8 + (<usize>j << 2))));
    }
  } else {
    // Q6_K / Q3_K: a row's sums less off·Σ_k sc_k·bs16_k (exact integers)
    ai = isum4(offsetCorrect(kind, a0, sb, 0, bs16), offsetCorrect(kind, a1, sb, 1, bs16), offsetCorrect(kind, a2, sb, 2, bs16), offsetCorrect(kind, a3, sb, 3, bs16));
  }
  if (kind == Q4_K || kind == Q5_K) {
    const bs = v128.load(bs32);
    am = isum4(i32x4.dot_i16x8_s(v128.load8x8_u(sb + 48), bs), i32x4.dot_i16x8_s(v128.load8x8_u(sb + 56), bs),
      i32x4.dot_i16x8_s(v128.load8x8_u(sb + 64), bs), i32x4.dot_i16x8_s(v128.load8x8_u(sb + 72), bs));
  } else if (kind == Q2_K) {
    am = isum4(minDotQ2(sb + 16, bs16, m15), minDotQ2(sb + 32, bs16, m15), minDotQ2(sb + 48, bs16, m15), minDotQ2(sb + 64, bs16, m15));
  }
  const sx = v128.load32_splat(dx);
  acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(ai), f32x4.mul(f16x4m(sb, fmask, f16scale), sx)));
  if (hasMin(kind)) acc = f32x4.sub(acc, f32x4.mul(f32x4.convert_i32x4_s(am), f32x4.mul(f16x4m(sb + 8, fmask, f16scale), sx)));
  return acc;
}

// @ts-ignore: decorator
@inline function matmulK(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratch: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD && kind == Q4_K && scratch != 0 && n >= Q4K_ROWS_MIN) {
    matmulQ4KRows(outPtr, outStride, wPtr, xPtr, n, rows, cols, scratch);
    return;
  }
  if (kind != IQ4_XS && scratch != 0) {
    if (n >= tileMin(kind)) {
      matmulKTiled(kind, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratch);
      return;
    }
    if (ASC_FEATURE_RELAXED_SIMD && n >= batchMin(kind)) {
      matmulKBatched(kind, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratch);
      return;
    }
  }
  const PB = sbBytes(kind);
  const pb = <usize>(cols >> 8) * PB;
  const rec = <usize>qx_row_bytes(cols);
  const offB = <usize>qx_offset_k(cols);
  const q8Off = <usize>cols << 1;
  const dOff = qxD(cols);
  const bs16Off = qxBs16(cols, 256);
  const bs32Off = qxBs32(cols, 256);
  const outRowBytes = <usize>outStride << 2;
  const m15 = kconst(K_M15), m3 = kconst(K_M3), m30 = kconst(K_M30), b16 = kconst(K_B16), b4 = kconst(K_B4), w15 = kconst(K_W15);
  const m3f = kconst(K_M3F), m1f = kconst(K_M1F), m1c = kconst(K_M1C), m7 = kconst(K_M7);
  const fmask = kconst(K_F16MASK), f16scale = kconst(K_F16SCALE);
  let r0 = 0;
  if (n == 1) {
    // one x row (decode): runs of whole panels in MATVEC_STREAMS interleaved streams (matmul_quant.ts);
    // the panels after them take the loop below
    const base = xPtr + offB;
    const x16 = base, x8 = base + q8Off, dx = base + dOff, bs16 = base + bs16Off, bs32 = base + bs32Off;
    const S = <usize>(cols >> 8);
    const part = streamPart(rows);
    const st = <usize>part * pb;
    for (let j = 0; j < part; j++) {
      for (let s = 0; s < MATVEC_STREAMS; s++) v128.store(streamOut(outPtr, j, part, s), f32x4.splat(0));
      const w = wPtr + <usize>j * pb;
      for (let t: usize = 0; t < S; t++) {
        for (let s = 0; s < MATVEC_STREAMS; s++) {
          const o = streamOut(outPtr, j, part, s);
          v128.store(o, kSuperBlock(kind, v128.load(o), w + <usize>s * st + t * PB, x16 + (t << 9), x8 + (t << 8), dx + (t << 2), bs16 + (t << 5), bs32 + (t << 4), m15, m3, m30, b4, w15, m3f, m1f, m1c, m7, fmask, f16scale));
        }
      }
    }
    r0 = part * MATVEC_STREAMS << 2;
  } else {
    // several x rows (a draft tree's verify): the same streams, each super-block of a panel visited
    // once for every x row (from DRAM 1.05–1.18× the one-stream loop at n = 2–3 on the Xeon; at n = 1
    // this loop over the rows measured 0.89× the one above for Q6_K)
    const S = <usize>(cols >> 8);
    const part = streamPart(rows);
    const st = <usize>part * pb;
    for (let j = 0; j < part; j++) {
      for (let i = 0; i < n; i++) {
        for (let s = 0; s < MATVEC_STREAMS; s++) v128.store(streamOut(outPtr + <usize>i * outRowBytes, j, part, s), f32x4.splat(0));
      }
      const w = wPtr + <usize>j * pb;
      for (let t: usize = 0; t < S; t++) {
        for (let s = 0; s < MATVEC_STREAMS; s++) {
          const sb = w + <usize>s * st + t * PB;
          for (let i = 0; i < n; i++) {
            const base = xPtr + <usize>i * rec + offB;
            const o = streamOut(outPtr + <usize>i * outRowBytes, j, part, s);
            v128.store(o, kSuperBlock(kind, v128.load(o), sb, base + (t << 9), base + q8Off + (t << 8), base + dOff + (t << 2), base + bs16Off + (t << 5), base + bs32Off + (t << 4), m15, m3, m30, b4, w15, m3f, m1f, m1c, m7, fmask, f16scale));
          }
        }
      }
    }
    r0 = part * MATVEC_STREAMS << 2;
  }
  let w = wPtr + <usize>(r0 >> 2) * pb;
  for (let r = r0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    const wEnd = w + pb;
    for (let i = 0; i < n; i++) {
      const base = xPtr + <usize>i * rec + offB; // section B of x row i
      let acc = f32x4.splat(0);
      // x pointers advance with the super-block: q16 by 512 bytes, q8 by 256, d by 4, bs16 by 32, bs32 by 16
      let x16 = base, x8 = base + q8Off, dx = base + dOff, bs16 = base + bs16Off, bs32 = base + bs32Off;
      for (let sb = w; sb < wEnd; sb += PB, x16 += 512, x8 += 256, dx += 4, bs16 += 32, bs32 += 16) {
        acc = kSuperBlock(kind, acc, sb, x16, x8, dx, bs16, bs32, m15, m3, m30, b4, w15, m3f, m1f, m1c, m7, fmask, f16scale);
      }
      storePanel4(o + <usize>i * outRowBytes, acc, valid);
    }
  }
}

// ---- scalar access to one weight (for the twins and the dequantisers) ----

/** The stored quant u of row-in-panel rr at super-block column c, in the panel super-block at sb (IQ4_XS: the index). */
// @ts-ignore: decorator
@inline function quantAt(kind: i32, sb: usize, rr: usize, c: i32): i32 {
  const t = <usize>(c & 15);
  if (kind == Q2_K) {
    return (<i32>load<u8>(sb + 80 + <usize>(c >> 6) * 64 + (rr << 4) + t) >> (2 * ((c >> 4) & 3))) & 3;
  }
  if (kind == Q3_K) {
    const row = sb + 72 + <usize>(c >> 7) * 192 + rr * 48;
    const pos = q6Pos(c & 31);
    const P = ((c >> 4) & 6) | ((pos >> 4) & 1), b = <usize>(pos & 15);
    const va = <i32>load<u8>(row + b), vb = <i32>load<u8>(row + 16 + b), vc = <i32>load<u8>(row + 32 + b);
    if (P == 0) return va & 7;
    if (P == 1) return (va >> 3) & 7;
    if (P == 2) return (va >> 6) | (((vc >> 6) & 1) << 2);
    if (P == 3) return vb & 7;
    if (P == 4) return (vb >> 3) & 7;
    if (P == 5) return (vb >> 6) | ((vc >> 7) << 2);
    if (P == 6) return vc & 7;
    return (vc >> 3) & 7;
  }
  if (kind == Q6_K) {
    const row = sb + 72 + <usize>(c >> 6) * 192 + rr * 48;
    const pos = q6Pos(c & 63);
    const h = pos >> 5, b = <usize>(pos & 15);
    const v = <i32>load<u8>(row + <usize>(h << 4) + b);
    if ((pos & 16) == 0) return v & 63;
    return ((<i32>load<u8>(row + 32 + b) >> (h << 2)) & 15) | ((v >> 6) << 4);
  }
  if (kind == Q5_K) {
    const g = sb + 80 + <usize>(c >> 5) * 80;
    const a = <i32>load<u8>(g + (rr << 4) + t);
    if ((c & 16) == 0) return a & 31;
    return ((a >> 5) << 2) | ((<i32>load<u8>(g + 64 + t) >> (<i32>rr << 1)) & 3);
  }
  // Q4_K, IQ4_XS
  const nb = <i32>load<u8>(sb + (kind == Q4_K ? 80 : 40) + <usize>(c >> 5) * 64 + (rr << 4) + t);
  return (c & 16) == 0 ? nb & 15 : nb >> 4;
}

/** Q6_K: where chunk column cc (0..63) sits: (pair plane 2h + j) << 4 | byte (see the layout). */
// @ts-ignore: decorator
@inline function q6Pos(cc: i32): i32 {
  const h = cc >> 5, s = (cc >> 4) & 1, j = (cc >> 3) & 1, i = (cc >> 1) & 3;
  return (((h << 1) | j) << 4) | (i << 2) | (s << 1) | (cc & 1);
}

/** Sub-scale of row-in-panel rr for sub-block k (of 16 or 32 columns, per type); Q2_K: the low nibble. */
// @ts-ignore: decorator
@inline function scaleAt(kind: i32, sb: usize, rr: usize, k: i32): i32 {
  const p = scalePtr(kind, sb, rr, k);
  if (kind == Q4_K || kind == Q5_K) return <i32>load<u8>(p);
  if (kind == Q2_K) return <i32>load<u8>(p) & 15;
  return <i32>load<i8>(p);
}
/** Min of row-in-panel rr for sub-block k (Q2_K: the high nibble; Q4_K/Q5_K: the m byte). */
// @ts-ignore: decorator
@inline function minAt(kind: i32, sb: usize, rr: usize, k: i32): i32 {
  if (kind == Q2_K) return <i32>load<u8>(scalePtr(kind, sb, rr, k)) >> 4;
  return <i32>load<u8>(sb + 48 + (rr << 3) + <usize>k);
}
// @ts-ignore: decorator
@inline function subShift(kind: i32): i32 {
  return kind == Q4_K || kind == Q5_K || kind == IQ4_XS ? 5 : 4;
}
// @ts-ignore: decorator
@inline function offsetOf(kind: i32): i32 {
  return kind == Q3_K ? 4 : kind == Q6_K ? 32 : 0;
}
// @ts-ignore: decorator
@inline function kvalue(u: i32): i32 {
  return <i32>i8x16.extract_lane_s(i8x16.swizzle(KVALUES, i8x16.splat(<i8>u)), 0);
}

// @ts-ignore: decorator
@inline function matmulKRef(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const S = cols >> 8;
  const PB = sbBytes(kind);
  const pb = <usize>S * PB;
  const rec = <usize>qx_row_bytes(cols);
  const offB = <usize>qx_offset_k(cols);
  const dOff = offB + qxD(cols);
  const bs16Off = offB + qxBs16(cols, 256);
  const sh = subShift(kind);
  const off = offsetOf(kind);
  for (let i = 0; i < n; i++) {
    const base = xPtr + <usize>i * rec;
    const o = outPtr + ((<usize>i * <usize>outStride) << 2);
    for (let r = 0; r < rows; r++) {
      const rr = <usize>(r & 3);
      let acc: f32 = 0;
      for (let b = 0; b < S; b++) {
        const sb = wPtr + <usize>(r >> 2) * pb + <usize>b * PB;
        let isum: i32 = 0;
        let msum: i32 = 0;
        for (let k = 0; k < (256 >> sh); k++) {
          let s: i32 = 0;
          let bsum: i32 = 0;
          for (let t = 0; t < (1 << sh); t++) {
            const c = (k << sh) + t;
            const q = <i32>load<i16>(base + offB + (<usize>((b << 8) + c) << 1));
            const u = quantAt(kind, sb, rr, c);
            s += (kind == IQ4_XS ? kvalue(u) : u) * q;
          }
          for (let h = 0; h < (1 << (sh - 4)); h++) bsum += <i32>load<i16>(base + bs16Off + (<usize>((b << 4) + (k << (sh - 4)) + h) << 1));
          isum += scaleAt(kind, sb, rr, k) * (s - off * bsum);
          if (hasMin(kind)) msum += minAt(kind, sb, rr, k) * bsum;
        }
        const dx = load<f32>(base + dOff + (<usize>b << 2));
        acc = acc + <f32>isum * (f16s(<u32>load<u16>(sb + (rr << 1))) * dx);
        if (hasMin(kind)) acc = acc - <f32>msum * (f16s(<u32>load<u16>(sb + 8 + (rr << 1))) * dx);
      }
      store<f32>(o + (<usize>r << 2), acc);
    }
  }
}

/**
 * 16 quant bytes u of one row (columns in order) → their values at dst, with the scalar loop's
 * operations in its order: Q2_K / Q4_K / Q5_K dl·f32(u) − ml; IQ4_XS dl·f32(table value) (dl = d·sc;
 * ml only for the types with mins). Q6_K and Q3_K go through dqPairPlanes.
 */
// @ts-ignore: decorator
@inline function dqK16(kind: i32, dst: usize, u: v128, dl: v128, ml: v128): void {
  if (kind == IQ4_XS) storeScaledI8(dst, i8x16.swizzle(KVALUES, u), dl); // dl·f32(table value)
  else storeDequant16(dst, u, 0, dl, f32x4.neg(ml), true);
}
/**
 * Two pair planes p0, p1 (sub-blocks k and k + 1 interleaved by column pairs: Q6_K's and Q3_K's layout)
 * put back into column order: sub-block k as dl0·f32(u − off) at dst, then k + 1 with dl1.
 */
// @ts-ignore: decorator
@inline function dqPairPlanes(kind: i32, dst: usize, p0: v128, p1: v128, dl0: f32, dl1: f32): void {
  const s0 = f32x4.splat(dl0), s1 = f32x4.splat(dl1);
  storeDequant16(dst, i8x16.shuffle(p0, p1, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29), offsetOf(kind), s0, s0, false);
  storeDequant16(dst + 64, i8x16.shuffle(p0, p1, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31), offsetOf(kind), s1, s1, false);
}
/** Q3_K: columns 32m .. 32m + 31 of a half (its sub-blocks k, k + 1) from the row's 48 bytes at row (m a constant). */
// @ts-ignore: decorator
@inline function q3kDq(dst: usize, row: usize, m: i32, sb: usize, rr: usize, k: i32, d: f32, m7: v128, m3: v128, b4: v128): void {
  dqPairPlanes(Q3_K, dst, q3kPlane(row, m << 1, m7, m3, b4), q3kPlane(row, (m << 1) + 1, m7, m3, b4),
    d * <f32>scaleAt(Q3_K, sb, rr, k), d * <f32>scaleAt(Q3_K, sb, rr, k + 1));
}

/** Dequantise rows [r0, r0 + count) into dst (f32 [count, cols]) exactly as ggml's dequantize_row_*. */
// @ts-ignore: decorator
@inline function dequantK(kind: i32, dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32, fast: bool): void {
  const S = cols >> 8;
  const PB = sbBytes(kind);
  const pb = <usize>S * PB;
  const sh = subShift(kind);
  const m15 = kconst(K_M15), m30 = kconst(K_M30), m3f = kconst(K_M3F), m1f = kconst(K_M1F), m1c = kconst(K_M1C), m3 = kconst(K_M3);
  const m7 = kconst(K_M7), b4 = kconst(K_B4);
  for (let kk = 0; kk < count; kk++) {
    const r = r0 + kk;
    const rr = <usize>(r & 3);
    const dst = dstPtr + ((<usize>kk * <usize>cols) << 2);
    for (let b = 0; b < S; b++) {
      const sb = wPtr + <usize>(r >> 2) * pb + <usize>b * PB;
      const d = f16Value(<u32>load<u16>(sb + (rr << 1)));
      const o = dst + (<usize>b << 10);
      if (fast && (kind == Q4_K || kind == Q5_K)) {
        // per 32-column group: its quants as two planes of 16 bytes u, then dl·f32(u) − ml
        const dmin = f16Value(<u32>load<u16>(sb + 8 + (rr << 1)));
        for (let j = 0; j < 8; j++) {
          const dl = f32x4.splat(d * <f32>scaleAt(kind, sb, rr, j)), ml = f32x4.splat(dmin * <f32>minAt(kind, sb, rr, j));
          let lo: v128, hi: v128;
          if (kind == Q4_K) {
            const v = v128.load(sb + 80 + (<usize>j << 6) + (rr << 4));
            lo = v128.and(v, m15);
            hi = v128.and(i16x8.shr_u(v, 4), m15);
          } else {
            const g = sb + 80 + <usize>j * 80, bq = v128.load(g + 64);
            lo = q5kPlane(g, rr, false, bq, m1f, m1c, m3);
            hi = q5kPlane(g, rr, true, bq, m1f, m1c, m3);
          }
          dqK16(kind, o + (<usize>j << 7), lo, dl, ml);
          dqK16(kind, o + (<usize>j << 7) + 64, hi, dl, ml);
        }
        continue;
      }
      if (fast && kind == Q6_K) {
        // per chunk half (32 columns, sub-blocks 2·(2q + h) and the next): its two pair planes, put back
        // into column order, then (d·sc)·f32(u − 32)
        for (let q = 0; q < 4; q++) {
          const row = sb + 72 + <usize>q * 192 + rr * 48;
          for (let h = 0; h < 2; h++) {
            const k = (q << 2) + (h << 1);
            dqPairPlanes(kind, o + (<usize>k << 6), q6kPlane(row, h, 0, m15, m30, m3f), q6kPlane(row, h, 1, m15, m30, m3f),
              d * <f32>scaleAt(kind, sb, rr, k), d * <f32>scaleAt(kind, sb, rr, k + 1));
          }
        }
        continue;
      }
      if (fast && kind == Q2_K) {
        // chunk q (64 columns): one 16-byte row vector, its 4 planes (16 columns each) 2 bits apart
        const dmin = f16Value(<u32>load<u16>(sb + 8 + (rr << 1)));
        for (let q = 0; q < 4; q++) {
          const v = v128.load(sb + 80 + (<usize>q << 6) + (rr << 4));
          for (let j = 0; j < 4; j++) {
            const k = (q << 2) + j;
            dqK16(kind, o + (<usize>k << 6), v128.and(i16x8.shr_u(v, j << 1), m3), f32x4.splat(d * <f32>scaleAt(kind, sb, rr, k)), f32x4.splat(dmin * <f32>minAt(kind, sb, rr, k)));
          }
        }
        continue;
      }
      if (fast && kind == Q3_K) {
        // per half (128 columns): four pairs of pair planes, each put back into column order
        for (let h = 0; h < 2; h++) {
          const row = sb + 72 + <usize>h * 192 + rr * 48;
          const at = o + (<usize>h << 9);
          const k = h << 3;
          q3kDq(at, row, 0, sb, rr, k, d, m7, m3, b4);
          q3kDq(at + 128, row, 1, sb, rr, k + 2, d, m7, m3, b4);
          q3kDq(at + 256, row, 2, sb, rr, k + 4, d, m7, m3, b4);
          q3kDq(at + 384, row, 3, sb, rr, k + 6, d, m7, m3, b4);
        }
        continue;
      }
      if (fast && kind == IQ4_XS) {
        for (let j = 0; j < 8; j++) {
          const v = v128.load(sb + 40 + (<usize>j << 6) + (rr << 4));
          const dl = f32x4.splat(d * <f32>scaleAt(kind, sb, rr, j));
          dqK16(kind, o + (<usize>j << 7), v128.and(v, m15), dl, dl);
          dqK16(kind, o + (<usize>j << 7) + 64, v128.and(i16x8.shr_u(v, 4), m15), dl, dl);
        }
        continue;
      }
      for (let c = 0; c < 256; c++) {
        const k = c >> sh;
        const u = quantAt(kind, sb, rr, c);
        let v: f32;
        if (kind == Q6_K) {
          v = (d * <f32>scaleAt(kind, sb, rr, k)) * <f32>(u - 32); // d * sc * q
        } else if (kind == Q3_K || kind == IQ4_XS) {
          const dl = d * <f32>scaleAt(kind, sb, rr, k); // d_all * (scale − 32)
          v = dl * <f32>(kind == Q3_K ? u - 4 : kvalue(u));
        } else {
          const dmin = f16Value(<u32>load<u16>(sb + 8 + (rr << 1)));
          const dl = d * <f32>scaleAt(kind, sb, rr, k);
          const ml = dmin * <f32>minAt(kind, sb, rr, k);
          v = dl * <f32>u - ml;
        }
        store<f32>(dst + (<usize>((b << 8) + c) << 2), v);
      }
    }
  }
}

// ---- repacking GGUF blocks ----

// @ts-ignore: decorator
@inline function blockBytes(kind: i32): usize {
  return kind == Q2_K ? 84 : kind == Q3_K ? 110 : kind == Q4_K ? 144 : kind == Q5_K ? 176 : kind == Q6_K ? 210 : 136;
}

/** The 6-bit scale (which = 0) or min (1) of sub-block j of a Q4_K / Q5_K block's scales at p (get_scale_min_k4). */
// @ts-ignore: decorator
@inline function k4(p: usize, j: i32, which: i32): i32 {
  if (j < 4) return <i32>load<u8>(p + <usize>(j + 4 * which)) & 63;
  const lo = <i32>load<u8>(p + <usize>(j + 4));
  if (which == 0) return (lo & 0xf) | ((<i32>load<u8>(p + <usize>(j - 4)) >> 6) << 4);
  return (lo >> 4) | ((<i32>load<u8>(p + <usize>j) >> 6) << 4);
}

/** The 6-bit scale of sub-block j of a Q3_K block's 12 scale bytes at p. */
// @ts-ignore: decorator
@inline function q3Scale(p: usize, j: i32): i32 {
  const low = j < 8 ? <i32>load<u8>(p + <usize>j) & 0xf : <i32>load<u8>(p + <usize>(j - 8)) >> 4;
  return low | (((<i32>load<u8>(p + 8 + <usize>(j & 3)) >> (2 * (j >> 2))) & 3) << 4);
}

/** ggml's quant (before any offset) of block column c. */
// @ts-ignore: decorator
@inline function blockQuant(kind: i32, blk: usize, c: i32): i32 {
  if (kind == Q4_K || kind == Q5_K) {
    const qs = blk + (kind == Q4_K ? 16 : 48);
    const j = c >> 5, l = c & 31;
    const byte = <i32>load<u8>(qs + <usize>((j >> 1) << 5) + <usize>l);
    let u = (j & 1) == 0 ? byte & 15 : byte >> 4;
    if (kind == Q5_K) u |= ((<i32>load<u8>(blk + 16 + <usize>l) >> j) & 1) << 4;
    return u;
  }
  if (kind == Q6_K) {
    const n = c >> 7, cc = c & 127, l = cc & 31, quarter = cc >> 5;
    const ql = <i32>load<u8>(blk + <usize>(64 * n + l + ((quarter & 1) << 5)));
    const qh = <i32>load<u8>(blk + 128 + <usize>(32 * n + l));
    return ((quarter < 2 ? ql & 15 : ql >> 4)) | (((qh >> (2 * quarter)) & 3) << 4);
  }
  if (kind == Q2_K || kind == Q3_K) {
    const n = c >> 7, j = (c >> 5) & 3, l = c & 31;
    const qs = blk + (kind == Q2_K ? 16 : 32);
    let u = (<i32>load<u8>(qs + <usize>(32 * n + l)) >> (2 * j)) & 3;
    if (kind == Q3_K) u |= ((<i32>load<u8>(blk + <usize>l) >> (4 * n + j)) & 1) << 2;
    return u;
  }
  // IQ4_XS: index
  const ib = c >> 5, j = c & 31;
  const byte = <i32>load<u8>(blk + 8 + <usize>(ib << 4) + <usize>(j & 15));
  return j < 16 ? byte & 15 : byte >> 4;
}

/** Or a byte into memory. */
// @ts-ignore: decorator
@inline function orByte(p: usize, v: i32): void {
  store<u8>(p, load<u8>(p) | <u8>v);
}

/** Place quant u of row-in-panel rr at super-block column c in the panel super-block at sb (the inverse of quantAt). */
// @ts-ignore: decorator
@inline function placeQuant(kind: i32, sb: usize, rr: usize, c: i32, u: i32): void {
  const t = <usize>(c & 15);
  if (kind == Q2_K) {
    orByte(sb + 80 + <usize>(c >> 6) * 64 + (rr << 4) + t, (u & 3) << (2 * ((c >> 4) & 3)));
  } else if (kind == Q3_K) {
    const row = sb + 72 + <usize>(c >> 7) * 192 + rr * 48;
    const pos = q6Pos(c & 31);
    const P = ((c >> 4) & 6) | ((pos >> 4) & 1), b = <usize>(pos & 15);
    if (P == 2 || P == 5) {
      orByte(row + (P == 2 ? 0 : 16) + b, (u & 3) << 6);
      orByte(row + 32 + b, (u >> 2) << (P == 2 ? 6 : 7));
    } else {
      orByte(row + <usize>(16 * (P / 3)) + b, u << (3 * (P % 3)));
    }
  } else if (kind == Q6_K) {
    const row = sb + 72 + <usize>(c >> 6) * 192 + rr * 48;
    const pos = q6Pos(c & 63);
    const h = pos >> 5, b = <usize>(pos & 15);
    if ((pos & 16) == 0) orByte(row + <usize>(h << 4) + b, u & 63);
    else {
      orByte(row + 32 + b, (u & 15) << (h << 2));
      orByte(row + <usize>(h << 4) + b, ((u >> 4) & 3) << 6);
    }
  } else if (kind == Q5_K) {
    const g = sb + 80 + <usize>(c >> 5) * 80;
    if ((c & 16) == 0) orByte(g + (rr << 4) + t, u & 31);
    else {
      orByte(g + (rr << 4) + t, (u >> 2) << 5);
      orByte(g + 64 + t, (u & 3) << (<i32>rr << 1));
    }
  } else {
    orByte(sb + (kind == Q4_K ? 80 : 40) + <usize>(c >> 5) * 64 + (rr << 4) + t, (u & 15) << ((c & 16) >> 2));
  }
}

/** Q5_K / Q5_0-style group: row rr's A (u0 | (u1 >> 2) << 5) at g + 16·rr, its two bits of u1 or-ed into B at g + 64. */
// @ts-ignore: decorator
@inline function placeQ5Group(g: usize, rr: usize, u0: v128, u1: v128): void {
  v128.store(g + (rr << 4), v128.or(u0, i8x16.shl(i8x16.shr_u(u1, 2), 5)));
  const sh = <i32>(rr << 1);
  const b = g + 64;
  v128.store(b, v128.or(v128.andnot(v128.load(b), i32x4.splat(0x03030303 << sh)), i8x16.shl(v128.and(u1, kconst(K_M3)), sh)));
}

/**
 * The vector twin of the per-quant placement in packK (placeQuant over blockQuant, the reference): row
 * rr of super-block sb from the GGUF block at blk, quants and sub-scales, whole vectors at a time (the
 * panel was zeroed; Q5_K's shared B is or-ed into). Same bytes; 10–30× the reference's speed.
 */
// @ts-ignore: decorator
@inline function placeBlock(kind: i32, sb: usize, rr: usize, blk: usize): void {
  const m15 = kconst(K_M15);
  if (kind == Q6_K) {
    v128.store(sb + 8 + (rr << 4), v128.load(blk + 192)); // the 16 i8 sub-scales as stored
    for (let q = 0; q < 4; q++) {
      const n = <usize>(q >> 1), e = q & 1;
      const ql = blk + (n << 6), qh = blk + 128 + (n << 5);
      const l0 = v128.load(ql), l1 = v128.load(ql, 16), l2 = v128.load(ql, 32), l3 = v128.load(ql, 48);
      const h0 = v128.load(qh), h1 = v128.load(qh, 16);
      const m3 = kconst(K_M3);
      // chunk q = quarters 2e, 2e + 1 of half n: ql nibble low for e = 0, high for e = 1; qh bits 4e.. and 4e + 2..
      const n0 = e == 0 ? v128.and(l0, m15) : i8x16.shr_u(l0, 4), n1 = e == 0 ? v128.and(l1, m15) : i8x16.shr_u(l1, 4);
      const n2 = e == 0 ? v128.and(l2, m15) : i8x16.shr_u(l2, 4), n3 = e == 0 ? v128.and(l3, m15) : i8x16.shr_u(l3, 4);
      const d0 = v128.or(n0, i8x16.shl(v128.and(i8x16.shr_u(h0, e << 2), m3), 4));
      const d1 = v128.or(n1, i8x16.shl(v128.and(i8x16.shr_u(h1, e << 2), m3), 4));
      const d2 = v128.or(n2, i8x16.shl(v128.and(i8x16.shr_u(h0, (e << 2) + 2), m3), 4));
      const d3 = v128.or(n3, i8x16.shl(v128.and(i8x16.shr_u(h1, (e << 2) + 2), m3), 4));
      // pair planes: columns 2i, 2i + 1 of the two 16-column sub-blocks in turn
      const p0 = i8x16.shuffle(d0, d1, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
      const p1 = i8x16.shuffle(d0, d1, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
      const p2 = i8x16.shuffle(d2, d3, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
      const p3 = i8x16.shuffle(d2, d3, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
      const row = sb + 72 + <usize>q * 192 + rr * 48;
      v128.store(row, v128.or(p0, i8x16.shl(i8x16.shr_u(p1, 4), 6)));
      v128.store(row, v128.or(p2, i8x16.shl(i8x16.shr_u(p3, 4), 6)), 16);
      v128.store(row, v128.or(v128.and(p1, m15), i8x16.shl(p3, 4)), 32);
    }
    return;
  }
  if (kind == Q2_K) {
    v128.store(sb + 16 + (rr << 4), v128.load(blk)); // the 16 scale | min << 4 bytes as stored
    const m3 = kconst(K_M3);
    for (let q = 0; q < 4; q++) {
      // chunk q: byte t holds columns 64q + 16k + t in bits 2k (k < 4): qs bits 2j of q's half, j = 2(q & 1) + (k >> 1)
      const qs = blk + 16 + (<usize>(q >> 1) << 5);
      const lo = v128.load(qs), hi = v128.load(qs, 16);
      const j = (q & 1) << 2;
      const k0 = v128.and(i8x16.shr_u(lo, j), m3), k1 = v128.and(i8x16.shr_u(hi, j), m3);
      const k2 = v128.and(i8x16.shr_u(lo, j + 2), m3), k3 = i8x16.shr_u(hi, j + 2);
      v128.store(sb + 80 + (<usize>q << 6) + (rr << 4), v128.or(v128.or(k0, i8x16.shl(k1, 2)), v128.or(i8x16.shl(k2, 4), i8x16.shl(k3, 6))));
    }
    return;
  }
  if (kind == Q3_K) {
    for (let k = 0; k < 16; k++) store<u8>(scalePtr(kind, sb, rr, k), <u8>(q3Scale(blk + 96, k) - 32));
    const m3 = kconst(K_M3), one = i8x16.splat(1);
    const h0 = v128.load(blk), h1 = v128.load(blk, 16); // hmask: bit 4n + j of byte l is the third bit of (half n, quarter j, column l)
    for (let n = 0; n < 2; n++) {
      const qs = blk + 32 + (<usize>n << 5);
      const lo = v128.load(qs), hi = v128.load(qs, 16);
      // quarter j's two 16-column halves, then its two pair planes P(2j), P(2j + 1) as Q6_K's
      let p0 = lo, p1 = lo, p2 = lo, p3 = lo, p4 = lo, p5 = lo, p6 = lo, p7 = lo;
      for (let j = 0; j < 4; j++) {
        const a = v128.or(v128.and(i8x16.shr_u(lo, j << 1), m3), i8x16.shl(v128.and(i8x16.shr_u(h0, (n << 2) + j), one), 2));
        const b = v128.or(v128.and(i8x16.shr_u(hi, j << 1), m3), i8x16.shl(v128.and(i8x16.shr_u(h1, (n << 2) + j), one), 2));
        const e = i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
        const o = i8x16.shuffle(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
        if (j == 0) { p0 = e; p1 = o; } else if (j == 1) { p2 = e; p3 = o; } else if (j == 2) { p4 = e; p5 = o; } else { p6 = e; p7 = o; }
      }
      const row = sb + 72 + <usize>n * 192 + rr * 48;
      v128.store(row, v128.or(v128.or(p0, i8x16.shl(p1, 3)), i8x16.shl(v128.and(p2, m3), 6)));
      v128.store(row, v128.or(v128.or(p3, i8x16.shl(p4, 3)), i8x16.shl(v128.and(p5, m3), 6)), 16);
      v128.store(row, v128.or(v128.or(p6, i8x16.shl(p7, 3)), v128.or(i8x16.shl(i8x16.shr_u(p2, 2), 6), i8x16.shl(i8x16.shr_u(p5, 2), 7))), 32);
    }
    return;
  }
  if (kind == IQ4_XS) {
    const sl = <u32>load<u16>(blk + 2); // scales_h: 2 bits per group
    for (let k = 0; k < 8; k++) {
      const sc = (((<i32>load<u8>(blk + 4 + <usize>(k >> 1)) >> (4 * (k & 1))) & 15) | (((<i32>sl >> (2 * k)) & 3) << 4)) - 32;
      store<u8>(scalePtr(kind, sb, rr, k), <u8>sc);
      // the stored bytes are already Q4_K's nibble order: byte t = index(t) | index(16 + t) << 4
      v128.store(sb + 40 + (<usize>k << 6) + (rr << 4), v128.load(blk + 8 + (<usize>k << 4)));
    }
    return;
  }
  // Q4_K, Q5_K: 6-bit scales and mins, then the groups
  for (let k = 0; k < 8; k++) {
    store<u8>(sb + 48 + (rr << 3) + <usize>k, <u8>k4(blk + 4, k, 1));
    store<u8>(scalePtr(kind, sb, rr, k), <u8>k4(blk + 4, k, 0));
  }
  const qs = blk + (kind == Q4_K ? 16 : 48);
  const h0 = kind == Q5_K ? v128.load(blk + 16) : m15, h1 = kind == Q5_K ? v128.load(blk + 32) : m15;
  for (let m: usize = 0; m < 4; m++) {
    const a = v128.load(qs + (m << 5)), b = v128.load(qs + (m << 5), 16); // groups 2m (low nibbles) and 2m + 1 (high)
    if (kind == Q4_K) {
      const g = sb + 80 + (m << 7) + (rr << 4);
      v128.store(g, v128.or(v128.and(a, m15), i8x16.shl(b, 4)));
      v128.store(g, v128.or(i8x16.shr_u(a, 4), v128.andnot(b, m15)), 64);
    } else {
      const j = <i32>(m << 1);
      const f = kconst(K_B16); // 0x10
      placeQ5Group(sb + 80 + <usize>j * 80, rr, v128.or(v128.and(a, m15), v128.and(i8x16.shl(i8x16.shr_u(h0, j), 4), f)), v128.or(v128.and(b, m15), v128.and(i8x16.shl(i8x16.shr_u(h1, j), 4), f)));
      placeQ5Group(sb + 80 + <usize>(j + 1) * 80, rr, v128.or(i8x16.shr_u(a, 4), v128.and(i8x16.shl(i8x16.shr_u(h0, j + 1), 4), f)), v128.or(i8x16.shr_u(b, 4), v128.and(i8x16.shl(i8x16.shr_u(h1, j + 1), 4), f)));
    }
  }
}

/**
 * Repack GGUF blocks (row-major [rows, cols/256] super-blocks at srcPtr) into the panel layout at
 * dstPtr; no value changes. Returns −1, or the block
 * index r·S + b of the first block with an Inf/NaN d or dmin (that super-block is stored as zeros).
 */
// @ts-ignore: decorator
@inline function packK(kind: i32, dstPtr: usize, srcPtr: usize, rows: i32, cols: i32, fast: bool): i32 {
  const S = cols >> 8;
  const PB = sbBytes(kind);
  const pb = <usize>S * PB;
  const BB = blockBytes(kind);
  const sh = subShift(kind);
  let bad = -1;
  for (let r = 0; r < rows; r++) {
    const rr = <usize>(r & 3);
    if (rr == 0) for (let z: usize = 0; z < pb; z += 8) store<u64>(dstPtr + <usize>(r >> 2) * pb + z, 0); // PB is a multiple of 8
    for (let b = 0; b < S; b++) {
      const sb = dstPtr + <usize>(r >> 2) * pb + <usize>b * PB;
      const blk = srcPtr + <usize>(r * S + b) * BB;
      const dAt: usize = kind == Q2_K ? 80 : kind == Q3_K ? 108 : kind == Q6_K ? 208 : 0;
      const d = <u32>load<u16>(blk + dAt);
      const dmin: u32 = kind == Q2_K ? <u32>load<u16>(blk, 82) : kind == Q4_K || kind == Q5_K ? <u32>load<u16>(blk, 2) : 0;
      if (f16NonFinite(d) || f16NonFinite(dmin)) {
        if (bad < 0) bad = r * S + b;
        continue;
      }
      store<u16>(sb + (rr << 1), <u16>d);
      if (hasMin(kind)) store<u16>(sb + 8 + (rr << 1), <u16>dmin);
      if (fast) {
        placeBlock(kind, sb, rr, blk);
        continue;
      }
      for (let k = 0; k < (256 >> sh); k++) {
        let sc: i32, mn: i32 = 0;
        if (kind == Q4_K || kind == Q5_K) {
          sc = k4(blk + 4, k, 0);
          mn = k4(blk + 4, k, 1);
          store<u8>(sb + 48 + (rr << 3) + <usize>k, <u8>mn);
        } else if (kind == Q2_K) sc = <i32>load<u8>(blk + <usize>k);
        else if (kind == Q3_K) sc = q3Scale(blk + 96, k) - 32;
        else if (kind == Q6_K) sc = <i32>load<i8>(blk + 192 + <usize>k);
        else sc = (((<i32>load<u8>(blk + 4 + <usize>(k >> 1)) >> (4 * (k & 1))) & 15) | (((<i32>load<u16>(blk + 2) >> (2 * k)) & 3) << 4)) - 32;
        store<u8>(scalePtr(kind, sb, rr, k), <u8>sc);
      }
      for (let c = 0; c < 256; c++) placeQuant(kind, sb, rr, c, blockQuant(kind, blk, c));
    }
  }
  return bad;
}

export function matmul_q2_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulK(Q2_K, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q2_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q2_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q2_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q2_K, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q2_k: one quant at a time through the layout's reference placement. */
export function pack_q2_k_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q2_K, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q2_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q2_K, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q2_k: one weight at a time; the same values, bit for bit. */
export function dequant_q2_k_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q2_K, dstPtr, wPtr, rows, cols, r0, count, false);
}
export function matmul_q3_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulK(Q3_K, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q3_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q3_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q3_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q3_K, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q3_k: one quant at a time through the layout's reference placement. */
export function pack_q3_k_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q3_K, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q3_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q3_K, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q3_k: one weight at a time; the same values, bit for bit. */
export function dequant_q3_k_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q3_K, dstPtr, wPtr, rows, cols, r0, count, false);
}
export function matmul_q4_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulK(Q4_K, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q4_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q4_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q4_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q4_K, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q4_k: one quant at a time through the layout's reference placement. */
export function pack_q4_k_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q4_K, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q4_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q4_K, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q4_k: one weight at a time; the same values, bit for bit. */
export function dequant_q4_k_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q4_K, dstPtr, wPtr, rows, cols, r0, count, false);
}
export function matmul_q5_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulK(Q5_K, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q5_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q5_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q5_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q5_K, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q5_k: one quant at a time through the layout's reference placement. */
export function pack_q5_k_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q5_K, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q5_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q5_K, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q5_k: one weight at a time; the same values, bit for bit. */
export function dequant_q5_k_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q5_K, dstPtr, wPtr, rows, cols, r0, count, false);
}
export function matmul_q6_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulK(Q6_K, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_q6_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q6_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q6_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q6_K, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_q6_k: one quant at a time through the layout's reference placement. */
export function pack_q6_k_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q6_K, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_q6_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q6_K, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_q6_k: one weight at a time; the same values, bit for bit. */
export function dequant_q6_k_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q6_K, dstPtr, wPtr, rows, cols, r0, count, false);
}
export function matmul_iq4_xs(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32, scratchPtr: usize): void {
  matmulK(IQ4_XS, outPtr, outStride, wPtr, xPtr, n, rows, cols, scratchPtr);
}
export function matmul_iq4_xs_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(IQ4_XS, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_iq4_xs(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(IQ4_XS, dstPtr, srcPtr, rows, cols, true);
}
/** Scalar twin of pack_iq4_xs: one quant at a time through the layout's reference placement. */
export function pack_iq4_xs_ref(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(IQ4_XS, dstPtr, srcPtr, rows, cols, false);
}
export function dequant_iq4_xs(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(IQ4_XS, dstPtr, wPtr, rows, cols, r0, count, true);
}
/** Scalar twin of dequant_iq4_xs: one weight at a time; the same values, bit for bit. */
export function dequant_iq4_xs_ref(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(IQ4_XS, dstPtr, wPtr, rows, cols, r0, count, false);
}
