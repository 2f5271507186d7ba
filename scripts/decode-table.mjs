#!/usr/bin/env node
/**
 * The README's "Against llama.cpp" table from a bench:decode result: one row per file type × shape
 * with decode and prefill tok/s of both engines at 1 and 2 threads, the ratios, spechub's share of
 * its bandwidth ceiling, and whether the two engines agree on the next token.
 *
 *   node scripts/decode-table.mjs [bench/results/decode.json]
 */
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? new URL('../bench/results/decode.json', import.meta.url);
const d = JSON.parse(readFileSync(path, 'utf8'));
const sig = (x) => (x === null || x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (x) => (x === null || x === undefined ? '—' : `**${x.toFixed(2)}×**`);
const pct = (x) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(0)} %`);
const row = (shape, engine, type, t) => d.decode.find((r) => r.shape === shape && r.engine === engine && r.type === type && r.threads === t);
const pair = (shape, type, t, field, vs) => {
  const s = row(shape, 'spechub', type, t);
  const l = row(shape, 'llama.cpp', type, t);
  if (!s?.ok || !l?.ok) return s?.skipped ?? l?.skipped ?? '—';
  return `${sig(s[field])} / ${sig(l[field])} = ${ratio(s[vs])}`;
};

const types = [...new Set(d.decode.map((r) => r.type))];
const lines = [
  '| type (tensor types in the file) | shape | next token, spechub vs llama.cpp | decode tok/s, 1 thread: spechub / llama.cpp | decode, 2 threads | prefill tok/s, 1 thread | prefill, 2 threads | spechub decode, % of bandwidth ceiling (1 / 2 threads) |',
  '|---|---|---|---|---|---|---|---|',
];
for (const type of types) {
  for (const s of d.shapes) {
    const mix = s.streamed[type] ? Object.entries(s.streamed[type].types).map(([k, n]) => `${n} ${k}`).join(' + ') : '';
    const checks = d.crossChecks.filter((c) => c.shape === s.name && c.type === type);
    const agree = checks.length === 0 ? '—' : checks.every((c) => c.sameTop1) ? `same top-1; largest top-5 Δp ${Math.max(...checks.map((c) => c.maxAbsDp)).toExponential(1)}` : '**top-1 differs**';
    const one = row(s.name, 'spechub', type, 1);
    const two = row(s.name, 'spechub', type, 2);
    lines.push(
      `| ${type} (${mix}) | ${s.name.replace(/-shape$/, '')} | ${agree} | ${pair(s.name, type, 1, 'decodeTokS', 'decodeVsLlamaCpp')} | ${pair(s.name, type, 2, 'decodeTokS', 'decodeVsLlamaCpp')} | ${pair(s.name, type, 1, 'prefillTokS', 'prefillVsLlamaCpp')} | ${pair(s.name, type, 2, 'prefillTokS', 'prefillVsLlamaCpp')} | ${pct(one?.fractionOfCeiling)} / ${pct(two?.fractionOfCeiling)} |`,
    );
  }
}
process.stdout.write(lines.join('\n') + '\n');
