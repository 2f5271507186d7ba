/**
 * assembly/verify.ts and assembly/sampling.ts: every SIMD kernel against its scalar `_ref` twin,
 * the plain-TS kernels (bench/lib/js-prob-kernels.ts) and an independent TS oracle, over random
 * shapes (n = 0..67, so every tail length), unaligned pointers, and values with exact zeros, ties
 * and wide magnitudes. Per-element kernels must agree bit for bit; sums to 1e-13 relative; draws
 * exactly, except when the target sits within 1e-12 of a boundary of the running sum (summation
 * order differs).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createNodeRuntime } from '../../src/node.js';
import { createJsProbKernels } from '../../bench/lib/js-prob-kernels.js';
import { PROB_KERNEL_NAMES, type Kernels } from '../../src/wasm/kernels.js';

const MAX_N = 72;
const rt = createNodeRuntime();
const k = rt.k as Kernels & Record<string, (...a: number[]) => number>;
const js = createJsProbKernels(rt.memory) as unknown as Record<string, (...a: number[]) => number>;
// 8-byte-aligned (not 16) regions on purpose: v128 loads must not need alignment
const A = rt.arena.alloc('test.a', 8 * MAX_N + 16).ptr + 8;
const B = rt.arena.alloc('test.b', 8 * MAX_N + 16).ptr + 8;
const OUT1 = rt.arena.alloc('test.out1', 8 * MAX_N + 16).ptr + 8;
const OUT2 = rt.arena.alloc('test.out2', 8 * MAX_N + 16).ptr + 8;
const OUT3 = rt.arena.alloc('test.out3', 8 * MAX_N + 16).ptr + 8;
const IDX = rt.arena.alloc('test.idx', 4 * MAX_N).ptr;
const HIST = rt.arena.alloc('test.hist', 8 * 256).ptr;
const f64 = (ptr: number, n: number) => rt.f64(ptr, n);

/** A nonnegative f64 vector with zeros, ties, magnitudes from 1e-12 to 1 and f64 subnormals. */
const vec = (n: number) =>
  fc.array(
    fc.oneof(
      { arbitrary: fc.constant(0), weight: 2 },
      { arbitrary: fc.constant(0.125), weight: 1 },
      { arbitrary: fc.double({ min: 1e-12, max: 1, noNaN: true }), weight: 5 },
      { arbitrary: fc.double({ min: Number.MIN_VALUE, max: 2.2e-308, noNaN: true }), weight: 1 },
    ),
    { minLength: n, maxLength: n },
  );
const size = fc.integer({ min: 0, max: 67 });
const pair = size.chain((n) => fc.tuple(vec(n), vec(n)));
/** Sorted distinct indices < n. */
const idxSet = (n: number) => fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { maxLength: Math.min(n, 6) }).map((a) => (n === 0 ? [] : a.sort((x, y) => x - y)));

function put(ptr: number, xs: number[]): void {
  f64(ptr, xs.length).set(xs);
}
function putIdx(xs: number[]): void {
  rt.i32(IDX, xs.length).set(xs);
}
function close(a: number, b: number, scale: number): boolean {
  return Math.abs(a - b) <= 1e-13 * scale + 1e-300;
}
function sumAbs(xs: number[]): number {
  return xs.reduce((s, v) => s + Math.abs(v), 0);
}
/** Runs `name` and its `_ref` twin and the plain-TS kernel on the same arguments. */
function three(name: string, ...args: number[]): [number, number, number] {
  return [k[name]!(...args), k[`${name}_ref`]!(...args), js[name]!(...args)];
}

describe('probs kernels: SIMD = _ref = plain TS = oracle', () => {
  it('the .wasm exports every declared kernel and its _ref twin; the plain-TS set covers the verifier kernels', () => {
    const others = ['checked_sum_f64', 'checked_sums2_f64', 'checked_sample_f64', 'checked_residual_f64', 'argmax_f32', 'first_nonfinite_f32', 'exp_probs_f32', 'scale_f64', 'fill_f64', 'kth_largest_f32', 'topp_mask_f64'];
    for (const name of [...PROB_KERNEL_NAMES, ...others]) {
      assert.equal(typeof k[name], 'function', name);
      assert.equal(typeof k[`${name}_ref`], 'function', `${name}_ref`);
    }
    for (const name of PROB_KERNEL_NAMES) assert.equal(typeof js[name], 'function', `plain-TS ${name}`);
  });
  it('sum_f64, sum_except_f64', () => {
    fc.assert(
      fc.property(size.chain((n) => fc.tuple(vec(n), idxSet(n))), ([x, idx]) => {
        put(A, x);
        putIdx(idx);
        const want = x.reduce((s, v) => s + v, 0);
        for (const got of three('sum_f64', A, x.length)) assert.ok(close(got, want, sumAbs(x)));
        const wantEx = x.reduce((s, v, i) => (idx.includes(i) ? s : s + v), 0);
        for (const got of three('sum_except_f64', A, x.length, IDX, idx.length)) assert.ok(close(got, wantEx, sumAbs(x)));
      }),
      { numRuns: 300, seed: 0xc0de01 },
    );
  });

  /**
   * Entries the checked kernels must judge exactly (they check in the integer domain: see
   * HIGH_WORD_LIMIT in assembly/verify.ts): NaN, also with the sign bit set ('-NaN', high word
   * 0xFFF80000), ±Infinity, negatives down to -MIN_VALUE, and -0, which is valid (-0 >= 0).
   */
  const edge = fc.constantFrom<number | '-NaN'>(NaN, '-NaN', Infinity, -Infinity, -1e-300, -Number.MIN_VALUE, -0.5, -0);
  /** A row with up to three edge entries at any positions; `signNan`: where to write a NaN with the sign bit set. */
  interface Poisoned {
    row: number[];
    signNan: number[];
  }
  const poisoned = (n: number) =>
    fc.tuple(vec(n), fc.array(fc.tuple(fc.integer({ min: 0, max: Math.max(0, n - 1) }), edge), { maxLength: 3 })).map(([x, edits]): Poisoned => {
      const row = x.slice();
      const last = new Map<number, number | '-NaN'>();
      if (n > 0) for (const [i, v] of edits) last.set(i, v);
      for (const [i, v] of last) row[i] = v === '-NaN' ? NaN : v;
      return { row, signNan: [...last].filter(([, v]) => v === '-NaN').map(([i]) => i) };
    });
  /** Writes a poisoned row at ptr (and its sign-bit NaNs bit by bit). */
  function putPoisoned(ptr: number, { row, signNan }: Poisoned): void {
    put(ptr, row);
    for (const i of signNan) rt.i32(ptr + 8 * i + 4, 1)[0] = 0xfff80000 | 0;
  }
  /** A + 0 or A − 8: the row starts 8 mod 16 or 0 mod 16 (every SIMD block alignment). */
  const shift = fc.constantFrom(0, 8);
  const isValid = (row: number[]) => row.every((v) => v >= 0 && v < Infinity);
  /** checked_sum_f64's contract for one reported sum: -1 exactly when the row is bad, else Σ to 1e-13. */
  const checkedSumOk = (got: number, row: number[]) => (isValid(row) ? close(got, row.reduce((t, v) => t + v, 0), sumAbs(row)) : got === -1);

  it('checked_sum_f64: the sum of a valid row (to 1e-13, -0 entries included), -1 when any entry is NaN, ±Infinity or negative', () => {
    fc.assert(
      fc.property(size.chain((n) => poisoned(n)), shift, (x, sh) => {
        const n = x.row.length;
        putPoisoned(A - sh, x);
        const got = k.checked_sum_f64(A - sh, n);
        const ref = k.checked_sum_f64_ref(A - sh, n);
        assert.ok(checkedSumOk(got, x.row), `SIMD ${got} on ${x.row} (sign-bit NaN at ${x.signNan})`);
        assert.ok(checkedSumOk(ref, x.row), `_ref ${ref} on ${x.row} (sign-bit NaN at ${x.signNan})`);
        if (isValid(x.row)) assert.ok(close(got, ref, sumAbs(x.row)));
      }),
      { numRuns: 600, seed: 0xc0de0a },
    );
  });

  it('checked_sample_f64 (the public SD draft): the index sample_f64 gives, bit for bit, and checked_sum_f64\'s verdict on the whole row; _ref likewise against sample_f64_ref', () => {
    fc.assert(
      fc.property(
        size.chain((n) => poisoned(n)),
        fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 1.5)),
        shift,
        (x, u, sh) => {
          const { row } = x;
          const n = row.length;
          putPoisoned(A - sh, x);
          const total = row.reduce((t, v) => (v > 0 && v < Infinity ? t + v : t), 0);
          const target = u * total;
          const sums = f64(OUT1, 1);
          for (const [fused, plain] of [['checked_sample_f64', 'sample_f64'], ['checked_sample_f64_ref', 'sample_f64_ref']] as const) {
            sums[0] = 12345;
            const got = k[fused](A - sh, n, target, OUT1);
            assert.equal(got, k[plain](A - sh, n, target), `${fused} index on ${row}, target ${target}`);
            assert.ok(checkedSumOk(sums[0]!, row), `${fused} sum ${sums[0]} on ${row}`);
          }
        },
      ),
      { numRuns: 500, seed: 0xc0de0b },
    );
  });

  it('checked_sums2_f64 and checked_residual_f64 (the public SD verify): checked_sum_f64\'s verdicts on p and q; the residual is residual_f64(out, p, q, n, 1, 1) bit for bit (values and sum); _ref likewise against residual_f64_ref', () => {
    fc.assert(
      fc.property(
        size.chain((n) => fc.tuple(poisoned(n), poisoned(n))),
        shift,
        ([px, qx], sh) => {
          const [p, q] = [px.row, qx.row];
          const n = p.length;
          putPoisoned(A - sh, px);
          putPoisoned(B, qx);
          const sums = f64(OUT3, 2);
          for (const name of ['checked_sums2_f64', 'checked_sums2_f64_ref']) {
            sums.fill(12345);
            k[name](A - sh, B, n, OUT3);
            assert.ok(checkedSumOk(sums[0]!, p), `${name} p sum ${sums[0]} on ${p}`);
            assert.ok(checkedSumOk(sums[1]!, q), `${name} q sum ${sums[1]} on ${q}`);
          }
          for (const [fused, plain] of [['checked_residual_f64', 'residual_f64'], ['checked_residual_f64_ref', 'residual_f64_ref']] as const) {
            sums.fill(12345);
            const mass = k[fused](OUT1, A - sh, B, n, OUT3);
            const want = k[plain](OUT2, A - sh, B, n, 1, 1);
            assert.ok(Object.is(mass, want), `${fused} mass ${mass} vs ${want}`);
            assert.deepEqual(Array.from(f64(OUT1, n)), Array.from(f64(OUT2, n)), `${fused} residual`);
            assert.ok(checkedSumOk(sums[0]!, p), `${fused} p sum ${sums[0]} on ${p}`);
            assert.ok(checkedSumOk(sums[1]!, q), `${fused} q sum ${sums[1]} on ${q}`);
          }
        },
      ),
      { numRuns: 500, seed: 0xc0de0c },
    );
  });

  /** A multiplier of q with its prescale: (c, 1), or (c/2^600, 2^600) as for a subnormal denominator. */
  const factor = fc.tuple(fc.double({ min: 0, max: 3, noNaN: true }), fc.boolean()).map(([c, scaled]) => (scaled ? [c / 2 ** 600, 2 ** 600] : [c, 1]));

  it('residual_f64 (also in place), residual_except_f64: outputs bit-identical, sums to 1e-13, q prescaled or not', () => {
    fc.assert(
      fc.property(pair, factor, fc.boolean(), ([r, q], [c, qs], inPlace) => {
        const n = r.length;
        const want = r.map((v, i) => Math.max(v - c! * (q[i]! * qs!), 0));
        const sums: number[] = [];
        for (const [fn, out] of [
          [k.residual_f64, OUT1],
          [k.residual_f64_ref, OUT2],
          [js.residual_f64, OUT3],
        ] as const) {
          put(A, r);
          put(B, q);
          const dst = inPlace ? A : out;
          sums.push(fn(dst, A, B, n, c!, qs!));
          assert.deepEqual(Array.from(f64(dst, n)), want);
        }
        for (const s of sums) assert.ok(close(s, want.reduce((a, b) => a + b, 0), sumAbs(want)));
      }),
      { numRuns: 300, seed: 0xc0de02 },
    );
    fc.assert(
      fc.property(size.chain((n) => fc.tuple(vec(n), vec(n), idxSet(n))), factor, ([p, q, idx], [c, qs]) => {
        const n = p.length;
        put(A, p);
        put(B, q);
        putIdx(idx);
        const want = p.map((v, i) => (idx.includes(i) ? 0 : Math.max(v - c! * (q[i]! * qs!), 0)));
        const outs = [OUT1, OUT2, OUT3];
        const fns = [k.residual_except_f64, k.residual_except_f64_ref, js.residual_except_f64!];
        fns.forEach((fn, t) => {
          const s = fn(outs[t]!, A, B, n, c!, qs!, IDX, idx.length);
          assert.deepEqual(Array.from(f64(outs[t]!, n)), want);
          assert.ok(close(s, want.reduce((a, b) => a + b, 0), sumAbs(want)));
        });
      }),
      { numRuns: 300, seed: 0xc0de03 },
    );
  });

  it('overlap_f64 and kseq_residual_f64', () => {
    fc.assert(
      fc.property(pair, fc.double({ min: 0.1, max: 1, noNaN: true }), fc.double({ min: 1, max: 4, noNaN: true }), ([p, q], invRho, c) => {
        const n = p.length;
        put(A, p);
        put(B, q);
        const wantO = p.reduce((s, v, i) => s + Math.min(q[i]!, invRho * v), 0);
        for (const got of three('overlap_f64', A, B, n, invRho)) assert.ok(close(got, wantO, sumAbs(q)));
        const want = p.map((v, i) => Math.max(v - c * Math.min(q[i]!, invRho * v), 0));
        const fns = [k.kseq_residual_f64, k.kseq_residual_f64_ref, js.kseq_residual_f64!];
        const outs = [OUT1, OUT2, OUT3];
        fns.forEach((fn, t) => {
          const s = fn(outs[t]!, A, B, n, invRho, c);
          assert.deepEqual(Array.from(f64(outs[t]!, n)), want);
          assert.ok(close(s, want.reduce((a, b) => a + b, 0), sumAbs(want)));
        });
      }),
      { numRuns: 300, seed: 0xc0de04 },
    );
  });

  it('hub_pass_f64: residual bit-identical, R1 and R2 to 1e-13 (hub anywhere, including the ends; q prescaled or not)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 67 }).chain((n) => fc.tuple(vec(n), vec(n), fc.integer({ min: 0, max: n - 1 }))),
        fc.tuple(fc.double({ min: 0, max: 50, noNaN: true }), fc.boolean()).map(([w, scaled]) => (scaled ? [w / 2 ** 600, 2 ** 600] : [w, 1])),
        ([p, q, hub], [w0, qs0]) => {
          const n = p.length;
          const w = w0!;
          const qs = qs0!;
          put(A, p);
          put(B, q);
          let r1 = 0;
          let r2 = 0;
          p.forEach((pi, i) => {
            if (i === hub) return;
            r1 += Math.max(q[i]! - pi, 0);
            r2 += Math.max(w * (q[i]! * qs) - Math.max(pi - q[i]!, 0), 0);
          });
          const want = p.map((pi, i) => (i === hub ? 0 : Math.max(Math.max(pi - q[i]!, 0) - w * (q[i]! * qs), 0)));
          const fns = [k.hub_pass_f64, k.hub_pass_f64_ref, js.hub_pass_f64!];
          const outs = [OUT1, OUT2, OUT3];
          fns.forEach((fn, t) => {
            const s = fn(outs[t]!, HIST, A, B, n, hub, w, qs);
            assert.deepEqual(Array.from(f64(outs[t]!, n)), want);
            assert.ok(close(s, want.reduce((a, b) => a + b, 0), sumAbs(want) + 1e-300));
            const [g1, g2] = f64(HIST, 2);
            assert.ok(close(g1!, r1, sumAbs(q)) && close(g2!, r2, w * qs * sumAbs(q) + 1), `R1 ${g1} vs ${r1}, R2 ${g2} vs ${r2}`);
          });
        },
      ),
      { numRuns: 300, seed: 0xc0de05 },
    );
  });

  it('sample_f64, sample_except_f64: the same index, never a zero or excluded entry, last positive past the total', () => {
    fc.assert(
      fc.property(
        size.chain((n) => fc.tuple(vec(n), idxSet(n))),
        fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 1.5)),
        ([x, idx], u) => {
          const n = x.length;
          put(A, x);
          putIdx(idx);
          for (const excl of [[], idx]) {
            putIdx(excl);
            const live = x.map((v, i) => (excl.includes(i) ? 0 : v));
            const total = live.reduce((s, v) => s + v, 0);
            const target = u * total;
            // oracle: sequential running sum
            let acc = 0;
            let want = -1;
            let last = -1;
            const partial: number[] = [];
            for (let i = 0; i < n; i++) {
              if (live[i]! > 0) {
                acc += live[i]!;
                last = i;
                if (want < 0 && acc > target) want = i;
              }
              partial.push(acc);
            }
            if (want < 0) want = last;
            const got =
              excl.length === 0
                ? three('sample_f64', A, n, target)
                : three('sample_except_f64', A, n, target, IDX, excl.length);
            for (const g of got) {
              if (g !== want) {
                // only allowed at a boundary of the running sum (summation order)
                const b = partial[Math.min(g, want)]!;
                assert.ok(Math.abs(b - target) <= 1e-12 * total, `index ${g} vs ${want}, target ${target}, boundary ${b}`);
              }
              if (total > 0) assert.ok(g >= 0 && live[g]! > 0, `returned ${g} with weight ${live[g]}`);
              else assert.equal(g, -1);
            }
          }
        },
      ),
      { numRuns: 400, seed: 0xc0de06 },
    );
  });

  it('sample_f64, sample_except_f64 on dyadic values (exact sums in any order): targets on the boundaries pick the next token', () => {
    fc.assert(
      fc.property(
        size.chain((n) => fc.tuple(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }), idxSet(n))),
        fc.integer({ min: 0, max: 1000 }),
        ([ints, idx], pick) => {
          const x = ints.map((v) => v / 8);
          const n = x.length;
          put(A, x);
          for (const excl of [[], idx]) {
            putIdx(excl);
            const live = x.map((v, i) => (excl.includes(i) ? 0 : v));
            const partials = [0];
            for (const v of live) if (v > 0) partials.push(partials[partials.length - 1]! + v);
            const total = partials[partials.length - 1]!;
            for (const target of [partials[pick % partials.length]!, partials[pick % partials.length]! + 1 / 16]) {
              let want = -1;
              for (let i = 0, acc = 0; i < n; i++) {
                acc += live[i]!;
                if (live[i]! > 0 && acc > target) {
                  want = i;
                  break;
                }
              }
              for (let i = n - 1; want < 0 && i >= 0; i--) if (live[i]! > 0) want = i;
              const got = excl.length === 0 ? three('sample_f64', A, n, target) : three('sample_except_f64', A, n, target, IDX, excl.length);
              assert.deepEqual(got, [want, want, want], `target ${target} of total ${total}`);
            }
          }
        },
      ),
      { numRuns: 300, seed: 0xc0de0d },
    );
  });

  it('argmax_f64 (lowest index on ties), topk_f64 (largest positive first, ties by lower index; rest = Σ of the others)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 67 }).chain((n) => vec(n)), fc.integer({ min: 0, max: 9 }), (x, m) => {
        const n = x.length;
        put(A, x);
        let best = 0;
        for (let i = 1; i < n; i++) if (x[i]! > x[best]!) best = i;
        assert.deepEqual(three('argmax_f64', A, n), [best, best, best]);
        const want = x
          .map((v, i) => [v, i] as const)
          .filter(([v]) => v > 0)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, m)
          .map(([, i]) => i);
        const rest = x.reduce((acc, v, i) => (want.includes(i) ? acc : acc + v), 0);
        for (const fn of [k.topk_f64, k.topk_f64_ref, js.topk_f64!]) {
          const count = fn(IDX, HIST, A, n, m);
          assert.deepEqual(Array.from(rt.i32(IDX, count)), want);
          assert.ok(close(f64(HIST, 1)[0]!, rest, sumAbs(x)), `rest ${f64(HIST, 1)[0]} vs ${rest}`);
        }
      }),
      { numRuns: 400, seed: 0xc0de07 },
    );
  });
});

describe('probs kernels: logits → probabilities', () => {
  const logits = (n: number) =>
    fc.array(
      fc.oneof(
        { arbitrary: fc.float({ min: -30, max: 30, noNaN: true }), weight: 6 },
        { arbitrary: fc.constant(Math.fround(1.5)), weight: 1 },
        { arbitrary: fc.constant(-Infinity), weight: 1 },
      ),
      { minLength: n, maxLength: n },
    );
  const putF32 = (ptr: number, xs: number[]) => rt.f32(ptr, xs.length).set(xs);

  it('argmax_f32: the lowest index of the largest logit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 67 }).chain(logits), (x) => {
        putF32(A, x);
        let best = 0;
        for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
        assert.equal(k.argmax_f32(A, x.length), best);
        assert.equal(k.argmax_f32_ref(A, x.length), best);
      }),
      { numRuns: 300, seed: 0xc0de08 },
    );
  });

  it('first_nonfinite_f32: the first NaN, +Infinity or -Infinity entry (any lane, any tail), else -1', () => {
    const entry = fc.oneof(
      { arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }), weight: 20 },
      { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity), weight: 1 },
      { arbitrary: fc.constantFrom(3.4028234663852886e38, -3.4028234663852886e38, 1.4e-45, -0), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(entry, { minLength: 0, maxLength: 67 }), (x) => {
        putF32(A, x);
        const want = x.findIndex((v) => !Number.isFinite(v));
        assert.equal(k.first_nonfinite_f32(A, x.length), want);
        assert.equal(k.first_nonfinite_f32_ref(A, x.length), want);
      }),
      { numRuns: 500, seed: 0xc0de0f },
    );
  });

  it('exp_probs_f32: SIMD exp within 4e-16 relative of Math.exp, cut below minLogit, -inf → 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 67 }).chain(logits),
        fc.double({ min: 0.05, max: 20, noNaN: true }),
        fc.double({ min: -40, max: 10, noNaN: true }),
        (x, invT, minLogit) => {
          putF32(A, x);
          const max = Math.max(...x.filter((v) => v > -Infinity), -1e30);
          fc.pre(max > -1e30);
          const cut = minLogit > max ? -Infinity : minLogit;
          const s1 = k.exp_probs_f32(OUT1, A, x.length, invT, max, cut);
          const s2 = k.exp_probs_f32_ref(OUT2, A, x.length, invT, max, cut);
          const a = f64(OUT1, x.length);
          const b = f64(OUT2, x.length);
          x.forEach((l, i) => {
            const want = l >= cut ? Math.exp((Math.fround(l) - max) * invT) : 0;
            assert.ok(Math.abs(a[i]! - want) <= 4e-16 * want + 1e-300, `exp ${a[i]} vs ${want}`);
            assert.ok(Math.abs(b[i]! - want) <= 4e-16 * want + 1e-300);
          });
          assert.ok(Math.abs(s1 - s2) <= 1e-14 * s2 && s1 >= 1 - 1e-15);
        },
      ),
      { numRuns: 300, seed: 0xc0de09 },
    );
  });

  it('exp_probs_f32: a NaN logit anywhere makes the sum NaN', () => {
    for (let n = 1; n < 9; n++) {
      for (let at = 0; at < n; at++) {
        const x = Array.from({ length: n }, (_, i) => (i === at ? NaN : i));
        putF32(A, x);
        assert.ok(Number.isNaN(k.exp_probs_f32(OUT1, A, n, 1, n, -Infinity)));
        assert.ok(Number.isNaN(k.exp_probs_f32_ref(OUT1, A, n, 1, n, -Infinity)));
      }
    }
  });

  it('scale_f64 and fill_f64', () => {
    fc.assert(
      fc.property(size.chain(vec), fc.double({ min: 0, max: 10, noNaN: true }), (x, s) => {
        for (const fn of [k.scale_f64, k.scale_f64_ref]) {
          put(A, x);
          fn(A, x.length, s);
          assert.deepEqual(Array.from(f64(A, x.length)), x.map((v) => v * s));
        }
        for (const fn of [k.fill_f64, k.fill_f64_ref]) {
          fn(A, x.length, s);
          assert.ok(f64(A, x.length).every((v) => v === s));
        }
      }),
      { numRuns: 200, seed: 0xc0de0a },
    );
  });

  it('kth_largest_f32: the k-th largest value counting repeats (radix select = bitwise search = sort)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 67 }).chain((n) => fc.tuple(logits(n), fc.integer({ min: 1, max: n }))),
        ([x, kk]) => {
          putF32(A, x);
          const want = Array.from(rt.f32(A, x.length)).sort((a, b) => b - a)[kk - 1];
          assert.equal(k.kth_largest_f32(A, x.length, kk, HIST), want);
          assert.equal(k.kth_largest_f32_ref(A, x.length, kk, HIST), want);
        },
      ),
      { numRuns: 300, seed: 0xc0de0b },
    );
  });

  it('topp_mask_f64: keeps exactly the tokens whose mass before them (logit desc, index asc) is < target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 67 }).chain(logits), fc.double({ min: 0.01, max: 1, noNaN: true }), (x, topP) => {
        putF32(A, x);
        const xs = Array.from(rt.f32(A, x.length));
        fc.pre(xs.some((l) => l > -Infinity));
        // probabilities non-increasing in the logit, with ties where logits tie, 0 at -inf
        const probs = xs.map((l) => (l === -Infinity ? 0 : Math.exp(l / 10)));
        const total = probs.reduce((a, b) => a + b, 0);
        const target = topP * total;
        const order = xs.map((_, i) => i).sort((a, b) => xs[b]! - xs[a]! || a - b);
        const keep: boolean[] = [];
        const beforeOf: number[] = [];
        let before = 0;
        for (const i of order) {
          keep[i] = before < target;
          beforeOf[i] = before;
          before += probs[i]!;
        }
        for (const fn of [k.topp_mask_f64, k.topp_mask_f64_ref]) {
          put(OUT1, probs);
          const kept = fn(OUT1, A, xs.length, target, HIST);
          const got = Array.from(f64(OUT1, xs.length));
          xs.forEach((_, i) => {
            if (got[i] !== 0) assert.equal(got[i], probs[i], 'a kept entry is unchanged');
            if (probs[i]! > 0 && (got[i] !== 0) !== keep[i]) {
              // only at the boundary, where summation order can flip `before < target`
              assert.ok(Math.abs(beforeOf[i]! - target) <= 1e-12 * total, `token ${i}: kept ${got[i] !== 0}, want ${keep[i]}`);
            }
          });
          assert.ok(got.some((v) => v > 0), 'at least one token kept');
          assert.ok(Math.abs(kept - got.reduce((a, b) => a + b, 0)) <= 1e-12 * total);
        }
      }),
      { numRuns: 300, seed: 0xc0de0c },
    );
  });
});
