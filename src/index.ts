/**
 * `spechub/core` (and `spechub` outside Node; `spechub/browser` is this module bundled): the
 * user-level API. Make a runtime and an executor, load a model from a source, generate or chat with
 * a Generator (optionally with a drafter and a verifier), use a verifier alone, tokenize and render
 * chat templates; errors and randomness. Browser-safe: nothing here touches a Node-only module;
 * file loading and the CLI live in src/node.ts and src/cli.ts.
 *
 * The other tiers: `spechub/formats` (readers, writers, converters: src/formats.ts) and
 * `spechub/advanced` (the model, caches, stepper, executors and kernels: src/advanced.ts).
 * docs/api.md lists every entry's exports.
 */

// ---- errors and randomness ----
export {
  SpechubError,
  ConfigError,
  WeightsFormatError,
  TokenizerError,
  ShapeError,
  CapacityError,
  MemoryPlanError,
  ContextBusyError,
  InvalidArgumentError,
  WasmFeatureError,
  ThreadError,
  ChatTemplateError,
  NumericError,
  type ErrorCode,
  type MemoryFit,
} from './errors.js';
export { createRng, type Rng } from './rng.js';

// ---- runtimes and executors ----
export { Runtime, detectFeatures, type RuntimeOptions } from './wasm/runtime.js';
export type { WasmBuild } from './wasm/kernels.js';
export type { WasmFeatures } from './wasm/select.js';
export type { Executor } from './exec/executor.js';
export type { ThreadedExecutorOptions, ThreadStats } from './exec/threads.js';
export { createBrowserRuntime, threadsUnavailableReason, defaultBrowserThreads, type BrowserRuntimeOptions } from './wasm/browser.js';
export { createBrowserExecutor, type BrowserExecutorOptions } from './exec/browser.js';

// ---- model sources and loading ----
export { bytesSource, memoryModelSource, type ByteSource, type ModelSource } from './io/source.js';
export {
  httpByteSource, httpModelSource,
  type FetchLike, type HttpSourceOptions, type HttpSourceStats, type HttpModelSource, type HttpByteSource,
} from './io/http-source.js';
export { browserModelCache, clearBrowserModelCache, memoryModelCache, type ModelCache } from './io/model-cache.js';
export { blobByteSource, blobModelSource, type BlobLike } from './io/blob-source.js';
export { loadHfModel, loadGgufModel, type LoadedModel, type LoadModelOptions } from './engine/load.js';
export type { LlamaModel, LoadProgress, WeightDtype } from './model/llama.js';
export type { LlamaContext, ContextOptions } from './model/context.js';
export type { KvType } from './model/kv-cache.js';
export type { ModelConfig, GenerationConfig, Architecture, RopeScaling } from './config.js';

// ---- generation, chat, drafters ----
export {
  Generator,
  type GeneratorOptions, type GenerateRequest, type StepEvent, type GenerationResult, type GenerationStats, type StopReason,
} from './engine/generate.js';
export { GREEDY, type SamplingParams } from './sampling.js';
export type { TreeSpec } from './draft/tree.js';
export type { DynamicTreeSpec } from './draft/dynamic.js';
export { ChatSession, resolveChatTemplate, type ChatSessionOptions, type ChatTurnOptions, type ChatTurnResult, type ChatSessionStats } from './engine/chat.js';
export { modelDrafter, earlyExitDrafter, type ModelDrafterOptions } from './engine/drafters.js';
export type { Drafter } from './engine/speculative.js';

// ---- verifiers alone ----
export { createVerifier, otmAcceptance, type Verifier, type VerifierOptions } from './verify/api.js';
export {
  METHOD_NAMES, VERIFIER_NAMES,
  type MethodName, type VerifierName, type SequenceMethod, type ProbVector, type VerifyResult, type DraftOutcome,
} from './verify/types.js';

// ---- tokenizers and chat templates ----
export { Tokenizer, StreamDecoder, type EncodeOptions, type DecodeOptions, type TokenizerInfo, type TokenizerKind } from './tokenizer.js';
export {
  ChatTemplate, renderChat, encodeChat, BUILTIN_CHAT_TEMPLATES, BUILTIN_CHAT_TEMPLATE_NAMES,
  type ChatMessage, type ChatRenderOptions, type ChatSpecialTokens, type BuiltinChatTemplate, type ChatTemplateOptions, type ChatTemplateSet,
  type ChatPrompt, type ChatEncodeOptions,
} from './chat/template.js';
