// Every config.json field and GGUF key that changes the math, one test each: a small random-weight
// model of the architecture is written to a Hugging Face directory (or a GGUF) in memory, loaded by
// spechub, and run on a prompt; its logits at every position must match the independent f64
// reference model (test/reference/llama-ref.ts) configured with the field's meaning *as written in
// this test* (not through spechub's parser), and must differ from the logits without the field: the
// field is honoured and has an effect. Fields spechub does not implement are refused with a
// ConfigError naming them (here and in test/config.test.ts, test/weights/gguf.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { parseHfConfigDetailed, type ModelConfig } from '../../src/config.js';
import { createNodeRuntime } from '../../src/node.js';
import { bytesSource, memoryModelSource } from '../../src/io/source.js';
import { openGgufModel, openHfModel } from '../../src/weights/open-model.js';
import { ggufFormOf, ggufModelMetadata, ropeFreqsOf } from '../../src/weights/gguf-llama.js';
import { quantizeQ8_0, writeGguf } from '../../src/weights/gguf-writer.js';
import { f32ToBf16Array } from '../../src/weights/tensor.js';
import type { GgufValue } from '../../src/weights/gguf.js';
import { tensorsToStore, type TensorRole } from '../../src/weights/llama-tensors.js';
import { writeSafetensors } from '../../src/weights/safetensors-writer.js';
import { LlamaModel } from '../../src/model/llama.js';
import { RefModel, type RefConfig } from '../reference/llama-ref.js';
import { randomRoles, refWeightsOf } from './arch-models.js';

const PROMPT = [1, 17, 33, 9, 50, 21, 5, 62, 40, 12, 3, 27];
type Json = Record<string, unknown>;

/** Tiny bases with the real structure of each architecture (2 layers, GQA 4/2, head 8). */
const BASES: Record<string, Json> = {
  llama: {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000,
    tie_word_embeddings: false,
  },
  mistral: {
    architectures: ['MistralForCausalLM'], model_type: 'mistral', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000,
    sliding_window: null,
  },
  qwen2: {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-6, rope_theta: 10000,
    tie_word_embeddings: true, use_sliding_window: false, sliding_window: 32, max_window_layers: 2,
  },
  qwen3: {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 1e6, tie_word_embeddings: true, attention_bias: false,
  },
  phi3: {
    architectures: ['Phi3ForCausalLM'], model_type: 'phi3', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 4, vocab_size: 64, max_position_embeddings: 64, original_max_position_embeddings: 64,
    rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null, sliding_window: null, bos_token_id: 1, eos_token_id: 2,
  },
  gemma2: {
    architectures: ['Gemma2ForCausalLM'], model_type: 'gemma2', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 10000, query_pre_attn_scalar: 8, sliding_window: 64, attn_logit_softcapping: null, final_logit_softcapping: null,
    hidden_activation: 'gelu_pytorch_tanh',
  },
  gemma3: {
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, vocab_size: 64, max_position_embeddings: 64, rms_norm_eps: 1e-6,
    rope_theta: 1e6, rope_local_base_freq: 10000, query_pre_attn_scalar: 8, sliding_window: 64, sliding_window_pattern: 2,
    attn_logit_softcapping: null, final_logit_softcapping: null, rope_scaling: null,
  },
};

/** The reference's view of each base, written from the architectures' definitions (not spechub's parser). */
function refBase(arch: string): RefConfig {
  const common: RefConfig = { dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, maxSeqLen: 64, normEps: 1e-5, ropeTheta: 10000, headDim: 8 };
  switch (arch) {
    case 'qwen2':
      return { ...common, normEps: 1e-6 };
    case 'qwen3':
      return { ...common, normEps: 1e-6, ropeTheta: 1e6, headDim: 16 };
    case 'phi3':
      return { ...common, nKvHeads: 4 };
    case 'gemma2':
      // √dim embedding scale, GeGLU(tanh), query_pre_attn_scalar 8, window 64 on layer 0 (never bites here)
      return { ...common, normEps: 1e-6, activation: 'gelu_tanh', embedScale: Math.sqrt(32), attnScale: 8 ** -0.5, slidingWindow: 64, slidingLayers: [true, false] };
    case 'gemma3':
      return {
        ...common, normEps: 1e-6, ropeTheta: 1e6, localRopeTheta: 10000, activation: 'gelu_tanh', embedScale: Math.sqrt(32), attnScale: 8 ** -0.5,
        slidingWindow: 64, slidingLayers: [true, false],
      };
    default:
      return common;
  }
}

/** What the tensor set must hold, by role suffix, for a case (checks the table gave the architecture its tensors). */
function roleSuffixes(roles: ReadonlyMap<TensorRole, Float32Array>): string[] {
  return [...new Set([...roles.keys()].filter((r) => r.startsWith('layers.0.')).map((r) => r.slice(9)))].sort();
}

/** Logits [positions × vocab] of an engine model fed PROMPT one position per row in one batch. */
function engineRun(m: LlamaModel): Float32Array {
  PROMPT.forEach((t, i) => {
    m.tokens[i] = t;
    m.positions[i] = i;
  });
  m.forward(PROMPT.length);
  return m.logits.slice(0, PROMPT.length * m.config.vocabSize);
}

function refRun(ref: RefModel): Float64Array {
  const V = ref.w.config.vocabSize;
  const out = new Float64Array(PROMPT.length * V);
  PROMPT.forEach((t, i) => out.set(ref.forward(t, i), i * V));
  return out;
}

/** The model of `json` through a Hugging Face directory in memory (names, fused tensors, 1 + w norms of the table). */
async function hfModel(json: Json, seed: number): Promise<{ config: ModelConfig; model: LlamaModel; roles: Map<TensorRole, Float32Array> }> {
  const { config } = parseHfConfigDetailed(json, 'config.json');
  const roles = randomRoles(config, seed);
  const tensors = tensorsToStore(config, 'hf', (r) => roles.get(r)!).map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  const opened = await openHfModel(memoryModelSource('m', { 'config.json': JSON.stringify(json), 'model.safetensors': writeSafetensors(tensors) }));
  const model = await LlamaModel.load(createNodeRuntime(), opened.config, opened.tensors, { maxBatch: PROMPT.length, capacity: PROMPT.length });
  await opened.close();
  return { config, model, roles };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** engine ≈ reference at every position (f32 engine vs f64 reference: 2e-4 of the logit range). */
function assertMatches(got: Float32Array, want: Float64Array, what: string): void {
  let range = 0;
  for (const v of want) range = Math.max(range, Math.abs(v));
  const d = maxAbs(got, want);
  assert.ok(d <= 2e-4 * (1 + range), `${what}: engine vs reference differ by ${d} (logits up to ${range.toFixed(2)})`);
}

interface FieldCase {
  readonly arch: keyof typeof BASES;
  readonly field: string;
  readonly patch: Json;
  /** The field's meaning, as the reference config (from refBase(arch)). */
  readonly ref: (r: RefConfig) => RefConfig;
  /** Layer-0 role suffixes the model must have (checks tensor presence for bias / norm fields). */
  readonly roles?: readonly string[];
  /** The field changes tensor shapes or the tensor set: its effect is structural (checked by the roles / reference), not a logits difference on the same weights. */
  readonly structural?: boolean;
}

const FIELD_CASES: readonly FieldCase[] = [
  { arch: 'llama', field: 'head_dim (wider than hidden_size / heads)', patch: { head_dim: 16 }, ref: (r) => ({ ...r, headDim: 16 }), structural: true },
  { arch: 'llama', field: 'num_key_value_heads', patch: { num_key_value_heads: 1 }, ref: (r) => ({ ...r, nKvHeads: 1 }), structural: true },
  { arch: 'llama', field: 'rope_theta', patch: { rope_theta: 50 }, ref: (r) => ({ ...r, ropeTheta: 50 }) },
  { arch: 'llama', field: 'rms_norm_eps', patch: { rms_norm_eps: 0.5 }, ref: (r) => ({ ...r, normEps: 0.5 }) },
  { arch: 'llama', field: 'tie_word_embeddings', patch: { tie_word_embeddings: true }, ref: (r) => r, roles: ['attnNorm', 'ffnNorm', 'wDown', 'wGate', 'wUp', 'wk', 'wo', 'wq', 'wv'], structural: true },
  { arch: 'llama', field: 'rope_scaling linear', patch: { rope_scaling: { type: 'linear', factor: 4 } }, ref: (r) => ({ ...r, ropeScaling: { type: 'linear', factor: 4 } }) },
  {
    arch: 'llama', field: 'rope_scaling llama3',
    patch: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
    ref: (r) => ({ ...r, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 } }),
  },
  {
    arch: 'llama', field: 'rope_scaling yarn (default betas and attention factor)', patch: { rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 8 } },
    ref: (r) => ({ ...r, ropeScaling: { type: 'yarn', factor: 4, originalMaxPositions: 8, betaFast: 32, betaSlow: 1 } }),
  },
  {
    arch: 'llama', field: 'rope_scaling yarn beta_fast, beta_slow, attention_factor',
    patch: { rope_scaling: { rope_type: 'yarn', factor: 2, original_max_position_embeddings: 8, beta_fast: 8, beta_slow: 2, attention_factor: 1.3 } },
    ref: (r) => ({ ...r, ropeScaling: { type: 'yarn', factor: 2, originalMaxPositions: 8, betaFast: 8, betaSlow: 2, attentionFactor: 1.3 } }),
  },
  {
    arch: 'llama', field: 'rope_parameters (transformers v5)', patch: { rope_theta: undefined, rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 1000 } },
    ref: (r) => ({ ...r, ropeTheta: 1000, ropeScaling: { type: 'linear', factor: 2 } }),
  },
  { arch: 'llama', field: 'attention_bias (q, k, v and o)', patch: { attention_bias: true }, ref: (r) => r, roles: ['attnNorm', 'bk', 'bo', 'bq', 'bv', 'ffnNorm', 'wDown', 'wGate', 'wUp', 'wk', 'wo', 'wq', 'wv'] },
  { arch: 'llama', field: 'mlp_bias (gate, up, down)', patch: { mlp_bias: true }, ref: (r) => r, roles: ['attnNorm', 'bDown', 'bGate', 'bUp', 'ffnNorm', 'wDown', 'wGate', 'wUp', 'wk', 'wo', 'wq', 'wv'] },
  { arch: 'mistral', field: 'sliding_window (every layer)', patch: { sliding_window: 3 }, ref: (r) => ({ ...r, slidingWindow: 3 }) },
  {
    arch: 'qwen2', field: 'use_sliding_window + sliding_window + max_window_layers', patch: { use_sliding_window: true, sliding_window: 3, max_window_layers: 1 },
    ref: (r) => ({ ...r, slidingWindow: 3, slidingLayers: [false, true] }),
  },
  {
    arch: 'qwen2', field: 'layer_types', patch: { sliding_window: 3, layer_types: ['sliding_attention', 'full_attention'] },
    ref: (r) => ({ ...r, slidingWindow: 3, slidingLayers: [true, false] }),
  },
  { arch: 'qwen3', field: 'attention_bias', patch: { attention_bias: true }, ref: (r) => r, roles: ['attnNorm', 'bk', 'bo', 'bq', 'bv', 'ffnNorm', 'kNorm', 'qNorm', 'wDown', 'wGate', 'wUp', 'wk', 'wo', 'wq', 'wv'] },
  { arch: 'qwen3', field: 'head_dim', patch: { head_dim: 8 }, ref: (r) => ({ ...r, headDim: 8 }), structural: true },
  { arch: 'phi3', field: 'sliding_window (every layer)', patch: { sliding_window: 3 }, ref: (r) => ({ ...r, slidingWindow: 3 }) },
  { arch: 'phi3', field: 'num_key_value_heads (through the fused qkv_proj)', patch: { num_key_value_heads: 2 }, ref: (r) => ({ ...r, nKvHeads: 2 }), structural: true },
  { arch: 'gemma2', field: 'query_pre_attn_scalar', patch: { query_pre_attn_scalar: 2 }, ref: (r) => ({ ...r, attnScale: 2 ** -0.5 }) },
  { arch: 'gemma2', field: 'attn_logit_softcapping', patch: { attn_logit_softcapping: 0.5 }, ref: (r) => ({ ...r, attnSoftcap: 0.5 }) },
  { arch: 'gemma2', field: 'final_logit_softcapping', patch: { final_logit_softcapping: 2 }, ref: (r) => ({ ...r, finalSoftcap: 2 }) },
  { arch: 'gemma2', field: 'sliding_window (every other layer, from layer 0)', patch: { sliding_window: 3 }, ref: (r) => ({ ...r, slidingWindow: 3 }) },
  { arch: 'gemma2', field: 'head_dim', patch: { head_dim: 16 }, ref: (r) => ({ ...r, headDim: 16 }), structural: true },
  {
    arch: 'gemma2', field: 'tie_word_embeddings (default true; false stores lm_head)', patch: { tie_word_embeddings: false }, ref: (r) => r, structural: true,
    roles: ['attnNorm', 'attnPostNorm', 'ffnNorm', 'ffnPostNorm', 'wDown', 'wGate', 'wUp', 'wk', 'wo', 'wq', 'wv'],
  },
  { arch: 'gemma3', field: 'rope_local_base_freq', patch: { rope_local_base_freq: 100 }, ref: (r) => ({ ...r, localRopeTheta: 100 }) },
  { arch: 'gemma3', field: 'sliding_window_pattern', patch: { sliding_window_pattern: 1 }, ref: (r) => ({ ...r, slidingLayers: [false, false] }) },
  {
    arch: 'gemma3', field: 'layer_types (over sliding_window_pattern)', patch: { layer_types: ['full_attention', 'sliding_attention'] },
    ref: (r) => ({ ...r, slidingLayers: [false, true] }),
  },
  { arch: 'gemma3', field: 'sliding_window', patch: { sliding_window: 3 }, ref: (r) => ({ ...r, slidingWindow: 3 }) },
  { arch: 'gemma3', field: 'rope_scaling (global layers only)', patch: { rope_scaling: { rope_type: 'linear', factor: 4 } }, ref: (r) => ({ ...r, ropeScaling: { type: 'linear', factor: 4 } }) },
  {
    arch: 'gemma3', field: 'rope_parameters per layer type (transformers v5)',
    patch: { rope_theta: undefined, rope_local_base_freq: undefined, rope_parameters: { full_attention: { rope_type: 'linear', factor: 4, rope_theta: 5e5 }, sliding_attention: { rope_type: 'default', rope_theta: 100 } } },
    ref: (r) => ({ ...r, ropeTheta: 5e5, localRopeTheta: 100, ropeScaling: { type: 'linear', factor: 4 } }),
  },
  { arch: 'gemma3', field: 'attn_logit_softcapping', patch: { attn_logit_softcapping: 0.5 }, ref: (r) => ({ ...r, attnSoftcap: 0.5 }) },
  { arch: 'gemma3', field: 'final_logit_softcapping', patch: { final_logit_softcapping: 2 }, ref: (r) => ({ ...r, finalSoftcap: 2 }) },
  { arch: 'gemma3', field: 'query_pre_attn_scalar', patch: { query_pre_attn_scalar: 32 }, ref: (r) => ({ ...r, attnScale: 32 ** -0.5 }) },
];

describe('architectures: every config.json field that changes the math is honoured (engine = independent reference, and the field changes the logits)', () => {
  for (const arch of Object.keys(BASES)) {
    const what: Record<string, string> = {
      llama: 'plain', mistral: 'plain', qwen2: 'q/k/v biases', qwen3: 'q/k norms, head_dim 16 > hidden/heads', phi3: 'fused qkv_proj and gate_up_proj',
      gemma2: 'sandwich norms, 1 + w norms, GeGLU, √dim, query_pre_attn_scalar', gemma3: 'q/k norms, local RoPE base, sandwich norms',
    };
    test(`${arch}: the base model equals the reference (${what[arch]})`, async () => {
      const { model, roles } = await hfModel(BASES[arch]!, 7);
      const w = refWeightsOf(model.config, roles);
      assertMatches(engineRun(model), refRun(new RefModel({ ...w, config: refBase(arch) })), arch);
    });
  }
  for (const c of FIELD_CASES) {
    test(`${c.arch}: ${c.field}`, async () => {
      const json = { ...BASES[c.arch]!, ...c.patch };
      for (const [k, v] of Object.entries(json)) if (v === undefined) delete json[k];
      const withField = await hfModel(json, 11);
      if (c.roles) assert.deepEqual(roleSuffixes(withField.roles), [...c.roles].sort());
      const got = engineRun(withField.model);
      // the reference knows the field only from this test's statement of its meaning (c.ref)
      const w = refWeightsOf(withField.model.config, withField.roles);
      const refCfg = c.ref(refBase(c.arch));
      assertMatches(got, refRun(new RefModel({ ...w, config: refCfg })), c.field);
      if (c.structural) return;
      // the same weights without the field (and without its biases): different logits
      const plain = { ...w, config: refBase(c.arch), layers: w.layers.map((L) => ({ ...L, bq: undefined, bk: undefined, bv: undefined, bo: undefined, b1: undefined, b2: undefined, b3: undefined })) };
      const effect = maxAbs(got, refRun(new RefModel(c.roles ? plain : { ...w, config: refBase(c.arch) })));
      assert.ok(effect > 1e-3, `${c.field} changes the logits (by ${effect})`);
    });
  }
});

describe('architectures: every GGUF key that changes the math is honoured', () => {
  interface KeyCase {
    readonly arch: keyof typeof BASES;
    readonly key: string;
    /** Metadata changes to the file ggufModelMetadata writes for the base (null deletes). */
    readonly meta: (g: string) => Record<string, GgufValue | null>;
    readonly ref: (r: RefConfig, c: ModelConfig) => RefConfig;
    /** Extra tensors. */
    readonly tensors?: (c: ModelConfig) => { name: string; shape: number[]; data: Float32Array }[];
    /** The key changes tensor shapes: checked against the reference only. */
    readonly structural?: boolean;
  }
  const f32 = (value: number): GgufValue => ({ type: 'FLOAT32', value });
  const u32 = (value: number): GgufValue => ({ type: 'UINT32', value });
  const str = (value: string): GgufValue => ({ type: 'STRING', value });
  const KEY_CASES: readonly KeyCase[] = [
    { arch: 'llama', key: 'rope.freq_base', meta: (g) => ({ [`${g}.rope.freq_base`]: f32(50) }), ref: (r) => ({ ...r, ropeTheta: 50 }) },
    { arch: 'llama', key: 'attention.layer_norm_rms_epsilon', meta: (g) => ({ [`${g}.attention.layer_norm_rms_epsilon`]: f32(0.5) }), ref: (r) => ({ ...r, normEps: 0.5 }) },
    {
      arch: 'llama', key: 'rope.scaling.type linear + rope.scaling.factor', meta: (g) => ({ [`${g}.rope.scaling.type`]: str('linear'), [`${g}.rope.scaling.factor`]: f32(4) }),
      ref: (r) => ({ ...r, ropeScaling: { type: 'linear', factor: 4 } }),
    },
    { arch: 'llama', key: 'rope.scale_linear (old name, linear by default)', meta: (g) => ({ [`${g}.rope.scale_linear`]: f32(4) }), ref: (r) => ({ ...r, ropeScaling: { type: 'linear', factor: 4 } }) },
    {
      arch: 'llama', key: 'rope.scaling.type yarn + factor + original_context_length',
      meta: (g) => ({ [`${g}.rope.scaling.type`]: str('yarn'), [`${g}.rope.scaling.factor`]: f32(4), [`${g}.rope.scaling.original_context_length`]: u32(8) }),
      ref: (r) => ({ ...r, ropeScaling: { type: 'yarn', factor: 4, originalMaxPositions: 8, betaFast: 32, betaSlow: 1 } }),
    },
    {
      arch: 'llama', key: 'rope.scaling.attn_factor (yarn; llama.cpp multiplies it into 1 + 0.1·ln factor)',
      meta: (g) => ({ [`${g}.rope.scaling.type`]: str('yarn'), [`${g}.rope.scaling.factor`]: f32(4), [`${g}.rope.scaling.original_context_length`]: u32(8), [`${g}.rope.scaling.attn_factor`]: f32(0.8) }),
      ref: (r) => ({ ...r, ropeScaling: { type: 'yarn', factor: 4, originalMaxPositions: 8, betaFast: 32, betaSlow: 1, attentionFactor: Math.fround(0.8) * (1 + 0.1 * Math.log(4)) } }),
    },
    {
      arch: 'llama', key: 'rope_freqs.weight (Llama-3 scaling as frequency divisors)', meta: () => ({}),
      tensors: (c) => [{ name: 'rope_freqs.weight', shape: [c.headDim / 2], data: Float32Array.from({ length: c.headDim / 2 }, (_, j) => 1 + 3 * j) }],
      ref: (r, c) => ({ ...r, ropeScaling: { type: 'frequencyFactors', factors: Array.from({ length: c.headDim / 2 }, (_, j) => 1 + 3 * j) } }),
    },
    { arch: 'llama', key: 'attention.sliding_window (every layer)', meta: (g) => ({ [`${g}.attention.sliding_window`]: u32(3) }), ref: (r) => ({ ...r, slidingWindow: 3 }) },
    { arch: 'llama', key: 'attention.head_count_kv', meta: (g) => ({ [`${g}.attention.head_count_kv`]: u32(4) }), ref: (r) => ({ ...r, nKvHeads: 4 }), structural: true },
    { arch: 'phi3', key: 'attention.sliding_window (honoured as transformers does; llama.cpp disables it for Phi-3)', meta: (g) => ({ [`${g}.attention.sliding_window`]: u32(3) }), ref: (r) => ({ ...r, slidingWindow: 3 }) },
    { arch: 'gemma2', key: 'attention.sliding_window', meta: (g) => ({ [`${g}.attention.sliding_window`]: u32(3) }), ref: (r) => ({ ...r, slidingWindow: 3 }) },
    {
      // llama.cpp's period: layer l slides iff l mod p < p − 1, and p = 0 means every layer
      arch: 'gemma2', key: 'attention.sliding_window_pattern (a period; 0: every layer)', meta: (g) => ({ [`${g}.attention.sliding_window`]: u32(3), [`${g}.attention.sliding_window_pattern`]: u32(0) }),
      ref: (r) => ({ ...r, slidingWindow: 3, slidingLayers: [true, true] }),
    },
    { arch: 'gemma2', key: 'attn_logit_softcapping', meta: (g) => ({ [`${g}.attn_logit_softcapping`]: f32(0.5) }), ref: (r) => ({ ...r, attnSoftcap: 0.5 }) },
    { arch: 'gemma2', key: 'final_logit_softcapping', meta: (g) => ({ [`${g}.final_logit_softcapping`]: f32(2) }), ref: (r) => ({ ...r, finalSoftcap: 2 }) },
    { arch: 'gemma2', key: 'rope.freq_base_swa', meta: (g) => ({ [`${g}.rope.freq_base_swa`]: f32(100) }), ref: (r) => ({ ...r, localRopeTheta: 100 }) },
    { arch: 'gemma3', key: 'rope.freq_base_swa', meta: (g) => ({ [`${g}.rope.freq_base_swa`]: f32(100) }), ref: (r) => ({ ...r, localRopeTheta: 100 }) },
    {
      arch: 'gemma3', key: 'attention.sliding_window_pattern (BOOL per layer)',
      meta: (g) => ({ [`${g}.attention.sliding_window_pattern`]: { type: 'ARRAY', value: { itemType: 'BOOL', items: [false, true] } } }), ref: (r) => ({ ...r, slidingLayers: [false, true] }),
    },
    { arch: 'gemma3', key: 'final_logit_softcapping', meta: (g) => ({ [`${g}.final_logit_softcapping`]: f32(2) }), ref: (r) => ({ ...r, finalSoftcap: 2 }) },
  ];

  /** GGUF bases: the HF bases, Gemma-2 with llama.cpp's always-on soft-capping (50 / 30). */
  const ggufBase = (arch: string): { json: Json; ref: RefConfig } =>
    arch === 'gemma2'
      ? { json: { ...BASES.gemma2!, attn_logit_softcapping: 50, final_logit_softcapping: 30 }, ref: { ...refBase('gemma2'), attnSoftcap: 50, finalSoftcap: 30 } }
      : { json: BASES[arch]!, ref: refBase(arch) };

  for (const c of KEY_CASES) {
    test(`${c.arch}: ${c.key}`, async () => {
      const base = ggufBase(c.arch);
      const config = ggufFormOf(parseHfConfigDetailed(base.json, 'config.json').config);
      const g = config.architecture === 'mistral' ? 'llama' : config.architecture!;
      const meta = new Map<string, GgufValue>(ggufModelMetadata(config));
      for (const [k, v] of Object.entries(c.meta(g))) {
        if (v === null) meta.delete(k);
        else meta.set(k, v);
      }
      meta.set('general.name', str('field test'));
      // the head count may change: draw the weights for the config the file describes
      const fileConfig = { ...config, nKvHeads: (meta.get(`${g}.attention.head_count_kv`)?.value as number | undefined) ?? config.nKvHeads };
      const roles = randomRoles(fileConfig, 13);
      const tensors = [
        ...tensorsToStore(fileConfig, 'gguf', (r) => roles.get(r)!).map((t) => ({ name: t.name, type: 'F32' as const, shape: t.shape, data: t.data })),
        ...(c.tensors?.(fileConfig) ?? []).map((t) => ({ ...t, type: 'F32' as const })),
      ];
      const opened = await openGgufModel(bytesSource('m.gguf', writeGguf({ metadata: [...meta], tensors })));
      assert.deepEqual(opened.warnings, [], 'every key is read');
      const model = await LlamaModel.load(createNodeRuntime(), opened.config, opened.tensors, { maxBatch: PROMPT.length, capacity: PROMPT.length });
      await opened.close();
      const got = engineRun(model);
      const w = refWeightsOf(fileConfig, roles);
      // GGUF floats are FLOAT32: the reference takes the stored epsilon
      const refCfg = c.ref({ ...base.ref, normEps: Math.fround(base.ref.normEps) }, fileConfig);
      assertMatches(got, refRun(new RefModel({ ...w, config: { ...refCfg, normEps: Math.fround(refCfg.normEps) } })), c.key);
      if (c.structural) return;
      const without = refRun(new RefModel({ ...w, config: { ...base.ref, normEps: Math.fround(base.ref.normEps) } }));
      assert.ok(maxAbs(got, without) > 1e-3, `${c.key} changes the logits (by ${maxAbs(got, without)})`);
    });
  }

  test('Llama-3 scaling: a GGUF with rope_freqs.weight (llama.cpp form) and the config.json (transformers form) give the same model', async () => {
    const json = { ...BASES.llama!, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } };
    const hf = await hfModel(json, 17);
    const config = ggufFormOf(hf.config);
    const tensors = tensorsToStore(config, 'gguf', (r) => (r === 'ropeFreqs' ? ropeFreqsOf(hf.config) : hf.roles.get(r)!)).map((t) => ({ name: t.name, type: 'F32' as const, shape: t.shape, data: t.data }));
    const opened = await openGgufModel(bytesSource('m.gguf', writeGguf({ metadata: ggufModelMetadata(config), tensors })));
    assert.deepEqual(opened.config.ropeScaling, { type: 'frequencyFactors' });
    const gguf = await LlamaModel.load(createNodeRuntime(), opened.config, opened.tensors, { maxBatch: PROMPT.length, capacity: PROMPT.length });
    const a = engineRun(hf.model);
    const b = engineRun(gguf);
    assert.ok(maxAbs(a, b) < 1e-4, `f32 divisors vs f64 frequencies: ${maxAbs(a, b)}`);
  });
});

describe('architectures: stored dtypes', () => {
  // Raw reads keep BF16 bits and Q8_0 blocks as stored; through fused tensors (Phi-3's qkv / gate-up
  // halves, row slices of the stored tensor) they must give what packing the same values from f32 gives.
  for (const arch of ['phi3', 'gemma2', 'qwen2'] as const) {
    test(`${arch}: BF16 safetensors with dtype bf16 and Q8_0 GGUF with dtype int8 equal the same values packed from f32`, async () => {
      const base = arch === 'gemma2' ? { ...BASES.gemma2!, attn_logit_softcapping: 50, final_logit_softcapping: 30 } : BASES[arch]!;
      const config = parseHfConfigDetailed({ ...base, hidden_size: 64, intermediate_size: 96 }, 'c').config;
      const roles = randomRoles(config, 21);
      const load = async (bytes: Uint8Array, kind: 'hf' | 'gguf', dtype: 'bf16' | 'int8', raw: boolean) => {
        const opened = kind === 'hf'
          ? await openHfModel(memoryModelSource('m', { 'config.json': JSON.stringify({ ...base, hidden_size: 64, intermediate_size: 96 }), 'model.safetensors': bytes }))
          : await openGgufModel(bytesSource('m.gguf', bytes));
        const t = opened.tensors;
        const reader = raw ? t : { has: t.has, shape: t.shape, readF32: t.readF32 };
        const m = await LlamaModel.load(createNodeRuntime(), opened.config, reader, { maxBatch: PROMPT.length, capacity: PROMPT.length, dtype });
        await opened.close();
        return engineRun(m);
      };
      const hf = writeSafetensors(tensorsToStore(config, 'hf', (r) => roles.get(r)!).map((t) => ({
        name: t.name, shape: t.shape, ...(t.kind === 'matrix' || t.kind === 'embedding' ? { dtype: 'BF16' as const, data: f32ToBf16Array(t.data) } : { dtype: 'F32' as const, data: t.data }),
      })));
      assert.deepEqual(await load(hf, 'hf', 'bf16', true), await load(hf, 'hf', 'bf16', false), 'BF16 bits kept = BF16 → f32 → bf16');
      const g = ggufFormOf(config);
      const gguf = writeGguf({
        metadata: ggufModelMetadata(g),
        tensors: tensorsToStore(g, 'gguf', (r) => roles.get(r)!).map((t) => (t.kind === 'matrix' || t.kind === 'embedding'
          ? { name: t.name, type: 'Q8_0' as const, shape: t.shape, data: quantizeQ8_0(t.data) }
          : { name: t.name, type: 'F32' as const, shape: t.shape, data: t.data })),
      });
      // quantizeQ8_0 blocks always hold a ±127 quant, so re-quantising their values gives the same blocks
      assert.deepEqual(await load(gguf, 'gguf', 'int8', true), await load(gguf, 'gguf', 'int8', false), 'Q8_0 blocks kept = Q8_0 → f32 → q8');
    });
  }
});

describe('architectures: memory', () => {
  test('forward allocates nothing: the arena does not move over prefill, decode and tree forwards of every architecture', async () => {
    for (const arch of Object.keys(BASES)) {
      const json = { ...BASES[arch]!, ...(arch.startsWith('gemma') || arch === 'mistral' ? { sliding_window: 3 } : {}) };
      const { model } = await hfModel(json, 3);
      const arena = model.rt.arena;
      const used = arena.used;
      const epoch = arena.epoch;
      engineRun(model); // prefill
      model.cache.commit(4);
      for (let s = 0; s < 3; s++) {
        model.tokens[0] = 5 + s;
        model.positions[0] = model.cache.length;
        model.forward(1);
        model.cache.commit(1);
      }
      for (let i = 0; i < 3; i++) {
        model.tokens[i] = 9 + i;
        model.positions[i] = model.cache.length + (i === 0 ? 0 : 1);
      }
      model.mask.set([1, 0, 0, 1, 1, 0, 1, 0, 1]);
      model.forward(3, 0, true);
      assert.equal(arena.used, used, `${arch}: arena bytes`);
      assert.equal(arena.epoch, epoch, `${arch}: memory growth`);
    }
  });
});

describe('architectures: fields reported, fields refused', () => {
  test('unknown config.json fields are reported in ignoredFields (the CLI prints them), harmless ones are not', () => {
    const { ignoredFields } = parseHfConfigDetailed({ ...BASES.llama!, torch_dtype: 'bfloat16', use_cache: true, my_custom_scale: 3, rope_interleaved: false }, 'c');
    assert.deepEqual(ignoredFields, ['my_custom_scale']);
  });

  const refused: [string, Json, string][] = [
    ['rope_interleaved true', { ...BASES.llama!, rope_interleaved: true }, 'rope_interleaved: expected false'],
    ['yarn truncate false', { ...BASES.llama!, rope_scaling: { type: 'yarn', factor: 2, truncate: false } }, 'rope_scaling.truncate: expected true'],
    ['Gemma-2 RoPE scaling', { ...BASES.gemma2!, rope_scaling: { type: 'linear', factor: 2 } }, 'rope_scaling: expected null (Gemma-2 has no RoPE scaling)'],
    ['an exact-erf GELU on Gemma', { ...BASES.gemma2!, hidden_activation: 'gelu' }, 'hidden_activation: expected "gelu_pytorch_tanh"'],
    ['a Gemma hidden_act disagreeing with hidden_activation', { ...BASES.gemma2!, hidden_act: 'gelu' }, 'hidden_act: expected "gelu_pytorch_tanh"'],
    ['a scaled local RoPE', { ...BASES.gemma3!, rope_parameters: { sliding_attention: { rope_type: 'linear', factor: 2 } } }, 'rope_parameters.sliding_attention.rope_type: expected "default"'],
    ['layer_types of the wrong length', { ...BASES.qwen2!, layer_types: ['full_attention'] }, 'layer_types: expected 2 entries of "full_attention" or "sliding_attention"'],
    ['Phi-3 partial rotary', { ...BASES.phi3!, partial_rotary_factor: 0.75 }, 'partial_rotary_factor: expected 1'],
    ['Phi-3 LongRoPE', { ...BASES.phi3!, rope_scaling: { type: 'su', short_factor: [1], long_factor: [2] } }, 'rope_scaling: type "su" (LongRoPE'],
    ['a Qwen2 sliding window with no size for its sliding layers', { ...BASES.qwen2!, sliding_window: null, layer_types: ['sliding_attention', 'full_attention'] }, 'sliding_window: expected a window size for the sliding_attention layers of layer_types'],
    ['Gemma-2 sliding_window and sliding_window_size disagreeing', { ...BASES.gemma2!, sliding_window_size: 32 }, 'expected sliding_window and sliding_window_size to agree'],
  ];
  for (const [what, json, message] of refused) {
    test(`refuses ${what} with a ConfigError naming the field`, () => {
      assert.throws(() => parseHfConfigDetailed(json, 'c.json'), (e: unknown) => e instanceof ConfigError && e.message.startsWith('c.json: ') && e.message.includes(message), message);
    });
  }
});
