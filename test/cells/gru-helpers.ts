// Tensor helpers shared by the GRU tests (test/cells/gru.test.ts, test/engine/gru-graphs.test.ts).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { kerasGru, type FixedGates, type GruWeights, type KerasGRU } from '../../lib/cells/gru';

/** Deterministic uniform(-scale, scale) tensor, so failures are reproducible. */
export function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.randomUniform(shape, -scale, scale, 'float32', seed);
}

export function randomWeights(inputDim: number, units: number, resetAfter: boolean, seed: number): GruWeights {
  return {
    kernel: rand([inputDim, 3 * units], seed, 0.8) as tf.Tensor2D,
    recurrentKernel: rand([units, 3 * units], seed + 1, 0.8) as tf.Tensor2D,
    bias: rand(resetAfter ? [2, 3 * units] : [3 * units], seed + 2, 0.5),
  };
}

export function asWeightList(w: GruWeights): tf.Tensor[] {
  return [w.kernel, w.recurrentKernel, w.bias];
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape, 'shapes differ');
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

export function assertClose(actual: tf.Tensor, expected: tf.Tensor | number[], tol: number, what: string): void {
  const exp = Array.isArray(expected) ? tf.tensor(expected, actual.shape) : expected;
  const diff = maxAbsDiff(actual, exp);
  assert.ok(diff <= tol, `${what}: max |diff| = ${diff} > ${tol}`);
}

export function flat(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** A GRU layer built for inputs [*, time, inputDim] with the given weights. */
export function builtLayer(
  args: {
    units: number;
    resetAfter: boolean;
    returnSequences?: boolean;
    dropout?: number;
    recurrentDropout?: number;
    seed?: number;
    fixedGates?: FixedGates;
  },
  inputDim: number,
  weights?: GruWeights,
): KerasGRU {
  const layer = kerasGru({ returnSequences: true, ...args });
  layer.build([null, null, inputDim]);
  if (weights) layer.setWeights(asWeightList(weights));
  return layer;
}
