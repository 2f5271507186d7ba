// attention_f32 / attention_f32_ref against an f64 attention written here from the contract
// (src/wasm/kernels.ts): committed rows [0, cacheLen) always, staged rows [cacheLen, cacheLen + m)
// by mask (0 = causal; the n queries are the last n staged rows, m − n earlier staged rows first),
// GQA head map h → h / (nHeads / nKvHeads), heads [h0, h1) only; an explicit score scale, soft-capping
// cap·tanh(s/cap), and a sliding window over positions (committed row t at position t, staged row j
// at pos[j]; a query at P sees keys at p with P − p < window).
//
// Tolerance per output element (u = 2^-24, first order, 50 % slack):
//   (2·(headDim + 5)·S + 16·cap + T + 16)·u·Σ_t p_t·|v_t|
// where S = max_t scale·Σ_d |q_d·k_td| bounds every score's rounding error ((headDim + 5)·u·S; the
// softmax sees two such errors; tanh has slope ≤ 1, so capping does not grow them), 16·cap·u covers
// tanh (a few ulp of a value ≤ cap), T = cacheLen + m bounds the rounding of the sums, 16u covers exp
// (≤ 4u), 1/Σ, the products and the score scaling.
//
// attention_f32 has two paths (assembly/attention.ts): blocks of 4 query vectors (row, head) of one
// KV head, one per SIMD lane, and one vector at a time for the 1–3 vectors of a KV head's group
// that do not fill a block (decode, multi-head attention). The shapes below make every kind of
// block (lanes from one or several rows, GQA groups of 1–4 split by head ranges, padded lanes when
// a range splits a group), both paths, odd and even head sizes (4-float chunks with 1–3 float
// tails, 8-float chunks), committed rows in tiles of 4 with 0–3 left over, and staged rows in
// groups of 4 with tails. Further tests: the shared-memory builds give the same bits, a call split
// by heads gives the same bits as the whole call (threads), an output never depends on a staged
// row its query row does not attend even when another lane of its block does, and the documented
// flush of weights below e^-64.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILDS, POISON_BITS, U, assertWithin, createRng, poolCache, uniform } from './harness.js';
import { f16ToF32, f32BitsToF16Bits } from '../../src/weights/f16.js';

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
  /** Multiplies 1/sqrt(headDim) into the score scale. */
  scaleMul: number;
  /** Soft-capping of scores (0: none). */
  softcap: number;
  /** Sliding window in positions (0: none). */
  window: number;
  seed: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    n: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 14 })),
    earlier: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 })),
    nKvHeads: fc.integer({ min: 1, max: 3 }),
    group: fc.constantFrom(1, 2, 3, 4),
    headDim: fc.oneof(fc.constantFrom(4, 8, 16, 64), fc.integer({ min: 1, max: 40 }).map((h) => 2 * h), fc.integer({ min: 0, max: 7 }).map((h) => 2 * h + 1)),
    cacheLen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 60 }), fc.integer({ min: 61, max: 200 })),
    extraCapacity: fc.integer({ min: 0, max: 3 }),
    maskKind: fc.constantFrom('causal', 'tree', 'random'),
    headA: fc.nat(),
    headB: fc.nat(),
    poison: fc.boolean(),
    scaleMul: fc.constantFrom(1, 1, 0.75),
    softcap: fc.constantFrom(0, 0, 0.8, 20),
    window: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 120 })),
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
      maskKind: r.maskKind, h0: Math.min(a, b), h1: Math.max(a, b), poisonRows, scaleMul: r.scaleMul, softcap: r.softcap, window: r.window, seed: r.seed };
  });

/**
 * mask[i·m + j] for query i (staged row m − n + i): tree = j is that row or an ancestor (parents[r] < r);
 * random = arbitrary bits. Positions of the staged rows: cacheLen + j (causal), cacheLen + depth (tree),
 * cacheLen + anything below m (random).
 */
function makeMask(c: Case, rng: ReturnType<typeof createRng>): { mask: Uint8Array | null; pos: Int32Array } {
  const { n, m, cacheLen } = c;
  const pos = Int32Array.from({ length: m }, (_, j) => cacheLen + j);
  if (c.maskKind === 'causal') return { mask: null, pos };
  const mask = new Uint8Array(n * m);
  if (c.maskKind === 'tree') {
    const parents = Array.from({ length: m }, (_, r) => (r === 0 ? -1 : rng.nextU32() % r));
    for (let j = 0; j < m; j++) pos[j] = j === 0 ? cacheLen : pos[parents[j]] + 1;
    for (let i = 0; i < n; i++) for (let j = m - n + i; j !== -1; j = parents[j]) mask[i * m + j] = 1;
  } else {
    for (let j = 0; j < m; j++) pos[j] = cacheLen + (rng.nextU32() % m);
    for (let k = 0; k < n * m; k++) mask[k] = rng.next() < 0.5 ? 1 : 0;
  }
  for (const j of c.poisonRows) for (let i = 0; i < n; i++) mask[i * m + j] = 0;
  return { mask, pos };
}

/** The score scale of a case. */
const scaleOf = (c: Case): number => Math.fround(c.scaleMul / Math.sqrt(c.headDim));

/** f64 attention from the contract; rows attending nothing give 0. Returns want and tol for heads [h0, h1). */
function attentionF64(c: Case, q: Float32Array, k: Float32Array, v: Float32Array, mask: Uint8Array | null, pos: Int32Array) {
  const { n, m, nKvHeads, group, headDim, cacheLen } = c;
  const nHeads = nKvHeads * group;
  const kvDim = nKvHeads * headDim;
  const T = cacheLen + m;
  const scale = scaleOf(c);
  const want = new Float64Array(n * nHeads * headDim);
  const tol = new Float64Array(want.length);
  for (let i = 0; i < n; i++) {
    for (let h = c.h0; h < c.h1; h++) {
      const kvh = Math.floor(h / group);
      const attended: number[] = [];
      const P = pos[m - n + i];
      for (let t = 0; t < T; t++) {
        const j = t - cacheLen;
        if (!(t < cacheLen || (mask === null ? j <= m - n + i : mask[i * m + j] === 1))) continue;
        if (c.window > 0 && P - (t < cacheLen ? t : pos[j]) >= c.window) continue;
        attended.push(t);
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
        s.push(c.softcap > 0 ? c.softcap * Math.tanh((dot * scale) / c.softcap) : dot * scale);
        S = Math.max(S, mag * scale);
      }
      const mx = Math.max(...s);
      const e = s.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      const rel = 1.5 * (2 * (headDim + 5) * S + 16 * c.softcap + T + 16) * U;
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
type Pool = ReturnType<typeof poolOf>;
type Kernel = 'attention_f32' | 'attention_f32_ref' | 'attention_f16' | 'attention_f16_ref';

interface Inputs {
  q: Float32Array; // [n, nHeads·headDim]
  k: Float32Array; // [capacity, kvDim]
  v: Float32Array; // [capacity, kvDim]
  mask: Uint8Array | null; // [n, m] or causal
  pos: Int32Array; // [m] positions of the staged rows
}

/**
 * Random q, k, v and mask for a case; rows past cacheLen + m, the poisoned staged rows and (with a
 * window) the committed rows before every query's window hold NaN (reading them would show).
 */
function makeInputs(c: Case): Inputs {
  const rng = createRng(c.seed);
  const { n, m, nKvHeads, group, headDim, cacheLen } = c;
  const qDim = nKvHeads * group * headDim;
  const kvDim = nKvHeads * headDim;
  const capacity = cacheLen + m + c.extraCapacity;
  const q = uniform(rng, n * qDim, -2, 2);
  const k = uniform(rng, capacity * kvDim, -2, 2);
  const v = uniform(rng, capacity * kvDim, -3, 3);
  const { mask, pos } = makeMask(c, rng);
  const poisonRow = (a: Float32Array, t: number) => a.fill(NaN, t * kvDim, (t + 1) * kvDim);
  if (c.window > 0) {
    let lo = Infinity;
    for (let i = 0; i < n; i++) lo = Math.min(lo, pos[m - n + i] - c.window + 1);
    for (let t = 0; t < Math.min(lo, cacheLen); t++) {
      poisonRow(k, t);
      poisonRow(v, t);
    }
  }
  for (let t = cacheLen + m; t < capacity; t++) {
    poisonRow(k, t);
    poisonRow(v, t);
  }
  for (const j of c.poisonRows) {
    poisonRow(k, cacheLen + j);
    poisonRow(v, cacheLen + j);
  }
  return { q, k, v, mask, pos };
}

/** An f16 KV cache: bit patterns (u16) of k and v, and their values widened back to f32. */
interface F16Cache {
  k: Uint16Array;
  v: Uint16Array;
  /** The inputs with k and v replaced by the cache's values (NaN where the cache holds NaN bits). */
  widened: Inputs;
}

/**
 * The inputs' K and V rounded to f16 (nearest even). Rows poisoned with NaN keep NaN bits (0x7e00):
 * the f16 kernels cannot tell them from a finite value (they widen finite values only), so a read of
 * one would change the output's bits against attention_f32 on the widened cache, which holds NaN there.
 * `scaleKv` multiplies the values first (a case can reach f16's subnormal range and its largest values).
 */
function toF16Cache(inp: Inputs, scaleKv = 1): F16Cache {
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  const round = (a: Float32Array) => {
    const h = new Uint16Array(a.length);
    const w = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) {
      f[0] = a[i]! * scaleKv;
      h[i] = f32BitsToF16Bits(bits[0]!);
      w[i] = f16ToF32(h[i]!);
    }
    return { h, w };
  };
  const k = round(inp.k);
  const v = round(inp.v);
  return { k: k.h, v: v.h, widened: { ...inp, k: k.w, v: v.w } };
}

/** Rows [rows, nKv·headDim] rearranged head-major, [nKv][rows][headDim] (the engine's cache layout). */
function headMajor<T extends Float32Array | Uint16Array>(a: T, rows: number, nKv: number, headDim: number): T {
  const out = a.slice() as T;
  for (let t = 0; t < rows; t++) {
    for (let g = 0; g < nKv; g++) out.set(a.subarray((t * nKv + g) * headDim, (t * nKv + g + 1) * headDim), (g * rows + t) * headDim);
  }
  return out;
}

/**
 * Run one kernel on heads [h0, h1) with exactly the documented scratch (4·(cacheLen + m + headDim)
 * f32, guarded) into a poisoned output; returns a copy of the output bits.
 */
function runKernel(pool: Pool, c: Case, inp: Inputs, kernel: Kernel, h0 = c.h0, h1 = c.h1, cache?: F16Cache, headRows = 0): Uint32Array {
  const { n, m, nKvHeads, group, headDim, cacheLen } = c;
  const nHeads = nKvHeads * group;
  const qb = pool.f32From(inp.q, 4);
  const f16 = kernel.startsWith('attention_f16');
  if (f16 !== (cache !== undefined)) throw new Error(`${kernel}: an f16 cache goes with the f16 kernels only`);
  const kb = cache !== undefined ? pool.u16From(cache.k) : pool.f32From(inp.k);
  const vb = cache !== undefined ? pool.u16From(cache.v, 6) : pool.f32From(inp.v, 8);
  const mb = inp.mask === null ? null : pool.u8From(inp.mask);
  const pb = pool.i32From(inp.pos);
  const scores = pool.alloc((4 * (cacheLen + m + headDim) + (f16 ? 2 * (cacheLen + m) * headDim : 0)) * 4);
  const out = pool.alloc(n * nHeads * headDim * 4, 12);
  pool.k[kernel](out.ptr, qb.ptr, kb.ptr, vb.ptr, scores.ptr, mb === null ? 0 : mb.ptr, c.window > 0 ? pb.ptr : 0, n, m, nHeads, nKvHeads, headDim, cacheLen, h0, h1,
    scaleOf(c), c.softcap, c.window, headRows);
  return pool.u32(out).slice();
}

/** The outputs of heads [c.h0, c.h1) as numbers (0 elsewhere), after checking no other head was written. */
function headsOf(c: Case, bits: Uint32Array, what: string): Float64Array {
  const nHeads = c.nKvHeads * c.group;
  const y = new Float32Array(bits.buffer, bits.byteOffset, bits.length);
  const got = new Float64Array(bits.length);
  for (let i = 0; i < c.n; i++) {
    for (let h = 0; h < nHeads; h++) {
      for (let d = 0; d < c.headDim; d++) {
        const at = (i * nHeads + h) * c.headDim + d;
        if (h >= c.h0 && h < c.h1) got[at] = y[at];
        else assert.equal(bits[at], POISON_BITS, `${what} wrote head ${h} outside [${c.h0}, ${c.h1})`);
      }
    }
  }
  return got;
}

describe('kernels/attention', () => {
  for (const build of BUILDS) {
    test(`${build}: attention_f32 and _ref match f64 attention (causal, tree and arbitrary masks, earlier staged rows, GQA 1–4, odd and even head sizes, cacheLen 0 to 200, head ranges, score scales, soft-capping, sliding windows)`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb, (c) => {
          pool.reset();
          const inp = makeInputs(c);
          const { want, tol } = attentionF64(c, inp.q, inp.k, inp.v, inp.mask, inp.pos);
          const results: Float64Array[] = [];
          for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
            const got = headsOf(c, runKernel(pool, c, inp, kernel), `${build} ${kernel}`);
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

  test('the shared-memory builds give the same bits: simd-mt as simd, relaxed-mt as relaxed', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const inp = makeInputs(c);
        for (const [mt, single] of [['simd-mt', 'simd'], ['relaxed-mt', 'relaxed']] as const) {
          const a = poolOf(mt);
          a.reset();
          assert.ok(a.rt.memory.buffer instanceof SharedArrayBuffer);
          const b = poolOf(single);
          b.reset();
          assert.deepEqual(runKernel(a, c, inp, 'attention_f32'), runKernel(b, c, inp, 'attention_f32'), `${mt} ${JSON.stringify(c)}`);
          a.checkGuards();
        }
      }),
      { numRuns: 40 },
    );
  });

  test('a call split by heads (as threads split them, also inside a GQA group) gives the bits of the whole call (f32 and f16 caches)', () => {
    const pool = poolOf('simd');
    fc.assert(
      fc.property(caseArb, fc.nat(), (c0, splitSeed) => {
        const nHeads = c0.nKvHeads * c0.group;
        fc.pre(nHeads > 1);
        const c = { ...c0, h0: 0, h1: nHeads };
        const split = 1 + (splitSeed % (nHeads - 1));
        pool.reset();
        const inp = makeInputs(c);
        const f16 = toF16Cache(inp);
        for (const kernel of ['attention_f32', 'attention_f32_ref', 'attention_f16', 'attention_f16_ref'] as const) {
          const cache = kernel.startsWith('attention_f16') ? f16 : undefined;
          const whole = runKernel(pool, c, inp, kernel, 0, nHeads, cache);
          const lo = runKernel(pool, c, inp, kernel, 0, split, cache);
          const hi = runKernel(pool, c, inp, kernel, split, nHeads, cache);
          const joined = new Uint32Array(whole.length);
          for (let at = 0; at < whole.length; at++) joined[at] = Math.floor(at / c.headDim) % nHeads < split ? lo[at] : hi[at];
          assert.deepEqual(joined, whole, `${kernel} split at head ${split} ${JSON.stringify(c)}`);
        }
        pool.checkGuards();
      }),
      { numRuns: 100 },
    );
  });

  for (const build of BUILDS) {
    test(`${build}: no output depends on a staged row its query row does not attend, even when another query row of its block does`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb, fc.integer(), (c0, seed) => {
          fc.pre(c0.n >= 2);
          const c = { ...c0, poisonRows: [], window: 0 }; // every owner sees its row
          const rng = createRng(seed);
          const inp = makeInputs(c);
          const { n, m, nKvHeads, group, headDim, cacheLen } = c;
          const kvDim = nKvHeads * headDim;
          // some staged rows get a single owner (the only query row attending them) and a NaN key
          // or value row; causal masks have one such row already: the last one, owned by row n − 1
          const owners = new Map<number, number>();
          if (inp.mask === null) owners.set(m - 1, n - 1);
          else {
            for (let j = 0; j < m; j++) {
              if (rng.next() >= 0.4) continue;
              const owner = rng.nextU32() % n;
              for (let i = 0; i < n; i++) inp.mask[i * m + j] = i === owner ? 1 : 0;
              owners.set(j, owner);
            }
          }
          fc.pre(owners.size > 0);
          const sick = new Set<number>();
          for (const [j, owner] of owners) {
            const row = rng.next() < 0.5 ? inp.k : inp.v;
            row.fill(NaN, (cacheLen + j) * kvDim, (cacheLen + j + 1) * kvDim);
            sick.add(owner);
          }
          pool.reset();
          const { want, tol } = attentionF64(c, inp.q, inp.k, inp.v, inp.mask, inp.pos);
          const rowSize = nKvHeads * group * headDim;
          for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
            const got = headsOf(c, runKernel(pool, c, inp, kernel), `${build} ${kernel}`);
            for (let i = 0; i < n; i++) {
              const at = i * rowSize;
              const g = got.subarray(at + c.h0 * headDim, at + c.h1 * headDim);
              if (sick.has(i)) assert.ok(g.every(Number.isNaN), `${build} ${kernel}: row ${i} attends a NaN row, its output must be NaN`);
              else {
                const a = at + c.h0 * headDim, b = at + c.h1 * headDim;
                assertWithin(g, want.subarray(a, b), tol.subarray(a, b), `${build} ${kernel} row ${i} (NaN rows owned by ${[...sick]}) ${JSON.stringify(c)}`);
              }
            }
          }
          pool.checkGuards();
        }),
        { numRuns: build === 'simd' ? 200 : 60 },
      );
    });
  }

  test('attention_f32 drops weights below e^-64 of the largest (documented; lane blocks and single vectors), the scalar twin keeps them', () => {
    const pool = poolOf('simd');
    // n identical query rows (headDim 4, scale 1/2) over two cached keys with scores 0 and −gap; their
    // staged rows are masked out. v0 = 0 in dims 1..3, so those output dims are the small weight
    // times v1. n = 1 takes the one-vector path, n = 4 fills one block of 4 lanes.
    for (const n of [1, 4]) {
      for (const gap of [60, 63.5, 64.5, 70]) {
        pool.reset();
        const q = pool.f32From(Array.from({ length: n }, () => [2, 0, 0, 0]).flat());
        const k = pool.f32From([0, 0, 0, 0, -gap, 0, 0, 0, ...new Array(4 * n).fill(NaN)]);
        const v = pool.f32From([1, 0, 0, 0, 0, 1, -2, 4, ...new Array(4 * n).fill(NaN)]);
        const mask = pool.u8From(new Array(n * n).fill(0));
        const scores = pool.alloc(4 * (2 + n + 4) * 4);
        const out = pool.alloc(n * 4 * 4);
        const w = Math.exp(-gap) / (1 + Math.exp(-gap));
        const row = [1 / (1 + Math.exp(-gap)), w, -2 * w, 4 * w];
        for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
          pool.k[kernel](out.ptr, q.ptr, k.ptr, v.ptr, scores.ptr, mask.ptr, 0, n, n, 1, 1, 4, 2, 0, 1, 0.5, 0, 0, 0);
          const got = Array.from(pool.f32(out));
          const want = (kernel === 'attention_f32' && gap > 64 ? [1, 0, 0, 0] : row);
          assertWithin(got, Array(n).fill(want).flat(), Array(n).fill(want.map((x) => 8 * U * Math.abs(x))).flat(), `${kernel} n=${n} gap ${gap}`);
          if (kernel === 'attention_f32' && gap > 64) assert.deepEqual(got, Array(n).fill([1, 0, 0, 0]).flat(), `${kernel} n=${n} gap ${gap}: exactly v0`);
        }
        pool.checkGuards();
      }
    }
  });

  test('one query row over a single cached key returns that key\'s value row exactly; no attendable row gives zeros', () => {
    const pool = poolOf('simd');
    pool.reset();
    const headDim = 6;
    // nHeads 2 over 1 KV head: both heads read the same K/V row
    const q = pool.f32From([1, 2, 3, 4, 5, 6, -1, 0, 1, 0, -1, 2]);
    const k = pool.f32From([0.5, 0.25, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9]);
    const v = pool.f32From([7, -8, 9, 10, 11, -12, 0, 0, 0, 0, 0, 0]);
    const scores = pool.alloc(4 * (1 + 1 + headDim) * 4);
    const out = pool.alloc(12 * 4);
    const emptyMask = pool.u8From([0]);
    for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
      pool.k[kernel](out.ptr, q.ptr, k.ptr, v.ptr, scores.ptr, emptyMask.ptr, 0, 1, 1, 2, 1, headDim, 1, 0, 2, 1 / Math.sqrt(headDim), 0, 0, 0);
      assert.deepEqual(Array.from(pool.f32(out)), [7, -8, 9, 10, 11, -12, 7, -8, 9, 10, 11, -12], kernel);
      pool.k[kernel](out.ptr, q.ptr, k.ptr, v.ptr, scores.ptr, emptyMask.ptr, 0, 1, 1, 2, 1, headDim, 0, 0, 2, 1 / Math.sqrt(headDim), 0, 0, 0);
      assert.deepEqual(Array.from(pool.f32(out)), new Array(12).fill(0), `${kernel} with nothing to attend`);
    }
    pool.checkGuards();
  });
  for (const build of BUILDS) {
    test(`${build}: attention_f16 on an f16 cache gives the bits of attention_f32 on that cache widened (and the scalar twins likewise), unattended NaN rows never read`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb, fc.constantFrom(1, 1, 2 ** -14, 3000, 16000), (c, scaleKv) => {
          pool.reset();
          const inp = makeInputs(c);
          const cache = toF16Cache(inp, scaleKv);
          for (const [f16, f32] of [['attention_f16', 'attention_f32'], ['attention_f16_ref', 'attention_f32_ref']] as const) {
            const got = runKernel(pool, c, inp, f16, c.h0, c.h1, cache);
            const want = runKernel(pool, c, cache.widened, f32);
            assert.deepEqual(got, want, `${build} ${f16} vs ${f32} (values ×${scaleKv}) ${JSON.stringify(c)}`);
          }
          pool.checkGuards();
        }),
        { numRuns: build === 'simd' ? 300 : 100 },
      );
    });
  }

  test('kv_store_f16 rounds to nearest even as ggml does and counts what f16 cannot hold', () => {
    const pool = poolOf('simd');
    pool.reset();
    const rng = createRng(7);
    // ties, subnormals, the largest finite values and the first that round to Inf, NaN, signed zeros, random magnitudes
    const special = [0, -0, 1, -1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, -65520, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -26,
      2 ** -14 - 2 ** -25, NaN, Infinity, -Infinity, 1e-30, 1e30];
    const values = Float32Array.from([...special, ...Array.from({ length: 2000 }, () => (rng.next() - 0.5) * 2 ** (rng.nextU32() % 46 - 30))]); // below 2^15: finite
    const src = pool.f32From(values);
    const dst = pool.alloc(values.length * 2);
    const bad = pool.k.kv_store_f16(dst.ptr, src.ptr, values.length, 1, 1, values.length);
    const got = new Uint16Array(pool.rt.memory.buffer, dst.ptr, values.length);
    const bits = new Uint32Array(values.buffer);
    let nonFinite = 0;
    for (let i = 0; i < values.length; i++) {
      const want = f32BitsToF16Bits(bits[i]!);
      if ((want & 0x7c00) === 0x7c00) nonFinite++;
      assert.equal(got[i], want, `value ${values[i]}`);
    }
    assert.equal(bad, nonFinite);
    assert.equal(nonFinite, 6); // 65520, -65520, NaN, ±Infinity, 1e30
    pool.checkGuards();
  });
  for (const build of BUILDS) {
    test(`${build}: a head-major cache ([heads][rows][headDim], the engine's layout) gives the bits of the row-major one, f32 and f16, SIMD and scalar`, () => {
      const pool = poolOf(build);
      fc.assert(
        fc.property(caseArb, (c) => {
          pool.reset();
          const inp = makeInputs(c);
          const rows = c.cacheLen + c.m + c.extraCapacity;
          const hm = { ...inp, k: headMajor(inp.k, rows, c.nKvHeads, c.headDim), v: headMajor(inp.v, rows, c.nKvHeads, c.headDim) };
          const cache = toF16Cache(inp);
          const cacheHm = { ...cache, k: headMajor(cache.k, rows, c.nKvHeads, c.headDim), v: headMajor(cache.v, rows, c.nKvHeads, c.headDim) };
          for (const kernel of ['attention_f32', 'attention_f32_ref'] as const) {
            assert.deepEqual(runKernel(pool, c, hm, kernel, c.h0, c.h1, undefined, rows), runKernel(pool, c, inp, kernel), `${build} ${kernel} ${JSON.stringify(c)}`);
          }
          for (const kernel of ['attention_f16', 'attention_f16_ref'] as const) {
            assert.deepEqual(runKernel(pool, c, inp, kernel, c.h0, c.h1, cacheHm, rows), runKernel(pool, c, inp, kernel, c.h0, c.h1, cache), `${build} ${kernel} ${JSON.stringify(c)}`);
          }
          pool.checkGuards();
        }),
        { numRuns: build === 'simd' ? 200 : 80 },
      );
    });
  }

  test('kv_store_f32 and kv_store_f16 put row i of head g at (g·planeRows + i)·headDim, and nothing else', () => {
    const pool = poolOf('simd');
    for (const [n, nKv, headDim, planeRows] of [[1, 1, 4, 3], [3, 2, 8, 5], [5, 5, 6, 9], [2, 3, 2, 2]] as const) {
      pool.reset();
      const rng = createRng(n * 100 + nKv);
      const values = uniform(rng, n * nKv * headDim, -3, 3);
      const src = pool.f32From(values);
      const d32 = pool.alloc(nKv * planeRows * headDim * 4);
      const d16 = pool.alloc(nKv * planeRows * headDim * 2);
      pool.k.kv_store_f32(d32.ptr, src.ptr, n, nKv, headDim, planeRows);
      assert.equal(pool.k.kv_store_f16(d16.ptr, src.ptr, n, nKv, headDim, planeRows), 0);
      const got32 = pool.u32(d32);
      const got16 = new Uint16Array(pool.rt.memory.buffer, d16.ptr, nKv * planeRows * headDim);
      const bits = new Uint32Array(values.buffer);
      for (let g = 0; g < nKv; g++) {
        for (let r = 0; r < planeRows; r++) {
          for (let d = 0; d < headDim; d++) {
            const at = (g * planeRows + r) * headDim + d;
            const from = (r * nKv + g) * headDim + d;
            assert.equal(got32[at], r < n ? bits[from] : POISON_BITS, `f32 head ${g} row ${r} [${d}]`);
            assert.equal(got16[at], r < n ? f32BitsToF16Bits(bits[from]!) : new Uint16Array(new Uint32Array([POISON_BITS]).buffer)[at & 1], `f16 head ${g} row ${r} [${d}]`);
          }
        }
      }
      pool.checkGuards();
    }
  });
});
