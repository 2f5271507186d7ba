import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryModelSource, type ModelSource } from '../../src/io/source.js';
import { fsModelSource } from '../../src/node/fs-source.js';
import { openSafetensorsWeights, parseSafetensorsIndex, SafetensorsFile, ShardedSafetensors } from '../../src/formats.js';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer.js';
import { rejectsWith, throwsWith } from './helpers.js';

const t = (name: string, values: number[]): TensorToWrite => ({ name, dtype: 'F32', shape: [values.length], data: new Float32Array(values) });
const S1 = 'model-00001-of-00002.safetensors';
const S2 = 'model-00002-of-00002.safetensors';
const shard1 = writeSafetensors([t('a', [1, 2]), t('b', [3])]);
const shard2 = writeSafetensors([t('c', [4, 5, 6])]);
const index = (map: Record<string, string>, extra = ''): string => `{"metadata": {"total_size": 24}${extra}, "weight_map": ${JSON.stringify(map)}}`;
const goodMap = { a: S1, b: S1, c: S2 };

function model(files: Record<string, Uint8Array | string>): ModelSource {
  return memoryModelSource('dir', files);
}

test('sharded: a valid index and shards form one directory; reads go to the right shard', async () => {
  const w = await ShardedSafetensors.open(model({ 'model.safetensors.index.json': index(goodMap), [S1]: shard1, [S2]: shard2 }));
  assert.equal(w.name, 'dir/model.safetensors.index.json');
  assert.deepEqual([...w.tensors.keys()], ['a', 'b', 'c']);
  assert.equal(w.tensors.get('c')!.file, `dir/${S2}`);
  const c = new Float32Array(3);
  await w.readTensorF32('c', c);
  assert.deepEqual([...c], [4, 5, 6]);
  const a = new Uint8Array(8);
  await w.readTensorBytes('a', a);
  assert.deepEqual(new Float32Array(a.buffer), new Float32Array([1, 2]));
  assert.deepEqual([...w.shards.keys()], [S1, S2]);
  await w.close();
});

test('sharded: on disk, through fsModelSource and FileByteSource', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spechub-shards-'));
  try {
    await writeFile(join(dir, 'model.safetensors.index.json'), index(goodMap));
    await writeFile(join(dir, S1), shard1);
    await writeFile(join(dir, S2), shard2);
    const w = await openSafetensorsWeights(fsModelSource(dir));
    assert.ok(w instanceof ShardedSafetensors);
    const b = new Float32Array(1);
    await w.readTensorF32('b', b);
    assert.equal(b[0], 3);
    await w.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sharded: openSafetensorsWeights prefers model.safetensors and names both files when neither exists', async () => {
  const single = await openSafetensorsWeights(model({ 'model.safetensors': shard2, 'model.safetensors.index.json': 'not even json' }));
  assert.ok(single instanceof SafetensorsFile);
  await rejectsWith(() => openSafetensorsWeights(model({ 'config.json': '{}' })), ['dir: expected model.safetensors or model.safetensors.index.json, found neither']);
});

const indexErrors: [string, string, (RegExp | string)[]][] = [
  ['invalid JSON', '{"weight_map": ', [/expected valid JSON/]],
  ['a tensor mapped twice (duplicate key)', '{"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}}', ['expected unique keys, got "a" twice in weight_map']],
  ['a non-object', '[1]', [/expected a JSON object, got \[1\]/]],
  ['no weight_map', '{"metadata": {}}', [/weight_map: expected an object of tensor name → shard file, got nothing/]],
  ['metadata that is not an object', '{"metadata": 3, "weight_map": {"a": "x"}}', [/metadata: expected an object, got 3/]],
  ['a shard that is not a string', '{"weight_map": {"a": 1}}', [/weight_map\["a"\]: expected a shard file name, got 1/]],
  ['a shard path with a directory', '{"weight_map": {"a": "../../etc/passwd"}}', [/weight_map\["a"\]: expected a plain file name \(no directories\), got "..\/..\/etc\/passwd"/]],
  ['an absolute shard path', '{"weight_map": {"a": "/tmp/x.safetensors"}}', [/expected a plain file name/]],
  ['an empty weight_map', '{"weight_map": {}}', [/weight_map: expected at least one tensor, got none/]],
];
for (const [what, text, patterns] of indexErrors) {
  test(`sharded: the index is rejected for ${what}`, () => {
    throwsWith(() => parseSafetensorsIndex(text, 'idx.json'), ['idx.json: ', ...patterns]);
  });
}

const shardErrors: [string, Record<string, Uint8Array | string>, (RegExp | string)[]][] = [
  ['a missing shard', { 'model.safetensors.index.json': index(goodMap), [S1]: shard1 }, [`shard ${S2} (holding c, …) not found in dir`]],
  [
    'a corrupt shard (the error names the shard)',
    { 'model.safetensors.index.json': index(goodMap), [S1]: shard1, [S2]: shard2.subarray(0, shard2.length - 1) },
    [`dir/${S2}: `, /end past the data area/],
  ],
  [
    'a tensor in another shard than the map says',
    { 'model.safetensors.index.json': index({ a: S1, b: S2, c: S2 }), [S1]: shard1, [S2]: shard2 },
    [`weight_map puts tensor b in ${S2}, but it is in ${S1}`],
  ],
  [
    'a mapped tensor no shard holds',
    { 'model.safetensors.index.json': index({ ...goodMap, d: S2 }), [S1]: shard1, [S2]: shard2 },
    [`weight_map puts tensor d in ${S2}, but no shard holds it`],
  ],
  [
    'a tensor stored in two shards',
    { 'model.safetensors.index.json': index(goodMap), [S1]: shard1, [S2]: writeSafetensors([t('c', [1]), t('a', [2, 3])]) },
    [`tensor a is stored twice, in ${S1} and in ${S2}`],
  ],
  [
    'a shard holding a tensor absent from the map',
    { 'model.safetensors.index.json': index(goodMap), [S1]: shard1, [S2]: writeSafetensors([t('c', [4, 5, 6]), t('extra', [0])]) },
    [`shard ${S2} holds tensor extra, which the weight_map does not list`],
  ],
];
for (const [what, files, patterns] of shardErrors) {
  test(`sharded: rejects ${what}`, async () => {
    await rejectsWith(() => ShardedSafetensors.open(model(files)), patterns);
  });
}

test('sharded: a tensor moved to another shard is reported with both shard names', async () => {
  const s1 = writeSafetensors([t('a', [1])]);
  const s2 = writeSafetensors([t('b', [2]), t('c', [3])]);
  await rejectsWith(() => ShardedSafetensors.open(model({ 'model.safetensors.index.json': index(goodMap), [S1]: s1, [S2]: s2 })), [
    `dir/model.safetensors.index.json: weight_map puts tensor b in ${S1}, but it is in ${S2}`,
  ]);
});
