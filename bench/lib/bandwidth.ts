/** The read-bandwidth probe lives in the package (src/node/bandwidth.ts: `spechub bench` prints it too). */
export { measureBandwidth1, measureBandwidth2, readKernelBytes, validateReadKernel, type Bandwidth } from '../../src/node/bandwidth.js';

import type { Runtime } from '../../src/wasm/runtime.js';
import { median } from '../../src/util/stats.js';

/** Multiply-adds of one round of peak_dot_i16 (assembly/peak.ts: 12 chains × 8 lanes of i16 pairs). */
const PEAK_DOT_MACS_PER_ITER = 96;

/** The measured integer-dot peak of one thread (see measureDotPeak). */
export interface DotPeak {
  /** Billions of integer operations per second (2 per multiply-add), median of the samples. */
  readonly gops: number;
  /** Every sample's GOP/s. */
  readonly samples: readonly number[];
  /** Rounds per sample (calibrated so one sample takes about 50 ms). */
  readonly iters: number;
}

/**
 * The physical ceiling of exact W8A8 matmuls in 128-bit WASM SIMD on this machine, one thread: the
 * runtime's peak_dot_i16 kernel (independent i32x4.dot_i16x8_s + i32x4.add chains, nothing else) timed
 * `samples` times. GOP/s counts 2 operations per multiply-add, as the kernel benches do.
 */
export function measureDotPeak(rt: Runtime, samples = 7): DotPeak {
  const k = rt.k;
  k.peak_dot_i16(1 << 12); // compile and tier up
  let iters = 1 << 14;
  for (;;) {
    const t0 = performance.now();
    k.peak_dot_i16(iters);
    if (performance.now() - t0 >= 50 || iters >= 1 << 30) break;
    iters *= 2;
  }
  const g: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    k.peak_dot_i16(iters);
    const ms = performance.now() - t0;
    g.push((2 * PEAK_DOT_MACS_PER_ITER * iters) / (ms * 1e6));
  }
  return { gops: median(g), samples: g, iters };
}
