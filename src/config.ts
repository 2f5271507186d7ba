/**
 * ModelConfig: the shape of a Llama-family model in spechub's own names. Hugging Face names
 * (hidden_size, num_key_value_heads, …) appear only in the parsers that build it: `parseHfConfig`
 * here (config.json) and `llamaConfigFromGguf` (src/weights/gguf-llama.ts).
 */
import { ConfigError } from './errors.js';
import { describeJson, isJsonObject, parseJsonStrict } from './io/json.js';
import type { ModelSource } from './io/source.js';

export interface ModelConfig {
  /** Residual stream width (HF hidden_size). */
  readonly dim: number;
  /** SwiGLU inner width (HF intermediate_size). */
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  /** Per-head width; dim = nHeads * headDim for every supported model. */
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
}

/** kvDim = nKvHeads * headDim: the width of one K or V row. */
export function kvDim(c: ModelConfig): number {
  return c.nKvHeads * c.headDim;
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
const isPosFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Check the invariants every ModelConfig must satisfy, whatever file it came from: positive integer
 * sizes, dim = nHeads·headDim, nKvHeads | nHeads, even headDim (RoPE pairs), positive finite
 * ropeTheta and normEps, token ids inside the vocabulary. Returns `c`; throws ConfigError naming
 * `where` otherwise.
 */
export function checkModelConfig(c: ModelConfig, where: string): ModelConfig {
  for (const k of ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'maxSeqLen'] as const) {
    if (!isPosInt(c[k])) throw new ConfigError(`${where}: ${k}: expected a positive integer, got ${describeJson(c[k])}`);
  }
  if (c.nHeads * c.headDim !== c.dim) {
    throw new ConfigError(`${where}: expected dim = nHeads × headDim, got ${c.dim} ≠ ${c.nHeads} × ${c.headDim}`);
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
  return c;
}

function tokenIds(v: unknown, key: string, where: string): number[] | null {
  if (v === null) return null;
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')) return v as number[];
  throw new ConfigError(`${where}: ${key}: expected a token id, a non-empty list of token ids, or null, got ${describeJson(v)}`);
}

/**
 * Build a ModelConfig from a parsed Hugging Face config.json (`json`), validating it. Llama only
 * (LlamaForCausalLM / model_type "llama"), SiLU, no biases, no RoPE scaling, no quantization.
 *
 * Defaults follow transformers' LlamaConfig (HF_LLAMA_DEFAULTS; num_key_value_heads = heads,
 * head_dim = hidden_size / heads) with one deliberate difference: the five core sizes
 * (hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, vocab_size) are
 * required. HF would silently default them to Llama-2-7B's values, which no real small config relies on.
 * eos_token_id may be a list: eosTokenId is its first entry and eosTokenIds all of them.
 * transformers v5's `rope_parameters` ({rope_type: "default", rope_theta}) is accepted too.
 */
export function parseHfConfig(json: unknown, fileName: string): ModelConfig {
  const where = fileName;
  if (!isJsonObject(json)) throw new ConfigError(`${where}: expected a JSON object, got ${describeJson(json)}`);
  const has = (k: string): boolean => Object.hasOwn(json, k) && json[k] !== undefined;

  // Architecture.
  const archs = json.architectures;
  if (has('architectures') && archs !== null) {
    if (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string')) {
      throw new ConfigError(`${where}: architectures: expected a list of class names, got ${describeJson(archs)}`);
    }
    if (!archs.includes('LlamaForCausalLM')) {
      throw new ConfigError(`${where}: architectures: expected LlamaForCausalLM (the only architecture spechub runs), got ${describeJson(archs)}`);
    }
  }
  if (has('model_type')) {
    if (json.model_type !== 'llama') throw new ConfigError(`${where}: model_type: expected "llama", got ${describeJson(json.model_type)}`);
  } else if (!has('architectures') || archs === null) {
    throw new ConfigError(`${where}: expected model_type "llama" or architectures ["LlamaForCausalLM"], got neither`);
  }
  if (has('quantization_config') && json.quantization_config !== null) {
    throw new ConfigError(`${where}: quantization_config: quantized Hugging Face checkpoints are not supported, got ${describeJson(json.quantization_config)}`);
  }

  const req = (k: string): number => {
    if (!has(k)) throw new ConfigError(`${where}: ${k}: expected a positive integer, got nothing (required)`);
    if (!isPosInt(json[k])) throw new ConfigError(`${where}: ${k}: expected a positive integer, got ${describeJson(json[k])}`);
    return json[k] as number;
  };
  const opt = <T>(k: string, dflt: T, ok: (v: unknown) => boolean, expected: string): T => {
    if (!has(k) || json[k] === null) return dflt;
    if (!ok(json[k])) throw new ConfigError(`${where}: ${k}: expected ${expected}, got ${describeJson(json[k])}`);
    return json[k] as T;
  };

  const dim = req('hidden_size');
  const hiddenDim = req('intermediate_size');
  const nLayers = req('num_hidden_layers');
  const nHeads = req('num_attention_heads');
  const vocabSize = req('vocab_size');
  const nKvHeads = opt('num_key_value_heads', nHeads, isPosInt, 'a positive integer');
  const explicitHeadDim = has('head_dim') && json.head_dim !== null;
  const headDim = opt('head_dim', dim / nHeads, isPosInt, 'a positive integer');
  if (explicitHeadDim) {
    if (headDim * nHeads !== dim) {
      throw new ConfigError(
        `${where}: head_dim: expected num_attention_heads × head_dim = hidden_size, got ${nHeads} × ${headDim} ≠ ${dim} (attention wider than the residual stream is not supported)`,
      );
    }
  } else if (dim % nHeads !== 0) {
    throw new ConfigError(`${where}: expected hidden_size divisible by num_attention_heads, got ${dim} and ${nHeads}`);
  }
  if (nHeads % nKvHeads !== 0) {
    throw new ConfigError(`${where}: num_key_value_heads: expected a divisor of num_attention_heads (${nHeads}), got ${nKvHeads}`);
  }
  const maxSeqLen = opt('max_position_embeddings', HF_LLAMA_DEFAULTS.max_position_embeddings, isPosInt, 'a positive integer');
  const normEps = opt('rms_norm_eps', HF_LLAMA_DEFAULTS.rms_norm_eps, isPosFinite, 'a positive finite number');
  let ropeTheta: number = opt('rope_theta', HF_LLAMA_DEFAULTS.rope_theta, isPosFinite, 'a positive finite number');
  const tiedEmbeddings = opt('tie_word_embeddings', HF_LLAMA_DEFAULTS.tie_word_embeddings, (v) => typeof v === 'boolean', 'true or false');

  const act = opt('hidden_act', HF_LLAMA_DEFAULTS.hidden_act, (v) => typeof v === 'string', 'an activation name');
  if (act !== 'silu') throw new ConfigError(`${where}: hidden_act: expected "silu" (SwiGLU), got ${describeJson(act)}`);
  for (const k of ['attention_bias', 'mlp_bias'] as const) {
    const v = opt(k, false, (x) => typeof x === 'boolean', 'true or false');
    if (v) throw new ConfigError(`${where}: ${k}: expected false (spechub's Llama has no bias terms), got true`);
  }
  if (has('rope_scaling') && json.rope_scaling !== null) {
    const rs = json.rope_scaling;
    const kind = isJsonObject(rs) ? (rs.rope_type ?? rs.type) : undefined;
    throw new ConfigError(
      `${where}: rope_scaling: expected null (plain RoPE), got ${kind !== undefined ? `type ${describeJson(kind)}` : describeJson(rs)}, which spechub does not support`,
    );
  }
  if (has('rope_parameters') && json.rope_parameters !== null) {
    const rp = json.rope_parameters;
    if (!isJsonObject(rp)) throw new ConfigError(`${where}: rope_parameters: expected an object, got ${describeJson(rp)}`);
    const kind = rp.rope_type ?? 'default';
    if (kind !== 'default') {
      throw new ConfigError(`${where}: rope_parameters.rope_type: expected "default" (plain RoPE), got ${describeJson(kind)}, which spechub does not support`);
    }
    if (rp.rope_theta !== undefined) {
      if (!isPosFinite(rp.rope_theta)) {
        throw new ConfigError(`${where}: rope_parameters.rope_theta: expected a positive finite number, got ${describeJson(rp.rope_theta)}`);
      }
      if (has('rope_theta') && json.rope_theta !== rp.rope_theta) {
        throw new ConfigError(`${where}: expected rope_theta and rope_parameters.rope_theta to agree, got ${describeJson(json.rope_theta)} and ${rp.rope_theta}`);
      }
      ropeTheta = rp.rope_theta;
    }
  }

  const bos = has('bos_token_id') ? tokenIds(json.bos_token_id, 'bos_token_id', where) : [HF_LLAMA_DEFAULTS.bos_token_id];
  if (bos !== null && bos.length !== 1) throw new ConfigError(`${where}: bos_token_id: expected one token id, got ${describeJson(json.bos_token_id)}`);
  const eos = has('eos_token_id') ? tokenIds(json.eos_token_id, 'eos_token_id', where) : [HF_LLAMA_DEFAULTS.eos_token_id];

  return checkModelConfig(
    {
      dim,
      hiddenDim,
      nLayers,
      nHeads,
      nKvHeads,
      headDim,
      vocabSize,
      maxSeqLen,
      ropeTheta,
      normEps,
      tiedEmbeddings,
      bosTokenId: bos === null ? null : bos[0],
      eosTokenId: eos === null ? null : eos[0],
      eosTokenIds: eos ?? [],
    },
    where,
  );
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
 * Read config.json (required) and generation_config.json (optional) of a model directory.
 * A missing or unreadable config.json is a ConfigError.
 */
export async function loadHfConfig(model: ModelSource): Promise<{ config: ModelConfig; generation: GenerationConfig | null }> {
  const cfgName = `${model.name}/config.json`;
  if (!(await model.exists('config.json'))) throw new ConfigError(`${cfgName}: expected a Hugging Face config.json, found none`);
  const config = parseHfConfig(parseConfigJson(await model.readText('config.json'), cfgName), cfgName);
  let generation: GenerationConfig | null = null;
  if (await model.exists('generation_config.json')) {
    const genName = `${model.name}/generation_config.json`;
    generation = parseGenerationConfig(parseConfigJson(await model.readText('generation_config.json'), genName), genName);
  }
  return { config, generation };
}
