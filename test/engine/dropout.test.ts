// Keras's recurrent dropout (lib/engine/dropout.ts): the inverted mask, which rates draw masks, and the order of the seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { clampRate, drawGateMasks, dropoutMask, isDropoutActive } from '../../lib/engine/dropout';

test('dropoutMask keeps 1 - rate of the entries, scaled by 1/(1 - rate); a seed repeats it', () => {
  const values = Array.from(dropoutMask([200, 50], 0.25, 1).dataSync());
  assert.ok(values.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
  const kept = values.filter((v) => v > 0).length / values.length;
  assert.ok(Math.abs(kept - 0.75) < 0.03, `kept fraction ${kept}`);
  assert.deepEqual(Array.from(dropoutMask([200, 50], 0.25, 1).dataSync()), values, 'same seed, other mask');
});

test('only 0 < rate < 1 drops (Keras); rates are clamped to [0, 1]', () => {
  assert.deepEqual([0, 0.2, 0.999, 1, -0.1].map(isDropoutActive), [false, true, true, false, false]);
  assert.deepEqual([undefined, -1, 0.3, 2].map(clampRate), [0, 0, 0.3, 1]);
});

test('drawGateMasks: G input masks then G recurrent masks, seeds in that order, none for an inactive side', () => {
  const seeds: number[] = [];
  let next = 100;
  const draw = (dropout: number, recurrentDropout: number) =>
    drawGateMasks(4, { input: [3, 5], recurrent: [3, 2] }, { dropout, recurrentDropout }, () => {
      seeds.push(next);
      return next++;
    });
  const both = draw(0.5, 0.5);
  assert.equal(both.input?.length, 4);
  assert.equal(both.recurrent?.length, 4);
  assert.deepEqual(both.input?.[0].shape, [3, 5]);
  assert.deepEqual(both.recurrent?.[0].shape, [3, 2]);
  assert.deepEqual(seeds, [100, 101, 102, 103, 104, 105, 106, 107]);
  // each mask is the one dropoutMask draws with its seed: input gate k with seed 100 + k, recurrent gate k with 104 + k
  assert.deepEqual(Array.from(both.input?.[2].dataSync() ?? []), Array.from(dropoutMask([3, 5], 0.5, 102).dataSync()));
  assert.deepEqual(Array.from(both.recurrent?.[1].dataSync() ?? []), Array.from(dropoutMask([3, 2], 0.5, 105).dataSync()));
  // a side whose rate is 0 draws nothing and uses no seed
  const inputOnly = draw(0.5, 0);
  assert.equal(inputOnly.recurrent, null);
  assert.deepEqual(seeds.slice(8), [108, 109, 110, 111]);
  const none = draw(0, 1);
  assert.deepEqual([none.input, none.recurrent], [null, null]);
  assert.equal(seeds.length, 12);
  tf.dispose([...(both.input ?? []), ...(both.recurrent ?? []), ...(inputOnly.input ?? [])]);
});
