// The summaries of measurements (lib/util/stats.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, median, round } from '../../lib/util/stats';

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

test('round: to a number of decimals, as Math.round does at that scale; non-finite values pass through', () => {
  assert.equal(round(1.2345, 2), 1.23);
  assert.equal(round(1.235, 1), 1.2);
  assert.equal(round(2.5, 0), 3);
  assert.equal(round(-2.5, 0), -2, 'Math.round: halves go up');
  assert.equal(round(1234.5, -2), 1200, 'negative digits round to tens, hundreds');
  assert.equal(round(0.1 + 0.2, 4), 0.3);
  assert.ok(Number.isNaN(round(NaN, 1)));
  assert.equal(round(Infinity, 1), Infinity);
});
