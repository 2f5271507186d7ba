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
