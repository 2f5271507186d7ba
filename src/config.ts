/**
 * ModelConfig: the shape and math of a Llama-family model in spechub's own names. Hugging Face names
 * (hidden_size, num_key_value_heads, …) appear only in the parsers that build it: `parseHfConfig`
 * here (config.json) and `configFromGguf` (src/weights/gguf-llama.ts).
 *
 * Architectures (HF model_type → spechub's math; the README has the table):
 *   llama, mistral   pre-norm decoder, SwiGLU, RoPE (+ rope_scaling llama3 / linear / yarn), GQA, optional
 *                    attention / MLP biases (llama), sliding window (mistral)
 *   qwen2            + q/k/v biases, optional sliding window on layers ≥ max_window_layers
 *   qwen3            + per-head RMSNorm of q and k before RoPE (q_norm, k_norm), explicit head_dim
 *   phi3             fused qkv_proj and gate_up_proj (split by the tensor-role table), sliding window
 *   gemma2           √dim embedding scale, (1 + w) RMSNorm (applied to the weights at load), GeGLU with
 *                    tanh GELU, post-attention and post-FFN norms, attention and final logit soft-capping,
 *                    query_pre_attn_scalar, sliding window on every other layer
 *   gemma3 (text)    gemma2 without soft-capping, with q_norm/k_norm, a local RoPE base on the sliding
 *                    layers (rope_local_base_freq, no scaling there) and a sliding_window_pattern / layer_types
 *
 * Field policy (parseHfConfig): every field the architecture's transformers config class reads is
 * honoured or refused with a ConfigError naming it; known harmless fields (HARMLESS_HF_FIELDS:
 * torch_dtype, transformers_version, use_cache, dropouts, …) pass silently; any other field is
 * not read by transformers' model either, and is reported in `ignoredFields` (the CLI prints them).
 */
import { ConfigError } from './errors.js';
import { describeJson, isJsonObject, parseJsonStrict } from './io/json.js';

type JsonObject = Record<string, unknown>;
import type { ModelSource } from './io/source.js';

/** The architecture families spechub runs (see the module comment). */
export type Architecture = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3';

/** Per architecture: its Hugging Face model_type and CausalLM class, and llama.cpp's general.architecture. */
export const ARCHITECTURES: Readonly<Record<Architecture, { readonly modelType: string; readonly hfClass: string; readonly gguf: string }>> = {
  llama: { modelType: 'llama', hfClass: 'LlamaForCausalLM', gguf: 'llama' },
  mistral: { modelType: 'mistral', hfClass: 'MistralForCausalLM', gguf: 'llama' }, // llama.cpp converts Mistral as llama
  qwen2: { modelType: 'qwen2', hfClass: 'Qwen2ForCausalLM', gguf: 'qwen2' },
  qwen3: { modelType: 'qwen3', hfClass: 'Qwen3ForCausalLM', gguf: 'qwen3' },
  phi3: { modelType: 'phi3', hfClass: 'Phi3ForCausalLM', gguf: 'phi3' },
  gemma2: { modelType: 'gemma2', hfClass: 'Gemma2ForCausalLM', gguf: 'gemma2' },
  gemma3: { modelType: 'gemma3_text', hfClass: 'Gemma3ForCausalLM', gguf: 'gemma3' },
};

/**
 * RoPE frequency scaling. With inv_j = theta^(−2j/headDim) (j < headDim/2) the rotation angle of
 * position p is p·f_j, and cos/sin are multiplied by an attention factor (1 unless yarn):
 *   linear           f_j = inv_j / factor
 *   llama3           wavelength λ_j = 2π/inv_j: λ_j < L/high → inv_j; λ_j > L/low → inv_j/factor; else
 *                    (1 − s)·inv_j/factor + s·inv_j with s = (L/λ_j − low)/(high − low), L = originalMaxPositions
 *   yarn             f_j = inv_j/factor·(1 − e_j) + inv_j·e_j, e_j = 1 − clamp((j − lo)/(hi − lo), 0, 1) with
 *                    lo/hi the floor/ceil of the dimensions rotating betaFast / betaSlow times over L;
 *                    attention factor `attentionFactor` (default 0.1·ln(factor) + 1)
 *   frequencyFactors f_j = inv_j / ropeFreqs[j], the factors stored in a GGUF's rope_freqs.weight (llama.cpp's
 *                    form of llama3 scaling; read through the tensor role "ropeFreqs")
 */
export type RopeScaling =
  | { readonly type: 'linear'; readonly factor: number }
  | { readonly type: 'llama3'; readonly factor: number; readonly lowFreqFactor: number; readonly highFreqFactor: number; readonly originalMaxPositions: number }
  | {
      readonly type: 'yarn';
      readonly factor: number;
      readonly originalMaxPositions: number;
      readonly betaFast: number;
      readonly betaSlow: number;
      /** Multiplies cos/sin; default 0.1·ln(factor) + 1. */
      readonly attentionFactor?: number;
    }
  | { readonly type: 'frequencyFactors' };

/**
 * The shape and math of a model. The required fields describe a plain Llama; the optional ones add
 * what other architectures need, and their absence means the plain Llama behaviour (the defaults in
 * the comments). Parsers emit a field only when it differs from its default (`canonicalConfig`), so
 * two sources of the same model give deepEqual configs.
 */
export interface ModelConfig {
  /** Residual stream width (HF hidden_size). */
  readonly dim: number;
  /** Feed-forward inner width (HF intermediate_size). */
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  /** Per-head width; nHeads·headDim may differ from dim (Mistral-Nemo, Qwen3, Gemma). */
  readonly headDim: number;
  readonly vocabSize: number;
  /** Longest sequence the model supports (HF max_position_embeddings). */
  readonly maxSeqLen: number;
  readonly ropeTheta: number;
  readonly normEps: number;
  /** true when lm_head shares the token embedding. */
  readonly tiedEmbeddings: boolean;
  readonly bosTokenId: number | null;
  /** The first end-of-sequence id (config.json may list several; see eosTokenIds). */
  readonly eosTokenId: number | null;
  /** Every end-of-sequence id, in file order (absent or [] when there is none). */
  readonly eosTokenIds?: readonly number[];
  /** Architecture family (default "llama"): decides tensor names and load-time transforms. */
  readonly architecture?: Architecture;
  /** RoPE frequency scaling (default none). */
  readonly ropeScaling?: RopeScaling;
  /**
   * RoPE base of the sliding-window layers, which then use no RoPE scaling (Gemma-3's rope_local_base_freq;
   * Gemma-2's GGUF rope.freq_base_swa). Default: the sliding layers rotate like the others.
   */
  readonly localRopeTheta?: number;
  /** Biases on the q, k and v projections (Qwen2; attention_bias). Default false. */
  readonly qkvBias?: boolean;
  /** Bias on the attention output projection (attention_bias of Llama, Qwen3, Gemma). Default false. */
  readonly outBias?: boolean;
  /** Biases on the gate, up and down projections (Llama mlp_bias). Default false. */
  readonly mlpBias?: boolean;
  /** Per-head RMSNorm of q and k (weights [headDim]) before RoPE (Qwen3, Gemma-3). Default false. */
  readonly qkNorm?: boolean;
  /** RMSNorms of the attention output and of the feed-forward output before each residual add (Gemma-2/3). Default false. */
  readonly postNorms?: boolean;
  /** Feed-forward gate activation: "silu" (SwiGLU, default) or "gelu_tanh" (GeGLU with PyTorch's tanh GELU). */
  readonly activation?: 'silu' | 'gelu_tanh';
  /** Multiplies the token embedding before the first layer (Gemma: √dim). Default 1. */
  readonly embedScale?: number;
  /** Multiplies q·k in attention (Gemma: query_pre_attn_scalar^−½). Default 1/√headDim (in f32). */
  readonly attnScale?: number;
  /** Attention logit soft-capping: scores become cap·tanh(s/cap) (Gemma-2). Default 0 (none). */
  readonly attnSoftcap?: number;
  /** Final logit soft-capping (Gemma-2). Default 0 (none). */
  readonly finalSoftcap?: number;
  /** Sliding attention window in positions: a query at p sees keys at p − window + 1 … p. Default 0 (none). */
  readonly slidingWindow?: number;
  /** Which layers use the sliding window ([nLayers]); default: every layer when slidingWindow > 0. */
  readonly slidingLayers?: readonly boolean[];
}

/**
 * Most layers a config may declare (config.json num_hidden_layers, GGUF <arch>.block_count). The
 * largest published models have a few hundred; a count beyond this is a broken or hostile file, refused
 * before anything is built per layer.
 */
export const MAX_LAYERS = 65536;

/** kvDim = nKvHeads * headDim: the width of one K or V row. */
export function kvDim(c: ModelConfig): number {
  return c.nKvHeads * c.headDim;
}

/** qDim = nHeads * headDim: the width of the attention (q rows, the output projection's input). */
export function qDim(c: ModelConfig): number {
  return c.nHeads * c.headDim;
}

/** The default attention scale 1/√headDim, in f32 as the kernels and llama.cpp compute it. */
export function defaultAttnScale(headDim: number): number {
  return Math.fround(1 / Math.fround(Math.sqrt(headDim)));
}

/** Whether layer l attends through the sliding window. */
export function isSlidingLayer(c: ModelConfig, l: number): boolean {
  return (c.slidingWindow ?? 0) > 0 && (c.slidingLayers === undefined || c.slidingLayers[l] === true);
}

/** Hugging Face LlamaConfig defaults (transformers' configuration_llama.py) for the fields we default. */
export const HF_LLAMA_DEFAULTS = {
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
} as const;

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPosFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * `c` without the optional fields that equal their defaults (see ModelConfig), so configs of the same
 * model compare equal whatever file they came from.
 */
export function canonicalConfig(c: ModelConfig): ModelConfig {
  const out: Record<string, unknown> = { ...c };
  const drop = (k: keyof ModelConfig, isDefault: boolean) => {
    if (isDefault) delete out[k];
  };
  drop('ropeScaling', c.ropeScaling === undefined);
  // a local base equal to the global one still matters when the global RoPE is scaled (local layers never are)
  drop('localRopeTheta', c.localRopeTheta === undefined || !(c.slidingWindow! > 0) || (c.localRopeTheta === c.ropeTheta && c.ropeScaling === undefined));
  for (const k of ['qkvBias', 'outBias', 'mlpBias', 'qkNorm', 'postNorms'] as const) drop(k, c[k] !== true);
  drop('activation', c.activation === undefined || c.activation === 'silu');
  drop('embedScale', c.embedScale === undefined || c.embedScale === 1);
  drop('attnScale', c.attnScale === undefined || c.attnScale === defaultAttnScale(c.headDim));
  drop('attnSoftcap', !(c.attnSoftcap! > 0));
  drop('finalSoftcap', !(c.finalSoftcap! > 0));
  const window = c.slidingWindow ?? 0;
  drop('slidingWindow', !(window > 0));
  drop('slidingLayers', !(window > 0) || c.slidingLayers === undefined || c.slidingLayers.every((s) => s));
  return out as unknown as ModelConfig;
}

/**
 * Check the invariants every ModelConfig must satisfy, whatever file it came from: positive integer
 * sizes, nKvHeads | nHeads, even headDim (RoPE pairs), positive finite ropeTheta and normEps, token
 * ids inside the vocabulary, and well-formed optional fields. Returns `c`; throws ConfigError naming
 * `where` otherwise.
 */
export function checkModelConfig(c: ModelConfig, where: string): ModelConfig {
  for (const k of ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'maxSeqLen'] as const) {
    if (!isPosInt(c[k])) throw new ConfigError(`${where}: ${k}: expected a positive integer, got ${describeJson(c[k])}`);
  }
  if (c.nHeads % c.nKvHeads !== 0) {
    throw new ConfigError(`${where}: expected the number of KV heads to divide the number of heads, got ${c.nKvHeads} KV heads for ${c.nHeads} heads`);
  }
  if (c.headDim % 2 !== 0) throw new ConfigError(`${where}: expected an even head dimension (RoPE rotates pairs), got ${c.headDim}`);
  if (!isPosFinite(c.ropeTheta)) throw new ConfigError(`${where}: ropeTheta: expected a positive finite number, got ${describeJson(c.ropeTheta)}`);
  if (!isPosFinite(c.normEps)) throw new ConfigError(`${where}: normEps: expected a positive finite number, got ${describeJson(c.normEps)}`);
  const ids: [string, number | null][] = [['bos', c.bosTokenId], ['eos', c.eosTokenId], ...(c.eosTokenIds ?? []).map((id): [string, number] => ['eos', id])];
  for (const [what, id] of ids) {
    if (id !== null && !(Number.isSafeInteger(id) && id >= 0 && id < c.vocabSize)) {
      throw new ConfigError(`${where}: ${what} token id: expected an integer in [0, ${c.vocabSize}), got ${describeJson(id)}`);
    }
  }
  if (c.architecture !== undefined && !Object.hasOwn(ARCHITECTURES, c.architecture)) {
    throw new ConfigError(`${where}: architecture: expected one of ${Object.keys(ARCHITECTURES).join(', ')}, got ${describeJson(c.architecture)}`);
  }
  const positive = (k: 'embedScale' | 'attnScale' | 'localRopeTheta') => {
    if (c[k] !== undefined && !isPosFinite(c[k])) throw new ConfigError(`${where}: ${k}: expected a positive finite number, got ${describeJson(c[k])}`);
  };
  positive('embedScale');
  positive('attnScale');
  positive('localRopeTheta');
  for (const k of ['attnSoftcap', 'finalSoftcap'] as const) {
    const v = c[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new ConfigError(`${where}: ${k}: expected a finite number >= 0 (0: none), got ${describeJson(v)}`);
  }
  if (c.activation !== undefined && c.activation !== 'silu' && c.activation !== 'gelu_tanh') {
    throw new ConfigError(`${where}: activation: expected "silu" or "gelu_tanh", got ${describeJson(c.activation)}`);
  }
  if (c.slidingWindow !== undefined && !isNonNegInt(c.slidingWindow)) {
    throw new ConfigError(`${where}: slidingWindow: expected an integer >= 0 (0: none), got ${describeJson(c.slidingWindow)}`);
  }
  if (c.slidingLayers !== undefined && !(Array.isArray(c.slidingLayers) && c.slidingLayers.length === c.nLayers && c.slidingLayers.every((b) => typeof b === 'boolean'))) {
    throw new ConfigError(`${where}: slidingLayers: expected ${c.nLayers} booleans (one per layer), got ${describeJson(c.slidingLayers)}`);
  }
  const rs = c.ropeScaling;
  if (rs !== undefined) {
    const num = (k: string, v: unknown, ok: (x: unknown) => boolean, expected: string) => {
      if (!ok(v)) throw new ConfigError(`${where}: ropeScaling.${k}: expected ${expected}, got ${describeJson(v)}`);
    };
    switch (rs.type) {
      case 'linear':
        num('factor', rs.factor, isPosFinite, 'a positive finite number');
        break;
      case 'llama3':
        num('factor', rs.factor, isPosFinite, 'a positive finite number');
        num('lowFreqFactor', rs.lowFreqFactor, isPosFinite, 'a positive finite number');
        num('highFreqFactor', rs.highFreqFactor, (v) => isPosFinite(v) && v > rs.lowFreqFactor, `a finite number > lowFreqFactor (${rs.lowFreqFactor})`);
        num('originalMaxPositions', rs.originalMaxPositions, isPosInt, 'a positive integer');
        break;
      case 'yarn':
        num('factor', rs.factor, isPosFinite, 'a positive finite number');
        num('originalMaxPositions', rs.originalMaxPositions, isPosInt, 'a positive integer');
        num('betaFast', rs.betaFast, isPosFinite, 'a positive finite number');
        num('betaSlow', rs.betaSlow, isPosFinite, 'a positive finite number');
        if (rs.attentionFactor !== undefined) num('attentionFactor', rs.attentionFactor, isPosFinite, 'a positive finite number');
        break;
      case 'frequencyFactors':
        break;
      default:
        throw new ConfigError(`${where}: ropeScaling.type: expected linear, llama3, yarn or frequencyFactors, got ${describeJson((rs as { type: unknown }).type)}`);
    }
  }
  return c;
}

function tokenIds(v: unknown, key: string, where: string): number[] | null {
  if (v === null) return null;
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')) return v as number[];
  throw new ConfigError(`${where}: ${key}: expected a token id, a non-empty list of token ids, or null, got ${describeJson(v)}`);
}

/**
 * config.json fields that do not change the forward pass (bookkeeping, training-only settings, cache
 * hints): accepted silently. Fields neither here nor read by an architecture go to `ignoredFields`.
 */
export const HARMLESS_HF_FIELDS: ReadonlySet<string> = new Set([
  '_name_or_path', '_commit_hash', '_attn_implementation', '_attn_implementation_autoset', 'transformers_version', 'torch_dtype', 'dtype',
  'use_cache', 'cache_implementation', 'initializer_range', 'attention_dropout', 'hidden_dropout', 'embd_pdrop', 'resid_pdrop',
  'pad_token_id', 'pretraining_tp', 'is_llama_config', 'auto_map', 'transformers.js_config', 'output_attentions', 'output_hidden_states',
  'return_dict', 'torchscript', 'use_return_dict', 'tie_encoder_decoder', 'is_encoder_decoder', 'is_decoder', 'add_cross_attention',
  'model_type', 'architectures',
]);

/** Per-architecture defaults of the fields spechub defaults (transformers' config classes). */
interface ArchDefaults {
  readonly maxPos: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  readonly tied: boolean;
  readonly bos: number | null;
  readonly eos: number | null;
}
const ARCH_DEFAULTS: Readonly<Record<Architecture, ArchDefaults>> = {
  llama: { maxPos: 2048, normEps: 1e-6, ropeTheta: 10000, tied: false, bos: 1, eos: 2 },
  mistral: { maxPos: 131072, normEps: 1e-6, ropeTheta: 10000, tied: false, bos: 1, eos: 2 },
  qwen2: { maxPos: 32768, normEps: 1e-6, ropeTheta: 10000, tied: false, bos: null, eos: null },
  qwen3: { maxPos: 32768, normEps: 1e-6, ropeTheta: 10000, tied: false, bos: null, eos: null },
  phi3: { maxPos: 4096, normEps: 1e-5, ropeTheta: 10000, tied: false, bos: 1, eos: 32000 },
  gemma2: { maxPos: 8192, normEps: 1e-6, ropeTheta: 10000, tied: true, bos: 2, eos: 1 },
  gemma3: { maxPos: 131072, normEps: 1e-6, ropeTheta: 1_000_000, tied: true, bos: 2, eos: 1 },
};

/** A config.json being read: typed getters that remember which fields were read. */
class Fields {
  private readonly used = new Set<string>();
  constructor(
    readonly json: JsonObject,
    readonly where: string,
  ) {}
  has(k: string): boolean {
    return Object.hasOwn(this.json, k) && this.json[k] !== undefined;
  }
  /** Whether k is present and not null (marks it read). */
  given(k: string): boolean {
    this.used.add(k);
    return this.has(k) && this.json[k] !== null;
  }
  raw(k: string): unknown {
    this.used.add(k);
    return this.json[k];
  }
  fail(k: string, expected: string, got: unknown = this.json[k]): never {
    throw new ConfigError(`${this.where}: ${k}: expected ${expected}, got ${got === undefined ? 'nothing (required)' : describeJson(got)}`);
  }
  req(k: string): number {
    this.used.add(k);
    if (!this.has(k)) throw new ConfigError(`${this.where}: ${k}: expected a positive integer, got nothing (required)`);
    if (!isPosInt(this.json[k])) this.fail(k, 'a positive integer');
    return this.json[k] as number;
  }
  opt<T>(k: string, dflt: T, ok: (v: unknown) => boolean, expected: string): T {
    if (!this.given(k)) return dflt;
    if (!ok(this.json[k])) this.fail(k, expected);
    return this.json[k] as T;
  }
  bool(k: string, dflt: boolean): boolean {
    return this.opt(k, dflt, (v) => typeof v === 'boolean', 'true or false');
  }
  /** A field this architecture's model does not honour: only its harmless value passes. */
  only(k: string, harmless: unknown, why: string): void {
    if (!this.given(k)) return;
    if (this.json[k] !== harmless) throw new ConfigError(`${this.where}: ${k}: expected ${describeJson(harmless)} (${why}), got ${describeJson(this.json[k])}`);
  }
  /** Fields present but neither read nor known to be harmless. */
  unread(): string[] {
    return Object.keys(this.json).filter((k) => !this.used.has(k) && !HARMLESS_HF_FIELDS.has(k) && this.json[k] !== undefined);
  }
}

/** The architecture a config.json declares (model_type, architectures). */
function architectureOf(f: Fields): Architecture {
  const where = f.where;
  const archs = f.raw('architectures');
  const known = (Object.keys(ARCHITECTURES) as Architecture[]);
  let fromClass: Architecture | undefined;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string')) f.fail('architectures', 'a list of class names');
    fromClass = known.find((a) => archs.includes(ARCHITECTURES[a].hfClass));
    if (fromClass === undefined) {
      throw new ConfigError(
        `${where}: architectures: expected one of ${known.map((a) => ARCHITECTURES[a].hfClass).join(', ')} (the causal LMs spechub runs), got ${describeJson(archs)}`,
      );
    }
  }
  if (f.given('model_type')) {
    const mt = f.raw('model_type');
    if (mt === 'gemma3') {
      throw new ConfigError(`${where}: model_type: "gemma3" is the multimodal Gemma-3 (Gemma3ForConditionalGeneration); spechub runs the text-only "gemma3_text" checkpoints (Gemma3ForCausalLM)`);
    }
    const arch = known.find((a) => ARCHITECTURES[a].modelType === mt);
    if (arch === undefined) f.fail('model_type', `one of ${known.map((a) => JSON.stringify(ARCHITECTURES[a].modelType)).join(', ')}`);
    if (fromClass !== undefined && fromClass !== arch) {
      throw new ConfigError(`${where}: expected model_type and architectures to agree, got model_type ${describeJson(mt)} and architectures ${describeJson(archs)}`);
    }
    return arch;
  }
  if (fromClass === undefined) throw new ConfigError(`${where}: expected model_type or architectures naming the model class, got neither`);
  return fromClass;
}

/** RoPE scaling from an HF rope_scaling / rope_parameters object (rope_type or legacy type). */
function ropeScalingOf(f: Fields, key: string, rs: JsonObject, arch: Architecture, maxPos: number): RopeScaling | undefined {
  const kind = rs.rope_type ?? rs.type;
  const where = f.where;
  const allowed = new Set(['rope_type', 'type', 'rope_theta']);
  const num = (k: string, required: boolean, dflt?: number): number => {
    allowed.add(k);
    const v = rs[k];
    if (v === undefined || v === null) {
      if (required) throw new ConfigError(`${where}: ${key}.${k}: expected a positive number for ${describeJson(kind)} scaling, got nothing (required)`);
      return dflt!;
    }
    if (!isPosFinite(v)) throw new ConfigError(`${where}: ${key}.${k}: expected a positive finite number, got ${describeJson(v)}`);
    return v;
  };
  let out: RopeScaling | undefined;
  switch (kind) {
    case undefined:
    case null:
    case 'default':
      out = undefined;
      break;
    case 'linear':
      out = { type: 'linear', factor: num('factor', true) };
      break;
    case 'llama3':
      out = {
        type: 'llama3',
        factor: num('factor', true),
        lowFreqFactor: num('low_freq_factor', true),
        highFreqFactor: num('high_freq_factor', true),
        originalMaxPositions: num('original_max_position_embeddings', true),
      };
      break;
    case 'yarn': {
      const factor = num('factor', true);
      const attention = rs.attention_factor ?? rs.attn_factor;
      allowed.add('attention_factor').add('attn_factor');
      if (attention !== undefined && attention !== null && !isPosFinite(attention)) {
        throw new ConfigError(`${where}: ${key}.attention_factor: expected a positive finite number, got ${describeJson(attention)}`);
      }
      for (const k of ['mscale', 'mscale_all_dim']) {
        if (rs[k] !== undefined && rs[k] !== null) {
          throw new ConfigError(`${where}: ${key}.${k}: DeepSeek-style YaRN magnitude scaling is not supported, got ${describeJson(rs[k])}`);
        }
      }
      allowed.add('truncate');
      if (rs.truncate !== undefined && rs.truncate !== true) {
        throw new ConfigError(`${where}: ${key}.truncate: expected true (correction range rounded to whole dimensions, the YaRN paper's and llama.cpp's), got ${describeJson(rs.truncate)}`);
      }
      out = {
        type: 'yarn',
        factor,
        originalMaxPositions: num('original_max_position_embeddings', false, maxPos),
        betaFast: num('beta_fast', false, 32),
        betaSlow: num('beta_slow', false, 1),
        ...(isPosFinite(attention) ? { attentionFactor: attention } : {}),
      };
      break;
    }
    case 'longrope':
    case 'su':
      throw new ConfigError(
        `${where}: ${key}: type ${describeJson(kind)} (LongRoPE, Phi-3's 128k-context scaling) is not supported: its factors switch with the sequence length; use a 4k-context checkpoint or a GGUF without it`,
      );
    default:
      throw new ConfigError(`${where}: ${key}: type ${describeJson(kind)} is not supported (spechub honours default, linear, llama3 and yarn RoPE scaling)`);
  }
  for (const k of Object.keys(rs)) {
    if (!allowed.has(k) && rs[k] !== null && rs[k] !== undefined) throw new ConfigError(`${where}: ${key}.${k}: not a field of ${describeJson(kind ?? 'default')} RoPE scaling in ${arch} (it would change RoPE), got ${describeJson(rs[k])}`);
  }
  return out;
}

/** A config.json parsed: the ModelConfig and the fields it had that nothing reads (reported, not refused). */
export interface ParsedHfConfig {
  readonly config: ModelConfig;
  /** Fields neither honoured nor known to be harmless, by name (the CLI prints them once). */
  readonly ignoredFields: readonly string[];
}

/**
 * Build a ModelConfig from a parsed Hugging Face config.json (`json`) of any supported architecture
 * (see the module comment), validating it. Defaults are those of the architecture's transformers
 * config class, with one deliberate difference: the five core sizes (hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads, vocab_size) are required. eos_token_id may be a list:
 * eosTokenId is its first entry and eosTokenIds all of them. transformers v5's `rope_parameters`
 * (also the per-layer-type form of Gemma-3) is accepted as well as rope_theta / rope_scaling.
 */
export function parseHfConfigDetailed(json: unknown, fileName: string): ParsedHfConfig {
  const where = fileName;
  if (!isJsonObject(json)) throw new ConfigError(`${where}: expected a JSON object, got ${describeJson(json)}`);
  const f: Fields = new Fields(json, where);
  const arch = architectureOf(f);
  const d = ARCH_DEFAULTS[arch];
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  if (f.given('quantization_config')) {
    throw new ConfigError(`${where}: quantization_config: quantized Hugging Face checkpoints are not supported, got ${describeJson(json.quantization_config)}`);
  }

  const dim = f.req('hidden_size');
  const hiddenDim = f.req('intermediate_size');
  const nLayers = f.req('num_hidden_layers');
  if (nLayers > MAX_LAYERS) f.fail('num_hidden_layers', `at most ${MAX_LAYERS} layers (every layer has tensors of its own; checked before any per-layer work)`);
  const nHeads = f.req('num_attention_heads');
  const vocabSize = f.req('vocab_size');
  const nKvHeads = f.opt('num_key_value_heads', nHeads, isPosInt, 'a positive integer');
  const defaultHeadDim = arch === 'gemma2' || arch === 'gemma3' ? 256 : arch === 'qwen3' ? 128 : undefined;
  let headDim: number;
  if (f.given('head_dim') || defaultHeadDim !== undefined) {
    headDim = f.opt('head_dim', defaultHeadDim!, isPosInt, 'a positive integer');
    if (arch === 'phi3' && headDim * nHeads !== dim) f.fail('head_dim', `hidden_size / num_attention_heads = ${dim / nHeads} (Phi-3 has no separate head_dim)`);
  } else {
    if (dim % nHeads !== 0) throw new ConfigError(`${where}: expected hidden_size divisible by num_attention_heads, got ${dim} and ${nHeads}`);
    headDim = dim / nHeads;
  }
  if (nHeads % nKvHeads !== 0) f.fail('num_key_value_heads', `a divisor of num_attention_heads (${nHeads})`);
  const maxSeqLen = f.opt('max_position_embeddings', d.maxPos, isPosInt, 'a positive integer');
  const normEps = f.opt('rms_norm_eps', d.normEps, isPosFinite, 'a positive finite number');
  const tiedEmbeddings = f.bool('tie_word_embeddings', d.tied);
  const shape = { dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize, maxSeqLen };

  // activation
  let activation: 'silu' | 'gelu_tanh';
  if (gemma) {
    const act = f.opt('hidden_activation', 'gelu_pytorch_tanh', (v) => typeof v === 'string', 'an activation name');
    if (act !== 'gelu_pytorch_tanh') f.fail('hidden_activation', '"gelu_pytorch_tanh" (GeGLU with tanh GELU, what Gemma uses)');
    // older Gemma configs carry hidden_act too; transformers' Gemma-2/3 read hidden_activation only
    f.only('hidden_act', 'gelu_pytorch_tanh', 'Gemma uses hidden_activation; a different hidden_act is ambiguous');
    activation = 'gelu_tanh';
  } else {
    const act = f.opt('hidden_act', 'silu', (v) => typeof v === 'string', 'an activation name');
    if (act !== 'silu') f.fail('hidden_act', '"silu" (SwiGLU)');
    activation = 'silu';
  }

  // biases
  let qkvBias = false;
  let outBias = false;
  let mlpBias = false;
  if (arch === 'llama') {
    qkvBias = outBias = f.bool('attention_bias', false);
    mlpBias = f.bool('mlp_bias', false);
  } else if (arch === 'qwen2') {
    qkvBias = true; // Qwen2 always has q/k/v biases and none on o_proj
  } else if (arch === 'qwen3' || gemma) {
    qkvBias = outBias = f.bool('attention_bias', false);
  } else {
    f.only('attention_bias', false, `${arch} has no attention biases`);
  }
  if (arch !== 'llama') f.only('mlp_bias', false, `${arch} has no MLP biases`);
  if (f.given('rope_interleaved')) f.only('rope_interleaved', false, 'transformers rotates halves; interleaved RoPE is a training-framework setting transformers ignores, so its meaning here is unclear');
  if (f.given('partial_rotary_factor')) f.only('partial_rotary_factor', 1, 'partial rotary embeddings are not supported');

  // RoPE: rope_theta / rope_scaling, or transformers v5 rope_parameters (flat or per layer type)
  let ropeTheta: number = f.opt('rope_theta', d.ropeTheta, isPosFinite, 'a positive finite number');
  let ropeScaling: RopeScaling | undefined;
  let localTheta: number | undefined;
  if (gemma && arch === 'gemma3') localTheta = f.opt('rope_local_base_freq', 10000, isPosFinite, 'a positive finite number');
  if (f.given('rope_scaling')) {
    const rs = f.raw('rope_scaling');
    if (!isJsonObject(rs)) f.fail('rope_scaling', 'an object or null');
    if (arch === 'gemma2') f.fail('rope_scaling', 'null (Gemma-2 has no RoPE scaling)');
    ropeScaling = ropeScalingOf(f, 'rope_scaling', rs, arch, maxSeqLen);
  }
  if (f.given('rope_parameters')) {
    const rp = f.raw('rope_parameters');
    if (!isJsonObject(rp)) f.fail('rope_parameters', 'an object');
    const perType = isJsonObject(rp.full_attention) || isJsonObject(rp.sliding_attention);
    const global = perType ? rp.full_attention : rp;
    if (perType) {
      for (const k of Object.keys(rp)) if (k !== 'full_attention' && k !== 'sliding_attention') f.fail(`rope_parameters.${k}`, 'only full_attention and sliding_attention entries', rp[k]);
      const local = rp.sliding_attention;
      if (local !== undefined) {
        if (!isJsonObject(local)) f.fail('rope_parameters.sliding_attention', 'an object', local);
        if (ropeScalingOf(f, 'rope_parameters.sliding_attention', local, arch, maxSeqLen) !== undefined) {
          f.fail('rope_parameters.sliding_attention.rope_type', '"default" (scaled local RoPE is not supported)', local.rope_type);
        }
        if (local.rope_theta !== undefined) {
          if (!isPosFinite(local.rope_theta)) f.fail('rope_parameters.sliding_attention.rope_theta', 'a positive finite number', local.rope_theta);
          localTheta = local.rope_theta;
        }
      }
    }
    if (global !== undefined) {
      if (!isJsonObject(global)) f.fail('rope_parameters.full_attention', 'an object', global);
      const key = perType ? 'rope_parameters.full_attention' : 'rope_parameters';
      const scaling = ropeScalingOf(f, key, global, arch, maxSeqLen);
      if (scaling !== undefined) {
        if (ropeScaling !== undefined && JSON.stringify(ropeScaling) !== JSON.stringify(scaling)) {
          throw new ConfigError(`${where}: expected rope_scaling and ${key} to agree, got ${describeJson(json.rope_scaling)} and ${describeJson(global)}`);
        }
        ropeScaling = scaling;
      }
      if (global.rope_theta !== undefined) {
        if (!isPosFinite(global.rope_theta)) f.fail(`${key}.rope_theta`, 'a positive finite number', global.rope_theta);
        if (f.has('rope_theta') && json.rope_theta !== global.rope_theta) {
          throw new ConfigError(`${where}: expected rope_theta and ${key}.rope_theta to agree, got ${describeJson(json.rope_theta)} and ${global.rope_theta}`);
        }
        ropeTheta = global.rope_theta;
      }
    }
  }

  // sliding window and its layers
  let slidingWindow = 0;
  let slidingLayers: boolean[] | undefined;
  const windowOf = (k: string): number => f.opt<number | null>(k, null, isPosInt, 'a positive integer or null') ?? 0;
  const layerTypes = (): boolean[] | undefined => {
    if (!f.given('layer_types')) return undefined;
    const lt = f.raw('layer_types');
    if (!Array.isArray(lt) || lt.length !== nLayers || !lt.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      f.fail('layer_types', `${nLayers} entries of "full_attention" or "sliding_attention"`);
    }
    return lt.map((t) => t === 'sliding_attention');
  };
  if (arch === 'mistral' || arch === 'phi3') {
    slidingWindow = arch === 'mistral' && !f.has('sliding_window') ? 4096 : windowOf('sliding_window');
  } else if (arch === 'qwen2' || arch === 'qwen3') {
    const use = f.bool('use_sliding_window', false);
    const window = windowOf('sliding_window');
    const from = f.opt('max_window_layers', 28, isNonNegInt, 'an integer >= 0');
    const types = layerTypes();
    if (types !== undefined) {
      slidingLayers = types;
      slidingWindow = types.some((t) => t) ? window : 0;
      if (types.some((t) => t) && window === 0) f.fail('sliding_window', 'a window size for the sliding_attention layers of layer_types', null);
    } else if (use && window > 0) {
      slidingWindow = window;
      slidingLayers = Array.from({ length: nLayers }, (_, l) => l >= from);
    }
  } else if (gemma) {
    const legacy = f.opt<number | null>('sliding_window_size', null, isPosInt, 'a positive integer or null');
    slidingWindow = f.has('sliding_window') ? windowOf('sliding_window') : 4096;
    if (legacy !== null && legacy !== slidingWindow) {
      throw new ConfigError(`${where}: expected sliding_window and sliding_window_size to agree, got ${describeJson(json.sliding_window)} and ${legacy}`);
    }
    const pattern = arch === 'gemma3' ? f.opt('sliding_window_pattern', 6, isPosInt, 'a positive integer') : 2;
    slidingLayers = layerTypes() ?? Array.from({ length: nLayers }, (_, l) => (l + 1) % pattern !== 0);
    if (slidingWindow === 0 && slidingLayers.some((s) => s)) f.fail('sliding_window', 'a window size (Gemma alternates local and global layers)', json.sliding_window);
  }

  // Gemma specifics
  let embedScale: number | undefined;
  let attnScale: number | undefined;
  let attnSoftcap = 0;
  let finalSoftcap = 0;
  if (gemma) {
    embedScale = Math.fround(Math.sqrt(dim));
    const scalar = f.opt('query_pre_attn_scalar', 256, isPosFinite, 'a positive number');
    attnScale = Math.fround(scalar ** -0.5);
    // absent: the config class's default; null: no soft-capping (transformers skips it for None)
    const cap = (k: string, dflt: number | null): number => {
      if (!f.has(k)) return dflt ?? 0;
      return f.opt<number | null>(k, null, isPosFinite, 'a positive number or null') ?? 0;
    };
    attnSoftcap = cap('attn_logit_softcapping', arch === 'gemma2' ? 50 : null);
    finalSoftcap = cap('final_logit_softcapping', arch === 'gemma2' ? 30 : null);
  }

  const bos = f.has('bos_token_id') ? tokenIds(f.raw('bos_token_id'), 'bos_token_id', where) : d.bos === null ? null : [d.bos];
  if (bos !== null && bos.length !== 1) throw new ConfigError(`${where}: bos_token_id: expected one token id, got ${describeJson(json.bos_token_id)}`);
  const eos = f.has('eos_token_id') ? tokenIds(f.raw('eos_token_id'), 'eos_token_id', where) : d.eos === null ? null : [d.eos];
  // read by Phi-3's longrope only (refused above): with rope_scaling null it changes nothing
  if (arch === 'phi3') f.opt('original_max_position_embeddings', maxSeqLen, isPosInt, 'a positive integer');

  const config = checkModelConfig(
    canonicalConfig({
      ...shape,
      ropeTheta,
      normEps,
      tiedEmbeddings,
      bosTokenId: bos === null ? null : bos[0]!,
      eosTokenId: eos === null ? null : eos[0]!,
      eosTokenIds: eos ?? [],
      architecture: arch,
      ...(ropeScaling !== undefined ? { ropeScaling } : {}),
      ...(localTheta !== undefined ? { localRopeTheta: localTheta } : {}),
      qkvBias,
      outBias,
      mlpBias,
      qkNorm: arch === 'qwen3' || arch === 'gemma3',
      postNorms: gemma,
      activation,
      ...(embedScale !== undefined ? { embedScale } : {}),
      ...(attnScale !== undefined ? { attnScale } : {}),
      attnSoftcap,
      finalSoftcap,
      slidingWindow,
      ...(slidingLayers !== undefined ? { slidingLayers } : {}),
    }),
    where,
  );
  return { config, ignoredFields: f.unread() };
}

/** parseHfConfigDetailed's ModelConfig (see there). */
export function parseHfConfig(json: unknown, fileName: string): ModelConfig {
  return parseHfConfigDetailed(json, fileName).config;
}

/** The parts of generation_config.json spechub reads (all optional). */
export interface GenerationConfig {
  readonly bosTokenId?: number | null;
  readonly eosTokenIds?: readonly number[];
  readonly padTokenId?: number | null;
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly maxLength?: number;
  readonly maxNewTokens?: number;
  /**
   * Sampling settings of the file that spechub does not apply (repetition_penalty, min_p, …), by
   * their file names, when set to something other than their neutral value. Reported, never silently
   * dropped (see Generator.samplingDefaults).
   */
  readonly unappliedSampling?: Readonly<Record<string, unknown>>;
}

/** generation_config.json fields that change sampling but that spechub does not apply, with their neutral values. */
const UNAPPLIED_SAMPLING: Readonly<Record<string, unknown>> = {
  repetition_penalty: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  min_p: 0,
  typical_p: 1,
  epsilon_cutoff: 0,
  eta_cutoff: 0,
  no_repeat_ngram_size: 0,
  top_a: 0,
};

/**
 * Parse generation_config.json: optional extra information (default stop tokens and sampling
 * settings). Fields spechub does not use are ignored; the ones it reads are type-checked.
 */
export function parseGenerationConfig(json: unknown, fileName: string): GenerationConfig {
  if (!isJsonObject(json)) throw new ConfigError(`${fileName}: expected a JSON object, got ${describeJson(json)}`);
  const out: { -readonly [K in keyof GenerationConfig]: GenerationConfig[K] } = {};
  const get = (k: string, ok: (v: unknown) => boolean, expected: string): unknown => {
    const v = json[k];
    if (v === undefined || v === null) return undefined;
    if (!ok(v)) throw new ConfigError(`${fileName}: ${k}: expected ${expected}, got ${describeJson(v)}`);
    return v;
  };
  const isId = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (Object.hasOwn(json, 'bos_token_id')) out.bosTokenId = (get('bos_token_id', isId, 'a token id') as number | undefined) ?? null;
  if (Object.hasOwn(json, 'pad_token_id')) out.padTokenId = (get('pad_token_id', isId, 'a token id') as number | undefined) ?? null;
  const eos = get('eos_token_id', (v) => isId(v) || (Array.isArray(v) && v.every(isId)), 'a token id or a list of token ids');
  if (eos !== undefined) out.eosTokenIds = Array.isArray(eos) ? (eos as number[]) : [eos as number];
  const doSample = get('do_sample', (v) => typeof v === 'boolean', 'true or false');
  if (doSample !== undefined) out.doSample = doSample as boolean;
  const temperature = get('temperature', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0, 'a finite number >= 0');
  if (temperature !== undefined) out.temperature = temperature as number;
  const topK = get('top_k', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, 'an integer >= 0');
  if (topK !== undefined) out.topK = topK as number;
  const topP = get('top_p', (v) => typeof v === 'number' && v > 0 && v <= 1, 'a number in (0, 1]');
  if (topP !== undefined) out.topP = topP as number;
  const maxLength = get('max_length', isPosInt, 'a positive integer');
  if (maxLength !== undefined) out.maxLength = maxLength as number;
  const maxNewTokens = get('max_new_tokens', isPosInt, 'a positive integer');
  if (maxNewTokens !== undefined) out.maxNewTokens = maxNewTokens as number;
  const unapplied: Record<string, unknown> = {};
  for (const [k, neutral] of Object.entries(UNAPPLIED_SAMPLING)) {
    const v = json[k];
    if (v !== undefined && v !== null && v !== neutral) unapplied[k] = v;
  }
  if (Object.keys(unapplied).length > 0) out.unappliedSampling = unapplied;
  return out;
}

/** Parse JSON text of a config file strictly (duplicate keys are errors), as a ConfigError. */
export function parseConfigJson(text: string, fileName: string): unknown {
  const parsed = parseJsonStrict(text);
  if (!parsed.ok) throw new ConfigError(`${fileName}: ${parsed.problem}`);
  return parsed.value;
}

/**
 * Read config.json (required) and generation_config.json (optional) of a model directory, with the
 * config.json fields nothing reads (`ignoredFields`). A missing or unreadable config.json is a ConfigError.
 */
export async function loadHfConfig(model: ModelSource): Promise<{ config: ModelConfig; generation: GenerationConfig | null; ignoredFields: readonly string[] }> {
  const cfgName = `${model.name}/config.json`;
  if (!(await model.exists('config.json'))) throw new ConfigError(`${cfgName}: expected a Hugging Face config.json, found none`);
  const { config, ignoredFields } = parseHfConfigDetailed(parseConfigJson(await model.readText('config.json'), cfgName), cfgName);
  let generation: GenerationConfig | null = null;
  if (await model.exists('generation_config.json')) {
    const genName = `${model.name}/generation_config.json`;
    generation = parseGenerationConfig(parseConfigJson(await model.readText('generation_config.json'), genName), genName);
  }
  return { config, generation, ignoredFields };
}
