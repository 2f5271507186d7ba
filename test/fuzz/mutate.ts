/**
 * The fuzz suite's seeded mutators: everything a case does to a file is drawn from one `Rng`, so
 * (seed, case index) reproduces a case exactly. Byte mutations for the binary formats (bit flips,
 * interesting values, integer fields that lie, truncation, insertion, deletion, splices) and JSON
 * mutations for the text formats (type swaps, deletions, duplicate keys, depth and size bombs,
 * text-level damage including invalid UTF-8). Each mutator returns a short label of what it did,
 * so a finding can be read without replaying it.
 */
import type { Rng } from '../../src/rng.js';

/** Small helpers over an Rng. */
export class Draw {
  constructor(readonly rng: Rng) {}

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rng.next() * n);
  }

  /** Integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** One of `choices` with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let u = this.rng.next() * total;
    for (const [w, v] of choices) {
      if (u < w) return v;
      u -= w;
    }
    return choices[choices.length - 1]![1];
  }
}

// ---------- bytes ----------

/** Unsigned values that break length and count fields: edges of every integer width, and huge. */
export const INTERESTING_U64: readonly bigint[] = [
  0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 31n, 32n, 63n, 64n, 127n, 128n, 255n, 256n, 1023n, 4096n, 65535n, 65536n,
  (1n << 24n) - 1n, 1n << 24n, (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) - 1n, 1n << 53n,
  (1n << 53n) + 1n, (1n << 62n), (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n,
];

/** f32 values for weights and float fields: non-finite, huge-but-finite, tiny, signed zeros. */
export const INTERESTING_F32: readonly number[] = [
  NaN, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 3e38, 1e38, 1e30, 1e20, 65504, 65536, 1e5, -1e5,
  1.4e-45, 1e-38, 0, -0, 1, -1, 0.5,
];

/** Write `value` (wrapped to `size` bytes) little-endian at `offset`. */
export function writeUint(bytes: Uint8Array, offset: number, size: 1 | 2 | 4 | 8, value: bigint): void {
  let v = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size && offset + i < bytes.length; i++) {
    bytes[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Read `size` bytes little-endian at `offset` (missing bytes are 0). */
export function readUint(bytes: Uint8Array, offset: number, size: 1 | 2 | 4 | 8): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i] ?? 0);
  return v;
}

/** A value for an integer field currently holding `current`: an edge, a nearby lie, or random bits. */
export function lieAbout(d: Draw, current: bigint, fileSize: number, size: 1 | 2 | 4 | 8): bigint {
  return d.weighted<() => bigint>([
    [5, () => d.pick(INTERESTING_U64)],
    [3, () => current + BigInt(d.between(-3, 3))],
    [2, () => current * BigInt(d.pick([2, 3, 1000, 65536]))],
    [2, () => BigInt(fileSize + d.between(-16, 16))],
    [1, () => BigInt(d.int(2 ** 31)) * BigInt(d.int(2 ** 31)) + BigInt(d.int(2 ** 31))],
  ])() & ((1n << BigInt(size * 8)) - 1n);
}

/** A region [start, end) of a file to concentrate damage on (e.g. its header). */
export interface Region {
  readonly start: number;
  readonly end: number;
}

/** Flip 1–8 random bits inside `region`. */
export function flipBits(d: Draw, bytes: Uint8Array, region: Region): string {
  const n = d.pick([1, 1, 1, 2, 3, 8]);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const pos = region.start + d.int(Math.max(1, region.end - region.start));
    if (pos >= bytes.length) continue;
    bytes[pos] ^= 1 << d.int(8);
    at.push(pos);
  }
  return `flip ${at.length} bit(s) at ${at.slice(0, 3).join(',')}`;
}

/** Set 1–4 random bytes inside `region` to interesting values. */
export function setBytes(d: Draw, bytes: Uint8Array, region: Region): string {
  const n = d.between(1, 4);
  let first = -1;
  for (let i = 0; i < n; i++) {
    const pos = region.start + d.int(Math.max(1, region.end - region.start));
    if (pos >= bytes.length) continue;
    bytes[pos] = d.pick([0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x22, 0x5c, 0x7b, 0x5b, 0xc0, 0xed, 0xf8]);
    if (first < 0) first = pos;
  }
  return `set ${n} byte(s) from ${first}`;
}

/** The file cut at a random length (biased into `region`). */
export function truncate(d: Draw, bytes: Uint8Array, region: Region): [Uint8Array, string] {
  const len = d.chance(0.7) ? region.start + d.int(Math.max(1, region.end - region.start)) : d.int(bytes.length);
  return [bytes.slice(0, len), `truncate to ${len}`];
}

/** 1–64 bytes (random, or a run of one value) inserted at a random place in `region`. */
export function insertBytes(d: Draw, bytes: Uint8Array, region: Region): [Uint8Array, string] {
  const at = Math.min(bytes.length, region.start + d.int(Math.max(1, region.end - region.start)));
  const n = d.between(1, 64);
  const fill = d.chance(0.5) ? -1 : d.pick([0, 0xff, 0x41, 0x7b]);
  const ins = new Uint8Array(n).map(() => (fill < 0 ? d.int(256) : fill));
  const out = new Uint8Array(bytes.length + n);
  out.set(bytes.subarray(0, at));
  out.set(ins, at);
  out.set(bytes.subarray(at), at + n);
  return [out, `insert ${n} byte(s) at ${at}`];
}

/** 1–64 bytes removed at a random place in `region`. */
export function deleteBytes(d: Draw, bytes: Uint8Array, region: Region): [Uint8Array, string] {
  const at = Math.min(bytes.length, region.start + d.int(Math.max(1, region.end - region.start)));
  const n = Math.min(d.between(1, 64), bytes.length - at);
  const out = new Uint8Array(bytes.length - n);
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(at + n), at);
  return [out, `delete ${n} byte(s) at ${at}`];
}

/** A chunk of the file copied over another place (both in `region`). */
export function splice(d: Draw, bytes: Uint8Array, region: Region): string {
  const span = Math.max(1, region.end - region.start);
  const len = d.between(1, Math.min(256, span));
  const from = region.start + d.int(span);
  const to = region.start + d.int(span);
  bytes.copyWithin(to, from, Math.min(bytes.length, from + len));
  return `splice ${len} byte(s) ${from}→${to}`;
}

/** Trailing bytes appended. */
export function append(d: Draw, bytes: Uint8Array): [Uint8Array, string] {
  const n = d.pick([1, 3, 31, 32, 64, 4096]);
  const out = new Uint8Array(bytes.length + n);
  out.set(bytes);
  for (let i = bytes.length; i < out.length; i++) out[i] = d.int(256);
  return [out, `append ${n} byte(s)`];
}

/** 1–16 f32 values at 4-byte-aligned offsets of `region` set to interesting floats (NaN, 3e38, …). */
export function setFloats(d: Draw, bytes: Uint8Array, region: Region): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = d.pick([1, 1, 2, 16]);
  const value = d.pick(INTERESTING_F32);
  const first = region.start + 4 * d.int(Math.max(1, Math.floor((region.end - region.start) / 4)));
  for (let i = 0; i < n; i++) {
    const pos = first + 4 * i * d.between(1, 64);
    if (pos + 4 <= bytes.length) dv.setFloat32(pos, value, true);
  }
  return `set ${n} f32 to ${value} from ${first}`;
}

// ---------- JSON ----------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A container and a key in it (or the root). */
interface Slot {
  readonly parent: Json[] | { [key: string]: Json } | null;
  readonly key: string | number;
}

/**
 * Walk from the root to a random node: at each container stop with probability 0.3 (so top-level
 * structure is hit as often as any single vocabulary entry), else descend into a random child.
 */
function randomSlot(d: Draw, root: Json): { slot: Slot; path: string } {
  let slot: Slot = { parent: null, key: '' };
  let node: Json = root;
  let path = '$';
  for (;;) {
    if (node === null || typeof node !== 'object') break;
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0 || d.chance(0.3)) break;
    const key = d.pick(keys);
    slot = { parent: node, key };
    path += typeof key === 'number' ? `[${key}]` : `.${key.length > 24 ? key.slice(0, 24) + '…' : key}`;
    node = (node as Record<string | number, Json>)[key]!;
  }
  return { slot, path };
}

/** Nested arrays or objects `depth` deep around `inner`, as text (never built as a value: no recursion). */
export function deepText(depth: number, objects: boolean, inner = '1'): string {
  return objects ? '{"a":'.repeat(depth) + inner + '}'.repeat(depth) : '['.repeat(depth) + inner + ']'.repeat(depth);
}

/** A replacement value of another type or an edge of this one. */
function otherValue(d: Draw, old: Json): Json {
  return d.weighted<() => Json>([
    [3, () => d.pick<Json>([null, true, false, 0, -1, 1, 2, 0.5, -0.0, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 20, 2 ** 24, 1e-320])],
    [2, () => d.pick<Json>(['', 'x', 'llama', 'F32', 'BF16', 'Q8_0', 'silu', 'BPE', 'LlamaForCausalLM', '\u0000', '\ud800', '../../etc/passwd', 'a\nb', '▁'])],
    [1, () => d.pick<Json>([[], {}, [1, 2], { a: 1 }, [[]], ['a', 'b']])],
    [2, () => (typeof old === 'number' ? d.pick([old + 1, old - 1, old * 2, -old, old * 1000, old / 2, Math.floor(old / 3)]) : typeof old === 'string' ? old + d.pick(['x', '\u2581', ' ', '0']) : typeof old === 'boolean' ? !old : null)],
  ])();
}

/** Placeholder value swapped for a bomb after JSON.stringify (bombs are built as text, never as values). */
const BOMB_VALUE = '\u0000fuzz-bomb\u0000';
const BOMB = JSON.stringify(BOMB_VALUE);

/**
 * Mutate a parsed JSON document in place or by text, returning the new text and a label:
 * change / delete / insert values, duplicate keys, depth bombs (up to 100,000 levels), size bombs
 * (megabyte strings, arrays of a million items, objects of 100,000 keys).
 */
export function mutateJson(d: Draw, text: string): [string, string] {
  const root = JSON.parse(text) as Json;
  const { slot, path } = randomSlot(d, root);
  const get = (): Json => (slot.parent === null ? root : (slot.parent as Record<string | number, Json>)[slot.key]!);
  const set = (v: Json): Json => {
    if (slot.parent === null) return v;
    (slot.parent as Record<string | number, Json>)[slot.key] = v;
    return root;
  };
  const kind = d.weighted<string>([
    [10, 'change'],
    [3, 'delete'],
    [3, 'insert'],
    [2, 'duplicate'],
    [2, 'depth'],
    [2, 'size'],
    [1, 'swap'],
  ]);
  switch (kind) {
    case 'change': {
      const v = otherValue(d, get());
      return [JSON.stringify(set(v)), `${path} := ${JSON.stringify(v)?.slice(0, 40)}`];
    }
    case 'delete': {
      if (slot.parent === null) return ['', 'empty document'];
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      return [JSON.stringify(root), `delete ${path}`];
    }
    case 'insert': {
      const node = get();
      const v = otherValue(d, null);
      if (Array.isArray(node)) node.splice(d.int(node.length + 1), 0, v);
      else if (node !== null && typeof node === 'object') node[d.pick(['extra', 'dtype', '__proto__', 'model_type', 'type', '', 'vocab'])] = v;
      else return [JSON.stringify(set([node, v])), `${path} := [old, new]`];
      return [JSON.stringify(root), `insert into ${path}`];
    }
    case 'duplicate': {
      // the same key twice in an object (JSON.parse would keep the last): text-level
      const node = get();
      if (node === null || typeof node !== 'object' || Array.isArray(node) || Object.keys(node).length === 0) {
        return [JSON.stringify(root).replace(/^\{/, '{"model_type":"llama",').replace(/"model_type"/, '"model_type":"x","model_type"'), 'duplicate top-level model_type'];
      }
      const key = d.pick(Object.keys(node));
      const marker = '\u0000dup\u0000';
      node[marker] = null;
      const out = JSON.stringify(root).replace(`${JSON.stringify(marker)}:null`, () => `${JSON.stringify(key)}:${JSON.stringify(otherValue(d, node[key]!))}`);
      return [out, `duplicate key ${path}.${key.slice(0, 24)}`];
    }
    case 'depth': {
      const depth = d.pick([64, 127, 128, 129, 130, 1000, 5000, 100_000]);
      const objects = d.chance(0.5);
      const out = JSON.stringify(set(BOMB_VALUE)).replace(BOMB, () => deepText(depth, objects));
      return [out, `${path} := ${objects ? 'objects' : 'arrays'} ${depth} deep`];
    }
    case 'size': {
      const bomb = d.pick(['string', 'array', 'object', 'numbers']);
      const n = d.pick([1000, 100_000, 1_000_000]);
      const inner =
        bomb === 'string'
          ? JSON.stringify('A'.repeat(n * 16))
          : bomb === 'array'
            ? `[${'0,'.repeat(n - 1)}0]`
            : bomb === 'numbers'
              ? `[${Array.from({ length: Math.min(n, 100_000) }, (_, i) => i * 7919).join(',')}]`
              : `{${Array.from({ length: Math.min(n, 100_000) }, (_, i) => `"k${i}":${i}`).join(',')}}`;
      const out = JSON.stringify(set(BOMB_VALUE)).replace(BOMB, () => inner);
      return [out, `${path} := ${bomb} bomb of ${n}`];
    }
    default: {
      // swap two sibling values
      const node = get();
      if (node === null || typeof node !== 'object') return [JSON.stringify(root), 'swap (nothing to swap)'];
      const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (keys.length < 2) return [JSON.stringify(root), 'swap (one child)'];
      const a = d.pick(keys);
      const b = d.pick(keys);
      const rec = node as Record<string | number, Json>;
      [rec[a], rec[b]] = [rec[b]!, rec[a]!];
      return [JSON.stringify(root), `swap ${path}[${String(a).slice(0, 12)}] and [${String(b).slice(0, 12)}]`];
    }
  }
}

/** Damage to the text or bytes of a JSON file: invalid syntax, invalid UTF-8, truncation, a BOM. */
export function damageJsonText(d: Draw, text: string): [Uint8Array, string] {
  const bytes = new TextEncoder().encode(text);
  const region = { start: 0, end: bytes.length };
  return d.weighted<() => [Uint8Array, string]>([
    [3, () => [bytes, flipBits(d, bytes, region)]],
    [2, () => [bytes, setBytes(d, bytes, region)]],
    [2, () => truncate(d, bytes, region)],
    [1, () => insertBytes(d, bytes, region)],
    [1, () => deleteBytes(d, bytes, region)],
    [1, () => {
      const bad = d.pick([[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]);
      const at = d.int(bytes.length + 1);
      const out = new Uint8Array(bytes.length + bad.length);
      out.set(bytes.subarray(0, at));
      out.set(bad, at);
      out.set(bytes.subarray(at), at + bad.length);
      return [out, `invalid UTF-8 ${bad.map((b) => b.toString(16)).join(' ')} at ${at}`];
    }],
    [1, () => {
      const pre = new TextEncoder().encode(d.pick(['\ufeff', '// comment\n', ' ', 'null', '{}']));
      const out = new Uint8Array(pre.length + bytes.length);
      out.set(pre);
      out.set(bytes, pre.length);
      return [out, 'prefix (BOM, comment, junk)'];
    }],
    [1, () => append(d, bytes)],
  ])();
}

/** A mutated JSON file: JSON-aware 4 times in 5 (text), text or byte damage otherwise (bytes). */
export function mutateJsonFile(d: Draw, text: string): [string | Uint8Array, string] {
  if (d.chance(0.8)) return mutateJson(d, text);
  return damageJsonText(d, text);
}
