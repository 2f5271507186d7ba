/**
 * Random-weight models at the dimensions of real checkpoints (SmolLM2-360M, Qwen2.5-0.5B: their
 * config.json from test/fixtures/real-configs/, origins in test/fixtures/real-configs/SOURCES.md), for the
 * decode bench:
 *
 *   model-f32.gguf     spechub's GGUF writer (test/model/arch-models.ts: the tensor-role table, llama.cpp's
 *                      metadata, a plain SentencePiece-style vocabulary, weights drawn so the next-token
 *                      distribution is peaked, as a trained model's is)
 *   model-<T>.gguf     llama.cpp's own quantizer (llama_model_quantize through test/tools/ggml-oracle.ts) on
 *                      that F32 file, for T in Q8_0, Q4_K_M, BF16: llama.cpp's type mix (Q4_K_M: Q4_K with
 *                      Q6_K for the output/tied embedding, half of attn_v and ffn_down), so spechub and
 *                      llama.cpp read the SAME file
 *   manifest.json      spec and file sizes, written last: a cache is reused only when it matches.
 *
 * Weight values do not change the speed of either engine; the vocabulary is never tokenized (the bench
 * feeds token ids).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseHfConfigDetailed, type ModelConfig } from '../../src/config.js';
import { fileByteSource } from '../../src/node/fs-source.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { ggmlTypeBytes } from '../../src/weights/gguf.js';
import { packedBytes, LINEAR_DTYPES, type LinearDtype } from '../../src/kernels/linear.js';
import { createRng } from '../../src/rng.js';
import { randomRoles, writeGgufModel } from '../../test/model/arch-models.js';
import { LLAMA_FTYPE, llamaModelQuantize } from '../../test/tools/ggml-oracle.js';

/** A model shape: a real config.json with the fields the bench changes (named in `note`). */
export interface RealShape {
  /** Cache and table name, e.g. "smollm2-360m-shape". */
  readonly name: string;
  /** Folder under test/fixtures/real-configs/. */
  readonly folder: string;
  /** Fields set (or removed, with null) on the real config. */
  readonly patch: Readonly<Record<string, unknown>>;
  /** What was changed, for the table header. */
  readonly note: string;
}

export const SMOLLM2_360M: RealShape = {
  name: 'smollm2-360m-shape',
  folder: 'smollm2-360m-instruct-resaved',
  // the resaved checkpoint is a sequence classifier with one added padding row; SmolLM2-360M-Instruct is a causal LM with 49152 rows
  patch: { architectures: ['LlamaForCausalLM'], vocab_size: 49152, pad_token_id: null, id2label: null, label2id: null, problem_type: null },
  note: 'SmolLM2-360M (llama, 32 layers, d 960, ffn 2560, 15/5 heads, vocab 49152, tied)',
};

export const QWEN25_05B: RealShape = {
  name: 'qwen2.5-0.5b-shape',
  folder: 'qwen2.5-0.5b-instruct',
  patch: {},
  note: 'Qwen2.5-0.5B (qwen2: q/k/v biases, 24 layers, d 896, ffn 4864, 14/2 heads, vocab 151936, tied)',
};

/** The draft of the SmolLM2 pair (SmolLM2-135M-Instruct → SmolLM2-360M-Instruct): the instruct models' special ids. */
export const SMOLLM2_135M: RealShape = {
  name: 'smollm2-135m-shape',
  folder: 'smollm2-135m',
  // the base model's config (bos = eos = 0); the Instruct model, the natural draft of SmolLM2-360M-Instruct, has bos 1, eos 2 as the target
  patch: { bos_token_id: 1, eos_token_id: 2 },
  note: 'SmolLM2-135M (llama, 30 layers, d 576, ffn 1536, 9/3 heads, vocab 49152, tied; special ids of the Instruct model)',
};

/** The target of the Qwen2.5 pair (Qwen2.5-0.5B-Instruct → Qwen2.5-1.5B-Instruct): its published config.json dimensions. */
export const QWEN25_15B: RealShape = {
  name: 'qwen2.5-1.5b-shape',
  folder: 'qwen2.5-0.5b-instruct',
  patch: { _name_or_path: 'Qwen/Qwen2.5-1.5B-Instruct', hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, max_window_layers: 21, tie_word_embeddings: true },
  note: 'Qwen2.5-1.5B (qwen2: q/k/v biases, 28 layers, d 1536, ffn 8960, 12/2 heads, vocab 151936, tied; the 0.5B config with the 1.5B dimensions)',
};

/** --quick: the two architectures at a few layers and small widths (caches hold them: ceilings do not bind). */
export const QUICK_SHAPES: readonly RealShape[] = [
  { name: 'quick-smollm2-shape', folder: SMOLLM2_360M.folder, patch: { ...SMOLLM2_360M.patch, num_hidden_layers: 4, hidden_size: 256, intermediate_size: 768, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 8192 }, note: 'SmolLM2-360M cut to 4 layers, d 256, ffn 768, 4/2 heads, vocab 8192' },
  { name: 'quick-qwen2.5-shape', folder: QWEN25_05B.folder, patch: { num_hidden_layers: 4, hidden_size: 256, intermediate_size: 768, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 8192, bos_token_id: 1, eos_token_id: 2 }, note: 'Qwen2.5-0.5B cut to 4 layers, d 256, ffn 768, 4/2 heads, vocab 8192' },
];

/** --quick: a smaller model of the quick SmolLM2 shape's vocabulary and special ids, as its separate draft. */
export const QUICK_DRAFT_SHAPE: RealShape = {
  name: 'quick-smollm2-draft-shape',
  folder: SMOLLM2_135M.folder,
  patch: { ...SMOLLM2_135M.patch, num_hidden_layers: 2, hidden_size: 128, intermediate_size: 384, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 64, vocab_size: 8192 },
  note: 'SmolLM2-135M cut to 2 layers, d 128, ffn 384, 2/1 heads, vocab 8192',
};

/** The file types the bench makes (llama.cpp's preset names). */
export type BenchFileType = 'F32' | 'BF16' | 'Q8_0' | 'Q6_K' | 'Q5_K_M' | 'Q4_K_M' | 'Q4_0';
export const BENCH_FILE_TYPES: readonly BenchFileType[] = ['F32', 'BF16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0'];
/** llama_ftype of each preset (llama.h: MOSTLY_BF16 = 32). */
const FTYPE: Readonly<Record<Exclude<BenchFileType, 'F32'>, number>> = {
  BF16: 32, Q8_0: LLAMA_FTYPE.Q8_0, Q6_K: LLAMA_FTYPE.Q6_K, Q5_K_M: LLAMA_FTYPE.Q5_K_M, Q4_K_M: LLAMA_FTYPE.Q4_K_M, Q4_0: LLAMA_FTYPE.Q4_0,
};

/** Bump when the generated bytes change for the same shape and seed. */
const GENERATOR_VERSION = 1;
const FIXTURES = new URL('../../../test/fixtures/real-configs/', import.meta.url);

/** The config.json of a shape (real fields, patched). */
export function shapeConfigJson(s: RealShape): Record<string, unknown> {
  const json = JSON.parse(readFileSync(new URL(`${s.folder}/config.json`, FIXTURES), 'utf8')) as Record<string, unknown>;
  for (const [k, v] of Object.entries(s.patch)) {
    if (v === null) delete json[k];
    else json[k] = v;
  }
  return json;
}

export function shapeConfig(s: RealShape): ModelConfig {
  return parseHfConfigDetailed(shapeConfigJson(s), `${s.folder}/config.json`).config;
}

/** One cached model set. */
export interface ShapeFiles {
  readonly dir: string;
  readonly shape: RealShape;
  readonly config: ModelConfig;
  readonly paths: Readonly<Partial<Record<BenchFileType, string>>>;
  readonly sizes: Readonly<Record<string, number>>;
}

interface Manifest {
  readonly key: string;
  readonly sizes: Record<string, number>;
}

/**
 * The files of `shape` for `types` under `cacheRoot` (F32 always: the others are quantised from it):
 * reused when present with their recorded sizes, else made (seconds to a few minutes at real shapes:
 * llama.cpp's quantizer runs on one thread).
 */
export function ensureShapeFiles(cacheRoot: string, shape: RealShape, types: readonly BenchFileType[], seed: number, log: (s: string) => void): ShapeFiles {
  const config = shapeConfig(shape);
  const key = createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, config: shapeConfigJson(shape), seed })).digest('hex').slice(0, 16);
  const dir = join(cacheRoot, `${shape.name}-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  let sizes: Record<string, number> = {};
  if (existsSync(manifestPath)) {
    try {
      const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
      if (m.key === key) sizes = Object.fromEntries(Object.entries(m.sizes).filter(([f, n]) => existsSync(join(dir, f)) && statSync(join(dir, f)).size === n));
    } catch {
      sizes = {};
    }
  } else if (existsSync(cacheRoot)) {
    // other generations of this shape are stale: free their disk space
    for (const d of readdirSync(cacheRoot)) {
      if (d.startsWith(`${shape.name}-`) && d !== `${shape.name}-${key}`) {
        log(`models: removing stale ${join(cacheRoot, d)}`);
        rmSync(join(cacheRoot, d), { recursive: true, force: true });
      }
    }
  }
  mkdirSync(dir, { recursive: true });
  const file = (t: BenchFileType) => `model-${t.toLowerCase()}.gguf`;
  const save = () => writeFileSync(manifestPath, JSON.stringify({ key, sizes } satisfies Manifest, null, 2) + '\n');
  const t0 = performance.now();
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const f32 = join(dir, file('F32'));
  if (sizes[file('F32')] === undefined) {
    log(`models: writing ${shape.name} F32 (random weights, seed ${seed}) into ${dir}`);
    const tmp = `${f32}.partial`;
    writeGgufModel(tmp, config, randomRoles(config, seed));
    renameSync(tmp, f32);
    sizes[file('F32')] = statSync(f32).size;
    save();
    log(`models: ${file('F32')} written (${since()})`);
  }
  const paths: Partial<Record<BenchFileType, string>> = { F32: f32 };
  for (const t of types) {
    if (t === 'F32') continue;
    const path = join(dir, file(t));
    paths[t] = path;
    if (sizes[file(t)] !== undefined) continue;
    log(`models: llama.cpp quantizer: ${file('F32')} → ${file(t)}`);
    const tmp = `${path}.partial`;
    llamaModelQuantize(f32, tmp, FTYPE[t]);
    renameSync(tmp, path);
    sizes[file(t)] = statSync(path).size;
    save();
    log(`models: ${file(t)} written (${since()})`);
  }
  if (Object.keys(sizes).length > 0) log(`models: ${shape.name} ready in ${dir}`);
  return { dir, shape, config, paths, sizes };
}

/** What one decode step streams from a GGUF: its matrices by type, and their bytes in each engine's layout. */
export interface StreamedWeights {
  /** Tensor count per GGML type among the matrices a token multiplies. */
  readonly types: Readonly<Record<string, number>>;
  /** Bytes as stored in the file (what llama.cpp streams). */
  readonly fileBytes: number;
  /** Bytes as spechub packs them (`packedBytes` of each matrix in its stored type). */
  readonly spechubBytes: number;
  /** Weights (elements) multiplied per token. */
  readonly weights: number;
  /** Weights of the head (output.weight, or the tied embedding), which a prompt row does not multiply. */
  readonly headWeights: number;
  /** Weights per GGML type that a prompt token multiplies in a prefill (every matrix but the head). */
  readonly prefillWeightsByType: Readonly<Record<string, number>>;
}

/**
 * The matrices a decode step reads: every 2-D tensor but the token embedding (one row is read), and the
 * embedding itself when there is no output.weight (tied: it is the lm_head). Norms and biases (1-D) and
 * the KV cache (small at these context lengths) are left out.
 */
export async function streamedWeights(path: string): Promise<StreamedWeights> {
  const src = await fileByteSource(path);
  try {
    const f = await GgufFile.open(src);
    const tied = !f.tensors.has('output.weight');
    const types: Record<string, number> = {};
    let fileBytes = 0;
    let spechubBytes = 0;
    let weights = 0;
    let headWeights = 0;
    const prefillWeightsByType: Record<string, number> = {};
    for (const t of f.tensors.values()) {
      if (t.shape.length !== 2) continue;
      if (t.name === 'token_embd.weight' && !tied) continue;
      const [rows, cols] = t.shape as [number, number];
      types[t.dtype] = (types[t.dtype] ?? 0) + 1;
      fileBytes += ggmlTypeBytes(t.dtype, rows * cols);
      spechubBytes += (LINEAR_DTYPES as readonly string[]).includes(t.dtype) ? packedBytes(t.dtype as LinearDtype, rows, cols) : ggmlTypeBytes(t.dtype, rows * cols);
      weights += rows * cols;
      if (t.name === 'output.weight' || t.name === 'token_embd.weight') headWeights += rows * cols;
      else prefillWeightsByType[t.dtype] = (prefillWeightsByType[t.dtype] ?? 0) + rows * cols;
    }
    return { types, fileBytes, spechubBytes, weights, headWeights, prefillWeightsByType };
  } finally {
    await src.close?.();
  }
}

/** A deterministic prompt of `n` token ids of the plain vocabulary's ordinary pieces (BOS first). */
export function benchPromptIds(c: ModelConfig, n: number, seed: number): number[] {
  const rng = createRng(seed);
  const ids = [1];
  while (ids.length < n) ids.push(259 + Math.floor(rng.next() * (c.vocabSize - 259)));
  return ids;
}

/** Parameters of a config (every tensor; the tied embedding once). */
export function parameterCountOf(c: ModelConfig, streamed: StreamedWeights): number {
  // streamed counts the tied embedding as the head; norms and biases are a rounding error here
  return streamed.weights + (2 * c.nLayers + 1) * c.dim;
}
