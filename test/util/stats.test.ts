// The one median of the library, the auto-tuner and the benchmarks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median } from '../../src/util/stats.js';

test('median: the middle value (odd count), the mean of the two middle ones (even), NaN for none; the input keeps its order', () => {
  const xs = [5, 1, 4, 2, 3];
  assert.equal(median(xs), 3);
  assert.deepEqual(xs, [5, 1, 4, 2, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.equal(median([-0.5, 10, 10]), 10);
  assert.ok(Number.isNaN(median([])));
  // numeric order, not the default string order of sort()
  assert.equal(median([10, 9, 100]), 10);
});
