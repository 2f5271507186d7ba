// matmul_bf16 / matmul_q8 / matmul_q4, their scalar twins, quant_x_q8 (the prepared input) and the
// pack kernels, against plain-TS oracles written from the layout documentation (quant-oracle.ts).
//
// What is checked, per random case (odd rows/cols, tails, n = 1..70, output strides, misaligned x/out):
//  - the packed bytes decode (documented layout) to exactly what the packer promises, padding zero;
//  - quant_x_q8 and its twin write exactly the oracle's prepared input;
//  - plain-SIMD build: SIMD kernel = scalar twin = the oracle's f32 arithmetic, bit for bit (the integer
//    group sums are exact, so this pins the layout and every scale);
//  - every build: the result is within (G + 3)·u·Σ|terms| (q8/q4) or (cols + 8)·u·Σ|terms| (bf16) of the
//    exact f64 value of the quantised math (dequantised weights and inputs, f64 dot product);
//  - nothing is written beyond rows or outside the buffers (poisoned guards), x is never read beyond cols
//    (x sits right before a NaN guard: a read past cols would poison the output).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, Pool, U, assertWithin, createRng, ints, poolCache, uniform, wide, type Buf } from './harness.js';
import {
  GROUP, bf16MatmulF32, decodeBf16, decodeQ4, decodeQ8, quantMatmulExact, quantMatmulF32, quantizeX, type QuantWeights,
} from './quant-oracle.js';
import { PANEL_ROWS, linearInputBytes, packedBytes, panelBytes, runLinear, type PackedLinear } from '../../src/kernels/linear.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';

type Dtype = 'bf16' | 'q8' | 'q4';
const DTYPES: readonly Dtype[] = ['bf16', 'q8', 'q4'];

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
const colsArb = fc.oneof(
  fc.integer({ min: 1, max: 12 }),
  fc.integer({ min: 13, max: 300 }),
  fc.integer({ min: 1, max: 9 }).chain((g) => fc.integer({ min: -1, max: 1 }).map((d) => Math.max(1, g * GROUP + d))),
);
const caseArb: fc.Arbitrary<Case> = fc.record({
  n: nArb,
  rows: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 13, max: 150 })),
  cols: colsArb,
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

/** Pack W with the dtype's pack kernel; returns the packed buffer (status checked). */
function pack(pool: Pool, dtype: Dtype, w: Float32Array, rows: number, cols: number): Buf {
  const src = pool.f32From(w);
  const packed = pool.alloc(packedBytes(dtype, rows, cols));
  if (dtype === 'bf16') pool.k.pack_bf16(packed.ptr, src.ptr, rows, cols);
  else assert.equal(dtype === 'q8' ? pool.k.pack_q8(packed.ptr, src.ptr, rows, cols) : pool.k.pack_q4(packed.ptr, src.ptr, rows, cols), -1);
  return packed;
}

/** The kernel's input: x itself (bf16) or the prepared input, checked against the oracle and the twin. */
function input(pool: Pool, dtype: Dtype, x: Float32Array, n: number, cols: number, misalign: number): Buf {
  const xb = pool.f32From(x, misalign);
  if (dtype === 'bf16') return xb;
  const bytes = linearInputBytes(dtype, n, cols);
  const prep = pool.alloc(bytes);
  const twin = pool.alloc(bytes);
  pool.k.quant_x_q8(prep.ptr, xb.ptr, n, cols);
  pool.k.quant_x_q8_ref(twin.ptr, xb.ptr, n, cols);
  assert.deepEqual(bytesOf(pool, twin), bytesOf(pool, prep), 'quant_x_q8 vs its twin');
  const want = quantizeX(x, n, cols);
  const G = Math.ceil(cols / GROUP);
  assert.deepEqual(new Int16Array(pool.rt.memory.buffer, prep.ptr, n * G * GROUP), want.q, 'prepared quants');
  assert.deepEqual(new Float32Array(pool.rt.memory.buffer, prep.ptr + n * G * 64, n * G), want.s, 'prepared scales');
  return prep;
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

function decode(pool: Pool, dtype: 'q8' | 'q4', packed: Buf, rows: number, cols: number): QuantWeights {
  return dtype === 'q8' ? decodeQ8(bytesOf(pool, packed), rows, cols) : decodeQ4(bytesOf(pool, packed), rows, cols);
}

/** Check one case of one dtype on one build. */
function checkCase(pool: Pool, build: WasmBuild, dtype: Dtype, c: Case): void {
  pool.reset();
  const { n, rows, cols } = c;
  const { w, x } = inputs(c);
  const packed = pack(pool, dtype, w, rows, cols);
  const inp = input(pool, dtype, x, n, cols, c.misalign);
  const simd = run(pool, `matmul_${dtype}`, c, packed, inp);
  const ref = run(pool, `matmul_${dtype}_ref`, c, packed, inp);
  pool.checkGuards();
  const what = `${build} ${dtype} ${JSON.stringify(c)}`;
  let exact: Float32Array, want: Float64Array, tol: Float64Array;
  if (dtype === 'bf16') {
    const wd = decodeBf16(bytesOf(pool, packed), rows, cols);
    exact = bf16MatmulF32(wd, x, n, rows, cols);
    want = new Float64Array(n * rows);
    tol = new Float64Array(n * rows);
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
  } else {
    const wq = decode(pool, dtype, packed, rows, cols);
    const xq = quantizeX(x, n, cols);
    exact = quantMatmulF32(dtype, wq, xq, n, rows, cols);
    const e = quantMatmulExact(wq, xq, n, rows, cols);
    want = e.want;
    const G = Math.ceil(cols / GROUP);
    tol = e.mag.map((m) => (G + 3) * U * m * 1.0001);
  }
  assert.deepEqual(ref, exact, `${what}: scalar twin vs oracle arithmetic`);
  if (build === 'simd' || build === 'simd-mt') assert.deepEqual(simd, exact, `${what}: SIMD vs oracle arithmetic`);
  assertWithin(simd, want, tol, `${what}: SIMD vs exact quantised math`);
  assertWithin(ref, want, tol, `${what}: twin vs exact quantised math`);
}

const poolOf = poolCache();

describe('kernels/matmul dtypes (bf16, q8, q4)', () => {
  for (const build of BUILDS) {
    for (const dtype of DTYPES) {
      test(`${build}: matmul_${dtype} and _ref vs the oracles (layout, tails, n = 1..70, strides, misalignment)`, () => {
        const pool = poolOf(build);
        fc.assert(fc.property(caseArb, (c) => checkCase(pool, build, dtype, c)), { numRuns: build === 'simd' ? 120 : 40 });
      });
    }
  }

  test('simd-mt (shared memory): every dtype equals the oracle arithmetic bit for bit', () => {
    const pool = poolOf('simd-mt');
    assert.ok(pool.rt.memory.buffer instanceof SharedArrayBuffer);
    fc.assert(fc.property(caseArb, fc.constantFrom(...DTYPES), (c, dtype) => checkCase(pool, 'simd-mt', dtype, c)), { numRuns: 30 });
  });

  test('a block of whole panels run alone (runLinear [p0, p1)) equals the same rows of the full call, every dtype', () => {
    const pool = poolOf('simd');
    fc.assert(
      fc.property(caseArb, fc.constantFrom(...DTYPES), fc.nat(), (c, dtype, splitSeed) => {
        fc.pre(c.rows > PANEL_ROWS);
        pool.reset();
        const { n, rows, cols } = c;
        const { w, x } = inputs(c);
        const packed = pack(pool, dtype, w, rows, cols);
        const inp = input(pool, dtype, x, n, cols, 0);
        const lin: PackedLinear = { ptr: packed.ptr, rows, cols, bytes: packed.bytes, dtype };
        const panels = Math.ceil(rows / PANEL_ROWS);
        const p0 = 1 + (splitSeed % (panels - 1));
        const whole = pool.alloc(n * rows * 4);
        runLinear(pool.k, lin, whole.ptr, rows, inp.ptr, n, 0, panels);
        const split = pool.alloc(n * rows * 4);
        runLinear(pool.k, lin, split.ptr, rows, inp.ptr, n, p0, panels);
        runLinear(pool.k, lin, split.ptr, rows, inp.ptr, n, 0, p0);
        runLinear(pool.k, lin, split.ptr, rows, inp.ptr, n, p0, p0); // empty range: no-op
        assert.deepEqual(pool.u32(split), pool.u32(whole), `${dtype} split at panel ${p0}`);
        // packing rows [4·p0, rows) alone gives the tail of the full packing (panels are independent)
        const tail = pack(pool, dtype, w.subarray(p0 * PANEL_ROWS * cols), rows - p0 * PANEL_ROWS, cols);
        const full = new Uint8Array(pool.rt.memory.buffer, packed.ptr + p0 * panelBytes(dtype, cols), tail.bytes);
        assert.deepEqual(bytesOf(pool, tail), full);
        pool.checkGuards();
      }),
      { numRuns: 60 },
    );
  });

  test('model shapes (SmolLM q/o, gate/up, down; an odd lm_head-like block): every dtype equals the oracle arithmetic', () => {
    const pool = new Pool('simd', 48 * 1024 * 1024);
    const rng = createRng(11);
    for (const [rows, cols, n] of [[576, 576, 1], [1536, 576, 9], [576, 1536, 2], [1027, 577, 1], [576, 576, 64]]) {
      for (const dtype of DTYPES) {
        checkCase(pool, 'simd', dtype, { n, rows, cols, extraStride: 0, misalign: 0, values: 'uniform', seed: rng.nextU32() });
      }
    }
  });

  test('q8 and q4 integer sums at their extremes are exact (q8 −128/127 quants, q4 −8/7, full groups)', () => {
    const pool = poolOf('simd');
    pool.reset();
    const rows = 5, cols = 70, n = 3;
    const G = Math.ceil(cols / GROUP);
    // x rows: all +1 (quants 127), alternating ±1 (±127), a ramp
    const x = new Float32Array(n * cols);
    for (let c = 0; c < cols; c++) {
      x[c] = 1;
      x[cols + c] = c & 1 ? -1 : 1;
      x[2 * cols + c] = (c % 9) - 4;
    }
    const xq = quantizeX(x, n, cols);
    assert.equal(xq.q[0], 127);
    const prep = input(pool, 'q8', x, n, cols, 0);
    // q8 from planar data (GGUF style) with −128 quants and a scale of 1
    const scales = pool.f32From(new Float32Array(rows * G).fill(1));
    const qsBuf = pool.alloc(rows * cols);
    const qs = new Int8Array(pool.rt.memory.buffer, qsBuf.ptr, rows * cols);
    for (let i = 0; i < qs.length; i++) qs[i] = i % 3 === 0 ? -128 : i % 3 === 1 ? 127 : -127;
    qs.fill(-128, 0, cols); // row 0: all −128
    const q8 = pool.alloc(packedBytes('q8', rows, cols));
    assert.equal(pool.k.pack_q8_planar(q8.ptr, scales.ptr, qsBuf.ptr, rows, cols), -1);
    // q4 with every weight at −8 or 7 (w = −8 or 7 with max⁻ = 8, max⁺ = 7 → d = 1)
    const w4 = new Float32Array(rows * cols);
    for (let i = 0; i < w4.length; i++) w4[i] = i % 2 ? 7 : -8;
    w4.fill(-8, 0, cols);
    const q4 = pack(pool, 'q4', w4, rows, cols);
    for (const [dtype, packed] of [['q8', q8], ['q4', q4]] as const) {
      const wq = decode(pool, dtype, packed, rows, cols);
      if (dtype === 'q4') assert.deepEqual(Array.from(wq.q.subarray(0, 4)), [-8, -8, -8, -8]);
      const c: Case = { n, rows, cols, extraStride: 0, misalign: 0, values: 'ints', seed: 0 };
      const got = run(pool, `matmul_${dtype}`, c, packed, prep);
      const ref = run(pool, `matmul_${dtype}_ref`, c, packed, prep);
      const want = quantMatmulF32(dtype, wq, xq, n, rows, cols);
      assert.deepEqual(got, want, dtype);
      assert.deepEqual(ref, want, `${dtype} twin`);
      // row 0 against x row 0: every product at its extreme (d = 1, qx = 127, s = f32(1/127)), so the
      // result is perWeight·cols up to a few roundings
      const exact = (dtype === 'q8' ? -128 : -8) * cols;
      assert.ok(Math.abs(got[0] - exact) <= 8 * U * Math.abs(exact), `${dtype}: ${got[0]} vs ${exact}`);
    }
    pool.checkGuards();
  });

  test('a NaN in x makes exactly its row NaN (q8/q4 through the group scale, bf16 through the products); Inf too', () => {
    for (const build of BUILDS) {
      const pool = poolOf(build);
      for (const dtype of DTYPES) {
        pool.reset();
        const rows = 7, cols = 45, n = 3;
        const { w, x } = inputs({ n, rows, cols, extraStride: 0, misalign: 0, values: 'uniform', seed: 5 });
        x[cols + 40] = NaN; // row 1, in the partial last group
        x[2 * cols + 3] = Infinity; // row 2
        const packed = pack(pool, dtype, w, rows, cols);
        const xb = pool.f32From(x);
        let inp = xb;
        if (dtype !== 'bf16') {
          inp = pool.alloc(linearInputBytes(dtype, n, cols));
          pool.k.quant_x_q8(inp.ptr, xb.ptr, n, cols);
        }
        const out = pool.alloc(n * rows * 4);
        (pool.k as unknown as Record<string, (...a: number[]) => void>)[`matmul_${dtype}`](out.ptr, rows, packed.ptr, inp.ptr, n, rows, cols);
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
