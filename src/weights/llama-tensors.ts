/**
 * The tensor-role table: the one place that knows which tensors a model has, their shapes, their
 * names in Hugging Face (safetensors) and GGUF files, which architectures have them, and the
 * transforms between the stored form and the form the engine computes with. Loading
 * (`resolveTensors`), packing (LlamaModel asks for roles, never names) and writing (`tensorsToStore`:
 * our safetensors/GGUF writers in tests and benches, the llama2.c converter) all read it.
 *
 *   role         shape                    Hugging Face name (model.layers.L.…)        GGUF name (blk.L.…)
 *   embed        [vocab, dim]             model.embed_tokens.weight                   token_embd.weight
 *   attnNorm     [dim]                    input_layernorm.weight                      attn_norm.weight
 *   wq           [nHeads·headDim, dim]    self_attn.q_proj.weight  (phi3: qkv_proj)    attn_q.weight  (or attn_qkv)
 *   wk, wv       [nKvHeads·headDim, dim]  self_attn.k_proj/v_proj  (phi3: qkv_proj)    attn_k / attn_v (or attn_qkv)
 *   bq, bk, bv   [q or kv dim]            self_attn.q/k/v_proj.bias                   attn_q/k/v.bias (or attn_qkv.bias)
 *   qNorm, kNorm [headDim]                self_attn.q_norm / k_norm.weight            attn_q_norm / attn_k_norm.weight
 *   wo           [dim, nHeads·headDim]    self_attn.o_proj.weight                     attn_output.weight
 *   bo           [dim]                    self_attn.o_proj.bias                       attn_output.bias
 *   attnPostNorm [dim]                    post_attention_layernorm.weight (Gemma)     post_attention_norm.weight
 *   ffnNorm      [dim]                    post_attention_layernorm.weight             ffn_norm.weight
 *                                         (Gemma: pre_feedforward_layernorm.weight)
 *   wGate, wUp   [hiddenDim, dim]         mlp.gate_proj / up_proj  (phi3: gate_up_proj) ffn_gate / ffn_up (phi3: ffn_up holds both)
 *   wDown        [dim, hiddenDim]         mlp.down_proj.weight                        ffn_down.weight
 *   bGate, bUp, bDown                     mlp.*_proj.bias                             ffn_*.bias
 *   ffnPostNorm  [dim]                    post_feedforward_layernorm.weight           post_ffw_norm.weight
 *   norm         [dim]                    model.norm.weight                           output_norm.weight
 *   lmHead       [vocab, dim]             lm_head.weight                              output.weight
 *   ropeFreqs    [headDim/2]              (none: config.json rope_scaling)            rope_freqs.weight
 *
 * Presence (RoleSpec.presence): required, optional (present iff the config says so: `enabled`) or
 * absent, per architecture:
 *   bq/bk/bv: qwen2 required; llama, qwen3, gemma optional (qkvBias)    bo: llama, qwen3, gemma optional (outBias)
 *   bGate/bUp/bDown: llama optional (mlpBias)    qNorm/kNorm: qwen3, gemma3    attnPostNorm/ffnPostNorm: gemma2, gemma3
 *   ropeFreqs: llama, when ropeScaling is frequencyFactors    lmHead: optional everywhere (absent when tiedEmbeddings)
 * Tied checkpoints may store the embedding under lm_head.weight only (TinyStories-656K, with
 * __metadata__ aliasing model.embed_tokens.weight to it): embed's second Hugging Face name. A stored
 * lm_head.weight / output.weight of a tied model is ignored (transformers' tie_weights does the same).
 *
 * Fused tensors: a role may be a row range of a stored tensor (StoredAs.fused): Phi-3's qkv_proj holds
 * q, k, v rows in that order and gate_up_proj gate then up rows (GGUF: attn_qkv and phi3's double-height
 * ffn_up). Reads take just the role's rows (ReadBytesOptions.rows); writers concatenate them.
 *
 * Ignored extras (harmless, listed in `ignored`): model.layers.L.self_attn.rotary_emb.inv_freq
 * (RoPE frequencies old transformers saved as buffers), blk.L.attn_rot_embd(.weight) (their GGUF
 * twin). Any other unused tensor is an error, as is a missing tensor, a wrong shape, or a dtype
 * other than F32/F16/BF16/a GGML quantised type. All problems are reported together, in one
 * WeightsFormatError naming the file, the tensor and the expected shape.
 *
 * Transforms (applied by reads, inverted by tensorsToStore):
 * - RoPE row order (wq, wk, bq, bk of GGUF llama files, Mistral's included): the engine rotates Hugging
 *   Face style (x[i], x[i + headDim/2]); llama.cpp's converter permutes q/k rows of every head into the
 *   interleaved order (x[2i], x[2i+1]) that llama.cpp's "normal" RoPE rotates:
 *     HF row  h·headDim + half·headDim/2 + i   is stored at GGUF row   h·headDim + 2i + half
 *   (i < headDim/2, half ∈ {0, 1}). Reads un-permute (ggufToHfRopeRow), so both formats give the same
 *   matrix. The other architectures use llama.cpp's "neox" RoPE, the Hugging Face order: no permutation.
 * - Gemma's RMSNorm computes x̂·(1 + w) and Hugging Face stores w; llama.cpp's converter stores 1 + w.
 *   Reads of Gemma norm weights from Hugging Face files add 1 (in f32, as transformers does), so both
 *   formats give the engine the multiplier 1 + w.
 */
import { InvalidArgumentError, ShapeError, WeightsFormatError } from '../errors.js';
import type { Architecture, ModelConfig } from '../config.js';
import {
  describeTensor,
  FLOAT_DTYPES_TEXT,
  isFloatDtype,
  type ReadBytesOptions,
  type ReadF32Options,
  type RowMap,
  type TensorDirectory,
  type TensorDtype,
  type TensorInfo,
} from './tensor.js';

/** Roles every layer may have, in load order. */
export const LAYER_ROLES = [
  'attnNorm', 'wq', 'wk', 'wv', 'bq', 'bk', 'bv', 'qNorm', 'kNorm', 'wo', 'bo', 'attnPostNorm',
  'ffnNorm', 'wGate', 'wUp', 'wDown', 'bGate', 'bUp', 'bDown', 'ffnPostNorm',
] as const;
/** One of LAYER_ROLES: a tensor every layer may have ("wq", "ffnNorm", …). */
export type LayerRole = (typeof LAYER_ROLES)[number];
/** Roles outside the layers. */
export const GLOBAL_ROLES = ['embed', 'norm', 'lmHead', 'ropeFreqs'] as const;
/** One of GLOBAL_ROLES. */
export type GlobalRole = (typeof GLOBAL_ROLES)[number];
/** "embed", "norm", "lmHead", "ropeFreqs" or "layers.<L>.<layer role>". */
export type TensorRole = GlobalRole | `layers.${number}.${LayerRole}`;
/** Naming scheme: Hugging Face (safetensors) or GGUF. */
export type TensorScheme = 'hf' | 'gguf';
/** Whether an architecture has a role: always, when the config says so (RoleSpec.enabled), or never. */
export type Presence = 'required' | 'optional' | 'absent';
/** What a role's values are (writers store norms, biases and factors as F32, llama.cpp's convention). */
export type RoleKind = 'embedding' | 'matrix' | 'norm' | 'bias' | 'factors';

/** Where a role is stored: a tensor name ("{L}" = layer index), or a row range of one (fused). */
export interface StoredAs {
  readonly name: string;
  /** Part of a fused tensor: the stored tensor has `rows(c)` rows, this role is rows [start, start + count). */
  readonly fused?: { readonly rows: (c: ModelConfig) => number; readonly range: (c: ModelConfig) => readonly [start: number, count: number] };
}

/** One row of the role table. */
export interface RoleSpec {
  readonly role: GlobalRole | LayerRole;
  /** Once per layer ("layers.L.<role>") or once per model. */
  readonly perLayer: boolean;
  readonly kind: RoleKind;
  /** Row-major shape for a config. */
  readonly shape: (c: ModelConfig) => number[];
  /** Presence per architecture. */
  readonly presence: Readonly<Record<Architecture, Presence>>;
  /** For optional roles: whether this config has it. */
  readonly enabled?: (c: ModelConfig) => boolean;
  /** Hugging Face names, first found wins (several: alternative layouts of the same role). */
  readonly hf: (c: ModelConfig) => readonly StoredAs[];
  /** GGUF names, first found wins. */
  readonly gguf: (c: ModelConfig) => readonly StoredAs[];
  /** q/k projections and biases: GGUF llama files store their rows in interleaved RoPE order. */
  readonly ropeRows?: boolean;
}

const at = (name: string): readonly StoredAs[] => [{ name }];
const qDimOf = (c: ModelConfig): number => c.nHeads * c.headDim;
const kvDimOf = (c: ModelConfig): number => c.nKvHeads * c.headDim;
const archOf = (c: ModelConfig): Architecture => c.architecture ?? 'llama';
const isGemma = (c: ModelConfig): boolean => archOf(c) === 'gemma2' || archOf(c) === 'gemma3';

/** Presence maps: every architecture, or the listed ones. */
const ALL_ARCHS: readonly Architecture[] = ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma2', 'gemma3'];
function presence(required: readonly Architecture[], optional: readonly Architecture[] = []): Record<Architecture, Presence> {
  return Object.fromEntries(ALL_ARCHS.map((a) => [a, required.includes(a) ? 'required' : optional.includes(a) ? 'optional' : 'absent'])) as Record<Architecture, Presence>;
}
const EVERY = presence(ALL_ARCHS);

/** The q, k or v rows of a fused [q + 2·kv] tensor. */
function qkvPart(name: string, part: 0 | 1 | 2): StoredAs {
  return {
    name,
    fused: {
      rows: (c) => qDimOf(c) + 2 * kvDimOf(c),
      range: (c) => (part === 0 ? [0, qDimOf(c)] : part === 1 ? [qDimOf(c), kvDimOf(c)] : [qDimOf(c) + kvDimOf(c), kvDimOf(c)]),
    },
  };
}
/** The gate (first) or up (second) half of a fused [2·hiddenDim] tensor. */
function gateUpPart(name: string, part: 0 | 1): StoredAs {
  return { name, fused: { rows: (c) => 2 * c.hiddenDim, range: (c) => [part * c.hiddenDim, c.hiddenDim] } };
}

/**
 * The row of the q, k or v projection's weight or bias: q and k rows in RoPE order; Phi-3 stores the
 * three fused, in that order (HF qkv_proj; GGUF attn_qkv, which other files may have too).
 */
function qkvRow(proj: 'q' | 'k' | 'v', suffix: 'weight' | 'bias'): RoleSpec {
  const part = (['q', 'k', 'v'] as const).indexOf(proj) as 0 | 1 | 2;
  const rows = (c: ModelConfig) => (proj === 'q' ? qDimOf(c) : kvDimOf(c));
  const bias = suffix === 'bias';
  return {
    role: `${bias ? 'b' : 'w'}${proj}`, perLayer: true, kind: bias ? 'bias' : 'matrix',
    presence: bias ? presence(['qwen2'], ['llama', 'qwen3', 'gemma2', 'gemma3']) : EVERY,
    ...(bias ? { enabled: (c: ModelConfig) => c.qkvBias === true } : {}),
    ...(proj !== 'v' ? { ropeRows: true } : {}),
    shape: (c) => (bias ? [rows(c)] : [rows(c), c.dim]),
    hf: (c) => (archOf(c) === 'phi3' ? [qkvPart(`model.layers.{L}.self_attn.qkv_proj.${suffix}`, part)] : at(`model.layers.{L}.self_attn.${proj}_proj.${suffix}`)),
    gguf: () => [{ name: `blk.{L}.attn_${proj}.${suffix}` }, qkvPart(`blk.{L}.attn_qkv.${suffix}`, part)],
  };
}

/**
 * A row whose tensor has one name in each scheme, as the module comment's table lists it: per layer
 * when its names hold the layer index "{L}". `enabled`: for optional roles (RoleSpec.enabled).
 */
function named(
  role: GlobalRole | LayerRole, kind: RoleKind, presence: Readonly<Record<Architecture, Presence>>, shape: (c: ModelConfig) => number[],
  hf: string, gguf: string, enabled?: (c: ModelConfig) => boolean,
): RoleSpec {
  return { role, perLayer: hf.includes('{L}'), kind, presence, ...(enabled ? { enabled } : {}), shape, hf: () => at(hf), gguf: () => at(gguf) };
}

/** The role table (see the module comment). Order: load order within a layer / the model. */
export const ROLE_TABLE: readonly RoleSpec[] = [
  {
    role: 'embed', perLayer: false, kind: 'embedding', presence: EVERY,
    shape: (c) => [c.vocabSize, c.dim],
    hf: (c) => (c.tiedEmbeddings ? [{ name: 'model.embed_tokens.weight' }, { name: 'lm_head.weight' }] : at('model.embed_tokens.weight')),
    gguf: () => at('token_embd.weight'),
  },
  {
    role: 'ropeFreqs', perLayer: false, kind: 'factors', presence: presence([], ['llama']),
    enabled: (c) => c.ropeScaling?.type === 'frequencyFactors',
    shape: (c) => [c.headDim / 2],
    hf: () => [],
    gguf: () => at('rope_freqs.weight'),
  },
  named('attnNorm', 'norm', EVERY, (c) => [c.dim], 'model.layers.{L}.input_layernorm.weight', 'blk.{L}.attn_norm.weight'),
  ...(['q', 'k', 'v'] as const).map((proj) => qkvRow(proj, 'weight')),
  ...(['q', 'k', 'v'] as const).map((proj) => qkvRow(proj, 'bias')),
  named('qNorm', 'norm', presence(['qwen3', 'gemma3']), (c) => [c.headDim], 'model.layers.{L}.self_attn.q_norm.weight', 'blk.{L}.attn_q_norm.weight'),
  named('kNorm', 'norm', presence(['qwen3', 'gemma3']), (c) => [c.headDim], 'model.layers.{L}.self_attn.k_norm.weight', 'blk.{L}.attn_k_norm.weight'),
  named('wo', 'matrix', EVERY, (c) => [c.dim, qDimOf(c)], 'model.layers.{L}.self_attn.o_proj.weight', 'blk.{L}.attn_output.weight'),
  named('bo', 'bias', presence([], ['llama', 'qwen3', 'gemma2', 'gemma3']), (c) => [c.dim], 'model.layers.{L}.self_attn.o_proj.bias', 'blk.{L}.attn_output.bias', (c) => c.outBias === true),
  named('attnPostNorm', 'norm', presence(['gemma2', 'gemma3']), (c) => [c.dim], 'model.layers.{L}.post_attention_layernorm.weight', 'blk.{L}.post_attention_norm.weight'),
  {
    role: 'ffnNorm', perLayer: true, kind: 'norm', presence: EVERY,
    shape: (c) => [c.dim],
    hf: (c) => at(isGemma(c) ? 'model.layers.{L}.pre_feedforward_layernorm.weight' : 'model.layers.{L}.post_attention_layernorm.weight'),
    gguf: () => at('blk.{L}.ffn_norm.weight'),
  },
  {
    role: 'wGate', perLayer: true, kind: 'matrix', presence: EVERY,
    shape: (c) => [c.hiddenDim, c.dim],
    hf: (c) => (archOf(c) === 'phi3' ? [gateUpPart('model.layers.{L}.mlp.gate_up_proj.weight', 0)] : at('model.layers.{L}.mlp.gate_proj.weight')),
    gguf: (c) => (archOf(c) === 'phi3' ? [gateUpPart('blk.{L}.ffn_up.weight', 0)] : at('blk.{L}.ffn_gate.weight')),
  },
  {
    role: 'wUp', perLayer: true, kind: 'matrix', presence: EVERY,
    shape: (c) => [c.hiddenDim, c.dim],
    hf: (c) => (archOf(c) === 'phi3' ? [gateUpPart('model.layers.{L}.mlp.gate_up_proj.weight', 1)] : at('model.layers.{L}.mlp.up_proj.weight')),
    gguf: (c) => (archOf(c) === 'phi3' ? [gateUpPart('blk.{L}.ffn_up.weight', 1)] : at('blk.{L}.ffn_up.weight')),
  },
  named('wDown', 'matrix', EVERY, (c) => [c.dim, c.hiddenDim], 'model.layers.{L}.mlp.down_proj.weight', 'blk.{L}.ffn_down.weight'),
  ...(['Gate', 'Up', 'Down'] as const).map((p): RoleSpec => ({
    role: `b${p}`, perLayer: true, kind: 'bias', presence: presence([], ['llama']),
    enabled: (c) => c.mlpBias === true,
    shape: (c) => [p === 'Down' ? c.dim : c.hiddenDim],
    hf: () => at(`model.layers.{L}.mlp.${p.toLowerCase()}_proj.bias`),
    gguf: () => at(`blk.{L}.ffn_${p.toLowerCase()}.bias`),
  })),
  named('ffnPostNorm', 'norm', presence(['gemma2', 'gemma3']), (c) => [c.dim], 'model.layers.{L}.post_feedforward_layernorm.weight', 'blk.{L}.post_ffw_norm.weight'),
  named('norm', 'norm', EVERY, (c) => [c.dim], 'model.norm.weight', 'output_norm.weight'),
  named('lmHead', 'matrix', presence([], ALL_ARCHS), (c) => [c.vocabSize, c.dim], 'lm_head.weight', 'output.weight', (c) => !c.tiedEmbeddings),
];

const SPEC_BY_ROLE: ReadonlyMap<string, RoleSpec> = new Map(ROLE_TABLE.map((s) => [s.role, s]));

/** Stored extras known to be harmless, per scheme. */
const IGNORED: Readonly<Record<TensorScheme, RegExp>> = {
  hf: /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/,
  gguf: /^blk\.\d+\.attn_rot_embd(\.weight)?$/,
};

/** The layer index and table row of `role`; throws WeightsFormatError for a malformed role. */
export function roleSpec(role: TensorRole): { spec: RoleSpec; layer: number | null } {
  const m = /^layers\.(\d+)\.(\w+)$/.exec(role);
  const spec = SPEC_BY_ROLE.get(m ? m[2]! : role);
  if (!spec || spec.perLayer !== (m !== null)) throw new WeightsFormatError(`tensor roles: expected a role such as "embed" or "layers.0.wq", got ${JSON.stringify(role)}`);
  return { spec, layer: m ? Number(m[1]) : null };
}

/** Whether config `c` has `spec`'s role. */
function hasRole(c: ModelConfig, spec: RoleSpec): boolean {
  const p = spec.presence[archOf(c)];
  return p === 'required' || (p === 'optional' && (spec.enabled?.(c) ?? false));
}

/**
 * The per-layer roles config `c` has (every layer has the same ones), in table order, and their kinds:
 * without naming any layer, so it costs the same for 1 layer or 2^31 (memory plans, early checks).
 */
export function layerRoleKinds(c: ModelConfig): { role: LayerRole; kind: RoleKind }[] {
  return ROLE_TABLE.filter((s) => s.perLayer && hasRole(c, s)).map((s) => ({ role: s.role as LayerRole, kind: s.kind }));
}

/** The row-major shape of `role` for config `c`. */
export function roleShape(c: ModelConfig, role: TensorRole): number[] {
  return roleSpec(role).spec.shape(c);
}

/** Every role config `c` has, in load order: embed, ropeFreqs, layer 0 … layer n−1, norm, lmHead. */
export function modelRoles(c: ModelConfig): TensorRole[] {
  const roles: TensorRole[] = [];
  const globals = ROLE_TABLE.filter((s) => !s.perLayer && hasRole(c, s));
  const first = globals.filter((s) => s.role === 'embed' || s.role === 'ropeFreqs');
  for (const s of first) roles.push(s.role as GlobalRole);
  for (let l = 0; l < c.nLayers; l++) {
    for (const s of ROLE_TABLE) if (s.perLayer && hasRole(c, s)) roles.push(`layers.${l}.${s.role as LayerRole}`);
  }
  for (const s of globals) if (!first.includes(s)) roles.push(s.role as GlobalRole);
  return roles;
}

/** Where `role` may be stored in `scheme`, first choice first, with "{L}" filled in. */
export function roleSources(c: ModelConfig, scheme: TensorScheme, role: TensorRole): StoredAs[] {
  const { spec, layer } = roleSpec(role);
  return (scheme === 'hf' ? spec.hf(c) : spec.gguf(c)).map((s) => ({ ...s, name: s.name.replace('{L}', String(layer)) }));
}

/** The names `role` may be stored under in `scheme`, first choice first. */
export function roleNames(c: ModelConfig, scheme: TensorScheme, role: TensorRole): string[] {
  return roleSources(c, scheme, role).map((s) => s.name);
}

/** Whether reads of `spec` from a `scheme` file un-permute interleaved RoPE rows (GGUF llama files). */
function ropeUnpermuted(c: ModelConfig, spec: RoleSpec, scheme: TensorScheme): boolean {
  return spec.ropeRows === true && scheme === 'gguf' && (archOf(c) === 'llama' || archOf(c) === 'mistral');
}

/** What reads of `spec` from a `scheme` file add to every value: 1 for Gemma norms in Hugging Face files. */
function valueShift(c: ModelConfig, spec: RoleSpec, scheme: TensorScheme): number {
  return spec.kind === 'norm' && scheme === 'hf' && isGemma(c) ? 1 : 0;
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

// ---- reading ----

/**
 * Where the model's tensors come from, by role: what LlamaModel loads from. The optional methods let
 * a loader keep weights as stored: a matrix whose stored type (`dtype`) is the type it is packed into
 * is packed from its stored bytes (`readBytes`: F32/F16/BF16 elements or GGML blocks), so no value
 * changes. Without them every weight goes through readF32. Values are in the engine's form (Hugging
 * Face row order, transforms applied).
 */
export interface RoleReader {
  /** Whether the model has `role` (optional roles). */
  has(role: TensorRole): boolean;
  /** Row-major shape of `role` (throws WeightsFormatError if absent). */
  shape(role: TensorRole): readonly number[];
  /**
   * Decode `role` into dest (exactly its element count), or with `rows` = [start, count] only those
   * rows of a matrix role (dest: count rows), so that a loader can stream a matrix in chunks (for a
   * GGUF llama q/k matrix, start and count are multiples of headDim).
   */
  readF32(role: TensorRole, dest: Float32Array, rows?: RoleRows): Promise<void>;
  /** Stored element type of `role`. */
  dtype?(role: TensorRole): TensorDtype;
  /** Bytes `role` takes in its file (for load progress); elements · 4 when absent. */
  storedBytes?(role: TensorRole): number;
  /** The stored tensor's name (for load progress); the role when absent. */
  tensorName?(role: TensorRole): string;
  /**
   * The stored bytes of `role` (or of its rows `rows`), rows in Hugging Face order (dest: exactly that
   * byte length): what a loader keeps when the engine computes in the stored type (F16, BF16, GGML blocks).
   */
  readBytes?(role: TensorRole, dest: Uint8Array, rows?: RoleRows): Promise<void>;
  /**
   * Check values of `role` that a loader decoded itself from readBytes' bytes (GGML blocks converted to
   * another type in WebAssembly) as readF32 checks what it decodes; `rows`: which rows `values` holds.
   */
  checkDecoded?(role: TensorRole, values: Float32Array, rows?: RoleRows): void;
}

/** Rows [start, start + count) of a matrix role. */
export type RoleRows = readonly [start: number, count: number];

/** A role resolved to a stored tensor; reads give the engine's layout whatever the file. */
export interface ResolvedTensor {
  readonly role: TensorRole;
  /** The stored tensor (its name, dtype, file, offset). */
  readonly info: TensorInfo;
  /** Row-major shape of the role (roleShape). */
  readonly shape: readonly number[];
  /** Whether reads un-permute GGUF interleaved-RoPE rows into rotate-half order. */
  readonly ropeUnpermuted: boolean;
  /** Bytes of the role in its file (a fused tensor's share of it). */
  readonly bytes: number;
  /**
   * Decode to f32 into dest ([elements of shape]). `rows`: only rows [start, start + count) of the
   * role (dest: count rows; for un-permuted GGUF q/k rows, start and count multiples of headDim).
   */
  readF32(dest: Float32Array, options?: Omit<ReadF32Options, 'rowMap'>): Promise<void>;
  /** The stored bytes, rows in Hugging Face order (Q8_0: 34-byte blocks); `rows` as in readF32. */
  readBytes(dest: Uint8Array, options?: Pick<ReadBytesOptions, 'rows'>): Promise<void>;
  /** Q8_0 only: planar scales [rows, cols/32] and quants [rows, cols], rows in Hugging Face order; `rows` as in readF32. */
  readQ8_0(scales: Float32Array, qs: Int8Array, options?: Omit<ReadF32Options, 'rowMap'>): Promise<void>;
}

/** A directory resolved against a config: every role the config has → one stored tensor. */
export interface ModelTensors extends RoleReader {
  readonly config: ModelConfig;
  readonly directory: TensorDirectory;
  /** Every role, in load order (modelRoles). */
  readonly all: readonly ResolvedTensor[];
  /** Stored tensors deliberately not used (known extras, or an lm_head shadowed by tying). */
  readonly ignored: readonly string[];
  /** The tensor of `role`; throws WeightsFormatError for a role this model does not have. */
  get(role: TensorRole): ResolvedTensor;
  dtype(role: TensorRole): TensorDtype;
  storedBytes(role: TensorRole): number;
  tensorName(role: TensorRole): string;
  readBytes(role: TensorRole, dest: Uint8Array, rows?: RoleRows): Promise<void>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const LIST_MAX = 8;
function list(items: string[]): string {
  return items.length <= LIST_MAX ? items.join('; ') : `${items.slice(0, LIST_MAX).join('; ')}; … (${items.length - LIST_MAX} more)`;
}

/** How reads of one resolved role transform the stored tensor (see the module comment). */
interface ReadPlan {
  /** Fused tensors: the role's rows of the stored tensor. */
  readonly rows?: readonly [number, number];
  /** GGUF llama q/k: un-permute interleaved RoPE rows (matrices) or elements (biases). */
  readonly ropeHeadDim?: number;
  /** Added to every value (Gemma norms in Hugging Face files). */
  readonly shift: number;
}

function resolved(dir: TensorDirectory, role: TensorRole, info: TensorInfo, shape: readonly number[], plan: ReadPlan): ResolvedTensor {
  const hd = plan.ropeHeadDim;
  const vector = shape.length === 1;
  // matrices permute whole rows while reading; a bias is one row, its elements are permuted after
  const rowMap: RowMap | undefined = hd !== undefined && !vector ? (r) => ggufToHfRopeRow(r, hd) : undefined;
  const base: ReadBytesOptions = { ...(plan.rows ? { rows: plan.rows } : {}), ...(rowMap ? { rowMap } : {}) };
  // rows [start, start + count) of the role: the stored rows after the fused offset; the RoPE
  // un-permutation is periodic in headDim, so it maps rows inside a head-aligned slice the same way
  const sliced = (rows: readonly [number, number] | undefined): ReadBytesOptions => {
    if (rows === undefined) return base;
    const [start, count] = rows;
    const total = shape[0]!;
    if (vector || !(Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 1 && start + count <= total)) {
      throw new InvalidArgumentError(`${dir.name}: tensor ${info.name} (role ${role}): expected a row slice of a matrix inside [0, ${total}), got [${start}, ${start + count})`);
    }
    if (hd !== undefined && (start % hd !== 0 || count % hd !== 0)) {
      throw new InvalidArgumentError(`${dir.name}: tensor ${info.name} (role ${role}): expected a row slice in whole heads of ${hd} rows, got [${start}, ${start + count})`);
    }
    return { rows: [(plan.rows?.[0] ?? 0) + start, count], ...(rowMap ? { rowMap } : {}) };
  };
  const raw = (what: string) => {
    if (plan.shift !== 0 || (hd !== undefined && vector)) {
      throw new WeightsFormatError(`${dir.name}: tensor ${info.name} (role ${role}) is transformed when read; expected a ${what} read of a weight matrix`);
    }
  };
  const storedRows = info.shape.length > 0 ? info.shape[0]! : 1;
  return {
    role,
    info,
    shape,
    bytes: plan.rows ? (info.byteLength / storedRows) * plan.rows[1] : info.byteLength,
    ropeUnpermuted: hd !== undefined,
    readF32: async (dest, options = {}) => {
      const { rows, ...rest } = options;
      await dir.readTensorF32(info.name, dest, { ...rest, ...sliced(rows) });
      if (hd !== undefined && vector) {
        const stored = dest.slice();
        for (let i = 0; i < stored.length; i++) dest[ggufToHfRopeRow(i, hd)] = stored[i]!;
      }
      if (plan.shift !== 0) for (let i = 0; i < dest.length; i++) dest[i] = dest[i]! + plan.shift;
    },
    readBytes: (dest, options = {}) => (raw('raw'), dir.readTensorBytes(info.name, dest, sliced(options.rows))),
    readQ8_0: async (scales, qs, options = {}) => {
      raw('Q8_0');
      if (info.dtype !== 'Q8_0' || !dir.readTensorQ8_0) throw new WeightsFormatError(`${dir.name}: tensor ${info.name} is ${info.dtype}; expected Q8_0`);
      const { rows, ...rest } = options;
      return dir.readTensorQ8_0(info.name, scales, qs, { ...rest, ...sliced(rows) });
    },
  };
}

/** Stored tensors refused with a reason rather than as "unexpected". */
const REFUSED_TENSORS: Readonly<Record<string, string>> = {
  'rope_factors_long.weight': 'LongRoPE frequency factors (Phi-3 128k) are not supported',
  'rope_factors_short.weight': 'LongRoPE frequency factors (Phi-3 128k) are not supported',
};

/**
 * Resolve `dir` against `config`: check that it holds exactly the tensors of the config's roles
 * (names from dir.format: "gguf" → GGUF names, else Hugging Face names) with the right shapes and
 * decodable dtypes, and map every role to its tensor (a fused tensor serves several roles). Throws one
 * WeightsFormatError naming the file and listing every missing (with its expected shape), misshapen,
 * undecodable and unexpected tensor.
 */
export function resolveTensors(config: ModelConfig, dir: TensorDirectory): ModelTensors {
  const scheme: TensorScheme = dir.format === 'gguf' ? 'gguf' : 'hf';
  const problems: string[] = [];
  const used = new Set<string>();
  const checked = new Set<string>();
  const ignored: string[] = [];
  const byRole = new Map<TensorRole, ResolvedTensor>();
  const roles = modelRoles(config);

  for (const role of roles) {
    const { spec } = roleSpec(role);
    const shape = spec.shape(config);
    const sources = roleSources(config, scheme, role);
    const src = sources.find((s) => dir.tensors.has(s.name));
    if (src === undefined) {
      const first = sources[0]!;
      const want = first.fused ? [first.fused.rows(config), ...shape.slice(1)] : shape;
      problems.push(`missing ${first.name} [${want.join(', ')}]${first.fused ? ` (holding ${role})` : ''}`);
      continue;
    }
    const t = dir.tensors.get(src.name)!;
    used.add(src.name);
    const storedShape = src.fused ? [src.fused.rows(config), ...shape.slice(1)] : shape;
    if (!sameShape(t.shape, storedShape)) {
      if (!checked.has(src.name)) problems.push(`${src.name}: expected shape [${storedShape.join(', ')}], got ${describeTensor(t)}`);
      checked.add(src.name);
      continue;
    }
    if (!isFloatDtype(t.dtype)) {
      if (!checked.has(src.name)) problems.push(`${src.name}: dtype ${t.dtype} cannot be decoded; expected ${FLOAT_DTYPES_TEXT}`);
      checked.add(src.name);
      continue;
    }
    const plan: ReadPlan = {
      ...(src.fused ? { rows: src.fused.range(config) } : {}),
      ...(ropeUnpermuted(config, spec, scheme) ? { ropeHeadDim: config.headDim } : {}),
      shift: valueShift(config, spec, scheme),
    };
    byRole.set(role, resolved(dir, role, t, shape, plan));
  }

  // A tied model's stored head is shadowed by the embedding (transformers' tie_weights does the same).
  if (config.tiedEmbeddings) {
    for (const name of roleNames({ ...config, tiedEmbeddings: false }, scheme, 'lmHead')) {
      if (dir.tensors.has(name) && !used.has(name)) {
        used.add(name);
        ignored.push(name);
      }
    }
  }
  for (const name of dir.tensors.keys()) {
    if (used.has(name)) continue;
    if (IGNORED[scheme].test(name)) {
      ignored.push(name);
    } else if (scheme === 'gguf' && REFUSED_TENSORS[name] !== undefined) {
      problems.push(`${name}: ${REFUSED_TENSORS[name]}`);
    } else if (scheme === 'gguf' && name === 'rope_freqs.weight') {
      problems.push(`rope_freqs.weight: RoPE frequency factors are read with a llama config whose ropeScaling is frequencyFactors (this ${archOf(config)} config has ${config.ropeScaling?.type ?? 'no'} scaling)`);
    } else {
      problems.push(`unexpected ${name} ${describeTensor(dir.tensors.get(name)!)}`);
    }
  }
  if (problems.length > 0) {
    throw new WeightsFormatError(`${dir.name}: tensors do not match the model config (${problems.length} problems): ${list(problems)}`);
  }

  const get = (role: TensorRole): ResolvedTensor => {
    const t = byRole.get(role);
    if (!t) throw new WeightsFormatError(`${dir.name}: no tensor role ${JSON.stringify(role)} in this ${config.nLayers}-layer ${archOf(config)} model`);
    return t;
  };
  return {
    config,
    directory: dir,
    all: roles.map(get),
    ignored,
    get,
    has: (role) => byRole.has(role),
    shape: (role) => get(role).shape,
    dtype: (role) => get(role).info.dtype,
    storedBytes: (role) => get(role).bytes,
    tensorName: (role) => get(role).info.name,
    readF32: (role, dest, rows) => get(role).readF32(dest, rows ? { rows } : {}),
    readBytes: (role, dest, rows) => get(role).readBytes(dest, rows ? { rows } : {}),
  };
}

/**
 * A RoleReader over in-memory f32 arrays in the engine's form (tests, programmatic models): `arrays`
 * gives each role's values (row-major, roleShape elements), or undefined for a role the model does
 * not store. Lengths are checked against the table when read.
 */
export function memoryRoleReader(config: ModelConfig, arrays: (role: TensorRole) => Float32Array | undefined): RoleReader {
  const get = (role: TensorRole): Float32Array => {
    const a = arrays(role);
    if (a === undefined) throw new WeightsFormatError(`memory tensors: no tensor for role ${JSON.stringify(role)}`);
    const n = roleShape(config, role).reduce((x, d) => x * d, 1);
    if (a.length !== n) throw new WeightsFormatError(`memory tensors: role ${role}: expected ${n} values [${roleShape(config, role).join(', ')}], got ${a.length}`);
    return a;
  };
  return {
    has: (role) => arrays(role) !== undefined,
    shape: (role) => (get(role), roleShape(config, role)),
    readF32: async (role, dest, rows) => {
      const a = get(role);
      const cols = roleShape(config, role).slice(1).reduce((x, d) => x * d, 1);
      const src = rows ? a.subarray(rows[0] * cols, (rows[0] + rows[1]) * cols) : a;
      if (src.length !== dest.length) throw new ShapeError(`memory tensors: role ${role}: expected a destination of ${src.length} values, got ${dest.length}`);
      dest.set(src);
    },
  };
}

// ---- writing ----

/** One tensor as a file stores it (see tensorsToStore). */
export interface TensorToStore {
  /** The roles stored here (several for a fused tensor, in row order). */
  readonly roles: readonly TensorRole[];
  /** The first of `roles`. */
  readonly role: TensorRole;
  readonly name: string;
  readonly shape: readonly number[];
  /** f32 values in the file's layout (GGUF llama q/k rows permuted, Gemma HF norms as w = multiplier − 1). */
  readonly data: Float32Array;
  readonly kind: RoleKind;
}

/**
 * The tensors a `scheme` file of config `c` stores, in load order, from each role's values in the
 * engine's form (`data(role)`: row-major, roleShape elements): the read transforms inverted (GGUF
 * llama q/k rows permuted into interleaved RoPE order, as llama.cpp's converter does; Gemma norms
 * stored as w = multiplier − 1 in Hugging Face files) and fused tensors (Phi-3) concatenated. A tied
 * model stores no head. Writers choose dtypes (e.g. norms F32) by `kind`.
 */
export function tensorsToStore(c: ModelConfig, scheme: TensorScheme, data: (role: TensorRole) => Float32Array): TensorToStore[] {
  const out: { roles: TensorRole[]; name: string; shape: number[]; data: Float32Array; kind: RoleKind; filled: number }[] = [];
  const byName = new Map<string, (typeof out)[number]>();
  for (const role of modelRoles(c)) {
    const { spec } = roleSpec(role);
    const shape = spec.shape(c);
    let values = data(role);
    const n = shape.reduce((x, d) => x * d, 1);
    if (values.length !== n) throw new ShapeError(`tensorsToStore: role ${role}: expected ${n} values [${shape.join(', ')}], got ${values.length}`);
    if (ropeUnpermuted(c, spec, scheme)) {
      const cols = shape.length === 1 ? 1 : shape[1]!;
      const rows = shape[0]!;
      const permuted = new Float32Array(values.length);
      for (let r = 0; r < rows; r++) permuted.set(values.subarray(r * cols, (r + 1) * cols), hfToGgufRopeRow(r, c.headDim) * cols);
      values = permuted;
    }
    const shift = valueShift(c, spec, scheme);
    if (shift !== 0) values = values.map((v) => v - shift);
    const src = roleSources(c, scheme, role)[0]!;
    if (!src.fused) {
      out.push({ roles: [role], name: src.name, shape, data: values, kind: spec.kind, filled: values.length });
      continue;
    }
    const rowSize = n / shape[0]!;
    let t = byName.get(src.name);
    if (t === undefined) {
      const rows = src.fused.rows(c);
      t = { roles: [], name: src.name, shape: [rows, ...shape.slice(1)], data: new Float32Array(rows * rowSize), kind: spec.kind, filled: 0 };
      byName.set(src.name, t);
      out.push(t);
    }
    const [start] = src.fused.range(c);
    t.data.set(values, start * rowSize);
    t.roles.push(role);
    t.filled += values.length;
  }
  for (const t of out) {
    if (t.filled !== t.data.length) throw new ShapeError(`tensorsToStore: fused tensor ${t.name}: its roles ${t.roles.join(', ')} fill ${t.filled} of ${t.data.length} values`);
  }
  return out.map(({ roles, name, shape, data, kind }) => ({ roles, role: roles[0]!, name, shape, data, kind }));
}
