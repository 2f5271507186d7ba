/** The read-bandwidth probe lives in the package (src/node/bandwidth.ts: `spechub bench` prints it too). */
export { measureBandwidth1, measureBandwidth2, readKernelBytes, validateReadKernel, type Bandwidth } from '../../src/node/bandwidth.js';

import type { Runtime } from '../../src/wasm/runtime.js';
import { median } from '../../src/util/stats.js';

/** Multiply-adds of one round of each probe (assembly/peak.ts: 12 chains × 8 i16 pairs, or × 16 byte pairs). */
const PEAK_MACS_PER_ITER = { i16: 96, i8: 192 } as const;

/** The measured integer-dot peak of one thread (see measureDotPeak). */
export interface DotPeak {
  /**
   * Billions of integer operations per second (2 per multiply-add): the best sample. A ceiling is what the
   * machine reaches at its best; on a shared host the other samples are that rate minus its neighbours.
   */
  readonly gops: number;
  /** The median sample, for comparison. */
  readonly medianGops: number;
  /** Every sample's GOP/s. */
  readonly samples: readonly number[];
  /** Rounds per sample (calibrated so one sample takes about 50 ms). */
  readonly iters: number;
}

/**
 * A physical ceiling of exact integer matmuls in 128-bit WASM SIMD on this machine, one thread, timed
 * `samples` times (about 50 ms each). GOP/s counts 2 operations per multiply-add, as the kernel benches do.
 *  - 'i16' (peak_dot_i16): independent i32x4.dot_i16x8_s + i32x4.add chains, nothing else: the op of the
 *    W8A8 kernels (Q8_0, Q6_K, Q3_K, Q2_K, IQ4 batches; every type in the plain build).
 *  - 'i8' (peak_dot_i8): independent i16x8.relaxed_dot_i8x16_i7x16_s + i16x8.add chains: the op of the
 *    relaxed build's 4/5-bit batch kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K). Pass a relaxed runtime.
 */
export function measureDotPeak(rt: Runtime, samples = 15, op: 'i16' | 'i8' = 'i16'): DotPeak {
  const k = rt.k;
  const run = (iters: number): number => (op === 'i16' ? k.peak_dot_i16(iters) : k.peak_dot_i8(iters));
  run(1 << 12); // compile and tier up
  let iters = 1 << 14;
  for (;;) {
    const t0 = performance.now();
    run(iters);
    if (performance.now() - t0 >= 50 || iters >= 1 << 30) break;
    iters *= 2;
  }
  const g: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    run(iters);
    const ms = performance.now() - t0;
    g.push((2 * PEAK_MACS_PER_ITER[op] * iters) / (ms * 1e6));
  }
  return { gops: Math.max(...g), medianGops: median(g), samples: g, iters };
}

/** GGML types whose prefill-sized batches (≥ 16 x rows) run on byte dots in the relaxed build (see measureDotPeak). */
const BYTE_DOT_TYPES: ReadonlySet<string> = new Set(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K']);

/** Which probe bounds a tensor type's prefill kernel in a build: 'i8', 'i16', or null (float types: not integer dots). */
export function prefillPeakOp(type: string, build: string): 'i8' | 'i16' | null {
  if (type === 'F32' || type === 'F16' || type === 'BF16') return null;
  return build.startsWith('relaxed') && BYTE_DOT_TYPES.has(type) ? 'i8' : 'i16';
}

/**
 * The compute ceiling of a prefill, tokens/s: `threads` threads, each at its op's measured peak, doing
 * 2 operations per weight a prompt token multiplies (`weightsByType`: the head left out, as neither
 * engine computes logits for the prompt rows). Null when a type has no integer-dot ceiling or a peak
 * it needs is missing.
 */
export function prefillCeiling(weightsByType: Readonly<Record<string, number>>, build: string, threads: number, peaks: { readonly i16: number | null; readonly i8: number | null }): number | null {
  let seconds = 0; // per token, one thread
  for (const [type, w] of Object.entries(weightsByType)) {
    const op = prefillPeakOp(type, build);
    const peak = op === null ? null : peaks[op];
    if (peak === null) return null;
    seconds += (2 * w) / (peak * 1e9);
  }
  return seconds > 0 ? threads / seconds : null;
}
