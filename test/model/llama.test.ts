// The engine's Llama forward against the independent scalar oracle (test/reference/llama-ref.ts):
// real stories260K (llama2.c layout + interleaved RoPE in the oracle, HF layout + rotate-half in the
// engine) and random models with GQA, untied heads and odd sizes; batched prefill = one by one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { RefModel } from '../reference/llama-ref.js';
import { argmax, engineModel, randomRefWeights, relDiff, stories260KRef } from './helpers.js';
import { CapacityError } from '../../src/errors.js';

describe('model/llama', () => {
  test('stories260K: logits match the scalar reference token by token (60 positions)', async () => {
    const w = stories260KRef();
    const ref = new RefModel(w);
    const m = await engineModel(createNodeRuntime(), w, { maxBatch: 8 });
    const V = w.config.vocabSize;
    let tok = 1;
    for (let pos = 0; pos < 60; pos++) {
      const want = ref.forward(tok, pos);
      m.tokens[0] = tok;
      m.positions[0] = pos;
      m.forward(1);
      m.cache.commit(1);
      const got = m.logits.subarray(0, V);
      assert.ok(relDiff(got, want) < 2e-5, `pos ${pos}: rel diff ${relDiff(got, want)}`);
      tok = argmax(want);
    }
  });

  for (const shape of [
    { dim: 48, hiddenDim: 100, nLayers: 2, nHeads: 6, nKvHeads: 2, vocabSize: 37, maxSeqLen: 40, tied: false },
    { dim: 36, hiddenDim: 50, nLayers: 3, nHeads: 3, nKvHeads: 3, vocabSize: 61, maxSeqLen: 40, tied: true },
    { dim: 64, hiddenDim: 172, nLayers: 1, nHeads: 4, nKvHeads: 1, vocabSize: 130, maxSeqLen: 40, tied: false },
  ]) {
    test(`random model ${JSON.stringify(shape)}: batched prefill equals one-by-one and the reference`, async () => {
      const w = randomRefWeights(shape.dim * 7 + shape.vocabSize, shape);
      const ref = new RefModel(w);
      const rt = createNodeRuntime();
      const a = await engineModel(rt, w, { maxBatch: 16 });
      const b = await engineModel(rt, w, { maxBatch: 16 });
      const V = shape.vocabSize;
      const tokens = Array.from({ length: 23 }, (_, i) => (i * 17 + 3) % V);
      // a: prefill in chunks of up to 16 rows with logits for every row
      const batched: Float32Array[] = [];
      for (let start = 0; start < tokens.length; start += 16) {
        const n = Math.min(16, tokens.length - start);
        for (let i = 0; i < n; i++) {
          a.tokens[i] = tokens[start + i]!;
          a.positions[i] = a.cache.length + i;
        }
        a.forward(n);
        for (let i = 0; i < n; i++) batched.push(a.logits.slice(i * V, (i + 1) * V));
        a.cache.commit(n);
      }
      tokens.forEach((t, pos) => {
        b.tokens[0] = t;
        b.positions[0] = pos;
        b.forward(1);
        b.cache.commit(1);
        const one = b.logits.slice(0, V);
        const want = ref.forward(t, pos);
        assert.ok(relDiff(one, want) < 2e-5, `one-by-one pos ${pos}: ${relDiff(one, want)}`);
        assert.ok(relDiff(batched[pos]!, one) < 2e-6, `batched vs one-by-one pos ${pos}: ${relDiff(batched[pos]!, one)}`);
      });
      // the caches hold the same keys and values
      for (let l = 0; l < shape.nLayers; l++) {
        for (const pos of [0, 11, 22]) {
          assert.ok(relDiff(a.cache.row('k', l, pos), b.cache.row('k', l, pos)) < 2e-6);
          assert.ok(relDiff(a.cache.row('v', l, pos), b.cache.row('v', l, pos)) < 2e-6);
        }
      }
    });
  }

  test('logitsFrom computes only the last rows; capacity overflow is a CapacityError', async () => {
    const w = randomRefWeights(5, { dim: 16, hiddenDim: 24, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 11, maxSeqLen: 6, tied: true });
    const m = await engineModel(createNodeRuntime(), w, { maxBatch: 8 });
    const ref = new RefModel(w);
    for (let i = 0; i < 5; i++) {
      m.tokens[i] = i + 1;
      m.positions[i] = i;
    }
    m.forward(5, 4);
    for (let i = 0; i < 4; i++) ref.forward(i + 1, i);
    assert.ok(relDiff(m.logits.subarray(0, 11), ref.forward(5, 4)) < 2e-5);
    m.cache.commit(5);
    // staging may run past the capacity (tree rows), positions and commits may not
    m.positions[0] = 5;
    m.positions[1] = 6;
    assert.throws(() => m.forward(2), CapacityError);
    m.positions[1] = 5;
    m.forward(2);
    assert.throws(() => m.cache.commit(2), CapacityError);
    m.cache.commit(1);
    assert.throws(() => m.forward(9), CapacityError);
    m.tokens[0] = 99;
    m.positions[0] = 5;
    assert.throws(() => m.forward(1), /token 99/);
  });
});
