/**
 * npm run fuzz:verify [-- --seed N] [-- --cases N] [-- --case I] [-- --json]
 *
 * The verifier API fuzz (run.ts) at full size: 30 000 seeded cases by default, over 10⁶ API
 * calls. Prints the counts by outcome, method and kind of input, the exact-law checks, and the
 * first failures with the case index that reproduces each (`--case I` runs that case alone).
 * Exits 1 when any call crashed, returned a non-finite or impossible value or an out-of-support
 * token, threw a malformed or unwarranted typed error, or when a law check failed.
 */
import { VERIFIER_NAMES } from '../../../src/verify/types.js';
import { FAILING, OUTCOMES, runVerifierFuzz, type FuzzReport } from './run.js';

function flag(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function int(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz:verify: expected ${name} to be an integer >= 0, got ${v}\n`);
    process.exit(2);
  }
  return n;
}

function table(report: FuzzReport): string {
  const rows: string[] = [];
  const head = ['', ...OUTCOMES];
  rows.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  rows.push(`| all calls | ${OUTCOMES.map((o) => report.counts[o]).join(' | ')} |`);
  for (const m of VERIFIER_NAMES) rows.push(`| ${m} | ${OUTCOMES.map((o) => report.byMethod[m][o]).join(' | ')} |`);
  for (const [input, counts] of Object.entries(report.byInput).sort()) rows.push(`| input: ${input} | ${OUTCOMES.map((o) => counts[o]).join(' | ')} |`);
  return rows.join('\n');
}

const seed = int('--seed', 20261202);
const only = flag('--case');
const first = only !== undefined ? int('--case', 0) : 0;
const cases = only !== undefined ? 1 : int('--cases', 30000);
const json = process.argv.includes('--json');
const log = (s: string) => (json ? process.stderr : process.stdout).write(s + '\n');

log(`fuzz:verify — seed ${seed}, cases ${first} … ${first + cases - 1}`);
const report = runVerifierFuzz({
  seed,
  first,
  cases,
  onProgress: (done, calls) => process.stderr.write(`  ${done} cases, ${calls} calls\n`),
});
log(`\n${report.calls} API calls in ${report.seconds.toFixed(1)} s over ${report.cases} cases\n`);
log(table(report));
log(
  `\nexact laws: ${report.laws.cases} cases (${report.laws.enumerated} also enumerated), ${report.laws.failures} wrong, ` +
    `smallest p-value ${report.laws.smallestPValue.toExponential(2)}; rrs-wo exact acceptances not attempted (over 10⁶ paths): ${report.skippedSlowExact}`,
);
const failing = FAILING.reduce((s, o) => s + report.counts[o], 0);
log(`failing calls: ${failing}; wrong laws: ${report.laws.failures}`);
for (const f of report.failures) log(`  case ${f.index} (${f.method}, V ${f.vocab}, k ${f.k}, input ${f.corruption}) ${f.call}: ${f.outcome}: ${f.detail}`);
if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
process.exit(report.failed > 0 ? 1 : 0);
