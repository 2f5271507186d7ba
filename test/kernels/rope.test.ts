// rope_f32 / rope_f32_ref and the table builder (src/kernels/rope.ts).
// Oracle: Hugging Face's formulation written out here, x·cat(cos, cos) + rotate_half(x)·cat(sin, sin)
// with rotate_half(x) = cat(−x2, x1), in f64 from the same f32 tables. Tolerance per element:
// 2.2u·(|x·cos| + |rotate_half(x)·sin|) (two rounded products and one rounded sum; fused is tighter).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, Pool, U, assertWithin, createRng, poolCache, uniform } from './harness.js';
import { createRopeTables, fillRopeTables, ropeTableBytes } from '../../src/kernels/rope.js';
import { InvalidArgumentError } from '../../src/errors.js';

/** HF apply_rotary_pos_emb on one head, f64. */
function hfRope(head: ArrayLike<number>, cosRow: ArrayLike<number>, sinRow: ArrayLike<number>) {
  const d = head.length;
  const half = d / 2;
  const cosFull = Array.from({ length: d }, (_, j) => cosRow[j % half]);
  const sinFull = Array.from({ length: d }, (_, j) => sinRow[j % half]);
  const rot = Array.from({ length: d }, (_, j) => (j < half ? -head[j + half] : head[j - half]));
  return {
    out: Array.from({ length: d }, (_, j) => head[j] * cosFull[j] + rot[j] * sinFull[j]),
    mag: Array.from({ length: d }, (_, j) => Math.abs(head[j] * cosFull[j]) + Math.abs(rot[j] * sinFull[j])),
  };
}

const poolOf = poolCache();

describe('kernels/rope', () => {
  for (const build of BUILDS) {
    test(`${build}: rope_f32 and _ref rotate (x[j], x[j + half]) like Hugging Face, leaving the rest of each row alone`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 40 }).map((h) => 2 * h),
          fc.integer({ min: 0, max: 7 }),
          fc.integer({ min: 1, max: 300 }),
          fc.constantFrom(10000, 500000, 100),
          fc.integer(),
          (n, nHeads, headDim, extra, maxPos, theta, seed) => {
            pool.reset();
            const rng = createRng(seed);
            const rowStride = nHeads * headDim + extra;
            const half = headDim / 2;
            const cos = new Float32Array(maxPos * half);
            const sin = new Float32Array(maxPos * half);
            fillRopeTables(cos, sin, theta, headDim, maxPos);
            const pos = Array.from({ length: n }, () => rng.nextU32() % maxPos);
            const x = uniform(rng, n * rowStride, -3, 3);
            const want = new Float64Array(n * nHeads * headDim);
            const tol = new Float64Array(want.length);
            for (let i = 0; i < n; i++) {
              for (let h = 0; h < nHeads; h++) {
                const at = i * rowStride + h * headDim;
                const r = hfRope(x.subarray(at, at + headDim), cos.subarray(pos[i] * half), sin.subarray(pos[i] * half));
                want.set(r.out, (i * nHeads + h) * headDim);
                tol.set(r.mag.map((m) => 2.2 * U * m), (i * nHeads + h) * headDim);
              }
            }
            const cb = pool.f32From(cos, 4);
            const sb = pool.f32From(sin, 8);
            const pb = pool.i32From(pos);
            const results: Float64Array[] = [];
            for (const kernel of ['rope_f32', 'rope_f32_ref'] as const) {
              const xb = pool.f32From(x, 12);
              // the columns past nHeads·headDim must stay untouched: poison them
              const bits = pool.u32(xb);
              for (let i = 0; i < n; i++) bits.fill(POISON_BITS, i * rowStride + nHeads * headDim, (i + 1) * rowStride);
              pool.k[kernel](xb.ptr, rowStride, n, nHeads, headDim, pb.ptr, cb.ptr, sb.ptr);
              const y = pool.f32(xb);
              const got = new Float64Array(want.length);
              for (let i = 0; i < n; i++) {
                got.set(y.subarray(i * rowStride, i * rowStride + nHeads * headDim), i * nHeads * headDim);
                for (let c = nHeads * headDim; c < rowStride; c++) assert.equal(bits[i * rowStride + c], POISON_BITS, `${kernel} touched x[${i}, ${c}]`);
              }
              assertWithin(got, want, tol, `${build} ${kernel} n=${n} nHeads=${nHeads} headDim=${headDim}`);
              results.push(got);
            }
            assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} rope_f32 vs _ref`);
            pool.checkGuards();
          },
        ),
        { numRuns: build === 'simd' ? 300 : 100 },
      );
    });
  }

  test('a worked example: headDim 4, theta 10000 rotates (x0, x2) by pos·1 and (x1, x3) by pos·0.01', () => {
    const pool = new Pool('simd', 1 << 20);
    const t = createRopeTables(pool.rt, 'rope', 10000, 4, 8);
    const x = pool.f32From([1, 2, 3, 4]);
    const pos = pool.i32From([3]);
    pool.k.rope_f32(x.ptr, 4, 1, 1, 4, pos.ptr, t.cosPtr, t.sinPtr);
    const a = 3;
    const b = 0.03;
    const want = [1 * Math.cos(a) - 3 * Math.sin(a), 2 * Math.cos(b) - 4 * Math.sin(b), 3 * Math.cos(a) + 1 * Math.sin(a), 4 * Math.cos(b) + 2 * Math.sin(b)];
    assertWithin(pool.f32(x), want, [4e-7, 4e-7, 4e-7, 4e-7], 'rope worked example');
  });

  test('tables: row 0 is (1, 0), column 0 is (cos pos, sin pos), and θ_j = theta^(−2j/headDim) to f32 rounding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }).map((h) => 2 * h), fc.integer({ min: 1, max: 5000 }), fc.double({ min: 2, max: 1e6, noNaN: true }), (headDim, maxPos, theta) => {
        const half = headDim / 2;
        const cos = new Float32Array(maxPos * half);
        const sin = new Float32Array(maxPos * half);
        fillRopeTables(cos, sin, theta, headDim, maxPos);
        for (let j = 0; j < half; j++) {
          assert.equal(cos[j], 1);
          assert.equal(sin[j], 0);
        }
        const rng = createRng(maxPos * 131 + headDim);
        for (let s = 0; s < 20; s++) {
          const pos = rng.nextU32() % maxPos;
          const j = rng.nextU32() % half;
          // an independent route to the same angle: exp(−(2j/headDim)·ln theta)
          const angle = pos * Math.exp((-2 * j * Math.log(theta)) / headDim);
          const slack = 2 ** -24 + pos * 1e-15; // f32 rounding of the value, f64 noise in the angle
          assert.ok(Math.abs(cos[pos * half + j] - Math.cos(angle)) <= slack, `cos[${pos}, ${j}]`);
          assert.ok(Math.abs(sin[pos * half + j] - Math.sin(angle)) <= slack, `sin[${pos}, ${j}]`);
          if (j === 0) assert.equal(cos[pos * half], Math.fround(Math.cos(pos)));
        }
      }),
      { numRuns: 40 },
    );
  });

  test('rope is a relative-position encoding: q·k after rotation depends only on the position difference', () => {
    const pool = new Pool('simd', 4 << 20);
    const headDim = 64;
    const maxPos = 4096;
    const t = createRopeTables(pool.rt, 'rope', 10000, headDim, maxPos);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 2000 }), fc.integer(), (m, p, shift, seed) => {
        const rng = createRng(seed);
        const q = uniform(rng, headDim);
        const k = uniform(rng, headDim);
        const dots: number[] = [];
        for (const d of [0, shift]) {
          const buf = pool.f32From([...q, ...k]);
          const pos = pool.i32From([m + d, p + d]);
          pool.k.rope_f32(buf.ptr, headDim, 2, 1, headDim, pos.ptr, t.cosPtr, t.sinPtr);
          const y = pool.f32(buf);
          let s = 0;
          for (let j = 0; j < headDim; j++) s += y[j] * y[headDim + j];
          dots.push(s);
        }
        // f32 tables and f32 rotation: a few u per component, headDim components of magnitude ≤ 2
        assert.ok(Math.abs(dots[0] - dots[1]) <= 64 * headDim * U, `q·k at (${m}, ${p}) vs shifted by ${shift}: ${dots[0]} vs ${dots[1]}`);
      }),
      { numRuns: 60 },
    );
  });

  test('table helpers validate theta, headDim and maxPos and size both tables', () => {
    assert.equal(ropeTableBytes(64, 10), 2 * 10 * 32 * 4);
    assert.throws(() => ropeTableBytes(63, 10), (e: unknown) => e instanceof InvalidArgumentError && /expected headDim to be an even integer >= 2, got 63/.test(e.message));
    assert.throws(() => fillRopeTables(new Float32Array(4), new Float32Array(4), 0, 4, 2), /expected theta to be a finite number > 0, got 0/);
    assert.throws(() => fillRopeTables(new Float32Array(4), new Float32Array(4), 1e4, 4, 0), /expected maxPos to be an integer >= 1, got 0/);
    assert.throws(() => fillRopeTables(new Float32Array(3), new Float32Array(4), 1e4, 4, 2), /expected tables of >= 4 floats, got cos 3 and sin 4/);
  });
});
