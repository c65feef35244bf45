import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { KerasGRU } from '../../lib/cells/gru-layer';
import { buildModel, recurrentLayerOf } from '../../lib/training/model';
import {
  gateHeatmaps,
  opinionChart,
  opinionFlips,
  pickExamples,
  readGates,
  tokenFrame,
  tokenLabels,
  wordScatter,
  wordStats,
  type GateTrace,
} from '../../lib/experiments/gates';

const NUM_WORDS = 50;
const MAX_LEN = 12;

// Rows with 0, some and many leading pads (Keras 'pre' padding), a START id and repeated words.
const ROWS: number[][] = [
  [1, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 49],
  [0, 0, 0, 0, 1, 5, 6, 5, 6, 20, 21, 22],
  [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 33],
  [0, 0, 1, 2, 40, 41, 2, 42, 43, 44, 45, 46],
];

function nearly(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

describe('readGates on a small model', () => {
  let model: tf.LayersModel;
  before(() => {
    model = buildModel({ numWords: NUM_WORDS, maxLen: MAX_LEN, embeddingDim: 4, units: 3, seed: 7 });
    // Non-zero biases everywhere (the initial ones are zero), so a forgotten bias shows.
    const fresh = model.weights.map((w, i) => tf.randomNormal(w.shape as number[], 0, 0.8, 'float32', 100 + i));
    model.setWeights(fresh);
    tf.dispose(fresh);
  });
  after(() => model.dispose());

  // The reference: h_t for every position of the full padded row, from KerasGRU.gates on the embedded ids.
  function reference(row: number[]) {
    return tf.tidy(() => {
      const x = tf.gather(model.layers[0].getWeights()[0], tf.tensor2d([row], [1, row.length], 'int32')) as tf.Tensor as tf.Tensor3D;
      const g = (recurrentLayerOf(model) as KerasGRU).gates(x);
      const [w, b] = model.layers[2].getWeights();
      const h = g.h.arraySync()[0];
      const logits = tf
        .matMul(g.h.squeeze([0]) as tf.Tensor2D, w as tf.Tensor2D)
        .add(b)
        .dataSync();
      return { h, z: g.z.arraySync()[0], r: g.r.arraySync()[0] as number[][], logit: Array.from(logits), p: Array.from(logits, sigmoid) };
    });
  }

  test('the running prediction at the last token is model.predict on the same row', () => {
    const traces = readGates(model, ROWS);
    const predicted = tf.tidy(() => (model.predict(tf.tensor2d(ROWS, [ROWS.length, MAX_LEN], 'int32')) as tf.Tensor).dataSync());
    traces.forEach((t, i) => nearly(t.prediction[t.prediction.length - 1], predicted[i], 1e-5, `row ${i}`));
    // and it is not a constant: the rows give different predictions
    assert.ok(Math.max(...predicted) - Math.min(...predicted) > 1e-3);
  });

  test('pads are dropped and every value sits at its token', () => {
    const traces = readGates(model, ROWS);
    ROWS.forEach((row, i) => {
      const t = traces[i];
      const kept = row.map((id, p) => [id, p]).filter(([id]) => id !== 0);
      assert.deepEqual(
        t.ids,
        kept.map(([id]) => id),
      );
      assert.deepEqual(
        t.positions,
        kept.map(([, p]) => p),
      );
      for (const key of ['z', 'r', 'rMin', 'rLow', 'change', 'prediction'] as const) assert.equal(t[key].length, kept.length, key);
    });
  });

  test('z, r, the state change and the prediction equal what gates().h, z, r give, position by position', () => {
    const traces = readGates(model, ROWS);
    const half = readGates(model, ROWS, { lowReset: 0.5 });
    assert.ok(
      half.some((t) => t.rLow.some((v) => v > 0 && v < 1)),
      'a threshold of 0.5 splits the units somewhere',
    );
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    ROWS.forEach((row, i) => {
      const ref = reference(row);
      traces[i].positions.forEach((p, k) => {
        const hPrev = p === 0 ? [0, 0, 0] : ref.h[p - 1];
        nearly(traces[i].change[k], mean(ref.h[p].map((v, j) => Math.abs(v - hPrev[j]))), 1e-6, `row ${i} change at ${p}`);
        nearly(traces[i].z[k], mean(ref.z[p]), 1e-6, `row ${i} z at ${p}`);
        nearly(traces[i].r[k], mean(ref.r[p]), 1e-6, `row ${i} r at ${p}`);
        nearly(traces[i].rMin[k], Math.min(...ref.r[p]), 1e-6, `row ${i} smallest r at ${p}`);
        nearly(traces[i].rLow[k], ref.r[p].filter((v) => v < 0.1).length / 3, 1e-7, `row ${i} share of r below 0.1 at ${p}`);
        // another threshold, for the share: 0.5 splits these units
        nearly(half[i].rLow[k], ref.r[p].filter((v) => v < 0.5).length / 3, 1e-7, `row ${i} share of r below 0.5 at ${p}`);
        nearly(traces[i].logit[k], ref.logit[p], 1e-5, `row ${i} logit at ${p}`);
        nearly(traces[i].prediction[k], ref.p[p], 1e-6, `row ${i} prediction at ${p}`);
      });
      // the first real token meets the state after the pads, not h_0 = 0
      const first = traces[i].positions[0];
      const bias = model.layers[2].getWeights()[1].dataSync()[0];
      nearly(traces[i].before.logit, first === 0 ? bias : ref.logit[first - 1], 1e-5, `row ${i} logit before`);
      nearly(traces[i].before.prediction, first === 0 ? sigmoid(bias) : ref.p[first - 1], 1e-6, `row ${i} before`);
      nearly(traces[i].before.meanAbsState, first === 0 ? 0 : mean(ref.h[first - 1].map(Math.abs)), 1e-6, `row ${i} state before`);
    });
    assert.ok(traces[2].before.meanAbsState > 0, 'ten pads move the state away from 0');
  });

  test('the batch size does not change the read-out, and no tensor is left behind', () => {
    readGates(model, ROWS.slice(0, 1)); // warm-up allocations
    const before = tf.memory().numTensors;
    const one = readGates(model, ROWS, { batchSize: 1 });
    const all = readGates(model, ROWS);
    assert.equal(tf.memory().numTensors, before);
    one.forEach((t, i) => t.change.forEach((c, k) => nearly(c, all[i].change[k], 1e-6, `row ${i} token ${k}`)));
  });

  test('bad input gives a clear error', () => {
    assert.throws(() => readGates(model, []), /gates: no rows/);
    assert.throws(() => readGates(model, [[]]), /rows are empty/);
    assert.throws(() => readGates(model, [ROWS[0], ROWS[1].slice(1)]), /row 1 has 11 ids, row 0 has 12/);
    assert.throws(() => readGates(model, [[1, 2, NUM_WORDS]]), /row 0, position 2: id 50 is not in 0\.\.49/);
    assert.throws(() => readGates(model, [[1, -1]]), /id -1 is not in/);
    assert.throws(() => readGates(model, [[1, 2.5]]), /id 2\.5 is not in/);
    assert.throws(() => readGates(model, [ROWS[0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]), /row 1 holds only padding/);
    assert.throws(() => readGates(model, ROWS, { batchSize: 0 }), /batchSize must be a positive integer/);
    assert.throws(() => readGates(model, ROWS, { lowReset: 1 }), /lowReset must be in \(0, 1\), got 1/);
    const lstm = buildModel({ numWords: NUM_WORDS, maxLen: MAX_LEN, embeddingDim: 4, units: 3, seed: 7, rnn: 'tfLstm' });
    assert.throws(() => readGates(lstm, ROWS), /recurrent layer lstm is a LSTM, not a KerasGRU/);
    lstm.dispose();
  });
});

describe('opinionFlips', () => {
  test('sides change at 0.5; exactly 0.5 keeps the side; the first side taken is not a flip', () => {
    assert.deepEqual(opinionFlips([0.7, 0.45, 0.35, 0.55, 0.65]), [1, 3]);
    assert.deepEqual(opinionFlips([0.6, 0.5, 0.4]), [2]);
    assert.deepEqual(opinionFlips([0.5, 0.5, 0.3, 0.7]), [3]);
    assert.deepEqual(opinionFlips([0.2, 0.3, 0.4]), []);
    assert.deepEqual(opinionFlips([]), []);
  });
  test('a margin ignores wiggles inside threshold ± margin', () => {
    assert.deepEqual(opinionFlips([0.7, 0.45, 0.35, 0.55, 0.65], { margin: 0.1 }), [2, 4]);
    assert.deepEqual(opinionFlips([0.55, 0.45, 0.55, 0.45], { margin: 0.1 }), []);
    assert.deepEqual(opinionFlips([0.85, 0.75, 0.85], { threshold: 0.8 }), [1, 2]);
  });
  test('bad input', () => {
    assert.throws(() => opinionFlips([0.5, NaN]), /prediction 1 is NaN/);
    assert.throws(() => opinionFlips([0.5], { margin: -0.1 }), /margin >= 0/);
  });
});

const logit = (p: number) => Math.log(p / (1 - p));

// A hand-made trace: `n` tokens (ids 4..), a given running prediction (cycled), state change 0.1.
function trace(n: number, prediction: number[]): GateTrace {
  const p = Array.from({ length: n }, (_, k) => prediction[k % prediction.length]);
  return {
    ids: Array.from({ length: n }, (_, k) => 4 + k),
    positions: Array.from({ length: n }, (_, k) => k),
    z: Array(n).fill(0.5),
    r: Array(n).fill(0.5),
    rMin: Array(n).fill(0.4),
    rLow: Array(n).fill(0),
    change: Array(n).fill(0.1),
    logit: p.map(logit),
    prediction: p,
    before: { logit: 0, prediction: 0.5, meanAbsState: 0 },
  };
}

describe('pickExamples', () => {
  const flat = (p: number) => [p];
  const traces = [
    trace(45, flat(0.95)), // 0: positive, confident
    trace(45, flat(0.99)), // 1: positive, more confident, but excluded below in one test
    trace(10, flat(0.999)), // 2: too short
    trace(60, flat(0.02)), // 3: negative, confident
    trace(60, [0.2, 0.8]), // 4: flips at every token
    trace(60, [0.3, 0.3, 0.7, 0.7]), // 5: flips every second token
    trace(200, [0.2, 0.8]), // 6: too long
    trace(50, flat(0.97)), // 7: labelled negative but predicted positive
  ];
  const labels = [1, 1, 1, 0, 0, 1, 0, 0];

  test('clearly positive, clearly negative, and the review that flips most', () => {
    const [pos, neg, mixed] = pickExamples(traces, labels);
    assert.deepEqual([pos.kind, pos.index, pos.label], ['clearly positive', 1, 1]);
    assert.deepEqual([neg.kind, neg.index, neg.label], ['clearly negative', 3, 0]);
    assert.deepEqual([mixed.kind, mixed.index], ['mixed', 4]);
    assert.equal(mixed.flips.length, 59);
    assert.match(mixed.rule, /most flips .* \(59\)/);
    assert.equal(pos.trace, traces[1]);
  });

  test('exclude and token limits are honoured', () => {
    const [pos, , mixed] = pickExamples(traces, labels, { exclude: (i) => i === 1 || i === 4 });
    assert.equal(pos.index, 0);
    assert.equal(mixed.index, 5);
    const [longPos] = pickExamples(traces, labels, { minTokens: 5, maxTokens: 300 });
    assert.equal(longPos.index, 2);
  });

  test('without any flip, "mixed" is the final prediction closest to 0.5; impossible picks throw', () => {
    const calm = [trace(45, flat(0.9)), trace(45, flat(0.1)), trace(45, flat(0.3)), trace(45, flat(0.45))];
    const [, , mixed] = pickExamples(calm, [1, 0, 0, 1]);
    assert.equal(mixed.index, 3);
    assert.match(mixed.rule, /no review flips/);
    assert.throws(() => pickExamples(calm, [0, 0, 0, 0]), /no review of 40\.\.100 tokens qualifies as clearly positive/);
    assert.throws(() => pickExamples(calm, [1, 0]), /4 traces but 2 labels/);
  });
});

describe('tokenFrame and wordStats', () => {
  const words = ['[PAD]', '[START]', '[OOV]', '[UNUSED]', 'good', 'bad', 'the'];
  const a: GateTrace = {
    ids: [1, 6, 4, 6],
    positions: [2, 3, 4, 5],
    z: [0.9, 0.8, 0.2, 0.7],
    r: [0.5, 0.5, 0.5, 0.5],
    rMin: [0.1, 0.2, 0.05, 0.3],
    rLow: [0, 0, 0.5, 0],
    change: [0.1, 0.02, 0.6, 0.04],
    logit: [0, 0.1, 2, 1.9],
    prediction: [0, 0.1, 2, 1.9].map(sigmoid),
    before: { logit: -0.5, prediction: sigmoid(-0.5), meanAbsState: 0.3 },
  };
  const b: GateTrace = {
    ids: [1, 6, 5],
    positions: [0, 1, 2],
    z: [0.9, 0.6, 0.1],
    r: [0.4, 0.4, 0.4],
    rMin: [0.2, 0.01, 0.2],
    rLow: [0, 0.25, 0],
    change: [0.1, 0.06, 0.5],
    logit: [0.4, 0, -2],
    prediction: [0.4, 0, -2].map(sigmoid),
    before: { logit: -0.2, prediction: sigmoid(-0.2), meanAbsState: 0 },
  };

  test("one row per token, push = logit minus the previous one (the pad state's for the first token)", () => {
    const f = tokenFrame([a, b], words, [1, 0]);
    assert.deepEqual(f.columns, ['review', 'position', 'id', 'word', 'z', 'r', 'rMin', 'rLow', 'change', 'prediction', 'push', 'label']);
    assert.deepEqual(f.getColumn('review').toArray(), [0, 0, 0, 0, 1, 1, 1]);
    assert.deepEqual(f.getColumn('word').toArray(), ['[START]', 'the', 'good', 'the', '[START]', 'the', 'bad']);
    const push = f.getColumn('push').toArray() as number[];
    [0.5, 0.1, 1.9, -0.1, 0.6, -0.4, -2].forEach((s, i) => nearly(push[i], s, 1e-12, `push ${i}`));
    assert.deepEqual(f.getColumn('label').toArray(), [1, 1, 1, 1, 0, 0, 0]);
    assert.ok(!tokenFrame([a], words).columns.includes('label'));
    assert.throws(() => tokenFrame([a, b], words, [1]), /2 traces but 1 labels/);
  });

  test('per word: counts and means, the minCount filter, largest mean change first', () => {
    const stats = wordStats(tokenFrame([a, b], words, [1, 0]));
    const rows = stats.toRecords() as Record<string, number | string>[];
    assert.deepEqual(
      rows.map((r) => r.word),
      ['good', 'bad', '[START]', 'the'],
    );
    const the = rows[3];
    assert.equal(the.count, 3);
    nearly(the.meanChange as number, (0.02 + 0.04 + 0.06) / 3, 1e-12, 'the: change');
    nearly(the.meanZ as number, (0.8 + 0.7 + 0.6) / 3, 1e-12, 'the: z');
    nearly(the.positiveShare as number, 2 / 3, 1e-12, 'the: positive share');
    nearly(the.meanPush as number, (0.1 - 0.1 - 0.4) / 3, 1e-12, 'the: push');
    nearly(the.meanRLow as number, (0 + 0 + 0.25) / 3, 1e-12, 'the: share of nearly shut reset gates');
    const frequent = wordStats(tokenFrame([a, b], words), { minCount: 2 });
    assert.deepEqual(frequent.getColumn('word').toArray(), ['[START]', 'the']);
    assert.deepEqual(frequent.getColumn('count').toArray(), [2, 3]);
    assert.ok(!frequent.columns.includes('positiveShare'));
    assert.throws(() => wordStats(tokenFrame([a], words), { minCount: 0 }), /minCount must be a positive integer/);
  });

  test('charts: unique labels, wrapped heatmaps, flips marked, scatter needs labels', () => {
    assert.deepEqual(tokenLabels(a, words), ['1·[START]', '2·the', '3·good', '4·the']);
    assert.equal(gateHeatmaps(a, words, { title: 'a' }).length, 1);
    const maps = gateHeatmaps(a, words, { title: 'a', wrap: 3 }); // 4 words: two charts of 2, not 3 + 1
    assert.equal(maps.length, 2);
    const [z0, z1] = maps.map((m) => (m.data[0] as { z: number[][] }).z);
    assert.deepEqual(
      z0.map((row) => row.length),
      [2, 2, 2],
    );
    assert.deepEqual(z1[0], [0.2, 0.7]); // mean z of words 3 and 4
    assert.equal(z1[2][0], 1); // |Δh| scaled by its largest value, at "good"
    assert.deepEqual((maps[1].layout.xaxis as { ticktext: string[] }).ticktext, ['3·good', '4·the']);
    assert.throws(() => gateHeatmaps(a, words, { title: 'a', wrap: 0 }), /wrap must be a positive integer/);
    const chart = opinionChart(b, words, { title: 'b', margin: 0 });
    const flips = chart.data[2] as { x: string[] };
    assert.deepEqual(flips.x, ['3·bad']);
    assert.throws(() => wordScatter(wordStats(tokenFrame([a], words)), { title: 's' }), /needs wordStats of a tokenFrame made with labels/);
    assert.equal(wordScatter(wordStats(tokenFrame([a, b], words, [1, 0])), { title: 's' }).data.length, 1);
  });
});
