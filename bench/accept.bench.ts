/**
 * The verifier comparison on our models (issue #4 item 6; issue #10 item 4): every method on fixed
 * and dynamic draft trees, tokens per step and tokens per second, with a plot.
 *
 * Protocol (as the SpecHub paper's Sequoia harness): prompts from the TinyStories sample truncated
 * to 128 tokens; generate until the sequence is 256 tokens long or EOS; top-p 1; temperatures 0.6
 * and 1.0. Trees: a 4-token chain (SD, block), full binary trees 2^2 … 2^5 (2, 6, 14, 30 drafts; RRS,
 * RRS w/o, SpecHub, K-SEQ, traversal, SpecHub-traversal) and dynamic trees of 8, 16 and 32 draft
 * nodes (every method; SD and block draw chains). Metric: tokens per step = tokens appended / target
 * forward passes (bonus/correction token included), pooled over prompts, ± its standard error over
 * prompts; draft nodes per step; per-level acceptance; wall-clock tokens/s next to plain
 * autoregressive decoding measured in the same run. Seeds are fixed, so tokens per step is
 * deterministic; tokens/s depends on the machine's load.
 *
 * Target: stories260K. Drafts: the independently trained stories281K, and an int4 copy of the
 * target (self-drafting). Writes bench/results/accept.json and the plot (tokens per step against
 * draft nodes per step): docs/accept-tokens-per-step.svg after a full run, bench/results/ otherwise.
 *   npm run bench:accept -- [--prompts N] [--quick] [--json] [--drafts model,int4] [--temps 0.6,1.0]
 *                           [--methods rrs,traversal,…] [--trees 2^3,dynamic:16,…]
 *                           [--from-json bench/results/accept.json] [--svg PATH]
 * --from-json prints the tables and draws the plot of an earlier run without measuring again.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../src/node.js';
import { Generator } from '../src/engine/generate.js';
import { modelDrafter } from '../src/engine/drafters.js';
import type { Drafter } from '../src/engine/speculative.js';
import type { TreeSpec } from '../src/draft/tree.js';
import { createRng } from '../src/rng.js';
import { METHOD_NAMES, type MethodName } from '../src/verify/types.js';
import { machineInfo, machineMarkdown, markdownTable, writeResults, RESULTS_DIR, type MachineInfo } from './common.js';
import { renderPlot, type Panel, type Series } from './lib/svg-plot.js';

const USAGE =
  'usage: npm run bench:accept -- [--prompts N] [--quick] [--json] [--drafts model,int4] [--temps 0.6,1.0] [--methods m1,m2] [--trees label1,label2] [--from-json FILE] [--svg PATH]';
const { values } = parseArgs({
  options: {
    prompts: { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    drafts: { type: 'string' },
    temps: { type: 'string' },
    methods: { type: 'string' },
    trees: { type: 'string' },
    'from-json': { type: 'string' },
    svg: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
const quick = values.quick === true;
const nPrompts = Number(values.prompts ?? (quick ? 12 : 100));
const saved = values['from-json'] ? (JSON.parse(readFileSync(values['from-json'], 'utf8')) as Saved) : null;
const temps = saved ? saved.temps : (values.temps ?? '0.6,1.0').split(',').map(Number);
const draftKinds = (values.drafts ?? 'model,int4').split(',');
const log = values.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => process.stdout.write(s + '\n');

const LABEL: Record<MethodName, string> = {
  sd: 'SD',
  block: 'block',
  rrs: 'RRS',
  'rrs-wo': 'RRS w/o',
  spechub: 'SpecHub',
  'k-seq': 'K-SEQ',
  traversal: 'traversal',
  'spechub-traversal': 'SpecHub-traversal',
};
/** Column order of the tables (chain methods first, then each node method next to its sequence-level twin). */
const ORDER: MethodName[] = ['sd', 'block', 'rrs', 'traversal', 'rrs-wo', 'spechub', 'spechub-traversal', 'k-seq'];
const TREE_METHODS: MethodName[] = ['rrs', 'rrs-wo', 'spechub', 'k-seq', 'traversal', 'spechub-traversal'];

const PROMPT_TOKENS = 128;
const TOTAL_TOKENS = 256;
const ALL_TREES: { label: string; tree: TreeSpec; methods: MethodName[] }[] = [
  { label: 'chain 1×4', tree: [1, 1, 1, 1], methods: ['sd', 'block'] },
  { label: '2^2', tree: [2], methods: TREE_METHODS },
  { label: '2^3', tree: [2, 2], methods: TREE_METHODS },
  { label: '2^4', tree: [2, 2, 2], methods: TREE_METHODS },
  { label: '2^5', tree: [2, 2, 2, 2], methods: TREE_METHODS },
  { label: 'dynamic:8', tree: { dynamic: 8 }, methods: [...METHOD_NAMES] },
  { label: 'dynamic:16', tree: { dynamic: 16 }, methods: [...METHOD_NAMES] },
  { label: 'dynamic:32', tree: { dynamic: 32 }, methods: [...METHOD_NAMES] },
];
const methodFilter = values.methods ? (values.methods.split(',') as MethodName[]) : null;
for (const m of methodFilter ?? []) if (!METHOD_NAMES.includes(m)) throw new Error(`--methods: expected names from ${METHOD_NAMES.join(', ')}, got ${m}`);
const treeFilter = values.trees ? values.trees.split(',') : null;
for (const t of treeFilter ?? []) if (!ALL_TREES.some((x) => x.label === t)) throw new Error(`--trees: expected labels from ${ALL_TREES.map((x) => x.label).join(', ')}, got ${t}`);
const TREES = ALL_TREES.filter((t) => !treeFilter || treeFilter.includes(t.label))
  .map((t) => ({ ...t, methods: t.methods.filter((m) => (!methodFilter || methodFilter.includes(m)) && (!saved || saved.rows.some((r) => r.tree === t.label && r.method === m))) }))
  .filter((t) => t.methods.length > 0);
const fullRun = saved ? saved.full === true : !quick && values.prompts === undefined && !values.drafts && !values.temps && !methodFilter && !treeFilter;

interface Row {
  draft: string;
  temperature: number;
  tree: string;
  method: MethodName | 'none';
  tokensPerStep: number;
  stderr: number;
  draftNodesPerStep: number;
  acceptancePerLevel: number[];
  tokensPerSecond: number;
  speedup: number;
  tokens: number;
  steps: number;
}

/** What a run writes to bench/results/accept.json (and --from-json reads). */
interface Saved {
  machine: MachineInfo;
  prompts: number;
  temps: number[];
  rows: Row[];
  /** A run of the whole table (every draft, temperature, tree and method on 100 prompts). */
  full?: boolean;
}

/** Runs every configuration; returns the rows. */
async function measure(): Promise<{ rows: Row[]; draftLabels: string[]; promptCount: number; machine: MachineInfo }> {
  const rt = createNodeRuntime();
  const targetPath = join(WEIGHTS_DIR, 'stories260K');
  const target = await loadModelFromPath(rt, targetPath, { maxBatch: 64 });
  const drafts: { kind: string; label: string; drafter: Drafter }[] = [];
  for (const kind of draftKinds) {
    if (kind === 'model') {
      const d = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
      drafts.push({ kind, label: 'stories281K-draft', drafter: modelDrafter(target, d, 'stories281K-draft') });
    } else if (kind === 'int4' || kind === 'int8') {
      const d = await loadModelFromPath(rt, targetPath, { maxBatch: 64, name: `stories260K.${kind}`, dtype: kind } as Parameters<typeof loadModelFromPath>[2]);
      drafts.push({ kind, label: `stories260K ${kind} (self-draft)`, drafter: modelDrafter(target, d, kind) });
    } else {
      throw new Error(`--drafts: expected model, int4 or int8, got ${kind}`);
    }
  }

  // prompts: the first nPrompts stories, BOS + the first 127 tokens of each
  const promptFile = fileURLToPath(new URL('../../bench/data/tinystories-prompts.jsonl', import.meta.url));
  const prompts = readFileSync(promptFile, 'utf8')
    .trim()
    .split('\n')
    .slice(0, nPrompts)
    .map((l) => target.tokenizer.encode(JSON.parse(l).text as string).subarray(0, PROMPT_TOKENS));


  interface RunResult {
    tps: number;
    se: number;
    nodes: number;
    levels: number[];
    tokS: number;
    tokens: number;
    steps: number;
  }

  async function runConfig(gen: Generator): Promise<RunResult> {
    let tokens = 0;
    let steps = 0;
    let ms = 0;
    let nodes = 0;
    const perPrompt: number[] = [];
    const depth = gen.stepper.stats.levelReached.length;
    const reached = new Float64Array(depth);
    const accepted = new Float64Array(depth);
    const base = createRng(17);
    for (let i = 0; i < prompts.length; i++) {
      const promptIds = prompts[i]!;
      const r = await gen.generate({ promptIds, maxTokens: TOTAL_TOKENS - promptIds.length, rng: base.fork(i) });
      const s = r.stats;
      tokens += s.generatedTokens;
      steps += s.steps;
      ms += s.decodeMs;
      nodes += s.draftNodesPerStep * s.steps;
      if (s.steps > 0) perPrompt.push(s.generatedTokens / s.steps);
      // pooled per-level acceptance: weight each prompt's rate by the times the level was reached
      const st = gen.stepper.stats;
      st.levelReached.forEach((x, l) => {
        reached[l]! += x;
        accepted[l]! += st.levelAccepted[l]!;
      });
    }
    const mean = perPrompt.reduce((a, b) => a + b, 0) / perPrompt.length;
    const variance = perPrompt.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, perPrompt.length - 1);
    let used = depth;
    while (used > 0 && reached[used - 1] === 0) used--;
    return {
      tps: steps > 0 ? tokens / steps : 0,
      se: Math.sqrt(variance / perPrompt.length),
      nodes: steps > 0 ? nodes / steps : 0,
      levels: Array.from(reached.subarray(0, used), (x, l) => (x > 0 ? accepted[l]! / x : 0)),
      tokS: (tokens * 1000) / ms,
      tokens,
      steps,
    };
  }

  log(`# bench:accept — verifiers on fixed and dynamic trees, stories260K\n`);
  log(machineMarkdown(machineInfo('simd'), quick ? 'quick' : 'full'));
  log(
    `prompts: ${prompts.length} TinyStories stories truncated to ${PROMPT_TOKENS} tokens (mean ${(prompts.reduce((a, p) => a + p.length, 0) / prompts.length).toFixed(1)}); generate to ${TOTAL_TOKENS} tokens or EOS; top-p 1; seed 17\n`,
  );

  const rows: Row[] = [];
  for (const temperature of temps) {
    const plain = new Generator(target, { drafter: null, sampling: { temperature } });
    await runConfig(plain); // warm-up (JIT tiers, caches)
    const p = await runConfig(plain);
    rows.push({ draft: 'none', temperature, tree: 'plain', method: 'none', tokensPerStep: 1, stderr: 0, draftNodesPerStep: 0, acceptancePerLevel: [], tokensPerSecond: p.tokS, speedup: 1, tokens: p.tokens, steps: p.steps });
    for (const d of drafts) {
      for (const t of TREES) {
        for (const method of t.methods) {
          const gen = new Generator(target, { drafter: d.drafter, method, tree: t.tree, sampling: { temperature } });
          const r = await runConfig(gen);
          rows.push({
            draft: d.label,
            temperature,
            tree: t.label,
            method,
            tokensPerStep: r.tps,
            stderr: r.se,
            draftNodesPerStep: r.nodes,
            acceptancePerLevel: r.levels,
            tokensPerSecond: r.tokS,
            speedup: r.tokS / p.tokS,
            tokens: r.tokens,
            steps: r.steps,
          });
          process.stderr.write('.');
        }
      }
    }
  }
  process.stderr.write('\n');
  return { rows, draftLabels: drafts.map((d) => d.label), promptCount: prompts.length, machine: machineInfo('simd') };
}

const t0 = performance.now();
const { rows, draftLabels, promptCount, machine } = saved
  ? { rows: saved.rows, draftLabels: [...new Set(saved.rows.filter((r) => r.draft !== 'none').map((r) => r.draft))], promptCount: saved.prompts, machine: saved.machine }
  : await measure();

const find = (draft: string, temperature: number, tree: string, m: MethodName) => rows.find((x) => x.draft === draft && x.temperature === temperature && x.tree === tree && x.method === m);
const methodsShown = ORDER.filter((m) => TREES.some((t) => t.methods.includes(m)));
const nodesLabel = (t: (typeof TREES)[number], draft: string, temperature: number) => {
  if (!('dynamic' in t.tree)) return t.label === 'chain 1×4' ? 'chain 1×4 (4)' : `${t.label} (${2 ** Number(t.label.slice(2)) - 2})`;
  const r = rows.filter((x) => x.draft === draft && x.temperature === temperature && x.tree === t.label);
  const lo = Math.min(...r.map((x) => x.draftNodesPerStep));
  const hi = Math.max(...r.map((x) => x.draftNodesPerStep));
  return `${t.label} (${lo.toFixed(1)}–${hi.toFixed(1)})`;
};

// main tables: tokens/step per tree × method, per draft and temperature
const margins: { draft: string; temperature: number; tree: string; pair: string; margin: number }[] = [];
for (const draft of draftLabels) {
  for (const temperature of temps) {
    log(`## draft ${draft}, T = ${temperature}: tokens per step (± s.e. over prompts)\n`);
    const body = TREES.map((t) => [
      nodesLabel(t, draft, temperature),
      ...methodsShown.map((m) => {
        const r = find(draft, temperature, t.label, m);
        return r ? `${r.tokensPerStep.toFixed(2)} ± ${r.stderr.toFixed(2)}` : '–';
      }),
    ]);
    log(markdownTable(['tree (draft nodes/step)', ...methodsShown.map((m) => LABEL[m])], body));
    log('');
    for (const t of TREES) {
      for (const [seq, node] of [['block', 'sd'], ['traversal', 'rrs'], ['spechub-traversal', 'spechub']] as const) {
        const a = find(draft, temperature, t.label, seq);
        const b = find(draft, temperature, t.label, node);
        if (a && b) margins.push({ draft: draft, temperature, tree: t.label, pair: `${LABEL[seq]} − ${LABEL[node]}`, margin: a.tokensPerStep - b.tokensPerStep });
      }
    }
  }
}

// margins of the sequence-level methods over their token-level counterparts
if (margins.length > 0) {
  log(`## sequence-level minus token-level (tokens per step, same tree, draft and temperature)\n`);
  const pairs = [...new Set(margins.map((m) => m.pair))];
  const cells = [...new Set(margins.map((m) => `${m.draft}|${m.temperature}|${m.tree}`))];
  log(
    markdownTable(
      ['draft', 'T', 'tree', ...pairs],
      cells.map((c) => {
        const [draft, temperature, tree] = c.split('|');
        return [
          draft!,
          temperature!,
          tree!,
          ...pairs.map((p) => {
            const m = margins.find((x) => `${x.draft}|${x.temperature}|${x.tree}` === c && x.pair === p);
            return m ? `${m.margin >= 0 ? '+' : ''}${m.margin.toFixed(3)}` : '–';
          }),
        ];
      }),
    ),
  );
  for (const p of pairs) {
    const ms = margins.filter((m) => m.pair === p).map((m) => m.margin);
    log(`\n${p}: ≥ 0 in ${ms.filter((x) => x >= 0).length} of ${ms.length} cells; min ${Math.min(...ms).toFixed(3)}, max ${Math.max(...ms).toFixed(3)}`);
  }
  log('');
}

// wall clock
log(`## wall-clock tokens/s (plain decoding measured in the same run)\n`);
for (const temperature of temps) {
  const plainRow = rows.find((r) => r.method === 'none' && r.temperature === temperature)!;
  log(`T = ${temperature}: plain decoding ${plainRow.tokensPerSecond.toFixed(0)} tokens/s\n`);
  log(
    markdownTable(
      ['draft', 'tree', ...methodsShown.map((m) => LABEL[m])],
      draftLabels.flatMap((draft) =>
        TREES.map((t) => [
          draft,
          t.label,
          ...methodsShown.map((m) => {
            const r = find(draft, temperature, t.label, m);
            return r ? `${r.tokensPerSecond.toFixed(0)}` : '–';
          }),
        ]),
      ),
    ),
  );
  log('');
}

// every row in detail
log(`## every configuration: per-level acceptance, draft nodes per step, speed\n`);
log(
  markdownTable(
    ['draft', 'T', 'tree', 'method', 'tokens/step', 'nodes/step', 'acceptance per level', 'tok/s', 'vs plain'],
    rows.map((r) => [
      r.draft,
      r.temperature,
      r.tree,
      r.method === 'none' ? 'plain' : LABEL[r.method],
      r.tokensPerStep.toFixed(3),
      r.draftNodesPerStep.toFixed(1),
      r.acceptancePerLevel.map((a) => a.toFixed(2)).join(' '),
      r.tokensPerSecond.toFixed(0),
      `${r.speedup.toFixed(2)}×`,
    ]),
  ),
);

// the plot: tokens per step against draft nodes per step, one panel per draft and temperature
const panels: Panel[] = [];
for (const draft of draftLabels) {
  for (const temperature of temps) {
    const series: Series[] = [];
    for (const m of methodsShown) {
      const at = (dyn: boolean) =>
        rows
          .filter((r) => r.draft === draft && r.temperature === temperature && r.method === m && r.tree.startsWith('dynamic') === dyn)
          .map((r) => ({ x: r.draftNodesPerStep, y: r.tokensPerStep }));
      const fixed = at(false);
      const dynamic = at(true);
      if (fixed.length > 0) series.push({ key: m, points: fixed });
      if (dynamic.length > 0) series.push({ key: m, points: dynamic, dashed: true, marker: 'square' });
    }
    panels.push({ title: `${draft}, T = ${temperature}`, series });
  }
}
const svg = renderPlot(panels, {
  title: `Tokens per step against draft nodes per step (stories260K, ${promptCount} TinyStories prompts)`,
  xLabel: 'draft nodes per step (log scale)',
  yLabel: 'tokens per step',
  columns: Math.min(2, panels.length),
  logX: true,
  legend: methodsShown.map((m) => ({ key: m, label: LABEL[m] })),
  notes: ['solid lines and circles: fixed trees (chain 1×4; binary 2^2 … 2^5); dashed lines and squares: dynamic trees (budgets 8, 16, 32)'],
});
const svgPath = values.svg ?? (fullRun ? fileURLToPath(new URL('../../docs/accept-tokens-per-step.svg', import.meta.url)) : join(RESULTS_DIR, quick ? 'accept.quick.svg' : 'accept.svg'));
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(svgPath, svg);

if (saved) {
  log(`\n(from ${values['from-json']}: measured ${machine.date} on ${machine.cpu}; plot: ${svgPath})`);
} else {
  log(`\ntotal time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const result = { bench: 'accept', machine, prompts: promptCount, promptTokens: PROMPT_TOKENS, totalTokens: TOTAL_TOKENS, temps, full: fullRun, rows, margins };
  const file = writeResults(quick ? 'accept.quick.json' : 'accept.json', result);
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else log(`JSON: ${file}\nplot: ${svgPath}`);
}
