// lib/experiments/compare.ts: the same budget for every layer and seed, interleaved batch timing of the course's and the eager
// layers, training every layer with every seed with resume, the tables (means over seeds) and the claim checks
// (including 'undecided' when the seeds disagree). Uses the synthetic fixture archive and tiny sizes; no real data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  COMPARED_LAYERS,
  COMPARISON_SEEDS,
  EAGER_LAYERS,
  TIMED_LAYERS,
  checkClaims,
  claimFrame,
  comparedLayer,
  comparisonConfig,
  comparisonCurves,
  comparisonFrame,
  comparisonPrinter,
  comparisonRunDir,
  secondsPerEpoch,
  timeBatches,
  timingFrame,
  trainComparison,
  type BatchTiming,
} from '../../lib/experiments/compare';
import { ROOT } from '../../lib/util/paths';
import { type ImdbData } from '../../lib/data/imdb';
import { multiplyAddsPerStep, paramCount, type RnnKind } from '../../lib/cells/layer-kinds';
import { PROFILES, type TrainConfig } from '../../lib/training/config';
import { TINY, fakeComparisonRun as run, fakeTiming, tinyComparisonData } from './comparison-fixtures';

const KINDS = COMPARED_LAYERS.map((l) => l.rnn);

let dir: string;
let data: ImdbData;

before(async () => {
  ({ dir, data } = await tinyComparisonData('compare-test-'));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A config without the two keys the comparison may vary. */
const withoutRnnAndSeed = (c: TrainConfig) => {
  const { rnn: _rnn, seed: _seed, ...rest } = c;
  void _rnn;
  void _seed;
  return rest;
};

test("the compared layers are the course's three, one per cell; the timed ones add the eager layer of each cell", () => {
  assert.deepEqual(KINDS, ['kerasSimpleRnn', 'kerasGru', 'kerasLstm']);
  assert.deepEqual(
    COMPARED_LAYERS.map((l) => l.cell),
    EAGER_LAYERS.map((l) => l.cell),
    'one eager layer per cell, in the same order',
  );
  assert.deepEqual(
    TIMED_LAYERS.map((l) => l.rnn),
    [...KINDS, 'simpleRnn', 'tfGru', 'lstm'],
  );
  assert.equal(comparedLayer('tfGru').label, 'GRU (tf.layers)');
});

test('every layer and seed gets the same budget: configs differ only in rnn and seed', () => {
  for (const profile of ['ci', 'full'] as const) {
    assert.equal(COMPARISON_SEEDS[profile][0], PROFILES[profile].seed, "the first seed is the profile's own");
    assert.ok(COMPARISON_SEEDS[profile].length >= 2, 'more than one seed');
    const configs = COMPARISON_SEEDS[profile].flatMap((seed) => KINDS.map((rnn) => comparisonConfig(profile, rnn, { seed })));
    for (const c of configs) {
      assert.deepEqual(withoutRnnAndSeed(c), withoutRnnAndSeed(configs[0]), `${profile} ${c.rnn} seed ${c.seed}`);
      // the reference model's sizes, optimizer and dropout are kept in both profiles
      for (const key of [
        'numWords',
        'embeddingDim',
        'units',
        'dropout',
        'recurrentDropout',
        'batchSize',
        'learningRate',
        'dataSeed',
      ] as const)
        assert.equal(c[key], PROFILES.full[key], `${profile} ${c.rnn} ${key}`);
    }
    assert.deepEqual(
      configs.map((c) => `${c.rnn}/${c.seed}`),
      COMPARISON_SEEDS[profile].flatMap((s) => KINDS.map((rnn) => `${rnn}/${s}`)),
    );
  }
  const full = comparisonConfig('full', 'kerasLstm');
  // the full budget is the reference run's data and length
  assert.deepEqual([full.trainSize, full.testSize, full.maxLen], [PROFILES.full.trainSize, PROFILES.full.testSize, PROFILES.full.maxLen]);
  const ci = comparisonConfig('ci', 'kerasLstm');
  assert.ok(ci.trainSize < full.trainSize && ci.maxLen < full.maxLen, 'ci is the smaller budget');
  assert.equal(comparisonConfig('ci', 'kerasLstm', { epochs: 3 }).epochs, 3);
  assert.equal(comparisonConfig('ci', 'kerasLstm', { rnn: 'tfGru' }).rnn, 'kerasLstm', 'overrides cannot change the layer');
  assert.equal(comparisonConfig('ci', 'kerasLstm', { seed: 43 }).seed, 43);
});

test('bad options get clear errors; run directories per seed', () => {
  assert.throws(
    () => comparisonConfig('ci', 'gru' as RnnKind),
    /no compared layer "gru"; use one of kerasSimpleRnn, kerasGru, kerasLstm, simpleRnn, tfGru, lstm/,
  );
  assert.throws(() => comparisonConfig('ci', 'kerasLstm', { maxLen: 0 }), /maxLen/);
  assert.equal(comparisonRunDir('full', 'kerasLstm', 42, '/x/runs'), path.join('/x/runs', 'cells-full', 'kerasLstm'));
  assert.equal(comparisonRunDir('full', 'kerasLstm', 43, '/x/runs'), path.join('/x/runs', 'cells-full', 'kerasLstm-seed43'));
  assert.equal(comparisonRunDir('ci', 'kerasGru', undefined, '/x/runs'), path.join('/x/runs', 'cells-ci', 'kerasGru'), 'default: own seed');
});

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
    /reviews of 12 ids, the config wants maxLen 20: load the data with that maxLen/,
  );
  await assert.rejects(timeBatches(['kerasLstm'], { ...config, batchSize: 64 }, data.train), /timing needs 64 reviews, the split has 6/);
  await assert.rejects(timeBatches(['kerasLstm'], config, data.train, { rounds: 0 }), /rounds must be a positive integer/);
});

test('trainComparison trains every layer with every seed, each in its own run directory, then loads them instead of retraining', async () => {
  const runsDir = path.join(dir, 'runs');
  const labels = new Set<string>();
  const runs = await trainComparison('ci', data, {
    overrides: TINY,
    seeds: [42, 43],
    runsDir,
    onProgress: (label, e) => e.type === 'epoch' && labels.add(label),
  });
  assert.deepEqual(
    runs.map((r) => `${r.rnn}/${r.seed}`),
    [42, 43].flatMap((s) => KINDS.map((rnn) => `${rnn}/${s}`)),
    'seed by seed, every layer',
  );
  assert.deepEqual(
    [...labels].sort(),
    [42, 43].flatMap((s) => KINDS.map((rnn) => `${rnn} seed ${s}`)).sort(),
    'an epoch line for every run, labelled "<rnn> seed <N>"',
  );
  for (const r of runs) {
    assert.equal(r.outcome, 'trained');
    assert.equal(r.runDir, comparisonRunDir('ci', r.rnn, r.seed, runsDir));
    assert.equal(path.basename(r.runDir), r.seed === 42 ? r.rnn : `${r.rnn}-seed43`);
    assert.ok(fs.existsSync(path.join(r.runDir, 'history.csv')));
    assert.equal(r.history.length, 1);
    assert.equal(r.config.rnn, r.rnn);
    assert.equal(r.config.seed, r.seed);
    assert.deepEqual(withoutRnnAndSeed(r.config), withoutRnnAndSeed(runs[0].config), 'configs differ only in rnn and seed');
    assert.equal(r.recurrentParams, paramCount(r.rnn, 4, 3));
    assert.equal(r.totalParams, 50 * 4 + r.recurrentParams + 3 + 1);
  }
  const gru = runs.filter((r) => r.rnn === 'kerasGru');
  assert.notEqual(gru[0].history[0].loss, gru[1].history[0].loss, 'another seed: other initial weights, order and masks');
  const again = await trainComparison('ci', data, { overrides: TINY, seeds: [42, 43], runsDir, layers: ['kerasLstm', 'kerasSimpleRnn'] });
  assert.deepEqual(
    again.map((r) => `${r.rnn}/${r.seed}/${r.outcome}`),
    ['kerasLstm/42/loaded', 'kerasSimpleRnn/42/loaded', 'kerasLstm/43/loaded', 'kerasSimpleRnn/43/loaded'],
  );
  for (const r of again) {
    const first = runs.find((x) => x.rnn === r.rnn && x.seed === r.seed)!;
    assert.deepEqual(r.history, first.history);
  }
  await assert.rejects(
    trainComparison('ci', data, { overrides: { ...TINY, units: 5 }, seeds: [43], runsDir, layers: ['kerasLstm'] }),
    /another configuration \(units: saved 3, now 5\)/,
  );
});

test('comparisonFrame: one row per trained layer, time and accuracy averaged over the seeds', () => {
  const runs = [
    // GRU: kept epochs 2 (0.7) and 1 (0.72); seconds per epoch 15 and 30
    run('kerasGru', 42, [10, 20], [0.6, 0.7], [0.5, 0.4]),
    run('kerasGru', 43, [30, 30], [0.72, 0.74], [0.45, 0.5]),
    run('kerasLstm', 42, [40, 40], [0.65, 0.66], [0.4, 0.45]),
    // an interrupted run (1 of 2 epochs) is left out of the means
    { ...run('kerasLstm', 43, [1000], [0.1]), config: comparisonConfig('ci', 'kerasLstm', { seed: 43, epochs: 2 }) },
  ];
  const frame = comparisonFrame(runs, [fakeTiming('kerasGru', 100), fakeTiming('kerasLstm', 50), fakeTiming('tfGru', 900)]);
  assert.equal(frame.height, 2, 'no SimpleRNN run: no row');
  const [g, l] = frame.toRecords() as Record<string, unknown>[];
  assert.equal(g.layer, 'GRU');
  assert.equal(l.layer, 'LSTM');
  assert.equal(g.seeds, '42, 43');
  assert.equal(l.seeds, '42');
  assert.equal(g['params (counted)'], paramCount('kerasGru', 128, 128));
  assert.equal(g['params (formula)'], 3 * (128 * 128 + 128 * 128 + 128) + 3 * 128, 'Keras reset_after: two bias rows');
  assert.equal(l['params (formula)'], 4 * (128 * 128 + 128 * 128 + 128));
  assert.equal(g['multiply-adds / step'], 3 * (128 + 128) * 128);
  assert.equal(g['ms / train batch'], 100, "the course GRU's own timing, not the eager GRU's");
  assert.equal(l['ms / train batch'], 50);
  assert.equal(g['s / epoch'], 22.5, 'mean of 15 and 30');
  assert.equal(l['s / epoch'], 40);
  assert.equal(g['val acc % e1'], 66, 'mean of 60 and 72');
  assert.equal(g['val acc % e2'], 72, 'mean of 70 and 74');
  assert.equal(g['val acc % kept'], 71, 'mean of epoch 2 of seed 42 (70) and epoch 1 of seed 43 (72)');
  assert.equal(l['val acc % kept'], 65);
  // secondsPerEpoch and the curves are the same means
  assert.equal(secondsPerEpoch(runs[0]), 15);
  const curves = comparisonCurves(runs, 'val_accuracy');
  assert.deepEqual(Object.keys(curves), ['GRU', 'LSTM']);
  assert.deepEqual(
    curves.GRU.map((v) => +v.toFixed(4)),
    [0.66, 0.72],
  );
  assert.deepEqual(curves.LSTM, [0.65, 0.66]);
});

test('timingFrame: one row per timed layer; "x faster than tf.layers" divides by the eager layer of the same cell', () => {
  const timings = [
    fakeTiming('kerasSimpleRnn', 50, 300),
    fakeTiming('kerasGru', 100, 400),
    fakeTiming('kerasLstm', 125, 450),
    fakeTiming('simpleRnn', 500, 5000),
    fakeTiming('tfGru', 1200, 11000),
    fakeTiming('lstm', 1000, 9000),
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

test('checkClaims: GRU against LSTM of the course, each verdict from the measurements; accuracy seed by seed', () => {
  const timings = [fakeTiming('kerasGru', 100), fakeTiming('kerasLstm', 50)];
  // GRU keeps epoch 2 in seed 42 (70.0%) and epoch 1 in seed 43 (71.0%); the LSTM 70.5% and 71.5%: within a point
  const runs = [
    run('kerasSimpleRnn', 42, [5, 5], [0.5, 0.5]),
    run('kerasGru', 42, [10, 20], [0.6, 0.7], [0.5, 0.4]),
    run('kerasGru', 43, [15, 15], [0.71, 0.9], [0.3, 0.35]),
    run('kerasLstm', 42, [20, 20], [0.705, 0.9], [0.3, 0.35]),
    run('kerasLstm', 43, [20, 20], [0.715, 0.5], [0.3, 0.6]),
  ];
  const checks = checkClaims(runs, timings);
  const byClaim = Object.fromEntries(checks.map((c) => [c.claim, c]));
  assert.deepEqual(
    checks.map((c) => c.claim),
    [
      'fewer parameters',
      'less arithmetic per step',
      'faster training step',
      'faster epoch',
      'epoch time in proportion to arithmetic',
      'as accurate',
    ],
  );
  assert.equal(byClaim['fewer parameters'].holds, true);
  assert.equal(byClaim['fewer parameters'].ratio, paramCount('kerasGru', 128, 128) / paramCount('kerasLstm', 128, 128));
  assert.equal(byClaim['less arithmetic per step'].ratio, 0.75);
  assert.equal(byClaim['faster training step'].holds, false, 'GRU 100 ms vs LSTM 50 ms');
  assert.equal(byClaim['faster training step'].ratio, 2);
  assert.equal(byClaim['faster epoch'].gru, 15, 'mean over the seeds');
  assert.equal(byClaim['faster epoch'].holds, true, 'GRU 15 s vs LSTM 20 s');
  assert.equal(byClaim['epoch time in proportion to arithmetic'].ratio, 0.75);
  assert.equal(byClaim['epoch time in proportion to arithmetic'].holds, true, '15 / 20 is the arithmetic ratio 0.75');
  assert.equal(byClaim['as accurate'].holds, true, '-0.5 points in both seeds: within one point');
  assert.equal(+byClaim['as accurate'].gru.toFixed(4), 0.705);
  assert.match(byClaim['as accurate'].basis, /per seed \(42, 43\): -0\.50, -0\.50 points; tolerance 1 point/);
  // every seed further below than the tolerance: it fails
  assert.equal(checkClaims(runs, timings, 0.001).at(-1)!.holds, false);
  // the seeds disagree: seed 43's GRU now 3 points below the LSTM's, seed 42's 0.5 below
  const disagree = [...runs.slice(0, 2), run('kerasGru', 43, [15, 15], [0.685, 0.9], [0.3, 0.35]), ...runs.slice(3)];
  const undecided = checkClaims(disagree, timings).at(-1)!;
  assert.equal(undecided.holds, null);
  assert.match(undecided.basis, /-0\.50, -3\.00 points/);
  const table = claimFrame(checkClaims(disagree, timings)).toRecords() as Record<string, unknown>[];
  assert.deepEqual(
    table.map((r) => r['holds here']),
    ['yes', 'yes', 'no', 'yes', 'yes', 'undecided'],
  );
  // an epoch time out of proportion with the arithmetic: the GRU as slow as the LSTM per epoch
  const slow = [run('kerasGru', 42, [20, 20], [0.7, 0.7]), run('kerasLstm', 42, [20, 20], [0.7, 0.7])];
  const slowChecks = Object.fromEntries(checkClaims(slow, timings).map((c) => [c.claim, c]));
  assert.equal(slowChecks['faster epoch'].holds, false);
  assert.equal(slowChecks['epoch time in proportion to arithmetic'].holds, false, 'ratio 1.00 vs arithmetic 0.75');
  // just inside and just outside the 0.10 band around the arithmetic ratio
  const near = (g: number) => checkClaims([run('kerasGru', 42, [g], [0.7]), run('kerasLstm', 42, [100], [0.7])], timings)[4].holds;
  assert.equal(near(84), true);
  assert.equal(near(86), false);
  assert.equal(near(66), true);
  assert.equal(near(64), false);
  assert.equal(
    multiplyAddsPerStep('kerasGru', 128, 128) / multiplyAddsPerStep('kerasLstm', 128, 128),
    0.75,
    'the band above is around 0.75',
  );
  assert.throws(() => checkClaims(runs.slice(0, 3), timings), /no completed run of kerasLstm/);
  assert.throws(() => checkClaims(runs, [fakeTiming('kerasLstm', 50)]), /no timing of kerasGru at maxLen 80/);
});

test('npm run compare: --help names both budgets, and bad options exit 2 with what was wrong', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'compare.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
  const help = cli('--help');
  assert.equal(help.status, 0, help.stderr);
  const full = comparisonConfig('full', 'kerasGru');
  assert.match(
    help.stdout,
    new RegExp(
      `full: cells ${full.trainSize} training / ${full.testSize} test reviews, maxLen ${full.maxLen}, ${full.epochs} epochs?, seeds 42, 43`,
    ),
  );
  assert.match(help.stdout, /gates 5000 training \/ 5000 test reviews, maxLen 200, 4 epochs, seeds 42, 43, 44/);
  assert.match(help.stdout, /--gates-only +only what each gate buys/);
  assert.match(help.stdout, /--rounds N +timing rounds of the six layers/);
  const profile = cli('--profile', 'fast');
  assert.equal(profile.status, 2);
  assert.match(profile.stderr, /compare: --profile="fast" is not a profile: use "full" \(the reference run\) or "ci"/);
  const rounds = cli('--profile', 'ci', '--rounds', '0');
  assert.equal(rounds.status, 2);
  assert.match(rounds.stderr, /--rounds "0": use a positive integer/);
  const unknown = cli('--epochs', '3');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--epochs'/);
});

test('comparisonPrinter: every line names its layer and seed', () => {
  const lines: string[] = [];
  const print = comparisonPrinter({ write: (line) => lines.push(line) });
  print('kerasLstm seed 42', { type: 'info', message: 'training runs/x' });
  print('kerasGru seed 43', { type: 'info', message: 'loading runs/y' });
  assert.deepEqual(lines, ['[kerasLstm seed 42] training runs/x', '[kerasGru seed 43] loading runs/y']);
});
