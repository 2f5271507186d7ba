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
// fields keep their bits; "4 rows" fields hold rows 0..3 in order. Columns are relative to the
// super-block.
//   Q4_K (PB 592):  d ×4 f16 @0 · dmin ×4 @8 · sc u8 [8 groups][4 rows] @16 · m u8 [4 rows][8 groups] @48 ·
//                   group j (cols 32j ..) 64 B @80 + 64j: row rr's 16 bytes @16rr, byte t = u(32j + t) | u(32j + 16 + t) << 4
//   Q5_K (PB 720):  as Q4_K with 80 B per group @80 + 80j: the 64 nibble bytes, then 4 rows × 4 bytes of
//                   5th bits @64 + 4rr (byte t bit L: column 32j + 4L + t; bit 4 + L: column 32j + 16 + 4L + t)
//   Q6_K (PB 840):  d ×4 @0 · sc i8 [16 sub-blocks][4 rows] @8 · group j 96 B @72 + 96j: 64 nibble bytes
//                   (low 4 bits of u, as Q4_K), then 4 rows × 8 bytes of the 2 high bits @64 + 8rr: bytes
//                   0..3 for columns 32j + 0..15 (byte t bits 2L, 2L+1: column 32j + 4L + t), bytes 4..7
//                   the same for columns 32j + 16..31
//   Q3_K (PB 456):  d ×4 @0 · sc i8 (the 6-bit scale − 32) [16][4 rows] @8 · chunk q (cols 64q ..) 96 B
//                   @72 + 96q: row rr's 16 bytes of 2 low bits @16rr (byte t bits 2k, 2k+1: column 64q + 16k + t),
//                   then 4 rows × 8 bytes of 3rd bits @64 + 8rr (byte t of the first 4: bit L column
//                   64q + 4L + t, bit 4 + L column 64q + 16 + 4L + t; the last 4 the same for 64q + 32 ..)
//   Q2_K (PB 336):  d ×4 @0 · dmin ×4 @8 · sc u8 (scale | min << 4, as stored) [16][4 rows] @16 ·
//                   chunk q 64 B @80 + 64q: row rr's 16 bytes @16rr (byte t bits 2k, 2k+1: column 64q + 16k + t)
//   IQ4_XS (PB 552): d ×4 @0 · sc i8 (the 6-bit scale − 32) [8][4 rows] @8 · group j 64 B @40 + 64j (indices
//                   into KVALUES, nibbles as Q4_K)
// Bytes per weight: 4.625 (Q4_K; 4.5 in the file), 5.625 (5.5), 6.5625 (=), 3.5625 (3.4375), 2.625 (=),
// 4.3125 (4.25): the scales are unpacked from their 6-bit codes at load so the kernels read bytes.
//
// Kernel: per group of 32 columns (or plane of 16) and row, nibble planes (with high bits or-ed in by
// one i32x4.mul per 16 columns, as in quant_legacy.ts) go through dot2/dot1, a transpose-add gives the
// 4 rows in one vector, the offset is subtracted and the sub-scale multiplied as integers, and the
// super-block's integer sums are combined with d·s and dmin·s at its end.

import { dot1, dot2, dotSigned1, f16x4, f16s, f16Value, f16NonFinite, isum4, storePanel4, qx_row_bytes, qx_offset_k, qxD, qxBs16, qxBs32 } from './matmul_quant';

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
/** Offset of the first group / chunk of quants in a panel super-block. */
// @ts-ignore: decorator
@inline function quantsAt(kind: i32): usize {
  return kind == Q2_K || kind == Q4_K || kind == Q5_K ? 80 : kind == IQ4_XS ? 40 : 72;
}
/** Bytes per group (32 columns) or chunk (64 columns, Q2_K / Q3_K). */
// @ts-ignore: decorator
@inline function unitBytes(kind: i32): usize {
  return kind == Q2_K || kind == Q4_K || kind == IQ4_XS ? 64 : kind == Q5_K ? 80 : 96;
}
/** Offset of the 4 rows' sub-scales. */
// @ts-ignore: decorator
@inline function scAt(kind: i32): usize {
  return kind == Q2_K || kind == Q4_K || kind == Q5_K ? 16 : 8;
}

// @ts-ignore: decorator
@inline function sc4u(p: usize): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
}
// @ts-ignore: decorator
@inline function sc4s(p: usize): v128 {
  return i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(p)));
}

/** Or bit `target` (4 or 2) of each byte with the high bit of the 16 columns the u32 at hp describes (see quant_legacy.ts). */
// @ts-ignore: decorator
@inline function highBits(hp: usize, upper: bool, target: i32): v128 {
  let x = v128.load32_splat(hp);
  if (upper) x = i32x4.shr_u(x, 4);
  const y = i32x4.mul(x, i32x4(16, 8, 4, 2)); // lane L: bit 8t + L → 8t + 4
  return target == 4 ? v128.and(y, i8x16.splat(16)) : v128.and(i32x4.shr_u(y, 2), i8x16.splat(4));
}
/** Q6_K: bits 4, 5 of each byte from the 2-bit fields of the u32 at hp (lane L: bits 8t + 2L, +1 → 8t + 4, 5). */
// @ts-ignore: decorator
@inline function high2(hp: usize): v128 {
  return v128.and(i32x4.shr_u(i32x4.mul(v128.load32_splat(hp), i32x4(64, 16, 4, 1)), 2), i8x16.splat(0x30));
}

/** Exact Σ over one row's 32-column group (Q4_K, Q5_K, IQ4_XS), i32x4 partial sums. */
// @ts-ignore: decorator
@inline function rowGroup(kind: i32, grp: usize, rr: usize, q8: usize, q16: usize): v128 {
  const v = v128.load(grp + (rr << 4));
  let lo = v128.and(v, i8x16.splat(15));
  let hi = v128.and(i16x8.shr_u(v, 4), i8x16.splat(15));
  if (kind == IQ4_XS) {
    if (ASC_FEATURE_RELAXED_SIMD) return i32x4.add(dotSigned1(i8x16.relaxed_swizzle(KVALUES, lo), q16), dotSigned1(i8x16.relaxed_swizzle(KVALUES, hi), q16 + 32));
    return i32x4.add(dotSigned1(i8x16.swizzle(KVALUES, lo), q16), dotSigned1(i8x16.swizzle(KVALUES, hi), q16 + 32));
  }
  if (kind == Q5_K) {
    const hp = grp + 64 + (rr << 2);
    lo = v128.or(lo, highBits(hp, false, 4));
    hi = v128.or(hi, highBits(hp, true, 4));
  }
  return dot2(lo, hi, q8, q16);
}

/** Q6_K: one row's two 16-column planes of group grp as separate i32x4 partial sums (lo, then hi via out param). */
// @ts-ignore: decorator
@inline function q6Lo(grp: usize, rr: usize, q8: usize, q16: usize): v128 {
  const lo = v128.or(v128.and(v128.load(grp + (rr << 4)), i8x16.splat(15)), high2(grp + 64 + (rr << 3)));
  return dot1(lo, q8, q16);
}
// @ts-ignore: decorator
@inline function q6Hi(grp: usize, rr: usize, q8: usize, q16: usize): v128 {
  const hi = v128.or(v128.and(i16x8.shr_u(v128.load(grp + (rr << 4)), 4), i8x16.splat(15)), high2(grp + 68 + (rr << 3)));
  return dot1(hi, q8 + 16, q16 + 32);
}

/** Q2_K / Q3_K: plane k (columns 16k .. 16k + 15 of the chunk) of one row, i32x4 partial sums. */
// @ts-ignore: decorator
@inline function rowPlane2(kind: i32, ch: usize, rr: usize, k: i32, q8: usize, q16: usize): v128 {
  let p = v128.load(ch + (rr << 4));
  if (k > 0) p = i16x8.shr_u(p, <u32>(2 * k));
  p = v128.and(p, i8x16.splat(3));
  if (kind == Q3_K) p = v128.or(p, highBits(ch + 64 + (rr << 3) + (k >= 2 ? 4 : 0), (k & 1) == 1, 2));
  return dot1(p, q8 + (<usize>k << 4), q16 + (<usize>k << 5));
}

// @ts-ignore: decorator
@inline function matmulK(kind: i32, outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  const S = cols >> 8;
  const PB = sbBytes(kind);
  const pb = <usize>S * PB;
  const rec = <usize>qx_row_bytes(cols);
  const offB = <usize>qx_offset_k(cols);
  const q8Off = offB + (<usize>cols << 1);
  const dOff = offB + qxD(cols);
  const bs16Off = offB + qxBs16(cols, 256);
  const bs32Off = offB + qxBs32(cols, 256);
  const outRowBytes = <usize>outStride << 2;
  const U = unitBytes(kind);
  let w = wPtr;
  for (let r = 0; r < rows; r += 4, w += pb) {
    const valid = rows - r;
    const o = outPtr + (<usize>r << 2);
    for (let i = 0; i < n; i++) {
      const base = xPtr + <usize>i * rec;
      let acc = f32x4.splat(0);
      let sb = w;
      for (let b = 0; b < S; b++, sb += PB) {
        const c0 = b << 8;
        let ai = i32x4.splat(0);
        let am = ai;
        let u = sb + quantsAt(kind);
        if (kind == Q4_K || kind == Q5_K || kind == IQ4_XS) {
          for (let j = 0; j < 8; j++, u += U) {
            const c = c0 + (j << 5);
            const q8 = base + q8Off + <usize>c, q16 = base + offB + (<usize>c << 1);
            const t = isum4(rowGroup(kind, u, 0, q8, q16), rowGroup(kind, u, 1, q8, q16), rowGroup(kind, u, 2, q8, q16), rowGroup(kind, u, 3, q8, q16));
            const sc = kind == IQ4_XS ? sc4s(sb + scAt(kind) + (<usize>j << 2)) : sc4u(sb + scAt(kind) + (<usize>j << 2));
            ai = i32x4.add(ai, i32x4.mul(t, sc));
          }
          if (kind != IQ4_XS) {
            const bs = v128.load(base + bs32Off + (<usize>(c0 >> 5) << 1));
            am = isum4(i32x4.dot_i16x8_s(v128.load8x8_u(sb + 48), bs), i32x4.dot_i16x8_s(v128.load8x8_u(sb + 56), bs),
              i32x4.dot_i16x8_s(v128.load8x8_u(sb + 64), bs), i32x4.dot_i16x8_s(v128.load8x8_u(sb + 72), bs));
          }
        } else if (kind == Q6_K) {
          for (let j = 0; j < 8; j++, u += U) {
            const c = c0 + (j << 5);
            const q8 = base + q8Off + <usize>c, q16 = base + offB + (<usize>c << 1);
            const bs = base + bs16Off + (<usize>(c >> 4) << 1);
            let t = isum4(q6Lo(u, 0, q8, q16), q6Lo(u, 1, q8, q16), q6Lo(u, 2, q8, q16), q6Lo(u, 3, q8, q16));
            t = i32x4.sub(t, i32x4.splat(<i32>load<i16>(bs) << 5));
            ai = i32x4.add(ai, i32x4.mul(t, sc4s(sb + 8 + (<usize>(2 * j) << 2))));
            t = isum4(q6Hi(u, 0, q8, q16), q6Hi(u, 1, q8, q16), q6Hi(u, 2, q8, q16), q6Hi(u, 3, q8, q16));
            t = i32x4.sub(t, i32x4.splat(<i32>load<i16>(bs, 2) << 5));
            ai = i32x4.add(ai, i32x4.mul(t, sc4s(sb + 8 + (<usize>(2 * j + 1) << 2))));
          }
        } else {
          // Q2_K, Q3_K: 4 chunks of 64 columns, 4 planes (sub-blocks) each
          for (let q = 0; q < 4; q++, u += U) {
            const c = c0 + (q << 6);
            const q8 = base + q8Off + <usize>c, q16 = base + offB + (<usize>c << 1);
            for (let k = 0; k < 4; k++) {
              const sub = (q << 2) + k;
              let t = isum4(rowPlane2(kind, u, 0, k, q8, q16), rowPlane2(kind, u, 1, k, q8, q16), rowPlane2(kind, u, 2, k, q8, q16), rowPlane2(kind, u, 3, k, q8, q16));
              const bs = <i32>load<i16>(base + bs16Off + (<usize>((c >> 4) + k) << 1));
              if (kind == Q3_K) {
                t = i32x4.sub(t, i32x4.splat(bs << 2));
                ai = i32x4.add(ai, i32x4.mul(t, sc4s(sb + 8 + (<usize>sub << 2))));
              } else {
                const scm = sc4u(sb + 16 + (<usize>sub << 2));
                ai = i32x4.add(ai, i32x4.mul(t, v128.and(scm, i32x4.splat(15))));
                am = i32x4.add(am, i32x4.mul(i32x4.shr_u(scm, 4), i32x4.splat(bs)));
              }
            }
          }
        }
        const dx = f32x4.splat(load<f32>(base + dOff + (<usize>b << 2)));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(ai), f32x4.mul(f16x4(sb), dx)));
        if (hasMin(kind)) acc = f32x4.sub(acc, f32x4.mul(f32x4.convert_i32x4_s(am), f32x4.mul(f16x4(sb + 8), dx)));
      }
      storePanel4(o + <usize>i * outRowBytes, acc, valid);
    }
  }
}

// ---- scalar access to one weight (for the twins and the dequantisers) ----

/** The stored quant u of row-in-panel rr at super-block column c, in the panel super-block at sb (IQ4_XS: the index). */
// @ts-ignore: decorator
@inline function quantAt(kind: i32, sb: usize, rr: usize, c: i32): i32 {
  if (kind == Q2_K || kind == Q3_K) {
    const ch = sb + quantsAt(kind) + <usize>(c >> 6) * unitBytes(kind);
    const k = (c >> 4) & 3;
    const t = c & 15;
    let u = (<i32>load<u8>(ch + (rr << 4) + <usize>t) >> (2 * k)) & 3;
    if (kind == Q3_K) {
      const h = <i32>load<u8>(ch + 64 + (rr << 3) + (k >= 2 ? 4 : 0) + <usize>(t & 3));
      const bit = ((k & 1) << 2) + (t >> 2);
      u |= ((h >> bit) & 1) << 2;
    }
    return u;
  }
  const grp = sb + quantsAt(kind) + <usize>(c >> 5) * unitBytes(kind);
  const j = c & 31;
  const byte = <i32>load<u8>(grp + (rr << 4) + <usize>(j & 15));
  let u = j < 16 ? byte & 15 : byte >> 4;
  if (kind == Q5_K) {
    const h = <i32>load<u8>(grp + 64 + (rr << 2) + <usize>(j & 3));
    const bit = j < 16 ? j >> 2 : 4 + ((j - 16) >> 2);
    u |= ((h >> bit) & 1) << 4;
  } else if (kind == Q6_K) {
    const jj = j & 15;
    const h = <i32>load<u8>(grp + 64 + (rr << 3) + (j < 16 ? 0 : 4) + <usize>(jj & 3));
    u |= ((h >> ((jj >> 2) << 1)) & 3) << 4;
  }
  return u;
}

/** Sub-scale of row-in-panel rr for sub-block k (of 16 or 32 columns, per type); Q2_K: the low nibble. */
// @ts-ignore: decorator
@inline function scaleAt(kind: i32, sb: usize, rr: usize, k: i32): i32 {
  const p = sb + scAt(kind) + (<usize>k << 2) + rr;
  if (kind == Q4_K || kind == Q5_K) return <i32>load<u8>(p);
  if (kind == Q2_K) return <i32>load<u8>(p) & 15;
  return <i32>load<i8>(p);
}
/** Min of row-in-panel rr for sub-block k (Q2_K: the high nibble; Q4_K/Q5_K: the m byte). */
// @ts-ignore: decorator
@inline function minAt(kind: i32, sb: usize, rr: usize, k: i32): i32 {
  if (kind == Q2_K) return <i32>load<u8>(sb + 16 + (<usize>k << 2) + rr) >> 4;
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

/** Dequantise rows [r0, r0 + count) into dst (f32 [count, cols]) exactly as ggml's dequantize_row_*. */
// @ts-ignore: decorator
@inline function dequantK(kind: i32, dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  const S = cols >> 8;
  const PB = sbBytes(kind);
  const pb = <usize>S * PB;
  const sh = subShift(kind);
  for (let kk = 0; kk < count; kk++) {
    const r = r0 + kk;
    const rr = <usize>(r & 3);
    const dst = dstPtr + ((<usize>kk * <usize>cols) << 2);
    for (let b = 0; b < S; b++) {
      const sb = wPtr + <usize>(r >> 2) * pb + <usize>b * PB;
      const d = f16Value(<u32>load<u16>(sb + (rr << 1)));
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

/** Place quant u of row-in-panel rr at super-block column c in the panel super-block at sb (the inverse of quantAt). */
// @ts-ignore: decorator
@inline function placeQuant(kind: i32, sb: usize, rr: usize, c: i32, u: i32): void {
  if (kind == Q2_K || kind == Q3_K) {
    const ch = sb + quantsAt(kind) + <usize>(c >> 6) * unitBytes(kind);
    const k = (c >> 4) & 3;
    const t = c & 15;
    const p = ch + (rr << 4) + <usize>t;
    store<u8>(p, load<u8>(p) | <u8>((u & 3) << (2 * k)));
    if (kind == Q3_K) {
      const hp = ch + 64 + (rr << 3) + (k >= 2 ? 4 : 0) + <usize>(t & 3);
      store<u8>(hp, load<u8>(hp) | <u8>(((u >> 2) & 1) << (((k & 1) << 2) + (t >> 2))));
    }
    return;
  }
  const grp = sb + quantsAt(kind) + <usize>(c >> 5) * unitBytes(kind);
  const j = c & 31;
  const p = grp + (rr << 4) + <usize>(j & 15);
  store<u8>(p, load<u8>(p) | <u8>((u & 15) << (j < 16 ? 0 : 4)));
  if (kind == Q5_K) {
    const hp = grp + 64 + (rr << 2) + <usize>(j & 3);
    const bit = j < 16 ? j >> 2 : 4 + ((j - 16) >> 2);
    store<u8>(hp, load<u8>(hp) | <u8>(((u >> 4) & 1) << bit));
  } else if (kind == Q6_K) {
    const jj = j & 15;
    const hp = grp + 64 + (rr << 3) + (j < 16 ? 0 : 4) + <usize>(jj & 3);
    store<u8>(hp, load<u8>(hp) | <u8>(((u >> 4) & 3) << ((jj >> 2) << 1)));
  }
}

/**
 * Repack GGUF blocks (row-major [rows, cols/256] super-blocks at srcPtr) into the panel layout at
 * dstPtr; no value changes. Returns −1, or the block
 * index r·S + b of the first block with an Inf/NaN d or dmin (that super-block is stored as zeros).
 */
// @ts-ignore: decorator
@inline function packK(kind: i32, dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
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
        store<u8>(sb + scAt(kind) + (<usize>k << 2) + rr, <u8>sc);
      }
      for (let c = 0; c < 256; c++) placeQuant(kind, sb, rr, c, blockQuant(kind, blk, c));
    }
  }
  return bad;
}

export function matmul_q2_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulK(Q2_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function matmul_q2_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q2_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q2_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q2_K, dstPtr, srcPtr, rows, cols);
}
export function dequant_q2_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q2_K, dstPtr, wPtr, rows, cols, r0, count);
}
export function matmul_q3_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulK(Q3_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function matmul_q3_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q3_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q3_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q3_K, dstPtr, srcPtr, rows, cols);
}
export function dequant_q3_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q3_K, dstPtr, wPtr, rows, cols, r0, count);
}
export function matmul_q4_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulK(Q4_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function matmul_q4_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q4_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q4_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q4_K, dstPtr, srcPtr, rows, cols);
}
export function dequant_q4_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q4_K, dstPtr, wPtr, rows, cols, r0, count);
}
export function matmul_q5_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulK(Q5_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function matmul_q5_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q5_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q5_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q5_K, dstPtr, srcPtr, rows, cols);
}
export function dequant_q5_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q5_K, dstPtr, wPtr, rows, cols, r0, count);
}
export function matmul_q6_k(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulK(Q6_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function matmul_q6_k_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(Q6_K, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_q6_k(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(Q6_K, dstPtr, srcPtr, rows, cols);
}
export function dequant_q6_k(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(Q6_K, dstPtr, wPtr, rows, cols, r0, count);
}
export function matmul_iq4_xs(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulK(IQ4_XS, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function matmul_iq4_xs_ref(outPtr: usize, outStride: i32, wPtr: usize, xPtr: usize, n: i32, rows: i32, cols: i32): void {
  matmulKRef(IQ4_XS, outPtr, outStride, wPtr, xPtr, n, rows, cols);
}
export function pack_iq4_xs(dstPtr: usize, srcPtr: usize, rows: i32, cols: i32): i32 {
  return packK(IQ4_XS, dstPtr, srcPtr, rows, cols);
}
export function dequant_iq4_xs(dstPtr: usize, wPtr: usize, rows: i32, cols: i32, r0: i32, count: i32): void {
  dequantK(IQ4_XS, dstPtr, wPtr, rows, cols, r0, count);
}
