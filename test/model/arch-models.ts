// Random-weight models of any supported architecture for tests, written as a Hugging Face directory
// (config.json + model.safetensors) and as an F32 GGUF (with a plain SentencePiece-style "llama"
// vocabulary llama.cpp loads), both through the tensor-role table (tensorsToStore): the engine's
// names, fused tensors and transforms are what the writers use, so the files are what real
// conversions hold. Weights are scaled so that the next-token distribution is peaked (logits with a
// spread of several nats) and attention is far from uniform: see randomRoles.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../src/config.js';
import { ggufFormOf, ggufModelMetadata, ropeFreqsOf } from '../../src/weights/gguf-llama.js';
import { ggufParts } from '../../src/weights/gguf-writer.js';
import type { GgufValue } from '../../src/weights/gguf.js';
import { modelRoles, roleNames, roleShape, roleSpec, tensorsToStore, type TensorRole } from '../../src/weights/llama-tensors.js';
import { safetensorsParts } from '../../src/weights/safetensors-writer.js';
import type { RefLayer, RefWeights } from '../reference/llama-ref.js';

/** Uniform values in [offset − scale, offset + scale) from a xorshift32 stream (fast enough for 10⁸ values). */
function fillUniform(out: Float32Array, seed: number, scale: number, offset = 0): Float32Array {
  let s = (seed ^ 0x9e3779b9) | 0 || 1;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = offset - scale + (s >>> 0) * k;
  }
  return out;
}

/**
 * Every role's values for config `c` in the engine's form (Hugging Face row order; norm weights as the
 * multipliers the math uses), deterministic in `seed`. Uniform with standard deviation σ = scale/√3:
 * projections σ ≈ gain/√fan_in (q and k with gain 1.5, so attention scores have a spread of a few
 * units), norms 1 ± 0.2 (Gemma's post norms 30 ± 6, see below), biases ±0.2, and the output head
 * σ = 3/√dim so that the logits of a normalised state have a standard deviation of about 3: a peaked,
 * neither near-uniform nor one-hot, distribution.
 * A tied model's embedding is that head. `ropeFreqs` (GGUF Llama-3 scaling) comes from the config.
 */
export function randomRoles(c: ModelConfig, seed: number): Map<TensorRole, Float32Array> {
  const out = new Map<TensorRole, Float32Array>();
  const sqrt3 = Math.sqrt(3);
  modelRoles(c).forEach((role, i) => {
    const shape = roleShape(c, role);
    const n = shape.reduce((a, d) => a * d, 1);
    const a = new Float32Array(n);
    const kind = roleSpec(role).spec.kind;
    const r = role.split('.').pop()!;
    const s = seed * 1000 + i;
    if (role === 'embed' || role === 'lmHead') fillUniform(a, s, (sqrt3 * 3) / Math.sqrt(c.dim));
    // Gemma's post-attention / post-FFN norms (only Gemma has them) around 30: with tied embeddings and
    // the √dim input scale, the input token's own embedding would otherwise dominate the residual stream
    // and its logit (≈ 3·√dim / rms of the stream) would take all the probability mass
    else if (r === 'attnPostNorm' || r === 'ffnPostNorm') fillUniform(a, s, 6, 30);
    else if (kind === 'norm') fillUniform(a, s, 0.2, 1);
    else if (kind === 'bias') fillUniform(a, s, 0.2);
    else if (kind === 'factors') a.set(ropeFreqsOf(c));
    else fillUniform(a, s, (sqrt3 * (r === 'wq' || r === 'wk' ? 1.5 : 1)) / Math.sqrt(shape[1]!));
    out.set(role, a);
  });
  return out;
}

/** Stream parts to a file. */
function writeParts(path: string, parts: readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
  } finally {
    closeSync(fd);
  }
}

/** A Hugging Face directory: config.json (as given) and model.safetensors (F32, names from the role table). */
export function writeHfModel(dir: string, configJson: Record<string, unknown>, c: ModelConfig, roles: ReadonlyMap<TensorRole, Float32Array>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
  const tensors = tensorsToStore(c, 'hf', (role) => roles.get(role)!).map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.data }));
  writeParts(join(dir, 'model.safetensors'), safetensorsParts(tensors, { format: 'pt' }).parts);
}

/**
 * A plain SentencePiece-style vocabulary of `size` tokens llama.cpp accepts: <unk>, <s>, </s>, the 256
 * byte pieces, then "▁t<i>" pieces (scores −i). No tokenization happens in these tests (token ids are
 * fed directly); the vocabulary only has to load.
 */
function plainVocab(size: number): [string, GgufValue][] {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256 && tokens.length < size; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  while (tokens.length < size) {
    tokens.push(`\u2581t${tokens.length}`);
    types.push(1);
  }
  const scores = Float32Array.from(tokens, (_, i) => (types[i] === 1 ? -i : 0));
  return [
    ['tokenizer.ggml.model', { type: 'STRING', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'ARRAY', value: { itemType: 'STRING', items: tokens } }],
    ['tokenizer.ggml.scores', { type: 'ARRAY', value: { itemType: 'FLOAT32', items: scores } }],
    ['tokenizer.ggml.token_type', { type: 'ARRAY', value: { itemType: 'INT32', items: Int32Array.from(types) } }],
    ['tokenizer.ggml.unknown_token_id', { type: 'UINT32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'UINT32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'UINT32', value: 2 }],
  ];
}

/**
 * An F32 GGUF of config `c` as llama.cpp's converter writes it (ggufFormOf: Mistral as llama, Llama-3
 * RoPE scaling as rope_freqs.weight; metadata from ggufModelMetadata; tensors from the role table, llama
 * q/k rows permuted, Phi-3's fused) with a plain vocabulary. Returns the config the file holds.
 */
export function writeGgufModel(path: string, c: ModelConfig, roles: ReadonlyMap<TensorRole, Float32Array>): ModelConfig {
  const g = ggufFormOf(c);
  const freqs = c.ropeScaling?.type === 'llama3' ? ropeFreqsOf(c) : undefined;
  const data = (role: TensorRole) => (role === 'ropeFreqs' ? freqs! : roles.get(role)!);
  const tensors = tensorsToStore(g, 'gguf', data).map((t) => ({ name: t.name, type: 'F32' as const, shape: t.shape, data: t.data }));
  const metadata: [string, GgufValue][] = [
    ...ggufModelMetadata(g),
    ['general.name', { type: 'STRING', value: 'spechub test model (random weights)' }],
    ['general.file_type', { type: 'UINT32', value: 0 }],
    ...plainVocab(c.vocabSize),
  ];
  writeParts(path, ggufParts({ metadata, tensors }).parts);
  return g;
}

/** The reference model's weights for config `c` and engine-form role values (see test/reference/llama-ref.ts). */
export function refWeightsOf(c: ModelConfig, roles: ReadonlyMap<TensorRole, Float32Array>): RefWeights {
  const get = (role: TensorRole) => roles.get(role);
  const req = (role: TensorRole) => {
    const a = get(role);
    if (a === undefined) throw new Error(`reference: no values for ${role}`);
    return a;
  };
  const layers: RefLayer[] = Array.from({ length: c.nLayers }, (_, l) => {
    const r = (x: string) => `layers.${l}.${x}` as TensorRole;
    return {
      rmsAtt: req(r('attnNorm')), wq: req(r('wq')), wk: req(r('wk')), wv: req(r('wv')), wo: req(r('wo')), rmsFfn: req(r('ffnNorm')),
      w1: req(r('wGate')), w2: req(r('wDown')), w3: req(r('wUp')),
      bq: get(r('bq')), bk: get(r('bk')), bv: get(r('bv')), bo: get(r('bo')), qNorm: get(r('qNorm')), kNorm: get(r('kNorm')),
      postAtt: get(r('attnPostNorm')), postFfn: get(r('ffnPostNorm')), b1: get(r('bGate')), b2: get(r('bDown')), b3: get(r('bUp')),
    };
  });
  const rs = c.ropeScaling;
  return {
    config: {
      dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads, vocabSize: c.vocabSize, maxSeqLen: c.maxSeqLen,
      normEps: c.normEps, ropeTheta: c.ropeTheta, headDim: c.headDim, activation: c.activation, embedScale: c.embedScale, attnScale: c.attnScale,
      attnSoftcap: c.attnSoftcap, finalSoftcap: c.finalSoftcap, slidingWindow: c.slidingWindow, slidingLayers: c.slidingLayers ? [...c.slidingLayers] : undefined,
      ropeScaling: rs === undefined ? undefined : rs.type === 'frequencyFactors' ? { type: 'frequencyFactors', factors: req('ropeFreqs') } : { ...rs },
      localRopeTheta: c.localRopeTheta,
    },
    ropeStyle: 'halves',
    tokenEmbedding: req('embed'),
    layers,
    rmsFinal: req('norm'),
    wcls: c.tiedEmbeddings ? req('embed') : req('lmHead'),
  };
}

/**
 * The head of a Hugging Face model.safetensors for config `c` with every matrix BF16 and every vector
 * F32 (the 8-byte length and the JSON header, padded to 8 bytes), and the data bytes that header
 * declares: written alone and truncated to head.length + dataBytes it makes a sparse file, whose
 * tensors read as zeros without being on disk (memory-plan tests of real model sizes).
 */
export function sparseSafetensorsHead(c: ModelConfig): { head: Uint8Array; dataBytes: number } {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const role of modelRoles(c)) {
    const shape = roleShape(c, role);
    const bytes = shape.reduce((a, d) => a * d, 1) * (shape.length === 2 ? 2 : 4);
    header[roleNames(c, 'hf', role)[0]!] = { dtype: shape.length === 2 ? 'BF16' : 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = JSON.stringify(header);
  const json = new TextEncoder().encode(text.padEnd(Math.ceil(text.length / 8) * 8, ' '));
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(json, 8);
  return { head, dataBytes: offset };
}
