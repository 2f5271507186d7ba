import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  convertLlama2c,
  parseLlama2cCheckpoint,
  parseLlama2cTokenizer,
  permuteRopeRows,
  unpermuteRopeRows,
} from '../../src/convert/llama2c.js';
import { convertLlama2cFiles } from '../../src/node/convert.js';
import { Tokenizer } from '../../src/tokenizer.js';
import { ConfigError, SpechubError, TokenizerError, WeightsFormatError } from '../../src/errors.js';
import { createRng } from '../../src/rng.js';
import { FIXTURES, WEIGHTS, readBytes, readSafetensors } from './test-utils.js';
import { RefModel, matvec64, refWeightsFromHf, rope, type HfConfigJson } from '../reference/llama-ref.js';

const L2C = `${FIXTURES}llama2c/`;
const model260 = () => readBytes(`${L2C}stories260K.bin`);
const model281 = () => readBytes(`${L2C}stories281K.bin`);
const tok512Bin = () => readBytes(`${L2C}tok512.bin`);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Independent reading of a llama2.c v0 file: header ints and the named float arrays, by offsets. */
function readLlama2cByHand(bytes: Uint8Array) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [dim, hidden, L, nH, nKv, vocabRaw, seq] = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true)) as number[] as [number, number, number, number, number, number, number];
  const V = Math.abs(vocabRaw);
  const hd = dim / nH;
  const kv = nKv * hd;
  let off = 28;
  const take = (n: number) => {
    const a = new Float32Array(bytes.slice(off, off + 4 * n).buffer);
    off += 4 * n;
    return a;
  };
  const w = {
    emb: take(V * dim),
    rmsAtt: take(L * dim),
    wq: take(L * dim * dim),
    wk: take(L * kv * dim),
    wv: take(L * kv * dim),
    wo: take(L * dim * dim),
    rmsFfn: take(L * dim),
    w1: take(L * hidden * dim),
    w2: take(L * dim * hidden),
    w3: take(L * hidden * dim),
    rmsFinal: take(dim),
    freq: take(seq * hd),
    wcls: vocabRaw < 0 ? take(V * dim) : null,
  };
  assert.equal(off, bytes.length);
  return { dim, hidden, L, nH, nKv, V, seq, hd, kv, shared: vocabRaw > 0, w };
}

/** Bitwise equality of float arrays (distinguishes -0 and NaN payloads). */
function assertBitsEqual(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

/** HF's inverse of its own permute: w.view(n_heads, 2, hd/2, cols).transpose(1, 2).reshape(rows, cols). */
function hfUnpermute(w: Float32Array, nHeads: number, hd: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++)
    for (let i = 0; i < hd / 2; i++)
      for (let j = 0; j < 2; j++) {
        // out index [h, i, j] (interleaved) ← in index [h, j, i] (halves)
        out.set(w.subarray((h * hd + j * (hd / 2) + i) * cols, (h * hd + j * (hd / 2) + i + 1) * cols), (h * hd + 2 * i + j) * cols);
      }
  return out;
}

/** A synthetic llama2.c v0 checkpoint with the given header and deterministic values. */
function synthCheckpoint(h: { dim: number; hidden: number; L: number; nH: number; nKv: number; vocab: number; seq: number }, seed = 1): Uint8Array {
  const hd = h.dim / h.nH;
  const V = Math.abs(h.vocab);
  const kv = h.nKv * hd;
  const n =
    V * h.dim + h.L * h.dim * 2 + h.L * h.dim * h.dim * 2 + h.L * kv * h.dim * 2 + h.L * h.hidden * h.dim * 3 + h.dim + h.seq * hd + (h.vocab < 0 ? V * h.dim : 0);
  const bytes = new Uint8Array(28 + 4 * n);
  const dv = new DataView(bytes.buffer);
  [h.dim, h.hidden, h.L, h.nH, h.nKv, h.vocab, h.seq].forEach((v, i) => dv.setInt32(4 * i, v, true));
  const rng = createRng(seed);
  for (let i = 0; i < n; i++) dv.setFloat32(28 + 4 * i, rng.next() * 2 - 1, true);
  return bytes;
}

function withHeader(bytes: Uint8Array, index: number, value: number): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer).setInt32(4 * index, value, true);
  return b;
}

const isErr = (cls: new (...a: any[]) => Error, pattern: RegExp) => (e: unknown) => e instanceof cls && pattern.test((e as Error).message);

test('llama2c: header and size are validated strictly, errors are typed and name the file', () => {
  const m = model260();
  const name = 'stories260K.bin';
  const parse = (b: Uint8Array) => () => parseLlama2cCheckpoint(b, name);
  assert.throws(parse(m.subarray(0, m.length - 4)), isErr(WeightsFormatError, /^stories260K\.bin: expected exactly 1056540 bytes .*got 1056536 \(4 bytes short: truncated\?\)/));
  const longer = new Uint8Array(m.length + 8);
  longer.set(m);
  assert.throws(parse(longer), isErr(WeightsFormatError, /got 1056548 \(8 bytes too many\)/));
  assert.throws(parse(m.subarray(0, 20)), isErr(WeightsFormatError, /^stories260K\.bin: expected a llama2\.c checkpoint of at least 28 bytes.*got 20 bytes/));
  assert.throws(parse(new Uint8Array(0)), WeightsFormatError);
  const bad: [number, number, RegExp][] = [
    [0, 0, /dim: expected 1\.\.65536, got 0/],
    [0, -64, /dim: expected 1\.\.65536, got -64/],
    [1, 0, /hidden_dim: expected .*got 0/],
    [2, 1_000_000, /n_layers: expected 1\.\.1024, got 1000000/],
    [3, 7, /n_heads: expected a divisor of dim=64, got 7/],
    [3, 64, /n_heads: expected a value giving an even head size for RoPE \(dim \/ n_heads = 1\), got 64/],
    [4, 3, /n_kv_heads: expected a divisor of n_heads=8, got 3/],
    [4, 16, /n_kv_heads: expected a divisor of n_heads=8, got 16/],
    [5, 0, /vocab_size: expected ±1\.\.2097152, got 0/],
    [5, -(2 ** 31), /vocab_size/],
    [6, 0, /seq_len: expected 1\.\.1048576, got 0/],
  ];
  for (const [i, v, pattern] of bad) {
    assert.throws(parse(withHeader(m, i, v)), isErr(ConfigError, new RegExp('^stories260K\\.bin: ' + pattern.source)), `header[${i}] = ${v}`);
  }
  // a sane header that does not fit the file: size error, not a crash or a huge allocation
  assert.throws(parse(withHeader(m, 1, 200_000)), isErr(WeightsFormatError, /expected exactly \d+ bytes/));
  // llama2.c's newer versioned exports
  const v1 = m.slice();
  new DataView(v1.buffer).setUint32(0, 0x616b3432, true);
  new DataView(v1.buffer).setInt32(4, 1, true);
  assert.throws(parse(v1), isErr(WeightsFormatError, /versioned export \(magic "ak42", version 1\)/));
  // non-finite weights
  const nan = m.slice();
  new DataView(nan.buffer).setFloat32(28 + 4 * (512 * 64 + 5 * 64 + 3), NaN, true);
  assert.throws(parse(nan), isErr(WeightsFormatError, /wq: expected finite float32 values, got NaN at element 3/));
});

test('llama2c: tokenizer.bin is validated record by record, with exact length accounting', () => {
  const t = tok512Bin();
  const name = 'tok512.bin';
  const parse = (b: Uint8Array, v = 512) => () => parseLlama2cTokenizer(b, v, name);
  const ok = parseLlama2cTokenizer(t, 512, name);
  assert.equal(ok.maxTokenLength, 7);
  assert.equal(ok.pieces[1], '\n<s>\n');
  assert.equal(ok.pieces[3 + 0x41], '<0x41>');
  assert.equal(ok.pieces[403], ' Once');
  assert.throws(parse(t.subarray(0, t.length - 1)), isErr(TokenizerError, /^tok512\.bin: token 511: expected \d bytes at byte \d+, got \d+ \(file truncated\)/));
  assert.throws(parse(t.subarray(0, t.length - 10)), isErr(TokenizerError, /^tok512\.bin: token 511: expected a \(float32 score, int32 length\) record/));
  assert.throws(parse(t, 511), isErr(TokenizerError, /expected exactly \d+ bytes for 511 tokens .*left over/));
  assert.throws(parse(t, 513), isErr(TokenizerError, /token 512: expected a .*record at byte 6227, got end of file/));
  assert.throws(parse(t.subarray(0, 2)), isErr(TokenizerError, /got 2 bytes/));
  const w = (off: number, f: (dv: DataView) => void) => {
    const b = t.slice();
    f(new DataView(b.buffer));
    return b;
  };
  assert.throws(parse(w(0, (dv) => dv.setInt32(0, 0, true))), isErr(TokenizerError, /max_token_length: expected 1\.\.65536, got 0/));
  assert.throws(parse(w(0, (dv) => dv.setInt32(0, 3, true))), isErr(TokenizerError, /token 0: expected a byte length in 1\.\.max_token_length=3, got 5/));
  assert.throws(parse(w(0, (dv) => dv.setFloat32(4, Infinity, true))), isErr(TokenizerError, /token 0: expected a finite score, got Infinity/));
  assert.throws(parse(w(0, (dv) => dv.setUint8(12, 0xff))), isErr(TokenizerError, /token 0: expected UTF-8 text, got invalid bytes/));
  assert.throws(parse(w(0, (dv) => dv.setInt32(8, -1, true))), isErr(TokenizerError, /token 0: expected a byte length .*got -1/));
  // the llama2.c conventions (ids 0..2) are checked before conversion
  assert.throws(
    () => convertLlama2c(model260(), w(0, (dv) => dv.setUint8(12 + 5 + 8 + 1, 'x'.charCodeAt(0))), { tokenizerFileName: name }),
    isErr(TokenizerError, /^tok512\.bin: token 1: expected "\\n<s>\\n" \(llama2\.c convention\), got "\\nxs>\\n"/),
  );
});

test('llama2c: truncated or corrupted inputs only ever raise typed errors (fast-check)', () => {
  const m = model260();
  const t = tok512Bin();
  fc.assert(
    fc.property(fc.nat(m.length - 1), fc.nat(t.length - 1), fc.nat(6), fc.integer(), (cutModel, cutTok, field, value) => {
      const original = new DataView(m.buffer, m.byteOffset).getInt32(4 * field, true);
      const cases: [Uint8Array, Uint8Array][] = [
        [m.subarray(0, cutModel), t],
        [m, t.subarray(0, cutTok)],
      ];
      if (value !== original) cases.push([withHeader(m, field, value), t]);
      for (const [mb, tb] of cases) {
        try {
          convertLlama2c(mb, tb);
          assert.fail('expected an error');
        } catch (e) {
          assert.ok(e instanceof SpechubError, `untyped error: ${e}`);
        }
      }
    }),
    { seed: 9, numRuns: 60 },
  );
});

test('llama2c: converted tensors equal the originals bit for bit (q/k after undoing the RoPE permutation)', () => {
  for (const [bin, folder] of [
    [model260(), 'stories260K'],
    [model281(), 'stories281K-draft'],
  ] as const) {
    const o = readLlama2cByHand(bin);
    const st = readSafetensors(readBytes(`${WEIGHTS}${folder}/model.safetensors`));
    assert.deepEqual(st.metadata, { format: 'pt' });
    const expectNames = ['model.embed_tokens.weight'];
    for (let l = 0; l < o.L; l++) {
      for (const n of ['input_layernorm', 'self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'post_attention_layernorm', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']) {
        expectNames.push(`model.layers.${l}.${n}.weight`);
      }
    }
    expectNames.push('model.norm.weight'); // tied: no lm_head.weight
    assert.deepEqual(st.order, expectNames);
    const get = (n: string, shape: number[]) => {
      const t = st.tensors.get(n)!;
      assert.deepEqual(t.shape, shape, n);
      return t.data;
    };
    const lay = (a: Float32Array, l: number, n: number) => a.subarray(l * n, (l + 1) * n);
    assertBitsEqual(get('model.embed_tokens.weight', [o.V, o.dim]), o.w.emb, 'embed');
    assertBitsEqual(get('model.norm.weight', [o.dim]), o.w.rmsFinal, 'norm');
    for (let l = 0; l < o.L; l++) {
      const p = `model.layers.${l}.`;
      assertBitsEqual(get(p + 'input_layernorm.weight', [o.dim]), lay(o.w.rmsAtt, l, o.dim), p + 'in');
      assertBitsEqual(get(p + 'post_attention_layernorm.weight', [o.dim]), lay(o.w.rmsFfn, l, o.dim), p + 'post');
      const q = get(p + 'self_attn.q_proj.weight', [o.dim, o.dim]);
      const k = get(p + 'self_attn.k_proj.weight', [o.kv, o.dim]);
      assertBitsEqual(hfUnpermute(q, o.nH, o.hd, o.dim), lay(o.w.wq, l, o.dim * o.dim), p + 'q');
      assertBitsEqual(hfUnpermute(k, o.nKv, o.hd, o.dim), lay(o.w.wk, l, o.kv * o.dim), p + 'k');
      // and the permutation really moved rows (a no-op would pass the line above only if hfUnpermute were one too)
      assert.notDeepEqual(q.subarray(o.dim, 2 * o.dim), lay(o.w.wq, l, o.dim * o.dim).subarray(o.dim, 2 * o.dim));
      assertBitsEqual(get(p + 'self_attn.v_proj.weight', [o.kv, o.dim]), lay(o.w.wv, l, o.kv * o.dim), p + 'v');
      assertBitsEqual(get(p + 'self_attn.o_proj.weight', [o.dim, o.dim]), lay(o.w.wo, l, o.dim * o.dim), p + 'o');
      assertBitsEqual(get(p + 'mlp.gate_proj.weight', [o.hidden, o.dim]), lay(o.w.w1, l, o.hidden * o.dim), p + 'gate');
      assertBitsEqual(get(p + 'mlp.down_proj.weight', [o.dim, o.hidden]), lay(o.w.w2, l, o.dim * o.hidden), p + 'down');
      assertBitsEqual(get(p + 'mlp.up_proj.weight', [o.hidden, o.dim]), lay(o.w.w3, l, o.hidden * o.dim), p + 'up');
    }
  }
});

test('llama2c: an unshared classifier (negative vocab_size) becomes lm_head.weight and tie_word_embeddings false', () => {
  const h = { dim: 16, hidden: 24, L: 2, nH: 4, nKv: 2, vocab: -512, seq: 32 };
  const bin = synthCheckpoint(h, 11);
  const out = convertLlama2c(bin, tok512Bin());
  const files = new Map(out.files.map((f) => [f.name, f.bytes]));
  const cfg = JSON.parse(new TextDecoder().decode(files.get('config.json')));
  assert.equal(cfg.tie_word_embeddings, false);
  assert.equal(cfg.vocab_size, 512);
  assert.equal(cfg.head_dim, 4);
  const st = readSafetensors(files.get('model.safetensors')!);
  const o = readLlama2cByHand(bin);
  assert.equal(st.order.at(-1), 'lm_head.weight');
  assertBitsEqual(st.tensors.get('lm_head.weight')!.data, o.w.wcls!, 'lm_head');
  assertBitsEqual(st.tensors.get('model.embed_tokens.weight')!.data, o.w.emb, 'embed');
  // the parser agrees with the hand reader, and permute/unpermute are inverse
  const parsed = parseLlama2cCheckpoint(bin);
  assert.equal(parsed.header.sharedClassifier, false);
  assertBitsEqual(parsed.wcls!, o.w.wcls!, 'wcls');
  assertBitsEqual(unpermuteRopeRows(permuteRopeRows(parsed.wq, 4 * 2, 4, 16), 4 * 2, 4, 16), parsed.wq, 'round trip');
});

test('llama2c: rotate-half RoPE on the permuted wq/wk gives the same q·k scores as interleaved RoPE on the originals', () => {
  const o = readLlama2cByHand(model260());
  const st = readSafetensors(readBytes(`${WEIGHTS}stories260K/model.safetensors`));
  const rng = createRng(42);
  const half = o.hd / 2;
  // llama2.c run.c: for each pair (2i, 2i+1) of a head, freq = 1 / 10000^(2i / headSize)
  const ropeInterleaved = (v: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) rope(v, h * o.hd, o.hd, pos, 10000, 'interleaved');
  };
  const ropeHalf = (v: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++) rope(v, h * o.hd, o.hd, pos, 10000, 'halves');
  };
  const perm = (v: Float64Array, heads: number) => {
    // the HF layout of an interleaved vector: [h, j, i] ← [h, i, j]
    const out = new Float64Array(v.length);
    for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) for (let j = 0; j < 2; j++) out[h * o.hd + j * half + i] = v[h * o.hd + 2 * i + j]!;
    return out;
  };
  let maxRel = 0;
  for (let l = 0; l < o.L; l++) {
    const wq = o.w.wq.subarray(l * o.dim * o.dim, (l + 1) * o.dim * o.dim);
    const wk = o.w.wk.subarray(l * o.kv * o.dim, (l + 1) * o.kv * o.dim);
    const wqHf = st.tensors.get(`model.layers.${l}.self_attn.q_proj.weight`)!.data;
    const wkHf = st.tensors.get(`model.layers.${l}.self_attn.k_proj.weight`)!.data;
    for (let trial = 0; trial < 20; trial++) {
      const x = Float64Array.from({ length: o.dim }, () => rng.next() * 2 - 1);
      const y = Float64Array.from({ length: o.dim }, () => rng.next() * 2 - 1);
      const m = Math.floor(rng.next() * 512);
      const n = Math.floor(rng.next() * 512);
      const q = matvec64(wq, x, o.dim, o.dim);
      const k = matvec64(wk, y, o.kv, o.dim);
      const qh = matvec64(wqHf, x, o.dim, o.dim);
      const kh = matvec64(wkHf, y, o.kv, o.dim);
      ropeInterleaved(q, o.nH, m);
      ropeInterleaved(k, o.nKv, n);
      ropeHalf(qh, o.nH, m);
      ropeHalf(kh, o.nKv, n);
      // exact: the HF vectors are the permuted llama2.c vectors, bit for bit
      assert.deepEqual(qh, perm(q, o.nH));
      assert.deepEqual(kh, perm(k, o.nKv));
      for (let h = 0; h < o.nH; h++) {
        const kvh = Math.floor(h / (o.nH / o.nKv));
        let s1 = 0;
        let s2 = 0;
        for (let i = 0; i < o.hd; i++) {
          s1 += q[h * o.hd + i]! * k[kvh * o.hd + i]!;
          s2 += qh[h * o.hd + i]! * kh[kvh * o.hd + i]!;
        }
        maxRel = Math.max(maxRel, Math.abs(s1 - s2) / Math.max(1e-12, Math.abs(s1)));
      }
    }
  }
  // only the summation order differs
  assert.ok(maxRel < 1e-12, `max relative difference ${maxRel}`);
  // and without the permutation the scores would not match
  const q = matvec64(o.w.wq, Float64Array.from({ length: o.dim }, (_, i) => Math.sin(i)), o.dim, o.dim);
  const q2 = Float64Array.from(q);
  ropeInterleaved(q, o.nH, 7);
  ropeHalf(q2, o.nH, 7);
  assert.notDeepEqual(q, q2);
});

test('llama2c: the converted stories260K, run as a Hugging Face Llama, reproduces llama2.c\'s published greedy output', () => {
  const tok = Tokenizer.fromJson(readFileSync(`${WEIGHTS}stories260K/tokenizer.json`, 'utf8'), readFileSync(`${WEIGHTS}stories260K/tokenizer_config.json`, 'utf8'));
  const cfg = JSON.parse(readFileSync(`${WEIGHTS}stories260K/config.json`, 'utf8')) as HfConfigJson;
  const ref = new RefModel(refWeightsFromHf(cfg, readSafetensors(readBytes(`${WEIGHTS}stories260K/model.safetensors`)).tensors));
  // llama2.c: ./run stories260K.bin -z tok512.bin -t 0.0 -n 200 → 200 positions from BOS
  const ids = ref.greedy([1], 200);
  const expected = readFileSync(`${FIXTURES}llama2c-stories260K-greedy-200.txt`, 'utf8').replace(/\n$/, '');
  assert.equal(tok.decode(ids), expected);
  assert.deepEqual(ids.slice(0, 13), [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421]);
});

test('llama2c: the converted draft (stories281K) and the published 656K give their known greedy tokens', () => {
  const load = (folder: string) =>
    new RefModel(refWeightsFromHf(JSON.parse(readFileSync(`${WEIGHTS}${folder}/config.json`, 'utf8')), readSafetensors(readBytes(`${WEIGHTS}${folder}/model.safetensors`)).tensors));
  assert.deepEqual(load('stories281K-draft').greedy([1], 21), [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410]);
  // the 656K model is native HF layout: this checks the reference forward itself
  assert.deepEqual(load('tinystories-656K').greedy([1, 80, 147, 201, 282, 57, 8], 8).slice(7), [1137, 117, 1513, 101, 87, 1076, 1005, 361]);
});

test('llama2c: config.json and the tokenizer say what the checkpoint says', () => {
  const out = convertLlama2c(model260(), tok512Bin());
  assert.deepEqual(
    out.files.map((f) => f.name),
    ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
  );
  const text = (n: string) => new TextDecoder().decode(out.files.find((f) => f.name === n)!.bytes);
  const cfg = JSON.parse(text('config.json'));
  assert.deepEqual(
    { ...cfg },
    {
      architectures: ['LlamaForCausalLM'],
      attention_bias: false,
      attention_dropout: 0,
      bos_token_id: 1,
      eos_token_id: 2,
      head_dim: 8,
      hidden_act: 'silu',
      hidden_size: 64,
      initializer_range: 0.02,
      intermediate_size: 172,
      max_position_embeddings: 512,
      mlp_bias: false,
      model_type: 'llama',
      num_attention_heads: 8,
      num_hidden_layers: 5,
      num_key_value_heads: 4,
      pad_token_id: null,
      pretraining_tp: 1,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      rope_theta: 10000,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
      use_cache: true,
      vocab_size: 512,
    },
  );
  const tc = JSON.parse(text('tokenizer_config.json'));
  assert.equal(tc.bos_token, '<s>');
  assert.equal(tc.eos_token, '</s>');
  assert.equal(tc.model_max_length, 512);
  assert.equal(tc.clean_up_tokenization_spaces, false);
  // every piece and score equals SentencePiece's own text vocab of tok512 (tok512.vocab: piece \t score)
  const tj = JSON.parse(text('tokenizer.json'));
  const vocabLines = readFileSync(`${L2C}tok512.vocab`, 'utf8').split('\n').filter((l) => l.length > 0);
  assert.equal(vocabLines.length, 512);
  const vocab = tj.model.vocab as Record<string, number>;
  assert.equal(Object.keys(vocab).length, 512);
  const raw = parseLlama2cTokenizer(tok512Bin(), 512);
  vocabLines.forEach((line, id) => {
    const [piece, score] = line.split('\t') as [string, string];
    assert.equal(vocab[piece], id, `id ${id}: ${JSON.stringify(piece)}`);
    assert.equal(raw.scores[id], Number(score));
  });
  // and the file lists the vocabulary in id order (JSON.parse would reorder integer-like keys, so read the text)
  const vocabBlock = text('tokenizer.json').split('"vocab": {')[1]!.split('"merges"')[0]!;
  const order = [...vocabBlock.matchAll(/^ {6}("(?:[^"\\]|\\.)*"): (\d+),?$/gm)].map((m) => [JSON.parse(m[1]!), Number(m[2])]);
  assert.deepEqual(order, vocabLines.map((l, id) => [l.split('\t')[0], id]));
  assert.equal(tj.model.byte_fallback, true);
  assert.equal(tj.model.unk_token, '<unk>');
  assert.deepEqual(
    tj.added_tokens.map((t: any) => [t.id, t.content, t.special, t.normalized]),
    [
      [0, '<unk>', true, false],
      [1, '<s>', true, false],
      [2, '</s>', true, false],
    ],
  );
});

test('llama2c: re-running the converter on the fixtures reproduces the shipped files byte for byte', async () => {
  for (const [bin, folder] of [
    ['stories260K.bin', 'stories260K'],
    ['stories281K.bin', 'stories281K-draft'],
  ] as const) {
    const out = convertLlama2c(readBytes(L2C + bin), tok512Bin());
    for (const f of out.files) assert.equal(sha256(f.bytes), sha256(readBytes(`${WEIGHTS}${folder}/${f.name}`)), `${folder}/${f.name}`);
    // the Node wrapper writes the same bytes and reports progress
    const dir = mkdtempSync(join(tmpdir(), 'spechub-convert-'));
    try {
      const lines: string[] = [];
      const res = await convertLlama2cFiles(L2C + bin, L2C + 'tok512.bin', join(dir, 'out'), { log: (l) => lines.push(l) });
      assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      for (const f of res.files) assert.equal(f.sha256, sha256(readBytes(`${WEIGHTS}${folder}/${f.path.split('/').at(-1)}`)));
      assert.ok(lines.some((l) => /dim=64 .*n_layers=5 .*vocab_size=512 \(shared classifier\)/.test(l)), lines.join('\n'));
      assert.equal(lines.filter((l) => l.startsWith('wrote ')).length, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // errors name the offending path (here a tokenizer given as the model: its "header" is absurd)
  await assert.rejects(convertLlama2cFiles(L2C + 'tok512.bin', L2C + 'tok512.bin', join(tmpdir(), 'never-written')), isErr(ConfigError, /llama2c\/tok512\.bin: hidden_dim: expected/));
});

test('weights: every shipped file is listed in weights/README.md with its size and sha256', () => {
  const readme = readFileSync(`${WEIGHTS}README.md`, 'utf8');
  const rows = new Map<string, { bytes: number; sha: string }>();
  for (const m of readme.matchAll(/^\| `([^`]+)` \| ([\d,]+) \| `([0-9a-f]{64})` \|/gm)) rows.set(m[1]!, { bytes: Number(m[2]!.replaceAll(',', '')), sha: m[3]! });
  const folders = readdirSync(WEIGHTS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  assert.deepEqual(folders, ['stories260K', 'stories281K-draft', 'tinystories-656K']);
  let n = 0;
  for (const folder of folders) {
    const files = readdirSync(WEIGHTS + folder);
    assert.ok(files.includes('LICENSE'), `${folder} has a LICENSE`);
    for (const f of files) {
      if (f === 'LICENSE' || f === 'NOTICE') continue;
      const row = rows.get(`${folder}/${f}`);
      assert.ok(row, `${folder}/${f} is listed`);
      const b = readBytes(`${WEIGHTS}${folder}/${f}`);
      assert.equal(b.length, row.bytes, `${folder}/${f} size`);
      assert.equal(sha256(b), row.sha, `${folder}/${f} sha256`);
      n++;
    }
  }
  assert.equal(rows.size, n, 'no stale rows');
  // the 656K files are byte-exact copies of the published ones (sha256 from the source listing)
  const published: Record<string, string> = {
    'model.safetensors': '187d0d5e8360d9625e40e0b35ec57d1ef0eea1a60ddcf09412246bed3484852f',
    'config.json': '5d34a34a12acbd8b0d4d8b400cb4ad72e6cdd49673d4b27b5b4c4e93030bc7ee',
    'tokenizer.json': '9a7917d490ac034a4e69eb081096226971887e9e66b0969355421613f62b12e7',
    'tokenizer_config.json': 'b41898ab69aa46f6bd13416e9662542e056d0727d565bac0e6552efc08438809',
    'special_tokens_map.json': 'e530a890d28bf0c1e0dfc61b480231d59501cbd3d177ec82bf74547110239175',
    'generation_config.json': 'e7837bdba54a36255e4328e034076648ed8a8ca617d7a979a29158191cce6318',
  };
  for (const [f, sha] of Object.entries(published)) assert.equal(sha256(readBytes(`${WEIGHTS}tinystories-656K/${f}`)), sha, f);
  // and the llama2.c originals the converted folders come from
  assert.equal(sha256(model260()), 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696');
  assert.equal(sha256(model281()), 'b1e0376c2456e18f294ffe062a2b44e5cb2e207c8aa53538209d2689122ea641');
  assert.equal(sha256(tok512Bin()), '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312');
});
