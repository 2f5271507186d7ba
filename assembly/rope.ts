// Rotary position embedding, Hugging Face "rotate half" layout: in each head the pairs are
// (x[j], x[j + headDim/2]) for j < headDim/2, rotated by pos·θ_j with θ_j = theta^(−2j/headDim).
//   x'[j]          = x[j]·cos − x[j + half]·sin
//   x'[j + half]   = x[j + half]·cos + x[j]·sin
// cos/sin come from tables [maxPos, half] precomputed by TS (src/kernels/rope.ts).

import { madd } from './simd';

/**
 * Rotate, in place, heads 0..nHeads−1 of each of n rows. x: [n, rowStride] with head h at
 * x[i, h·headDim ..], pos: i32 [n], cos/sin: [maxPos, headDim/2]. headDim is even.
 */
export function rope_f32(xPtr: usize, rowStride: i32, n: i32, nHeads: i32, headDim: i32, posPtr: usize, cosPtr: usize, sinPtr: usize): void {
  const half = headDim >> 1;
  const halfBytes = <usize>half << 2;
  const vecEnd = <usize>(half & ~3) << 2;
  for (let i = 0; i < n; i++) {
    const pos = <usize>load<i32>(posPtr + (<usize>i << 2));
    const cRow = cosPtr + pos * halfBytes;
    const sRow = sinPtr + pos * halfBytes;
    const row = xPtr + ((<usize>i * <usize>rowStride) << 2);
    for (let h = 0; h < nHeads; h++) {
      const lo = row + ((<usize>h * <usize>headDim) << 2);
      const hi = lo + halfBytes;
      let off: usize = 0;
      for (; off < vecEnd; off += 16) {
        const a = v128.load(lo + off), b = v128.load(hi + off);
        const c = v128.load(cRow + off), s = v128.load(sRow + off);
        v128.store(lo + off, madd(a, c, f32x4.mul(f32x4.neg(b), s)));
        v128.store(hi + off, madd(b, c, f32x4.mul(a, s)));
      }
      for (; off < halfBytes; off += 4) {
        const a = load<f32>(lo + off), b = load<f32>(hi + off);
        const c = load<f32>(cRow + off), s = load<f32>(sRow + off);
        store<f32>(lo + off, a * c + -b * s);
        store<f32>(hi + off, b * c + a * s);
      }
    }
  }
}

/** Scalar twin of rope_f32. */
export function rope_f32_ref(xPtr: usize, rowStride: i32, n: i32, nHeads: i32, headDim: i32, posPtr: usize, cosPtr: usize, sinPtr: usize): void {
  const half = headDim >> 1;
  for (let i = 0; i < n; i++) {
    const pos = load<i32>(posPtr + (<usize>i << 2));
    for (let h = 0; h < nHeads; h++) {
      const head = xPtr + ((<usize>i * <usize>rowStride + <usize>h * <usize>headDim) << 2);
      for (let j = 0; j < half; j++) {
        const t = (<usize>pos * <usize>half + <usize>j) << 2;
        const c = load<f32>(cosPtr + t), s = load<f32>(sinPtr + t);
        const pa = head + (<usize>j << 2), pb = head + (<usize>(j + half) << 2);
        const a = load<f32>(pa), b = load<f32>(pb);
        store<f32>(pa, a * c + -b * s);
        store<f32>(pb, b * c + a * s);
      }
    }
  }
}
