// Dynamic draft trees: the tree option's parsing, the planner's budget, children limits and its
// best-first trade between width here and depth below, and the Stepper building trees within the
// budget from the draft's q alone. (Exactness of every method on dynamic trees: engine/exact.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { DynamicPlanner, dynamicDepth } from '../../src/draft/dynamic.js';
import { parseTreeSpec, treeSpecLabel } from '../../src/draft/tree.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { Generator } from '../../src/engine/generate.js';
import { modelDrafter } from '../../src/engine/drafters.js';
import type { DraftLaw } from '../../src/verify/types.js';

describe('draft/dynamic', () => {
  test('tree options: "dynamic:N" and { dynamic: N } parse, bad budgets are refused with a typed error', () => {
    assert.deepEqual(parseTreeSpec('dynamic:16'), { dynamic: 16 });
    assert.deepEqual(parseTreeSpec(' dynamic:8 '), { dynamic: 8 });
    assert.deepEqual(parseTreeSpec({ dynamic: 3 }), { dynamic: 3 });
    assert.deepEqual(parseTreeSpec('2,2'), [2, 2]);
    assert.equal(treeSpecLabel({ dynamic: 16 }), 'dynamic:16');
    assert.equal(treeSpecLabel([2, 1]), '2,1');
    for (const bad of ['dynamic:0', 'dynamic:x', 'dynamic:', 'dynamic:1.5', 'dynamic:5000']) {
      assert.throws(() => parseTreeSpec(bad), (e: unknown) => e instanceof InvalidArgumentError && /dynamic:N/.test(e.message), bad);
    }
    assert.throws(() => parseTreeSpec({ dynamic: -1 }), InvalidArgumentError);
    assert.equal(dynamicDepth(8), 8);
    assert.equal(dynamicDepth(500), 32);
  });

  /** A planner over V = 16 with the given q rows for nodes 0..rows-1 (row i = node i). */
  function plannerWith(law: DraftLaw, rows: number[][]): { planner: DynamicPlanner; qOf: (n: number) => Float64Array } {
    const rt = createNodeRuntime();
    const V = 16;
    const ptr = rt.arena.alloc('test.q', rows.length * V * 8).ptr;
    const views = rows.map((r, i) => {
      const v = rt.f64(ptr + i * V * 8, V);
      const s = r.reduce((a, b) => a + b, 0);
      for (let y = 0; y < V; y++) v[y] = (r[y] ?? 0) / s;
      return v;
    });
    return { planner: new DynamicPlanner(rt, 64, 4, law), qOf: (n) => views[n]! };
  }

  const peaked = [90, 4, 3, 2, 1];
  const flat = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10];

  test('the budget is never exceeded, children stay within the law\'s limit, and only the planned level gets children', () => {
    for (const law of ['single', 'iid', 'wo', 'hub'] as const) {
      for (const budget of [1, 3, 8, 20]) {
        const { planner, qOf } = plannerWith(law, [peaked, flat, peaked, flat]);
        planner.beginTree();
        for (let n = 1; n < 4; n++) planner.pathProb[n] = 0.3;
        const counts = new Int32Array(64).fill(-1);
        const planned = planner.planLevel(1, 4, qOf, budget, 5, counts);
        let sum = 0;
        for (let n = 1; n < 4; n++) {
          assert.ok(counts[n]! >= 0 && counts[n]! <= (law === 'single' ? 1 : 4), `${law}: ${counts[n]} children`);
          sum += counts[n]!;
        }
        assert.equal(sum, planned);
        assert.ok(planned <= budget, `${law} budget ${budget}: planned ${planned}`);
        assert.equal(counts[0], -1, 'nodes outside the level are untouched');
      }
    }
  });

  test('on the last level the whole budget goes to it; below, the planner learns chains or branches from the walks it sees', () => {
    for (const law of ['iid', 'wo', 'hub'] as const) {
      const { planner, qOf } = plannerWith(law, [flat]);
      const counts = new Int32Array(64);
      planner.beginTree();
      assert.equal(planner.planLevel(0, 1, qOf, 8, 1, counts), 4, `${law}: a single last level takes maxK children`);
    }
    const path = Int32Array.of(0, 1);
    const children = new Int32Array(64);
    // a draft whose single children are almost always accepted: the budget goes into a chain
    const good = plannerWith('iid', [peaked]);
    const cg = new Int32Array(64);
    good.planner.beginTree();
    good.planner.planLevel(0, 1, good.qOf, 8, 8, cg);
    children[0] = 1;
    for (let i = 0; i < 200; i++) good.planner.observePath(path, i % 20 === 0 ? 1 : 2, children);
    assert.ok(good.planner.acceptance(1, 4) > 0.9);
    good.planner.planLevel(0, 1, good.qOf, 8, 8, cg);
    assert.equal(cg[0], 1, 'a chain');
    // one child is usually rejected, two usually continue: the planner branches
    const poor = plannerWith('iid', [peaked]);
    const cp = new Int32Array(64);
    poor.planner.beginTree();
    poor.planner.planLevel(0, 1, poor.qOf, 8, 8, cp);
    for (let i = 0; i < 100; i++) {
      children[0] = 1;
      poor.planner.observePath(path, i % 3 === 0 ? 2 : 1, children);
      children[0] = 2;
      poor.planner.observePath(path, 2, children);
    }
    poor.planner.planLevel(0, 1, poor.qOf, 8, 8, cp);
    assert.ok(cp[0]! >= 2, `branches: ${cp[0]} children`);
    // what was learned is forgotten with reset (a new generation)
    poor.planner.reset();
    assert.ok(Math.abs(poor.planner.acceptance(1, 4) - 0.6) < 1e-12);
  });

  test('a node with the larger path probability gets at least as many children (same q)', () => {
    const { planner, qOf } = plannerWith('wo', [flat, flat, flat]);
    planner.beginTree();
    planner.pathProb[1] = 0.6;
    planner.pathProb[2] = 0.1;
    const counts = new Int32Array(64);
    planner.planLevel(1, 3, qOf, 5, 3, counts);
    assert.ok(counts[1]! >= counts[2]! && counts[1]! > 0, `counts ${counts[1]} / ${counts[2]}`);
  });

  test('generation on the shipped models: dynamic trees stay within the budget and plan memory once', async () => {
    const rt = createNodeRuntime();
    const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
    const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
    for (const method of ['spechub', 'traversal', 'block'] as const) {
      const gen = new Generator(target, { drafter: modelDrafter(target, draft), method, tree: 'dynamic:16' });
      const before = rt.arena.used;
      const r = await gen.generate({ prompt: 'Once upon a time', maxTokens: 60, seed: 2 });
      assert.equal(rt.arena.used, before, 'no arena allocation while generating');
      assert.ok(r.stats.draftNodesPerStep > 1 && r.stats.draftNodesPerStep <= 16, `${method}: ${r.stats.draftNodesPerStep} nodes per step`);
      assert.equal(r.stats.treeLabel, 'dynamic:16');
      assert.ok(r.stats.tokensPerStep > 1.2, `${method}: ${r.stats.tokensPerStep} tokens per step`);
      if (method === 'block') assert.ok(r.stats.draftNodesPerStep > 8, `block drafts chains as long as the budget allows: ${r.stats.draftNodesPerStep}`);
    }
  });
});
