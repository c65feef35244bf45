// The epoch benchmark (scripts/bench-epoch.ts): the order of its runs, its options, the cell-over-cell ratios it
// reports, and the Keras side (scripts/keras_reference.py) at smoke size for cells other than the GRU, with and
// without recurrent dropout: the layer class, the parameter count against lib/cells/layer-kinds.ts's formula, the
// code path Keras took and the epochs it timed. Creates .venv-keras on first use. Needs the IMDB archive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadImdb } from '../lib/data/imdb';
import { exportImdb } from '../lib/data/export';
import { kerasPython } from '../lib/keras/python';
import { ROOT } from '../lib/util/paths';
import { multiplyAddsPerStep, paramCount } from '../lib/cells/layer-kinds';
import { PROFILES } from '../lib/training/config';
import { CliError } from '../scripts/cli';
import {
  arithmeticKind,
  cellRatios,
  kerasArgs,
  parseCells,
  parseRecurrentDropouts,
  planRuns,
  type KerasJson,
} from '../scripts/bench-epoch';
import type { BenchCell } from '../lib/experiments/epoch-benchmark';

const ARCHIVE = process.env.IMDB_ARCHIVE || path.resolve(ROOT, '..', 'shared', 'data', 'aclImdb_v1-labeled.tar.gz');
const REFERENCE = PROFILES.full;

test('the runs interleave the sides per cell: the course layer first, then Keras with each recurrent dropout', () => {
  const all = { cells: ['gru', 'lstm', 'simple_rnn'] as BenchCell[], recurrentDropouts: [0.2, 0], skipKeras: false, skipOurs: false };
  assert.deepEqual(
    planRuns(all, 0.2).map((r) => `${r.side} ${r.cell} ${r.recurrentDropout} ${r.kind ?? ''}`),
    [
      'course gru 0.2 kerasGru',
      'keras gru 0.2 ',
      'keras gru 0 ',
      'course lstm 0.2 kerasLstm',
      'keras lstm 0.2 ',
      'keras lstm 0 ',
      'course simple_rnn 0.2 kerasSimpleRnn',
      'keras simple_rnn 0.2 ',
      'keras simple_rnn 0 ',
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
});

test('--cells and --recurrent-dropout read comma-separated lists and refuse what is not a cell or a rate in [0, 1)', () => {
  assert.deepEqual(parseCells('lstm, gru,lstm'), ['lstm', 'gru']);
  assert.deepEqual(parseRecurrentDropouts('0.2,0,.5,0.2'), [0.2, 0, 0.5]);
  for (const bad of ['gru,LSTM', 'rnn', ''])
    assert.throws(
      () => parseCells(bad),
      (e: unknown) => e instanceof CliError && /not a cell: use/.test(e.message),
      bad,
    );
  for (const bad of ['1', '0.2,-0.1', 'x', '', '1e-1'])
    assert.throws(
      () => parseRecurrentDropouts(bad),
      (e: unknown) => e instanceof CliError && /not a number in \[0, 1\)/.test(e.message),
      bad,
    );
});

test('the cell-over-cell time ratios are set beside the ratios of multiply-adds per step', () => {
  const run = (cell: BenchCell, side: 'course' | 'keras', recurrentDropout: number, seconds: number) => ({
    cell,
    side,
    recurrentDropout,
    epochs: [{ epoch: 1, trainSeconds: seconds - 1, valSeconds: 1, seconds, loss: 0, accuracy: 0, valLoss: 0, valAccuracy: 0 }],
  });
  const runs = [
    run('gru', 'keras', 0.2, 30),
    run('lstm', 'keras', 0.2, 40),
    run('simple_rnn', 'keras', 0.2, 8),
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
      ['simple_rnn', 'lstm'],
    ],
  );
  // Independent of the table: the gate blocks written out, 3 (GRU), 4 (LSTM), 1 (SimpleRNN) of [E + H, H].
  assert.equal(rows[0].arithmetic, (3 * (E + H) * H) / (4 * (E + H) * H));
  assert.equal(rows[1].arithmetic, (1 * (E + H) * H) / (4 * (E + H) * H));
  assert.equal(rows[0].arithmetic, multiplyAddsPerStep('kerasGru', E, H) / multiplyAddsPerStep('lstm', E, H));
  assert.deepEqual(rows[0].measured.slice(0, 1), [30 / 40]);
  assert.deepEqual(rows[1].measured.slice(0, 1), [8 / 40]);
  assert.ok(Number.isNaN(rows[0].measured[1]), 'no course LSTM run: n/a, not a number made up');
});

describe('the Keras side at smoke size (keras_reference.py, Keras 2.12)', () => {
  let tmp: string;
  let exportDir: string;
  let python: string;

  before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-epoch-test-'));
    const data = (await loadImdb({ numWords: REFERENCE.numWords, maxLen: 60, archivePath: ARCHIVE })).subset(256, 128);
    exportDir = (await exportImdb(data)).dir;
    python = kerasPython('keras2');
  });

  after(async () => {
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  /** Runs keras_reference.py with the arguments bench-epoch.ts gives it; returns the JSON it wrote. */
  function runKeras(cell: BenchCell, recurrentDropout: number): KerasJson {
    const out = path.join(tmp, `${cell}-${recurrentDropout}.json`);
    const config = { ...REFERENCE, epochs: 1 };
    const args = [path.join(ROOT, 'scripts', 'keras_reference.py'), ...kerasArgs({ cell, recurrentDropout }, exportDir, config, 256, out)];
    const r = spawnSync(python, args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `keras_reference.py --cell ${cell}: ${r.stderr}`);
    assert.match(
      r.stdout,
      new RegExp(`^keras ${cell} R=${recurrentDropout} epoch 1: train `, 'm'),
      'one progress line per epoch on stdout',
    );
    return JSON.parse(fs.readFileSync(out, 'utf8')) as KerasJson;
  }

  /** Embedding + the recurrent layer by lib/cells/layer-kinds.ts's formula + Dense(1). */
  const expectedParams = (cell: BenchCell) =>
    REFERENCE.numWords * REFERENCE.embeddingDim +
    paramCount(arithmeticKind(cell), REFERENCE.embeddingDim, REFERENCE.units) +
    REFERENCE.units +
    1;

  test('LSTM without recurrent dropout: an LSTM layer of 131,584 weights, the fused standard_lstm path, one timed epoch', () => {
    const k = runKeras('lstm', 0);
    assert.equal(k.config.cell, 'lstm');
    assert.equal(k.config.recurrent_dropout, 0);
    assert.equal(k.rnn.layer_class, 'LSTM');
    assert.equal(k.rnn.recurrent_dropout, 0);
    assert.equal(k.rnn.dropout, 0.2);
    assert.equal(k.rnn.unit_forget_bias, true, "Keras's default");
    assert.equal(k.rnn.params, paramCount('lstm', REFERENCE.embeddingDim, REFERENCE.units));
    assert.equal(k.params, expectedParams('lstm'));
    assert.equal(k.params, 1_411_713, 'the reference LSTM model');
    assert.equal(k.rnn.could_use_fused_kernel, true);
    assert.equal(k.rnn.path_kind, 'fused');
    assert.equal(k.rnn.function, 'standard_lstm');
    assert.ok(k.rnn.traced_functions?.includes('standard_lstm'), `traced: ${JSON.stringify(k.rnn.traced_functions)}`);
    assert.equal(k.epochs.length, 1);
    const e = k.epochs[0];
    assert.ok(
      e.train_seconds > 0 && e.val_seconds > 0 && e.seconds >= e.train_seconds + e.val_seconds,
      `training and validation are parts of the epoch: ${JSON.stringify(e)}`,
    );
    assert.ok(Number.isFinite(e.val_accuracy) && Number.isFinite(e.loss));
  });

  test('SimpleRNN with recurrent dropout 0.2: a SimpleRNN layer of 32,896 weights, the generic while loop (it has no fused path)', () => {
    const k = runKeras('simple_rnn', 0.2);
    assert.equal(k.config.cell, 'simple_rnn');
    assert.equal(k.config.recurrent_dropout, 0.2);
    assert.equal(k.rnn.layer_class, 'SimpleRNN');
    assert.equal(k.rnn.recurrent_dropout, 0.2);
    assert.equal(k.rnn.params, paramCount('simpleRnn', REFERENCE.embeddingDim, REFERENCE.units));
    assert.equal(k.params, expectedParams('simple_rnn'));
    assert.equal(k.params, 1_313_025, 'the reference SimpleRNN model');
    assert.equal(k.rnn.could_use_fused_kernel, false);
    assert.equal(k.rnn.path_kind, 'generic');
    assert.match(k.rnn.path, /SimpleRNN has no fused/);
    assert.deepEqual(k.rnn.traced_functions, []);
    assert.equal(k.epochs.length, 1);
    assert.ok(k.epochs[0].train_seconds > 0 && k.epochs[0].val_seconds > 0, JSON.stringify(k.epochs[0]));
  });
});
