// Value scans of the loaders: where the first weight beyond a magnitude limit (or not finite) sits.
// A load checks every weight it decodes or keeps (src/weights/tensor.ts checkValues, checkBf16Values);
// these find the first one that needs a look, 16 values a step, and the TS side handles it and goes on.

/** First i < n with !(|x[i]| ≤ limit) (NaN included) in f32 x at ptr, or −1. */
export function scan_f32(ptr: usize, n: i32, limit: f32): i32 {
  const lim = f32x4.splat(limit);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = ptr + (<usize>i << 2);
    // le is false for NaN: a lane fails when it is beyond the limit or not a number
    const ok = v128.and(v128.and(f32x4.le(f32x4.abs(v128.load(p)), lim), f32x4.le(f32x4.abs(v128.load(p, 16)), lim)),
      v128.and(f32x4.le(f32x4.abs(v128.load(p, 32)), lim), f32x4.le(f32x4.abs(v128.load(p, 48)), lim)));
    if (!i32x4.all_true(ok)) break;
  }
  return scanF32From(ptr, i, n, limit);
}
/** Scalar twin of scan_f32. */
export function scan_f32_ref(ptr: usize, n: i32, limit: f32): i32 {
  return scanF32From(ptr, 0, n, limit);
}
// @ts-ignore: decorator
@inline function scanF32From(ptr: usize, i: i32, n: i32, limit: f32): i32 {
  for (; i < n; i++) if (!(abs<f32>(load<f32>(ptr + (<usize>i << 2))) <= limit)) return i;
  return -1;
}

/** First i < n whose bf16 bits at ptr have magnitude bits (& 0x7fff) above limitBits (Inf and NaN: ≥ 0x7f80), or −1. */
export function scan_bf16(ptr: usize, n: i32, limitBits: i32): i32 {
  const mag = i16x8.splat(0x7fff), lim = i16x8.splat(<i16>limitBits);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = ptr + (<usize>i << 1);
    // magnitudes are 0..0x7fff: a signed compare is exact
    const over = v128.or(i16x8.gt_s(v128.and(v128.load(p), mag), lim), i16x8.gt_s(v128.and(v128.load(p, 16), mag), lim));
    if (v128.any_true(over)) break;
  }
  return scanBf16From(ptr, i, n, limitBits);
}
/** Scalar twin of scan_bf16. */
export function scan_bf16_ref(ptr: usize, n: i32, limitBits: i32): i32 {
  return scanBf16From(ptr, 0, n, limitBits);
}
// @ts-ignore: decorator
@inline function scanBf16From(ptr: usize, i: i32, n: i32, limitBits: i32): i32 {
  for (; i < n; i++) if ((<i32>load<u16>(ptr + (<usize>i << 1)) & 0x7fff) > limitBits) return i;
  return -1;
}
