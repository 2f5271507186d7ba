/**
 * Where downloaded model bytes are kept between visits, so that a page that loads the same model
 * again downloads nothing. The HTTP source (./http-source.ts) stores every block it fetches (and
 * what it learnt about a file: its size, or that it is absent) under a key derived from the URL,
 * the file size and the block size, and asks the cache before the network.
 *
 * Browsers: the Cache API (`caches`, secure contexts only: https:, or http://127.0.0.1 / localhost),
 * whose storage Chromium keeps on disk and counts against the origin's quota. Tests and Node: an
 * in-memory map. Entries are keyed by URL: a model served under a URL must not change content
 * without changing size (Hugging Face `resolve/<commit>/` URLs never do); otherwise clear the cache.
 */

/** A key → bytes store. Failures to store are reported by rejecting; a missing key is null. */
export interface ModelCache {
  /** The bytes stored under `key`, or null. */
  get(key: string): Promise<Uint8Array | null>;
  /** Store `bytes` under `key` (replacing what was there). */
  put(key: string, bytes: Uint8Array): Promise<void>;
}

/** Name of the Cache API cache spechub uses by default. */
export const MODEL_CACHE_NAME = 'spechub-models-v1';

interface CacheLike {
  match(request: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | undefined>;
  put(request: string, response: unknown): Promise<void>;
}
interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
  delete(name: string): Promise<boolean>;
}
type ResponseCtor = new (body: Uint8Array, init: { headers: Record<string, string> }) => unknown;

function cacheStorage(): CacheStorageLike | null {
  const g = globalThis as { caches?: CacheStorageLike; Response?: unknown };
  return g.caches !== undefined && typeof g.Response === 'function' ? g.caches : null;
}

/**
 * The browser's Cache API as a ModelCache (cache `name`, opened on first use), or null where the
 * engine has none (Node, or a page that is not a secure context).
 */
export function browserModelCache(name: string = MODEL_CACHE_NAME): ModelCache | null {
  const storage = cacheStorage();
  if (storage === null) return null;
  let opened: Promise<CacheLike> | null = null;
  const open = (): Promise<CacheLike> => (opened ??= storage.open(name));
  const ResponseClass = (globalThis as unknown as { Response: ResponseCtor }).Response;
  return {
    async get(key) {
      const res = await (await open()).match(key);
      return res === undefined ? null : new Uint8Array(await res.arrayBuffer());
    },
    async put(key, bytes) {
      await (await open()).put(key, new ResponseClass(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
    },
  };
}

/** Delete the Cache API cache `name` (every model the HTTP source stored there). False where there is none. */
export async function clearBrowserModelCache(name: string = MODEL_CACHE_NAME): Promise<boolean> {
  const storage = cacheStorage();
  return storage === null ? false : storage.delete(name);
}

/** A ModelCache in memory (tests; a page that wants reuse within one visit only). */
export function memoryModelCache(): ModelCache & { readonly entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    async get(key) {
      return entries.get(key) ?? null;
    },
    async put(key, bytes) {
      entries.set(key, bytes.slice());
    },
  };
}
