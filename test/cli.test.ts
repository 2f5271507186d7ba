// The command line as users meet it: spawned as a process, stdout/stderr/exit code checked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { writeGguf, tokenizerGgufMetadata } from '../src/weights/gguf-writer.js';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(...args: string[]) {
  return runWithInput('', ...args);
}

function runWithInput(input: string | Uint8Array, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cli', () => {
  test('--help prints usage with every generate flag; no command is a usage error', () => {
    const r = run('--help');
    assert.equal(r.code, 0);
    for (const flag of ['--model', '--prompt', '--max-tokens', '--temperature', '--top-k', '--top-p', '--seed', '--n', '--json', '--draft', '--verifier', '--tree', '--kv-type']) {
      assert.ok(r.out.includes(flag), `help mentions ${flag}`);
    }
    assert.equal(run().code, 2);
    assert.equal(run('generate', '--help').code, 0);
  });

  test('wrong flags and values get a one-line error and exit code 2', () => {
    for (const args of [
      ['generate', '--bogus'],
      ['generate', '--temperature', 'hot'],
      ['generate', '--temperature', '-1'],
      ['generate', '--top-p', '0'],
      ['generate', '--max-tokens', '2.5'],
      ['generate', '--n', '0'],
      ['generate', '--verifier', 'magic'],
      ['generate', '--tree', '2,x'],
      ['generate', '--tree', 'dynamic:0'],
      ['generate', '--verifier', 'block', '--tree', '2,2'],
      ['generate', '--verifier', 'sd', '--tree', '1,2'],
      ['generate', '--draft', 'exit:9'],
      ['generate', '--threads', '0'],
      ['generate', '--relaxed', 'maybe'],
      ['generate', '--dtype', 'int3'],
      ['generate', '--kv-type', 'q8_0'],
      ['frobnicate'],
    ]) {
      const r = run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.err}`);
      assert.equal(r.err.trim().split('\n').length, 1, `${args.join(' ')}: one line, got ${JSON.stringify(r.err)}`);
      assert.match(r.err, /^spechub: /);
      assert.equal(r.out, '');
    }
  });

  test('a missing model is a clear error (exit 1)', () => {
    const r = run('generate', '--model', '/nonexistent/dir');
    assert.equal(r.code, 1);
    assert.match(r.err, /ConfigError: .*nonexistent/);
  });

  test('greedy plain decoding from BOS prints llama2.c\'s text; stats go to stderr', () => {
    const want = readFileSync(join(ROOT, 'test/fixtures/llama2c-stories260K-greedy-200.txt'), 'utf8');
    const r = run('generate', '--temperature', '0', '--draft', 'none', '--max-tokens', '200');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, want + '\n');
    assert.match(r.err, /200 tokens in .* tok\/s/);
  });

  test('speculative greedy (default: spechub with the shipped draft) prints the same text', () => {
    const want = readFileSync(join(ROOT, 'test/fixtures/llama2c-stories260K-greedy-200.txt'), 'utf8');
    const r = run('generate', '--temperature', '0', '--max-tokens', '200');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, want + '\n');
    assert.match(r.err, /spechub with .*stories281K-draft, tree 2,2,2,2: [\d.]+ tokens\/step/);
  });

  test('--json --n 3: one object per completion, reproducible by seed, independent completions', () => {
    const args = ['generate', '--prompt', 'Once upon a time', '--max-tokens', '30', '--seed', '7', '--n', '3', '--json', '--quiet'];
    const r = run(...args);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    for (const [i, o] of lines.entries()) {
      assert.equal(o.index, i);
      assert.equal(o.seed, 7);
      assert.ok(Array.isArray(o.ids) && o.ids.length > 0 && o.ids.length <= 30);
      assert.equal(typeof o.text, 'string');
      assert.equal(o.stats.generatedTokens, o.ids.length);
      assert.equal(o.stats.method, 'spechub');
    }
    assert.notDeepEqual(lines[0].ids, lines[1].ids);
    const again = run(...args).out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(again.map((o) => [o.ids, o.text]), lines.map((o) => [o.ids, o.text]), 'the same seed reproduces the same output');
    assert.equal(r.err, '', '--quiet prints no stats');
  });

  test('every verifier runs from the CLI with a drafter (early exit, int4 self-draft, a draft model): the stats show it verified', () => {
    const cases = [
      ['sd', '1,1,1', 'exit:2'],
      ['rrs', '2,2', 'int4'],
      ['rrs-wo', '3,1', 'exit:3'],
      ['spechub', '2,2', 'int8'],
      ['k-seq', '2,2,2', 'weights/stories281K-draft'],
      ['block', '1,1,1,1', 'int4'],
      ['traversal', 'dynamic:12', 'weights/stories281K-draft'],
      ['spechub-traversal', '2,2', 'exit:2'],
    ] as const;
    for (const [v, tree, draft] of cases) {
      const r = run('generate', '--verifier', v, '--tree', tree, '--draft', draft, '--max-tokens', '20', '--seed', '1', '--prompt', 'Lily', '--json');
      assert.equal(r.code, 0, `${v} ${draft}: ${r.err}`);
      const o = JSON.parse(r.out.trim());
      assert.ok(o.ids.length > 0 && o.text.length > 0);
      assert.equal(o.stats.method, v, `${v} ${draft}: the verifier that ran`);
      assert.notEqual(o.stats.drafter, 'none');
      assert.equal(o.stats.treeLabel, tree);
      if (!tree.startsWith('dynamic')) {
        assert.deepEqual(o.stats.tree, tree.split(',').map(Number));
        assert.equal(o.stats.acceptancePerLevel.length, o.stats.tree.length);
      } else {
        assert.ok(o.stats.draftNodesPerStep > 1 && o.stats.draftNodesPerStep <= 12);
      }
      assert.ok(o.stats.draftForwards >= o.stats.steps && o.stats.steps > 0, `${v}: ${o.stats.draftForwards} draft forwards over ${o.stats.steps} steps`);
    }
    // the chain methods default to a chain
    const chain = run('generate', '--verifier', 'block', '--max-tokens', '10', '--seed', '1');
    assert.equal(chain.code, 0, chain.err);
    assert.match(chain.err, /tree 1,1,1,1 \(4 drafts\)/);
  });

  test('--threads, --dtype and --relaxed: greedy output unchanged by threads and build; int8 weights run', () => {
    const base = run('generate', '--temperature', '0', '--max-tokens', '60', '--draft', 'none', '--threads', '1', '--quiet');
    const mt = run('generate', '--temperature', '0', '--max-tokens', '60', '--threads', '2', '--relaxed', 'auto');
    assert.equal(mt.code, 0, mt.err);
    assert.equal(mt.out, base.out);
    assert.match(mt.err, /relaxed-mt|simd-mt/);
    const q = run('generate', '--max-tokens', '40', '--dtype', 'int8', '--draft', 'int4', '--seed', '1');
    assert.equal(q.code, 0, q.err);
    assert.match(q.err, /Q8_0 [0-9.]+ MB\]; draft int4/);
    assert.doesNotMatch(q.err, /warning/, 'an int4 draft of an int8 target reads about half its bytes: no warning');
    // a self-draft about as large as its target is said to be pointless (it still runs)
    const same = run('generate', '--max-tokens', '10', '--dtype', 'int4', '--draft', 'int4', '--seed', '1');
    assert.equal(same.code, 0, same.err);
    assert.match(same.err, /spechub: warning: --draft int4: the draft's weights \(Q4_0[^)]*\) are 1\.00× the target's \(Q4_0[^)]*\), and a draft gains only when it is much cheaper than its target: expect no speed-up/);
    // an f16 KV cache (target and draft): greedy speculative = greedy plain on it
    const f16 = run('generate', '--temperature', '0', '--max-tokens', '60', '--draft', 'none', '--kv-type', 'f16', '--quiet');
    assert.equal(f16.code, 0, f16.err);
    const f16spec = run('generate', '--temperature', '0', '--max-tokens', '60', '--kv-type', 'f16', '--quiet');
    assert.equal(f16spec.code, 0, f16spec.err);
    assert.equal(f16spec.out, f16.out);
  });

  test('convert llama2c reproduces the shipped stories260K directory byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spechub-convert-'));
    try {
      const r = run('convert', 'llama2c', join(ROOT, 'test/fixtures/llama2c/stories260K.bin'), join(ROOT, 'test/fixtures/llama2c/tok512.bin'), dir);
      assert.equal(r.code, 0, r.err);
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
        assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(ROOT, 'weights/stories260K', f))), f);
      }
      const bad = run('convert', 'llama2c', join(ROOT, 'test/fixtures/llama2c/tok512.bin'), join(ROOT, 'test/fixtures/llama2c/tok512.bin'), dir);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /tok512\.bin/);
      assert.equal(run('convert', 'gguf', 'a', 'b', 'c').code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tokenize: ids and pieces like llama-tokenize, or JSON; text from --text, --text-file or stdin; --parse-special, --no-bos', () => {
    const help = run('tokenize', '--help');
    assert.equal(help.code, 0);
    for (const flag of ['tokenize', '--text', '--text-file', '--parse-special', '--no-bos', '--json']) assert.ok(help.out.includes(flag), flag);
    const r = run('tokenize', '--text', 'Once upon a time');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "     1 -> '<s>'\n   403 -> ' Once'\n   407 -> ' upon'\n   261 -> ' a'\n   378 -> ' time'\n");
    const json = JSON.parse(run('tokenize', '--text', 'Once 😀', '--json').out);
    assert.deepEqual(json.ids, [1, 403, 410, 243, 162, 155, 131]);
    assert.deepEqual(json.tokens[1], { id: 403, piece: '\u2581Once', text: ' Once' });
    assert.deepEqual(json.tokens[3], { id: 243, piece: '<0xF0>', text: null, bytes: 'f0' });
    assert.equal(json.count, 7);
    assert.match(run('tokenize', '--text', '😀').out, /243 -> '\\xf0'/);
    // special-token strings: text by default, ids with --parse-special; BOS off with --no-bos
    const ids = (...a: string[]) => JSON.parse(run('tokenize', '--json', ...a).out).ids as number[];
    assert.ok(!ids('--text', '<s>x</s>', '--no-bos').includes(1));
    assert.deepEqual(ids('--text', '<s>', '--no-bos', '--parse-special'), [1]);
    assert.deepEqual(ids('--text', 'x\ty', '--no-bos'), ids('--text', 'x\ty').slice(1));
    // standard input and --text-file give the same ids as --text
    const viaStdin = runWithInput('Once upon a time\n', 'tokenize', '--json');
    assert.equal(viaStdin.code, 0, viaStdin.err);
    assert.deepEqual(JSON.parse(viaStdin.out).ids, ids('--text', 'Once upon a time\n'));
    const dir = mkdtempSync(join(tmpdir(), 'spechub-tokenize-'));
    try {
      writeFileSync(join(dir, 'text.txt'), 'Once upon a time');
      assert.deepEqual(ids('--text-file', join(dir, 'text.txt')), [1, 403, 407, 261, 378]);
      writeFileSync(join(dir, 'bad.txt'), Uint8Array.of(0x41, 0xff, 0x42));
      for (const args of [['--text-file', join(dir, 'bad.txt')], ['--text', 'a', '--text-file', join(dir, 'text.txt')], ['--text-file', join(dir, 'missing.txt')], ['--bogus']]) {
        const e = run('tokenize', ...args);
        assert.equal(e.code, 2, args.join(' '));
        assert.equal(e.err.trim().split('\n').length, 1, e.err);
      }
      const noModel = run('tokenize', '--model', join(dir, 'nothing'), '--text', 'x');
      assert.equal(noModel.code, 1);
      assert.match(noModel.err, /ConfigError: .*nothing/);
      const noTokenizer = run('tokenize', '--model', dir, '--text', 'x');
      assert.equal(noTokenizer.code, 1);
      assert.match(noTokenizer.err, /TokenizerError: .*expected tokenizer\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tokenize reads only the tokenizer: a directory of tokenizer files, and a GGUF of metadata without tensors, give the same ids', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spechub-tokenize-'));
    try {
      const fixture = (f: string) => gunzipSync(readFileSync(join(ROOT, 'test/fixtures/tokenizers/smollm2-360m-instruct-resaved', f + '.gz')));
      writeFileSync(join(dir, 'tokenizer.json'), fixture('tokenizer.json'));
      writeFileSync(join(dir, 'tokenizer_config.json'), fixture('tokenizer_config.json'));
      const meta = tokenizerGgufMetadata(fixture('tokenizer.json'), fixture('tokenizer_config.json'));
      writeFileSync(join(dir, 'tokenizer-only.gguf'), writeGguf({ metadata: [['general.architecture', { type: 'STRING', value: 'llama' }], ...meta], tensors: [] }));
      const text = '<|im_start|>user\nHello, world! 12345<|im_end|>';
      for (const parse of [[], ['--parse-special']]) {
        const a = run('tokenize', '--model', dir, '--text', text, '--json', ...parse);
        const b = run('tokenize', '--model', join(dir, 'tokenizer-only.gguf'), '--text', text, '--json', ...parse);
        assert.equal(a.code, 0, a.err);
        assert.equal(b.code, 0, b.err);
        assert.deepEqual(JSON.parse(b.out).ids, JSON.parse(a.out).ids);
        assert.equal(JSON.parse(a.out).ids.includes(1), parse.length > 0);
      }
      const lines = run('tokenize', '--model', dir, '--text', 'Hello world').out;
      assert.equal(lines, " 19556 -> 'Hello'\n   905 -> ' world'\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('config.json fields spechub does not read are printed once to stderr as a warning (also with --quiet); the shipped models have none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spechub-warn-'));
    try {
      cpSync(join(ROOT, 'weights/stories260K'), dir, { recursive: true });
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, my_scale: 3, id2label: { 0: 'a' } }));
      const r = run('generate', '--model', dir, '--draft', 'none', '--max-tokens', '2', '--temperature', '0', '--quiet');
      assert.equal(r.code, 0, r.err);
      const warnings = r.err.split('\n').filter((l) => l.startsWith('spechub: warning:'));
      assert.deepEqual(warnings, [`spechub: warning: ${dir}: config.json fields not read by spechub (they do not change this architecture's math in transformers / llama.cpp): my_scale, id2label`]);
      const shipped = run('generate', '--max-tokens', '2', '--temperature', '0');
      assert.equal(shipped.code, 0, shipped.err);
      assert.ok(!shipped.err.includes('warning'), shipped.err);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
