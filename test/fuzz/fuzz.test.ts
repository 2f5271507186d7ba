// The seeded slice of the fuzz suite that every `npm test` runs: 2,000 mutated files per format
// (safetensors, GGUF, config.json, tokenizer.json) through the real loaders and a short generation,
// in worker threads with a per-case timeout. Any crash, hang, leak, silent non-finite output, bad
// error message or unwarned NumericError fails it, naming the case to replay with
// `npm run fuzz -- <target> --seed 11 --replay <index>`. (`npm run fuzz -- --cases 100000 --verify-cases 30000`
// is the full run; `npm run fuzz -- --help` lists the targets and sizes.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { countsTable, runTarget } from './runner.js';
import { FILE_TARGETS, TARGET_NAMES } from './targets/index.js';
import { FAILURE_CLASSES } from './types.js';

const SEED = 11;
const CASES = 2000;

describe('fuzz (seeded CI slice)', () => {
  for (const name of FILE_TARGETS) {
    test(`${name}: ${CASES} mutated cases (seed ${SEED}) end in a typed one-line error naming the file, or load and generate finite output; no crash, hang or leak`, async (t) => {
      const s = await runTarget({ target: name, cases: CASES, seed: SEED, workers: Math.min(2, availableParallelism()), timeoutMs: 30_000 });
      t.diagnostic(countsTable([s]).split('\n').slice(2).join(''));
      const failures = s.failures.map((f) => `${f.report.class} #${f.index}: ${f.report.mutation} ${f.report.error?.message ?? ''} ${f.report.detail ?? ''}`);
      assert.deepEqual(failures, [], `replay with: npm run fuzz -- ${name} --seed ${SEED} --replay <index>`);
      for (const c of FAILURE_CLASSES) assert.equal(s.counts[c], 0, c);
      assert.equal(Object.values(s.counts).reduce((a, b) => a + b, 0), CASES);
      // not vacuous: the mutations reach both the error paths and the loading-and-generating path
      assert.ok(s.counts.typed >= CASES / 10, `typed errors: ${s.counts.typed}`);
      assert.ok(s.counts.ok >= CASES / 20, `loaded and generated: ${s.counts.ok}`);
    });
  }

  test('the verify target through the runner: 150 cases in worker threads tally their API calls and exact-law checks; --help names every target and the run sizes', async () => {
    const s = await runTarget({ target: 'verify', cases: 150, seed: SEED, workers: Math.min(2, availableParallelism()), timeoutMs: 30_000 });
    for (const c of FAILURE_CLASSES) assert.equal(s.counts[c], 0, c);
    assert.ok(s.counts.typed > 10 && s.counts.ok > 80, countsTable([s]));
    const t = s.tally;
    assert.ok(t.calls! > 10_000 && t['law checks']! > 10 && t['calls typed']! > 10, JSON.stringify(t));
    assert.equal(t['calls ok']! + t['calls typed']!, t.calls, 'every call returned a right answer or a deserved typed error');
    assert.equal(t['wrong laws'], 0);
    const help = spawnSync(process.execPath, [fileURLToPath(new URL('./cli.js', import.meta.url)), '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(help.status, 0, help.stderr);
    for (const name of TARGET_NAMES) assert.match(help.stdout, new RegExp(`^  ${name} +\\S`, 'm'));
    assert.match(help.stdout, /--cases 100000 --verify-cases 30000/);
  });
});
