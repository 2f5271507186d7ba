// spechub against llama.cpp (node-llama-cpp, prebuilt CPU binaries) on the real architectures: for each
// real config.json in test/fixtures/real-configs/ (origins: test/fixtures/real-configs/SOURCES.md), a
// random-weight model with the real dimensions (1–2 layers) is written as a Hugging Face directory and
// as an F32 GGUF (our writers, through the tensor-role table); then
//   - the GGUF's config read back equals the config.json's (in llama.cpp's form: ggufFormOf),
//   - spechub's logits after a prompt of several tokens are bit-identical between the HF directory and
//     the GGUF (tolerance only where the GGUF stores Llama-3 scaling as f32 frequency factors),
//   - spechub's next-token distribution on the GGUF equals llama.cpp's on the same file: L1 ≤ 1e-2 and
//     the same argmax (llama.cpp with an F32 KV cache and no flash attention, so only summation orders
//     differ; its GELU rounds its input to f16, spechub's does not),
//   - the distribution is peaked (the top logit several nats above the mean) but not one-hot (top probability
//     ≤ 0.9), so the comparison means something.
// Vocabularies too large for a fast test (vocab × dim × heads-of-embedding > 50M values) are cut to 4096
// tokens, keeping every layer dimension real; titles say so, and any other change to a real config.
// Extra cases make RoPE scaling (linear, yarn, llama3), biases and a sliding window bite within the prompt.
// A second suite runs three of the architectures with f16 KV caches in both engines (see F16_CASES).
// Files go to a temporary directory (in memory where there is room) and are deleted.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { canonicalConfig, parseHfConfigDetailed, type ModelConfig } from '../../src/config.js';
import { createNodeRuntime, fileByteSource, fsModelSource } from '../../src/node.js';
import { openGgufModel, openHfModel } from '../../src/weights/open-model.js';
import { ggufFormOf } from '../../src/weights/gguf-llama.js';
import { LlamaModel } from '../../src/model/llama.js';
import type { ModelTensors } from '../../src/weights/llama-tensors.js';
import type { KvType } from '../../src/model/kv-cache.js';
import { randomRoles, writeGgufModel, writeHfModel } from './arch-models.js';

const FIXTURES = new URL('../../../test/fixtures/real-configs/', import.meta.url);
const CUT_VOCAB = 4096;
const MAX_EMBEDDING_VALUES = 50_000_000;

interface OracleCase {
  /** Folder in test/fixtures/real-configs. */
  readonly folder: string;
  readonly layers: number;
  /** Fields changed from the real config (named in the title). */
  readonly patch?: Record<string, unknown>;
  readonly note?: string;
  readonly prompt: number;
  /** config.json fields expected to be reported as not read (default none). */
  readonly ignored?: readonly string[];
}

const CASES: readonly OracleCase[] = [
  { folder: 'tinyllama-1.1b-chat-v1.0', layers: 1, prompt: 8 },
  { folder: 'smollm2-135m', layers: 1, prompt: 8 },
  { folder: 'smollm2-360m-instruct-resaved', layers: 1, prompt: 8, patch: { architectures: ['LlamaForCausalLM'] }, note: 'as LlamaForCausalLM', ignored: ['id2label', 'label2id', 'problem_type'] },
  { folder: 'qwen2.5-0.5b-instruct', layers: 1, prompt: 8 },
  { folder: 'llama-3.2-1b-instruct', layers: 1, prompt: 8 },
  { folder: 'mistral-7b-v0.1', layers: 1, prompt: 8 },
  { folder: 'mistral-nemo-base-2407', layers: 1, prompt: 8 },
  { folder: 'phi-3-mini', layers: 1, prompt: 8 },
  { folder: 'gemma-2-9b-it', layers: 2, prompt: 10, patch: { sliding_window: 4, sliding_window_size: 4 }, note: 'sliding window 4 < prompt 10, so it bites on layer 0' },
  { folder: 'qwen3-0.6b', layers: 1, prompt: 8 },
  { folder: 'gemma-3-1b-it', layers: 2, prompt: 10, patch: { sliding_window_pattern: 2 }, note: 'sliding_window_pattern 2: a local and a global layer' },
  // RoPE scaling within the prompt: the original context cut to 8 positions so the scaled frequencies matter
  { folder: 'llama-3.2-1b-instruct', layers: 1, prompt: 24, patch: { rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 } }, note: 'llama3 RoPE scaling with original_max_position_embeddings 8' },
  { folder: 'qwen2.5-0.5b-instruct', layers: 1, prompt: 24, patch: { rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 8 } }, note: 'yarn RoPE scaling, factor 4 over 8 positions' },
  { folder: 'smollm2-135m', layers: 1, prompt: 24, patch: { rope_scaling: { type: 'linear', factor: 4 }, attention_bias: true, mlp_bias: true }, note: 'linear RoPE scaling 4, attention_bias and mlp_bias' },
];

/**
 * Where the files go: /dev/shm (memory) when it has room for the largest case (two copies of ~1.6 GB),
 * else the system temporary directory: the files are written once and read twice, disk adds nothing.
 */
function scratchRoot(): string {
  try {
    if (existsSync('/dev/shm')) {
      const s = statfsSync('/dev/shm');
      if (s.bavail * s.bsize > 6e9) return '/dev/shm';
    }
  } catch {
    // no statfs: use the temporary directory
  }
  return tmpdir();
}

/** The test's config.json: the real one with `layers` layers, the patch, and the vocabulary cut when too large. */
function caseConfig(c: OracleCase): { json: Record<string, unknown>; cut: number | null } {
  const json = JSON.parse(readFileSync(new URL(`${c.folder}/config.json`, FIXTURES), 'utf8')) as Record<string, unknown>;
  json.num_hidden_layers = c.layers;
  Object.assign(json, c.patch ?? {});
  const vocab = json.vocab_size as number;
  const heads = json.tie_word_embeddings === false ? 2 : 1;
  let cut: number | null = null;
  if (vocab * (json.hidden_size as number) * heads > MAX_EMBEDDING_VALUES) {
    cut = vocab;
    json.vocab_size = CUT_VOCAB;
    json.bos_token_id = 1;
    json.eos_token_id = 2;
    if (json.pad_token_id !== undefined) json.pad_token_id = 0;
  }
  return { json, cut };
}

function titleOf(c: OracleCase): string {
  const { json, cut } = caseConfig(c);
  const parts = [`${c.layers} layer${c.layers > 1 ? 's' : ''}`, cut === null ? `vocab ${json.vocab_size}` : `vocabulary cut from ${cut} to ${CUT_VOCAB}`];
  if (c.note) parts.push(c.note);
  return `${c.folder} (${parts.join(', ')})`;
}

/** `v` with every number rounded to f32 (GGUF stores floats as FLOAT32; integers below 2^24 are unchanged). */
function f32Numbers<T>(v: T): T {
  if (typeof v === 'number') return Math.fround(v) as T;
  if (Array.isArray(v)) return v.map(f32Numbers) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f32Numbers(x)])) as T;
  return v;
}

/** softmax in f64. */
function probs(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const p = Float64Array.from(logits, (x) => Math.exp(x - max));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / z);
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** spechub's logits of the last prompt row, through the engine's loader for this file's tensors. */
async function spechubLogits(config: ModelConfig, tensors: ModelTensors, prompt: readonly number[], kvType: KvType = 'f32'): Promise<Float32Array> {
  const model = await LlamaModel.load(createNodeRuntime(), config, tensors, { maxBatch: prompt.length, capacity: prompt.length, name: 'oracle', kvType });
  prompt.forEach((t, i) => {
    model.tokens[i] = t;
    model.positions[i] = i;
  });
  model.forward(prompt.length, prompt.length - 1);
  return model.logits.slice(0, config.vocabSize);
}

/** llama.cpp's logits of the last prompt row (F32 KV cache unless told, no flash attention). */
async function llamaCppLogits(llama: Llama, path: string, prompt: readonly number[], vocab: number, kvType: KvType = 'f32'): Promise<Float64Array> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    const ctx = await model.createContext({
      contextSize: 64, batchSize: 64, sequences: 1, threads: 2, flashAttention: false,
      experimentalKvCacheKeyType: kvType === 'f16' ? 'F16' : 'F32', experimentalKvCacheValueType: kvType === 'f16' ? 'F16' : 'F32',
    });
    try {
      const items = prompt.map((t, i) => (i === prompt.length - 1 ? ([t, { generateNext: { logits: true } }] as const) : t));
      const out = await ctx.getSequence().controlledEvaluate(items as Parameters<ReturnType<typeof ctx.getSequence>['controlledEvaluate']>[0]);
      const map = out[prompt.length - 1]?.next?.logits;
      assert.ok(map !== undefined, 'llama.cpp returned no logits');
      assert.equal(map.size, vocab, 'llama.cpp returns a logit per token');
      const logits = new Float64Array(vocab);
      for (const [t, v] of map) logits[t] = v;
      return logits;
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe('spechub = llama.cpp on random-weight models of real architectures', () => {
  let llama: Llama;
  let dir: string;
  before(async () => {
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    dir = mkdtempSync(join(scratchRoot(), 'spechub-oracle-'));
  });
  after(async () => {
    await llama?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  CASES.forEach((c, index) => {
    test(titleOf(c), async (t) => {
      const { json } = caseConfig(c);
      const { config, ignoredFields } = parseHfConfigDetailed(json, `${c.folder}/config.json`);
      assert.deepEqual(ignoredFields, c.ignored ?? [], 'every field of the real config is read or known harmless, or reported');
      const hfDir = join(dir, `hf-${index}`);
      const ggufPath = join(dir, `model-${index}.gguf`);
      try {
        const roles = randomRoles(config, 1 + index);
        writeHfModel(hfDir, json, config, roles);
        const ggufConfig = writeGgufModel(ggufPath, config, roles);
        roles.clear();
        const prompt = [1];
        for (let i = 1; i < c.prompt; i++) prompt.push(259 + ((i * 7919 + index * 104729) % (config.vocabSize - 259)));

        const gguf = await openGgufModel(await fileByteSource(ggufPath));
        let fromGguf: Float32Array;
        try {
          // token ids come from the plain test vocabulary (BOS 1, EOS 2); everything else from the config.json
          const { bosTokenId: _b, eosTokenId: _e, eosTokenIds: _es, ...inFile } = gguf.config;
          const { bosTokenId: _b2, eosTokenId: _e2, eosTokenIds: _es2, ...written } = canonicalConfig(ggufConfig);
          assert.deepEqual(inFile, f32Numbers(written), 'the GGUF holds the config.json (in llama.cpp form; its floats are FLOAT32)');
          assert.deepEqual(gguf.warnings, []);
          fromGguf = await spechubLogits(gguf.config, gguf.tensors, prompt);
        } finally {
          await gguf.close();
        }
        const hf = await openHfModel(fsModelSource(hfDir));
        let fromHf: Float32Array;
        try {
          fromHf = await spechubLogits(hf.config, hf.tensors, prompt);
        } finally {
          await hf.close();
        }
        rmSync(hfDir, { recursive: true, force: true });
        if (config.ropeScaling?.type === 'llama3') {
          // the GGUF stores the Llama-3 frequencies as f32 divisors; the HF path computes them in f64
          let worst = 0;
          for (let v = 0; v < fromHf.length; v++) worst = Math.max(worst, Math.abs(fromHf[v]! - fromGguf[v]!));
          assert.ok(worst < 1e-3, `HF vs GGUF logits differ by ${worst}`);
        } else {
          assert.deepEqual(fromHf, fromGguf, 'the HF directory and the GGUF give the same logits, bit for bit');
        }

        const ref = await llamaCppLogits(llama, ggufPath, prompt, config.vocabSize);
        const p = probs(fromGguf);
        const q = probs(ref);
        let l1 = 0;
        let maxDiff = 0;
        for (let v = 0; v < p.length; v++) {
          l1 += Math.abs(p[v]! - q[v]!);
          maxDiff = Math.max(maxDiff, Math.abs(fromGguf[v]! - ref[v]!));
        }
        const mean = fromGguf.reduce((a, b) => a + b, 0) / fromGguf.length;
        const spread = fromGguf[argmax(fromGguf)]! - mean;
        t.diagnostic(`L1 ${l1.toExponential(2)}, max |Δlogit| ${maxDiff.toExponential(2)}, top logit ${spread.toFixed(1)} nats above the mean, top p ${Math.max(...q).toFixed(3)}`);
        assert.ok(spread >= 4, `the distribution is peaked: top logit ${spread.toFixed(2)} nats above the mean`);
        assert.ok(Math.max(...q) <= 0.9, `the distribution is not one-hot (top probability ${Math.max(...q)}): the L1 bound must see a spread of mass`);
        assert.ok(l1 <= 1e-2, `L1(spechub, llama.cpp) = ${l1} (max logit difference ${maxDiff})`);
        assert.equal(argmax(fromGguf), argmax(ref), 'same argmax');
      } finally {
        rmSync(hfDir, { recursive: true, force: true });
        rmSync(ggufPath, { force: true });
      }
    });
  });
});

// With f16 KV caches in both engines (llama.cpp's default cache type), keys and values are rounded the same
// way (nearest even) before attention reads them. llama.cpp's CPU mat-muls against an f16 cache also round
// their other operand to f16 (the queries, and the attention weights before they meet V); spechub keeps
// those in f32. So the distributions agree less closely than with f32 caches (L1 ~1e-3 against ~3e-6),
// within the same 1e-2, and closer than spechub's f32 cache against llama.cpp's f16 one.
const F16_CASES: readonly OracleCase[] = [
  { folder: 'smollm2-135m', layers: 1, prompt: 24 },
  { folder: 'qwen2.5-0.5b-instruct', layers: 2, prompt: 24 },
  { folder: 'qwen3-0.6b', layers: 2, prompt: 24 },
];

describe('spechub = llama.cpp with f16 KV caches', () => {
  let llama: Llama;
  let dir: string;
  before(async () => {
    llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    dir = mkdtempSync(join(scratchRoot(), 'spechub-oracle-f16-'));
  });
  after(async () => {
    await llama?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  F16_CASES.forEach((c, index) => {
    test(`${titleOf(c)}, f16 KV caches`, async (t) => {
      const { json } = caseConfig(c);
      const { config } = parseHfConfigDetailed(json, `${c.folder}/config.json`);
      const ggufPath = join(dir, `model-f16-${index}.gguf`);
      try {
        const roles = randomRoles(config, 101 + index);
        writeGgufModel(ggufPath, config, roles);
        roles.clear();
        const prompt = [1];
        for (let i = 1; i < c.prompt; i++) prompt.push(259 + ((i * 7919 + index * 104729) % (config.vocabSize - 259)));
        const gguf = await openGgufModel(await fileByteSource(ggufPath));
        let ours16: Float32Array;
        let ours32: Float32Array;
        try {
          ours16 = await spechubLogits(gguf.config, gguf.tensors, prompt, 'f16');
          ours32 = await spechubLogits(gguf.config, gguf.tensors, prompt, 'f32');
        } finally {
          await gguf.close();
        }
        const ref = await llamaCppLogits(llama, ggufPath, prompt, config.vocabSize, 'f16');
        const q = probs(ref);
        const l1Of = (x: Float32Array) => probs(x).reduce((s, p, v) => s + Math.abs(p - q[v]!), 0);
        const same = l1Of(ours16);
        const mixed = l1Of(ours32);
        t.diagnostic(`L1 against llama.cpp's f16 cache: spechub f16 ${same.toExponential(2)}, spechub f32 ${mixed.toExponential(2)}; top p ${Math.max(...q).toFixed(3)}`);
        assert.ok(Math.max(...q) <= 0.9, `the distribution is not one-hot (top probability ${Math.max(...q)})`);
        assert.ok(same <= 1e-2, `L1(spechub f16, llama.cpp f16) = ${same}`);
        assert.ok(same < mixed, `the f16 caches agree more closely (${same}) than f32 against f16 (${mixed})`);
        assert.equal(argmax(ours16), argmax(ref), 'same argmax');
      } finally {
        rmSync(ggufPath, { force: true });
      }
    });
  });
});
