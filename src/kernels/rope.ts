/**
 * Rotary-embedding tables for `rope_f32` (Hugging Face rotate-half layout).
 *
 * cos[pos, j] = cos(pos·θ_j), sin[pos, j] = sin(pos·θ_j), θ_j = theta^(−2j/headDim), j < headDim/2,
 * each table [maxPos, headDim/2] f32. Angles and their cos/sin are computed in f64 and rounded once,
 * so they are more exact than Hugging Face's f32 `inv_freq·pos` (which loses ~1e-4 rad at pos 2048).
 *
 * Browser-safe.
 */
import { InvalidArgumentError } from '../errors.js';
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

/**
 * Fill cos and sin ([maxPos, headDim/2] each, row-major) for base `theta`.
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
  const half = headDim / 2;
  if (cos.length < maxPos * half || sin.length < maxPos * half) {
    throw new InvalidArgumentError(
      `rope: expected tables of >= ${maxPos * half} floats, got cos ${cos.length} and sin ${sin.length}`,
    );
  }
  const invFreq = new Float64Array(half);
  for (let j = 0; j < half; j++) invFreq[j] = Math.pow(theta, (-2 * j) / headDim);
  for (let pos = 0; pos < maxPos; pos++) {
    const row = pos * half;
    for (let j = 0; j < half; j++) {
      const angle = pos * invFreq[j];
      cos[row + j] = Math.cos(angle);
      sin[row + j] = Math.sin(angle);
    }
  }
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
