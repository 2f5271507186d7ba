/**
 * The Llama tensor set: which tensors a ModelConfig needs, under Hugging Face names (safetensors)
 * or GGUF names, with their shapes; and the resolution of a TensorDirectory into roles, so the
 * model loader asks for `layers[3].wq` without knowing the file layout.
 *
 *   role        shape                      Hugging Face name                            GGUF name
 *   embed       [vocabSize, dim]           model.embed_tokens.weight                    token_embd.weight
 *   per layer L:
 *   attnNorm    [dim]                      model.layers.L.input_layernorm.weight        blk.L.attn_norm.weight
 *   wq          [nHeads·headDim, dim]      model.layers.L.self_attn.q_proj.weight       blk.L.attn_q.weight   (rows un-permuted)
 *   wk          [nKvHeads·headDim, dim]    model.layers.L.self_attn.k_proj.weight       blk.L.attn_k.weight   (rows un-permuted)
 *   wv          [nKvHeads·headDim, dim]    model.layers.L.self_attn.v_proj.weight       blk.L.attn_v.weight
 *   wo          [dim, nHeads·headDim]      model.layers.L.self_attn.o_proj.weight       blk.L.attn_output.weight
 *   ffnNorm     [dim]                      model.layers.L.post_attention_layernorm.weight  blk.L.ffn_norm.weight
 *   wGate       [hiddenDim, dim]           model.layers.L.mlp.gate_proj.weight          blk.L.ffn_gate.weight
 *   wUp         [hiddenDim, dim]           model.layers.L.mlp.up_proj.weight            blk.L.ffn_up.weight
 *   wDown       [dim, hiddenDim]           model.layers.L.mlp.down_proj.weight          blk.L.ffn_down.weight
 *   norm        [dim]                      model.norm.weight                            output_norm.weight
 *   lmHead      [vocabSize, dim]           lm_head.weight                               output.weight
 *
 * Tied embeddings (config.tiedEmbeddings): embed and lmHead resolve to the same stored tensor: the
 * embedding if stored (a stored lm_head.weight / output.weight is then ignored, as transformers'
 * tie_weights does), else lm_head.weight (TinyStories-656K stores only that, with __metadata__
 * aliasing model.embed_tokens.weight to it). Untied: both are required.
 *
 * Ignored extras (harmless, listed in `ignored`): model.layers.L.self_attn.rotary_emb.inv_freq
 * (RoPE frequencies old transformers saved as buffers), blk.L.attn_rot_embd(.weight) (their GGUF
 * twin). Any other unused tensor is an error, as is a missing tensor, a wrong shape, or a dtype
 * other than F32/F16/BF16/Q8_0. All problems are reported together.
 *
 * RoPE row order: the engine rotates Hugging Face style (x[i], x[i + headDim/2]). llama.cpp's
 * converter permutes q/k rows of every head into the interleaved order (x[2i], x[2i+1]):
 *   HF row  h·headDim + half·headDim/2 + i   is stored at GGUF row   h·headDim + 2i + half
 * (i < headDim/2, half ∈ {0, 1}; h over nHeads for q, over nKvHeads for k). Reading a GGUF wq/wk
 * through this module un-permutes the rows (ggufToHfRopeRow), so both formats give the same matrix.
 */
import { WeightsFormatError } from '../errors.js';
import type { ModelConfig } from '../config.js';
import {
  describeTensor,
  FLOAT_DTYPES_TEXT,
  isFloatDtype,
  type ReadBytesOptions,
  type ReadF32Options,
  type RowMap,
  type TensorDirectory,
  type TensorInfo,
} from './tensor.js';

export const LLAMA_LAYER_ROLES = ['attnNorm', 'wq', 'wk', 'wv', 'wo', 'ffnNorm', 'wGate', 'wUp', 'wDown'] as const;
export type LlamaLayerRole = (typeof LLAMA_LAYER_ROLES)[number];
export type LlamaGlobalRole = 'embed' | 'norm' | 'lmHead';
/** "embed", "norm", "lmHead" or "layers.<L>.<layer role>". */
export type LlamaRole = LlamaGlobalRole | `layers.${number}.${LlamaLayerRole}`;
/** Naming scheme: Hugging Face (safetensors) or GGUF. */
export type TensorScheme = 'hf' | 'gguf';

const HF_LAYER: Readonly<Record<LlamaLayerRole, string>> = {
  attnNorm: 'input_layernorm.weight',
  wq: 'self_attn.q_proj.weight',
  wk: 'self_attn.k_proj.weight',
  wv: 'self_attn.v_proj.weight',
  wo: 'self_attn.o_proj.weight',
  ffnNorm: 'post_attention_layernorm.weight',
  wGate: 'mlp.gate_proj.weight',
  wUp: 'mlp.up_proj.weight',
  wDown: 'mlp.down_proj.weight',
};
const GGUF_LAYER: Readonly<Record<LlamaLayerRole, string>> = {
  attnNorm: 'attn_norm.weight',
  wq: 'attn_q.weight',
  wk: 'attn_k.weight',
  wv: 'attn_v.weight',
  wo: 'attn_output.weight',
  ffnNorm: 'ffn_norm.weight',
  wGate: 'ffn_gate.weight',
  wUp: 'ffn_up.weight',
  wDown: 'ffn_down.weight',
};
const GLOBAL: Readonly<Record<TensorScheme, Record<LlamaGlobalRole, string>>> = {
  hf: { embed: 'model.embed_tokens.weight', norm: 'model.norm.weight', lmHead: 'lm_head.weight' },
  gguf: { embed: 'token_embd.weight', norm: 'output_norm.weight', lmHead: 'output.weight' },
};
const IGNORED: Readonly<Record<TensorScheme, RegExp>> = {
  hf: /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/,
  gguf: /^blk\.\d+\.attn_rot_embd(\.weight)?$/,
};

/** The stored name of `role` in `scheme`. */
export function llamaTensorName(scheme: TensorScheme, role: LlamaRole): string {
  const m = /^layers\.(\d+)\.(\w+)$/.exec(role);
  if (!m) return GLOBAL[scheme][role as LlamaGlobalRole];
  const r = m[2] as LlamaLayerRole;
  return scheme === 'hf' ? `model.layers.${m[1]}.${HF_LAYER[r]}` : `blk.${m[1]}.${GGUF_LAYER[r]}`;
}

/** The row-major shape of `role` for config `c`. */
export function llamaTensorShape(c: ModelConfig, role: LlamaRole): number[] {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const r = role.includes('.') ? (role.split('.')[2] as LlamaLayerRole) : (role as LlamaGlobalRole);
  switch (r) {
    case 'embed':
    case 'lmHead':
      return [c.vocabSize, c.dim];
    case 'norm':
    case 'attnNorm':
    case 'ffnNorm':
      return [c.dim];
    case 'wq':
      return [q, c.dim];
    case 'wk':
    case 'wv':
      return [kv, c.dim];
    case 'wo':
      return [c.dim, q];
    case 'wGate':
    case 'wUp':
      return [c.hiddenDim, c.dim];
    case 'wDown':
      return [c.dim, c.hiddenDim];
  }
}

/** Every role of a model, in load order: embed, layer 0 … layer n−1, norm, lmHead. */
export function llamaRoles(c: ModelConfig): LlamaRole[] {
  const roles: LlamaRole[] = ['embed'];
  for (let l = 0; l < c.nLayers; l++) for (const r of LLAMA_LAYER_ROLES) roles.push(`layers.${l}.${r}`);
  roles.push('norm', 'lmHead');
  return roles;
}

/** One expected tensor. */
export interface ExpectedTensor {
  readonly role: LlamaRole;
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * The tensors a model with config `c` stores, in `scheme` names. With tied embeddings lmHead is
 * not listed (it is the embedding; see the module comment for the lm_head-only variant).
 */
export function expectedLlamaTensors(c: ModelConfig, scheme: TensorScheme): ExpectedTensor[] {
  return llamaRoles(c)
    .filter((role) => !(c.tiedEmbeddings && role === 'lmHead'))
    .map((role) => ({ role, name: llamaTensorName(scheme, role), shape: llamaTensorShape(c, role) }));
}

/** GGUF q/k row (interleaved RoPE pairs) → Hugging Face row (rotate-half), within heads of `headDim`. */
export function ggufToHfRopeRow(row: number, headDim: number): number {
  const j = row % headDim;
  return row - j + (j & 1) * (headDim / 2) + (j >> 1);
}

/** Hugging Face q/k row → GGUF row: the inverse of ggufToHfRopeRow (what llama.cpp's converter does). */
export function hfToGgufRopeRow(row: number, headDim: number): number {
  const j = row % headDim;
  const half = j >= headDim / 2 ? 1 : 0;
  return row - j + 2 * (j - half * (headDim / 2)) + half;
}

/** A role resolved to a stored tensor; reads give the Hugging Face layout whatever the file. */
export interface ResolvedTensor {
  readonly role: LlamaRole;
  /** The stored tensor (its name, dtype, file, offset). */
  readonly info: TensorInfo;
  /** Row-major shape, as llamaTensorShape gives it. */
  readonly shape: readonly number[];
  /** Whether reads un-permute GGUF interleaved-RoPE rows into rotate-half order. */
  readonly ropeUnpermuted: boolean;
  /** Decode to f32 into dest ([elements]; see TensorDirectory.readTensorF32). */
  readF32(dest: Float32Array, options?: Omit<ReadF32Options, 'rowMap'>): Promise<void>;
  /** The stored bytes, rows in Hugging Face order (Q8_0: 34-byte blocks). */
  readBytes(dest: Uint8Array): Promise<void>;
  /** Q8_0 only: planar scales [rows, cols/32] and quants [rows, cols], rows in Hugging Face order. */
  readQ8_0(scales: Float32Array, qs: Int8Array, options?: Omit<ReadF32Options, 'rowMap'>): Promise<void>;
}

export interface LlamaLayerTensors extends Readonly<Record<LlamaLayerRole, ResolvedTensor>> {}

/** A directory resolved against a config: every role → one stored tensor. */
export interface LlamaTensors {
  readonly config: ModelConfig;
  readonly directory: TensorDirectory;
  readonly embed: ResolvedTensor;
  readonly norm: ResolvedTensor;
  /** The same stored tensor as `embed` when embeddings are tied. */
  readonly lmHead: ResolvedTensor;
  readonly layers: readonly LlamaLayerTensors[];
  /** Every role, in load order (llamaRoles). */
  readonly all: readonly ResolvedTensor[];
  /** Stored tensors deliberately not used (known extras, or an lm_head shadowed by tying). */
  readonly ignored: readonly string[];
  /** The tensor of `role`; throws WeightsFormatError for an unknown role. */
  get(role: LlamaRole): ResolvedTensor;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const LIST_MAX = 8;
function list(items: string[]): string {
  return items.length <= LIST_MAX ? items.join('; ') : `${items.slice(0, LIST_MAX).join('; ')}; … (${items.length - LIST_MAX} more)`;
}

function resolved(dir: TensorDirectory, role: LlamaRole, info: TensorInfo, rowMap: RowMap | undefined): ResolvedTensor {
  const base = rowMap ? { rowMap } : {};
  return {
    role,
    info,
    shape: info.shape,
    ropeUnpermuted: rowMap !== undefined,
    readF32: (dest, options) => dir.readTensorF32(info.name, dest, { ...options, ...base }),
    readBytes: (dest) => dir.readTensorBytes(info.name, dest, base as ReadBytesOptions),
    readQ8_0: async (scales, qs, options) => {
      if (info.dtype !== 'Q8_0' || !dir.readTensorQ8_0) throw new WeightsFormatError(`${dir.name}: tensor ${info.name} is ${info.dtype}; expected Q8_0`);
      return dir.readTensorQ8_0(info.name, scales, qs, { ...options, ...base });
    },
  };
}

/**
 * Resolve `dir` against `config`: check that it holds exactly the Llama tensor set (names from
 * dir.format: "gguf" → GGUF names, else Hugging Face names) with the right shapes and decodable
 * dtypes, and map every role to its tensor. Throws one WeightsFormatError listing every missing,
 * misshapen, undecodable and unexpected tensor.
 */
export function resolveLlamaTensors(config: ModelConfig, dir: TensorDirectory): LlamaTensors {
  const scheme: TensorScheme = dir.format === 'gguf' ? 'gguf' : 'hf';
  const problems: string[] = [];
  const used = new Set<string>();
  const ignored: string[] = [];
  const byRole = new Map<LlamaRole, ResolvedTensor>();

  const take = (role: LlamaRole, name: string): TensorInfo | null => {
    const shape = llamaTensorShape(config, role);
    const t = dir.tensors.get(name);
    if (!t) {
      problems.push(`missing ${name} [${shape.join(', ')}]`);
      return null;
    }
    used.add(name);
    if (!sameShape(t.shape, shape)) {
      problems.push(`${name}: expected shape [${shape.join(', ')}], got ${describeTensor(t)}`);
      return null;
    }
    if (!isFloatDtype(t.dtype)) {
      problems.push(`${name}: dtype ${t.dtype} cannot be decoded; expected ${FLOAT_DTYPES_TEXT}`);
      return null;
    }
    return t;
  };

  const rope = (role: LlamaRole): RowMap | undefined => {
    if (scheme !== 'gguf' || !/\.w[qk]$/.test(role)) return undefined;
    const hd = config.headDim;
    return (r) => ggufToHfRopeRow(r, hd);
  };

  for (const role of llamaRoles(config)) {
    if (role === 'embed' || role === 'lmHead') continue;
    const t = take(role, llamaTensorName(scheme, role));
    if (t) byRole.set(role, resolved(dir, role, t, rope(role)));
  }

  const embedName = llamaTensorName(scheme, 'embed');
  const headName = llamaTensorName(scheme, 'lmHead');
  if (!config.tiedEmbeddings) {
    const e = take('embed', embedName);
    const h = take('lmHead', headName);
    if (e) byRole.set('embed', resolved(dir, 'embed', e, undefined));
    if (h) byRole.set('lmHead', resolved(dir, 'lmHead', h, undefined));
  } else {
    const stored = dir.tensors.has(embedName) || !dir.tensors.has(headName) ? embedName : headName;
    const t = take('embed', stored);
    if (t) {
      byRole.set('embed', resolved(dir, 'embed', t, undefined));
      byRole.set('lmHead', resolved(dir, 'lmHead', t, undefined));
    }
    if (stored === embedName && dir.tensors.has(headName)) {
      used.add(headName);
      ignored.push(headName);
    }
  }

  for (const name of dir.tensors.keys()) {
    if (used.has(name)) continue;
    if (IGNORED[scheme].test(name)) {
      ignored.push(name);
    } else if (scheme === 'gguf' && name === 'rope_freqs.weight') {
      problems.push('rope_freqs.weight: RoPE frequency scaling (Llama 3.1 style) is not supported');
    } else {
      problems.push(`unexpected ${name} ${describeTensor(dir.tensors.get(name)!)}`);
    }
  }
  if (problems.length > 0) {
    throw new WeightsFormatError(`${dir.name}: tensors do not match the model config (${problems.length} problems): ${list(problems)}`);
  }

  const get = (role: LlamaRole): ResolvedTensor => {
    const t = byRole.get(role);
    if (!t) throw new WeightsFormatError(`${dir.name}: no tensor role ${JSON.stringify(role)} in a ${config.nLayers}-layer Llama`);
    return t;
  };
  const layers: LlamaLayerTensors[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const layer = {} as Record<LlamaLayerRole, ResolvedTensor>;
    for (const r of LLAMA_LAYER_ROLES) layer[r] = get(`layers.${l}.${r}`);
    layers.push(layer);
  }
  return {
    config,
    directory: dir,
    embed: get('embed'),
    norm: get('norm'),
    lmHead: get('lmHead'),
    layers,
    all: llamaRoles(config).map(get),
    ignored,
    get,
  };
}
