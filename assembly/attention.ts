// Causal / tree attention of a batch of n query rows over one layer's KV cache.
//
// k, v: [capacity, kvDim] (kvDim = nKvHeads·headDim), or head-major [nKvHeads][headRows][headDim] when
// headRows > 0 (the engine's cache: each KV head's keys, and its values, one contiguous stream; a decode
// step at 4096 positions reads them 1.3–1.6× faster than rows with every head side by side, whose
// per-head slices are strided). Rows [0, cacheLen) are the committed
// prefix; rows [cacheLen, cacheLen + m) are staged (not yet committed) rows: the n query rows are
// the last n of them (query row i's own key/value at staged row m − n + i), the first m − n are
// earlier staged rows (the upper levels of a draft tree being expanded level by level). Query row
// i attends to every committed row and to staged rows j < m with mask[i·m + j] ≠ 0 (maskPtr = 0
// means causal: j ≤ m − n + i). Staged rows no query row attends are never read.
// Query head h reads KV head h / (nHeads / nKvHeads) (grouped-query attention).
//   scores_t = scale·(q·k_t), then cap·tanh(scores_t/cap) when softcap = cap > 0 (Gemma-2);
//   p = softmax(scores); out = Σ_t p_t·v_t
// Sliding window (window = W > 0, Mistral / Gemma local layers): positions are committed row t → t,
// staged row j → pos[j] (i32 [m]; the query row i is staged row m − n + i, so it has position
// pos[m − n + i]); a query at position P attends only keys at positions p with P − p < W, on top of
// the mask. Committed rows before the window are not read (the loops start at the first row any
// query of the block or vector sees); rows inside the window of some lanes only are read with weight 0
// for the others (committed rows are finite).
// Heads [h0, h1) only, so threads can split heads. A row that attends to nothing (cacheLen = 0 and
// an empty mask row) gets a zero output.
//
// Blocking (attention_f32). For one KV head, the query vectors that read it, (row i, head h) for
// every row and every head of the group inside [h0, h1) in row-major order, are taken 4 at a time,
// one per SIMD lane: each key and value row is loaded once per 4 query vectors, and a score, its
// exp and the softmax max and sum are computed for 4 query vectors by one vector operation, with
// no horizontal sums. A block's scores are stored key-major, S[t] = the 4 lanes' scores for key t
// (scratch [cacheLen + m][4]), next to the block's queries transposed, QT[d] = the 4 lanes' q[d]
// (scratch [headDim][4]), so the scores of 4 keys are Σ_d splat(k_t[d])·QT[d]: a 4×4 tile per
// d-step, from broadcast loads of the keys. Per block: one pass computes the scores and their
// maximum, one the exps e = exp(s − max) and their sums, then one pass per 8 output floats
// accumulates Σ_t e_t·v_t (4 lanes × 8 floats in 8 accumulators) and scales by 1/Σ e.
// When n·group leaves 2 or 3 vectors of a group past its whole blocks, they fill a last block with
// their last one repeated: a block reads each K and V row once for all its lanes. A single one left
// over (multi-head decode, n·group ≡ 1 mod 4) goes alone (attendOne): keys in lanes, 4 dot products
// reduced by one transpose-and-add, as a block of one lane would cost 4× its products and save no
// reads. Which vectors take which path is decided on the whole group, so a call split by heads gives
// the same bits as the whole call; a block left with fewer than 4 vectors (by the split, or by the
// group) repeats its last one in the free lanes (same inputs, same output).
// Staged rows: per key, the lanes that attend it form a lane mask; a key no lane of the block
// attends is not read (groups of 4 such keys are skipped, QT stands in for a single one), masked
// lanes get score −∞ (weight 0), and a lane that does not attend a value row another lane attends
// sees it as zeros, so no query's output depends on a row it does not attend.
// exp is expSoftmax4 (simd.ts): weights below e^−64 ≈ 1.6e-28 of the row's largest are flushed to
// 0, which keeps every product weight·value away from subnormals (an x64 subnormal result costs
// ~40 cycles; exp(−∞) of masked scores used to make exp the most expensive part of attention).

import { madd, hsum, hmax, sum4, expSoftmax4, tanh4, loadTail, storeTail, softmaxRowRef } from './simd';
import { f16x4, f16s, f32ToF16Bits } from './matmul_quant';

// The cache's element type K: f32 (4 bytes), or f16 bit patterns (u16, 2 bytes; finite values only:
// kv_store_f16 counts the rest and the forward refuses them). Every K and V read goes through the helpers below, which
// widen f16 exactly, so attention on an f16 cache computes the same bits as attention_f32 on the widened
// cache. Offsets inside a head are counted in f32 bytes (as for q and out) and turned into cache bytes
// by kvOff; sizeof<K>() is a compile-time constant, so the f32 instance is the f32 code.

/** Cache bytes of an offset of `f32Bytes` bytes of f32 elements. */
// @ts-ignore: decorator
@inline function kvOff<K>(f32Bytes: usize): usize {
  return sizeof<K>() == 4 ? f32Bytes : f32Bytes >> 1;
}
/** Four cache elements at p as f32x4. */
// @ts-ignore: decorator
@inline function kvLoad4<K>(p: usize): v128 {
  if (sizeof<K>() == 4) return v128.load(p);
  return f16x4(p);
}
/** One cache element at p, in every lane. */
// @ts-ignore: decorator
@inline function kvSplat<K>(p: usize): v128 {
  if (sizeof<K>() == 4) return v128.load32_splat(p);
  return f32x4.splat(f16s(<u32>load<u16>(p)));
}
/** One cache element at p as f32. */
// @ts-ignore: decorator
@inline function kvScalar<K>(p: usize): f32 {
  if (sizeof<K>() == 4) return load<f32>(p);
  return f16s(<u32>load<u16>(p));
}
/** `count` (1..3) cache elements at p in the low lanes, zeros above; reads nothing past them. */
// @ts-ignore: decorator
@inline function kvLoadTail<K>(p: usize, count: i32): v128 {
  if (sizeof<K>() == 4) return loadTail(p, count);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, kvScalar<K>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, kvScalar<K>(p + 2));
  if (count > 2) v = f32x4.replace_lane(v, 2, kvScalar<K>(p + 4));
  return v;
}

/** Whether query row i attends staged row j (m staged rows, the queries are the last n). */
// @ts-ignore: decorator
@inline function attends(maskPtr: usize, m: i32, first: i32, i: i32, j: i32): bool {
  return maskPtr == 0 ? j <= first + i : load<u8>(maskPtr + <usize>i * <usize>m + <usize>j) != 0;
}

/**
 * Which of the block's 4 query lanes attend staged row j: lane l is all ones when it does.
 * Causal (maskPtr = 0): j ≤ lim[l]; else mask row bytes at mr0..mr3 (the lanes' mask rows).
 */
// @ts-ignore: decorator
@inline function laneAttends(maskPtr: usize, j: i32, lim: v128, mr0: usize, mr1: usize, mr2: usize, mr3: usize,
  window: i32, posPtr: usize, wlo: v128): v128 {
  let a: v128;
  if (maskPtr == 0) a = i32x4.le_s(i32x4.splat(j), lim);
  else {
    let b = i32x4.splat(<i32>load<u8>(mr0 + <usize>j));
    b = i32x4.replace_lane(b, 1, <i32>load<u8>(mr1 + <usize>j));
    b = i32x4.replace_lane(b, 2, <i32>load<u8>(mr2 + <usize>j));
    b = i32x4.replace_lane(b, 3, <i32>load<u8>(mr3 + <usize>j));
    a = i32x4.ne(b, i32x4.splat(0));
  }
  // sliding window: lane l sees key position p iff p ≥ wlo[l] = P_l − W + 1
  if (window > 0) a = v128.and(a, i32x4.ge_s(i32x4.splat(load<i32>(posPtr + (<usize>j << 2))), wlo));
  return a;
}

/** Whether the single query vector (mask row mr, causal limit lim, position P) attends staged row j. */
// @ts-ignore: decorator
@inline function attendsOne(maskPtr: usize, mr: usize, lim: i32, j: i32, window: i32, posPtr: usize, P: i32): bool {
  if (maskPtr == 0 ? j > lim : load<u8>(mr + <usize>j) == 0) return false;
  return window == 0 || P - load<i32>(posPtr + (<usize>j << 2)) < window;
}

/** capped() of one score. */
// @ts-ignore: decorator
@inline function cappedOne(x: f32, cap: f32): f32 {
  if (cap <= 0) return x;
  return f32x4.extract_lane(capped(f32x4.splat(x), cap), 0);
}

/** Soft-capped scores: cap·tanh(x/cap) per lane when cap > 0, else x. */
// @ts-ignore: decorator
@inline function capped(x: v128, cap: f32): v128 {
  if (cap <= 0) return x;
  return f32x4.mul(f32x4.splat(cap), tanh4(f32x4.mul(x, f32x4.splat(1 / cap))));
}

/**
 * Scores of the 4 query lanes against 4 keys: S[x] = scale·Σ_d k_x[d]·QT[d] for x < 4, stored at
 * S + 16x; returns their lane-wise maximum. QT: [headDim][4]; k0..k3: this head's slice of 4 key
 * rows. Two d-steps are summed before they meet the accumulator, which halves its dependency chain.
 */
// @ts-ignore: decorator
@inline function qk4<K>(S: usize, QT: usize, k0: usize, k1: usize, k2: usize, k3: usize, headDim: i32, scale: v128, cap: f32): v128 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const pairEnd = <usize>(headDim & ~1) << 2;
  let d: usize = 0;
  if (sizeof<K>() == 2) {
    // an f16 cache: 4 elements of a key widened by one f16x4, then broadcast lane by lane; the pairs are
    // summed in the order of the loop below (same bits)
    const quadEnd = <usize>(headDim & ~3) << 2;
    for (; d < quadEnd; d += 16) {
      const x = QT + (d << 2);
      const qa = v128.load(x), qb = v128.load(x, 16), qc = v128.load(x, 32), qd = v128.load(x, 48);
      const kd = d >> 1;
      const w0 = f16x4(k0 + kd), w1 = f16x4(k1 + kd), w2 = f16x4(k2 + kd), w3 = f16x4(k3 + kd);
      a0 = f32x4.add(a0, madd(f32x4.shuffle(w0, w0, 0, 0, 0, 0), qa, f32x4.mul(f32x4.shuffle(w0, w0, 1, 1, 1, 1), qb)));
      a1 = f32x4.add(a1, madd(f32x4.shuffle(w1, w1, 0, 0, 0, 0), qa, f32x4.mul(f32x4.shuffle(w1, w1, 1, 1, 1, 1), qb)));
      a2 = f32x4.add(a2, madd(f32x4.shuffle(w2, w2, 0, 0, 0, 0), qa, f32x4.mul(f32x4.shuffle(w2, w2, 1, 1, 1, 1), qb)));
      a3 = f32x4.add(a3, madd(f32x4.shuffle(w3, w3, 0, 0, 0, 0), qa, f32x4.mul(f32x4.shuffle(w3, w3, 1, 1, 1, 1), qb)));
      a0 = f32x4.add(a0, madd(f32x4.shuffle(w0, w0, 2, 2, 2, 2), qc, f32x4.mul(f32x4.shuffle(w0, w0, 3, 3, 3, 3), qd)));
      a1 = f32x4.add(a1, madd(f32x4.shuffle(w1, w1, 2, 2, 2, 2), qc, f32x4.mul(f32x4.shuffle(w1, w1, 3, 3, 3, 3), qd)));
      a2 = f32x4.add(a2, madd(f32x4.shuffle(w2, w2, 2, 2, 2, 2), qc, f32x4.mul(f32x4.shuffle(w2, w2, 3, 3, 3, 3), qd)));
      a3 = f32x4.add(a3, madd(f32x4.shuffle(w3, w3, 2, 2, 2, 2), qc, f32x4.mul(f32x4.shuffle(w3, w3, 3, 3, 3, 3), qd)));
    }
  }
  for (; d < pairEnd; d += 8) {
    const x = QT + (d << 2);
    const qa = v128.load(x), qb = v128.load(x, 16);
    const kd = kvOff<K>(d), ke = kvOff<K>(d + 4);
    a0 = f32x4.add(a0, madd(kvSplat<K>(k0 + kd), qa, f32x4.mul(kvSplat<K>(k0 + ke), qb)));
    a1 = f32x4.add(a1, madd(kvSplat<K>(k1 + kd), qa, f32x4.mul(kvSplat<K>(k1 + ke), qb)));
    a2 = f32x4.add(a2, madd(kvSplat<K>(k2 + kd), qa, f32x4.mul(kvSplat<K>(k2 + ke), qb)));
    a3 = f32x4.add(a3, madd(kvSplat<K>(k3 + kd), qa, f32x4.mul(kvSplat<K>(k3 + ke), qb)));
  }
  if (headDim & 1) {
    const qa = v128.load(QT + (d << 2));
    const kd = kvOff<K>(d);
    a0 = madd(kvSplat<K>(k0 + kd), qa, a0);
    a1 = madd(kvSplat<K>(k1 + kd), qa, a1);
    a2 = madd(kvSplat<K>(k2 + kd), qa, a2);
    a3 = madd(kvSplat<K>(k3 + kd), qa, a3);
  }
  a0 = capped(f32x4.mul(a0, scale), cap);
  a1 = capped(f32x4.mul(a1, scale), cap);
  a2 = capped(f32x4.mul(a2, scale), cap);
  a3 = capped(f32x4.mul(a3, scale), cap);
  v128.store(S, a0);
  v128.store(S, a1, 16);
  v128.store(S, a2, 32);
  v128.store(S, a3, 48);
  return f32x4.pmax(f32x4.pmax(a0, a1), f32x4.pmax(a2, a3));
}

/** Scores of the 4 query lanes against one key row k: scale·Σ_d k[d]·QT[d] (soft-capped when cap > 0). */
// @ts-ignore: decorator
@inline function qk1<K>(QT: usize, k: usize, headDim: i32, scale: v128, cap: f32): v128 {
  let a0 = f32x4.splat(0), a1 = a0;
  const pairEnd = <usize>(headDim & ~1) << 2;
  let d: usize = 0;
  for (; d < pairEnd; d += 8) {
    a0 = madd(kvSplat<K>(k + kvOff<K>(d)), v128.load(QT + (d << 2)), a0);
    a1 = madd(kvSplat<K>(k + kvOff<K>(d + 4)), v128.load(QT + (d << 2), 16), a1);
  }
  if (headDim & 1) a0 = madd(kvSplat<K>(k + kvOff<K>(d)), v128.load(QT + (d << 2)), a0);
  return capped(f32x4.mul(f32x4.add(a0, a1), scale), cap);
}

/**
 * out_l[c .. c + 8) = inv_l·Σ_t S[t][l]·v_t[c .. c + 8) for the 4 lanes l (o0..o3: their output
 * rows), over the committed rows and the staged rows some lane attends (masked lanes see zeros).
 * v: this head's slice of row 0, c: byte offset inside the head.
 */
// @ts-ignore: decorator
@inline function pv8<K>(S: usize, v: usize, kvStride: usize, c: usize, t0: i32, cacheLen: i32, m: i32,
  maskPtr: usize, lim: v128, mr0: usize, mr1: usize, mr2: usize, mr3: usize, window: i32, posPtr: usize, wlo: v128,
  inv: v128, o0: usize, o1: usize, o2: usize, o3: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
  let vt = v + kvOff<K>(c) + <usize>t0 * kvStride;
  let s = S + (<usize>t0 << 4);
  for (let t = t0; t < cacheLen; t++) {
    const x0 = kvLoad4<K>(vt), x1 = kvLoad4<K>(vt + kvOff<K>(16));
    const pa = v128.load32_splat(s), pb = v128.load32_splat(s, 4);
    a0 = madd(pa, x0, a0);
    a1 = madd(pa, x1, a1);
    b0 = madd(pb, x0, b0);
    b1 = madd(pb, x1, b1);
    const pc = v128.load32_splat(s, 8), pd = v128.load32_splat(s, 12);
    c0 = madd(pc, x0, c0);
    c1 = madd(pc, x1, c1);
    d0 = madd(pd, x0, d0);
    d1 = madd(pd, x1, d1);
    vt += kvStride;
    s += 16;
  }
  for (let j = 0; j < m; j++, vt += kvStride, s += 16) {
    const att = laneAttends(maskPtr, j, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
    if (!v128.any_true(att)) continue;
    const x0 = kvLoad4<K>(vt), x1 = kvLoad4<K>(vt + kvOff<K>(16));
    if (i32x4.all_true(att)) {
      a0 = madd(v128.load32_splat(s), x0, a0);
      a1 = madd(v128.load32_splat(s), x1, a1);
      b0 = madd(v128.load32_splat(s, 4), x0, b0);
      b1 = madd(v128.load32_splat(s, 4), x1, b1);
      c0 = madd(v128.load32_splat(s, 8), x0, c0);
      c1 = madd(v128.load32_splat(s, 8), x1, c1);
      d0 = madd(v128.load32_splat(s, 12), x0, d0);
      d1 = madd(v128.load32_splat(s, 12), x1, d1);
    } else {
      const ma = f32x4.shuffle(att, att, 0, 0, 0, 0), mb = f32x4.shuffle(att, att, 1, 1, 1, 1), mc = f32x4.shuffle(att, att, 2, 2, 2, 2), md = f32x4.shuffle(att, att, 3, 3, 3, 3);
      a0 = madd(v128.load32_splat(s), v128.and(x0, ma), a0);
      a1 = madd(v128.load32_splat(s), v128.and(x1, ma), a1);
      b0 = madd(v128.load32_splat(s, 4), v128.and(x0, mb), b0);
      b1 = madd(v128.load32_splat(s, 4), v128.and(x1, mb), b1);
      c0 = madd(v128.load32_splat(s, 8), v128.and(x0, mc), c0);
      c1 = madd(v128.load32_splat(s, 8), v128.and(x1, mc), c1);
      d0 = madd(v128.load32_splat(s, 12), v128.and(x0, md), d0);
      d1 = madd(v128.load32_splat(s, 12), v128.and(x1, md), d1);
    }
  }
  const ia = f32x4.splat(f32x4.extract_lane(inv, 0)), ib = f32x4.splat(f32x4.extract_lane(inv, 1));
  const ic = f32x4.splat(f32x4.extract_lane(inv, 2)), id = f32x4.splat(f32x4.extract_lane(inv, 3));
  v128.store(o0 + c, f32x4.mul(a0, ia));
  v128.store(o0 + c, f32x4.mul(a1, ia), 16);
  v128.store(o1 + c, f32x4.mul(b0, ib));
  v128.store(o1 + c, f32x4.mul(b1, ib), 16);
  v128.store(o2 + c, f32x4.mul(c0, ic));
  v128.store(o2 + c, f32x4.mul(c1, ic), 16);
  v128.store(o3 + c, f32x4.mul(d0, id));
  v128.store(o3 + c, f32x4.mul(d1, id), 16);
}

/**
 * As pv8 for `count` ≤ 4 floats at byte offset c (count < 4: a head-size tail, loaded and stored
 * lane by lane so nothing past the head is touched).
 */
// @ts-ignore: decorator
@inline function pv4<K>(S: usize, v: usize, kvStride: usize, c: usize, count: i32, t0: i32, cacheLen: i32, m: i32,
  maskPtr: usize, lim: v128, mr0: usize, mr1: usize, mr2: usize, mr3: usize, window: i32, posPtr: usize, wlo: v128,
  inv: v128, o0: usize, o1: usize, o2: usize, o3: usize): void {
  let a0 = f32x4.splat(0), b0 = a0, c0 = a0, d0 = a0;
  let vt = v + kvOff<K>(c) + <usize>t0 * kvStride;
  let s = S + (<usize>t0 << 4);
  for (let t = t0; t < cacheLen; t++, vt += kvStride, s += 16) {
    const x0 = count == 4 ? kvLoad4<K>(vt) : kvLoadTail<K>(vt, count);
    a0 = madd(v128.load32_splat(s), x0, a0);
    b0 = madd(v128.load32_splat(s, 4), x0, b0);
    c0 = madd(v128.load32_splat(s, 8), x0, c0);
    d0 = madd(v128.load32_splat(s, 12), x0, d0);
  }
  for (let j = 0; j < m; j++, vt += kvStride, s += 16) {
    const att = laneAttends(maskPtr, j, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
    if (!v128.any_true(att)) continue;
    const x0 = count == 4 ? kvLoad4<K>(vt) : kvLoadTail<K>(vt, count);
    a0 = madd(v128.load32_splat(s), v128.and(x0, f32x4.shuffle(att, att, 0, 0, 0, 0)), a0);
    b0 = madd(v128.load32_splat(s, 4), v128.and(x0, f32x4.shuffle(att, att, 1, 1, 1, 1)), b0);
    c0 = madd(v128.load32_splat(s, 8), v128.and(x0, f32x4.shuffle(att, att, 2, 2, 2, 2)), c0);
    d0 = madd(v128.load32_splat(s, 12), v128.and(x0, f32x4.shuffle(att, att, 3, 3, 3, 3)), d0);
  }
  a0 = f32x4.mul(a0, f32x4.splat(f32x4.extract_lane(inv, 0)));
  b0 = f32x4.mul(b0, f32x4.splat(f32x4.extract_lane(inv, 1)));
  c0 = f32x4.mul(c0, f32x4.splat(f32x4.extract_lane(inv, 2)));
  d0 = f32x4.mul(d0, f32x4.splat(f32x4.extract_lane(inv, 3)));
  if (count == 4) {
    v128.store(o0 + c, a0);
    v128.store(o1 + c, b0);
    v128.store(o2 + c, c0);
    v128.store(o3 + c, d0);
  } else {
    storeTail(o0 + c, a0, count);
    storeTail(o1 + c, b0, count);
    storeTail(o2 + c, c0, count);
    storeTail(o3 + c, d0, count);
  }
}

/** q·k over headDim floats (SIMD, loadTail for the last 1–3), unscaled. */
// @ts-ignore: decorator
@inline function dot<K>(q: usize, k: usize, headDim: i32): f32 {
  const vecEnd = <usize>(headDim & ~3) << 2;
  let a = f32x4.splat(0);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) a = madd(v128.load(q + off), kvLoad4<K>(k + kvOff<K>(off)), a);
  const tail = headDim & 3;
  if (tail) a = madd(loadTail(q + off, tail), kvLoadTail<K>(k + kvOff<K>(off), tail), a);
  return hsum(a);
}

/**
 * o[c .. c + 4·count) = inv·Σ_t e[t]·v_t[c .. c + 4·count) for one query vector (count 1–4 floats
 * of the head at byte offset c; count < 4 is loaded and stored lane by lane), over the committed
 * rows and the staged rows it attends. e: f32 [cacheLen + m] at S. Committed rows two at a time
 * into two accumulators (two dependency chains).
 */
// @ts-ignore: decorator
@inline function pvOne4<K>(o: usize, S: usize, v: usize, kvStride: usize, c: usize, count: i32, t0: i32, cacheLen: i32, m: i32,
  maskPtr: usize, mr: usize, lim: i32, window: i32, posPtr: usize, P: i32, inv: f32): void {
  let a0 = f32x4.splat(0), b0 = a0;
  let vt = v + kvOff<K>(c) + <usize>t0 * kvStride;
  let p = S + (<usize>t0 << 2);
  let t = t0;
  for (; t + 2 <= cacheLen; t += 2) {
    a0 = madd(v128.load32_splat(p), count == 4 ? kvLoad4<K>(vt) : kvLoadTail<K>(vt, count), a0);
    b0 = madd(v128.load32_splat(p, 4), count == 4 ? kvLoad4<K>(vt + kvStride) : kvLoadTail<K>(vt + kvStride, count), b0);
    vt += kvStride << 1;
    p += 8;
  }
  if (t < cacheLen) {
    a0 = madd(v128.load32_splat(p), count == 4 ? kvLoad4<K>(vt) : kvLoadTail<K>(vt, count), a0);
    vt += kvStride;
    p += 4;
  }
  for (let j = 0; j < m; j++, vt += kvStride, p += 4) {
    if (!attendsOne(maskPtr, mr, lim, j, window, posPtr, P)) continue;
    a0 = madd(v128.load32_splat(p), count == 4 ? kvLoad4<K>(vt) : kvLoadTail<K>(vt, count), a0);
  }
  const r = f32x4.mul(f32x4.add(a0, b0), f32x4.splat(inv));
  if (count == 4) v128.store(o + c, r);
  else storeTail(o + c, r, count);
}

/** pvOne4 for 16 floats at byte offset c: two committed rows at a time, their products summed before they meet the four accumulators. */
// @ts-ignore: decorator
@inline function pvOne16<K>(o: usize, S: usize, v: usize, kvStride: usize, c: usize, t0: i32, cacheLen: i32, m: i32,
  maskPtr: usize, mr: usize, lim: i32, window: i32, posPtr: usize, P: i32, inv: f32): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let vt = v + kvOff<K>(c) + <usize>t0 * kvStride;
  let p = S + (<usize>t0 << 2);
  let t = t0;
  for (; t + 2 <= cacheLen; t += 2) {
    const p0 = v128.load32_splat(p), p1 = v128.load32_splat(p, 4);
    const wt = vt + kvStride;
    a0 = f32x4.add(a0, madd(p0, kvLoad4<K>(vt), f32x4.mul(p1, kvLoad4<K>(wt))));
    a1 = f32x4.add(a1, madd(p0, kvLoad4<K>(vt + kvOff<K>(16)), f32x4.mul(p1, kvLoad4<K>(wt + kvOff<K>(16)))));
    a2 = f32x4.add(a2, madd(p0, kvLoad4<K>(vt + kvOff<K>(32)), f32x4.mul(p1, kvLoad4<K>(wt + kvOff<K>(32)))));
    a3 = f32x4.add(a3, madd(p0, kvLoad4<K>(vt + kvOff<K>(48)), f32x4.mul(p1, kvLoad4<K>(wt + kvOff<K>(48)))));
    vt += kvStride << 1;
    p += 8;
  }
  if (t < cacheLen) {
    const p0 = v128.load32_splat(p);
    a0 = madd(p0, kvLoad4<K>(vt), a0);
    a1 = madd(p0, kvLoad4<K>(vt + kvOff<K>(16)), a1);
    a2 = madd(p0, kvLoad4<K>(vt + kvOff<K>(32)), a2);
    a3 = madd(p0, kvLoad4<K>(vt + kvOff<K>(48)), a3);
    vt += kvStride;
    p += 4;
  }
  for (let j = 0; j < m; j++, vt += kvStride, p += 4) {
    if (!attendsOne(maskPtr, mr, lim, j, window, posPtr, P)) continue;
    const p0 = v128.load32_splat(p);
    a0 = madd(p0, kvLoad4<K>(vt), a0);
    a1 = madd(p0, kvLoad4<K>(vt + kvOff<K>(16)), a1);
    a2 = madd(p0, kvLoad4<K>(vt + kvOff<K>(32)), a2);
    a3 = madd(p0, kvLoad4<K>(vt + kvOff<K>(48)), a3);
  }
  const sc = f32x4.splat(inv);
  v128.store(o + c, f32x4.mul(a0, sc));
  v128.store(o + c, f32x4.mul(a1, sc), 16);
  v128.store(o + c, f32x4.mul(a2, sc), 32);
  v128.store(o + c, f32x4.mul(a3, sc), 48);
}

/** pvOne4 for 8 floats at byte offset c: two committed rows at a time into four accumulators. */
// @ts-ignore: decorator
@inline function pvOne8<K>(o: usize, S: usize, v: usize, kvStride: usize, c: usize, t0: i32, cacheLen: i32, m: i32,
  maskPtr: usize, mr: usize, lim: i32, window: i32, posPtr: usize, P: i32, inv: f32): void {
  let a0 = f32x4.splat(0), a1 = a0, b0 = a0, b1 = a0;
  let vt = v + kvOff<K>(c) + <usize>t0 * kvStride;
  let p = S + (<usize>t0 << 2);
  let t = t0;
  for (; t + 2 <= cacheLen; t += 2) {
    const p0 = v128.load32_splat(p), p1 = v128.load32_splat(p, 4);
    a0 = madd(p0, kvLoad4<K>(vt), a0);
    a1 = madd(p0, kvLoad4<K>(vt + kvOff<K>(16)), a1);
    b0 = madd(p1, kvLoad4<K>(vt + kvStride), b0);
    b1 = madd(p1, kvLoad4<K>(vt + kvStride + kvOff<K>(16)), b1);
    vt += kvStride << 1;
    p += 8;
  }
  if (t < cacheLen) {
    const p0 = v128.load32_splat(p);
    a0 = madd(p0, kvLoad4<K>(vt), a0);
    a1 = madd(p0, kvLoad4<K>(vt + kvOff<K>(16)), a1);
    vt += kvStride;
    p += 4;
  }
  for (let j = 0; j < m; j++, vt += kvStride, p += 4) {
    if (!attendsOne(maskPtr, mr, lim, j, window, posPtr, P)) continue;
    const p0 = v128.load32_splat(p);
    a0 = madd(p0, kvLoad4<K>(vt), a0);
    a1 = madd(p0, kvLoad4<K>(vt + kvOff<K>(16)), a1);
  }
  const sc = f32x4.splat(inv);
  v128.store(o + c, f32x4.mul(f32x4.add(a0, b0), sc));
  v128.store(o + c, f32x4.mul(f32x4.add(a1, b1), sc), 16);
}

/**
 * Attention of one query vector q (headDim floats; output o) over KV head rows at kBase / vBase:
 * the path for query vectors that do not fill a block of 4 lanes (decode, multi-head attention,
 * the last 1–3 vectors of a KV head). Keys in lanes: 4 dot products at a time, reduced by one
 * transpose-and-add (sum4); scores then e = exp(s − max) in S (f32 [cacheLen + m] rounded up to a
 * multiple of 4, padding −∞); out = (Σ e_t·v_t) / Σ e. Staged row j is attended iff j ≤ lim
 * (causal, maskPtr = 0) or mask byte mr[j] ≠ 0; rows not attended are not read.
 */
// @ts-ignore: decorator
@inline function attendOne<K>(o: usize, q: usize, kBase: usize, vBase: usize, kvStride: usize, S: usize,
  maskPtr: usize, mr: usize, lim: i32, cacheLen: i32, m: i32, headDim: i32, scale: f32, cap: f32,
  window: i32, posPtr: usize, P: i32): void {
  const vecEnd = <usize>(headDim & ~3) << 2;
  const tail = headDim & 3;
  const scaleV = f32x4.splat(scale);
  let mxv = f32x4.splat(-Infinity);
  // sliding window: committed rows before P − W + 1 are not read (S is indexed from row 0 all the same)
  const t0 = window > 0 ? min(max(P - window + 1, 0), cacheLen) : 0;
  let t = t0;
  for (; t + 4 <= cacheLen; t += 4) {
    const k0 = kBase + <usize>t * kvStride, k1 = k0 + kvStride, k2 = k1 + kvStride, k3 = k2 + kvStride;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let off: usize = 0;
    // two 4-float chunks summed before they meet the accumulator (half the dependency chain)
    for (; off + 32 <= vecEnd; off += 32) {
      const qa = v128.load(q + off), qb = v128.load(q + off, 16);
      a0 = f32x4.add(a0, madd(qa, kvLoad4<K>(k0 + kvOff<K>(off)), f32x4.mul(qb, kvLoad4<K>(k0 + kvOff<K>(off + 16)))));
      a1 = f32x4.add(a1, madd(qa, kvLoad4<K>(k1 + kvOff<K>(off)), f32x4.mul(qb, kvLoad4<K>(k1 + kvOff<K>(off + 16)))));
      a2 = f32x4.add(a2, madd(qa, kvLoad4<K>(k2 + kvOff<K>(off)), f32x4.mul(qb, kvLoad4<K>(k2 + kvOff<K>(off + 16)))));
      a3 = f32x4.add(a3, madd(qa, kvLoad4<K>(k3 + kvOff<K>(off)), f32x4.mul(qb, kvLoad4<K>(k3 + kvOff<K>(off + 16)))));
    }
    if (off < vecEnd) {
      const qv = v128.load(q + off);
      a0 = madd(qv, kvLoad4<K>(k0 + kvOff<K>(off)), a0);
      a1 = madd(qv, kvLoad4<K>(k1 + kvOff<K>(off)), a1);
      a2 = madd(qv, kvLoad4<K>(k2 + kvOff<K>(off)), a2);
      a3 = madd(qv, kvLoad4<K>(k3 + kvOff<K>(off)), a3);
      off += 16;
    }
    if (tail) {
      const qv = loadTail(q + off, tail);
      a0 = madd(qv, kvLoadTail<K>(k0 + kvOff<K>(off), tail), a0);
      a1 = madd(qv, kvLoadTail<K>(k1 + kvOff<K>(off), tail), a1);
      a2 = madd(qv, kvLoadTail<K>(k2 + kvOff<K>(off), tail), a2);
      a3 = madd(qv, kvLoadTail<K>(k3 + kvOff<K>(off), tail), a3);
    }
    const s4 = capped(f32x4.mul(sum4(a0, a1, a2, a3), scaleV), cap);
    v128.store(S + (<usize>t << 2), s4);
    mxv = f32x4.pmax(mxv, s4);
  }
  let mx = hmax(mxv);
  for (; t < cacheLen; t++) {
    const x = cappedOne(dot<K>(q, kBase + <usize>t * kvStride, headDim) * scale, cap);
    store<f32>(S + (<usize>t << 2), x);
    if (x > mx) mx = x;
  }
  for (let j = 0; j < m; j++) {
    let x: f32 = -Infinity;
    if (attendsOne(maskPtr, mr, lim, j, window, posPtr, P)) {
      x = cappedOne(dot<K>(q, kBase + <usize>(cacheLen + j) * kvStride, headDim) * scale, cap);
      if (x > mx) mx = x;
    }
    store<f32>(S + (<usize>(cacheLen + j) << 2), x);
  }
  const total = cacheLen + m;
  const padded = t0 + ((total - t0 + 3) & ~3);
  for (let p = total; p < padded; p++) store<f32>(S + (<usize>p << 2), -Infinity);
  if (mx == -Infinity) mx = 0; // attends nothing: every e is 0
  const mxs = f32x4.splat(mx);
  let sumv = f32x4.splat(0);
  const end = S + (<usize>padded << 2);
  for (let p = S + (<usize>t0 << 2); p < end; p += 16) {
    const e = expSoftmax4(f32x4.sub(v128.load(p), mxs));
    v128.store(p, e);
    sumv = f32x4.add(sumv, e);
  }
  const sum = hsum(sumv);
  const inv: f32 = sum == 0 ? 0 : 1 / sum;
  const headBytes = <usize>headDim << 2;
  let c: usize = 0;
  for (; c + 64 <= headBytes; c += 64) pvOne16<K>(o, S, vBase, kvStride, c, t0, cacheLen, m, maskPtr, mr, lim, window, posPtr, P, inv);
  for (; c + 32 <= headBytes; c += 32) pvOne8<K>(o, S, vBase, kvStride, c, t0, cacheLen, m, maskPtr, mr, lim, window, posPtr, P, inv);
  for (; c < headBytes; c += 16) pvOne4<K>(o, S, vBase, kvStride, c, min(4, <i32>((headBytes - c) >> 2)), t0, cacheLen, m, maskPtr, mr, lim, window, posPtr, P, inv);
}

/**
 * Attention for query rows i < n and heads h in [h0, h1).
 * out, q: [n, nHeads·headDim]; k, v: [capacity, nKvHeads·headDim]; mask: u8 [n, m] or 0 (causal);
 * pos: i32 [m] positions of the staged rows (read only when window > 0);
 * scores: f32 scratch [4·(cacheLen + m + headDim)]. nHeads is a multiple of nKvHeads; n ≤ m.
 * scale multiplies q·k; softcap > 0 caps scores to softcap·tanh(s/softcap); window > 0 is the
 * sliding window in positions (see the file comment).
 */
export function attention_f32(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale1: f32, softcap: f32, window: i32, headRows: i32): void {
  attention<f32>(outPtr, qPtr, kPtr, vPtr, scoresPtr, maskPtr, posPtr, n, m, nHeads, nKvHeads, headDim, cacheLen, h0, h1, scale1, softcap, window, headRows);
}

/**
 * attention_f32 over an f16 cache: k, v hold f16 bit patterns (u16 [capacity, kvDim], finite values
 * only, as kv_store_f16 writes them), widened exactly on load: the same bits as attention_f32 on the
 * widened cache. A KV head whose query vectors fill three or more lane blocks (trees, prefill) would
 * widen its rows once per block: its keys and values are widened once into f32 planes after the
 * scores scratch instead, and attention_f32's code runs on them (same bits). scores: f32 scratch
 * [4·(cacheLen + m + headDim) + 2·(cacheLen + m)·headDim].
 */
export function attention_f16(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale1: f32, softcap: f32, window: i32, headRows: i32): void {
  if (h0 >= h1 || n <= 0) return;
  const group = nHeads / nKvHeads;
  const vectors = n * group;
  if ((vectors & 3) >= 2 ? vectors <= 8 : vectors < 12) { // fewer than 3 blocks per KV head: widening in place is cheaper
    attentionF16InPlace(outPtr, qPtr, kPtr, vPtr, scoresPtr, maskPtr, posPtr, n, m, nHeads, nKvHeads, headDim, cacheLen, h0, h1, scale1, softcap, window, headRows);
    return;
  }
  const rows = cacheLen + m;
  const rowF32 = <usize>headDim << 2;
  const planeF32 = <usize>rows * rowF32;
  const W = scoresPtr + ((<usize>(rows + headDim)) << 4); // after attention_f32's scratch
  const rowKv = <usize>headDim << 1;
  const stride = headRows > 0 ? rowKv : <usize>nKvHeads * rowKv;
  const plane = headRows > 0 ? <usize>headRows * rowKv : rowKv;
  const g1 = (h1 - 1) / group;
  for (let g = h0 / group; g <= g1; g++) {
    widenRows(W, kPtr + <usize>g * plane, stride, rows, headDim);
    widenRows(W + planeF32, vPtr + <usize>g * plane, stride, rows, headDim);
    // head g's planes at W, W + planeF32, as a head-major f32 cache of `rows` rows seen from head g
    const base = W - <usize>g * planeF32;
    attention_f32(outPtr, qPtr, base, base + planeF32, scoresPtr, maskPtr, posPtr, n, m, nHeads, nKvHeads, headDim, cacheLen,
      max(h0, g * group), min(h1, (g + 1) * group), scale1, softcap, window, rows);
  }
}

/** attention_f16 reading the cache in place (a function of its own, as V8 compiles it best). */
// @ts-ignore: decorator
@noinline function attentionF16InPlace(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale1: f32, softcap: f32, window: i32, headRows: i32): void {
  attention<u16>(outPtr, qPtr, kPtr, vPtr, scoresPtr, maskPtr, posPtr, n, m, nHeads, nKvHeads, headDim, cacheLen, h0, h1, scale1, softcap, window, headRows);
}

/** rows f16 rows of headDim values (stride bytes apart from src) widened exactly into f32 rows at dst, packed. */
function widenRows(dst: usize, src: usize, stride: usize, rows: i32, headDim: i32): void {
  const quads = headDim & ~3;
  for (let t = 0; t < rows; t++) {
    const from = src + <usize>t * stride;
    const to = dst + ((<usize>t * <usize>headDim) << 2);
    let d = 0;
    for (; d < quads; d += 4) v128.store(to + (<usize>d << 2), f16x4(from + (<usize>d << 1)));
    for (; d < headDim; d++) store<f32>(to + (<usize>d << 2), f16s(<u32>load<u16>(from + (<usize>d << 1))));
  }
}

// @ts-ignore: decorator
@inline function attention<K>(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale1: f32, softcap: f32, window: i32, headRows: i32): void {
  if (h0 >= h1 || n <= 0) return;
  const first = m - n;
  const group = nHeads / nKvHeads;
  const headBytes = <usize>headDim << 2;
  const qStride = <usize>nHeads * headBytes;
  const headKv = kvOff<K>(headBytes); // a head's bytes in the cache
  // row-major ([rows, kvDim]: a row's heads side by side) or head-major (headRows > 0: head g's rows
  // in a plane of their own, [nKvHeads][headRows][headDim], each head's keys and values one stream)
  const kvStride = headRows > 0 ? headKv : <usize>nKvHeads * headKv;
  const plane = headRows > 0 ? <usize>headRows * headKv : headKv;
  const scale = f32x4.splat(scale1);
  const total = cacheLen + m;
  const S = scoresPtr; // [total][4]: the block's scores, then exp(score − max), key-major
  const QT = scoresPtr + (<usize>total << 4); // [headDim][4]: the block's queries, transposed
  const ninf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);
  const mStride = <usize>m;
  const g1 = (h1 - 1) / group;
  for (let g = h0 / group; g <= g1; g++) {
    const ha = max(h0, g * group);
    const nh = min(h1, (g + 1) * group) - ha;
    const last = n * nh - 1; // query vectors r = i·nh + (h − ha) read KV head g
    const kBase = kPtr + <usize>g * plane;
    const vBase = vPtr + <usize>g * plane;
    // Lane blocks take the vectors of the whole group's first ⌊n·group/4⌋·4 (row-major); 2 or 3 left
    // over share a last block with a repeated lane (they read each K and V row once there, not 2–3
    // times: decode with 3 query heads per KV head, as SmolLM2's, 1.15× at 512 keys, 1.23× at 4096),
    // a single one goes alone. Decided on the whole group, not on [h0, h1), so that a vector takes the
    // same path (and gets the same bits) however the heads are split between calls. In this call's
    // order those vectors are a prefix, of length `lanes`.
    const wholeBlocks = ((n * group) & 3) >= 2 ? n * group : (n * group) & ~3;
    const bi = wholeBlocks / group;
    const lanes = bi * nh + min(max(g * group + wholeBlocks - bi * group - ha, 0), nh);
    for (let r = lanes; r <= last; r++) {
      const i = r / nh;
      const off = <usize>i * qStride + <usize>(ha + r - i * nh) * headBytes;
      const P = window > 0 ? load<i32>(posPtr + (<usize>(first + i) << 2)) : 0;
      attendOne<K>(outPtr + off, qPtr + off, kBase, vBase, kvStride, S, maskPtr, maskPtr + <usize>i * mStride, first + i, cacheLen, m, headDim, scale1, softcap,
        window, posPtr, P);
    }
    for (let r = 0; r < lanes; r += 4) {
      // the block's 4 lanes: query vectors r .. r + 3, the last one repeated past lanes − 1
      const rl = lanes - 1;
      const ra = r, rb = min(r + 1, rl), rc = min(r + 2, rl), rd = min(r + 3, rl);
      const ia = ra / nh, ib = rb / nh, ic = rc / nh, id = rd / nh;
      const offA = <usize>ia * qStride + <usize>(ha + ra - ia * nh) * headBytes;
      const offB = <usize>ib * qStride + <usize>(ha + rb - ib * nh) * headBytes;
      const offC = <usize>ic * qStride + <usize>(ha + rc - ic * nh) * headBytes;
      const offD = <usize>id * qStride + <usize>(ha + rd - id * nh) * headBytes;
      for (let d: usize = 0; d < headBytes; d += 4) {
        const x = QT + (d << 2);
        store<f32>(x, load<f32>(qPtr + offA + d));
        store<f32>(x, load<f32>(qPtr + offB + d), 4);
        store<f32>(x, load<f32>(qPtr + offC + d), 8);
        store<f32>(x, load<f32>(qPtr + offD + d), 12);
      }
      let lim = i32x4.splat(first + ia);
      lim = i32x4.replace_lane(lim, 1, first + ib);
      lim = i32x4.replace_lane(lim, 2, first + ic);
      lim = i32x4.replace_lane(lim, 3, first + id);
      const mr0 = maskPtr + <usize>ia * mStride, mr1 = maskPtr + <usize>ib * mStride;
      const mr2 = maskPtr + <usize>ic * mStride, mr3 = maskPtr + <usize>id * mStride;
      // sliding window: lane l sees key positions ≥ wlo[l] = P_l − W + 1; committed rows before the
      // smallest of them are not read, rows before the largest are masked per lane
      let wlo = i32x4.splat(0);
      let t0 = 0, tMask = 0;
      if (window > 0) {
        const pa = load<i32>(posPtr + (<usize>(first + ia) << 2)), pb = load<i32>(posPtr + (<usize>(first + ib) << 2));
        const pc = load<i32>(posPtr + (<usize>(first + ic) << 2)), pd = load<i32>(posPtr + (<usize>(first + id) << 2));
        wlo = i32x4.replace_lane(i32x4.splat(pa - window + 1), 1, pb - window + 1);
        wlo = i32x4.replace_lane(wlo, 2, pc - window + 1);
        wlo = i32x4.replace_lane(wlo, 3, pd - window + 1);
        t0 = min(max(min(min(pa, pb), min(pc, pd)) - window + 1, 0), cacheLen);
        tMask = min(max(max(max(pa, pb), max(pc, pd)) - window + 1, 0), cacheLen);
      }

      // scores and their lane-wise maximum: committed rows, 4 keys per tile. Tiles stay at multiples of 4
      // whatever the window, so a key takes the same path (same bits) in every block; keys of the first
      // tile before t0 are not read (QT stands in for them) and get −∞.
      let mx = ninf;
      let t = t0 & ~3;
      for (; t + 4 <= cacheLen; t += 4) {
        const k0 = kBase + <usize>t * kvStride;
        const s = S + (<usize>t << 4);
        const tileMax = t >= t0
          ? qk4<K>(s, QT, k0, k0 + kvStride, k0 + 2 * kvStride, k0 + 3 * kvStride, headDim, scale, softcap)
          : qk4<K>(s, QT, QT, t + 1 < t0 ? QT : k0 + kvStride, t + 2 < t0 ? QT : k0 + 2 * kvStride, t + 3 < t0 ? QT : k0 + 3 * kvStride, headDim, scale, softcap);
        if (t < tMask) mx = f32x4.pmax(mx, windowTile(s, t, wlo));
        else mx = f32x4.pmax(mx, tileMax);
      }
      for (t = max(t, t0); t < cacheLen; t++) {
        let x = qk1<K>(QT, kBase + <usize>t * kvStride, headDim, scale, softcap);
        if (t < tMask) x = v128.bitselect(x, ninf, i32x4.ge_s(i32x4.splat(t), wlo));
        v128.store(S + (<usize>t << 4), x);
        mx = f32x4.pmax(mx, x);
      }
      // staged rows: masked lanes −∞; a key no lane attends is not read (QT stands in for it)
      let j = 0;
      for (; j + 4 <= m; j += 4) {
        const s = S + (<usize>(cacheLen + j) << 4);
        const a0 = laneAttends(maskPtr, j, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
        const a1 = laneAttends(maskPtr, j + 1, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
        const a2 = laneAttends(maskPtr, j + 2, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
        const a3 = laneAttends(maskPtr, j + 3, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
        if (v128.any_true(v128.or(v128.or(a0, a1), v128.or(a2, a3)))) {
          const k0 = kBase + <usize>(cacheLen + j) * kvStride;
          qk4<K>(s, QT, v128.any_true(a0) ? k0 : QT, v128.any_true(a1) ? k0 + kvStride : QT,
            v128.any_true(a2) ? k0 + 2 * kvStride : QT, v128.any_true(a3) ? k0 + 3 * kvStride : QT, headDim, scale, softcap);
          const x0 = v128.bitselect(v128.load(s), ninf, a0);
          const x1 = v128.bitselect(v128.load(s, 16), ninf, a1);
          const x2 = v128.bitselect(v128.load(s, 32), ninf, a2);
          const x3 = v128.bitselect(v128.load(s, 48), ninf, a3);
          v128.store(s, x0);
          v128.store(s, x1, 16);
          v128.store(s, x2, 32);
          v128.store(s, x3, 48);
          mx = f32x4.pmax(mx, f32x4.pmax(f32x4.pmax(x0, x1), f32x4.pmax(x2, x3)));
        } else {
          v128.store(s, ninf);
          v128.store(s, ninf, 16);
          v128.store(s, ninf, 32);
          v128.store(s, ninf, 48);
        }
      }
      for (; j < m; j++) {
        const s = S + (<usize>(cacheLen + j) << 4);
        const a0 = laneAttends(maskPtr, j, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo);
        const x = v128.any_true(a0) ? v128.bitselect(qk1<K>(QT, kBase + <usize>(cacheLen + j) * kvStride, headDim, scale, softcap), ninf, a0) : ninf;
        v128.store(s, x);
        mx = f32x4.pmax(mx, x);
      }

      // softmax numerators e = exp(s − max) per lane, and their lane sums
      mx = v128.bitselect(mx, zero, f32x4.ne(mx, ninf)); // a lane attending nothing: all e = 0
      let sum = zero;
      const staged = S + (<usize>cacheLen << 4);
      for (let s = S + (<usize>t0 << 4); s < staged; s += 16) {
        const e = expSoftmax4(f32x4.sub(v128.load(s), mx));
        v128.store(s, e);
        sum = f32x4.add(sum, e);
      }
      const end = S + (<usize>total << 4);
      for (let s = staged; s < end; s += 16) {
        const x = v128.load(s);
        if (v128.any_true(f32x4.ne(x, ninf))) {
          const e = expSoftmax4(f32x4.sub(x, mx));
          v128.store(s, e);
          sum = f32x4.add(sum, e);
        } else {
          v128.store(s, zero);
        }
      }
      const inv = v128.bitselect(zero, f32x4.div(f32x4.splat(1), sum), f32x4.eq(sum, zero)); // nothing attended: 0 (NaN stays NaN)

      // out = inv·Σ_t e_t·v_t, 8 then 4 floats of the head at a time
      const o0 = outPtr + offA, o1 = outPtr + offB, o2 = outPtr + offC, o3 = outPtr + offD;
      let c: usize = 0;
      for (; c + 32 <= headBytes; c += 32) pv8<K>(S, vBase, kvStride, c, t0, cacheLen, m, maskPtr, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo, inv, o0, o1, o2, o3);
      for (; c < headBytes; c += 16) {
        const count = min(4, <i32>((headBytes - c) >> 2));
        pv4<K>(S, vBase, kvStride, c, count, t0, cacheLen, m, maskPtr, lim, mr0, mr1, mr2, mr3, window, posPtr, wlo, inv, o0, o1, o2, o3);
      }
    }
  }
}

/**
 * The 4 score vectors of committed keys t .. t + 3 at S (stored by qk4) with lanes outside their
 * sliding window set to −∞ (lane l sees key t + x iff t + x ≥ wlo[l]); returns their lane-wise maximum.
 */
// @ts-ignore: decorator
@inline function windowTile(S: usize, t: i32, wlo: v128): v128 {
  const ninf = f32x4.splat(-Infinity);
  const x0 = v128.bitselect(v128.load(S), ninf, i32x4.ge_s(i32x4.splat(t), wlo));
  const x1 = v128.bitselect(v128.load(S, 16), ninf, i32x4.ge_s(i32x4.splat(t + 1), wlo));
  const x2 = v128.bitselect(v128.load(S, 32), ninf, i32x4.ge_s(i32x4.splat(t + 2), wlo));
  const x3 = v128.bitselect(v128.load(S, 48), ninf, i32x4.ge_s(i32x4.splat(t + 3), wlo));
  v128.store(S, x0);
  v128.store(S, x1, 16);
  v128.store(S, x2, 32);
  v128.store(S, x3, 48);
  return f32x4.pmax(f32x4.pmax(x0, x1), f32x4.pmax(x2, x3));
}

/** Scalar twin of attention_f32: one key at a time, one output element at a time. */
export function attention_f32_ref(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale: f32, softcap: f32, window: i32, headRows: i32): void {
  attentionRef<f32>(outPtr, qPtr, kPtr, vPtr, scoresPtr, maskPtr, posPtr, n, m, nHeads, nKvHeads, headDim, cacheLen, h0, h1, scale, softcap, window, headRows);
}

/** Scalar twin of attention_f16 (f16 bit patterns widened one at a time). */
export function attention_f16_ref(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale: f32, softcap: f32, window: i32, headRows: i32): void {
  attentionRef<u16>(outPtr, qPtr, kPtr, vPtr, scoresPtr, maskPtr, posPtr, n, m, nHeads, nKvHeads, headDim, cacheLen, h0, h1, scale, softcap, window, headRows);
}

// @ts-ignore: decorator
@inline function attentionRef<K>(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize, posPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32, scale: f32, softcap: f32, window: i32, headRows: i32): void {
  const first = m - n;
  const group = nHeads / nKvHeads;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const total = cacheLen + m;
  for (let i = 0; i < n; i++) {
    const P = window > 0 ? load<i32>(posPtr + (<usize>(first + i) << 2)) : 0;
    for (let h = h0; h < h1; h++) {
      const kvh = h / group;
      const q = qPtr + ((<usize>i * <usize>qDim + <usize>h * <usize>headDim) << 2);
      for (let t = 0; t < total; t++) {
        let s: f32 = -Infinity;
        if (visibleRef(maskPtr, posPtr, m, first, i, t, cacheLen, window, P)) {
          const k = kPtr + kvAt(t, kvh, kvDim, headDim, headRows) * sizeof<K>();
          s = 0;
          for (let d = 0; d < headDim; d++) s += load<f32>(q + (<usize>d << 2)) * kvScalar<K>(k + <usize>d * sizeof<K>());
          s *= scale;
          if (softcap > 0) s = softcap * Mathf.tanh(s / softcap);
        }
        store<f32>(scoresPtr + (<usize>t << 2), s);
      }
      softmaxRowRef(scoresPtr, total);
      const o = outPtr + ((<usize>i * <usize>qDim + <usize>h * <usize>headDim) << 2);
      for (let d = 0; d < headDim; d++) {
        let acc: f32 = 0;
        for (let t = 0; t < total; t++) {
          if (visibleRef(maskPtr, posPtr, m, first, i, t, cacheLen, window, P)) {
            acc += load<f32>(scoresPtr + (<usize>t << 2)) * kvScalar<K>(vPtr + (kvAt(t, kvh, kvDim, headDim, headRows) + <usize>d) * sizeof<K>());
          }
        }
        store<f32>(o + (<usize>d << 2), acc);
      }
    }
  }
}

/** Index of element 0 of key (value) row t of KV head kvh: row-major, or head-major when headRows > 0. */
// @ts-ignore: decorator
@inline function kvAt(t: i32, kvh: i32, kvDim: i32, headDim: i32, headRows: i32): usize {
  return headRows > 0 ? (<usize>kvh * <usize>headRows + <usize>t) * <usize>headDim : <usize>t * <usize>kvDim + <usize>kvh * <usize>headDim;
}

/** Whether query row i (position P) sees key row t (committed t < cacheLen at position t, else staged t − cacheLen). */
// @ts-ignore: decorator
@inline function visibleRef(maskPtr: usize, posPtr: usize, m: i32, first: i32, i: i32, t: i32, cacheLen: i32, window: i32, P: i32): bool {
  if (t >= cacheLen && !attends(maskPtr, m, first, i, t - cacheLen)) return false;
  if (window <= 0) return true;
  const p = t < cacheLen ? t : load<i32>(posPtr + (<usize>(t - cacheLen) << 2));
  return P - p < window;
}

/**
 * The cache's writer: n rows of keys (or values) src [n, nKvHeads·headDim] (f32, row-major, as the
 * projections write them) into a head-major cache at dst, the plane of head g starting at
 * dst + g·planeRows·headDim elements (dst: row 0 of head 0's plane at the first staged row). f32
 * copies; f16 stores each value rounded to nearest even (as ggml's f32 → f16) and returns how many
 * results are not finite (|x| ≥ 65520 rounds to Inf, NaN stays NaN): attention_f16 reads finite values
 * only, so a caller refuses a row that makes any.
 */
export function kv_store_f32(dstPtr: usize, srcPtr: usize, n: i32, nKvHeads: i32, headDim: i32, planeRows: i32): void {
  const rowBytes = <usize>headDim << 2;
  for (let g = 0; g < nKvHeads; g++) {
    const dst = dstPtr + <usize>g * <usize>planeRows * rowBytes;
    for (let i = 0; i < n; i++) memory.copy(dst + <usize>i * rowBytes, srcPtr + (<usize>i * <usize>nKvHeads + <usize>g) * rowBytes, rowBytes);
  }
}

/** kv_store_f32 into an f16 cache (see there); returns the count of values f16 cannot hold. */
export function kv_store_f16(dstPtr: usize, srcPtr: usize, n: i32, nKvHeads: i32, headDim: i32, planeRows: i32): i32 {
  let bad = 0;
  for (let g = 0; g < nKvHeads; g++) {
    const dst = dstPtr + ((<usize>g * <usize>planeRows * <usize>headDim) << 1);
    for (let i = 0; i < n; i++) {
      const from = srcPtr + (((<usize>i * <usize>nKvHeads + <usize>g) * <usize>headDim) << 2);
      const to = dst + ((<usize>i * <usize>headDim) << 1);
      for (let d = 0; d < headDim; d++) {
        const h = f32ToF16Bits(load<f32>(from + (<usize>d << 2)));
        store<u16>(to + (<usize>d << 1), <u16>h);
        bad += <i32>((h & 0x7c00) == 0x7c00);
      }
    }
  }
  return bad;
}
