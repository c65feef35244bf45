// The experiment runner (lib/experiments/runs.ts) that the cell comparison and the gate variants share: every item with
// every seed, seed by seed, in the run directory its plan names, with progress labelled "<name> seed <N>"; a second call
// loads the completed runs; Ctrl-C (the signal) stops the run in progress and starts no other, and the next call resumes
// it from its last completed epoch. Uses the synthetic fixture archive and tiny sizes; no real data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ImdbData } from '../../lib/data/imdb';
import { paramCount, type RnnKind } from '../../lib/cells/layer-kinds';
import { comparisonConfig } from '../../lib/experiments/compare';
import { runLabel, trainLabelledRuns, type PlannedRun } from '../../lib/experiments/runs';
import { labelledProgressPrinter } from '../../lib/training/train-progress';
import { TINY, tinyComparisonData } from './comparison-fixtures';

let dir: string;
let data: ImdbData;

before(async () => {
  ({ dir, data } = await tinyComparisonData('runs-test-'));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ITEMS: readonly RnnKind[] = ['kerasSimpleRnn', 'kerasGru'];

/** A plan of two epochs per run, each item and seed in a directory of its own under `root`. */
const planIn =
  (root: string) =>
  (rnn: RnnKind, seed: number): PlannedRun => ({
    config: comparisonConfig('ci', rnn, { ...TINY, epochs: 2, seed }),
    runDir: path.join(root, `${rnn}-s${seed}`),
    name: `layer ${rnn}`,
  });

test('runLabel names the model and the seed', () => {
  assert.equal(runLabel('kerasGru-reset1', 43), 'kerasGru-reset1 seed 43');
});

test('trainLabelledRuns: every item with every seed, seed by seed, as planned, labelled, measured; a second call loads them', async () => {
  const root = path.join(dir, 'all');
  const lines: string[] = [];
  const print = labelledProgressPrinter({ write: (line) => lines.push(line), intervalSeconds: Infinity });
  const runs = await trainLabelledRuns(ITEMS, [1, 2], planIn(root), data, {
    onProgress: print,
    measure: (model) => model.countParams(),
  });
  assert.deepEqual(
    runs.map((r) => `${r.item}/${r.seed}/${r.outcome}`),
    ['kerasSimpleRnn/1/trained', 'kerasGru/1/trained', 'kerasSimpleRnn/2/trained', 'kerasGru/2/trained'],
    'all items with the first seed, then with the second',
  );
  for (const r of runs) {
    assert.equal(r.label, `layer ${r.item} seed ${r.seed}`);
    assert.equal(r.runDir, path.join(root, `${r.item}-s${r.seed}`));
    assert.equal(r.config.seed, r.seed);
    assert.equal(r.history.length, 2);
    assert.ok(fs.existsSync(path.join(r.runDir, 'config.json')));
    // embedding + the recurrent layer by its formula + dense, read from the model before it was disposed
    assert.equal(r.measured, 50 * 4 + paramCount(r.item, 4, 3) + 3 + 1, `${r.item}: parameters`);
    const epochLines = lines.filter((l) => l.startsWith(`[${r.label}] `) && /\bepoch 2\/2\b/.test(l));
    assert.ok(epochLines.length > 0, `${r.label}: its lines carry its label (${lines.filter((l) => l.includes(r.label)).join(' | ')})`);
  }
  const again = await trainLabelledRuns(ITEMS, [1, 2], planIn(root), data);
  assert.deepEqual(
    again.map((r) => r.outcome),
    ['loaded', 'loaded', 'loaded', 'loaded'],
  );
  assert.deepEqual(
    again.map((r) => r.history),
    runs.map((r) => r.history),
  );
  assert.ok(
    again.every((r) => r.measured === undefined),
    'nothing measured without measure',
  );
});

test('Ctrl-C: the run in progress stops at its batch, no later run starts; the next call resumes it', async () => {
  const root = path.join(dir, 'stopped');
  const controller = new AbortController();
  const stopAt = runLabel('layer kerasGru', 1);
  const first = await trainLabelledRuns(ITEMS, [1, 2], planIn(root), data, {
    signal: controller.signal,
    // Ctrl-C once the GRU's first epoch is done: the run stops in its second epoch
    onProgress: (label, e) => {
      if (label === stopAt && e.type === 'epoch' && e.record.epoch === 1) controller.abort();
    },
  });
  assert.deepEqual(
    first.map((r) => `${r.item}/${r.seed}/${r.outcome}/${r.history.length}`),
    ['kerasSimpleRnn/1/trained/2', 'kerasGru/1/stopped/1'],
    'the stopped run is the last one; the seed-2 runs did not start',
  );
  assert.ok(!fs.existsSync(path.join(root, 'kerasSimpleRnn-s2')), 'no directory for a run that did not start');
  const resumed = await trainLabelledRuns(ITEMS, [1, 2], planIn(root), data);
  assert.deepEqual(
    resumed.map((r) => `${r.item}/${r.seed}/${r.outcome}/${r.history.length}`),
    ['kerasSimpleRnn/1/loaded/2', 'kerasGru/1/resumed/2', 'kerasSimpleRnn/2/trained/2', 'kerasGru/2/trained/2'],
  );
  assert.deepEqual(resumed[1].history[0], first[1].history[0], 'the resumed run kept its completed epoch');
});
