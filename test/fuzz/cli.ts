/**
 * `npm run fuzz -- [target ...] [--cases N] [--verify-cases N] [--seed S] [--first I] [--workers W]
 *                  [--timeout MS] [--json PATH] [--replay INDEX] [--help]`
 *
 * Runs cases [first, first + N) of each target (default: every target — the four model-file formats
 * and the verifier API — 2,000 cases, seed 1) in W worker threads (default: the core count) with a
 * per-case timeout, prints the counts per target and class, each target's tally (the verify target:
 * API calls by outcome, exact-law checks), every failure with its mutation, the slowest cases and
 * the error classes met, writes the whole summary as JSON (default bench/results/fuzz.json), and
 * exits 1 on any failure (crash, hang, leak, non-finite output, a bad error message, an unwarned
 * NumericError, a wrong answer or law). `--replay INDEX` runs one case of one target in this process
 * and prints its report in full. `--help` lists the targets and the run sizes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { countsTable, failed, runTarget, type TargetSummary } from './runner.js';
import { targetModuleUrl, TARGET_NAMES } from './targets/index.js';
import type { FuzzTarget } from './types.js';

const USAGE = `usage: npm run fuzz -- [${TARGET_NAMES.join('|')} ...] [--cases N] [--verify-cases N] [--seed S] [--first I] [--workers W] [--timeout MS] [--json PATH] [--replay INDEX] [--help]`;

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** The --help text: the targets (from their modules) and the sizes of the CI slice and the full run. */
async function help(): Promise<string> {
  const described = await Promise.all(
    TARGET_NAMES.map(async (name) => {
      const t = ((await import(targetModuleUrl(name).href)) as { target: FuzzTarget }).target;
      return `  ${name.padEnd(12)} ${t.description}`;
    }),
  );
  return [
    USAGE,
    '',
    'Mutated model files through the real loaders and a short generation, and the verifier API on degenerate',
    'distributions, in worker threads with a per-case timeout; exits 1 on any crash, hang, leak, non-finite',
    'output, bad error message, unwarned NumericError or wrong answer.',
    '',
    'targets (default: all, in this order):',
    ...described,
    '',
    'options:',
    '  --cases N          cases per target (default 2000)',
    '  --verify-cases N   cases of the verify target (default: --cases)',
    '  --seed S           seed of the run; case i depends on (target, seed, i) alone (default 1)',
    '  --first I          first case index (default 0): a run can be split or resumed',
    `  --workers W        worker threads (default ${availableParallelism()}, the core count)`,
    '  --timeout MS       per-case timeout; a case past it is a hang (default 20000)',
    '  --json PATH        the summary as JSON (default bench/results/fuzz.json)',
    '  --replay INDEX     run case INDEX of one target in this process, with its report in full',
    '',
    'sizes:',
    '  CI slice (npm test): 2,000 cases per file target, seed 11 (test/fuzz/fuzz.test.ts); the verifier API',
    '    slice is the first 2,000 cases of npm run fuzz:verify (test/fuzz/verify/verify-fuzz.test.ts)',
    '  default:             2,000 cases per target (~100-200 cases/s per target on 2 cores)',
    '  full run (issue 11): --cases 100000 --verify-cases 30000: 100,000 mutated files per format, and about',
    '    1.7 x 10^7 verifier API calls (a case makes 1-60 calls, ~4,000 when it checks its exact law)',
    '  npm run fuzz:verify: the verifier cases in one process with per-method counts (30,000 cases by default)',
  ].join('\n');
}

function int(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isSafeInteger(x) || x < min) usage(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return x;
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        cases: { type: 'string' }, seed: { type: 'string' }, first: { type: 'string' }, workers: { type: 'string' },
        timeout: { type: 'string' }, json: { type: 'string' }, replay: { type: 'string' }, 'verify-cases': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return usage((e as Error).message.split('\n')[0]!);
  }
})();
if (values.help) {
  process.stdout.write(`${await help()}\n`);
  process.exit(0);
}
const targets = positionals.length > 0 ? positionals : [...TARGET_NAMES];
for (const t of targets) if (!TARGET_NAMES.includes(t)) usage(`unknown target "${t}"`);
const seed = int('seed', values.seed, 1, 0);

if (values.replay !== undefined) {
  const index = int('replay', values.replay, 0, 0);
  if (targets.length !== 1) usage('--replay needs exactly one target');
  process.env.SPECHUB_FUZZ_TRACE = '1';
  const target = ((await import(targetModuleUrl(targets[0]!).href)) as { target: FuzzTarget }).target;
  await target.setup();
  const t0 = performance.now();
  const report = await target.runCase(seed, index);
  process.stdout.write(`${JSON.stringify({ target: target.name, seed, index, ms: Math.round(performance.now() - t0), report }, null, 2)}\n`);
  process.exit(0);
}

const cases = int('cases', values.cases, 2000, 1);
const verifyCases = int('verify-cases', values['verify-cases'], cases, 1);
/** Cases of target `name`. */
const casesOf = (name: string) => (name === 'verify' ? verifyCases : cases);
const first = int('first', values.first, 0, 0);
const workers = int('workers', values.workers, availableParallelism(), 1);
const timeoutMs = int('timeout', values.timeout, 20_000, 100);
const jsonPath = values.json ?? 'bench/results/fuzz.json';

process.stdout.write(`spechub fuzz: ${targets.join(', ')}; cases ${first}..${first + cases - 1}${targets.includes('verify') && verifyCases !== cases ? ` (verify: ${first}..${first + verifyCases - 1})` : ''}, seed ${seed}, ${workers} workers, timeout ${timeoutMs} ms\n`);
process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}\n\n`);
const summaries: TargetSummary[] = [];
for (const name of targets) {
  let last = 0;
  const summary = await runTarget({
    target: name, cases: casesOf(name), first, seed, workers, timeoutMs,
    onCase: (done, total) => {
      const now = performance.now();
      if (process.stderr.isTTY && (now - last > 500 || done === total)) {
        last = now;
        process.stderr.write(`\r${name}: ${done}/${total}`);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  summaries.push(summary);
  process.stdout.write(`${name}: ${summary.cases} cases in ${(summary.wallMs / 1000).toFixed(1)} s${failed(summary) ? ' — FAILURES' : ''}\n`);
}

process.stdout.write(`\n${countsTable(summaries)}\n`);
for (const s of summaries) {
  process.stdout.write(`\n${s.target}: errors met: ${Object.entries(s.errorNames).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ') || 'none'}\n`);
  for (const [name, ex] of Object.entries(s.errorExamples)) {
    if (name !== 'WeightsFormatError' && name !== 'ConfigError' && name !== 'TokenizerError') {
      process.stdout.write(`  e.g. ${name} #${ex.index} (${ex.report.mutation.slice(0, 80)}): ${ex.report.error?.message.slice(0, 200)}\n`);
    }
  }
  const tally = Object.entries(s.tally);
  if (tally.length > 0) process.stdout.write(`${s.target}: tally: ${tally.map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  process.stdout.write(`${s.target}: slowest: ${s.slowest.map((c) => `#${c.index} ${Math.round(c.ms)} ms (${c.report.mutation.slice(0, 60)})`).join('; ')}\n`);
  for (const f of s.failures.slice(0, 20)) {
    process.stdout.write(`  ${f.report.class} #${f.index}: ${f.report.mutation}\n    ${f.report.error ? `${f.report.error.name}: ${f.report.error.message.slice(0, 300)}` : ''}${f.report.detail ? ` [${f.report.detail.slice(0, 300)}]` : ''}\n`);
  }
  if (s.failures.length > 20) process.stdout.write(`  … ${s.failures.length - 20} more in ${jsonPath}\n`);
}
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, JSON.stringify({ seed, first, cases, verifyCases, workers, timeoutMs, node: process.version, summaries }, null, 2));
process.stdout.write(`\nJSON: ${jsonPath}\n`);
const anyFailure = summaries.some(failed);
if (anyFailure) process.stdout.write(`replay a case: npm run fuzz -- <target> --seed ${seed} --replay <index>\n`);
process.exit(anyFailure ? 1 : 0);
