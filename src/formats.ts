/**
 * `spechub/formats`: the file formats, without an engine. Strict readers (safetensors, sharded
 * safetensors, GGUF; config.json and generation_config.json; GGUF metadata as a config and a
 * tokenizer), writers (safetensors, GGUF with llama.cpp's tokenizer metadata), converters (llama2.c
 * checkpoints, SentencePiece BPE models), the tensor role table (role | shape | HF name | GGUF name),
 * and the float and GGML quantisation codecs. Browser-safe (bytes come from a ByteSource /
 * ModelSource: see `spechub/core`; Node's file sources are in `spechub`).
 *
 * The user-level API is `spechub/core` (src/index.ts); the engine's parts are `spechub/advanced`.
 */

// ---- config.json, generation_config.json ----
export {
  parseHfConfig, parseHfConfigDetailed, parseGenerationConfig, parseConfigJson, loadHfConfig, checkModelConfig, canonicalConfig,
  ARCHITECTURES, HARMLESS_HF_FIELDS, HF_LLAMA_DEFAULTS, MAX_LAYERS,
  type ParsedHfConfig,
} from './config.js';
export { isPlainFileName, MAX_TEXT_BYTES } from './io/source.js';

// ---- tensors, safetensors ----
export {
  f16BitsToF32Bits, f16ToF32, bf16ToF32, f32BitsToF16Bits, f32BitsToBf16Bits, f32ToF16Array, f32ToBf16Array,
  Q8_0_BLOCK, Q8_0_BLOCK_BYTES, SAFETENSORS_DTYPE_BYTES,
  type TensorDtype, type SafetensorsDtype, type FloatDtype, type TensorInfo, type TensorDirectory, type ReadF32Options, type ReadBytesOptions, type RowMap,
} from './weights/tensor.js';
export { SafetensorsFile, parseSafetensorsHeader, parseHeaderLength, MAX_HEADER_BYTES, type SafetensorsHeader } from './weights/safetensors.js';
export {
  ShardedSafetensors, parseSafetensorsIndex, openSafetensorsWeights, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE,
  type SafetensorsIndex, type SafetensorsWeights,
} from './weights/safetensors-index.js';
export { writeSafetensors, safetensorsParts, type TensorToWrite, type WritableDtype } from './weights/safetensors-writer.js';

// ---- GGUF ----
export {
  GgufFile, GGUF_VALUE_TYPES, MAX_GGUF_HEADER_BYTES,
  type GgufValue, type GgufArray, type GgufValueType, type GgufTensorInfo, type GgufHeader, type GgmlReadableType,
} from './weights/gguf.js';
export {
  configFromGguf, configFromGgufDetailed, llamaConfigFromGguf, ggufModelMetadata, ggufFormOf, ropeFreqsOf, ggufTokenizerData,
  type GgufModelConfig,
} from './weights/gguf-llama.js';
export type { GgufTokenizerData } from './tokenizer/gguf-data.js';
export { sentencePieceMerges } from './tokenizer/sentencepiece-merges.js';
export { writeGguf, ggufParts, quantizeQ8_0, dequantizeQ8_0, tokenizerGgufMetadata, type GgufWriteSpec, type GgufTensorToWrite, type TokenizerGgufOptions } from './weights/gguf-writer.js';
export { ggufTokenizer } from './tokenizer.js';
export { ggufChatTemplates } from './chat/template.js';

// ---- GGML quantisation codecs (llama.cpp's reference quantizer and dequantizer) ----
export {
  quantizeGgml, dequantizeGgml, ggmlRowBytes, ggmlFp16ToFp32, ggmlFp32ToFp16, GGML_TYPES, GGML_QUANT_TYPES, GGML_BLOCK,
  type GgmlType, type GgmlQuantType,
} from './weights/ggml-quants.js';

// ---- tensor roles: one table for loading, packing and writing ----
export {
  ROLE_TABLE, LAYER_ROLES, GLOBAL_ROLES, resolveTensors, memoryRoleReader, tensorsToStore, roleSpec, roleShape, roleNames, roleSources, modelRoles, layerRoleKinds,
  ggufToHfRopeRow, hfToGgufRopeRow,
  type RoleSpec, type StoredAs, type Presence, type RoleKind, type RoleReader, type ModelTensors, type ResolvedTensor, type TensorRole,
  type LayerRole, type GlobalRole, type TensorScheme, type TensorToStore, type RoleRows,
} from './weights/llama-tensors.js';
export { openHfModel, openGgufModel, type OpenedHfModel, type OpenedGgufModel } from './weights/open-model.js';

// ---- tokenizer and chat-template files ----
export { chatTemplatesFromTokenizerConfig, specialTokensFromTokenizerConfig, chatTemplateSet } from './chat/template.js';
export { sentencePieceBpeToTokenizerJson, type SentencePieceBpeSpec, type TokenizerFiles } from './convert/sentencepiece-bpe.js';
export type { SpecialTokenIds } from './tokenizer/spec.js';

// ---- llama2.c checkpoints ----
export {
  convertLlama2c,
  parseLlama2cHeader,
  parseLlama2cCheckpoint,
  parseLlama2cTokenizer,
  llama2cTokenizerToSentencePiece,
  llama2cCheckpointBytes,
  llama2cHfConfig,
  llama2cHfTensors,
  llama2cModelConfig,
  permuteRopeRows,
  unpermuteRopeRows,
  type Llama2cHeader,
  type Llama2cWeights,
  type Llama2cTokenizer,
  type Llama2cSentencePiece,
  type ConvertedLlama2c,
  type ConvertedFile,
  type ConvertLlama2cOptions,
} from './convert/llama2c.js';
