import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesSource, isPlainFileName, memoryModelSource, readInto } from '../../src/io/source.js';
import { fileByteSource, fsModelSource } from '../../src/node/fs-source.js';
import { rejectsWith } from './helpers.js';

test('source: bytesSource reads views and refuses out-of-range reads with WeightsFormatError (never RangeError)', async () => {
  const src = bytesSource('mem.bin', new Uint8Array([1, 2, 3, 4, 5]));
  assert.deepEqual(await src.read(1, 3), new Uint8Array([2, 3, 4]));
  assert.deepEqual(await src.read(5, 0), new Uint8Array(0));
  await rejectsWith(() => src.read(3, 3), ['mem.bin: read of 3 bytes at offset 3 ends at 6, past the end of the file (5 bytes)']);
  await rejectsWith(() => src.read(-1, 1), [/mem.bin: read of 1 bytes at -1: expected non-negative integers/]);
  await rejectsWith(() => src.read(0.5, 1), [/expected non-negative integers/]);
  const dest = new Uint8Array(2);
  await readInto(src, 3, dest);
  assert.deepEqual(dest, new Uint8Array([4, 5]));
  await rejectsWith(() => readInto(src, 4, dest), [/past the end of the file/]);
});

test('source: plain file names only (an untrusted index must not escape the directory)', () => {
  for (const ok of ['model.safetensors', 'model-00001-of-00002.safetensors', 'a b', '..x', 'x..']) assert.equal(isPlainFileName(ok), true, ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', '/etc/passwd', 'C:x', 'a\0b', 'x'.repeat(256)]) assert.equal(isPlainFileName(bad), false, bad);
});

test('source: memoryModelSource serves text and bytes, refuses missing files, traversal and invalid UTF-8', async () => {
  const m = memoryModelSource('mem', { 'config.json': '{"a": 1}', 'w.bin': new Uint8Array([9, 8]), 'bad.txt': new Uint8Array([0xc3, 0x28]) });
  assert.equal(await m.exists('config.json'), true);
  assert.equal(await m.exists('nope'), false);
  assert.equal(await m.exists('../config.json'), false);
  assert.equal(await m.readText('config.json'), '{"a": 1}');
  const src = await m.open('w.bin');
  assert.equal(src.name, 'mem/w.bin');
  assert.deepEqual(await src.read(0, 2), new Uint8Array([9, 8]));
  await rejectsWith(() => m.readText('nope'), ['mem: file nope not found']);
  await rejectsWith(() => m.open('../w.bin'), [/mem: expected a plain file name \(no directories\), got "..\/w.bin"/]);
  await rejectsWith(() => m.readText('bad.txt'), ['mem/bad.txt: expected valid UTF-8 text']);
});

test('source: files on disk are read by offset through a FileHandle; missing, shrunk and closed files are typed errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spechub-src-'));
  try {
    const bytes = new Uint8Array(1000).map((_, i) => i & 0xff);
    await writeFile(join(dir, 'w.bin'), bytes);
    await writeFile(join(dir, 'config.json'), '{"x": "é"}');
    await mkdir(join(dir, 'sub'));
    const m = fsModelSource(dir);
    assert.equal(await m.exists('w.bin'), true);
    assert.equal(await m.exists('sub'), true); // something is there: readers then say what it is (defect 12)
    assert.equal(await m.exists('../w.bin'), false);
    assert.equal(await m.readText('config.json'), '{"x": "é"}');
    await rejectsWith(() => m.readText('missing.json'), [`${join(dir, 'missing.json')}: file not found`]);
    await rejectsWith(() => m.open('sub'), [`${join(dir, 'sub')}: expected a regular file, got a directory`]);
    await rejectsWith(() => m.open('../../etc/passwd'), [/expected a plain file name/]);

    const src = await m.open('w.bin');
    assert.equal(src.size, 1000);
    assert.deepEqual(await src.read(990, 10), bytes.subarray(990));
    const view = new Uint8Array(64).subarray(8, 24);
    await src.readInto!(100, view);
    assert.deepEqual(view, bytes.subarray(100, 116));
    await rejectsWith(() => src.read(999, 2), [/w.bin: read of 2 bytes at offset 999 ends at 1001, past the end of the file \(1000 bytes\)/]);
    await truncate(join(dir, 'w.bin'), 500); // the file shrinks after it was opened
    await rejectsWith(() => src.read(400, 200), [/w.bin: file ended at 500 bytes while reading 200 bytes at 400 \(it was 1000 bytes when opened\)/]);
    // Straight into a view of a shared WebAssembly.Memory (the -mt builds), as the model loader does.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const wasmView = new Uint8Array(memory.buffer, 4096, 300);
    await src.readInto!(200, wasmView);
    assert.ok(memory.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(new Uint8Array(wasmView), bytes.subarray(200, 500));
    await src.close!();
    await rejectsWith(() => src.read(0, 1), [/w.bin: read after close/]);
    await rejectsWith(() => fileByteSource(join(dir, 'nope.bin')), [/nope.bin: file not found/]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
