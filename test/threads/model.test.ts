// Full model forwards on the threaded executor: stories260K (every kernel split, thresholds forced
// to 0, T = 2 and 3) and a random model big enough to cross the default thresholds give logits and
// KV caches bit-identical to the serial executor on the same build, through a batched prefill,
// decode steps and a draft-tree forward. Also the model-level check of the other builds: stories260K
// against the scalar reference on relaxed, simd-mt (threaded) and relaxed-mt (threaded).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialExecutor } from '../../src/exec/executor.js';
import { createNodeRuntime } from '../../src/node.js';
import { LlamaModel } from '../../src/model/llama.js';
import { parseHfConfig } from '../../src/config.js';
import { memoryRoleReader } from '../../src/weights/llama-tensors.js';
import { randomRoles } from '../model/arch-models.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import { RefModel } from '../reference/llama-ref.js';
import { argmax, randomRefWeights, relDiff, stories260KRef } from '../model/helpers.js';
import type { RefWeights } from '../reference/llama-ref.js';
import { assertSameArrays, modelOn, mtRuntime, threaded } from './helpers.js';

/** Run the same script on both models and compare logits after every forward and the caches at the end. */
function lockstep(a: LlamaModel, b: LlamaModel, prompt: number[], decodeSteps: number): void {
  const V = a.config.vocabSize;
  const step = (n: number, tree: boolean, what: string) => {
    for (const m of [a, b]) m.forward(n, 0, tree);
    assertSameArrays(a.logits.subarray(0, n * V), b.logits.subarray(0, n * V), what);
  };
  // batched prefill
  prompt.forEach((t, i) => {
    for (const m of [a, b]) {
      m.tokens[i] = t;
      m.positions[i] = i;
    }
  });
  step(prompt.length, false, 'prefill logits');
  for (const m of [a, b]) m.cache.commit(prompt.length);
  // greedy decode
  for (let s = 0; s < decodeSteps; s++) {
    const tok = argmax(a.logits, 0, V);
    for (const m of [a, b]) {
      m.tokens[0] = tok;
      m.positions[0] = m.cache.length;
    }
    step(1, false, `decode step ${s} logits`);
    for (const m of [a, b]) m.cache.commit(1);
  }
  // a draft tree of 5 nodes: root → {1, 2}, 1 → {3, 4}
  const parents = [-1, 0, 0, 1, 1];
  const depth = [0, 1, 1, 2, 2];
  const n = parents.length;
  for (const m of [a, b]) {
    for (let i = 0; i < n; i++) {
      m.tokens[i] = (7 * i + 3) % V;
      m.positions[i] = m.cache.length + depth[i]!;
      for (let j = 0; j < n; j++) {
        let anc = i;
        while (anc !== -1 && anc !== j) anc = parents[anc]!;
        m.mask[i * n + j] = anc === j ? 1 : 0;
      }
    }
  }
  step(n, true, 'tree logits');
  for (let l = 0; l < a.config.nLayers; l++) {
    for (let p = 0; p < a.cache.length; p++) {
      assertSameArrays(a.cache.row('k', l, p), b.cache.row('k', l, p), `k cache layer ${l} pos ${p}`);
      assertSameArrays(a.cache.row('v', l, p), b.cache.row('v', l, p), `v cache layer ${l} pos ${p}`);
    }
  }
}

describe('threads/model: threaded forward is bit-identical to serial', { timeout: 60_000 }, () => {
  for (const threads of [2, 3]) {
    test(`stories260K, every kernel split (thresholds 0), ${threads} threads`, async () => {
      const w = stories260KRef();
      const rt = mtRuntime();
      const ex = await threaded(rt, { threads, minLinearWork: 0, minAttentionWork: 0 });
      try {
        const a = await modelOn(rt, w, new SerialExecutor(rt), { maxBatch: 16, capacity: 64 });
        const b = await modelOn(rt, w, ex, { maxBatch: 16, capacity: 64 });
        lockstep(a, b, [1, 403, 407, 261, 378, 434, 271, 260, 10, 1], 12);
        assert.equal(ex.stats.serial, 0);
        assert.ok(ex.stats.parallel > 0);
      } finally {
        await ex.close();
      }
    });
  }

  for (const dtype of ['bf16', 'int8', 'int4'] as const) {
    test(`stories260K with ${dtype} weights, every kernel split, 2 threads`, async () => {
      const w = stories260KRef();
      const rt = mtRuntime();
      const ex = await threaded(rt, { threads: 2, minLinearWork: 0, minAttentionWork: 0 });
      try {
        const a = await modelOn(rt, w, new SerialExecutor(rt), { maxBatch: 16, capacity: 64, dtype });
        const b = await modelOn(rt, w, ex, { maxBatch: 16, capacity: 64, dtype });
        lockstep(a, b, [1, 403, 407, 261, 378, 434, 271, 260], 6);
        assert.equal(ex.stats.serial, 0);
      } finally {
        await ex.close();
      }
    });
  }

  test('Gemma-2-like model (sliding window 3, soft-capping, post norms, GeGLU), every kernel split, 2 threads', async () => {
    const config = parseHfConfig({
      model_type: 'gemma2', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16,
      vocab_size: 50, max_position_embeddings: 64, query_pre_attn_scalar: 16, sliding_window: 3, attn_logit_softcapping: 2, final_logit_softcapping: 5,
    }, 'config.json');
    const roles = randomRoles(config, 3);
    const rt = mtRuntime();
    const ex = await threaded(rt, { threads: 2, minLinearWork: 0, minAttentionWork: 0 });
    try {
      const load = (e: SerialExecutor | typeof ex) => LlamaModel.load(rt, config, memoryRoleReader(config, (r) => roles.get(r)), { maxBatch: 16, capacity: 64, executor: e });
      const a = await load(new SerialExecutor(rt));
      const b = await load(ex);
      lockstep(a, b, [1, 40, 7, 26, 3, 44, 21, 2, 10, 1], 8);
      assert.equal(ex.stats.serial, 0);
    } finally {
      await ex.close();
    }
  });

  test('stories260K with the default thresholds: decode runs entirely on the calling thread', async () => {
    const w = stories260KRef();
    const rt = mtRuntime();
    const ex = await threaded(rt, { threads: 2 });
    try {
      const m = await modelOn(rt, w, ex, { maxBatch: 8, capacity: 64 });
      m.tokens[0] = 1;
      m.positions[0] = 0;
      for (let pos = 0; pos < 40; pos++) {
        m.forward(1);
        m.cache.commit(1);
        m.tokens[0] = argmax(m.logits, 0, w.config.vocabSize);
        m.positions[0] = pos + 1;
      }
      assert.equal(ex.stats.parallel, 0, '64-dim model: every decode matmul and attention is below the thresholds');
      assert.ok(ex.stats.serial > 0);
    } finally {
      await ex.close();
    }
  });

  test('random model crossing the default thresholds (dim 256, GQA, untied), 2 threads', async () => {
    const w = randomRefWeights(2024, { dim: 256, hiddenDim: 512, nLayers: 2, nHeads: 8, nKvHeads: 4, vocabSize: 300, maxSeqLen: 64, tied: false });
    const rt = mtRuntime('simd-mt', 4 << 20);
    const ex = await threaded(rt, { threads: 2 });
    const bytesAtStart = rt.memory.buffer.byteLength;
    try {
      const a = await modelOn(rt, w, new SerialExecutor(rt), { maxBatch: 16, capacity: 64 });
      const b = await modelOn(rt, w, ex, { maxBatch: 16, capacity: 64 });
      // the memory grew after the workers started: their instances must see the new pages
      assert.ok(rt.memory.buffer.byteLength > bytesAtStart && b.logitsPtr(0) > bytesAtStart);
      lockstep(a, b, Array.from({ length: 16 }, (_, i) => (i * 37 + 5) % 300), 4);
      assert.ok(ex.stats.parallel > 0 && ex.stats.serial > 0, JSON.stringify(ex.stats));
    } finally {
      await ex.close();
    }
  });
});

describe('threads/model: stories260K against the scalar reference on every non-default build', { timeout: 60_000 }, () => {
  for (const build of ['relaxed', 'simd-mt', 'relaxed-mt'] as const satisfies readonly WasmBuild[]) {
    test(`${build}${build.endsWith('-mt') ? ' (2 threads, every kernel split)' : ''}: logits match the reference for 40 positions`, async () => {
      const w: RefWeights = stories260KRef();
      const ref = new RefModel(w);
      const rt = createNodeRuntime({ build });
      assert.equal(rt.build, build);
      const ex = build.endsWith('-mt') ? await threaded(rt, { threads: 2, minLinearWork: 0, minAttentionWork: 0 }) : new SerialExecutor(rt);
      try {
        const m = await modelOn(rt, w, ex, { maxBatch: 8 });
        const V = w.config.vocabSize;
        let tok = 1;
        for (let pos = 0; pos < 40; pos++) {
          const want = ref.forward(tok, pos);
          m.tokens[0] = tok;
          m.positions[0] = pos;
          m.forward(1);
          m.cache.commit(1);
          const got = m.logits.subarray(0, V);
          assert.ok(relDiff(got, want) < 2e-5, `pos ${pos}: rel diff ${relDiff(got, want)}`);
          tok = argmax(want);
        }
      } finally {
        await ex.close();
      }
    });
  }
});
