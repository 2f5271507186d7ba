import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findDuplicateKey, parseJsonStrict } from '../../src/io/json.js';

test('json: documents produced by JSON.stringify never report a duplicate', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(undefined, 1, '\t'), (v, space) => {
      assert.equal(findDuplicateKey(JSON.stringify(v, null, space)), null);
    }),
    { numRuns: 300 },
  );
});

test('json: a key repeated in any object, at any depth, is found with its path', () => {
  // Build {k0: {k1: … {key: 1, <filler>, key: 2}}} with random keys (escapes and quotes included).
  fc.assert(
    fc.property(
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
      fc.string({ maxLength: 6 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      fc.boolean(),
      (path, key, filler, escapeSecond) => {
        const fillerText = Object.entries(filler)
          .filter(([k]) => k !== key)
          .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}, `)
          .join('');
        // The second occurrence may be spelled with \u escapes: still the same key.
        const second = escapeSecond ? `"${[...key].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(key);
        let text = `{${JSON.stringify(key)}: 1, ${fillerText}${second}: [2, {"x": "${'}'}"}]}`;
        for (const p of [...path].reverse()) text = `{${JSON.stringify(p)}: ${text}, "zz": [{}]}`;
        JSON.parse(text); // valid JSON
        const dup = findDuplicateKey(text);
        assert.deepEqual(dup, { key, path });
      },
    ),
    { numRuns: 300 },
  );
});

test('json: strings containing braces, quotes and colons are not mistaken for structure', () => {
  assert.equal(findDuplicateKey('{"a": "b\\": {\\"a\\": 1}", "c": ["a", "a"], "d": {"a": 1}}'), null);
  assert.deepEqual(findDuplicateKey('{"a": {"b": 1}, "c": [{"b": 1, "b": 2}]}'), { key: 'b', path: ['c', '[]'] });
  assert.deepEqual(parseJsonStrict('{"a":1,"a":1}'), { ok: false, problem: 'expected unique keys, got "a" twice at the top level' });
  const bad = parseJsonStrict('{"a":');
  assert.equal(bad.ok, false);
  assert.equal(parseJsonStrict('[1]').ok, true);
});

test('json: deep nesting does not overflow the stack', () => {
  const depth = 200_000;
  const text = '['.repeat(depth) + ']'.repeat(depth);
  assert.equal(findDuplicateKey(text), null);
  const objects = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
  assert.equal(findDuplicateKey(objects), null);
});
