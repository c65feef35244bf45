// What each gate buys (lib/experiments/gate-variants.ts): the gate budget with one gate held, the runs of every variant per
// seed, and the verdict paired by seed.
import { after, before, test } from 'node:test';
import * as fs from 'node:fs';
import { type ImdbData } from '../../lib/data/imdb';
import { TINY, tinyComparisonData } from './comparison-fixtures';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { comparisonConfig, comparisonRunDir } from '../../lib/experiments/compare';
import { PROFILES, type TrainConfig } from '../../lib/training/config';
import {
  GATE_SEEDS,
  GATE_VARIANTS,
  gateConfig,
  gateCurves,
  gateEffectFrame,
  gateEffects,
  gateRunDir,
  gateRunFrame,
  gateVariant,
  trainGateVariants,
  type GateRun,
} from '../../lib/experiments/gate-variants';
import { KerasGRU } from '../../lib/cells/gru-layer';
import { loadRun } from '../../lib/training/run-dir';
import type { EpochRecord } from '../../lib/training/run-dir';

let dir: string;
let data: ImdbData;

before(async () => {
  ({ dir, data } = await tinyComparisonData('gate-variants-test-'));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeGateRun(id: string, seed: number, valAcc: number[], valLoss: number[]): GateRun {
  const variant = gateVariant(id);
  const config = { ...gateConfig('ci', variant, seed), epochs: valAcc.length };
  const history: EpochRecord[] = valAcc.map((a, i) => ({
    epoch: i + 1,
    loss: 0.5,
    accuracy: 0.8,
    val_loss: valLoss[i],
    val_accuracy: a,
    seconds: 1,
  }));
  return { variant, seed, runDir: `/runs/${id}-${seed}`, config, history, outcome: 'loaded' };
}

test("gate variants: their own budget (the reference model, shorter), one gate held; run directories per seed apart from the comparison's", () => {
  for (const profile of ['ci', 'full'] as const) {
    assert.equal(GATE_SEEDS[profile][0], PROFILES[profile].seed, "the first seed is the profile's own");
    const gru = gateConfig(profile, gateVariant('kerasGru'), GATE_SEEDS[profile][0]);
    for (const variant of GATE_VARIANTS) {
      for (const seed of GATE_SEEDS[profile]) {
        const c = gateConfig(profile, variant, seed);
        const { fixedGates, rnn, seed: s, ...rest } = c;
        const { rnn: _r, seed: _s, ...gruRest } = gru;
        void _r;
        void _s;
        assert.deepEqual(rest, gruRest, `${profile} ${variant.id} seed ${seed}: only the layer, its held gate and the seed change`);
        assert.equal(rnn, variant.rnn);
        assert.equal(s, seed);
        assert.deepEqual(fixedGates, variant.fixedGates);
      }
      // the reference model's sizes, optimizer and dropout are kept
      const c = gateConfig(profile, variant, 7);
      assert.equal(c.seed, 7);
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
        assert.equal(c[key], PROFILES.full[key], `${profile} ${variant.id} ${key}`);
    }
    assert.equal(gateRunDir(profile, gateVariant('kerasGru'), 42, '/r'), path.join('/r', `gates-${profile}`, 'kerasGru'));
    assert.equal(
      gateRunDir(profile, gateVariant('kerasGru-reset1'), 43, '/r'),
      path.join('/r', `gates-${profile}`, 'kerasGru-reset1-seed43'),
    );
    assert.notEqual(
      gateRunDir(profile, gateVariant('kerasGru'), 42, '/r'),
      comparisonRunDir(profile, 'kerasGru', 42, '/r'),
      "the gate budget differs from the comparison's: its own runs",
    );
    assert.equal(
      path.dirname(comparisonRunDir(profile, 'kerasGru', 42, '/r')),
      path.join('/r', `cells-${profile}`),
      'each experiment names its folder',
    );
  }
  // full: shorter than the comparison (a fraction of its reviews and ids, more epochs); ci: the comparison's ci sizes
  const full = gateConfig('full', GATE_VARIANTS[0], 42);
  const cells = comparisonConfig('full', 'kerasGru');
  assert.ok(full.trainSize < cells.trainSize && full.maxLen < cells.maxLen, 'full gate budget: fewer reviews, shorter');
  const sizes = (c: TrainConfig) => [c.trainSize, c.testSize, c.maxLen, c.epochs];
  assert.deepEqual(sizes(gateConfig('ci', GATE_VARIANTS[0], 42)), sizes(comparisonConfig('ci', 'kerasGru')));
  assert.equal(gateConfig('ci', GATE_VARIANTS[0], 42, { epochs: 3 }).epochs, 3);
  assert.equal(
    gateConfig('ci', gateVariant('kerasGru-reset1'), 42, { rnn: 'kerasLstm', seed: 1 }).rnn,
    'kerasGru',
    'overrides cannot change the layer',
  );
  assert.equal(gateConfig('ci', gateVariant('kerasGru-reset1'), 42, { seed: 1 }).seed, 42, 'nor the seed');
  assert.throws(() => gateConfig('ci', GATE_VARIANTS[0], 42, { maxLen: 0 }), /maxLen/);
  assert.deepEqual(gateVariant('kerasGru-reset1').fixedGates, { reset: 1 });
  assert.deepEqual(gateVariant('kerasGru-update0').fixedGates, { update: 0 });
  assert.equal(gateVariant('kerasSimpleRnn').rnn, 'kerasSimpleRnn', "the course's SimpleRNN: the same engine as the GRU");
  assert.ok(
    GATE_VARIANTS.every((v) => v.rnn.startsWith('keras')),
    'every variant is a course layer',
  );
  assert.throws(
    () => gateVariant('lstm'),
    /Error: gate variants: no gate variant "lstm"; use one of kerasGru, kerasGru-reset1, kerasGru-update0, kerasSimpleRnn$/,
  );
});

test('trainGateVariants: every variant with every seed, seed by seed, in its own directory; a second call loads them all', async () => {
  const runsDir = path.join(dir, 'gate-runs');
  const labels = new Set<string>();
  const runs = await trainGateVariants('ci', data, { overrides: TINY, runsDir, seeds: [42, 43], onProgress: (label) => labels.add(label) });
  const ids = GATE_VARIANTS.map((v) => v.id);
  assert.deepEqual(
    runs.map((r) => `${r.variant.id}/${r.seed}/${r.outcome}`),
    [42, 43].flatMap((s) => ids.map((id) => `${id}/${s}/trained`)),
    'the SimpleRNN too trains with every seed',
  );
  for (const r of runs) assert.equal(r.runDir, gateRunDir('ci', r.variant, r.seed, runsDir));
  assert.equal(new Set(runs.map((r) => r.runDir)).size, runs.length, 'a directory per run');
  assert.ok(labels.has('kerasGru-reset1 seed 43') && labels.has('kerasSimpleRnn seed 43'));
  // the saved run holds the option, and its model computes with r = 1
  const reset43 = runs.find((r) => r.variant.id === 'kerasGru-reset1' && r.seed === 43)!;
  const saved = await loadRun(reset43.runDir);
  assert.deepEqual(saved.config.fixedGates, { reset: 1 });
  assert.equal(saved.config.seed, 43);
  const gru = saved.model.layers.find((l) => l instanceof KerasGRU) as KerasGRU;
  assert.deepEqual(gru.fixedGates, { reset: 1 });
  saved.model.dispose();
  const again = await trainGateVariants('ci', data, { overrides: TINY, runsDir, seeds: [42, 43] });
  assert.ok(
    again.every((r) => r.outcome === 'loaded'),
    'a second call loads every run',
  );
  assert.deepEqual(
    again.map((r) => r.history),
    runs.map((r) => r.history),
  );
  assert.equal(gateRunFrame(again).height, 8);
});

test('gateEffects: paired by seed against the full GRU; "worse" only when every seed agrees on accuracy and loss', () => {
  const runs = [
    fakeGateRun('kerasGru', 42, [0.7, 0.8], [0.6, 0.5]),
    fakeGateRun('kerasGru', 43, [0.72, 0.78], [0.55, 0.52]),
    // r = 1: kept epochs 2 (0.79) and 2 (0.77): 1 point lower in both seeds, loss higher in both
    fakeGateRun('kerasGru-reset1', 42, [0.7, 0.79], [0.6, 0.51]),
    fakeGateRun('kerasGru-reset1', 43, [0.7, 0.77], [0.6, 0.53]),
    // z = 0: lower in seed 42, higher in seed 43: no clear difference
    fakeGateRun('kerasGru-update0', 42, [0.6, 0.7], [0.7, 0.6]),
    fakeGateRun('kerasGru-update0', 43, [0.7, 0.8], [0.6, 0.5]),
    fakeGateRun('kerasSimpleRnn', 42, [0.5, 0.55], [0.69, 0.68]),
    fakeGateRun('kerasSimpleRnn', 43, [0.52, 0.6], [0.69, 0.67]),
  ];
  const effects = Object.fromEntries(gateEffects(runs).map((e) => [e.variant.id, e]));
  assert.deepEqual(Object.keys(effects), ['kerasGru-reset1', 'kerasGru-update0', 'kerasSimpleRnn']);
  assert.deepEqual(effects['kerasGru-reset1'].seeds, [42, 43]);
  assert.deepEqual(
    effects['kerasGru-reset1'].accuracyDifferences.map((d) => +d.toFixed(4)),
    [-0.01, -0.01],
  );
  assert.equal(effects['kerasGru-reset1'].verdict, 'worse');
  assert.equal(effects['kerasGru-update0'].verdict, 'no clear difference');
  // SimpleRNN: kept epochs 2 (0.55) and 2 (0.60) against the GRU's 0.80 and 0.78: -25 and -18 points
  assert.deepEqual(effects['kerasSimpleRnn'].seeds, [42, 43], 'SimpleRNN: every seed');
  assert.equal(effects['kerasSimpleRnn'].verdict, 'worse');
  assert.equal(+effects['kerasSimpleRnn'].meanAccuracyDifference.toFixed(4), -0.215);
  // "better" needs the reverse in every seed
  const better = gateEffects([runs[0], fakeGateRun('kerasGru-reset1', 42, [0.9, 0.9], [0.4, 0.3])]);
  assert.equal(better[0].verdict, 'better');
  assert.equal(gateEffectFrame(gateEffects(runs)).height, 3);
  // the curves: per epoch, the mean over seeds
  const curves = gateCurves(runs, 'val_accuracy');
  assert.deepEqual(
    curves['GRU'].map((v) => +v.toFixed(4)),
    [0.71, 0.79],
  );
  assert.deepEqual(
    curves['SimpleRNN'].map((v) => +v.toFixed(4)),
    [0.51, 0.575],
  );
});
