/**
 * The fast layer (NodeVerifier over WASM kernels) against the math layer: on the same uniform
 * stream, every method drafts the same children and makes the same decision (token and accepted
 * slot) as the reference sampler of the exact outcome law, for random (p, q) including the named
 * edge cases; the plain-TS kernels and the public-API metadata path agree too. Together with
 * Oracle A on the math layer this carries exactness over to the WASM path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createNodeRuntime } from '../../src/node.js';
import { createRng, type Rng } from '../../src/rng.js';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import { createJsProbKernels } from '../../bench/lib/js-prob-kernels.js';
import { mathMethod, referenceVerify } from '../../src/verify/methods.js';
import { NodeVerifier } from '../../src/verify/node-verifier.js';
import { createNodeMeta, VERIFIER_NAMES, type VerifierName } from '../../src/verify/types.js';
import { EDGE_CASES, softmax } from './cases.js';
import { probPair } from './oracle.js';
import { normalize } from '../../src/verify/common.js';

const MAX_V = 1024;
const MAX_K = 6;
const rt = createNodeRuntime();
const P = rt.arena.alloc('test.p', 8 * MAX_V).ptr;
const Q = rt.arena.alloc('test.q', 8 * MAX_V).ptr;
const wasm = Object.fromEntries(VERIFIER_NAMES.map((m) => [m, NodeVerifier.create(rt, m, { maxVocab: MAX_V, maxK: MAX_K })]));
const jsKernels = createJsProbKernels(rt.memory);
const plain = Object.fromEntries(
  VERIFIER_NAMES.map((m) => [m, NodeVerifier.create(rt, m, { maxVocab: MAX_V, maxK: MAX_K, kernels: jsKernels })]),
);

/** Views of p and q in runtime memory holding exactly these f64 values. */
function load(p: Float64Array, q: Float64Array): [Float64Array, Float64Array] {
  const pv = rt.f64(P, p.length);
  const qv = rt.f64(Q, q.length);
  pv.set(p);
  qv.set(q);
  return [pv, qv];
}

/**
 * Drafts and verifies `trials` times with the fast verifier and the reference sampler on cloned
 * streams; asserts identical drafts, hub sets and decisions.
 */
function agree(name: VerifierName, p: Float64Array, q: Float64Array, k: number, seed: number, trials: number): void {
  const [pv, qv] = load(p, q);
  const math = mathMethod(name);
  const drafts = new Int32Array(MAX_K);
  const meta = createNodeMeta(MAX_K);
  const inferred = createNodeMeta(MAX_K);
  const rng = createRng(seed);
  for (let t = 0; t < trials; t++) {
    const a: Rng = rng.clone();
    const b: Rng = rng.clone();
    const c: Rng = rng.clone();
    const d: Rng = rng.clone();
    rng.next();
    const count = wasm[name]!.draftInto(qv, k, a, drafts, meta);
    const ref = math.draft(q, k, b);
    assert.deepEqual(Array.from(drafts.subarray(0, count)), Array.from(ref.drafts), `${name}: drafts`);
    if (name === 'spechub') assert.deepEqual(Array.from(meta.hubs.subarray(0, meta.hubCount)), Array.from(ref.hubs), 'hub set');
    const plainDrafts = new Int32Array(MAX_K);
    const plainCount = plain[name]!.draftInto(qv, k, c, plainDrafts, createNodeMeta(MAX_K));
    assert.deepEqual(Array.from(plainDrafts.subarray(0, plainCount)), Array.from(drafts.subarray(0, count)), `${name}: plain-TS drafts`);
    const fast = { ...wasm[name]!.verifyNode(pv, qv, drafts, count, meta, a) };
    const slow = referenceVerify(name, p, q, drafts.slice(0, count), b, ref.hubs.length ? ref.hubs : undefined);
    assert.deepEqual(fast, slow, `${name}: decision (p ${Array.from(p)}, q ${Array.from(q)}, drafts ${Array.from(drafts.subarray(0, count))})`);
    const viaPlain = { ...plain[name]!.verifyNode(pv, qv, drafts, count, meta, c) };
    assert.deepEqual(viaPlain, fast, `${name}: plain-TS kernels`);
    plain[name]!.draftInto(qv, k, d, new Int32Array(MAX_K), createNodeMeta(MAX_K));
    wasm[name]!.inferMeta(qv, drafts, count, inferred);
    const viaInferred = { ...wasm[name]!.verifyNode(pv, qv, drafts, count, inferred, d) };
    assert.deepEqual(viaInferred, fast, `${name}: inferred metadata`);
  }
}

const ks = (name: VerifierName) => (name === 'sd' ? fc.constant(1) : fc.integer({ min: 1, max: 4 }));

describe('NodeVerifier (WASM) = math-layer reference sampler, decision by decision', () => {
  for (const name of VERIFIER_NAMES) {
    it(`${name}: random (p, q), V in [1, 12], same drafts and decisions on the same uniforms`, () => {
      fc.assert(
        fc.property(probPair(1, 12), ks(name), fc.integer({ min: 0, max: 2 ** 31 }), ([p, q], k, seed) => {
          if (name === 'rrs-wo') k = Math.min(k, q.filter((v) => v > 0).length);
          agree(name, p, q, k, seed, 20);
        }),
        { numRuns: 120, seed: 0xfa57 },
      );
    });
    it(`${name}: peaked rows from logits (V = 200..1000, T = 0.1 and 1)`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 200, max: MAX_V }),
          fc.constantFrom(0.1, 1),
          ks(name),
          fc.integer({ min: 0, max: 2 ** 31 }),
          (v, temp, k, seed) => {
            const g = createRng(seed);
            const logits = Array.from({ length: v }, () => 4 * Math.log(-Math.log(1 - g.next() * 0.999999)));
            const p = softmax(logits, temp);
            const q = softmax(
              logits.map((l) => l + 1.5 * (g.next() - 0.5)),
              temp,
            );
            agree(name, p, q, k, seed ^ 0x55, 10);
          },
        ),
        { numRuns: 12, seed: 0xfa58 },
      );
    });
    it(`${name}: every named edge case`, () => {
      for (const c of EDGE_CASES) {
        const p = normalize(c.p);
        const q = normalize(c.q);
        // k above q's support included: spechub and rrs-wo then draft the tokens q has (E5)
        for (const k of name === 'sd' ? [1] : [1, 2, 3]) agree(name, p, q, k, 7 + k, 30);
      }
    });
  }
});

describe('NodeVerifier: boundaries and the decode-path contract', () => {
  it('rejects rows that are not views into the runtime memory, and shape mismatches', () => {
    const v = wasm['rrs']!;
    const [pv, qv] = load(normalize([0.5, 0.5]), normalize([0.5, 0.5]));
    const meta = createNodeMeta(MAX_K);
    const drafts = Int32Array.of(0, 1);
    assert.throws(() => v.verifyNode(Float64Array.of(0.5, 0.5), qv, drafts, 2, meta, createRng(1)), InvalidArgumentError);
    assert.throws(() => v.verifyNode(pv, rt.f64(Q, 3), drafts, 2, meta, createRng(1)), ShapeError);
    assert.throws(() => v.verifyNode(pv, qv, drafts, 3, meta, createRng(1)), InvalidArgumentError);
    assert.throws(() => v.draftInto(qv, MAX_K + 1, createRng(1), new Int32Array(16), meta), InvalidArgumentError);
    assert.throws(() => wasm['sd']!.draftInto(qv, 2, createRng(1), drafts, meta), InvalidArgumentError);
    assert.throws(() => NodeVerifier.create(rt, 'nope' as VerifierName, { maxVocab: 4 }), InvalidArgumentError);
  });
  it('E1: a drafted token with q = 0 is refused, never divided by', () => {
    const [pv, qv] = load(normalize([0.5, 0.5, 0]), normalize([0.5, 0.5, 0]));
    for (const name of ['sd', 'rrs', 'k-seq'] as const) {
      assert.throws(() => wasm[name]!.verifyNode(pv, qv, Int32Array.of(2), 1, createNodeMeta(MAX_K), createRng(3)), InvalidArgumentError);
    }
  });
  it('E12: with u = 0 every time, a token with p = 0 is never accepted (strict u < ratio)', () => {
    const zero: Rng = { next: () => 0, nextU32: () => 0, fork: () => zero, clone: () => zero };
    const [pv, qv] = load(normalize([0, 0.6, 0.4, 0]), normalize([0.5, 0, 0.25, 0.25]));
    for (const name of VERIFIER_NAMES) {
      const drafts = new Int32Array(MAX_K);
      const meta = createNodeMeta(MAX_K);
      for (const x of [0, 3]) {
        drafts[0] = x;
        const r = wasm[name]!.verifyNode(pv, qv, drafts, 1, meta, zero);
        assert.equal(r.accepted, -1, `${name} accepted p = 0 token ${x}`);
        assert.ok(pv[r.token]! > 0, `${name} emitted ${r.token}`);
      }
    }
  });
  it('verifyNode returns one reused result object (no allocation per call)', () => {
    const [pv, qv] = load(normalize([0.2, 0.8]), normalize([0.6, 0.4]));
    const v = wasm['spechub']!;
    const drafts = new Int32Array(MAX_K);
    const meta = createNodeMeta(MAX_K);
    const rng = createRng(5);
    const count = v.draftInto(qv, 2, rng, drafts, meta);
    const r1 = v.verifyNode(pv, qv, drafts, count, meta, rng);
    const r2 = v.verifyNode(pv, qv, drafts, count, meta, rng);
    assert.equal(r1, r2);
  });
  it('views are re-derived after the memory grows', () => {
    const rt2 = createNodeRuntime();
    const v = NodeVerifier.create(rt2, 'rrs', { maxVocab: 8 });
    rt2.arena.alloc('grow', 16 * 1024 * 1024); // detaches every old view
    const p = rt2.arena.alloc('p', 32).ptr;
    const q = rt2.arena.alloc('q', 32).ptr;
    rt2.f64(p, 4).set(normalize([0, 0, 0.5, 0.5]));
    rt2.f64(q, 4).set(normalize([0.6, 0.4, 0, 0]));
    const r = v.verifyNode(rt2.f64(p, 4), rt2.f64(q, 4), Int32Array.of(0, 1), 2, createNodeMeta(8), createRng(9));
    assert.equal(r.accepted, -1);
    assert.ok(r.token === 2 || r.token === 3);
  });
});

describe('NodeVerifier on every build', () => {
  it('simd-mt (shared memory) and relaxed builds decide exactly like simd on the same streams', () => {
    const [p, q] = [normalize([0.3, 0.05, 0.2, 0, 0.25, 0.2]), normalize([0.1, 0.35, 0, 0.25, 0.1, 0.2])];
    const runOn = (build: 'simd' | 'simd-mt' | 'relaxed') => {
      const r = createNodeRuntime({ build });
      const pp = r.arena.alloc('p', 8 * p.length).ptr;
      const qq = r.arena.alloc('q', 8 * q.length).ptr;
      r.f64(pp, p.length).set(p);
      r.f64(qq, q.length).set(q);
      const out: number[] = [];
      for (const name of VERIFIER_NAMES) {
        const v = NodeVerifier.create(r, name, { maxVocab: 8, maxK: 4 });
        const rng = createRng(77);
        const drafts = new Int32Array(4);
        const meta = createNodeMeta(4);
        for (let t = 0; t < 200; t++) {
          const count = v.draftInto(r.f64(qq, q.length), name === 'sd' ? 1 : 3, rng, drafts, meta);
          const res = v.verifyNode(r.f64(pp, p.length), r.f64(qq, q.length), drafts, count, meta, rng);
          out.push(res.token, res.accepted);
        }
      }
      return out;
    };
    const base = runOn('simd');
    assert.deepEqual(runOn('simd-mt'), base);
    assert.deepEqual(runOn('relaxed'), base);
  });
});
