// RMSNorm (Llama): out = (x / sqrt(mean(x²) + eps)) · w, computed in f32 like Hugging Face's
// LlamaRMSNorm (the scale is applied to x first, then the weight).

import { madd, hsum } from './simd';

/** out[i, :] = (x[i, :] · s_i) · w with s_i = 1 / sqrt(mean(x[i, :]²) + eps). out, x: [n, dim], w: [dim]. out may equal x. */
export function rmsnorm_f32(outPtr: usize, xPtr: usize, wPtr: usize, n: i32, dim: i32, eps: f32): void {
  const rowBytes = <usize>dim << 2;
  const vecEnd = <usize>(dim & ~3) << 2;
  for (let i = 0; i < n; i++) {
    const x = xPtr + <usize>i * rowBytes;
    const o = outPtr + <usize>i * rowBytes;
    let a0 = f32x4.splat(0), a1 = a0;
    let off: usize = 0;
    for (; off + 32 <= vecEnd; off += 32) {
      const v0 = v128.load(x + off), v1 = v128.load(x + off, 16);
      a0 = madd(v0, v0, a0);
      a1 = madd(v1, v1, a1);
    }
    if (off < vecEnd) {
      const v0 = v128.load(x + off);
      a0 = madd(v0, v0, a0);
    }
    let ss = hsum(f32x4.add(a0, a1));
    for (let c = vecEnd; c < rowBytes; c += 4) {
      const v = load<f32>(x + c);
      ss += v * v;
    }
    const s: f32 = 1 / Mathf.sqrt(ss / <f32>dim + eps);
    const sv = f32x4.splat(s);
    for (off = 0; off < vecEnd; off += 16) {
      v128.store(o + off, f32x4.mul(f32x4.mul(v128.load(x + off), sv), v128.load(wPtr + off)));
    }
    for (let c = vecEnd; c < rowBytes; c += 4) {
      store<f32>(o + c, (load<f32>(x + c) * s) * load<f32>(wPtr + c));
    }
  }
}

/** Scalar twin of rmsnorm_f32. */
export function rmsnorm_f32_ref(outPtr: usize, xPtr: usize, wPtr: usize, n: i32, dim: i32, eps: f32): void {
  for (let i = 0; i < n; i++) {
    const x = xPtr + ((<usize>i * <usize>dim) << 2);
    const o = outPtr + ((<usize>i * <usize>dim) << 2);
    let ss: f32 = 0;
    for (let c = 0; c < dim; c++) {
      const v = load<f32>(x + (<usize>c << 2));
      ss += v * v;
    }
    const s: f32 = 1 / Mathf.sqrt(ss / <f32>dim + eps);
    for (let c = 0; c < dim; c++) {
      const off = <usize>c << 2;
      store<f32>(o + off, (load<f32>(x + off) * s) * load<f32>(wPtr + off));
    }
  }
}
