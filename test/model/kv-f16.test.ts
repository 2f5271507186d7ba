// The f16 KV cache (kvType 'f16'; src/model/kv-cache.ts): what a forward stores and what it costs.
//  - layer 0's keys and values depend on the token embeddings alone, so an f16 cache's rows there are the
//    f32 cache's rows rounded to nearest even, exactly (the store runs after bias, q/k norm and RoPE);
//  - committing a draft tree's accepted path moves the f16 rows bit for bit, and a tree forward gives
//    each node the logits of its root-to-node path run sequentially on an f16 cache;
//  - greedy speculative decoding on f16 caches (target and draft) emits plain greedy decoding's tokens,
//    and the f16 cache's next-token distributions stay close to the f32 cache's (the bound is stated);
//  - a key beyond f16's range fails the forward with a NumericError naming the layer, and leaves the
//    committed cache as it was; a bad kvType is refused by name;
//  - the cache takes half the bytes (contextMemory = what the context allocates).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator } from '../../src/engine/generate.js';
import { modelDrafter } from '../../src/engine/drafters.js';
import { LlamaModel } from '../../src/model/llama.js';
import { contextMemory } from '../../src/model/memory-plan.js';
import { parseHfConfig } from '../../src/config.js';
import { memoryRoleReader } from '../../src/weights/llama-tensors.js';
import { InvalidArgumentError, NumericError } from '../../src/errors.js';
import { f16ToF32, f32BitsToF16Bits } from '../../src/weights/f16.js';
import { createRng } from '../../src/rng.js';
import { configOf, pathTo, randomTree, refReader, relDiff, stories260KRef, treeForward } from './helpers.js';
import { randomRoles } from './arch-models.js';

/** x rounded to the nearest f16 (ties to even), as a number. */
function toF16(x: number): number {
  const f = new Float32Array([x]);
  return f16ToF32(f32BitsToF16Bits(new Uint32Array(f.buffer)[0]!));
}

function prefill(m: LlamaModel, tokens: readonly number[]): void {
  tokens.forEach((tok, i) => {
    m.tokens[i] = tok;
    m.positions[i] = m.cache.length + i;
  });
  m.forward(tokens.length);
  m.cache.commit(tokens.length);
}

/** Qwen2-shaped (q/k/v biases, sliding window on layer 1), small. */
const QWEN2 = parseHfConfig({
  model_type: 'qwen2', hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 23,
  max_position_embeddings: 64, use_sliding_window: true, sliding_window: 3, max_window_layers: 1,
}, 'config.json');

describe('model/kv-f16: an f16 KV cache', () => {
  test('layer 0 holds the f32 cache\'s keys and values rounded to nearest even, exactly (prefill and decode steps)', async () => {
    const w = stories260KRef();
    const rt = createNodeRuntime();
    const a = await LlamaModel.load(rt, configOf(w), refReader(w), { maxBatch: 32 });
    const b = await LlamaModel.load(rt, configOf(w), refReader(w), { maxBatch: 32, kvType: 'f16' });
    assert.equal(a.cache.kvType, 'f32');
    assert.equal(b.cache.kvType, 'f16');
    const prompt = [1, 403, 407, 261, 378, 300, 290, 411, 260, 301];
    for (const m of [a, b]) {
      prefill(m, prompt);
      for (const t of [290, 411, 260]) prefill(m, [t]);
    }
    let changed = 0;
    for (let pos = 0; pos < a.cache.length; pos++) {
      for (const kind of ['k', 'v'] as const) {
        const f32 = a.cache.row(kind, 0, pos);
        const f16 = b.cache.row(kind, 0, pos);
        assert.deepEqual(f16, f32.map(toF16), `${kind} row ${pos}`);
        for (let i = 0; i < f32.length; i++) if (f32[i] !== f16[i]) changed++;
      }
    }
    assert.ok(changed > 0.5 * a.cache.length * 2 * a.kvDim, `most values change when rounded (${changed})`);
  });

  test('committing an accepted path moves the f16 rows bit for bit; a tree forward = each root-to-node path run sequentially', async (tc) => {
    const rt = createNodeRuntime();
    const roles = randomRoles(QWEN2, 3);
    const load = () => LlamaModel.load(rt, QWEN2, memoryRoleReader(QWEN2, (r) => roles.get(r)), { maxBatch: 32, kvType: 'f16' });
    const m = await load();
    const seq = await load();
    const V = QWEN2.vocabSize;
    const rng = createRng(5);
    let worst = 0;
    for (let trial = 0; trial < 8; trial++) {
      m.cache.truncate(0);
      const prefix = Array.from({ length: 1 + trial }, () => rng.nextU32() % V);
      prefill(m, prefix);
      const t = randomTree(rng.nextU32(), 12, V);
      const P = m.cache.length;
      const logits = treeForward(m, t);
      for (let node = 0; node < t.size; node++) {
        const path = pathTo(t, node);
        seq.cache.truncate(0);
        const toks = [...prefix, ...path.map((j) => t.tokens[j]!)];
        prefill(seq, toks);
        worst = Math.max(worst, relDiff(logits[node]!, seq.logits.subarray((toks.length - 1) * V, toks.length * V)));
      }
      // the deepest leaf's path, committed: the staged rows it names, moved in order
      const path = pathTo(t, t.size - 1);
      const staged = path.map((r) => [0, 1].map((l) => (['k', 'v'] as const).map((kind) => m.cache.row(kind, l, P + r))));
      m.cache.commitRows(Int32Array.from(path), path.length);
      assert.equal(m.cache.length, P + path.length);
      path.forEach((_, j) => {
        for (const l of [0, 1]) {
          assert.deepEqual(m.cache.row('k', l, P + j), staged[j]![l]![0], `trial ${trial}: k row ${j} of layer ${l}`);
          assert.deepEqual(m.cache.row('v', l, P + j), staged[j]![l]![1], `trial ${trial}: v row ${j} of layer ${l}`);
        }
      });
    }
    // a batch and a single row round their f32 keys alike unless an f32 rounding difference (~1e-7)
    // straddles an f16 rounding boundary: then one value moves by an f16 step (2^-11 relative)
    tc.diagnostic(`tree node vs its sequential path: largest relative logit difference ${worst.toExponential(2)}`);
    assert.ok(worst < 5e-4, `tree node vs its sequential path: relative logit difference ${worst}`);
  });

  test('greedy speculative decoding on f16 caches = plain greedy on an f16 cache; next-token distributions stay within L1 0.02 of the f32 cache\'s', async (tc) => {
    const rt = createNodeRuntime();
    const path = join(WEIGHTS_DIR, 'stories260K');
    const target = await loadModelFromPath(rt, path, { maxBatch: 64, kvType: 'f16' });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64, kvType: 'f16' });
    const f32 = await loadModelFromPath(rt, path, { maxBatch: 64 });
    assert.equal(target.model.cache.kvType, 'f16');
    const prompt = 'Once upon a time';
    const plain = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt, maxTokens: 120, stopAtEos: false });
    for (const method of ['spechub', 'rrs', 'k-seq'] as const) {
      const r = await new Generator(target, { drafter: modelDrafter(target, draft), method, tree: [2, 2, 2], sampling: { temperature: 0 } }).generate({ prompt, maxTokens: 120, stopAtEos: false });
      assert.deepEqual(Array.from(r.ids), Array.from(plain.ids), method);
    }
    // along the f16 greedy text: the next-token distribution of both caches at every position
    const ids = [target.model.config.bosTokenId ?? 1, ...target.tokenizer.encode(prompt, { bos: false }), ...plain.ids];
    const V = target.config.vocabSize;
    let worst = 0;
    for (const m of [target.model, f32.model]) m.cache.truncate(0);
    const p = (x: Float32Array) => {
      const mx = Math.max(...x);
      const e = Float64Array.from(x, (v) => Math.exp(v - mx));
      const z = e.reduce((s, v) => s + v, 0);
      return e.map((v) => v / z);
    };
    for (const id of ids.slice(0, 100)) {
      for (const m of [target.model, f32.model]) prefill(m, [id]);
      const a = p(target.model.logits.subarray(0, V));
      const b = p(f32.model.logits.subarray(0, V));
      let l1 = 0;
      for (let v = 0; v < V; v++) l1 += Math.abs(a[v]! - b[v]!);
      worst = Math.max(worst, l1);
    }
    tc.diagnostic(`largest L1 between the caches' next-token distributions over 100 positions: ${worst.toExponential(2)}`);
    assert.ok(worst > 0, 'the caches differ (the f16 one rounds)');
    assert.ok(worst < 0.02, `L1 between the f16 and f32 caches' next-token distributions: ${worst}`);
  });

  test('a key beyond f16\'s range fails the forward with a NumericError naming the layer; the committed cache is untouched', async () => {
    const rt = createNodeRuntime();
    const roles = randomRoles(QWEN2, 4);
    const reader = (scale: number) => memoryRoleReader(QWEN2, (r) => (r === 'layers.1.wk' || r === 'layers.1.bk' ? roles.get(r)!.map((x) => x * scale) : roles.get(r)));
    const maxAbs = (a: Float32Array) => a.reduce((mx, x) => Math.max(mx, Math.abs(x)), 0);
    // layer 1's largest key for each token at position 1 after token 3, with an f32 cache
    const probe = await LlamaModel.load(rt, QWEN2, reader(1), { maxBatch: 8 });
    const largest: number[] = [];
    for (let t = 0; t < QWEN2.vocabSize; t++) {
      probe.cache.truncate(0);
      prefill(probe, [3, t]);
      largest.push(maxAbs(probe.cache.row('k', 1, 1)));
    }
    const first = maxAbs(probe.cache.row('k', 1, 0));
    const big = largest.indexOf(Math.max(...largest));
    assert.ok(largest[big]! > 1.2 * first, 'some token makes a larger key than token 3');
    // layer 1's keys scaled so that token 3's fit f16 and token `big`'s do not
    const scale = 65520 / Math.sqrt(first * largest[big]!);
    const m = await LlamaModel.load(rt, QWEN2, reader(scale), { maxBatch: 8, kvType: 'f16' });
    prefill(m, [3]);
    const before = [m.cache.row('k', 0, 0), m.cache.row('k', 1, 0), m.cache.row('v', 1, 0)];
    assert.ok(maxAbs(before[1]!) > 1000, 'the committed key is large, and fits');
    m.tokens[0] = big;
    m.positions[0] = 1;
    assert.throws(() => m.forward(1), (e: unknown) => e instanceof NumericError && /layer 1 computed a key of -?[\d.e+]+ \(batch row 0\), beyond what an f16 KV cache holds \(\|x\| < 65520\); use kvType 'f32'/.test((e as Error).message));
    assert.equal(m.cache.length, 1);
    assert.deepEqual([m.cache.row('k', 0, 0), m.cache.row('k', 1, 0), m.cache.row('v', 1, 0)], before);
    // and the context goes on: a token that fits decodes from the committed row
    prefill(m, [3]);
    assert.equal(m.cache.length, 2);
  });

  test('a bad kvType is refused by name; an f16 cache takes half the bytes, as contextMemory plans', async () => {
    const w = stories260KRef();
    const rt = createNodeRuntime();
    await assert.rejects(LlamaModel.load(rt, configOf(w), refReader(w), { kvType: 'q8_0' as 'f16' }), (e: unknown) => e instanceof InvalidArgumentError && /kvType: expected a KV-cache type \(f32 or f16\), got "q8_0"/.test((e as Error).message));
    const m = await LlamaModel.load(rt, configOf(w), refReader(w), { maxBatch: 16, capacity: 256 });
    assert.throws(() => m.createContext({ kvType: 'bf16' as 'f16' }), (e: unknown) => e instanceof InvalidArgumentError && /kvType: expected a KV-cache type \(f32 or f16\), got "bf16"/.test((e as Error).message));
    const c = m.config;
    const f32 = contextMemory(c, 256, 16);
    const f16 = contextMemory(c, 256, 16, 'f16');
    assert.equal(f16.kvCache * 2, f32.kvCache);
    const ctx = m.createContext({ kvType: 'f16' });
    assert.equal(ctx.cache.kvType, 'f16');
    assert.equal(ctx.cache.rowBytes, c.headDim * 2);
    assert.equal(ctx.cache.heads * ctx.cache.planeBytes * 2 * c.nLayers, f16.kvCache);
    assert.equal(ctx.bytes, f16.kvCache + f16.activations);
    assert.equal(m.contextBytes({ kvType: 'f16' }), f16.kvCache + f16.activations);
    assert.equal(m.createContext().cache.kvType, 'f32', 'the load\'s kvType is the default');
  });
});
