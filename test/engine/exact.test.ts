// Exactness of speculative decoding end to end (issue #4, 5a), by exact enumeration on
// table-driven models: the real Stepper (tree building, masks, positions, level-by-level drafting,
// walk, KV commit, pending tokens, several steps) runs once per combination of outcomes of every
// random choice, with the method's exact drafting and verification laws (the math layer) in place
// of sampling. The law of the first emitted tokens must equal that of plain autoregressive
// decoding of the same target, computed by the same enumeration, to 1e-12. The sequence-level
// methods (block, traversal, spechub-traversal) run their real leaf-to-root walker, with every
// Bernoulli test and residual draw enumerated; dynamic trees run the real planner.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { Stepper, type Drafter, type StepperOptions } from '../../src/engine/speculative.js';
import { createRng } from '../../src/rng.js';
import { METHOD_NAMES, type MethodName } from '../../src/verify/types.js';
import { treeSpecLabel, type TreeSpec } from '../../src/draft/tree.js';
import { IidNodeTests } from '../../src/verify/traversal.js';
import { normalize } from '../../src/verify/common.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { DraftLaw } from '../../src/verify/types.js';
import { EDGE_CASES } from '../verify/cases.js';
import { TableModel, enumerate, enumeratingRule, hashedTable, type Table } from './table-model.js';

let V = 3;
const PROMPT = Int32Array.of(1, 2);

interface Setup {
  method: MethodName;
  tree: TreeSpec;
  /** Tokens whose joint law is compared. */
  tokens: number;
  /** Draft from the target's own early exit instead of a separate model. */
  earlyExit?: boolean;
  temperature?: number;
  topK?: number;
  /** Table seeds to run (default both; the widest enumerations run one). */
  seeds?: number[];
}

function lawOf(setup: Setup, target: Table, draft: Table, speculative: boolean, nodeTests?: StepperOptions['nodeTests']): Map<string, number> {
  const rt = createNodeRuntime();
  const t = new TableModel(rt, V, target, 64, 32, draft);
  const d = setup.earlyExit ? null : new TableModel(rt, V, draft, 64, 32);
  const drafter: Drafter | null = !speculative
    ? null
    : setup.earlyExit
      ? { model: t, layers: 1, sharesTargetCache: true, label: 'exit:1' }
      : { model: d!, layers: 2, sharesTargetCache: false, label: 'table' };
  let choose: (probs: ArrayLike<number>) => number = () => 0;
  const stepper = new Stepper({
    target: t,
    drafter,
    method: setup.method,
    tree: speculative ? setup.tree : [],
    sampling: { temperature: setup.temperature ?? 1, topK: setup.topK ?? 0, topP: 1 },
    rule: enumeratingRule(setup.method, () => choose),
    ...(nodeTests ? { nodeTests } : {}),
  });
  const rng = createRng(0); // never consumed by the enumerating rule
  return enumerate((c) => {
    choose = c;
    stepper.reset();
    stepper.prefill(PROMPT.subarray(0, PROMPT.length - 1));
    let root = PROMPT[PROMPT.length - 1]!;
    const out: number[] = [];
    while (out.length < setup.tokens) {
      stepper.step(root, rng, 64);
      for (let j = 0; j < stepper.emittedCount; j++) out.push(stepper.emitted[j]!);
      root = out[out.length - 1]!;
    }
    // the caches hold the prompt and every emitted token but the last (the next root)
    const want = [...PROMPT, ...out.slice(0, -1)];
    const got = t.committed;
    if (got.length < want.length || got.some((x, i) => i < want.length && x !== want[i])) {
      throw new Error(`target cache ${got} does not start with ${want}`);
    }
    return out.slice(0, setup.tokens).join(',');
  });
}

/** Traversal without its sequence-level residual update: a rejected child leaves its parent's target and weight as they were. */
class NoResidualUpdate extends IidNodeTests {
  override fail(d: number): void {
    const row = this.rows[d]!;
    const saved = Float64Array.from(row);
    const mass = this.massV[d]!;
    super.fail(d);
    row.set(saved);
    this.massV[d] = mass;
    this.exhausted[d] = 0;
  }
}

/**
 * Block verification without its residual correction: the acceptance weights h_i are right, but the
 * token after the kept drafts is drawn from the target p_τ instead of norm((w_τ p_τ − q_τ)⁺).
 */
class NoResidualCorrection extends IidNodeTests {
  override fail(d: number): void {
    const row = this.rows[d]!;
    const saved = Float64Array.from(row);
    const before = this.massV[d]!;
    super.fail(d);
    const scale = before > 0 ? this.massV[d]! / before : 0;
    for (let i = 0; i < row.length; i++) row[i] = saved[i]! * scale;
  }
}

/** RRS tests posing as tests for the hub law: what the law check in the Stepper refuses. */
class IidTestsOnHubLaw extends IidNodeTests {
  override readonly laws: readonly DraftLaw[] = ['hub'];
}

function maxLawDiff(a: Map<string, number>, b: Map<string, number>): number {
  let maxDiff = 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) maxDiff = Math.max(maxDiff, Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0)));
  return maxDiff;
}

function assertSameLaw(a: Map<string, number>, b: Map<string, number>, what: string): void {
  let total = 0;
  for (const v of a.values()) total += v;
  assert.ok(Math.abs(total - 1) < 1e-12, `${what}: speculative law sums to ${total}`);
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k) ?? 0;
    const y = b.get(k) ?? 0;
    assert.ok(Math.abs(x - y) < 1e-12, `${what}: P(${k}) = ${x} speculative vs ${y} plain`);
  }
}

const SETUPS: Setup[] = [
  { method: 'sd', tree: [1, 1], tokens: 3 },
  { method: 'rrs', tree: [2], tokens: 2 },
  { method: 'rrs', tree: [2, 1], tokens: 2 },
  { method: 'rrs-wo', tree: [2, 1], tokens: 3 },
  { method: 'rrs-wo', tree: [3], tokens: 2 },
  { method: 'spechub', tree: [2, 2], tokens: 2 },
  { method: 'spechub', tree: [2, 1], tokens: 3 },
  { method: 'spechub', tree: [3], tokens: 2 },
  { method: 'k-seq', tree: [2, 1], tokens: 2 },
  { method: 'k-seq', tree: [1, 1], tokens: 3 },
  { method: 'k-seq', tree: [3], tokens: 2 },
  { method: 'spechub', tree: [2, 1], tokens: 2, earlyExit: true },
  { method: 'rrs', tree: [1, 2], tokens: 2, temperature: 0.7, topK: 2 },
  { method: 'spechub', tree: [2], tokens: 3, temperature: 0 },
  // sequence-level methods
  { method: 'block', tree: [1, 1], tokens: 3 },
  { method: 'block', tree: [1, 1, 1], tokens: 2 },
  { method: 'block', tree: [1, 1], tokens: 2, earlyExit: true },
  { method: 'block', tree: [1, 1, 1], tokens: 2, temperature: 0.7, topK: 2 },
  { method: 'traversal', tree: [2], tokens: 3 },
  { method: 'traversal', tree: [2, 1], tokens: 2 },
  { method: 'traversal', tree: [2, 2], tokens: 2, seeds: [11] },
  { method: 'traversal', tree: [1, 2], tokens: 2, temperature: 0.7, topK: 2 },
  { method: 'traversal', tree: [3], tokens: 2 },
  { method: 'traversal', tree: [2, 1], tokens: 2, earlyExit: true, seeds: [12] },
  { method: 'spechub-traversal', tree: [2, 2], tokens: 2 },
  { method: 'spechub-traversal', tree: [2, 1], tokens: 3, seeds: [11] },
  { method: 'spechub-traversal', tree: [3, 1], tokens: 2 },
  { method: 'spechub-traversal', tree: [1, 2], tokens: 2, temperature: 0 },
  // dynamic trees: every method, the planner deciding each node's children from q
  ...METHOD_NAMES.map((method): Setup => ({ method, tree: { dynamic: 4 }, tokens: 2 })),
  { method: 'traversal', tree: { dynamic: 3 }, tokens: 3, seeds: [12] },
  { method: 'spechub', tree: { dynamic: 5 }, tokens: 2, temperature: 0.7, topK: 2 },
];

describe('engine/exact: speculative output law = plain autoregressive law (exact enumeration)', () => {
  for (const s of SETUPS) {
    const label = `${s.method} tree ${treeSpecLabel(s.tree)}${s.earlyExit ? ' early exit' : ''}${s.temperature !== undefined ? ` T=${s.temperature}` : ''}${s.topK ? ` top-k ${s.topK}` : ''}: first ${s.tokens} tokens`;
    test(label, () => {
      for (const seed of s.seeds ?? [11, 12]) {
        const target = hashedTable(seed, V);
        const draft = hashedTable(seed + 1000, V);
        const plain = lawOf(s, target, draft, false);
        const spec = lawOf(s, target, draft, true);
        assertSameLaw(spec, plain, `${label}, seed ${seed}`);
      }
    });
  }

  test('the enumeration catches a broken walk (continuing into the first child after a rejection)', () => {
    // Sanity of the harness: the same enumeration over a deliberately wrong rule must differ.
    const s: Setup = { method: 'rrs', tree: [2], tokens: 2 };
    const target = hashedTable(5, V);
    const draft = hashedTable(6, V);
    const rt = createNodeRuntime();
    const t = new TableModel(rt, V, target, 64, 32);
    const d = new TableModel(rt, V, draft, 64, 32);
    let choose: (probs: ArrayLike<number>) => number = () => 0;
    const good = enumeratingRule('rrs', () => choose);
    const stepper = new Stepper({
      target: t,
      drafter: { model: d, layers: 2, sharesTargetCache: false, label: 'table' },
      method: 'rrs',
      tree: s.tree,
      sampling: { temperature: 1, topK: 0, topP: 1 },
      rule: (v) => {
        const r = good(v);
        // bug: report every rejection as "accepted slot 0" with its residual token
        return { ...r, verifyNode: (...a) => {
          const res = r.verifyNode(...a);
          return res.accepted < 0 ? { token: res.token, accepted: 0 } : res;
        } };
      },
    });
    const rng = createRng(0);
    const broken = enumerate((c) => {
      choose = c;
      stepper.reset();
      stepper.prefill(PROMPT.subarray(0, 1));
      stepper.step(PROMPT[1]!, rng, 64);
      const out = Array.from(stepper.emitted.subarray(0, stepper.emittedCount));
      if (out.length < 2) {
        stepper.step(out[out.length - 1]!, rng, 64);
        out.push(stepper.emitted[0]!);
      }
      return out.slice(0, 2).join(',');
    });
    const plain = lawOf(s, target, draft, false);
    let maxDiff = 0;
    for (const k of new Set([...broken.keys(), ...plain.keys()])) maxDiff = Math.max(maxDiff, Math.abs((broken.get(k) ?? 0) - (plain.get(k) ?? 0)));
    assert.ok(maxDiff > 1e-3, `the broken walk should change the law, max diff ${maxDiff}`);
  });

  test('sequence-level methods on the node-level edge cases (E2–E17, zeros, ties, one-hot rows, subnormal q) as constant tables', () => {
    const saved = V;
    try {
      for (const c of EDGE_CASES.filter((e) => e.p.length >= 2 && e.p.length <= 4)) {
        V = c.p.length;
        const p = normalize(c.p);
        const q = normalize(c.q);
        for (const [method, tree] of [['traversal', [1, 2]], ['spechub-traversal', [1, 2]], ['spechub-traversal', [3]], ['block', [1, 1]]] as const) {
          const setup: Setup = { method, tree: [...tree], tokens: 2 };
          assertSameLaw(lawOf(setup, () => p, () => q, true), lawOf(setup, () => p, () => q, false), `${c.name}: ${method} ${tree}`);
        }
      }
    } finally {
      V = saved;
    }
  });

  const BROKEN: { what: string; setup: Setup; tests: StepperOptions['nodeTests'] }[] = [
    { what: 'traversal without its sequence-level residual update', setup: { method: 'traversal', tree: [2, 1], tokens: 2 }, tests: (s, d) => new NoResidualUpdate(s, d) },
    { what: 'block verification without its residual correction', setup: { method: 'block', tree: [1, 1], tokens: 2 }, tests: (s, d) => new NoResidualCorrection(s, d) },
    { what: 'traversal with i.i.d. (RRS) tests on SpecHub-drafted siblings', setup: { method: 'spechub-traversal', tree: [2, 1], tokens: 2 }, tests: (s, d) => new IidTestsOnHubLaw(s, d) },
  ];
  for (const b of BROKEN) {
    test(`the enumeration catches ${b.what}`, () => {
      let worst = 0;
      for (const seed of [11, 12]) {
        const target = hashedTable(seed, V);
        const draft = hashedTable(seed + 1000, V);
        const broken = lawOf(b.setup, target, draft, true, b.tests);
        let total = 0;
        for (const v of broken.values()) total += v;
        assert.ok(Math.abs(total - 1) < 1e-9, `the broken variant still emits a distribution (total ${total})`);
        worst = Math.max(worst, maxLawDiff(broken, lawOf(b.setup, target, draft, false)));
      }
      assert.ok(worst > 1e-3, `${b.what} should change the output law, max diff ${worst}`);
    });
  }

  test('traversal refuses node tests that are not exact for the drafting law (a typed error)', () => {
    const rt = createNodeRuntime();
    const t = new TableModel(rt, V, hashedTable(1, V), 64, 32);
    const d = new TableModel(rt, V, hashedTable(2, V), 64, 32);
    const make = (method: MethodName, nodeTests?: StepperOptions['nodeTests']) =>
      new Stepper({
        target: t,
        drafter: { model: d, layers: 2, sharesTargetCache: false, label: 'table' },
        method,
        tree: [2, 2],
        sampling: { temperature: 1, topK: 0, topP: 1 },
        ...(nodeTests ? { nodeTests } : {}),
      });
    assert.throws(() => make('spechub-traversal', (s, depth) => new IidNodeTests(s, depth)), (e: unknown) => e instanceof InvalidArgumentError && /hub law/.test(e.message));
    assert.throws(() => make('block'), (e: unknown) => e instanceof InvalidArgumentError && /chains only/.test(e.message));
    assert.doesNotThrow(() => make('traversal'));
  });
});
