/**
 * Fuzz target "gguf": mutated llama GGUF files (stories260K in F32, F16, BF16 and Q8_0), loaded with
 * loadGgufModel (header, metadata → config, tensor roles, embedded tokenizer, weights) in a random
 * weight dtype, then generated from. Besides blind byte damage, mutations aim at the header's
 * fields, found by walking it the way the reader does: counts and string lengths that lie, value
 * and tensor types out of range, metadata values at their edges (block_count 2^20, NaN epsilon,
 * token ids past the vocabulary, …), tensor dims and offsets; and at the weights (NaN, 3e38,
 * non-finite Q8_0 scales).
 */
import { loadGgufModel } from '../../../src/engine/load.js';
import { bytesSource } from '../../../src/io/source.js';
import { createRng } from '../../../src/rng.js';
import type { WeightDtype } from '../../../src/model/llama.js';
import { GGUF_VALUE_MIN_BYTES, GGUF_VALUE_TYPES, type GgufValueType } from '../../../src/weights/gguf.js';
import {
  append, deleteBytes, Draw, flipBits, INTERESTING_F32, insertBytes, lieAbout, readUint, setBytes, setFloats, splice, truncate, writeUint,
} from '../mutate.js';
import { runModelCase } from '../model-case.js';
import { ggufAs, ggufF32 } from '../seeds.js';
import type { CaseReport, FuzzTarget } from '../types.js';

const NAME = 'fuzz-model.gguf';

/** One field of a GGUF header: where it is and what it means. */
interface Field {
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
  readonly kind: 'count' | 'length' | 'type' | 'int' | 'float' | 'magic';
  readonly label: string;
}

/** The fields of a well-formed GGUF header (the seeds), and where its data area starts. */
function mapFields(b: Uint8Array): { fields: Field[]; dataStart: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: Field[] = [];
  let p = 0;
  const field = (size: Field['size'], kind: Field['kind'], label: string) => {
    fields.push({ offset: p, size, kind, label });
    p += size;
  };
  const str = (label: string, record: boolean): string => {
    const n = Number(dv.getBigUint64(p, true));
    if (record) field(8, 'length', `${label} length`);
    else p += 8;
    const s = new TextDecoder().decode(b.subarray(p, p + n));
    p += n;
    return s;
  };
  const value = (type: GgufValueType, label: string, record: boolean): void => {
    if (type === 'STRING') {
      str(label, record);
    } else if (type === 'ARRAY') {
      const itemType = GGUF_VALUE_TYPES[dv.getUint32(p, true)]!;
      field(4, 'type', `${label} item type`);
      const n = Number(dv.getBigUint64(p, true));
      field(8, 'count', `${label} length`);
      for (let i = 0; i < n; i++) value(itemType, `${label}[${i}]`, i < 2 || i === n - 1);
    } else {
      const size = GGUF_VALUE_MIN_BYTES[type] as Field['size'];
      const kind = type === 'FLOAT32' || type === 'FLOAT64' ? 'float' : 'int';
      if (record) field(size, kind, label);
      else p += size;
    }
  };
  field(4, 'magic', 'magic');
  field(4, 'int', 'version');
  const tensorCount = Number(dv.getBigUint64(p, true));
  field(8, 'count', 'tensor count');
  const kvCount = Number(dv.getBigUint64(p, true));
  field(8, 'count', 'metadata count');
  for (let i = 0; i < kvCount; i++) {
    const key = str(`key ${i}`, true);
    const type = GGUF_VALUE_TYPES[dv.getUint32(p, true)]!;
    field(4, 'type', `${key} type`);
    value(type, key, true);
  }
  for (let i = 0; i < tensorCount; i++) {
    const name = str(`tensor ${i} name`, true);
    const nDims = dv.getUint32(p, true);
    field(4, 'count', `${name} n_dims`);
    for (let j = 0; j < nDims; j++) field(8, 'int', `${name} dim ${j}`);
    field(4, 'type', `${name} ggml type`);
    field(8, 'int', `${name} offset`);
  }
  return { fields, dataStart: Math.ceil(p / 32) * 32 };
}

interface Seed {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly fields: Field[];
  readonly dataStart: number;
}

let seeds: Seed[] = [];

/** Damage aimed at one header field. */
function mutateField(d: Draw, b: Uint8Array, s: Seed): string {
  const kind = d.weighted<Field['kind']>([[4, 'count'], [4, 'length'], [3, 'type'], [4, 'int'], [2, 'float'], [1, 'magic']]);
  // fields still inside the file (an earlier step may have cut it)
  const inside = s.fields.filter((f) => f.offset + f.size <= b.length);
  const pool = inside.filter((f) => f.kind === kind);
  if (inside.length === 0) return 'field (none left)';
  const f = d.pick(pool.length > 0 ? pool : inside);
  if (f.kind === 'float') {
    const v = d.pick(INTERESTING_F32);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (f.size === 4) dv.setFloat32(f.offset, v, true);
    else dv.setFloat64(f.offset, v, true);
    return `${f.label} := ${v}`;
  }
  if (f.kind === 'type') {
    const v = BigInt(d.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 24, 28, 29, 30, 31, 39, 40, 255, 0xffffffff]));
    writeUint(b, f.offset, f.size, v);
    return `${f.label} := ${v}`;
  }
  const v = lieAbout(d, readUint(b, f.offset, f.size), b.length, f.size);
  writeUint(b, f.offset, f.size, v);
  return `${f.label} := ${v}`;
}

/** Q8_0 scales (the first two bytes of a 34-byte block) set to f16 Inf, NaN, max or 0. */
function mutateQ8Scales(d: Draw, b: Uint8Array, s: Seed): string {
  const blocks = Math.floor((b.length - s.dataStart) / 34);
  const bits = d.pick([0x7c00, 0xfc00, 0x7e00, 0x7bff, 0xfbff, 0x0000, 0x0001]);
  const n = d.pick([1, 4]);
  for (let i = 0; i < n; i++) writeUint(b, s.dataStart + 34 * d.int(Math.max(1, blocks)), 2, BigInt(bits));
  return `${n} Q8_0-aligned scale(s) := 0x${bits.toString(16)}`;
}

function mutate(d: Draw, s: Seed): [Uint8Array, string] {
  let b: Uint8Array = s.bytes.slice();
  const header = { start: 0, end: s.dataStart };
  const data = { start: s.dataStart, end: b.length };
  const labels: string[] = [];
  const steps = d.pick([1, 1, 1, 2, 3]);
  for (let i = 0; i < steps; i++) {
    const op = d.weighted<string>([[6, 'field'], [3, 'flip-header'], [2, 'set-header'], [2, 'truncate'], [1, 'insert'], [1, 'delete'], [1, 'splice'], [1, 'append'], [3, 'floats'], [1, 'flip-data'], [1, 'q8-scales']]);
    switch (op) {
      case 'field':
        labels.push(mutateField(d, b, s));
        break;
      case 'flip-header':
        labels.push(flipBits(d, b, header));
        break;
      case 'set-header':
        labels.push(setBytes(d, b, header));
        break;
      case 'truncate': {
        const [out, l] = truncate(d, b, header);
        b = out;
        labels.push(l);
        break;
      }
      case 'insert': {
        const [out, l] = insertBytes(d, b, header);
        b = out;
        labels.push(l);
        break;
      }
      case 'delete': {
        const [out, l] = deleteBytes(d, b, header);
        b = out;
        labels.push(l);
        break;
      }
      case 'splice':
        labels.push(splice(d, b, header));
        break;
      case 'append': {
        const [out, l] = append(d, b);
        b = out;
        labels.push(l);
        break;
      }
      case 'floats':
        labels.push(setFloats(d, b, data));
        break;
      case 'flip-data':
        labels.push(flipBits(d, b, data));
        break;
      default:
        labels.push(mutateQ8Scales(d, b, s));
    }
  }
  return [b, labels.join('; ')];
}

export const target: FuzzTarget = {
  name: 'gguf',
  description: 'llama GGUF files (F32, F16, BF16, Q8_0): header fields, metadata, tensor infos, weights',
  async setup() {
    const files: [string, Uint8Array][] = [['F32', ggufF32()], ['F16', await ggufAs('F16')], ['BF16', await ggufAs('BF16')], ['Q8_0', await ggufAs('Q8_0')]];
    seeds = files.map(([label, bytes]) => ({ label, bytes, ...mapFields(bytes) }));
  },
  async runCase(seed: number, index: number): Promise<CaseReport> {
    const d = new Draw(createRng(seed).fork(index));
    const s = d.pick(seeds);
    const dtype = d.weighted<WeightDtype>([[5, 'f32'], [1, 'bf16'], [2, 'int8'], [1, 'int4']]);
    const [bytes, label] = mutate(d, s);
    const mutation = `${s.label} seed: ${label}; dtype ${dtype}`;
    return runModelCase(mutation, [NAME], (rt) => loadGgufModel(rt, bytesSource(NAME, bytes), { dtype, maxBatch: 8 }));
  },
};
