// Contexts (issue 11 defect 1, issue 8 item 5): one model's weights, one KV cache per stream.
//  - two generations on one model at the same time (interleaved on the event loop) on separate
//    contexts give exactly their sequential texts: plain, speculative with a draft model (each with its
//    own draft context), early exit in the generator's own context, and chat sessions;
//  - the same on one context is refused with a ContextBusyError, and the running one is not disturbed;
//  - what a context costs (ctx.bytes = contextMemory), and forward on a context allocates nothing;
//  - draft and target with different embedding row counts but one tokenizer (Qwen2.5's 151936 vs
//    152064 rows, here 512 vs 520): accepted, exact (greedy = plain greedy; the first token's law when
//    the draft can never propose the target's extra ids), padding ids decode to no text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator, type GenerationResult } from '../../src/engine/generate.js';
import { earlyExitDrafter, modelDrafter } from '../../src/engine/drafters.js';
import type { LoadedModel } from '../../src/engine/load.js';
import { LlamaModel } from '../../src/model/llama.js';
import { LlamaContext } from '../../src/model/context.js';
import { contextMemory } from '../../src/model/memory-plan.js';
import { ContextBusyError, TokenizerError } from '../../src/errors.js';
import { memoryRoleReader, type TensorRole } from '../../src/weights/llama-tensors.js';
import { refWeightsToRoles } from '../reference/llama-ref.js';
import { configOf, stories260KRef } from '../model/helpers.js';
import { createRng } from '../../src/rng.js';
import { Tokenizer } from '../../src/tokenizer.js';
import { chiSquareTest } from '../verify/stats.js';

const rt = createNodeRuntime();
const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
const PROMPTS = ['Once upon a time', 'Lily and Ben went to the park'];

/** Busy-wait `ms` (a step that takes time, so that generate yields to the event loop every few steps). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * Run two generations at once (interleaved on the event loop: each step takes ~1 ms, generate yields
 * every ~16 ms) and return their results and how often the steps switched from one to the other.
 */
async function concurrently(gens: [Generator, Generator], seeds: [number, number], maxTokens = 160): Promise<{ results: GenerationResult[]; switches: number }> {
  let last = -1;
  let switches = 0;
  const results = await Promise.all(
    gens.map((g, i) =>
      g.generate({
        prompt: PROMPTS[i]!, maxTokens, seed: seeds[i]!, stopAtEos: false,
        onStep: () => {
          if (last !== i && last !== -1) switches++;
          last = i;
          spin(0.5);
        },
      }),
    ),
  );
  return { results, switches };
}

describe('contexts: one model, a KV cache per stream', () => {
  test('defect 1: two Generators on one model, each with its own context, run at once = their sequential texts (plain; speculative with a draft model in draft contexts; early exit)', async () => {
    const setups = [
      { label: 'plain', make: () => ({}) },
      {
        label: 'draft model',
        make: () => ({ drafter: modelDrafter(target, draft, { context: draft.model.createContext({ capacity: 256 }) }), tree: [2, 2] }),
      },
      { label: 'early exit', make: () => ({ drafter: earlyExitDrafter(target, 2), tree: [2, 1] }) },
    ];
    for (const s of setups) {
      // contexts of two shapes (a forward's rounding depends on how the prompt is batched: compare like with like)
      const shapes = [{ capacity: 256, maxBatch: 16 }, { capacity: 300, maxBatch: 8 }];
      const seq = [];
      for (let i = 0; i < 2; i++) {
        const g = new Generator(target, { ...s.make(), context: target.model.createContext(shapes[i]), sampling: { temperature: 1 } });
        seq.push(await g.generate({ prompt: PROMPTS[i]!, maxTokens: 160, seed: 11 + i, stopAtEos: false }));
      }
      const ctxs = shapes.map((shape) => target.model.createContext(shape));
      const gens = ctxs.map((context) => new Generator(target, { ...s.make(), context, sampling: { temperature: 1 } })) as [Generator, Generator];
      const { results, switches } = await concurrently(gens, [11, 12]);
      assert.ok(switches >= 4, `${s.label}: the two generations interleaved only ${switches} times`);
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(Array.from(results[i]!.ids), Array.from(seq[i]!.ids), `${s.label}: stream ${i}`);
        assert.equal(results[i]!.text, seq[i]!.text);
      }
      assert.ok(results[0]!.text !== results[1]!.text);
    }
  });

  test('defect 1: two generations at once on one context: the second is refused with a ContextBusyError, the first is undisturbed', async () => {
    const alone = await new Generator(target, { sampling: { temperature: 1 } }).generate({ prompt: PROMPTS[0]!, maxTokens: 160, seed: 11, stopAtEos: false });
    const ctx = target.model.createContext({ capacity: 256 });
    const a = new Generator(target, { context: ctx, sampling: { temperature: 1 } });
    const b = new Generator(target, { context: ctx, chatTemplate: 'zephyr', sampling: { temperature: 1 } });
    const first = a.generate({ prompt: PROMPTS[0]!, maxTokens: 160, seed: 11, stopAtEos: false, onStep: () => spin(0.5) });
    await new Promise((r) => setImmediate(r)); // a is between two steps now
    await assert.rejects(b.generate({ prompt: PROMPTS[1]!, maxTokens: 20, seed: 12 }), (e: unknown) => e instanceof ContextBusyError && /context .*ctx.* is running another generation.*createContext/.test((e as Error).message));
    // a chat session on the busy context is refused the same way, also its preload
    const chat = b.chat({ system: 'hi' });
    await assert.rejects(chat.preload(), ContextBusyError);
    const r = await first;
    assert.deepEqual(Array.from(r.ids), Array.from(alone.ids));
    // once it is done, the context serves the other generator
    const later = await b.generate({ prompt: PROMPTS[1]!, maxTokens: 20, seed: 12 });
    assert.equal(later.ids.length, 20);
    // the model's own context and a draft model's own context are contexts like any other
    const d1 = new Generator(target, { drafter: modelDrafter(target, draft), tree: [2], context: target.model.createContext({ capacity: 256 }) });
    const d2 = new Generator(target, { drafter: modelDrafter(target, draft), tree: [2], context: target.model.createContext({ capacity: 256 }) });
    const running = d1.generate({ prompt: PROMPTS[0]!, maxTokens: 100, seed: 1, onStep: () => spin(0.5) });
    await new Promise((r) => setImmediate(r));
    await assert.rejects(d2.generate({ prompt: PROMPTS[1]!, maxTokens: 10 }), (e: unknown) => e instanceof ContextBusyError && /draft context/.test((e as Error).message));
    await running;
    // one Generator asked twice at once
    const twice = a.generate({ prompt: PROMPTS[0]!, maxTokens: 100, seed: 3, onStep: () => spin(0.5) });
    await new Promise((r) => setImmediate(r));
    await assert.rejects(a.generate({ prompt: PROMPTS[1]!, maxTokens: 5 }), ContextBusyError);
    await twice;
  });

  test('two chat sessions at once on separate contexts = their sequential conversations', async () => {
    const turns = [['Tell me a story.', 'And then?'], ['Who is Tim?', 'Why?']];
    const options = { chatTemplate: 'zephyr', sampling: { temperature: 1 } } as const;
    const converse = async (g: Generator, i: number, slow: boolean) => {
      const session = g.chat({ system: 'You tell stories.' });
      const replies: string[] = [];
      for (const t of turns[i]!) {
        const r = await session.send(t, { maxTokens: 60, seed: 100 + i, stopAtEos: false, ...(slow ? { onStep: () => spin(0.5) } : {}) });
        replies.push(r.text);
        if (replies.length > 1) assert.ok(r.stats.reusedTokens > 0, 'the second turn reused the cache');
      }
      return replies;
    };
    const seq = [await converse(new Generator(target, options), 0, false), await converse(new Generator(target, options), 1, false)];
    const gens = [0, 1].map(() => new Generator(target, { ...options, context: target.model.createContext({ capacity: 400 }) }));
    const both = await Promise.all(gens.map((g, i) => converse(g, i, true)));
    assert.deepEqual(both, seq);
  });

  test('what a context costs, and forward on a context allocates nothing', () => {
    const c = target.config;
    const used = rt.arena.used;
    const ctx = target.model.createContext({ capacity: 200, maxBatch: 10, name: 'cost' });
    const m = contextMemory(c, 200, 10);
    assert.equal(ctx.bytes, m.kvCache + m.activations);
    assert.equal(target.model.contextBytes({ capacity: 200, maxBatch: 10 }), ctx.bytes);
    assert.equal(m.kvCache, 2 * c.nLayers * Math.ceil(((200 + 10) * target.model.kvDim * 4) / 64) * 64);
    assert.ok(Math.abs(rt.arena.used - used - ctx.bytes) < 64, `arena grew ${rt.arena.used - used} bytes for a context of ${ctx.bytes}`);
    assert.ok(ctx instanceof LlamaContext && ctx.cache.capacity === 200 && ctx.maxBatch === 10 && ctx.name === 'cost');
    const before = { used: rt.arena.used, epoch: rt.arena.epoch };
    for (let i = 0; i < 5; i++) {
      ctx.tokens[i] = i + 1;
      ctx.positions[i] = i;
    }
    ctx.forward(5);
    ctx.cache.commit(5);
    ctx.tokens[0] = 7;
    ctx.positions[0] = 5;
    ctx.forward(1);
    assert.deepEqual({ used: rt.arena.used, epoch: rt.arena.epoch }, before);
    // a context longer than the model's RoPE tables gets larger ones, and computes the same as the model's own
    const own = target.model;
    own.cache.truncate(0);
    for (let i = 0; i < 3; i++) {
      own.tokens[i] = 9 + i;
      own.positions[i] = i;
    }
    own.forward(3);
    const want = own.logits.slice(0, 3 * c.vocabSize);
    own.cache.truncate(0);
    const long = target.model.createContext({ capacity: c.maxSeqLen, maxBatch: 4 });
    for (let i = 0; i < 3; i++) {
      long.tokens[i] = 9 + i;
      long.positions[i] = i;
    }
    long.forward(3);
    assert.deepEqual(long.logits.slice(0, 3 * c.vocabSize), want);
    assert.throws(() => target.model.createContext({ capacity: c.maxSeqLen + 1 }), /capacity <= maxSeqLen/);
    assert.throws(() => new Generator(target, { context: draft.model.createContext({ capacity: 8 }) }), /belongs to another model/);
  });
});

/**
 * stories260K with `rows` embedding rows (512 real + padding): the padding rows are token `like`'s
 * embedding (and output row) × 1.05, so the model gives them about that token's logit, often more — as
 * a random-weight Qwen2.5 does emit its padding ids.
 */
async function padded(rows: number, like: number): Promise<LoadedModel> {
  const ref = stories260KRef();
  const roles = refWeightsToRoles(ref);
  const base = configOf(ref);
  const dim = base.dim;
  const grow = (a: Float32Array) => {
    const out = new Float32Array(rows * dim);
    out.set(a);
    for (let r = base.vocabSize; r < rows; r++) out.set(a.subarray(like * dim, (like + 1) * dim).map((x) => 1.05 * x), r * dim);
    return out;
  };
  const config = { ...base, vocabSize: rows };
  const arrays = new Map<TensorRole, Float32Array>();
  for (const [role, a] of roles) arrays.set(role, role === 'embed' || role === 'lmHead' ? grow(a) : a);
  const model = await LlamaModel.load(rt, config, memoryRoleReader(config, (r) => arrays.get(r)), { maxBatch: 64, name: `padded${rows}` });
  return { ...target, name: `stories260K+${rows - base.vocabSize} padding rows`, config, model };
}

describe('draft and target with different embedding row counts, one tokenizer', () => {
  const PROMPT = 'Once upon a time';
  test('a draft with another vocabulary is refused, naming the first difference', () => {
    // the draft's own tokenizer.json with the pieces of ids 300 and 301 swapped
    const j = JSON.parse(readFileSync(join(WEIGHTS_DIR, 'stories281K-draft', 'tokenizer.json'), 'utf8'));
    const vocab = j.model.vocab as Record<string, number>;
    const p300 = Object.keys(vocab).find((k) => vocab[k] === 300)!;
    const p301 = Object.keys(vocab).find((k) => vocab[k] === 301)!;
    vocab[p300] = 301;
    vocab[p301] = 300;
    const other = { ...draft, tokenizer: Tokenizer.fromJson(JSON.stringify(j)) };
    assert.throws(() => modelDrafter(target, other), (e: unknown) => e instanceof TokenizerError && /target and draft tokenizers differ: expected the same vocabulary, got id 300 = /.test((e as Error).message));
  });

  test('greedy speculative decoding = plain greedy, whichever model has the padding rows', async () => {
    // the token stories260K likes most after the prompt, so that the padding rows compete with it
    const probe = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 1 });
    const big = await padded(520, probe.ids[0]!);
    const pairs: [LoadedModel, LoadedModel][] = [
      [big, draft], // target 520 rows, draft 512
      [target, big], // target 512, draft 520
    ];
    for (const [t, d] of pairs) {
      const plain = await new Generator(t, { sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 80, stopAtEos: false });
      if (t === big) assert.ok(plain.ids.some((id) => id >= 512), 'the padded target emits padding ids greedily');
      for (const method of ['spechub', 'rrs', 'k-seq'] as const) {
        const r = await new Generator(t, { drafter: modelDrafter(t, d), method, tree: [2, 2], sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 80, stopAtEos: false });
        assert.deepEqual(Array.from(r.ids), Array.from(plain.ids), `${t.config.vocabSize} ← ${d.config.vocabSize}, ${method}`);
        assert.equal(r.text, plain.text);
      }
    }
  });

  test("target with padding rows, draft without: the first token follows the target's law, padding ids included (they decode to no text)", async () => {
    const probe = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt: PROMPT, maxTokens: 1 });
    const big = await padded(516, probe.ids[0]!);
    const V = big.config.vocabSize;
    // the exact law of the first token
    const m = big.model;
    const ids = big.tokenizer.encode(PROMPT);
    m.cache.truncate(0);
    ids.forEach((t, i) => {
      m.tokens[i] = t;
      m.positions[i] = i;
    });
    m.forward(ids.length, ids.length - 1);
    const row = m.logits.slice(0, V);
    m.cache.truncate(0);
    const max = Math.max(...row);
    const p = Array.from(row, (x) => Math.exp(x - max));
    const sum = p.reduce((a, b) => a + b, 0);
    const law = p.map((x) => x / sum);
    const padMass = law.slice(512).reduce((a, b) => a + b, 0);
    assert.ok(padMass > 0.1, `padding rows carry ${padMass} of the first token's law`);
    const N = 1500;
    const counts = new Float64Array(V);
    const gen = new Generator(big, { drafter: modelDrafter(big, draft), method: 'spechub', tree: [2, 2], sampling: { temperature: 1 } });
    const base = createRng(808);
    let padIds = 0;
    let padText = 0;
    for (let i = 0; i < N; i++) {
      const r = await gen.generate({ prompt: PROMPT, maxTokens: 1, rng: base.fork(i), stopAtEos: false });
      counts[r.ids[0]!]!++;
      if (r.ids[0]! >= 512) {
        padIds++;
        if (r.text === '') padText++;
      }
    }
    const t = chiSquareTest(counts, law, N);
    assert.equal(t.impossible, 0);
    assert.ok(t.pValue > 1e-6, `chi2 ${t.stat.toFixed(1)} on ${t.df} df, p = ${t.pValue}`);
    assert.ok(padIds > 0.05 * N, `padding ids were generated ${padIds} times`);
    assert.equal(padText, padIds, 'a padding id has no text');
  });
});
