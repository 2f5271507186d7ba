// Physical ceilings of the integer dot products (benchmarks only; no model path calls it).

/**
 * The integer-dot peak of one thread: `iters` rounds of 12 independent chains acc ← acc + dot(acc, k)
 * (i32x4.dot_i16x8_s, i32x4.add), nothing else in the loop: 12·8 multiply-adds per round, the op mix of
 * the W8A8 kernels' inner step (pmaddwd on pre-widened i16 plus one add) at full issue rate. Twelve chains
 * cover the dot's latency at two dots per cycle. Returns the lanes' sum (wrapping) so no chain is dead.
 */
export function peak_dot_i16(iters: i32): i32 {
  const k = i16x8.splat(<i16>(iters | 3));
  let a0 = i32x4.splat(iters), a1 = i32x4.splat(iters + 1), a2 = i32x4.splat(iters + 2), a3 = i32x4.splat(iters + 3);
  let a4 = i32x4.splat(iters + 4), a5 = i32x4.splat(iters + 5), a6 = i32x4.splat(iters + 6), a7 = i32x4.splat(iters + 7);
  let a8 = i32x4.splat(iters + 8), a9 = i32x4.splat(iters + 9), a10 = i32x4.splat(iters + 10), a11 = i32x4.splat(iters + 11);
  for (let i = 0; i < iters; i++) {
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(a0, k));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(a1, k));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(a2, k));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(a3, k));
    a4 = i32x4.add(a4, i32x4.dot_i16x8_s(a4, k));
    a5 = i32x4.add(a5, i32x4.dot_i16x8_s(a5, k));
    a6 = i32x4.add(a6, i32x4.dot_i16x8_s(a6, k));
    a7 = i32x4.add(a7, i32x4.dot_i16x8_s(a7, k));
    a8 = i32x4.add(a8, i32x4.dot_i16x8_s(a8, k));
    a9 = i32x4.add(a9, i32x4.dot_i16x8_s(a9, k));
    a10 = i32x4.add(a10, i32x4.dot_i16x8_s(a10, k));
    a11 = i32x4.add(a11, i32x4.dot_i16x8_s(a11, k));
  }
  const s = i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7)), i32x4.add(i32x4.add(a8, a9), i32x4.add(a10, a11))));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/**
 * The byte-dot peak of one thread, the ceiling of the relaxed build's 4- and 5-bit batch kernels (they
 * multiply unsigned quants by activation bytes with i16x8.relaxed_dot_i8x16_i7x16_s, x86's pmaddubsw,
 * and add in i16): `iters` rounds of 12 independent chains acc ← acc + dot(acc as bytes, k), 16
 * multiply-adds per dot, nothing else in the loop. k's bytes are 0..127 (7 bits) and a pair sum stays
 * within ±32512, so every engine computes the same value; the plain build, which has no byte dot, runs
 * the same arithmetic with i16 multiplies (its 4/5-bit kernels widen to i16 and use peak_dot_i16's op).
 * Returns the lanes' sum (wrapping) so no chain is dead.
 */
export function peak_dot_i8(iters: i32): i32 {
  const kb = <i8>((iters | 3) & 0x7f);
  const k = i8x16.splat(kb);
  const kw = i16x8.splat(<i16>kb);
  let a0 = i16x8.splat(<i16>iters), a1 = i16x8.splat(<i16>(iters + 1)), a2 = i16x8.splat(<i16>(iters + 2)), a3 = i16x8.splat(<i16>(iters + 3));
  let a4 = i16x8.splat(<i16>(iters + 4)), a5 = i16x8.splat(<i16>(iters + 5)), a6 = i16x8.splat(<i16>(iters + 6)), a7 = i16x8.splat(<i16>(iters + 7));
  let a8 = i16x8.splat(<i16>(iters + 8)), a9 = i16x8.splat(<i16>(iters + 9)), a10 = i16x8.splat(<i16>(iters + 10)), a11 = i16x8.splat(<i16>(iters + 11));
  for (let i = 0; i < iters; i++) {
    a0 = i16x8.add(a0, byteDot(a0, k, kw));
    a1 = i16x8.add(a1, byteDot(a1, k, kw));
    a2 = i16x8.add(a2, byteDot(a2, k, kw));
    a3 = i16x8.add(a3, byteDot(a3, k, kw));
    a4 = i16x8.add(a4, byteDot(a4, k, kw));
    a5 = i16x8.add(a5, byteDot(a5, k, kw));
    a6 = i16x8.add(a6, byteDot(a6, k, kw));
    a7 = i16x8.add(a7, byteDot(a7, k, kw));
    a8 = i16x8.add(a8, byteDot(a8, k, kw));
    a9 = i16x8.add(a9, byteDot(a9, k, kw));
    a10 = i16x8.add(a10, byteDot(a10, k, kw));
    a11 = i16x8.add(a11, byteDot(a11, k, kw));
  }
  const s = i16x8.add(i16x8.add(i16x8.add(a0, a1), i16x8.add(a2, a3)), i16x8.add(i16x8.add(i16x8.add(a4, a5), i16x8.add(a6, a7)), i16x8.add(i16x8.add(a8, a9), i16x8.add(a10, a11))));
  const w = i32x4.extadd_pairwise_i16x8_s(s);
  return i32x4.extract_lane(w, 0) + i32x4.extract_lane(w, 1) + i32x4.extract_lane(w, 2) + i32x4.extract_lane(w, 3);
}

/** i16 lane j = a[2j]·k[2j] + a[2j+1]·k[2j+1], a's bytes signed, k's 0..127 (kw: k as i16 lanes). */
// @ts-ignore: decorator
@inline function byteDot(a: v128, k: v128, kw: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(a, k);
  return i16x8.add(i16x8.mul(i16x8.shr_s(i16x8.shl(a, 8), 8), kw), i16x8.mul(i16x8.shr_s(a, 8), kw));
}
