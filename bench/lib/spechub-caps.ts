/**
 * What this spechub build offers the bench: weight dtypes beyond f32 (`LoadModelOptions.dtype`,
 * `packLinear`) and threads (`createNodeRuntime({ threads })` + `createNodeExecutor`). Probed at run
 * time, so the bench reports a missing feature as "not available in this build" instead of
 * silently measuring something else (e.g. f32 weights when bf16 was asked for).
 */
import * as node from '../../src/node.js';
import * as linear from '../../src/kernels/linear.js';
import { SerialExecutor, type Executor } from '../../src/model/executor.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';

/** Weight dtypes of the model loader (LoadModelOptions.dtype). */
export type SpechubDtype = 'f32' | 'bf16' | 'int8' | 'int4';
/** Kernel-level dtype names (src/kernels/linear.ts LinearDtype). */
export const LINEAR_OF: Readonly<Record<SpechubDtype, string>> = { f32: 'f32', bf16: 'bf16', int8: 'q8', int4: 'q4' };

const nodeApi = node as unknown as Record<string, unknown>;
const linearApi = linear as unknown as Record<string, unknown>;

/** Linear dtypes this build packs and multiplies. */
export function linearDtypes(): string[] {
  const list = linearApi.LINEAR_DTYPES;
  return Array.isArray(list) ? (list as string[]) : ['f32'];
}

/** Whether the loader takes `dtype` (checked again after loading: the model reports its dtype). */
export function hasDtype(d: SpechubDtype): boolean {
  return d === 'f32' || linearDtypes().includes(LINEAR_OF[d]);
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
  const pack = linearApi.packLinear as ((rt: Runtime, name: string, dtype: string, src: Float32Array, rows: number, cols: number) => linear.PackedLinear) | undefined;
  if (pack === undefined) {
    if (dtype !== 'f32') throw new Error(`dtype ${dtype}: not available in this spechub build`);
    return linear.packLinearF32(rt, name, src, rows, cols);
  }
  if (!hasDtype(dtype)) throw new Error(`dtype ${dtype}: not available in this spechub build`);
  return pack(rt, name, LINEAR_OF[dtype], src, rows, cols);
}
