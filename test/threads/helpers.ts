// Shared helpers of the threaded-executor tests: -mt runtimes, executors that are always closed,
// random packed matrices, bitwise comparison of memory ranges, models with a chosen executor.
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { nodeWorkerHost } from '../../src/node/threads.js';
import { ThreadedExecutor, type ThreadedExecutorOptions } from '../../src/exec/threads.js';
import { packLinear, type LinearDtype, type PackedLinear } from '../../src/kernels/linear.js';
import { LlamaModel, type WeightDtype } from '../../src/model/llama.js';
import type { Executor } from '../../src/exec/executor.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import type { Rng } from '../../src/rng.js';
import { configOf, refReader } from '../model/helpers.js';
import type { RefWeights } from '../reference/llama-ref.js';

/** A quiet NaN with a recognisable payload, for cells no kernel may write. */
export const POISON_BITS = 0x7fa5a5a5;

export function mtRuntime(build: WasmBuild = 'simd-mt', initialBytes = 4 << 20): Runtime {
  return createNodeRuntime({ build, initialBytes });
}

/** A threaded executor over worker_threads (tests close it in `after`/finally). */
export function threaded(rt: Runtime, options: Partial<ThreadedExecutorOptions> & { threads: number }): Promise<ThreadedExecutor> {
  return ThreadedExecutor.create(rt, { host: nodeWorkerHost(), ...options });
}

/** Uniform f32 values in [−1, 1) written at ptr. */
export function fillUniform(rt: Runtime, rng: Rng, ptr: number, count: number): void {
  const v = rt.f32(ptr, count);
  for (let i = 0; i < count; i++) v[i] = 2 * rng.next() - 1;
}

export function poison(rt: Runtime, ptr: number, count: number): void {
  new Uint32Array(rt.memory.buffer, ptr, count).fill(POISON_BITS);
}

/** A random W [rows, cols] (uniform in [−1, 1)), packed into the arena in `dtype`. */
export function randomLinear(rt: Runtime, rng: Rng, rows: number, cols: number, name = 'w', dtype: LinearDtype = 'F32'): PackedLinear {
  const raw = rt.arena.alloc(`${name}.raw`, rows * cols * 4); // [rows, cols], left behind (tests release by mark)
  fillUniform(rt, rng, raw.ptr, rows * cols);
  return packLinear(rt, name, dtype, rt.f32(raw.ptr, rows * cols), rows, cols);
}

/** Assert `count` 32-bit words at a and b are identical (first differences reported). */
export function assertSameBits(rt: Runtime, a: number, b: number, count: number, what: string): void {
  const x = new Uint32Array(rt.memory.buffer, a, count);
  const y = new Uint32Array(rt.memory.buffer, b, count);
  const bad: string[] = [];
  for (let i = 0; i < count && bad.length < 5; i++) {
    if (x[i] !== y[i]) bad.push(`[${i}] ${x[i]!.toString(16)} vs ${y[i]!.toString(16)}`);
  }
  if (bad.length > 0) assert.fail(`${what}: ${bad.join('; ')}`);
}

/** Assert two float arrays are identical bit for bit. */
export function assertSameArrays(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: first difference at ${i}: ${a[i]} vs ${b[i]}`);
}

/** Load reference weights into an engine model that runs on `executor`. */
export function modelOn(rt: Runtime, w: RefWeights, executor: Executor, options: { maxBatch?: number; capacity?: number; dtype?: WeightDtype } = {}): Promise<LlamaModel> {
  return LlamaModel.load(rt, configOf(w), refReader(w), { ...options, executor });
}
