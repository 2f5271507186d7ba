// The single SIMD vocabulary of the kernels (ggml style): every kernel builds on these helpers,
// so one source compiles to the plain-SIMD and the relaxed-SIMD builds.

/** acc + a·b, fused where the engine has relaxed SIMD (ASC_FEATURE_RELAXED_SIMD is a compile-time constant). */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(f32x4.mul(a, b), acc);
}

/** Horizontal sum of the four f32 lanes, pairwise. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
