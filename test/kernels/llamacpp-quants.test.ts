// Cross-check with llama.cpp (the node-llama-cpp devDependency) on the same quantised GGUF files: a small
// random-weight Llama (test/kernels/random-llama.ts: d 256, ffn 512, 2 layers, GQA 4/2, vocab 512, peaked
// next-token distributions) written as F32, then
//  - quantised by llama.cpp's own quantizer (llama_model_quantize, through test/tools/ggml-oracle.ts) to
//    Q4_0, Q4_K_M, Q5_K_M and Q6_K: every tensor of those files equals spechub's writer's quantisation of
//    the same f32 values, byte for byte (the writer is ggml's reference quantizer); and
//  - written by spechub's writer with every quantised type spread over the tensors;
// and on each file spechub (weights kept as stored) and llama.cpp (F32 KV cache, 1 thread) compute the
// next-token distributions after a 16-token prompt whose tokens are drawn so that, after each, the exact
// model (below) has a top-2 logit margin ≥ 1 nat (near-ties would make argmax a coin toss).
//
// The agreement asserted, at every position i: equal argmax, and
//   L1(p_spechub(i), p_llama.cpp(i)) ≤ 2·A + ε,   A = max_i L1(p_spechub(i), p_exact(i)),
// where p_exact is spechub on the same file with dtype f32 (exactly the dequantised weights, f32
// activations), so A is what activation quantisation does to this model's distributions: both engines multiply the same weights by activations quantised to int8 by the same
// rules (per 32 columns with an f16 scale for Q4_0/Q5_0/Q8_0/IQ4_NL/… as q8_0, per 256 for the
// K-quants/IQ4_XS as q8_K), so each engine's distance to p_exact is what activation quantisation does to
// this model (the test checks that llama.cpp's distance is within 2A too), and by the triangle
// inequality the two are at most the sum of those distances apart. (They
// are not bit-equal: a last-bit difference upstream — exp, summation order — moves an activation across
// a rounding boundary now and then, and this model's peaked head amplifies such flips.) ε = 1e-4
// covers two f32 implementations of the same math (summation orders, exp, 1/sqrt): logit differences
// of ~1e-5, i.e. L1 ≈ e^{2·1e-5} − 1 ≈ 2e-5. The bound is also checked to be far below what the weight
// quantisation itself does (L1 to the f32 original), so the comparison would see a wrong kernel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { createNodeRuntime } from '../../src/node.js';
import { fileByteSource } from '../../src/node/fs-source.js';
import { openGgufModel } from '../../src/weights/open-model.js';
import { LlamaModel, type WeightDtype } from '../../src/model/llama.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { bytesSource } from '../../src/io/source.js';
import { GGML_QUANT_TYPES, quantizeGgml, type GgmlQuantType, type GgmlType } from '../../src/weights/ggml-quants.js';
import { createRng } from '../../src/rng.js';
import { LLAMA_FTYPE, llamaModelQuantize } from '../tools/ggml-oracle.js';
import { RANDOM_LLAMA, randomLlamaGguf, randomLlamaTensors } from './random-llama.js';
import type { TensorToStore } from '../../src/weights/llama-tensors.js';

const PROMPT = 16;
const EPS = 1e-4;
/** Top-2 logit margin (nats) of the exact model at every compared position: far above the logit changes activation quantisation makes here (≲ 0.3). */
const MARGIN = 1;

function softmax(l: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < l.length; i++) m = Math.max(m, l[i]);
  const p = Float64Array.from(l, (v) => Math.exp(v - m));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / z);
}
function l1(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
}
function argmax(a: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
  return b;
}

/** A model of `path` in spechub, weights as `dtype` asks. */
async function spechubModel(path: string, dtype: WeightDtype): Promise<LlamaModel> {
  const src = await fileByteSource(path);
  try {
    const opened = await openGgufModel(src);
    return await LlamaModel.load(createNodeRuntime(), opened.config, opened.tensors, { maxBatch: PROMPT, capacity: RANDOM_LLAMA.ctx, dtype });
  } finally {
    await src.close?.();
  }
}

/** The logits rows after each of `tokens` (nothing committed: the model can be asked again). */
function logitsOf(m: LlamaModel, tokens: readonly number[]): Float32Array[] {
  tokens.forEach((t, i) => {
    m.tokens[i] = t;
    m.positions[i] = i;
  });
  m.forward(tokens.length, 0);
  const V = m.config.vocabSize;
  return tokens.map((_, i) => m.logits.slice(i * V, (i + 1) * V));
}

/** Largest minus second-largest logit. */
function margin(l: Float32Array): number {
  let a = -Infinity, b = -Infinity;
  for (const v of l) {
    if (v > a) [a, b] = [v, a];
    else if (v > b) b = v;
  }
  return a - b;
}

/**
 * BOS and PROMPT − 1 tokens (seeded draws) each chosen so that the exact model's next-token distribution
 * after it has a top-2 logit margin ≥ MARGIN: the positions compared have an unambiguous argmax.
 */
function clearPrompt(exact: LlamaModel, seed: number): number[] {
  const rng = createRng(seed);
  const tokens = [1];
  while (tokens.length < PROMPT) {
    for (let tries = 0; ; tries++) {
      assert.ok(tries < 200, 'no token with a clear next-token margin');
      const t = 3 + (rng.nextU32() % (RANDOM_LLAMA.vocab - 3));
      const rows = logitsOf(exact, [...tokens, t]);
      if (margin(rows[rows.length - 1]!) >= MARGIN) {
        tokens.push(t);
        break;
      }
    }
  }
  return tokens;
}

/** llama.cpp's next-token distributions after each prompt position (F32 KV cache, no flash attention, 1 thread). */
async function llamaDists(llama: Llama, path: string, tokens: readonly number[]): Promise<Float64Array[]> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const ctx = await model.createContext({
      contextSize: RANDOM_LLAMA.ctx, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
    });
    const seq = ctx.getSequence();
    const out = await seq.controlledEvaluate(tokens.map((t) => [t as Token, { generateNext: { logits: true } }]));
    await ctx.dispose();
    return tokens.map((_, i) => {
      const logits = new Float64Array(RANDOM_LLAMA.vocab);
      const map = out[i]?.next.logits;
      assert.ok(map && map.size === RANDOM_LLAMA.vocab, `llama.cpp logits for position ${i}`);
      for (const [tok, v] of map) logits[tok] = v;
      return softmax(logits);
    });
  } finally {
    await model.dispose();
  }
}

describe('quantised GGUF files: spechub = llama.cpp on the same file', () => {
  let llama: Llama;
  let dir: string;
  let tensors: TensorToStore[];
  let f32Path: string;
  let original: LlamaModel;

  before(async () => {
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    dir = mkdtempSync(join(tmpdir(), 'spechub-quants-'));
    tensors = randomLlamaTensors(2024);
    f32Path = join(dir, 'f32.gguf');
    writeFileSync(f32Path, randomLlamaGguf(tensors, () => 'F32'));
    original = await spechubModel(f32Path, 'f32');
  });
  after(async () => {
    await llama?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The assertions of the file header, for one file, at the positions after each chosen prompt token. */
  async function agree(t: { diagnostic(s: string): void }, path: string, what: string, seed: number): Promise<void> {
    const exactModel = await spechubModel(path, 'f32');
    const tokens = clearPrompt(exactModel, seed);
    const exact = logitsOf(exactModel, tokens).map(softmax);
    const ours = logitsOf(await spechubModel(path, 'auto'), tokens).map(softmax);
    const orig = logitsOf(original, tokens).map(softmax);
    const theirs = await llamaDists(llama, path, tokens);
    // A: what activation quantisation does to this model's distributions (spechub, quantised vs f32 activations)
    let A = 0;
    for (let i = 1; i < PROMPT; i++) A = Math.max(A, l1(ours[i], exact[i]));
    const bound = 2 * A + EPS;
    let worst = 0, theirsA = 0, weightEffect = 0, meanTop = 0;
    for (let i = 1; i < PROMPT; i++) {
      assert.equal(argmax(ours[i]), argmax(theirs[i]), `${what}: argmax at position ${i}`);
      assert.equal(argmax(ours[i]), argmax(exact[i]), `${what}: argmax at position ${i} (vs exact)`);
      const d = l1(ours[i], theirs[i]);
      assert.ok(d <= bound, `${what}: position ${i}: L1(spechub, llama.cpp) = ${d.toExponential(3)} > 2·A + ε = ${bound.toExponential(3)}`);
      worst = Math.max(worst, d);
      theirsA = Math.max(theirsA, l1(theirs[i], exact[i]));
      weightEffect = Math.max(weightEffect, l1(exact[i], orig[i]));
      meanTop += Math.max(...ours[i]) / (PROMPT - 1);
    }
    // the premise: llama.cpp's activation quantisation moves it from p_exact by as much as spechub's does
    assert.ok(theirsA <= bound, `${what}: max L1(llama.cpp, exact) ${theirsA} vs A = ${A}`);
    // the check is sensitive: the weight quantisation moves the distribution far more than the bound allows
    assert.ok(bound < weightEffect, `${what}: bound ${bound} vs weight quantisation effect ${weightEffect}`);
    t.diagnostic(
      `${what}: max L1(spechub, llama.cpp) ${worst.toExponential(2)} ≤ 2A + ε = ${bound.toExponential(2)} ` +
        `(A = max L1(spechub, exact); max L1(llama.cpp, exact) ${theirsA.toExponential(2)}); max L1(exact, f32 original) ${weightEffect.toExponential(2)}, mean top-1 p ${meanTop.toFixed(2)}`,
    );
  }

  for (const preset of ['Q4_0', 'Q4_K_M', 'Q5_K_M', 'Q6_K'] as const) {
    test(`llama.cpp-quantised ${preset}: every tensor = spechub's writer's bytes; spechub and llama.cpp agree`, async (t) => {
      const path = join(dir, `${preset}.gguf`);
      llamaModelQuantize(f32Path, path, LLAMA_FTYPE[preset]);
      const f = await GgufFile.open(bytesSource(path, readFileSync(path)));
      const types = new Set<string>();
      for (const src of tensors) {
        const info = f.tensors.get(src.name);
        assert.ok(info, `${preset}: ${src.name} present`);
        types.add(info.dtype);
        if (info.dtype === 'F32') continue;
        const stored = await f.readTensorRaw(src.name);
        const ours = quantizeGgml(info.dtype as GgmlQuantType, src.data, src.shape[0], src.shape[1]);
        assert.ok(Buffer.compare(stored, ours) === 0, `${preset}: ${src.name} (${info.dtype}) differs from spechub's quantisation`);
      }
      if (preset === 'Q4_K_M') assert.ok(types.has('Q4_K') && types.has('Q6_K'), `Q4_K_M mixes Q4_K and Q6_K: ${[...types]}`);
      if (preset === 'Q5_K_M') assert.ok(types.has('Q5_K') && types.has('Q6_K'), `Q5_K_M mixes Q5_K and Q6_K: ${[...types]}`);
      t.diagnostic(`${preset}: tensor types ${[...types].join(', ')}`);
      await agree(t, path, preset, 100 + LLAMA_FTYPE[preset]);
    });
  }

  test('files spechub writes (every quantised type across the tensors): llama.cpp loads them and agrees', async (t) => {
    const plan: Record<string, GgmlType> = {
      'token_embd.weight': 'Q5_K',
      'blk.0.attn_q.weight': 'Q4_0', 'blk.0.attn_k.weight': 'Q4_1', 'blk.0.attn_v.weight': 'Q5_0', 'blk.0.attn_output.weight': 'Q5_1',
      'blk.0.ffn_gate.weight': 'Q8_0', 'blk.0.ffn_up.weight': 'IQ4_NL', 'blk.0.ffn_down.weight': 'IQ4_XS',
      'blk.1.attn_q.weight': 'Q2_K', 'blk.1.attn_k.weight': 'Q3_K', 'blk.1.attn_v.weight': 'Q4_K', 'blk.1.attn_output.weight': 'Q5_K',
      'blk.1.ffn_gate.weight': 'Q6_K', 'blk.1.ffn_up.weight': 'Q4_K', 'blk.1.ffn_down.weight': 'Q6_K',
      'output.weight': 'Q6_K',
    };
    assert.deepEqual(new Set(Object.values(plan)), new Set(GGML_QUANT_TYPES), 'the plan covers every quantised type');
    const path = join(dir, 'mixed.gguf');
    writeFileSync(path, randomLlamaGguf(tensors, (name) => plan[name] ?? 'F32', 17));
    await agree(t, path, 'spechub-written mix', 7);
  });
});
