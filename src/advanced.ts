/**
 * `spechub/advanced`: the engine's parts, for research code, custom decoding loops and benchmarks.
 * The model over its batch buffers (`LlamaModel.forward`), its contexts and KV caches, the memory
 * plan, the speculative step (`Stepper`) and its drafting and verification pieces (draft trees,
 * dynamic trees, `NodeVerifier`, `TreeTraversal` and its node tests, the verifiers' exact math
 * layer and OTM references), sampling, stop handling, the auto-tuner, the executors' internals and
 * the kernels over runtime memory (weight packing, linear layers). Browser-safe; in Node the entry
 * adds the Node-only parts (src/node/advanced.ts).
 *
 * These names change more freely than those of `spechub/core` (src/index.ts), which is what most
 * programs need.
 */

// ---- runtime memory, builds, kernels ----
export { Arena, type Region } from './wasm/runtime.js';
export { wasmFileName, PROB_KERNEL_NAMES, type Kernels, type ProbKernels } from './wasm/kernels.js';
export { selectBuild, type BuildRequest } from './wasm/select.js';
export {
  packedBytes, packLinear, runLinear, prepareLinearInput, packLinearRowsFromF32, packLinearRowsFromStored, dequantRows, resolveWeightType,
  LINEAR_DTYPES, WEIGHT_TYPE_ALIASES, type LinearDtype, type PackedLinear,
} from './kernels/linear.js';

// ---- executors ----
export { SerialExecutor, type AttentionArgs } from './exec/executor.js';
export {
  ThreadedExecutor, browserWorkerHost, runKernelWorker, DEFAULT_MIN_LINEAR_WORK, DEFAULT_MIN_ATTENTION_WORK, DEFAULT_SPIN_MICROS,
  type WorkerHost, type WorkerHandle, type WorkerEvents, type WebWorkerLike, type KernelWorkerInit,
} from './exec/threads.js';

// ---- the model, its contexts and caches, the memory plan ----
export { LlamaModel, planLoad, type LlamaLoadOptions } from './model/llama.js';
export { LlamaContext } from './model/context.js';
export { KvCache, KV_TYPES, resolveKvType, kvBytes, type KvType } from './model/kv-cache.js';
export { kvDim, qDim, defaultAttnScale, isSlidingLayer } from './config.js';
export {
  planModelMemory, contextMemory, checkMemoryPlan, memoryAdvice, formatBytes, stagingBytesFor, loadRowUnit, DEFAULT_CONTEXT, LOAD_CHUNK_BYTES,
  type MemoryPlan, type MemoryPlanOptions, type ContextMemory, type LinearTypeOf, type DtypeChoice, type MemoryCheck,
} from './model/memory-plan.js';

// ---- sampling ----
export { Sampler, sampleCategorical, validateSamplingParams, MIN_TEMPERATURE } from './sampling.js';

// ---- verifiers: the decode path and the exact math layer ----
export { NodeVerifier, type NodeVerifierOptions } from './verify/node-verifier.js';
export {
  createNodeMeta, draftingMethod, draftLawOf, isSequenceMethod, maxChildrenOf, RESIDUAL_EPS, SEQUENCE_METHODS,
  type DraftLaw, type LevelOutcome, type NodeMeta,
} from './verify/types.js';
export { draftLaw, levelOutcome, mathMethod, referenceVerify, sampleOutcome, type MathMethod } from './verify/methods.js';
export { otmAcceptanceJoint, otmIid, OTM_SUBSET_MAX_VOCAB } from './verify/otm.js';
export { INV_RHO_TOL, kseqRho, solveRho, type KseqRho } from './verify/kseq.js';
export { hubAcceptance, hubPairState, type HubPairState } from './verify/spechub.js';
export { RRS_WO_EXACT_BUDGET } from './verify/rrs-wo.js';
export { MAX_DRAFTS, PROB_SUM_TOL } from './verify/validate.js';
export {
  TreeTraversal, NodeTests, IidNodeTests, createTestScratch, refreshScratch,
  type TestScratch, type TraversalRule, type TraversalSource, type TraversalTree,
} from './verify/traversal.js';
export { HubNodeTests } from './verify/spechub-traversal.js';
export { blockOutcome, blockExpectedKept, sdExpectedKept, type BlockOutcome, type ChainLaw } from './verify/block.js';

// ---- draft trees ----
export { DraftTree, parseTreeShape, parseTreeSpec, treeNodeCount, treeSpecLabel } from './draft/tree.js';
export { DynamicPlanner, dynamicDepth, parseDynamicSpec, isDynamicSpec, DYNAMIC_MAX_BUDGET, DYNAMIC_MAX_DEPTH, DYNAMIC_MAX_K } from './draft/dynamic.js';

// ---- the engine: the speculative step, stopping, chat plumbing, auto-tuning ----
export { Stepper, ProbsTransform, feedCausal, checkMethodTree, type StepModel, type StepRule, type StepStats, type StepperOptions } from './engine/speculative.js';
export { endOfGenerationIds, StopStringMatcher } from './engine/stop.js';
export { generationDefaults, AUTO_DYNAMIC_BUDGETS } from './engine/generate.js';
export { chatStops, chatSpecialTokens, NO_STOPS, type ChatStops } from './engine/chat.js';
export { encodeChatText, checkChatMessages } from './chat/template.js';
export { TreeTuner, measureCosts, candidateShapes, type CostCurves, type TuneChoice } from './engine/autotune.js';
export { DEFAULT_BLOCK_BYTES, DEFAULT_PARALLEL } from './io/http-source.js';
export { MODEL_CACHE_NAME } from './io/model-cache.js';
export { sha256Hex } from './tokenizer/sha256.js';
export { oneLine } from './errors.js';
