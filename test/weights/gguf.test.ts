import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, TokenizerError, WeightsFormatError } from '../../src/errors.js';
import { bytesSource, type ByteSource } from '../../src/io/source.js';
import { GGUF_VALUE_TYPES, GgufFile, MAX_GGUF_HEADER_BYTES, type GgufArray, type GgufValue, type GgufValueType } from '../../src/weights/gguf.js';
import { ggufTokenizerData, llamaConfigFromGguf } from '../../src/weights/gguf-llama.js';
import { dequantizeQ8_0, ggufParts, quantizeQ8_0, writeGguf, type GgufTensorToWrite, type GgufWriteSpec } from '../../src/weights/gguf-writer.js';
import { GGML_BLOCK, GGML_TYPES, dequantizeGgml } from '../../src/weights/ggml-quants.js';
import { ggufToHfRopeRow, hfToGgufRopeRow, roleNames, resolveTensors } from '../../src/weights/llama-tensors.js';
import { openGgufModel } from '../../src/weights/open-model.js';
import { f16ToF32 } from '../../src/weights/tensor.js';
import { expectedBits, parseLlama2c, readFixture, rejectsWith, throwsWith } from './helpers.js';

const open = (bytes: Uint8Array, name = 'm.gguf'): Promise<GgufFile> => GgufFile.open(bytesSource(name, bytes));

// ---- random GGUF files ----

const scalarArb = (type: Exclude<GgufValueType, 'ARRAY'>): fc.Arbitrary<unknown> => {
  switch (type) {
    case 'UINT8':
      return fc.integer({ min: 0, max: 0xff });
    case 'INT8':
      return fc.integer({ min: -0x80, max: 0x7f });
    case 'UINT16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'INT16':
      return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'UINT32':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'INT32':
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'FLOAT32':
      return fc.float({ noNaN: true });
    case 'FLOAT64':
      return fc.double({ noNaN: true });
    case 'UINT64':
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'INT64':
      return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    case 'BOOL':
      return fc.boolean();
    case 'STRING':
      return fc.string({ maxLength: 10, unit: 'grapheme' });
  }
};

const TYPED: Partial<Record<GgufValueType, new (a: ArrayLike<number> & ArrayLike<bigint>) => GgufArray['items']>> = {
  UINT8: Uint8Array as never,
  INT8: Int8Array as never,
  UINT16: Uint16Array as never,
  INT16: Int16Array as never,
  UINT32: Uint32Array as never,
  INT32: Int32Array as never,
  FLOAT32: Float32Array as never,
  FLOAT64: Float64Array as never,
  UINT64: BigUint64Array as never,
  INT64: BigInt64Array as never,
};

const arrayArb: fc.Arbitrary<GgufArray> = fc.letrec<{ arr: GgufArray }>((tie) => ({
  arr: fc.constantFrom(...GGUF_VALUE_TYPES).chain((itemType): fc.Arbitrary<GgufArray> => {
    if (itemType === 'ARRAY') return fc.array(tie('arr'), { maxLength: 2, depthIdentifier: 'a' }).map((items) => ({ itemType, items }));
    return fc.array(scalarArb(itemType), { maxLength: 5 }).map((items) => {
      const Ctor = TYPED[itemType];
      return { itemType, items: Ctor ? new Ctor(items as never) : (items as string[] | boolean[]) };
    });
  }),
})).arr;

const valueArb: fc.Arbitrary<GgufValue> = fc.constantFrom(...GGUF_VALUE_TYPES).chain(
  (type): fc.Arbitrary<GgufValue> => (type === 'ARRAY' ? arrayArb.map((value) => ({ type, value })) : scalarArb(type).map((value) => ({ type, value }) as GgufValue)),
);

const tensorArb = (name: string): fc.Arbitrary<GgufTensorToWrite> =>
  fc.constantFrom(...GGML_TYPES).chain((type) => {
    const { values, bytes } = GGML_BLOCK[type];
    const shape =
      values > 1
        ? fc.tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), fc.constantFrom(values, 2 * values)).map(([outer, last]) => [...outer, last])
        : fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });
    return shape.chain((s) => {
      const n = s.reduce((a, d) => a * d, 1);
      const data =
        type === 'F32'
          ? fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: n, maxLength: n }).map((a) => new Float32Array(new Uint32Array(a).buffer))
          : values > 1
            ? fc.uint8Array({ minLength: (n / values) * bytes, maxLength: (n / values) * bytes })
            : fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: n, maxLength: n }).map((a) => new Uint16Array(a));
      return data.map((d): GgufTensorToWrite => ({ name, type, shape: s, data: d }));
    });
  });

const specArb: fc.Arbitrary<GgufWriteSpec> = fc.record({
  version: fc.constantFrom(2 as const, 3 as const),
  alignment: fc.constantFrom(1, 2, 8, 32, 64, 256),
  metadata: fc.uniqueArray(fc.tuple(fc.string({ maxLength: 8 }).filter((k) => k !== 'general.alignment'), valueArb), { maxLength: 6, selector: ([k]) => k }),
  tensors: fc
    .uniqueArray(fc.string({ minLength: 0, maxLength: 10 }), { maxLength: 5 })
    .chain((names): fc.Arbitrary<GgufTensorToWrite[]> => (names.length === 0 ? fc.constant([]) : fc.tuple(...names.map(tensorArb)))),
});

/** What readTensorF32 must produce for a written tensor (f32 bit patterns). */
function expectedOf(t: GgufTensorToWrite): Uint32Array {
  if (t.type !== 'F32' && t.type !== 'F16' && t.type !== 'BF16') {
    const out = new Float32Array(t.shape.reduce((a, d) => a * d, 1));
    dequantizeGgml(t.type, t.data as Uint8Array, out);
    return new Uint32Array(out.buffer);
  }
  return expectedBits({ name: t.name, dtype: t.type, shape: t.shape, data: t.data as Float32Array & Uint16Array });
}

test('gguf: random files (every metadata type, nested arrays, every tensor type spechub reads, any alignment, v2/v3) round-trip', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(specArb, async (spec) => {
      const bytes = writeGguf(spec);
      const f = await open(bytes);
      assert.equal(f.version, spec.version);
      assert.equal(f.alignment, spec.alignment);
      const expectedMeta = new Map(spec.metadata);
      if (spec.alignment !== 32) expectedMeta.set('general.alignment', { type: 'UINT32', value: spec.alignment! });
      assert.deepEqual(f.metadata, expectedMeta);
      assert.deepEqual([...f.tensors.keys()], spec.tensors.map((t) => t.name));
      for (const t of spec.tensors) {
        const info = f.tensors.get(t.name)!;
        assert.equal(info.dtype, t.type);
        assert.deepEqual(info.shape, t.shape);
        assert.deepEqual(info.dims, [...t.shape].reverse());
        assert.equal(info.offset % spec.alignment!, 0);
        const dest = new Float32Array(info.elements);
        await f.readTensorF32(t.name, dest, { allowNonFinite: true });
        assert.deepEqual(new Uint32Array(dest.buffer), expectedOf(t));
        assert.deepEqual(await f.readTensorRaw(t.name), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }
    }),
    { numRuns: 150 },
  );
});

/** Either a WeightsFormatError naming the file, or a header that is consistent with the file. */
async function openOrReject(bytes: Uint8Array): Promise<'ok' | 'rejected'> {
  let f: GgufFile;
  try {
    f = await open(bytes, 'c.gguf');
  } catch (e) {
    if (e instanceof WeightsFormatError) {
      assert.ok(e.message.startsWith('c.gguf: '), e.message);
      return 'rejected';
    }
    throw e;
  }
  let expected = f.dataStart;
  for (const t of f.tensors.values()) {
    assert.equal(t.offset, expected);
    assert.ok(t.offset + t.byteLength <= bytes.length);
    expected = f.dataStart + Math.ceil((t.offset - f.dataStart + t.byteLength) / f.alignment) * f.alignment;
    await f.readTensorF32(t.name, new Float32Array(t.elements), { allowNonFinite: true });
  }
  return 'ok';
}

test('gguf: random corruptions of the header, counts and length are rejected or parse consistently', { timeout: 120_000 }, async () => {
  const seen = { ok: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(
      specArb,
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('u64' as const), at: fc.nat(), v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
        fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 0xffffffff }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 300 }) }),
      ),
      async (spec, m) => {
        const valid = writeGguf(spec);
        const headerEnd = ggufParts(spec).parts[0].length;
        let bytes = valid.slice();
        const dv = new DataView(bytes.buffer);
        const at = (n: number, width: number): number => Math.min(n % Math.max(1, headerEnd), bytes.length - width);
        switch (m.kind) {
          case 'flip':
            bytes[m.at % headerEnd] = m.byte;
            break;
          case 'u64':
            if (bytes.length >= 8) dv.setBigUint64(at(m.at, 8), m.v, true);
            break;
          case 'u32':
            dv.setUint32(at(m.at, 4), m.v, true);
            break;
          case 'truncate':
            bytes = bytes.slice(0, m.at % bytes.length);
            break;
          case 'append':
            bytes = new Uint8Array([...bytes, ...new Uint8Array(m.n)]);
            break;
        }
        seen[await openOrReject(bytes)]++;
      },
    ),
    { numRuns: 500 },
  );
  assert.ok(seen.ok > 0 && seen.rejected > 0, JSON.stringify(seen));
});

// ---- explicit error classes, on hand-built files ----

/** Little-endian byte builder for invalid GGUF files. */
class Raw {
  private parts: number[] = [];
  u8(...v: number[]): this {
    this.parts.push(...v);
    return this;
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.u8(...b);
  }
  u64(v: number | bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return this.u8(...b);
  }
  str(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
    return this.u64(b.length).u8(...b);
  }
  header(tensors: number, kvs: number, version = 3): this {
    return this.u8(0x47, 0x47, 0x55, 0x46).u32(version).u64(tensors).u64(kvs);
  }
  /** A tensor info: name, dims (GGUF order), type code, offset. */
  tensor(name: string, dims: number[], type: number, offset: number): this {
    this.str(name).u32(dims.length);
    for (const d of dims) this.u64(d);
    return this.u32(type).u64(offset);
  }
  pad(alignment = 32): this {
    while (this.parts.length % alignment !== 0) this.parts.push(0);
    return this;
  }
  zeros(n: number): this {
    return this.u8(...new Uint8Array(n));
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

const errorCases: [string, () => Uint8Array, (string | RegExp)[]][] = [
  ['a file too short for the magic', () => new Uint8Array(3), ['expected the GGUF magic, got a 3-byte file']],
  ['a wrong magic', () => new Raw().u8(0x47, 0x47, 0x4d, 0x4c).u32(3).bytes(), ['expected the GGUF magic "GGUF", got "GGML"']],
  ['GGUF v1', () => new Raw().header(0, 0, 1).bytes(), ['version 1: GGUF v1 is not supported (expected 2 or 3)']],
  ['a big-endian file', () => new Raw().header(0, 0, 0x03000000).bytes(), ['a big-endian GGUF file; expected little-endian']],
  ['an unknown version', () => new Raw().header(0, 0, 7).bytes(), ['version 7: expected 2 or 3']],
  ['a truncated header', () => new Raw().u8(0x47, 0x47, 0x55, 0x46).u32(3).u32(0).bytes(), [/tensor count at offset 8 needs 8 bytes, past the end of the file \(12 bytes; truncated\?\)/]],
  ['a tensor count the file cannot hold', () => new Raw().header(1000, 0).zeros(100).bytes(), [/tensor count: 1000 is more than 4 \(what the rest of the file can hold\)/]],
  ['a metadata count the file cannot hold', () => new Raw().header(0, 2 ** 40).zeros(26).bytes(), [/metadata count: 1099511627776 is more than 2/]],
  ['a string longer than the file', () => new Raw().header(0, 1).u64(2n ** 62n).zeros(20).bytes(), [/metadata key 0: string length: 4611686018427387904 is more than 20 \(what the rest of the file can hold\)/]],
  ['a key that is not UTF-8', () => new Raw().header(0, 1).str(new Uint8Array([0xff, 0xfe])).u32(4).u32(1).bytes(), ['metadata key 0: expected UTF-8 text']],
  ['a duplicate key', () => new Raw().header(0, 2).str('a').u32(4).u32(1).str('a').u32(4).u32(2).bytes(), ['metadata key "a" appears twice']],
  ['an unknown value type', () => new Raw().header(0, 1).str('a').u32(13).u32(0).bytes(), ['metadata a: unknown value type 13; expected 0..12']],
  ['a BOOL that is not 0 or 1', () => new Raw().header(0, 1).str('b').u32(7).u8(2).bytes(), ['metadata b: expected a BOOL of 0 or 1, got 2']],
  ['an array longer than the file', () => new Raw().header(0, 1).str('a').u32(9).u32(4).u64(1000).zeros(16).bytes(), [/metadata a: array length: 1000 is more than 4/]],
  ['a string array longer than the file', () => new Raw().header(0, 1).str('a').u32(9).u32(8).u64(3).zeros(16).bytes(), [/array length: 3 is more than 2/]],
  [
    'arrays nested too deep',
    () => {
      const r = new Raw().header(0, 1).str('a').u32(9);
      for (let i = 0; i < 9; i++) r.u32(9).u64(1);
      return r.u32(0).u64(0).bytes();
    },
    ['arrays nested deeper than 8'],
  ],
  ['general.alignment of the wrong type', () => new Raw().header(0, 1).str('general.alignment').u32(10).u64(32).bytes(), ['general.alignment: expected a UINT32, got UINT64']],
  ['general.alignment not a power of two', () => new Raw().header(0, 1).str('general.alignment').u32(4).u32(48).bytes(), ['general.alignment: expected a power of two, got 48']],
  ['a tensor name too long', () => new Raw().header(1, 0).tensor('x'.repeat(64), [1], 0, 0).pad().zeros(32).bytes(), [/tensor "x{64}": name of 64 bytes; expected fewer than 64/]],
  ['a duplicate tensor name', () => new Raw().header(2, 0).tensor('w', [1], 0, 0).tensor('w', [1], 0, 32).pad().zeros(64).bytes(), ['tensor "w" appears twice']],
  ['more than 4 dimensions', () => new Raw().header(1, 0).tensor('w', [1, 1, 1, 1, 1], 0, 0).pad().zeros(32).bytes(), ['tensor w: 5 dimensions; expected at most 4']],
  ['an unsupported tensor type', () => new Raw().header(1, 0).tensor('w', [256], 16, 0).pad().zeros(66).bytes(), ['tensor w: type IQ2_XXS is not supported; expected one of F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16']],
  ['a type of a newer ggml', () => new Raw().header(1, 0).tensor('w', [128], 41, 0).pad().zeros(32).bytes(), ['tensor w: type Q1_0 is not supported']],
  ['Q4_K rows not a multiple of 256', () => new Raw().header(1, 0).tensor('w', [128, 2], 12, 0).pad().zeros(144).bytes(), ['tensor w: Q4_K rows of 128 elements; expected a multiple of 256 (whole blocks)']],
  ['an unknown tensor type', () => new Raw().header(1, 0).tensor('w', [1], 99, 0).pad().zeros(32).bytes(), ['tensor w: type code 99 is not supported']],
  ['Q8_0 rows not a multiple of 32', () => new Raw().header(1, 0).tensor('w', [48, 2], 8, 0).pad().zeros(128).bytes(), ['tensor w: Q8_0 rows of 48 elements; expected a multiple of 32 (whole blocks)']],
  ['an element count above 2^53', () => new Raw().header(1, 0).tensor('w', [2 ** 30, 2 ** 30, 2 ** 30], 0, 0).pad().bytes(), ['tensor w: dims [1073741824, 1073741824] have more than 2^53 elements']],
  ['an unaligned offset', () => new Raw().header(1, 0).tensor('w', [1], 0, 4).pad().zeros(32).bytes(), ['tensor w: data offset 4 is not a multiple of the alignment 32']],
  ['a gap between tensors', () => new Raw().header(2, 0).tensor('a', [1], 0, 0).tensor('b', [1], 0, 64).pad().zeros(96).bytes(), ['tensor b: data offset 64; expected 32 (tensors must follow each other in order, each padded to 32 bytes)']],
  ['tensors out of order', () => new Raw().header(2, 0).tensor('a', [1], 0, 32).tensor('b', [1], 0, 0).pad().zeros(64).bytes(), ['tensor a: data offset 32; expected 0']],
  ['a tensor past the end of the file', () => new Raw().header(1, 0).tensor('w', [100], 0, 0).pad().zeros(40).bytes(), [/tensor w: data \[0, 400\) goes past the end of the data area \(40 bytes; truncated\?\)/]],
  ['trailing bytes after the data', () => new Raw().header(1, 0).tensor('w', [1], 0, 0).pad().zeros(64).bytes(), ['60 bytes after the last tensor; expected at most the 28 bytes of alignment padding']],
  ['a data area past the end of the file', () => new Raw().header(1, 0).tensor('w', [0], 0, 0).bytes(), [/data area would start at 64, past the end of the file \(\d+ bytes; truncated\?\)/]],
];
for (const [what, build, patterns] of errorCases) {
  test(`gguf: rejects ${what}`, async () => {
    await rejectsWith(() => open(build(), 'bad.gguf'), ['bad.gguf: ', ...patterns]);
  });
}

test('gguf: overlapping declared ranges are refused (offsets must tile in order)', async () => {
  // b declared at 0, overlapping a at 0.
  const bytes = new Raw().header(2, 0).tensor('a', [8], 0, 0).tensor('b', [8], 0, 0).pad().zeros(64).bytes();
  await rejectsWith(() => open(bytes, 'o.gguf'), ['o.gguf: tensor b: data offset 0; expected 32']);
});

test('gguf: no tensors and no trailing padding is a valid (empty) file', async () => {
  const bytes = new Raw().header(0, 1).str('k').u32(8).str('v').bytes();
  const f = await open(bytes);
  assert.equal(f.tensors.size, 0);
  assert.deepEqual(f.get('k'), { type: 'STRING', value: 'v' });
});

test('gguf: the header is read through a growing window, and capped', async () => {
  // 300k tokens of 8 bytes ≈ 4.8 MB of metadata: needs windows of 1 MiB, 4 MiB, then 16 MiB.
  const tokens = Array.from({ length: 300_000 }, (_, i) => `t${i}`.padEnd(8, '_'));
  const bytes = writeGguf({ metadata: [['tokenizer.ggml.tokens', { type: 'ARRAY', value: { itemType: 'STRING', items: tokens } }]], tensors: [] });
  const reads: number[] = [];
  const inner = bytesSource('big.gguf', bytes);
  const f = await GgufFile.open({ ...inner, read: (o, n) => (reads.push(n), inner.read(o, n)) });
  assert.deepEqual(reads, [1 << 20, 1 << 22, bytes.length]);
  assert.equal((f.get('tokenizer.ggml.tokens')!.value as GgufArray).items.length, 300_000);

  // A declared 1 GiB file whose first string claims 300 MB: refused at the cap, without reading it.
  const head = new Raw().header(0, 1).u64(300_000_000).bytes();
  const fakeReads: number[] = [];
  const huge: ByteSource = {
    name: 'huge.gguf',
    size: 2 ** 30,
    read: async (o, n) => {
      fakeReads.push(n);
      const out = new Uint8Array(n);
      out.set(head.subarray(o, o + n));
      return out;
    },
  };
  await rejectsWith(() => GgufFile.open(huge), [`huge.gguf: header: metadata key 0 at offset 32 goes beyond the ${MAX_GGUF_HEADER_BYTES}-byte header limit`]);
  assert.deepEqual(fakeReads, [1 << 20]);
});

test('gguf: non-finite values (including Q8_0 scales) are refused on read unless allowed', async () => {
  const q = quantizeQ8_0(new Float32Array(32).fill(1));
  q[0] = 0x00;
  q[1] = 0x7c; // scale = +Inf
  const bytes = writeGguf({
    metadata: [],
    tensors: [
      { name: 'q', type: 'Q8_0', shape: [32], data: q },
      { name: 'h', type: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0x7e00]) },
    ],
  });
  const f = await open(bytes);
  await rejectsWith(() => f.readTensorF32('q', new Float32Array(32)), ['m.gguf: tensor q: element 0 is Infinity; expected finite weights']);
  await rejectsWith(() => f.readTensorF32('h', new Float32Array(2)), ['m.gguf: tensor h: element 1 is NaN']);
  await rejectsWith(() => f.readTensorQ8_0('q', new Float32Array(1), new Int8Array(32)), ['m.gguf: tensor q: block 0 has scale Infinity; expected finite weights']);
  const d = new Float32Array(32);
  await f.readTensorF32('q', d, { allowNonFinite: true });
  assert.equal(d[0], Infinity);
});

// ---- Q8_0 ----

test('q8_0: quantization matches ggml (d = amax/127 as f16, round half away from zero) within its error bound', () => {
  // Hand example: amax 127 → d = 1 exactly, q = round(x).
  const x = new Float32Array(32).map((_, i) => i - 16.5);
  x[31] = 127;
  const q = quantizeQ8_0(x);
  assert.deepEqual([q[0], q[1]], [0x00, 0x3c]); // f16 1.0
  const qs = new Int8Array(q.buffer, 2, 32);
  assert.deepEqual([...qs.subarray(0, 4)], [-17, -16, -15, -14]); // -16.5 → -17 (half away from zero)
  assert.equal(qs[16], -1); // -0.5 → -1
  assert.equal(qs[17], 1); // 0.5 → 1
  assert.equal(qs[31], 127);
  fc.assert(
    fc.property(fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 32, maxLength: 96 }).map((a) => a.slice(0, Math.floor(a.length / 32) * 32)), (vals) => {
      const src = new Float32Array(vals);
      const blocks = quantizeQ8_0(src);
      const back = dequantizeQ8_0(blocks);
      for (let b = 0; b < src.length / 32; b++) {
        const block = src.subarray(b * 32, b * 32 + 32);
        const amax = Math.max(...block.map(Math.abs));
        const d = Math.fround(amax / 127);
        const d16 = f16ToF32(blocks[b * 34] | (blocks[b * 34 + 1] << 8));
        for (let j = 0; j < 32; j++) {
          const err = Math.abs(back[b * 32 + j] - block[j]);
          assert.ok(err <= d / 2 + 127 * Math.abs(d - d16) + 1e-6 * amax, `block ${b}[${j}]: ${block[j]} → ${back[b * 32 + j]}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

// ---- the real stories260K.gguf ----

test('gguf: stories260K.gguf: header, config and every tensor equal to llama2.c stories260K.bin', async () => {
  const bin = parseLlama2c(readFixture('llama2c/stories260K.bin'));
  const model = await openGgufModel(bytesSource('stories260K.gguf', readFixture('stories260K.gguf')));
  const { config, gguf } = model;
  assert.equal(gguf.version, 3);
  assert.equal(gguf.metadata.size, 19);
  assert.equal(gguf.tensors.size, 48);
  assert.deepEqual(
    { ...config },
    {
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      maxSeqLen: 2048,
      ropeTheta: 10000,
      normEps: Math.fround(1e-5),
      tiedEmbeddings: false,
      bosTokenId: 1,
      eosTokenId: 2,
      eosTokenIds: [2],
      architecture: 'llama',
    },
  );
  assert.deepEqual(model.warnings, [], 'every key and tensor of the file is read');
  assert.equal(bin.dim, config.dim);
  assert.equal(bin.nLayers, config.nLayers);
  assert.deepEqual(gguf.tensors.get('blk.0.attn_k.weight')!.dims, [64, 32]);

  // Raw stored order (no un-permutation) equals the .bin arrays bit for bit.
  const { dim, hiddenDim } = bin;
  const kv = (bin.nKvHeads * dim) / bin.nHeads;
  const layerSlice = (a: Float32Array, l: number, n: number): Float32Array => a.subarray(l * n, (l + 1) * n);
  const raw = async (name: string): Promise<Float32Array> => {
    const t = gguf.tensors.get(name)!;
    const d = new Float32Array(t.elements);
    await gguf.readTensorF32(name, d);
    return d;
  };
  assert.deepEqual(await raw('token_embd.weight'), bin.arrays.tokenEmbedding);
  assert.deepEqual(await raw('output.weight'), bin.arrays.tokenEmbedding); // an explicit copy of the embedding
  assert.deepEqual(await raw('output_norm.weight'), bin.arrays.rmsFinal);
  for (let l = 0; l < bin.nLayers; l++) {
    assert.deepEqual(await raw(`blk.${l}.attn_norm.weight`), layerSlice(bin.arrays.rmsAtt, l, dim));
    assert.deepEqual(await raw(`blk.${l}.attn_q.weight`), layerSlice(bin.arrays.wq, l, dim * dim));
    assert.deepEqual(await raw(`blk.${l}.attn_k.weight`), layerSlice(bin.arrays.wk, l, kv * dim));
    assert.deepEqual(await raw(`blk.${l}.attn_v.weight`), layerSlice(bin.arrays.wv, l, kv * dim));
    assert.deepEqual(await raw(`blk.${l}.attn_output.weight`), layerSlice(bin.arrays.wo, l, dim * dim));
    assert.deepEqual(await raw(`blk.${l}.ffn_norm.weight`), layerSlice(bin.arrays.rmsFfn, l, dim));
    assert.deepEqual(await raw(`blk.${l}.ffn_gate.weight`), layerSlice(bin.arrays.w1, l, hiddenDim * dim));
    assert.deepEqual(await raw(`blk.${l}.ffn_down.weight`), layerSlice(bin.arrays.w2, l, dim * hiddenDim));
    assert.deepEqual(await raw(`blk.${l}.ffn_up.weight`), layerSlice(bin.arrays.w3, l, hiddenDim * dim));
  }

  // Through the role map, wq/wk come back row-permuted: HF row ggufToHfRopeRow(r) = stored row r.
  const wq = new Float32Array(dim * dim);
  await model.tensors.get('layers.2.wq').readF32(wq);
  const binWq = layerSlice(bin.arrays.wq, 2, dim * dim);
  for (let r = 0; r < dim; r++) {
    assert.deepEqual(wq.subarray(ggufToHfRopeRow(r, 8) * dim, (ggufToHfRopeRow(r, 8) + 1) * dim), binWq.subarray(r * dim, (r + 1) * dim));
  }
  await model.close();
});

/** RoPE on one vector of nHeads heads: interleaved pairs (llama2.c / llama.cpp) or rotate-half (Hugging Face). */
function rope(x: Float64Array, headDim: number, pos: number, theta: number, layout: 'interleaved' | 'half'): Float64Array {
  const out = new Float64Array(x);
  for (let h = 0; h < x.length / headDim; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      const angle = pos * theta ** ((-2 * i) / headDim);
      const [a, b] = layout === 'interleaved' ? [h * headDim + 2 * i, h * headDim + 2 * i + 1] : [h * headDim + i, h * headDim + i + headDim / 2];
      out[a] = x[a] * Math.cos(angle) - x[b] * Math.sin(angle);
      out[b] = x[a] * Math.sin(angle) + x[b] * Math.cos(angle);
    }
  }
  return out;
}

function matvec(w: Float32Array, x: Float64Array, rows: number): Float64Array {
  const cols = x.length;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    out[r] = s;
  }
  return out;
}

test('gguf: un-permuted q/k with rotate-half RoPE give exactly llama2.c’s attention scores (interleaved RoPE on stored rows)', async () => {
  const model = await openGgufModel(bytesSource('stories260K.gguf', readFixture('stories260K.gguf')));
  const { config: c, gguf, tensors } = model;
  const kvDim = c.nKvHeads * c.headDim;
  const group = c.nHeads / c.nKvHeads;
  const layers: { storedQ: Float32Array; storedK: Float32Array; hfQ: Float32Array; hfK: Float32Array; wrongQ: Float32Array }[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const storedQ = new Float32Array(c.dim * c.dim);
    const storedK = new Float32Array(kvDim * c.dim);
    await gguf.readTensorF32(`blk.${l}.attn_q.weight`, storedQ);
    await gguf.readTensorF32(`blk.${l}.attn_k.weight`, storedK);
    const hfQ = new Float32Array(c.dim * c.dim);
    const hfK = new Float32Array(kvDim * c.dim);
    await tensors.get(`layers.${l}.wq`).readF32(hfQ);
    await tensors.get(`layers.${l}.wk`).readF32(hfK);
    // The inverse permutation (a plausible mistake): must NOT reproduce the scores.
    const wrongQ = new Float32Array(c.dim * c.dim);
    for (let r = 0; r < c.dim; r++) wrongQ.set(storedQ.subarray(r * c.dim, (r + 1) * c.dim), hfToGgufRopeRow(r, c.headDim) * c.dim);
    layers.push({ storedQ, storedK, hfQ, hfK, wrongQ });
  }
  const scores = (q: Float64Array, k: Float64Array): number[] =>
    Array.from({ length: c.nHeads }, (_, h) => {
      const kh = Math.floor(h / group);
      let s = 0;
      for (let j = 0; j < c.headDim; j++) s += q[h * c.headDim + j] * k[kh * c.headDim + j];
      return s;
    });
  const vec = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: c.dim, maxLength: c.dim }).map((a) => Float64Array.from(a));
  let wrongDiffers = false;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: c.nLayers - 1 }), vec, vec, fc.integer({ min: 1, max: 511 }), fc.integer({ min: 0, max: 511 }), (l, xq, xk, pq, pk) => {
      const { storedQ, storedK, hfQ, hfK, wrongQ } = layers[l];
      const sA = scores(rope(matvec(storedQ, xq, c.dim), c.headDim, pq, c.ropeTheta, 'interleaved'), rope(matvec(storedK, xk, kvDim), c.headDim, pk, c.ropeTheta, 'interleaved'));
      const kB = rope(matvec(hfK, xk, kvDim), c.headDim, pk, c.ropeTheta, 'half');
      const sB = scores(rope(matvec(hfQ, xq, c.dim), c.headDim, pq, c.ropeTheta, 'half'), kB);
      for (let h = 0; h < c.nHeads; h++) assert.ok(Math.abs(sA[h] - sB[h]) <= 1e-12 * (1 + Math.abs(sA[h])), `layer ${l} head ${h}: ${sA[h]} vs ${sB[h]}`);
      const sW = scores(rope(matvec(wrongQ, xq, c.dim), c.headDim, pq, c.ropeTheta, 'half'), kB);
      if (sW.some((v, h) => Math.abs(v - sA[h]) > 1e-6 * (1 + Math.abs(sA[h])))) wrongDiffers = true;
    }),
    { numRuns: 100 },
  );
  assert.ok(wrongDiffers, 'the inverse permutation must give different scores');
  await model.close();
});

test('gguf: stories260K embedded tokenizer metadata as plain data', async () => {
  const f = await open(readFixture('stories260K.gguf'), 'stories260K.gguf');
  const tok = ggufTokenizerData(f);
  assert.equal(tok.model, 'llama');
  assert.equal(tok.tokens.length, 512);
  assert.deepEqual(tok.tokens.slice(0, 5), ['<unk>', '<s>', '</s>', '<0x00>', '<0x01>']);
  assert.equal(tok.tokens[258], '<0xFF>');
  assert.deepEqual([...tok.scores!.subarray(259, 263)].map((v) => v + 0), [0, -1, -2, -3]); // stored as -0, -1, …
  assert.deepEqual([...tok.tokenTypes!.subarray(0, 4)], [2, 3, 3, 6]);
  assert.ok(tok.tokens.slice(259).some((t) => t.includes('▁')), 'SentencePiece pieces keep ▁');
  assert.deepEqual([tok.bosId, tok.eosId, tok.unkId, tok.padId, tok.sepId, tok.eotId], [1, 2, 0, null, null, null]);
  assert.deepEqual([tok.addBos, tok.addEos, tok.merges, tok.pre], [null, null, null, null]);
});

// ---- llama metadata → ModelConfig / tokenizer errors ----

const llamaMeta = (): [string, GgufValue][] => [
  ['general.architecture', { type: 'STRING', value: 'llama' }],
  ['llama.embedding_length', { type: 'UINT32', value: 16 }],
  ['llama.feed_forward_length', { type: 'UINT32', value: 24 }],
  ['llama.block_count', { type: 'UINT32', value: 1 }],
  ['llama.attention.head_count', { type: 'UINT32', value: 4 }],
  ['llama.attention.head_count_kv', { type: 'UINT32', value: 2 }],
  ['llama.context_length', { type: 'UINT32', value: 64 }],
  ['llama.attention.layer_norm_rms_epsilon', { type: 'FLOAT32', value: 1e-5 }],
  ['tokenizer.ggml.model', { type: 'STRING', value: 'llama' }],
  ['tokenizer.ggml.tokens', { type: 'ARRAY', value: { itemType: 'STRING', items: ['a', 'b', 'c', 'd', 'e'] } }],
  ['tokenizer.ggml.bos_token_id', { type: 'UINT32', value: 1 }],
  ['tokenizer.ggml.eos_token_id', { type: 'UINT32', value: 2 }],
];

async function metaFile(patch: Record<string, GgufValue | null>, tensors: GgufTensorToWrite[] = []): Promise<GgufFile> {
  const meta = llamaMeta().filter(([k]) => !(k in patch));
  for (const [k, v] of Object.entries(patch)) if (v !== null) meta.push([k, v]);
  return open(writeGguf({ metadata: meta, tensors }), 'meta.gguf');
}

test('gguf: llama metadata maps to ModelConfig with defaults; eot joins the eos ids', async () => {
  const c = llamaConfigFromGguf(await metaFile({ 'tokenizer.ggml.eot_token_id': { type: 'INT32', value: 3 } }));
  assert.deepEqual(
    { ...c },
    { dim: 16, hiddenDim: 24, nLayers: 1, nHeads: 4, nKvHeads: 2, headDim: 4, vocabSize: 5, maxSeqLen: 64, ropeTheta: 10000, normEps: Math.fround(1e-5), tiedEmbeddings: true, bosTokenId: 1, eosTokenId: 2, eosTokenIds: [2, 3], architecture: 'llama' },
  );
  const c2 = llamaConfigFromGguf(
    await metaFile({
      'llama.attention.head_count_kv': null,
      'llama.rope.freq_base': { type: 'FLOAT32', value: 500000 },
      'llama.rope.dimension_count': { type: 'UINT32', value: 4 },
      'llama.rope.scaling.type': { type: 'STRING', value: 'none' },
      'llama.context_length': { type: 'UINT64', value: 64n },
      'tokenizer.ggml.bos_token_id': { type: 'INT32', value: -1 },
    }),
  );
  assert.equal(c2.nKvHeads, 4);
  assert.equal(c2.ropeTheta, 500000);
  assert.equal(c2.maxSeqLen, 64);
  assert.equal(c2.bosTokenId, null);
});

const configErrors: [string, Record<string, GgufValue | null>, string][] = [
  ['another architecture', { 'general.architecture': { type: 'STRING', value: 'falcon' } }, 'general.architecture: expected one of "llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3", got "falcon"'],
  ['no architecture', { 'general.architecture': null }, 'general.architecture: expected one of "llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3", got nothing'],
  ['a missing size', { 'llama.block_count': null }, 'llama.block_count: expected a positive integer, got nothing (required)'],
  ['a size of the wrong type', { 'llama.embedding_length': { type: 'STRING', value: '16' } }, 'llama.embedding_length: expected a non-negative integer, got STRING "16"'],
  ['a negative size', { 'llama.feed_forward_length': { type: 'INT32', value: -24 } }, 'llama.feed_forward_length: expected a non-negative integer, got INT32 -24'],
  ['per-layer sizes', { 'llama.feed_forward_length': { type: 'ARRAY', value: { itemType: 'UINT32', items: new Uint32Array([24]) } } }, 'llama.feed_forward_length: per-layer values are not supported'],
  ['a zero size', { 'llama.feed_forward_length': { type: 'UINT32', value: 0 } }, 'hiddenDim: expected a positive integer, got 0'],
  ['heads not dividing the width', { 'llama.attention.head_count': { type: 'UINT32', value: 3 } }, 'expected llama.embedding_length divisible by llama.attention.head_count, got 16 and 3'],
  ['KV heads not dividing heads', { 'llama.attention.head_count_kv': { type: 'UINT32', value: 3 } }, 'expected the number of KV heads to divide the number of heads, got 3 KV heads for 4 heads'],
  ['partial rotary', { 'llama.rope.dimension_count': { type: 'UINT32', value: 2 } }, 'llama.rope.dimension_count: expected the head dimension 4 (partial rotary embeddings are not supported), got UINT32 2'],
  ['a value length unlike the key length', { 'llama.attention.key_length': { type: 'UINT32', value: 8 } }, 'llama.attention.value_length: expected the key length 8 (different key and value head sizes are not supported), got nothing'],
  ['YaRN without a factor', { 'llama.rope.scaling.type': { type: 'STRING', value: 'yarn' } }, 'llama.rope.scaling.factor: expected a positive YaRN factor, got nothing'],
  ['LongRoPE', { 'llama.rope.scaling.type': { type: 'STRING', value: 'longrope' } }, 'llama.rope.scaling.type: LongRoPE (Phi-3 128k) is not supported, got STRING "longrope"'],
  ['an unknown RoPE scaling', { 'llama.rope.scaling.type': { type: 'STRING', value: 'ntk' } }, 'llama.rope.scaling.type: expected none, linear or yarn, got STRING "ntk"'],
  ['YaRN betas llama.cpp does not read', { 'llama.rope.scaling.yarn_beta_fast': { type: 'FLOAT32', value: 16 } }, 'llama.rope.scaling.yarn_beta_fast: llama.cpp does not read it for llama; spechub refuses values other than its default 32 rather than disagree with it, got FLOAT32 16'],
  ['experts', { 'llama.expert_count': { type: 'UINT32', value: 8 } }, 'llama.expert_count: mixture-of-experts is not supported, got UINT32 8'],
  ['an attention scale', { 'llama.attention.scale': { type: 'FLOAT32', value: 0.5 } }, 'llama.attention.scale: not supported (it changes the math of models spechub does not run); expected 0 or no key, got FLOAT32 0.5'],
  ['non-causal attention', { 'llama.attention.causal': { type: 'BOOL', value: false } }, 'llama.attention.causal: not supported (it changes the math of models spechub does not run); expected true or no key, got BOOL false'],
  ['a Qwen sliding window', { 'general.architecture': { type: 'STRING', value: 'qwen2' }, 'qwen2.embedding_length': { type: 'UINT32', value: 16 }, 'qwen2.feed_forward_length': { type: 'UINT32', value: 24 }, 'qwen2.block_count': { type: 'UINT32', value: 1 }, 'qwen2.attention.head_count': { type: 'UINT32', value: 4 }, 'qwen2.context_length': { type: 'UINT32', value: 64 }, 'qwen2.attention.layer_norm_rms_epsilon': { type: 'FLOAT32', value: 1e-6 }, 'qwen2.attention.sliding_window': { type: 'UINT32', value: 8 } }, 'qwen2.attention.sliding_window: which Qwen layers slide is not stored in GGUF (llama.cpp applies no window to them), got UINT32 8'],
  ['a gemma key in a llama file', { 'llama.final_logit_softcapping': { type: 'FLOAT32', value: 30 } }, 'llama.final_logit_softcapping: read for gemma files only, got FLOAT32 30'],
  ['a missing epsilon', { 'llama.attention.layer_norm_rms_epsilon': null }, 'llama.attention.layer_norm_rms_epsilon: expected a float, got nothing (required)'],
  ['an integer epsilon', { 'llama.attention.layer_norm_rms_epsilon': { type: 'UINT32', value: 0 } }, 'llama.attention.layer_norm_rms_epsilon: expected a FLOAT32 or FLOAT64, got UINT32 0'],
  ['a zero epsilon', { 'llama.attention.layer_norm_rms_epsilon': { type: 'FLOAT32', value: 0 } }, 'normEps: expected a positive finite number, got 0'],
  ['a vocab size disagreeing with the tokens', { 'llama.vocab_size': { type: 'UINT32', value: 6 } }, 'llama.vocab_size is 6 but tokenizer.ggml.tokens has 5 tokens'],
  ['no vocabulary size at all', { 'tokenizer.ggml.tokens': null }, 'expected llama.vocab_size, tokenizer.ggml.tokens or token_embd.weight to give the vocabulary size, got none'],
  ['an eos id outside the vocabulary', { 'tokenizer.ggml.eos_token_id': { type: 'UINT32', value: 5 } }, 'eos token id: expected an integer in [0, 5), got 5'],
];
for (const [what, patch, message] of configErrors) {
  test(`gguf config: rejects ${what}`, async () => {
    const f = await metaFile(patch);
    throwsWith(() => llamaConfigFromGguf(f), [`meta.gguf: ${message}`], ConfigError);
  });
}

const tokenizerErrors: [string, Record<string, GgufValue | null>, string][] = [
  ['no tokenizer model', { 'tokenizer.ggml.model': null }, 'tokenizer.ggml.model: expected a tokenizer model name, got nothing (no embedded tokenizer)'],
  ['tokens of the wrong type', { 'tokenizer.ggml.tokens': { type: 'ARRAY', value: { itemType: 'INT32', items: new Int32Array(5) } } }, 'tokenizer.ggml.tokens: expected an ARRAY of STRING, got an ARRAY of 5 INT32'],
  ['no tokens', { 'tokenizer.ggml.tokens': { type: 'ARRAY', value: { itemType: 'STRING', items: [] } } }, 'tokenizer.ggml.tokens: expected a non-empty ARRAY of STRING, got an ARRAY of 0 STRING'],
  ['scores of another length', { 'tokenizer.ggml.scores': { type: 'ARRAY', value: { itemType: 'FLOAT32', items: new Float32Array(4) } } }, 'tokenizer.ggml.scores: expected 5 entries (one per token), got 4'],
  ['token types of the wrong type', { 'tokenizer.ggml.token_type': { type: 'ARRAY', value: { itemType: 'UINT8', items: new Uint8Array(5) } } }, 'tokenizer.ggml.token_type: expected an ARRAY of INT32, got an ARRAY of 5 UINT8'],
  ['an unk id outside the vocabulary', { 'tokenizer.ggml.unknown_token_id': { type: 'UINT32', value: 9 } }, 'tokenizer.ggml.unknown_token_id: expected a token id in [0, 5), got 9'],
  ['an add_bos flag that is not a BOOL', { 'tokenizer.ggml.add_bos_token': { type: 'UINT8', value: 1 } }, 'tokenizer.ggml.add_bos_token: expected a BOOL, got UINT8 1'],
];
for (const [what, patch, message] of tokenizerErrors) {
  test(`gguf tokenizer: rejects ${what}`, async () => {
    const f = await metaFile(patch);
    throwsWith(() => ggufTokenizerData(f), [`meta.gguf: ${message}`], TokenizerError);
  });
}

test('gguf: openGgufModel on a synthetic llama with the wrong tensor set names the problems', async () => {
  const tensors: GgufTensorToWrite[] = [{ name: 'token_embd.weight', type: 'F32', shape: [5, 16], data: new Float32Array(80) }];
  await rejectsWith(() => openGgufModel(bytesSource('partial.gguf', writeGguf({ metadata: llamaMeta(), tensors }))), [
    /partial.gguf: tensors do not match the model config \(10 problems\): missing blk\.0\.attn_norm\.weight \[16\]/,
  ]);
  const f = await metaFile({});
  assert.deepEqual(roleNames(llamaConfigFromGguf(f), 'gguf', 'layers.0.wo'), ['blk.0.attn_output.weight']);
  assert.throws(() => resolveTensors(llamaConfigFromGguf(f), f), WeightsFormatError);
});

test('gguf writer: re-writing stories260K.gguf from its parsed metadata and tensors reproduces ggml’s file byte for byte', async () => {
  const original = readFixture('stories260K.gguf');
  const f = await open(original, 'stories260K.gguf');
  const tensors: GgufTensorToWrite[] = [];
  for (const t of f.tensors.values()) {
    const d = new Float32Array(t.elements);
    await f.readTensorF32(t.name, d);
    tensors.push({ name: t.name, type: t.dtype, shape: t.shape, data: d });
  }
  const rewritten = writeGguf({ version: 3, metadata: [...f.metadata], tensors });
  assert.equal(rewritten.length, original.length);
  assert.ok(Buffer.compare(rewritten, original) === 0, 'bytes differ');
});
