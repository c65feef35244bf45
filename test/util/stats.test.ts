// The summaries of measurements (lib/util/stats.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, median } from '../../lib/util/stats';

test('median: the middle value, the mean of the middle two for an even count, order ignored; none is an error', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.equal(median([1, 1000, 2]), 2, 'one slow round does not move it');
  assert.throws(() => median([]), /median: no values/);
});

test('mean: the arithmetic mean; NaN for no values', () => {
  assert.equal(mean([1, 2, 6]), 3);
  assert.ok(Number.isNaN(mean([])));
});
