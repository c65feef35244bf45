// The simple (Elman) recurrent layer with Keras's semantics (keras.layers.SimpleRNN), in Keras's layout:
//
//   kernel           W  [inputDim, units]
//   recurrentKernel  U  [units, units]
//   bias             b  [units]
//
//   h_t = tanh(x_t W + h_{t-1} U + b)                no gate: the state is rewritten at every step
//
// Dropout as Keras applies it (lib/engine/dropout.ts): one input mask and one recurrent mask per call, on what enters
// the products. Two implementations: simpleRnnStep / simpleRnnSequence (plain tfjs ops, here) and
// KerasSimpleRNN.call (native graphs, lib/engine/simple-rnn-graphs.ts); test/cells/simple-rnn.test.ts checks they agree.
import * as tf from '@tensorflow/tfjs-node';
import type { GateMasks } from '../engine/dropout';
import { KerasRecurrentLayer } from './recurrent-layer';
import { fastSimpleRnn } from '../engine/simple-rnn-graphs';

/** A simple RNN's weights in Keras's layout (see the top of this file). */
export type SimpleRnnWeights = { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor1D };

function fail(message: string): never {
  throw new Error(`simple-rnn: ${message}`);
}

function checkWeights(weights: SimpleRnnWeights, inputDim: number): void {
  const units = weights.recurrentKernel.shape[0];
  const [kRows, kCols] = weights.kernel.shape;
  const [uRows, uCols] = weights.recurrentKernel.shape;
  if (kRows !== inputDim || kCols !== units) fail(`kernel is [${kRows}, ${kCols}], expected [inputDim=${inputDim}, units=${units}]`);
  if (uCols !== uRows) fail(`recurrentKernel is [${uRows}, ${uCols}], expected [units, units]`);
  if (weights.bias.rank !== 1 || weights.bias.shape[0] !== units) fail(`bias is [${weights.bias.shape}], expected [units=${units}]`);
}

function checkX(x: tf.Tensor, weights: SimpleRnnWeights): void {
  if (x.rank !== 3) fail(`x must be [batch, time, inputDim], got [${x.shape}]`);
  const [, time, inputDim] = x.shape as number[];
  if (time < 1) fail('x has no timesteps');
  checkWeights(weights, inputDim);
}

/** One simple-RNN step by hand: x [batch, inputDim], hPrev [batch, units] -> h_t. */
export function simpleRnnStep(x: tf.Tensor2D, hPrev: tf.Tensor2D, weights: SimpleRnnWeights): tf.Tensor2D {
  return tf.tidy(() => {
    checkWeights(weights, x.shape[1]);
    return tf.tanh(tf.matMul(x, weights.kernel).add(weights.bias).add(tf.matMul(hPrev, weights.recurrentKernel))) as tf.Tensor2D;
  });
}

/** Runs a simple RNN over x [batch, time, inputDim]; returns every h_t [batch, time, units]. */
export function simpleRnnSequence(x: tf.Tensor3D, weights: SimpleRnnWeights, options: { initialState?: tf.Tensor2D } = {}): tf.Tensor3D {
  return tf.tidy(() => {
    checkX(x, weights);
    const [batch, time, inputDim] = x.shape;
    const units = weights.recurrentKernel.shape[0];
    const h0 = options.initialState;
    if (h0 && (h0.rank !== 2 || h0.shape[0] !== batch || h0.shape[1] !== units)) {
      fail(`initialState is [${h0.shape}], expected [batch=${batch}, units=${units}]`);
    }
    let h = h0 ?? (tf.zeros([batch, units]) as tf.Tensor2D);
    const xw = tf
      .matMul(x.reshape([batch * time, inputDim]), weights.kernel)
      .add(weights.bias)
      .reshape([batch, time, units]);
    const hs: tf.Tensor2D[] = [];
    for (let t = 0; t < time; t++) {
      const xwT = xw.slice([0, t, 0], [batch, 1, units]).reshape([batch, units]) as tf.Tensor2D; // (slices: tf.unstack's gradient fails for 1 step)
      h = tf.tanh(xwT.add(tf.matMul(h, weights.recurrentKernel))) as tf.Tensor2D;
      hs.push(h);
    }
    return tf.stack(hs, 1) as tf.Tensor3D;
  });
}

/** keras.layers.SimpleRNN for tfjs: tanh, Keras's initialisers and dropout; call runs native graphs. */
export class KerasSimpleRNN extends KerasRecurrentLayer {
  static className = 'KerasSimpleRNN';

  protected readonly gateBlocks = 1;
  protected readonly stateCount = 1;

  protected fail(message: string): never {
    return fail(message);
  }

  protected biasShape(): number[] {
    return [this.units];
  }

  protected checkInputs(x: tf.Tensor, weights: SimpleRnnWeights): void {
    checkX(x, weights);
  }

  protected recur(x: tf.Tensor3D, weights: SimpleRnnWeights, [h0]: tf.Tensor2D[], masks: GateMasks): tf.Tensor {
    return fastSimpleRnn(x, weights, h0, { returnSequences: this.returnSequences, masks });
  }

  /** The current weights in Keras's layout, ready for simpleRnnSequence / simpleRnnStep. */
  simpleRnnWeights(): SimpleRnnWeights {
    return this.layerWeights() as SimpleRnnWeights;
  }
}
tf.serialization.registerClass(KerasSimpleRNN);

/** Factory in the style of tf.layers.*: kerasSimpleRnn({units: 128}) is keras.layers.SimpleRNN(128). */
export function kerasSimpleRnn(args: ConstructorParameters<typeof KerasSimpleRNN>[0]): KerasSimpleRNN {
  return new KerasSimpleRNN(args);
}
