/**
 * The kernel table, one engine × thread count per child process (bench/lib/case-runner.ts):
 * out = x·Wᵀ for W [rows, cols] at batches n (n = 1: matrix–vector, the decode case; n > 1: batched
 * matmul, the verification case), weights "cold" (each call reads the next of several copies
 * spanning a pool larger than the last-level cache, or W alone exceeds it), as in docs/performance.md §2.
 *
 *   spechub: the executor's `linear` (the path the model takes: input preparation for int8
 *            included, split over the threads for T > 1), each dtype checked against the scalar
 *            twin (`matmul_<dtype>_ref`) before timing.
 *   ORT-web: MatMul nodes Y_i = X·W_i in one session (bench/lib/onnx.ts), time per node; checked
 *            against a JS dot product on sampled outputs before timing; threads via
 *            `ort.env.wasm.numThreads` (fixed per process).
 */
import { createRng } from '../../src/rng.js';
import { SerialExecutor } from '../../src/exec/executor.js';
import type { WasmBuild } from '../../src/wasm/kernels.js';
import type { Kernels } from '../../src/wasm/kernels.js';
import type { Runtime } from '../../src/wasm/runtime.js';
import type { PackedLinear } from '../../src/kernels/linear.js';
import { timeMedian, type SimpleTimeOptions } from '../common.js';
import { progress } from './child.js';
import { importPeer } from './peers.js';
import { matmulModel } from './onnx.js';
import { hasDtype, hasThreads, linearOf, packAs, runtimeFor, type SpechubDtype } from './spechub-caps.js';

export interface KernelSpec {
  readonly kind: 'kernels';
  readonly engine: 'spechub' | 'onnxruntime-web';
  /** spechub: f32 | bf16 | int8 | int4; ORT: f32. */
  readonly dtypes: readonly string[];
  readonly threads: number;
  readonly shapes: readonly (readonly [number, number])[];
  readonly batches: readonly number[];
  /** Cold pool size: small shapes get ceil(pool / bytes) copies. */
  readonly poolMiB: number;
  /** Weights above this are cold by themselves (one copy). */
  readonly coldMiB: number;
  readonly timing: SimpleTimeOptions;
  readonly peersDir?: string;
  readonly build?: WasmBuild;
  readonly seed: number;
}

export interface KernelRow {
  readonly engine: string;
  readonly dtype: string;
  readonly threads: number;
  readonly rows: number;
  readonly cols: number;
  readonly n: number;
  readonly copies: number;
  /** Bytes of one copy of W as the engine stores it. */
  readonly weightBytes: number;
  readonly medianMs: number;
  readonly gflops: number;
  readonly gbps: number;
}

export interface KernelResult {
  readonly engine: string;
  readonly threads: number;
  readonly rows: readonly KernelRow[];
  /** dtype → why it was not measured. */
  readonly skipped: Record<string, string>;
  readonly info: Record<string, unknown>;
}

const MIB = 2 ** 20;

function row(engine: string, dtype: string, threads: number, rows: number, cols: number, n: number, copies: number, weightBytes: number, ms: number): KernelRow {
  return { engine, dtype, threads, rows, cols, n, copies, weightBytes, medianMs: ms, gflops: (2 * rows * cols * n) / (ms * 1e-3) / 1e9, gbps: weightBytes / (ms * 1e-3) / 1e9 };
}

function fillUniform(a: Float32Array, seed: number): void {
  const rng = createRng(seed);
  for (let i = 0; i < a.length; i++) a[i] = (rng.nextU32() / 2 ** 32) * 2 - 1;
}

/** The scalar twin of the linear of `lin.dtype` on x [n, cols] (int8/int4: through the twin of the input quantiser). */
function reference(rt: Runtime, lin: PackedLinear, outPtr: number, xPtr: number, n: number, scratchPtr: number): void {
  const k = rt.k as unknown as Record<string, (...a: number[]) => number>;
  const { rows, cols } = lin;
  const dt = lin.dtype as string;
  if (dt === 'f32' || dt === 'bf16') {
    k[`matmul_${dt}_ref`]!(outPtr, rows, lin.ptr, xPtr, n, rows, cols);
  } else {
    k.quant_x_q8_ref!(scratchPtr, xPtr, n, cols);
    k[`matmul_${dt}_ref`]!(outPtr, rows, lin.ptr, scratchPtr, n, rows, cols);
  }
}

export async function runSpechubKernels(spec: KernelSpec): Promise<KernelResult> {
  const skipped: Record<string, string> = {};
  if (spec.threads > 1 && !hasThreads()) {
    for (const d of spec.dtypes) skipped[d] = 'no threaded executor in this spechub build';
    return { engine: 'spechub', threads: spec.threads, rows: [], skipped, info: {} };
  }
  const { rt, exec, build } = await runtimeFor(spec.threads, spec.build);
  const out: KernelRow[] = [];
  try {
    const maxN = Math.max(...spec.batches);
    const maxRows = Math.max(...spec.shapes.map((s) => s[0]));
    const maxCols = Math.max(...spec.shapes.map((s) => s[1]));
    const xPtr = rt.arena.alloc('x', maxN * maxCols * 4).ptr; // [maxN, cols]
    const outPtr = rt.arena.alloc('out', maxN * maxRows * 4).ptr; // [maxN, rows]
    const refPtr = rt.arena.alloc('ref', maxN * maxRows * 4).ptr; // [maxN, rows]
    const scratchPtr = rt.arena.alloc('scratch', 68 * Math.ceil(maxCols / 32) * maxN + 64).ptr;
    exec.reserveLinearInput(maxN, maxCols);
    fillUniform(rt.f32(xPtr, maxN * maxCols), spec.seed);
    let seed = spec.seed;
    for (const dtypeName of spec.dtypes) {
      const dtype = dtypeName as SpechubDtype;
      if (!hasDtype(dtype)) {
        skipped[dtype] = `dtype ${dtype} is not available in this spechub build`;
        continue;
      }
      for (const [rows, cols] of spec.shapes) {
        const mark = rt.arena.mark();
        const raw = rt.arena.alloc('raw', rows * cols * 4); // [rows, cols] row-major f32
        fillUniform(rt.f32(raw.ptr, rows * cols), ++seed);
        const lin0 = packAs(rt, 'w0', dtype, rt.f32(raw.ptr, rows * cols), rows, cols);
        const copies = lin0.bytes > spec.coldMiB * MIB ? 1 : Math.ceil((spec.poolMiB * MIB) / lin0.bytes);
        const lins: PackedLinear[] = [lin0];
        for (let c = 1; c < copies; c++) {
          const r = rt.arena.alloc(`w${c}`, lin0.bytes, 64);
          new Uint8Array(rt.memory.buffer).copyWithin(r.ptr, lin0.ptr, lin0.ptr + lin0.bytes);
          lins.push({ ...lin0, ptr: r.ptr });
        }
        for (const n of spec.batches) {
          // check against the scalar twin first (only the first copy; the others are byte copies)
          exec.linear(lin0, outPtr, rows, xPtr, n);
          reference(rt, lin0, refPtr, xPtr, n, scratchPtr);
          const got = rt.f32(outPtr, n * rows);
          const want = rt.f32(refPtr, n * rows);
          let scale = 0;
          for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
          for (let i = 0; i < want.length; i++) {
            if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * scale + 1e-6)) {
              throw new Error(`validation failed: spechub ${dtype} ${rows}×${cols} n=${n} T=${spec.threads}: output ${i} is ${got[i]}, the scalar twin gives ${want[i]}`);
            }
          }
          let c = 0;
          const t = await timeMedian(() => exec.linear(lins[c++ % copies]!, outPtr, rows, xPtr, n), spec.timing);
          const r = row('spechub', dtype, spec.threads, rows, cols, n, copies, lin0.bytes, t.medianMs);
          out.push(r);
          progress(`spechub ${dtype} T=${spec.threads} ${rows}×${cols} n=${n}: ${r.medianMs.toFixed(3)} ms, ${r.gbps.toFixed(1)} GB/s, ${r.gflops.toFixed(1)} GFLOP/s (${copies} copies)`);
        }
        rt.arena.release(mark);
      }
    }
    return { engine: 'spechub', threads: spec.threads, rows: out, skipped, info: { build, linearDtypes: spec.dtypes.map((d) => linearOf(d as SpechubDtype)), serial: exec instanceof SerialExecutor } };
  } finally {
    await exec.close();
  }
}

// ---- onnxruntime-web ----

interface OrtTensor {
  readonly data: Float32Array;
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  env: { wasm: { numThreads?: number; simd?: boolean; proxy?: boolean }; logLevel?: string; versions?: Record<string, string> };
  InferenceSession: { create(model: Uint8Array, o: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

export async function runOrtKernels(spec: KernelSpec): Promise<KernelResult> {
  if (spec.peersDir === undefined) throw new Error('no peers directory');
  const ort = await importPeer<OrtModule>(spec.peersDir, 'onnxruntime-web');
  ort.env.wasm.numThreads = spec.threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const out: KernelRow[] = [];
  const maxN = Math.max(...spec.batches);
  let seed = spec.seed + 1000;
  for (const [rows, cols] of spec.shapes) {
    const bytes = rows * cols * 4;
    const copies = bytes > spec.coldMiB * MIB ? 1 : Math.ceil((spec.poolMiB * MIB) / bytes);
    // ONNX MatMul computes X [n, K] · W [K, M]: W here is the transpose of spechub's [rows, cols]
    // distinct copies (one value differs), so no optimiser can share one initializer between nodes
    const w0 = new Float32Array(rows * cols); // [cols, rows]
    fillUniform(w0, ++seed);
    const ws = Array.from({ length: copies }, (_, c) => {
      if (c === 0) return w0;
      const w = w0.slice();
      w[0] = c / copies;
      return w;
    });
    const model = matmulModel(ws, cols, rows);
    ws.length = 1;
    progress(`onnxruntime-web T=${spec.threads} ${rows}×${cols}: session with ${copies} MatMul nodes (${(model.length / MIB).toFixed(0)} MiB model)`);
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    try {
      const x = new Float32Array(maxN * cols);
      fillUniform(x, ++seed);
      for (const n of spec.batches) {
        const feeds = { X: new ort.Tensor('float32', x.subarray(0, n * cols), [n, cols]) };
        const res = await session.run(feeds);
        // check sampled outputs of node 0 against a JS dot product in f64
        for (const [name, w] of [['Y0', w0]] as const) {
          const y = res[name]!.data;
          for (let s = 0; s < 16; s++) {
            const i = (s * 7) % n;
            const m = (s * 7919) % rows;
            let acc = 0;
            let mag = 0;
            for (let k = 0; k < cols; k++) {
              acc += x[i * cols + k]! * w[k * rows + m]!;
              mag += Math.abs(x[i * cols + k]! * w[k * rows + m]!);
            }
            if (!(Math.abs(y[i * rows + m]! - acc) <= 1e-5 * mag + 1e-6)) {
              throw new Error(`validation failed: onnxruntime-web ${rows}×${cols} n=${n}: ${name}[${i}, ${m}] = ${y[i * rows + m]}, expected ${acc}`);
            }
          }
        }
        const t = await timeMedian(async () => {
          await session.run(feeds);
        }, { ...spec.timing, warmup: Math.min(spec.timing.warmup ?? 5, 3) });
        const r = row('onnxruntime-web', 'f32', spec.threads, rows, cols, n, copies, bytes, t.medianMs / copies);
        out.push(r);
        progress(`onnxruntime-web T=${spec.threads} ${rows}×${cols} n=${n}: ${r.medianMs.toFixed(3)} ms per MatMul, ${r.gbps.toFixed(1)} GB/s, ${r.gflops.toFixed(1)} GFLOP/s`);
      }
    } finally {
      await session.release();
    }
  }
  return { engine: 'onnxruntime-web', threads: spec.threads, rows: out, skipped: {}, info: { ortVersion: ort.env.versions?.web ?? null, numThreads: ort.env.wasm.numThreads } };
}

export type { Kernels };
