/**
 * GGUF llama metadata → spechub types: the ModelConfig (llama.* keys) and the embedded tokenizer
 * (tokenizer.ggml.* keys) as plain data for the tokenizer builder.
 *
 * Key mapping (llama.cpp's LLM_KV names, with "llama" the general.architecture):
 *   llama.embedding_length → dim            llama.feed_forward_length → hiddenDim
 *   llama.block_count → nLayers             llama.attention.head_count(_kv) → nHeads (nKvHeads, default nHeads)
 *   llama.context_length → maxSeqLen        llama.rope.freq_base → ropeTheta (default 10000)
 *   llama.attention.layer_norm_rms_epsilon → normEps (required)
 *   vocabSize: llama.vocab_size, else the length of tokenizer.ggml.tokens, else token_embd's rows
 *   tiedEmbeddings: true iff there is no output.weight tensor (llama.cpp then reuses token_embd)
 *   bos/eos: tokenizer.ggml.bos_token_id / eos_token_id (eosTokenIds adds eot_token_id)
 * Refused: another architecture, rope scaling other than "none", partial rotary
 * (rope.dimension_count ≠ headDim), key/value lengths ≠ headDim, experts, per-layer size arrays.
 */
import { ConfigError, TokenizerError } from '../errors.js';
import { checkModelConfig, type ModelConfig } from '../config.js';
import type { GgufArray, GgufFile, GgufValue } from './gguf.js';

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

/** Build the ModelConfig of a llama GGUF (see the module comment for the key mapping). */
export function llamaConfigFromGguf(f: GgufFile): ModelConfig {
  const arch = stringOf(f, 'general.architecture', ConfigError);
  if (arch !== 'llama') throw new ConfigError(`${f.name}: general.architecture: expected "llama", got ${arch === undefined ? 'nothing' : JSON.stringify(arch)}`);
  const req = (key: string): number => {
    const v = f.get(key);
    if (v?.type === 'ARRAY') throw new ConfigError(`${f.name}: ${key}: per-layer values are not supported; expected one integer, got ${describe(v)}`);
    const n = uintOf(f, key, ConfigError);
    if (n === undefined) throw new ConfigError(`${f.name}: ${key}: expected a positive integer, got nothing (required)`);
    return n;
  };
  const dim = req('llama.embedding_length');
  const hiddenDim = req('llama.feed_forward_length');
  const nLayers = req('llama.block_count');
  const nHeads = req('llama.attention.head_count');
  const nKvHeads = f.get('llama.attention.head_count_kv') === undefined ? nHeads : req('llama.attention.head_count_kv');
  const maxSeqLen = req('llama.context_length');
  if (nHeads === 0 || dim % nHeads !== 0) {
    throw new ConfigError(`${f.name}: expected llama.embedding_length divisible by llama.attention.head_count, got ${dim} and ${nHeads}`);
  }
  const headDim = dim / nHeads;
  for (const key of ['llama.rope.dimension_count', 'llama.attention.key_length', 'llama.attention.value_length']) {
    const v = uintOf(f, key, ConfigError);
    if (v !== undefined && v !== headDim) {
      throw new ConfigError(`${f.name}: ${key}: expected the head dimension ${headDim} (embedding_length / head_count), got ${v}`);
    }
  }
  const ropeTheta = floatOf(f, 'llama.rope.freq_base', ConfigError) ?? 10000;
  const normEps = floatOf(f, 'llama.attention.layer_norm_rms_epsilon', ConfigError);
  if (normEps === undefined) throw new ConfigError(`${f.name}: llama.attention.layer_norm_rms_epsilon: expected a float, got nothing (required)`);
  const scaling = stringOf(f, 'llama.rope.scaling.type', ConfigError);
  if (scaling !== undefined && scaling !== 'none') {
    throw new ConfigError(`${f.name}: llama.rope.scaling.type: expected "none" (plain RoPE), got ${JSON.stringify(scaling)}, which spechub does not support`);
  }
  const experts = uintOf(f, 'llama.expert_count', ConfigError);
  if (experts !== undefined && experts > 0) throw new ConfigError(`${f.name}: llama.expert_count: mixture-of-experts is not supported, got ${experts} experts`);

  const tokens = f.get('tokenizer.ggml.tokens');
  const nTokens = tokens?.type === 'ARRAY' ? tokens.value.items.length : undefined;
  const vocabSize = uintOf(f, 'llama.vocab_size', ConfigError) ?? nTokens ?? f.tensors.get('token_embd.weight')?.shape[0];
  if (vocabSize === undefined) throw new ConfigError(`${f.name}: expected llama.vocab_size, tokenizer.ggml.tokens or token_embd.weight to give the vocabulary size, got none`);
  if (nTokens !== undefined && nTokens !== vocabSize) {
    throw new ConfigError(`${f.name}: llama.vocab_size is ${vocabSize} but tokenizer.ggml.tokens has ${nTokens} tokens`);
  }
  const eos = tokenIdOf(f, 'tokenizer.ggml.eos_token_id', ConfigError);
  const eot = tokenIdOf(f, 'tokenizer.ggml.eot_token_id', ConfigError);
  const eosTokenIds = [eos, eot].filter((id, i, a): id is number => id !== null && a.indexOf(id) === i);
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
      tiedEmbeddings: !f.tensors.has('output.weight'),
      bosTokenId: tokenIdOf(f, 'tokenizer.ggml.bos_token_id', ConfigError),
      eosTokenId: eos,
      eosTokenIds,
    },
    f.name,
  );
}

/** The tokenizer embedded in a GGUF, as plain data (tokenizer.ggml.* keys). */
export interface GgufTokenizerData {
  /** tokenizer.ggml.model: "llama" (SentencePiece), "gpt2" (byte-level BPE), … */
  readonly model: string;
  /** tokenizer.ggml.pre: the pre-tokenizer name of BPE models, or null. */
  readonly pre: string | null;
  /** Token strings by id (SentencePiece pieces keep "▁"). */
  readonly tokens: readonly string[];
  /** Scores by id (SentencePiece merge priority), or null when absent. */
  readonly scores: Float32Array | null; // [tokens.length]
  /** llama.cpp token types by id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), or null. */
  readonly tokenTypes: Int32Array | null; // [tokens.length]
  /** BPE merges ("a b"), or null. */
  readonly merges: readonly string[] | null;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number | null;
  readonly padId: number | null;
  readonly sepId: number | null;
  readonly eotId: number | null;
  /** tokenizer.ggml.eom_token_id (end of message, Llama-3.1 tool calls), or null. */
  readonly eomId: number | null;
  /** general.name: llama.cpp derives the rstrip attribute of Phi-3's special tokens from it. */
  readonly modelName: string | null;
  /** tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix, or null when absent. */
  readonly addBos: boolean | null;
  readonly addEos: boolean | null;
  readonly addSpacePrefix: boolean | null;
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
