// The epoch benchmark's two sides (lib/experiments/epoch-runs.ts): the arguments keras_reference.py gets (its own
// spelling of the cells), what a Keras JSON becomes, the record written from the runs (read back by
// lib/experiments/epoch-benchmark.ts), and the Keras side itself at smoke size for cells other than the GRU, with and
// without recurrent dropout: the layer class, the parameter count against lib/cells/layer-kinds.ts's formula, the
// code path Keras took and the epochs it timed. Creates .venv-keras on first use. Needs the IMDB archive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadImdb } from '../../lib/data/imdb';
import { exportImdb } from '../../lib/data/export';
import { kerasPython } from '../../lib/keras/python';
import { ROOT } from '../../lib/util/paths';
import { COURSE_KINDS, paramCount, type Cell } from '../../lib/cells/layer-kinds';
import { PROFILES } from '../../lib/training/config';
import {
  KERAS_REFERENCE_CELL,
  benchmarkRecord,
  kerasArgs,
  kerasRunResult,
  type KerasJson,
  type RunResult,
} from '../../lib/experiments/epoch-runs';
import { epochBenchmarkFrame, readEpochBenchmark } from '../../lib/experiments/epoch-benchmark';
import { epochReport, epochReportBody, reportInputOfRecord } from '../../lib/experiments/epoch-report';

const ARCHIVE = process.env.IMDB_ARCHIVE || path.resolve(ROOT, '..', 'shared', 'data', 'aclImdb_v1-labeled.tar.gz');
const REFERENCE = PROFILES.full;

/** A Keras JSON as keras_reference.py writes it, for a SimpleRNN without recurrent dropout, one epoch. */
function kerasJson(): KerasJson {
  return {
    tensorflow: '2.12.0',
    keras: '2.12.0',
    numpy: '1.23.5',
    python: '3.11.2',
    cpu_model: 'test CPU',
    cpu_count: 2,
    threading: { intra_op: 0 },
    matmul: { gflops: 150 },
    config: { cell: 'simple_rnn', dropout: 0.2, recurrent_dropout: 0, epochs: 1, max_len: 500, num_words: 10_000 },
    params: 1_313_025,
    rnn: {
      cell: 'simple_rnn',
      layer_class: 'SimpleRNN',
      params: 32_896,
      dropout: 0.2,
      recurrent_dropout: 0,
      implementation: null,
      could_use_fused_kernel: false,
      path_kind: 'generic',
      function: 'keras.backend.rnn',
      path: 'generic keras.backend.rnn: SimpleRNN has no fused path',
      traced_functions: [],
    },
    epochs: [{ epoch: 1, train_seconds: 60, val_seconds: 15, seconds: 80, loss: 0.69, accuracy: 0.52, val_loss: 0.67, val_accuracy: 0.6 }],
  };
}

test('keras_reference.py gets its own spelling of each cell, and every setting of the run', () => {
  assert.deepEqual(KERAS_REFERENCE_CELL, { gru: 'gru', lstm: 'lstm', simpleRnn: 'simple_rnn' });
  const args = kerasArgs({ cell: 'simpleRnn', recurrentDropout: 0 }, '/data/x', { ...REFERENCE, epochs: 2 }, 512, '/tmp/out.json');
  assert.deepEqual(args, [
    '--data',
    '/data/x',
    '--cell',
    'simple_rnn',
    '--dropout',
    '0.2',
    '--recurrent-dropout',
    '0',
    '--epochs',
    '2',
    '--batch-size',
    '32',
    '--seed',
    '42',
    '--matmul-n',
    '512',
    '--out',
    '/tmp/out.json',
  ]);
});

test("a Keras JSON becomes a run: the course's names, its epochs in seconds, the path Keras took and its setup", () => {
  const r = kerasRunResult({ cell: 'simpleRnn', side: 'keras', recurrentDropout: 0 }, kerasJson(), REFERENCE);
  assert.equal(r.label, 'Keras 2.12.0 simpleRnn R=0');
  assert.equal(r.params, 1_313_025);
  assert.equal(r.matmulGflops, 150);
  assert.deepEqual(r.epochs, [
    { epoch: 1, trainSeconds: 60, valSeconds: 15, seconds: 80, loss: 0.69, accuracy: 0.52, valLoss: 0.67, valAccuracy: 0.6 },
  ]);
  assert.deepEqual(r.path, {
    kind: 'generic',
    function: 'keras.backend.rnn',
    text: 'generic keras.backend.rnn: SimpleRNN has no fused path',
    traced: [],
  });
  assert.equal(r.facts.layer, 'SimpleRNN (dropout 0.2, recurrent dropout 0)', 'no implementation, reset_after or unit_forget_bias to name');
  assert.equal(r.facts['fused functions in the traced training step'], 'none');
  const lstm = kerasJson();
  lstm.rnn = { ...lstm.rnn, layer_class: 'LSTM', implementation: 2, unit_forget_bias: true, traced_functions: null };
  const l = kerasRunResult({ cell: 'lstm', side: 'keras', recurrentDropout: 0 }, lstm, REFERENCE);
  assert.equal(l.facts.layer, 'LSTM (dropout 0.2, recurrent dropout 0, implementation=2, unit_forget_bias=true)');
  assert.equal(l.facts['fused functions in the traced training step'], 'not readable');
});

test('the record of the runs is what readEpochBenchmark reads back: cells in the course vocabulary, every epoch', () => {
  const keras = kerasRunResult({ cell: 'simpleRnn', side: 'keras', recurrentDropout: 0 }, kerasJson(), REFERENCE);
  const course: RunResult = {
    ...keras,
    side: 'course',
    recurrentDropout: 0.2,
    kind: 'kerasSimpleRnn',
    label: 'course simpleRnn',
    path: undefined,
  };
  const made = {
    command: 'npm run bench:epoch -- --cells simpleRnn',
    commit: 'abc1234',
    measuredAt: '2026-12-07T00:00:00.000Z',
    cpuModel: 'test CPU',
    matmulN: 2048,
  };
  const record = benchmarkRecord([course, keras], ['before: load 1', 'after: load 2'], { ...REFERENCE, epochs: 1 }, made);
  assert.deepEqual(record.config, { trainSize: 25_000, testSize: 25_000, maxLen: 500, batchSize: 32, epochs: 1 });
  assert.deepEqual(
    record.runs.map((r) => `${r.cell} ${r.side} ${r.recurrentDropout} ${r.path ?? 'no path'}`),
    ['simpleRnn course 0.2 no path', 'simpleRnn keras 0 generic keras.backend.rnn: SimpleRNN has no fused path'],
  );
  assert.deepEqual(record.runs[1].epochs, [
    { epoch: 1, trainSeconds: 60, valSeconds: 15, seconds: 80, loss: 0.69, accuracy: 0.52, valLoss: 0.67, valAccuracy: 0.6 },
  ]);
  assert.equal(record.runs[1].matmulGflops, 150);
  assert.equal(record.runs[1].facts?.cpus, 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epoch-record-'));
  try {
    const file = path.join(dir, 'record.json');
    fs.writeFileSync(file, JSON.stringify(record));
    const back = readEpochBenchmark(file);
    assert.deepEqual(back, record);
    assert.deepEqual(epochBenchmarkFrame(back).getColumn('cell').toArray(), ['SimpleRNN', 'SimpleRNN']);
    // a record that spells a cell the old way is refused with the new name
    fs.writeFileSync(file, JSON.stringify({ ...record, runs: record.runs.map((r) => ({ ...r, cell: 'simple_rnn' })) }));
    assert.throws(
      () => readEpochBenchmark(file),
      /, run "course simpleRnn": its cell "simple_rnn" is the old name of "simpleRnn": write simpleRnn$/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the report made from a record (BENCHMARKS.md's copy) is the report of the runs it was written from", () => {
  const json = kerasJson();
  const simple = kerasRunResult({ cell: 'simpleRnn', side: 'keras', recurrentDropout: 0 }, json, REFERENCE);
  const fusedPath = "fused LSTM function (cuDNN on a GPU, the tf.function 'standard_lstm' while loop on a CPU): recurrent_dropout=0";
  json.rnn = {
    ...json.rnn,
    layer_class: 'LSTM',
    path_kind: 'fused',
    function: 'standard_lstm',
    path: fusedPath,
    traced_functions: ['standard_lstm'],
  };
  const lstm = kerasRunResult({ cell: 'lstm', side: 'keras', recurrentDropout: 0 }, json, REFERENCE);
  const course: RunResult = { ...simple, side: 'course', recurrentDropout: 0.2, label: 'course simpleRnn', path: undefined };
  const runs = [course, simple, { ...lstm, epochs: lstm.epochs.map((e) => ({ ...e, seconds: 160 })) }];
  const loads = ['before: load 1', 'after: load 2'];
  const config = { ...REFERENCE, epochs: 1 };
  const made = {
    command: 'npm run bench:epoch',
    commit: 'abc1234',
    measuredAt: '2026-12-07T00:00:00.000Z',
    cpuModel: 'test CPU',
    matmulN: 1024,
  };
  const record = JSON.parse(JSON.stringify(benchmarkRecord(runs, loads, config, made))) as ReturnType<typeof benchmarkRecord>;
  const machine = { cpuModel: 'test CPU', cpus: 2, at: made.measuredAt };
  const direct = epochReport({ config, cells: ['simpleRnn', 'lstm'], recurrentDropouts: [0], runs, loads, machine, matmulN: 1024 });
  const body = epochReportBody(reportInputOfRecord(record));
  assert.ok(direct.includes(`\n${body}\n`), `the record's report:\n${body}\n\nis not the runs' report:\n${direct}`);
  assert.match(body, /\| SimpleRNN \|.*\| generic keras\.backend\.rnn \|/);
  assert.match(body, /1024×1024 matmul/);
  // a record written before losses, matmul and setup were kept: those are n/a, the seconds are still there
  const old = { ...record, matmulN: undefined, runs: record.runs.map((r) => ({ ...r, matmulGflops: undefined, facts: undefined })) };
  const oldBody = epochReportBody(reportInputOfRecord(old));
  assert.match(oldBody, /\| course simpleRnn \| 1,313,025 \| 3276\.8 \| 41\.0 \| 54\.6 \| 41\.0 \| n\/a \| n\/a \|/);
  assert.match(oldBody, /\| matmul GFLOP\/s \|/);
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

  /** Runs keras_reference.py with the arguments the benchmark gives it; returns the JSON it wrote. */
  function runKeras(cell: Cell, recurrentDropout: number): KerasJson {
    const out = path.join(tmp, `${cell}-${recurrentDropout}.json`);
    const config = { ...REFERENCE, epochs: 1 };
    const args = [path.join(ROOT, 'scripts', 'keras_reference.py'), ...kerasArgs({ cell, recurrentDropout }, exportDir, config, 256, out)];
    const r = spawnSync(python, args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `keras_reference.py --cell ${KERAS_REFERENCE_CELL[cell]}: ${r.stderr}`);
    assert.match(
      r.stdout,
      new RegExp(`^keras ${KERAS_REFERENCE_CELL[cell]} R=${recurrentDropout} epoch 1: train `, 'm'),
      'one progress line per epoch on stdout',
    );
    return JSON.parse(fs.readFileSync(out, 'utf8')) as KerasJson;
  }

  /** Embedding + the recurrent layer by lib/cells/layer-kinds.ts's formula + Dense(1). */
  const expectedParams = (cell: Cell) =>
    REFERENCE.numWords * REFERENCE.embeddingDim +
    paramCount(COURSE_KINDS[cell], REFERENCE.embeddingDim, REFERENCE.units) +
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
    assert.equal(k.rnn.params, paramCount('tfLstm', REFERENCE.embeddingDim, REFERENCE.units));
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
    const k = runKeras('simpleRnn', 0.2);
    assert.equal(k.config.cell, 'simple_rnn');
    assert.equal(k.config.recurrent_dropout, 0.2);
    assert.equal(k.rnn.layer_class, 'SimpleRNN');
    assert.equal(k.rnn.recurrent_dropout, 0.2);
    assert.equal(k.rnn.params, paramCount('tfSimpleRnn', REFERENCE.embeddingDim, REFERENCE.units));
    assert.equal(k.params, expectedParams('simpleRnn'));
    assert.equal(k.params, 1_313_025, 'the reference SimpleRNN model');
    assert.equal(k.rnn.could_use_fused_kernel, false);
    assert.equal(k.rnn.path_kind, 'generic');
    assert.match(k.rnn.path, /SimpleRNN has no fused/);
    assert.deepEqual(k.rnn.traced_functions, []);
    assert.equal(k.epochs.length, 1);
    assert.ok(k.epochs[0].train_seconds > 0 && k.epochs[0].val_seconds > 0, JSON.stringify(k.epochs[0]));
    // and the run it becomes in the benchmark
    const run = kerasRunResult({ cell: 'simpleRnn', side: 'keras', recurrentDropout: 0.2 }, k, REFERENCE);
    assert.equal(run.label, `Keras ${k.keras} simpleRnn R=0.2`);
    assert.equal(run.path?.kind, 'generic');
  });
});
