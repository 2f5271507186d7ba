/**
 * The verifier kernels (ProbKernels) in plain TypeScript over the same WebAssembly memory: the
 * "plain TypeScript version of the same method" that bench/verify.bench.ts times against WASM,
 * and a third implementation the kernel tests compare. Same signatures (byte pointers, counts),
 * same per-element operation order as assembly/verify.ts and assembly/sampling.ts. It lives with
 * the benches (the kernel tests import it from here) because nothing in the library runs it.
 */
import type { ProbKernels } from '../../src/wasm/kernels.js';

/** max(x, 0) for NaN-free x (a compare: faster in V8 than Math.max, same value for ±0). */
const pos = (x: number): number => (x > 0 ? x : 0);

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
    residual_f64(outPtr, rPtr, qPtr, n, c, qScale) {
      views();
      const o = outPtr >> 3;
      const r = rPtr >> 3;
      const q = qPtr >> 3;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const d = pos(f64[r + i]! - c * (f64[q + i]! * qScale));
        f64[o + i] = d;
        s += d;
      }
      return s;
    },
    residual_except_f64(outPtr, pPtr, qPtr, n, c, qScale, idxPtr, m) {
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
        else d = pos(f64[p + i]! - c * (f64[q + i]! * qScale));
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
      for (let i = 0; i < n; i++) {
        const a = f64[q + i]!;
        const b = c * f64[p + i]!;
        s += b < a ? b : a;
      }
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
        const qi = f64[q + i]!;
        const rp = invRho * pi;
        const d = pos(pi - c * (rp < qi ? rp : qi));
        f64[o + i] = d;
        s += d;
      }
      return s;
    },
    hub_pass_f64(resPtr, outPtr, pPtr, qPtr, n, hub, w, qScale) {
      views();
      const o = resPtr >> 3;
      const p = pPtr >> 3;
      const q = qPtr >> 3;
      let r1 = 0;
      let r2 = 0;
      let s = 0;
      for (let i = 0; i < n; i++) {
        let d = 0;
        if (i !== hub) {
          const pi = f64[p + i]!;
          const qi = f64[q + i]!;
          const wq = w * (qi * qScale);
          const p1 = pos(pi - qi);
          d = pos(p1 - wq);
          r1 += pos(qi - pi);
          r2 += pos(wq - p1);
        }
        f64[o + i] = d;
        s += d;
      }
      f64[outPtr >> 3] = r1;
      f64[(outPtr >> 3) + 1] = r2;
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
    topk_f64(outPtr, restPtr, xPtr, n, m) {
      views();
      const out = outPtr >> 2;
      const x = xPtr >> 3;
      let count = 0;
      let thr = 0;
      let rest = 0;
      for (let i = 0; i < n; i++) {
        const v = f64[x + i]!;
        if (!(m > 0 && v > thr)) {
          rest += v;
          continue;
        }
        if (count === m) rest += f64[x + i32[out + m - 1]!]!; // evicted
        let pos = count < m ? count : m - 1;
        while (pos > 0 && f64[x + i32[out + pos - 1]!]! < v) {
          i32[out + pos] = i32[out + pos - 1]!;
          pos--;
        }
        i32[out + pos] = i;
        if (count < m) count++;
        if (count === m) thr = f64[x + i32[out + m - 1]!]!;
      }
      f64[restPtr >> 3] = rest;
      return count;
    },
  };
}
