/**
 * The verifier kernels (ProbKernels) in plain TypeScript over the same WebAssembly memory: the
 * "plain TypeScript version of the same method" that bench/verify.bench.ts times against WASM,
 * and a third implementation the kernel tests compare. Same signatures (byte pointers, counts),
 * same per-element operation order as assembly/probs.ts.
 */
import type { ProbKernels } from '../wasm/kernels.js';

/** ProbKernels implemented with scalar TS loops over views of `memory` (re-derived after growth). */
export function createJsProbKernels(memory: WebAssembly.Memory): ProbKernels {
  let f64 = new Float64Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  const views = (): void => {
    if (f64.buffer !== memory.buffer) {
      f64 = new Float64Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
    }
  };
  const lastPositive = (x: number, n: number, idx: number, m: number): number => {
    let t = m - 1;
    for (let i = n - 1; i >= 0; i--) {
      if (t >= 0 && i32[idx + t] === i) {
        t--;
        continue;
      }
      if (f64[x + i]! > 0) return i;
    }
    return -1;
  };
  return {
    sum_f64(xPtr, n) {
      views();
      const x = xPtr >> 3;
      let s = 0;
      for (let i = 0; i < n; i++) s += f64[x + i]!;
      return s;
    },
    sum_except_f64(xPtr, n, idxPtr, m) {
      views();
      const x = xPtr >> 3;
      const idx = idxPtr >> 2;
      let s = 0;
      let t = 0;
      for (let i = 0; i < n; i++) {
        if (t < m && i32[idx + t] === i) {
          t++;
          continue;
        }
        s += f64[x + i]!;
      }
      return s;
    },
    residual_f64(outPtr, rPtr, qPtr, n, c) {
      views();
      const o = outPtr >> 3;
      const r = rPtr >> 3;
      const q = qPtr >> 3;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const d = Math.max(f64[r + i]! - c * f64[q + i]!, 0);
        f64[o + i] = d;
        s += d;
      }
      return s;
    },
    residual_except_f64(outPtr, pPtr, qPtr, n, c, idxPtr, m) {
      views();
      const o = outPtr >> 3;
      const p = pPtr >> 3;
      const q = qPtr >> 3;
      const idx = idxPtr >> 2;
      let s = 0;
      let t = 0;
      for (let i = 0; i < n; i++) {
        let d = 0;
        if (t < m && i32[idx + t] === i) t++;
        else d = Math.max(f64[p + i]! - c * f64[q + i]!, 0);
        f64[o + i] = d;
        s += d;
      }
      return s;
    },
    overlap_f64(pPtr, qPtr, n, c) {
      views();
      const p = pPtr >> 3;
      const q = qPtr >> 3;
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.min(f64[q + i]!, c * f64[p + i]!);
      return s;
    },
    kseq_residual_f64(outPtr, pPtr, qPtr, n, invRho, c) {
      views();
      const o = outPtr >> 3;
      const p = pPtr >> 3;
      const q = qPtr >> 3;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const pi = f64[p + i]!;
        const d = Math.max(pi - c * Math.min(f64[q + i]!, invRho * pi), 0);
        f64[o + i] = d;
        s += d;
      }
      return s;
    },
    hub_masses_f64(outPtr, pPtr, qPtr, n, hub, w) {
      views();
      const p = pPtr >> 3;
      const q = qPtr >> 3;
      let r1 = 0;
      let r2 = 0;
      for (let i = 0; i < n; i++) {
        if (i === hub) continue;
        const pi = f64[p + i]!;
        const qi = f64[q + i]!;
        r1 += Math.max(qi - pi, 0);
        r2 += Math.max(w * qi - Math.max(pi - qi, 0), 0);
      }
      f64[outPtr >> 3] = r1;
      f64[(outPtr >> 3) + 1] = r2;
    },
    hub_residual_f64(outPtr, pPtr, qPtr, n, hub, w) {
      views();
      const o = outPtr >> 3;
      const p = pPtr >> 3;
      const q = qPtr >> 3;
      let s = 0;
      for (let i = 0; i < n; i++) {
        let d = 0;
        if (i !== hub) {
          const qi = f64[q + i]!;
          d = Math.max(Math.max(f64[p + i]! - qi, 0) - w * qi, 0);
        }
        f64[o + i] = d;
        s += d;
      }
      return s;
    },
    sample_f64(xPtr, n, target) {
      views();
      const x = xPtr >> 3;
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const v = f64[x + i]!;
        if (v > 0) {
          acc += v;
          if (acc > target) return i;
        }
      }
      return lastPositive(x, n, 0, 0);
    },
    sample_except_f64(xPtr, n, target, idxPtr, m) {
      views();
      const x = xPtr >> 3;
      const idx = idxPtr >> 2;
      let acc = 0;
      let t = 0;
      for (let i = 0; i < n; i++) {
        if (t < m && i32[idx + t] === i) {
          t++;
          continue;
        }
        const v = f64[x + i]!;
        if (v > 0) {
          acc += v;
          if (acc > target) return i;
        }
      }
      return lastPositive(x, n, idx, m);
    },
    argmax_f64(xPtr, n) {
      views();
      const x = xPtr >> 3;
      let best = 0;
      let m = f64[x]!;
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(f64[x + i]!)) return -1;
        if (f64[x + i]! > m) {
          m = f64[x + i]!;
          best = i;
        }
      }
      return best;
    },
    topk_f64(outPtr, xPtr, n, m) {
      views();
      const out = outPtr >> 2;
      const x = xPtr >> 3;
      let count = 0;
      let thr = 0;
      for (let i = 0; i < n && m > 0; i++) {
        const v = f64[x + i]!;
        if (!(v > thr)) continue;
        let pos = count < m ? count : m - 1;
        while (pos > 0 && f64[x + i32[out + pos - 1]!]! < v) {
          i32[out + pos] = i32[out + pos - 1]!;
          pos--;
        }
        i32[out + pos] = i;
        if (count < m) count++;
        if (count === m) thr = f64[x + i32[out + m - 1]!]!;
      }
      return count;
    },
  };
}
