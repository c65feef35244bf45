// Tensor helpers shared by the cells' tests (test/cells/harness.ts and the three cells' test files).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';

/** Deterministic uniform(-scale, scale) tensor, so failures are reproducible. */
export function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.randomUniform(shape, -scale, scale, 'float32', seed);
}

/** The largest |a - b|, for tensors of the same shape. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape, 'shapes differ');
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** max |actual - expected| relative to expected's largest entry (at least 1e-3). */
export function relativeDiff(actual: tf.Tensor, expected: tf.Tensor): number {
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  return maxAbsDiff(actual, expected) / Math.max(1e-3, scale);
}

/** Asserts max |actual - expected| <= tol, naming `what`. */
export function assertClose(actual: tf.Tensor, expected: tf.Tensor | number[], tol: number, what: string): void {
  const exp = Array.isArray(expected) ? tf.tensor(expected, actual.shape) : expected;
  const diff = maxAbsDiff(actual, exp);
  assert.ok(diff <= tol, `${what}: max |diff| = ${diff} > ${tol}`);
}

/** A tensor's values as a flat array. */
export function flat(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** The last step h_T [batch, units] of a sequence [batch, time, units]. */
export function lastStep(seq: tf.Tensor): tf.Tensor2D {
  const [batch, time, units] = seq.shape;
  return seq.slice([0, time - 1, 0], [batch, 1, units]).reshape([batch, units]);
}

/**
 * Central differences of `loss` with respect to every number of `target` (nested arrays, changed in place and
 * restored), in the order the arrays list them.
 */
export function numericGradient(loss: () => number, target: unknown[], eps = 1e-6): number[] {
  const out: number[] = [];
  const visit = (arr: unknown[]): void =>
    arr.forEach((v, i) => {
      if (Array.isArray(v)) return visit(v);
      const cell = arr as number[];
      const orig = cell[i];
      cell[i] = orig + eps;
      const plus = loss();
      cell[i] = orig - eps;
      const minus = loss();
      cell[i] = orig;
      out.push((plus - minus) / (2 * eps));
    });
  visit(target);
  return out;
}
