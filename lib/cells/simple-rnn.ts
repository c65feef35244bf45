// The simple (Elman) RNN as an equation: one step (simpleRnnStep) and a sequence (simpleRnnSequence) in plain tfjs ops.
// Every other simple RNN of the course is tested against these: the layer KerasSimpleRNN (lib/cells/simple-rnn-layer.ts)
// with its native graphs (lib/engine/simple-rnn-graphs.ts) and the tests' float64 port (test/cells/reference64.ts).
//
// Conventions, Keras's (keras.layers.SimpleRNN): kernel W [inputDim, units], recurrentKernel U [units, units],
// bias b [units]; tanh; examples are rows (x_t W, not W x_t); initial weights (the layer's): glorot-uniform W,
// orthogonal U, zero bias (lib/cells/initializers.ts).
//
//   h_t = tanh(x_t W + b + h_{t-1} U)        no gate: the state is rewritten at every step
import * as tf from '@tensorflow/tfjs-node';
import { SIMPLE_RNN_LAYOUT, checkSequence, checkWeights, timeSteps } from './layout';

/** A simple RNN's weights in Keras's layout (see the top of this file). */
export type SimpleRnnWeights = { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor1D };

/** One simple-RNN step: x [batch, inputDim], hPrev [batch, units] -> h_t [batch, units]. */
export function simpleRnnStep(x: tf.Tensor2D, hPrev: tf.Tensor2D, w: SimpleRnnWeights): tf.Tensor2D {
  checkWeights(SIMPLE_RNN_LAYOUT, w, x.shape[1]);
  return tf.tidy(() => tf.tanh(x.matMul(w.kernel).add(w.bias).add(hPrev.matMul(w.recurrentKernel))) as tf.Tensor2D);
}

/** simpleRnnStep over x [batch, time, inputDim], from initialState (default zeros): every h_t [batch, time, units]. */
export function simpleRnnSequence(x: tf.Tensor3D, w: SimpleRnnWeights, options: { initialState?: tf.Tensor2D } = {}): tf.Tensor3D {
  checkSequence(SIMPLE_RNN_LAYOUT, x, w, options.initialState ? [options.initialState] : []);
  return tf.tidy(() => {
    let h = options.initialState ?? (tf.zeros([x.shape[0], w.recurrentKernel.shape[0]]) as tf.Tensor2D);
    return tf.stack(
      timeSteps(x).map((xt) => (h = simpleRnnStep(xt, h, w))),
      1,
    ) as tf.Tensor3D;
  });
}
