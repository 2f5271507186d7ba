/**
 * Loading a model (weights + config + tokenizer) into a runtime, from a Hugging Face directory
 * (any ModelSource: memory, HTTP, or files via src/node) or from a llama GGUF file.
 * Headers are validated before any tensor is read; a failed load leaves nothing half-usable.
 */
import type { GenerationConfig, ModelConfig } from '../config.js';
import { TokenizerError } from '../errors.js';
import type { ByteSource, ModelSource } from '../io/source.js';
import { openGgufModel, openHfModel } from '../weights/open-model.js';
import { llamaTensorName, type LlamaTensors, type ResolvedTensor } from '../weights/llama-tensors.js';
import { LlamaModel, type LlamaLoadOptions, type TensorReader } from '../model/llama.js';
import { Tokenizer } from '../tokenizer.js';
import type { GgufTokenizerData } from '../weights/gguf-llama.js';
import type { Runtime } from '../wasm/runtime.js';

/** A model ready to run: the forward pass, its tokenizer and where it came from. */
export interface LoadedModel {
  readonly name: string;
  readonly config: ModelConfig;
  readonly model: LlamaModel;
  readonly tokenizer: Tokenizer;
  /** generation_config.json, when the directory has one. */
  readonly generation: GenerationConfig | null;
  /** Milliseconds spent reading and packing the weights. */
  readonly loadMs: number;
}

export type LoadModelOptions = LlamaLoadOptions;

/** The model's tensors by Hugging Face name, whatever the file format (raw BF16/Q8_0 reads included). */
export function tensorReader(t: LlamaTensors): TensorReader {
  const byName = new Map<string, ResolvedTensor>();
  for (const r of t.all) byName.set(llamaTensorName('hf', r.role), r);
  // tied embeddings: both names resolve to the one stored tensor
  byName.set('model.embed_tokens.weight', t.embed);
  if (!t.config.tiedEmbeddings) byName.set('lm_head.weight', t.lmHead);
  const get = (name: string): ResolvedTensor => {
    const r = byName.get(name);
    if (!r) throw new TokenizerError(`model: no tensor ${name}`);
    return r;
  };
  return {
    shape: (name) => get(name).shape,
    readF32: (name, dest) => get(name).readF32(dest),
    dtype: (name) => get(name).info.dtype,
    readBf16: (name, dest) => get(name).readBytes(new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength)),
    readQ8_0: (name, scales, qs) => get(name).readQ8_0(scales, qs),
  };
}

/** Load a Hugging Face Llama directory (config.json, model.safetensors[ + index], tokenizer.json). */
export async function loadHfModel(rt: Runtime, source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const opened = await openHfModel(source);
  try {
    if (!(await source.exists('tokenizer.json'))) {
      throw new TokenizerError(`${source.name}: expected tokenizer.json next to config.json, found none`);
    }
    const tokenizerJson = await source.readText('tokenizer.json');
    const tokenizerConfig = (await source.exists('tokenizer_config.json')) ? await source.readText('tokenizer_config.json') : null;
    const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
    checkTokenizerFits(source.name, tokenizer, opened.config);
    const model = await LlamaModel.load(rt, opened.config, tensorReader(opened.tensors), { name: source.name, ...options });
    return { name: source.name, config: opened.config, model, tokenizer, generation: opened.generation, loadMs: performance.now() - t0 };
  } finally {
    await opened.close();
  }
}

/** Load a llama GGUF file with its embedded tokenizer. */
export async function loadGgufModel(rt: Runtime, source: ByteSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const opened = await openGgufModel(source);
  try {
    if (opened.tokenizer === null) {
      throw new TokenizerError(`${source.name}: the GGUF file embeds no tokenizer (tokenizer.ggml.model is absent)`);
    }
    const tokenizer = ggufTokenizer(source.name, opened.tokenizer);
    checkTokenizerFits(source.name, tokenizer, opened.config);
    const model = await LlamaModel.load(rt, opened.config, tensorReader(opened.tensors), { name: source.name, ...options });
    return { name: source.name, config: opened.config, model, tokenizer, generation: null, loadMs: performance.now() - t0 };
  } finally {
    await opened.close();
  }
}

/** A Tokenizer from GGUF tokenizer metadata ("llama" SentencePiece or "gpt2" byte-level BPE); see Tokenizer.fromGguf. */
export function ggufTokenizer(file: string, data: GgufTokenizerData): Tokenizer {
  return Tokenizer.fromGguf(data, file);
}

function checkTokenizerFits(file: string, tokenizer: Tokenizer, config: ModelConfig): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new TokenizerError(
      `${file}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${config.vocabSize} logits (vocab_size)`,
    );
  }
}
