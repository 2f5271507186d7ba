/**
 * GGUF metadata → spechub types: the ModelConfig (`<arch>.*` keys, `configFromGguf`) and the embedded
 * tokenizer (tokenizer.ggml.* keys) as plain data for the tokenizer builder; and the inverse for
 * writers (`ggufModelMetadata`). What llama.cpp does per architecture (src/models/*.cpp of the
 * llama.cpp that node-llama-cpp bundles) is the reference; where this module differs it says so.
 *
 * general.architecture: llama (also Mistral, which llama.cpp's converter writes as llama), qwen2,
 * qwen3, phi3, gemma2, gemma3. Keys, with <a> the architecture:
 *   <a>.embedding_length → dim            <a>.feed_forward_length → hiddenDim (phi3: its ffn_up holds gate and up)
 *   <a>.block_count → nLayers             <a>.attention.head_count(_kv) → nHeads (nKvHeads, default nHeads)
 *   <a>.context_length → maxSeqLen        <a>.attention.key_length = value_length → headDim (default dim/heads)
 *   <a>.rope.freq_base → ropeTheta (10000) <a>.attention.layer_norm_rms_epsilon → normEps (required)
 *   <a>.rope.dimension_count = headDim (partial rotary refused)
 *   <a>.rope.scaling.type (llama.cpp's default "linear") / .factor (or rope.scale_linear) / .original_context_length /
 *     .attn_factor → ropeScaling linear or yarn; "none" forces no scaling; longrope refused. YaRN keys llama.cpp
 *     does not read for these architectures (yarn_beta_fast/slow, yarn_ext_factor, yarn_attn_factor,
 *     yarn_log_multiplier) are refused unless they hold llama.cpp's defaults.
 *   rope_freqs.weight (tensor, llama) → ropeScaling frequencyFactors (llama.cpp's form of Llama-3 scaling)
 *   <a>.attention.sliding_window → slidingWindow: gemma2 (default 4096, every other layer from layer 0),
 *     gemma3 (when > 0; pattern 6: five local layers, then a global one), llama and phi3 (every layer;
 *     llama.cpp applies no window to llama and disables Phi-3's, which transformers applies: spechub follows
 *     transformers, so files agree with llama.cpp for contexts within the window). qwen2/qwen3: refused
 *     (which layers slide is not in the file). <a>.attention.sliding_window_pattern: a period or one BOOL per layer.
 *   <a>.rope.freq_base_swa → localRopeTheta (gemma3; llama.cpp's default 10000 when absent; gemma2: freq_base)
 *   gemma2.attn_logit_softcapping / final_logit_softcapping (llama.cpp's defaults 50 / 30), gemma3.final_logit_softcapping
 *   vocabSize: <a>.vocab_size, else the length of tokenizer.ggml.tokens, else token_embd's rows
 *   bos/eos: tokenizer.ggml.bos_token_id / eos_token_id (eosTokenIds adds eot_token_id)
 * From the tensors (llama.cpp loads these as optional): tiedEmbeddings (no output.weight), qkvBias
 * (blk.0.attn_q.bias or attn_qkv.bias), outBias (blk.0.attn_output.bias), mlpBias (blk.0.ffn_*.bias).
 * Fixed per architecture: qwen2's q/k/v biases, qwen3/gemma3 q/k norms, Gemma's √dim embedding scale,
 * GeGLU, post norms and attention scale (llama.cpp: 1/√headDim, or 1/√(dim/heads) for the 27B models,
 * 46 layers (gemma2) or 62 (gemma3); GGUF does not store query_pre_attn_scalar).
 * Refused: another architecture, experts, per-layer size arrays, and keys that change the math of
 * other architectures (attention.scale, clamp_kqv, alibi, embedding/residual/logit scales, non-causal
 * attention, …). Any other <a>.* key is returned in `ignoredKeys` (reported, not refused).
 */
import { ConfigError, InvalidArgumentError, TokenizerError } from '../errors.js';
import { canonicalConfig, checkModelConfig, defaultAttnScale, isSlidingLayer, MAX_LAYERS, type Architecture, type ModelConfig, type RopeScaling } from '../config.js';
import type { GgufArray, GgufFile, GgufValue } from './gguf.js';
import type { GgufTokenizerData } from '../tokenizer/gguf-data.js';

type ErrorCtor = new (message: string) => Error;

/** GGUF's "no token" marker for u32 ids (and -1 for signed ones). */
const NO_ID = 0xffffffff;

function describe(v: GgufValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v.type === 'ARRAY') return `an ARRAY of ${v.value.items.length} ${v.value.itemType}`;
  return `${v.type} ${typeof v.value === 'string' ? JSON.stringify(v.value.length > 60 ? `${v.value.slice(0, 57)}...` : v.value) : String(v.value)}`;
}

/** An integer-typed value as a safe non-negative number, or undefined when absent. */
function uintOf(f: GgufFile, key: string, Err: ErrorCtor): number | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'UINT64' || v.type === 'INT64') {
    if (v.value >= 0n && v.value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v.value);
  } else if (v.type === 'UINT8' || v.type === 'INT8' || v.type === 'UINT16' || v.type === 'INT16' || v.type === 'UINT32' || v.type === 'INT32') {
    if (v.value >= 0) return v.value;
  }
  throw new Err(`${f.name}: ${key}: expected a non-negative integer, got ${describe(v)}`);
}

function floatOf(f: GgufFile, key: string, Err: ErrorCtor): number | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'FLOAT32' || v.type === 'FLOAT64') return v.value;
  throw new Err(`${f.name}: ${key}: expected a FLOAT32 or FLOAT64, got ${describe(v)}`);
}

function stringOf(f: GgufFile, key: string, Err: ErrorCtor): string | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'STRING') return v.value;
  throw new Err(`${f.name}: ${key}: expected a STRING, got ${describe(v)}`);
}

function boolOf(f: GgufFile, key: string, Err: ErrorCtor): boolean | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'BOOL') return v.value;
  throw new Err(`${f.name}: ${key}: expected a BOOL, got ${describe(v)}`);
}

function arrayOf(f: GgufFile, key: string, itemType: GgufArray['itemType'], Err: ErrorCtor): GgufArray | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (v.type === 'ARRAY' && v.value.itemType === itemType) return v.value;
  throw new Err(`${f.name}: ${key}: expected an ARRAY of ${itemType}, got ${describe(v)}`);
}

/** A token id key: absent or the "none" marker → null; otherwise a number (range checked by callers). */
function tokenIdOf(f: GgufFile, key: string, Err: ErrorCtor): number | null {
  const v = f.get(key);
  if (v !== undefined && (v.type === 'INT32' || v.type === 'INT64') && (v.value === -1 || v.value === -1n)) return null;
  const id = uintOf(f, key, Err);
  return id === undefined || id === NO_ID ? null : id;
}

/** general.architecture values spechub reads, and the Architecture each means. */
const GGUF_ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', phi3: 'phi3', gemma2: 'gemma2', gemma3: 'gemma3',
};

/** `<a>.` keys read below (so that the rest can be reported). */
const READ_KEYS = [
  'context_length', 'embedding_length', 'block_count', 'feed_forward_length', 'attention.head_count', 'attention.head_count_kv',
  'attention.key_length', 'attention.value_length', 'rope.dimension_count', 'attention.layer_norm_rms_epsilon', 'rope.freq_base',
  'rope.freq_base_swa', 'rope.scaling.type', 'rope.scaling.factor', 'rope.scale_linear', 'rope.scaling.original_context_length',
  'rope.scaling.attn_factor', 'rope.scaling.finetuned', 'rope.scaling.yarn_beta_fast', 'rope.scaling.yarn_beta_slow',
  'rope.scaling.yarn_ext_factor', 'rope.scaling.yarn_attn_factor', 'rope.scaling.yarn_log_multiplier',
  'attention.sliding_window', 'attention.sliding_window_pattern', 'attn_logit_softcapping', 'final_logit_softcapping', 'vocab_size',
  'expert_count', 'expert_used_count',
];

/**
 * `<a>.` keys that change the math of the architectures that have them; refused unless they hold the
 * neutral value (llama.cpp's default), which is given.
 */
const REFUSED_KEYS: Readonly<Record<string, number | boolean>> = {
  'attention.scale': 0, 'attention.clamp_kqv': 0, 'attention.max_alibi_bias': 0, 'attention.causal': true, 'embedding_scale': 0,
  'residual_scale': 0, 'logit_scale': 0, 'use_parallel_residual': false, 'attention.layer_norm_epsilon': 0,
  'attention.key_length_swa': 0, 'attention.value_length_swa': 0, 'rope.dimension_count_swa': 0, 'attention.output_scale': 0,
  'attention.value_scale': 0, 'swiglu_clamp_exp': 0, 'expert_shared_count': 0, 'leading_dense_block_count': 0,
};

/** A GGUF's ModelConfig and the `<a>.*` keys nothing reads. */
export interface GgufModelConfig {
  readonly config: ModelConfig;
  /** `<a>.*` keys neither honoured nor refused (reported once by the CLI). */
  readonly ignoredKeys: readonly string[];
}

/** Build the ModelConfig of a GGUF (see the module comment for the key mapping). */
export function configFromGgufDetailed(f: GgufFile): GgufModelConfig {
  const a = stringOf(f, 'general.architecture', ConfigError);
  const arch = a === undefined ? undefined : GGUF_ARCHITECTURES[a];
  if (arch === undefined) {
    throw new ConfigError(`${f.name}: general.architecture: expected one of ${Object.keys(GGUF_ARCHITECTURES).map((x) => JSON.stringify(x)).join(', ')}, got ${a === undefined ? 'nothing' : JSON.stringify(a)}`);
  }
  const k = (key: string) => `${a}.${key}`;
  const req = (key: string): number => {
    const v = f.get(k(key));
    if (v?.type === 'ARRAY') throw new ConfigError(`${f.name}: ${k(key)}: per-layer values are not supported; expected one integer, got ${describe(v)}`);
    const n = uintOf(f, k(key), ConfigError);
    if (n === undefined) throw new ConfigError(`${f.name}: ${k(key)}: expected a positive integer, got nothing (required)`);
    return n;
  };
  const optUint = (key: string): number | undefined => (f.get(k(key)) === undefined ? undefined : req(key));
  const float = (key: string): number | undefined => floatOf(f, k(key), ConfigError);
  const refuse = (key: string, why: string): never => {
    throw new ConfigError(`${f.name}: ${k(key)}: ${why}, got ${describe(f.get(k(key)))}`);
  };

  const dim = req('embedding_length');
  const hiddenDim = req('feed_forward_length');
  const nLayers = req('block_count');
  if (nLayers > MAX_LAYERS) refuse('block_count', `expected at most ${MAX_LAYERS} layers (every layer has tensors of its own; checked before any per-layer work)`);
  const nHeads = req('attention.head_count');
  const nKvHeads = optUint('attention.head_count_kv') ?? nHeads;
  const maxSeqLen = req('context_length');
  if (nHeads === 0) throw new ConfigError(`${f.name}: ${k('attention.head_count')}: expected a positive integer, got 0`);
  const keyLength = optUint('attention.key_length');
  const valueLength = optUint('attention.value_length');
  if (keyLength === undefined && dim % nHeads !== 0) {
    throw new ConfigError(`${f.name}: expected ${k('embedding_length')} divisible by ${k('attention.head_count')}, got ${dim} and ${nHeads}`);
  }
  const headDim = keyLength ?? dim / nHeads;
  // llama.cpp's default value length is embedding_length / head_count, whatever the key length
  if ((valueLength ?? dim / nHeads) !== headDim) refuse('attention.value_length', `expected the key length ${headDim} (different key and value head sizes are not supported)`);
  const ropeDims = optUint('rope.dimension_count');
  if (ropeDims !== undefined && ropeDims !== headDim) refuse('rope.dimension_count', `expected the head dimension ${headDim} (partial rotary embeddings are not supported)`);
  const ropeTheta = float('rope.freq_base') ?? 10000;
  const normEps = float('attention.layer_norm_rms_epsilon');
  if (normEps === undefined) throw new ConfigError(`${f.name}: ${k('attention.layer_norm_rms_epsilon')}: expected a float, got nothing (required)`);
  const experts = optUint('expert_count');
  if (experts !== undefined && experts > 0) refuse('expert_count', 'mixture-of-experts is not supported');
  for (const [key, neutral] of Object.entries(REFUSED_KEYS)) {
    const v = f.get(k(key));
    if (v === undefined) continue;
    const value = v.type === 'BOOL' || v.type === 'FLOAT32' || v.type === 'FLOAT64' ? v.value : v.type === 'ARRAY' || v.type === 'STRING' ? undefined : Number(v.value);
    if (value !== neutral) refuse(key, `not supported (it changes the math of models spechub does not run); expected ${String(neutral)} or no key`);
  }

  // RoPE scaling
  let ropeScaling: RopeScaling | undefined;
  const scalingType = stringOf(f, k('rope.scaling.type'), ConfigError) ?? 'linear'; // llama.cpp's default
  const factor = float('rope.scaling.factor') ?? float('rope.scale_linear') ?? 0;
  const yarnDefaults: [string, number][] = [['yarn_beta_fast', 32], ['yarn_beta_slow', 1], ['yarn_ext_factor', 1], ['yarn_attn_factor', 1], ['yarn_log_multiplier', 0]];
  for (const [key, dflt] of yarnDefaults) {
    const v = float(`rope.scaling.${key}`);
    if (v !== undefined && v !== dflt) refuse(`rope.scaling.${key}`, `llama.cpp does not read it for ${a}; spechub refuses values other than its default ${dflt} rather than disagree with it`);
  }
  if (scalingType === 'none') {
    // llama.cpp: no scaling whatever the factor
  } else if (scalingType === 'linear') {
    if (factor !== 0 && factor !== 1) ropeScaling = { type: 'linear', factor };
  } else if (scalingType === 'yarn') {
    if (!(factor > 0)) refuse('rope.scaling.factor', 'expected a positive YaRN factor');
    const attn = float('rope.scaling.attn_factor');
    const original = optUint('rope.scaling.original_context_length') ?? maxSeqLen;
    // llama.cpp's effective cos/sin factor: rope.scaling.attn_factor × (1 + 0.1·ln factor)
    ropeScaling = { type: 'yarn', factor, originalMaxPositions: original, betaFast: 32, betaSlow: 1, ...(attn !== undefined ? { attentionFactor: attn * (1 + 0.1 * Math.log(factor)) } : {}) };
  } else if (scalingType === 'longrope') {
    refuse('rope.scaling.type', 'LongRoPE (Phi-3 128k) is not supported');
  } else {
    refuse('rope.scaling.type', 'expected none, linear or yarn');
  }
  if (f.tensors.has('rope_freqs.weight')) {
    if (arch !== 'llama') throw new ConfigError(`${f.name}: rope_freqs.weight: RoPE frequency factors are read for llama files only, got one in a ${a} file`);
    if (ropeScaling !== undefined) throw new ConfigError(`${f.name}: rope_freqs.weight: expected no other RoPE scaling next to frequency factors, got ${ropeScaling.type}`);
    ropeScaling = { type: 'frequencyFactors' };
  }

  // sliding window
  const gemma = arch === 'gemma2' || arch === 'gemma3';
  let slidingWindow = optUint('attention.sliding_window') ?? (arch === 'gemma2' ? 4096 : 0);
  let slidingLayers: boolean[] | undefined;
  if (slidingWindow > 0 && (arch === 'qwen2' || arch === 'qwen3')) {
    refuse('attention.sliding_window', 'which Qwen layers slide is not stored in GGUF (llama.cpp applies no window to them)');
  }
  if (slidingWindow > 0 && gemma) {
    const p = f.get(k('attention.sliding_window_pattern'));
    if (p?.type === 'ARRAY') {
      if (p.value.itemType !== 'BOOL' || p.value.items.length !== nLayers) refuse('attention.sliding_window_pattern', `expected a period or ${nLayers} BOOLs`);
      slidingLayers = Array.from(p.value.items as readonly boolean[]);
    } else {
      const period = optUint('attention.sliding_window_pattern') ?? (arch === 'gemma2' ? 2 : 6);
      // llama.cpp's set_swa_pattern: layer l slides iff l mod period < period − 1 (period 0: all)
      slidingLayers = Array.from({ length: nLayers }, (_, l) => period === 0 || l % period < period - 1);
    }
  } else if (f.get(k('attention.sliding_window_pattern')) !== undefined && slidingWindow > 0) {
    refuse('attention.sliding_window_pattern', `a per-layer window pattern is read for gemma2 and gemma3 only`);
  }
  if (!(slidingWindow > 0)) slidingWindow = 0;

  // Gemma specifics (llama.cpp's gemma2.cpp / gemma3.cpp)
  let localRopeTheta: number | undefined;
  let attnSoftcap = 0;
  let finalSoftcap = 0;
  if (arch === 'gemma2') {
    localRopeTheta = float('rope.freq_base_swa') ?? ropeTheta;
    attnSoftcap = float('attn_logit_softcapping') ?? 50;
    finalSoftcap = float('final_logit_softcapping') ?? 30;
  } else if (arch === 'gemma3') {
    localRopeTheta = float('rope.freq_base_swa') ?? 10000;
    if ((float('attn_logit_softcapping') ?? 0) !== 0) refuse('attn_logit_softcapping', 'llama.cpp applies no attention soft-capping to gemma3; expected none');
    finalSoftcap = float('final_logit_softcapping') ?? 0;
  } else {
    for (const key of ['attn_logit_softcapping', 'final_logit_softcapping', 'rope.freq_base_swa']) {
      if (f.get(k(key)) !== undefined) refuse(key, `read for gemma files only`);
    }
  }
  const big = (arch === 'gemma2' && nLayers === 46) || (arch === 'gemma3' && nLayers === 62);
  const attnScale = gemma ? Math.fround(1 / Math.fround(Math.sqrt(big ? dim / nHeads : headDim))) : undefined;

  const tokens = f.get('tokenizer.ggml.tokens');
  const nTokens = tokens?.type === 'ARRAY' ? tokens.value.items.length : undefined;
  const vocabSize = optUint('vocab_size') ?? nTokens ?? f.tensors.get('token_embd.weight')?.shape[0];
  if (vocabSize === undefined) throw new ConfigError(`${f.name}: expected ${k('vocab_size')}, tokenizer.ggml.tokens or token_embd.weight to give the vocabulary size, got none`);
  if (nTokens !== undefined && nTokens !== vocabSize) {
    throw new ConfigError(`${f.name}: ${k('vocab_size')} is ${vocabSize} but tokenizer.ggml.tokens has ${nTokens} tokens`);
  }
  const shape = { dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize, maxSeqLen };
  const eos = tokenIdOf(f, 'tokenizer.ggml.eos_token_id', ConfigError);
  const eot = tokenIdOf(f, 'tokenizer.ggml.eot_token_id', ConfigError);
  const eosTokenIds = [eos, eot].filter((id, i, xs): id is number => id !== null && xs.indexOf(id) === i);
  const has = (name: string) => f.tensors.has(name);
  const config = checkModelConfig(
    canonicalConfig({
      ...shape,
      ropeTheta,
      normEps,
      tiedEmbeddings: !has('output.weight'),
      bosTokenId: tokenIdOf(f, 'tokenizer.ggml.bos_token_id', ConfigError),
      eosTokenId: eos,
      eosTokenIds,
      architecture: arch,
      ...(ropeScaling !== undefined ? { ropeScaling } : {}),
      ...(localRopeTheta !== undefined ? { localRopeTheta } : {}),
      qkvBias: arch === 'phi3' ? false : has('blk.0.attn_q.bias') || has('blk.0.attn_qkv.bias'),
      outBias: has('blk.0.attn_output.bias'),
      mlpBias: has('blk.0.ffn_gate.bias') || has('blk.0.ffn_up.bias') || has('blk.0.ffn_down.bias'),
      qkNorm: arch === 'qwen3' || arch === 'gemma3',
      postNorms: gemma,
      activation: gemma ? 'gelu_tanh' : 'silu',
      ...(gemma ? { embedScale: Math.fround(Math.sqrt(dim)), attnScale: attnScale! } : {}),
      attnSoftcap,
      finalSoftcap,
      slidingWindow,
      ...(slidingLayers !== undefined ? { slidingLayers } : {}),
    }),
    f.name,
  );
  const prefix = `${a}.`;
  const known = new Set([...READ_KEYS, ...Object.keys(REFUSED_KEYS)].map((x) => prefix + x));
  const ignoredKeys = [...f.metadata.keys()].filter((key) => key.startsWith(prefix) && !known.has(key));
  return { config, ignoredKeys };
}

/** configFromGgufDetailed's ModelConfig. */
export function configFromGguf(f: GgufFile): ModelConfig {
  return configFromGgufDetailed(f).config;
}

/** The ModelConfig of a GGUF file (the name from when only llama files were read; see configFromGguf). */
export const llamaConfigFromGguf = configFromGguf;

/**
 * The `<a>.*` metadata (and general.architecture) a GGUF of config `c` carries, as llama.cpp's converter
 * writes it: what `configFromGguf` reads back. Mistral is written as llama without its sliding window
 * (as the converter does), Llama-3 RoPE scaling needs the rope_freqs.weight tensor (ropeFreqsOf; pass the
 * config's GGUF form, `ggufFormOf`). Throws InvalidArgumentError for what GGUF cannot carry (Gemma's
 * query_pre_attn_scalar other than llama.cpp's rule, Qwen sliding windows, HF-only RoPE scaling).
 */
export function ggufModelMetadata(c: ModelConfig): [string, GgufValue][] {
  const arch = c.architecture ?? 'llama';
  const g = arch === 'mistral' ? 'llama' : arch;
  const u32 = (value: number): GgufValue => ({ type: 'UINT32', value });
  const f32 = (value: number): GgufValue => ({ type: 'FLOAT32', value });
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`ggufModelMetadata: ${why}`);
  };
  const meta: [string, GgufValue][] = [
    ['general.architecture', { type: 'STRING', value: g }],
    [`${g}.vocab_size`, u32(c.vocabSize)],
    [`${g}.context_length`, u32(c.maxSeqLen)],
    [`${g}.embedding_length`, u32(c.dim)],
    [`${g}.block_count`, u32(c.nLayers)],
    [`${g}.feed_forward_length`, u32(c.hiddenDim)],
    [`${g}.attention.head_count`, u32(c.nHeads)],
    [`${g}.attention.head_count_kv`, u32(c.nKvHeads)],
    [`${g}.attention.key_length`, u32(c.headDim)],
    [`${g}.attention.value_length`, u32(c.headDim)],
    [`${g}.rope.dimension_count`, u32(c.headDim)],
    [`${g}.attention.layer_norm_rms_epsilon`, f32(c.normEps)],
    [`${g}.rope.freq_base`, f32(c.ropeTheta)],
  ];
  const rs = c.ropeScaling;
  if (rs?.type === 'linear') meta.push([`${g}.rope.scaling.type`, { type: 'STRING', value: 'linear' }], [`${g}.rope.scaling.factor`, f32(rs.factor)]);
  else if (rs?.type === 'yarn') {
    if (rs.betaFast !== 32 || rs.betaSlow !== 1) bad(`YaRN betas ${rs.betaFast}/${rs.betaSlow}: llama.cpp reads only its defaults 32/1 for ${g}`);
    meta.push([`${g}.rope.scaling.type`, { type: 'STRING', value: 'yarn' }], [`${g}.rope.scaling.factor`, f32(rs.factor)], [`${g}.rope.scaling.original_context_length`, u32(rs.originalMaxPositions)]);
    if (rs.attentionFactor !== undefined) meta.push([`${g}.rope.scaling.attn_factor`, f32(rs.attentionFactor / (1 + 0.1 * Math.log(rs.factor)))]);
  } else if (rs?.type === 'llama3') bad('Llama-3 RoPE scaling is stored as the rope_freqs.weight tensor: write ggufFormOf(config) with ropeFreqsOf(config)');
  else if (rs?.type === 'frequencyFactors' && g !== 'llama') bad(`frequency factors (rope_freqs.weight) are read for llama files only, got ${arch}`);
  const window = c.slidingWindow ?? 0;
  if (arch === 'gemma2' || arch === 'gemma3') {
    const big = (arch === 'gemma2' && c.nLayers === 46) || (arch === 'gemma3' && c.nLayers === 62);
    const want = defaultAttnScale(big ? c.dim / c.nHeads : c.headDim);
    if (c.attnScale !== undefined && c.attnScale !== want) bad(`attnScale ${c.attnScale}: GGUF has no query_pre_attn_scalar; llama.cpp uses ${want} for this ${arch}`);
    if (window > 0) {
      meta.push([`${g}.attention.sliding_window`, u32(window)]);
      const layers = Array.from({ length: c.nLayers }, (_, l) => isSlidingLayer(c, l));
      meta.push([`${g}.attention.sliding_window_pattern`, { type: 'ARRAY', value: { itemType: 'BOOL', items: layers } }]);
    } else if (arch === 'gemma2') bad('Gemma-2 files without a sliding window: llama.cpp would apply its default 4096');
    if (c.localRopeTheta !== undefined) meta.push([`${g}.rope.freq_base_swa`, f32(c.localRopeTheta)]);
    if (arch === 'gemma2') {
      if (!((c.attnSoftcap ?? 0) > 0 && (c.finalSoftcap ?? 0) > 0)) bad('Gemma-2 without attention and final soft-capping: llama.cpp always applies both');
      meta.push([`${g}.attn_logit_softcapping`, f32(c.attnSoftcap!)], [`${g}.final_logit_softcapping`, f32(c.finalSoftcap!)]);
    }
    else if ((c.finalSoftcap ?? 0) > 0) meta.push([`${g}.final_logit_softcapping`, f32(c.finalSoftcap!)]);
  } else if (arch === 'phi3' || arch === 'llama') {
    if (window > 0) meta.push([`${g}.attention.sliding_window`, u32(window)]);
  } else if (window > 0 && arch !== 'mistral') {
    bad(`a ${arch} sliding window cannot be stored in GGUF`);
  }
  return meta;
}

/**
 * The config as llama.cpp's converter stores it: Mistral → llama without the sliding window, Llama-3
 * RoPE scaling → frequency factors (the rope_freqs.weight tensor, ropeFreqsOf). configFromGguf of a file
 * written from it gives this config back (tensor-derived flags included).
 */
export function ggufFormOf(c: ModelConfig): ModelConfig {
  const out: Record<string, unknown> = { ...c };
  if (c.architecture === 'mistral') {
    out.architecture = 'llama';
    delete out.slidingWindow;
    delete out.slidingLayers;
  }
  if (c.ropeScaling?.type === 'llama3') out.ropeScaling = { type: 'frequencyFactors' };
  return canonicalConfig(out as unknown as ModelConfig);
}

/**
 * Llama-3 RoPE scaling as per-frequency divisors [headDim/2] (llama.cpp's rope_freqs.weight): factor_j
 * such that inv_j / factor_j is the scaled frequency (see RopeScaling).
 */
export function ropeFreqsOf(c: ModelConfig): Float32Array {
  const rs = c.ropeScaling;
  if (rs?.type !== 'llama3') throw new InvalidArgumentError(`ropeFreqsOf: expected Llama-3 RoPE scaling, got ${rs?.type ?? 'none'}`);
  const half = c.headDim / 2;
  const out = new Float32Array(half);
  const lowWavelen = rs.originalMaxPositions / rs.lowFreqFactor;
  const highWavelen = rs.originalMaxPositions / rs.highFreqFactor;
  for (let j = 0; j < half; j++) {
    const inv = Math.pow(c.ropeTheta, (-2 * j) / c.headDim);
    const wavelen = (2 * Math.PI) / inv;
    if (wavelen < highWavelen) out[j] = 1;
    else if (wavelen > lowWavelen) out[j] = rs.factor;
    else {
      const smooth = (rs.originalMaxPositions / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
      out[j] = 1 / ((1 - smooth) / rs.factor + smooth);
    }
  }
  return out;
}

/**
 * The tokenizer metadata of a GGUF, validated for shape (array types, equal lengths, ids inside the
 * vocabulary). Building a tokenizer from it is the tokenizer module's job. Problems are TokenizerErrors.
 */
export function ggufTokenizerData(f: GgufFile): GgufTokenizerData {
  const model = stringOf(f, 'tokenizer.ggml.model', TokenizerError);
  if (model === undefined) throw new TokenizerError(`${f.name}: tokenizer.ggml.model: expected a tokenizer model name, got nothing (no embedded tokenizer)`);
  const tokensArr = arrayOf(f, 'tokenizer.ggml.tokens', 'STRING', TokenizerError);
  if (tokensArr === undefined || tokensArr.items.length === 0) {
    throw new TokenizerError(`${f.name}: tokenizer.ggml.tokens: expected a non-empty ARRAY of STRING, got ${describe(f.get('tokenizer.ggml.tokens'))}`);
  }
  const tokens = tokensArr.items as readonly string[];
  const n = tokens.length;
  const scores = (arrayOf(f, 'tokenizer.ggml.scores', 'FLOAT32', TokenizerError)?.items as Float32Array | undefined) ?? null;
  const tokenTypes = (arrayOf(f, 'tokenizer.ggml.token_type', 'INT32', TokenizerError)?.items as Int32Array | undefined) ?? null;
  for (const [key, arr] of [['tokenizer.ggml.scores', scores], ['tokenizer.ggml.token_type', tokenTypes]] as const) {
    if (arr !== null && arr.length !== n) throw new TokenizerError(`${f.name}: ${key}: expected ${n} entries (one per token), got ${arr.length}`);
  }
  const merges = (arrayOf(f, 'tokenizer.ggml.merges', 'STRING', TokenizerError)?.items as readonly string[] | undefined) ?? null;
  const id = (key: string): number | null => {
    const v = tokenIdOf(f, key, TokenizerError);
    if (v !== null && v >= n) throw new TokenizerError(`${f.name}: ${key}: expected a token id in [0, ${n}), got ${v}`);
    return v;
  };
  return {
    model,
    pre: stringOf(f, 'tokenizer.ggml.pre', TokenizerError) ?? null,
    tokens,
    scores,
    tokenTypes,
    merges,
    bosId: id('tokenizer.ggml.bos_token_id'),
    eosId: id('tokenizer.ggml.eos_token_id'),
    unkId: id('tokenizer.ggml.unknown_token_id'),
    padId: id('tokenizer.ggml.padding_token_id'),
    sepId: id('tokenizer.ggml.seperator_token_id'), // sic: llama.cpp's key spelling
    eotId: id('tokenizer.ggml.eot_token_id'),
    eomId: id('tokenizer.ggml.eom_token_id'),
    modelName: stringOf(f, 'general.name', TokenizerError) ?? null,
    addBos: boolOf(f, 'tokenizer.ggml.add_bos_token', TokenizerError) ?? null,
    addEos: boolOf(f, 'tokenizer.ggml.add_eos_token', TokenizerError) ?? null,
    addSpacePrefix: boolOf(f, 'tokenizer.ggml.add_space_prefix', TokenizerError) ?? null,
  };
}
