/**
 * What this spechub build offers the bench: weight dtypes (`LoadModelOptions.dtype`, `packLinear`)
 * and threads (`createNodeRuntime({ threads })` + `createNodeExecutor`). Threads are probed at run
 * time, so the bench reports a missing feature as "not available in this build" instead of failing
 * to start or silently measuring something else.
 */
import * as node from '../../src/node.js';
import * as linear from '../../src/kernels/linear.js';
import { SerialExecutor, type Executor } from '../../src/model/executor.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import type { WeightDtype } from '../../src/model/llama.js';
import type { LinearDtype } from '../../src/kernels/linear.js';

/** Weight dtypes of the model loader (LoadModelOptions.dtype). */
export type SpechubDtype = WeightDtype;
/** Kernel-level dtype of each loader dtype (src/model/llama.ts). */
export const LINEAR_OF: Readonly<Record<SpechubDtype, LinearDtype>> = { f32: 'f32', bf16: 'bf16', int8: 'q8', int4: 'q4' };

const nodeApi = node as unknown as Record<string, unknown>;

/** Whether this build packs and multiplies `d` (checked again after loading: the model reports its dtype). */
export function hasDtype(d: string): d is SpechubDtype {
  return Object.hasOwn(LINEAR_OF, d) && linear.LINEAR_DTYPES.includes(LINEAR_OF[d as SpechubDtype]);
}

/** Whether a threaded executor exists. */
export function hasThreads(): boolean {
  return typeof nodeApi.createNodeExecutor === 'function';
}

/** A runtime for `threads` (an -mt build for > 1) and its executor; `build` overrides the choice. */
export async function runtimeFor(threads: number, build?: WasmBuild): Promise<{ rt: Runtime; exec: Executor; build: WasmBuild }> {
  if (threads > 1 && !hasThreads()) throw new Error('threads > 1: this spechub build has no threaded executor');
  const mtBuild = (b: WasmBuild): WasmBuild => (threads > 1 && !b.endsWith('-mt') ? (`${b}-mt` as WasmBuild) : b);
  const chosen = build !== undefined ? mtBuild(build) : threads > 1 ? ('simd-mt' as WasmBuild) : ('simd' as WasmBuild);
  const rt = node.createNodeRuntime({ build: chosen });
  if (threads === 1) return { rt, exec: new SerialExecutor(rt), build: chosen };
  const make = nodeApi.createNodeExecutor as (rt: Runtime, o: { threads: number }) => Promise<Executor>;
  return { rt, exec: await make(rt, { threads }), build: chosen };
}

/** Pack row-major f32 `src` [rows, cols] (a view of the runtime memory) as `dtype` into a new region. Load time. */
export function packAs(rt: Runtime, name: string, dtype: SpechubDtype, src: Float32Array, rows: number, cols: number): linear.PackedLinear {
  if (src.buffer !== rt.memory.buffer) throw new Error(`packAs(${name}): expected a view of the runtime memory`);
  return linear.packLinear(rt, name, LINEAR_OF[dtype], src, rows, cols);
}
