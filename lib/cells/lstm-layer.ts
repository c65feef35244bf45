// KerasLSTM, the course's LSTM as a tfjs layer with keras.layers.LSTM's semantics (Keras 2), in Keras's weight
// layout, so weights move 1:1 between this course, tf.layers.lstm and Keras (Python). Its equations and conventions
// are those of lib/cells/lstm.ts (lstmStep, lstmSequence); its call runs them as native TensorFlow graphs with a
// hand-written backward pass (lib/engine/lstm-graphs.ts). test/cells/lstm.test.ts checks the layer's outputs and
// gradients against lstmSequence (test/cells/harness.ts).
//
// Dropout as Keras 2 applies it (lib/engine/dropout.ts): 4 input and 4 recurrent masks per call (implementation 1,
// which Keras forces when recurrent_dropout > 0), on what enters the products only; c_t is never masked.
import * as tf from '@tensorflow/tfjs-node';
import type { GateMasks } from '../engine/dropout';
import { fastLstm } from '../engine/lstm-graphs';
import type { Initializer } from './initializers';
import { LSTM_LAYOUT, failCell, type CellLayout } from './layout';
import { lstmSequence, type LstmSequenceResult, type LstmWeights } from './lstm';
import { KerasRecurrentLayer, type KerasRecurrentArgs } from './recurrent-layer';

// Keras's unit_forget_bias: the bias initialiser's values, with the forget gate's block set to 1.
const ZerosInitializer = Object.getPrototypeOf(tf.initializers.zeros()).constructor as new () => Initializer;
class UnitForgetBias extends ZerosInitializer {
  constructor(
    private readonly inner: Initializer,
    private readonly units: number,
  ) {
    super();
  }
  override apply(shape: tf.Shape, dtype?: tf.DataType): tf.Tensor {
    return tf.tidy(() => {
      const u = this.units;
      if (shape.length !== 1 || shape[0] !== 4 * u)
        failCell(LSTM_LAYOUT, `unitForgetBias expects a bias [4*units=${4 * u}], got [${shape}]`);
      return tf.concat([this.inner.apply([u], dtype), tf.ones([u]), this.inner.apply([2 * u], dtype)]);
    });
  }
}

/** Constructor arguments of KerasLSTM; defaults follow keras.layers.LSTM (lib/cells/recurrent-layer.ts has the shared ones). */
export interface KerasLSTMArgs extends KerasRecurrentArgs {
  unitForgetBias?: boolean; // default true: the forget gate's bias starts at 1
}

/** keras.layers.LSTM for tfjs: sigmoid gates, tanh, unit_forget_bias, Keras's initialisers and per-gate dropout; call runs native graphs. */
export class KerasLSTM extends KerasRecurrentLayer {
  static className = 'KerasLSTM';

  readonly unitForgetBias: boolean;

  constructor(args: KerasLSTMArgs) {
    super(args);
    this.unitForgetBias = args.unitForgetBias ?? true;
  }

  protected layout(): CellLayout {
    return LSTM_LAYOUT;
  }

  protected override initialBias(): Initializer {
    return this.unitForgetBias ? new UnitForgetBias(this.biasInitializer, this.units) : this.biasInitializer;
  }

  protected recur(x: tf.Tensor3D, weights: LstmWeights, [h0, c0]: tf.Tensor2D[], masks: GateMasks): tf.Tensor {
    return fastLstm(x, weights, [h0, c0], { returnSequences: this.returnSequences, masks });
  }

  /** The current weights in Keras's layout, ready for lstmSequence / lstmStep. */
  lstmWeights(): LstmWeights {
    return this.layerWeights() as LstmWeights;
  }

  /** Reads out i, f, g, o, c and h for x [batch, time, inputDim] with lstmSequence (inference: no dropout). */
  gates(x: tf.Tensor3D, initialState?: [tf.Tensor2D, tf.Tensor2D]): LstmSequenceResult {
    return lstmSequence(x, this.lstmWeights(), { initialState });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), unitForgetBias: this.unitForgetBias };
  }
}
tf.serialization.registerClass(KerasLSTM);

/** Factory in the style of tf.layers.*: kerasLstm({units: 128}) is keras.layers.LSTM(128). */
export function kerasLstm(args: KerasLSTMArgs): KerasLSTM {
  return new KerasLSTM(args);
}
