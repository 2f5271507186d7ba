import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTR, llamaCppAttributes, SpecialPartition, TOKEN_TYPE, type AttributeInput } from '../../src/tokenizer/llama-vocab.js';
import { TokenizerError } from '../../src/errors.js';

const { NORMAL, CONTROL, USER_DEFINED, UNKNOWN } = TOKEN_TYPE;

/** A partition over the given (text, attribute bits) tokens, ids in order. */
function partition(tokens: [string, number][]): SpecialPartition {
  return new SpecialPartition(
    tokens.map((t) => t[0]),
    Uint16Array.from(tokens.map((t) => t[1])),
  );
}

test('partition: longest special token first (llama.cpp order, not leftmost-longest), every occurrence, raw text between', () => {
  const p = partition([
    ['a', ATTR.NORMAL],
    ['<s>', ATTR.CONTROL],
    ['</s>', ATTR.CONTROL],
    ['ab', ATTR.CONTROL],
    ['bcd', ATTR.CONTROL],
  ]);
  assert.deepEqual(p.split('x</s>y<s>z</s>', true), ['x', 2, 'y', 1, 'z', 2]);
  // "bcd" (longer) is cut first, so "ab" no longer matches; Hugging Face's leftmost-longest match would give ["ab", "cd"]
  assert.deepEqual(p.split('abcd', true), ['a', 4]);
  assert.deepEqual(p.split('abab', true), [3, 3]);
  assert.deepEqual(p.split('', true), []);
  assert.deepEqual(p.split('plain text', true), ['plain text']);
  assert.equal(p.size, 4);
});

test('partition: control and unknown tokens only with parseSpecial; user-defined always', () => {
  const p = partition([
    ['<unk>', ATTR.UNKNOWN],
    ['<|im_start|>', ATTR.CONTROL],
    ['<think>', ATTR.USER_DEFINED],
    ['</s>', ATTR.USER_DEFINED | ATTR.CONTROL],
  ]);
  const text = '<unk><|im_start|><think></s>';
  assert.deepEqual(p.split(text, true), [0, 1, 2, 3]);
  assert.deepEqual(p.split(text, false), ['<unk><|im_start|>', 2, '</s>']);
});

test('partition: lstrip/rstrip remove C-locale whitespace (space, \\t \\n \\v \\f \\r) only, as llama.cpp', () => {
  const p = partition([
    ['<r>', ATTR.CONTROL | ATTR.RSTRIP],
    ['<l>', ATTR.CONTROL | ATTR.LSTRIP],
  ]);
  assert.deepEqual(p.split('a<r> \t\n\v\f\rb', true), ['a', 0, 'b']);
  assert.deepEqual(p.split('a<r>\u00a0b', true), ['a', 0, '\u00a0b']); // NBSP is not C whitespace (Hugging Face strips it)
  assert.deepEqual(p.split('a<r>   ', true), ['a', 0]);
  assert.deepEqual(p.split('a \t<l>b', true), ['a', 1, 'b']);
  assert.deepEqual(p.split('  <l>', true), [1]);
  assert.deepEqual(p.split('<l> x <r> y', true), [1, ' x ', 0, 'y']);
});

test('partition: tokens are ordered by UTF-8 length, as llama.cpp sorts its std::string texts', () => {
  // "xé" and "éé" are both 2 UTF-16 units, but 3 and 4 UTF-8 bytes: "éé" is cut first
  const p = partition([
    ['xé', ATTR.CONTROL],
    ['éé', ATTR.CONTROL],
  ]);
  assert.deepEqual(p.split('xéé', true), ['x', 1]);
  const q = partition([
    ['😀x', ATTR.USER_DEFINED],
    ['x😀', ATTR.USER_DEFINED],
  ]);
  assert.deepEqual(q.split('😀x😀', false), [0, '😀']);
});

function attrs(tokens: [string, number][], extra: Partial<AttributeInput> = {}) {
  return llamaCppAttributes({
    tokens: tokens.map((t) => t[0]),
    types: tokens.map((t) => t[1]),
    eosId: null,
    eotId: null,
    eomId: null,
    strip: { modelName: null },
    ...extra,
  });
}

test('attributes: end-of-generation texts become control tokens whatever their type; EOT found by text when the file names none', () => {
  const a = attrs([
    ['hello', NORMAL],
    ['</s>', NORMAL], // a normal piece in Qwen's vocabulary: llama.cpp makes it control and end of generation
    ['<|im_end|>', USER_DEFINED],
    ['<|endoftext|>', CONTROL],
    ['<|fim_prefix|>', USER_DEFINED],
    ['<|file_sep|>', USER_DEFINED],
    ['<unused3>', CONTROL],
  ]);
  assert.equal(a.attrs[0], ATTR.NORMAL);
  assert.equal(a.attrs[1], ATTR.NORMAL | ATTR.CONTROL);
  assert.equal(a.attrs[2], ATTR.USER_DEFINED | ATTR.CONTROL);
  assert.equal(a.attrs[4], ATTR.USER_DEFINED | ATTR.CONTROL);
  assert.equal(a.attrs[6], ATTR.CONTROL | ATTR.UNUSED);
  assert.deepEqual(a.eogIds, [1, 2, 3, 5]);
  assert.equal(a.eotId, 2, '<|im_end|> comes before <|endoftext|> in the EOT list');
  assert.equal(attrs([['<|endoftext|>', CONTROL], ['<|im_end|>', CONTROL]], { eotId: 0 }).eotId, 0, 'the file wins');
  assert.deepEqual(attrs([['x', NORMAL], ['y', CONTROL]], { eosId: 1 }).eogIds, [1]);
});

test('attributes: llama.cpp\'s special cases (gpt-oss channel tokens, <|end|> beside <|return|>/<|call|>, </s> beside <|tool_response>)', () => {
  const oss = attrs([
    ['<|channel|>', CONTROL],
    ['<|return|>', CONTROL],
    ['<|call|>', CONTROL],
    ['<|end|>', CONTROL],
  ]);
  assert.equal(oss.attrs[0], ATTR.USER_DEFINED);
  assert.equal(oss.attrs[3], ATTR.USER_DEFINED);
  assert.deepEqual(oss.eogIds, [1, 2]);
  const gemma4 = attrs([
    ['</s>', USER_DEFINED],
    ['<|tool_response>', CONTROL],
  ]);
  assert.equal(gemma4.attrs[0], ATTR.NORMAL);
  assert.deepEqual(gemma4.eogIds, [1]);
});

test('attributes: lstrip/rstrip from tokenizer.json flags, or from general.name by llama.cpp\'s Phi-3 rule', () => {
  const tokens: [string, number][] = [
    ['<unk>', UNKNOWN],
    ['<s>', CONTROL],
    ['</s>', CONTROL],
    ['<|endoftext|>', CONTROL],
    ['<|user|>', CONTROL],
    ['<|placeholder1|>', USER_DEFINED],
    ['word', NORMAL],
  ];
  const phi = attrs(tokens, { strip: { modelName: 'Phi-3-mini-4k-instruct' } }).attrs;
  assert.deepEqual(
    Array.from(phi, (a) => (a & ATTR.RSTRIP) !== 0),
    [false, false, true, false, true, true, false],
  );
  assert.ok(attrs(tokens, { strip: { modelName: 'phi3' } }).attrs[4]! & ATTR.RSTRIP);
  assert.equal(attrs(tokens, { strip: { modelName: 'Llama' } }).attrs[4]! & ATTR.RSTRIP, 0);
  const flags = new Uint16Array(7);
  flags[4] = ATTR.LSTRIP;
  assert.equal(attrs(tokens, { strip: { flags } }).attrs[4], ATTR.CONTROL | ATTR.LSTRIP);
  assert.throws(
    () => attrs([['<s>', CONTROL]], { strip: { modelName: 'phi-3' } }),
    (e: unknown) => e instanceof TokenizerError && /general\.name "phi-3": llama\.cpp's Phi-3 rule needs the token "<\/s>"/.test(e.message),
  );
});
