// The TS side of the weight dtypes: sizes, packLinear (in place and staged), prepareLinearInput,
// LinearInputs (reserve / prepare / inputFor with its typed errors) and SerialExecutor.linear, which
// must equal runLinear over prepared input, with or without a shared prepared handle.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool, createRng, uniform } from './harness.js';
import {
  LINEAR_DTYPES, linearInputBytes, linearInputKind, packLinear, packedBytes, panelBytes, panelCount, prepareLinearInput, runLinear,
  type LinearDtype,
} from '../../src/kernels/linear.js';
import { LinearInputs } from '../../src/kernels/linear-input.js';
import { SerialExecutor } from '../../src/model/executor.js';
import { CapacityError, InvalidArgumentError } from '../../src/errors.js';

describe('kernels/linear dtypes (TS API)', () => {
  test('packedBytes / panelBytes per dtype (f32 64·⌈c/4⌉, bf16 64·⌈c/8⌉, q8 136·⌈c/32⌉, q4 72·⌈c/32⌉ per 4 rows)', () => {
    assert.equal(panelBytes('f32', 576), 576 * 16);
    assert.equal(panelBytes('bf16', 576), 576 * 8);
    assert.equal(panelBytes('q8', 576), 18 * 136);
    assert.equal(panelBytes('q4', 576), 18 * 72);
    assert.equal(packedBytes('bf16', 5, 9), 2 * 2 * 64);
    assert.equal(packedBytes('q8', 5, 33), 2 * 2 * 136);
    assert.equal(packedBytes('q4', 1, 1), 72);
    // bytes per weight at SmolLM's 576 columns: 4, 2, 1.0625 (= q8_0), 0.5625
    for (const [dt, bpw] of [['f32', 4], ['bf16', 2], ['q8', 1.0625], ['q4', 0.5625]] as const) assert.equal(packedBytes(dt, 576, 576) / (576 * 576), bpw);
    assert.throws(() => packedBytes('q5' as LinearDtype, 4, 4), /packedBytes: expected a dtype in f32, bf16, q8, q4, got "q5"/);
    assert.throws(() => panelBytes('q8', 0), InvalidArgumentError);
    assert.equal(linearInputBytes('q8', 3, 33), 3 * 2 * 68);
    assert.equal(linearInputBytes('bf16', 3, 33), 0);
    assert.deepEqual(LINEAR_DTYPES.map(linearInputKind), ['f32', 'f32', 'q8x', 'q8x']);
  });

  test('packLinear: an outside array staged a few panels at a time gives the bytes of an in-memory pack, every dtype', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINEAR_DTYPES), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (dtype, rows, cols, stagePanels, seed) => {
        const pool = new Pool('simd', 1 << 20);
        const w = uniform(createRng(seed), rows * cols);
        const inside = pool.f32From(w);
        const direct = packLinear(pool.rt, 'direct', dtype, pool.f32(inside), rows, cols);
        const staging = pool.rt.arena.alloc('staging', stagePanels * 16 * cols);
        const staged = packLinear(pool.rt, 'staged', dtype, w, rows, cols, staging);
        assert.deepEqual({ rows: staged.rows, cols: staged.cols, bytes: staged.bytes, dtype: staged.dtype }, { rows, cols, bytes: packedBytes(dtype, rows, cols), dtype });
        assert.equal(direct.ptr % 64, 0);
        assert.deepEqual(new Uint8Array(pool.rt.memory.buffer, staged.ptr, staged.bytes), new Uint8Array(pool.rt.memory.buffer, direct.ptr, direct.bytes));
      }),
      { numRuns: 40 },
    );
  });

  test('SerialExecutor.linear = runLinear over prepareLinearInput, with or without a shared prepared handle, every dtype', () => {
    const pool = new Pool('simd', 4 << 20);
    const exec = new SerialExecutor(pool.rt);
    exec.reserveLinearInput(9, 100);
    const rng = createRng(4);
    const cols = 100, n = 9;
    const x = pool.f32From(uniform(rng, n * cols));
    const scratch = pool.alloc(linearInputBytes('q8', n, cols));
    for (const dtype of LINEAR_DTYPES) {
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
    const q8 = packLinear(pool.rt, 'q8', 'q8', w, 8, 64);
    const bf = packLinear(pool.rt, 'bf', 'bf16', w, 8, 64);
    const x = pool.f32From(uniform(createRng(2), 4 * 64));
    assert.equal(inputs.inputFor(bf, x.ptr, 4), x.ptr, 'bf16 reads x itself, no reservation needed');
    assert.throws(() => inputs.inputFor(q8, x.ptr, 4), (e: unknown) => e instanceof CapacityError && /exec\.in: expected an input within the reserved 0 bytes \(reserveLinearInput\), got 4 rows × 64 columns = 544 bytes/.test(e.message));
    inputs.reserve(2, 64);
    assert.equal(inputs.reservedBytes, 2 * 2 * 68);
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
