/**
 * Node implementations of ByteSource / ModelSource: files on disk, read by offset through a
 * FileHandle. A multi-GB weights file is never loaded into one buffer: readers ask for a header,
 * then for tensors in bounded chunks or straight into a destination view (wasm memory).
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SpechubError, WeightsFormatError } from '../errors.js';
import {
  checkPlainFileName,
  checkRange,
  decodeUtf8,
  fileError,
  isPlainFileName,
  MAX_TEXT_BYTES,
  textTooLarge,
  type ByteSource,
  type ModelSource,
} from '../io/source.js';

/** Largest single read handed to the OS (Node refuses reads above 2^31 − 1 bytes). */
const MAX_READ = 1 << 30;

/**
 * Open flags for model files: read-only and non-blocking, so that a FIFO (or a device) swapped in
 * after the regular-file check cannot block open() forever; fstat then refuses it. Regular files
 * ignore O_NONBLOCK. (Windows has no O_NONBLOCK and no FIFOs of this kind.)
 */
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A file-system error about `path` as a typed error (class by file, see fileError), in plain words. */
export function ioError(path: string, e: unknown): SpechubError {
  const code = errnoOf(e);
  const say = (what: string) => fileError(path, `${path}: ${what}`, { cause: e });
  switch (code) {
    case 'ENOENT':
      return say('file not found');
    case 'EISDIR':
      return say('expected a regular file, got a directory');
    case 'EACCES':
    case 'EPERM':
      return say(`cannot read (permission denied, ${code})`);
    case 'ELOOP':
      return say('cannot read (a loop of symbolic links, ELOOP)');
    case 'ENOTDIR':
      return say('cannot read (a component of the path is not a directory, ENOTDIR)');
    case 'ENAMETOOLONG':
      return say('cannot read (the path is too long, ENAMETOOLONG)');
    default:
      return say(`cannot read (${code ?? (e instanceof Error ? e.message : String(e))})`);
  }
}

/** What a non-regular file is, for messages: "a FIFO (named pipe)", "a directory", … */
export function describeFileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * stat `path` and insist on a regular file (after following symbolic links), before anything opens
 * it: a FIFO named model.gguf would otherwise block open() forever. Missing files, dangling links,
 * link loops and permission problems are each named as such.
 */
export async function statRegularFile(path: string): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') {
      const link = await lstat(path).catch(() => null);
      if (link?.isSymbolicLink()) throw fileError(path, `${path}: a symbolic link to a file that does not exist (dangling link)`, { cause: e });
    }
    throw ioError(path, e);
  }
  if (!st.isFile()) throw fileError(path, `${path}: expected a regular file, got ${describeFileKind(st)}`);
  return st;
}

/** Open a regular file for reading (see statRegularFile and OPEN_FLAGS); the handle and its size. */
async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  await statRegularFile(path);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw fileError(path, `${path}: expected a regular file, got ${describeFileKind(st)}`);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e instanceof SpechubError ? e : ioError(path, e);
  }
}

/** A file on disk as a ByteSource. Call `close()` when done. */
export class FileByteSource implements ByteSource {
  private closed = false;

  private constructor(
    readonly name: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  /**
   * Open `path` for reading; the size is taken once, at open. Anything but a regular file (a FIFO,
   * a device, a directory) is refused before it is opened.
   */
  static async open(path: string): Promise<FileByteSource> {
    const { handle, size } = await openRegularFile(path);
    return new FileByteSource(path, size, handle);
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
    // Something is there (a file, or a FIFO, directory or link the readers will refuse by name);
    // only "nothing at that name" is false: an unreadable directory is an error, not "no file".
    async exists(file) {
      if (!isPlainFileName(file)) return false;
      const p = join(dir, file);
      try {
        await lstat(p);
        return true;
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') return false;
        throw ioError(p, e);
      }
    },
    async readText(file) {
      const p = path(file);
      const { handle, size } = await openRegularFile(p);
      try {
        if (size > MAX_TEXT_BYTES) throw textTooLarge(p, size);
        let bytes: Uint8Array;
        try {
          bytes = await handle.readFile();
        } catch (e) {
          throw ioError(p, e);
        }
        return decodeUtf8(bytes, p);
      } finally {
        await handle.close();
      }
    },
    open(file) {
      return FileByteSource.open(path(file));
    },
  };
}
