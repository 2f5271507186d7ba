/**
 * llama2.c checkpoints and tokenizers → Hugging Face Llama files. Browser-safe: bytes in, bytes out.
 *
 * Checkpoint: llama2.c's version-0 ("legacy") export, little-endian: 7 × int32 header
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; vocab_size < 0 means the
 * classifier is stored separately), then float32 arrays token_embedding[vocab, dim],
 * rms_att[L, dim], wq[L, dim, dim], wk[L, kvDim, dim], wv[L, kvDim, dim], wo[L, dim, dim],
 * rms_ffn[L, dim], w1[L, hidden, dim], w2[L, dim, hidden], w3[L, hidden, dim], rms_final[dim],
 * freq_cis_real[seq, headDim/2], freq_cis_imag[seq, headDim/2] (unused), and wcls[vocab, dim]
 * when unshared. Matrices are [out, in].
 *
 * Tokenizer: int32 max_token_length, then per token float32 score, int32 byte length, bytes.
 * Spaces are ' ' (SentencePiece "▁" already replaced), BOS is "\n<s>\n", EOS "\n</s>\n", and ids
 * 3..258 are "<0x00>".."<0xFF>".
 *
 * RoPE: llama2.c rotates interleaved pairs (x[2i], x[2i+1]) of each head; Hugging Face rotates
 * halves (x[i], x[i + headDim/2]). The rows of wq and wk are permuted per head as transformers'
 * convert_llama_weights_to_hf.py does, so that the HF model computes the same attention scores.
 */
import { ConfigError, TokenizerError, WeightsFormatError } from '../errors.js';
import type { ModelConfig } from '../config.js';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors-writer.js';
import { tensorsToStore, type LayerRole, type TensorRole } from '../weights/llama-tensors.js';
import { sentencePieceBpeToTokenizerJson } from './sentencepiece-bpe.js';

/** The header of a llama2.c checkpoint, with derived sizes. */
export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  /** |vocab_size| of the header. */
  readonly vocabSize: number;
  /** true when the header's vocab_size was positive: the classifier is the token embedding. */
  readonly sharedClassifier: boolean;
  readonly seqLen: number;
  readonly headDim: number;
  readonly kvDim: number;
}

/** The float32 arrays of a llama2.c checkpoint (copies, not views of the input). */
export interface Llama2cWeights {
  readonly header: Llama2cHeader;
  readonly tokenEmbedding: Float32Array; // [vocab, dim]
  readonly rmsAtt: Float32Array; // [L, dim]
  readonly wq: Float32Array; // [L, dim, dim]
  readonly wk: Float32Array; // [L, kvDim, dim]
  readonly wv: Float32Array; // [L, kvDim, dim]
  readonly wo: Float32Array; // [L, dim, dim]
  readonly rmsFfn: Float32Array; // [L, dim]
  readonly w1: Float32Array; // [L, hidden, dim]
  readonly w2: Float32Array; // [L, dim, hidden]
  readonly w3: Float32Array; // [L, hidden, dim]
  readonly rmsFinal: Float32Array; // [dim]
  readonly freqCisReal: Float32Array; // [seq, headDim/2]
  readonly freqCisImag: Float32Array; // [seq, headDim/2]
  /** The separate classifier, or null when shared with tokenEmbedding. */
  readonly wcls: Float32Array | null; // [vocab, dim]
}

/** A llama2.c tokenizer.bin. */
export interface Llama2cTokenizer {
  readonly maxTokenLength: number;
  /** id → piece as stored (spaces as ' ', BOS "\n<s>\n", EOS "\n</s>\n"). */
  readonly pieces: readonly string[];
  readonly scores: Float32Array; // [vocab]
}

/** llama2.c v1/v2 exports start with this uint32 magic ("ak42"). */
const LLAMA2C_MAGIC = 0x616b3432;
const HEADER_BYTES = 28;

const LIMITS = {
  dim: 1 << 16,
  hiddenDim: 1 << 18,
  nLayers: 1024,
  vocabSize: 1 << 21,
  seqLen: 1 << 20,
};

/** Validate the 7 header ints; returns the header or throws ConfigError naming the file. */
export function parseLlama2cHeader(bytes: Uint8Array, fileName = 'model.bin'): Llama2cHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new WeightsFormatError(`${fileName}: expected a llama2.c checkpoint of at least ${HEADER_BYTES} bytes (7 × int32 header), got ${bytes.length} bytes`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (dv.getUint32(0, true) === LLAMA2C_MAGIC) {
    throw new WeightsFormatError(
      `${fileName}: expected a llama2.c version-0 ("legacy") checkpoint, got a versioned export (magic "ak42", version ${dv.getInt32(4, true)}); re-export with llama2.c's export.py --version 0`,
    );
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true)) as [
    number, number, number, number, number, number, number,
  ];
  const header = `header (dim=${dim}, hidden_dim=${hiddenDim}, n_layers=${nLayers}, n_heads=${nHeads}, n_kv_heads=${nKvHeads}, vocab_size=${rawVocab}, seq_len=${seqLen})`;
  const bad = (field: string, expected: string, got: number) => new ConfigError(`${fileName}: ${field}: expected ${expected}, got ${got} in ${header}`);
  if (!(dim >= 1 && dim <= LIMITS.dim)) throw bad('dim', `1..${LIMITS.dim}`, dim);
  if (!(hiddenDim >= 1 && hiddenDim <= LIMITS.hiddenDim)) throw bad('hidden_dim', `1..${LIMITS.hiddenDim}`, hiddenDim);
  if (!(nLayers >= 1 && nLayers <= LIMITS.nLayers)) throw bad('n_layers', `1..${LIMITS.nLayers}`, nLayers);
  if (!(nHeads >= 1 && nHeads <= dim && dim % nHeads === 0)) throw bad('n_heads', `a divisor of dim=${dim}`, nHeads);
  const headDim = dim / nHeads;
  if (headDim % 2 !== 0) throw bad('n_heads', `a value giving an even head size for RoPE (dim / n_heads = ${headDim})`, nHeads);
  if (!(nKvHeads >= 1 && nKvHeads <= nHeads && nHeads % nKvHeads === 0)) throw bad('n_kv_heads', `a divisor of n_heads=${nHeads}`, nKvHeads);
  const vocabSize = Math.abs(rawVocab);
  if (!(vocabSize >= 1 && vocabSize <= LIMITS.vocabSize)) throw bad('vocab_size', `±1..${LIMITS.vocabSize}`, rawVocab);
  if (!(seqLen >= 1 && seqLen <= LIMITS.seqLen)) throw bad('seq_len', `1..${LIMITS.seqLen}`, seqLen);
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, sharedClassifier: rawVocab > 0, seqLen, headDim, kvDim: nKvHeads * headDim };
}

/** The arrays of a checkpoint, in file order: [name, element count]. */
export function llama2cLayout(h: Llama2cHeader): [keyof Omit<Llama2cWeights, 'header'>, number][] {
  const { dim, hiddenDim: hd, nLayers: L, vocabSize: v, kvDim, seqLen, headDim } = h;
  const layout: [keyof Omit<Llama2cWeights, 'header'>, number][] = [
    ['tokenEmbedding', v * dim],
    ['rmsAtt', L * dim],
    ['wq', L * dim * dim],
    ['wk', L * kvDim * dim],
    ['wv', L * kvDim * dim],
    ['wo', L * dim * dim],
    ['rmsFfn', L * dim],
    ['w1', L * hd * dim],
    ['w2', L * dim * hd],
    ['w3', L * hd * dim],
    ['rmsFinal', dim],
    ['freqCisReal', (seqLen * headDim) / 2],
    ['freqCisImag', (seqLen * headDim) / 2],
  ];
  if (!h.sharedClassifier) layout.push(['wcls', v * dim]);
  return layout;
}

/** Exact byte size of a version-0 checkpoint with this header. */
export function llama2cCheckpointBytes(h: Llama2cHeader): number {
  return HEADER_BYTES + 4 * llama2cLayout(h).reduce((a, [, n]) => a + n, 0);
}

/**
 * Parse and strictly validate a llama2.c version-0 checkpoint: sane header (ConfigError), exact
 * file size and finite values (WeightsFormatError); errors name `fileName`.
 */
export function parseLlama2cCheckpoint(bytes: Uint8Array, fileName = 'model.bin'): Llama2cWeights {
  const header = parseLlama2cHeader(bytes, fileName);
  const want = llama2cCheckpointBytes(header);
  if (bytes.length !== want) {
    const diff = bytes.length - want;
    throw new WeightsFormatError(
      `${fileName}: expected exactly ${want} bytes for a llama2.c v0 checkpoint with dim=${header.dim}, hidden_dim=${header.hiddenDim}, n_layers=${header.nLayers}, ` +
        `n_heads=${header.nHeads}, n_kv_heads=${header.nKvHeads}, vocab_size=${header.sharedClassifier ? '' : '-'}${header.vocabSize}, seq_len=${header.seqLen}, ` +
        `got ${bytes.length} (${Math.abs(diff)} bytes ${diff < 0 ? 'short: truncated?' : 'too many'})`,
    );
  }
  const out: Record<string, Float32Array | null> = { wcls: null };
  let off = HEADER_BYTES;
  for (const [name, n] of llama2cLayout(header)) {
    // copy: the input may be unaligned, and the result must not alias it (little-endian platform, as wasm)
    const arr = new Float32Array(bytes.slice(off, off + 4 * n).buffer);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(arr[i]!)) {
        throw new WeightsFormatError(`${fileName}: ${name}: expected finite float32 values, got ${arr[i]} at element ${i} (byte offset ${off + 4 * i})`);
      }
    }
    out[name] = arr;
    off += 4 * n;
  }
  return { header, ...(out as unknown as Omit<Llama2cWeights, 'header'>) };
}

/**
 * Parse and strictly validate a llama2.c tokenizer.bin for a model of `vocabSize` tokens: every
 * record complete, byte lengths in 1..max_token_length, pieces valid UTF-8, scores finite, and no
 * bytes left over. Errors are TokenizerError naming `fileName`.
 */
export function parseLlama2cTokenizer(bytes: Uint8Array, vocabSize: number, fileName = 'tokenizer.bin'): Llama2cTokenizer {
  if (bytes.length < 4) throw new TokenizerError(`${fileName}: expected a llama2.c tokenizer (int32 max_token_length, then records), got ${bytes.length} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const maxTokenLength = dv.getInt32(0, true);
  if (!(maxTokenLength >= 1 && maxTokenLength <= 1 << 16)) {
    throw new TokenizerError(`${fileName}: max_token_length: expected 1..65536, got ${maxTokenLength}`);
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let off = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (off + 8 > bytes.length) {
      throw new TokenizerError(`${fileName}: token ${id}: expected a (float32 score, int32 length) record at byte ${off}, got end of file (${bytes.length} bytes; the model has vocab_size=${vocabSize})`);
    }
    const score = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    if (!Number.isFinite(score)) throw new TokenizerError(`${fileName}: token ${id}: expected a finite score, got ${score} at byte ${off}`);
    if (!(len >= 1 && len <= maxTokenLength)) {
      throw new TokenizerError(`${fileName}: token ${id}: expected a byte length in 1..max_token_length=${maxTokenLength}, got ${len} at byte ${off + 4}`);
    }
    off += 8;
    if (off + len > bytes.length) {
      throw new TokenizerError(`${fileName}: token ${id}: expected ${len} bytes at byte ${off}, got ${bytes.length - off} (file truncated)`);
    }
    let piece: string;
    try {
      piece = utf8.decode(bytes.subarray(off, off + len));
    } catch {
      throw new TokenizerError(`${fileName}: token ${id}: expected UTF-8 text, got invalid bytes at ${off}..${off + len}`);
    }
    pieces.push(piece);
    scores[id] = score;
    off += len;
  }
  if (off !== bytes.length) {
    throw new TokenizerError(
      `${fileName}: expected exactly ${off} bytes for ${vocabSize} tokens (the model's vocab_size), got ${bytes.length} (${bytes.length - off} bytes left over: a tokenizer for a larger vocabulary?)`,
    );
  }
  return { maxTokenLength, pieces, scores };
}

/** The SentencePiece vocabulary behind a llama2.c tokenizer: ' ' → '▁', BOS → "<s>", EOS → "</s>". */
export interface Llama2cSentencePiece {
  readonly pieces: string[];
  readonly scores: Float32Array;
  readonly bosId: 1;
  readonly eosId: 2;
  readonly unkId: 0;
  /** true when ids 3..258 are the 256 byte tokens <0x00>..<0xFF>. */
  readonly byteFallback: boolean;
}

/** Undo llama2.c's export of a SentencePiece vocabulary (validates the llama2.c conventions). */
export function llama2cTokenizerToSentencePiece(tok: Llama2cTokenizer, fileName = 'tokenizer.bin'): Llama2cSentencePiece {
  const p = tok.pieces;
  const expect = (id: number, want: string) => {
    if (p[id] !== want) throw new TokenizerError(`${fileName}: token ${id}: expected ${JSON.stringify(want)} (llama2.c convention), got ${JSON.stringify(p[id])}`);
  };
  if (p.length < 3) throw new TokenizerError(`${fileName}: expected at least 3 tokens (<unk>, BOS, EOS), got ${p.length}`);
  expect(0, '<unk>');
  expect(1, '\n<s>\n');
  expect(2, '\n</s>\n');
  let byteFallback = p.length >= 259;
  for (let b = 0; b < 256 && byteFallback; b++) {
    if (p[3 + b] !== `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) byteFallback = false;
  }
  const pieces = p.map((s, id) => (id === 1 ? '<s>' : id === 2 ? '</s>' : s.replaceAll(' ', '\u2581')));
  return { pieces, scores: tok.scores, bosId: 1, eosId: 2, unkId: 0, byteFallback };
}

/**
 * Permute the rows of a q or k projection [nHeads * headDim, cols] from llama2.c's interleaved RoPE
 * layout to Hugging Face's rotate-half layout: within each head, new row j * headDim/2 + i is old
 * row 2i + j (j ∈ {0, 1}), i.e. transformers' `w.view(n_heads, hd/2, 2, cols).transpose(1, 2)`.
 */
export function permuteRopeRows(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return moveRopeRows(w, nHeads, headDim, cols, true);
}

/** Inverse of {@link permuteRopeRows}: Hugging Face rotate-half rows → llama2.c interleaved rows. */
export function unpermuteRopeRows(w: Float32Array, nHeads: number, headDim: number, cols: number): Float32Array {
  return moveRopeRows(w, nHeads, headDim, cols, false);
}

/**
 * Within each head, row 2i + j of the interleaved layout is row j * headDim/2 + i of the rotate-half
 * layout (j ∈ {0, 1}); `toRotateHalf` says which way the rows move.  w: [nHeads * headDim, cols]
 */
function moveRopeRows(w: Float32Array, nHeads: number, headDim: number, cols: number, toRotateHalf: boolean): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const interleaved = (h * headDim + 2 * i + j) * cols;
        const rotateHalf = (h * headDim + j * half + i) * cols;
        const src = toRotateHalf ? interleaved : rotateHalf;
        out.set(w.subarray(src, src + cols), toRotateHalf ? rotateHalf : interleaved);
      }
    }
  }
  return out;
}

/** Hugging Face LlamaConfig (config.json) for a llama2.c header. */
export function llama2cHfConfig(h: Llama2cHeader): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    head_dim: h.headDim,
    hidden_act: 'silu',
    hidden_size: h.dim,
    initializer_range: 0.02,
    intermediate_size: h.hiddenDim,
    max_position_embeddings: h.seqLen,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: h.nHeads,
    num_hidden_layers: h.nLayers,
    num_key_value_heads: h.nKvHeads,
    pad_token_id: null,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: h.sharedClassifier,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: h.vocabSize,
  };
}

/** The ModelConfig of a llama2.c header (llama2.c's fixed rms_norm_eps 1e-5, rope_theta 10000, BOS 1, EOS 2). */
export function llama2cModelConfig(h: Llama2cHeader): ModelConfig {
  return {
    dim: h.dim,
    hiddenDim: h.hiddenDim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    headDim: h.headDim,
    vocabSize: h.vocabSize,
    maxSeqLen: h.seqLen,
    ropeTheta: 10000,
    normEps: 1e-5,
    tiedEmbeddings: h.sharedClassifier,
    bosTokenId: 1,
    eosTokenId: 2,
  };
}

/**
 * Hugging Face tensors (F32, [out, in]) for llama2.c weights, named and ordered by the tensor-role
 * table (src/weights/llama-tensors.ts), wq/wk permuted for rotate-half RoPE.
 */
export function llama2cHfTensors(w: Llama2cWeights): TensorToWrite[] {
  const { dim, hiddenDim, nHeads, nKvHeads, headDim, kvDim } = w.header;
  const layer = (a: Float32Array, l: number, n: number) => a.subarray(l * n, (l + 1) * n);
  const perLayer: Partial<Record<LayerRole, (l: number) => Float32Array>> = {
    attnNorm: (l) => layer(w.rmsAtt, l, dim),
    wq: (l) => permuteRopeRows(layer(w.wq, l, dim * dim), nHeads, headDim, dim),
    wk: (l) => permuteRopeRows(layer(w.wk, l, kvDim * dim), nKvHeads, headDim, dim),
    wv: (l) => layer(w.wv, l, kvDim * dim),
    wo: (l) => layer(w.wo, l, dim * dim),
    ffnNorm: (l) => layer(w.rmsFfn, l, dim),
    wGate: (l) => layer(w.w1, l, hiddenDim * dim),
    wUp: (l) => layer(w.w3, l, hiddenDim * dim),
    wDown: (l) => layer(w.w2, l, dim * hiddenDim),
  };
  const data = (role: TensorRole): Float32Array => {
    if (role === 'embed') return w.tokenEmbedding;
    if (role === 'norm') return w.rmsFinal;
    if (role === 'lmHead') return w.wcls!;
    const [, l, r] = role.split('.');
    const get = perLayer[r as LayerRole];
    if (get === undefined) throw new WeightsFormatError(`llama2.c: no weights for role ${role}`);
    return get(Number(l));
  };
  return tensorsToStore(llama2cModelConfig(w.header), 'hf', data).map((t) => ({ name: t.name, dtype: 'F32', shape: [...t.shape], data: t.data }));
}

/** One output file. */
export interface ConvertedFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Result of {@link convertLlama2c}. */
export interface ConvertedLlama2c {
  readonly header: Llama2cHeader;
  /** config.json, model.safetensors, tokenizer.json, tokenizer_config.json, in that order. */
  readonly files: readonly ConvertedFile[];
}

/** Options of `convertLlama2c`: the file names its error messages use. */
export interface ConvertLlama2cOptions {
  /** Names used in error messages. */
  readonly modelFileName?: string;
  readonly tokenizerFileName?: string;
}

/**
 * Convert a llama2.c checkpoint + tokenizer.bin into Hugging Face Llama files: config.json
 * (LlamaForCausalLM, rms_norm_eps 1e-5, rope_theta 10000, bos 1, eos 2), model.safetensors (F32,
 * HF names; tied checkpoints store only model.embed_tokens.weight), tokenizer.json and
 * tokenizer_config.json (SentencePiece-style BPE, merges from the scores). Deterministic.
 */
export function convertLlama2c(modelBytes: Uint8Array, tokenizerBytes: Uint8Array, options: ConvertLlama2cOptions = {}): ConvertedLlama2c {
  const modelName = options.modelFileName ?? 'model.bin';
  const tokName = options.tokenizerFileName ?? 'tokenizer.bin';
  const weights = parseLlama2cCheckpoint(modelBytes, modelName);
  const h = weights.header;
  const sp = llama2cTokenizerToSentencePiece(parseLlama2cTokenizer(tokenizerBytes, h.vocabSize, tokName), tokName);
  const tok = sentencePieceBpeToTokenizerJson({ ...sp, modelMaxLength: h.seqLen });
  const enc = new TextEncoder();
  return {
    header: h,
    files: [
      { name: 'config.json', bytes: enc.encode(JSON.stringify(llama2cHfConfig(h), null, 2) + '\n') },
      { name: 'model.safetensors', bytes: writeSafetensors(llama2cHfTensors(weights), { format: 'pt' }) },
      { name: 'tokenizer.json', bytes: enc.encode(tok.tokenizerJson) },
      { name: 'tokenizer_config.json', bytes: enc.encode(tok.tokenizerConfigJson) },
    ],
  };
}
