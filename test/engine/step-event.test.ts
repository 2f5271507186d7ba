// Generator.generate({ onStep }): every step is reported, and what it reports is consistent with the
// generation's result: the tree is a BFS tree of the step's shape rooted at the previous token, the
// accepted path walks parent → child through drafts the step emitted, the final token is a
// correction exactly when the path ends at a node with drafts (and then differs from all of them),
// a bonus when it ends at a leaf, and the emitted tokens concatenate to the generated ids. The
// callback changes nothing: the same seed gives the same ids with and without it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Generator, type StepEvent } from '../../src/engine/generate.js';
import { earlyExitDrafter, modelDrafter } from '../../src/engine/drafters.js';
import { treeNodeCount } from '../../src/draft/tree.js';

const rt = createNodeRuntime();
const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });

interface Copied {
  step: number;
  shape: number[];
  dynamic: number;
  tokens: number[];
  parents: number[];
  depths: number[];
  path: number[];
  emitted: number[];
  final: StepEvent['final'];
  levelReached: number[];
  levelAccepted: number[];
  generated: number;
  elapsedMs: number;
}

function copy(e: StepEvent): Copied {
  return {
    step: e.step,
    shape: [...e.shape],
    dynamic: e.dynamic,
    tokens: Array.from(e.tokens.subarray(0, e.size)),
    parents: Array.from(e.parents.subarray(0, e.size)),
    depths: Array.from(e.depths.subarray(0, e.size)),
    path: Array.from(e.path.subarray(0, e.pathLength)),
    emitted: Array.from(e.emitted.subarray(0, e.emittedCount)),
    final: e.final,
    levelReached: [...e.levelReached],
    levelAccepted: [...e.levelAccepted],
    generated: e.generated,
    elapsedMs: e.elapsedMs,
  };
}

function checkSteps(steps: Copied[], promptLast: number, ids: Int32Array, eos: number): void {
  let root = promptLast;
  const all: number[] = [];
  steps.forEach((s, i) => {
    const where = `step ${i}`;
    assert.equal(s.step, i, where);
    const n = s.tokens.length;
    assert.equal(s.tokens[0], root, `${where}: the root is the previous token`);
    assert.equal(s.parents[0], -1);
    assert.equal(s.depths[0], 0);
    for (let j = 1; j < n; j++) {
      assert.ok(s.parents[j]! < j && s.parents[j]! >= 0, `${where}: BFS order`);
      assert.equal(s.depths[j], s.depths[s.parents[j]!]! + 1, `${where}: depth of node ${j}`);
    }
    // a full tree of the shape, unless cut short near maxTokens (then a prefix of its levels); a dynamic tree within its budget
    assert.ok(n <= (s.dynamic > 0 ? s.dynamic + 1 : treeNodeCount(s.shape)), `${where}: ${n} nodes for shape ${s.shape} / dynamic ${s.dynamic}`);
    assert.equal(s.path[0], 0, `${where}: the path starts at the root`);
    assert.equal(s.emitted.length, s.path.length, `${where}: one token per path node (accepted drafts + final)`);
    for (let j = 1; j < s.path.length; j++) {
      assert.equal(s.parents[s.path[j]!], s.path[j - 1], `${where}: path edge ${j}`);
      assert.equal(s.emitted[j - 1], s.tokens[s.path[j]!], `${where}: accepted draft ${j} is emitted`);
    }
    const last = s.path[s.path.length - 1]!;
    const children = s.tokens.filter((_, j) => s.parents[j] === last);
    const finalToken = s.emitted[s.emitted.length - 1]!;
    if (n === 1) assert.equal(s.final, 'plain', where);
    else if (children.length === 0) assert.equal(s.final, 'bonus', `${where}: the path ends at a leaf`);
    else {
      assert.equal(s.final, 'correction', `${where}: the path ends at a node with drafts`);
      assert.ok(!children.includes(finalToken), `${where}: a correction differs from every draft it replaces`);
    }
    for (const t of s.emitted) {
      if (all.length >= ids.length || t === eos) break;
      all.push(t);
    }
    assert.equal(s.generated, Math.min(all.length, ids.length), `${where}: generated so far`);
    if (i > 0) assert.ok(s.elapsedMs >= steps[i - 1]!.elapsedMs, `${where}: time runs forward`);
    root = finalToken;
  });
  assert.deepEqual(all, Array.from(ids), 'the emitted tokens concatenate to the generated ids');
}

describe('engine/onStep', () => {
  test('speculative SpecHub, tree 2,2,2, temperature 1: every step reported, consistent with the result', async () => {
    const gen = new Generator(target, { drafter: modelDrafter(target, draft), method: 'spechub', tree: [2, 2, 2], sampling: { temperature: 1 } });
    const steps: Copied[] = [];
    const prompt = gen.promptIds({ prompt: 'Once upon a time' });
    const res = await gen.generate({ prompt: 'Once upon a time', maxTokens: 120, seed: 11, onStep: (e) => steps.push(copy(e)) });
    assert.equal(steps.length, res.stats.steps);
    checkSteps(steps, prompt[prompt.length - 1]!, res.ids, target.tokenizer.eosId ?? -1);
    assert.ok(steps.some((s) => s.final === 'bonus') && steps.some((s) => s.final === 'correction'), 'both kinds occur in 120 tokens');
    const accepted = steps.reduce((a, s) => a + s.path.length - 1, 0);
    const lastStep = steps[steps.length - 1]!;
    assert.equal(lastStep.levelAccepted.reduce((a, b) => a + b, 0), accepted, 'levelAccepted counts the accepted drafts');
    assert.deepEqual(lastStep.levelReached.map((r, l) => (r > 0 ? lastStep.levelAccepted[l]! / r : 0)), res.stats.acceptancePerLevel);
    // the same seed without the callback: the same tokens
    const again = await gen.generate({ prompt: 'Once upon a time', maxTokens: 120, seed: 11 });
    assert.deepEqual(again.ids, res.ids);
  });

  test('sequence-level methods and dynamic trees report the path they accepted (traversal dynamic:12, block chain)', async () => {
    for (const [method, tree] of [['traversal', 'dynamic:12'], ['spechub-traversal', [2, 2, 1]], ['block', [1, 1, 1, 1]]] as const) {
      const gen = new Generator(target, { drafter: modelDrafter(target, draft), method, tree, sampling: { temperature: 1 } });
      const steps: Copied[] = [];
      const prompt = gen.promptIds({ prompt: 'Once upon a time' });
      const res = await gen.generate({ prompt: 'Once upon a time', maxTokens: 100, seed: 4, onStep: (e) => steps.push(copy(e)) });
      assert.equal(steps.length, res.stats.steps);
      checkSteps(steps, prompt[prompt.length - 1]!, res.ids, target.tokenizer.eosId ?? -1);
      if (method === 'traversal') assert.ok(steps.every((s) => s.dynamic === 12 && s.shape.length === 0));
    }
  });

  test('a tree cut short by maxTokens, and EOS inside a step', async () => {
    const gen = new Generator(target, { drafter: modelDrafter(target, draft), method: 'rrs', tree: [3, 2, 2, 1], sampling: { temperature: 0.8 } });
    for (const seed of [1, 2, 3]) {
      const steps: Copied[] = [];
      const res = await gen.generate({ maxTokens: 7, seed, onStep: (e) => steps.push(copy(e)) });
      checkSteps(steps, target.tokenizer.bosId!, res.ids, target.tokenizer.eosId ?? -1);
    }
    // stories260K never draws EOS; tinystories-656K (early-exit draft) ends its stories with it
    const m656 = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'tinystories-656K'), { maxBatch: 64 });
    const gen656 = new Generator(m656, { drafter: earlyExitDrafter(m656, 1), method: 'rrs', tree: [3, 2, 2, 1], sampling: { temperature: 0.8 } });
    for (const seed of [0, 1]) {
      const steps: Copied[] = [];
      const res = await gen656.generate({ maxTokens: 600, seed, onStep: (e) => steps.push(copy(e)) });
      assert.equal(res.stopReason, 'eos');
      checkSteps(steps, m656.tokenizer.bosId!, res.ids, m656.tokenizer.eosId!);
    }
  });

  test('plain decoding reports one-node trees with the sampled token', async () => {
    const gen = new Generator(target, { sampling: { temperature: 0 } });
    const steps: Copied[] = [];
    const res = await gen.generate({ maxTokens: 30, onStep: (e) => steps.push(copy(e)) });
    assert.equal(steps.length, 30);
    assert.ok(steps.every((s) => s.final === 'plain' && s.tokens.length === 1 && s.emitted.length === 1 && s.shape.length === 0));
    checkSteps(steps, target.tokenizer.bosId!, res.ids, target.tokenizer.eosId ?? -1);
  });
});
