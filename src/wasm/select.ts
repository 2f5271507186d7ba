/**
 * Build selection: which of the four .wasm builds to run, from what the caller asks for and what the
 * engine supports (`detectFeatures()`). Browser-safe and pure; src/node.ts applies it to Node.
 *
 * | threads | relaxed          | build       |
 * |---------|------------------|-------------|
 * | 1       | false (default)  | simd        |
 * | 1       | true, or 'auto' where available | relaxed |
 * | > 1     | false (default)  | simd-mt     |
 * | > 1     | true, or 'auto' where available | relaxed-mt |
 *
 * Default: plain SIMD. The simd builds compute every product and sum with separately rounded IEEE
 * f32 operations, so logits are bit-identical on every engine and CPU. relaxed_madd may be fused or
 * not depending on the engine and hardware (implementation-defined), which changes the last bits of
 * sums: logits then differ slightly between machines and, in rare near-ties, greedy or sampled tokens
 * can differ. It is ~30 % faster on batched matmuls (tree verification is compute-bound) and neutral
 * on single-token decode (docs/performance.md §2.2, §6.3). Reproducibility is the default; ask for
 * `relaxed: 'auto'` for speed. Threads never change results (the threaded executor is bit-identical
 * to the serial one on the same build); the -mt builds differ from their plain twins only in
 * importing a shared memory.
 */
import { WasmFeatureError } from '../errors.js';
import type { WasmBuild } from './kernels.js';

/** What a caller asks for. */
export interface BuildRequest {
  /** Threads the kernels will run on (> 1 needs a shared-memory build). Default 1. */
  threads?: number;
  /** Relaxed SIMD (fused multiply-add): true = required, 'auto' = where available, false = never. Default false. */
  relaxed?: 'auto' | boolean;
}

/** What the engine supports (see detectFeatures in ./runtime.ts). */
export interface WasmFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  threads: boolean;
}

/** The build for `request` on an engine with `features`; a WasmFeatureError names what is missing. */
export function selectBuild(request: BuildRequest, features: WasmFeatures): WasmBuild {
  const threads = request.threads ?? 1;
  const relaxed = request.relaxed ?? false;
  if (!features.simd) throw new WasmFeatureError('selectBuild: this JavaScript engine has no WebAssembly SIMD (needed by every build)');
  if (threads > 1 && !features.threads) {
    throw new WasmFeatureError(
      `selectBuild: ${threads} threads need a shared WebAssembly.Memory, which this engine does not offer ` +
        '(browsers: the page must be cross-origin isolated); use threads: 1',
    );
  }
  if (relaxed === true && !features.relaxedSimd) {
    throw new WasmFeatureError("selectBuild: relaxed SIMD was required but this engine lacks it; use relaxed: 'auto' or false");
  }
  const useRelaxed = relaxed === true || (relaxed === 'auto' && features.relaxedSimd);
  return `${useRelaxed ? 'relaxed' : 'simd'}${threads > 1 ? '-mt' : ''}` as WasmBuild;
}
