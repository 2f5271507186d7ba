// The seeded slice of the fuzz suite that every `npm test` runs: 2,000 mutated files per format
// (safetensors, GGUF, config.json, tokenizer.json) through the real loaders and a short generation,
// in worker threads with a per-case timeout. Any crash, hang, leak, silent non-finite output, bad
// error message or unwarned NumericError fails it, naming the case to replay with
// `npm run fuzz -- <target> --seed 11 --replay <index>`. (`npm run fuzz -- --cases 100000` is the full run.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { countsTable, runTarget } from './runner.js';
import { FILE_TARGETS } from './targets/index.js';
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
});
