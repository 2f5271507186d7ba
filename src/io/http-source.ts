/**
 * ByteSource / ModelSource over HTTP(S) (browsers, or Node ≥ 18 with fetch), built for few requests:
 *
 * - **Blocks.** A file is read in aligned blocks of `blockBytes` (8 MiB by default), each one
 *   `Range: bytes=a-b` request: the per-tensor reads of a loader coalesce into whole-block requests
 *   (a 1 MB model is one request), and a read starts the next `parallel − 1` blocks too, so a large
 *   file streams over several connections at once. A block is dropped from memory once every byte
 *   of it has been read (the loader reads each tensor once), so a multi-GB file is never held whole.
 * - **Ask once.** No HEAD requests: the first block's response tells whether the file exists (404),
 *   its size (Content-Range) and its first bytes, which `readText` / `open` then reuse. With a
 *   manifest (`files`: name → size), `exists` and sizes need no request at all, so optional files
 *   (generation_config.json, …) are never probed.
 * - **Cache.** Every block, and what was learnt about a file (size, or absence), goes to a
 *   ModelCache (default: the browser's Cache API where it exists), and comes from it on the next
 *   visit: a second load makes no request.
 * - **Progress.** `onProgress(loaded, total)`: bytes delivered (network or cache) and the summed
 *   size of the files asked for so far (it grows while a model's files are discovered).
 *
 * Servers must honour Range requests for files larger than one block (a 200 with the whole body is
 * accepted only when the file fits in one block); answers are checked (status, Content-Range,
 * length) and every failure is a WeightsFormatError naming the URL.
 */
import { InvalidArgumentError, WeightsFormatError } from '../errors.js';
import { checkPlainFileName, checkRange, decodeUtf8, fileError, isPlainFileName, MAX_TEXT_BYTES, textTooLarge, type ByteSource, type ModelSource } from './source.js';
import { browserModelCache, type ModelCache } from './model-cache.js';

/** The subset of `fetch` used here (inject one in tests, or to add headers). */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<{
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/** Options of httpModelSource / httpByteSource. */
export interface HttpSourceOptions {
  /** The fetch to use (default: the global one). */
  fetch?: FetchLike;
  /**
   * A manifest of the folder: file name → size in bytes. `exists` answers from it and sizes are
   * known, so nothing is requested to learn them; a file it does not list does not exist.
   */
  files?: Readonly<Record<string, number>>;
  /** Where blocks are kept between visits: a ModelCache, null for none, 'auto' (default) = the browser's Cache API where it exists. */
  cache?: ModelCache | null | 'auto';
  /** Bytes per Range request (default 8 MiB). */
  blockBytes?: number;
  /** Range requests in flight at once (default 4). */
  parallel?: number;
  /** Called as bytes arrive: delivered so far, and the total size of the files asked for so far. */
  onProgress?: (loaded: number, total: number) => void;
}

/** What a source did so far (see HttpModelSource.stats). */
export interface HttpSourceStats {
  /** HTTP requests made. */
  requests: number;
  /** Body bytes received over the network. */
  networkBytes: number;
  /** Blocks and file facts answered by the cache. */
  cacheHits: number;
  /** Bytes read from the cache. */
  cacheBytes: number;
  /** Cache writes that failed (quota exceeded, …): the load goes on, the next visit downloads again. */
  cacheWriteErrors: number;
}

/** A model folder over HTTP, with its request and cache counters. */
export interface HttpModelSource extends ModelSource {
  readonly stats: HttpSourceStats;
  /** Resolves once every cache write started so far has finished. */
  flush(): Promise<void>;
}

/** A file over HTTP, with the counters of the source it belongs to. */
export interface HttpByteSource extends ByteSource {
  readonly stats: HttpSourceStats;
  close(): Promise<void>;
}

/** Default `blockBytes` of an HTTP source: reads are coalesced into Range requests of 8 MiB. */
export const DEFAULT_BLOCK_BYTES = 8 * 1024 * 1024;
/** Default `parallel` of an HTTP source: requests in flight at once. */
export const DEFAULT_PARALLEL = 4;
/** Cache keys are URLs under this origin (the Cache API keys by URL; nothing is ever fetched from it). */
const CACHE_ORIGIN = 'https://spechub.cache/v1/';

function defaultFetch(): FetchLike {
  const f = (globalThis as { fetch?: unknown }).fetch;
  if (typeof f !== 'function') throw new WeightsFormatError('http source: this JavaScript engine has no fetch()');
  return (f as FetchLike).bind(globalThis);
}

/** Shared state of one source: options, counters, progress, the request limiter, pending cache writes. */
class Context {
  readonly fetch: FetchLike;
  readonly cache: ModelCache | null;
  readonly blockBytes: number;
  readonly parallel: number;
  readonly stats: HttpSourceStats = { requests: 0, networkBytes: 0, cacheHits: 0, cacheBytes: 0, cacheWriteErrors: 0 };
  private loaded = 0;
  private total = 0;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly writes = new Set<Promise<void>>();

  constructor(
    where: string,
    private readonly options: HttpSourceOptions,
  ) {
    this.fetch = options.fetch ?? defaultFetch();
    this.cache = options.cache === undefined || options.cache === 'auto' ? browserModelCache() : options.cache;
    this.blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    this.parallel = options.parallel ?? DEFAULT_PARALLEL;
    if (!Number.isSafeInteger(this.blockBytes) || this.blockBytes < 1) {
      throw new InvalidArgumentError(`${where}: expected blockBytes to be an integer >= 1, got ${options.blockBytes}`);
    }
    if (!Number.isSafeInteger(this.parallel) || this.parallel < 1 || this.parallel > 64) {
      throw new InvalidArgumentError(`${where}: expected parallel to be an integer in [1, 64], got ${options.parallel}`);
    }
  }

  /** A file of `size` bytes was asked for. */
  addTotal(size: number): void {
    this.total += size;
    this.options.onProgress?.(this.loaded, this.total);
  }

  /** `bytes` of a block were delivered for the first time. */
  addLoaded(bytes: number): void {
    this.loaded += bytes;
    this.options.onProgress?.(this.loaded, this.total);
  }

  /**
   * One request and the handling of its response (body included), at most `parallel` at a time;
   * network failures become WeightsFormatErrors.
   */
  async request<T>(url: string, init: { headers?: Record<string, string>; signal?: AbortSignal }, handle: (res: Awaited<ReturnType<FetchLike>>) => Promise<T>): Promise<T> {
    // a finished request hands its slot to the next waiter directly, so at most `parallel` run
    if (this.active >= this.parallel) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      this.stats.requests++;
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await this.fetch(url, init);
      } catch (e) {
        throw new WeightsFormatError(`${url}: request failed (${e instanceof Error ? e.message : String(e)})`, { cause: e });
      }
      return await handle(res);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Body bytes of a response (counted). */
  async body(url: string, res: { arrayBuffer(): Promise<ArrayBuffer> }): Promise<Uint8Array> {
    let buf: ArrayBuffer;
    try {
      buf = await res.arrayBuffer();
    } catch (e) {
      throw new WeightsFormatError(`${url}: the response body failed (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    this.stats.networkBytes += buf.byteLength;
    return new Uint8Array(buf);
  }

  async cached(key: string): Promise<Uint8Array | null> {
    if (this.cache === null) return null;
    let bytes: Uint8Array | null;
    try {
      bytes = await this.cache.get(key);
    } catch {
      return null; // an unreadable cache entry is a miss: the network has the bytes
    }
    if (bytes !== null) {
      this.stats.cacheHits++;
      this.stats.cacheBytes += bytes.length;
    }
    return bytes;
  }

  store(key: string, bytes: Uint8Array): void {
    if (this.cache === null) return;
    const w = this.cache.put(key, bytes).then(
      () => undefined,
      () => void this.stats.cacheWriteErrors++,
    );
    this.writes.add(w);
    void w.then(() => this.writes.delete(w));
  }

  async flush(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }
}

const TEXT = new TextEncoder();

/** One remote file: what is known about it and the blocks in memory. */
class RemoteFile {
  /** -1 until known. */
  size = -1;
  private probed: Promise<boolean> | null = null;
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  /** Per block in memory: the byte intervals read from it so far, merged ([start, end) pairs, sorted). */
  private readonly consumed = new Map<number, number[]>();
  /** Blocks already counted in the progress. */
  private readonly delivered = new Set<number>();
  /** Blocks read whole and freed (not read ahead again). */
  private readonly done = new Set<number>();

  constructor(
    private readonly ctx: Context,
    readonly url: string,
    private readonly manifestSize: number | null | undefined, // undefined: no manifest; null: not in it
  ) {}

  private key(suffix: string): string {
    return `${CACHE_ORIGIN}${encodeURIComponent(this.url)}/${suffix}`;
  }

  private blockKey(i: number): string {
    return this.key(`${this.size}/${this.ctx.blockBytes}/${i}`);
  }

  private blockLength(i: number): number {
    return Math.min(this.ctx.blockBytes, this.size - i * this.ctx.blockBytes);
  }

  /** Whether the file exists; learns its size (once: from the manifest, the cache, or the first block's request). */
  exists(): Promise<boolean> {
    this.probed ??= this.probe().catch((e: unknown) => {
      this.probed = null; // a failed probe (network, server) is tried again by the next call
      throw e;
    });
    return this.probed;
  }

  private async probe(): Promise<boolean> {
    const ctx = this.ctx;
    if (this.manifestSize !== undefined) {
      if (this.manifestSize === null) return false;
      this.size = this.manifestSize;
      ctx.addTotal(this.size);
      return true;
    }
    const meta = await ctx.cached(this.key('meta'));
    if (meta !== null) {
      const m = /^(?:missing|size (\d+))$/.exec(new TextDecoder().decode(meta));
      if (m !== null) {
        if (m[1] === undefined) return false;
        this.size = Number(m[1]);
        ctx.addTotal(this.size);
        return true;
      }
    }
    // one request answers existence, size and the first block
    const B = ctx.blockBytes;
    const abort = typeof AbortController === 'function' ? new AbortController() : null;
    const first = await ctx.request(this.url, { headers: { Range: `bytes=0-${B - 1}` }, ...(abort ? { signal: abort.signal } : {}) }, async (res) => {
      if (res.status === 404 || res.status === 410) return null;
      let first: Uint8Array;
      if (res.status === 206) {
        const range = parseContentRange(res.headers.get('content-range'));
        if (range === null || range.start !== 0 || range.end !== Math.min(B, range.size) - 1) {
          const want = range === null ? `0-${B - 1}` : `0-${Math.min(B, range.size) - 1}`;
          throw new WeightsFormatError(`${this.url}: expected a Content-Range of "bytes ${want}/<size>" for the first block, got ${JSON.stringify(res.headers.get('content-range'))}`);
        }
        this.size = range.size;
        first = await ctx.body(this.url, res);
        if (first.length !== Math.min(B, this.size)) {
          throw new WeightsFormatError(`${this.url}: Range request for bytes 0-${B - 1} of a ${this.size}-byte file returned ${first.length} bytes`);
        }
      } else if (res.status === 200) {
        // the server ignores Range: fine for a file of one block, refused for more (no gigabyte downloads)
        const len = res.headers.get('content-length');
        if (len !== null && /^\d+$/.test(len.trim()) && Number(len) > B) {
          abort?.abort();
          throw new WeightsFormatError(`${this.url}: the server ignores Range requests (HTTP 200 for bytes 0-${B - 1} of a ${len}-byte file); files over one block need them`);
        }
        first = await ctx.body(this.url, res);
        if (first.length > B) {
          throw new WeightsFormatError(`${this.url}: the server ignores Range requests (HTTP 200 with ${first.length} bytes for bytes 0-${B - 1}); files over one block need them`);
        }
        this.size = first.length;
      } else if (res.status === 416) {
        const range = res.headers.get('content-range');
        if (range?.trim() !== 'bytes */0') throw new WeightsFormatError(`${this.url}: HTTP 416 for bytes 0-${B - 1}, Content-Range ${JSON.stringify(range)}`);
        this.size = 0;
        first = new Uint8Array(0);
      } else {
        throw new WeightsFormatError(`${this.url}: expected HTTP 206 (or 200, 404) for a Range request, got ${res.status}`);
      }
      return first;
    });
    if (first === null) {
      ctx.store(this.key('meta'), TEXT.encode('missing'));
      return false;
    }
    ctx.store(this.key('meta'), TEXT.encode(`size ${this.size}`));
    ctx.addTotal(this.size);
    if (this.size > 0) {
      ctx.store(this.blockKey(0), first);
      this.blocks.set(0, Promise.resolve(first));
      this.deliver(0, first.length);
    }
    return true;
  }

  private deliver(i: number, bytes: number): void {
    if (this.delivered.has(i)) return;
    this.delivered.add(i);
    this.ctx.addLoaded(bytes);
  }

  /** Block i: from memory, the cache, or one Range request. */
  private block(i: number): Promise<Uint8Array> {
    let p = this.blocks.get(i);
    if (p === undefined) {
      p = this.fetchBlock(i);
      this.blocks.set(i, p);
      p.catch(() => this.blocks.delete(i)); // a failed block is asked again by the next read
    }
    return p;
  }

  private async fetchBlock(i: number): Promise<Uint8Array> {
    const ctx = this.ctx;
    const len = this.blockLength(i);
    const key = this.blockKey(i);
    const hit = await ctx.cached(key);
    if (hit !== null && hit.length === len) {
      this.deliver(i, len);
      return hit;
    }
    const a = i * ctx.blockBytes;
    const b = a + len - 1;
    const body = await ctx.request(this.url, { headers: { Range: `bytes=${a}-${b}` } }, async (res) => {
      const whole = res.status === 200 && i === 0 && len === this.size;
      if (res.status !== 206 && !whole) {
        throw new WeightsFormatError(`${this.url}: expected HTTP 206 for a Range request of ${len} bytes at ${a}, got ${res.status}`);
      }
      if (res.status === 206) {
        const range = parseContentRange(res.headers.get('content-range'));
        if (range !== null && (range.start !== a || range.end !== b || range.size !== this.size)) {
          throw new WeightsFormatError(`${this.url}: asked for bytes ${a}-${b}/${this.size}, got Content-Range bytes ${range.start}-${range.end}/${range.size} (did the file change?)`);
        }
      }
      const body = await ctx.body(this.url, res);
      if (body.length !== len) {
        throw new WeightsFormatError(`${this.url}: Range request for ${len} bytes at ${a} returned ${body.length} bytes`);
      }
      return body;
    });
    ctx.store(key, body);
    this.deliver(i, len);
    return body;
  }

  /** Bytes [offset, offset + length) into `dest` (or a new array). */
  async read(offset: number, length: number, dest?: Uint8Array): Promise<Uint8Array> {
    checkRange(this.url, this.size, offset, length);
    const out = dest ?? new Uint8Array(length);
    if (length === 0) return out;
    const B = this.ctx.blockBytes;
    const first = Math.floor(offset / B);
    const last = Math.floor((offset + length - 1) / B);
    const blockCount = Math.ceil(this.size / B);
    const wanted: Promise<Uint8Array>[] = [];
    for (let i = first; i <= last; i++) wanted.push(this.block(i));
    // read ahead: the next blocks download while these are consumed
    for (let i = last + 1; i < Math.min(blockCount, last + this.ctx.parallel); i++) {
      if (!this.blocks.has(i) && !this.fullyConsumed(i)) this.block(i).catch(() => undefined);
    }
    for (let i = first; i <= last; i++) {
      const bytes = await wanted[i - first]!;
      const start = Math.max(offset, i * B);
      const end = Math.min(offset + length, i * B + bytes.length);
      out.set(bytes.subarray(start - i * B, end - i * B), start - offset);
      const read = cover(this.consumed.get(i) ?? [], start - i * B, end - i * B);
      this.consumed.set(i, read);
      if (read.length === 2 && read[0] === 0 && read[1] === bytes.length) {
        // every byte of the block was read: free it (a later read asks the cache, else the network)
        this.blocks.delete(i);
        this.consumed.delete(i);
        this.done.add(i);
      }
    }
    return out;
  }

  private fullyConsumed(i: number): boolean {
    return this.done.has(i);
  }

  /** Forget the blocks in memory (after waiting for their cache writes). */
  async close(): Promise<void> {
    this.blocks.clear();
    this.consumed.clear();
    this.done.clear();
    await this.ctx.flush();
  }
}

/** `intervals` (merged [start, end) pairs) with [start, end) added, merged again. */
function cover(intervals: number[], start: number, end: number): number[] {
  const out: number[] = [];
  let s = start;
  let e = end;
  let placed = false;
  for (let j = 0; j < intervals.length; j += 2) {
    const a = intervals[j]!;
    const b = intervals[j + 1]!;
    if (b < s) out.push(a, b);
    else if (a > e) {
      if (!placed) out.push(s, e);
      placed = true;
      out.push(a, b);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push(s, e);
  return out;
}

function parseContentRange(v: string | null): { start: number; end: number; size: number } | null {
  const m = v === null ? null : /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(v);
  if (m === null) return null;
  const [start, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return Number.isSafeInteger(size) && start <= end && end < size ? { start, end, size } : null;
}

function byteSource(file: RemoteFile, stats: HttpSourceStats): HttpByteSource {
  let closed = false;
  const live = () => {
    if (closed) throw new WeightsFormatError(`${file.url}: read after close`);
  };
  return {
    name: file.url,
    size: file.size,
    stats,
    async read(offset, length) {
      live();
      return file.read(offset, length);
    },
    async readInto(offset, dest) {
      live();
      await file.read(offset, dest.length, dest);
    },
    async close() {
      closed = true;
      await file.close();
    },
  };
}

/** Open one file at `url` for random access (see the module comment). A bare FetchLike is `{ fetch }`. */
export async function httpByteSource(url: string, options: HttpSourceOptions | FetchLike = {}): Promise<HttpByteSource> {
  const ctx = new Context('httpByteSource', typeof options === 'function' ? { fetch: options } : options);
  const file = new RemoteFile(ctx, url, undefined);
  if (!(await file.exists())) throw new WeightsFormatError(`${url}: expected HTTP 206 or 200, got 404 (no such file)`);
  return byteSource(file, ctx.stats);
}

/**
 * A model folder served over HTTP: `${baseUrl}/${file}`. With `files` (a manifest of names and
 * sizes) nothing is requested until bytes are read. A bare FetchLike is `{ fetch }`.
 */
export function httpModelSource(baseUrl: string, options: HttpSourceOptions | FetchLike = {}): HttpModelSource {
  const base = baseUrl.replace(/\/+$/, '');
  const opts = typeof options === 'function' ? { fetch: options } : options;
  const ctx = new Context('httpModelSource', opts);
  const manifest = opts.files;
  if (manifest !== undefined) {
    for (const [name, size] of Object.entries(manifest)) {
      if (!isPlainFileName(name) || !Number.isSafeInteger(size) || size < 0) {
        throw new InvalidArgumentError(`httpModelSource: files: expected plain file names with byte sizes, got ${JSON.stringify(name)}: ${String(size)}`);
      }
    }
  }
  const files = new Map<string, RemoteFile>();
  const get = (name: string): RemoteFile => {
    checkPlainFileName(base, name);
    let f = files.get(name);
    if (f === undefined) {
      const known = manifest === undefined ? undefined : Object.hasOwn(manifest, name) ? manifest[name]! : null;
      f = new RemoteFile(ctx, `${base}/${encodeURIComponent(name)}`, known);
      files.set(name, f);
    }
    return f;
  };
  return {
    name: base,
    stats: ctx.stats,
    flush: () => ctx.flush(),
    async exists(name) {
      if (!isPlainFileName(name)) return false;
      return get(name).exists();
    },
    async readText(name) {
      const f = get(name);
      if (!(await f.exists())) throw fileError(name, `${f.url}: expected the file, got HTTP 404${manifest ? ' (not in the manifest)' : ''}`);
      if (f.size > MAX_TEXT_BYTES) throw textTooLarge(f.url, f.size);
      const text = decodeUtf8(await f.read(0, f.size), f.url, name);
      await ctx.flush();
      return text;
    },
    async open(name) {
      const f = get(name);
      if (!(await f.exists())) throw new WeightsFormatError(`${f.url}: expected the file, got HTTP 404${manifest ? ' (not in the manifest)' : ''}`);
      return byteSource(f, ctx.stats);
    },
  };
}
