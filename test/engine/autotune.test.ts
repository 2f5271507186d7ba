// Tree auto-tuning: the candidate set, the expected-tokens model, the choice under cost curves of
// both regimes (memory-bound: flat in rows → deep trees pay; compute-bound: linear → plain wins),
// and generation with tree "auto" staying exact (greedy = plain greedy).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EXPLORE_SHARE, PERIOD_STEPS, TreeTuner, candidateShapes, measureCosts, type CostCurves } from '../../src/engine/autotune.js';
import { dynamicDepth } from '../../src/draft/dynamic.js';
import { newStepStats } from '../../src/engine/speculative.js';
import { treeNodeCount, type TreeSpec } from '../../src/draft/tree.js';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator } from '../../src/engine/generate.js';
import { modelDrafter } from '../../src/engine/drafters.js';

function curves(f: (n: number) => number, d: (n: number) => number, max = 64): CostCurves {
  const target = new Float64Array(max + 1);
  const draft = new Float64Array(max + 1);
  for (let n = 1; n <= max; n++) {
    target[n] = f(n);
    draft[n] = d(n);
  }
  return { target, draft, context: 128 };
}

describe('engine/autotune', () => {
  test('candidates: non-increasing branching, within the node budget, chains only for sd', () => {
    const c = candidateShapes(31, 6, 4);
    assert.ok(c.length > 20);
    for (const s of c) {
      assert.ok(treeNodeCount(s) <= 31 && s.length >= 1 && s.length <= 6);
      for (let i = 1; i < s.length; i++) assert.ok(s[i]! <= s[i - 1]!);
    }
    assert.ok(c.some((s) => s.join(',') === '2,2,2,2'));
    assert.ok(candidateShapes(31, 6, 4, true).every((s) => s.every((k) => k === 1)));
  });

  test('expected tokens per step follow τ = 1 + Σ_d Π_{j≤d} α(k_j) from the counted acceptance', () => {
    const tuner = new TreeTuner(curves(() => 1, () => 0.1), [[2, 2]], false);
    const stats = newStepStats(2, 4);
    stats.reachedByK[2] = 1000;
    stats.acceptedByK[2] = 600;
    const a = tuner.alpha(2, stats);
    assert.ok(Math.abs(a - (600 + 4) / 1004) < 1e-12);
    assert.equal(tuner.alpha(3, stats), 4 / 4, 'no observation yet: optimistic');
    const { tokens, ms } = tuner.evaluate([2, 2], stats);
    assert.ok(Math.abs(tokens - (1 + a + a * a)) < 1e-12);
    assert.ok(Math.abs(ms - (1 + 0.1 + 0.1)) < 1e-12);
  });

  test('memory-bound target (flat cost in rows) and a cheap draft: a deep tree wins', () => {
    const tuner = new TreeTuner(curves((n) => 10 + 0.01 * n, () => 0.5), candidateShapes(64), true);
    const stats = newStepStats(6, 4);
    for (let k = 1; k <= 4; k++) {
      stats.reachedByK[k] = 1000;
      stats.acceptedByK[k] = 700 + 40 * k;
    }
    const c = tuner.choose(stats);
    assert.ok(c.shape.length >= 3, `chose ${c.shape}`);
    assert.ok(c.tokensPerStep > 2.5);
  });

  test('compute-bound target (cost linear in rows) and a draft as costly as the target: plain decoding wins and is never explored', () => {
    const tuner = new TreeTuner(curves((n) => n, (n) => n), candidateShapes(64), true);
    for (let i = 0; i < 100; i++) assert.deepEqual(tuner.choose(null).shape, []);
  });

  test('optimistic start: a tree that could pay is tried at once; after a bad draft is seen, plain wins; it is still tried now and then', () => {
    // trees pay only if α is high
    const tuner = new TreeTuner(curves((n) => 1 + 0.3 * (n - 1), () => 0.2), candidateShapes(64), true);
    assert.ok(tuner.choose(null).shape.length > 0, 'nothing observed yet: a tree is tried');
    const stats = newStepStats(6, 4);
    for (let k = 1; k <= 4; k++) {
      stats.reachedByK[k] = 10000;
      stats.acceptedByK[k] = 500;
    }
    // 8 steps of 1 ms per period (plain decoding's cost here): by the 32nd choice the try of a tree
    // (8 steps of about 1.6 ms) fits the exploration budget
    const shapes = Array.from({ length: 64 }, () => {
      const d = tuner.choose(stats).shape.length;
      for (let s = 0; s < PERIOD_STEPS; s++) tuner.observe(1, 1);
      return d;
    });
    assert.ok(shapes.filter((d) => d === 0).length >= 60);
    assert.ok(shapes.some((d) => d > 0));
    // with no time generated no try fits the budget
    const idle = new TreeTuner(curves((n) => 1 + 0.3 * (n - 1), () => 0.2), candidateShapes(64), true);
    idle.choose(null);
    assert.ok(Array.from({ length: 64 }, () => idle.choose(stats).shape.length).every((d) => d === 0));
  });

  test('dynamic trees are arms judged by measured speed: tried once the model is measured, the fastest kept, the others revisited', () => {
    // memory-bound curves: trees of every size could pay
    const tuner = new TreeTuner(curves((n) => 10 + 0.01 * n, () => 0.5), candidateShapes(64), true, [8, 16, 32], undefined, 1);
    const speed = new Map<string, number>([['dynamic:8', 0.2], ['dynamic:16', 0.4], ['dynamic:32', 0.3]]);
    const label = (t: TreeSpec) => ('dynamic' in t ? `dynamic:${t.dynamic}` : 'model');
    const seen: string[] = [];
    for (let i = 0; i < 80; i++) {
      const c = tuner.choose(null);
      const l = label(c.tree);
      seen.push(l);
      if (l !== 'model') assert.deepEqual(c.shape, []);
      // 8 steps of this period at the arm's speed (the model's pick runs at 0.1 tokens/ms)
      for (let s = 0; s < 8; s++) tuner.observe(1, 1 / (speed.get(l) ?? 0.1));
    }
    assert.deepEqual(seen.slice(0, 2), ['model', 'model'], 'the model arm is measured first');
    for (const d of ['dynamic:8', 'dynamic:16', 'dynamic:32']) assert.equal(seen.slice(2, 8).filter((x) => x === d).length, 2, `${d} tried twice`);
    const late = seen.slice(8);
    assert.ok(late.filter((x) => x === 'dynamic:16').length >= late.length - 4, `the fastest arm wins: ${late.join(' ')}`);
    assert.ok(late.some((x) => x !== 'dynamic:16'), 'slower arms are revisited');
    const rates = tuner.measuredRates;
    assert.ok(Math.abs(rates[2]! - 0.4) < 1e-9 && Math.abs(rates[0]! - 0.1) < 1e-9, `rates ${rates}`);
  });

  test('a dynamic tree whose best case is below the rate already measured is not tried (nor revisited)', () => {
    // a target forward of n rows costs 1 + (n − 1)/2 ms, a draft forward 0.05: plain decoding makes 1 token/ms;
    // a dynamic tree of 16 (32) nodes, a full chain of its depth accepted, would make 17/9.8 = 1.73 (33/18.6 = 1.77)
    // tokens/ms, so both could beat plain decoding, but the model's pick is measured at 2 tokens/ms first
    const tuner = new TreeTuner(curves((n) => 1 + 0.5 * (n - 1), () => 0.05), candidateShapes(64), true, [16, 32], undefined, 1);
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) {
      const c = tuner.choose(null);
      seen.push('dynamic' in c.tree ? `dynamic:${c.tree.dynamic}` : 'model');
      // the model's pick measures 2 tokens per ms
      for (let s = 0; s < 8; s++) tuner.observe(2, 1);
    }
    assert.deepEqual(seen, Array(60).fill('model'), seen.join(' '));
    assert.deepEqual(tuner.measuredRates.slice(1), [0, 0]);
  });

  test('a dynamic tree that cannot beat plain decoding even with every draft accepted is never tried', () => {
    const tuner = new TreeTuner(curves((n) => n, (n) => n), candidateShapes(64), true, [8, 16, 32], undefined, 1);
    for (let i = 0; i < 100; i++) {
      const c = tuner.choose(null);
      assert.deepEqual(c.tree, []);
      tuner.observe(1, 1);
    }
  });

  /** StepStats with `reached` nodes counted at every width 1..4 and a share `alpha` of them continued. */
  function acceptance(alpha: number, reached = 1000, widths = [1, 2, 3, 4]): ReturnType<typeof newStepStats> {
    const stats = newStepStats(6, 4);
    for (const k of widths) {
      stats.reachedByK[k] = reached;
      stats.acceptedByK[k] = Math.round(alpha * reached);
    }
    return stats;
  }
  const label = (t: TreeSpec) => ('dynamic' in t ? `dynamic:${t.dynamic}` : 'model');

  test('a dynamic tree\'s best case uses the counted acceptance: max over depths h of (1 + Σ_{d≤h} α*^d) / (target[N+1] + h·draft[1]), α* = max α(k)', () => {
    const c = curves((n) => 1 + 0.2 * (n - 1), () => 0.05);
    const tuner = new TreeTuner(c, candidateShapes(64), true, [16, 32], undefined, 1);
    // no counts: every draft accepted along a chain of depth D = N (the old best case)
    assert.ok(Math.abs(tuner.dynamicBestCase(16, null) - 17 / (c.target[17]! + 16 * 0.05)) < 1e-12);
    assert.ok(Math.abs(tuner.dynamicBestCase(32, null) - 33 / (c.target[33]! + 32 * 0.05)) < 1e-12);
    // counts: α* is the largest α(k) (with the prior), here at k = 3
    const stats = acceptance(0.5);
    stats.acceptedByK[3] = 700;
    const a = (700 + 4) / (1000 + 4);
    assert.ok(Math.abs(tuner.dynamicAlpha(stats) - a) < 1e-12);
    let expected = 0;
    for (let h = 1; h <= 16; h++) {
      let tokens = 1;
      for (let d = 1; d <= h; d++) tokens += a ** d;
      expected = Math.max(expected, tokens / (c.target[17]! + h * 0.05));
    }
    assert.ok(Math.abs(tuner.dynamicBestCase(16, stats) - expected) < 1e-12, `${tuner.dynamicBestCase(16, stats)} vs ${expected}`);
    assert.ok(expected < 1, 'with α* = 0.7 the 16-node tree cannot beat plain decoding (1 token/ms) on these curves');
    // a width a dynamic tree can use with no counts keeps α* at 1 …
    assert.equal(tuner.dynamicAlpha(acceptance(0.1, 1000, [1, 2, 3])), 1);
    // … unless the method drafts one child per node (sd, block): then only α(1) counts
    const chains = new TreeTuner(c, candidateShapes(64, 6, 4, true), true, [16, 32], 1, 1);
    assert.ok(Math.abs(chains.dynamicAlpha(acceptance(0.1, 1000, [1])) - (100 + 4) / 1004) < 1e-12);
  });

  test('compute-bound target, low counted acceptance: a dynamic tree whose every-draft-accepted best case beats plain decoding is never tried', () => {
    // target forward of n rows: 1 + 0.2 (n − 1) ms; draft 0.05 ms. Every draft accepted, the 16-node tree
    // would make 17 / 5.0 = 3.4 tokens/ms and the 32-node one 33 / 9.0 = 3.7: both beat plain decoding
    // (1 token/ms) and the rate the model arm measures (1 token/ms), so the old rule tried both. The
    // counts say α ≈ 0.1 at every width: at most 1.12 tokens per step, for 4.2+ ms.
    const tuner = new TreeTuner(curves((n) => 1 + 0.2 * (n - 1), () => 0.05), candidateShapes(64), true, [16, 32], undefined, 1);
    const stats = acceptance(0.1);
    const seen: string[] = [];
    for (let i = 0; i < 100; i++) {
      seen.push(label(tuner.choose(stats).tree));
      for (let s = 0; s < 8; s++) tuner.observe(1, 1);
    }
    assert.deepEqual(seen, Array(100).fill('model'), seen.join(' '));
    assert.deepEqual(tuner.measuredRates.slice(1), [0, 0]);
    assert.ok(tuner.dynamicBestCase(16, null) > 3 && tuner.dynamicBestCase(32, null) > 3, 'without counts both could pay');
    assert.ok(tuner.dynamicBestCase(16, stats) < 0.3 && tuner.dynamicBestCase(32, stats) < 0.2);
  });

  test('the same target with high counted acceptance: the dynamic trees are still tried', () => {
    // α ≈ 0.95 at every width: the 16-node tree could make up to 2.3 tokens/ms, the 32-node one 1.8,
    // above the 1 token/ms the model arm measures
    const tuner = new TreeTuner(curves((n) => 1 + 0.2 * (n - 1), () => 0.05), candidateShapes(64), true, [16, 32], undefined, 1);
    const stats = acceptance(0.95);
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const l = label(tuner.choose(stats).tree);
      seen.push(l);
      for (let s = 0; s < 8; s++) tuner.observe(1, l === 'model' ? 1 : 2);
    }
    assert.deepEqual(seen.slice(0, 6), ['model', 'model', 'dynamic:16', 'dynamic:16', 'dynamic:32', 'dynamic:32'], seen.join(' '));
    assert.ok(Math.abs(tuner.measuredRates[1]! - 0.5) < 1e-9 && Math.abs(tuner.measuredRates[2]! - 0.5) < 1e-9);
    assert.ok(tuner.dynamicBestCase(16, stats) > 2.2 && tuner.dynamicBestCase(32, stats) > 1.7);
  });

  test('the best case is recomputed at every choice: once the counts show a poor draft, a tried dynamic tree is not revisited', () => {
    const run = (later: number): string[] => {
      const tuner = new TreeTuner(curves((n) => 1 + 0.2 * (n - 1), () => 0.05), candidateShapes(64), true, [16, 32], undefined, 1);
      const good = acceptance(0.95);
      const seen: string[] = [];
      for (let i = 0; i < 100; i++) {
        // the first 6 re-evaluations see a good draft (both arms are tried), the later ones `later`
        const l = label(tuner.choose(i < 6 ? good : acceptance(later)).tree);
        seen.push(l);
        // the model arm measures 1.5 tokens/ms, the dynamic trees 0.5
        for (let s = 0; s < 8; s++) tuner.observe(1, l === 'model' ? 1 / 1.5 : 2);
      }
      return seen;
    };
    const poor = run(0.1);
    assert.deepEqual(poor.slice(2, 6), ['dynamic:16', 'dynamic:16', 'dynamic:32', 'dynamic:32'], poor.join(' '));
    assert.deepEqual(poor.slice(6), Array(94).fill('model'), `no revisit once α ≈ 0.1: ${poor.join(' ')}`);
    // the control: with the acceptance still high, the REVISIT rule runs them again now and then
    const still = run(0.95);
    assert.deepEqual(still.slice(2, 6), ['dynamic:16', 'dynamic:16', 'dynamic:32', 'dynamic:32']);
    const revisits = still.slice(6).filter((x) => x !== 'model');
    assert.ok(revisits.includes('dynamic:16') && revisits.includes('dynamic:32'), still.join(' '));
  });

  test('exploration budget: a dynamic tree\'s trial waits until its estimate fits 10 % of the time generated, and the time explored stays within it', () => {
    // the curves and counts of the test above (α ≈ 0.95: both trees could pay); the model arm runs 8
    // steps of 1 ms per period, a dynamic tree 8 steps of 2 ms
    const c = curves((n) => 1 + 0.2 * (n - 1), () => 0.05);
    const tuner = new TreeTuner(c, candidateShapes(64), true, [16, 32]);
    assert.equal(tuner.exploreShare, EXPLORE_SHARE);
    assert.equal(EXPLORE_SHARE, 0.1);
    const stats = acceptance(0.95);
    // a period's estimate: PERIOD_STEPS steps at the arm's full-depth step
    const estimate = (n: number) => PERIOD_STEPS * (c.target[n + 1]! + dynamicDepth(n) * c.draft[1]!);
    const seen: string[] = [];
    const totals: number[] = []; // ms generated before each choice
    for (let i = 0; i < 400; i++) {
      totals.push(tuner.exploration.totalMs);
      const l = label(tuner.choose(stats).tree);
      seen.push(l);
      for (let s = 0; s < PERIOD_STEPS; s++) tuner.observe(1, l === 'model' ? 1 : 2);
      const { totalMs, exploreMs } = tuner.exploration;
      assert.ok(exploreMs <= EXPLORE_SHARE * totalMs + 1e-9, `period ${i}: explored ${exploreMs} of ${totalMs} ms`);
    }
    // dynamic:16 (the cheaper arm, checked first) runs first at the first choice where 0 + E ≤ 0.1 (T + E), i.e. T ≥ 9 E
    const first16 = seen.indexOf('dynamic:16');
    const expected16 = totals.findIndex((t) => t >= 9 * estimate(16));
    assert.ok(expected16 > 2, 'without the budget it would run at the third choice');
    assert.equal(first16, expected16, seen.join(' '));
    assert.ok(seen.indexOf('dynamic:32') > first16, seen.join(' '));
    // both are measured in the end, the time explored near its share
    assert.ok(seen.filter((x) => x === 'dynamic:16').length >= 2 && seen.filter((x) => x === 'dynamic:32').length >= 2, seen.join(' '));
    const { totalMs, exploreMs } = tuner.exploration;
    assert.ok(exploreMs > 0.05 * totalMs, `explored ${exploreMs} of ${totalMs} ms`);
    // the default's control: with no budget both run right after the model arm's two periods
    const free = new TreeTuner(c, candidateShapes(64), true, [16, 32], undefined, 1);
    const freeSeen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const l = label(free.choose(stats).tree);
      freeSeen.push(l);
      for (let s = 0; s < PERIOD_STEPS; s++) free.observe(1, l === 'model' ? 1 : 2);
    }
    assert.deepEqual(freeSeen, ['model', 'model', 'dynamic:16', 'dynamic:16', 'dynamic:32', 'dynamic:32']);
  });

  // How the measured costs grow with the rows is a timing fact: `npm run bench:autotune` prints it.
  test('tree "auto" on the shipped models: measured curves are finite, positive and non-decreasing, caches left empty; greedy output = plain greedy', async () => {
    const rt = createNodeRuntime();
    const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
    const c = measureCosts(target.model, modelDrafter(target, draft), 32, 64);
    assert.equal(c.target.length, 33);
    assert.equal(c.draft.length, 33);
    for (let n = 1; n <= 32; n++) {
      assert.ok(Number.isFinite(c.target[n]!) && c.target[n]! > 0 && Number.isFinite(c.draft[n]!) && c.draft[n]! > 0, `rows ${n}`);
      if (n > 1) assert.ok(c.target[n]! >= c.target[n - 1]! && c.draft[n]! >= c.draft[n - 1]!, `curves non-decreasing at ${n}`);
    }
    assert.equal(target.model.cache.length, 0, 'measuring leaves the caches empty');
    assert.equal(draft.model.cache.length, 0);
    const plain = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt: 'Once upon a time', maxTokens: 80 });
    const auto = new Generator(target, { drafter: modelDrafter(target, draft), tree: 'auto', sampling: { temperature: 0 } });
    const r = await auto.generate({ prompt: 'Once upon a time', maxTokens: 80 });
    assert.deepEqual(Array.from(r.ids), Array.from(plain.ids));
    assert.equal(r.stats.treeAuto, true);
    assert.equal(r.stats.treeChoices.reduce((a, x) => a + x.steps, 0), r.stats.steps);
    assert.ok(auto.tuner !== null, 'the first generation measured (no tune() call)');
  });

  test('tree "auto" on plain steps: the draft model is not fed the prompt until a tree needs it; on a tree it is', async () => {
    const rt = createNodeRuntime();
    const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
    const auto = new Generator(target, { drafter: modelDrafter(target, draft), tree: 'auto', sampling: { temperature: 0 } });
    const tuner = (await auto.tune())!;
    const promptIds = [1, 403, 407, 261, 378, 263, 280];
    // one token: the step has no room for a tree whatever the tuner picks, so the draft is only ever
    // fed by the prefill
    const runWith = async (tree: number[]) => {
      tuner.current = { tree, shape: tree, tokensPerStep: 1, tokensPerMs: 1 };
      const r = await auto.generate({ promptIds, maxTokens: 1 });
      assert.equal(r.ids.length, 1);
      return draft.model.cache.length;
    };
    assert.equal(await runWith([]), 0, 'plain steps: the prompt is left pending');
    assert.equal(await runWith([1, 1]), promptIds.length - 1, 'a tree: the prompt is fed at prefill');
  });

  test('tree "auto": the constructor measures nothing; tune() measures once (caches emptied), and generation uses that tuner', async () => {
    const rt = createNodeRuntime();
    const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
    const plain = await new Generator(target, { sampling: { temperature: 0 } }).generate({ prompt: 'Once upon a time', maxTokens: 60 });
    const filled = target.model.cache.length;
    assert.ok(filled > 0, 'the plain generation left its tokens in the cache');
    // count the forwards of both models (the measuring is forwards, timed)
    let forwards = 0;
    for (const m of [target.model, draft.model]) {
      const forward = m.forward.bind(m);
      m.forward = (...args) => {
        forwards++;
        forward(...args);
      };
    }
    const auto = new Generator(target, { drafter: modelDrafter(target, draft), tree: 'auto', sampling: { temperature: 0 } });
    assert.equal(forwards, 0, 'the constructor runs no forward');
    assert.equal(auto.tuner === null, true);
    assert.deepEqual(auto.tree, []);
    const tuner = await auto.tune();
    assert.ok(tuner !== null);
    assert.equal(auto.tuner, tuner);
    assert.ok(forwards > 20, `tune() measured: ${forwards} forwards`);
    assert.equal(target.model.cache.length, filled, 'measuring leaves the committed tokens as they were');
    assert.equal(draft.model.cache.length, 0);
    const measured = forwards;
    assert.equal(await auto.tune(), tuner, 'a second tune() returns the same tuner');
    assert.equal(forwards, measured, 'and measures nothing again');
    assert.deepEqual(auto.tree, tuner.choose(null).tree);
    const r = await auto.generate({ prompt: 'Once upon a time', maxTokens: 60 });
    assert.equal(auto.tuner, tuner);
    assert.deepEqual(Array.from(r.ids), Array.from(plain.ids));
    assert.equal(await new Generator(target, { drafter: modelDrafter(target, draft), tree: [2, 2] }).tune(), null, 'tune() without tree "auto"');
  });
});
