/**
 * Strict JSON for untrusted files (safetensors headers, index files, config.json). JSON.parse
 * silently keeps the last of two equal keys; a file that says `"dtype": "F16", "dtype": "F32"` means
 * two things at once, so duplicates anywhere in the document are reported.
 */

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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `expected valid JSON, got a syntax error (${e instanceof Error ? e.message : String(e)})` };
  }
  const dup = findDuplicateKey(text);
  if (dup) return { ok: false, problem: `expected unique keys, got ${JSON.stringify(dup.key)} twice ${describeJsonPath(dup.path)}` };
  return { ok: true, value };
}

/** A plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Short, bounded description of a JSON value for error messages. */
export function describeJson(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'nothing' : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
