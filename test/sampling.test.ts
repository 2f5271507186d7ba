/**
 * src/sampling.ts: parameter validation, greedy one-hot, and temperature → top-k → top-p in HF
 * order against a plain f64 TS reference; identical rows for identical logits (E14); verifiers
 * stay exact on transformed rows; the kernel draw equals sampleCategorical.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createNodeRuntime } from '../src/node.js';
import { GREEDY, Sampler, sampleCategorical, validateSamplingParams, type SamplingParams } from '../src/sampling.js';
import { InvalidArgumentError, NumericError, ShapeError } from '../src/errors.js';
import { mathMethod } from '../src/verify/methods.js';
import { VERIFIER_NAMES } from '../src/verify/types.js';
import { checkMethod } from './verify/contracts.js';

const MAX_V = 512;
const rt = createNodeRuntime();
const sampler = Sampler.create(rt, MAX_V);
const L = rt.arena.alloc('test.logits', 4 * MAX_V).ptr;
const P = rt.arena.alloc('test.probs', 8 * MAX_V).ptr;
const P2 = rt.arena.alloc('test.probs2', 8 * MAX_V).ptr;

function run(logits: number[], params: SamplingParams, out = P): Float64Array {
  const l = rt.f32(L, logits.length);
  l.set(logits);
  const probs = rt.f64(out, logits.length);
  sampler.toProbs(l, probs, params);
  return probs;
}

/**
 * HF order in plain f64 TS: temperature, top-k (ties kept), softmax, top-p (logit desc, index asc).
 * `near[i]` marks tokens whose mass-before lies within 1e-12 of the top-p target (either decision
 * is correct up to summation order there).
 */
function reference(logits: number[], { temperature, topK = 0, topP = 1 }: SamplingParams, near: boolean[] = []): Float64Array {
  const x = logits.map((v) => Math.fround(v));
  const n = x.length;
  const out = new Float64Array(n);
  const order = x.map((_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
  if (temperature === 0) {
    out[order[0]!] = 1;
    return out;
  }
  const kth = topK > 0 && topK < n ? x[order[topK - 1]!]! : -Infinity;
  const max = x[order[0]!]!;
  let s = 0;
  x.forEach((l, i) => {
    const z = (l - max) * (1 / temperature); // the kernel scales by 1/T
    out[i] = l >= kth && z >= -708 ? Math.exp(z) : 0; // below e^-708 (3e-308 of the max) is 0 by design
    s += out[i]!;
  });
  if (topP < 1) {
    let before = 0;
    const target = topP * s;
    let kept = 0;
    for (const i of order) {
      near[i] = Math.abs(before - target) <= 1e-12 * s;
      const keep = before < target;
      before += out[i]!;
      if (keep) kept += out[i]!;
      else out[i] = 0;
    }
    s = kept;
  }
  return out.map((v) => v / s);
}

const logitsArb = (n: number) =>
  fc.array(
    fc.oneof(
      { arbitrary: fc.float({ min: -20, max: 20, noNaN: true }), weight: 6 },
      { arbitrary: fc.constantFrom(Math.fround(2.5), Math.fround(-1)), weight: 2 },
      { arbitrary: fc.constant(-Infinity), weight: 1 },
    ),
    { minLength: n, maxLength: n },
  ).filter((a) => a.some((v) => v > -Infinity));
const paramsArb = fc.record({
  temperature: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 3, noNaN: true })),
  topK: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  topP: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 1, noNaN: true })),
});

describe('sampling: logits → probabilities', () => {
  it('temperature → top-k → top-p matches the plain HF-order reference (relative 1e-13; the top-p cut agrees except within 1e-12 of the target)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }).chain(logitsArb), paramsArb, (logits, params) => {
        const got = run(logits, params);
        const near: boolean[] = [];
        const want = reference(logits, params, near);
        let sum = 0;
        got.forEach((g, i) => {
          sum += g;
          // a kept/removed disagreement only where top-p's cut lands within rounding of the token
          if ((g > 0) !== (want[i]! > 0)) assert.ok(near[i], `token ${i}: kernel ${g}, reference ${want[i]}`);
          else assert.ok(Math.abs(g - want[i]!) <= 1e-13 * Math.max(want[i]!, 1e-300) + 1e-300, `probs[${i}] ${g} vs ${want[i]}`);
        });
        assert.ok(Math.abs(sum - 1) < 1e-12);
      }),
      { numRuns: 400, seed: 0x5a01 },
    );
  });

  it('greedy (temperature 0): one-hot at the argmax, the lowest index on ties', () => {
    const p = run([1, 3, -2, 3, 0], GREEDY);
    assert.deepEqual(Array.from(p), [0, 1, 0, 0, 0]);
    assert.deepEqual(Array.from(run([-Infinity, -5], { temperature: 0, topK: 1, topP: 0.5 })), [0, 1]);
  });

  it('top-k keeps every logit tied with the k-th largest; top-p keeps at least one token', () => {
    const p = run([1, 2, 2, 2, 0], { temperature: 1, topK: 2 });
    assert.deepEqual(Array.from(p, (v) => v > 0), [false, true, true, true, false]);
    const q = run([5, 1, 1, 0], { temperature: 1, topP: 1e-9 });
    assert.deepEqual(Array.from(q), [1, 0, 0, 0]);
  });

  it('E14: identical logits and params give bit-identical rows (one transform for p and q)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }).chain(logitsArb), paramsArb, (logits, params) => {
        const a = Array.from(run(logits, params, P));
        const b = Array.from(run(logits, params, P2));
        assert.deepEqual(a, b);
      }),
      { numRuns: 100, seed: 0x5a02 },
    );
  });

  it('E14: every verifier stays exact on truncated rows (Oracle A on p and q from toProbs, V <= 8)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(logitsArb(n), logitsArb(n))),
        paramsArb,
        fc.integer({ min: 1, max: 3 }),
        ([lp, lq], params, k) => {
          const p = Float64Array.from(run(lp, params, P));
          const q = Float64Array.from(run(lq, params, P2));
          for (const name of VERIFIER_NAMES) checkMethod(mathMethod(name), p, q, name === 'sd' ? 1 : k, name !== 'k-seq');
        },
      ),
      { numRuns: 150, seed: 0x5a03 },
    );
  });

  it('Sampler.sample (kernel) = sampleCategorical (plain TS) on normalised rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }).chain(logitsArb), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (logits, u) => {
        const probs = run(logits, { temperature: 1 });
        const a = sampler.sample(probs, u);
        const b = sampleCategorical(probs, u);
        if (a !== b) {
          let acc = 0;
          for (let i = 0; i <= Math.min(a, b); i++) acc += probs[i]!;
          assert.ok(Math.abs(acc - u) < 1e-12, `kernel ${a} vs TS ${b}`);
        }
        assert.ok(probs[a]! > 0);
      }),
      { numRuns: 300, seed: 0x5a04 },
    );
  });

  it('rejects bad params (InvalidArgumentError), NaN or +Infinity logits (NumericError: they come from a model), foreign buffers and shape mismatches with typed errors', () => {
    const l = rt.f32(L, 3);
    const p = rt.f64(P, 3);
    l.set([0, 1, 2]);
    const bad: [SamplingParams, RegExp][] = [
      [{ temperature: -1 }, /temperature to be a finite number >= 0, got -1/],
      [{ temperature: NaN }, /temperature/],
      [{ temperature: 1, topK: -2 }, /topK to be an integer >= 0 .* got -2/],
      [{ temperature: 1, topK: 1.5 }, /topK/],
      [{ temperature: 1, topP: 0 }, /topP in \(0, 1\] .* got 0/],
      [{ temperature: 1, topP: 1.5 }, /topP/],
      [{} as SamplingParams, /temperature/],
      [{ temperature: 1e-320 }, /temperature 0 \(greedy\) or at least 1e-300 \(1\/T must be finite\), got 1e-320/],
    ];
    for (const [params, msg] of bad) {
      assert.throws(() => sampler.toProbs(l, p, params), (e: unknown) => e instanceof InvalidArgumentError && msg.test((e as Error).message));
      assert.throws(() => validateSamplingParams(params), InvalidArgumentError);
    }
    for (const row of [[0, NaN, 1], [0, Infinity, 1], [-Infinity, -Infinity, -Infinity]]) {
      l.set(row);
      for (const t of [0, 1]) assert.throws(() => sampler.toProbs(l, p, { temperature: t }), NumericError);
    }
    assert.throws(() => sampler.toProbs(new Float32Array(3), p, GREEDY), InvalidArgumentError);
    assert.throws(() => sampler.toProbs(l, rt.f64(P, 2), GREEDY), ShapeError);
    assert.throws(() => sampleCategorical([0, 0], 0.5), InvalidArgumentError);
    assert.deepEqual(validateSamplingParams({ temperature: 0.7 }), { temperature: 0.7, topK: 0, topP: 1 });
  });
});
