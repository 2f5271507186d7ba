/**
 * Byte sources over Blobs: files a user picked or dropped in a browser (`File` is a Blob), or blobs
 * from anywhere else. Reads slice the blob, so a multi-GB file chosen from disk is never read whole
 * into memory. Browser-safe (Node ≥ 18 has Blob too).
 */
import { WeightsFormatError } from '../errors.js';
import { checkPlainFileName, checkRange, tableModelSource, type ByteSource, type ModelSource } from './source.js';

/** What is used of a Blob (a `File` from an input or a drop, or a test double). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

async function sliceBytes(name: string, blob: BlobLike, offset: number, length: number): Promise<Uint8Array> {
  let buf: ArrayBuffer;
  try {
    buf = await blob.slice(offset, offset + length).arrayBuffer();
  } catch (e) {
    // e.g. NotReadableError: the file changed or was removed on disk after it was picked
    throw new WeightsFormatError(`${name}: could not read ${length} bytes at ${offset} (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (buf.byteLength !== length) {
    throw new WeightsFormatError(`${name}: read of ${length} bytes at ${offset} returned ${buf.byteLength} bytes`);
  }
  return new Uint8Array(buf);
}

/** Random access to one blob. */
export function blobByteSource(name: string, blob: BlobLike): ByteSource {
  const size = blob.size;
  return {
    name,
    size,
    async read(offset, length) {
      checkRange(name, size, offset, length);
      return length === 0 ? new Uint8Array(0) : sliceBytes(name, blob, offset, length);
    },
    async readInto(offset, dest) {
      checkRange(name, size, offset, dest.length);
      if (dest.length > 0) dest.set(await sliceBytes(name, blob, offset, dest.length));
    },
  };
}

/**
 * A model folder made of blobs by file name: `{ 'config.json': file, 'model.safetensors': file, … }`
 * (a folder picked with `<input type="file" webkitdirectory>` or dropped, names without the folder).
 */
export function blobModelSource(name: string, files: Readonly<Record<string, BlobLike>>): ModelSource {
  const table = new Map<string, BlobLike>();
  for (const [file, blob] of Object.entries(files)) {
    checkPlainFileName(name, file);
    table.set(file, blob);
  }
  return tableModelSource(name, table, blobByteSource);
}
