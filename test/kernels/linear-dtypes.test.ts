// The TS side of the weight dtypes: sizes, packLinear (in place and staged), prepareLinearInput,
// LinearInputs (reserve / prepare / inputFor with its typed errors) and SerialExecutor.linear, which
// must equal runLinear over prepared input, with or without a shared prepared handle.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool, createRng, uniform } from './harness.js';
import {
  LINEAR_DTYPES, QUANT_LINEAR_DTYPES, fallbackType, isSuperBlockType, linearInputBytes, linearInputKind, packLinear, packedBytes, panelBytes, panelCount,
  prepareLinearInput, resolveWeightType, runLinear, type LinearDtype,
} from '../../src/kernels/linear.js';
import { LinearInputs } from '../../src/kernels/linear-input.js';
import { SerialExecutor } from '../../src/exec/executor.js';
import { CapacityError, InvalidArgumentError } from '../../src/errors.js';

describe('kernels/linear dtypes (TS API)', () => {
  test('packedBytes / panelBytes per type; prepared-input bytes; the weight-type alias table', () => {
    assert.equal(panelBytes('F32', 576), 576 * 16);
    assert.equal(panelBytes('BF16', 576), 576 * 8);
    assert.equal(panelBytes('F16', 576), 576 * 8);
    assert.equal(panelBytes('Q8_0', 576), 18 * 136);
    assert.equal(panelBytes('Q4_0', 576), 18 * 72);
    assert.equal(packedBytes('BF16', 5, 9), 2 * 2 * 64);
    assert.equal(packedBytes('Q8_0', 5, 33), 2 * 2 * 136);
    assert.equal(packedBytes('Q4_0', 1, 1), 72);
    assert.equal(packedBytes('Q4_K', 5, 512), 2 * 2 * 592);
    // bytes per weight: the file's for every type but the unpacked 6-bit scale codes of Q3_K, Q4_K, Q5_K, IQ4_XS
    const bpw: Record<string, number> = {
      F32: 4, BF16: 2, F16: 2, Q8_0: 34 / 32, Q4_0: 18 / 32, Q4_1: 20 / 32, Q5_0: 22 / 32, Q5_1: 24 / 32, IQ4_NL: 18 / 32,
      Q2_K: 84 / 256, Q3_K: 114 / 256, Q4_K: 148 / 256, Q5_K: 180 / 256, Q6_K: 210 / 256, IQ4_XS: 138 / 256,
    };
    for (const dt of LINEAR_DTYPES) assert.equal(packedBytes(dt, 512, 512) / (512 * 512), bpw[dt], dt);
    assert.throws(() => packedBytes('Q7_0' as LinearDtype, 4, 4), /packedBytes: expected a dtype in F32, BF16, F16, Q8_0, .*, got "Q7_0"/);
    assert.throws(() => panelBytes('Q8_0', 0), InvalidArgumentError);
    assert.equal(linearInputBytes('BF16', 3, 33), 0);
    const k = new Pool('simd', 1 << 16).k;
    assert.equal(linearInputBytes('Q8_0', 3, 33), 3 * k.qx_row_bytes(33));
    // 9 rows: the records, then sections T and T16: 2 blocks of 4 rows × 2 groups of 192 + 272 bytes
    assert.equal(linearInputBytes('Q8_0', 9, 33), 9 * k.qx_row_bytes(33) + 2 * 2 * (192 + 272));
    assert.equal(linearInputBytes('Q8_0', 9, 33), k.qx_bytes(9, 33));
    assert.deepEqual(LINEAR_DTYPES.map(linearInputKind), ['f32', 'f32', 'f32', ...QUANT_LINEAR_DTYPES.map(() => 'qx')]);
    // aliases: the user-facing names and GGML names resolve, anything else is a typed error naming the choices
    assert.equal(resolveWeightType('t', 'int8'), 'Q8_0');
    assert.equal(resolveWeightType('t', 'int4'), 'Q4_0');
    assert.equal(resolveWeightType('t', 'q4_k'), 'Q4_K');
    assert.equal(resolveWeightType('t', 'Q6_K'), 'Q6_K');
    assert.equal(resolveWeightType('t', 'BF16'), 'BF16');
    assert.throws(() => resolveWeightType('t', 'int3'), /t: expected a weight type \(auto, f32, bf16, f16, int8, int4, q8_0, .*\), got "int3"/);
    assert.throws(() => resolveWeightType('t', 'constructor'), InvalidArgumentError);
    // llama.cpp's fallback for 256-column types on other column counts
    assert.deepEqual(['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_XS', 'Q4_0'].map((t) => fallbackType(t as LinearDtype, 896)), ['Q4_0', 'Q4_0', 'Q5_0', 'Q5_1', 'Q8_0', 'IQ4_NL', 'Q4_0']);
    assert.equal(fallbackType('Q4_K', 1024), 'Q4_K');
  });

  test('packLinear: an outside array staged a few panels at a time gives the bytes of an in-memory pack, every dtype', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINEAR_DTYPES), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (dtype, rows, c, stagePanels, seed) => {
        const cols = isSuperBlockType(dtype) ? 256 * (1 + (c % 2)) : c;
        const pool = new Pool('simd', 2 << 20);
        const w = uniform(createRng(seed), rows * cols);
        const inside = pool.f32From(w);
        const direct = packLinear(pool.rt, 'direct', dtype, pool.f32(inside), rows, cols);
        const staging = pool.rt.arena.alloc('staging', stagePanels * 16 * cols);
        const staged = packLinear(pool.rt, 'staged', dtype, w, rows, cols, staging);
        assert.deepEqual({ rows: staged.rows, cols: staged.cols, bytes: staged.bytes, dtype: staged.dtype }, { rows, cols, bytes: packedBytes(dtype, rows, cols), dtype });
        assert.equal(direct.ptr % 64, 0);
        assert.deepEqual(new Uint8Array(pool.rt.memory.buffer, staged.ptr, staged.bytes), new Uint8Array(pool.rt.memory.buffer, direct.ptr, direct.bytes));
      }),
      { numRuns: 50 },
    );
  });

  test('SerialExecutor.linear = runLinear over prepareLinearInput, with or without a shared prepared handle, every dtype', () => {
    const pool = new Pool('simd', 4 << 20);
    const exec = new SerialExecutor(pool.rt);
    exec.reserveLinearInput(9, 256);
    const rng = createRng(4);
    const n = 9;
    for (const dtype of LINEAR_DTYPES) {
      const cols = isSuperBlockType(dtype) ? 256 : 100;
      const x = pool.f32From(uniform(rng, n * cols));
      const scratch = pool.alloc(linearInputBytes('Q8_0', n, cols));
      const lins = [37, 8].map((rows) => packLinear(pool.rt, `${dtype}.${rows}`, dtype, uniform(rng, rows * cols), rows, cols, pool.rt.arena.alloc('s', 16 * cols)));
      const handle = exec.prepareInput(x.ptr, n, cols);
      for (const lin of lins) {
        const want = pool.alloc(n * lin.rows * 4);
        const inPtr = prepareLinearInput(pool.k, dtype, x.ptr, n, cols, scratch.ptr);
        assert.equal(inPtr === x.ptr, linearInputKind(dtype) === 'f32');
        runLinear(pool.k, lin, want.ptr, lin.rows, inPtr, n, 0, panelCount(lin));
        for (const prepared of [0, handle]) {
          const got = pool.alloc(n * lin.rows * 4);
          exec.linear(lin, got.ptr, lin.rows, x.ptr, n, prepared);
          assert.deepEqual(pool.u32(got), pool.u32(want), `${dtype} rows ${lin.rows} prepared ${prepared}`);
        }
      }
    }
    pool.checkGuards();
  });

  test('LinearInputs: capacity and prepared-handle mismatches are typed errors; f32/bf16 never need scratch', () => {
    const pool = new Pool('simd', 1 << 20);
    const inputs = new LinearInputs(pool.rt, 'exec.in');
    const w = pool.f32(pool.f32From(uniform(createRng(1), 8 * 64)));
    const q8 = packLinear(pool.rt, 'q8', 'Q8_0', w, 8, 64);
    const bf = packLinear(pool.rt, 'bf', 'BF16', w, 8, 64);
    const x = pool.f32From(uniform(createRng(2), 4 * 64));
    assert.equal(inputs.inputFor(bf, x.ptr, 4), x.ptr, 'bf16 reads x itself, no reservation needed');
    const row = pool.k.qx_row_bytes(64);
    const k4 = pool.k.qx_bytes(4, 64); // 4 records and one block of sections T and T16
    assert.equal(k4, 4 * row + 2 * (192 + 272));
    assert.throws(() => inputs.inputFor(q8, x.ptr, 4), (e: unknown) => e instanceof CapacityError && new RegExp(`exec\\.in: expected an input within the reserved 0 bytes \\(reserveLinearInput\\), got 4 rows × 64 columns = ${k4} bytes`).test(e.message));
    inputs.reserve(2, 64);
    assert.equal(inputs.reservedBytes, 2 * row);
    assert.throws(() => inputs.prepare(x.ptr, 3, 64), CapacityError);
    inputs.reserve(4, 64);
    const h = inputs.prepare(x.ptr, 2, 64);
    assert.equal(inputs.inputFor(q8, x.ptr, 2, h), h);
    assert.throws(() => inputs.inputFor(q8, x.ptr, 3, h), /exec\.in: the prepared input does not match this call: expected the handle of prepare\(x, 3, 64\), got one for 2 rows of 64/);
    assert.throws(() => inputs.inputFor(q8, x.ptr, 2, h + 64), /got handle/);
    assert.notEqual(inputs.inputFor(q8, x.ptr, 2), h, 'an unprepared call uses its own scratch, leaving the shared one intact');
    assert.throws(() => inputs.reserve(0, 4), InvalidArgumentError);
  });
});
