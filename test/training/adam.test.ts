// Keras's Adam (lib/training/adam.ts) against a float64 transcription of keras.optimizers.Adam, and its
// state saved and restored (in memory and on disk) resuming bit for bit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { KerasAdam, loadOptimizer, saveOptimizer } from '../../lib/training/adam';

describe('KerasAdam', () => {
  // Keras's update, in float64, for f(w) = sum(c * w^2): gradient 2 c w.
  function kerasReference(w0: number[], c: number[], steps: number): number[] {
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-7];
    const w = [...w0];
    const m = w.map(() => 0);
    const v = w.map(() => 0);
    for (let t = 1; t <= steps; t++) {
      const alpha = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
      w.forEach((wi, i) => {
        const g = 2 * c[i] * wi;
        m[i] += (g - m[i]) * (1 - b1);
        v[i] += (g * g - v[i]) * (1 - b2);
        w[i] = wi - (alpha * m[i]) / (Math.sqrt(v[i]) + eps);
      });
    }
    return w;
  }

  test('follows keras.optimizers.Adam (epsilon hat, bias correction from the step count)', () => {
    const w0 = [1, -2, 1e-4, 0.5];
    const c = [1, 3, 1, 1e-6];
    const w = tf.variable(tf.tensor1d(w0));
    const opt = new KerasAdam(0.01);
    const loss = () => w.square().mul(tf.tensor1d(c)).sum() as tf.Scalar;
    for (let s = 0; s < 5; s++) opt.minimize(loss, false, [w]);
    const got = Array.from(w.dataSync());
    kerasReference(w0, c, 5).forEach((e, i) =>
      assert.ok(Math.abs(got[i] - e) <= 1e-6 * Math.max(1, Math.abs(e)), `w[${i}] = ${got[i]}, Keras ${e}`),
    );
    assert.equal(opt.iterations, 5);
    opt.dispose();
  });

  test('getWeights/setWeights resume bit for bit', async () => {
    const loss = (w: tf.Variable) => () =>
      w
        .square()
        .mul(tf.tensor1d([1, 3, 0.5]))
        .sum() as tf.Scalar;
    const a = tf.variable(tf.tensor1d([1, -2, 0.3]));
    const optA = new KerasAdam(0.05);
    for (let s = 0; s < 3; s++) optA.minimize(loss(a), false, [a]);
    const b = tf.variable(a.clone());
    const optB = new KerasAdam(0.05);
    const saved = await optA.getWeights();
    assert.deepEqual(
      saved.map((s) => s.name),
      ['iter', `${a.name}/m`, `${a.name}/v`],
    );
    await optB.setWeights(saved);
    for (let s = 0; s < 4; s++) {
      optA.minimize(loss(a), false, [a]);
      optB.minimize(loss(b), false, [b]);
    }
    assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
    assert.equal(optB.iterations, 7);
  });

  test('saveOptimizer/loadOptimizer: the state on disk resumes bit for bit', async () => {
    const loss = (w: tf.Variable) => () =>
      w
        .square()
        .mul(tf.tensor1d([2, 0.5]))
        .sum() as tf.Scalar;
    const a = tf.variable(tf.tensor1d([0.7, -1.5]));
    const optA = new KerasAdam(0.02);
    for (let s = 0; s < 3; s++) optA.minimize(loss(a), false, [a]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adam-'));
    try {
      await saveOptimizer(optA, dir);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['optimizer.bin', 'optimizer.json']);
      const b = tf.variable(a.clone());
      const optB = new KerasAdam(0.02);
      await loadOptimizer(optB, dir);
      assert.equal(optB.iterations, 3);
      for (let s = 0; s < 2; s++) {
        optA.minimize(loss(a), false, [a]);
        optB.minimize(loss(b), false, [b]);
      }
      assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
