// matmul_bf16 / matmul_f16 and their scalar twins against a plain-TS oracle written from the layout
// documentation (quant-oracle.ts), and properties every weight type shares (the quantised types' own
// kernels are checked type by type in quant-types.test.ts):
//  - BF16 / F16 (random cases: odd rows/cols, tails, n = 1..70, output strides, misaligned x/out): the
//    packed bytes decode to exactly the packer's values (padding zero); plain-SIMD build: SIMD kernel =
//    scalar twin = the oracle's f32 arithmetic, bit for bit; every build: within (cols + 8)·u·Σ|terms| of
//    the exact f64 value; nothing written beyond rows or outside the buffers, x never read beyond cols;
//  - every type: a block of whole panels run alone (runLinear [p0, p1)) equals the same rows of the full
//    call, and packing rows [4·p0, rows) alone gives the tail of the full packing;
//  - every type at model shapes: SIMD = twin (bit for bit) on the plain and the shared-memory build;
//  - every type: a NaN in x makes exactly its row NaN, an Inf its row non-finite.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, Pool, U, assertWithin, createRng, poolCache, uniform, wide, ints, type Buf } from './harness.js';
import { bf16MatmulF32, decodeBf16Bits, bf16Value } from './quant-oracle.js';
import {
  LINEAR_DTYPES, PANEL_ROWS, isSuperBlockType, linearInputKind, packLinear, panelBytes, preparedInputBytes, runLinear, type LinearDtype, type PackedLinear,
} from '../../src/kernels/linear.js';
import { f16ToF32, f32ToF16Array } from '../../src/weights/tensor.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';

type Half = 'BF16' | 'F16';

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
const caseArb: fc.Arbitrary<Case> = fc.record({
  n: nArb,
  rows: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 150 })),
  cols: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 300 })),
  extraStride: fc.integer({ min: 0, max: 5 }),
  misalign: fc.constantFrom(0, 4, 8, 12),
  values: fc.constantFrom('uniform', 'wide', 'ints'),
  seed: fc.integer(),
});

function inputs(c: Case) {
  const rng = createRng(c.seed);
  const gen = (count: number) => (c.values === 'ints' ? ints(rng, count, 8) : c.values === 'wide' ? wide(rng, count) : uniform(rng, count));
  return { w: gen(c.rows * c.cols), x: gen(c.n * c.cols) };
}

const bytesOf = (pool: Pool, b: Buf) => new Uint8Array(pool.rt.memory.buffer, b.ptr, b.bytes);

/** Pack W as BF16 (rounded) or F16 (f16 bit patterns of W rounded to nearest even). */
function packHalf(pool: Pool, dtype: Half, w: Float32Array, rows: number, cols: number): Buf {
  const packed = pool.alloc(64 * Math.ceil(rows / 4) * Math.ceil(cols / 8));
  if (dtype === 'BF16') {
    pool.k.pack_bf16(packed.ptr, pool.f32From(w).ptr, rows, cols);
  } else {
    const bits = f32ToF16Array(w);
    const src = pool.alloc(bits.length * 2);
    new Uint16Array(pool.rt.memory.buffer, src.ptr, bits.length).set(bits);
    assert.equal(pool.k.pack_f16_bits(packed.ptr, src.ptr, rows, cols), -1);
  }
  return packed;
}

/** Run `kernel` into a poisoned out [n, outStride]; returns the [n, rows] part, after checking the rest. */
function run(pool: Pool, kernel: string, c: Case, packed: Buf, inp: Buf): Float32Array {
  const { n, rows, cols } = c;
  const outStride = rows + c.extraStride;
  const out = pool.alloc(n * outStride * 4, c.misalign);
  (pool.k as unknown as Record<string, (...a: number[]) => void>)[kernel](out.ptr, outStride, packed.ptr, inp.ptr, n, rows, cols);
  const bits = pool.u32(out);
  const vals = pool.f32(out);
  const got = new Float32Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) got[i * rows + r] = vals[i * outStride + r];
    for (let r = rows; r < outStride; r++) assert.equal(bits[i * outStride + r], POISON_BITS, `${kernel} wrote out[${i}, ${r}] beyond rows ${rows}`);
  }
  return got;
}

/** Check one BF16 / F16 case on one build. */
function checkHalf(pool: Pool, build: WasmBuild, dtype: Half, c: Case): void {
  pool.reset();
  const { n, rows, cols } = c;
  const { w, x } = inputs(c);
  const packed = packHalf(pool, dtype, w, rows, cols);
  const xb = pool.f32From(x, c.misalign);
  const kernel = `matmul_${dtype.toLowerCase()}`;
  const simd = run(pool, kernel, c, packed, xb);
  const ref = run(pool, `${kernel}_ref`, c, packed, xb);
  pool.checkGuards();
  const what = `${build} ${dtype} ${JSON.stringify(c)}`;
  const bits = decodeBf16Bits(bytesOf(pool, packed), rows, cols);
  const wd = Float32Array.from(bits, dtype === 'BF16' ? bf16Value : f16ToF32);
  const exact = bf16MatmulF32(wd, x, n, rows, cols);
  const want = new Float64Array(n * rows);
  const tol = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let s = 0, m = 0;
      for (let k = 0; k < cols; k++) {
        const p = wd[r * cols + k] * x[i * cols + k];
        s += p;
        m += Math.abs(p);
      }
      want[i * rows + r] = s;
      tol[i * rows + r] = (cols + 8) * U * m * 1.0001;
    }
  }
  assert.deepEqual(ref, exact, `${what}: scalar twin vs oracle arithmetic`);
  if (build === 'simd' || build === 'simd-mt') assert.deepEqual(simd, exact, `${what}: SIMD vs oracle arithmetic`);
  assertWithin(simd, want, tol, `${what}: SIMD vs exact`);
}

/** Columns a type can take near `cols` (256-column types: a multiple of 256). */
function colsFor(dtype: LinearDtype, cols: number): number {
  return isSuperBlockType(dtype) ? 256 * Math.max(1, Math.round(cols / 256)) : cols;
}

/** W packed as `dtype` through the loader's path (packLinear: ggml's quantisation for quantised types). */
function packAny(pool: Pool, dtype: LinearDtype, w: Float32Array, rows: number, cols: number): PackedLinear {
  return packLinear(pool.rt, `w.${dtype}`, dtype, pool.f32(pool.f32From(w)), rows, cols);
}

/** The input a type's kernels read for x [n, cols] at xb. */
function inputFor(pool: Pool, dtype: LinearDtype, xb: Buf, n: number, cols: number): number {
  if (linearInputKind(dtype) === 'f32') return xb.ptr;
  const prep = pool.alloc(preparedInputBytes(n, cols));
  pool.k.quant_x(prep.ptr, xb.ptr, n, cols);
  return prep.ptr;
}

const poolOf = poolCache();

describe('kernels/matmul dtypes', () => {
  for (const build of BUILDS) {
    for (const dtype of ['BF16', 'F16'] as const) {
      test(`${build}: matmul_${dtype.toLowerCase()} and _ref vs the oracles (layout, tails, n = 1..70, strides, misalignment)`, () => {
        const pool = poolOf(build);
        fc.assert(fc.property(caseArb, (c) => checkHalf(pool, build, dtype, c)), { numRuns: build === 'simd' ? 80 : 30 });
      });
    }
  }

  test('F16 decoding is exact for every finite f16 (normals, subnormals, ±0, both signs); Inf/NaN weights are refused', () => {
    const pool = poolOf('simd');
    pool.reset();
    const all: number[] = [];
    for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) all.push(h);
    const rows = 4, cols = all.length / 4;
    const src = pool.alloc(all.length * 2);
    new Uint16Array(pool.rt.memory.buffer, src.ptr, all.length).set(all);
    const packed = pool.alloc(64 * Math.ceil(cols / 8));
    assert.equal(pool.k.pack_f16_bits(packed.ptr, src.ptr, rows, cols), -1);
    const out = pool.alloc(all.length * 4);
    pool.k.dequant_f16(out.ptr, packed.ptr, rows, cols, 0, rows);
    const got = pool.f32(out);
    for (let i = 0; i < all.length; i++) assert.ok(Object.is(got[i], f16ToF32(all[i])), `f16 ${all[i].toString(16)}: ${got[i]}`);
    new Uint16Array(pool.rt.memory.buffer, src.ptr, all.length)[77] = 0x7e00;
    assert.equal(pool.k.pack_f16_bits(packed.ptr, src.ptr, rows, cols), 77);
  });

  test('a block of whole panels run alone (runLinear [p0, p1)) equals the same rows of the full call, every type', () => {
    const pool = new Pool('simd', 16 << 20);
    const mark = pool.rt.arena.mark();
    fc.assert(
      fc.property(fc.constantFrom(...LINEAR_DTYPES), fc.integer({ min: 5, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 9 }), fc.nat(), fc.integer(), (dtype, rows, c0, n, splitSeed, seed) => {
        pool.reset();
        pool.rt.arena.release(mark); // packLinear allocates in the arena, after the pool
        const cols = colsFor(dtype, c0);
        const rng = createRng(seed);
        const w = uniform(rng, rows * cols);
        const lin = packAny(pool, dtype, w, rows, cols);
        const xb = pool.f32From(uniform(rng, n * cols));
        const inp = inputFor(pool, dtype, xb, n, cols);
        const panels = Math.ceil(rows / PANEL_ROWS);
        const p0 = 1 + (splitSeed % (panels - 1));
        const whole = pool.alloc(n * rows * 4);
        runLinear(pool.k, lin, whole.ptr, rows, inp, n, 0, panels);
        const split = pool.alloc(n * rows * 4);
        runLinear(pool.k, lin, split.ptr, rows, inp, n, p0, panels);
        runLinear(pool.k, lin, split.ptr, rows, inp, n, 0, p0);
        runLinear(pool.k, lin, split.ptr, rows, inp, n, p0, p0); // empty range: no-op
        assert.deepEqual(pool.u32(split), pool.u32(whole), `${dtype} split at panel ${p0}`);
        // packing rows [4·p0, rows) alone gives the tail of the full packing (panels are independent)
        const tail = packAny(pool, dtype, w.subarray(p0 * PANEL_ROWS * cols), rows - p0 * PANEL_ROWS, cols);
        const full = new Uint8Array(pool.rt.memory.buffer, lin.ptr + p0 * panelBytes(dtype, cols), tail.bytes);
        assert.deepEqual(new Uint8Array(pool.rt.memory.buffer, tail.ptr, tail.bytes), full);
        pool.checkGuards();
      }),
      { numRuns: 45 },
    );
  });

  for (const build of ['simd', 'simd-mt', 'relaxed'] as const) {
    test(`${build}: model shapes (SmolLM q/o, gate/up, down; odd sizes), every type: SIMD = twin bit for bit (${build === 'relaxed' ? 'quantised types; F32/BF16/F16' : 'all but F32, whose twin sums in another order; F32'} within rounding)`, () => {
      const pool = new Pool(build, 40 << 20);
      if (build === 'simd-mt') assert.ok(pool.rt.memory.buffer instanceof SharedArrayBuffer);
      const rng = createRng(11);
      const mark = pool.rt.arena.mark();
      for (const [rows, c0, n] of [[576, 576, 1], [1536, 576, 3], [576, 1536, 2], [1027, 577, 1], [256, 512, 17]]) {
        for (const dtype of LINEAR_DTYPES) {
          pool.reset();
          pool.rt.arena.release(mark);
          const cols = colsFor(dtype, c0);
          const lin = packAny(pool, dtype, uniform(rng, rows * cols), rows, cols);
          const xb = pool.f32From(uniform(rng, n * cols));
          const inp = inputFor(pool, dtype, xb, n, cols);
          const a = pool.alloc(n * rows * 4), b = pool.alloc(n * rows * 4);
          const k = pool.k as unknown as Record<string, (...a: number[]) => void>;
          const name = `matmul_${dtype.toLowerCase()}`;
          k[name]!(a.ptr, rows, lin.ptr, inp, n, rows, cols);
          k[`${name}_ref`]!(b.ptr, rows, lin.ptr, inp, n, rows, cols);
          // matmul_f32's twin sums in another order (kernels/matmul.test.ts bounds it); BF16/F16 match on plain builds
          if (dtype === 'F32' || (build === 'relaxed' && linearInputKind(dtype) === 'f32')) {
            const got = pool.f32(a), want = pool.f32(b);
            for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `${dtype} ${rows}×${cols}`);
          } else {
            assert.deepEqual(pool.u32(a), pool.u32(b), `${build} ${dtype} ${rows}×${cols} n=${n}`);
          }
          pool.checkGuards();
        }
      }
    });
  }

  test('a NaN in x makes exactly its row NaN (quantised types through the group scale, half types through the products); Inf too', () => {
    for (const build of BUILDS) {
      const pool = new Pool(build, 4 << 20);
      const mark = pool.rt.arena.mark();
      for (const dtype of LINEAR_DTYPES) {
        pool.reset();
        pool.rt.arena.release(mark);
        const rows = 7, n = 3;
        const cols = isSuperBlockType(dtype) ? 256 : 45;
        const rng = createRng(5);
        const lin = packAny(pool, dtype, uniform(rng, rows * cols), rows, cols);
        const x = uniform(rng, n * cols);
        x[cols + cols - 5] = NaN; // row 1, in the last group
        x[2 * cols + 3] = Infinity; // row 2
        const inp = inputFor(pool, dtype, pool.f32From(x), n, cols);
        const out = pool.alloc(n * rows * 4);
        runLinear(pool.k, lin, out.ptr, rows, inp, n, 0, Math.ceil(rows / 4));
        const o = pool.f32(out);
        for (let r = 0; r < rows; r++) {
          assert.ok(Number.isFinite(o[r]), `${build} ${dtype}: row 0 stays finite`);
          assert.ok(Number.isNaN(o[rows + r]), `${build} ${dtype}: row 1 is NaN`);
          assert.ok(!Number.isFinite(o[2 * rows + r]), `${build} ${dtype}: row 2 is not finite`);
        }
      }
    }
  });
});
