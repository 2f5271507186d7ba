/**
 * One call from a model location to validated config + role-resolved tensors:
 * `openHfModel(modelSource)` for a Hugging Face directory (config.json + safetensors, single or
 * sharded), `openGgufModel(byteSource)` for a llama GGUF (config and tokenizer from its metadata).
 * Nothing but headers is read; tensors are read later through `tensors`.
 */
import { loadHfConfig, type GenerationConfig, type ModelConfig } from '../config.js';
import { WeightsFormatError } from '../errors.js';
import type { ByteSource, ModelSource } from '../io/source.js';
import type { TensorDirectory } from './tensor.js';
import { GgufFile } from './gguf.js';
import { ggufTokenizerData, llamaConfigFromGguf, type GgufTokenizerData } from './gguf-llama.js';
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
  close(): Promise<void>;
}

/** Open a Hugging Face Llama directory: config.json, then model.safetensors or its sharded index. */
export async function openHfModel(model: ModelSource): Promise<OpenedHfModel> {
  const { config, generation } = await loadHfConfig(model);
  const weights = await openSafetensorsWeights(model);
  try {
    checkLayerCount(config, weights, 'config.json');
    const tensors = resolveTensors(config, weights);
    return { config, generation, weights, tensors, close: () => weights.close() };
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
  close(): Promise<void>;
}

/** Open a llama GGUF file: header, ModelConfig from metadata, tensor roles, embedded tokenizer. */
export async function openGgufModel(source: ByteSource): Promise<OpenedGgufModel> {
  const gguf = await GgufFile.open(source);
  try {
    const config = llamaConfigFromGguf(gguf);
    checkLayerCount(config, gguf, 'llama.block_count');
    const tensors = resolveTensors(config, gguf);
    const tokenizer = gguf.metadata.has('tokenizer.ggml.model') ? ggufTokenizerData(gguf) : null;
    return { config, gguf, tensors, tokenizer, close: () => gguf.close() };
  } catch (e) {
    await gguf.close();
    throw e;
  }
}
