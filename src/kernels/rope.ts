/**
 * Rotary-embedding tables for `rope_f32` (Hugging Face rotate-half layout).
 *
 * cos[pos, j] = a·cos(pos·θ_j), sin[pos, j] = a·sin(pos·θ_j), j < headDim/2, each table [maxPos, headDim/2]
 * f32, with θ_j = theta^(−2j/headDim) (a = 1) or the scaled frequencies of a RopeScaling (ropeFrequencies:
 * linear, llama3, yarn with its attention factor a, or per-frequency divisors). Angles and their cos/sin
 * are computed in f64 and rounded once, so they are more exact than Hugging Face's f32 `inv_freq·pos`
 * (which loses ~1e-4 rad at pos 2048) and llama.cpp's f32 powers.
 *
 * Browser-safe.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RopeScaling } from '../config.js';
import type { Runtime } from '../wasm/runtime.js';

/** cos/sin tables in the runtime memory. */
export interface RopeTables {
  /** Byte address of cos [maxPos, headDim/2]. */
  readonly cosPtr: number;
  /** Byte address of sin [maxPos, headDim/2]. */
  readonly sinPtr: number;
  readonly headDim: number;
  /** Positions 0..maxPos−1 are covered. */
  readonly maxPos: number;
  /** Bytes of both tables together. */
  readonly bytes: number;
}

function check(theta: number, headDim: number, maxPos: number): void {
  if (!(Number.isFinite(theta) && theta > 0)) {
    throw new InvalidArgumentError(`rope: expected theta to be a finite number > 0, got ${theta}`);
  }
  if (!Number.isSafeInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new InvalidArgumentError(`rope: expected headDim to be an even integer >= 2, got ${headDim}`);
  }
  if (!Number.isSafeInteger(maxPos) || maxPos < 1) {
    throw new InvalidArgumentError(`rope: expected maxPos to be an integer >= 1, got ${maxPos}`);
  }
}

/** Bytes of both tables for (headDim, maxPos): 2 · maxPos · headDim/2 · 4. */
export function ropeTableBytes(headDim: number, maxPos: number): number {
  check(1, headDim, maxPos);
  return 2 * maxPos * (headDim / 2) * 4;
}

/** RoPE frequencies f_j [headDim/2] (f64) and the factor `attention` multiplying cos and sin. */
export interface RopeFrequencies {
  readonly inv: Float64Array;
  readonly attention: number;
}

/**
 * The rotation frequencies for base `theta` and an optional scaling (see RopeScaling in src/config.ts
 * for the formulas, those of transformers' modeling_rope_utils and llama.cpp's ggml_rope_yarn):
 * `freqFactors` [headDim/2] are the divisors of a "frequencyFactors" scaling (GGUF rope_freqs.weight).
 */
export function ropeFrequencies(theta: number, headDim: number, scaling?: RopeScaling, freqFactors?: ArrayLike<number>): RopeFrequencies {
  check(theta, headDim, 1);
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = Math.pow(theta, (-2 * j) / headDim);
  let attention = 1;
  switch (scaling?.type) {
    case undefined:
      break;
    case 'linear':
      for (let j = 0; j < half; j++) inv[j] = inv[j]! / scaling.factor;
      break;
    case 'llama3': {
      const L = scaling.originalMaxPositions;
      const lowWavelen = L / scaling.lowFreqFactor;
      const highWavelen = L / scaling.highFreqFactor;
      for (let j = 0; j < half; j++) {
        const f = inv[j]!;
        const wavelen = (2 * Math.PI) / f;
        if (wavelen > lowWavelen) inv[j] = f / scaling.factor;
        else if (wavelen >= highWavelen) {
          const s = (L / wavelen - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor);
          inv[j] = ((1 - s) * f) / scaling.factor + s * f;
        }
      }
      break;
    }
    case 'yarn': {
      const L = scaling.originalMaxPositions;
      const corr = (rotations: number) => (headDim * Math.log(L / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
      const lo = Math.max(Math.floor(corr(scaling.betaFast)), 0);
      let hi = Math.min(Math.ceil(corr(scaling.betaSlow)), headDim - 1);
      if (hi === lo) hi += 0.001;
      for (let j = 0; j < half; j++) {
        const extrapolation = 1 - Math.min(1, Math.max(0, (j - lo) / (hi - lo)));
        inv[j] = (inv[j]! / scaling.factor) * (1 - extrapolation) + inv[j]! * extrapolation;
      }
      attention = scaling.attentionFactor ?? (scaling.factor <= 1 ? 1 : 0.1 * Math.log(scaling.factor) + 1);
      break;
    }
    case 'frequencyFactors':
      if (freqFactors === undefined || freqFactors.length !== half) {
        throw new InvalidArgumentError(`rope: expected ${half} frequency factors, got ${freqFactors === undefined ? 'none' : freqFactors.length}`);
      }
      for (let j = 0; j < half; j++) {
        const d = freqFactors[j]!;
        if (!(Number.isFinite(d) && d > 0)) throw new InvalidArgumentError(`rope: frequency factor ${j}: expected a positive finite number, got ${d}`);
        inv[j] = inv[j]! / d;
      }
      break;
  }
  return { inv, attention };
}

/**
 * Fill cos and sin ([maxPos, headDim/2] each, row-major) from frequencies: cos[pos, j] = a·cos(pos·f_j).
 * Angles are formed in f64.
 */
export function fillRopeTablesFrom(
  cos: Float32Array, // [maxPos, headDim/2]
  sin: Float32Array, // [maxPos, headDim/2]
  freqs: RopeFrequencies,
  maxPos: number,
): void {
  const half = freqs.inv.length;
  check(1, 2 * half, maxPos);
  if (cos.length < maxPos * half || sin.length < maxPos * half) {
    throw new InvalidArgumentError(
      `rope: expected tables of >= ${maxPos * half} floats, got cos ${cos.length} and sin ${sin.length}`,
    );
  }
  const a = freqs.attention;
  for (let pos = 0; pos < maxPos; pos++) {
    const row = pos * half;
    for (let j = 0; j < half; j++) {
      const angle = pos * freqs.inv[j]!;
      cos[row + j] = a * Math.cos(angle);
      sin[row + j] = a * Math.sin(angle);
    }
  }
}

/**
 * Fill cos and sin ([maxPos, headDim/2] each, row-major) for base `theta`, no scaling.
 * Angles pos·theta^(−2j/headDim) are formed in f64.
 */
export function fillRopeTables(
  cos: Float32Array, // [maxPos, headDim/2]
  sin: Float32Array, // [maxPos, headDim/2]
  theta: number,
  headDim: number,
  maxPos: number,
): void {
  check(theta, headDim, maxPos);
  fillRopeTablesFrom(cos, sin, ropeFrequencies(theta, headDim), maxPos);
}

/** Allocate `name` in the runtime's arena (cos then sin) and fill it. Load time only: this allocates. */
export function createRopeTables(rt: Runtime, name: string, theta: number, headDim: number, maxPos: number): RopeTables {
  const bytes = ropeTableBytes(headDim, maxPos);
  check(theta, headDim, maxPos);
  const region = rt.arena.alloc(name, bytes, 64);
  const count = maxPos * (headDim / 2);
  const cosPtr = region.ptr;
  const sinPtr = region.ptr + count * 4;
  fillRopeTables(rt.f32(cosPtr, count), rt.f32(sinPtr, count), theta, headDim, maxPos);
  return { cosPtr, sinPtr, headDim, maxPos, bytes };
}
