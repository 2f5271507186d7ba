// Element-wise kernels: SwiGLU, GeGLU (tanh GELU), residual add, bias add, scaling, soft-capping,
// row softmax, exp. The SIMD versions use exp4 / tanh4 (assembly/simd.ts, a few ulp); the scalar
// twins use Mathf.exp / Mathf.tanh (AssemblyScript's ports of musl) in the textbook formulas.

import { exp4, tanh4, loadTail, storeTail, softmaxRow, softmaxRowRef } from './simd';

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

// GELU, tanh approximation (PyTorch's gelu(approximate="tanh"), HF's "gelu_pytorch_tanh"):
//   gelu(g) = g/2·(1 + tanh(√(2/π)·(g + 0.044715·g³))) = g·σ(2·√(2/π)·(g + 0.044715·g³))
// The SIMD kernel uses the sigmoid form (no cancellation near 0), the scalar twin the tanh form.
// @ts-ignore: decorator
@lazy const GELU_C: f32 = 0.7978845608028654; // √(2/π)
// @ts-ignore: decorator
@lazy const GELU_A: f32 = 0.044715;

/** out[j] = gelu_tanh(gate[j])·up[j] for j < count (GeGLU, Gemma's MLP). out may equal gate or up. */
export function geglu_tanh_f32(outPtr: usize, gatePtr: usize, upPtr: usize, count: i32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  const one = f32x4.splat(1);
  const m2c = f32x4.splat(-2 * GELU_C);
  const a = f32x4.splat(GELU_A);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) {
    const g = v128.load(gatePtr + off);
    const inner = f32x4.mul(g, f32x4.add(one, f32x4.mul(a, f32x4.mul(g, g)))); // g + a·g³
    const gelu = f32x4.div(g, f32x4.add(one, exp4(f32x4.mul(m2c, inner))));
    v128.store(outPtr + off, f32x4.mul(gelu, v128.load(upPtr + off)));
  }
  const tail = count & 3;
  if (tail) {
    const g = loadTail(gatePtr + off, tail);
    const inner = f32x4.mul(g, f32x4.add(one, f32x4.mul(a, f32x4.mul(g, g))));
    const gelu = f32x4.div(g, f32x4.add(one, exp4(f32x4.mul(m2c, inner))));
    storeTail(outPtr + off, f32x4.mul(gelu, loadTail(upPtr + off, tail)), tail);
  }
}

/** Scalar twin of geglu_tanh_f32 (the tanh form). */
export function geglu_tanh_f32_ref(outPtr: usize, gatePtr: usize, upPtr: usize, count: i32): void {
  for (let j = 0; j < count; j++) {
    const off = <usize>j << 2;
    const g = load<f32>(gatePtr + off);
    const gelu: f32 = 0.5 * g * (1 + Mathf.tanh(GELU_C * (g + GELU_A * g * g * g)));
    store<f32>(outPtr + off, gelu * load<f32>(upPtr + off));
  }
}

/** x[j] = cap·tanh(x[j]/cap) in place for j < count (logit soft-capping, Gemma-2); cap > 0. */
export function softcap_f32(xPtr: usize, count: i32, cap: f32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  const c = f32x4.splat(cap);
  const inv = f32x4.splat(1 / cap);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) v128.store(xPtr + off, f32x4.mul(c, tanh4(f32x4.mul(v128.load(xPtr + off), inv))));
  const tail = count & 3;
  if (tail) storeTail(xPtr + off, f32x4.mul(c, tanh4(f32x4.mul(loadTail(xPtr + off, tail), inv))), tail);
}

/** Scalar twin of softcap_f32. */
export function softcap_f32_ref(xPtr: usize, count: i32, cap: f32): void {
  for (let j = 0; j < count; j++) {
    const off = <usize>j << 2;
    store<f32>(xPtr + off, cap * Mathf.tanh(load<f32>(xPtr + off) / cap));
  }
}

/** out[j] = x[j]·s for j < count (Gemma's √dim embedding scale). out may equal x. */
export function scale_f32(outPtr: usize, xPtr: usize, count: i32, s: f32): void {
  const vecEnd = <usize>(count & ~3) << 2;
  const sv = f32x4.splat(s);
  let off: usize = 0;
  for (; off < vecEnd; off += 16) v128.store(outPtr + off, f32x4.mul(v128.load(xPtr + off), sv));
  const end = <usize>count << 2;
  for (; off < end; off += 4) store<f32>(outPtr + off, load<f32>(xPtr + off) * s);
}

/** Scalar twin of scale_f32. */
export function scale_f32_ref(outPtr: usize, xPtr: usize, count: i32, s: f32): void {
  for (let j = 0; j < count; j++) {
    const off = <usize>j << 2;
    store<f32>(outPtr + off, load<f32>(xPtr + off) * s);
  }
}

/** x[i, c] += b[c] for rows i < n, columns c < cols (a linear layer's bias). x: [n, cols], b: [cols]. */
export function add_bias_f32(xPtr: usize, bPtr: usize, n: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  const vecEnd = <usize>(cols & ~3) << 2;
  for (let i = 0; i < n; i++) {
    const x = xPtr + <usize>i * rowBytes;
    let off: usize = 0;
    for (; off < vecEnd; off += 16) v128.store(x + off, f32x4.add(v128.load(x + off), v128.load(bPtr + off)));
    for (; off < rowBytes; off += 4) store<f32>(x + off, load<f32>(x + off) + load<f32>(bPtr + off));
  }
}

/** Scalar twin of add_bias_f32. */
export function add_bias_f32_ref(xPtr: usize, bPtr: usize, n: i32, cols: i32): void {
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < cols; c++) {
      const x = xPtr + ((<usize>i * <usize>cols + <usize>c) << 2);
      store<f32>(x, load<f32>(x) + load<f32>(bPtr + (<usize>c << 2)));
    }
  }
}
