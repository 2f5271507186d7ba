import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import safetensorsPkg from 'safetensors';
import { ShapeError, WeightsFormatError } from '../../src/errors.js';
import { bytesSource, type ByteSource } from '../../src/io/source.js';
import { MAX_HEADER_BYTES, SafetensorsFile } from '../../src/weights/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors-writer.js';
import { CHUNK_BYTES, SAFETENSORS_DTYPE_BYTES } from '../../src/weights/tensor.js';
import { expectedBits, rawSafetensors, rejectsWith, tensorsArb } from './helpers.js';

const F = 'm.safetensors';
const open = (bytes: Uint8Array, name = F): Promise<SafetensorsFile> => SafetensorsFile.open(bytesSource(name, bytes));
const entry = (dtype: string, shape: number[], begin: number, end: number): string =>
  JSON.stringify({ dtype, shape, data_offsets: [begin, end] });

test('safetensors: random valid files round-trip exactly (every dtype, empty tensors, scalars, NaN/Inf bits)', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(tensorsArb(), fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 })), async (tensors, meta) => {
      const bytes = writeSafetensors(tensors, meta ?? undefined);
      const f = await open(bytes);
      assert.equal(f.tensors.size, tensors.length);
      assert.deepEqual({ ...f.metadata }, { ...meta });
      for (const t of tensors) {
        const info = f.tensors.get(t.name)!;
        assert.equal(info.dtype, t.dtype);
        assert.deepEqual(info.shape, t.shape);
        assert.equal(info.elements, t.data.length);
        const dest = new Float32Array(info.elements);
        await f.readTensorF32(t.name, dest, { allowNonFinite: true });
        assert.deepEqual(new Uint32Array(dest.buffer), expectedBits(t));
        const raw = await f.readTensorRaw(t.name);
        assert.deepEqual(raw, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }
    }),
    { numRuns: 150 },
  );
});

test('safetensors: agrees with the npm `safetensors` parser on random valid files', async () => {
  const { SafeTensor } = safetensorsPkg;
  await fc.assert(
    fc.asyncProperty(tensorsArb(), async (tensors) => {
      // The npm parser reads __metadata__ as a tensor and crashes on it, so: files without metadata.
      const bytes = writeSafetensors(tensors);
      const theirs = new SafeTensor(bytes);
      const ours = await open(bytes);
      assert.deepEqual([...theirs.metadata.keys()].sort(), [...ours.tensors.keys()].sort());
      for (const [name, m] of theirs.metadata) {
        const info = ours.tensors.get(name)!;
        assert.equal(info.dtype, m.dtype);
        assert.deepEqual(info.shape, m.shape);
        assert.equal(info.offset, m.data_offsets[0]);
        assert.deepEqual(await ours.readTensorRaw(name), theirs.getTensor(name));
      }
    }),
    { numRuns: 100 },
  );
});

/** Mutations of a valid header's JSON (as an object), each one a plausible corruption. */
const jsonMutation = fc.oneof(
  fc.record({ kind: fc.constant('dtype' as const), v: fc.constantFrom<unknown>('F32', 'F16', 'BF16', 'I8', 'F64', 'U8', 'X', 'f32', '', 3, null) }),
  fc.record({ kind: fc.constant('dim' as const), v: fc.constantFrom<unknown>(-1, 0, 1, 2, 3, 1.5, 2 ** 53, 1e300, '3', null, []) }),
  fc.record({ kind: fc.constant('offset' as const), which: fc.integer({ min: 0, max: 1 }), delta: fc.integer({ min: -9, max: 9 }) }),
  fc.record({ kind: fc.constant('offsetValue' as const), v: fc.constantFrom<unknown>(-1, 0.5, '0', null, 2 ** 60, [0, 1, 2]) }),
  fc.record({ kind: fc.constant('dropField' as const), f: fc.constantFrom('dtype', 'shape', 'data_offsets') }),
  fc.record({ kind: fc.constant('addField' as const), f: fc.constantFrom('offsets', 'extra') }),
  fc.record({ kind: fc.constant('metadata' as const), v: fc.constantFrom<unknown>(null, [], 'x', { a: 1 }, { a: 'b' }, { a: null }) }),
  fc.record({ kind: fc.constant('entry' as const), v: fc.constantFrom<unknown>(null, [], 'x', 1, {}) }),
  fc.record({ kind: fc.constant('swapOffsets' as const) }),
);

function mutateHeader(header: Record<string, Record<string, unknown>>, m: fc.Arbitrary<unknown> extends never ? never : any, pick: number): Record<string, unknown> {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const h = JSON.parse(JSON.stringify(header)) as Record<string, Record<string, unknown>>;
  if (m.kind === 'metadata') {
    (h as Record<string, unknown>).__metadata__ = m.v;
    return h;
  }
  if (names.length === 0) return h;
  const name = names[pick % names.length];
  const e = h[name];
  switch (m.kind) {
    case 'dtype':
      e.dtype = m.v;
      break;
    case 'dim': {
      const shape = e.shape as unknown[];
      if (shape.length === 0) e.shape = [m.v];
      else shape[pick % shape.length] = m.v;
      break;
    }
    case 'offset':
      (e.data_offsets as number[])[m.which] += m.delta;
      break;
    case 'offsetValue':
      e.data_offsets = Array.isArray(m.v) ? m.v : [m.v, (e.data_offsets as number[])[1]];
      break;
    case 'dropField':
      delete e[m.f];
      break;
    case 'addField':
      e[m.f] = 1;
      break;
    case 'entry':
      (h as Record<string, unknown>)[name] = m.v;
      break;
    case 'swapOffsets': {
      const other = h[names[(pick + 1) % names.length]];
      [e.data_offsets, other.data_offsets] = [other.data_offsets, e.data_offsets];
      break;
    }
  }
  return h;
}

/** Either a WeightsFormatError, or a directory whose every tensor is consistent and readable. */
async function openOrReject(bytes: Uint8Array): Promise<'ok' | 'rejected'> {
  let f: SafetensorsFile;
  try {
    f = await open(bytes);
  } catch (e) {
    if (e instanceof WeightsFormatError) {
      assert.ok(e.message.startsWith(`${F}:`), `message must name the file: ${e.message}`);
      return 'rejected';
    }
    throw e;
  }
  // Fully consistent: tiles [dataStart, size) exactly, sizes match, every tensor readable.
  const sorted = [...f.tensors.values()].sort((a, b) => a.offset - b.offset);
  let cursor = f.dataStart;
  for (const t of sorted) {
    assert.equal(t.offset, cursor);
    assert.equal(t.byteLength, t.elements * SAFETENSORS_DTYPE_BYTES[t.dtype as keyof typeof SAFETENSORS_DTYPE_BYTES]);
    assert.equal(t.elements, t.shape.reduce((a, d) => a * d, 1));
    cursor += t.byteLength;
    const raw = new Uint8Array(t.byteLength);
    await f.readTensorBytes(t.name, raw);
    assert.deepEqual(raw, bytes.subarray(t.offset, t.offset + t.byteLength));
    try {
      await f.readTensorF32(t.name, new Float32Array(t.elements), { allowNonFinite: true });
    } catch (e) {
      assert.ok(e instanceof WeightsFormatError && /expected F32, F16, BF16 or a GGML quantised type/.test(e.message), String(e));
    }
  }
  assert.equal(cursor, bytes.length);
  return 'ok';
}

test('safetensors: structured header corruptions are rejected with WeightsFormatError or stay fully consistent', { timeout: 120_000 }, async () => {
  const seen = { ok: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(tensorsArb(4).filter((t) => t.length > 0), jsonMutation, fc.nat(), async (tensors, m, pick) => {
      const valid = writeSafetensors(tensors);
      const n = Number(new DataView(valid.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + n)));
      const mutated = mutateHeader(header, m, pick);
      seen[await openOrReject(rawSafetensors(JSON.stringify(mutated), valid.subarray(8 + n)))]++;
    }),
    { numRuns: 400 },
  );
  assert.ok(seen.ok > 0 && seen.rejected > 0, `both outcomes should occur: ${JSON.stringify(seen)}`);
});

test('safetensors: random byte flips, length prefixes and truncations never escape as another exception type', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      tensorsArb(3),
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('prefix' as const), v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
        fc.record({ kind: fc.constant('prefixDelta' as const), d: fc.integer({ min: -16, max: 16 }) }),
        fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 9 }) }),
      ),
      async (tensors, m) => {
        const valid = writeSafetensors(tensors);
        let bytes = valid.slice();
        const n = Number(new DataView(valid.buffer).getBigUint64(0, true));
        const dv = new DataView(bytes.buffer);
        switch (m.kind) {
          case 'flip':
            bytes[m.at % Math.min(bytes.length, 8 + n)] = m.byte; // inside prefix + header
            break;
          case 'truncate':
            bytes = bytes.slice(0, m.at % bytes.length);
            break;
          case 'prefix':
            dv.setBigUint64(0, m.v, true);
            break;
          case 'prefixDelta':
            dv.setBigUint64(0, BigInt(Math.max(0, n + m.d)), true);
            break;
          case 'append':
            bytes = new Uint8Array([...bytes, ...new Uint8Array(m.n)]);
            break;
        }
        await openOrReject(bytes);
      },
    ),
    { numRuns: 400 },
  );
});

// ---- one test per error class: the message names the file and the problem ----

const cases: [string, () => Uint8Array, (RegExp | string)[]][] = [
  ['a file shorter than the length prefix', () => new Uint8Array(5), [/expected at least 8 bytes/, /5-byte file/]],
  [
    'a header length above the cap',
    () => {
      const b = rawSafetensors('{}');
      new DataView(b.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
      return b;
    },
    [`says ${MAX_HEADER_BYTES + 1} bytes; expected at most ${MAX_HEADER_BYTES}`],
  ],
  [
    'a header length past the end of the file',
    () => {
      const b = rawSafetensors('{}');
      new DataView(b.buffer).setBigUint64(0, 100n, true);
      return b;
    },
    [/says 100 bytes, past the end of the file \(2 bytes after the prefix\)/],
  ],
  [
    'a header that is not UTF-8',
    () => {
      const b = rawSafetensors('{"a":1}');
      b[10] = 0xff;
      return b;
    },
    [/header: expected valid UTF-8/],
  ],
  ['a header that is not JSON', () => rawSafetensors('{"a": '), [/header: expected valid JSON, got a syntax error/]],
  ['a header that is not an object', () => rawSafetensors('[1, 2]'), [/header: expected JSON starting with '\{', got "\[1, 2\]"/]],
  ['a header with leading garbage', () => rawSafetensors(' {}'), [/expected JSON starting with '\{'/]],
  ['__metadata__ that is not an object', () => rawSafetensors('{"__metadata__": ["x"]}'), [/__metadata__: expected an object of strings, got \["x"\]/]],
  ['__metadata__ with a non-string value', () => rawSafetensors('{"__metadata__": {"format": 1}}'), [/__metadata__.format: expected a string, got 1/]],
  ['a tensor entry that is not an object', () => rawSafetensors('{"w": [1]}'), [/tensor "w": expected an object with dtype, shape and data_offsets, got \[1\]/]],
  ['a missing field', () => rawSafetensors('{"w": {"dtype": "F32", "shape": [1]}}', 4), [/tensor "w": expected a "data_offsets" field, got none/]],
  ['an unknown field', () => rawSafetensors(`{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "offset": 0}}`, 4), [/tensor "w": .*unknown field "offset"/]],
  ['a dtype that is not a string', () => rawSafetensors(`{"w": ${entry(4 as unknown as string, [1], 0, 4)}}`, 4), [/tensor "w": dtype: expected a string, got 4/]],
  ['an unknown dtype', () => rawSafetensors(`{"w": ${entry('F4', [2], 0, 1)}}`, 1), [/tensor "w": unknown dtype "F4"; expected one of F64, F32/]],
  ['a shape that is not an array', () => rawSafetensors('{"w": {"dtype": "F32", "shape": 3, "data_offsets": [0, 12]}}', 12), [/tensor "w": shape: expected an array/]],
  ['a negative dimension', () => rawSafetensors(`{"w": ${entry('F32', [-1], 0, 0)}}`), [/tensor "w": shape \[-1\]: expected non-negative integer dimensions, got -1/]],
  ['a fractional dimension', () => rawSafetensors(`{"w": ${entry('F32', [1.5], 0, 6)}}`, 6), [/shape \[1.5\]: expected non-negative integer dimensions, got 1.5/]],
  ['an unsafe dimension', () => rawSafetensors(`{"w": ${entry('U8', [2 ** 53], 0, 0)}}`), [/expected non-negative integer dimensions, got 9007199254740992/]],
  ['a shape with more than 2^53 elements', () => rawSafetensors(`{"w": ${entry('U8', [2 ** 30, 2 ** 30, 2 ** 30], 0, 0)}}`), [/has more than 2\^53 elements/]],
  ['data_offsets of the wrong form', () => rawSafetensors('{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}}', 1), [/data_offsets: expected \[begin, end\] as non-negative integers, got \[0,1,2\]/]],
  ['negative data_offsets', () => rawSafetensors(`{"w": ${entry('U8', [1], -1, 0)}}`, 1), [/data_offsets: expected \[begin, end\]/]],
  ['end before begin', () => rawSafetensors(`{"w": ${entry('U8', [0], 4, 2)}}`, 4), [/data_offsets \[4, 2\]: expected begin <= end/]],
  ['a byte length that does not match shape × dtype', () => rawSafetensors(`{"w": ${entry('F32', [2, 3], 0, 20)}}`, 20), [/tensor "w": F32\[2, 3\] needs 24 bytes, but data_offsets \[0, 20\] span 20/]],
  ['offsets past the data area (truncated file)', () => rawSafetensors(`{"w": ${entry('F32', [4], 0, 16)}}`, 10), [/data_offsets \[0, 16\] end past the data area \(10 bytes; is the file truncated\?\)/]],
  ['overlapping tensors', () => rawSafetensors(`{"a": ${entry('U8', [4], 0, 4)}, "b": ${entry('U8', [4], 2, 6)}}`, 6), [/tensor "b": data_offsets \[2, 6\] overlap tensor "a" \(which ends at 4\)/]],
  ['a gap between tensors', () => rawSafetensors(`{"a": ${entry('U8', [4], 0, 4)}, "b": ${entry('U8', [2], 6, 8)}}`, 8), [/tensor "b": data_offsets begin at 6, leaving a gap of 2 unused bytes after tensor "a" \(expected 4\)/]],
  ['a gap before the first tensor', () => rawSafetensors(`{"a": ${entry('U8', [4], 2, 6)}}`, 6), [/gap of 2 unused bytes after the header/]],
  ['trailing bytes after the last tensor', () => rawSafetensors(`{"a": ${entry('U8', [4], 0, 4)}}`, 7), [/tensors cover 4 bytes of data, but the file has 7 bytes after the header \(3 trailing bytes\)/]],
  ['a duplicate tensor name', () => rawSafetensors(`{"a": ${entry('U8', [4], 0, 4)}, "a": ${entry('U8', [4], 0, 4)}}`, 4), [/header: expected unique keys, got "a" twice at the top level/]],
  ['a duplicate field inside an entry', () => rawSafetensors('{"a": {"dtype": "F16", "dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}', 2), [/expected unique keys, got "dtype" twice in a/]],
  ['a duplicate key written with an escape', () => rawSafetensors(`{"a": ${entry('U8', [1], 0, 1)}, "\\u0061": ${entry('U8', [1], 0, 1)}}`, 1), [/got "a" twice/]],
];

for (const [what, build, patterns] of cases) {
  test(`safetensors: rejects ${what}`, async () => {
    await rejectsWith(() => open(build(), 'bad/file.safetensors'), ['bad/file.safetensors: ', ...patterns]);
  });
}

test('safetensors: accepts __metadata__ null, any key order, zero-size tensors sharing an offset, scalars', async () => {
  const header = `{"__metadata__": null, "z": ${entry('F32', [], 2, 6)}, "e1": ${entry('F16', [0, 3], 2, 2)}, "b": ${entry('BF16', [1], 0, 2)}, "e2": ${entry('F32', [0], 2, 2)}}`;
  const data = new Uint8Array(6);
  new DataView(data.buffer).setUint16(0, 0x3f80, true); // bf16 1.0
  new DataView(data.buffer).setFloat32(2, -2.5, true);
  const f = await open(rawSafetensors(header, data));
  assert.deepEqual([...f.tensors.keys()], ['b', 'e1', 'e2', 'z']);
  const z = new Float32Array(1);
  await f.readTensorF32('z', z);
  assert.equal(z[0], -2.5);
  const b = new Float32Array(1);
  await f.readTensorF32('b', b);
  assert.equal(b[0], 1);
  await f.readTensorF32('e1', new Float32Array(0));
});

test('safetensors: NaN and Inf weights are refused on read, unless allowNonFinite', async () => {
  const bytes = writeSafetensors([
    { name: 'nan', dtype: 'F32', shape: [3], data: new Float32Array([1, NaN, 2]) },
    { name: 'inf', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xfc00]) },
    { name: 'binf', dtype: 'BF16', shape: [1], data: new Uint16Array([0x7f80]) },
  ]);
  const f = await open(bytes);
  await rejectsWith(() => f.readTensorF32('nan', new Float32Array(3)), [`${F}: tensor nan: element 1 is NaN; expected finite weights`]);
  await rejectsWith(() => f.readTensorF32('inf', new Float32Array(2)), [`${F}: tensor inf: element 1 is -Infinity`]);
  await rejectsWith(() => f.readTensorF32('binf', new Float32Array(1)), [/element 0 is Infinity/]);
  const d = new Float32Array(2);
  await f.readTensorF32('inf', d, { allowNonFinite: true });
  assert.deepEqual([...d], [1, -Infinity]);
});

test('safetensors: wrong destinations, unknown names and undecodable dtypes are typed errors', async () => {
  const f = await open(rawSafetensors(`{"i": ${entry('I32', [2], 0, 8)}, "w": ${entry('F32', [2], 8, 16)}}`, 16));
  await rejectsWith(() => f.readTensorF32('w', new Float32Array(3)), [/tensor w F32\[2\]: expected a Float32Array of 2 elements, got Float32Array\(3\)/], ShapeError);
  await rejectsWith(() => f.readTensorBytes('w', new Uint8Array(7)), [/expected a Uint8Array of 8 bytes, got Uint8Array\(7\)/], ShapeError);
  await rejectsWith(() => f.readTensorF32('nope', new Float32Array(2)), [`${F}: no tensor named "nope"`]);
  await rejectsWith(() => f.readTensorF32('i', new Float32Array(2)), [`${F}: tensor i is I32; expected F32, F16, BF16 or a GGML quantised type`]);
  assert.deepEqual(await f.readTensorRaw('i'), new Uint8Array(8));
});

/** A source that records every read (to check chunking) and forbids whole-file reads. */
function recordingSource(bytes: Uint8Array, withReadInto: boolean): ByteSource & { reads: number[]; intoReads: number[] } {
  const inner = bytesSource('rec.safetensors', bytes);
  const reads: number[] = [];
  const intoReads: number[] = [];
  return {
    name: inner.name,
    size: inner.size,
    reads,
    intoReads,
    read: (o, n) => {
      reads.push(n);
      return inner.read(o, n);
    },
    ...(withReadInto
      ? {
          readInto: (o: number, d: Uint8Array) => {
            intoReads.push(d.length);
            return inner.readInto!(o, d);
          },
        }
      : {}),
  };
}

test('safetensors: tensors are decoded in bounded chunks, F32 straight into the destination view', async () => {
  const n = (CHUNK_BYTES / 2) * 2 + 123; // F16: two full chunks and a tail
  const half = new Uint16Array(n);
  for (let i = 0; i < n; i++) half[i] = (i * 7919) & 0x7bff; // finite f16 patterns
  const f32 = new Float32Array(1000).map((_, i) => i - 500);
  const bytes = writeSafetensors([
    { name: 'h', dtype: 'F16', shape: [n], data: half },
    { name: 'f', dtype: 'F32', shape: [10, 100], data: f32 },
  ]);
  const src = recordingSource(bytes, true);
  const file = await SafetensorsFile.open(src);
  src.reads.length = 0;
  const dest = new Float32Array(n);
  await file.readTensorF32('h', dest);
  assert.deepEqual(src.reads, [CHUNK_BYTES, CHUNK_BYTES, 246]);
  assert.deepEqual(new Uint32Array(dest.buffer), expectedBits({ name: 'h', dtype: 'F16', shape: [n], data: half }));

  // F32 into a view inside a larger buffer (like wasm memory), via readInto: one read, no copies.
  const memory = new Float32Array(5000);
  const view = memory.subarray(1234, 2234);
  src.reads.length = 0;
  await file.readTensorF32('f', view);
  assert.deepEqual(src.reads, []);
  assert.deepEqual(src.intoReads, [4000]);
  assert.deepEqual(view, f32);
  assert.equal(memory[1233], 0);
  assert.equal(memory[2234], 0);

  // Without readInto, F32 goes through read().
  const plain = recordingSource(bytes, false);
  const file2 = await SafetensorsFile.open(plain);
  const out = new Float32Array(1000);
  await file2.readTensorF32('f', out);
  assert.deepEqual(out, f32);
});

test('safetensors: the file must not be opened from a source that shrinks (short reads are typed)', async () => {
  const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
  const liar: ByteSource = { name: 'liar', size: bytes.length + 100, read: bytesSource('liar', bytes).read };
  await rejectsWith(() => SafetensorsFile.open(liar), [/liar: tensors cover 16 bytes of data, but the file has 116/]);
  const w = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
  const shrunk: ByteSource = {
    name: 'shrunk',
    size: w.length,
    read: async (o, n) => (o === 0 || o === 8 ? w.subarray(o, o + n) : bytesSource('shrunk', w.subarray(0, w.length - 4)).read(o, n)),
  };
  const f = await SafetensorsFile.open(shrunk);
  await rejectsWith(() => f.readTensorF32('w', new Float32Array(4)), [/shrunk: read of 16 bytes at offset \d+ ends at \d+, past the end of the file/]);
});
