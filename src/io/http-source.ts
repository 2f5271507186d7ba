/**
 * ByteSource / ModelSource over HTTP(S) with Range requests (browsers, or Node ≥ 18 with fetch).
 * The size comes from a HEAD request (Content-Length); each read is one `Range: bytes=a-b` GET that
 * must answer 206 with exactly the bytes asked for. A server that ignores Range (200 with the whole
 * body) is refused rather than silently downloading gigabytes.
 */
import { WeightsFormatError } from '../errors.js';
import { checkPlainFileName, checkRange, decodeUtf8, fileError, isPlainFileName, MAX_TEXT_BYTES, textTooLarge, type ByteSource, type ModelSource } from './source.js';

/** The subset of `fetch` used here (inject one in tests, or to add headers). */
export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<{
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

function defaultFetch(): FetchLike {
  const f = (globalThis as { fetch?: unknown }).fetch;
  if (typeof f !== 'function') throw new WeightsFormatError('http source: this JavaScript engine has no fetch()');
  return f as FetchLike;
}

async function call(fetchFn: FetchLike, url: string, init: { method?: string; headers?: Record<string, string> }) {
  try {
    return await fetchFn(url, init);
  } catch (e) {
    throw new WeightsFormatError(`${url}: request failed (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}

/** Open `url` for random access: HEAD for the size, then Range GETs. */
export async function httpByteSource(url: string, fetchFn: FetchLike = defaultFetch()): Promise<ByteSource> {
  const head = await call(fetchFn, url, { method: 'HEAD' });
  if (!head.ok) throw new WeightsFormatError(`${url}: expected HTTP 200 for HEAD, got ${head.status}`);
  const len = head.headers.get('content-length');
  const size = len !== null && /^\d+$/.test(len.trim()) ? Number(len.trim()) : NaN;
  if (!Number.isSafeInteger(size)) {
    throw new WeightsFormatError(`${url}: expected a Content-Length header with the file size, got ${JSON.stringify(len)}`);
  }
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    checkRange(url, size, offset, length);
    if (length === 0) return new Uint8Array(0);
    const res = await call(fetchFn, url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
    if (res.status !== 206) {
      throw new WeightsFormatError(`${url}: expected HTTP 206 for a Range request of ${length} bytes at ${offset}, got ${res.status}`);
    }
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length !== length) {
      throw new WeightsFormatError(`${url}: Range request for ${length} bytes at ${offset} returned ${body.length} bytes`);
    }
    return body;
  };
  return {
    name: url,
    size,
    read,
    async readInto(offset, dest) {
      dest.set(await read(offset, dest.length));
    },
  };
}

/** A model directory served over HTTP: `${baseUrl}/${file}`. */
export function httpModelSource(baseUrl: string, fetchFn: FetchLike = defaultFetch()): ModelSource {
  const base = baseUrl.replace(/\/+$/, '');
  const url = (file: string): string => {
    checkPlainFileName(base, file);
    return `${base}/${encodeURIComponent(file)}`;
  };
  return {
    name: base,
    async exists(file) {
      if (!isPlainFileName(file)) return false;
      const res = await call(fetchFn, url(file), { method: 'HEAD' });
      return res.ok;
    },
    async readText(file) {
      const u = url(file);
      const res = await call(fetchFn, u, {});
      if (!res.ok) throw fileError(file, `${u}: expected HTTP 200, got ${res.status}`);
      const len = Number(res.headers.get('content-length') ?? NaN);
      if (len > MAX_TEXT_BYTES) throw textTooLarge(u, len);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length > MAX_TEXT_BYTES) throw textTooLarge(u, bytes.length);
      return decodeUtf8(bytes, u, file);
    },
    open(file) {
      return httpByteSource(url(file), fetchFn);
    },
  };
}
