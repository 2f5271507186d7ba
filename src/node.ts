/**
 * Node entry point: everything in the core, plus loading from the file system (the .wasm builds,
 * model directories). Browsers import the core (`spechub/core`) and supply bytes themselves.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Runtime, detectFeatures } from './wasm/runtime.js';
import { wasmFileName, type WasmBuild } from './wasm/kernels.js';
import { WasmFeatureError } from './errors.js';
import { createVerifier as createCoreVerifier, type Verifier, type VerifierOptions } from './verify/api.js';
import type { VerifierName } from './verify/types.js';

export * from './index.js';

/** Absolute path of the package's build/ folder (compiled .wasm files). */
export const BUILD_DIR = fileURLToPath(new URL('../../build/', import.meta.url));

let relaxedFlagSet = false;
/** Node 20 hides relaxed SIMD behind a V8 flag; set it once, before any relaxed module compiles. */
export function enableRelaxedSimd(): boolean {
  if (!relaxedFlagSet) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // engines without the flag simply report no relaxed SIMD below
    }
    relaxedFlagSet = true;
  }
  return detectFeatures().relaxedSimd;
}

/** Read the bytes of one build from build/. */
export function readWasm(build: WasmBuild): Uint8Array {
  return readFileSync(BUILD_DIR + wasmFileName(build));
}

export interface NodeRuntimeOptions {
  /** Which build; default "simd" (bit-reproducible across engines). */
  build?: WasmBuild;
  initialBytes?: number;
}

/** A runtime over the package's own .wasm, compiled synchronously. */
export function createNodeRuntime(options: NodeRuntimeOptions = {}): Runtime {
  const build = options.build ?? 'simd';
  const features = build.startsWith('relaxed') ? { ...detectFeatures(), relaxedSimd: enableRelaxedSimd() } : detectFeatures();
  if (!features.simd) throw new WasmFeatureError('runtime: this JavaScript engine has no WebAssembly SIMD (needed by every build)');
  if (build.startsWith('relaxed') && !features.relaxedSimd) {
    throw new WasmFeatureError(`runtime: build "${build}" needs relaxed SIMD, which this engine lacks; use "simd"`);
  }
  return Runtime.createSync(readWasm(build), { build, initialBytes: options.initialBytes });
}
export { convertLlama2cFiles, type ConvertFilesOptions, type ConvertFilesResult } from './node/convert.js';
export { fileByteSource, fsModelSource, FileByteSource } from './node/fs-source.js';
export { loadModelFromPath } from './node/load.js';

/** Absolute path of the package's shipped weights/ folder. */
export const WEIGHTS_DIR = fileURLToPath(new URL('../../weights/', import.meta.url));

/**
 * createVerifier with a default runtime: when `options.runtime` is absent, a new "simd" runtime
 * over the package's own .wasm is made for this verifier (pass one to share memory and kernels).
 */
export function createVerifier(name: VerifierName, options: VerifierOptions = {}): Verifier {
  return createCoreVerifier(name, { ...options, runtime: options.runtime ?? createNodeRuntime() });
}
