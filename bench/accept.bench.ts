/**
 * The SpecHub paper's acceptance experiment on our models (issue #4 item 6).
 *
 * Protocol (as the paper's Sequoia harness): prompts from the TinyStories sample truncated to 128
 * tokens; generate until the sequence is 256 tokens long or EOS; top-p 1; temperatures 0.6 and 1.0;
 * full binary trees 2^2 … 2^5 (2, 6, 14, 30 drafts) and a 4-token chain; methods rrs, rrs-wo,
 * spechub (and sd on the chain). Metric: tokens per step = tokens appended / target forward passes
 * (bonus/correction token included), pooled over prompts, with its standard error over prompts;
 * per-level acceptance; wall-clock tokens/s next to plain autoregressive decoding in the same run.
 *
 * Target: stories260K. Drafts: the independently trained stories281K, and an int4 copy of the
 * target (self-drafting). Usage:
 *   npm run bench:accept -- [--prompts N] [--quick] [--json] [--drafts model,int4] [--temps 0.6,1.0]
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../src/node.js';
import { Generator } from '../src/engine/generate.js';
import { modelDrafter } from '../src/engine/drafters.js';
import type { Drafter } from '../src/engine/speculative.js';
import type { LoadedModel } from '../src/engine/load.js';
import { createRng } from '../src/rng.js';
import type { VerifierName } from '../src/verify/types.js';
import { machineInfo, machineMarkdown, markdownTable, writeResults } from './common.js';

const { values } = parseArgs({
  options: {
    prompts: { type: 'string' },
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    drafts: { type: 'string' },
    temps: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run bench:accept -- [--prompts N] [--quick] [--json] [--drafts model,int4] [--temps 0.6,1.0]\n');
  process.exit(0);
}
const quick = values.quick === true;
const nPrompts = Number(values.prompts ?? (quick ? 12 : 100));
const temps = (values.temps ?? '0.6,1.0').split(',').map(Number);
const draftKinds = (values.drafts ?? 'model,int4').split(',');
const log = values.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => process.stdout.write(s + '\n');

const PROMPT_TOKENS = 128;
const TOTAL_TOKENS = 256;
const TREES: { label: string; tree: number[]; methods: VerifierName[] }[] = [
  { label: 'chain 1,1,1,1 (4)', tree: [1, 1, 1, 1], methods: ['sd'] },
  { label: '2^2 (2)', tree: [2], methods: ['rrs', 'rrs-wo', 'spechub'] },
  { label: '2^3 (6)', tree: [2, 2], methods: ['rrs', 'rrs-wo', 'spechub'] },
  { label: '2^4 (14)', tree: [2, 2, 2], methods: ['rrs', 'rrs-wo', 'spechub'] },
  { label: '2^5 (30)', tree: [2, 2, 2, 2], methods: ['rrs', 'rrs-wo', 'spechub'] },
];

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

interface Row {
  draft: string;
  temperature: number;
  tree: string;
  method: VerifierName | 'none';
  tokensPerStep: number;
  stderr: number;
  acceptancePerLevel: number[];
  tokensPerSecond: number;
  speedup: number;
  tokens: number;
  steps: number;
}

async function runConfig(gen: Generator): Promise<{ tps: number; se: number; levels: number[]; tokS: number; tokens: number; steps: number }> {
  let tokens = 0;
  let steps = 0;
  let ms = 0;
  const perPrompt: number[] = [];
  const reached = new Float64Array(8);
  const accepted = new Float64Array(8);
  const base = createRng(17);
  for (let i = 0; i < prompts.length; i++) {
    const promptIds = prompts[i]!;
    const r = await gen.generate({ promptIds, maxTokens: TOTAL_TOKENS - promptIds.length, rng: base.fork(i) });
    const s = r.stats;
    tokens += s.generatedTokens;
    steps += s.steps;
    ms += s.decodeMs;
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
  const depth = gen.stepper.stats.levelReached.length;
  return {
    tps: steps > 0 ? tokens / steps : 0,
    se: Math.sqrt(variance / perPrompt.length),
    levels: Array.from(reached.subarray(0, depth), (x, l) => (x > 0 ? accepted[l]! / x : 0)),
    tokS: (tokens * 1000) / ms,
    tokens,
    steps,
  };
}

const t0 = performance.now();
log(`# bench:accept — SpecHub protocol on stories260K\n`);
log(machineMarkdown(machineInfo('simd'), quick ? 'quick' : 'full'));
log(`prompts: ${prompts.length} TinyStories stories truncated to ${PROMPT_TOKENS} tokens (mean ${(prompts.reduce((a, p) => a + p.length, 0) / prompts.length).toFixed(1)}); generate to ${TOTAL_TOKENS} tokens or EOS; top-p 1; seed 17\n`);

const rows: Row[] = [];
const plainTokS = new Map<number, number>();
for (const temperature of temps) {
  const plain = new Generator(target, { drafter: null, sampling: { temperature } });
  await runConfig(plain); // warm-up (JIT tiers, caches)
  const p = await runConfig(plain);
  plainTokS.set(temperature, p.tokS);
  rows.push({ draft: 'none', temperature, tree: 'plain', method: 'none', tokensPerStep: 1, stderr: 0, acceptancePerLevel: [], tokensPerSecond: p.tokS, speedup: 1, tokens: p.tokens, steps: p.steps });
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

// main table: tokens/step per tree × method, per draft and temperature
for (const d of drafts) {
  for (const temperature of temps) {
    const sel = rows.filter((r) => r.draft === d.label && r.temperature === temperature);
    const cell = (tree: string, m: VerifierName) => {
      const r = sel.find((x) => x.tree === tree && x.method === m);
      return r ? `${r.tokensPerStep.toFixed(2)} ± ${r.stderr.toFixed(2)}` : '–';
    };
    const body = TREES.filter((t) => !t.methods.includes('sd')).map((t) => {
      const rrs = sel.find((x) => x.tree === t.label && x.method === 'rrs')!;
      const wo = sel.find((x) => x.tree === t.label && x.method === 'rrs-wo')!;
      const hub = sel.find((x) => x.tree === t.label && x.method === 'spechub')!;
      return [t.label, cell(t.label, 'rrs'), cell(t.label, 'rrs-wo'), cell(t.label, 'spechub'), (hub.tokensPerStep - rrs.tokensPerStep).toFixed(2), (hub.tokensPerStep - wo.tokensPerStep).toFixed(2)];
    });
    const chain = sel.find((x) => x.method === 'sd')!;
    log(`## draft ${d.label}, T = ${temperature}: tokens per step (± s.e. over prompts)\n`);
    log(markdownTable(['tree (drafts)', 'RRS', 'RRS w/o', 'SpecHub', 'Δ vs RRS', 'Δ vs w/o'], body));
    log(`\nchain 1,1,1,1 with sd: ${chain.tokensPerStep.toFixed(2)} ± ${chain.stderr.toFixed(2)} tokens/step\n`);
  }
}

// per-level acceptance and wall clock
log(`## per-level acceptance and wall-clock speed (plain decoding measured in the same run)\n`);
log(
  markdownTable(
    ['draft', 'T', 'tree', 'method', 'tokens/step', 'acceptance per level', 'tok/s', 'vs plain'],
    rows.map((r) => [
      r.draft,
      r.temperature,
      r.tree,
      r.method,
      r.tokensPerStep.toFixed(3),
      r.acceptancePerLevel.map((a) => a.toFixed(3)).join(' '),
      r.tokensPerSecond.toFixed(0),
      `${r.speedup.toFixed(2)}×`,
    ]),
  ),
);
log(`\ntotal time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const result = { bench: 'accept', machine: machineInfo('simd'), prompts: prompts.length, promptTokens: PROMPT_TOKENS, totalTokens: TOTAL_TOKENS, temps, rows };
const file = writeResults(quick ? 'accept.quick.json' : 'accept.json', result);
if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
else log(`JSON: ${file}`);
