/** test/fixtures/stories260K.gguf rewritten (F32, same tensors and metadata) with extra metadata keys. */
import { bytesSource } from '../../src/io/source.js';
import { GgufFile, type GgufValue } from '../../src/weights/gguf.js';
import { writeGguf, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import { readFixture } from '../weights/helpers.js';

export async function storiesGgufWith(extra: readonly (readonly [string, GgufValue])[]): Promise<Uint8Array> {
  const f = await GgufFile.open(bytesSource('stories260K.gguf', readFixture('stories260K.gguf')));
  const tensors: GgufTensorToWrite[] = [];
  for (const info of f.tensors.values()) {
    const d = new Float32Array(info.elements);
    await f.readTensorF32(info.name, d);
    tensors.push({ name: info.name, type: 'F32', shape: info.shape, data: d });
  }
  return writeGguf({ metadata: [...f.metadata, ...extra], tensors });
}
