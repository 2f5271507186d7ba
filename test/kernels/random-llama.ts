// A small random-weight Llama as a GGUF file (llama architecture, synthetic SentencePiece vocabulary),
// for the llama.cpp cross-checks of the quantised types. Column counts are multiples of 256 so every
// K-quant applies to every matrix; the output head is large relative to the layers so the next-token
// distribution is peaked (argmax is a stable thing to compare).
import { createRng } from '../../src/rng.js';
import { writeGguf, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import { quantizeGgml, type GgmlType } from '../../src/weights/ggml-quants.js';
import { f32ToBf16Array, f32ToF16Array } from '../../src/weights/tensor.js';
import { hfToGgufRopeRow } from '../../src/weights/llama-tensors.js';
import type { GgufValue } from '../../src/weights/gguf.js';
import { syntheticVocab } from '../../bench/lib/synthetic-model.js';

export const RANDOM_LLAMA = { dim: 256, hiddenDim: 512, nLayers: 2, nHeads: 4, nKvHeads: 2, vocab: 512, ctx: 128 } as const;

/** One stored tensor before typing: GGUF name, row-major shape, f32 values (q/k rows already in GGUF order). */
export interface RawTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The model's tensors in file order (f32), deterministic for a seed. */
export function randomLlamaTensors(seed: number): RawTensor[] {
  const s = RANDOM_LLAMA;
  const rng = createRng(seed);
  const hd = s.dim / s.nHeads;
  const uniform = (count: number, std: number) => {
    const a = std * Math.sqrt(3);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = (2 * rng.next() - 1) * a;
    return out;
  };
  const ropeOrder = (w: Float32Array, rows: number) => {
    const out = new Float32Array(w.length);
    for (let r = 0; r < rows; r++) out.set(w.subarray(r * s.dim, (r + 1) * s.dim), hfToGgufRopeRow(r, hd) * s.dim);
    return out;
  };
  const norm = (name: string) => ({ name, shape: [s.dim], data: Float32Array.from({ length: s.dim }, () => 0.8 + 0.4 * rng.next()) });
  const t: RawTensor[] = [{ name: 'token_embd.weight', shape: [s.vocab, s.dim], data: uniform(s.vocab * s.dim, 1) }];
  for (let l = 0; l < s.nLayers; l++) {
    const p = `blk.${l}`;
    t.push(norm(`${p}.attn_norm.weight`));
    t.push({ name: `${p}.attn_q.weight`, shape: [s.dim, s.dim], data: ropeOrder(uniform(s.dim * s.dim, 0.08), s.dim) });
    t.push({ name: `${p}.attn_k.weight`, shape: [s.nKvHeads * hd, s.dim], data: ropeOrder(uniform(s.nKvHeads * hd * s.dim, 0.08), s.nKvHeads * hd) });
    t.push({ name: `${p}.attn_v.weight`, shape: [s.nKvHeads * hd, s.dim], data: uniform(s.nKvHeads * hd * s.dim, 0.06) });
    t.push({ name: `${p}.attn_output.weight`, shape: [s.dim, s.dim], data: uniform(s.dim * s.dim, 0.06) });
    t.push(norm(`${p}.ffn_norm.weight`));
    t.push({ name: `${p}.ffn_gate.weight`, shape: [s.hiddenDim, s.dim], data: uniform(s.hiddenDim * s.dim, 0.06) });
    t.push({ name: `${p}.ffn_up.weight`, shape: [s.hiddenDim, s.dim], data: uniform(s.hiddenDim * s.dim, 0.06) });
    t.push({ name: `${p}.ffn_down.weight`, shape: [s.dim, s.hiddenDim], data: uniform(s.dim * s.hiddenDim, 0.05) });
  }
  t.push(norm('output_norm.weight'));
  t.push({ name: 'output.weight', shape: [s.vocab, s.dim], data: uniform(s.vocab * s.dim, 0.6) });
  return t;
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
export function randomLlamaGguf(tensors: readonly RawTensor[], typeOf: (name: string) => GgmlType, fileType = 0): Uint8Array {
  const out: GgufTensorToWrite[] = tensors.map((t) => {
    const type: GgmlType = t.shape.length === 2 ? typeOf(t.name) : 'F32';
    if (type === 'F32') return { name: t.name, type, shape: t.shape, data: t.data };
    if (type === 'F16') return { name: t.name, type, shape: t.shape, data: f32ToF16Array(t.data) };
    if (type === 'BF16') return { name: t.name, type, shape: t.shape, data: f32ToBf16Array(t.data) };
    return { name: t.name, type, shape: t.shape, data: quantizeGgml(type, t.data, t.shape[0], t.shape[1]) };
  });
  return writeGguf({ version: 3, metadata: metadata(fileType), tensors: out });
}
