// Shared by the Keras round-trip tests (test/keras/import.test.ts, test/keras/export.test.ts): running one of
// the project's scripts as a user does, comparing probabilities, and a run's probabilities on split rows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import type { ImdbSplit } from '../../lib/data/imdb';
import { ROOT } from '../../lib/util/paths';
import { loadRun } from '../../lib/training/run-dir';

/** Runs scripts/<script>.ts with node + tsx from the project root; returns its exit status and output. */
export function runScript(script: string, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', `${script}.ts`), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
}

/** The largest |a[i] - b[i]| (the lengths must match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** P(positive) of the last epoch of a run for every row of `split` (rows of `maxLen` ids). */
export async function predictSplit(runDir: string, split: ImdbSplit, maxLen: number): Promise<Float32Array> {
  const run = await loadRun(runDir);
  const x = tf.tensor2d(split.x, [split.size, maxLen], 'int32');
  const p = run.model.predict(x, { batchSize: 64 }) as tf.Tensor;
  const out = Float32Array.from(p.dataSync());
  tf.dispose([x, p]);
  run.model.dispose();
  return out;
}
