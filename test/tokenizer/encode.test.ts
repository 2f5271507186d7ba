import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from '../../src/tokenizer.js';
import { InvalidArgumentError, TokenizerError } from '../../src/errors.js';
import { HfBpeRef } from './hf-bpe-ref.js';
import { ADVERSARIAL, llama2cOracle, shippedJson, tinyStories, tok512, tok656K } from './fixtures.js';
import { REAL_TOKENIZERS } from './corpus.js';

const ids = (a: Int32Array) => Array.from(a);

test('encode: known encodings of the published models', () => {
  assert.deepEqual(ids(tok512().encode('Once upon a time')), [1, 403, 407, 261, 378]);
  assert.deepEqual(llama2cOracle().encode('Once upon a time', true, false), [1, 403, 407, 261, 378]);
  assert.deepEqual(ids(tok656K().encode('Once upon a time,')), [1, 80, 147, 201, 282, 57, 8]);
  assert.equal(tok512().bosId, 1);
  assert.equal(tok512().eosId, 2);
  assert.equal(tok656K().bosId, 1);
  assert.equal(tok656K().eosId, 2);
  assert.equal(tok512().vocabSize, 512);
  assert.equal(tok656K().vocabSize, 2048);
});

test('encode: the converted tok512 matches llama2.c encode() on every TinyStories story, line and sentence', () => {
  const { stories, lines, sentences } = tinyStories();
  const all = [...stories, ...lines, ...sentences];
  assert.ok(stories.length >= 200 && lines.length >= 1200 && sentences.length >= 3000, `${stories.length}/${lines.length}/${sentences.length}`);
  const tok = tok512();
  const oracle = llama2cOracle();
  let mismatches = 0;
  let first = '';
  for (const s of all) {
    const want = oracle.encode(s, true, false).join(',');
    const got = ids(tok.encode(s, { parseSpecial: false })).join(',');
    if (want !== got) {
      mismatches++;
      first ||= `${JSON.stringify(s.slice(0, 80))}: llama2.c ${want.slice(0, 80)} vs ${got.slice(0, 80)}`;
    }
  }
  assert.equal(mismatches, 0, `${mismatches} of ${all.length} differ; first: ${first}`);
});

test('encode: the converted tok512 matches llama2.c encode() on adversarial strings', () => {
  const tok = tok512();
  const oracle = llama2cOracle();
  for (const s of ADVERSARIAL) {
    assert.deepEqual(ids(tok.encode(s, { parseSpecial: false })), oracle.encode(s, true, false), JSON.stringify(s));
    assert.deepEqual(ids(tok.encode(s, { bos: false, parseSpecial: false })), oracle.encode(s, false, false), JSON.stringify(s));
  }
  // byte fallback is really exercised: 😀 = F0 9F 98 80 → ids 3 + byte
  assert.deepEqual(ids(tok.encode('😀', { bos: false })).slice(-4), [0xf0 + 3, 0x9f + 3, 0x98 + 3, 0x80 + 3]);
});

test('encode: the converted tok512 matches llama2.c encode() on random strings (fast-check)', () => {
  const tok = tok512();
  const oracle = llama2cOracle();
  const vocabPieces = Array.from({ length: 512 - 259 }, (_, i) => tok.idToPiece(259 + i).replaceAll('\u2581', ' '));
  const check = (s: string) => {
    assert.deepEqual(ids(tok.encode(s, { parseSpecial: false })), oracle.encode(s, true, false), JSON.stringify(s));
  };
  const noSpecialChars = (s: string) => !s.includes('\u2581') && !s.includes('\u0000');
  // any code points
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40, size: 'max' }).filter(noSpecialChars), check), { seed: 1, numRuns: 1500 });
  // dense in the vocabulary's own pieces, so many merges compete
  const piecey = fc.array(fc.oneof(fc.constantFrom(...vocabPieces), fc.constantFrom(' ', 'e', 'th', 'er', '\n', '😀', '’')), { maxLength: 30, size: 'max' }).map((a) => a.join(''));
  fc.assert(fc.property(piecey, check), { seed: 2, numRuns: 3000 });
});

test('encode: U+2581 in the input is a space to Hugging Face/SentencePiece, but an unknown character to llama2.c', () => {
  // The one documented divergence from llama2.c's encode(): HF's normalizer makes ' ' and '▁' the
  // same symbol (as SentencePiece does); llama2.c's vocabulary has ' ' only, so '▁' becomes 3 bytes.
  const tok = tok512();
  assert.deepEqual(ids(tok.encode('a\u2581b')), ids(tok.encode('a b')));
  assert.deepEqual(llama2cOracle().encode('a\u2581b', true, false).slice(2, 5), [0xe2 + 3, 0x96 + 3, 0x81 + 3]);
});

test('encode: the Prepend normalizer does not act on empty input; BOS only on request', () => {
  for (const tok of [tok512(), tok656K()]) {
    assert.deepEqual(ids(tok.encode('')), [1]);
    assert.deepEqual(ids(tok.encode('', { bos: false })), []);
    assert.deepEqual(ids(tok.encode('', { bos: false, parseSpecial: false })), []);
    assert.equal(tok.addBos, true);
    const withBos = ids(tok.encode('Hello there'));
    assert.deepEqual(withBos.slice(1), ids(tok.encode('Hello there', { bos: false })));
    assert.equal(withBos[0], 1);
  }
  // the dummy prefix: "hi" and " hi" differ by exactly one leading space token in tok512
  assert.deepEqual(ids(tok512().encode(' hi', { bos: false })).slice(0, 1), [tok512().pieceToId('\u2581')!]);
});

test('encode: tokenizers.js BPE equals the Rust semantics (naive reference) on the 656K tokenizer over every line', () => {
  const tok = tok656K();
  const ref = new HfBpeRef(shippedJson('tinystories-656K').tokenizer);
  const { lines } = tinyStories();
  let unk = 0;
  for (const line of lines) {
    const got = ids(tok.encode(line, { bos: false }));
    assert.deepEqual(got, ref.encode(line), JSON.stringify(line));
    if (got.includes(0)) unk++;
  }
  // the 656K vocabulary has no byte tokens: characters it lacks (curly quotes, dashes) become <unk>
  assert.ok(unk > 0 && unk < lines.length / 2, `${unk} lines with <unk>`);
  for (const s of ADVERSARIAL) assert.deepEqual(ids(tok.encode(s, { bos: false, parseSpecial: false })), ref.encode(s), JSON.stringify(s));
});

test('encode: merges written as "a b" strings and as [a, b] pairs give identical encodings', () => {
  const j512 = shippedJson('stories260K');
  const j656 = shippedJson('tinystories-656K');
  assert.ok(Array.isArray(j512.tokenizer.model.merges[0]), 'converter writes pairs');
  assert.equal(typeof j656.tokenizer.model.merges[0], 'string', '656K has strings');
  const swap = (j: any, f: (m: any) => any) => ({ ...j, model: { ...j.model, merges: j.model.merges.map(f) } });
  const t512s = Tokenizer.fromJson(swap(j512.tokenizer, (m: [string, string]) => m.join(' ')), j512.config);
  const t656p = Tokenizer.fromJson(swap(j656.tokenizer, (m: string) => m.split(' ')), j656.config);
  const { lines } = tinyStories();
  for (const line of [...lines.slice(0, 400), ...ADVERSARIAL]) {
    assert.deepEqual(ids(t512s.encode(line)), ids(tok512().encode(line)));
    assert.deepEqual(ids(t656p.encode(line)), ids(tok656K().encode(line)));
  }
});

test('encode: special-token strings are plain text by default; parseSpecial: true makes them their ids (llama.cpp parse_special)', () => {
  const tok = tok512();
  // by default "<s>" is ordinary text, exactly as llama2.c encodes it
  const raw = ids(tok.encode('<s>Hi</s>', { bos: false }));
  assert.ok(!raw.includes(1) && !raw.includes(2));
  assert.deepEqual(raw, llama2cOracle().encode('<s>Hi</s>', false, false));
  assert.deepEqual(ids(tok.encode('<s>', { bos: false })), llama2cOracle().encode('<s>', false, false));
  // with parseSpecial they are their ids; the text after a special token gets its own dummy prefix (llama.cpp, HF legacy)
  const special = { bos: false, parseSpecial: true };
  assert.deepEqual(ids(tok.encode('<s>', special)), [1]);
  const hi = ids(tok.encode('Hi', { bos: false }));
  assert.deepEqual(ids(tok.encode('Hi</s>', special)), [...hi, 2]);
  assert.deepEqual(ids(tok.encode('<unk>', special)), [0]);
  assert.deepEqual(ids(tok.encode('<s>Hi', special)), [1, ...hi]);
  // 656K's special tokens are normalized: true in tokenizer.json; llama.cpp (and spechub) match
  // special tokens in the raw text, so the text after one gets its dummy prefix. (Hugging Face
  // matches "▁<|start_story|>" after normalization instead: "Once" would lose its "▁".)
  const ref = new HfBpeRef(shippedJson('tinystories-656K').tokenizer);
  assert.deepEqual(ids(tok656K().encode('<|start_story|>Once upon a time,', special)), [1, ...ref.encode('Once upon a time,')]);
  assert.deepEqual(ids(tok656K().encode('The end. <|end_story|>', special)), [...ref.encode('The end. '), 2]);
  assert.deepEqual(ids(tok656K().encode('The end.<|end_story|>', special)), [...ref.encode('The end.'), 2]);
  assert.deepEqual(ids(tok656K().encode('The end.<|end_story|>', { bos: false })), ref.encode('The end.<|end_story|>'));
  // longest special token first, as llama.cpp's partition: "<s>" inside "</s>" is not cut out
  assert.deepEqual(ids(tok.encode('</s><s>', special)), [2, 1]);
});

test('encode: agrees with tokenizers.js used directly where llama.cpp and Hugging Face agree (no special tokens in the text)', () => {
  const j = shippedJson('stories260K');
  const lib = new HfTokenizer(j.tokenizer, j.config);
  for (const s of [...ADVERSARIAL.filter((a) => !a.includes('<unk>')), ...tinyStories().lines.slice(0, 200)]) {
    assert.deepEqual(ids(tok512().encode(s)), lib.encode(s).ids, JSON.stringify(s));
  }
  assert.deepEqual(ids(tok512().encode('<s>x</s>', { parseSpecial: true })), lib.encode('<s>x</s>').ids);
});

test('encode: bad arguments and impossible requests are typed errors', () => {
  assert.throws(() => tok512().encode(42 as unknown as string), InvalidArgumentError);
  const j = shippedJson('stories260K').tokenizer;
  const vocab = { ...j.model.vocab };
  delete vocab['<s>'];
  vocab['<bos>'] = 1;
  const noBos = Tokenizer.fromJson({
    ...j,
    post_processor: null,
    added_tokens: j.added_tokens.filter((t: any) => t.id !== 1),
    model: { ...j.model, vocab },
  });
  assert.equal(noBos.bosId, null);
  assert.equal(noBos.addBos, false);
  assert.deepEqual(ids(noBos.encode('hi')), ids(tok512().encode('hi', { bos: false })));
  assert.throws(() => noBos.encode('hi', { bos: true }), (e: unknown) => e instanceof TokenizerError && /names no BOS/.test(e.message));
});

test('encode: where tokenizers.js pre-tokenizers differ from Rust and llama.cpp (JavaScript \\s and \\d), spechub runs the equivalent Split', () => {
  const real = REAL_TOKENIZERS.find((r) => r.name === 'SmolLM2')!;
  const tj = JSON.parse(real.tokenizerJson());
  const tok = Tokenizer.fromJson(tj, real.tokenizerConfigJson());
  const lib = new HfTokenizer(tj, {});
  const word = (s: string) => lib.encode(s, { add_special_tokens: false }).ids;
  // U+0085 is White_Space (JavaScript's \s lacks it), U+FEFF is not (JavaScript's \s has it);
  // Digits: every number character (\p{N}: Arabic-Indic digits, superscripts) is split off, not only 0-9
  for (const s of ['x \u0085y', 'a  \u0085', ' \u0661\u0662']) assert.notDeepEqual(ids(tok.encode(s)), word(s), JSON.stringify(s));
  assert.deepEqual(ids(tok.encode(' \u0661\u0662')), [...ids(tok.encode(' ')), ...ids(tok.encode('\u0661')), ...ids(tok.encode('\u0662'))]);
  // elsewhere the library's own output is spechub's
  for (const s of ['Hello, world! 123', '  two  spaces\n\ttab', "I'll be there"]) assert.deepEqual(ids(tok.encode(s)), word(s), JSON.stringify(s));
});
