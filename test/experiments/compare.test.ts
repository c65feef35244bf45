// lib/experiments/compare.ts: the course's three layers and the eager layer of each cell, the same budget for every
// layer and seed, run directories per seed, training every layer with every seed with resume, the curves (means over
// seeds), and the command line (npm run compare). Uses the synthetic fixture archive and tiny sizes; no real data.
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
  comparedLayer,
  comparisonConfig,
  comparisonCurves,
  comparisonRunDir,
  secondsPerEpoch,
  trainComparison,
} from '../../lib/experiments/compare';
import { ROOT } from '../../lib/util/paths';
import { type ImdbData } from '../../lib/data/imdb';
import { RECURRENT_LAYERS, paramCount, type RnnKind } from '../../lib/cells/layer-kinds';
import { PROFILES, type TrainConfig } from '../../lib/training/config';
import { TINY, fakeComparisonRun as run, tinyComparisonData } from './comparison-fixtures';

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
    [...KINDS, 'tfSimpleRnn', 'tfGru', 'tfLstm'],
  );
  assert.equal(comparedLayer('tfGru').label, 'GRU (tf.layers)');
  assert.deepEqual(
    TIMED_LAYERS.map((l) => `${l.cell}: ${l.label}`),
    [
      'simpleRnn: SimpleRNN',
      'gru: GRU',
      'lstm: LSTM',
      'simpleRnn: SimpleRNN (tf.layers)',
      'gru: GRU (tf.layers)',
      'lstm: LSTM (tf.layers)',
    ],
    "the cells' one vocabulary (lib/cells/layer-kinds.ts) and their labels",
  );
  for (const l of TIMED_LAYERS) assert.equal(RECURRENT_LAYERS[l.rnn].cell, l.cell, `${l.rnn} computes its cell`);
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
    /compare: no compared layer "gru"; use one of kerasSimpleRnn, kerasGru, kerasLstm, tfSimpleRnn, tfGru, tfLstm/,
  );
  assert.throws(() => comparisonConfig('ci', 'kerasLstm', { maxLen: 0 }), /maxLen/);
  assert.equal(comparisonRunDir('full', 'kerasLstm', 42, '/x/runs'), path.join('/x/runs', 'cells-full', 'kerasLstm'));
  assert.equal(comparisonRunDir('full', 'kerasLstm', 43, '/x/runs'), path.join('/x/runs', 'cells-full', 'kerasLstm-seed43'));
  assert.equal(comparisonRunDir('ci', 'kerasGru', undefined, '/x/runs'), path.join('/x/runs', 'cells-ci', 'kerasGru'), 'default: own seed');
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

test('secondsPerEpoch and comparisonCurves: means over epochs and over the completed seeds of each layer', () => {
  const runs = [
    run('kerasGru', 42, [10, 20], [0.6, 0.7], [0.5, 0.4]),
    run('kerasGru', 43, [30, 30], [0.72, 0.74], [0.45, 0.5]),
    run('kerasLstm', 42, [40, 40], [0.65, 0.66], [0.4, 0.45]),
    // an interrupted run (1 of 2 epochs) is left out of the means
    { ...run('kerasLstm', 43, [1000], [0.1]), config: comparisonConfig('ci', 'kerasLstm', { seed: 43, epochs: 2 }) },
  ];
  assert.equal(secondsPerEpoch(runs[0]), 15);
  assert.equal(secondsPerEpoch(runs[1]), 30);
  const curves = comparisonCurves(runs, 'val_accuracy');
  assert.deepEqual(Object.keys(curves), ['GRU', 'LSTM'], 'no SimpleRNN run: no curve');
  assert.deepEqual(
    curves.GRU.map((v) => +v.toFixed(4)),
    [0.66, 0.72],
  );
  assert.deepEqual(curves.LSTM, [0.65, 0.66]);
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
