// spechub's GGML codecs (src/weights/ggml-quants.ts) against llama.cpp's own code, called through
// the test-time C helper (test/tools/ggml-oracle.ts):
//  - quantizeGgml = ggml_quantize_chunk (what llama.cpp's quantizer writes; the quantize_row_*_ref
//    functions for Q4_0 … Q6_K), byte for byte, for every type;
//  - dequantizeGgml = dequantize_row_*, bit for bit, on blocks ggml made and on arbitrary bytes;
// over random rows and the edge cases: all-zero blocks, constant blocks, single spikes, only-negative
// blocks (negative mins), tiny values (f32 subnormals, f16-subnormal scales) and huge ones (1e15).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GGML_BLOCK, GGML_QUANT_TYPES, dequantizeGgml, ggmlFp16ToFp32, ggmlFp32ToFp16, quantizeGgml } from '../../src/weights/ggml-quants.js';
import { ggmlChunkQuantize, ggmlDequantize, ggmlRefQuantize } from '../tools/ggml-oracle.js';
import { edgeCaseRows, sanitizeScales } from './ggml-helpers.js';
import { createRng } from '../../src/rng.js';

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Index of the first differing byte/word, or −1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('ggml-quants: spechub = llama.cpp, bit for bit', () => {
  test('f16 conversions are ggml\'s (round to nearest even; every f16 value round-trips)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = ggmlFp16ToFp32(h);
      if (Number.isNaN(v)) continue;
      assert.equal(ggmlFp32ToFp16(v), h, `f16 ${h.toString(16)}`);
    }
    assert.equal(ggmlFp32ToFp16(65520), 0x7c00); // rounds up to infinity
    assert.equal(ggmlFp32ToFp16(65519.99), 0x7bff);
    assert.equal(ggmlFp32ToFp16(2 ** -25), 0); // half the smallest subnormal: ties to even (0)
    assert.equal(ggmlFp32ToFp16(-(2 ** -25) * 1.5), 0x8001);
  });

  for (const type of GGML_QUANT_TYPES) {
    test(`${type}: quantizeGgml = ggml_quantize_chunk (what llama.cpp writes), dequantizeGgml = dequantize_row_${type.toLowerCase()}`, () => {
      const size = GGML_BLOCK[type].values;
      const blocks = size === 256 ? 160 : 320;
      const cols = size === 256 ? 1024 : 256;
      const x = edgeCaseRows(GGML_QUANT_TYPES.indexOf(type) + 1, blocks, size);
      const rows = x.length / cols;
      const ours = quantizeGgml(type, x, rows, cols);
      const theirs = ggmlChunkQuantize(type, x, rows, cols);
      const at = firstDiff(ours, theirs);
      assert.equal(at, -1, `${type}: first differing byte ${at} (block ${Math.floor(at / GGML_BLOCK[type].bytes)}): ours ${ours[at]}, ggml ${theirs[at]}`);
      const mine = new Float32Array(x.length);
      dequantizeGgml(type, theirs, mine);
      const want = ggmlDequantize(type, theirs, x.length);
      const d = firstDiff(bits(mine), bits(want));
      assert.equal(d, -1, `${type}: dequantised value ${d} differs: ours ${mine[d]}, ggml ${want[d]}`);
    });
  }

  test('quantize_row_*_ref and the model-file path agree where ggml says they do (all but IQ4_NL / IQ4_XS)', () => {
    for (const type of GGML_QUANT_TYPES) {
      if (type === 'IQ4_NL' || type === 'IQ4_XS') continue;
      const size = GGML_BLOCK[type].values;
      const x = edgeCaseRows(100 + GGML_QUANT_TYPES.indexOf(type), size === 256 ? 16 : 64, size);
      assert.deepEqual(ggmlRefQuantize(type, x), quantizeGgml(type, x, 1, x.length), type);
    }
  });

  test('dequantizeGgml = dequantize_row_* on arbitrary bytes (every bit pattern of scales and quants)', () => {
    const rng = createRng(7);
    for (const type of GGML_QUANT_TYPES) {
      const { values, bytes } = GGML_BLOCK[type];
      const n = 64;
      const raw = new Uint8Array(n * bytes);
      for (let i = 0; i < raw.length; i++) raw[i] = rng.nextU32() & 0xff;
      // keep the f16 scales finite (Inf/NaN scales make NaN weights, which loading refuses)
      const mine = new Float32Array(n * values);
      const sane = sanitizeScales(type, raw, n);
      dequantizeGgml(type, sane, mine);
      const want = ggmlDequantize(type, sane, n * values);
      const d = firstDiff(bits(mine), bits(want));
      assert.equal(d, -1, `${type}: value ${d}: ours ${mine[d]}, ggml ${want[d]}`);
    }
  });
});
