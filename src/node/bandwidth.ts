/**
 * Measured read bandwidth of this machine from WebAssembly, the physical ceiling of decode
 * (docs/performance.md §1: one core tops out near 26 GB/s, two near 50). A tiny hand-assembled module sums a
 * buffer far larger than the last-level cache with v128 loads in 8 interleaved streams (64 bytes of each
 * per loop step, four i32x4 accumulators; readKernelBytes); one thread reads its own 256 MiB, two threads (this one + a worker) each
 * read their own buffer at the same time. GB/s = bytes read / time, median of several passes.
 */
import { Worker } from 'node:worker_threads';
import { median } from '../util/stats.js';

const MIB = 2 ** 20;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

/**
 * (module (import "env" "memory" (memory 1 65536))
 *   (func (export "read") (param $p i32) (param $n i32) (result i32) ...))
 * read(p, n): Σ of the i32 lanes of bytes [p, p + n) (n a multiple of 512; the result keeps the loads
 * alive), read as READ_STREAMS interleaved sequential streams, one per eighth of the range: each loop
 * step reads 64 bytes of every stream. A core's prefetcher follows each stream by itself, and one stream
 * leaves part of a core's bandwidth unused on some CPUs (an Intel Xeon here read 11.0 GB/s through one
 * and 12.7 through 2–8; docs/performance.md §7, session 16), so the ceiling is measured the way the
 * one-row kernels read (assembly/matmul_quant.ts, MATVEC_STREAMS).
 */
export const READ_STREAMS = 8;
export function readKernelBytes(): Uint8Array<ArrayBuffer> {
  const LG = 0x20, LS = 0x21;
  const PART = 2, OFF = 3, Q0 = 4, ACC = 4 + READ_STREAMS;
  const load = (off: number) => [0xfd, 0x00, 4, ...leb(off)]; // v128.load align=16
  const add = [0xfd, ...leb(174)]; // i32x4.add
  const body: number[] = [
    2, 2 + READ_STREAMS, 0x7f, 4, 0x7b, // locals: part, off, q0..q7 (i32); 4 v128 accumulators
    LG, 1, 0x41, 3, 0x76, LS, PART, // part = n >>> 3
  ];
  // q_s = p + s·part
  for (let st = 0; st < READ_STREAMS; st++) body.push(LG, 0, LG, PART, 0x41, st, 0x6c, 0x6a, LS, Q0 + st);
  body.push(
    0x02, 0x40, 0x03, 0x40, // block, loop
    LG, OFF, LG, PART, 0x4f, 0x0d, 1, // br_if (off >= part) out
  );
  for (let st = 0; st < READ_STREAMS; st++) {
    for (let j = 0; j < 4; j++) body.push(LG, ACC + j, LG, Q0 + st, LG, OFF, 0x6a, ...load(16 * j), ...add, LS, ACC + j);
  }
  body.push(LG, OFF, 0x41, 0xc0, 0x00, 0x6a, LS, OFF, 0x0c, 0, 0x0b, 0x0b); // off += 64 (signed LEB128: 0xc0 0x00); br loop; end; end
  body.push(LG, ACC, LG, ACC + 1, ...add, LG, ACC + 2, ...add, LG, ACC + 3, ...add);
  body.push(LS, ACC);
  for (let lane = 0; lane < 4; lane++) body.push(LG, ACC, 0xfd, 0x1b, lane, ...(lane > 0 ? [0x6a] : []));
  body.push(0x0b);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]),
    ...section(2, [1, 3, ...Array.from('env', (c) => c.charCodeAt(0)), 6, ...Array.from('memory', (c) => c.charCodeAt(0)), 0x02, 0x01, 1, ...leb(65536)]),
    ...section(3, [1, 0]),
    ...section(7, [1, 4, ...Array.from('read', (c) => c.charCodeAt(0)), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

/** Instantiate the read kernel over a fresh memory of `bytes` (filled, so no page is the shared zero page). */
function setup(bytes: number): { read: (p: number, n: number) => number; memory: WebAssembly.Memory } {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 1, maximum: 65536 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readKernelBytes()), { env: { memory } });
  const u32 = new Uint32Array(memory.buffer, 0, bytes / 4);
  for (let i = 0; i < u32.length; i++) u32[i] = (i * 2654435761) >>> 0;
  return { read: inst.exports.read as (p: number, n: number) => number, memory };
}

/** Check the kernel against a JS sum on a small buffer (so a wrong module is never timed). */
export function validateReadKernel(): void {
  const { read, memory } = setup(MIB);
  const u32 = new Uint32Array(memory.buffer, 0, MIB / 4);
  let want = 0;
  for (let i = 0; i < 4096; i++) want = (want + u32[i]!) | 0;
  const got = read(0, 16384);
  if (got !== want) throw new Error(`bandwidth kernel: sum ${got}, expected ${want}`);
}

export interface Bandwidth {
  readonly threads: number;
  /** Median GB/s (all threads together). */
  readonly gbps: number;
  readonly samples: readonly number[];
  readonly bufferMiB: number;
}

/** Read bandwidth of one thread over `mib` MiB: the median of `passes` timed passes after 2 warm-up passes. */
export function measureBandwidth1(mib = 256, passes = 7): Bandwidth {
  const bytes = mib * MIB;
  const { read } = setup(bytes);
  read(0, bytes);
  read(0, bytes);
  const samples: number[] = [];
  for (let i = 0; i < passes; i++) {
    const t0 = performance.now();
    read(0, bytes);
    samples.push(bytes / ((performance.now() - t0) * 1e-3) / 1e9);
  }
  return { threads: 1, gbps: median(samples), samples, bufferMiB: mib };
}

// flags: i32[0] command (pass number, −1 = exit), i32[1] ready, i32[2] last pass done; f64[2] its milliseconds
const WORKER_SRC = `
const { workerData } = require('node:worker_threads');
const { bytes, module, flags } = workerData;
const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 1, maximum: 65536 });
const read = new WebAssembly.Instance(module, { env: { memory } }).exports.read;
const u32 = new Uint32Array(memory.buffer, 0, bytes / 4);
for (let i = 0; i < u32.length; i++) u32[i] = (i * 2654435761) >>> 0;
read(0, bytes); read(0, bytes);
const f = new Int32Array(flags, 0, 4);
const ms = new Float64Array(flags, 16, 1);
Atomics.store(f, 1, 1);
let last = 0;
for (;;) {
  while (Atomics.load(f, 0) === last) Atomics.wait(f, 0, last, 1000);
  const cmd = Atomics.load(f, 0);
  if (cmd < 0) break;
  last = cmd;
  const t0 = performance.now();
  read(0, bytes);
  ms[0] = performance.now() - t0;
  Atomics.store(f, 2, cmd);
}
`;

/**
 * Read bandwidth of two threads at once (this thread and one worker, each over its own `mib` MiB):
 * per pass, both start together; GB/s = 2·bytes / the slower of the two. Median over `passes`.
 */
export async function measureBandwidth2(mib = 256, passes = 7): Promise<Bandwidth> {
  const bytes = mib * MIB;
  const { read } = setup(bytes);
  read(0, bytes);
  read(0, bytes);
  const flags = new SharedArrayBuffer(32);
  const f = new Int32Array(flags, 0, 4);
  const ms = new Float64Array(flags, 16, 1);
  const w = new Worker(WORKER_SRC, { eval: true, workerData: { bytes, module: new WebAssembly.Module(readKernelBytes()), flags } });
  let failed: unknown = null;
  w.once('error', (e) => (failed = e));
  const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
  try {
    const deadline = performance.now() + 60_000;
    while (Atomics.load(f, 1) !== 1) {
      if (failed !== null) throw failed;
      if (performance.now() > deadline) throw new Error('bandwidth worker did not start within 60 s');
      await sleep(5);
    }
    const samples: number[] = [];
    for (let i = 1; i <= passes; i++) {
      Atomics.store(f, 0, i);
      Atomics.notify(f, 0);
      const t0 = performance.now();
      read(0, bytes);
      const mine = performance.now() - t0;
      while (Atomics.load(f, 2) !== i) {
        if (failed !== null) throw failed;
        await sleep(1);
      }
      samples.push((2 * bytes) / (Math.max(mine, ms[0]!) * 1e-3) / 1e9);
    }
    return { threads: 2, gbps: median(samples), samples, bufferMiB: mib };
  } finally {
    Atomics.store(f, 0, -1);
    Atomics.notify(f, 0);
    await w.terminate();
  }
}
