// lib/experiments/batch-timing.ts: interleaved batch timing of the course's and the eager layers (medians, the
// TensorFlow calls of a training step), and the table that sets each course layer beside the eager layer of its
// cell. Uses the synthetic fixture archive and tiny sizes; no real data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { COMPARED_LAYERS, EAGER_LAYERS, TIMED_LAYERS, comparisonConfig } from '../../lib/experiments/compare';
import { timeBatches, timingFrame, type BatchTiming } from '../../lib/experiments/batch-timing';
import { type ImdbData } from '../../lib/data/imdb';
import type { RnnKind } from '../../lib/cells/layer-kinds';
import { TINY, fakeTiming, tinyComparisonData } from './comparison-fixtures';

let dir: string;
let data: ImdbData;

before(async () => {
  ({ dir, data } = await tinyComparisonData('batch-timing-test-'));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('timeBatches: medians for the course and the eager layers; each course layer sends far fewer TensorFlow calls than the eager layer of its cell', async () => {
  const config = comparisonConfig('ci', 'kerasGru', TINY);
  const rounds: number[] = [];
  const layers = TIMED_LAYERS.map((l) => l.rnn);
  const timings = await timeBatches(layers, config, data.train, { rounds: 2, onRound: (r) => rounds.push(r) });
  assert.deepEqual(rounds, [1, 2]);
  assert.deepEqual(
    timings.map((t) => t.rnn),
    layers,
  );
  for (const t of timings) {
    assert.ok(t.trainMs > 0 && t.predictMs > 0 && Number.isFinite(t.trainMs), JSON.stringify(t));
    assert.equal(t.maxLen, 12);
    assert.equal(t.batchSize, 4);
    assert.equal(t.rounds, 2);
    assert.ok(t.kernelsPerTrainStep > 0);
  }
  const calls = (rnn: RnnKind) => (timings.find((t) => t.rnn === rnn) as BatchTiming).kernelsPerTrainStep;
  for (const course of COMPARED_LAYERS) {
    const eager = EAGER_LAYERS.find((l) => l.cell === course.cell)!;
    // an eager loop calls TensorFlow for every operation of every step (12 steps here)
    assert.ok(calls(eager.rnn) > 12 * 5, `${eager.rnn}: ${calls(eager.rnn)} calls`);
    assert.ok(
      calls(course.rnn) < calls(eager.rnn) / 2,
      `${course.cell}: ${course.rnn} ${calls(course.rnn)} vs ${eager.rnn} ${calls(eager.rnn)}`,
    );
  }
  await assert.rejects(
    timeBatches(['kerasLstm'], { ...config, maxLen: 20 }, data.train),
    /timeBatches: the split holds reviews of 12 ids, the config wants maxLen 20: load the data with that maxLen/,
  );
  await assert.rejects(timeBatches(['kerasLstm'], { ...config, batchSize: 64 }, data.train), /timing needs 64 reviews, the split has 6/);
  await assert.rejects(timeBatches(['kerasLstm'], config, data.train, { rounds: 0 }), /rounds must be a positive integer/);
});

test('timingFrame: one row per timed layer; "x faster than tf.layers" divides by the eager layer of the same cell', () => {
  const timings = [
    fakeTiming('kerasSimpleRnn', 50, 300),
    fakeTiming('kerasGru', 100, 400),
    fakeTiming('kerasLstm', 125, 450),
    fakeTiming('tfSimpleRnn', 500, 5000),
    fakeTiming('tfGru', 1200, 11000),
    fakeTiming('tfLstm', 1000, 9000),
  ];
  const rows = timingFrame(timings, 1000).toRecords() as Record<string, unknown>[];
  assert.deepEqual(
    rows.map((r) => r.layer),
    ['SimpleRNN', 'GRU', 'LSTM', 'SimpleRNN (tf.layers)', 'GRU (tf.layers)', 'LSTM (tf.layers)'],
  );
  assert.deepEqual(
    rows.map((r) => r['x faster than tf.layers']),
    [10, 12, 8, 1, 1, 1],
  );
  assert.deepEqual(
    rows.map((r) => r['TF calls / training step']),
    [300, 400, 450, 5000, 11000, 9000],
  );
  // 1,000 reviews in batches of 32: 32 batches per epoch
  assert.deepEqual(
    rows.map((r) => r['s / epoch of training (estimated)']),
    [2, 3, 4, 16, 38, 32],
  );
  assert.equal(rows[0]['ids / review'], 80);
  // without the eager layer of its cell there is nothing to divide by
  const alone = timingFrame([fakeTiming('kerasGru', 100)], 1000).toRecords() as Record<string, unknown>[];
  assert.ok(Number.isNaN(alone[0]['x faster than tf.layers']));
});
