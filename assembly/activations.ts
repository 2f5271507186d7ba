// Element-wise kernels: SwiGLU, residual add, row softmax, exp. The SIMD versions use exp4
// (assembly/simd.ts, a few ulp); the scalar twins use Mathf.exp (AssemblyScript's port of musl expf).

import { exp4, loadTail, storeTail, softmaxRow, softmaxRowRef } from './simd';

/** out[j] = silu(gate[j])·up[j] = gate[j] / (1 + exp(−gate[j]))·up[j] for j < count. out may equal gate or up. */
export function swiglu_f32(outPtr: usize, gatePtr: usize, upPtr: usize, count: i32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  const one = f32x4.splat(1);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) {
    const g = v128.load(gatePtr + off);
    const silu = f32x4.div(g, f32x4.add(one, exp4(f32x4.neg(g))));
    v128.store(outPtr + off, f32x4.mul(silu, v128.load(upPtr + off)));
  }
  const tail = count & 3;
  if (tail) {
    const g = loadTail(gatePtr + off, tail);
    const silu = f32x4.div(g, f32x4.add(one, exp4(f32x4.neg(g))));
    storeTail(outPtr + off, f32x4.mul(silu, loadTail(upPtr + off, tail)), tail);
  }
}

/** Scalar twin of swiglu_f32. */
export function swiglu_f32_ref(outPtr: usize, gatePtr: usize, upPtr: usize, count: i32): void {
  for (let j = 0; j < count; j++) {
    const off = <usize>j << 2;
    const g = load<f32>(gatePtr + off);
    store<f32>(outPtr + off, (g / (1 + Mathf.exp(-g))) * load<f32>(upPtr + off));
  }
}

/** out[j] = a[j] + b[j] for j < count (residual add). out may equal a or b. */
export function add_f32(outPtr: usize, aPtr: usize, bPtr: usize, count: i32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  let off: usize = 0;
  for (; off + 32 <= vecEnd; off += 32) {
    const s0 = f32x4.add(v128.load(aPtr + off), v128.load(bPtr + off));
    const s1 = f32x4.add(v128.load(aPtr + off, 16), v128.load(bPtr + off, 16));
    v128.store(outPtr + off, s0);
    v128.store(outPtr + off, s1, 16);
  }
  if (off < vecEnd) {
    v128.store(outPtr + off, f32x4.add(v128.load(aPtr + off), v128.load(bPtr + off)));
    off += 16;
  }
  const end = <usize>count << 2;
  for (; off < end; off += 4) store<f32>(outPtr + off, load<f32>(aPtr + off) + load<f32>(bPtr + off));
}

/** Scalar twin of add_f32. */
export function add_f32_ref(outPtr: usize, aPtr: usize, bPtr: usize, count: i32): void {
  for (let j = 0; j < count; j++) {
    const off = <usize>j << 2;
    store<f32>(outPtr + off, load<f32>(aPtr + off) + load<f32>(bPtr + off));
  }
}

/** out[j] = exp(x[j]) for j < count (a few ulp; exp(−∞) = 0). out may equal x. */
export function exp_f32(outPtr: usize, xPtr: usize, count: i32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  let off: usize = 0;
  for (; off < vecEnd; off += 16) v128.store(outPtr + off, exp4(v128.load(xPtr + off)));
  const tail = count & 3;
  if (tail) storeTail(outPtr + off, exp4(loadTail(xPtr + off, tail)), tail);
}

/** Scalar twin of exp_f32 (Mathf.exp). */
export function exp_f32_ref(outPtr: usize, xPtr: usize, count: i32): void {
  for (let j = 0; j < count; j++) {
    const off = <usize>j << 2;
    store<f32>(outPtr + off, Mathf.exp(load<f32>(xPtr + off)));
  }
}

/** In-place softmax of each of n rows of length count (max-subtracted; an all −∞ row becomes zeros). x: [n, count]. */
export function softmax_f32(xPtr: usize, n: i32, count: i32): void {
  const rowBytes = <usize>count << 2;
  for (let i = 0; i < n; i++) softmaxRow(xPtr + <usize>i * rowBytes, count);
}

/** Scalar twin of softmax_f32. */
export function softmax_f32_ref(xPtr: usize, n: i32, count: i32): void {
  const rowBytes = <usize>count << 2;
  for (let i = 0; i < n; i++) softmaxRowRef(xPtr + <usize>i * rowBytes, count);
}
