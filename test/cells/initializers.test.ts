// Keras's default initialisers, seeded in the one scheme the model, the comparison and the concept
// notebooks share (lib/cells/initializers.ts), and the orthogonal-warning mute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { kerasGru } from '../../lib/cells/gru-layer';
import { initSeed, kerasRecurrentInitializers, withoutOrthogonalWarning } from '../../lib/cells/initializers';
import { deriveSeed } from '../../lib/util/prng';

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('seeds: deriveSeed(seed, "init", name) per weight; null leaves tfjs unseeded', () => {
  assert.equal(initSeed(42, 'rnn/kernel'), deriveSeed(42, 'init', 'rnn/kernel'));
  assert.notEqual(initSeed(42, 'rnn/kernel'), initSeed(42, 'rnn/recurrent_kernel'));
  assert.equal(initSeed(null, 'rnn/kernel'), undefined);
});

test("Keras's defaults, seeded: glorot-uniform kernel within its limit, orthonormal recurrent rows, zero bias, repeatable", () => {
  const [inputDim, units] = [6, 4];
  const init = kerasRecurrentInitializers(3);
  const kernel = init.kernelInitializer.apply([inputDim, 3 * units]);
  const limit = Math.sqrt(6 / (inputDim + 3 * units)); // glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))
  assert.ok(tf.max(tf.abs(kernel)).dataSync()[0] <= limit);
  const recurrent = withoutOrthogonalWarning(() => init.recurrentInitializer.apply([units, 3 * units]));
  assert.ok(maxAbs(tf.matMul(recurrent, recurrent, false, true), tf.eye(units)) < 1e-5, 'U U^T = I');
  assert.deepEqual(Array.from(init.biasInitializer.apply([5]).dataSync()), [0, 0, 0, 0, 0]);
  assert.equal(maxAbs(kerasRecurrentInitializers(3).kernelInitializer.apply([inputDim, 3 * units]), kernel), 0, 'same seed, same weights');
  assert.ok(
    maxAbs(kerasRecurrentInitializers(4).kernelInitializer.apply([inputDim, 3 * units]), kernel) > 0,
    'another seed, other weights',
  );
});

test('KerasGRU builds its weights with the initialisers it is given (nothing overwrites them afterwards)', () => {
  const init = kerasRecurrentInitializers(9);
  const layer = kerasGru({ units: 4, ...init });
  withoutOrthogonalWarning(() => layer.build([null, null, 6]));
  const w = layer.gruWeights();
  assert.equal(maxAbs(w.kernel, init.kernelInitializer.apply([6, 12])), 0);
  assert.equal(maxAbs(w.recurrentKernel, init.recurrentInitializer.apply([4, 12])), 0);
  assert.deepEqual(w.bias.shape, [2, 12]);
  assert.equal(tf.max(tf.abs(w.bias)).dataSync()[0], 0);
});

test('withoutOrthogonalWarning hides only the orthogonal-initialiser warning and restores console.warn', () => {
  const seen: string[] = [];
  const original = console.warn;
  console.warn = (message: unknown) => {
    seen.push(String(message));
  };
  try {
    withoutOrthogonalWarning(() => {
      tf.initializers.orthogonal({ seed: 1 }).apply([64, 64]).dispose(); // 4096 elements: tfjs warns
      console.warn('something else');
    });
    tf.initializers.orthogonal({ seed: 1 }).apply([64, 64]).dispose();
  } finally {
    console.warn = original;
  }
  assert.equal(seen[0], 'something else');
  assert.equal(seen.length, 2);
  assert.match(seen[1], /^Orthogonal initializer is being called/);
});
