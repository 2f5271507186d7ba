// Speculative generation on the shipped models (issue #4, 5b and 5c):
//  (b) statistical — over many seeds, the first and second generated tokens after a prompt follow
//      the target's exact marginals (computed by forwards of the target alone), for every method,
//      at temperature 1 and with temperature 0.5, top-k 20 and top-p 0.9;
//  (c) greedy — at temperature 0 every method, tree and drafter reproduces plain greedy decoding,
//      whatever the seed, top-k and top-p;
//  stop reasons — eos (on TinyStories-656K, whose stories end with EOS; stories260K never emits
//      it), max_tokens, context and aborted, with plain and speculative decoding.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator, type StopReason } from '../../src/engine/generate.js';
import { earlyExitDrafter, modelDrafter } from '../../src/engine/drafters.js';
import type { LoadedModel } from '../../src/engine/load.js';
import type { Drafter } from '../../src/engine/speculative.js';
import { createRng } from '../../src/rng.js';
import { TokenizerError } from '../../src/errors.js';
import { Sampler, type SamplingParams } from '../../src/sampling.js';
import { METHOD_NAMES, maxChildrenOf, type MethodName } from '../../src/verify/types.js';
import { treeSpecLabel, type TreeSpec } from '../../src/draft/tree.js';
import { chiSquareTest } from '../verify/stats.js';

const rt = createNodeRuntime();
const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
const PROMPT = 'Once upon a time';

/**
 * Exact marginals of the first two tokens after the prompt under plain sampling: at temperature 1
 * (a softmax in f64), or under `params` through the library's Sampler (its transform is checked
 * against a plain HF-order reference in test/sampling.test.ts).
 */
function exactMarginals(m: LoadedModel, prompt: Int32Array, params?: SamplingParams): { first: Float64Array; second: Float64Array } {
  const V = m.config.vocabSize;
  const model = m.model;
  const sampler = params ? Sampler.create(m.model.rt, V) : null;
  const rowPtr = params ? m.model.rt.arena.alloc('test.exact.probs', 8 * V).ptr : 0;
  const softmax = (row: Float32Array) => {
    if (sampler) {
      const probs = m.model.rt.f64(rowPtr, V);
      sampler.toProbsAt(model.logitsPtr(0), probs, params!.temperature, params!.topK ?? 0, params!.topP ?? 1);
      return Float64Array.from(probs);
    }
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    const p = new Float64Array(V);
    let s = 0;
    for (let i = 0; i < V; i++) s += p[i] = Math.exp(row[i]! - max);
    for (let i = 0; i < V; i++) p[i]! /= s;
    return p;
  };
  model.cache.truncate(0);
  prompt.forEach((t, i) => {
    model.tokens[i] = t;
    model.positions[i] = i;
  });
  model.forward(prompt.length, prompt.length - 1);
  model.cache.commit(prompt.length);
  const first = softmax(model.logits.slice(0, V));
  const second = new Float64Array(V);
  for (let y = 0; y < V; y++) {
    if (first[y]! < 1e-12) continue;
    model.tokens[0] = y;
    model.positions[0] = prompt.length;
    model.forward(1);
    const p2 = softmax(model.logits.slice(0, V));
    for (let z = 0; z < V; z++) second[z]! += first[y]! * p2[z]!;
  }
  model.cache.truncate(0);
  return { first, second };
}

const CASES: { method: MethodName; tree: TreeSpec; drafter: 'model' | 'exit' }[] = [
  { method: 'sd', tree: [1, 1, 1], drafter: 'model' },
  { method: 'rrs', tree: [2, 2], drafter: 'model' },
  { method: 'rrs-wo', tree: [2, 2], drafter: 'model' },
  { method: 'spechub', tree: [2, 2], drafter: 'model' },
  { method: 'spechub', tree: [3, 2], drafter: 'exit' },
  { method: 'k-seq', tree: [2, 2], drafter: 'model' },
  { method: 'block', tree: [1, 1, 1], drafter: 'model' },
  { method: 'traversal', tree: [2, 2], drafter: 'model' },
  { method: 'spechub-traversal', tree: [2, 2], drafter: 'model' },
  { method: 'spechub-traversal', tree: [3, 2], drafter: 'exit' },
  { method: 'traversal', tree: { dynamic: 8 }, drafter: 'model' },
  { method: 'spechub', tree: { dynamic: 8 }, drafter: 'model' },
  { method: 'rrs-wo', tree: { dynamic: 6 }, drafter: 'model' },
];

function drafterOf(kind: 'model' | 'exit'): Drafter {
  return kind === 'model' ? modelDrafter(target, draft) : earlyExitDrafter(target, 2);
}

describe('engine/generate on stories260K with the 281K draft', () => {
  const { first, second } = exactMarginals(target, target.tokenizer.encode(PROMPT));
  // 2 chi-square tests per case; a correct engine fails one with probability ≤ 1e-6 in total
  const alpha = 1e-6 / (2 * CASES.length);
  const N = 2500;
  for (const c of CASES) {
    test(`(b) ${c.method} tree ${treeSpecLabel(c.tree)} (${c.drafter}): first and second tokens follow the target's exact marginals (N=${N}, false failure <= 1e-6 overall)`, async () => {
      const gen = new Generator(target, { drafter: drafterOf(c.drafter), method: c.method, tree: c.tree, sampling: { temperature: 1 } });
      const V = target.config.vocabSize;
      const c1 = new Float64Array(V);
      const c2 = new Float64Array(V);
      const base = createRng(20261127);
      let steps = 0;
      let tokens = 0;
      for (let i = 0; i < N; i++) {
        const r = await gen.generate({ prompt: PROMPT, maxTokens: 4, rng: base.fork(i), stopAtEos: false });
        c1[r.ids[0]!]!++;
        c2[r.ids[1]!]!++;
        steps += r.stats.steps;
        tokens += r.stats.generatedTokens;
      }
      const t1 = chiSquareTest(c1, first, N);
      const t2 = chiSquareTest(c2, second, N);
      assert.equal(t1.impossible + t2.impossible, 0, 'a token of target probability 0 was generated');
      assert.ok(t1.pValue > alpha, `first token: chi2 ${t1.stat.toFixed(1)} on ${t1.df} df, p = ${t1.pValue}`);
      assert.ok(t2.pValue > alpha, `second token: chi2 ${t2.stat.toFixed(1)} on ${t2.df} df, p = ${t2.pValue}`);
      // and drafting helped: more than one token per target forward on average
      assert.ok(tokens / steps > 1.2, `tokens per step ${tokens / steps}`);
    });
  }

  test('(c) greedy: every method, tree and drafter reproduces plain greedy decoding token for token', async () => {
    const plain = await new Generator(target, { drafter: null, sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 120 });
    assert.equal(plain.ids.length, 120);
    const trees: TreeSpec[] = [[2, 2, 2, 2], [1, 1, 1, 1], [3, 1, 1], [4], [2, 3], { dynamic: 12 }];
    for (const method of METHOD_NAMES) {
      const chains = method === 'sd' || method === 'block';
      for (const tree of chains ? [[1, 1, 1, 1], [1], { dynamic: 5 }] : trees) {
        for (const kind of ['model', 'exit'] as const) {
          const gen = new Generator(target, { drafter: drafterOf(kind), method, tree, sampling: { temperature: 0 } });
          const r = await gen.generate({ prompt: PROMPT, maxTokens: 120, seed: 5 });
          assert.deepEqual(Array.from(r.ids), Array.from(plain.ids), `${method} ${treeSpecLabel(tree)} ${kind}`);
          assert.equal(r.text, plain.text);
          assert.ok(r.stats.tokensPerStep >= 1 && r.stats.steps <= plain.stats.steps);
        }
      }
    }
  });

  test('seed for seed, a depth-1 tree gives the same tokens under traversal as under RRS, spechub-traversal as SpecHub, block as SD', async () => {
    // the leaf-to-root walker draws its uniforms exactly where the token-level verifier does
    for (const [seq, node, tree] of [['traversal', 'rrs', [3]], ['spechub-traversal', 'spechub', [2]], ['spechub-traversal', 'spechub', [3]], ['block', 'sd', [1]]] as const) {
      for (const temperature of [0.6, 1]) {
        const a = await new Generator(target, { drafter: drafterOf('model'), method: seq, tree, sampling: { temperature } }).generate({ prompt: PROMPT, maxTokens: 150, seed: 8 });
        const b = await new Generator(target, { drafter: drafterOf('model'), method: node, tree, sampling: { temperature } }).generate({ prompt: PROMPT, maxTokens: 150, seed: 8 });
        assert.deepEqual(Array.from(a.ids), Array.from(b.ids), `${seq} vs ${node} tree ${tree} T ${temperature}`);
        assert.equal(a.stats.steps, b.stats.steps);
      }
    }
  });

  // Truncated sampling: each method keeps the law (checked like (b)), while two methods with one
  // seed need not emit the same tokens; a fixed seed reproduces within a method.
  const TRUNCATED: SamplingParams = { temperature: 0.5, topK: 20, topP: 0.9 };
  const truncated = exactMarginals(target, target.tokenizer.encode(PROMPT), TRUNCATED);
  const METHODS = METHOD_NAMES;
  for (const method of METHODS) {
    const NT = 1500;
    test(`(b) ${method}, temperature 0.5, top-k 20, top-p 0.9: first and second tokens follow the truncated target marginals (N=${NT}, false failure <= 1e-6 overall); a seed reproduces`, async () => {
      const gen = new Generator(target, { drafter: drafterOf('model'), method, tree: maxChildrenOf(method) === 1 ? [1, 1] : [2, 2], sampling: TRUNCATED });
      const V = target.config.vocabSize;
      const c1 = new Float64Array(V);
      const c2 = new Float64Array(V);
      const base = createRng(20261202);
      for (let i = 0; i < NT; i++) {
        const r = await gen.generate({ prompt: PROMPT, maxTokens: 2, rng: base.fork(i), stopAtEos: false });
        c1[r.ids[0]!]!++;
        c2[r.ids[1]!]!++;
      }
      const a = 1e-6 / (2 * METHODS.length);
      const t1 = chiSquareTest(c1, truncated.first, NT);
      const t2 = chiSquareTest(c2, truncated.second, NT);
      assert.equal(t1.impossible + t2.impossible, 0, 'a token outside the top-k / top-p set was generated');
      assert.ok(t1.pValue > a, `first token: chi2 ${t1.stat.toFixed(1)} on ${t1.df} df, p = ${t1.pValue}`);
      assert.ok(t2.pValue > a, `second token: chi2 ${t2.stat.toFixed(1)} on ${t2.df} df, p = ${t2.pValue}`);
      const x = await gen.generate({ prompt: PROMPT, maxTokens: 30, seed: 8 });
      const y = await gen.generate({ prompt: PROMPT, maxTokens: 30, seed: 8 });
      assert.deepEqual(Array.from(x.ids), Array.from(y.ids));
    });
  }

  test('(c) greedy is seed-free and ignores top-k / top-p: every method, seeds 1 and 2, top-k 20 and top-p 0.9 set, gives plain greedy', async () => {
    const plain = await new Generator(target, { drafter: null, sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 40 });
    for (const method of METHODS) {
      for (const sampling of [{ temperature: 0 }, { temperature: 0, topK: 20, topP: 0.9 }]) {
        const gen = new Generator(target, { drafter: drafterOf('model'), method, tree: maxChildrenOf(method) === 1 ? [1, 1] : [2, 2], sampling });
        for (const seed of [1, 2]) {
          const r = await gen.generate({ prompt: PROMPT, maxTokens: 40, seed });
          assert.deepEqual(Array.from(r.ids), Array.from(plain.ids), `${method} seed ${seed} ${JSON.stringify(sampling)}`);
        }
      }
    }
  });

  test('a fixed seed reproduces the same text; stats add up', async () => {
    const gen = new Generator(target, { drafter: drafterOf('model'), method: 'spechub', tree: [2, 2, 2, 2], sampling: { temperature: 1, topP: 0.9 } });
    const a = await gen.generate({ prompt: PROMPT, maxTokens: 80, seed: 42 });
    const b = await gen.generate({ prompt: PROMPT, maxTokens: 80, seed: 42 });
    assert.deepEqual(Array.from(a.ids), Array.from(b.ids));
    assert.equal(a.text, b.text);
    const s = a.stats;
    assert.equal(s.generatedTokens, a.ids.length);
    assert.ok(s.steps > 0 && s.steps <= s.generatedTokens + 1);
    assert.equal(s.acceptancePerLevel.length, 4);
    assert.ok(s.acceptancePerLevel.every((x) => x >= 0 && x <= 1));
    assert.ok(s.draftForwards >= s.steps);
  });

  test('memory growth between generations (another model or verifier planned later) changes nothing', async () => {
    const gen = new Generator(target, { drafter: drafterOf('model'), method: 'k-seq', tree: [2, 2, 2] });
    const a = await gen.generate({ prompt: PROMPT, maxTokens: 50, seed: 3 });
    const before = rt.memory.buffer.byteLength;
    rt.arena.alloc('test.growth', 8 << 20);
    assert.ok(rt.memory.buffer.byteLength > before, 'the memory grew (old views are detached)');
    const b = await gen.generate({ prompt: PROMPT, maxTokens: 50, seed: 3 });
    assert.deepEqual(Array.from(b.ids), Array.from(a.ids));
  });

  test('stop reason "context": generation without EOS stops when the context is full, plain and speculative', async () => {
    const capacity = target.model.cache.capacity;
    for (const drafter of [null, drafterOf('model')]) {
      const gen = new Generator(target, { drafter, method: 'spechub', tree: [2, 2] });
      const r = await gen.generate({ prompt: PROMPT, maxTokens: 4 * capacity, seed: 4, stopAtEos: false });
      const promptLength = target.tokenizer.encode(PROMPT).length;
      assert.equal(r.stopReason, 'context');
      // the last token is drawn from the logits at the last position and never needs one itself
      assert.ok(promptLength + r.ids.length <= capacity + 1, `${promptLength} + ${r.ids.length} tokens in a context of ${capacity}`);
      assert.ok(promptLength + r.ids.length >= capacity - 4, `stopped early: ${promptLength} + ${r.ids.length} of ${capacity}`);
    }
  });

  test('stop reason "max_tokens" and "aborted": exactly maxTokens; an abort stops at the next step; an aborted signal generates nothing', async () => {
    for (const drafter of [null, drafterOf('model')]) {
      const gen = new Generator(target, { drafter, method: 'rrs', tree: [2, 2] });
      const m = await gen.generate({ prompt: PROMPT, maxTokens: 25, seed: 6, stopAtEos: false });
      assert.equal(m.stopReason, 'max_tokens');
      assert.equal(m.ids.length, 25);
      const ctl = new AbortController();
      const a = await gen.generate({ prompt: PROMPT, maxTokens: 200, seed: 6, stopAtEos: false, signal: ctl.signal, onToken: () => ctl.abort() });
      assert.equal(a.stopReason, 'aborted');
      assert.ok(a.ids.length >= 1 && a.ids.length <= 3, `aborted after the first token, at the end of its step: ${a.ids.length} tokens`);
      assert.deepEqual(Array.from(a.ids), Array.from(m.ids.subarray(0, a.ids.length)), 'same seed, same start');
      const pre = new AbortController();
      pre.abort();
      const b = await gen.generate({ prompt: PROMPT, maxTokens: 50, seed: 6, signal: pre.signal });
      assert.equal(b.stopReason, 'aborted');
      assert.equal(b.ids.length, 0);
      assert.equal(a.stats.generatedTokens, a.ids.length);
    }
  });

  test('a draft with another vocabulary is refused with a TokenizerError', async () => {
    const other = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'tinystories-656K'));
    assert.throws(() => modelDrafter(target, other), TokenizerError);
  });
});

const story = await loadModelFromPath(createNodeRuntime(), join(WEIGHTS_DIR, 'tinystories-656K'), { maxBatch: 64 });

describe('engine/generate: stop reason "eos" on TinyStories-656K (its stories end with EOS)', () => {
  const eos = story.tokenizer.eosId!;
  const exit1 = () => earlyExitDrafter(story, 1);

  test('every method, sampled: the story ends with EOS, which is not emitted; text and stream agree; without stopAtEos the same run goes on past the same EOS', async () => {
    for (const method of METHOD_NAMES) {
      const gen = new Generator(story, { drafter: exit1(), method, tree: maxChildrenOf(method) === 1 ? [1, 1, 1] : [2, 2] });
      let streamed = '';
      const tokens: number[] = [];
      const r = await gen.generate({ prompt: PROMPT, maxTokens: 500, seed: 11, onText: (t) => (streamed += t), onToken: (id) => tokens.push(id) });
      const stop: StopReason = r.stopReason;
      assert.equal(stop, 'eos', `${method}: stopped by ${stop} after ${r.ids.length} tokens`);
      assert.ok(r.ids.length > 0 && !Array.from(r.ids).includes(eos), `${method}: EOS is not part of the output`);
      assert.deepEqual(tokens, Array.from(r.ids), 'onToken saw exactly the output');
      assert.equal(streamed, r.text);
      assert.equal(r.text, story.tokenizer.decode(r.ids));
      assert.equal(r.stats.generatedTokens, r.ids.length);
      const on = await gen.generate({ prompt: PROMPT, maxTokens: r.ids.length + 5, seed: 11, stopAtEos: false });
      assert.deepEqual(Array.from(on.ids.subarray(0, r.ids.length)), Array.from(r.ids), `${method}: same seed, same story`);
      assert.equal(on.ids[r.ids.length], eos, `${method}: the token after the story is EOS`);
    }
  });

  test('greedy: plain decoding ends with EOS, and every method and tree stops at the same EOS, even when it sits inside an accepted path', async () => {
    const plain = await new Generator(story, { drafter: null, sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 500 });
    assert.equal(plain.stopReason, 'eos');
    for (const method of METHOD_NAMES) {
      for (const tree of maxChildrenOf(method) === 1 ? [[1, 1, 1, 1]] : [[2, 2, 2], [3, 1, 1]]) {
        const r = await new Generator(story, { drafter: exit1(), method, tree, sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 500 });
        assert.equal(r.stopReason, 'eos', `${method} ${tree.join(',')}`);
        assert.deepEqual(Array.from(r.ids), Array.from(plain.ids), `${method} ${tree.join(',')}`);
      }
    }
  });
});
