// KerasSimpleRNN, the course's simple RNN as a tfjs layer with keras.layers.SimpleRNN's semantics, in Keras's weight
// layout. Its equation and conventions are those of lib/cells/simple-rnn.ts (simpleRnnStep, simpleRnnSequence); its
// call runs it as native TensorFlow graphs with a hand-written backward pass (lib/engine/simple-rnn-graphs.ts).
// test/cells/simple-rnn.test.ts checks the layer's outputs and gradients against simpleRnnSequence (test/cells/harness.ts).
//
// Dropout as Keras applies it (lib/engine/dropout.ts): one input mask and one recurrent mask per call, on what enters
// the products; the carried h_t is never masked.
import * as tf from '@tensorflow/tfjs-node';
import type { GateMasks } from '../engine/dropout';
import { fastSimpleRnn } from '../engine/simple-rnn-graphs';
import { SIMPLE_RNN_LAYOUT, type CellLayout } from './layout';
import { KerasRecurrentLayer } from './recurrent-layer';
import type { SimpleRnnWeights } from './simple-rnn';

/** keras.layers.SimpleRNN for tfjs: tanh, Keras's initialisers and dropout; call runs native graphs. */
export class KerasSimpleRNN extends KerasRecurrentLayer {
  static className = 'KerasSimpleRNN';

  protected layout(): CellLayout {
    return SIMPLE_RNN_LAYOUT;
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
