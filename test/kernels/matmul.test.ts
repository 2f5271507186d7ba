// matmul_f32 / matmul_f32_ref / pack_f32 and the TS packing helpers (src/kernels/linear.ts).
//
// Oracle: a row-major f64 loop written here (no packing), so the packed layout itself is checked.
// Tolerance per output: |got − exact| ≤ (cols + 4)·u·Σ_c |x_c·W_rc| (u = 2^-24), a rigorous bound
// for any summation order of cols products with ≤ cols/4 + 4 roundings on each path (fused or not);
// SIMD vs _ref: twice that. With small-integer inputs every partial sum is exact, so all must be equal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, Pool, U, assertWithin, createRng, ints, poolCache, uniform, wide } from './harness.js';
import { PANEL_ROWS, packLinearF32, packedBytesF32, panelBytesF32 } from '../../src/kernels/linear.js';
import { CapacityError, InvalidArgumentError, ShapeError } from '../../src/errors.js';

/** out[i, r] = Σ_c x[i, c]·w[r, c] in f64, and the magnitude Σ_c |x[i, c]·w[r, c]|. */
function matmulF64(x: Float32Array, w: Float32Array, n: number, rows: number, cols: number) {
  const want = new Float64Array(n * rows);
  const mag = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      let m = 0;
      for (let c = 0; c < cols; c++) {
        const p = x[i * cols + c] * w[r * cols + c];
        s += p;
        m += Math.abs(p);
      }
      want[i * rows + r] = s;
      mag[i * rows + r] = m;
    }
  }
  return { want, mag };
}

interface Case {
  n: number;
  rows: number;
  cols: number;
  extraStride: number;
  misalign: number;
  values: 'uniform' | 'wide' | 'ints';
  seed: number;
}

const nArb = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 10, max: 70 }));
const caseArb = (values: fc.Arbitrary<Case['values']>): fc.Arbitrary<Case> =>
  fc.record({
    n: nArb,
    rows: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 150 })),
    cols: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 300 })),
    extraStride: fc.integer({ min: 0, max: 5 }),
    misalign: fc.constantFrom(0, 4, 8, 12),
    values,
    seed: fc.integer(),
  });

/** Packs W through pack_f32, runs `kernel` into an out buffer [n, outStride] full of poison, returns the rows < rows part. */
function runMatmul(pool: Pool, c: Case, w: Float32Array, x: Float32Array, kernel: 'matmul_f32' | 'matmul_f32_ref') {
  const { n, rows, cols } = c;
  const outStride = rows + c.extraStride;
  const src = pool.f32From(w);
  const packed = pool.alloc(packedBytesF32(rows, cols));
  pool.k.pack_f32(packed.ptr, src.ptr, rows, cols);
  const xb = pool.f32From(x, c.misalign);
  const out = pool.alloc(n * outStride * 4, c.misalign);
  pool.k[kernel](out.ptr, outStride, packed.ptr, xb.ptr, n, rows, cols);
  const bits = pool.u32(out);
  const vals = pool.f32(out);
  const got = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) got[i * rows + r] = vals[i * outStride + r];
    for (let r = rows; r < outStride; r++) {
      assert.equal(bits[i * outStride + r], POISON_BITS, `${kernel} wrote out[${i}, ${r}] beyond rows ${rows}`);
    }
  }
  pool.checkGuards();
  return got;
}

function inputs(c: Case) {
  const rng = createRng(c.seed);
  const gen = (count: number) => (c.values === 'ints' ? ints(rng, count, 8) : c.values === 'wide' ? wide(rng, count) : uniform(rng, count));
  return { w: gen(c.rows * c.cols), x: gen(c.n * c.cols) };
}

const poolOf = poolCache();

describe('kernels/matmul', () => {
  for (const build of BUILDS) {
    test(`${build}: matmul_f32 and matmul_f32_ref match a row-major f64 loop (tails, n = 1..70, strides, misalignment)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb(fc.constantFrom('uniform', 'wide')), (c) => {
          pool.reset();
          const { w, x } = inputs(c);
          const { want, mag } = matmulF64(x, w, c.n, c.rows, c.cols);
          const tol = mag.map((m) => (c.cols + 4) * U * m * 1.0001);
          const simd = runMatmul(pool, c, w, x, 'matmul_f32');
          const ref = runMatmul(pool, c, w, x, 'matmul_f32_ref');
          assertWithin(simd, want, tol, `${build} matmul_f32 ${JSON.stringify(c)}`);
          assertWithin(ref, want, tol, `${build} matmul_f32_ref ${JSON.stringify(c)}`);
          assertWithin(simd, ref, tol.map((t) => 2 * t), `${build} matmul_f32 vs _ref`);
        }),
        { numRuns: build === 'simd' ? 400 : 150 },
      );
    });

    test(`${build}: with small-integer inputs matmul_f32 and _ref are exact`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb(fc.constant('ints')), (c) => {
          pool.reset();
          const { w, x } = inputs(c);
          const { want } = matmulF64(x, w, c.n, c.rows, c.cols);
          assert.deepEqual(runMatmul(pool, c, w, x, 'matmul_f32'), want);
          assert.deepEqual(runMatmul(pool, c, w, x, 'matmul_f32_ref'), want);
        }),
        { numRuns: build === 'simd' ? 300 : 100 },
      );
    });
  }

  test('the shared-memory builds: simd-mt is bit-identical to simd, relaxed-mt within the tolerance', () => {
    fc.assert(
      fc.property(caseArb(fc.constant('uniform')), (c) => {
        const { w, x } = inputs(c);
        const { want, mag } = matmulF64(x, w, c.n, c.rows, c.cols);
        const tol = mag.map((m) => (c.cols + 4) * U * m * 1.0001);
        const base = poolOf('simd');
        base.reset();
        const simd = runMatmul(base, c, w, x, 'matmul_f32');
        const mt = poolOf('simd-mt');
        mt.reset();
        assert.ok(mt.rt.memory.buffer instanceof SharedArrayBuffer);
        assert.deepEqual(runMatmul(mt, c, w, x, 'matmul_f32'), simd);
        const rmt = poolOf('relaxed-mt');
        rmt.reset();
        assertWithin(runMatmul(rmt, c, w, x, 'matmul_f32'), want, tol, `relaxed-mt matmul_f32 ${JSON.stringify(c)}`);
      }),
      { numRuns: 40 },
    );
  });

  test('a block of whole panels computed alone equals the same rows of the full call (thread split)', () => {
    const pool = poolOf('simd');
    fc.assert(
      fc.property(caseArb(fc.constant('uniform')), fc.nat(), (c, splitSeed) => {
        fc.pre(c.rows > PANEL_ROWS);
        pool.reset();
        const { n, rows, cols } = c;
        const { w, x } = inputs(c);
        const panels = Math.ceil(rows / PANEL_ROWS);
        const p0 = 1 + (splitSeed % (panels - 1)); // split between panel p0 − 1 and p0
        const src = pool.f32From(w);
        const packed = pool.alloc(packedBytesF32(rows, cols));
        pool.k.pack_f32(packed.ptr, src.ptr, rows, cols);
        const xb = pool.f32From(x);
        for (const kernel of ['matmul_f32', 'matmul_f32_ref'] as const) {
          const whole = pool.alloc(n * rows * 4);
          pool.k[kernel](whole.ptr, rows, packed.ptr, xb.ptr, n, rows, cols);
          const split = pool.alloc(n * rows * 4);
          const r0 = p0 * PANEL_ROWS;
          pool.k[kernel](split.ptr, rows, packed.ptr, xb.ptr, n, r0, cols);
          pool.k[kernel](split.ptr + r0 * 4, rows, packed.ptr + p0 * panelBytesF32(cols), xb.ptr, n, rows - r0, cols);
          assert.deepEqual(pool.u32(split), pool.u32(whole), `${kernel} split at panel ${p0}`);
        }
        // packing rows [r0, rows) alone gives the tail of the full packing
        const r0 = p0 * PANEL_ROWS;
        const tailPacked = pool.alloc(packedBytesF32(rows - r0, cols));
        pool.k.pack_f32(tailPacked.ptr, src.ptr + r0 * cols * 4, rows - r0, cols);
        const fullBytes = new Uint8Array(pool.rt.memory.buffer, packed.ptr + p0 * panelBytesF32(cols), tailPacked.bytes);
        assert.deepEqual(new Uint8Array(pool.rt.memory.buffer, tailPacked.ptr, tailPacked.bytes), fullBytes);
        pool.checkGuards();
      }),
      { numRuns: 80 },
    );
  });

  test('pack_f32 writes the documented layout: W[r, c] at float (r>>2)·16·C4 + (c>>2)·16 + (r&3)·4 + (c&3), zero padding', () => {
    const pool = poolOf('simd');
    for (const [rows, cols] of [[1, 1], [3, 5], [4, 4], [5, 9], [8, 3], [13, 17]]) {
      pool.reset();
      const w = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) w[r * cols + c] = 1 + r * 1000 + c;
      const src = pool.f32From(w);
      const packed = pool.alloc(packedBytesF32(rows, cols));
      pool.k.pack_f32(packed.ptr, src.ptr, rows, cols);
      const p = pool.f32(packed);
      const c4 = Math.ceil(cols / 4);
      assert.equal(p.length, Math.ceil(rows / 4) * 4 * c4 * 4);
      const expected = new Float32Array(p.length);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) expected[(r >> 2) * 16 * c4 + (c >> 2) * 16 + (r & 3) * 4 + (c & 3)] = w[r * cols + c];
      }
      assert.deepEqual(p, expected, `${rows}×${cols}`);
      pool.checkGuards();
    }
  });

  test('model shapes (SmolLM q/o, gate/up, down; a large odd lm_head-like block) match the f64 loop', () => {
    const pool = new Pool('simd', 40 * 1024 * 1024);
    const rng = createRng(7);
    for (const [rows, cols, n] of [[576, 576, 1], [1536, 576, 9], [576, 1536, 2], [4099, 577, 1], [576, 576, 64]]) {
      pool.reset();
      const c: Case = { n, rows, cols, extraStride: 0, misalign: 0, values: 'uniform', seed: rng.nextU32() };
      const { w, x } = inputs(c);
      const { want, mag } = matmulF64(x, w, n, rows, cols);
      const tol = mag.map((m) => (cols + 4) * U * m * 1.0001);
      assertWithin(runMatmul(pool, c, w, x, 'matmul_f32'), want, tol, `matmul_f32 ${rows}×${cols} n=${n}`);
    }
  });
});

describe('kernels/linear (TS packing helpers)', () => {
  test('packedBytesF32 / panelBytesF32 count 4-row panels of 16-byte k-blocks', () => {
    assert.equal(packedBytesF32(1, 1), 64);
    assert.equal(packedBytesF32(576, 576), 576 * 576 * 4);
    assert.equal(packedBytesF32(5, 9), 2 * 3 * 64);
    assert.equal(panelBytesF32(9), 3 * 64);
    assert.equal(packedBytesF32(13, 17) , Math.ceil(13 / 4) * panelBytesF32(17));
    assert.throws(() => packedBytesF32(0, 4), InvalidArgumentError);
    assert.throws(() => packedBytesF32(4, 1.5), /expected rows and cols to be integers >= 1, got 4×1.5/);
  });

  test('packLinearF32 gives the same bytes from a view of wasm memory and from an outside array staged in panels', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (rows, cols, stagePanels, seed) => {
        const pool = new Pool('simd', 1 << 20);
        const w = uniform(createRng(seed), rows * cols);
        const inside = pool.f32From(w);
        const direct = packLinearF32(pool.rt, 'direct', pool.f32(inside), rows, cols);
        const staging = pool.rt.arena.alloc('staging', stagePanels * 16 * cols);
        const staged = packLinearF32(pool.rt, 'staged', w, rows, cols, staging);
        assert.deepEqual(
          { rows: staged.rows, cols: staged.cols, bytes: staged.bytes, dtype: staged.dtype },
          { rows, cols, bytes: packedBytesF32(rows, cols), dtype: 'F32' },
        );
        assert.equal(direct.ptr % 64, 0);
        const a = new Uint8Array(pool.rt.memory.buffer, direct.ptr, direct.bytes);
        const b = new Uint8Array(pool.rt.memory.buffer, staged.ptr, staged.bytes);
        assert.deepEqual(b, a);
      }),
      { numRuns: 30 },
    );
  });

  test('packLinearF32 rejects bad shapes and missing or small staging with typed errors', () => {
    const pool = new Pool('simd', 1 << 20);
    const w = new Float32Array(12);
    assert.throws(() => packLinearF32(pool.rt, 'w', w, 3, 5), (e: unknown) => e instanceof ShapeError && /expected 3×5 = 15 floats, got 12/.test(e.message));
    assert.throws(() => packLinearF32(pool.rt, 'w', w, 3, 4), InvalidArgumentError);
    const small = pool.rt.arena.alloc('small', 16 * 4 - 4);
    assert.throws(() => packLinearF32(pool.rt, 'w', w, 3, 4, small), (e: unknown) => e instanceof CapacityError && /staging needs >= 64 bytes/.test(e.message));
  });
});
