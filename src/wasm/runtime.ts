/**
 * Runtime: one WebAssembly.Memory, the kernels instantiated over it, and an arena that plans
 * that memory. Models, caches and verifiers of one engine share one runtime, so every kernel
 * can reach every buffer by pointer and, later, several threads can share the same memory.
 *
 * Browser-safe: the caller supplies the .wasm bytes (or a compiled module); src/node.ts reads them
 * from the package's build/ folder.
 */
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import { CapacityError, InvalidArgumentError, WasmFeatureError } from '../errors.js';
import type { Kernels, WasmBuild } from './kernels.js';

export const PAGE_BYTES = 65536;
/** wasm32 limit, and the declared maximum of every build. */
export const MAX_PAGES = 65536;

/** A named, aligned byte range of the runtime memory. Planned at load time, never freed. */
export interface Region {
  readonly name: string;
  /** Byte offset into the memory (what kernels take). */
  readonly ptr: number;
  readonly bytes: number;
}

/**
 * Bump allocator over the runtime memory. `alloc` may grow the memory, which detaches
 * (non-shared) or outdates (shared) every typed-array view: `epoch` counts growths so holders of
 * views can tell when to re-derive them. Nothing is allocated on the decode path.
 */
export class Arena {
  private top: number;
  private readonly regions: Region[] = [];
  private readonly releaseListeners = new Set<(mark: number) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Incremented every time the memory grows. */
  epoch = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly base: number,
  ) {
    this.top = base;
  }

  /** Bytes handed out so far (from `base`). */
  get used(): number {
    return this.top - this.base;
  }

  /** Bytes still available below the 4 GiB wasm32 limit (the engine may refuse to grow before it). */
  get free(): number {
    return Math.max(0, MAX_PAGES * PAGE_BYTES - Math.ceil(this.top / 64) * 64);
  }

  /** Reserve `bytes` at an `align`-byte boundary (default 64: a cache line, enough for v128). */
  alloc(name: string, bytes: number, align = 64): Region {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new InvalidArgumentError(`arena.alloc(${name}): expected a byte count >= 0, got ${bytes}`);
    }
    const ptr = Math.ceil(this.top / align) * align;
    const end = ptr + bytes;
    if (end > MAX_PAGES * PAGE_BYTES) {
      throw new CapacityError(
        `arena.alloc(${name}): ${bytes} bytes at ${ptr} exceeds the 4 GiB wasm32 memory (in use: ${this.used} bytes)`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
      } catch (e) {
        // the engine's own limit (a browser tab, a memory cap) can be below the 4 GiB of wasm32
        throw new CapacityError(
          `arena.alloc(${name}): the engine refused to grow the WebAssembly memory from ${have} to ${end} bytes (in use: ${this.used} bytes)`,
          { cause: e },
        );
      }
      this.epoch++;
    }
    this.top = end;
    const region = { name, ptr, bytes };
    this.regions.push(region);
    return region;
  }

  /** Current top, to hand to `release` later (load-time scratch such as weight staging). */
  mark(): number {
    return this.top;
  }

  /**
   * Give back everything allocated since `mark` (the memory stays grown, later allocations reuse
   * the space). Regions allocated after the mark must no longer be used.
   */
  release(mark: number): void {
    if (mark < this.base || mark > this.top) {
      throw new InvalidArgumentError(`arena.release: expected a mark in [${this.base}, ${this.top}], got ${mark}`);
    }
    this.top = mark;
    while (this.regions.length > 0 && this.regions[this.regions.length - 1]!.ptr >= mark) this.regions.pop();
    for (const listener of [...this.releaseListeners]) listener(mark);
  }

  /**
   * `release(mark)` only if the top is still `top` — nothing was allocated since the caller's own
   * last allocation (another model or generator planned during an await would be freed too).
   * Returns whether it released. A failed load calls it with the top it left, so what it reserved
   * goes back unless someone else has built on it meanwhile (then it stays, unused but safe).
   */
  releaseIfTop(mark: number, top: number): boolean {
    if (this.top !== top) return false;
    this.release(mark);
    return true;
  }

  /**
   * Call `listener(mark)` after every release, so that holders of growable scratch (executors)
   * drop the regions that went back. Returns the function that unregisters it.
   */
  onRelease(listener: (mark: number) => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }

  /**
   * Run `fn` after every earlier `exclusive` call on this arena has settled: loads on one runtime
   * run one at a time, so one load's release (its staging, or everything after a failure) never
   * frees memory another load planned while the first was reading its files.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every region allocated so far, in order (for diagnostics and memory reports). */
  list(): readonly Region[] {
    return this.regions;
  }
}

/**
 * A growable scratch region in an arena (attention scores, quantised inputs): `reserve(bytes)`
 * allocates a larger region when needed. It keeps its earlier regions' history, so when a release
 * (a failed load's) gives back the current region it falls back to the largest earlier one still
 * allocated, or to none, instead of pointing into freed memory.
 */
export class Scratch {
  private readonly history: Region[] = [];
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly arena: Arena,
    readonly name: string,
    private readonly align = 64,
  ) {}

  /** Byte offset of the current region (0 when none). */
  get ptr(): number {
    return this.history.length > 0 ? this.history[this.history.length - 1]!.ptr : 0;
  }

  /** Bytes of the current region (0 when none). */
  get bytes(): number {
    return this.history.length > 0 ? this.history[this.history.length - 1]!.bytes : 0;
  }

  /** Make the region at least `bytes` long; returns whether it allocated a new one. */
  reserve(bytes: number): boolean {
    if (bytes <= this.bytes) return false;
    const region = this.arena.alloc(this.name, bytes, this.align);
    this.history.push(region);
    this.unlisten ??= this.arena.onRelease((mark) => this.released(mark));
    return true;
  }

  private released(mark: number): void {
    while (this.history.length > 0 && this.history[this.history.length - 1]!.ptr >= mark) this.history.pop();
    if (this.history.length === 0 && this.unlisten) {
      this.unlisten();
      this.unlisten = null;
    }
  }
}

/** Options of `Runtime.create` / `Runtime.createSync`: which build the bytes are, and the initial memory. */
export interface RuntimeOptions {
  /** Which build the bytes are (checked against the module's own report). */
  build: WasmBuild;
  /** Initial memory in bytes (rounded up to pages). Default 1 MiB above the module's heap base. */
  initialBytes?: number;
}

/** Minimal module that uses one v128 instruction: validates only where WASM SIMD exists. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
/** Minimal module that uses f32x4.relaxed_madd. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 1, 253, 15, 65, 1, 253, 15, 65, 1,
  253, 15, 253, 133, 2, 11,
]);

/** Which WebAssembly features this engine has. */
export function detectFeatures(): { simd: boolean; relaxedSimd: boolean; threads: boolean } {
  const simd = WebAssembly.validate(SIMD_PROBE);
  let relaxedSimd = false;
  try {
    relaxedSimd = WebAssembly.validate(RELAXED_PROBE);
  } catch {
    relaxedSimd = false;
  }
  let threads = false;
  try {
    threads = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    threads = false;
  }
  return { simd, relaxedSimd, threads };
}

/** Kernels, memory and arena of one engine. */
export class Runtime {
  readonly arena: Arena;
  private heapF32View: Float32Array | null = null;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly k: Kernels,
    readonly build: WasmBuild,
    /** The compiled module (worker threads instantiate it again over the same shared memory). */
    readonly module: WebAssembly.Module,
  ) {
    this.arena = new Arena(memory, k.heap_base());
  }

  /** Instantiate from .wasm bytes or a compiled module (browsers: any size; async compile). */
  static async create(source: BufferSource | WebAssembly.Module, options: RuntimeOptions): Promise<Runtime> {
    const memory = newMemory(options);
    const { instance, module } = await instantiate<Record<string, unknown>>(source, { env: { memory } });
    return Runtime.wrap(memory, instance.exports as unknown as Kernels, options.build, module);
  }

  /** Synchronous instantiation (Node, workers; browsers limit sync compile to small modules). */
  static createSync(source: BufferSource | WebAssembly.Module, options: RuntimeOptions): Runtime {
    const memory = newMemory(options);
    const { instance, module } = instantiateSync<Record<string, unknown>>(source, { env: { memory } });
    return Runtime.wrap(memory, instance.exports as unknown as Kernels, options.build, module);
  }

  // The kernels are the instance's raw exports: the loader's demangled wrappers forward with
  // (...args), which allocates an array on every call — not acceptable on the decode path.
  private static wrap(memory: WebAssembly.Memory, k: Kernels, build: WasmBuild, module: WebAssembly.Module): Runtime {
    const relaxed = build.startsWith('relaxed');
    const threads = build.endsWith('-mt');
    if ((k.build_relaxed() === 1) !== relaxed || (k.build_threads() === 1) !== threads) {
      throw new WasmFeatureError(
        `runtime: the module is not build "${build}" (it reports relaxed=${k.build_relaxed()}, threads=${k.build_threads()})`,
      );
    }
    return new Runtime(memory, k, build, module);
  }

  /** Whether the memory is a SharedArrayBuffer (the -mt builds). */
  get shared(): boolean {
    return this.build.endsWith('-mt');
  }

  /**
   * Whether `view` was made over an earlier buffer of this memory: growing the memory detaches the
   * old buffer (or, shared, leaves it shorter), so views made before must be re-derived. The one test
   * every holder of views uses (an identity check: nothing allocated).
   */
  stale(view: ArrayBufferView): boolean {
    return view.buffer !== this.memory.buffer;
  }

  /** The whole memory as f32, re-derived here after the memory grows (for copies and reads by index). */
  get heapF32(): Float32Array {
    const v = this.heapF32View;
    if (v !== null && !this.stale(v)) return v;
    return (this.heapF32View = new Float32Array(this.memory.buffer));
  }

  /** A fresh Float32Array view (never a copy). Re-derive when `stale` says so. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
  /** A fresh Float64Array view (never a copy). */
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }
  /** A fresh Int32Array view (never a copy). */
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  /** A fresh Uint8Array view (never a copy). */
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
  /** A fresh Uint16Array view (never a copy). */
  u16(ptr: number, length: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, ptr, length);
  }
}

function newMemory(options: RuntimeOptions): WebAssembly.Memory {
  const shared = options.build.endsWith('-mt');
  const initialBytes = options.initialBytes ?? 2 * 1024 * 1024;
  const initial = Math.max(2, Math.ceil(initialBytes / PAGE_BYTES));
  if (initial > MAX_PAGES) {
    throw new CapacityError(`runtime: initialBytes ${initialBytes} exceeds the 4 GiB wasm32 memory`);
  }
  return new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared });
}
