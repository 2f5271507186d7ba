// Causal / tree attention of a batch of n query rows over one layer's KV cache.
//
// k, v: [capacity, kvDim] (kvDim = nKvHeads·headDim). Rows [0, cacheLen) are the committed
// prefix; rows [cacheLen, cacheLen + m) are staged (not yet committed) rows: the n query rows are
// the last n of them (query row i's own key/value at staged row m − n + i), the first m − n are
// earlier staged rows (the upper levels of a draft tree being expanded level by level). Query row
// i attends to every committed row and to staged rows j < m with mask[i·m + j] ≠ 0 (maskPtr = 0
// means causal: j ≤ m − n + i). Masked staged rows are never read.
// Query head h reads KV head h / (nHeads / nKvHeads) (grouped-query attention).
//   scores_t = (q·k_t) / sqrt(headDim); p = softmax(scores); out = Σ_t p_t·v_t
// Heads [h0, h1) only, so threads can split heads; `scores` is per-call scratch [cacheLen + m].
// A row that attends to nothing (cacheLen = 0 and an empty mask row) gets a zero output.

import { madd, hsum, loadTail, softmaxRow, softmaxRowRef } from './simd';

/** Whether query row i attends staged row j (m staged rows, the queries are the last n). */
// @ts-ignore: decorator
@inline function attends(maskPtr: usize, m: i32, first: i32, i: i32, j: i32): bool {
  return maskPtr == 0 ? j <= first + i : load<u8>(maskPtr + <usize>i * <usize>m + <usize>j) != 0;
}

/** q·k over headDim floats (SIMD, scalar-free tail). */
// @ts-ignore: decorator
@inline function dot(q: usize, k: usize, headDim: i32): f32 {
  const vecEnd = <usize>(headDim & ~3) << 2;
  let a = f32x4.splat(0);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) a = madd(v128.load(q + off), v128.load(k + off), a);
  const tail = headDim & 3;
  if (tail) a = madd(loadTail(q + off, tail), loadTail(k + off, tail), a);
  return hsum(a);
}

/** out[d] = Σ_t p[t]·v_t[d] for t in [t0, t1) of the rows at vBase + t·vStride. Accumulates into out (in registers per 16 floats). */
// @ts-ignore: decorator
@inline function accumulateV(out: usize, p: usize, vBase: usize, vStride: usize, t0: i32, t1: i32, headDim: i32): void {
  const vecEnd = <usize>(headDim & ~3) << 2;
  let d: usize = 0;
  for (; d + 64 <= vecEnd; d += 64) {
    let a0 = v128.load(out + d), a1 = v128.load(out + d, 16), a2 = v128.load(out + d, 32), a3 = v128.load(out + d, 48);
    for (let t = t0; t < t1; t++) {
      const pv = v128.load32_splat(p + (<usize>t << 2));
      const v = vBase + <usize>t * vStride + d;
      a0 = madd(v128.load(v), pv, a0);
      a1 = madd(v128.load(v, 16), pv, a1);
      a2 = madd(v128.load(v, 32), pv, a2);
      a3 = madd(v128.load(v, 48), pv, a3);
    }
    v128.store(out + d, a0);
    v128.store(out + d, a1, 16);
    v128.store(out + d, a2, 32);
    v128.store(out + d, a3, 48);
  }
  for (; d < vecEnd; d += 16) {
    let a0 = v128.load(out + d);
    for (let t = t0; t < t1; t++) {
      a0 = madd(v128.load(vBase + <usize>t * vStride + d), v128.load32_splat(p + (<usize>t << 2)), a0);
    }
    v128.store(out + d, a0);
  }
  const end = <usize>headDim << 2;
  for (; d < end; d += 4) {
    let s = load<f32>(out + d);
    for (let t = t0; t < t1; t++) s += load<f32>(p + (<usize>t << 2)) * load<f32>(vBase + <usize>t * vStride + d);
    store<f32>(out + d, s);
  }
}

/**
 * Attention for query rows i < n and heads h in [h0, h1).
 * out, q: [n, nHeads·headDim]; k, v: [capacity, nKvHeads·headDim]; mask: u8 [n, m] or 0 (causal);
 * scores: f32 scratch [cacheLen + m]. nHeads is a multiple of nKvHeads; n ≤ m.
 */
export function attention_f32(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32): void {
  const first = m - n;
  const group = nHeads / nKvHeads;
  const headBytes = <usize>headDim << 2;
  const qStride = <usize>nHeads * headBytes;
  const kvStride = <usize>nKvHeads * headBytes;
  const scale: f32 = 1 / Mathf.sqrt(<f32>headDim);
  const total = cacheLen + m;
  for (let i = 0; i < n; i++) {
    for (let h = h0; h < h1; h++) {
      const q = qPtr + <usize>i * qStride + <usize>h * headBytes;
      const kBase = kPtr + <usize>(h / group) * headBytes;
      const vBase = vPtr + <usize>(h / group) * headBytes;
      // committed rows, 4 keys per step (q loaded once per 4 dot products)
      let t = 0;
      const vecEnd = <usize>(headDim & ~3) << 2;
      const tail = headDim & 3;
      for (; t + 4 <= cacheLen; t += 4) {
        const k0 = kBase + <usize>t * kvStride, k1 = k0 + kvStride, k2 = k1 + kvStride, k3 = k2 + kvStride;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
        let off: usize = 0;
        for (; off < vecEnd; off += 16) {
          const qv = v128.load(q + off);
          a0 = madd(qv, v128.load(k0 + off), a0);
          a1 = madd(qv, v128.load(k1 + off), a1);
          a2 = madd(qv, v128.load(k2 + off), a2);
          a3 = madd(qv, v128.load(k3 + off), a3);
        }
        if (tail) {
          const qv = loadTail(q + off, tail);
          a0 = madd(qv, loadTail(k0 + off, tail), a0);
          a1 = madd(qv, loadTail(k1 + off, tail), a1);
          a2 = madd(qv, loadTail(k2 + off, tail), a2);
          a3 = madd(qv, loadTail(k3 + off, tail), a3);
        }
        const s = scoresPtr + (<usize>t << 2);
        store<f32>(s, hsum(a0) * scale);
        store<f32>(s, hsum(a1) * scale, 4);
        store<f32>(s, hsum(a2) * scale, 8);
        store<f32>(s, hsum(a3) * scale, 12);
      }
      for (; t < cacheLen; t++) {
        store<f32>(scoresPtr + (<usize>t << 2), dot(q, kBase + <usize>t * kvStride, headDim) * scale);
      }
      // staged rows, as the mask allows
      for (let j = 0; j < m; j++) {
        const s = scoresPtr + (<usize>(cacheLen + j) << 2);
        if (attends(maskPtr, m, first, i, j)) store<f32>(s, dot(q, kBase + <usize>(cacheLen + j) * kvStride, headDim) * scale);
        else store<f32>(s, -Infinity);
      }
      softmaxRow(scoresPtr, total);
      const o = outPtr + <usize>i * qStride + <usize>h * headBytes;
      for (let d: usize = 0; d < headBytes; d += 4) store<f32>(o + d, 0);
      accumulateV(o, scoresPtr, vBase, kvStride, 0, cacheLen, headDim);
      // staged rows: runs of attended rows (causal: one run), never reading masked ones
      let j = 0;
      while (j < m) {
        while (j < m && !attends(maskPtr, m, first, i, j)) j++;
        const j0 = j;
        while (j < m && attends(maskPtr, m, first, i, j)) j++;
        if (j > j0) accumulateV(o, scoresPtr, vBase, kvStride, cacheLen + j0, cacheLen + j, headDim);
      }
    }
  }
}

/** Scalar twin of attention_f32: one key at a time, one output element at a time. */
export function attention_f32_ref(outPtr: usize, qPtr: usize, kPtr: usize, vPtr: usize, scoresPtr: usize, maskPtr: usize,
  n: i32, m: i32, nHeads: i32, nKvHeads: i32, headDim: i32, cacheLen: i32, h0: i32, h1: i32): void {
  const first = m - n;
  const group = nHeads / nKvHeads;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const scale: f32 = 1 / Mathf.sqrt(<f32>headDim);
  const total = cacheLen + m;
  for (let i = 0; i < n; i++) {
    for (let h = h0; h < h1; h++) {
      const kvh = h / group;
      const q = qPtr + ((<usize>i * <usize>qDim + <usize>h * <usize>headDim) << 2);
      for (let t = 0; t < total; t++) {
        let s: f32 = -Infinity;
        if (t < cacheLen || attends(maskPtr, m, first, i, t - cacheLen)) {
          const k = kPtr + ((<usize>t * <usize>kvDim + <usize>kvh * <usize>headDim) << 2);
          s = 0;
          for (let d = 0; d < headDim; d++) s += load<f32>(q + (<usize>d << 2)) * load<f32>(k + (<usize>d << 2));
          s *= scale;
        }
        store<f32>(scoresPtr + (<usize>t << 2), s);
      }
      softmaxRowRef(scoresPtr, total);
      const o = outPtr + ((<usize>i * <usize>qDim + <usize>h * <usize>headDim) << 2);
      for (let d = 0; d < headDim; d++) {
        let acc: f32 = 0;
        for (let t = 0; t < total; t++) {
          if (t < cacheLen || attends(maskPtr, m, first, i, t - cacheLen)) {
            acc += load<f32>(scoresPtr + (<usize>t << 2)) * load<f32>(vPtr + ((<usize>t * <usize>kvDim + <usize>kvh * <usize>headDim + <usize>d) << 2));
          }
        }
        store<f32>(o + (<usize>d << 2), acc);
      }
    }
  }
}
