/**
 * Fuzz target "safetensors": a mutated model.safetensors (stories260K in F32, F16 and BF16) beside
 * the shipped config.json and tokenizer.json, loaded with loadHfModel in a random weight dtype and
 * generated from. Mutations: the 8-byte header length lies; the JSON header mutated as JSON (dtypes,
 * shapes, data_offsets, duplicate keys, unknown fields, depth and size bombs) and re-framed, or
 * damaged as bytes (bit flips, truncation, invalid UTF-8); the data area given NaN, infinite and
 * huge-but-finite weights, flipped bits, or cut short. One case in five uses the model split in two
 * shards instead, and mutates the index (model.safetensors.index.json, as JSON) or one shard.
 */
import { loadHfModel } from '../../../src/engine/load.js';
import { memoryModelSource } from '../../../src/io/source.js';
import { createRng } from '../../../src/rng.js';
import type { WeightDtype } from '../../../src/model/llama.js';
import {
  append, damageJsonText, deleteBytes, Draw, flipBits, insertBytes, lieAbout, mutateJson, mutateJsonFile, readUint, setBytes, setFloats, splice, truncate, writeUint,
} from '../mutate.js';
import { runModelCase } from '../model-case.js';
import { modelTexts, safetensorsAs, safetensorsF32, safetensorsSharded, type ModelTexts } from '../seeds.js';
import type { CaseReport, FuzzTarget } from '../types.js';

const DIR = 'fuzz-model';

interface Seed {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly headerText: string;
  readonly dataStart: number;
}

let seeds: Seed[] = [];
let texts: ModelTexts;
let sharded: { index: string; shards: [string, Seed][] };

function seedOf(label: string, bytes: Uint8Array): Seed {
  const n = Number(readUint(bytes, 0, 8));
  return { label, bytes, headerText: new TextDecoder().decode(bytes.subarray(8, 8 + n)), dataStart: 8 + n };
}

/** A file from a header text and the seed's data area (exact length prefix). */
function frame(header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  writeUint(out, 0, 8, BigInt(header.length));
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

function mutate(d: Draw, s: Seed): [Uint8Array, string] {
  const data = s.bytes.subarray(s.dataStart);
  const op = d.weighted<string>([[6, 'json'], [2, 'json-text'], [2, 'prefix'], [3, 'header-bytes'], [4, 'weights'], [2, 'cut'], [1, 'append']]);
  switch (op) {
    case 'json': {
      const [text, label] = mutateJson(d, s.headerText);
      return [frame(new TextEncoder().encode(text), data), `header ${label}`];
    }
    case 'json-text': {
      const [header, label] = damageJsonText(d, s.headerText);
      return [frame(header, data), `header text ${label}`];
    }
    case 'prefix': {
      const b = s.bytes.slice();
      const v = lieAbout(d, readUint(b, 0, 8), b.length, 8);
      writeUint(b, 0, 8, v);
      return [b, `header length := ${v}`];
    }
    case 'header-bytes': {
      let b: Uint8Array = s.bytes.slice();
      const region = { start: 0, end: s.dataStart };
      const how = d.pick(['flip', 'set', 'insert', 'delete', 'splice']);
      let label: string;
      if (how === 'flip') label = flipBits(d, b, region);
      else if (how === 'set') label = setBytes(d, b, region);
      else if (how === 'splice') label = splice(d, b, region);
      else [b, label] = how === 'insert' ? insertBytes(d, b, region) : deleteBytes(d, b, region);
      return [b, label];
    }
    case 'weights': {
      const b = s.bytes.slice();
      const region = { start: s.dataStart, end: b.length };
      return [b, d.chance(0.7) ? setFloats(d, b, region) : flipBits(d, b, region)];
    }
    case 'cut':
      return truncate(d, s.bytes.slice(), { start: s.dataStart, end: s.bytes.length });
    default:
      return append(d, s.bytes.slice());
  }
}

export const target: FuzzTarget = {
  name: 'safetensors',
  description: 'model.safetensors (F32, F16, BF16): length prefix, JSON header, data area',
  async setup() {
    texts = modelTexts();
    seeds = [seedOf('F32', safetensorsF32()), seedOf('F16', await safetensorsAs('F16')), seedOf('BF16', await safetensorsAs('BF16'))];
    const sh = await safetensorsSharded();
    sharded = { index: sh.index, shards: sh.shards.map(([name, bytes]) => [name, seedOf(name, bytes)]) };
  },
  async runCase(seed: number, index: number): Promise<CaseReport> {
    const d = new Draw(createRng(seed).fork(index));
    const dtype = d.weighted<WeightDtype>([[5, 'f32'], [2, 'bf16'], [1, 'int8'], [1, 'int4']]);
    const files: Record<string, string | Uint8Array> = {
      'config.json': texts.config,
      'tokenizer.json': texts.tokenizer,
      'tokenizer_config.json': texts.tokenizerConfig,
    };
    let label: string;
    if (d.chance(0.2)) {
      files['model.safetensors.index.json'] = sharded.index;
      for (const [name, shard] of sharded.shards) files[name] = shard.bytes;
      if (d.chance(0.5)) {
        const [text, l] = mutateJsonFile(d, sharded.index);
        files['model.safetensors.index.json'] = text;
        label = `index: ${l}`;
      } else {
        const [name, shard] = d.pick(sharded.shards);
        const [bytes, l] = mutate(d, shard);
        files[name] = bytes;
        label = `${name}: ${l}`;
      }
    } else {
      const s = d.pick(seeds);
      const [bytes, l] = mutate(d, s);
      files['model.safetensors'] = bytes;
      label = `${s.label} seed: ${l}`;
    }
    const mutation = `${label}; dtype ${dtype}`;
    const source = memoryModelSource(DIR, files);
    return runModelCase(mutation, [DIR], (rt) => loadHfModel(rt, source, { dtype, maxBatch: 8 }));
  },
};
