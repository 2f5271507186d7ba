/**
 * spechub core: browser-safe public API. Nothing here touches Node-only modules; file loading
 * and the CLI live in src/node.ts and src/cli.ts.
 */
export * from './errors.js';
export { createRng, type Rng } from './rng.js';
export { Runtime, Arena, detectFeatures, type Region, type RuntimeOptions } from './wasm/runtime.js';
export { wasmFileName, type Kernels, type WasmBuild } from './wasm/kernels.js';
export { Tokenizer, StreamDecoder, type EncodeOptions, type DecodeOptions, type TokenizerInfo, type TokenizerKind } from './tokenizer.js';
export { sha256Hex } from './tokenizer/sha256.js';
export { sentencePieceBpeToTokenizerJson, sentencePieceMerges, type SentencePieceBpeSpec, type TokenizerFiles } from './convert/sentencepiece-bpe.js';
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
export {
  kvDim, qDim, parseHfConfig, parseHfConfigDetailed, parseGenerationConfig, parseConfigJson, loadHfConfig, checkModelConfig, canonicalConfig,
  defaultAttnScale, isSlidingLayer, ARCHITECTURES, HARMLESS_HF_FIELDS, HF_LLAMA_DEFAULTS, MAX_LAYERS,
  type ModelConfig, type GenerationConfig, type Architecture, type RopeScaling, type ParsedHfConfig,
} from './config.js';
export { bytesSource, memoryModelSource, isPlainFileName, MAX_TEXT_BYTES, type ByteSource, type ModelSource } from './io/source.js';
export {
  httpByteSource, httpModelSource, DEFAULT_BLOCK_BYTES, DEFAULT_PARALLEL,
  type FetchLike, type HttpSourceOptions, type HttpSourceStats, type HttpModelSource, type HttpByteSource,
} from './io/http-source.js';
export { browserModelCache, clearBrowserModelCache, memoryModelCache, MODEL_CACHE_NAME, type ModelCache } from './io/model-cache.js';
export { blobByteSource, blobModelSource, type BlobLike } from './io/blob-source.js';
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
export {
  GgufFile, GGUF_VALUE_TYPES, MAX_GGUF_HEADER_BYTES,
  type GgufValue, type GgufArray, type GgufValueType, type GgufTensorInfo, type GgufHeader, type GgmlReadableType,
} from './weights/gguf.js';
export {
  configFromGguf, configFromGgufDetailed, llamaConfigFromGguf, ggufModelMetadata, ggufFormOf, ropeFreqsOf, ggufTokenizerData,
  type GgufModelConfig, type GgufTokenizerData,
} from './weights/gguf-llama.js';
export { writeGguf, ggufParts, quantizeQ8_0, dequantizeQ8_0, tokenizerGgufMetadata, type GgufWriteSpec, type GgufTensorToWrite, type TokenizerGgufOptions } from './weights/gguf-writer.js';
export {
  ROLE_TABLE, LAYER_ROLES, GLOBAL_ROLES, resolveTensors, memoryRoleReader, tensorsToStore, roleSpec, roleShape, roleNames, roleSources, modelRoles, layerRoleKinds,
  ggufToHfRopeRow, hfToGgufRopeRow,
  type RoleSpec, type StoredAs, type Presence, type RoleKind, type RoleReader, type ModelTensors, type ResolvedTensor, type TensorRole,
  type LayerRole, type GlobalRole, type TensorScheme, type TensorToStore, type RoleRows,
} from './weights/llama-tensors.js';
export { openHfModel, openGgufModel, type OpenedHfModel, type OpenedGgufModel } from './weights/open-model.js';
export { loadHfModel, loadGgufModel, ggufTokenizer, ggufChatTemplates, type LoadedModel, type LoadModelOptions } from './engine/load.js';
export { LlamaModel, planLoad, type LlamaLoadOptions, type LoadProgress, type WeightDtype } from './model/llama.js';
export { LlamaContext, type ContextOptions } from './model/context.js';
export {
  planModelMemory, contextMemory, checkMemoryPlan, memoryAdvice, formatBytes, stagingBytesFor, loadRowUnit, DEFAULT_CONTEXT, LOAD_CHUNK_BYTES,
  type MemoryPlan, type MemoryPlanOptions, type ContextMemory, type LinearTypeOf, type DtypeChoice, type MemoryCheck,
} from './model/memory-plan.js';
export {
  packedBytes, packLinear, runLinear, prepareLinearInput, packLinearRowsFromF32, packLinearRowsFromStored, dequantRows, resolveWeightType,
  LINEAR_DTYPES, WEIGHT_TYPE_ALIASES, type LinearDtype, type PackedLinear,
} from './kernels/linear.js';
export { KvCache } from './model/kv-cache.js';
export { SerialExecutor, type Executor, type AttentionArgs } from './model/executor.js';
export {
  ThreadedExecutor, browserWorkerHost, runKernelWorker, DEFAULT_MIN_LINEAR_WORK, DEFAULT_MIN_ATTENTION_WORK, DEFAULT_SPIN_MICROS,
  type ThreadedExecutorOptions, type ThreadStats, type WorkerHost, type WorkerHandle, type WorkerEvents, type WebWorkerLike, type KernelWorkerInit,
} from './wasm/threads.js';
export { selectBuild, type BuildRequest, type WasmFeatures } from './wasm/select.js';
export {
  createBrowserRuntime, createBrowserExecutor, threadsUnavailableReason, defaultBrowserThreads,
  type BrowserRuntimeOptions, type BrowserExecutorOptions,
} from './wasm/browser.js';
export { DraftTree, parseTreeShape, parseTreeSpec, treeNodeCount, treeSpecLabel, type TreeSpec } from './draft/tree.js';
export {
  DynamicPlanner,
  dynamicDepth,
  parseDynamicSpec,
  isDynamicSpec,
  DYNAMIC_MAX_BUDGET,
  DYNAMIC_MAX_DEPTH,
  DYNAMIC_MAX_K,
  type DynamicTreeSpec,
} from './draft/dynamic.js';
export { PROB_KERNEL_NAMES, type ProbKernels } from './wasm/kernels.js';
export * from './verify/index.js';
export * from './sampling.js';
export { Generator, generationDefaults, AUTO_DYNAMIC_BUDGETS, type GeneratorOptions, type GenerateRequest, type StepEvent, type GenerationResult, type GenerationStats, type StopReason } from './engine/generate.js';
export {
  ChatTemplate, renderChat, encodeChat, encodeChatText, checkChatMessages, chatTemplatesFromTokenizerConfig, specialTokensFromTokenizerConfig, chatTemplateSet,
  BUILTIN_CHAT_TEMPLATES, BUILTIN_CHAT_TEMPLATE_NAMES,
  type ChatMessage, type ChatRenderOptions, type ChatSpecialTokens, type BuiltinChatTemplate, type ChatTemplateOptions, type ChatTemplateSet, type ChatPrompt, type ChatEncodeOptions,
} from './chat/template.js';
export {
  ChatSession, resolveChatTemplate, chatStops, chatSpecialTokens, NO_STOPS,
  type ChatSessionOptions, type ChatTurnOptions, type ChatTurnResult, type ChatSessionStats, type ChatStops,
} from './engine/chat.js';
export { endOfGenerationIds, StopStringMatcher } from './engine/stop.js';
export { Stepper, ProbsTransform, feedCausal, checkMethodTree, type StepModel, type StepRule, type Drafter, type StepStats, type StepperOptions } from './engine/speculative.js';
export { modelDrafter, earlyExitDrafter, type ModelDrafterOptions } from './engine/drafters.js';
export { TreeTuner, measureCosts, candidateShapes, type CostCurves, type TuneChoice } from './engine/autotune.js';
