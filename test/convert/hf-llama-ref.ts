/**
 * Test oracle: a plain float64 forward pass of a Hugging Face LlamaForCausalLM (rotate-half RoPE,
 * grouped-query attention by repeat_kv, RMSNorm, SwiGLU, tied or separate lm_head), written from
 * transformers' modeling_llama semantics and independent of src/. Slow and simple on purpose.
 */
import type { StTensor } from './test-utils.js';

export interface HfConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
}

export class HfLlamaRef {
  private readonly kCache: Float64Array[][] = [];
  private readonly vCache: Float64Array[][] = [];
  private readonly headDim: number;

  constructor(
    private readonly c: HfConfig,
    private readonly t: Map<string, StTensor>,
  ) {
    this.headDim = c.hidden_size / c.num_attention_heads;
    for (let l = 0; l < c.num_hidden_layers; l++) {
      this.kCache.push([]);
      this.vCache.push([]);
    }
  }

  private w(name: string): Float32Array {
    const x = this.t.get(name);
    if (!x) throw new Error(`reference: missing tensor ${name}`);
    return x.data;
  }

  /** y = W x for W [rows, cols] row-major. */
  static matvec(w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number): Float64Array {
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += w[r * cols + j]! * x[j]!;
      y[r] = s;
    }
    return y;
  }

  private rmsnorm(x: Float64Array, w: Float32Array): Float64Array {
    let ss = 0;
    for (const v of x) ss += v * v;
    const inv = 1 / Math.sqrt(ss / x.length + this.c.rms_norm_eps);
    return x.map((v, i) => v * inv * w[i]!);
  }

  /** HF apply_rotary_pos_emb on one head vector [headDim] in place: pairs (i, i + headDim/2). */
  static ropeHalf(v: Float64Array, off: number, headDim: number, pos: number, theta: number): void {
    const half = headDim / 2;
    for (let i = 0; i < half; i++) {
      const freq = 1 / Math.pow(theta, (2 * i) / headDim);
      const a = pos * freq;
      const cos = Math.cos(a);
      const sin = Math.sin(a);
      const x1 = v[off + i]!;
      const x2 = v[off + i + half]!;
      v[off + i] = x1 * cos - x2 * sin;
      v[off + i + half] = x2 * cos + x1 * sin;
    }
  }

  /** Logits [vocab] for `token` at position `pos` (positions must be fed in order 0, 1, 2, …). */
  forward(token: number, pos: number): Float64Array {
    const { hidden_size: dim, intermediate_size: hid, num_attention_heads: nH, num_key_value_heads: nKv, vocab_size: V } = this.c;
    const hd = this.headDim;
    const kvDim = nKv * hd;
    const embed = this.t.get('model.embed_tokens.weight')?.data ?? this.w('lm_head.weight');
    let x = Float64Array.from(embed.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < this.c.num_hidden_layers; l++) {
      const p = `model.layers.${l}.`;
      const h = this.rmsnorm(x, this.w(p + 'input_layernorm.weight'));
      const q = HfLlamaRef.matvec(this.w(p + 'self_attn.q_proj.weight'), h, dim, dim);
      const k = HfLlamaRef.matvec(this.w(p + 'self_attn.k_proj.weight'), h, kvDim, dim);
      const v = HfLlamaRef.matvec(this.w(p + 'self_attn.v_proj.weight'), h, kvDim, dim);
      for (let head = 0; head < nH; head++) HfLlamaRef.ropeHalf(q, head * hd, hd, pos, this.c.rope_theta);
      for (let head = 0; head < nKv; head++) HfLlamaRef.ropeHalf(k, head * hd, hd, pos, this.c.rope_theta);
      this.kCache[l]![pos] = k;
      this.vCache[l]![pos] = v;
      const att = new Float64Array(dim);
      for (let head = 0; head < nH; head++) {
        const kvh = Math.floor(head / (nH / nKv)); // repeat_kv
        const scores = new Float64Array(pos + 1);
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += q[head * hd + i]! * this.kCache[l]![t]![kvh * hd + i]!;
          scores[t] = s / Math.sqrt(hd);
          max = Math.max(max, scores[t]!);
        }
        let sum = 0;
        for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t]! - max);
        for (let t = 0; t <= pos; t++) {
          const a = scores[t]! / sum;
          for (let i = 0; i < hd; i++) att[head * hd + i] += a * this.vCache[l]![t]![kvh * hd + i]!;
        }
      }
      const o = HfLlamaRef.matvec(this.w(p + 'self_attn.o_proj.weight'), att, dim, dim);
      x = x.map((xi, i) => xi + o[i]!);
      const h2 = this.rmsnorm(x, this.w(p + 'post_attention_layernorm.weight'));
      const g = HfLlamaRef.matvec(this.w(p + 'mlp.gate_proj.weight'), h2, hid, dim);
      const u = HfLlamaRef.matvec(this.w(p + 'mlp.up_proj.weight'), h2, hid, dim);
      const act = g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * u[i]!);
      const d = HfLlamaRef.matvec(this.w(p + 'mlp.down_proj.weight'), act, dim, hid);
      x = x.map((xi, i) => xi + d[i]!);
    }
    const xf = this.rmsnorm(x, this.w('model.norm.weight'));
    const head = this.c.tie_word_embeddings ? embed : this.w('lm_head.weight');
    return HfLlamaRef.matvec(head, xf, V, dim);
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
}
