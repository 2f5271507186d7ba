/**
 * Browsers: a runtime over the package's .wasm fetched by URL, and an executor whose kernel threads
 * are Web Workers. Part of the core (nothing here runs at import time; `Worker`, `fetch` and
 * `crossOriginIsolated` are only touched when called).
 *
 * Threads need shared memory, which browsers give only to cross-origin-isolated pages (served with
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`). On a
 * page that is not, `threads: 'auto'` runs one thread and an explicit `threads > 1` is a
 * WasmFeatureError that says so — never a raw `ReferenceError: SharedArrayBuffer is not defined`.
 *
 * Where the files are: by default next to this module as the package lays them out
 * (`build/spechub.<build>.wasm`, `dist/src/exec/browser-kernel-worker.js`), written as
 * `new URL('…', import.meta.url)` so that Vite copies them into a build; with esbuild or a CDN, pass
 * `wasmBaseUrl` (the folder holding the .wasm files) and keep `browser-kernel-worker.js` next to
 * the bundle (or pass `workerUrl`).
 */
import { InvalidArgumentError, WasmFeatureError } from '../errors.js';
import { wasmFileName, type WasmBuild } from './kernels.js';
import { detectFeatures, Runtime } from './runtime.js';
import { selectBuild } from './select.js';

/** Why this page cannot run kernel threads (no shared memory), or null when it can. */
export function threadsUnavailableReason(): string | null {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  if (typeof g.SharedArrayBuffer !== 'function' || g.crossOriginIsolated === false) {
    return (
      'the page is not cross-origin isolated, so it has no SharedArrayBuffer: serve it with the headers ' +
      '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" to use threads'
    );
  }
  if (!detectFeatures().threads) return 'this engine cannot create a shared WebAssembly.Memory';
  return null;
}

/** How many threads `'auto'` means here: the core count when threads are available, else 1. */
export function defaultBrowserThreads(): number {
  if (threadsUnavailableReason() !== null) return 1;
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Number.isSafeInteger(n) && n! >= 1 ? n! : 1;
}

/** `threads` checked (an integer in [1, 256] or `auto`; more than 1 only where shared memory exists). */
export function checkThreads(where: string, threads: number | 'auto' | undefined): number {
  if (threads === undefined) return 1;
  if (threads === 'auto') return defaultBrowserThreads();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) {
    throw new InvalidArgumentError(`${where}: expected threads to be an integer in [1, 256] or 'auto', got ${String(threads)}`);
  }
  if (threads > 1) {
    const why = threadsUnavailableReason();
    if (why !== null) throw new WasmFeatureError(`${where}: ${threads} threads need shared memory, but ${why}; use threads: 1 or 'auto'`);
  }
  return threads;
}

/** The package's own .wasm for each build (static URLs, so bundlers can see and copy them). */
function packagedWasmUrl(build: WasmBuild): URL {
  switch (build) {
    case 'simd':
      return new URL('../../../build/spechub.simd.wasm', import.meta.url);
    case 'relaxed':
      return new URL('../../../build/spechub.relaxed.wasm', import.meta.url);
    case 'simd-mt':
      return new URL('../../../build/spechub.simd-mt.wasm', import.meta.url);
    case 'relaxed-mt':
      return new URL('../../../build/spechub.relaxed-mt.wasm', import.meta.url);
  }
}

/** Options of createBrowserRuntime. */
export interface BrowserRuntimeOptions {
  /** Threads the kernels will run on (> 1 selects a shared-memory build; pass the same to createBrowserExecutor). 'auto' = the core count where threads are available, else 1. Default 1. */
  threads?: number | 'auto';
  /** Relaxed SIMD (fused multiply-add): true = required, 'auto' = where the engine has it, false = never (bit-reproducible). Default false. */
  relaxed?: 'auto' | boolean;
  /** An explicit build (overrides threads and relaxed). */
  build?: WasmBuild;
  /** Folder (URL) that holds the spechub.<build>.wasm files; default: the package's build/ folder next to this module. */
  wasmBaseUrl?: string | URL;
  /** Initial memory in bytes. */
  initialBytes?: number;
}

/**
 * Fetch, compile (streaming where the server sends application/wasm) and instantiate the build
 * these options select. A WasmFeatureError names what the engine or page lacks.
 */
export async function createBrowserRuntime(options: BrowserRuntimeOptions = {}): Promise<Runtime> {
  const where = 'createBrowserRuntime';
  let build = options.build;
  if (build === undefined) {
    const threads = checkThreads(where, options.threads);
    build = selectBuild({ threads, relaxed: options.relaxed ?? false }, detectFeatures());
  } else if (build.endsWith('-mt')) {
    const why = threadsUnavailableReason();
    if (why !== null) throw new WasmFeatureError(`${where}: build "${build}" needs shared memory, but ${why}`);
  }
  const url = options.wasmBaseUrl === undefined ? packagedWasmUrl(build) : new URL(wasmFileName(build), withSlash(options.wasmBaseUrl));
  const module = await compileWasm(url);
  return Runtime.create(module, { build, ...(options.initialBytes !== undefined ? { initialBytes: options.initialBytes } : {}) });
}

function withSlash(base: string | URL): URL {
  const href = String(base instanceof URL ? base.href : new URL(base, (globalThis as { location?: { href: string } }).location?.href));
  return new URL(href.endsWith('/') ? href : `${href}/`);
}

async function compileWasm(url: URL): Promise<WebAssembly.Module> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new WasmFeatureError(`${url.href}: could not fetch the WebAssembly module (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (!res.ok) throw new WasmFeatureError(`${url.href}: expected HTTP 200 for the WebAssembly module, got ${res.status}`);
  const streaming = typeof WebAssembly.compileStreaming === 'function' && res.headers.get('content-type')?.split(';')[0]?.trim() === 'application/wasm';
  return streaming ? WebAssembly.compileStreaming(res) : WebAssembly.compile(await res.arrayBuffer());
}
