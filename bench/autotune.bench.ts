/**
 * npm run bench:autotune [-- --quick] [-- --json] [-- --build simd|relaxed|simd-mt|relaxed-mt] [-- --model PATH]
 *
 * The cost curves `--tree auto` measures at start-up (`measureCosts`): milliseconds of one target
 * forward and of one draft forward by the number of rows verified at once, on the shipped models —
 * stories260K as the target, with the stories281K draft model and with the target's first 2 layers
 * (early exit) as drafters. The baseline is the 1-row forward of the same run: each row of the
 * table gives cost(n) / cost(1), and, as the ceiling for a compute-bound model, cost(n) / (n·cost(1))
 * (1 = exactly linear in rows, as a model whose weights sit in cache is; well below 1 = the
 * memory-bound regime where a tree is nearly free). These are the numbers the tuner weighs against
 * the acceptance it observes; the tests only check the curves' structure (finite, positive,
 * non-decreasing), since timing belongs here. `--model PATH` measures a model of your own instead (up
 * to 16 rows; the drafter is its early exit at a quarter of its layers): what a draft tree of n rows
 * costs that target on this machine.
 */
import { join } from 'node:path';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../src/node.js';
import { measureCosts, type CostCurves } from '../src/engine/autotune.js';
import { earlyExitDrafter, modelDrafter } from '../src/engine/drafters.js';
import type { Drafter } from '../src/engine/speculative.js';
import { machineInfo, machineMarkdown, makeLog, markdownTable, parseBenchArgs, sig, writeResults } from './common.js';

const USAGE = `  --model PATH  a model of your own (GGUF file or model directory) instead of the shipped pair: its
                curves up to 16 rows, with the early exit at a quarter of its layers as the drafter`;
const argv = process.argv.slice(2);
let modelPath: string | null = null;
const mi = argv.findIndex((a) => a === '--model' || a.startsWith('--model='));
if (mi >= 0) {
  modelPath = argv[mi] === '--model' ? argv[mi + 1] ?? '' : argv[mi]!.slice('--model='.length);
  argv.splice(mi, argv[mi] === '--model' ? 2 : 1);
  if (modelPath === '' || modelPath.startsWith('--')) {
    process.stderr.write(`--model: expected a path, got ${modelPath === '' ? 'nothing' : modelPath}\n${USAGE}\n`);
    process.exit(2);
  }
}
const args = parseBenchArgs(argv, USAGE);
const log = makeLog(args);
const MAX_ROWS = modelPath === null ? 64 : 16;
const ROWS = modelPath === null ? [1, 2, 4, 8, 16, 32, 64] : [1, 2, 3, 4, 6, 8, 12, 16];

/** Per-n median over several independent measurements of the curves. */
function medianCurves(all: CostCurves[], pick: (c: CostCurves) => Float64Array): Float64Array {
  const out = new Float64Array(MAX_ROWS + 1);
  for (let n = 1; n <= MAX_ROWS; n++) {
    const xs = all.map((c) => pick(c)[n]!).sort((a, b) => a - b);
    out[n] = xs[xs.length >> 1]!;
  }
  return out;
}

async function main(): Promise<void> {
  const machine = machineInfo(args.build);
  const rt = createNodeRuntime({ build: args.build });
  const target = await loadModelFromPath(rt, modelPath ?? join(WEIGHTS_DIR, 'stories260K'), { maxBatch: MAX_ROWS, capacity: 512 });
  const draft = modelPath === null ? await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: MAX_ROWS }) : null;
  const c = target.config;
  const exitAt = modelPath === null ? 2 : Math.max(1, Math.round(c.nLayers / 4));
  const drafters: [string, Drafter][] = [
    ...(draft ? [['stories281K draft model', modelDrafter(target, draft)] as [string, Drafter]] : []),
    [`early exit, ${exitAt} of ${c.nLayers} layers`, earlyExitDrafter(target, exitAt)],
  ];
  const repeats = args.quick ? 3 : modelPath === null ? 9 : 5;
  const name = modelPath === null ? 'stories260K' : modelPath;
  log(`# bench:autotune — the cost curves of --tree auto\n\n${machineMarkdown(machine, args.quick ? 'quick' : 'full')}`);
  log(`- target ${name} (${c.nLayers} layers, dim ${c.dim}, vocab ${c.vocabSize}; weights ${target.model.dtype === 'auto' ? 'as stored' : target.model.dtype}); ${repeats} measurements of the curves, per-row medians\n`);
  const results: unknown[] = [];
  for (const [label, drafter] of drafters) {
    const runs: CostCurves[] = [];
    for (let r = 0; r < repeats; r++) runs.push(measureCosts(target.model, drafter, MAX_ROWS));
    // validate: what the tuner relies on — finite, positive, non-decreasing, caches rolled back
    for (const c of runs) {
      for (let n = 1; n <= MAX_ROWS; n++) {
        const ok = (x: Float64Array) => Number.isFinite(x[n]!) && x[n]! > 0 && (n === 1 || x[n]! >= x[n - 1]!);
        if (!ok(c.target) || !ok(c.draft)) throw new Error(`bench:autotune: a measured curve is not finite, positive and non-decreasing at ${n} rows`);
      }
    }
    if (target.model.cache.length !== 0 || (draft !== null && draft.model.cache.length !== 0)) throw new Error('bench:autotune: measuring left a cache non-empty');
    const t = medianCurves(runs, (c) => c.target);
    const d = medianCurves(runs, (c) => c.draft);
    const rows = ROWS.map((n) => [
      n,
      sig(t[n]!),
      `${sig(t[n]! / t[1]!)}×`,
      sig(t[n]! / (n * t[1]!)),
      sig(d[n]!),
      `${sig(d[n]! / d[1]!)}×`,
      sig(d[n]! / t[n]!),
    ]);
    log(`## drafter: ${label} (context ${runs[0]!.context} tokens)\n`);
    log(
      markdownTable(
        ['rows', 'target ms', 'target vs 1 row', 'target / linear', 'draft ms', 'draft vs 1 row', 'draft / target'],
        rows,
      ),
    );
    log('');
    results.push({
      drafter: label,
      context: runs[0]!.context,
      rows: ROWS.map((n) => ({ rows: n, targetMs: t[n], draftMs: d[n], targetVsOneRow: t[n]! / t[1]!, targetVsLinear: t[n]! / (n * t[1]!) })),
    });
  }
  const data = { machine, quick: args.quick, model: name, results };
  if (args.json) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
  else log(`wrote ${writeResults(modelPath === null ? 'autotune.json' : 'autotune.model.json', data)}`);
}

await main();
