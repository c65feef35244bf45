// lib/compare.ts: the same budget for every layer, parameter and arithmetic formulas against built layers,
// interleaved batch timing, training all layers with resume, and the claim checks. Uses the synthetic
// fixture archive and tiny sizes; no real data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  COMPARED_LAYERS,
  TIMING_LENGTHS,
  checkClaims,
  claimFrame,
  comparisonConfig,
  comparisonPrinter,
  comparisonFrame,
  comparisonRunDir,
  timeBatches,
  trainComparison,
  type BatchTiming,
  type ComparisonRun,
} from '../lib/compare';
import { ROOT } from '../lib/paths';
import { type ImdbData } from '../lib/imdb';
import { paramCount, type RnnKind } from '../lib/recurrent-layers';
import type { EpochRecord } from '../lib/run-dir';
import { PROFILES } from '../lib/train-config';
import { TINY, tinyComparisonData } from './comparison-fixtures';

const KINDS = COMPARED_LAYERS.map((l) => l.rnn);

let dir: string;
let data: ImdbData;

before(async () => {
  ({ dir, data } = await tinyComparisonData('compare-test-'));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('every layer gets the same budget: configs differ only in the recurrent layer', () => {
  for (const profile of ['ci', 'full'] as const) {
    const configs = KINDS.map((rnn) => comparisonConfig(profile, rnn));
    for (const c of configs) {
      const { rnn: _rnn, ...rest } = c;
      const { rnn: _first, ...first } = configs[0];
      (void _rnn, void _first);
      assert.deepEqual(rest, first);
      // the reference model's sizes, optimizer and dropout are kept
      for (const key of [
        'numWords',
        'embeddingDim',
        'units',
        'dropout',
        'recurrentDropout',
        'batchSize',
        'learningRate',
        'seed',
        'dataSeed',
      ] as const) {
        assert.equal(c[key], PROFILES.full[key], `${profile} ${c.rnn} ${key}`);
      }
      assert.ok(TIMING_LENGTHS[profile].includes(c.maxLen), 'time per batch is measured at the comparison length');
    }
    assert.deepEqual(
      configs.map((c) => c.rnn),
      KINDS,
    );
  }
  const ci = comparisonConfig('ci', 'lstm');
  const full = comparisonConfig('full', 'lstm');
  assert.ok(ci.trainSize < full.trainSize && ci.epochs <= full.epochs && ci.maxLen < full.maxLen, 'ci is the smaller budget');
  assert.ok(TIMING_LENGTHS.full.includes(500), 'the full profile also times the reference length');
  assert.equal(comparisonConfig('ci', 'lstm', { epochs: 3 }).epochs, 3);
  assert.equal(comparisonConfig('ci', 'lstm', { rnn: 'tfGru' }).rnn, 'lstm', 'overrides cannot change the layer');
});

test('bad options get clear errors', () => {
  assert.throws(() => comparisonConfig('ci', 'gru' as RnnKind), /no compared layer "gru"; use one of simpleRnn, tfGru, lstm, kerasGru/);
  assert.throws(() => comparisonConfig('ci', 'lstm', { maxLen: 0 }), /maxLen/);
  assert.equal(comparisonRunDir('full', 'lstm', '/x/runs'), path.join('/x/runs', 'compare-full', 'lstm'));
});

test('timeBatches: medians for every layer; the native-graph GRU sends far fewer calls to TensorFlow', async () => {
  const config = comparisonConfig('ci', 'tfGru', TINY);
  const rounds: number[] = [];
  const timings = await timeBatches(KINDS, config, data.train, { rounds: 2, onRound: (r) => rounds.push(r) });
  assert.deepEqual(rounds, [1, 2]);
  assert.deepEqual(
    timings.map((t) => t.rnn),
    KINDS,
  );
  for (const t of timings) {
    assert.ok(t.trainMs > 0 && t.predictMs > 0 && Number.isFinite(t.trainMs), JSON.stringify(t));
    assert.equal(t.maxLen, 12);
    assert.equal(t.batchSize, 4);
    assert.ok(t.kernelsPerTrainStep > 0);
  }
  const calls = (rnn: RnnKind) => timings.find((t) => t.rnn === rnn)!.kernelsPerTrainStep;
  // an eager loop calls TensorFlow per step and gate, so its calls grow with maxLen (12 here)
  assert.ok(calls('tfGru') > 12 * 10 && calls('lstm') > 12 * 10, `tfGru ${calls('tfGru')}, lstm ${calls('lstm')}`);
  assert.ok(calls('kerasGru') < calls('tfGru') / 2, `kerasGru ${calls('kerasGru')} vs tfGru ${calls('tfGru')}`);
  await assert.rejects(
    timeBatches(['lstm'], { ...config, maxLen: 20 }, data.train),
    /reviews of 12 ids, the config wants maxLen 20: load the data with that maxLen/,
  );
  await assert.rejects(timeBatches(['lstm'], { ...config, batchSize: 64 }, data.train), /timing needs 64 reviews, the split has 6/);
  await assert.rejects(timeBatches(['lstm'], config, data.train, { rounds: 0 }), /rounds must be a positive integer/);
});

test('trainComparison trains each layer in its own run directory, then loads them instead of retraining', async () => {
  const runsDir = path.join(dir, 'runs');
  const seen = new Set<string>();
  const runs = await trainComparison('ci', data, { overrides: TINY, runsDir, onProgress: (rnn, e) => e.type === 'epoch' && seen.add(rnn) });
  assert.deepEqual(
    runs.map((r) => r.rnn),
    KINDS,
  );
  assert.deepEqual([...seen].sort(), [...KINDS].sort(), 'an epoch line for every layer');
  for (const run of runs) {
    assert.equal(run.outcome, 'trained');
    assert.equal(run.runDir, comparisonRunDir('ci', run.rnn, runsDir));
    assert.ok(fs.existsSync(path.join(run.runDir, 'history.csv')));
    assert.equal(run.history.length, 1);
    assert.equal(run.config.rnn, run.rnn);
    assert.equal(run.recurrentParams, paramCount(run.rnn, 4, 3));
    assert.equal(run.totalParams, 50 * 4 + run.recurrentParams + 3 + 1);
  }
  const again = await trainComparison('ci', data, { overrides: TINY, runsDir, layers: ['lstm', 'simpleRnn'] });
  assert.deepEqual(
    again.map((r) => [r.rnn, r.outcome]),
    [
      ['lstm', 'loaded'],
      ['simpleRnn', 'loaded'],
    ],
  );
  assert.deepEqual(again[0].history, runs[2].history);
  await assert.rejects(
    trainComparison('ci', data, { overrides: { ...TINY, units: 5 }, runsDir, layers: ['lstm'] }),
    /another configuration \(units: saved 3, now 5\)/,
  );
});

// Hand-made runs and timings, so the expected table and verdicts are known.
function fakeRun(rnn: RnnKind, seconds: number[], valAcc: number[], valLoss: number[] = valAcc.map(() => 0.6)): ComparisonRun {
  const config = comparisonConfig('ci', rnn);
  const history: EpochRecord[] = seconds.map((s, i) => ({
    epoch: i + 1,
    loss: 0.5,
    accuracy: 0.8,
    val_loss: valLoss[i],
    val_accuracy: valAcc[i],
    seconds: s,
  }));
  const params = paramCount(rnn, config.embeddingDim, config.units);
  return { rnn, runDir: `/runs/${rnn}`, config, history, recurrentParams: params, totalParams: params + 1_280_129, outcome: 'loaded' };
}
const fakeTiming = (rnn: RnnKind, trainMs: number): BatchTiming => ({
  rnn,
  batchSize: 32,
  maxLen: 80,
  trainMs,
  predictMs: trainMs / 3,
  kernelsPerTrainStep: 800,
  rounds: 3,
});

test('comparisonFrame: one row per layer with counted and formula parameters, times and accuracies', () => {
  const runs = [fakeRun('tfGru', [10, 20], [0.6, 0.7], [0.5, 0.4]), fakeRun('lstm', [30, 30], [0.65, 0.66], [0.4, 0.45])];
  const frame = comparisonFrame(runs, [fakeTiming('tfGru', 100), fakeTiming('lstm', 50)]);
  assert.equal(frame.height, 2);
  const rows = frame.toRecords() as Record<string, unknown>[];
  assert.equal(rows[0].layer, 'GRU');
  assert.equal(rows[0]['params (counted)'], 98_688);
  assert.equal(rows[0]['params (formula)'], 98_688);
  assert.equal(rows[0]['s / epoch'], 15);
  assert.equal(rows[0]['ms / train batch'], 100);
  assert.equal(rows[0]['TF calls / step (train)'], 10);
  assert.equal(rows[0]['final val acc %'], 70);
  assert.equal(rows[0]['lowest val loss: epoch'], 2);
  assert.equal(rows[1]['lowest val loss: epoch'], 1);
  assert.equal(rows[1]['val acc % there'], 65);
});

test('checkClaims: each claim holds or not by the measurements, GRU (tf.layers) against LSTM', () => {
  // the GRU keeps epoch 2 (70.0%), the LSTM epoch 1 (70.5%): its later 90% has a higher validation loss
  const runs = [
    fakeRun('simpleRnn', [5], [0.5]),
    fakeRun('tfGru', [10, 20], [0.6, 0.7], [0.5, 0.4]),
    fakeRun('lstm', [30, 30], [0.705, 0.9], [0.3, 0.35]),
  ];
  const checks = checkClaims(runs, [fakeTiming('tfGru', 100), fakeTiming('lstm', 50)]);
  const byClaim = Object.fromEntries(checks.map((c) => [c.claim, c]));
  assert.deepEqual(
    checks.map((c) => c.claim),
    ['fewer parameters', 'less arithmetic per step', 'faster training step', 'faster epoch', 'as accurate'],
  );
  assert.equal(byClaim['fewer parameters'].holds, true);
  assert.equal(byClaim['fewer parameters'].ratio, 98_688 / 131_584);
  assert.equal(byClaim['less arithmetic per step'].ratio, 0.75);
  assert.equal(byClaim['faster training step'].holds, false, 'GRU 100 ms vs LSTM 50 ms');
  assert.equal(byClaim['faster training step'].ratio, 2);
  assert.equal(byClaim['faster epoch'].holds, true, 'GRU 15 s vs LSTM 30 s');
  assert.equal(byClaim['as accurate'].holds, true, '0.700 vs 0.705 is within one point');
  assert.equal(checkClaims(runs, [fakeTiming('tfGru', 100), fakeTiming('lstm', 50)], 0.001).at(-1)!.holds, false);
  assert.equal(claimFrame(checks).height, 5);
  assert.throws(() => checkClaims([runs[0], runs[1]], []), /no completed run of lstm/);
  assert.throws(() => checkClaims(runs, [fakeTiming('lstm', 50)]), /no timing of tfGru at maxLen 80/);
});

test('npm run compare: --help, and bad options exit 2 with what was wrong', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'compare.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
  const help = run('--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /full: 5000 training \/ 5000 test reviews, maxLen 200, 4 epochs/);
  assert.match(help.stdout, /--gates-only +only what each gate buys/);
  const profile = run('--profile', 'fast');
  assert.equal(profile.status, 2);
  assert.match(profile.stderr, /compare: --profile="fast" is not a profile: use "full" \(the reference run\) or "ci"/);
  const rounds = run('--profile', 'ci', '--rounds', '0');
  assert.equal(rounds.status, 2);
  assert.match(rounds.stderr, /--rounds "0": use a positive integer/);
  const unknown = run('--epochs', '3');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--epochs'/);
});

test('comparisonPrinter: every line names its layer', () => {
  const lines: string[] = [];
  const print = comparisonPrinter({ write: (line) => lines.push(line) });
  print('lstm', { type: 'info', message: 'training runs/x' });
  print('tfGru', { type: 'info', message: 'loading runs/y' });
  assert.deepEqual(lines, ['[lstm] training runs/x', '[tfGru] loading runs/y']);
});
