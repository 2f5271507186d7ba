/**
 * `spechub` in Node: everything in the core (`spechub/core`, src/index.ts), plus the Node-only ways
 * to make a runtime (the package's own .wasm from build/) and an executor (worker threads), to load
 * models and tokenizers from the file system, and to convert llama2.c files. Browsers import the
 * core and supply bytes themselves. The Node-only engine parts are in `spechub/advanced`
 * (src/node/advanced.ts).
 */
import { createVerifier as createCoreVerifier, type Verifier, type VerifierOptions } from './verify/api.js';
import type { VerifierName } from './verify/types.js';
import { createNodeRuntime } from './node/runtime.js';

export * from './index.js';

export { createNodeRuntime, WEIGHTS_DIR, type NodeRuntimeOptions } from './node/runtime.js';
export { createNodeExecutor, type NodeExecutorOptions } from './node/threads.js';
export { loadModelFromPath, loadTokenizerFromPath } from './node/load.js';
export { fileByteSource, fsModelSource } from './node/fs-source.js';
export { convertLlama2cFiles, type ConvertFilesOptions, type ConvertFilesResult } from './node/convert.js';

/**
 * createVerifier with a default runtime: when `options.runtime` is absent, a new "simd" runtime
 * over the package's own .wasm is made for this verifier (pass one to share memory and kernels).
 */
export function createVerifier(name: VerifierName, options: VerifierOptions = {}): Verifier {
  return createCoreVerifier(name, { ...options, runtime: options.runtime ?? createNodeRuntime() });
}
