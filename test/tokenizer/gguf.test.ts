/**
 * Tokenizers from GGUF metadata: the pre-tokenizer names, errors for what spechub does not run,
 * tokenizerGgufMetadata's output and refusals, and the pre-tokenizers the real models do not use
 * (gpt-2, dbrx) against llama.cpp on SmolLM2's vocabulary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/tokenizer.js';
import { TokenizerError } from '../../src/errors.js';
import { BYTE_TO_CHAR } from '../../src/tokenizer/byte-level.js';
import { PRE_TOKENIZERS } from '../../src/tokenizer/llama-vocab.js';
import { bytesSource } from '../../src/io/source.js';
import { GgufFile, type GgufValue } from '../../src/weights/gguf.js';
import { ggufTokenizerData } from '../../src/weights/gguf-llama.js';
import type { GgufTokenizerData } from '../../src/tokenizer/gguf-data.js';
import { tokenizerGgufMetadata, writeGguf } from '../../src/weights/gguf-writer.js';
import { REAL_TOKENIZERS, tokenizerCorpus } from './corpus.js';
import { tinyLlamaGguf, withLlamaCppModel } from './llama-cpp.js';

const ids = (a: Int32Array) => Array.from(a);

/** A byte-level vocabulary: the 256 byte characters, then "12", "123", "Ġ1", "ab". */
function byteLevelData(over: Partial<GgufTokenizerData> = {}): GgufTokenizerData {
  return {
    model: 'gpt2',
    pre: 'gpt-2',
    tokens: [...BYTE_TO_CHAR, '12', '123', 'Ġ1', 'ab'],
    scores: null,
    tokenTypes: null,
    merges: ['1 2', '12 3', 'Ġ 1', 'a b'],
    bosId: null,
    eosId: null,
    unkId: null,
    padId: null,
    sepId: null,
    eotId: null,
    eomId: null,
    modelName: null,
    addBos: null,
    addEos: null,
    addSpacePrefix: null,
    ...over,
  };
}

test('GGUF gpt2: each pre-tokenizer name runs its llama.cpp regexes (digit grouping, space before digits)', () => {
  const b = (c: string) => BYTE_TO_CHAR.indexOf(c);
  const [t12, t123, g1, ab] = [256, 257, 258, 259];
  const enc = (pre: string, text: string) => ids(Tokenizer.fromGguf(byteLevelData({ pre })).encode(text));
  // GPT-2: " ?\p{N}+" keeps the space with the digits
  assert.deepEqual(enc('gpt-2', 'ab 123'), [ab, b('Ġ'), t123]);
  // Llama-3 (and dbrx): digits in groups of up to three, the space alone
  assert.deepEqual(enc('llama-bpe', 'ab 1234'), [ab, b('Ġ'), t123, b('4')]);
  assert.deepEqual(enc('dbrx', 'ab 1234'), [ab, b('Ġ'), t123, b('4')]);
  // Qwen2: digits one by one
  assert.deepEqual(enc('qwen2', 'ab 123'), [ab, b('Ġ'), b('1'), b('2'), b('3')]);
  // SmolLM: every digit split off first, then GPT-2
  assert.deepEqual(enc('smollm', 'ab 123'), [ab, b('Ġ'), b('1'), b('2'), b('3')]);
  assert.deepEqual(enc('gpt-2', 'x 1'), [b('x'), g1]);
  assert.deepEqual(enc('smollm', 'x 1'), [b('x'), b('Ġ'), b('1')]);
  // every listed name builds
  for (const pre of PRE_TOKENIZERS.keys()) assert.equal(Tokenizer.fromGguf(byteLevelData({ pre })).info.pre, pre);
  assert.equal(t12, 256);
  // decoding goes through the byte map; Llama-3's default is add_bos
  const tok = Tokenizer.fromGguf(byteLevelData({ bosId: 259 }));
  assert.equal(tok.decode(tok.encode('ab 123 ü')), 'ab 123 ü');
  assert.equal(Tokenizer.fromGguf(byteLevelData({ pre: 'llama-bpe', bosId: 0 })).addBos, true);
  assert.equal(Tokenizer.fromGguf(byteLevelData({ pre: 'llama-bpe', bosId: 0, addBos: false })).addBos, false);
});

test('GGUF: tokenizers spechub does not run are TokenizerErrors that name what the file says', () => {
  const rejects = (d: GgufTokenizerData, re: RegExp) =>
    assert.throws(() => Tokenizer.fromGguf(d, 'm.gguf'), (e: unknown) => e instanceof TokenizerError && re.test(e.message), re.source);
  rejects(byteLevelData({ pre: 'kimi-k2' }), /m\.gguf: tokenizer\.ggml\.pre: expected one of llama-bpe, .*qwen2.*smollm.*gpt-2.*, got "kimi-k2"/);
  rejects(byteLevelData({ pre: null }), /tokenizer\.ggml\.pre: expected one of .*, got nothing/);
  rejects(byteLevelData({ merges: null }), /tokenizer\.ggml\.merges: expected the BPE merges/);
  rejects(byteLevelData({ merges: ['12'] }), /tokenizer\.ggml\.merges\[0\]: expected "left right", got "12"/);
  rejects(byteLevelData({ model: 'bert' }), /tokenizer\.ggml\.model: expected "llama" \(SentencePiece\) or "gpt2" \(byte-level BPE\), got "bert"/);
  rejects(byteLevelData({ model: 'llama' }), /tokenizer\.ggml\.scores: expected one score per token/);
  rejects(byteLevelData({ tokenTypes: Int32Array.from({ length: 260 }, (_, i) => (i === 7 ? 6 : 1)) }), /tokenizer\.ggml\.tokens\[7\]: expected "<0xXX>" for a byte token \(type 6\), got "ć"/);
});

test('GGUF llama: SentencePiece defaults are llama.cpp\'s (bos 1, eos 2, unk 0, add_bos, space prefix)', () => {
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, i) => `<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`), '▁', 'a', 'b', '▁a', 'ab', '▁ab'];
  const types = Int32Array.from(tokens, (t, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const scores = Float32Array.from(tokens, (t, i) => (i < 262 ? 0 : -(i - 262)));
  const tok = Tokenizer.fromGguf({ ...byteLevelData(), model: 'llama', pre: 'default', tokens, tokenTypes: types, scores, merges: null });
  assert.deepEqual([tok.bosId, tok.eosId, tok.unkId, tok.addBos, tok.info.addSpacePrefix], [1, 2, 0, true, true]);
  assert.deepEqual(ids(tok.encode('ab a')), [1, 264, 262]);
  assert.deepEqual(ids(tok.encode('ab', { bos: false })), [264]);
  assert.deepEqual(ids(tok.encode('c', { bos: false })), [259, 3 + 0x63]);
  assert.equal(tok.decode(tok.encode('ab a c')), 'ab a c');
  const noPrefix = Tokenizer.fromGguf({ ...byteLevelData(), model: 'llama', tokens, tokenTypes: types, scores, merges: null, addSpacePrefix: false });
  assert.deepEqual(ids(noPrefix.encode('ab', { bos: false })), [263]);
});

test('tokenizerGgufMetadata: the keys llama.cpp reads, and refusals for what a GGUF cannot say', () => {
  const smol = REAL_TOKENIZERS.find((r) => r.name === 'SmolLM2')!;
  const tj = JSON.parse(smol.tokenizerJson());
  const cfg = JSON.parse(smol.tokenizerConfigJson());
  const meta = new Map<string, GgufValue>(tokenizerGgufMetadata(tj, cfg));
  const value = (k: string) => meta.get(k)?.value;
  assert.equal(value('tokenizer.ggml.model'), 'gpt2');
  assert.equal(value('tokenizer.ggml.pre'), 'smollm');
  const tokens = (meta.get('tokenizer.ggml.tokens')!.value as unknown as { items: string[] }).items;
  const types = (meta.get('tokenizer.ggml.token_type')!.value as { items: Int32Array }).items;
  assert.equal(tokens.length, 49153);
  assert.equal(tokens[24211], '\uFFFD', 'the special "ï¿½" is written as llama.cpp\'s converter writes it');
  assert.deepEqual([types[0], types[1], types[49152], types[300]], [3, 3, 3, 1]);
  assert.equal((meta.get('tokenizer.ggml.merges')!.value as unknown as { items: string[] }).items[0], 'Ġ t');
  assert.deepEqual([value('tokenizer.ggml.bos_token_id'), value('tokenizer.ggml.eos_token_id'), value('tokenizer.ggml.add_bos_token')], [1, 2, false]);
  assert.equal(value('tokenizer.chat_template'), undefined, 'SmolLM2 keeps its template in chat_template.jinja, not in tokenizer_config.json');
  // a byte-level pre-tokenizer llama.cpp has no name for
  const custom = { ...tj, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '\\p{L}+' }, behavior: 'Isolated' }, { type: 'ByteLevel', use_regex: false }] } };
  assert.equal(Tokenizer.fromJson(custom, cfg).info.pre, null, 'spechub still runs it (Hugging Face semantics)');
  assert.throws(() => tokenizerGgufMetadata(custom, cfg), (e: unknown) => e instanceof TokenizerError && /pre_tokenizer: expected one llama\.cpp names/.test(e.message));
  // Phi-3's rstrip flags survive only through llama.cpp's general.name rule
  const phi = REAL_TOKENIZERS.find((r) => r.name === 'Phi-3')!;
  assert.throws(
    () => tokenizerGgufMetadata(phi.tokenizerJson(), phi.tokenizerConfigJson()),
    (e: unknown) => e instanceof TokenizerError && /added token "<\/s>" \(id 2\): rstrip cannot be written to GGUF: llama\.cpp derives it from general\.name \(null gives no strip\)/.test(e.message),
  );
  const named = new Map(tokenizerGgufMetadata(phi.tokenizerJson(), phi.tokenizerConfigJson(), { name: 'Phi-3-mini-4k-instruct' }));
  assert.equal(named.get('general.name')?.value, 'Phi-3-mini-4k-instruct');
  assert.equal(named.get('tokenizer.ggml.model')?.value, 'llama');
  assert.equal(named.get('tokenizer.ggml.add_space_prefix')?.value, true);
  assert.match(String(named.get('tokenizer.chat_template')?.value), /<\|assistant\|>/);
});

test('tokenizerGgufMetadata: the Metaspace form of Llama-2\'s tokenizer.json gives the same GGUF as the Prepend/Replace form', () => {
  const llama2 = REAL_TOKENIZERS.find((r) => r.name === 'Llama-2')!;
  const tj = JSON.parse(llama2.tokenizerJson());
  const cfg = JSON.parse(llama2.tokenizerConfigJson());
  const meta = { ...tj, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false } };
  assert.deepEqual(tokenizerGgufMetadata(meta, cfg), tokenizerGgufMetadata(tj, cfg));
  const a = Tokenizer.fromJson(tj, cfg);
  const b = Tokenizer.fromJson(meta, cfg);
  for (const c of tokenizerCorpus().lines.filter((_, i) => i % 7 === 0)) {
    for (const parseSpecial of [false, true]) assert.deepEqual(ids(b.encode(c.text, { parseSpecial })), ids(a.encode(c.text, { parseSpecial })), c.where);
  }
});

test('GGUF gpt2 pre-tokenizers no real family here uses (gpt-2, dbrx) equal llama.cpp on SmolLM2\'s vocabulary, from tokenizer.json and from GGUF', async () => {
  const smol = REAL_TOKENIZERS.find((r) => r.name === 'SmolLM2')!;
  const tj = JSON.parse(smol.tokenizerJson());
  const cfg = JSON.parse(smol.tokenizerConfigJson());
  const LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const variants = [
    { pre: 'gpt-2', json: { ...tj, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } } },
    {
      pre: 'dbrx',
      json: { ...tj, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: LLAMA3 }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] } },
    },
  ];
  const cases = tokenizerCorpus().cases.filter((c) => !c.where.startsWith('tinystories'));
  for (const v of variants) {
    const tok = Tokenizer.fromJson(v.json, cfg);
    assert.equal(tok.info.pre, v.pre);
    const gguf = tinyLlamaGguf(tokenizerGgufMetadata(v.json, cfg), tok.vocabSize);
    const fromGguf = Tokenizer.fromGguf(ggufTokenizerData(await GgufFile.open(bytesSource('v.gguf', gguf))));
    const failures: string[] = [];
    await withLlamaCppModel(gguf, (model) => {
      for (const c of cases) {
        const want = model.tokenize(c.text, false).join();
        const got = tok.encode(c.text, { bos: false }).join();
        if (want !== got || got !== fromGguf.encode(c.text, { bos: false }).join()) failures.push(`${v.pre} ${c.where} ${JSON.stringify(c.text.slice(0, 50))}: llama.cpp ${want.slice(0, 80)} / spechub ${got.slice(0, 80)}`);
      }
    });
    assert.deepEqual(failures, [], failures.slice(0, 5).join('\n'));
  }
  // a GGUF written for the gpt-2 variant holds the file's merges and no scores
  const file = await GgufFile.open(bytesSource('v.gguf', writeGguf({ metadata: tokenizerGgufMetadata(variants[0]!.json, cfg), tensors: [] })));
  assert.equal(ggufTokenizerData(file).scores, null);
  assert.equal(ggufTokenizerData(file).merges!.length, tj.model.merges.length);
});
