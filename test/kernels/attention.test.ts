// attention_f32 / attention_f32_ref against an f64 attention written here from the contract
// (src/wasm/kernels.ts): committed rows [0, cacheLen) always, staged rows [cacheLen, cacheLen + m)
// by mask (0 = causal; the n queries are the last n staged rows, m − n earlier staged rows first),
// GQA head map h → h / (nHeads / nKvHeads), heads [h0, h1) only.
//
// Tolerance per output element (u = 2^-24, first order, 50 % slack):
//   (2·(headDim + 5)·S + T + 16)·u·Σ_t p_t·|v_t|
// where S = max_t scale·Σ_d |q_d·k_td| bounds every score's rounding error ((headDim + 5)·u·S; the
// softmax sees two such errors), T = cacheLen + m bounds the rounding of the sums, 16u covers exp
// (≤ 4u), 1/Σ, the products and the score scaling.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, U, assertWithin, createRng, poolCache, uniform } from './harness.js';

interface Case {
  n: number;
  /** Staged rows (m ≥ n): the queries are the last n. */
  m: number;
  nKvHeads: number;
  group: number; // nHeads / nKvHeads
  headDim: number;
  cacheLen: number;
  extraCapacity: number;
  maskKind: 'causal' | 'tree' | 'random';
  h0: number;
  h1: number;
  /** Staged rows that no query row may attend: their K/V rows hold NaN and must never be read. */
  poisonRows: number[];
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    n: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 14 })),
    earlier: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 })),
    nKvHeads: fc.integer({ min: 1, max: 3 }),
    group: fc.constantFrom(1, 2, 4),
    headDim: fc.oneof(fc.constantFrom(4, 8, 16, 64), fc.integer({ min: 1, max: 40 }).map((h) => 2 * h)),
    cacheLen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 60 })),
    extraCapacity: fc.integer({ min: 0, max: 3 }),
    maskKind: fc.constantFrom('causal', 'tree', 'random'),
    headA: fc.nat(),
    headB: fc.nat(),
    poison: fc.boolean(),
    seed: fc.integer(),
  })
  .map((r) => {
    const nHeads = r.nKvHeads * r.group;
    const a = r.headA % (nHeads + 1);
    const b = r.headB % (nHeads + 1);
    const rng = createRng(r.seed);
    // poisoned rows only make sense when the mask is explicit (causal attends the diagonal)
    const m = r.n + r.earlier;
    const poisonRows = r.poison && r.maskKind !== 'causal' ? Array.from({ length: m }, (_, j) => j).filter(() => rng.next() < 0.3) : [];
    return { n: r.n, m, nKvHeads: r.nKvHeads, group: r.group, headDim: r.headDim, cacheLen: r.cacheLen, extraCapacity: r.extraCapacity,
      maskKind: r.maskKind, h0: Math.min(a, b), h1: Math.max(a, b), poisonRows, seed: r.seed };
  });

/** mask[i·m + j] for query i (staged row m − n + i): tree = j is that row or an ancestor (parents[r] < r); random = arbitrary bits. */
function makeMask(c: Case, rng: ReturnType<typeof createRng>): Uint8Array | null {
  const { n, m } = c;
  if (c.maskKind === 'causal') return null;
  const mask = new Uint8Array(n * m);
  if (c.maskKind === 'tree') {
    const parents = Array.from({ length: m }, (_, r) => (r === 0 ? -1 : rng.nextU32() % r));
    for (let i = 0; i < n; i++) for (let j = m - n + i; j !== -1; j = parents[j]) mask[i * m + j] = 1;
  } else {
    for (let k = 0; k < n * m; k++) mask[k] = rng.next() < 0.5 ? 1 : 0;
  }
  for (const j of c.poisonRows) for (let i = 0; i < n; i++) mask[i * m + j] = 0;
  return mask;
}

/** f64 attention from the contract; rows attending nothing give 0. Returns want and tol for heads [h0, h1). */
function attentionF64(c: Case, q: Float32Array, k: Float32Array, v: Float32Array, mask: Uint8Array | null) {
  const { n, m, nKvHeads, group, headDim, cacheLen } = c;
  const nHeads = nKvHeads * group;
  const kvDim = nKvHeads * headDim;
  const T = cacheLen + m;
  const scale = 1 / Math.sqrt(headDim);
  const want = new Float64Array(n * nHeads * headDim);
  const tol = new Float64Array(want.length);
  for (let i = 0; i < n; i++) {
    for (let h = c.h0; h < c.h1; h++) {
      const kvh = Math.floor(h / group);
      const attended: number[] = [];
      for (let t = 0; t < T; t++) {
        const j = t - cacheLen;
        if (t < cacheLen || (mask === null ? j <= m - n + i : mask[i * m + j] === 1)) attended.push(t);
      }
      const s: number[] = [];
      let S = 0;
      for (const t of attended) {
        let dot = 0;
        let mag = 0;
        for (let d = 0; d < headDim; d++) {
          const p = q[(i * nHeads + h) * headDim + d] * k[t * kvDim + kvh * headDim + d];
          dot += p;
          mag += Math.abs(p);
        }
        s.push(dot * scale);
        S = Math.max(S, mag * scale);
      }
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      const rel = 1.5 * (2 * (headDim + 5) * S + T + 16) * U;
      for (let d = 0; d < headDim; d++) {
        let o = 0;
        let om = 0;
        attended.forEach((t, a) => {
          const val = v[t * kvDim + kvh * headDim + d];
          o += (e[a] / z) * val;
          om += (e[a] / z) * Math.abs(val);
        });
        want[(i * nHeads + h) * headDim + d] = o;
        tol[(i * nHeads + h) * headDim + d] = rel * om + 2 ** -140;
      }
    }
  }
  return { want, tol };
}

const poolOf = poolCache();

describe('kernels/attention', () => {
  for (const build of BUILDS) {
    test(`${build}: attention_f32 and _ref match f64 attention (causal, tree and arbitrary masks, earlier staged rows, GQA 1/2/4, cacheLen 0 and > 0, head ranges)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb, (c) => {
          pool.reset();
          const rng = createRng(c.seed);
          const { n, m, nKvHeads, group, headDim, cacheLen } = c;
          const nHeads = nKvHeads * group;
          const qDim = nHeads * headDim;
          const kvDim = nKvHeads * headDim;
          const capacity = cacheLen + m + c.extraCapacity;
          const q = uniform(rng, n * qDim, -2, 2);
          const k = uniform(rng, capacity * kvDim, -2, 2);
          const v = uniform(rng, capacity * kvDim, -3, 3);
          const mask = makeMask(c, rng);
          // rows past cacheLen + m, and staged rows nobody attends, are NaN: reading them would show
          const poisonRow = (a: Float32Array, t: number) => a.fill(NaN, t * kvDim, (t + 1) * kvDim);
          for (let t = cacheLen + m; t < capacity; t++) {
            poisonRow(k, t);
            poisonRow(v, t);
          }
          for (const j of c.poisonRows) {
            poisonRow(k, cacheLen + j);
            poisonRow(v, cacheLen + j);
          }
          const { want, tol } = attentionF64(c, q, k, v, mask);
          const qb = pool.f32From(q, 4);
          const kb = pool.f32From(k);
          const vb = pool.f32From(v, 8);
          const mb = mask === null ? null : pool.u8From(mask);
          const results: Float64Array[] = [];
          for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
            const scores = pool.alloc((cacheLen + m) * 4);
            const out = pool.alloc(n * qDim * 4, 12);
            pool.k[kernel](out.ptr, qb.ptr, kb.ptr, vb.ptr, scores.ptr, mb === null ? 0 : mb.ptr, n, m, nHeads, nKvHeads, headDim, cacheLen, c.h0, c.h1);
            const bits = pool.u32(out);
            const y = pool.f32(out);
            const got = new Float64Array(want.length);
            for (let i = 0; i < n; i++) {
              for (let h = 0; h < nHeads; h++) {
                for (let d = 0; d < headDim; d++) {
                  const at = (i * nHeads + h) * headDim + d;
                  if (h >= c.h0 && h < c.h1) got[at] = y[at];
                  else assert.equal(bits[at], POISON_BITS, `${kernel} wrote head ${h} outside [${c.h0}, ${c.h1})`);
                }
              }
            }
            assertWithin(got, want, tol, `${build} ${kernel} ${JSON.stringify(c)}`);
            results.push(got);
          }
          assertWithin(results[0], results[1], tol.map((t) => 2 * t), `${build} attention_f32 vs _ref`);
          pool.checkGuards();
        }),
        { numRuns: build === 'simd' ? 400 : 150 },
      );
    });
  }

  test('one query row over a single cached key returns that key\'s value row exactly; no attendable row gives zeros', () => {
    const pool = poolOf('simd');
    pool.reset();
    const headDim = 6;
    // nHeads 2 over 1 KV head: both heads read the same K/V row
    const q = pool.f32From([1, 2, 3, 4, 5, 6, -1, 0, 1, 0, -1, 2]);
    const k = pool.f32From([0.5, 0.25, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9]);
    const v = pool.f32From([7, -8, 9, 10, 11, -12, 0, 0, 0, 0, 0, 0]);
    const scores = pool.alloc(2 * 4);
    const out = pool.alloc(12 * 4);
    const emptyMask = pool.u8From([0]);
    for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
      pool.k[kernel](out.ptr, q.ptr, k.ptr, v.ptr, scores.ptr, emptyMask.ptr, 1, 1, 2, 1, headDim, 1, 0, 2);
      assert.deepEqual(Array.from(pool.f32(out)), [7, -8, 9, 10, 11, -12, 7, -8, 9, 10, 11, -12], kernel);
      pool.k[kernel](out.ptr, q.ptr, k.ptr, v.ptr, scores.ptr, emptyMask.ptr, 1, 1, 2, 1, headDim, 0, 0, 2);
      assert.deepEqual(Array.from(pool.f32(out)), new Array(12).fill(0), `${kernel} with nothing to attend`);
    }
    pool.checkGuards();
  });
});
