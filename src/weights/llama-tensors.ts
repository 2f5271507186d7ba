/**
 * The tensor-role table: the one place that knows which tensors a model has, their shapes, their
 * names in Hugging Face (safetensors) and GGUF files, and the transforms between the stored form and
 * the form the engine computes with. Loading (`resolveTensors`), packing (LlamaModel asks for roles,
 * never names) and writing (`tensorsToStore`: our safetensors/GGUF writers in tests and benches, the
 * llama2.c converter) all read it.
 *
 *   role        shape                      Hugging Face name                               GGUF name
 *   embed       [vocabSize, dim]           model.embed_tokens.weight                       token_embd.weight
 *   per layer L:
 *   attnNorm    [dim]                      model.layers.L.input_layernorm.weight           blk.L.attn_norm.weight
 *   wq          [nHeads·headDim, dim]      model.layers.L.self_attn.q_proj.weight          blk.L.attn_q.weight   (rows un-permuted)
 *   wk          [nKvHeads·headDim, dim]    model.layers.L.self_attn.k_proj.weight          blk.L.attn_k.weight   (rows un-permuted)
 *   wv          [nKvHeads·headDim, dim]    model.layers.L.self_attn.v_proj.weight          blk.L.attn_v.weight
 *   wo          [dim, nHeads·headDim]      model.layers.L.self_attn.o_proj.weight          blk.L.attn_output.weight
 *   ffnNorm     [dim]                      model.layers.L.post_attention_layernorm.weight  blk.L.ffn_norm.weight
 *   wGate       [hiddenDim, dim]           model.layers.L.mlp.gate_proj.weight             blk.L.ffn_gate.weight
 *   wUp         [hiddenDim, dim]           model.layers.L.mlp.up_proj.weight               blk.L.ffn_up.weight
 *   wDown       [dim, hiddenDim]           model.layers.L.mlp.down_proj.weight             blk.L.ffn_down.weight
 *   norm        [dim]                      model.norm.weight                               output_norm.weight
 *   lmHead      [vocabSize, dim]           lm_head.weight                                  output.weight
 *
 * Presence: every role is required, optional (present iff the config says so: `enabled`) or absent
 * for an architecture. lmHead is optional: absent when config.tiedEmbeddings (the embedding serves as
 * the head). Tied checkpoints may store the embedding under lm_head.weight only (TinyStories-656K,
 * with __metadata__ aliasing model.embed_tokens.weight to it): embed's second Hugging Face name. A
 * stored lm_head.weight / output.weight of a tied model is ignored (transformers' tie_weights does
 * the same).
 *
 * Ignored extras (harmless, listed in `ignored`): model.layers.L.self_attn.rotary_emb.inv_freq
 * (RoPE frequencies old transformers saved as buffers), blk.L.attn_rot_embd(.weight) (their GGUF
 * twin). Any other unused tensor is an error, as is a missing tensor, a wrong shape, or a dtype
 * other than F32/F16/BF16/Q8_0. All problems are reported together, in one WeightsFormatError naming
 * the file, the tensor and the expected shape.
 *
 * Transforms (applied by reads, inverted by tensorsToStore):
 * - RoPE row order (roles marked `ropeRows`, GGUF files of llama): the engine rotates Hugging Face
 *   style (x[i], x[i + headDim/2]); llama.cpp's converter permutes q/k rows of every head into the
 *   interleaved order (x[2i], x[2i+1]):
 *     HF row  h·headDim + half·headDim/2 + i   is stored at GGUF row   h·headDim + 2i + half
 *   (i < headDim/2, half ∈ {0, 1}). Reads un-permute (ggufToHfRopeRow), so both formats give the same matrix.
 */
import { ShapeError, WeightsFormatError } from '../errors.js';
import type { ModelConfig } from '../config.js';
import {
  describeTensor,
  isFloatDtype,
  type ReadBytesOptions,
  type ReadF32Options,
  type RowMap,
  type TensorDirectory,
  type TensorDtype,
  type TensorInfo,
} from './tensor.js';

/** Roles every layer may have, in load order. */
export const LAYER_ROLES = ['attnNorm', 'wq', 'wk', 'wv', 'wo', 'ffnNorm', 'wGate', 'wUp', 'wDown'] as const;
export type LayerRole = (typeof LAYER_ROLES)[number];
/** Roles outside the layers. */
export const GLOBAL_ROLES = ['embed', 'norm', 'lmHead'] as const;
export type GlobalRole = (typeof GLOBAL_ROLES)[number];
/** "embed", "norm", "lmHead" or "layers.<L>.<layer role>". */
export type TensorRole = GlobalRole | `layers.${number}.${LayerRole}`;
/** Naming scheme: Hugging Face (safetensors) or GGUF. */
export type TensorScheme = 'hf' | 'gguf';
/** Whether an architecture has a role: always, when the config says so (RoleSpec.enabled), or never. */
export type Presence = 'required' | 'optional' | 'absent';
/** What a role's values are (writers store norms and biases as F32, llama.cpp's convention). */
export type RoleKind = 'embedding' | 'matrix' | 'norm';

/** Where a role is stored: a tensor name ("{L}" = layer index). */
export interface StoredAs {
  readonly name: string;
}

/** One row of the role table. */
export interface RoleSpec {
  readonly role: GlobalRole | LayerRole;
  /** Once per layer ("layers.L.<role>") or once per model. */
  readonly perLayer: boolean;
  readonly kind: RoleKind;
  /** Row-major shape for a config. */
  readonly shape: (c: ModelConfig) => number[];
  /** Presence per architecture (spechub's Llama is the only one so far). */
  readonly presence: Presence;
  /** For optional roles: whether this config has it. */
  readonly enabled?: (c: ModelConfig) => boolean;
  /** Hugging Face names, first found wins (several: alternative layouts of the same role). */
  readonly hf: (c: ModelConfig) => readonly StoredAs[];
  /** GGUF names, first found wins. */
  readonly gguf: (c: ModelConfig) => readonly StoredAs[];
  /** q/k projections: GGUF llama files store their rows in interleaved RoPE order. */
  readonly ropeRows?: boolean;
}

const at = (name: string): readonly StoredAs[] => [{ name }];
const qDimOf = (c: ModelConfig): number => c.nHeads * c.headDim;
const kvDimOf = (c: ModelConfig): number => c.nKvHeads * c.headDim;

/** The role table (see the module comment). Order: load order within a layer / the model. */
export const ROLE_TABLE: readonly RoleSpec[] = [
  {
    role: 'embed', perLayer: false, kind: 'embedding', presence: 'required',
    shape: (c) => [c.vocabSize, c.dim],
    hf: (c) => (c.tiedEmbeddings ? [{ name: 'model.embed_tokens.weight' }, { name: 'lm_head.weight' }] : at('model.embed_tokens.weight')),
    gguf: () => at('token_embd.weight'),
  },
  {
    role: 'attnNorm', perLayer: true, kind: 'norm', presence: 'required',
    shape: (c) => [c.dim],
    hf: () => at('model.layers.{L}.input_layernorm.weight'),
    gguf: () => at('blk.{L}.attn_norm.weight'),
  },
  {
    role: 'wq', perLayer: true, kind: 'matrix', presence: 'required', ropeRows: true,
    shape: (c) => [qDimOf(c), c.dim],
    hf: () => at('model.layers.{L}.self_attn.q_proj.weight'),
    gguf: () => at('blk.{L}.attn_q.weight'),
  },
  {
    role: 'wk', perLayer: true, kind: 'matrix', presence: 'required', ropeRows: true,
    shape: (c) => [kvDimOf(c), c.dim],
    hf: () => at('model.layers.{L}.self_attn.k_proj.weight'),
    gguf: () => at('blk.{L}.attn_k.weight'),
  },
  {
    role: 'wv', perLayer: true, kind: 'matrix', presence: 'required',
    shape: (c) => [kvDimOf(c), c.dim],
    hf: () => at('model.layers.{L}.self_attn.v_proj.weight'),
    gguf: () => at('blk.{L}.attn_v.weight'),
  },
  {
    role: 'wo', perLayer: true, kind: 'matrix', presence: 'required',
    shape: (c) => [c.dim, qDimOf(c)],
    hf: () => at('model.layers.{L}.self_attn.o_proj.weight'),
    gguf: () => at('blk.{L}.attn_output.weight'),
  },
  {
    role: 'ffnNorm', perLayer: true, kind: 'norm', presence: 'required',
    shape: (c) => [c.dim],
    hf: () => at('model.layers.{L}.post_attention_layernorm.weight'),
    gguf: () => at('blk.{L}.ffn_norm.weight'),
  },
  {
    role: 'wGate', perLayer: true, kind: 'matrix', presence: 'required',
    shape: (c) => [c.hiddenDim, c.dim],
    hf: () => at('model.layers.{L}.mlp.gate_proj.weight'),
    gguf: () => at('blk.{L}.ffn_gate.weight'),
  },
  {
    role: 'wUp', perLayer: true, kind: 'matrix', presence: 'required',
    shape: (c) => [c.hiddenDim, c.dim],
    hf: () => at('model.layers.{L}.mlp.up_proj.weight'),
    gguf: () => at('blk.{L}.ffn_up.weight'),
  },
  {
    role: 'wDown', perLayer: true, kind: 'matrix', presence: 'required',
    shape: (c) => [c.dim, c.hiddenDim],
    hf: () => at('model.layers.{L}.mlp.down_proj.weight'),
    gguf: () => at('blk.{L}.ffn_down.weight'),
  },
  {
    role: 'norm', perLayer: false, kind: 'norm', presence: 'required',
    shape: (c) => [c.dim],
    hf: () => at('model.norm.weight'),
    gguf: () => at('output_norm.weight'),
  },
  {
    role: 'lmHead', perLayer: false, kind: 'matrix', presence: 'optional',
    enabled: (c) => !c.tiedEmbeddings,
    shape: (c) => [c.vocabSize, c.dim],
    hf: () => at('lm_head.weight'),
    gguf: () => at('output.weight'),
  },
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
  return spec.presence === 'required' || (spec.presence === 'optional' && (spec.enabled?.(c) ?? false));
}

/** The row-major shape of `role` for config `c`. */
export function roleShape(c: ModelConfig, role: TensorRole): number[] {
  return roleSpec(role).spec.shape(c);
}

/** Every role config `c` has, in load order: embed, layer 0 … layer n−1, norm, lmHead. */
export function modelRoles(c: ModelConfig): TensorRole[] {
  const roles: TensorRole[] = [];
  for (const s of ROLE_TABLE) if (!s.perLayer && s.role === 'embed' && hasRole(c, s)) roles.push('embed');
  for (let l = 0; l < c.nLayers; l++) {
    for (const s of ROLE_TABLE) if (s.perLayer && hasRole(c, s)) roles.push(`layers.${l}.${s.role as LayerRole}`);
  }
  for (const s of ROLE_TABLE) if (!s.perLayer && s.role !== 'embed' && hasRole(c, s)) roles.push(s.role as GlobalRole);
  return roles;
}

/** The names `role` may be stored under in `scheme`, first choice first. */
export function roleNames(c: ModelConfig, scheme: TensorScheme, role: TensorRole): string[] {
  const { spec, layer } = roleSpec(role);
  return (scheme === 'hf' ? spec.hf(c) : spec.gguf(c)).map((s) => s.name.replace('{L}', String(layer)));
}

/** Whether reads of `spec` from a `scheme` file un-permute interleaved RoPE rows. */
function ropeUnpermuted(spec: RoleSpec, scheme: TensorScheme): boolean {
  return spec.ropeRows === true && scheme === 'gguf';
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
 * a loader keep weights as stored: BF16 bits for `dtype: 'bf16'`, Q8_0 blocks for `dtype: 'int8'`.
 * Without them every weight goes through readF32. Values are in the engine's form (Hugging Face row
 * order, transforms applied).
 */
export interface RoleReader {
  /** Whether the model has `role` (optional roles). */
  has(role: TensorRole): boolean;
  /** Row-major shape of `role` (throws WeightsFormatError if absent). */
  shape(role: TensorRole): readonly number[];
  /** Decode `role` into dest (exactly its element count). */
  readF32(role: TensorRole, dest: Float32Array): Promise<void>;
  /** Stored element type of `role`. */
  dtype?(role: TensorRole): TensorDtype;
  /** A BF16 tensor's bit patterns, row-major (dest: exactly its element count). */
  readBf16?(role: TensorRole, dest: Uint16Array): Promise<void>;
  /** A Q8_0 tensor as planar scales [rows, cols/32] (f16 values) and quants [rows, cols]. */
  readQ8_0?(role: TensorRole, scales: Float32Array, qs: Int8Array): Promise<void>;
}

/** A role resolved to a stored tensor; reads give the engine's layout whatever the file. */
export interface ResolvedTensor {
  readonly role: TensorRole;
  /** The stored tensor (its name, dtype, file, offset). */
  readonly info: TensorInfo;
  /** Row-major shape of the role (roleShape). */
  readonly shape: readonly number[];
  /** Whether reads un-permute GGUF interleaved-RoPE rows into rotate-half order. */
  readonly ropeUnpermuted: boolean;
  /** Decode to f32 into dest ([elements of shape]). */
  readF32(dest: Float32Array, options?: Omit<ReadF32Options, 'rowMap' | 'rows'>): Promise<void>;
  /** The stored bytes, rows in Hugging Face order (Q8_0: 34-byte blocks). */
  readBytes(dest: Uint8Array): Promise<void>;
  /** Q8_0 only: planar scales [rows, cols/32] and quants [rows, cols], rows in Hugging Face order. */
  readQ8_0(scales: Float32Array, qs: Int8Array, options?: Omit<ReadF32Options, 'rowMap' | 'rows'>): Promise<void>;
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
  readBf16(role: TensorRole, dest: Uint16Array): Promise<void>;
  readQ8_0(role: TensorRole, scales: Float32Array, qs: Int8Array): Promise<void>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const LIST_MAX = 8;
function list(items: string[]): string {
  return items.length <= LIST_MAX ? items.join('; ') : `${items.slice(0, LIST_MAX).join('; ')}; … (${items.length - LIST_MAX} more)`;
}

function resolved(dir: TensorDirectory, role: TensorRole, info: TensorInfo, shape: readonly number[], rowMap: RowMap | undefined): ResolvedTensor {
  const base: ReadBytesOptions = rowMap ? { rowMap } : {};
  return {
    role,
    info,
    shape,
    ropeUnpermuted: rowMap !== undefined,
    readF32: (dest, options) => dir.readTensorF32(info.name, dest, { ...options, ...base }),
    readBytes: (dest) => dir.readTensorBytes(info.name, dest, base),
    readQ8_0: async (scales, qs, options) => {
      if (info.dtype !== 'Q8_0' || !dir.readTensorQ8_0) throw new WeightsFormatError(`${dir.name}: tensor ${info.name} is ${info.dtype}; expected Q8_0`);
      return dir.readTensorQ8_0(info.name, scales, qs, { ...options, ...base });
    },
  };
}

/**
 * Resolve `dir` against `config`: check that it holds exactly the tensors of the config's roles
 * (names from dir.format: "gguf" → GGUF names, else Hugging Face names) with the right shapes and
 * decodable dtypes, and map every role to its tensor. Throws one WeightsFormatError naming the
 * file and listing every missing (with its expected shape), misshapen, undecodable and unexpected tensor.
 */
export function resolveTensors(config: ModelConfig, dir: TensorDirectory): ModelTensors {
  const scheme: TensorScheme = dir.format === 'gguf' ? 'gguf' : 'hf';
  const problems: string[] = [];
  const used = new Set<string>();
  const ignored: string[] = [];
  const byRole = new Map<TensorRole, ResolvedTensor>();
  const roles = modelRoles(config);

  for (const role of roles) {
    const { spec } = roleSpec(role);
    const shape = spec.shape(config);
    const names = roleNames(config, scheme, role);
    const name = names.find((n) => dir.tensors.has(n));
    if (name === undefined) {
      problems.push(`missing ${names[0]} [${shape.join(', ')}]`);
      continue;
    }
    const t = dir.tensors.get(name)!;
    used.add(name);
    if (!sameShape(t.shape, shape)) {
      problems.push(`${name}: expected shape [${shape.join(', ')}], got ${describeTensor(t)}`);
      continue;
    }
    if (!isFloatDtype(t.dtype)) {
      problems.push(`${name}: dtype ${t.dtype} cannot be decoded; expected F32, F16, BF16 or Q8_0`);
      continue;
    }
    let rowMap: RowMap | undefined;
    if (ropeUnpermuted(spec, scheme)) {
      const hd = config.headDim;
      rowMap = (r) => ggufToHfRopeRow(r, hd);
    }
    byRole.set(role, resolved(dir, role, t, shape, rowMap));
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
    } else if (scheme === 'gguf' && name === 'rope_freqs.weight') {
      problems.push('rope_freqs.weight: RoPE frequency scaling (Llama 3.1 style) is not supported');
    } else {
      problems.push(`unexpected ${name} ${describeTensor(dir.tensors.get(name)!)}`);
    }
  }
  if (problems.length > 0) {
    throw new WeightsFormatError(`${dir.name}: tensors do not match the model config (${problems.length} problems): ${list(problems)}`);
  }

  const get = (role: TensorRole): ResolvedTensor => {
    const t = byRole.get(role);
    if (!t) throw new WeightsFormatError(`${dir.name}: no tensor role ${JSON.stringify(role)} in this ${config.nLayers}-layer model`);
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
    readF32: (role, dest) => get(role).readF32(dest),
    readBf16: (role, dest) => get(role).readBytes(new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength)),
    readQ8_0: (role, scales, qs) => get(role).readQ8_0(scales, qs),
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
    readF32: async (role, dest) => dest.set(get(role)),
  };
}

// ---- writing ----

/** One tensor as a file stores it (see tensorsToStore). */
export interface TensorToStore {
  /** The role stored here. */
  readonly role: TensorRole;
  readonly name: string;
  readonly shape: readonly number[];
  /** f32 values in the file's layout (GGUF llama q/k rows permuted). */
  readonly data: Float32Array;
  readonly kind: RoleKind;
}

/**
 * The tensors a `scheme` file of config `c` stores, in load order, from each role's values in the
 * engine's form (`data(role)`: row-major, roleShape elements): the read transforms inverted (GGUF
 * llama q/k rows permuted into interleaved RoPE order, as llama.cpp's converter does). A tied model
 * stores no head. Writers choose dtypes (e.g. norms F32) by `kind`.
 */
export function tensorsToStore(c: ModelConfig, scheme: TensorScheme, data: (role: TensorRole) => Float32Array): TensorToStore[] {
  return modelRoles(c).map((role) => {
    const { spec } = roleSpec(role);
    const shape = spec.shape(c);
    let values = data(role);
    const n = shape.reduce((x, d) => x * d, 1);
    if (values.length !== n) throw new ShapeError(`tensorsToStore: role ${role}: expected ${n} values [${shape.join(', ')}], got ${values.length}`);
    if (ropeUnpermuted(spec, scheme)) {
      const [rows, cols] = shape as [number, number];
      const out = new Float32Array(values.length);
      for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols, (r + 1) * cols), hfToGgufRopeRow(r, c.headDim) * cols);
      values = out;
    }
    return { role, name: roleNames(c, scheme, role)[0]!, shape, data: values, kind: spec.kind };
  });
}
