import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { sentencePieceBpeToTokenizerJson, type SentencePieceBpeSpec } from '../../src/convert/sentencepiece-bpe.js';
import { sentencePieceMerges } from '../../src/tokenizer/sentencepiece-merges.js';
import { Tokenizer } from '../../src/tokenizer.js';
import { TokenizerError } from '../../src/errors.js';

const S = '\u2581';

test('merges: every split into two vocabulary pieces, ranked by (score, length of left, length of right), descending, stably', () => {
  // Worked by hand from transformers' generate_merges:
  //   "ab" (-1): (a,b)          "bc" (-1): (b,c)          "▁a" (-1): (▁,a)
  //   "abc" (-2): (a,bc), (ab,c)  — in id order of the left piece: a=1 < ab=4
  // score -1: three merges with lengths (1,1): kept in vocabulary order
  // score -2: (ab,c) has the longer left piece, so it comes before (a,bc)
  const pieces = ['<unk>', 'a', 'b', 'c', 'ab', 'bc', 'abc', S, S + 'a'];
  const scores = [0, -5, -6, -7, -1, -1, -2, -8, -1];
  assert.deepEqual(sentencePieceMerges(pieces, scores), [
    ['a', 'b'],
    ['b', 'c'],
    [S, 'a'],
    ['ab', 'c'],
    ['a', 'bc'],
  ]);
  // splits are at code points, never inside a surrogate pair; a higher score ranks first
  assert.deepEqual(sentencePieceMerges(['😀', 'x', '😀x', 'x😀'], [0, 0, -3, -2]), [
    ['x', '😀'],
    ['😀', 'x'],
  ]);
  // -0 and 0 tie (as in Python), single characters have no merges
  assert.deepEqual(sentencePieceMerges(['a', 'b', 'ab', 'ba'], [0, 0, -0, 0]), [
    ['a', 'b'],
    ['b', 'a'],
  ]);
});

test('builder: the tokenizer.json loads in spechub and in tokenizers.js, and encodes by the merges', () => {
  const spec: SentencePieceBpeSpec = {
    pieces: ['<unk>', '<s>', '</s>', 'a', 'b', 'c', 'ab', 'bc', 'abc', S, S + 'a', S + 'ab'],
    scores: [0, 0, 0, -5, -6, -7, -1, -1, -2, -8, -1, -3],
    bosId: 1,
    eosId: 2,
    unkId: 0,
    byteFallback: false,
    modelMaxLength: 64,
  };
  const out = sentencePieceBpeToTokenizerJson(spec);
  assert.ok(out.tokenizerJson.endsWith('}\n') && out.tokenizerConfigJson.endsWith('}\n'));
  const tok = Tokenizer.fromJson(out.tokenizerJson, out.tokenizerConfigJson);
  assert.equal(tok.vocabSize, 12);
  assert.deepEqual([tok.info.kind, tok.info.addSpacePrefix], ['sentencepiece', true]);
  // "abc": ▁ a b c → (▁,a) and (a,b) are both rank ≤ 2; (a,b) is rank 0 → ▁ ab c → (ab,c) → ▁ abc
  assert.deepEqual(Array.from(tok.encode('abc')), [1, 9, 8]);
  assert.deepEqual(Array.from(tok.encode('ab c', { bos: false })), [11, 9, 5]);
  // unknown characters become <unk> (no byte fallback), consecutive ones fused
  assert.deepEqual(Array.from(tok.encode('zz a', { bos: false })), [9, 0, 10]);
  assert.equal(tok.decode(tok.encode('ab c')), 'ab c');
  const lib = new HfTokenizer(JSON.parse(out.tokenizerJson), JSON.parse(out.tokenizerConfigJson));
  assert.deepEqual(lib.encode('abc').ids, [1, 9, 8]);
  const cfg = JSON.parse(out.tokenizerConfigJson);
  assert.equal(cfg.model_max_length, 64);
  assert.equal(cfg.add_bos_token, true);
  assert.deepEqual(Object.keys(cfg.added_tokens_decoder), ['0', '1', '2']);
  // no BOS: no post-processor, add_bos_token false
  const noBos = sentencePieceBpeToTokenizerJson({ ...spec, bosId: null, specialIds: [0, 2] });
  assert.equal(JSON.parse(noBos.tokenizerJson).post_processor, null);
  assert.equal(JSON.parse(noBos.tokenizerConfigJson).add_bos_token, false);
  assert.equal(Tokenizer.fromJson(noBos.tokenizerJson).bosId, 1); // "<s>" is still found by name
  // deterministic
  assert.equal(sentencePieceBpeToTokenizerJson(spec).tokenizerJson, out.tokenizerJson);
});

test('builder: bad vocabularies are TokenizerErrors naming the piece', () => {
  const ok: SentencePieceBpeSpec = { pieces: ['<unk>', 'a', 'b'], scores: [0, -1, -2], bosId: null, eosId: null, unkId: 0, byteFallback: false };
  const bad = (patch: Partial<SentencePieceBpeSpec>, pattern: RegExp) =>
    assert.throws(() => sentencePieceBpeToTokenizerJson({ ...ok, ...patch }), (e: unknown) => e instanceof TokenizerError && pattern.test(e.message));
  bad({ pieces: ['<unk>', 'a', 'a'] }, /piece 2: expected unique pieces, got "a" again \(also id 1\)/);
  bad({ pieces: ['<unk>', '', 'b'] }, /piece 1: expected a non-empty string/);
  bad({ scores: [0, NaN, 0] }, /score of piece 1 \("a"\): expected a finite number, got NaN/);
  bad({ scores: [0, 0] }, /expected 3 scores \(one per piece\), got 2/);
  bad({ bosId: 3 }, /bosId: expected an id in \[0, 3\) or null, got 3/);
  bad({ specialIds: [7] }, /specialIds: expected ids in \[0, 3\), got 7/);
  bad({ pieces: [], scores: [] }, /expected at least one piece/);
});
