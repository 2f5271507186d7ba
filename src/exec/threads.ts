/**
 * Threaded executor: the model's heavy kernels (matmul panels, attention heads) split over T threads
 * that share the runtime's WebAssembly memory. Browser-safe core; Node's worker creation lives in
 * src/node/threads.ts, the browser's in `browserWorkerHost` below.
 *
 * Design (measurements in docs/performance.md §3):
 * - T threads = the calling thread + T − 1 workers. Each worker instantiates the runtime's
 *   `WebAssembly.Module` over the same shared `WebAssembly.Memory`, so every kernel pointer means the
 *   same bytes on every thread. Workers get one setup message and never another message.
 * - A control block (a SharedArrayBuffer, layout below) holds a job generation counter, per-worker
 *   done/state words and, per worker, a slot of recorded kernel calls (export index + up to 20
 *   arguments as f64, which hold every i32 and f32 exactly). To fill a worker's slot, the executor
 *   runs the very code a single thread would run (`runLinear` on a panel range, `attention_f32` on a
 *   head range) against a *recording* kernel table that stores the calls instead of making them.
 *   So any dtype `runLinear` learns is split correctly without changes here, and every thread runs
 *   exactly the kernels the serial executor runs on the same panels or heads: results are
 *   bit-identical to the serial executor on the same build.
 * - Dispatch: write the slots, open each participating worker's claim word, bump the generation
 *   (Atomics.store), notify only if a worker is parked. Workers spin on the generation (Atomics.load)
 *   for `spinMicros`, then park in Atomics.wait; a woken worker takes its share by compare-exchange on
 *   its claim word. The calling thread runs its own share (the first panels / heads), then joins: a
 *   share no worker has taken yet it takes and runs itself (so a descheduled or parked worker on a busy
 *   machine costs at most the serial time, never a scheduler time slice), and it waits for the taken
 *   ones by spinning on their done words (parking too after `spinMicros`, where the thread may block).
 *   No allocation and no postMessage per call.
 * - Matmuls go in chunks instead (CMD_CHUNKS): up to CHUNKS_PER_THREAD chunks of whole panels per
 *   thread are recorded into chunk slots. Each thread, the caller included, owns a contiguous range of
 *   them and takes its chunks from the front, in panel order (one sequential stream, as a fixed share);
 *   a thread whose range is empty takes chunks from the back of the others' ranges. A range is one word
 *   (front, back and the job's generation, so a late worker never takes a chunk of a later job) changed
 *   by compare-exchange; the caller then waits for each chunk's done word. A thread that runs slower for
 *   a while (another VM's thread on its core, an efficiency core of a hybrid CPU, a page fault) ends up
 *   with fewer chunks instead of holding up the join with a fixed share.
 *   The caller stops waiting early only if a worker died, and then only once every live worker has
 *   finished the job (nothing of it still runs when the ThreadError is thrown).
 * - Small work runs serially on the calling thread (see `DEFAULT_MIN_LINEAR_WORK`), so threads never
 *   slow small models down.
 * - Start race (docs/performance.md §6.8): a worker reads the current generation before it reports ready,
 *   and the executor is only returned once every worker is ready.
 * - Failures never hang the caller: a kernel that throws on a worker (a trap) is caught there, its
 *   message written to the control block and the worker's state set to ERROR before its done word;
 *   any other exception that escapes the worker loop marks the worker DEAD and wakes the caller.
 *   The join finishes on DONE or DEAD, then the executor throws a ThreadError and stays failed
 *   (every later call throws; close() still works). A worker that vanishes without running any JS
 *   (terminated from outside, killed by a resource limit) is seen through its host's exit/error
 *   event, i.e. when the calling thread next reaches its event loop: the next call then throws.
 *   One case cannot be seen: such a silent death *during* a job while the calling thread is blocked
 *   in that job's join (the event cannot be delivered); spechub never terminates a worker that way.
 * - Shutdown: close() sends EXIT through the control block and terminates every worker; calling it
 *   twice returns the same promise. Node workers are unref()'d once ready, so a process that forgets
 *   close() still exits when its own work is done (the idle workers are parked, not spinning).
 */
import { InvalidArgumentError, ThreadError, WasmFeatureError } from '../errors.js';
import type { AttentionArgs, Executor } from './executor.js';
import { linearScratchBytes, panelCount, runLinear, type PackedLinear } from '../kernels/linear.js';
import { LinearInputs } from '../kernels/linear-input.js';
import type { Kernels, WasmBuild } from '../wasm/kernels.js';
import { Scratch, type Runtime } from '../wasm/runtime.js';

// ---- defaults (measured by bench/threads.bench.ts on 2 vCPUs, Zen 4, Node 20, a shared VM) ----

/**
 * Matmuls with rows·cols·n below this many multiply-adds run on the calling thread alone.
 * Measured: dispatch + join of an empty job ≈ 0.2 µs with the workers spinning (≈ 40–90 µs to wake
 * a parked one, which the caller never waits for: it runs a share no worker has taken itself).
 * Splitting a cache-hot matvec breaks even around 8K–32K multiply-adds (0.7–2.4 µs of serial work,
 * depending on the machine's other load) and gains ×1.7 at 64K. The threshold sits at 64K so a split
 * wins clearly: every matmul of the shipped 64-dim models at decode (64×64 … 512×64) stays serial,
 * while SmolLM-size layers (576×576 = 332K) split.
 */
export const DEFAULT_MIN_LINEAR_WORK = 65536;
/**
 * Attention calls with n·nHeads·(cacheLen + m)·headDim below this run on the calling thread alone.
 * Attention costs more per unit of this work than a matmul per multiply-add (two passes, exp,
 * softmax): 8 heads × 8 × 65 rows (4K) already take ~2.7 µs and split ×1.25–1.5; 32K (≈ 7–20 µs of
 * serial work, split ×1.3–1.5) keeps a clear margin. The shipped 64-dim models (8 heads of 8)
 * decode serially below 511 positions of context; only their longest contexts split.
 */
export const DEFAULT_MIN_ATTENTION_WORK = 32768;
/** How long an idle worker (and a joining caller) spins before parking in Atomics.wait. */
export const DEFAULT_SPIN_MICROS = 1000;

// ---- control block layout (Int32 words; hot words on their own 64-byte lines) ----

const LINE = 16; // i32 words per 64-byte cache line
const W_GEN = 0; // job generation (bumped by the caller per job)
const W_CMD = 1; // what the current generation means (CMD_*)
const W_FAULT = 2; // worker index for CMD_FAULT (tests only)
const W_PARKED = LINE; // number of workers parked in Atomics.wait on W_GEN
const W_MAIN_PARKED = 2 * LINE; // 1 while the caller is parked in its join
const W_JOIN_SEQ = 2 * LINE + 1; // bumped by workers that finish while the caller is parked
const W_WORKERS = 3 * LINE; // worker w's line: W_WORKERS + LINE·w
const D_DONE = 0; // last generation this worker finished
const D_STATE = 1; // ST_*
const D_MSG_LEN = 2; // length of the failure message (UTF-16 units)
const D_CLAIM = 3; // 2·gen: this worker's share of job gen is open; 2·gen + 1: taken (by the worker or stolen by the caller)

const CMD_RUN = 1; // each worker runs its own slot (its claim word open)
const CMD_EXIT = 2;
const CMD_FAULT = 3;
const CMD_CHUNKS = 4; // every thread claims chunks (its own range first, then the others' ends) until none is left

// state 0: starting (the control block starts zeroed)
const ST_READY = 1;
const ST_ERROR = 2; // a job failed on this worker (the worker itself lives on)
const ST_DEAD = 3; // the worker loop ended abnormally

/** Most arguments of a kernel (attention_f32 has 18). */
const MAX_ARGS = 20;
/** Most kernel calls one thread's share of one job may make. */
const MAX_CALLS = 4;
const CALL_F64 = 1 + MAX_ARGS; // export index, then the arguments
const SLOT_F64 = 8 * Math.ceil((1 + MAX_CALLS * CALL_F64) / 8); // call count, then calls; a multiple of 64 bytes
const MSG_CHARS = 512;
/** Spin iterations between clock reads. */
const SPIN_CHECK = 1024;
/** Chunks of a chunked matmul per thread, at most (the finer, the better a slow thread is covered, the more claims). */
const CHUNKS_PER_THREAD = 4;
/** Most chunks of one job (chunk indices are bytes of the range words). */
const MAX_CHUNKS = 255;
/**
 * Multiply-adds (rows·cols·n) per chunk, at least: a chunk costs a claim (a compare-exchange on a
 * shared line) and a replay (one JS → WASM call per recorded kernel call), about 0.2–0.5 µs, against
 * 10–60 µs of work per chunk at this size (int8 … f32 matrix–vector on one thread).
 */
const MIN_CHUNK_WORK = 1 << 18;

/** Chunks a thread count can use: CHUNKS_PER_THREAD each, capped at MAX_CHUNKS. */
function chunkCapacity(threads: number): number {
  return Math.min(MAX_CHUNKS, CHUNKS_PER_THREAD * threads);
}

/** Batch scratches of the quantised kernels an executor of `threads` threads reserves: one per chunk slot (one serially). */
export function linearScratchCount(threads: number): number {
  return threads <= 1 ? 1 : chunkCapacity(threads);
}

interface Layout {
  /** Int32 index of thread t's range line (t = 0 the caller, t = w + 1 worker w): (gen & 0xffff) << 16 | front << 8 | back. */
  readonly ranges: number;
  readonly chunkDone: number; // Int32 index of chunk 0's done word: [chunks] (the generation that finished it)
  readonly msgByte: number; // Uint16 [workers, MSG_CHARS]
  readonly slotF64: number; // Float64 index of worker 0's slot: [workers, SLOT_F64]
  readonly chunkF64: number; // Float64 index of chunk 0's slot: [chunks, SLOT_F64]
  readonly bytes: number;
}

function controlLayout(workers: number): Layout {
  const chunks = chunkCapacity(workers + 1);
  const ranges = W_WORKERS + LINE * workers;
  const chunkDone = ranges + LINE * (workers + 1);
  const msgByte = (chunkDone + chunks) * 4;
  const slotByte = Math.ceil((msgByte + workers * MSG_CHARS * 2) / 64) * 64;
  const chunkByte = slotByte + workers * SLOT_F64 * 8;
  return { ranges, chunkDone, msgByte, slotF64: slotByte / 8, chunkF64: chunkByte / 8, bytes: chunkByte + chunks * SLOT_F64 * 8 };
}

/**
 * Take a chunk of job `gen` from the range word at `word`: its front (`fromBack` false: the owner, which so
 * streams its panels in order) or its back (a thread whose own range is empty). −1 if the range is empty or
 * the word belongs to another job (a late thread never takes a chunk of a later job).
 */
function takeChunk(ctrl: Int32Array, word: number, gen: number, fromBack: boolean): number {
  let v = Atomics.load(ctrl, word);
  for (;;) {
    if (v >>> 16 !== (gen & 0xffff)) return -1;
    const front = (v >>> 8) & 0xff;
    const back = v & 0xff;
    if (front >= back) return -1;
    const seen = Atomics.compareExchange(ctrl, word, v, fromBack ? v - 1 : v + 256);
    if (seen === v) return fromBack ? back - 1 : front;
    v = seen;
  }
}

/** The next chunk of job gen for thread `self` of `threads`: from its own range, else from another's end; −1 when none is left. */
function claimChunk(ctrl: Int32Array, ranges: number, gen: number, self: number, threads: number): number {
  const own = takeChunk(ctrl, ranges + LINE * self, gen, false);
  if (own >= 0) return own;
  for (let k = 1; k < threads; k++) {
    const c = takeChunk(ctrl, ranges + LINE * ((self + k) % threads), gen, true);
    if (c >= 0) return c;
  }
  return -1;
}

/** Names of the module's exported functions, in module order (the index a recorded call carries). */
function exportNames(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .filter((d) => d.kind === 'function')
    .map((d) => d.name);
}

// ---- worker side ----

/** The one message a worker gets: everything it needs (structured-cloneable). */
export interface KernelWorkerInit {
  readonly module: WebAssembly.Module;
  /** The runtime's shared memory. */
  readonly memory: WebAssembly.Memory;
  /** The control block. */
  readonly control: SharedArrayBuffer;
  /** This worker's index, 0-based (messages call it "worker index + 1 of workers"; the caller is not a worker). */
  readonly worker: number;
  readonly workers: number;
  readonly spinMicros: number;
  readonly build: WasmBuild;
}

type KernelFn = (...args: number[]) => unknown;

/**
 * The worker loop: instantiate the module over the shared memory, report ready, then run jobs until
 * EXIT. Blocks the worker thread for its lifetime (its event loop never runs again). Used by the
 * Node worker entry (src/node/kernel-worker.ts) and the browser one (src/exec/browser-kernel-worker.ts).
 */
export function runKernelWorker(init: KernelWorkerInit, signalReady: () => void): void {
  const { module, memory, control, worker, workers, spinMicros } = init;
  const imports = { env: { memory, abort: () => { throw new Error('wasm abort'); } } };
  const instance = new WebAssembly.Instance(module, imports);
  const exps = instance.exports as Record<string, unknown>;
  if ((exps.build_threads as () => number)() !== 1) {
    throw new WasmFeatureError(`kernel worker ${worker}: expected a shared-memory (-mt) build, got "${init.build}"`);
  }
  const fns = exportNames(module).map((name) => {
    const fn = exps[name] as KernelFn;
    // a recorded call carries MAX_ARGS arguments (the raw exports report their arity as length)
    if (fn.length > MAX_ARGS) throw new WasmFeatureError(`kernel worker ${worker}: kernel ${name} takes ${fn.length} arguments, more than ${MAX_ARGS}`);
    return fn;
  });
  const ctrl = new Int32Array(control);
  const f64 = new Float64Array(control);
  const layout = controlLayout(workers);
  const line = W_WORKERS + LINE * worker;
  const slot = layout.slotF64 + worker * SLOT_F64;
  const spinMs = spinMicros / 1000;
  const fail = (state: number, err: unknown) => {
    writeMessage(control, layout, worker, describe(err));
    Atomics.store(ctrl, line + D_STATE, state);
  };

  // pitfall 8: take the current generation before reporting ready, never assume 0; and a worker
  // that starts after close() (another worker failed to start) must not wait for a job that never comes
  let last = Atomics.load(ctrl, W_GEN);
  Atomics.store(ctrl, line + D_DONE, last);
  Atomics.store(ctrl, line + D_STATE, ST_READY);
  signalReady();
  if (Atomics.load(ctrl, W_CMD) === CMD_EXIT) return;
  try {
    for (;;) {
      const gen = awaitGeneration(ctrl, last, spinMs);
      last = gen;
      const cmd = Atomics.load(ctrl, W_CMD);
      if (cmd === CMD_EXIT) return;
      if (cmd === CMD_FAULT && Atomics.load(ctrl, W_FAULT) === worker) {
        throw new Error('fault injected by the test hook');
      }
      if (cmd === CMD_CHUNKS) {
        // claim chunks until none is left; a failed chunk still counts as finished (the caller then
        // sees this worker's ERROR state)
        for (let c = claimChunk(ctrl, layout.ranges, gen, worker + 1, workers + 1); c >= 0; c = claimChunk(ctrl, layout.ranges, gen, worker + 1, workers + 1)) {
          try {
            replaySlot(fns, f64, layout.chunkF64 + c * SLOT_F64);
          } catch (err) {
            fail(ST_ERROR, err);
          }
          // the generation of the job the chunk belongs to: W_GEN cannot move before this chunk is done.
          // (Not `gen`: a worker that slept through 65536 jobs could match a later job's 16-bit tag.)
          Atomics.store(ctrl, layout.chunkDone + c, Atomics.load(ctrl, W_GEN));
          wakeCaller(ctrl);
        }
        // none left: this worker is idle for the job (what the caller waits for if another worker died)
        Atomics.store(ctrl, line + D_DONE, gen);
        wakeCaller(ctrl);
        continue;
      }
      // take the share unless the caller stole it (it does when this worker is late)
      if (cmd !== CMD_RUN || Atomics.compareExchange(ctrl, line + D_CLAIM, gen << 1, (gen << 1) | 1) !== gen << 1) continue;
      try {
        replaySlot(fns, f64, slot);
      } catch (err) {
        fail(ST_ERROR, err); // state before done: the caller sees both once it sees done
      }
      Atomics.store(ctrl, line + D_DONE, gen);
      wakeCaller(ctrl);
    }
  } catch (err) {
    fail(ST_DEAD, err);
    Atomics.add(ctrl, W_JOIN_SEQ, 1);
    Atomics.notify(ctrl, W_JOIN_SEQ);
  }
}

/** Wake the caller if it is parked in a join (it re-checks what it waits for). */
function wakeCaller(ctrl: Int32Array): void {
  if (Atomics.load(ctrl, W_MAIN_PARKED) !== 0) {
    Atomics.add(ctrl, W_JOIN_SEQ, 1);
    Atomics.notify(ctrl, W_JOIN_SEQ);
  }
}

/** Run the kernel calls recorded in the slot at f64 index `slot`. */
function replaySlot(fns: readonly KernelFn[], f64: Float64Array, slot: number): void {
  const calls = f64[slot]!;
  for (let c = 0; c < calls; c++) {
    const b = slot + 1 + c * CALL_F64;
    fns[f64[b]!]!(f64[b + 1]!, f64[b + 2]!, f64[b + 3]!, f64[b + 4]!, f64[b + 5]!, f64[b + 6]!, f64[b + 7]!, f64[b + 8]!,
      f64[b + 9]!, f64[b + 10]!, f64[b + 11]!, f64[b + 12]!, f64[b + 13]!, f64[b + 14]!, f64[b + 15]!, f64[b + 16]!,
      f64[b + 17]!, f64[b + 18]!, f64[b + 19]!, f64[b + 20]!);
  }
}

/** Spin until the generation differs from `last`, for up to spinMs, then park until it does. */
function awaitGeneration(ctrl: Int32Array, last: number, spinMs: number): number {
  let gen = Atomics.load(ctrl, W_GEN);
  if (gen !== last) return gen;
  let deadline = -1;
  for (;;) {
    for (let i = 0; i < SPIN_CHECK; i++) {
      gen = Atomics.load(ctrl, W_GEN);
      if (gen !== last) return gen;
    }
    const now = performance.now();
    if (deadline < 0) deadline = now + spinMs;
    else if (now >= deadline) break;
  }
  for (;;) {
    // the caller notifies iff it sees PARKED > 0 after bumping GEN; wait() re-checks GEN atomically
    Atomics.add(ctrl, W_PARKED, 1);
    Atomics.wait(ctrl, W_GEN, last);
    Atomics.sub(ctrl, W_PARKED, 1);
    gen = Atomics.load(ctrl, W_GEN);
    if (gen !== last) return gen;
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function writeMessage(control: SharedArrayBuffer, layout: Layout, worker: number, text: string): void {
  const chars = new Uint16Array(control, layout.msgByte + worker * MSG_CHARS * 2, MSG_CHARS);
  const len = Math.min(text.length, MSG_CHARS);
  for (let i = 0; i < len; i++) chars[i] = text.charCodeAt(i);
  Atomics.store(new Int32Array(control), W_WORKERS + LINE * worker + D_MSG_LEN, len);
}

function readMessage(control: SharedArrayBuffer, layout: Layout, worker: number): string {
  const len = Atomics.load(new Int32Array(control), W_WORKERS + LINE * worker + D_MSG_LEN);
  const chars = new Uint16Array(control, layout.msgByte + worker * MSG_CHARS * 2, len);
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(chars[i]!);
  return s;
}

// ---- worker hosts ----

/** What a host reports about one worker it started. */
export interface WorkerEvents {
  /** The worker instantiated the module and entered its loop. */
  ready(): void;
  /** An uncaught error (startup failure, or an engine-level failure later). */
  error(err: unknown): void;
  /** The worker thread ended (Node; browsers have no such event). */
  exit(code: number): void;
}

/** A started worker. */
export interface WorkerHandle {
  /** Stop the thread; resolves once it is gone (or at once where that cannot be observed). */
  terminate(): Promise<void>;
  /** Let the process exit while this worker lives (Node `worker.unref()`); absent in browsers. */
  unref?(): void;
}

/** How to start a kernel worker (Node worker_threads, Web Workers, or a test double). */
export interface WorkerHost {
  /** Start a worker that runs `runKernelWorker(init, …)` and report its events. */
  spawn(init: KernelWorkerInit, events: WorkerEvents): WorkerHandle;
}

/** Minimal shape of a browser `Worker` (and of test doubles of it). */
export interface WebWorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: { message?: string; error?: unknown; preventDefault?(): void }) => void) | null;
}

/**
 * Web Workers: `createWorker()` must start the module script `browser-kernel-worker.js` (next to this
 * file in dist/src/exec/), e.g. `() => new Worker(new URL('./browser-kernel-worker.js', <URL of this
 * module>), { type: 'module' })` as the bundler serves it. The page must be cross-origin isolated
 * (COOP/COEP headers) for shared memory to exist at all. Browsers report no worker exit, so a worker
 * lost outside a job is only seen if its loop ran (DEAD state) or through its error event.
 */
export function browserWorkerHost(createWorker: () => WebWorkerLike): WorkerHost {
  return {
    spawn(init, events) {
      const w = createWorker();
      w.onmessage = (ev) => {
        const data = ev.data as { type?: string } | null;
        if (data !== null && typeof data === 'object' && data.type === 'ready') events.ready();
      };
      w.onerror = (ev) => {
        ev.preventDefault?.();
        events.error(ev.error ?? new Error(ev.message ?? 'worker error'));
      };
      w.postMessage(init);
      return {
        terminate: async () => w.terminate(),
      };
    },
  };
}

// ---- the executor ----

/** Options of ThreadedExecutor.create. */
export interface ThreadedExecutorOptions {
  /** Threads in all, the calling thread included (≥ 2; more than the cores works but only slows down). */
  threads: number;
  /** How workers are started (Node: `nodeWorkerHost()` from the Node entry). */
  host: WorkerHost;
  /** Multiply-adds (rows·cols·n) below which a matmul runs on the calling thread. Default DEFAULT_MIN_LINEAR_WORK. */
  minLinearWork?: number;
  /** n·nHeads·(cacheLen + m)·headDim below which attention runs on the calling thread. Default DEFAULT_MIN_ATTENTION_WORK. */
  minAttentionWork?: number;
  /** Idle spin before a worker (or a joining caller) parks, µs. Default DEFAULT_SPIN_MICROS. */
  spinMicros?: number;
  /**
   * @internal Tests only. Who runs the work the caller does not run first. Split matmuls ('chunks'):
   * 'late' (default) = every thread claims chunks, the caller too; 'never' = the workers alone (the
   * caller waits); 'always' = the caller runs every chunk (the job is recorded but never published).
   * Static shares (attention, and matmuls with split 'shares'): 'late' = a worker runs its share
   * unless it has not taken it by the time the caller finished its own; 'never' = always the worker;
   * 'always' = always the caller.
   */
  stealing?: 'late' | 'never' | 'always';
  /**
   * @internal Benchmarks and tests. How a matmul is split: 'chunks' (default) = CHUNKS_PER_THREAD
   * chunks per thread that the threads claim one at a time; 'shares' = one fixed share per thread (the
   * split before chunks: bench:threads compares the two; tests use it to know which thread runs which panels).
   */
  split?: 'chunks' | 'shares';
}

/** Calls made so far (what ran where). */
export interface ThreadStats {
  /** Kernel calls split over threads. */
  parallel: number;
  /** Kernel calls run on the calling thread alone (below the thresholds, or too few panels/heads). */
  serial: number;
  /** Chunks the split matmuls were cut into, in all (split 'chunks'). */
  chunks: number;
}

/** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

function checkCount(where: string, name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`${where}: expected ${name} to be an integer >= ${min}, got ${v}`);
}

/**
 * Runs matmuls by panels and attention by heads on T threads over one shared memory; everything
 * else of the Executor contract as SerialExecutor. Create with `ThreadedExecutor.create` (async:
 * waits until every worker is ready). Not re-entrant (one call at a time, as everything on a thread).
 */
export class ThreadedExecutor implements Executor {
  readonly threads: number;
  /** What ran where (for tests and diagnostics). */
  readonly stats: ThreadStats = { parallel: 0, serial: 0, chunks: 0 };
  readonly minLinearWork: number;
  readonly minAttentionWork: number;

  private readonly workers: number;
  private readonly ctrl: Int32Array;
  private readonly f64: Float64Array;
  private readonly layout: Layout;
  private readonly spinMs: number;
  private readonly blocking: boolean;
  /** Records kernel calls into the current slot instead of running them. */
  private readonly rec: Kernels;
  /** This thread's kernels by export index (to run a share it stole). */
  private readonly fns: KernelFn[];
  /** This thread's kernels, unwrapped from the loader's argument-counting wrappers (no array per call). */
  private readonly k: Kernels;
  private recSlot = 0;
  private recCalls = 0;
  private gen = 0;
  private readonly scores: Scratch[]; // per thread: f32 [rows of the largest reserveAttention]
  /** Per chunk slot (or, for fixed shares, per thread: 0 = this one): the quantised kernels' batch scratch (a batch it cannot hold runs without it). */
  private readonly batchScratch: Scratch[];
  private readonly stealing: 'late' | 'never' | 'always';
  private readonly split: 'chunks' | 'shares';
  /** Prepared (quantised) linear inputs: made on this thread, read by every thread. */
  private readonly inputs: LinearInputs;
  private failure: ThreadError | null = null;
  private closing: Promise<void> | null = null;
  private handles: WorkerHandle[] = [];

  private constructor(
    readonly rt: Runtime,
    private readonly control: SharedArrayBuffer,
    options: ThreadedExecutorOptions,
  ) {
    this.threads = options.threads;
    this.workers = options.threads - 1;
    this.minLinearWork = options.minLinearWork ?? DEFAULT_MIN_LINEAR_WORK;
    this.minAttentionWork = options.minAttentionWork ?? DEFAULT_MIN_ATTENTION_WORK;
    this.spinMs = (options.spinMicros ?? DEFAULT_SPIN_MICROS) / 1000;
    this.layout = controlLayout(this.workers);
    this.ctrl = new Int32Array(control);
    this.f64 = new Float64Array(control);
    this.blocking = canBlock();
    this.stealing = options.stealing ?? 'late';
    this.split = options.split ?? 'chunks';
    this.inputs = new LinearInputs(rt);
    this.scores = Array.from({ length: this.threads }, (_, t) => new Scratch(rt.arena, `exec.scores.t${t}`));
    this.batchScratch = Array.from({ length: linearScratchCount(this.threads) }, (_, t) => new Scratch(rt.arena, `exec.linear-scratch.${t}`));
    const names = exportNames(rt.module);
    this.rec = this.makeRecorder(names);
    // the loader wraps each export in (...args) => …, allocating per call; `original` is the export itself
    const wrapped = rt.k as unknown as Record<string, KernelFn & { original?: KernelFn }>;
    this.fns = names.map((name) => wrapped[name]!.original ?? wrapped[name]!);
    this.k = Object.fromEntries(names.map((name, i) => [name, this.fns[i]])) as unknown as Kernels;
  }

  /**
   * Start `threads − 1` workers over `rt` (a runtime of an -mt build) and wait until each is ready.
   * If any worker fails to start, the others are terminated and a ThreadError is thrown.
   */
  static async create(rt: Runtime, options: ThreadedExecutorOptions): Promise<ThreadedExecutor> {
    const where = 'ThreadedExecutor';
    checkCount(where, 'threads', options.threads, 2);
    if (options.threads > 256) throw new InvalidArgumentError(`${where}: expected threads <= 256, got ${options.threads}`);
    for (const [name, v] of [['minLinearWork', options.minLinearWork], ['minAttentionWork', options.minAttentionWork], ['spinMicros', options.spinMicros]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new InvalidArgumentError(`${where}: expected ${name} >= 0, got ${v}`);
    }
    if (typeof SharedArrayBuffer === 'undefined') {
      throw new WasmFeatureError(
        `${where}: SharedArrayBuffer is not defined; browsers define it only on cross-origin-isolated pages ` +
          '(headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"); use one thread',
      );
    }
    if (!rt.shared || !(rt.memory.buffer instanceof SharedArrayBuffer)) {
      throw new WasmFeatureError(`${where}: expected a runtime over a shared memory (build simd-mt or relaxed-mt), got build "${rt.build}"`);
    }
    const workers = options.threads - 1;
    const control = new SharedArrayBuffer(controlLayout(workers).bytes);
    const ex = new ThreadedExecutor(rt, control, options);
    Atomics.store(ex.ctrl, W_CMD, CMD_RUN);
    const started: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      started.push(
        new Promise<void>((resolve, reject) => {
          let up = false;
          const init: KernelWorkerInit = {
            module: rt.module, memory: rt.memory, control, worker: w, workers, spinMicros: options.spinMicros ?? DEFAULT_SPIN_MICROS, build: rt.build,
          };
          const events: WorkerEvents = {
            ready: () => {
              up = true;
              resolve();
            },
            error: (err) => {
              if (!up) reject(new ThreadError(`${where}: worker ${w + 1} of ${workers} failed to start: ${describe(err)}`, { cause: err }));
              else ex.workerLost(w, `worker error: ${describe(err)}`);
            },
            exit: (code) => {
              if (!up) reject(new ThreadError(`${where}: worker ${w + 1} of ${workers} exited during start (code ${code})`));
              else ex.workerLost(w, `worker exited unexpectedly (code ${code})`);
            },
          };
          let handle: WorkerHandle;
          try {
            handle = options.host.spawn(init, events);
          } catch (err) {
            reject(new ThreadError(`${where}: could not start worker ${w + 1} of ${workers}: ${describe(err)}`, { cause: err }));
            return;
          }
          ex.handles.push(handle);
        }),
      );
    }
    try {
      await Promise.all(started);
    } catch (err) {
      await ex.close();
      throw err;
    }
    for (const h of ex.handles) h.unref?.();
    return ex;
  }

  /** Allocate one attention scratch per thread (each of `rows` f32; attentionScratchFloats says how many a call needs). Load time only. */
  reserveAttention(rows: number): void {
    checkCount('ThreadedExecutor.reserveAttention', 'rows', rows, 0);
    for (const s of this.scores) s.reserve(rows * 4);
  }

  /** Reserve the prepared-input scratch of quantised linears and each thread's batch scratch (see Executor). Load time only. */
  reserveLinearInput(n: number, cols: number): void {
    this.inputs.reserve(n, cols);
    const bytes = linearScratchBytes(this.k, n);
    for (const s of this.batchScratch) s.reserve(bytes);
  }

  /** Quantise x once for several quantised linears, on this thread (see Executor). */
  prepareInput(xPtr: number, n: number, cols: number): number {
    this.usable();
    return this.inputs.prepare(xPtr, n, cols);
  }

  /**
   * out[i, r] = Σ_c x[i, c]·W[r, c]. The input is prepared for the dtype here first (quantised types: quantised,
   * unless `prepared`), then the panels are split over min(T, panels) threads when rows·cols·n ≥
   * minLinearWork, else run here.
   */
  linear(lin: PackedLinear, outPtr: number, outStride: number, xPtr: number, n: number, prepared = 0): void {
    this.usable();
    const inPtr = this.inputs.inputFor(lin, xPtr, n, prepared); // [n, cols] f32, or the prepared input
    const P = panelCount(lin);
    const parts = Math.min(this.threads, P);
    // each job slot has its own scratch (a stolen slot runs on one thread too); all are reserved alike
    const batch = linearScratchBytes(this.k, n) <= this.batchScratch[0]!.bytes;
    if (parts < 2 || lin.rows * lin.cols * n < this.minLinearWork) {
      this.stats.serial++;
      runLinear(this.k, lin, outPtr, outStride, inPtr, n, 0, P, batch ? this.batchScratch[0]!.ptr : 0);
      return;
    }
    this.stats.parallel++;
    if (this.split === 'chunks') {
      this.linearChunked(lin, outPtr, outStride, inPtr, n, P, batch);
      return;
    }
    // shares of whole panels; multiples of 4 panels (64 output bytes) when large, against false sharing
    const align = panelAlign(P, parts);
    for (let t = 1; t < this.threads; t++) {
      this.beginSlot(this.layout.slotF64 + (t - 1) * SLOT_F64);
      if (t < parts) runLinear(this.rec, lin, outPtr, outStride, inPtr, n, splitPoint(P, parts, t, align), splitPoint(P, parts, t + 1, align), batch ? this.batchScratch[t]!.ptr : 0);
      this.endSlot();
    }
    this.dispatch(parts);
    let mainError: unknown = undefined;
    try {
      runLinear(this.k, lin, outPtr, outStride, inPtr, n, 0, splitPoint(P, parts, 1, align), batch ? this.batchScratch[0]!.ptr : 0);
    } catch (err) {
      mainError = err;
    }
    this.join(parts, mainError);
  }

  /**
   * The matmul as K chunks of whole panels, each thread (the caller too) taking its own contiguous
   * range's chunks first and then the others' last ones, so a thread that runs slower (another process
   * on its core, a slower core of a hybrid CPU) ends with fewer chunks instead of holding up the join;
   * a worker that wakes late finds its chunks taken. K: CHUNKS_PER_THREAD per thread when the work
   * allows (≥ MIN_CHUNK_WORK multiply-adds each), never fewer chunks than threads (up to MAX_CHUNKS) nor
   * more than panels;
   * chunk c writes only its own panels' outputs and uses its own batch scratch, so the result is the
   * serial executor's, bit for bit.
   */
  private linearChunked(lin: PackedLinear, outPtr: number, outStride: number, inPtr: number, n: number, P: number, batch: boolean): void {
    const parts = Math.min(this.threads, P);
    const byWork = Math.floor((lin.rows * lin.cols * n) / MIN_CHUNK_WORK);
    // (capped: with more than MAX_CHUNKS threads some threads get no chunk)
    const K = Math.min(chunkCapacity(this.threads), Math.max(parts, Math.min(byWork, P)));
    const align = panelAlign(P, K);
    this.stats.chunks += K;
    for (let c = 0; c < K; c++) {
      this.beginSlot(this.layout.chunkF64 + c * SLOT_F64);
      runLinear(this.rec, lin, outPtr, outStride, inPtr, n, splitPoint(P, K, c, align), splitPoint(P, K, c + 1, align), batch ? this.batchScratch[c]!.ptr : 0);
      this.endSlot();
    }
    const ctrl = this.ctrl;
    const gen = (this.gen + 1) | 0; // dispatch's generation
    // thread t owns chunks [tK/T, (t+1)K/T) (empty when K < T), in panel order
    for (let t = 0; t < this.threads; t++) {
      const front = Math.floor((t * K) / this.threads);
      const back = Math.floor(((t + 1) * K) / this.threads);
      Atomics.store(ctrl, this.layout.ranges + LINE * t, ((gen & 0xffff) << 16) | (front << 8) | back);
    }
    Atomics.store(ctrl, W_CMD, CMD_CHUNKS);
    this.dispatch(1); // (stealing 'always': not published, the loop below claims every chunk)
    let mainError: unknown = undefined;
    if (this.stealing !== 'never') {
      for (let c = claimChunk(ctrl, this.layout.ranges, gen, 0, this.threads); c >= 0; c = claimChunk(ctrl, this.layout.ranges, gen, 0, this.threads)) {
        try {
          replaySlot(this.fns, this.f64, this.layout.chunkF64 + c * SLOT_F64);
        } catch (err) {
          if (mainError === undefined) mainError = err;
        }
        Atomics.store(ctrl, this.layout.chunkDone + c, gen);
      }
    }
    for (let c = 0; c < K; c++) {
      if (Atomics.load(ctrl, this.layout.chunkDone + c) !== gen) this.awaitChunk(c, gen);
    }
    Atomics.store(ctrl, W_CMD, CMD_RUN);
    this.checkStates();
    if (mainError !== undefined) throw mainError;
  }

  /** Attention split by heads over min(T, nHeads) threads (each with its own scores scratch) when big enough. */
  attention(a: AttentionArgs): void {
    this.usable();
    const k = this.k;
    const parts = Math.min(this.threads, a.nHeads);
    if (parts < 2 || a.n * a.nHeads * (a.cacheLen + a.m) * a.headDim < this.minAttentionWork) {
      this.stats.serial++;
      (a.f16 ? k.attention_f16 : k.attention_f32)(a.outPtr, a.qPtr, a.kPtr, a.vPtr, this.scores[0]!.ptr, a.maskPtr, a.posPtr,
        a.n, a.m, a.nHeads, a.nKvHeads, a.headDim, a.cacheLen, 0, a.nHeads, a.scale, a.softcap, a.window, a.headRows ?? 0);
      return;
    }
    this.stats.parallel++;
    for (let t = 1; t < this.threads; t++) {
      this.beginSlot(this.layout.slotF64 + (t - 1) * SLOT_F64);
      if (t < parts) {
        (a.f16 ? this.rec.attention_f16 : this.rec.attention_f32)(a.outPtr, a.qPtr, a.kPtr, a.vPtr, this.scores[t]!.ptr, a.maskPtr, a.posPtr,
          a.n, a.m, a.nHeads, a.nKvHeads, a.headDim, a.cacheLen, splitPoint(a.nHeads, parts, t, 1), splitPoint(a.nHeads, parts, t + 1, 1),
          a.scale, a.softcap, a.window, a.headRows ?? 0);
      }
      this.endSlot();
    }
    this.dispatch(parts);
    let mainError: unknown = undefined;
    try {
      (a.f16 ? k.attention_f16 : k.attention_f32)(a.outPtr, a.qPtr, a.kPtr, a.vPtr, this.scores[0]!.ptr, a.maskPtr, a.posPtr,
        a.n, a.m, a.nHeads, a.nKvHeads, a.headDim, a.cacheLen, 0, splitPoint(a.nHeads, parts, 1, 1), a.scale, a.softcap, a.window, a.headRows ?? 0);
    } catch (err) {
      mainError = err;
    }
    this.join(parts, mainError);
  }

  /** Workers parked in Atomics.wait right now (idle longer than spinMicros); diagnostics and tests. */
  get parkedWorkers(): number {
    return Atomics.load(this.ctrl, W_PARKED);
  }

  /**
   * Run an empty job on every worker and wait until each has taken it (no stealing): the round trip
   * of dispatch + join, and a liveness check.
   */
  ping(): void {
    this.usable();
    for (let w = 0; w < this.workers; w++) this.f64[this.layout.slotF64 + w * SLOT_F64] = 0;
    this.dispatch(this.threads, false);
    for (let w = 0; w < this.workers; w++) this.awaitWorker(W_WORKERS + LINE * w, this.gen);
    this.checkStates();
  }

  /**
   * Stop every worker (EXIT through the control block, then terminate) and resolve once they are gone.
   * Idempotent: later calls return the same promise. Any call after close() throws a ThreadError.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      Atomics.store(this.ctrl, W_CMD, CMD_EXIT);
      Atomics.store(this.ctrl, W_GEN, (this.gen + 1) | 0);
      Atomics.notify(this.ctrl, W_GEN);
      const handles = this.handles;
      this.closing = Promise.all(handles.map((h) => h.terminate())).then(() => undefined);
    }
    return this.closing;
  }

  /**
   * @internal Test hook: make worker `worker` (0-based) throw from its loop outside any job, as a
   * bug in the worker loop would. The next job then fails with a ThreadError instead of hanging.
   */
  injectWorkerFault(worker: number): void {
    this.usable();
    if (!(Number.isSafeInteger(worker) && worker >= 0 && worker < this.workers)) {
      throw new InvalidArgumentError(`ThreadedExecutor.injectWorkerFault: expected a worker in [0, ${this.workers}), got ${worker}`);
    }
    Atomics.store(this.ctrl, W_FAULT, worker);
    Atomics.store(this.ctrl, W_CMD, CMD_FAULT);
    this.dispatch(1, false);
    this.awaitWorker(W_WORKERS + LINE * worker, this.gen); // returns once the worker is DEAD
    Atomics.store(this.ctrl, W_CMD, CMD_RUN);
  }

  // ---- internals ----

  private usable(): void {
    if (this.closing !== null) throw new ThreadError('ThreadedExecutor: used after close()');
    if (this.failure !== null) {
      throw new ThreadError(`ThreadedExecutor: unusable after an earlier failure (${this.failure.message})`, { cause: this.failure });
    }
  }

  /** Record the next kernel calls into the slot at f64 index `slot` (a worker's or a chunk's). */
  private beginSlot(slot: number): void {
    this.recSlot = slot;
    this.recCalls = 0;
  }

  private endSlot(): void {
    this.f64[this.recSlot] = this.recCalls;
  }

  private makeRecorder(names: readonly string[]): Kernels {
    const rec: Record<string, unknown> = {};
    names.forEach((name, id) => {
      rec[name] = (a0: number, a1: number, a2: number, a3: number, a4: number, a5: number, a6: number, a7: number,
        a8: number, a9: number, a10: number, a11: number, a12: number, a13: number, a14: number, a15: number,
        a16: number, a17: number, a18: number, a19: number) => {
        if (this.recCalls >= MAX_CALLS) {
          throw new ThreadError(`ThreadedExecutor: a thread's share of one job makes more than ${MAX_CALLS} kernel calls (${name})`);
        }
        const f = this.f64;
        const b = this.recSlot + 1 + this.recCalls * CALL_F64;
        f[b] = id;
        f[b + 1] = a0; f[b + 2] = a1; f[b + 3] = a2; f[b + 4] = a3; f[b + 5] = a4; f[b + 6] = a5; f[b + 7] = a6; f[b + 8] = a7;
        f[b + 9] = a8; f[b + 10] = a9; f[b + 11] = a10; f[b + 12] = a11; f[b + 13] = a12; f[b + 14] = a13; f[b + 15] = a14; f[b + 16] = a15;
        f[b + 17] = a16; f[b + 18] = a17; f[b + 19] = a18; f[b + 20] = a19;
        this.recCalls++;
        return 0;
      };
    });
    return rec as unknown as Kernels;
  }

  /** Publish the slots as job `gen + 1`: shares of workers 0 .. parts − 2 open, the others closed. */
  private dispatch(parts: number, job = true): void {
    const ctrl = this.ctrl;
    const gen = (this.gen = (this.gen + 1) | 0);
    for (let w = 0; w < this.workers; w++) Atomics.store(ctrl, W_WORKERS + LINE * w + D_CLAIM, w + 1 < parts ? gen << 1 : (gen << 1) | 1);
    if (job && this.stealing === 'always') return; // workers never see it; join runs every share here
    Atomics.store(ctrl, W_GEN, gen);
    if (Atomics.load(ctrl, W_PARKED) !== 0) Atomics.notify(ctrl, W_GEN);
  }

  /**
   * After this thread ran its own share: run here every open share no worker has taken yet (a late
   * or descheduled worker never makes the caller wait), wait for the taken ones, then surface
   * failures: a worker's as a ThreadError (the executor is failed from then on), else the first
   * error of a share run here (`mainError`, e.g. a trap, exactly as the serial executor throws it).
   */
  private join(parts: number, mainError: unknown): void {
    const ctrl = this.ctrl;
    const gen = this.gen;
    for (let w = 0; w + 1 < parts; w++) {
      const line = W_WORKERS + LINE * w;
      if (this.stealing !== 'never' && Atomics.compareExchange(ctrl, line + D_CLAIM, gen << 1, (gen << 1) | 1) === gen << 1) {
        try {
          replaySlot(this.fns, this.f64, this.layout.slotF64 + w * SLOT_F64);
        } catch (err) {
          if (mainError === undefined) mainError = err;
        }
      } else if (Atomics.load(ctrl, line + D_DONE) !== gen) {
        this.awaitWorker(line, gen);
      }
    }
    this.checkStates();
    if (mainError !== undefined) throw mainError;
  }

  /** Throw if a worker reported a failure. */
  private checkStates(): void {
    for (let w = 0; w < this.workers; w++) {
      if (Atomics.load(this.ctrl, W_WORKERS + LINE * w + D_STATE) >= ST_ERROR) this.raise();
    }
  }

  /** Wait until worker `line` has finished job gen or died. */
  private awaitWorker(line: number, gen: number): void {
    this.awaitDone(line + D_DONE, gen, line);
  }

  /**
   * Wait until chunk c of job gen is finished, or, once a worker has died (it may have held the chunk),
   * until every live worker is done with the job, so no kernel of it still runs when the caller throws.
   */
  private awaitChunk(c: number, gen: number): void {
    this.awaitDone(this.layout.chunkDone + c, gen, -1);
  }

  /**
   * Spin, then park, until the word holds gen or the wait is moot: worker `line` died (line ≥ 0), or
   * (line = −1) a worker died and the live ones are done with job gen (settledWithDead).
   */
  private awaitDone(word: number, gen: number, line: number): void {
    const ctrl = this.ctrl;
    let deadline = -1;
    for (;;) {
      for (let i = 0; i < SPIN_CHECK; i++) {
        if (Atomics.load(ctrl, word) === gen || this.moot(gen, line)) return;
      }
      if (!this.blocking) continue; // a browser main thread can only spin
      const now = performance.now();
      if (deadline < 0) deadline = now + this.spinMs;
      else if (now >= deadline) break;
    }
    // park: workers bump JOIN_SEQ (and notify) when they finish or die while MAIN_PARKED is set
    Atomics.store(ctrl, W_MAIN_PARKED, 1);
    for (;;) {
      const seq = Atomics.load(ctrl, W_JOIN_SEQ);
      if (Atomics.load(ctrl, word) === gen || this.moot(gen, line)) break;
      Atomics.wait(ctrl, W_JOIN_SEQ, seq);
    }
    Atomics.store(ctrl, W_MAIN_PARKED, 0);
  }

  private moot(gen: number, line: number): boolean {
    return line >= 0 ? Atomics.load(this.ctrl, line + D_STATE) === ST_DEAD : this.settledWithDead(gen);
  }

  /** A worker is dead and every other one has finished job gen (claims nothing more, runs nothing). */
  private settledWithDead(gen: number): boolean {
    let dead = false;
    for (let w = 0; w < this.workers; w++) {
      const line = W_WORKERS + LINE * w;
      if (Atomics.load(this.ctrl, line + D_STATE) === ST_DEAD) dead = true;
      else if (Atomics.load(this.ctrl, line + D_DONE) !== gen) return false;
    }
    return dead;
  }

  /** Turn the first failed worker's state into the executor's failure and throw it. */
  private raise(): never {
    for (let w = 0; w < this.workers; w++) {
      const state = Atomics.load(this.ctrl, W_WORKERS + LINE * w + D_STATE);
      if (state >= ST_ERROR) {
        const what = state === ST_DEAD ? 'worker loop died' : 'kernel failed';
        this.failure = new ThreadError(`ThreadedExecutor: worker ${w + 1} of ${this.workers}: ${what}: ${readMessage(this.control, this.layout, w)}`);
        throw this.failure;
      }
    }
    throw new ThreadError('ThreadedExecutor: a worker reported a failure that vanished'); // unreachable
  }

  /** A worker ended or errored outside our protocol (seen on the event loop). */
  private workerLost(worker: number, what: string): void {
    if (this.closing !== null) return;
    if (this.failure === null) this.failure = new ThreadError(`ThreadedExecutor: worker ${worker + 1} of ${this.workers}: ${what}`);
    const line = W_WORKERS + LINE * worker;
    if (Atomics.load(this.ctrl, line + D_STATE) < ST_ERROR) {
      writeMessage(this.control, this.layout, worker, what);
      Atomics.store(this.ctrl, line + D_STATE, ST_DEAD);
    }
    Atomics.add(this.ctrl, W_JOIN_SEQ, 1);
    Atomics.notify(this.ctrl, W_JOIN_SEQ);
  }
}

/**
 * Panel multiple of each share's start: 4 panels (64 output bytes) when large, against false sharing;
 * else 2 when every share still gets a few (Q8_0's batches run panels in pairs, an odd one alone).
 */
function panelAlign(P: number, parts: number): number {
  return P >= 16 * parts ? 4 : P >= 4 * parts ? 2 : 1;
}

/** Start of share t of `total` items over `parts` shares, rounded down to a multiple of `align` (t = parts → total). */
function splitPoint(total: number, parts: number, t: number, align: number): number {
  if (t >= parts) return total;
  const p = Math.floor((total * t) / parts);
  return align > 1 ? p - (p % align) : p;
}
