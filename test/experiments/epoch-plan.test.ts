// The epoch benchmark's plan and arithmetic (lib/experiments/epoch-plan.ts): the order of its runs, the options that
// choose them (old cell names refused with the new one), the FLOP of an epoch against the products counted by hand,
// and the cell-over-cell time ratios beside the ratios of multiply-adds per step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multiplyAddsPerStep } from '../../lib/cells/layer-kinds';
import { PROFILES } from '../../lib/training/config';
import { cellRatios, epochFlops, parseCellList, parseRecurrentDropouts, planRuns, type TimedRun } from '../../lib/experiments/epoch-plan';

const REFERENCE = PROFILES.full;

test('the runs interleave the sides per cell: the course layer first, then Keras with each recurrent dropout', () => {
  const all = { cells: ['gru', 'lstm', 'simpleRnn'] as const, recurrentDropouts: [0.2, 0], skipKeras: false, skipOurs: false };
  assert.deepEqual(
    planRuns(all, 0.2).map((r) => `${r.side} ${r.cell} ${r.recurrentDropout} ${r.kind ?? ''}`),
    [
      'course gru 0.2 kerasGru',
      'keras gru 0.2 ',
      'keras gru 0 ',
      'course lstm 0.2 kerasLstm',
      'keras lstm 0.2 ',
      'keras lstm 0 ',
      'course simpleRnn 0.2 kerasSimpleRnn',
      'keras simpleRnn 0.2 ',
      'keras simpleRnn 0 ',
    ],
  );
  assert.deepEqual(
    planRuns({ ...all, skipKeras: true }, 0.2).map((r) => r.side),
    ['course', 'course', 'course'],
  );
  assert.deepEqual(
    planRuns({ ...all, skipOurs: true }, 0.2).map((r) => r.side),
    ['keras', 'keras', 'keras', 'keras', 'keras', 'keras'],
  );
  assert.throws(() => planRuns({ ...all, skipKeras: true, skipOurs: true }, 0.2), /leave nothing to run: give at most one/);
});

test('--cells and --recurrent-dropout read comma-separated lists and refuse what is not a cell or a rate in [0, 1)', () => {
  assert.deepEqual(parseCellList('lstm, gru,lstm'), ['lstm', 'gru']);
  assert.deepEqual(parseCellList('simpleRnn'), ['simpleRnn']);
  assert.deepEqual(parseRecurrentDropouts('0.2,0,.5,0.2'), [0.2, 0, 0.5]);
  for (const bad of ['gru,LSTM', 'rnn', ''])
    assert.throws(
      () => parseCellList(bad),
      /is not a cell: use one of gru, lstm, simpleRnn; write a comma-separated list such as gru,lstm,simpleRnn$/,
      bad,
    );
  // the benchmark's old spelling of the simple RNN names the new one
  assert.throws(
    () => parseCellList('gru,simple_rnn'),
    /--cells "gru,simple_rnn": "simple_rnn" is the old name of "simpleRnn": write simpleRnn;/,
  );
  for (const bad of ['1', '0.2,-0.1', 'x', '', '1e-1'])
    assert.throws(() => parseRecurrentDropouts(bad), /is not a number in \[0, 1\): write e\.g\. 0\.2,0$/, bad);
});

test('epochFlops: the matrix products of an epoch, counted by hand at the reference sizes', () => {
  // SimpleRNN (1 block): per review 500 steps x (2*128*128 input + 2*128*128 recurrent) + 2*128 dense
  const simple = epochFlops(REFERENCE, 'kerasSimpleRnn');
  assert.equal(simple.inputProjection, 500 * 2 * 128 * 128);
  assert.equal(simple.recurrent, 500 * 2 * 128 * 128);
  assert.equal(simple.dense, 256);
  assert.equal(simple.forwardPerReview, 32_768_256);
  // training: forward + backward (about 2 forward) over 25,000 reviews; validation: forward over 25,000
  assert.equal(simple.train, 3 * 32_768_256 * 25_000);
  assert.equal(simple.validation, 32_768_256 * 25_000);
  assert.equal(simple.total, 3_276_825_600_000);
  // the GRU has 3 blocks, the LSTM 4: their products scale with the blocks, the dense layer does not
  const gru = epochFlops(REFERENCE, 'kerasGru');
  const lstm = epochFlops(REFERENCE, 'kerasLstm');
  assert.equal(gru.recurrent, 3 * simple.recurrent);
  assert.equal(lstm.inputProjection, 4 * simple.inputProjection);
  assert.equal(gru.forwardPerReview, 2 * REFERENCE.maxLen * multiplyAddsPerStep('kerasGru', 128, 128) + 256, '2 x multiply-adds per step');
  assert.deepEqual(epochFlops(REFERENCE), gru, 'the reference model by default');
});

test('the cell-over-cell time ratios are set beside the ratios of multiply-adds per step', () => {
  const run = (cell: TimedRun['cell'], side: TimedRun['side'], recurrentDropout: number, seconds: number): TimedRun => ({
    cell,
    side,
    recurrentDropout,
    epochs: [{ seconds }],
  });
  const runs = [
    run('gru', 'keras', 0.2, 30),
    run('lstm', 'keras', 0.2, 40),
    run('simpleRnn', 'keras', 0.2, 8),
    run('gru', 'course', 0.2, 9),
  ];
  const rows = cellRatios(runs, REFERENCE, [
    { side: 'keras', recurrentDropout: 0.2 },
    { side: 'course', recurrentDropout: 0.2 },
  ]);
  const E = REFERENCE.embeddingDim;
  const H = REFERENCE.units;
  assert.deepEqual(
    rows.map((r) => r.cells),
    [
      ['gru', 'lstm'],
      ['simpleRnn', 'lstm'],
    ],
  );
  // Independent of the table: the gate blocks written out, 3 (GRU), 4 (LSTM), 1 (SimpleRNN) of [E + H, H].
  assert.equal(rows[0].arithmetic, (3 * (E + H) * H) / (4 * (E + H) * H));
  assert.equal(rows[1].arithmetic, (1 * (E + H) * H) / (4 * (E + H) * H));
  assert.deepEqual(rows[0].measured.slice(0, 1), [30 / 40]);
  assert.deepEqual(rows[1].measured.slice(0, 1), [8 / 40]);
  assert.ok(Number.isNaN(rows[0].measured[1]), 'no course LSTM run: n/a, not a number made up');
});
