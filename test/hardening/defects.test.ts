// Issue 11 (hardening): one regression test per defect found by the fault campaign, named after it.
// Defects 1 and 2 are tested beside the code that fixed them ("defect 1: …" in
// test/engine/contexts.test.ts, "defect 2: …" in test/model/memory-plan.test.ts, which also has a
// "defect 10: …" for the library paths); everything else is here. `node scripts/run-tests.mjs defect`
// runs them all.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime, fsModelSource, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { loadGgufModel, loadHfModel, type LoadedModel } from '../../src/engine/load.js';
import { Generator } from '../../src/engine/generate.js';
import { ConfigError, InvalidArgumentError, MemoryPlanError, NumericError, SpechubError, TokenizerError, WeightsFormatError } from '../../src/errors.js';
import * as errors from '../../src/errors.js';
import { bytesSource, memoryModelSource } from '../../src/io/source.js';
import { describeJson, jsonDepthProblem, MAX_JSON_DEPTH } from '../../src/io/json.js';
import { createRng, type Rng } from '../../src/rng.js';
import { Tokenizer } from '../../src/tokenizer.js';
import { SafetensorsFile } from '../../src/weights/safetensors.js';
import { ShardedSafetensors } from '../../src/weights/safetensors-index.js';
import { createVerifier } from '../../src/node.js';
import { GgufFile } from '../../src/weights/gguf.js';
import { writeGguf } from '../../src/weights/gguf-writer.js';
import { parseHfConfigDetailed } from '../../src/config.js';
import { mathMethod } from '../../src/verify/methods.js';
import { VERIFIER_NAMES } from '../../src/verify/types.js';
import { exactOutput } from '../verify/oracle.js';
import { SUBNORMAL_CASES } from '../verify/cases.js';
import { sparseSafetensorsHead } from '../model/arch-models.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const MODEL_DIR = join(WEIGHTS_DIR, 'stories260K');
const GGUF = join(ROOT, 'test/fixtures/stories260K.gguf');

const text = (f: string) => readFileSync(join(MODEL_DIR, f), 'utf8');
const bytes = (path: string) => {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
/** The stories260K directory's files, in memory. */
const FILES: Readonly<Record<string, string | Uint8Array>> = {
  'config.json': text('config.json'),
  'tokenizer.json': text('tokenizer.json'),
  'tokenizer_config.json': text('tokenizer_config.json'),
  'model.safetensors': bytes(join(MODEL_DIR, 'model.safetensors')),
};
const DEEP = '['.repeat(5000) + ']'.repeat(5000);

function cli(args: readonly string[], options: { uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, ...options });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `promise` must reject with an instance of `Class` whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, Class: abstract new (...a: never[]) => Error, ...patterns: RegExp[]): Promise<Error> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Class, `expected a ${Class.name}, got ${String(caught)}`);
  for (const p of patterns) assert.match((caught as Error).message, p);
  return caught as Error;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'spechub-defects-'));
}

/** A copy of the stories260K directory (config, tokenizer files) with `model.safetensors` made by `make`. */
function modelDirWith(make: (path: string) => void): string {
  const dir = tempDir();
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(MODEL_DIR, f), join(dir, f));
  make(join(dir, 'model.safetensors'));
  return dir;
}

/** The shipped F32 safetensors with its last weight (model.norm.weight[63]) replaced by `value`. */
function safetensorsWithLast(value: number): Uint8Array {
  const b = (FILES['model.safetensors'] as Uint8Array).slice();
  new DataView(b.buffer).setFloat32(b.length - 4, value, true);
  return b;
}

/** The shipped safetensors with 3e38 in the first 64 weights of layer 4's down projection: enough to overflow f32 at the first token. */
const HUGE_TENSOR = 'model.layers.4.mlp.down_proj.weight';
const huge = await (async () => {
  const b = (FILES['model.safetensors'] as Uint8Array).slice();
  const t = (await SafetensorsFile.open(bytesSource('x', b))).tensors.get(HUGE_TENSOR)!;
  for (let i = 0; i < 64; i++) new DataView(b.buffer).setFloat32(t.offset + 4 * i, 3e38, true);
  return b;
})();
const HUGE_WARNING = `64 weights beyond ±65504 (the f16 range), the largest 3.00e+38 in ${HUGE_TENSOR}: out of any sane range; generation will likely stop with non-finite values`;

/** A safetensors header `header` after its length prefix, no data. */
function rawSafetensors(header: string): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

/**
 * An HF model directory: stories260K's config.json with `patch`, its tokenizer files, and a sparse
 * model.safetensors holding every tensor that config needs (BF16 matrices, F32 vectors, all zeros:
 * only the header is on disk).
 */
function sparseModelDir(patch: Record<string, unknown>): string {
  const json = { ...JSON.parse(text('config.json')), ...patch };
  const { head, dataBytes } = sparseSafetensorsHead(parseHfConfigDetailed(json, 'config.json').config);
  const dir = tempDir();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(MODEL_DIR, f), join(dir, f));
  writeFileSync(join(dir, 'model.safetensors'), head);
  truncateSync(join(dir, 'model.safetensors'), head.length + dataBytes);
  return dir;
}

/** A one-line MemoryPlanError message naming the total need (and its parts) and a way out, and no internal region. */
function assertPlanLine(message: string, way: RegExp): void {
  assert.ok(!message.includes('\n'), `one line: ${message}`);
  assert.match(message, /: (a context )?needs \d+(\.\d+)? [KMGTPE]?i?B: (weights .*, )?KV cache .*, activations .*, scratch .*; /);
  assert.match(message, way);
  assert.doesNotMatch(message, /arena|alloc\(|\bl\d+\.w/);
}

/** An instance of any SpechubError class with `message` (MemoryPlanError also takes its plan). */
function makeError(Class: new (...args: never[]) => SpechubError, message: string): SpechubError {
  if (Class === (errors.MemoryPlanError as unknown)) {
    const plan = { weights: 0, kvCache: 0, activations: 0, scratch: 0, total: 0, capacity: 0 };
    return new errors.MemoryPlanError(message, message, { plan, free: 0, fits: [] });
  }
  return new (Class as new (m: string) => SpechubError)(message);
}

describe('issue 11: defects found by fuzzing', () => {
  test('defect 3: JSON nested 5,000 deep in config.json, tokenizer.json, a safetensors header or the shard index is a typed error naming the file, not a stack overflow', async () => {
    const rt = createNodeRuntime();
    const load = (files: Record<string, string | Uint8Array>) => loadHfModel(rt, memoryModelSource('m', { ...FILES, ...files }));
    const nested = /expected JSON nested at most 128 levels deep, got deeper nesting at character \d+/;
    await rejectsWith(load({ 'config.json': DEEP }), ConfigError, /^m\/config\.json: /, nested);
    await rejectsWith(load({ 'config.json': text('config.json').replace('"hidden_size": 64', `"hidden_size": ${DEEP}`) }), ConfigError, /^m\/config\.json: /, nested);
    await rejectsWith(load({ 'tokenizer.json': DEEP }), TokenizerError, /^m\/tokenizer\.json: /, nested);
    await rejectsWith(load({ 'tokenizer.json': text('tokenizer.json').replace('"normalizer":', `"normalizer": ${DEEP}, "x":`) }), TokenizerError, /^m\/tokenizer\.json: /, nested);
    await rejectsWith(SafetensorsFile.open(bytesSource('w.safetensors', rawSafetensors(`{"a": ${DEEP}}`))), WeightsFormatError, /^w\.safetensors: header: /, nested);
    const index = memoryModelSource('s', { 'model.safetensors.index.json': `{"weight_map": ${DEEP}}` });
    await rejectsWith(ShardedSafetensors.open(index), WeightsFormatError, /^s\/model\.safetensors\.index\.json: /, nested);
    // the tokenizer library itself overflows the stack on 5,000 nested Sequence normalizers: the
    // guard stops them first, as text and as an already parsed object (a circular one too)
    const tj = JSON.parse(text('tokenizer.json')) as Record<string, unknown>;
    let norm: unknown = tj.normalizer;
    for (let i = 0; i < 5000; i++) norm = { type: 'Sequence', normalizers: [norm] };
    assert.throws(() => Tokenizer.fromJson({ ...tj, normalizer: norm }), (e: unknown) => e instanceof TokenizerError && /nested at most 128 levels deep/.test((e as Error).message));
    const nestedText = text('tokenizer.json').replace(/"normalizer": (\{[^]*?\}),\s*"pre_tokenizer"/, (_, n: string) => `"normalizer": ${'{"type": "Sequence", "normalizers": ['.repeat(5000)}${n}${']}'.repeat(5000)}, "pre_tokenizer"`);
    assert.ok(nestedText.length > 150_000);
    assert.throws(() => Tokenizer.fromJson(nestedText), (e: unknown) => e instanceof TokenizerError && /nested at most 128 levels deep/.test((e as Error).message));
    const circular: Record<string, unknown> = { ...tj };
    circular.normalizer = { type: 'Sequence', normalizers: [circular] };
    assert.throws(() => Tokenizer.fromJson(circular), TokenizerError);
    // the limit is exactly serde_json's: 128 levels pass, 129 do not; strings do not count
    assert.equal(MAX_JSON_DEPTH, 128);
    assert.equal(jsonDepthProblem('['.repeat(128) + ']'.repeat(128)), null);
    assert.match(jsonDepthProblem('['.repeat(129) + ']'.repeat(129)) ?? '', /at character 128$/);
    assert.equal(jsonDepthProblem(`["${'['.repeat(500)}"]`), null);
    // the error describer is bounded and iterative: any depth, any size, circular values
    let deepValue: unknown = 1;
    for (let i = 0; i < 100_000; i++) deepValue = [deepValue];
    assert.equal(describeJson(deepValue), `${'['.repeat(77)}...`);
    assert.equal(describeJson(new Array(1_000_000).fill(7)).length, 80);
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    assert.match(describeJson(loop), /^\{"a":1,"self":\{"a":1,"self":/);
    assert.equal(describeJson({ x: [NaN, -Infinity, 'é\n'] }), '{"x":[NaN,-Infinity,"é\\n"]}');
  });

  test('defect 4: every method is exact on f64 subnormal q and p (rrs-wo gave [.75, .25] and a NaN acceptance for p = [.5, .5, 0], q = [1, 1e-310, 0])', () => {
    const rt = createNodeRuntime();
    for (const name of VERIFIER_NAMES) {
      const v = createVerifier(name, { runtime: rt });
      for (const k of name === 'sd' ? [1] : [1, 2, 3]) {
        for (const c of SUBNORMAL_CASES) {
          const p = Float64Array.from(c.p);
          const q = Float64Array.from(c.q);
          const r = exactOutput(mathMethod(name), p, q, k);
          for (let y = 0; y < p.length; y++) assert.ok(Math.abs(r.out[y]! - p[y]!) < 1e-12, `${name} k=${k} ${c.name}: output law ${Array.from(r.out)} is not p`);
          const alpha = v.acceptance(p, q, k);
          assert.ok(Number.isFinite(alpha) && Math.abs(alpha - r.alpha) < 1e-12, `${name} k=${k} ${c.name}: acceptance ${alpha}, enumerated ${r.alpha}`);
        }
      }
    }
    // the reported case, through the public API: token 1 (q = 1e-310) is emitted half the time
    const v = createVerifier('rrs-wo', { runtime: rt });
    const rng = createRng(4);
    const p = Float64Array.of(0.5, 0.5, 0);
    const q = Float64Array.of(1, 1e-310, 0);
    let ones = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) ones += v.verify(p, q, v.draft(q, 2, rng), rng).token === 1 ? 1 : 0;
    assert.ok(Math.abs(ones / n - 0.5) < 0.02, `token 1 in ${ones} of ${n} draws (the defect gave 25 %)`); // 5.7 sd
  });

  test('defect 5: a FIFO named *.gguf (or model.safetensors) is refused before open, never blocking', async () => {
    const dir = tempDir();
    try {
      const fifo = join(dir, 'model.gguf');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
      const rt = createNodeRuntime();
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('blocked on the FIFO')), 10_000).unref());
      await rejectsWith(Promise.race([loadModelFromPath(rt, fifo), timeout]), WeightsFormatError, new RegExp(`^${fifo}: expected a regular file, got a FIFO \\(named pipe\\)$`));
      const model = modelDirWith((p) => assert.equal(spawnSync('mkfifo', [p]).status, 0));
      try {
        await rejectsWith(Promise.race([loadModelFromPath(rt, model), timeout]), WeightsFormatError, /model\.safetensors: expected a regular file, got a FIFO \(named pipe\)$/);
        // a FIFO swapped in for config.json after the directory check is refused the same way
        rmSync(join(model, 'config.json'));
        assert.equal(spawnSync('mkfifo', [join(model, 'config.json')]).status, 0);
        await rejectsWith(Promise.race([fsModelSource(model).readText('config.json'), timeout]), ConfigError, /config\.json: expected a regular file, got a FIFO/);
      } finally {
        rmSync(model, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('defect 6: 100 failed loads of several kinds give back all their memory; a good model then loads and generates as in a fresh runtime', async () => {
    const rt = createNodeRuntime();
    const used = rt.arena.used;
    const regions = rt.arena.list().length;
    const config = text('config.json');
    let readsLeft = 0;
    /** A weights source whose reads fail after `readsLeft` of them (an I/O error mid-load). */
    const flaky = (b: Uint8Array) => {
      const inner = bytesSource('flaky.safetensors', b);
      return {
        name: 'flaky.safetensors',
        size: b.length,
        async read(offset: number, length: number) {
          if (--readsLeft < 0) throw new WeightsFormatError('flaky.safetensors: read failed (injected)');
          return inner.read(offset, length);
        },
      };
    };
    const kinds: [string, () => Promise<LoadedModel>][] = [
      ['a NaN in the last tensor (after every other weight is packed)', () => loadHfModel(rt, memoryModelSource('m', { ...FILES, 'model.safetensors': safetensorsWithLast(NaN) }))],
      // the context defaults to at most 4096 positions: ask for all of them (the memory plan refuses it)
      ['a KV cache that does not fit 4 GiB', () => loadHfModel(rt, memoryModelSource('m', { ...FILES, 'config.json': config.replace('"max_position_embeddings": 512', '"max_position_embeddings": 16777216') }), { capacity: 16_777_216 })],
      ['a read that fails midway', () => {
        readsLeft = 20;
        const source = memoryModelSource('m', FILES);
        return loadHfModel(rt, { ...source, open: async (f: string) => (f === 'model.safetensors' ? flaky(FILES['model.safetensors'] as Uint8Array) : source.open(f)) });
      }],
      ['weights too large for int8 (packing fails)', () => loadHfModel(rt, memoryModelSource('m', { ...FILES, 'model.safetensors': huge }), { dtype: 'int8' })],
      ['a broken tokenizer (before anything is planned)', () => loadHfModel(rt, memoryModelSource('m', { ...FILES, 'tokenizer.json': '{}' }))],
      ['a capacity beyond the model', () => loadHfModel(rt, memoryModelSource('m', FILES), { capacity: 513 })],
    ];
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const [what, load] = kinds[i % kinds.length]!;
      let caught: unknown = null;
      try {
        await load();
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof SpechubError, `${what}: ${String(caught)}`);
      seen.add(caught.name);
      assert.equal(rt.arena.used, used, `after ${what} (load ${i + 1}), arena memory is back`);
      assert.equal(rt.arena.list().length, regions);
    }
    assert.deepEqual([...seen].sort(), ['InvalidArgumentError', 'MemoryPlanError', 'NumericError', 'TokenizerError', 'WeightsFormatError']);
    const good = await loadHfModel(rt, memoryModelSource('m', FILES));
    const fresh = await loadHfModel(createNodeRuntime(), memoryModelSource('m', FILES));
    const run = async (m: LoadedModel) => (await new Generator(m, { sampling: { temperature: 0.8 } }).generate({ maxTokens: 60, seed: 3 })).text;
    assert.equal(await run(good), await run(fresh));
  });

  test('defect 6: a failed load gives a shared executor its earlier scratch back; loads on one runtime run one at a time', async () => {
    const rt = createNodeRuntime();
    const first = await loadHfModel(rt, memoryModelSource('a', FILES), { maxBatch: 4 });
    const used = rt.arena.used;
    const executor = first.model.exec;
    // a bigger batch grows the executor's scratch during the failed load; afterwards it must not point into freed memory
    await rejectsWith(loadHfModel(rt, memoryModelSource('b', { ...FILES, 'model.safetensors': safetensorsWithLast(NaN) }), { executor, maxBatch: 64 }), WeightsFormatError);
    assert.equal(rt.arena.used, used);
    const other = await loadHfModel(rt, memoryModelSource('c', FILES), { executor, maxBatch: 4 });
    const greedy = async (m: LoadedModel) => Array.from((await new Generator(m, { sampling: { temperature: 0 } }).generate({ maxTokens: 40 })).ids);
    assert.deepEqual(await greedy(first), await greedy(other));
    // two loads started together: the second plans its memory only after the first is done, so
    // the first's release of its staging frees nothing of the second's
    const [x, y] = await Promise.all([loadHfModel(rt, memoryModelSource('x', FILES)), loadHfModel(rt, memoryModelSource('y', FILES))]);
    assert.deepEqual(await greedy(x), await greedy(first));
    assert.deepEqual(await greedy(y), await greedy(first));
  });

  test('defect 7: a tokenizer.json of >= 200,000 entries with an id gap is a one-line TokenizerError naming the gap (no RangeError); without a gap it loads', async () => {
    const tj = JSON.parse(text('tokenizer.json')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number }[] };
    const big = (skip: number) => {
      const vocab = { ...tj.model.vocab };
      for (let i = Object.keys(vocab).length; i < 200_003; i++) if (i !== skip) vocab[`<t${i}>`] = i;
      return { ...tj, model: { ...tj.model, vocab } };
    };
    const one = (e: unknown, pattern: RegExp) => e instanceof TokenizerError && !e.message.includes('\n') && pattern.test(e.message);
    assert.throws(() => Tokenizer.fromJson(big(150_000)), (e) => one(e, /^tokenizer\.json: vocabulary: expected ids 0\.\.200001 without gaps, got no token with id 150000 \(largest id 200002\)$/));
    // an added token past the end makes the gap
    const past = big(-1);
    assert.throws(() => Tokenizer.fromJson({ ...past, added_tokens: [...past.added_tokens, { ...past.added_tokens[0]!, id: 250_000, content: '<far>' }] }), (e) =>
      one(e, /expected ids 0\.\.200003 without gaps, got no token with id 200003 \(largest id 250000\)$/),
    );
    assert.equal(Tokenizer.fromJson(past).vocabSize, 200_003);
    // through a model load: the same error, naming the model's file
    const files = { ...FILES, 'tokenizer.json': JSON.stringify(big(150_000)) };
    await rejectsWith(loadHfModel(createNodeRuntime(), memoryModelSource('m', files)), TokenizerError, /^m\/tokenizer\.json: .*no token with id 150000/);
  });

  test('defect 8: a huge maxTokens allocates by what is produced (bounded by the context), and the CLI takes --max-tokens 1099511627776', async () => {
    const rt = createNodeRuntime();
    const m = await loadHfModel(rt, memoryModelSource('m', FILES), { capacity: 24 });
    const r = await new Generator(m, { sampling: { temperature: 1 } }).generate({ maxTokens: 2 ** 40, seed: 1, stopAtEos: false });
    assert.equal(r.stopReason, 'context');
    assert.equal(r.ids.length, 24); // capacity − prompt (BOS) + 1
    assert.equal(r.ids.buffer.byteLength, 24 * 4);
    const c = cli(['generate', '--max-tokens', '1099511627776', '--max-context', '40', '--draft', 'none', '--quiet', '--seed', '1']);
    assert.equal(c.code, 0, c.err);
    assert.equal(c.err, '');
    assert.ok(c.out.length > 20);
    const bad = cli(['generate', '--max-tokens', '1e300']);
    assert.deepEqual([bad.code, bad.err], [2, 'spechub: --max-tokens: expected an integer >= 0, got "1e300"\n']);
  });

  test('defect 9: generate() checks the Rng it is given: not an Rng, or draws outside [0, 1), are InvalidArgumentErrors; a valid custom Rng changes nothing', async () => {
    const rt = createNodeRuntime();
    const m = await loadHfModel(rt, memoryModelSource('m', FILES));
    const gen = new Generator(m, { sampling: { temperature: 1 } });
    const from = (next: () => unknown): Rng => ({ next, nextU32: () => 0, fork: () => createRng(1), clone: () => createRng(1) }) as unknown as Rng;
    for (const [rng, pattern] of [
      [{}, /generate: rng: expected an Rng \(an object with next\(\); e\.g\. createRng\(seed\)\), got an object without next\(\)/],
      [null, /got null/],
      [42, /got number/],
      [from(() => 1), /generate: rng: expected rng\.next\(\) to return a number in \[0, 1\), got 1$/],
      [from(() => -0.25), /got -0\.25$/],
      [from(() => NaN), /got NaN$/],
      [from(() => 1e9), /got 1000000000$/],
      [from(() => '0.5'), /got "0\.5"$/],
    ] as const) {
      await rejectsWith(gen.generate({ rng: rng as unknown as Rng, maxTokens: 5 }), InvalidArgumentError, pattern);
    }
    // a well-behaved generator of the caller's own: the same text as the built-in one it wraps
    const inner = createRng(5);
    const own: Rng = { next: () => inner.next(), nextU32: () => inner.nextU32(), fork: (s) => inner.fork(s), clone: () => inner.clone() };
    const a = await gen.generate({ rng: own, maxTokens: 50 });
    const b = await gen.generate({ rng: createRng(5), maxTokens: 50 });
    assert.equal(a.text, b.text);
  });

  test('defect 10: every over-memory path is one MemoryPlanError line naming the total need and the way out, exit code 1 from the CLI, never an internal region', async () => {
    // huge dims (hidden 16384, MLP 65536: 7 GiB of BF16 weights in one layer; a sparse file)
    const wide = sparseModelDir({ hidden_size: 16384, intermediate_size: 65536, num_attention_heads: 128, num_key_value_heads: 8, head_dim: 128, num_hidden_layers: 1, max_position_embeddings: 4096 });
    // max_position_embeddings near 2^53 (with stories260K's weights)
    const long = tempDir();
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) copyFileSync(join(MODEL_DIR, f), join(long, f));
    writeFileSync(join(long, 'config.json'), JSON.stringify({ ...JSON.parse(text('config.json')), max_position_embeddings: 2 ** 53 - 1 }));
    try {
      const c1 = cli(['generate', '--model', wide, '--prompt', 'hi', '--threads', '1']);
      assert.equal(c1.code, 1, c1.err);
      assert.match(c1.err, /^spechub: MemoryPlanError: .*: needs 7\.\d+ GiB: weights 7\.\d+ GiB \(auto: BF16\)/);
      assertPlanLine(c1.err.trimEnd(), /; would fit: --dtype \w+ \(\d+\.\d+ GiB in all\)$/);
      const c2 = cli(['generate', '--model', long, '--prompt', 'hi', '--threads', '1', '--max-context', String(2 ** 53 - 1)]);
      assert.equal(c2.code, 1, c2.err);
      assert.match(c2.err, /^spechub: MemoryPlanError: .*KV cache \d+(\.\d+)? EiB \(9007199254740991 positions\)/);
      assertPlanLine(c2.err.trimEnd(), /; would fit: --max-context \d+ \(\d+\.\d+ GiB in all\)$/);
      const c3 = cli(['generate', '--model', long, '--prompt', 'hi', '--threads', '1', '--max-tokens', '3', '--quiet']);
      assert.equal(c3.code, 0, `near 2^53 positions is harmless at the default context: ${c3.err}`);
      // the library: the same message in its own terms (dtype, capacity), also for a context made later
      const rt = createNodeRuntime();
      const e1 = await rejectsWith(loadModelFromPath(rt, wide), MemoryPlanError);
      assertPlanLine(e1.message, /; would fit: dtype '\w+' \(/);
      const e2 = await rejectsWith(loadModelFromPath(rt, long, { capacity: 2 ** 53 - 1 }), MemoryPlanError);
      assertPlanLine(e2.message, /KV cache .* \(9007199254740991 positions\).*; would fit: capacity \d+ \(/);
      const m = await loadModelFromPath(rt, long, { capacity: 64 });
      let e3: unknown = null;
      try {
        m.model.createContext({ capacity: 2 ** 50 });
      } catch (e) {
        e3 = e;
      }
      assert.ok(e3 instanceof MemoryPlanError, String(e3));
      assertPlanLine(e3.message, /\(1125899906842624 positions\).*; would fit: capacity \d+ \(/);
    } finally {
      rmSync(wide, { recursive: true, force: true });
      rmSync(long, { recursive: true, force: true });
    }
  });

  test('defect 11: every error message is one line, whatever it quotes (V8 JSON snippets, file names, user strings), for every error class', async () => {
    const classes = (Object.values(errors) as unknown[]).filter((v) => typeof v === 'function' && v.prototype instanceof SpechubError) as (new (m: string) => SpechubError)[];
    assert.ok(classes.length >= 10);
    for (const Class of classes) {
      const e = makeError(Class, 'a\nb\r\nc\u2028d\u2029e');
      assert.equal(e.message, 'a\\nb\\r\\nc\\u2028d\\u2029e', Class.name);
      assert.ok(e instanceof SpechubError);
    }
    const rt = createNodeRuntime();
    // JSON syntax errors whose V8 message quotes a multi-line snippet, in every JSON file we read
    const broken = '{\n  "a": x,\n  "b": 1\n}';
    const cases: [Promise<unknown>, abstract new (...a: never[]) => Error][] = [
      [loadHfModel(rt, memoryModelSource('m', { ...FILES, 'config.json': broken })), ConfigError],
      [loadHfModel(rt, memoryModelSource('m', { ...FILES, 'generation_config.json': broken })), ConfigError],
      [loadHfModel(rt, memoryModelSource('m', { ...FILES, 'tokenizer.json': broken })), TokenizerError],
      [loadHfModel(rt, memoryModelSource('m', { ...FILES, 'tokenizer_config.json': broken })), TokenizerError],
      [SafetensorsFile.open(bytesSource('w', rawSafetensors(broken))), WeightsFormatError],
      [ShardedSafetensors.open(memoryModelSource('s', { 'model.safetensors.index.json': broken })), WeightsFormatError],
      // a file name with a line break in it
      [loadModelFromPath(rt, '/nonexistent/a\nb'), ConfigError],
    ];
    // a user's string with a line break, quoted in a message
    const model = await loadHfModel(rt, memoryModelSource('m', FILES));
    assert.throws(() => new Generator(model, { method: 'spec\nhub' as 'spechub' }), (e: unknown) => e instanceof InvalidArgumentError && e.message.endsWith('got spec\\nhub'));
    for (const [p, Class] of cases) {
      const e = await rejectsWith(p, Class);
      assert.doesNotMatch(e.message, /[\n\r\u2028\u2029]/, e.message);
    }
    const e = await rejectsWith(cases[0]![0], ConfigError);
    assert.equal(e.message, `m/config.json: expected valid JSON, got a syntax error (Unexpected token 'x', "{\\n  "a": x,\\n  "b": "... is not valid JSON)`);
  });

  test('defect 12: an unreadable directory, a FIFO, a symlink loop or a dangling link in place of model.safetensors each get their own message', async () => {
    const dirs: string[] = [];
    try {
      // an unreadable directory: run the CLI as an unprivileged user (root reads through chmod 000)
      const unreadable = modelDirWith((p) => copyFileSync(join(MODEL_DIR, 'model.safetensors'), p));
      dirs.push(unreadable);
      chmodSync(unreadable, 0o000);
      const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const r = cli(['generate', '--model', unreadable, '--max-tokens', '2'], asUser);
      chmodSync(unreadable, 0o755);
      assert.equal(r.code, 1, r.err);
      assert.equal(r.err, `spechub: ConfigError: ${unreadable}/config.json: cannot read (permission denied, EACCES)\n`);
      const rt = createNodeRuntime();
      const fifo = modelDirWith((p) => assert.equal(spawnSync('mkfifo', [p]).status, 0));
      const loop = modelDirWith((p) => symlinkSync('model.safetensors', p));
      const dangling = modelDirWith((p) => symlinkSync('nowhere.safetensors', p));
      const directory = modelDirWith((p) => mkdirSync(p));
      dirs.push(fifo, loop, dangling, directory);
      await rejectsWith(loadModelFromPath(rt, fifo), WeightsFormatError, /\/model\.safetensors: expected a regular file, got a FIFO \(named pipe\)$/);
      await rejectsWith(loadModelFromPath(rt, loop), WeightsFormatError, /\/model\.safetensors: cannot read \(a loop of symbolic links, ELOOP\)$/);
      await rejectsWith(loadModelFromPath(rt, dangling), WeightsFormatError, /\/model\.safetensors: a symbolic link to a file that does not exist \(dangling link\)$/);
      await rejectsWith(loadModelFromPath(rt, directory), WeightsFormatError, /\/model\.safetensors: expected a regular file, got a directory$/);
      const link = join(tempDir(), 'model');
      dirs.push(join(link, '..'));
      symlinkSync('/nonexistent-model-dir', link);
      await rejectsWith(loadModelFromPath(rt, link), ConfigError, /a symbolic link to nothing \(dangling link\)/);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  test('defect 12: --seed -1 is a seed (as --seed=-1 is), and --temperature 1e-320 is refused before the model loads', () => {
    const a = cli(['generate', '--seed', '-1', '--max-tokens', '12', '--draft', 'none', '--json']);
    const b = cli(['generate', '--seed=-1', '--max-tokens', '12', '--draft', 'none', '--json']);
    assert.equal(a.code, 0, a.err);
    assert.equal(JSON.parse(a.out).seed, -1);
    assert.deepEqual(JSON.parse(a.out).ids, JSON.parse(b.out).ids);
    const t = cli(['generate', '--temperature', '1e-320']);
    assert.deepEqual([t.code, t.err], [2, 'spechub: --temperature: expected 0 (greedy) or a number >= 1e-300, got "1e-320"\n']);
    assert.deepEqual(cli(['generate', '--temperature', '-1']).err, 'spechub: --temperature: expected 0 (greedy) or a number >= 1e-300, got "-1"\n');
    assert.equal(cli(['generate', '--top-k', '-3']).err, 'spechub: --top-k: expected an integer >= 0, got "-3"\n');
  });

  test('defect 13: promptIds must be integer token ids in the vocabulary: nothing is rounded or coerced', async () => {
    const rt = createNodeRuntime();
    const gen = new Generator(await loadHfModel(rt, memoryModelSource('m', FILES)), { sampling: { temperature: 0 } });
    for (const [ids, pattern] of [
      [[1, NaN], /promptIds\[1\]: expected a token id \(an integer in \[0, 512\)\), got NaN$/],
      [[1.5], /promptIds\[0\]: .* got 1\.5$/],
      [[1, -1], /promptIds\[1\]: .* got -1$/],
      [[512], /got 512$/],
      [[1, '2'], /promptIds\[1\]: .* got string$/],
      [[1, null], /got object$/],
      [[], /promptIds is empty/],
      ['1,2', /expected promptIds to be an Int32Array or an array of token ids, got string/],
      [new Float32Array([1]), /got object/],
    ] as const) {
      await rejectsWith(gen.generate({ promptIds: ids as unknown as number[], maxTokens: 3 }), InvalidArgumentError, pattern);
    }
    const a = await gen.generate({ promptIds: [1, 403], maxTokens: 8 });
    const b = await gen.generate({ promptIds: Int32Array.of(1, 403), maxTokens: 8 });
    assert.deepEqual(a.ids, b.ids);
  });

  test('defect 14: the error classes the README documents: invalid UTF-8 in config/tokenizer files, GGUF tokenizer errors naming the file, rrs-wo over budget, non-finite logits exiting 1', async () => {
    const rt = createNodeRuntime();
    const invalid = new Uint8Array([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]); // {"\xc0\xaf":1}
    const utf8 = /expected valid UTF-8 text, got invalid byte sequences$/;
    await rejectsWith(loadHfModel(rt, memoryModelSource('m', { ...FILES, 'config.json': invalid })), ConfigError, /^m\/config\.json: /, utf8);
    await rejectsWith(loadHfModel(rt, memoryModelSource('m', { ...FILES, 'generation_config.json': invalid })), ConfigError, /^m\/generation_config\.json: /, utf8);
    await rejectsWith(loadHfModel(rt, memoryModelSource('m', { ...FILES, 'tokenizer.json': invalid })), TokenizerError, /^m\/tokenizer\.json: /, utf8);
    await rejectsWith(loadHfModel(rt, memoryModelSource('m', { ...FILES, 'tokenizer_config.json': invalid })), TokenizerError, /^m\/tokenizer_config\.json: /, utf8);
    const dir = tempDir();
    try {
      for (const [f, v] of Object.entries(FILES)) writeFileSync(join(dir, f), v);
      writeFileSync(join(dir, 'tokenizer.json'), invalid);
      await rejectsWith(loadModelFromPath(rt, dir), TokenizerError, new RegExp(`^${dir}/tokenizer\\.json: `), utf8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // a GGUF whose embedded tokenizer is broken (a byte token that is not <0xXX>): the error names the file
    const g = await GgufFile.open(bytesSource('x.gguf', bytes(GGUF)));
    const meta = [...g.metadata].map(([k, v]): [string, typeof v] => {
      if (k !== 'tokenizer.ggml.tokens' || v.type !== 'ARRAY') return [k, v];
      const items = [...(v.value.items as string[])];
      items[10] = 'abc'; // token 10 is the byte token <0x07> (type 6)
      return [k, { type: 'ARRAY', value: { itemType: 'STRING', items } }];
    });
    const tensors = await Promise.all([...g.tensors.values()].map(async (t) => {
      const data = new Float32Array(t.elements);
      await g.readTensorF32(t.name, data);
      return { name: t.name, type: 'F32' as const, shape: t.shape, data };
    }));
    const broken = writeGguf({ metadata: meta, tensors });
    await rejectsWith(loadGgufModel(rt, bytesSource('broken.gguf', broken)), TokenizerError, /^broken\.gguf: /, /tokenizer\.ggml\.tokens\[10\]: expected "<0xXX>" for a byte token/);
    // rrs-wo exact acceptance beyond its budget: an argument problem, as for every verifier
    const p = new Float64Array(64).fill(1 / 64);
    assert.throws(() => createVerifier('rrs-wo', { runtime: rt }).acceptance(p, p, 6), InvalidArgumentError);
    // non-finite logits: a NumericError naming the model, exit code 1 (a bad model), not 2 (usage)
    const hugeDir = modelDirWith((path) => writeFileSync(path, huge));
    try {
      const r = cli(['generate', '--model', hugeDir, '--max-tokens', '3', '--draft', 'none', '--quiet']);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, new RegExp(`\nspechub: NumericError: generate: ${hugeDir} produced non-finite values at position 1, so no token can be drawn \\(loading warned: 64 weights beyond`));
    } finally {
      rmSync(hugeDir, { recursive: true, force: true });
    }
  });

  test('defect 14: the README error table lists every error class with its code and CLI exit code, as the code has them', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `(\w+Error)` \| `(\w+)` \| (.+?) \| (\d) \|$/gm)].map((m) => [m[1]!, m[2]!, Number(m[4])] as const);
    // every SpechubError subclass src/errors.ts exports
    const classes = Object.fromEntries(
      Object.entries(errors).filter(([, v]) => typeof v === 'function' && v.prototype instanceof SpechubError),
    ) as Record<string, new (message: string) => SpechubError>;
    assert.ok(Object.keys(classes).length >= 10);
    assert.deepEqual(rows.map(([name]) => name).sort(), Object.keys(classes).sort());
    for (const [name, code, exit] of rows) {
      const e = makeError(classes[name]!, 'x');
      assert.equal(e.code, code, name);
      assert.equal(exit, name === 'InvalidArgumentError' ? 2 : 1, `${name}: exit code`);
    }
  });

  test('defect 15: a 1,000,000-character prompt is refused before it is encoded; --threads 256 is capped at twice the cores with a warning', async () => {
    const rt = createNodeRuntime();
    const m = await loadHfModel(rt, memoryModelSource('m', FILES));
    let encoded = 0;
    const tokenizer = Object.create(m.tokenizer) as Tokenizer;
    tokenizer.encode = (...args: Parameters<Tokenizer['encode']>) => {
      encoded++;
      return m.tokenizer.encode(...args);
    };
    const gen = new Generator({ ...m, tokenizer });
    await rejectsWith(gen.generate({ prompt: 'Once upon a time '.repeat(58_824), maxTokens: 1 }), InvalidArgumentError, /^generate: the prompt of 1000008 characters has at least \d+ tokens; the context holds 512$/);
    assert.equal(encoded, 0);
    await gen.generate({ prompt: 'Once upon a time', maxTokens: 1 });
    assert.equal(encoded, 1);
    const cores = availableParallelism();
    const r = cli(['generate', '--threads', '256', '--max-tokens', '2', '--draft', 'none', '--quiet']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, `spechub: warning: --threads 256: using ${2 * cores} (twice the ${cores} core${cores === 1 ? '' : 's'} of this machine; more threads only compete for them)\n`);
  });

  test('defect 16: weights far out of range (3e38) load with a warning on the model, which the CLI prints; generation then stops with a NumericError', async () => {
    const rt = createNodeRuntime();
    const m = await loadHfModel(rt, memoryModelSource('m', { ...FILES, 'model.safetensors': huge }));
    assert.deepEqual(m.warnings, [HUGE_WARNING]);
    await rejectsWith(new Generator(m).generate({ maxTokens: 3 }), NumericError, /^generate: m produced non-finite values at position 1, so no token can be drawn \(loading warned: 64 weights beyond/);
    const sane = await loadHfModel(rt, memoryModelSource('m', FILES));
    assert.deepEqual(sane.warnings, []);
    // BF16 weights read as stored (dtype bf16) are checked too: a NaN is refused, a huge one counted
    const gguf = await GgufFile.open(bytesSource('x.gguf', bytes(GGUF)));
    const tensors = await Promise.all([...gguf.tensors.values()].map(async (t) => {
      const data = new Float32Array(t.elements);
      await gguf.readTensorF32(t.name, data);
      if (t.name === 'blk.0.ffn_down.weight') data[5] = 2 ** 100; // exact in bf16
      return { name: t.name, type: 'BF16' as const, shape: t.shape, data: new Uint16Array(new Uint32Array(data.buffer).map((x) => x >>> 16)) };
    }));
    const bf16 = writeGguf({ metadata: [...gguf.metadata], tensors });
    const w = await loadGgufModel(rt, bytesSource('bf16.gguf', bf16), { dtype: 'bf16' });
    assert.equal(w.warnings!.length, 1);
    assert.match(w.warnings![0]!, /^1 weight beyond ±65504 \(the f16 range\), the largest 1\.27e\+30 in blk\.0\.ffn_down\.weight/);
    const nan = tensors.map((t) => (t.name === 'blk.0.ffn_down.weight' ? { ...t, data: t.data.map((x, i) => (i === 5 ? 0x7fc0 : x)) } : t));
    await rejectsWith(loadGgufModel(rt, bytesSource('nan.gguf', writeGguf({ metadata: [...gguf.metadata], tensors: nan })), { dtype: 'bf16' }), WeightsFormatError, /^nan\.gguf: tensor blk\.0\.ffn_down\.weight: element 5 is NaN; expected finite weights$/);
    // and the CLI prints the warning before it fails
    const dir = modelDirWith((p) => writeFileSync(p, huge));
    try {
      const r = cli(['generate', '--model', dir, '--max-tokens', '3', '--draft', 'none', '--quiet']);
      assert.equal(r.code, 1);
      assert.ok(r.err.startsWith(`spechub: warning: ${dir}: ${HUGE_WARNING}\n`), r.err);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
