/**
 * Node runtimes: the package's .wasm builds read from build/, the build choice (threads, relaxed
 * SIMD; Node 20's relaxed-SIMD flag), and the shipped weights/ folder.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Runtime, detectFeatures } from '../wasm/runtime.js';
import { wasmFileName, type WasmBuild } from '../wasm/kernels.js';
import { InvalidArgumentError } from '../errors.js';
import { selectBuild } from '../wasm/select.js';

/** Absolute path of the package's build/ folder (compiled .wasm files). */
export const BUILD_DIR = fileURLToPath(new URL('../../../build/', import.meta.url));

let relaxedFlagSet = false;
/**
 * Whether this Node has relaxed SIMD, after setting Node 20's V8 flag for it where needed (once, before
 * any relaxed module compiles). Only where relaxed SIMD does not validate without it: V8 12 and later
 * (Node 22, 24) have it on and no longer know the flag, and V8 prints an error line for a flag it does not know.
 */
export function enableRelaxedSimd(): boolean {
  if (!relaxedFlagSet) {
    relaxedFlagSet = true;
    if (detectFeatures().relaxedSimd) return true;
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // engines without the flag simply report no relaxed SIMD below
    }
  }
  return detectFeatures().relaxedSimd;
}

/** Read the bytes of one build from build/. */
export function readWasm(build: WasmBuild): Uint8Array {
  return readFileSync(BUILD_DIR + wasmFileName(build));
}

/** Options of `createNodeRuntime`: which build (explicitly, or from threads and relaxed SIMD) and the initial memory. */
export interface NodeRuntimeOptions {
  /** Which build, explicitly (overrides `threads` and `relaxed`). */
  build?: WasmBuild;
  /**
   * Threads the kernels will run on: > 1 selects a shared-memory (-mt) build, to pass to
   * `createNodeExecutor(rt, { threads })`. Default 1.
   */
  threads?: number;
  /**
   * Relaxed SIMD (fused multiply-add, ~30 % faster batched matmuls, last-bit differences between
   * machines): true = required, 'auto' = where the engine has it, false = never. Default false, so
   * results are bit-reproducible everywhere (see src/wasm/select.ts). On Node 20 the needed V8 flag is
   * set here, before anything compiles.
   */
  relaxed?: 'auto' | boolean;
  initialBytes?: number;
}

/** The build `createNodeRuntime(options)` would use on this Node (sets Node 20's relaxed-SIMD flag if relaxed is wanted). */
export function selectNodeBuild(options: Omit<NodeRuntimeOptions, 'initialBytes'> = {}): WasmBuild {
  if (options.threads !== undefined && !(Number.isSafeInteger(options.threads) && options.threads >= 1)) {
    throw new InvalidArgumentError(`createNodeRuntime: expected threads to be an integer >= 1, got ${options.threads}`);
  }
  const relaxed = options.relaxed ?? false;
  if (relaxed !== 'auto' && relaxed !== true && relaxed !== false) {
    throw new InvalidArgumentError(`createNodeRuntime: expected relaxed to be true, false or 'auto', got ${String(relaxed)}`);
  }
  const wantsRelaxed = options.build !== undefined ? options.build.startsWith('relaxed') : relaxed !== false;
  const features = wantsRelaxed ? { ...detectFeatures(), relaxedSimd: enableRelaxedSimd() } : detectFeatures();
  if (options.build !== undefined) {
    return selectBuild({ threads: options.build.endsWith('-mt') ? 2 : 1, relaxed: options.build.startsWith('relaxed') }, features);
  }
  return selectBuild({ threads: options.threads, relaxed }, features);
}

/**
 * A runtime over the package's own .wasm, compiled synchronously. The build is `options.build`, or
 * chosen from `threads` and `relaxed` (default: "simd", one thread, bit-reproducible).
 */
export function createNodeRuntime(options: NodeRuntimeOptions = {}): Runtime {
  const build = selectNodeBuild(options);
  return Runtime.createSync(readWasm(build), { build, initialBytes: options.initialBytes });
}
/** Absolute path of the package's shipped weights/ folder. */
export const WEIGHTS_DIR = fileURLToPath(new URL('../../../weights/', import.meta.url));

