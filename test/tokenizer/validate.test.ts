import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Tokenizer } from '../../src/tokenizer.js';
import { sha256Hex } from '../../src/tokenizer/sha256.js';
import { TokenizerError } from '../../src/errors.js';
import { readText, shippedJson, tok512, tok656K } from './fixtures.js';
import { WEIGHTS } from '../convert/test-utils.js';

const base = () => shippedJson('stories260K');
/** tok512's tokenizer.json with `edit` applied to a deep copy. */
function edited(edit: (j: any) => void): any {
  const j = structuredClone(base().tokenizer);
  edit(j);
  return j;
}
function rejects(json: unknown, pattern: RegExp, config?: unknown): void {
  assert.throws(
    () => Tokenizer.fromJson(json as object, config as object | undefined),
    (e: unknown) => e instanceof TokenizerError && pattern.test(e.message),
    `expected a TokenizerError matching ${pattern}`,
  );
}

test('sha256: equals node:crypto on random inputs, including the padding boundaries', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255);
    assert.equal(sha256Hex(b), createHash('sha256').update(b).digest('hex'));
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      assert.equal(sha256Hex(b), createHash('sha256').update(b).digest('hex'));
    }),
    { seed: 8, numRuns: 500 },
  );
});

test('fingerprint: the stories260K and stories281K-draft tokenizers are the same; tok512 and 656K differ', () => {
  const a = tok512();
  const j = shippedJson('stories281K-draft');
  const b = Tokenizer.fromJson(j.tokenizer, j.config);
  assert.equal(a.fingerprint(), b.fingerprint());
  assert.ok(a.equals(b));
  a.assertSameVocabulary(b, ['target', 'draft']);
  assert.match(a.fingerprint(), /^[0-9a-f]{64}$/);
  assert.notEqual(a.fingerprint(), tok656K().fingerprint());
  assert.equal(a.equals(tok656K()), false);
  assert.throws(
    () => a.assertSameVocabulary(tok656K(), ['target', 'draft']),
    (e: unknown) => e instanceof TokenizerError && /target and draft tokenizers differ.*vocabulary sizes 512 and 2048/.test(e.message),
  );
});

test('fingerprint: depends on what ids mean (pieces, special flags), not on merges or JSON layout', () => {
  const a = tok512();
  // swap the pieces of ids 300 and 301: same set of pieces, different meaning of two ids
  const swapped = edited((j) => {
    const p300 = Object.keys(j.model.vocab).find((k) => j.model.vocab[k] === 300)!;
    const p301 = Object.keys(j.model.vocab).find((k) => j.model.vocab[k] === 301)!;
    j.model.vocab[p300] = 301;
    j.model.vocab[p301] = 300;
  });
  const s = Tokenizer.fromJson(swapped);
  assert.notEqual(s.fingerprint(), a.fingerprint());
  assert.throws(() => a.assertSameVocabulary(s), (e: unknown) => e instanceof TokenizerError && /id 300/.test(e.message));
  // unmark <unk> as special
  const notSpecial = Tokenizer.fromJson(edited((j) => (j.added_tokens[0].special = false)));
  assert.notEqual(notSpecial.fingerprint(), a.fingerprint());
  assert.equal(notSpecial.equals(a), false);
  // fewer merges, reordered keys, compact JSON: same meaning of ids, same fingerprint
  const fewerMerges = Tokenizer.fromJson(edited((j) => j.model.merges.pop()));
  assert.equal(fewerMerges.fingerprint(), a.fingerprint());
  const text = readText(`${WEIGHTS}stories260K/tokenizer.json`);
  const reordered = JSON.parse(text);
  reordered.model.vocab = Object.fromEntries(Object.entries(reordered.model.vocab).reverse());
  assert.equal(Tokenizer.fromJson(JSON.stringify(reordered)).fingerprint(), a.fingerprint());
  assert.equal(Tokenizer.fromJson(new TextEncoder().encode(text)).fingerprint(), a.fingerprint());
});

test('fromJson: unsupported tokenizer.json shapes are TokenizerErrors that say what was found', () => {
  rejects('{not json', /tokenizer\.json: expected JSON text, got a parse error/);
  rejects('[1,2]', /expected a JSON object, got \[1,2\]/);
  rejects(edited((j) => (j.model.type = 'WordPiece')), /model\.type: expected "BPE".*got "WordPiece"/);
  rejects(edited((j) => (j.model.type = 'Unigram')), /got "Unigram"/);
  rejects(edited((j) => (j.model.dropout = 0.1)), /model\.dropout: expected null.*got 0\.1/);
  rejects(edited((j) => (j.model.continuing_subword_prefix = '##')), /continuing_subword_prefix.*got "##"/);
  // a ByteLevel pre-tokenizer makes it a byte-level vocabulary, which llama.cpp does not normalize
  rejects(edited((j) => (j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false })), /normalizer: expected none or NFC for a byte-level vocabulary.*Prepend/);
  rejects(edited((j) => ((j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: false }), (j.normalizer = { type: 'NFKC' }))), /normalizer: expected none or NFC.*NFKC/);
  rejects(edited((j) => ((j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: true }), (j.normalizer = null))), /ByteLevel: add_prefix_space: expected false/);
  rejects(
    edited((j) => ((j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious' }, { type: 'ByteLevel', use_regex: false }] }), (j.normalizer = null))),
    /Split: expected behavior "Isolated" or "Removed"/,
  );
  rejects(edited((j) => (j.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581' })), /expected Metaspace alone \(no normalizer\)/);
  rejects(edited((j) => ((j.pre_tokenizer = { type: 'Metaspace', replacement: '_' }), (j.normalizer = null))), /pre_tokenizer\.replacement: expected "▁", got "_"/);
  rejects(edited((j) => (j.pre_tokenizer = { type: 'Digits', individual_digits: true })), /pre_tokenizer: expected none \(SentencePiece-style BPE/);
  rejects(edited((j) => (j.normalizer = { type: 'NFKC' })), /expected a byte-level .* or SentencePiece-style .*, got normalizer \{"type":"NFKC"\}/);
  rejects(edited((j) => (j.normalizer = null)), /expected a byte-level .* or SentencePiece-style/);
  rejects(edited((j) => j.normalizer.normalizers.push({ type: 'Lowercase' })), /normalizer: expected Prepend\("▁"\) and Replace.*Lowercase/);
  rejects(edited((j) => (j.decoder = { type: 'ByteLevel' })), /decoder: expected Replace.*got \{"type":"ByteLevel"\}/);
  rejects(edited((j) => (j.decoder.decoders[3].stop = 1)), /decoder: expected/);
  rejects(edited((j) => (j.model.merges[5] = ['\u2581', 't', 'h'])), /model\.merges\[5\]: expected "left right" or \[left, right\], got \["▁","t","h"\]/);
  rejects(edited((j) => (j.model.merges = j.model.merges.map((m: string[]) => m.join(' ')).concat(['a b c']))), /expected "left right" where both halves.*got "a b c" \(no such splits\)/);
  rejects(
    edited((j) => {
      const p = Object.keys(j.model.vocab).find((k) => j.model.vocab[k] === 300)!;
      delete j.model.vocab[p];
      j.model.merges = [];
    }),
    /expected ids 0\.\.\d+ without gaps, got no token with id 300/,
  );
  rejects(edited((j) => (j.model.vocab['dup'] = 5)), /expected unique ids, got id 5/);
  rejects(edited((j) => (j.model.vocab['neg'] = -1)), /model\.vocab\["neg"\]: expected an id/);
  rejects(edited((j) => (j.added_tokens[1].single_word = true)), /single_word=true is not supported/);
  rejects(edited((j) => (j.added_tokens[1].content = '<bos>')), /added_tokens\[1\]: id 1 is "<s>" in model\.vocab, got content "<bos>"/);
  rejects(edited((j) => (j.model.unk_token = '<nope>')), /model\.unk_token: expected a token of the vocabulary, got "<nope>"/);
  rejects(base().tokenizer, /tokenizer_config\.json: bos_token: expected a token of the vocabulary, got "<bos>"/, { bos_token: '<bos>' });
  rejects(base().tokenizer, /tokenizer_config\.json: expected JSON text/, '{');
  let deep: any = { type: 'Sequence', normalizers: [] };
  for (let i = 0; i < 20; i++) deep = { type: 'Sequence', normalizers: [deep] };
  rejects(edited((j) => (j.normalizer = deep)), /expected at most 8 nested Sequences/);
  // merges whose pieces hold spaces are split where both halves and the whole are pieces (TinyLlama's "   " is [" ", " "])
  const spaced = Tokenizer.fromJson(
    edited((j) => {
      j.model.vocab[' '] = 512;
      j.model.vocab['  '] = 513;
      j.model.merges = [...j.model.merges.map((m: string[]) => m.join(' ')), '   '];
    }),
  );
  assert.equal(spaced.vocabSize, 514);
  rejects(edited((j) => ((j.model.vocab[' '] = 512), (j.model.merges = ['   ']))), /model\.merges\[0\]: expected "left right" where both halves.*got "   " \(no such splits\)/);
});

test('fromJson: accepted variations (Replace before Prepend, no Prepend, mixed merge formats, object inputs are not aliased)', () => {
  const reversed = Tokenizer.fromJson(edited((j) => j.normalizer.normalizers.reverse()));
  assert.deepEqual(Array.from(reversed.encode('Once upon a time')), [1, 403, 407, 261, 378]);
  const noPrepend = Tokenizer.fromJson(edited((j) => (j.normalizer = j.normalizer.normalizers[1])));
  assert.equal(noPrepend.info.addSpacePrefix, false);
  assert.deepEqual(Array.from(noPrepend.encode(' Once upon')), Array.from(tok512().encode('Once upon')));
  assert.notDeepEqual(Array.from(noPrepend.encode('Once upon')), Array.from(tok512().encode('Once upon')));
  assert.equal(noPrepend.decode(noPrepend.encode(' Once upon')), ' Once upon');
  // the Metaspace form of the same tokenizer (transformers' legacy=false) encodes as llama.cpp does: a
  // space before every piece of raw text, also before text that starts with one
  const meta = Tokenizer.fromJson(edited((j) => ((j.normalizer = null), (j.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false }))));
  for (const s of ['Once upon a time', ' Once', '  two spaces', '', 'a\u2581b']) assert.deepEqual(Array.from(meta.encode(s)), Array.from(tok512().encode(s)), JSON.stringify(s));
  assert.deepEqual(Array.from(meta.encode('<s>Hi', { parseSpecial: true })), Array.from(tok512().encode('<s>Hi', { parseSpecial: true })));
  assert.match(meta.info.notes.join(), /prepend_scheme "first"/);
  const mixed = Tokenizer.fromJson(edited((j) => (j.model.merges[0] = j.model.merges[0].join(' '))));
  assert.deepEqual(Array.from(mixed.encode('Once upon a time')), [1, 403, 407, 261, 378]);
  const j = edited(() => {});
  const t = Tokenizer.fromJson(j);
  j.model.vocab['\u2581t'] = 999; // mutating the caller's object afterwards changes nothing
  assert.deepEqual(Array.from(t.encode('Once upon a time')), [1, 403, 407, 261, 378]);
  assert.equal(t.idToPiece(403), '\u2581Once');
  assert.equal(t.pieceToId('\u2581Once'), 403);
  assert.equal(t.isSpecial(1), true);
  assert.equal(t.isSpecial(403), false);
});
