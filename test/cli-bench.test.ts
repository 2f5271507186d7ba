// `spechub bench` (src/node/bench.ts through src/cli.ts) on the shipped 260K model with tiny -p/-n and one
// repetition: the output's shape (markdown header and rows, JSON fields), and one-line usage errors with
// exit code 2. No timing is asserted (speed lives in benchmarks): only that every measured rate is a
// positive finite number.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TINY = ['-p', '4', '-n', '3', '-r', '1', '--quiet'];

describe('cli bench', () => {
  test('--help names every flag', () => {
    const r = run('bench', '--help');
    assert.equal(r.code, 0);
    for (const flag of ['--model', '--dtype', '--threads', '--n-prompt', '--n-gen', '--speculative', '--draft', '--repetitions', '--json', '--markdown', '--kv-type']) {
      assert.ok(r.out.includes(flag), `bench --help mentions ${flag}`);
    }
    assert.ok(run('--help').out.includes('spechub bench'), 'the main help lists the bench command');
  });

  test('bad flags and values: one line on stderr, exit code 2, nothing measured', () => {
    for (const args of [
      ['--bogus'],
      ['--threads', '0'],
      ['--threads', '1,x'],
      ['--dtype', 'int3'],
      ['-p', '0'],
      ['-n', '1.5'],
      ['--repetitions', 'many'],
      ['--json', '--markdown'],
      ['--draft', 'int8'],
      ['--speculative', '--draft', 'none'],
      ['--relaxed', 'maybe'],
      ['--kv-type', 'f8'],
      ['extra-positional'],
    ]) {
      const r = run('bench', ...args);
      assert.equal(r.code, 2, `bench ${args.join(' ')}: exit code (stderr: ${r.err})`);
      assert.equal(r.out, '', `bench ${args.join(' ')}: no output`);
      assert.match(r.err, /^spechub: .+\n$/, `bench ${args.join(' ')}: one line`);
    }
  });

  test('JSON: machine, bandwidth, model, and one pp and one tg row per dtype × threads × mode', () => {
    const r = run('bench', '--dtype', 'auto,int8', '--threads', '1', '--speculative', '--json', ...TINY);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(typeof j.machine.cpu, 'string');
    assert.ok(j.machine.cpu.length > 0);
    assert.ok(j.machine.logicalCpus >= 1);
    assert.ok(Number.isFinite(j.machine.bandwidthGBs.oneThread) && j.machine.bandwidthGBs.oneThread > 0);
    assert.match(j.model.path, /stories260K$/);
    assert.equal(j.model.architecture, 'llama');
    assert.ok(j.model.parameters > 200_000 && j.model.parameters < 300_000, `parameters ${j.model.parameters}`);
    assert.deepEqual(j.params, { promptTokens: 4, genTokens: 3, repetitions: 1, dtypes: ['auto', 'int8'], threads: [1], speculative: true, draft: 'int4', kvType: 'f32' });
    const keys = j.rows.map((x: { dtype: string; threads: number; mode: string; test: string }) => `${x.dtype}/${x.threads}/${x.mode}/${x.test}`);
    assert.deepEqual(keys, [
      'auto/1/plain/pp4', 'auto/1/plain/tg3', 'auto/1/speculative/pp4', 'auto/1/speculative/tg3',
      'int8/1/plain/pp4', 'int8/1/plain/tg3', 'int8/1/speculative/pp4', 'int8/1/speculative/tg3',
    ]);
    for (const x of j.rows) {
      assert.ok(Number.isFinite(x.tokensPerSecond) && x.tokensPerSecond > 0, `${x.test}: ${x.tokensPerSecond}`);
      assert.equal(x.samples.length, 1);
      assert.equal(x.tokensPerSecond, x.samples[0]);
      assert.ok(x.weightBytes > 0);
      assert.ok(Number.isFinite(x.loadMs) && x.loadMs > 0, `loadMs ${x.loadMs}`);
    }
    // the stored type vs the asked-for quantisation
    assert.equal(j.rows[0].weightTypes, 'F32');
    assert.equal(j.rows[4].weightTypes, 'Q8_0');
    const specTg = j.rows.filter((x: { mode: string; test: string }) => x.mode === 'speculative' && x.test === 'tg3');
    for (const x of specTg) {
      assert.equal(x.draft, 'int4');
      assert.ok(x.tokensPerStep >= 1, `tokens per step ${x.tokensPerStep}`);
      assert.equal(typeof x.tree, 'string');
    }
  });

  test('markdown (the default): CPU and bandwidth in the header, one table row per test', () => {
    const r = run('bench', '--threads', '1,2', '--kv-type', 'f16', ...TINY);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^- CPU: .+ \(\d+ logical CPUs\)/);
    assert.match(lines[1]!, /^- Measured read bandwidth \(WebAssembly\): \d+\.\d GB\/s on 1 thread/);
    assert.match(lines[2]!, /^- Model: .*stories260K \(llama, 0\.26 M parameters/);
    assert.match(lines[3]!, /; KV cache f16$/);
    const table = lines.filter((l) => l.startsWith('|'));
    assert.match(table[0]!, /^\| dtype +\| weights +\| size MiB \| load ms \| threads \| mode +\| test \| +t\/s \|/);
    assert.match(table[1]!, /^\|[-:|]+\|$/);
    const rows = table.slice(2).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    assert.deepEqual(rows.map((c) => `${c[4]}/${c[5]}/${c[6]}`), ['1/plain/pp4', '1/plain/tg3', '2/plain/pp4', '2/plain/tg3']);
    for (const c of rows) assert.ok(Number(c[7]) > 0, `t/s cell ${c[7]}`);
    for (const c of rows) assert.ok(Number(c[3]) >= 1, `load ms cell ${c[3]}`);
    assert.equal(r.err, '', '--quiet: nothing on stderr');
  });
});
