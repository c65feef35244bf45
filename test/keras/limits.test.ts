// The default limits of the notebooks' Keras trainings are honest: each is larger than its planned work at a
// conservative speed (half the committed epoch benchmark's), and a limit too small for its work is caught.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { KERAS_BUDGETS, type KerasBudget } from '../../lib/keras/budgets';
import { kerasSpeed, plannedTrainSeconds, trainLimit, type KerasSpeed, type KerasTrainWork } from '../../lib/keras/limits';
import { type ChildLimit } from '../../lib/util/child';
import { ROOT } from '../../lib/util/paths';

const MAX_LEN = { ci: 100, full: 500 } as const;

/** The blog's program at a budget (128 units, 128 dimensions, batch 32). */
function workOf(b: KerasBudget, maxLen: number): KerasTrainWork {
  return { epochs: b.epochs, trainRows: b.trainSize, testRows: b.testSize, maxLen: maxLen, units: 128, embeddingDim: 128, batchSize: 32 };
}

/** The budgets whose limit is not larger than their work at half the measured speed. */
function tooSmall(limitOf: (w: KerasTrainWork) => ChildLimit, speed: KerasSpeed): string[] {
  const slow = { ...speed, trainIdsPerSecond: speed.trainIdsPerSecond / 2, evalIdsPerSecond: speed.evalIdsPerSecond / 2 };
  const bad: string[] = [];
  for (const [name, byProfile] of Object.entries(KERAS_BUDGETS)) {
    for (const profile of ['ci', 'full'] as const) {
      const w = workOf(byProfile[profile], MAX_LEN[profile]);
      if (!(limitOf(w).seconds > plannedTrainSeconds(w, slow))) bad.push(`${name}/${profile}`);
    }
  }
  return bad;
}

test('every Keras training budget has a limit larger than its work at half the measured speed', () => {
  const speed = kerasSpeed();
  assert.deepEqual(
    tooSmall((w) => trainLimit(w, speed), speed),
    [],
  );
});

test('the check fails for a limit that is the work at the measured speed, with no start-up allowance', () => {
  const speed = kerasSpeed();
  const bad = tooSmall((w) => ({ seconds: plannedTrainSeconds(w, speed), basis: 'too small' }), speed);
  assert.equal(bad.length, 2 * Object.keys(KERAS_BUDGETS).length);
});

test('the notebooks take every Keras budget from lib/keras/budgets.ts (no literal budget line)', () => {
  for (const file of ['notebooks/07-keras-models.ipynb', 'notebooks/solutions/07-keras-models-solutions.ipynb']) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const names = [...text.matchAll(/kerasBudget\(\\"(\w+)\\"/g)].map((m) => m[1]);
    assert.ok(names.length > 0, `${file} reads no kerasBudget`);
    for (const n of names) assert.ok(n in KERAS_BUDGETS, `${file}: unknown budget ${n}`);
    assert.doesNotMatch(text, /trainSize: \d+, testSize: \d+, epochs: \d+/, `${file} has a literal Keras budget`);
  }
});
