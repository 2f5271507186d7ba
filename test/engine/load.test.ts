// Loading the shipped models end to end (files → config → tokenizer → packed weights) and the
// facts every one of them must reproduce: llama2.c's published greedy text for stories260K, the
// known greedy tokens of the 281K draft and of TinyStories-656K, and GGUF = safetensors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import type { LoadedModel } from '../../src/engine/load.js';
import { ConfigError, TokenizerError } from '../../src/errors.js';
import { argmax } from '../model/helpers.js';
import { Tokenizer } from '../../src/tokenizer.js';
import { tokenizerGgufMetadata } from '../../src/weights/gguf-writer.js';
import { REAL_TOKENIZERS } from '../tokenizer/corpus.js';
import { tinyLlamaGguf } from '../tokenizer/llama-cpp.js';

const FIXTURES = new URL('../../../test/fixtures/', import.meta.url);

/** Greedy continuation of `prompt` ids for `steps` tokens, fed one at a time. */
function greedy(m: LoadedModel, prompt: number[], steps: number): number[] {
  const model = m.model;
  model.cache.truncate(0);
  const V = m.config.vocabSize;
  const out: number[] = [];
  let tok = prompt[0]!;
  for (let pos = 0; pos < prompt.length - 1 + steps; pos++) {
    model.tokens[0] = tok;
    model.positions[0] = pos;
    model.forward(1);
    model.cache.commit(1);
    if (pos + 1 < prompt.length) {
      tok = prompt[pos + 1]!;
    } else {
      tok = argmax(model.logits, 0, V);
      out.push(tok);
    }
  }
  return out;
}

describe('engine/load', () => {
  test('stories260K: greedy from BOS for 200 positions prints exactly what llama2.c prints', async () => {
    const m = await loadModelFromPath(createNodeRuntime(), join(WEIGHTS_DIR, 'stories260K'));
    const ids = greedy(m, [1], 200);
    const want = readFileSync(new URL('llama2c-stories260K-greedy-200.txt', FIXTURES), 'utf8');
    assert.equal(m.tokenizer.decode(ids), want);
  });

  test('stories281K-draft: the known greedy tokens from BOS', async () => {
    const m = await loadModelFromPath(createNodeRuntime(), join(WEIGHTS_DIR, 'stories281K-draft'));
    const want = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410];
    assert.deepEqual(greedy(m, [1], want.length), want);
  });

  test('TinyStories-656K (native HF layout, tied lm_head only): known encoding and greedy continuation', async () => {
    const m = await loadModelFromPath(createNodeRuntime(), join(WEIGHTS_DIR, 'tinystories-656K'));
    const prompt = Array.from(m.tokenizer.encode('Once upon a time,'));
    assert.deepEqual(prompt, [1, 80, 147, 201, 282, 57, 8]);
    assert.deepEqual(greedy(m, prompt, 8), [1137, 117, 1513, 101, 87, 1076, 1005, 361]);
  });

  test('stories260K.gguf loads (embedded tokenizer, un-permuted q/k) and gives the same logits as the safetensors directory', async () => {
    const rt = createNodeRuntime();
    const st = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'));
    const gg = await loadModelFromPath(rt, new URL('stories260K.gguf', FIXTURES).pathname);
    assert.deepEqual(Array.from(gg.tokenizer.encode('Once upon a time')), Array.from(st.tokenizer.encode('Once upon a time')));
    const prompt = [1, 403, 407, 261, 378];
    for (const m of [st, gg]) {
      prompt.forEach((t, i) => {
        m.model.tokens[i] = t;
        m.model.positions[i] = i;
      });
      m.model.forward(prompt.length);
    }
    assert.deepEqual(Array.from(gg.model.logits.subarray(0, 512 * 5)), Array.from(st.model.logits.subarray(0, 512 * 5)));
  });

  test('a llama GGUF with a byte-level (gpt2) tokenizer loads: SmolLM2\'s vocabulary, pre "smollm"', async () => {
    const real = REAL_TOKENIZERS.find((r) => r.name === 'SmolLM2')!;
    const json = Tokenizer.fromJson(real.tokenizerJson(), real.tokenizerConfigJson());
    const dir = mkdtempSync(join(tmpdir(), 'spechub-'));
    try {
      const path = join(dir, 'smol.gguf');
      writeFileSync(path, tinyLlamaGguf(tokenizerGgufMetadata(real.tokenizerJson(), real.tokenizerConfigJson()), json.vocabSize));
      const m = await loadModelFromPath(createNodeRuntime(), path);
      assert.deepEqual([m.tokenizer.info.kind, m.tokenizer.info.pre, m.config.vocabSize], ['byte-level', 'smollm', 49153]);
      const text = '<|im_start|>user\nHello, world! 12345<|im_end|>';
      for (const parseSpecial of [false, true]) assert.deepEqual(Array.from(m.tokenizer.encode(text, { parseSpecial })), Array.from(json.encode(text, { parseSpecial })));
      const prompt = Array.from(m.tokenizer.encode('Hello', { bos: false }));
      prompt.forEach((t, i) => {
        m.model.tokens[i] = t;
        m.model.positions[i] = i;
      });
      m.model.forward(prompt.length);
      assert.ok(m.model.logits.subarray(0, 49153).every(Number.isFinite));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a tokenizer passed in (a self-draft\'s: the target\'s) is used as it is, from a GGUF and from a directory without tokenizer.json; a larger one is refused', async () => {
    const rt = createNodeRuntime();
    const target = await loadModelFromPath(rt, new URL('stories260K.gguf', FIXTURES).pathname);
    const copy = await loadModelFromPath(rt, new URL('stories260K.gguf', FIXTURES).pathname, { dtype: 'int4', name: 'copy', tokenizer: target.tokenizer });
    assert.equal(copy.tokenizer, target.tokenizer);
    const dir = mkdtempSync(join(tmpdir(), 'spechub-'));
    try {
      for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(WEIGHTS_DIR, 'stories260K', f), join(dir, f));
      const hf = await loadModelFromPath(rt, dir, { tokenizer: target.tokenizer });
      assert.equal(hf.tokenizer, target.tokenizer);
      const real = REAL_TOKENIZERS.find((r) => r.name === 'SmolLM2')!;
      const big = Tokenizer.fromJson(real.tokenizerJson(), real.tokenizerConfigJson());
      await assert.rejects(loadModelFromPath(rt, dir, { tokenizer: big }), (e: unknown) => e instanceof TokenizerError && /the tokenizer has \d+ tokens but the model only 512 logits/.test((e as Error).message));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('bad paths and incomplete directories are typed errors', async () => {
    const rt = createNodeRuntime();
    await assert.rejects(loadModelFromPath(rt, '/nonexistent/model'), ConfigError);
    const dir = mkdtempSync(join(tmpdir(), 'spechub-'));
    try {
      for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(WEIGHTS_DIR, 'stories260K', f), join(dir, f));
      await assert.rejects(loadModelFromPath(rt, dir), (e: unknown) => e instanceof TokenizerError && /tokenizer\.json/.test((e as Error).message));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
