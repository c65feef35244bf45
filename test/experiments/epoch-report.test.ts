// The epoch benchmark's report (lib/experiments/epoch-report.ts), from hand-made runs whose figures are worked out
// here: the seconds per epoch and the course / Keras ratios, the cell-over-cell ratios beside the arithmetic, the
// FLOP and GFLOP/s of each run, the parameters the formulas expect, and what is shown when a run is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILES } from '../../lib/training/config';
import type { Cell } from '../../lib/cells/layer-kinds';
import { epochReport, fmt, type ReportInput } from '../../lib/experiments/epoch-report';
import type { RunResult } from '../../lib/experiments/epoch-runs';

const CONFIG = { ...PROFILES.full, epochs: 1 };
const MACHINE = { cpuModel: 'test CPU', cpus: 2, at: '2026-12-07T00:00:00.000Z' };

/** A run of one epoch: `train` s of training and `val` s of validation, `extra` s more of wall time. */
function run(cell: Cell, side: 'course' | 'keras', recurrentDropout: number, train: number, val: number, extra = 0): RunResult {
  return {
    cell,
    side,
    recurrentDropout,
    label: `${side} ${cell} R=${recurrentDropout}`,
    params: 1000,
    matmulGflops: 100,
    epochs: [
      {
        epoch: 1,
        trainSeconds: train,
        valSeconds: val,
        seconds: train + val + extra,
        loss: 0.5,
        accuracy: 0.75,
        valLoss: 0.55,
        valAccuracy: 0.7,
      },
    ],
    facts: { layer: `${cell} layer`, threads: 'defaults' },
    ...(side === 'keras'
      ? {
          path: {
            kind: recurrentDropout === 0 ? 'fused' : 'generic',
            function: recurrentDropout === 0 ? `standard_${cell}` : 'keras.backend.rnn',
            text: '',
            traced: [],
          },
        }
      : {}),
  } as RunResult;
}

const RUNS = [
  run('gru', 'course', 0.2, 90, 10),
  run('gru', 'keras', 0.2, 180, 20),
  run('gru', 'keras', 0, 100, 20),
  run('lstm', 'course', 0.2, 120, 15, 5),
  run('lstm', 'keras', 0.2, 240, 20),
  run('lstm', 'keras', 0, 110, 20),
  run('simpleRnn', 'course', 0.2, 30, 10),
  run('simpleRnn', 'keras', 0.2, 80, 20),
  run('simpleRnn', 'keras', 0, 60, 20),
];

const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  config: CONFIG,
  cells: ['gru', 'lstm', 'simpleRnn'],
  recurrentDropouts: [0.2, 0],
  runs: RUNS,
  loads: ['before course gru R=0.2: load average: 1.00', 'after course gru R=0.2: load average: 1.50'],
  machine: MACHINE,
  matmulN: 2048,
  ...over,
});

/** The report's line that starts with `prefix`. */
const line = (text: string, prefix: string) => {
  const found = text.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(found, `no line starting ${JSON.stringify(prefix)} in:\n${text}`);
  return found;
};

test('fmt: fixed decimals, n/a for what was not measured', () => {
  assert.equal(fmt(1.25), '1.3');
  assert.equal(fmt(2 / 3, 2), '0.67');
  assert.equal(fmt(NaN), 'n/a');
  assert.equal(fmt(Infinity, 2), 'n/a');
});

test('the report: sizes and machine, every epoch, seconds per epoch with course / Keras, and Keras path per cell', () => {
  const text = epochReport(input());
  assert.equal(
    line(text, '## '),
    '## Epoch benchmark: GRU, LSTM, SimpleRNN; 25,000 training reviews + validation on 25,000, maxLen 500, batch 32, 1 epoch(s)',
  );
  assert.equal(line(text, 'Machine:'), 'Machine: test CPU, 2 logical CPUs; 2026-12-07T00:00:00.000Z');
  assert.equal(
    line(text, '| lstm | 0.2 | 1 | course lstm'),
    '| lstm | 0.2 | 1 | course lstm R=0.2 | 120.0 | 15.0 | 140.0 | 0.5000 | 0.7500 | 0.5500 | 0.7000 |',
  );
  // GRU: course 90 / 10 / 100 s; Keras R=0.2 180 / 20 / 200 (ratios 0.5, 0.5, 0.5); Keras R=0 100 / 20 / 120
  assert.equal(
    line(text, '| GRU | '),
    '| GRU | 90.0 / 10.0 / 100.0 | 180.0 / 20.0 / 200.0 | 0.50 / 0.50 / 0.50 | generic keras.backend.rnn | 100.0 / 20.0 / 120.0 | 0.90 / 0.50 / 0.83 | fused standard_gru |',
  );
});

test('the report: GRU / LSTM and SimpleRNN / LSTM per epoch on each side, beside 0.75 and 0.25 of the arithmetic', () => {
  const text = epochReport(input());
  assert.equal(line(text, '| cells |'), '| cells | arithmetic | course (R=0.2) | Keras R=0.2 | Keras R=0 |');
  // total seconds: course GRU 100 / LSTM 140; Keras R=0.2 200 / 260; R=0 120 / 130
  assert.equal(
    line(text, '| GRU / LSTM |'),
    `| GRU / LSTM | 0.75 | ${(100 / 140).toFixed(2)} | ${(200 / 260).toFixed(2)} | ${(120 / 130).toFixed(2)} |`,
  );
  assert.equal(
    line(text, '| SimpleRNN / LSTM |'),
    `| SimpleRNN / LSTM | 0.25 | ${(40 / 140).toFixed(2)} | ${(100 / 260).toFixed(2)} | ${(80 / 130).toFixed(2)} |`,
  );
  // without the LSTM there is nothing to divide by: no ratio table
  const noLstm = epochReport(input({ cells: ['gru', 'simpleRnn'], runs: RUNS.filter((r) => r.cell !== 'lstm') }));
  assert.ok(!noLstm.includes('| cells |'));
});

test('the report: FLOP and GFLOP/s per run against the matmul, the parameters expected, the load', () => {
  const text = epochReport(input());
  // SimpleRNN: 32,768,256 FLOP per review forward (500 x 4 x 128 x 128 + 256); an epoch of 25,000 reviews x (3 + 1)
  const simpleEpoch = 32_768_256 * 25_000 * 4;
  const gflops = simpleEpoch / 40 / 1e9; // the course run's 40 s
  assert.equal(
    line(text, '| course simpleRnn R=0.2 |'),
    `| course simpleRnn R=0.2 | 1,000 | ${(simpleEpoch / 1e9).toFixed(1)} | ${((simpleEpoch * 0.75) / 30 / 1e9).toFixed(1)} | ${((simpleEpoch * 0.25) / 10 / 1e9).toFixed(1)} | ${gflops.toFixed(1)} | 100.0 | ${gflops.toFixed(1)} % |`,
  );
  assert.match(text, /- SimpleRNN \(b = 1, 32,768 multiply-adds per step\): forward, one review .* = 32,768,256 FLOP/);
  // the reference models: 1,280,000 embedding + recurrent + 129 dense
  assert.equal(
    line(text, '- Expected parameters'),
    '- Expected parameters (lib/cells/layer-kinds.ts paramCount + embedding + dense): GRU 1,379,201, LSTM 1,411,713, SimpleRNN 1,313,025',
  );
  assert.equal(line(text, '- course gru R=0.2:'), '- course gru R=0.2: layer gru layer; threads defaults');
  assert.ok(
    text.endsWith('- before course gru R=0.2: load average: 1.00\n- after course gru R=0.2: load average: 1.50\n'),
    text.slice(-200),
  );
});

test('the report: a cell the course did not run says so, and a missing Keras run is n/a, not a number', () => {
  const runs = RUNS.filter((r) => !(r.cell === 'gru' && (r.side === 'course' || r.recurrentDropout === 0)));
  const text = epochReport(input({ runs }));
  assert.equal(line(text, '| GRU | '), '| GRU | not run | 180.0 / 20.0 / 200.0 | n/a | generic keras.backend.rnn | n/a | n/a | n/a |');
  assert.equal(line(text, '| GRU / LSTM |'), `| GRU / LSTM | 0.75 | n/a | ${(200 / 260).toFixed(2)} | n/a |`);
});
