// Loss, accuracy and batches (lib/training/evaluate.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { binaryCrossEntropy, countCorrect, gatherBatch } from '../../lib/training/evaluate';
import type { ImdbSplit } from '../../lib/data/imdb';

test('binary cross-entropy and accuracy', () => {
  const y = tf.tensor2d([[1], [0], [1], [0]]);
  const p = tf.tensor2d([[0.9], [0.2], [0.4], [0.5]]);
  const bce = Array.from(binaryCrossEntropy(y, p).dataSync());
  [-Math.log(0.9), -Math.log(0.8), -Math.log(0.4), -Math.log(0.5)].forEach((e, i) => assert.ok(Math.abs(bce[i] - e) < 1e-6));
  // 0.5 is not positive (Keras: p > 0.5), so the last one is right.
  assert.equal(countCorrect(y, p).dataSync()[0], 3);
  const clipped = binaryCrossEntropy(tf.tensor1d([1]), tf.tensor1d([0])).dataSync()[0];
  assert.ok(Number.isFinite(clipped) && Math.abs(clipped + Math.log(1e-7)) < 1e-3, `p = 0 is clipped: ${clipped}`);
  assert.ok(Number.isNaN(binaryCrossEntropy(tf.tensor1d([1]), tf.tensor1d([NaN])).dataSync()[0]), 'NaN must not be clipped away');
});

test('gatherBatch picks rows of a split: ids int32 [n, maxLen], labels float32 [n, 1]', () => {
  const split: ImdbSplit = {
    x: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), // 3 rows of maxLen 3
    y: Uint8Array.from([1, 0, 1]),
    ids: Uint32Array.from([10, 11, 12]),
    ratings: Uint8Array.from([9, 2, 8]),
    lengths: Uint32Array.from([3, 3, 3]),
    size: 3,
  };
  const { x, y } = gatherBatch(split, [2, 0], 3);
  assert.equal(x.dtype, 'int32');
  assert.deepEqual(x.arraySync(), [
    [7, 8, 9],
    [1, 2, 3],
  ]);
  assert.equal(y.dtype, 'float32');
  assert.deepEqual(y.arraySync(), [[1], [1]]);
});
