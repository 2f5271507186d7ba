import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { StreamDecoder, Tokenizer } from '../../src/tokenizer.js';
import { Utf8ByteDecoder } from '../../src/tokenizer/utf8.js';
import { InvalidArgumentError, TokenizerError } from '../../src/errors.js';
import { ADVERSARIAL, shippedJson, tinyStories, tok512, tok656K } from './fixtures.js';
import { REAL_TOKENIZERS } from './corpus.js';
import { BYTE_TO_CHAR } from '../../src/tokenizer/byte-level.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const byteId = (b: number) => 3 + b; // tok512: <0x00> is id 3

/** Push every id; returns the chunks and the final flush. */
function stream(tok: Tokenizer, ids: ArrayLike<number>, skipSpecial = true): { chunks: string[]; tail: string } {
  const d = tok.streamDecoder({ skipSpecial });
  const chunks: string[] = [];
  for (let i = 0; i < ids.length; i++) chunks.push(d.push(ids[i]!));
  return { chunks, tail: d.flush() };
}

test('utf8: byte-at-a-time decoding equals TextDecoder (WHATWG) on arbitrary bytes', () => {
  const interesting = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0x80, max: 0xbf }), fc.constantFrom(0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff));
  fc.assert(
    fc.property(fc.array(interesting, { maxLength: 40, size: 'max' }), (bytes) => {
      const d = new Utf8ByteDecoder();
      let s = '';
      for (const b of bytes) s += d.push(b);
      s += d.end();
      assert.equal(s, new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes)));
      assert.equal(d.pending, false);
    }),
    { seed: 3, numRuns: 3000 },
  );
});

test('decode: decode(encode(s)) === s on every TinyStories line and the adversarial strings (tok512, byte fallback)', () => {
  const tok = tok512();
  const { lines, stories } = tinyStories();
  for (const s of [...lines, ...stories, ...ADVERSARIAL.filter((s) => !LONE_SURROGATE.test(s))]) {
    assert.equal(tok.decode(tok.encode(s, { parseSpecial: false })), s, JSON.stringify(s));
  }
  // lone surrogates are not UTF-8: TextEncoder (and so byte fallback) turns them into U+FFFD
  assert.equal(tok.decode(tok.encode('a\uD800b')), 'a\uFFFDb');
});

test('decode: round trips on random unicode strings (fast-check)', () => {
  const tok = tok512();
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40, size: 'max' }).filter((s) => !s.includes('\u2581')), (s) => {
      assert.equal(tok.decode(tok.encode(s, { parseSpecial: false })), s);
    }),
    { seed: 4, numRuns: 2000 },
  );
});

test('decode: 656K round trips wherever the text has no <unk>', () => {
  const tok = tok656K();
  let n = 0;
  for (const s of tinyStories().lines) {
    const ids = tok.encode(s);
    if (ids.includes(0)) continue;
    assert.equal(tok.decode(ids), s);
    n++;
  }
  assert.ok(n > 500, `${n} lines round-tripped`);
});

test('decode: special tokens, leading-space strip, empty input', () => {
  const tok = tok512();
  assert.equal(tok.decode([]), '');
  assert.equal(tok.decode([1]), '');
  assert.equal(tok.decode([1, 403, 407, 2]), 'Once upon');
  assert.equal(tok.decode([1, 403, 407, 2], { skipSpecial: false }), '<s> Once upon</s>');
  // only one leading space is stripped (Strip start=1), and only at the very start
  const sp = tok.pieceToId('\u2581')!;
  assert.equal(tok.decode([sp, sp, 403]), '   Once'.slice(1)); // 403 is "▁Once"
  assert.equal(tok.decode([403, 403]), 'Once Once');
  // a byte-fallback space at the start is stripped too (Strip runs after ByteFallback and Fuse)
  assert.equal(tok.decode([byteId(0x20), byteId(0x41)]), 'A');
  assert.throws(() => tok.decode([512]), InvalidArgumentError);
  assert.throws(() => tok.decode([-1]), InvalidArgumentError);
  assert.throws(() => tok.decode([1.5]), InvalidArgumentError);
});

test('decode: invalid UTF-8 from byte tokens follows the WHATWG rule (one U+FFFD per maximal invalid subpart)', () => {
  const tok = tok512();
  // E2 82 is a truncated 3-byte sequence: one U+FFFD (Rust tokenizers would give two)
  assert.equal(tok.decode([byteId(0xe2), byteId(0x82)]), '\uFFFD');
  assert.equal(tok.decode([byteId(0xe2), byteId(0x82), byteId(0xac)]), '€');
  assert.equal(tok.decode([byteId(0xff), byteId(0x41)]), '\uFFFDA');
  // a non-byte token ends the byte run
  // (82 and AC then have no lead byte: one U+FFFD each)
  assert.equal(tok.decode([byteId(0xe2), 403, byteId(0x82), byteId(0xac)]), '\uFFFD Once\uFFFD\uFFFD');
  // skipped special tokens do not end it (they are removed before the decoder chain, as in HF)
  assert.equal(tok.decode([byteId(0xe2), 2, byteId(0x82), byteId(0xac)]), '€');
});

test('decode: keeps a U+FEFF that starts a byte run (tokenizers.js drops it: its TextDecoder takes it for a BOM)', () => {
  const tok = tok512();
  const ids = tok.encode('\uFEFFx', { bos: false });
  assert.deepEqual(Array.from(ids).slice(1, 4), [byteId(0xef), byteId(0xbb), byteId(0xbf)]);
  assert.equal(tok.decode(ids), '\uFEFFx');
  const { chunks, tail } = stream(tok, ids);
  assert.equal(chunks.join('') + tail, '\uFEFFx');
  const j = shippedJson('stories260K');
  assert.equal(new HfTokenizer(j.tokenizer, j.config).decode(Array.from(ids), { clean_up_tokenization_spaces: false }), 'x');
});

test('decode: where tokenizers.js decode differs (empty input, space clean-up, lenient <0xXX> parsing), spechub follows HF Rust', () => {
  const j = shippedJson('stories260K');
  const lib = new HfTokenizer(j.tokenizer, {});
  const tok = tok512();
  assert.throws(() => lib.decode([]));
  assert.equal(tok.decode([]), '');
  // the library cleans " ." into "." unless told not to; HF Llama tokenizers do not
  const sp = tok.pieceToId('\u2581')!;
  assert.equal(lib.decode([403, sp, byteId(0x2e)]), 'Once.');
  assert.equal(tok.decode([403, sp, byteId(0x2e)]), 'Once .');
  // "<0x4G>" is not a byte token (Rust's u8::from_str_radix rejects it; the library's parseInt reads 4)
  const edited = structuredClone(j.tokenizer);
  const piece500 = Object.keys(edited.model.vocab).find((k) => edited.model.vocab[k] === 500)!;
  delete edited.model.vocab[piece500];
  edited.model.vocab['<0x4G>'] = 500;
  edited.model.merges = [];
  assert.equal(new HfTokenizer(edited, {}).decode([500], { clean_up_tokenization_spaces: false }), '\u0004');
  assert.equal(Tokenizer.fromJson(edited).decode([500]), '<0x4G>');
});

test('decode: equals tokenizers.js decode (skip_special_tokens, no clean-up) on random id sequences', () => {
  for (const [tok, folder] of [
    [tok512(), 'stories260K'],
    [tok656K(), 'tinystories-656K'],
  ] as const) {
    const j = shippedJson(folder);
    const lib = new HfTokenizer(j.tokenizer, j.config);
    const idArb = fc.oneof(fc.integer({ min: 0, max: tok.vocabSize - 1 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 3, max: 258 }));
    fc.assert(
      fc.property(fc.array(idArb, { minLength: 1, maxLength: 30, size: 'max' }), (ids) => {
        const want = lib.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
        assert.equal(tok.decode(ids), want);
      }),
      { seed: 5, numRuns: 2000 },
    );
  }
});

test('stream: chunks concatenate to the full decode, never split a character, for random unicode text (fast-check)', () => {
  const tok = tok512();
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 30, size: 'max' }).filter((s) => !s.includes('\u2581')), (s) => {
      const ids = tok.encode(s, { parseSpecial: false });
      const { chunks, tail } = stream(tok, ids);
      assert.equal(chunks.join('') + tail, s);
      assert.equal(tail, '');
      let sofar = '';
      for (const c of chunks) {
        assert.ok(!c.includes('\uFFFD') && !LONE_SURROGATE.test(c), `partial character in chunk ${JSON.stringify(c)}`);
        sofar += c;
        assert.ok(s.startsWith(sofar));
      }
    }),
    { seed: 6, numRuns: 2000 },
  );
  // an emoji through byte fallback: nothing until its 4th byte
  const { chunks } = stream(tok, tok.encode('😀', { bos: false }));
  assert.deepEqual(chunks.slice(-4), ['', '', '', '😀']);
});

/** tok512 with another decoder tail: Strip(" ", start, 0), or no Strip, or no ByteFallback. */
function tok512Variant(decoders: (d: any[]) => any[]): Tokenizer {
  const j = shippedJson('stories260K');
  return Tokenizer.fromJson({ ...j.tokenizer, decoder: { type: 'Sequence', decoders: decoders(j.tokenizer.decoder.decoders) } }, j.config);
}

test('decode: follows llama.cpp whatever the SentencePiece decoder chain says; decoders spechub cannot honour are refused', () => {
  // spechub decodes by llama.cpp's rules (▁ → space, <0xXX> → byte, one dummy-prefix space
  // removed), so a different Strip count, a missing Strip or ByteFallback do not change the text
  const strip2 = tok512Variant((d) => [...d.slice(0, 3), { type: 'Strip', content: ' ', start: 2, stop: 0 }]);
  const noStrip = tok512Variant((d) => d.slice(0, 3));
  const noBytes = tok512Variant((d) => [d[0], d[2], d[3]]);
  const sp = tok512().pieceToId('\u2581')!;
  for (const t of [strip2, noStrip, noBytes]) {
    assert.equal(t.decode([sp, sp, 403]), '  Once');
    assert.equal(t.decode([403, byteId(0x41)]), 'OnceA');
    assert.equal(t.decode([sp, byteId(0x41)]), 'A');
  }
  const j = shippedJson('stories260K');
  for (const decoder of [{ type: 'ByteLevel' }, { type: 'WordPiece', prefix: '##' }, { type: 'Sequence', decoders: [{ type: 'Fuse' }] }]) {
    assert.throws(
      () => Tokenizer.fromJson({ ...j.tokenizer, decoder }, j.config),
      (e: unknown) => e instanceof TokenizerError && /decoder: expected Replace\("▁" → " "\) or Metaspace/.test(e.message),
      JSON.stringify(decoder),
    );
  }
});

test('stream: for every prefix of random id sequences (bytes, invalid UTF-8, specials) stream + flush equals decode', () => {
  const strip2 = tok512Variant((d) => [...d.slice(0, 3), { type: 'Strip', content: ' ', start: 2, stop: 0 }]);
  const noBytes = tok512Variant((d) => [d[0], d[2], d[3]]);
  for (const tok of [tok512(), tok656K(), strip2, noBytes]) {
    const idArb = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 3, max: 258 }) },
      { weight: 2, arbitrary: fc.constantFrom(3 + 0x20, 3 + 0xe2, 3 + 0x82, 3 + 0xac, 3 + 0xf0, 3 + 0x9f, 3 + 0xc3, 3 + 0xa9, 3 + 0xff) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 }) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: tok.vocabSize - 1 }) },
    );
    for (const skipSpecial of [true, false]) {
      fc.assert(
        fc.property(fc.array(idArb, { maxLength: 24, size: 'max' }), (ids) => {
          const running = tok.streamDecoder({ skipSpecial });
          let cumulative = '';
          for (let k = 0; k <= ids.length; k++) {
            const prefix = ids.slice(0, k);
            const full = tok.decode(prefix, { skipSpecial });
            const { chunks, tail } = stream(tok, prefix, skipSpecial);
            assert.equal(chunks.join('') + tail, full);
            // the running decoder has emitted all of it but at most a pending character
            assert.ok(full === cumulative || full === cumulative + '\uFFFD', `${JSON.stringify(full)} vs ${JSON.stringify(cumulative)}`);
            if (k < ids.length) cumulative += running.push(ids[k]!);
          }
        }),
        { seed: 7, numRuns: 400 },
      );
    }
  }
});

test('stream: TinyStories through both tokenizers, and continuing after a prompt', () => {
  for (const tok of [tok512(), tok656K()]) {
    for (const story of tinyStories().stories.slice(0, 40)) {
      const ids = tok.encode(story);
      const { chunks, tail } = stream(tok, ids);
      assert.equal(chunks.join('') + tail, tok.decode(ids));
    }
  }
  // a prompt is pushed first (output ignored); the continuation keeps its leading space
  const tok = tok512();
  const prompt = tok.encode('Once upon a time');
  const cont = tok.encode('there was a girl', { bos: false }); // "▁there" …
  const d = tok.streamDecoder();
  for (const id of prompt) d.push(id);
  let out = '';
  for (const id of cont) out += d.push(id);
  assert.equal(out + d.flush(), tok.decode([...prompt, ...cont]).slice('Once upon a time'.length));
  assert.ok(out.startsWith(' there'));
  // reset starts over, strip included
  d.reset();
  assert.equal(d.push(403), 'Once');
});

test('stream: ids out of range are typed errors; StreamDecoder is constructible directly', () => {
  const d = new StreamDecoder(tok512());
  assert.throws(() => d.push(512), InvalidArgumentError);
  assert.throws(() => d.push(NaN), InvalidArgumentError);
  assert.equal(d.push(403), 'Once');
});

let smol: Tokenizer | null = null;
/** SmolLM2's byte-level tokenizer (test/fixtures/tokenizers). */
function smolLM2(): Tokenizer {
  if (smol === null) {
    const real = REAL_TOKENIZERS.find((r) => r.name === 'SmolLM2')!;
    smol = Tokenizer.fromJson(real.tokenizerJson(), real.tokenizerConfigJson());
  }
  return smol;
}

test('byte-level: decode(encode(s)) === s and streaming never emits half a character, on random unicode text (fast-check)', () => {
  const tok = smolLM2();
  assert.equal(tok.info.kind, 'byte-level');
  // SmolLM2's vocabulary has no piece for 21 bytes (04 06 13 14 16 1D C0 C1 F1 F2 F5–FF): text with
  // them (six control characters, U+40000–U+BFFFF) loses those bytes, in llama.cpp and Hugging Face
  // alike (U+40000's continuation bytes then decode as three U+FFFD)
  const missing = new Set(Array.from({ length: 256 }, (_, b) => b).filter((b) => tok.pieceToId(BYTE_TO_CHAR[b]!) === undefined));
  assert.equal(missing.size, 21);
  const ids0 = tok.encode('a\u0004b\u{40000}c');
  assert.equal(tok.decode(ids0), 'ab\uFFFD\uFFFD\uFFFDc');
  const representable = (s: string) => !s.includes('\uFFFD') && !Array.from(new TextEncoder().encode(s)).some((b) => missing.has(b));
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40, size: 'max' }).filter(representable), (s) => {
      const ids = tok.encode(s);
      assert.equal(tok.decode(ids), s);
      const { chunks, tail } = stream(tok, ids);
      assert.equal(tail, '');
      let sofar = '';
      for (const c of chunks) {
        assert.ok(!c.includes('\uFFFD') && !LONE_SURROGATE.test(c), `partial character in chunk ${JSON.stringify(c)}`);
        sofar += c;
        assert.ok(s.startsWith(sofar));
      }
    }),
    { seed: 11, numRuns: 1500 },
  );
  // a 4-byte emoji split over single-byte pieces: nothing until its last byte
  const byteIds = Array.from(new TextEncoder().encode('😀'), (b) => tok.pieceToId(BYTE_TO_CHAR[b]!)!);
  assert.deepEqual(stream(tok, byteIds).chunks, ['', '', '', '😀']);
});

test('byte-level: stream + flush equals decode on random id sequences (partial characters, invalid UTF-8, special tokens)', () => {
  const tok = smolLM2();
  const single = Array.from({ length: 256 }, (_, b) => tok.pieceToId(BYTE_TO_CHAR[b]!)).filter((id): id is number => id !== undefined);
  const idArb = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...single) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: tok.vocabSize - 1 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, 2, 24211) },
  );
  for (const skipSpecial of [true, false]) {
    fc.assert(
      fc.property(fc.array(idArb, { maxLength: 24, size: 'max' }), (ids) => {
        const { chunks, tail } = stream(tok, ids, skipSpecial);
        assert.equal(chunks.join('') + tail, tok.decode(ids, { skipSpecial }));
      }),
      { seed: 12, numRuns: 1000 },
    );
  }
  assert.equal(tok.decode([1, 2], { skipSpecial: false }), '<|im_start|><|im_end|>');
  assert.equal(tok.decode([1, 2]), '');
});
