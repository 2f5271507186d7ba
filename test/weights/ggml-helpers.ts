// Shared data for the GGML codec tests: rows with the edge cases ggml's quantizers branch on, and
// random blocks whose f16 scales are kept finite.
import { createRng, type Rng } from '../../src/rng.js';
import { GGML_BLOCK, type GgmlQuantType } from '../../src/weights/ggml-quants.js';

/** A gaussian-ish value (sum of uniforms). */
function normal(rng: Rng): number {
  return rng.next() + rng.next() + rng.next() - 1.5;
}

/**
 * `blocks` blocks of `size` values: the first ones are the edge cases, the rest random at random
 * magnitudes (so K-quant super-blocks mix sub-blocks of very different scales).
 */
export function edgeCaseRows(seed: number, blocks: number, size: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(blocks * size);
  for (let b = 0; b < blocks; b++) {
    const o = b * size;
    const kind = b < 12 ? b : 12 + (rng.nextU32() % 4);
    for (let j = 0; j < size; j++) {
      const sub = Math.floor(j / 16);
      const mag = 10 ** (((sub * 7919 + b * 104729) % 9) - 4); // 1e-4 … 1e4 per 16 values
      switch (kind) {
        case 0: x[o + j] = 0; break; // all zero
        case 1: x[o + j] = 0.375; break; // constant
        case 2: x[o + j] = j === 5 ? -7.25 : 0; break; // one negative spike
        case 3: x[o + j] = j === size - 1 ? 1e4 : normal(rng) * 1e-3; break; // one large spike
        case 4: x[o + j] = -Math.abs(normal(rng)) - 0.5; break; // all negative: a negative min
        case 5: x[o + j] = Math.abs(normal(rng)) + 2; break; // all positive, offset
        case 6: x[o + j] = normal(rng) * 1e-40; break; // f32 subnormals
        case 7: x[o + j] = normal(rng) * 1e-6; break; // f16-subnormal scales
        case 8: x[o + j] = normal(rng) * 1e15; break; // huge
        case 9: x[o + j] = (j % 17) - 8; break; // integers: ties at every rounding step
        case 10: x[o + j] = sub % 2 === 0 ? 0 : normal(rng); break; // zero sub-blocks inside a super-block
        case 11: x[o + j] = normal(rng) * mag; break; // sub-blocks of wildly different scales
        default: x[o + j] = normal(rng) * (kind === 12 ? 1 : kind === 13 ? 0.02 : kind === 14 ? 30 : mag);
      }
    }
  }
  return x;
}

/** Offsets of the f16 scale fields in each block type. */
const HALF_FIELDS: Readonly<Record<GgmlQuantType, readonly number[]>> = {
  Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2],
  Q6_K: [208], IQ4_NL: [0], IQ4_XS: [0],
};

/** A copy of `raw` with every f16 scale field's exponent capped below Inf/NaN. */
export function sanitizeScales(type: GgmlQuantType, raw: Uint8Array, blocks: number): Uint8Array {
  const out = raw.slice();
  const bytes = GGML_BLOCK[type].bytes;
  for (let b = 0; b < blocks; b++) {
    for (const off of HALF_FIELDS[type]) {
      const at = b * bytes + off + 1;
      if ((out[at] & 0x7c) === 0x7c) out[at] &= 0xfb; // exponent 31 → 30
    }
  }
  return out;
}
