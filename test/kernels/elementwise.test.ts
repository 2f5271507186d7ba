// exp_f32, swiglu_f32, add_f32, softmax_f32, rmsnorm_f32 and their _ref twins, against f64
// references written here. Tolerances (u = 2^-24, first-order rounding analysis with 10 % slack):
//   exp:     |got − e| ≤ 4u·e (exp4 measures ≤ 1.2 ulp ≈ 2.4u), plus 2^-149 for subnormal results
//   swiglu:  8u·|exact| (exp 4u, 1 + E, ÷, ×)
//   add:     exactly the rounded f32 sum
//   softmax: p·u·(|x − max| + max_s |x_s − max| + count + 10) + 2^-148 (argument rounding, exp, sum, 1/sum, ×; underflow)
//   rmsnorm: ((dim + 4)/2 + 6)·u·|exact| (Σx² over dim terms, sqrt halves it, then ÷, ×, ×)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, U, assertWithin, createRng, poolCache, uniform, wide } from './harness.js';

const poolOf = poolCache();
const MIN_NORMAL = 2 ** -126;
const EXP_REL = 4 * U;

describe('kernels/elementwise', () => {
  for (const build of BUILDS) {
    const runs = build === 'simd' ? 300 : 100;

    test(`${build}: exp_f32 is within 2 ulp of Math.exp over [−104, 89], exact at 0 and the special values`, () => {
      const pool = poolOf(build);
      pool.reset();
      const count = 200_003; // a tail of 3
      const x = new Float32Array(count);
      const rng = createRng(11);
      for (let i = 0; i < count; i++) x[i] = i < 8 ? [0, -0, Infinity, -Infinity, NaN, -104, 89, 88.72][i] : -104 + 193 * rng.next();
      const xb = pool.f32From(x);
      for (const kernel of ['exp_f32', 'exp_f32_ref'] as const) {
        const out = pool.alloc(count * 4);
        pool.k[kernel](out.ptr, xb.ptr, count);
        const y = pool.f32(out);
        assert.equal(y[0], 1);
        assert.equal(y[1], 1);
        assert.equal(y[2], Infinity);
        assert.equal(y[3], 0);
        assert.ok(Number.isNaN(y[4]));
        assert.equal(y[5], 0);
        assert.equal(y[6], Infinity);
        const want = Array.from(x, (v) => (Math.fround(Math.exp(v)) === Infinity ? Infinity : Math.exp(v))); // f32 overflow is +∞
        const tol = want.map((e) => (e < MIN_NORMAL ? 2 ** -149 : 0) + EXP_REL * e);
        assertWithin(y.subarray(7), want.slice(7), tol.slice(7), `${build} ${kernel}`);
        // in place (out = x) gives the same values
        const inPlace = pool.f32From(x);
        pool.k[kernel](inPlace.ptr, inPlace.ptr, count);
        assert.deepEqual(pool.f32(inPlace).subarray(7), y.subarray(7));
      }
      pool.checkGuards();
    });

    test(`${build}: swiglu_f32 and _ref match silu(gate)·up in f64`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 700 }), fc.boolean(), fc.constantFrom('none', 'gate', 'up'), fc.integer(), (count, useWide, alias, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const gate = useWide ? wide(rng, count) : uniform(rng, count, -12, 12);
          const up = useWide ? wide(rng, count) : uniform(rng, count, -3, 3);
          const want = Array.from(gate, (g, j) => (g / (1 + Math.exp(-g))) * up[j]);
          const tol = want.map((v) => 8 * U * Math.abs(v) + 2 ** -149);
          const results: Float32Array[] = [];
          for (const kernel of ['swiglu_f32', 'swiglu_f32_ref'] as const) {
            const g = pool.f32From(gate, 4);
            const u = pool.f32From(up, 8);
            const out = alias === 'gate' ? g : alias === 'up' ? u : pool.alloc(count * 4, 12);
            pool.k[kernel](out.ptr, g.ptr, u.ptr, count);
            const got = pool.f32(out).slice();
            assertWithin(got, want, tol, `${build} ${kernel} count=${count} alias=${alias}`);
            results.push(got);
          }
          assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} swiglu_f32 vs _ref`);
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });

    test(`${build}: add_f32 and _ref give the correctly rounded f32 sum (also in place)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300 }), fc.constantFrom('none', 'a', 'b'), fc.integer(), (count, alias, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const a = wide(rng, count);
          const b = wide(rng, count);
          const want = Float32Array.from(a, (v, j) => v + b[j]);
          for (const kernel of ['add_f32', 'add_f32_ref'] as const) {
            const ab = pool.f32From(a, 4);
            const bb = pool.f32From(b);
            const out = alias === 'a' ? ab : alias === 'b' ? bb : pool.alloc(count * 4, 8);
            pool.k[kernel](out.ptr, ab.ptr, bb.ptr, count);
            assert.deepEqual(pool.f32(out), want, `${build} ${kernel} count=${count} alias=${alias}`);
          }
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });

    test(`${build}: softmax_f32 and _ref match an f64 softmax per row (−∞ entries, all −∞ rows, tails)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 400 }),
          fc.constantFrom('uniform', 'wide', 'masked', 'allMasked'),
          fc.integer(),
          (n, count, kind, seed) => {
            pool.reset();
            const rng = createRng(seed);
            const x = kind === 'wide' ? wide(rng, n * count) : uniform(rng, n * count, -12, 12);
            if (kind === 'masked') for (let j = 0; j < x.length; j++) if (rng.next() < 0.4) x[j] = -Infinity;
            if (kind === 'allMasked') x.fill(-Infinity, 0, count); // row 0 entirely −∞
            const want = new Float64Array(n * count);
            const tol = new Float64Array(n * count);
            for (let i = 0; i < n; i++) {
              const row = x.subarray(i * count, (i + 1) * count);
              const m = Math.max(...row);
              if (m === -Infinity) continue; // an all −∞ row is defined to become zeros
              let s = 0;
              let spread = 0;
              for (const v of row) {
                s += Math.exp(v - m);
                if (v > -Infinity) spread = Math.max(spread, m - v);
              }
              for (let j = 0; j < count; j++) {
                const p = Math.exp(row[j] - m) / s;
                want[i * count + j] = p;
                tol[i * count + j] = 1.1 * p * U * ((m - row[j] === Infinity ? 0 : m - row[j]) + spread + count + 10) + 2 ** -148;
              }
            }
            const results: Float32Array[] = [];
            for (const kernel of ['softmax_f32', 'softmax_f32_ref'] as const) {
              const b = pool.f32From(x, 4);
              pool.k[kernel](b.ptr, n, count);
              const got = pool.f32(b).slice();
              assertWithin(got, want, tol, `${build} ${kernel} n=${n} count=${count} ${kind}`);
              results.push(got);
            }
            assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} softmax_f32 vs _ref`);
            pool.checkGuards();
          },
        ),
        { numRuns: runs },
      );
    });

    test(`${build}: rmsnorm_f32 and _ref match (x / sqrt(mean(x²) + eps))·w in f64 (also in place)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 600 }),
          fc.constantFrom(1e-5, 1e-6, 0.5),
          fc.boolean(),
          fc.boolean(),
          fc.integer(),
          (n, dim, eps, useWide, inPlace, seed) => {
            pool.reset();
            const rng = createRng(seed);
            const x = useWide ? wide(rng, n * dim) : uniform(rng, n * dim, -4, 4);
            const w = uniform(rng, dim, -2, 2);
            const epsF = Math.fround(eps);
            const want = new Float64Array(n * dim);
            for (let i = 0; i < n; i++) {
              let ss = 0;
              for (let c = 0; c < dim; c++) ss += x[i * dim + c] ** 2;
              const s = 1 / Math.sqrt(ss / dim + epsF);
              for (let c = 0; c < dim; c++) want[i * dim + c] = x[i * dim + c] * s * w[c];
            }
            const tol = want.map((v) => 1.1 * ((dim + 4) / 2 + 6) * U * Math.abs(v) + 2 ** -149);
            const results: Float32Array[] = [];
            for (const kernel of ['rmsnorm_f32', 'rmsnorm_f32_ref'] as const) {
              const xb = pool.f32From(x, 4);
              const wb = pool.f32From(w, 8);
              const out = inPlace ? xb : pool.alloc(n * dim * 4, 12);
              pool.k[kernel](out.ptr, xb.ptr, wb.ptr, n, dim, eps);
              const got = pool.f32(out).slice();
              assertWithin(got, want, tol, `${build} ${kernel} n=${n} dim=${dim}`);
              results.push(got);
            }
            assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} rmsnorm_f32 vs _ref`);
            pool.checkGuards();
          },
        ),
        { numRuns: runs },
      );
    });
  }
});
