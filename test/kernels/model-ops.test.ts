// The kernels the architectures beyond Llama need (assembly/activations.ts) and their _ref twins,
// against f64 references written here, as fast-check properties over sizes, tails and aliasing:
//   geglu_tanh_f32   gelu_tanh(gate)·up (Gemma's MLP)
//   softcap_f32      cap·tanh(x/cap) (Gemma-2's final logit soft-capping; attention's is tested with attention_f32)
//   scale_f32        x·s (Gemma's √dim embedding scale): the correctly rounded product
//   add_bias_f32     x[i, :] += b (Qwen2's q/k/v biases, Llama's attention_bias / mlp_bias): the rounded sum
//   rmsnorm_f32      as the per-head norm (Qwen3 / Gemma-3 q_norm, k_norm): rows of [n·heads, headDim]
// Tolerances (u = 2^-24, first order, with slack):
//   geglu: (8 + 6|y|)·u·|exact| + 2u·|gate·up|, y = 2·√(2/π)·(g + 0.044715·g³): the argument's rounding
//          moves σ(y) by ≤ |Δy| relatively; the twin's tanh form loses 1 + tanh(·) near −1 absolutely
//   softcap: 16u·|exact| + 2u·|x| (x/cap rounding, tanh within a few ulp, ×cap)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, U, assertWithin, createRng, poolCache, uniform, wide } from './harness.js';

const poolOf = poolCache();
const GELU_C = Math.sqrt(2 / Math.PI);

describe('kernels/model-ops', () => {
  for (const build of BUILDS) {
    const runs = build === 'simd' ? 300 : 100;

    test(`${build}: geglu_tanh_f32 and _ref match gelu_tanh(gate)·up in f64 (in place too)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 700 }), fc.boolean(), fc.constantFrom('none', 'gate', 'up'), fc.integer(), (count, useWide, alias, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const gate = useWide ? wide(rng, count) : uniform(rng, count, -12, 12);
          const up = useWide ? wide(rng, count) : uniform(rng, count, -3, 3);
          const want = Array.from(gate, (g, j) => 0.5 * g * (1 + Math.tanh(GELU_C * (g + 0.044715 * g ** 3))) * up[j]);
          const tol = Array.from(gate, (g, j) => {
            const y = 2 * GELU_C * (g + 0.044715 * g ** 3);
            return (8 + 6 * Math.abs(y)) * U * Math.abs(want[j]) + 2 * U * Math.abs(g * up[j]) + 2 ** -149;
          });
          const results: Float32Array[] = [];
          for (const kernel of ['geglu_tanh_f32', 'geglu_tanh_f32_ref'] as const) {
            const g = pool.f32From(gate, 4);
            const u = pool.f32From(up, 8);
            const out = alias === 'gate' ? g : alias === 'up' ? u : pool.alloc(count * 4, 12);
            pool.k[kernel](out.ptr, g.ptr, u.ptr, count);
            const got = pool.f32(out).slice();
            assertWithin(got, want, tol, `${build} ${kernel} count=${count} alias=${alias}`);
            results.push(got);
          }
          assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} geglu_tanh_f32 vs _ref`);
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });

    test(`${build}: geglu_tanh_f32 is gelu_tanh·up at known points (0, ±1, ±3, large |g|)`, () => {
      const pool = poolOf(build);
      pool.reset();
      const gate = [0, 1, -1, 3, -3, 20, -20, 0.001];
      const up = [5, 1, 1, 2, 2, 1, 1, 1];
      // PyTorch's gelu(approximate="tanh") at these points, in f64 from the definition
      const want = gate.map((g, j) => 0.5 * g * (1 + Math.tanh(GELU_C * (g + 0.044715 * g ** 3))) * up[j]);
      for (const kernel of ['geglu_tanh_f32', 'geglu_tanh_f32_ref'] as const) {
        const out = pool.alloc(gate.length * 4);
        pool.k[kernel](out.ptr, pool.f32From(gate).ptr, pool.f32From(up).ptr, gate.length);
        const got = Array.from(pool.f32(out));
        assert.equal(got[0], 0);
        assert.equal(got[5], 20, 'gelu(20) = 20 in f32');
        // relative 4e-7, and 2u·|g·up| for the twin's 1 + tanh(·) near −1
        assertWithin(got, want, want.map((w, j) => 4e-7 * Math.abs(w) + 2 * U * Math.abs(gate[j] * up[j]) + 1e-30), `${build} ${kernel}`);
      }
      pool.checkGuards();
    });

    test(`${build}: softcap_f32 and _ref match cap·tanh(x/cap) in f64 (small, mid and saturating arguments)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 600 }), fc.constantFrom(0.5, 1, 30, 50), fc.constantFrom('wide', 'uniform', 'huge'), fc.integer(), (count, cap, kind, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const x = kind === 'wide' ? wide(rng, count) : kind === 'uniform' ? uniform(rng, count, -4 * cap, 4 * cap) : uniform(rng, count, -1e4, 1e4);
          const want = Array.from(x, (v) => cap * Math.tanh(v / cap));
          const tol = Array.from(x, (v, j) => 16 * U * Math.abs(want[j]) + 2 * U * Math.abs(v) + 2 ** -149);
          const results: Float32Array[] = [];
          for (const kernel of ['softcap_f32', 'softcap_f32_ref'] as const) {
            const b = pool.f32From(x, 4);
            pool.k[kernel](b.ptr, count, cap);
            const got = pool.f32(b).slice();
            assertWithin(got, want, tol, `${build} ${kernel} count=${count} cap=${cap}`);
            for (const v of got) assert.ok(Math.abs(v) <= cap, `${kernel}: |${v}| > cap ${cap}`);
            results.push(got);
          }
          assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} softcap_f32 vs _ref`);
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });

    test(`${build}: scale_f32 and _ref give the correctly rounded product (also in place)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.double({ min: -100, max: 100, noNaN: true }), fc.integer(), (count, inPlace, s0, seed) => {
          pool.reset();
          const s = Math.fround(s0);
          const x = wide(createRng(seed), count);
          const want = Float32Array.from(x, (v) => v * s);
          for (const kernel of ['scale_f32', 'scale_f32_ref'] as const) {
            const xb = pool.f32From(x, 4);
            const out = inPlace ? xb : pool.alloc(count * 4, 8);
            pool.k[kernel](out.ptr, xb.ptr, count, s);
            assert.deepEqual(pool.f32(out), want, `${build} ${kernel} count=${count} s=${s}`);
          }
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });

    test(`${build}: add_bias_f32 and _ref add b to every row (the rounded sums; rows outside n untouched)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 130 }), fc.integer(), (n, cols, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const x = wide(rng, (n + 1) * cols); // one row more than the kernel is given
          const b = wide(rng, cols);
          const want = Float32Array.from(x, (v, at) => (at < n * cols ? v + b[at % cols] : v));
          for (const kernel of ['add_bias_f32', 'add_bias_f32_ref'] as const) {
            const xb = pool.f32From(x, 4);
            pool.k[kernel](xb.ptr, pool.f32From(b, 8).ptr, n, cols);
            assert.deepEqual(pool.f32(xb), want, `${build} ${kernel} n=${n} cols=${cols}`);
          }
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });

    test(`${build}: rmsnorm_f32 as the per-head norm normalises each head of each row separately with one [headDim] weight`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 40 }).map((h) => 2 * h), fc.integer(), (n, heads, headDim, seed) => {
          pool.reset();
          const rng = createRng(seed);
          const x = uniform(rng, n * heads * headDim, -3, 3);
          const w = uniform(rng, headDim, 0.5, 1.5);
          const eps = 1e-6;
          const want = new Float64Array(x.length);
          for (let r = 0; r < n * heads; r++) {
            let ss = 0;
            for (let d = 0; d < headDim; d++) ss += x[r * headDim + d] ** 2;
            const s = 1 / Math.sqrt(ss / headDim + eps);
            for (let d = 0; d < headDim; d++) want[r * headDim + d] = x[r * headDim + d] * s * w[d];
          }
          const tol = Array.from(want, (v) => ((headDim + 4) / 2 + 6) * 1.1 * U * Math.abs(v) + 2 ** -149);
          for (const kernel of ['rmsnorm_f32', 'rmsnorm_f32_ref'] as const) {
            const xb = pool.f32From(x);
            pool.k[kernel](xb.ptr, xb.ptr, pool.f32From(w).ptr, n * heads, headDim, eps);
            assertWithin(pool.f32(xb), want, tol, `${build} ${kernel} n=${n} heads=${heads} headDim=${headDim}`);
          }
          pool.checkGuards();
        }),
        { numRuns: runs },
      );
    });
  }
});
