/**
 * Loading a model (weights + config + tokenizer) into a runtime, from a Hugging Face directory
 * (any ModelSource: memory, HTTP, or files via src/node) or from a llama GGUF file.
 * Headers are validated before any tensor is read; a failed load leaves nothing half-usable.
 */
import type { GenerationConfig, ModelConfig } from '../config.js';
import { SpechubError, TokenizerError } from '../errors.js';
import { checkBf16Values, checkF32Values, JS_FINDER, WeightRange, type ValueFinder } from '../weights/tensor.js';
import { wasmFinder } from '../kernels/scan.js';
import type { ByteSource, ModelSource } from '../io/source.js';
import { openGgufModel, openHfModel } from '../weights/open-model.js';
import { LlamaModel, type LlamaLoadOptions } from '../model/llama.js';
import type { ModelTensors, RoleReader } from '../weights/llama-tensors.js';
import { ggufTokenizer, Tokenizer } from '../tokenizer.js';
import { parseJsonInput } from '../tokenizer/spec.js';
import { chatTemplatesFromTokenizerConfig, ggufChatTemplates, type ChatTemplateSet } from '../chat/template.js';
import type { Runtime } from '../wasm/runtime.js';

/** A model ready to run: the forward pass, its tokenizer and where it came from. */
export interface LoadedModel {
  readonly name: string;
  readonly config: ModelConfig;
  readonly model: LlamaModel;
  readonly tokenizer: Tokenizer;
  /** generation_config.json, when the directory has one. */
  readonly generation: GenerationConfig | null;
  /**
   * The chat templates the model ships (chat_template.jinja, tokenizer_config.json chat_template,
   * or GGUF tokenizer.chat_template), or null when it ships none.
   */
  readonly chatTemplates: ChatTemplateSet | null;
  /** Milliseconds spent reading and packing the weights. */
  readonly loadMs: number;
  /**
   * What loading found worth saying but not wrong, one line each; the CLI prints them once to
   * stderr: what the files hold that spechub does not read (config.json fields or GGUF keys that do
   * not change this architecture's math, ignored tensors), and weights beyond any sane range
   * (|w| > 65504, the f16 range; see isWeightRangeWarning), which will likely make generation stop
   * with a NumericError.
   */
  readonly warnings: readonly string[];
}

/**
 * Options of `loadHfModel` / `loadGgufModel` / `loadModelFromPath`: `maxBatch` (rows one forward
 * takes: prompt chunk or tree size), `capacity` (KV positions), `dtype` (weight type), `executor`,
 * `onProgress` (weights read so far), … (see LlamaLoadOptions), and `tokenizer` (one already built
 * from these files, say for a self-draft).
 */
export type LoadModelOptions = LlamaLoadOptions & {
  /**
   * The model's tokenizer, when the caller holds it already (an int8 / int4 copy of a loaded model used
   * as its self-draft): used as it is, and the files' tokenizer is not built again. It must be the
   * tokenizer of these files; only its size is checked against the model's logits.
   */
  tokenizer?: Tokenizer;
};

/**
 * `t` as LlamaModel reads it, every value checked: non-finite weights are a WeightsFormatError
 * (BF16 bits kept as stored included), and finite values beyond a sane magnitude are counted in
 * `range` (see WeightRange) for the load's warnings. `finder` finds the values that need a look (default
 * a JavaScript loop; the loaders pass wasmFinder, the runtime's SIMD scans over its staging memory).
 */
export function checkedReader(t: ModelTensors, range: WeightRange, finder: ValueFinder = JS_FINDER): RoleReader {
  return {
    has: (role) => t.has(role),
    shape: (role) => t.shape(role),
    dtype: (role) => t.dtype(role),
    storedBytes: (role) => t.get(role).bytes,
    tensorName: (role) => t.get(role).info.name,
    readF32: (role, dest, rows) => t.get(role).readF32(dest, { range, finder, ...(rows ? { rows } : {}) }),
    // the stored bytes (kept when the engine computes in the stored type), checked as readF32 checks
    // values: F32 is read as f32 (the same bytes), BF16 bits are scanned; F16 cannot exceed the range,
    // a non-finite F16 value or GGML scale is refused when packed, and GGML values (d·q, which can pass
    // ±65504 only with scales no quantiser makes for sane weights) are checked when they are decoded
    // (checkDecoded), not when kept as blocks
    readBytes: async (role, dest, rows) => {
      const r = t.get(role);
      const opts = rows ? { rows } : {};
      if (r.info.dtype === 'F32') return r.readF32(new Float32Array(dest.buffer, dest.byteOffset, dest.byteLength / 4), { range, finder, ...opts });
      await r.readBytes(dest, opts);
      if (r.info.dtype === 'BF16') checkBf16Values(r.info.file, r.info.name, new Uint16Array(dest.buffer, dest.byteOffset, dest.byteLength / 2), range, finder);
    },
    checkDecoded: (role, values, rows) => {
      const r = t.get(role);
      checkF32Values(r.info.file, r.info, values, rows ? rows[0] * (values.length / rows[1]) : 0, range, finder);
    },
  };
}

/** Load a Hugging Face model directory (config.json, model.safetensors[ + index], tokenizer.json). */
export async function loadHfModel(rt: Runtime, source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const opened = await openHfModel(source);
  try {
    // a model that cannot fit is refused now, before its tokenizer or any weight is read
    const { tokenizer: given, ...modelOptions } = options;
    LlamaModel.checkMemory(rt, opened.config, { name: source.name, storedTypes: (role) => opened.tensors.dtype(role), ...modelOptions });
    if (given === undefined && !(await source.exists('tokenizer.json'))) {
      throw new TokenizerError(`${source.name}: expected tokenizer.json next to config.json, found none`);
    }
    const tokenizerConfig = (await source.exists('tokenizer_config.json')) ? await source.readText('tokenizer_config.json') : null;
    const tokenizer = given ?? await (async () => {
      const tokenizerJson = await source.readText('tokenizer.json');
      return naming(source.name, `${source.name}/`, () => Tokenizer.fromJson(tokenizerJson, tokenizerConfig));
    })();
    checkTokenizerFits(source.name, tokenizer, opened.config);
    const jinja = (await source.exists('chat_template.jinja')) ? await source.readText('chat_template.jinja') : null;
    const chatTemplates = chatTemplatesFromTokenizerConfig(tokenizerConfig === null ? {} : parseJsonInput(tokenizerConfig, `${source.name}/tokenizer_config.json`), jinja, `${source.name}/tokenizer_config.json`);
    const range = new WeightRange();
    const model = await naming(source.name, `${source.name}: `, () => LlamaModel.load(rt, opened.config, checkedReader(opened.tensors, range, wasmFinder(rt)), { name: source.name, ...modelOptions }));
    return { name: source.name, config: opened.config, model, tokenizer, generation: opened.generation, chatTemplates, loadMs: performance.now() - t0, warnings: [...opened.warnings, ...warningsOf(range)] };
  } finally {
    await opened.close();
  }
}

/** Load a GGUF file with its embedded tokenizer. */
export async function loadGgufModel(rt: Runtime, source: ByteSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const opened = await openGgufModel(source);
  try {
    const { tokenizer: given, ...modelOptions } = options;
    LlamaModel.checkMemory(rt, opened.config, { name: source.name, storedTypes: (role) => opened.tensors.dtype(role), ...modelOptions });
    if (opened.tokenizer === null) {
      throw new TokenizerError(`${source.name}: the GGUF file embeds no tokenizer (tokenizer.ggml.model is absent)`);
    }
    const tokenizer = given ?? await naming(source.name, `${source.name}: embedded tokenizer: `, () => ggufTokenizer(source.name, opened.tokenizer!));
    checkTokenizerFits(source.name, tokenizer, opened.config);
    const chatTemplates = ggufChatTemplates(opened.gguf, opened.tokenizer);
    const range = new WeightRange();
    const model = await naming(source.name, `${source.name}: `, () => LlamaModel.load(rt, opened.config, checkedReader(opened.tensors, range, wasmFinder(rt)), { name: source.name, ...modelOptions }));
    return { name: source.name, config: opened.config, model, tokenizer, generation: null, chatTemplates, loadMs: performance.now() - t0, warnings: [...opened.warnings, ...warningsOf(range)] };
  } finally {
    await opened.close();
  }
}


/**
 * Run `step` (part of loading the model at `name`); a SpechubError whose message does not start with
 * the model's name (a tokenizer built from text, a weight that cannot be packed) is re-thrown, same
 * class, with `prefix` in front, so every load error names its file first.
 */
async function naming<T>(name: string, prefix: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof SpechubError && !e.message.startsWith(name)) {
      const Class = e.constructor as new (message: string, options?: ErrorOptions) => SpechubError;
      throw new Class(`${prefix}${e.message}`, { cause: e });
    }
    throw e;
  }
}

function warningsOf(range: WeightRange): string[] {
  const w = range.describe();
  return w === null ? [] : [w];
}

function checkTokenizerFits(file: string, tokenizer: Tokenizer, config: ModelConfig): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new TokenizerError(
      `${file}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize} logits (vocab_size)`,
    );
  }
}
