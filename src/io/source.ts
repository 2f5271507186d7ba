/**
 * Byte sources: the random-access input every weight reader works on. A `ByteSource` is one file
 * (or blob, or URL) read by offset; a `ModelSource` is a model directory (config.json,
 * model.safetensors or shards + index, tokenizer.json, or a .gguf).
 *
 * Browser-safe. In-memory implementations are here; files on disk are in src/node/fs-source.ts;
 * HTTP Range requests in src/io/http-source.ts. Readers never ask for a whole multi-GB file at once:
 * they read a header, then tensors in bounded chunks (or straight into a destination view).
 */
import { ConfigError, TokenizerError, WeightsFormatError, type SpechubError } from '../errors.js';

/** One random-access file. Offsets and lengths are byte counts (safe integers). */
export interface ByteSource {
  /** Name used in every error message about this file (a path, URL or file name). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Exactly `length` bytes starting at `offset`. Throws WeightsFormatError when the range is not
   * inside [0, size) or the underlying file turns out shorter than `size`. The result may be a view
   * of the source's own memory (bytesSource): treat it as read-only.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: fill `dest` (exactly `dest.length` bytes) from `offset`, without an intermediate copy.
   * `dest` may be a view into wasm memory. Same errors as `read`.
   */
  readInto?(offset: number, dest: Uint8Array): Promise<void>;
  /** Optional: release the file handle (Node). Reading after close is an error. */
  close?(): Promise<void>;
}

/** A model directory: named files, read as text or opened as byte sources. */
export interface ModelSource {
  /** Name used in error messages (a directory path, URL prefix, or label). */
  readonly name: string;
  /** Whether `file` (a plain file name such as "config.json") exists. */
  exists(file: string): Promise<boolean>;
  /** The whole file decoded as UTF-8 (fatal on invalid UTF-8). For small files: configs, indexes, tokenizers. */
  readText(file: string): Promise<string>;
  /** Open `file` for random access. */
  open(file: string): Promise<ByteSource>;
}

/** Largest text file `readText` implementations accept (config, index, tokenizer.json). */
export const MAX_TEXT_BYTES = 256 * 1024 * 1024;

/**
 * Checks that [offset, offset + length) lies inside a file of `size` bytes; throws a
 * WeightsFormatError naming the file otherwise. Every ByteSource implementation calls it first.
 */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new WeightsFormatError(`${name}: read of ${length} bytes at ${offset}: expected non-negative integers`);
  }
  if (offset + length > size) {
    throw new WeightsFormatError(
      `${name}: read of ${length} bytes at offset ${offset} ends at ${offset + length}, past the end of the file (${size} bytes)`,
    );
  }
}

/** Read exactly `dest.length` bytes at `offset` into `dest`, through `readInto` when the source has it. */
export async function readInto(src: ByteSource, offset: number, dest: Uint8Array): Promise<void> {
  if (src.readInto) {
    await src.readInto(offset, dest);
    return;
  }
  const bytes = await src.read(offset, dest.length);
  if (bytes.length !== dest.length) {
    throw new WeightsFormatError(`${src.name}: read of ${dest.length} bytes at ${offset} returned ${bytes.length}`);
  }
  dest.set(bytes);
}

/** Files whose problems are ConfigErrors (model configuration). */
const CONFIG_FILES = new Set(['config.json', 'generation_config.json']);
/** Files whose problems are TokenizerErrors. */
const TOKENIZER_FILES = new Set(['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model']);

/** The last component of a path or URL ("dir/config.json" → "config.json"). */
function baseName(path: string): string {
  const cut = path.replace(/[?#].*$/, '').replace(/[/\\]+$/, '');
  return cut.slice(Math.max(cut.lastIndexOf('/'), cut.lastIndexOf('\\')) + 1);
}

/**
 * The typed error for a problem with the model file at `path` (a path, URL or plain name), whatever
 * went wrong with it (missing, unreadable, not a regular file, not UTF-8, too large): a ConfigError
 * for config.json / generation_config.json, a TokenizerError for the tokenizer files, a
 * WeightsFormatError for everything else (weights, shard index, .gguf). The message is used as is.
 */
export function fileError(path: string, message: string, options?: ErrorOptions): SpechubError {
  const file = baseName(path);
  if (CONFIG_FILES.has(file)) return new ConfigError(message, options);
  if (TOKENIZER_FILES.has(file)) return new TokenizerError(message, options);
  return new WeightsFormatError(message, options);
}

/**
 * Decode UTF-8 strictly; invalid sequences are an error naming `where`, of the class `fileError`
 * gives `file` (default `where`): a ConfigError for config.json, a TokenizerError for tokenizer.json.
 */
export function decodeUtf8(bytes: Uint8Array, where: string, file = where): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw fileError(file, `${where}: expected valid UTF-8 text, got invalid byte sequences`);
  }
}

/** The error for a text file of `size` bytes, over MAX_TEXT_BYTES (of the class `fileError` gives `path`). */
export function textTooLarge(path: string, size: number): SpechubError {
  return fileError(path, `${path}: expected a text file of at most ${MAX_TEXT_BYTES} bytes, got ${size}`);
}

/** A ByteSource over bytes already in memory (a fetched ArrayBuffer, a test fixture). Views, no copies. */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    async readInto(offset, dest) {
      checkRange(name, bytes.length, offset, dest.length);
      dest.set(bytes.subarray(offset, offset + dest.length));
    },
  };
}

/** A file written as pieces (ggufParts, safetensorsParts: `totalBytes` in all) in one new array. */
export function joinParts(file: { readonly totalBytes: number; readonly parts: readonly Uint8Array[] }): Uint8Array {
  const out = new Uint8Array(file.totalBytes);
  let at = 0;
  for (const p of file.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Plain file names only: no directory separators, no "." / "..", no NUL, not empty. Index files and
 * GGUF/HF metadata come from untrusted files, so a name like "../../etc/passwd" must never reach
 * a file system or URL.
 */
export function isPlainFileName(file: string): boolean {
  return (
    file.length > 0 &&
    file.length <= 255 &&
    file !== '.' &&
    file !== '..' &&
    !/[/\\\0]/.test(file) &&
    !/^[A-Za-z]:/.test(file)
  );
}

/** Throw unless `file` is a plain file name (see isPlainFileName). */
export function checkPlainFileName(where: string, file: string): void {
  if (!isPlainFileName(file)) {
    throw new WeightsFormatError(`${where}: expected a plain file name (no directories), got ${JSON.stringify(file)}`);
  }
}

/**
 * A model directory held in memory: file name → bytes (or text). For browsers that already hold
 * the files (drag-and-drop, IndexedDB) and for tests.
 */
export function memoryModelSource(name: string, files: Readonly<Record<string, Uint8Array | string>>): ModelSource {
  const enc = new TextEncoder();
  const table = new Map<string, Uint8Array>();
  for (const [file, content] of Object.entries(files)) {
    table.set(file, typeof content === 'string' ? enc.encode(content) : content);
  }
  return tableModelSource(name, table, bytesSource);
}

/**
 * A ModelSource over files the caller holds (memoryModelSource, blobModelSource): `open(where, f)`
 * gives a file's ByteSource. A missing file, or a text file over MAX_TEXT_BYTES, is the typed error
 * of its name (fileError), as with every other ModelSource.
 */
export function tableModelSource<F>(name: string, files: ReadonlyMap<string, F>, open: (where: string, f: F) => ByteSource): ModelSource {
  const get = (file: string): ByteSource => {
    checkPlainFileName(name, file);
    const f = files.get(file);
    if (f === undefined) throw fileError(file, `${name}: file ${file} not found`);
    return open(`${name}/${file}`, f);
  };
  return {
    name,
    async exists(file) {
      return isPlainFileName(file) && files.has(file);
    },
    async readText(file) {
      const src = get(file);
      if (src.size > MAX_TEXT_BYTES) throw textTooLarge(src.name, src.size);
      return decodeUtf8(await src.read(0, src.size), src.name);
    },
    async open(file) {
      return get(file);
    },
  };
}
