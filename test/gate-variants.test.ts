// What each gate buys (lib/gate-variants.ts): the budget with one gate held, the runs per seed (reusing the
// comparison's), and the verdict paired by seed.
import { after, before, test } from 'node:test';
import * as fs from 'node:fs';
import { type ImdbData } from '../lib/imdb';
import { TINY, tinyComparisonData } from './comparison-fixtures';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { comparisonConfig, comparisonRunDir, trainComparison } from '../lib/compare';
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
} from '../lib/gate-variants';
import { KerasGRU } from '../lib/gru';
import { loadRun } from '../lib/run-dir';
import type { EpochRecord } from '../lib/run-dir';

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

test('gate variants: the comparison budget with one gate held; the first seed reuses the comparison runs of GRU and SimpleRNN', () => {
  for (const profile of ['ci', 'full'] as const) {
    assert.equal(GATE_SEEDS[profile][0], comparisonConfig(profile, 'kerasGru').seed, "the first seed is the budget's");
    for (const variant of GATE_VARIANTS) {
      const c = gateConfig(profile, variant, GATE_SEEDS[profile][0]);
      const { fixedGates, ...rest } = c;
      assert.deepEqual(rest, comparisonConfig(profile, variant.rnn), `${variant.id}: nothing else changes`);
      assert.deepEqual(fixedGates, variant.fixedGates);
      assert.equal(gateConfig(profile, variant, 7).seed, 7);
    }
    assert.equal(gateRunDir(profile, gateVariant('kerasGru'), 42, '/r'), comparisonRunDir(profile, 'kerasGru', '/r'));
    assert.equal(gateRunDir(profile, gateVariant('simpleRnn'), 42, '/r'), comparisonRunDir(profile, 'simpleRnn', '/r'));
    assert.equal(
      gateRunDir(profile, gateVariant('kerasGru-reset1'), 43, '/r'),
      path.join('/r', `compare-${profile}`, 'kerasGru-reset1-seed43'),
    );
  }
  assert.deepEqual(gateVariant('kerasGru-reset1').fixedGates, { reset: 1 });
  assert.deepEqual(gateVariant('kerasGru-update0').fixedGates, { update: 0 });
  assert.throws(() => gateVariant('lstm'), /no gate variant "lstm"; use one of kerasGru, kerasGru-reset1/);
});

test('trainGateVariants: the GRU variants per seed, SimpleRNN once; runs of trainComparison are loaded, not retrained', async () => {
  const runsDir = path.join(dir, 'gate-runs');
  const [own] = await trainComparison('ci', data, { overrides: TINY, runsDir, layers: ['kerasGru'] });
  const labels = new Set<string>();
  const runs = await trainGateVariants('ci', data, { overrides: TINY, runsDir, seeds: [42, 43], onProgress: (label) => labels.add(label) });
  assert.deepEqual(
    runs.map((r) => `${r.variant.id}/${r.seed}/${r.outcome}`),
    [
      'kerasGru/42/loaded',
      'kerasGru-reset1/42/trained',
      'kerasGru-update0/42/trained',
      'simpleRnn/42/trained',
      'kerasGru/43/trained',
      'kerasGru-reset1/43/trained',
      'kerasGru-update0/43/trained',
    ],
  );
  assert.deepEqual(runs[0].history, own.history);
  assert.ok(labels.has('kerasGru-reset1 seed 43'));
  // the saved run holds the option, and its model computes with r = 1
  const saved = await loadRun(runs[5].runDir);
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
  assert.equal(gateRunFrame(again).height, 7);
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
    fakeGateRun('simpleRnn', 42, [0.5, 0.55], [0.69, 0.68]),
  ];
  const effects = Object.fromEntries(gateEffects(runs).map((e) => [e.variant.id, e]));
  assert.deepEqual(Object.keys(effects), ['kerasGru-reset1', 'kerasGru-update0', 'simpleRnn']);
  assert.deepEqual(effects['kerasGru-reset1'].seeds, [42, 43]);
  assert.deepEqual(
    effects['kerasGru-reset1'].accuracyDifferences.map((d) => +d.toFixed(4)),
    [-0.01, -0.01],
  );
  assert.equal(effects['kerasGru-reset1'].verdict, 'worse');
  assert.equal(effects['kerasGru-update0'].verdict, 'no clear difference');
  assert.deepEqual(effects['simpleRnn'].seeds, [42], 'SimpleRNN: one seed');
  assert.equal(effects['simpleRnn'].verdict, 'worse');
  assert.equal(+effects['simpleRnn'].meanAccuracyDifference.toFixed(4), -0.25);
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
  assert.deepEqual(curves['SimpleRNN'], [0.5, 0.55]);
});
