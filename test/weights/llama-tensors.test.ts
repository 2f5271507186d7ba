import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ShapeError, WeightsFormatError } from '../../src/errors.js';
import { parseConfigJson, parseHfConfig, type ModelConfig } from '../../src/config.js';
import { bytesSource, memoryModelSource } from '../../src/io/source.js';
import { roleShape } from '../../src/weights/llama-tensors.js';
import { SafetensorsFile } from '../../src/weights/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { dequantizeQ8_0, quantizeQ8_0, writeGguf, type GgufTensorToWrite } from '../../src/weights/gguf-writer.js';
import { f32ToF16Array } from '../../src/weights/tensor.js';
import {
  ggufToHfRopeRow,
  hfToGgufRopeRow,
  memoryRoleReader,
  modelRoles,
  resolveTensors,
  roleNames,
  tensorsToStore,
  type TensorRole,
} from '../../src/weights/llama-tensors.js';
import { openHfModel } from '../../src/weights/open-model.js';
import type { TensorDirectory, TensorInfo } from '../../src/weights/tensor.js';
import { finiteF32, readFixture, rejectsWith, throwsWith } from './helpers.js';

const tiny: ModelConfig = {
  dim: 16,
  hiddenDim: 24,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  headDim: 4,
  vocabSize: 10,
  maxSeqLen: 32,
  ropeTheta: 10000,
  normEps: 1e-5,
  tiedEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
};

/** The first Hugging Face name of `role` (what tensorsToStore writes). */
const hfName = (c: ModelConfig, role: TensorRole): string => roleNames(c, 'hf', role)[0]!;

/** HF tensors for config c: distinct seeded values per tensor, named by the role table. */
function hfTensors(c: ModelConfig, skipRoles: TensorRole[] = []): TensorToWrite[] {
  const roles = modelRoles(c);
  return tensorsToStore(c, 'hf', (role) => finiteF32(roleShape(c, role).reduce((a, d) => a * d, 1), roles.indexOf(role) + 1))
    .filter((e) => !skipRoles.includes(e.role))
    .map((e) => ({ name: e.name, dtype: 'F32', shape: [...e.shape], data: e.data }));
}

async function dirOf(tensors: TensorToWrite[], meta?: Record<string, string>): Promise<SafetensorsFile> {
  return SafetensorsFile.open(bytesSource('w.safetensors', writeSafetensors(tensors, meta)));
}

async function read(t: { info: TensorInfo; readF32(d: Float32Array): Promise<void> }): Promise<Float32Array> {
  const d = new Float32Array(t.info.elements);
  await t.readF32(d);
  return d;
}

test('llama-tensors: a complete untied HF checkpoint resolves every role to its tensor', async () => {
  const tensors = hfTensors(tiny);
  const m = resolveTensors(tiny, await dirOf(tensors));
  assert.equal(m.all.length, 3 + 9 * tiny.nLayers);
  assert.deepEqual(m.all.map((t) => t.role), modelRoles(tiny));
  for (const t of m.all) {
    const written = tensors.find((w) => w.name === hfName(tiny, t.role))!;
    assert.deepEqual(await read(t), written.data, t.role);
    assert.equal(t.ropeUnpermuted, false);
  }
  assert.equal(m.get('layers.1.wq').info.name, 'model.layers.1.self_attn.q_proj.weight');
  assert.deepEqual(m.shape('layers.0.wk'), [8, 16]);
  assert.deepEqual(m.shape('layers.0.wDown'), [16, 24]);
  assert.equal(m.get('lmHead').info.name, 'lm_head.weight');
  assert.deepEqual(m.ignored, []);
  throwsWith(() => m.get('layers.2.wq'), ['w.safetensors: no tensor role "layers.2.wq" in this 2-layer llama model']);
  // the engine reads through the RoleReader view of the same table
  const d = new Float32Array(16 * 16);
  await m.readF32('layers.0.wo', d);
  assert.deepEqual(d, tensors.find((w) => w.name === 'model.layers.0.self_attn.o_proj.weight')!.data);
});

test('llama-tensors: tied embeddings: the embedding serves as lm_head; a stored lm_head is ignored', async () => {
  const tied = { ...tiny, tiedEmbeddings: true };
  const m = resolveTensors(tied, await dirOf(hfTensors(tied)));
  assert.equal(m.has('lmHead'), false);
  assert.equal(m.get('embed').info.name, 'model.embed_tokens.weight');
  assert.deepEqual(hfTensors(tied).map((t) => t.name).filter((n) => n.startsWith('lm_head')), [], 'a tied model stores no head');
  const both = hfTensors(tiny); // includes lm_head.weight
  const m2 = resolveTensors(tied, await dirOf(both));
  assert.equal(m2.get('embed').info.name, 'model.embed_tokens.weight');
  assert.deepEqual(m2.ignored, ['lm_head.weight']);
});

test('llama-tensors: the TinyStories-656K layout (tied, only lm_head.weight stored, __metadata__ alias)', async () => {
  const config = parseHfConfig(parseConfigJson(new TextDecoder().decode(readFixture('tinystories-656K/config.json')), 'config.json'), 'config.json');
  // The real file's tensors, names, shapes and order (test/fixtures/README.md), F32, with its __metadata__.
  const names: [string, number[]][] = [['lm_head.weight', [2048, 128]]];
  for (const l of [0, 1]) {
    const p = `model.layers.${l}.`;
    names.push(
      [`${p}input_layernorm.weight`, [128]],
      [`${p}mlp.down_proj.weight`, [128, 384]],
      [`${p}mlp.gate_proj.weight`, [384, 128]],
      [`${p}mlp.up_proj.weight`, [384, 128]],
      [`${p}post_attention_layernorm.weight`, [128]],
      [`${p}self_attn.k_proj.weight`, [64, 128]],
      [`${p}self_attn.o_proj.weight`, [128, 128]],
      [`${p}self_attn.q_proj.weight`, [128, 128]],
      [`${p}self_attn.v_proj.weight`, [64, 128]],
    );
  }
  names.push(['model.norm.weight', [128]]);
  const tensors: TensorToWrite[] = names.map(([name, shape], i) => ({ name, dtype: 'F32', shape, data: finiteF32(shape.reduce((a, d) => a * d, 1), i + 7) }));
  assert.equal(tensors.reduce((a, t) => a + t.data.length, 0), 656_000);
  const bytes = writeSafetensors(tensors, { format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' });
  const model = await openHfModel(memoryModelSource('ts656k', { 'config.json': readFixture('tinystories-656K/config.json'), 'model.safetensors': bytes }));
  assert.equal(model.tensors.get('embed').info.name, 'lm_head.weight');
  assert.equal(model.tensors.has('lmHead'), false);
  assert.deepEqual(await read(model.tensors.get('embed')), tensors[0].data);
  assert.deepEqual(model.weights instanceof SafetensorsFile && model.weights.metadata, { format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' });
  assert.deepEqual(model.config, config);
  await model.close();
});

test('llama-tensors: missing, misshapen and unexpected tensors are all reported in one error', async () => {
  const tensors = hfTensors(tiny, ['layers.1.wUp', 'lmHead']);
  const wk = tensors.find((t) => t.name === 'model.layers.0.self_attn.k_proj.weight')!;
  tensors[tensors.indexOf(wk)] = { ...wk, shape: [16, 8], data: wk.data };
  tensors.push({ name: 'model.layers.0.self_attn.k_proj.bias', dtype: 'F32', shape: [8], data: new Float32Array(8) });
  await rejectsWith(async () => resolveTensors(tiny, await dirOf(tensors)), [
    'w.safetensors: tensors do not match the model config (4 problems): ',
    'missing model.layers.1.mlp.up_proj.weight [24, 16]',
    'model.layers.0.self_attn.k_proj.weight: expected shape [8, 16], got F32[16, 8]',
    'missing lm_head.weight [10, 16]',
    'unexpected model.layers.0.self_attn.k_proj.bias F32[8]',
  ]);
});

test('llama-tensors: a model with fewer layers than the config, or more, is refused', async () => {
  const two = hfTensors(tiny);
  await rejectsWith(async () => resolveTensors({ ...tiny, nLayers: 3 }, await dirOf(two)), [/\(9 problems\).*missing model\.layers\.2\.input_layernorm\.weight \[16\]/]);
  await rejectsWith(async () => resolveTensors({ ...tiny, nLayers: 1 }, await dirOf(two)), [/\(9 problems\).*unexpected model\.layers\.1\./, /… \(1 more\)/]);
});

test('llama-tensors: rotary inv_freq buffers are ignored; undecodable dtypes are refused', async () => {
  const tensors = hfTensors(tiny);
  tensors.push({ name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [2], data: new Float32Array(2) });
  const m = resolveTensors(tiny, await dirOf(tensors));
  assert.deepEqual(m.ignored, ['model.layers.0.self_attn.rotary_emb.inv_freq']);

  // A directory whose norm is stored as I64 (any TensorDirectory works).
  const base = await dirOf(hfTensors(tiny));
  const patched = new Map(base.tensors);
  patched.set('model.norm.weight', { ...patched.get('model.norm.weight')!, dtype: 'I64' });
  const fake: TensorDirectory = { name: 'fake', format: 'safetensors', tensors: patched, readTensorF32: base.readTensorF32.bind(base), readTensorBytes: base.readTensorBytes.bind(base) };
  throwsWith(() => resolveTensors(tiny, fake), ['fake: tensors do not match the model config (1 problems): model.norm.weight: dtype I64 cannot be decoded; expected F32, F16, BF16 or a GGML quantised type']);
});

test('llama-tensors: the RoPE row maps are inverse permutations that keep each head', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 8 }), (halfDim, heads) => {
      const hd = 2 * halfDim;
      const seen = new Set<number>();
      for (let r = 0; r < heads * hd; r++) {
        const h = ggufToHfRopeRow(r, hd);
        assert.equal(Math.floor(h / hd), Math.floor(r / hd));
        assert.equal(hfToGgufRopeRow(h, hd), r);
        seen.add(h);
      }
      assert.equal(seen.size, heads * hd);
    }),
  );
  // headDim 8: GGUF rows (0..7) hold HF rows 0, 4, 1, 5, 2, 6, 3, 7 (pairs (i, i + 4) interleaved).
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((r) => ggufToHfRopeRow(r, 8)), [0, 4, 1, 5, 2, 6, 3, 7]);
});

/** The GGUF equivalent of hfTensors: GGUF names, q/k rows permuted like llama.cpp's converter. */
function ggufTensorsFrom(c: ModelConfig, hf: TensorToWrite[], q8: boolean): GgufTensorToWrite[] {
  return tensorsToStore(c, 'gguf', (role) => hf.find((t) => t.name === hfName(c, role))!.data as Float32Array).map((e) => {
    if (/\.w[qk]$/.test(e.role)) {
      // the table's permutation is llama.cpp's: GGUF row hfToGgufRopeRow(r) holds HF row r
      const [rows, cols] = e.shape as [number, number];
      const src = hf.find((t) => t.name === hfName(c, e.role))!.data as Float32Array;
      for (let r = 0; r < rows; r++) assert.deepEqual(e.data.subarray(hfToGgufRopeRow(r, c.headDim) * cols, (hfToGgufRopeRow(r, c.headDim) + 1) * cols), src.subarray(r * cols, (r + 1) * cols));
    }
    const quantize = q8 && e.shape.length === 2 && e.shape[1]! % 32 === 0;
    return quantize ? { name: e.name, type: 'Q8_0', shape: e.shape, data: quantizeQ8_0(e.data) } : { name: e.name, type: 'F32', shape: e.shape, data: e.data };
  });
}

test('llama-tensors: GGUF names resolve to the same roles; q/k rows come back in Hugging Face order', async () => {
  const c = { ...tiny, dim: 32, nHeads: 4, nKvHeads: 2, headDim: 8, hiddenDim: 64 };
  const hf = hfTensors(c);
  for (const q8 of [false, true]) {
    const gguf = await GgufFile.open(bytesSource('m.gguf', writeGguf({ metadata: [], tensors: ggufTensorsFrom(c, hf, q8) })));
    const m = resolveTensors(c, gguf);
    assert.equal(m.get('layers.1.wk').info.name, 'blk.1.attn_k.weight');
    assert.equal(m.get('lmHead').info.name, 'output.weight');
    for (const t of m.all) {
      const want = hf.find((w) => w.name === hfName(c, t.role))!.data as Float32Array;
      const got = await read(t);
      assert.equal(t.ropeUnpermuted, /\.w[qk]$/.test(t.role));
      if (t.info.dtype === 'F32') assert.deepEqual(got, want, t.role);
      else {
        // Q8_0: the un-permuted dequantized rows equal quantizing the HF rows directly.
        const direct = dequantizeQ8_0(quantizeQ8_0(want));
        assert.deepEqual(got, direct, t.role);
        const [rows, cols] = t.shape as [number, number];
        const scales = new Float32Array((rows * cols) / 32);
        const qs = new Int8Array(rows * cols);
        await t.readQ8_0(scales, qs);
        for (let i = 0; i < rows * cols; i++) assert.equal(scales[Math.floor(i / 32)] * qs[i], direct[i]);
      }
    }
  }
});

test('llama-tensors: GGUF without output.weight is tied; rope_freqs and attn_rot_embd are handled', async () => {
  const c = { ...tiny, tiedEmbeddings: true };
  const hf = hfTensors(c);
  const g = ggufTensorsFrom(c, hf, false);
  const withRot: GgufTensorToWrite[] = [...g, { name: 'blk.0.attn_rot_embd', type: 'F32', shape: [2], data: new Float32Array(2) }];
  const m = resolveTensors(c, await GgufFile.open(bytesSource('t.gguf', writeGguf({ metadata: [], tensors: withRot }))));
  assert.equal(m.get('embed').info.name, 'token_embd.weight');
  assert.equal(m.has('lmHead'), false);
  assert.deepEqual(m.ignored, ['blk.0.attn_rot_embd']);
  const withFreqs: GgufTensorToWrite[] = [...g, { name: 'rope_freqs.weight', type: 'F32', shape: [2], data: new Float32Array(2) }];
  const f = await GgufFile.open(bytesSource('f.gguf', writeGguf({ metadata: [], tensors: withFreqs })));
  // a config without frequency-factor scaling has no ropeFreqs role: the tensor is refused
  assert.throws(() => resolveTensors(c, f), (e: unknown) => e instanceof WeightsFormatError && e.message.includes('rope_freqs.weight: RoPE frequency factors are read with a llama config whose ropeScaling is frequencyFactors (this llama config has no scaling)'));
  // with frequency-factor scaling it is the ropeFreqs role
  const m2 = resolveTensors({ ...c, ropeScaling: { type: 'frequencyFactors' } }, f);
  assert.equal(m2.get('ropeFreqs').info.name, 'rope_freqs.weight');
});

test('llama-tensors: memoryRoleReader checks each role against the table', async () => {
  const roles = modelRoles(tiny);
  const arrays = new Map<TensorRole, Float32Array>(roles.map((r, i) => [r, finiteF32(roleShape(tiny, r).reduce((a, d) => a * d, 1), i + 3)]));
  const reader = memoryRoleReader(tiny, (r) => arrays.get(r));
  assert.equal(reader.has('layers.1.wUp'), true);
  assert.deepEqual(reader.shape('layers.1.wUp'), [24, 16]);
  const d = new Float32Array(24 * 16);
  await reader.readF32('layers.1.wUp', d);
  assert.deepEqual(d, arrays.get('layers.1.wUp'));
  arrays.set('layers.0.wq', new Float32Array(3));
  throwsWith(() => reader.shape('layers.0.wq'), ['memory tensors: role layers.0.wq: expected 256 values [16, 16], got 3']);
  arrays.delete('norm');
  assert.equal(reader.has('norm'), false);
  throwsWith(() => reader.shape('norm'), ['memory tensors: no tensor for role "norm"']);
  throwsWith(() => roleShape(tiny, 'layers.0.nope' as TensorRole), ['expected a role such as "embed" or "layers.0.wq", got "layers.0.nope"']);
});

test('tensor reads: a row slice reads just those rows (F32, F16, BF16 bytes, Q8_0 planar), with a row map inside the slice', async () => {
  const rows = 6;
  const cols = 64;
  const values = finiteF32(rows * cols, 5);
  const f = await GgufFile.open(bytesSource('s.gguf', writeGguf({
    metadata: [],
    tensors: [
      { name: 'a', type: 'F32', shape: [rows, cols], data: values },
      { name: 'h', type: 'F16', shape: [rows, cols], data: f32ToF16Array(values) },
      { name: 'q', type: 'Q8_0', shape: [rows, cols], data: quantizeQ8_0(values) },
    ],
  })));
  const slice = (a: ArrayLike<number>, r0: number, n: number) => Array.from(a).slice(r0 * cols, (r0 + n) * cols);
  const got = new Float32Array(2 * cols);
  await f.readTensorF32('a', got, { rows: [3, 2] });
  assert.deepEqual(Array.from(got), slice(values, 3, 2));
  await f.readTensorF32('a', got, { rows: [3, 2], rowMap: (r) => 1 - r });
  assert.deepEqual(Array.from(got), [...slice(values, 4, 1), ...slice(values, 3, 1)]);
  const half = new Float32Array(2 * cols);
  await f.readTensorF32('h', half, { rows: [1, 2] });
  const allHalf = new Float32Array(rows * cols);
  await f.readTensorF32('h', allHalf);
  assert.deepEqual(Array.from(half), slice(allHalf, 1, 2));
  const bytes = new Uint8Array(2 * cols * 2);
  await f.readTensorBytes('h', bytes, { rows: [4, 2] });
  assert.deepEqual(Array.from(new Uint16Array(bytes.buffer)), slice(f32ToF16Array(values), 4, 2));
  const scales = new Float32Array(2 * (cols / 32));
  const qs = new Int8Array(2 * cols);
  await f.readTensorQ8_0!('q', scales, qs, { rows: [2, 2] });
  const deq = dequantizeQ8_0(quantizeQ8_0(values));
  for (let i = 0; i < 2 * cols; i++) assert.equal(scales[Math.floor(i / 32)]! * qs[i]!, deq[2 * cols + i]);
  await rejectsWith(() => f.readTensorF32('a', got, { rows: [5, 2] }), ['s.gguf: tensor a F32[6, 64]: expected a row slice inside [0, 6), got rows [5, 7)'], ShapeError);
});
