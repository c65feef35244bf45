// model.fit's progress as the course's events, and its history as EpochRecord rows (lib/training/fit-progress.ts),
// checked against the History object fit itself returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { fitProgress } from '../../lib/training/fit-progress';
import { type BatchProgress, type EpochProgress, type ProgressEvent } from '../../lib/training/train-progress';

function smallModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({ inputShape: [4], units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
  );
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return model;
}

function data(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = tf.randomNormal([n, 4], 0, 1, 'float32', seed) as tf.Tensor2D;
  const y = x.sum(1, true).greater(0).cast('float32') as tf.Tensor2D; // a rule the model can learn
  return { x, y };
}

test("fitProgress: the history equals fit's own History, and the last batch line of an epoch is the epoch's mean", async () => {
  const model = smallModel();
  const train = data(50, 2); // 50 examples in batches of 16: 16, 16, 16, 2 (a short last batch)
  const val = data(20, 3);
  const events: ProgressEvent[] = [];
  const progress = fitProgress({ epochs: 3, examples: 50, batchSize: 16, onProgress: (e) => events.push(e) });
  const fitted = await model.fit(train.x, train.y, {
    epochs: 3,
    batchSize: 16,
    validationData: [val.x, val.y],
    callbacks: [progress.callback],
    shuffle: false,
    verbose: 0,
  });
  const h = fitted.history as Record<string, number[]>;
  const acc = h.acc ?? h.accuracy;
  const valAcc = h.val_acc ?? h.val_accuracy;
  assert.equal(progress.history.length, 3);
  progress.history.forEach((r, i) => {
    assert.equal(r.epoch, i + 1);
    assert.equal(r.loss, h.loss[i]);
    assert.equal(r.accuracy, acc[i]);
    assert.equal(r.val_loss, h.val_loss[i]);
    assert.equal(r.val_accuracy, valAcc[i]);
    assert.ok(r.seconds > 0 && r.seconds < 60, `epoch ${i + 1} took ${r.seconds} s`);
  });
  assert.ok(progress.history[2].loss < progress.history[0].loss, 'the toy model learned (the loss fell)');

  const batches = events.filter((e): e is BatchProgress => e.type === 'batch');
  assert.equal(batches.length, 3 * 4, 'four batches an epoch (50 / 16, rounded up), each reported');
  for (let epoch = 1; epoch <= 3; epoch++) {
    const mine = batches.filter((e) => e.epoch === epoch);
    assert.deepEqual(
      mine.map((e) => `${e.batch}/${e.batches}`),
      ['1/4', '2/4', '3/4', '4/4'],
    );
    const last = mine[3];
    // fit's epoch loss is the size-weighted mean of its batch losses: the running mean after the last batch
    assert.ok(Math.abs(last.loss - h.loss[epoch - 1]) < 1e-6, `epoch ${epoch}: running loss ${last.loss}, fit's ${h.loss[epoch - 1]}`);
    assert.ok(Math.abs(last.accuracy - acc[epoch - 1]) < 1e-6);
    assert.equal(last.epochEtaSeconds, 0);
  }
  const epochs = events.filter((e): e is EpochProgress => e.type === 'epoch');
  assert.deepEqual(
    epochs.map((e) => e.record.epoch),
    [1, 2, 3],
  );
  assert.equal(epochs[2].runEtaSeconds, 0);
  assert.ok(epochs[0].runEtaSeconds > 0);
  tf.dispose([train.x, train.y, val.x, val.y]);
  model.dispose();
});

test('fitProgress: a fit without validation data is an error that says what to add', async () => {
  const model = smallModel();
  const train = data(8, 4);
  const progress = fitProgress({ epochs: 1, examples: 8, batchSize: 8, onProgress: () => {} });
  await assert.rejects(
    model.fit(train.x, train.y, { epochs: 1, batchSize: 8, callbacks: [progress.callback], verbose: 0 }),
    /epoch 1 has no val_loss in its logs .*fit with validationData/,
  );
  tf.dispose([train.x, train.y]);
  model.dispose();
});

test('fitProgress: sizes that are not positive integers are refused', () => {
  const onProgress = () => {};
  assert.throws(() => fitProgress({ epochs: 0, examples: 8, batchSize: 8, onProgress }), /epochs must be a positive integer, got 0/);
  assert.throws(() => fitProgress({ epochs: 1, examples: 8, batchSize: 2.5, onProgress }), /batchSize must be a positive integer/);
  assert.throws(() => fitProgress({ epochs: 1, examples: 0, batchSize: 8, onProgress }), /examples must be a positive integer/);
});
