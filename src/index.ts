/**
 * spechub core: browser-safe public API. Nothing here touches Node-only modules; file loading
 * and the CLI live in src/node.ts and src/cli.ts.
 */
export * from './errors.js';
export { createRng, type Rng } from './rng.js';
export { Runtime, Arena, detectFeatures, type Region, type RuntimeOptions } from './wasm/runtime.js';
export { wasmFileName, type Kernels, type WasmBuild } from './wasm/kernels.js';
export { PROB_KERNEL_NAMES, type ProbKernels } from './wasm/kernels.js';
export * from './verify/index.js';
export * from './sampling.js';
