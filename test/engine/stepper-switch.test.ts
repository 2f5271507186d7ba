// A Stepper switching between trees and plain steps (what `--tree auto` does every few steps) keeps a
// separate draft model in step with the target: tokens committed by plain steps are pending for the
// draft and fed in one batch when a tree comes back, however many plain steps ran; a prefill can
// leave the prompt pending the same way (the Generator does when tree auto is on plain steps). (Before, the pending
// buffer held one tree's depth: a run of more plain steps marked the draft stale, and every later
// "tree" of that generation ran as a plain step.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createNodeRuntime, loadModelFromPath, WEIGHTS_DIR } from '../../src/node.js';
import { Stepper, feedCausal } from '../../src/engine/speculative.js';
import { modelDrafter } from '../../src/engine/drafters.js';
import { createRng } from '../../src/rng.js';

const rt = createNodeRuntime();
const target = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories260K'), { maxBatch: 64 });
const draft = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64 });
// a second copy of the draft, fed the committed tokens from scratch, as the reference
const fresh = await loadModelFromPath(rt, join(WEIGHTS_DIR, 'stories281K-draft'), { maxBatch: 64, name: 'fresh-draft' });

function argmax(row: Float32Array, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe('engine/stepper: switching between trees and plain steps', () => {
  /** Greedy steps from a prefilled prompt: `before` tree steps, `plainSteps` plain ones, then one tree step, checked. */
  function check(plainSteps: number, before: number, prefill: 'prefill' | 'deferred' | 'deferred-from'): void {
    const st = new Stepper({ target: target.model, drafter: modelDrafter(target, draft), method: 'spechub', tree: [1, 1, 1], altShapes: [[]], sampling: { temperature: 0 } });
    const prompt = [1, 403, 407, 261, 378, 263, 280];
    st.reset();
    if (prefill === 'prefill') st.prefill(Int32Array.from(prompt.slice(0, -1)));
    else if (prefill === 'deferred') st.prefill(Int32Array.from(prompt.slice(0, -1)), true);
    else {
      // a continued cache: 3 tokens kept in both caches, the rest deferred
      st.prefill(Int32Array.from(prompt.slice(0, 3)));
      st.prefillFrom(Int32Array.from(prompt.slice(0, -1)), 3, true);
    }
    if (prefill !== 'prefill') assert.equal(draft.model.cache.length, prefill === 'deferred' ? 0 : 3, 'a deferred prefill leaves the draft where it was');
    const seq = [...prompt]; // committed tokens, then the root
    const rng = createRng(3);
    const run = (steps: number) => {
      for (let i = 0; i < steps; i++) {
        st.step(seq[seq.length - 1]!, rng, 1000);
        for (let j = 0; j < st.emittedCount; j++) seq.push(st.emitted[j]!);
      }
    };
    run(before);
    st.setTree([]);
    run(plainSteps);
    assert.equal(target.model.cache.length, seq.length - 1);
    assert.ok(draft.model.cache.length < seq.length - plainSteps, 'plain steps leave the draft behind');
    st.setTree([1, 1, 1]);
    const nodesBefore = st.stats.draftNodes;
    st.step(seq[seq.length - 1]!, rng, 1000);
    assert.equal(st.stats.draftNodes - nodesBefore, 3, 'the tree is drafted');
    // the first draft token is the draft's greedy choice after every committed token and the root
    const m = fresh.model;
    m.cache.truncate(0);
    feedCausal(m, Int32Array.from(seq.slice(0, -1)), fresh.config.nLayers);
    m.tokens[0] = seq[seq.length - 1]!;
    m.positions[0] = m.cache.length;
    m.forward(1, 0);
    assert.equal(st.tree.tokens[1], argmax(m.logits, fresh.config.vocabSize));
    // after the step the draft holds all the committed tokens but those of this step's path it never saw
    const committed = target.model.cache.length;
    assert.ok(draft.model.cache.length >= committed - 4 && draft.model.cache.length <= committed, `draft ${draft.model.cache.length}, committed ${committed}`);
  }

  for (const plainSteps of [3, 40, 150]) {
    test(`after ${plainSteps} plain steps a tree drafts again, from a draft that has seen every committed token (greedy)`, () => {
      check(plainSteps, 2, 'prefill');
    });
  }
  test('a deferred prefill (tree auto on plain steps): the draft is fed the prompt with the first tree, after plain steps or at once', () => {
    check(20, 0, 'deferred');
    check(0, 0, 'deferred');
    check(12, 0, 'deferred-from');
  });
});
