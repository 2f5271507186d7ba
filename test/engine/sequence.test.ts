// Sequence-level verification against its closed forms (docs/verifiers-sequence.md), by exact
// enumeration of one step of the real Stepper on table-driven models:
//  - block on a chain = Sun et al.'s block verification (the backward form in src/verify/block.ts),
//    outcome for outcome; E[kept drafts] = Σ_i E[w_i]; and block ≥ token-level SD;
//  - at depth 1, traversal = RRS and spechub-traversal = SpecHub, outcome for outcome, with the
//    node verifiers' closed-form acceptance;
//  - on trees, traversal keeps at least as many drafts as RRS and spechub-traversal as SpecHub.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeRuntime } from '../../src/node.js';
import { Stepper } from '../../src/engine/speculative.js';
import { createRng } from '../../src/rng.js';
import { blockExpectedKept, blockOutcome, sdExpectedKept } from '../../src/verify/block.js';
import { rrsAcceptance } from '../../src/verify/rrs.js';
import { spechubAcceptance } from '../../src/verify/spechub.js';
import type { MethodName } from '../../src/verify/types.js';
import { TableModel, enumerate, enumeratingRule, hashedTable, type Table } from './table-model.js';

const V = 3;
const PROMPT = [1, 2];

/** Law of one step's emitted tokens ("count|tokens") from the prompt, by exact enumeration. */
function stepLaw(method: MethodName, tree: number[], target: Table, draft: Table): Map<string, number> {
  const rt = createNodeRuntime();
  const t = new TableModel(rt, V, target, 64, 32);
  const d = new TableModel(rt, V, draft, 64, 32);
  let choose: (probs: ArrayLike<number>) => number = () => 0;
  const stepper = new Stepper({
    target: t,
    drafter: { model: d, layers: 2, sharesTargetCache: false, label: 'table' },
    method,
    tree,
    sampling: { temperature: 1, topK: 0, topP: 1 },
    rule: enumeratingRule(method, () => choose),
  });
  const rng = createRng(0);
  return enumerate((c) => {
    choose = c;
    stepper.reset();
    stepper.prefill(Int32Array.from(PROMPT.slice(0, -1)));
    stepper.step(PROMPT[PROMPT.length - 1]!, rng, 64);
    return `${stepper.emittedCount}|${Array.from(stepper.emitted.subarray(0, stepper.emittedCount)).join(',')}`;
  });
}

/**
 * The law the engine actually sees: TableModel hands logits ln p to the engine as f32, which the
 * sampler turns back into probabilities. Closed forms are evaluated on these rows.
 */
function viaF32(table: Table): Table {
  const memo = new Map<string, Float64Array>();
  return (prefix) => {
    const key = prefix.join(',');
    let out = memo.get(key);
    if (!out) {
      const p = table(prefix);
      const logits = Array.from(p, (x) => (x > 0 ? Math.fround(Math.log(x)) : -Infinity));
      const max = Math.max(...logits);
      out = Float64Array.from(logits, (l) => Math.exp(l - max));
      const s = out.reduce((a, b) => a + b, 0);
      for (let i = 0; i < out.length; i++) out[i]! /= s;
      memo.set(key, out);
    }
    return out;
  };
}

/** E[tokens emitted by one step]. */
function meanTokens(law: Map<string, number>): number {
  let m = 0;
  for (const [k, v] of law) m += Number(k.split('|')[0]) * v;
  return m;
}

function assertSameMaps(a: Map<string, number>, b: Map<string, number>, what: string, tol = 1e-12): void {
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k) ?? 0;
    const y = b.get(k) ?? 0;
    assert.ok(Math.abs(x - y) < tol, `${what}: P(${k}) = ${x} vs ${y}`);
  }
}

/** The law of one block-verification step built from block.ts's outcome law over every draft chain. */
function blockReferenceLaw(target: Table, draft: Table, gamma: number): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, v: number) => out.set(k, (out.get(k) ?? 0) + v);
  const rec = (drafts: number[], prob: number): void => {
    if (drafts.length === gamma) {
      const p = Array.from({ length: gamma + 1 }, (_, i) => target([...PROMPT, ...drafts.slice(0, i)]));
      const q = Array.from({ length: gamma }, (_, i) => draft([...PROMPT, ...drafts.slice(0, i)]));
      const o = blockOutcome(p, q, drafts);
      for (let i = 0; i <= gamma; i++) {
        for (let y = 0; y < V; y++) {
          const v = prob * o.keep[i]! * o.residual[i]![y]!;
          if (v > 0) add(`${i + 1}|${[...drafts.slice(0, i), y].join(',')}`, v);
        }
      }
      return;
    }
    const q = draft([...PROMPT, ...drafts]);
    for (let x = 0; x < V; x++) if (q[x]! > 0) rec([...drafts, x], prob * q[x]!);
  };
  rec([], 1);
  return out;
}

describe('sequence-level verification: closed forms and dominance (exact enumeration of one step)', () => {
  const seeds = [3, 4, 5, 6];

  test('block on a chain is block verification outcome for outcome (tree 1,1,1), and E[kept] = Σ E[w_i] ≥ SD', () => {
    for (const seed of seeds) {
      const target = hashedTable(seed, V);
      const draft = hashedTable(seed + 500, V);
      const engine = stepLaw('block', [1, 1, 1], target, draft);
      assertSameMaps(engine, blockReferenceLaw(viaF32(target), viaF32(draft), 3), `seed ${seed}`);
      const chain = (law: Table) => (c: readonly number[]) => viaF32(law)([...PROMPT, ...c]);
      const kept = blockExpectedKept(chain(target), chain(draft), 3);
      assert.ok(Math.abs(meanTokens(engine) - 1 - kept) < 1e-12, `E[kept] ${meanTokens(engine) - 1} vs closed form ${kept}`);
      const sd = stepLaw('sd', [1, 1, 1], target, draft);
      const sdKept = sdExpectedKept(chain(target), chain(draft), 3);
      assert.ok(Math.abs(meanTokens(sd) - 1 - sdKept) < 1e-12, `SD E[kept] ${meanTokens(sd) - 1} vs closed form ${sdKept}`);
      assert.ok(kept >= sdKept - 1e-15, `seed ${seed}: block ${kept} < SD ${sdKept}`);
    }
  });

  test('at depth 1 traversal is RRS and spechub-traversal is SpecHub, with their closed-form acceptance', () => {
    const pairs: [MethodName, MethodName, number][] = [
      ['traversal', 'rrs', 2],
      ['traversal', 'rrs', 3],
      ['spechub-traversal', 'spechub', 2],
      ['spechub-traversal', 'spechub', 3],
      ['block', 'sd', 1],
    ];
    for (const seed of seeds) {
      const target = hashedTable(seed, V);
      const draft = hashedTable(seed + 500, V);
      const p = viaF32(target)(PROMPT);
      const q = viaF32(draft)(PROMPT);
      for (const [seq, node, k] of pairs) {
        const a = stepLaw(seq, [k], target, draft);
        assertSameMaps(a, stepLaw(node, [k], target, draft), `${seq} vs ${node}, k = ${k}, seed ${seed}`);
        const alpha = meanTokens(a) - 1;
        const closed = node === 'spechub' ? spechubAcceptance(p, q, k) : rrsAcceptance(p, q, k);
        assert.ok(Math.abs(alpha - closed) < 1e-12, `${seq} k = ${k}: α ${alpha} vs closed form ${closed}`);
      }
    }
  });

  test('on trees traversal keeps at least as many drafts as RRS, spechub-traversal as SpecHub (and more somewhere)', () => {
    const gains = { traversal: 0, 'spechub-traversal': 0 };
    for (const seed of seeds) {
      const target = hashedTable(seed, V);
      const draft = hashedTable(seed + 500, V);
      for (const tree of [[2, 1], [1, 2], [2, 2]]) {
        for (const [seq, node] of [['traversal', 'rrs'], ['spechub-traversal', 'spechub']] as const) {
          const a = meanTokens(stepLaw(seq, tree, target, draft));
          const b = meanTokens(stepLaw(node, tree, target, draft));
          assert.ok(a >= b - 1e-12, `seed ${seed} tree ${tree}: ${seq} ${a} < ${node} ${b}`);
          gains[seq] = Math.max(gains[seq], a - b);
        }
      }
    }
    assert.ok(gains.traversal > 1e-3 && gains['spechub-traversal'] > 1e-3, `no gain seen: ${JSON.stringify(gains)}`);
  });
});
