// PackedRows: rows of a packed matrix read back as f32, for the token-embedding lookup of a model whose
// embedding is packed in its weight type. Checked against the independent plain-TS decoders of the
// packed layouts (test/kernels/quant-oracle.ts), every dtype, every row, shapes with partial panels and
// partial groups; and the lookup writes exactly cols values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool, createRng, uniform } from './harness.js';
import { LINEAR_DTYPES, PackedRows, packLinear } from '../../src/kernels/linear.js';
import { decodeBf16, decodeQ4, decodeQ8, dequantize } from './quant-oracle.js';

test('PackedRows.read = the oracle decoding of the packed bytes, every dtype and row (partial panels and groups)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...LINEAR_DTYPES), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 100 }), fc.integer(), (dtype, rows, cols, seed) => {
      const pool = new Pool('simd', 1 << 20);
      const w = uniform(createRng(seed), rows * cols);
      const lin = packLinear(pool.rt, 'w', dtype, pool.f32(pool.f32From(w)), rows, cols);
      const bytes = new Uint8Array(pool.rt.memory.buffer, lin.ptr, lin.bytes).slice();
      const want =
        dtype === 'f32' ? w
        : dtype === 'bf16' ? decodeBf16(bytes, rows, cols)
        : Float32Array.from(dequantize(dtype === 'q8' ? decodeQ8(bytes, rows, cols) : decodeQ4(bytes, rows, cols), rows, cols));
      const reader = new PackedRows(pool.rt);
      const out = pool.alloc((cols + 1) * 4);
      for (let r = 0; r < rows; r++) {
        const view = pool.rt.f32(out.ptr, cols + 1);
        view[cols] = 12345; // the value past the row stays
        reader.read(lin, r, out.ptr);
        assert.deepEqual(pool.rt.f32(out.ptr, cols), want.subarray(r * cols, (r + 1) * cols), `${dtype} ${rows}×${cols} row ${r}`);
        assert.equal(pool.rt.f32(out.ptr, cols + 1)[cols], 12345);
      }
    }),
    { numRuns: 200, seed: 41 },
  );
});
