/**
 * Strict JSON for untrusted files (safetensors headers, index files, config.json, tokenizer.json).
 * JSON.parse silently keeps the last of two equal keys; a file that says `"dtype": "F16", "dtype":
 * "F32"` means two things at once, so duplicates anywhere in the document are reported. Nesting is
 * bounded (MAX_JSON_DEPTH) before anything walks a document, so no consumer, ours or a library's,
 * can overflow the stack on a 10 KB file of brackets; and nothing here recurses.
 */
import { oneLine } from '../errors.js';

/**
 * Deepest nesting accepted in untrusted JSON: serde_json's default recursion limit, so the Rust
 * readers of the same formats (safetensors, tokenizers) refuse exactly what we refuse. Real files
 * nest at most 5 or 6 levels.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Why JSON `text` nests too deeply for MAX_JSON_DEPTH (or `maxDepth`), or null when it does not.
 * Linear scan, strings skipped; it does not validate the text otherwise. Call it before JSON.parse
 * or before handing the text to a library (tokenizer.json goes to @huggingface/tokenizers).
 */
export function jsonDepthProblem(text: string, maxDepth = MAX_JSON_DEPTH): string | null {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return `expected JSON nested at most ${maxDepth} levels deep, got deeper nesting at character ${i}`;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x22 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    }
  }
  return null;
}

/**
 * Why an already parsed JSON-like value nests deeper than `maxDepth` (a circular value counts as
 * infinitely deep), or null. Iterative; each object is walked again only when reached deeper than
 * before, so shared substructures cost at most maxDepth visits each.
 */
export function jsonValueDepthProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | null {
  const seenAt = new Map<object, number>();
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return `expected a value nested at most ${maxDepth} levels deep, got deeper nesting (or a circular value)`;
    const before = seenAt.get(v);
    if (before !== undefined && before <= depth) continue;
    seenAt.set(v, depth);
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
    } else {
      for (const k in v) if (Object.hasOwn(v, k)) stack.push([(v as Record<string, unknown>)[k], depth + 1]);
    }
  }
  return null;
}

/** Where a duplicate key was found: the key (decoded) and the path of the object holding it. */
export interface DuplicateKey {
  readonly key: string;
  /** Keys leading to the object, e.g. ["weight_map"]; [] for the top level. Array levels are "[]". */
  readonly path: readonly string[];
}

/**
 * Find the first duplicate object key in `text`, which must already be valid JSON (parse it with
 * JSON.parse first). Linear time, iterative (no recursion, so deep nesting cannot overflow the stack).
 */
export function findDuplicateKey(text: string): DuplicateKey | null {
  const keySets: (Set<string> | null)[] = []; // one per open container; null for arrays
  const path: string[] = []; // current key per open container ("[]" for arrays)
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      keySets.push(new Set());
      path.push('');
      i++;
    } else if (c === 0x5b /* [ */) {
      keySets.push(null);
      path.push('[]');
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keySets.pop();
      path.pop();
      i++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      const raw = text.slice(i, j + 1);
      i = j + 1;
      let k = i;
      while (k < n && (text.charCodeAt(k) === 0x20 || text.charCodeAt(k) === 0x0a || text.charCodeAt(k) === 0x0d || text.charCodeAt(k) === 0x09)) k++;
      const top = keySets.length > 0 ? keySets[keySets.length - 1] : null;
      if (top !== null && text.charCodeAt(k) === 0x3a /* : */) {
        // A string followed by ':' inside an object is a key (the text is valid JSON).
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.has(key)) return { key, path: pathOf(path) };
        top.add(key);
        path[path.length - 1] = key;
      }
    } else i++;
  }
  return null;
}

/** The keys leading to the innermost open object (its own current key excluded). */
function pathOf(path: readonly string[]): string[] {
  return path.slice(0, -1);
}

/** "top level" or "in weight_map" / "in a.b" for messages. */
export function describeJsonPath(path: readonly string[]): string {
  return path.length === 0 ? 'at the top level' : `in ${path.join('.')}`;
}

/** Result of parseJsonStrict: the value, or the reason it was refused. */
export type StrictJson = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * JSON.parse plus duplicate-key detection. Returns the problem as text so callers can wrap it in
 * their own typed error (ConfigError for config.json, WeightsFormatError for weights files).
 */
export function parseJsonStrict(text: string): StrictJson {
  const deep = jsonDepthProblem(text);
  if (deep !== null) return { ok: false, problem: deep };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `expected valid JSON, got a syntax error (${jsonSyntaxMessage(e)})` };
  }
  const dup = findDuplicateKey(text);
  if (dup) return { ok: false, problem: `expected unique keys, got ${JSON.stringify(dup.key)} twice ${describeJsonPath(dup.path)}` };
  return { ok: true, value };
}

/** A plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JSON.parse's message for a syntax error, on one line: V8 quotes a snippet of the text, line
 * breaks included, and the snippet's control characters are escaped here as JSON would write them.
 */
export function jsonSyntaxMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return oneLine(m).replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One frame of describeJson's explicit stack: an array or object being written. */
type DescribeFrame = { readonly close: string; readonly next: () => IteratorResult<[string | null, unknown]>; first: boolean };

function* arrayItems(a: readonly unknown[]): Generator<[string | null, unknown]> {
  for (let i = 0; i < a.length; i++) yield [null, a[i]];
}

function* objectEntries(o: object): Generator<[string | null, unknown]> {
  for (const k in o) if (Object.hasOwn(o, k)) yield [k, (o as Record<string, unknown>)[k]];
}

/** A scalar as JSON would show it (NaN and ±Infinity by name, which JSON cannot). */
function describeScalar(v: unknown, max: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? v.slice(0, max) : v) + (v.length > max ? '...' : '');
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v === 'boolean') return String(v);
  return typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`;
}

/**
 * Short, bounded description of a JSON value for error messages: JSON text cut at `max`
 * characters with "...". Bounded work whatever the value (no recursion, so any depth; huge arrays,
 * objects and strings are only read as far as the description reaches; circular values are fine).
 */
export function describeJson(v: unknown, max = 80): string {
  if (v === undefined) return 'nothing';
  let out = '';
  const frames: DescribeFrame[] = [];
  let value: unknown = v;
  let pending = true; // `value` still has to be written
  while (out.length <= max) {
    if (pending) {
      pending = false;
      if (typeof value === 'object' && value !== null) {
        const isArray = Array.isArray(value);
        out += isArray ? '[' : '{';
        const it = isArray ? arrayItems(value as unknown[]) : objectEntries(value);
        frames.push({ close: isArray ? ']' : '}', next: () => it.next(), first: true });
      } else {
        out += describeScalar(value, max);
      }
      continue;
    }
    const top = frames[frames.length - 1];
    if (top === undefined) break;
    const r = top.next();
    if (r.done) {
      out += top.close;
      frames.pop();
      continue;
    }
    const [key, item] = r.value;
    out += (top.first ? '' : ',') + (key === null ? '' : `${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`);
    top.first = false;
    value = item;
    pending = true;
  }
  return out.length > max || frames.length > 0 ? `${out.slice(0, Math.max(0, max - 3))}...` : out;
}
