// A small random-weight Llama as a GGUF file (llama architecture, synthetic SentencePiece vocabulary),
// for the llama.cpp cross-checks of the quantised types. Column counts are multiples of 256 so every
// K-quant applies to every matrix; the output head is large relative to the layers so the next-token
// distribution is peaked (argmax is a stable thing to compare).
import { createRng } from '../../src/rng.js';
import { writeGguf, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import { quantizeGgml, type GgmlType } from '../../src/weights/ggml-quants.js';
import { f32ToBf16Array, f32ToF16Array } from '../../src/weights/tensor.js';
import { roleShape, tensorsToStore, type TensorRole, type TensorToStore } from '../../src/weights/llama-tensors.js';
import type { ModelConfig } from '../../src/config.js';
import type { GgufValue } from '../../src/weights/gguf.js';
import { syntheticVocab } from '../../bench/lib/synthetic-model.js';

export const RANDOM_LLAMA = { dim: 256, hiddenDim: 512, nLayers: 2, nHeads: 4, nKvHeads: 2, vocab: 512, ctx: 128 } as const;

/** The model's config (what spechub reads back from the file's metadata). */
export const RANDOM_LLAMA_CONFIG: ModelConfig = {
  dim: RANDOM_LLAMA.dim, hiddenDim: RANDOM_LLAMA.hiddenDim, nLayers: RANDOM_LLAMA.nLayers, nHeads: RANDOM_LLAMA.nHeads,
  nKvHeads: RANDOM_LLAMA.nKvHeads, headDim: RANDOM_LLAMA.dim / RANDOM_LLAMA.nHeads, vocabSize: RANDOM_LLAMA.vocab,
  maxSeqLen: RANDOM_LLAMA.ctx, ropeTheta: 10000, normEps: 1e-5, tiedEmbeddings: false, bosTokenId: 1, eosTokenId: 2,
};

/** Standard deviation of each matrix role's uniform weights (the head's is large: peaked logits). */
const STD: Readonly<Record<string, number>> = { embed: 1, wq: 0.08, wk: 0.08, wv: 0.06, wo: 0.06, wGate: 0.06, wUp: 0.06, wDown: 0.05, lmHead: 0.6 };

/**
 * The model's tensors in file order (f32; GGUF names and q/k row order from the tensor-role table),
 * deterministic for a seed: uniform weights with the role's STD, norms uniform in [0.8, 1.2).
 */
export function randomLlamaTensors(seed: number): TensorToStore[] {
  const rng = createRng(seed);
  return tensorsToStore(RANDOM_LLAMA_CONFIG, 'gguf', (role: TensorRole) => {
    const count = roleShape(RANDOM_LLAMA_CONFIG, role).reduce((a, b) => a * b, 1);
    const kind = role.replace(/^layers\.\d+\./, '');
    if (kind === 'attnNorm' || kind === 'ffnNorm' || kind === 'norm') return Float32Array.from({ length: count }, () => 0.8 + 0.4 * rng.next());
    const a = STD[kind]! * Math.sqrt(3);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = (2 * rng.next() - 1) * a;
    return out;
  });
}

/** GGUF metadata of the model (llama.cpp loads it: architecture keys and the embedded tokenizer). */
function metadata(fileType: number): [string, GgufValue][] {
  const s = RANDOM_LLAMA;
  const v = syntheticVocab(s.vocab, 99);
  const u32 = (value: number): GgufValue => ({ type: 'UINT32', value });
  return [
    ['general.architecture', { type: 'STRING', value: 'llama' }],
    ['general.name', { type: 'STRING', value: 'spechub random llama (test)' }],
    ['general.file_type', u32(fileType)],
    ['llama.vocab_size', u32(s.vocab)],
    ['llama.context_length', u32(s.ctx)],
    ['llama.embedding_length', u32(s.dim)],
    ['llama.block_count', u32(s.nLayers)],
    ['llama.feed_forward_length', u32(s.hiddenDim)],
    ['llama.rope.dimension_count', u32(s.dim / s.nHeads)],
    ['llama.attention.head_count', u32(s.nHeads)],
    ['llama.attention.head_count_kv', u32(s.nKvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'FLOAT32', value: 1e-5 }],
    ['llama.rope.freq_base', { type: 'FLOAT32', value: 10000 }],
    ['general.quantization_version', u32(2)],
    ['tokenizer.ggml.model', { type: 'STRING', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'ARRAY', value: { itemType: 'STRING', items: v.pieces } }],
    ['tokenizer.ggml.scores', { type: 'ARRAY', value: { itemType: 'FLOAT32', items: v.scores } }],
    ['tokenizer.ggml.token_type', { type: 'ARRAY', value: { itemType: 'INT32', items: v.types } }],
    ['tokenizer.ggml.unknown_token_id', u32(v.unkId)],
    ['tokenizer.ggml.bos_token_id', u32(v.bosId)],
    ['tokenizer.ggml.eos_token_id', u32(v.eosId)],
    ['tokenizer.ggml.add_bos_token', { type: 'BOOL', value: true }],
  ];
}

/**
 * The model as GGUF bytes with each 2-D tensor in typeOf(name) (quantised with spechub's writer,
 * ggml's reference quantisation); norms stay F32. fileType: general.file_type (llama_ftype) to record.
 */
export function randomLlamaGguf(tensors: readonly TensorToStore[], typeOf: (name: string) => GgmlType, fileType = 0): Uint8Array {
  const out: GgufTensorToWrite[] = tensors.map((t) => {
    const type: GgmlType = t.shape.length === 2 ? typeOf(t.name) : 'F32';
    if (type === 'F32') return { name: t.name, type, shape: t.shape, data: t.data };
    if (type === 'F16') return { name: t.name, type, shape: t.shape, data: f32ToF16Array(t.data) };
    if (type === 'BF16') return { name: t.name, type, shape: t.shape, data: f32ToBf16Array(t.data) };
    return { name: t.name, type, shape: t.shape, data: quantizeGgml(type, t.data, t.shape[0], t.shape[1]) };
  });
  return writeGguf({ version: 3, metadata: metadata(fileType), tensors: out });
}
