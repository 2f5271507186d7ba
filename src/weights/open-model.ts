/**
 * One call from a model location to validated config + role-resolved tensors:
 * `openHfModel(modelSource)` for a Hugging Face directory (config.json + safetensors, single or
 * sharded), `openGgufModel(byteSource)` for a GGUF (config and tokenizer from its metadata).
 * Nothing but headers is read; tensors are read later through `tensors`. `warnings` lists what the
 * files hold that nothing reads (config.json fields, GGUF keys, ignored tensors), for the CLI to print once.
 */
import { loadHfConfig, type GenerationConfig, type ModelConfig } from '../config.js';
import { WeightsFormatError } from '../errors.js';
import type { ByteSource, ModelSource } from '../io/source.js';
import type { TensorDirectory } from './tensor.js';
import { GgufFile } from './gguf.js';
import { configFromGgufDetailed, ggufTokenizerData } from './gguf-llama.js';
import type { GgufTokenizerData } from '../tokenizer/gguf-data.js';
import { resolveTensors, type ModelTensors } from './llama-tensors.js';
import { openSafetensorsWeights, type SafetensorsWeights } from './safetensors-index.js';

/**
 * Every declared layer has tensors of its own, so a config declaring more layers than the weights
 * hold tensors is refused here, before anything works layer by layer (2^31 declared layers would
 * otherwise be named one by one until memory runs out).
 */
function checkLayerCount(config: ModelConfig, dir: TensorDirectory, configName: string): void {
  if (config.nLayers > dir.tensors.size) {
    throw new WeightsFormatError(
      `${dir.name}: ${configName} declares ${config.nLayers} layers; expected at most as many as the ${dir.tensors.size} tensors the weights hold (each layer has its own)`,
    );
  }
}

/** A model whose headers have been read and validated. Close it to release file handles. */
export interface OpenedHfModel {
  readonly config: ModelConfig;
  /** generation_config.json, when present. */
  readonly generation: GenerationConfig | null;
  readonly weights: SafetensorsWeights;
  readonly tensors: ModelTensors;
  /** What the directory holds that nothing reads: "config.json field X" / "tensor X" lines. */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

function warningsOf(fields: readonly string[], what: string, tensors: ModelTensors): string[] {
  return [
    ...(fields.length > 0 ? [`${what} not read by spechub (they do not change this architecture's math in transformers / llama.cpp): ${fields.join(', ')}`] : []),
    ...(tensors.ignored.length > 0 ? [`tensors not used: ${tensors.ignored.join(', ')}`] : []),
  ];
}

/** Open a Hugging Face Llama directory: config.json, then model.safetensors or its sharded index. */
export async function openHfModel(model: ModelSource): Promise<OpenedHfModel> {
  const { config, generation, ignoredFields } = await loadHfConfig(model);
  const weights = await openSafetensorsWeights(model);
  try {
    checkLayerCount(config, weights, 'config.json');
    const tensors = resolveTensors(config, weights);
    const warnings = warningsOf(ignoredFields, 'config.json fields', tensors);
    return { config, generation, weights, tensors, warnings, close: () => weights.close() };
  } catch (e) {
    await weights.close();
    throw e;
  }
}

/** A GGUF model whose header has been read and validated. */
export interface OpenedGgufModel {
  readonly config: ModelConfig;
  readonly gguf: GgufFile;
  readonly tensors: ModelTensors;
  /** The embedded tokenizer, or null when the file has no tokenizer.ggml.model. */
  readonly tokenizer: GgufTokenizerData | null;
  /** What the file holds that nothing reads: "<arch>.*" keys, ignored tensors. */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

/** Open a GGUF file: header, ModelConfig from metadata, tensor roles, embedded tokenizer. */
export async function openGgufModel(source: ByteSource): Promise<OpenedGgufModel> {
  const gguf = await GgufFile.open(source);
  try {
    const { config, ignoredKeys } = configFromGgufDetailed(gguf);
    checkLayerCount(config, gguf, `${config.architecture}.block_count`);
    const tensors = resolveTensors(config, gguf);
    const tokenizer = gguf.metadata.has('tokenizer.ggml.model') ? ggufTokenizerData(gguf) : null;
    const warnings = warningsOf(ignoredKeys, 'GGUF keys', tensors);
    return { config, gguf, tensors, tokenizer, warnings, close: () => gguf.close() };
  } catch (e) {
    await gguf.close();
    throw e;
  }
}
