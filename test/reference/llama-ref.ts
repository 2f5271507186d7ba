/**
 * Test oracle: a plain, scalar Llama-family forward pass in TypeScript (a port of llama2.c's run.c
 * forward, f64 arithmetic, one token at a time), extended to the architectures spechub runs from
 * their Hugging Face definitions (transformers' modeling_{llama,mistral,qwen2,qwen3,phi3,gemma2,gemma3}):
 * explicit head_dim, q/k/v/o and MLP biases, per-head q/k RMSNorm, Gemma's sandwich norms, GeGLU with
 * tanh GELU, √dim embedding scale, query_pre_attn_scalar, attention and final logit soft-capping,
 * sliding windows per layer, and RoPE scaling (linear, llama3, yarn, frequency factors) with a local
 * base on sliding layers. It shares no code with the engine: weights are plain Float32Arrays in
 * [out, in] layout (norm weights as the multipliers the math uses, Gemma's 1 + w included), RoPE can be
 * llama2.c's interleaved pairs or Hugging Face's rotate-half, and its RoPE frequencies are computed
 * here from the papers' formulas. (Only the helpers that hand its weights to the engine use the
 * engine's tensor-role table.)
 */
import type { ModelConfig } from '../../src/config.js';
import { tensorsToStore, type TensorRole } from '../../src/weights/llama-tensors.js';
export interface RefConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  maxSeqLen: number;
  normEps: number;
  ropeTheta: number;
  /** Per-head width (default dim / nHeads). */
  headDim?: number;
  /** "silu" (SwiGLU, default) or "gelu_tanh" (GeGLU). */
  activation?: 'silu' | 'gelu_tanh';
  /** Multiplies the embedding (default 1). */
  embedScale?: number;
  /** Multiplies q·k (default 1/√headDim). */
  attnScale?: number;
  /** Attention / final logit soft-capping caps (0 or absent: none). */
  attnSoftcap?: number;
  finalSoftcap?: number;
  /** Sliding window (0 or absent: none) and the layers that use it (default all). */
  slidingWindow?: number;
  slidingLayers?: boolean[];
  /** RoPE scaling of the global table (see RefRopeScaling). */
  ropeScaling?: RefRopeScaling;
  /** RoPE base of sliding layers, which are then unscaled (Gemma-3). */
  localRopeTheta?: number;
}

/** RoPE scaling as the reference computes it (transformers' modeling_rope_utils formulas; llama.cpp's factors). */
export type RefRopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  | { type: 'yarn'; factor: number; originalMaxPositions: number; betaFast: number; betaSlow: number; attentionFactor?: number }
  | { type: 'frequencyFactors'; factors: ArrayLike<number> };

export interface RefLayer {
  rmsAtt: Float32Array; // [dim]
  wq: Float32Array; // [nHeads*headDim, dim]
  wk: Float32Array; // [kvDim, dim]
  wv: Float32Array; // [kvDim, dim]
  wo: Float32Array; // [dim, nHeads*headDim]
  rmsFfn: Float32Array; // [dim]
  w1: Float32Array; // [hiddenDim, dim]  gate
  w2: Float32Array; // [dim, hiddenDim]  down
  w3: Float32Array; // [hiddenDim, dim]  up
  bq?: Float32Array; // [nHeads*headDim]
  bk?: Float32Array; // [kvDim]
  bv?: Float32Array; // [kvDim]
  bo?: Float32Array; // [dim]
  qNorm?: Float32Array; // [headDim]
  kNorm?: Float32Array; // [headDim]
  postAtt?: Float32Array; // [dim]
  postFfn?: Float32Array; // [dim]
  b1?: Float32Array; // [hiddenDim]
  b2?: Float32Array; // [dim]
  b3?: Float32Array; // [hiddenDim]
}

export interface RefWeights {
  config: RefConfig;
  ropeStyle: 'interleaved' | 'halves';
  tokenEmbedding: Float32Array; // [vocab, dim]
  layers: RefLayer[];
  rmsFinal: Float32Array; // [dim]
  wcls: Float32Array; // [vocab, dim]
}

function matvec(out: Float64Array, w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += w[o + c]! * x[c]!;
    out[r] = s;
  }
}

/** y = W x for W [rows, cols] row-major, in f64. */
export function matvec64(w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows);
  matvec(y, w, x, rows, cols);
  return y;
}

function rmsnorm(out: Float64Array, x: Float64Array, w: Float32Array, eps: number): void {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * scale * w[i];
}

/** RMSNorm of each head (width hd) of v in place, one [hd] weight (Qwen3 / Gemma-3 q_norm, k_norm). */
function headNorm(v: Float64Array, heads: number, hd: number, w: Float32Array, eps: number): void {
  for (let h = 0; h < heads; h++) {
    const x = v.subarray(h * hd, (h + 1) * hd);
    rmsnorm(x, x, w, eps);
  }
}

const addTo = (x: Float64Array, b: Float32Array | undefined) => {
  if (b) for (let i = 0; i < x.length; i++) x[i] += b[i];
};

/**
 * Rotation frequencies f_j (j < hd/2) and the cos/sin factor, written from the definitions:
 * linear divides by the factor; llama3 (Meta's Llama 3.1 code) interpolates by wavelength; yarn (Peng et
 * al., as transformers) blends interpolation and extrapolation over a linear ramp in the dimension
 * index and scales cos/sin by 0.1·ln(factor) + 1; frequency factors divide.
 */
export function refRopeFrequencies(theta: number, hd: number, s: RefRopeScaling | undefined): { f: number[]; a: number } {
  const f: number[] = [];
  for (let j = 0; j < hd / 2; j++) f.push(1 / Math.pow(theta, (2 * j) / hd));
  if (s === undefined) return { f, a: 1 };
  if (s.type === 'linear') return { f: f.map((x) => x / s.factor), a: 1 };
  if (s.type === 'frequencyFactors') return { f: f.map((x, j) => x / s.factors[j]!), a: 1 };
  if (s.type === 'llama3') {
    const out = f.map((x) => {
      const wavelen = (2 * Math.PI) / x;
      if (wavelen < s.originalMaxPositions / s.highFreqFactor) return x;
      if (wavelen > s.originalMaxPositions / s.lowFreqFactor) return x / s.factor;
      const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      return (1 - smooth) * (x / s.factor) + smooth * x;
    });
    return { f: out, a: 1 };
  }
  const dimAt = (rotations: number) => (hd * Math.log(s.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  const low = Math.max(Math.floor(dimAt(s.betaFast)), 0);
  const high = Math.min(Math.ceil(dimAt(s.betaSlow)), hd - 1);
  const out = f.map((x, j) => {
    const ramp = Math.min(1, Math.max(0, (j - low) / (high === low ? 0.001 : high - low)));
    const keep = 1 - ramp; // share of the extrapolated (unscaled) frequency
    return (x / s.factor) * (1 - keep) + x * keep;
  });
  return { f: out, a: s.attentionFactor ?? 0.1 * Math.log(s.factor) + 1 };
}

/** Rotate one head vector (rotate-half layout) at position pos with frequencies f and cos/sin factor a. */
function ropeWith(v: Float64Array, off: number, hd: number, pos: number, f: number[], a: number): void {
  const half = hd / 2;
  for (let i = 0; i < half; i++) {
    const c = a * Math.cos(pos * f[i]!);
    const s = a * Math.sin(pos * f[i]!);
    const x0 = v[off + i];
    const x1 = v[off + i + half];
    v[off + i] = x0 * c - x1 * s;
    v[off + i + half] = x0 * s + x1 * c;
  }
}

/** PyTorch's gelu(approximate="tanh"). */
const geluTanh = (g: number) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));

/** Rotate one head vector (v[off .. off + headDim)) in place at position pos, in either RoPE layout. */
export function rope(v: Float64Array, off: number, headDim: number, pos: number, theta: number, style: 'interleaved' | 'halves'): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const freq = 1 / Math.pow(theta, (2 * i) / headDim);
    const a = pos * freq;
    const c = Math.cos(a);
    const s = Math.sin(a);
    const j0 = style === 'interleaved' ? off + 2 * i : off + i;
    const j1 = style === 'interleaved' ? off + 2 * i + 1 : off + i + half;
    const x0 = v[j0];
    const x1 = v[j1];
    v[j0] = x0 * c - x1 * s;
    v[j1] = x0 * s + x1 * c;
  }
}

/** One-token-at-a-time reference model with its own KV cache. */
export class RefModel {
  private readonly kCache: Float64Array[];
  private readonly vCache: Float64Array[];
  readonly headDim: number;
  readonly kvDim: number;
  private readonly global: { f: number[]; a: number };
  private readonly local: { f: number[]; a: number } | null;

  constructor(readonly w: RefWeights) {
    const c = w.config;
    this.headDim = c.headDim ?? c.dim / c.nHeads;
    this.kvDim = c.nKvHeads * this.headDim;
    this.kCache = w.layers.map(() => new Float64Array(c.maxSeqLen * this.kvDim));
    this.vCache = w.layers.map(() => new Float64Array(c.maxSeqLen * this.kvDim));
    this.global = refRopeFrequencies(c.ropeTheta, this.headDim, c.ropeScaling);
    this.local = c.localRopeTheta !== undefined ? refRopeFrequencies(c.localRopeTheta, this.headDim, undefined) : null;
  }

  /** Greedy continuation: feeds `prompt`, then `steps` argmax tokens; returns prompt + generated ids. */
  greedy(prompt: number[], steps: number): number[] {
    const out = [...prompt];
    let logits: Float64Array = new Float64Array(0);
    for (let pos = 0; pos < prompt.length; pos++) logits = this.forward(prompt[pos]!, pos);
    for (let s = 0; s < steps; s++) {
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
      out.push(best);
      if (s + 1 < steps) logits = this.forward(best, out.length - 1);
    }
    return out;
  }

  /** Logits [vocab] for `token` at `pos`, after feeding positions 0..pos-1 in order. */
  forward(token: number, pos: number): Float64Array {
    const c = this.w.config;
    const { dim, hiddenDim } = c;
    const hd = this.headDim;
    const qDim = c.nHeads * hd;
    const kvDim = this.kvDim;
    const kvMul = c.nHeads / c.nKvHeads;
    const scale = c.attnScale ?? 1 / Math.sqrt(hd);
    const x = new Float64Array(dim);
    for (let i = 0; i < dim; i++) x[i] = this.w.tokenEmbedding[token * dim + i] * (c.embedScale ?? 1);
    const xb = new Float64Array(dim);
    const q = new Float64Array(qDim);
    const k = new Float64Array(kvDim);
    const v = new Float64Array(kvDim);
    const att = new Float64Array(pos + 1);
    const o = new Float64Array(qDim);
    const xb2 = new Float64Array(dim);
    const hb = new Float64Array(hiddenDim);
    const hb2 = new Float64Array(hiddenDim);
    for (let l = 0; l < c.nLayers; l++) {
      const L = this.w.layers[l];
      const sliding = (c.slidingWindow ?? 0) > 0 && (c.slidingLayers?.[l] ?? true);
      const window = sliding ? c.slidingWindow! : Infinity;
      rmsnorm(xb, x, L.rmsAtt, c.normEps);
      matvec(q, L.wq, xb, qDim, dim);
      matvec(k, L.wk, xb, kvDim, dim);
      matvec(v, L.wv, xb, kvDim, dim);
      addTo(q, L.bq);
      addTo(k, L.bk);
      addTo(v, L.bv);
      if (L.qNorm) headNorm(q, c.nHeads, hd, L.qNorm, c.normEps);
      if (L.kNorm) headNorm(k, c.nKvHeads, hd, L.kNorm, c.normEps);
      if (this.w.ropeStyle === 'interleaved') {
        for (let h = 0; h < c.nHeads; h++) rope(q, h * hd, hd, pos, c.ropeTheta, 'interleaved');
        for (let h = 0; h < c.nKvHeads; h++) rope(k, h * hd, hd, pos, c.ropeTheta, 'interleaved');
      } else {
        const r = sliding && this.local !== null ? this.local : this.global;
        for (let h = 0; h < c.nHeads; h++) ropeWith(q, h * hd, hd, pos, r.f, r.a);
        for (let h = 0; h < c.nKvHeads; h++) ropeWith(k, h * hd, hd, pos, r.f, r.a);
      }
      this.kCache[l].set(k, pos * kvDim);
      this.vCache[l].set(v, pos * kvDim);
      o.fill(0);
      const t0 = Math.max(0, pos - window + 1); // a query at pos sees keys at pos − window + 1 … pos
      for (let h = 0; h < c.nHeads; h++) {
        const kvh = Math.floor(h / kvMul);
        let max = -Infinity;
        for (let t = t0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q[h * hd + i] * this.kCache[l][t * kvDim + kvh * hd + i];
          s *= scale;
          if ((c.attnSoftcap ?? 0) > 0) s = c.attnSoftcap! * Math.tanh(s / c.attnSoftcap!);
          att[t] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let t = t0; t <= pos; t++) {
          att[t] = Math.exp(att[t] - max);
          sum += att[t];
        }
        for (let t = t0; t <= pos; t++) {
          const a = att[t] / sum;
          for (let i = 0; i < hd; i++) o[h * hd + i] += a * this.vCache[l][t * kvDim + kvh * hd + i];
        }
      }
      matvec(xb2, L.wo, o, dim, qDim);
      addTo(xb2, L.bo);
      if (L.postAtt) rmsnorm(xb2, xb2, L.postAtt, c.normEps);
      for (let i = 0; i < dim; i++) x[i] += xb2[i];
      rmsnorm(xb, x, L.rmsFfn, c.normEps);
      matvec(hb, L.w1, xb, hiddenDim, dim);
      matvec(hb2, L.w3, xb, hiddenDim, dim);
      addTo(hb, L.b1);
      addTo(hb2, L.b3);
      for (let i = 0; i < hiddenDim; i++) {
        const g = hb[i];
        hb[i] = (c.activation === 'gelu_tanh' ? geluTanh(g) : g / (1 + Math.exp(-g))) * hb2[i];
      }
      matvec(xb2, L.w2, hb, dim, hiddenDim);
      addTo(xb2, L.b2);
      if (L.postFfn) rmsnorm(xb2, xb2, L.postFfn, c.normEps);
      for (let i = 0; i < dim; i++) x[i] += xb2[i];
    }
    rmsnorm(x, x, this.w.rmsFinal, c.normEps);
    const logits = new Float64Array(c.vocabSize);
    matvec(logits, this.w.wcls, x, c.vocabSize, dim);
    if ((c.finalSoftcap ?? 0) > 0) for (let i = 0; i < logits.length; i++) logits[i] = c.finalSoftcap! * Math.tanh(logits[i] / c.finalSoftcap!);
    return logits;
  }
}

/**
 * Parse a llama2.c version-0 checkpoint (test use only; the engine's reader is src/convert).
 * Layout: 7 × int32 header, then the float32 arrays in llama2.c's order.
 */
export function parseLlama2cForTest(bytes: Uint8Array): RefWeights {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = h as [number, number, number, number, number, number, number];
  const vocabSize = Math.abs(vocabRaw);
  const hd = dim / nHeads;
  const kvDim = nKvHeads * hd;
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 28, bytes.byteOffset + bytes.byteLength));
  let o = 0;
  const take = (n: number) => floats.subarray(o, (o += n));
  const emb = take(vocabSize * dim);
  const rmsAtt = take(nLayers * dim);
  const wq = take(nLayers * dim * dim);
  const wk = take(nLayers * kvDim * dim);
  const wv = take(nLayers * kvDim * dim);
  const wo = take(nLayers * dim * dim);
  const rmsFfn = take(nLayers * dim);
  const w1 = take(nLayers * hiddenDim * dim);
  const w2 = take(nLayers * dim * hiddenDim);
  const w3 = take(nLayers * hiddenDim * dim);
  const rmsFinal = take(dim);
  o += seqLen * hd; // freq_cis_real and freq_cis_imag (unused): 2 × seqLen × hd/2
  const wcls = vocabRaw > 0 ? emb : take(vocabSize * dim);
  const per = (a: Float32Array, n: number, l: number) => a.subarray(l * n, (l + 1) * n);
  return {
    config: { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen: seqLen, normEps: 1e-5, ropeTheta: 10000 },
    ropeStyle: 'interleaved',
    tokenEmbedding: emb,
    layers: Array.from({ length: nLayers }, (_, l) => ({
      rmsAtt: per(rmsAtt, dim, l),
      wq: per(wq, dim * dim, l),
      wk: per(wk, kvDim * dim, l),
      wv: per(wv, kvDim * dim, l),
      wo: per(wo, dim * dim, l),
      rmsFfn: per(rmsFfn, dim, l),
      w1: per(w1, hiddenDim * dim, l),
      w2: per(w2, dim * hiddenDim, l),
      w3: per(w3, hiddenDim * dim, l),
    })),
    rmsFinal,
    wcls,
  };
}

/**
 * Rows of a q/k projection reordered from llama2.c's interleaved RoPE pairs to Hugging Face's
 * rotate-half layout (the permutation of HF's convert_llama_weights_to_hf, written independently):
 * new row h·hd + t·hd/2 + i = old row h·hd + 2i + t.
 */
export function permuteInterleavedToHalves(w: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < 2; t++) {
      for (let i = 0; i < half; i++) {
        const dst = (h * headDim + t * half + i) * cols;
        const src = (h * headDim + 2 * i + t) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** The engine's ModelConfig of reference weights (BOS 1, EOS 2, tied iff wcls is the embedding). */
export function refModelConfig(w: RefWeights): ModelConfig {
  const c = w.config;
  return {
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    headDim: c.dim / c.nHeads,
    vocabSize: c.vocabSize,
    maxSeqLen: c.maxSeqLen,
    ropeTheta: c.ropeTheta,
    normEps: c.normEps,
    tiedEmbeddings: w.wcls === w.tokenEmbedding,
    bosTokenId: 1,
    eosTokenId: 2,
  };
}

/** The same model by tensor role, in the engine's form (rotate-half q/k rows). */
export function refWeightsToRoles(w: RefWeights): Map<TensorRole, Float32Array> {
  const c = w.config;
  const hd = c.dim / c.nHeads;
  const perm = (a: Float32Array, heads: number) => (w.ropeStyle === 'interleaved' ? permuteInterleavedToHalves(a, heads, hd, c.dim) : a);
  const m = new Map<TensorRole, Float32Array>([['embed', w.tokenEmbedding]]);
  w.layers.forEach((L, l) => {
    const r = (role: string) => `layers.${l}.${role}` as TensorRole;
    m.set(r('attnNorm'), L.rmsAtt);
    m.set(r('wq'), perm(L.wq, c.nHeads));
    m.set(r('wk'), perm(L.wk, c.nKvHeads));
    m.set(r('wv'), L.wv);
    m.set(r('wo'), L.wo);
    m.set(r('ffnNorm'), L.rmsFfn);
    m.set(r('wGate'), L.w1);
    m.set(r('wDown'), L.w2);
    m.set(r('wUp'), L.w3);
  });
  m.set('norm', w.rmsFinal);
  if (w.wcls !== w.tokenEmbedding) m.set('lmHead', w.wcls);
  return m;
}

/** The same model as Hugging Face tensors by name (names from the tensor-role table). */
export function refWeightsToHfTensors(w: RefWeights): Map<string, { shape: number[]; data: Float32Array }> {
  const roles = refWeightsToRoles(w);
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of tensorsToStore(refModelConfig(w), 'hf', (role) => roles.get(role)!)) m.set(t.name, { shape: [...t.shape], data: t.data });
  return m;
}

/** The fields of a Hugging Face LlamaConfig the reference needs. */
export interface HfConfigJson {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
}

/**
 * A Hugging Face Llama (config.json + tensors by name) as reference weights with rotate-half
 * RoPE. Tied models may store only embed_tokens or only lm_head (TinyStories-656K).
 */
export function refWeightsFromHf(c: HfConfigJson, tensors: ReadonlyMap<string, { data: Float32Array }>): RefWeights {
  const w = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new Error(`reference: missing tensor ${name}`);
    return t.data;
  };
  const embed = tensors.get('model.embed_tokens.weight')?.data ?? w('lm_head.weight');
  return {
    config: {
      dim: c.hidden_size,
      hiddenDim: c.intermediate_size,
      nLayers: c.num_hidden_layers,
      nHeads: c.num_attention_heads,
      nKvHeads: c.num_key_value_heads,
      vocabSize: c.vocab_size,
      maxSeqLen: c.max_position_embeddings,
      normEps: c.rms_norm_eps,
      ropeTheta: c.rope_theta,
    },
    ropeStyle: 'halves',
    tokenEmbedding: embed,
    layers: Array.from({ length: c.num_hidden_layers }, (_, l) => {
      const p = `model.layers.${l}.`;
      return {
        rmsAtt: w(p + 'input_layernorm.weight'),
        wq: w(p + 'self_attn.q_proj.weight'),
        wk: w(p + 'self_attn.k_proj.weight'),
        wv: w(p + 'self_attn.v_proj.weight'),
        wo: w(p + 'self_attn.o_proj.weight'),
        rmsFfn: w(p + 'post_attention_layernorm.weight'),
        w1: w(p + 'mlp.gate_proj.weight'),
        w2: w(p + 'mlp.down_proj.weight'),
        w3: w(p + 'mlp.up_proj.weight'),
      };
    }),
    rmsFinal: w('model.norm.weight'),
    wcls: c.tie_word_embeddings ? embed : w('lm_head.weight'),
  };
}
