/**
 * What the bench asks of spechub, through its public Node entry: weight dtypes
 * (`LoadModelOptions.dtype`, `packLinear`) and threads (`createNodeRuntime({ threads })` +
 * `createNodeExecutor`). A feature this engine lacks (e.g. no SharedArrayBuffer, so no threads) is
 * reported as "not available" instead of failing the bench or measuring something else.
 */
import { createNodeExecutor, createNodeRuntime, detectFeatures } from '../../src/node.js';
import { packLinear, selectNodeBuild } from '../../src/node/advanced.js';
import { resolveWeightType } from '../../src/kernels/linear.js';
import type { Executor } from '../../src/exec/executor.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import type { WeightDtype } from '../../src/model/llama.js';
import type { PackedLinear } from '../../src/kernels/linear.js';

/** Weight dtypes of the model loader (LoadModelOptions.dtype). */
export type SpechubDtype = WeightDtype;
/** The kernel-level type of a loader dtype name (`auto` is not one: it depends on the file). */
export function linearOf(d: SpechubDtype): ReturnType<typeof resolveWeightType> {
  return resolveWeightType('bench', d);
}

/** Whether this build packs and multiplies `d` (checked again after loading: the model reports its dtype). */
export function hasDtype(d: string): d is SpechubDtype {
  try {
    resolveWeightType('bench', d);
    return true;
  } catch {
    return d === 'auto';
  }
}

/** Whether this engine can run spechub's threaded executor (shared WebAssembly memory). */
export function hasThreads(): boolean {
  return detectFeatures().threads;
}

/**
 * A runtime for `threads` and its executor (SerialExecutor for 1, workers over the shared memory
 * otherwise). `build` is used as given for 1 thread; threads > 1 use its -mt twin (same flavour).
 */
export async function runtimeFor(threads: number, build: WasmBuild = 'simd'): Promise<{ rt: Runtime; exec: Executor; build: WasmBuild }> {
  const chosen = threads === 1 ? build : selectNodeBuild({ threads, relaxed: build.startsWith('relaxed') });
  const rt = createNodeRuntime({ build: chosen });
  return { rt, exec: await createNodeExecutor(rt, { threads }), build: chosen };
}

/** Pack row-major f32 `src` [rows, cols] (a view of the runtime memory) as `dtype` into a new region. Load time. */
export function packAs(rt: Runtime, name: string, dtype: SpechubDtype, src: Float32Array, rows: number, cols: number): PackedLinear {
  if (src.buffer !== rt.memory.buffer) throw new Error(`packAs(${name}): expected a view of the runtime memory`);
  return packLinear(rt, name, resolveWeightType(name, dtype), src, rows, cols);
}
