/**
 * Node implementations of ByteSource / ModelSource: files on disk, read by offset through a
 * FileHandle. A multi-GB weights file is never loaded into one buffer: readers ask for a header,
 * then for tensors in bounded chunks or straight into a destination view (wasm memory).
 */
import { open, readFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { WeightsFormatError } from '../errors.js';
import {
  checkPlainFileName,
  checkRange,
  decodeUtf8,
  isPlainFileName,
  MAX_TEXT_BYTES,
  type ByteSource,
  type ModelSource,
} from '../io/source.js';

/** Largest single read handed to the OS (Node refuses reads above 2^31 − 1 bytes). */
const MAX_READ = 1 << 30;

function ioError(path: string, e: unknown): WeightsFormatError {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return new WeightsFormatError(`${path}: file not found`, { cause: e });
  if (code === 'EISDIR') return new WeightsFormatError(`${path}: expected a file, got a directory`, { cause: e });
  const what = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  return new WeightsFormatError(`${path}: cannot read (${what})`, { cause: e });
}

/** A file on disk as a ByteSource. Call `close()` when done. */
export class FileByteSource implements ByteSource {
  private closed = false;

  private constructor(
    readonly name: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  /** Open `path` for reading; the size is taken once, at open. */
  static async open(path: string): Promise<FileByteSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw ioError(path, e);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new WeightsFormatError(`${path}: expected a regular file`);
      return new FileByteSource(path, st.size, handle);
    } catch (e) {
      await handle.close();
      throw e instanceof WeightsFormatError ? e : ioError(path, e);
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const dest = new Uint8Array(length);
    await this.readInto(offset, dest);
    return dest;
  }

  async readInto(offset: number, dest: Uint8Array): Promise<void> {
    checkRange(this.name, this.size, offset, dest.length);
    if (this.closed) throw new WeightsFormatError(`${this.name}: read after close`);
    let done = 0;
    while (done < dest.length) {
      const want = Math.min(MAX_READ, dest.length - done);
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(dest, done, want, offset + done));
      } catch (e) {
        throw ioError(this.name, e);
      }
      if (bytesRead === 0) {
        throw new WeightsFormatError(
          `${this.name}: file ended at ${offset + done} bytes while reading ${dest.length} bytes at ${offset} (it was ${this.size} bytes when opened)`,
        );
      }
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Open one file on disk as a ByteSource. */
export function fileByteSource(path: string): Promise<FileByteSource> {
  return FileByteSource.open(path);
}

/**
 * A model directory on disk. File names must be plain names (no separators), so names taken from
 * an untrusted index file cannot escape the directory.
 */
export function fsModelSource(dir: string): ModelSource {
  const path = (file: string): string => {
    checkPlainFileName(dir, file);
    return join(dir, file);
  };
  return {
    name: dir,
    async exists(file) {
      if (!isPlainFileName(file)) return false;
      try {
        return (await stat(join(dir, file))).isFile();
      } catch {
        return false;
      }
    },
    async readText(file) {
      const p = path(file);
      let size: number;
      try {
        size = (await stat(p)).size;
      } catch (e) {
        throw ioError(p, e);
      }
      if (size > MAX_TEXT_BYTES) {
        throw new WeightsFormatError(`${p}: expected a text file of at most ${MAX_TEXT_BYTES} bytes, got ${size}`);
      }
      let bytes: Uint8Array;
      try {
        bytes = await readFile(p);
      } catch (e) {
        throw ioError(p, e);
      }
      return decodeUtf8(bytes, p);
    },
    open(file) {
      return FileByteSource.open(path(file));
    },
  };
}
