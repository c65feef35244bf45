// A Long Short-Term Memory layer with Keras's semantics (keras.layers.LSTM, Keras 2), in Keras's weight layout,
// so weights move 1:1 between this course, tf.layers.lstm and Keras (Python):
//
//   kernel           W  [inputDim, 4*units]   gate blocks ordered i | f | c | o
//   recurrentKernel  U  [units,    4*units]   same block order
//   bias             b  [4*units]             (unit_forget_bias: the f block starts at 1, the rest at 0)
//
//   i_t = sigmoid(x_t Wi + h_{t-1} Ui + bi)          input gate: how much of the candidate is written
//   f_t = sigmoid(x_t Wf + h_{t-1} Uf + bf)          forget gate: how much of c_{t-1} is kept
//   g_t = tanh(x_t Wc + h_{t-1} Uc + bc)             candidate
//   o_t = sigmoid(x_t Wo + h_{t-1} Uo + bo)          output gate: how much of the memory is shown
//   c_t = f_t * c_{t-1} + i_t * g_t                  the cell state (memory), carried, never output
//   h_t = o_t * tanh(c_t)                            the output and hidden state
//
// Dropout as Keras 2 applies it (lib/engine/dropout.ts): 4 input and 4 recurrent masks per call (implementation 1,
// which Keras forces when recurrent_dropout > 0), on what enters the products only; c_t is never masked.
//
// Two implementations of the same equations, as for the GRU (lib/cells/gru.ts):
//   - lstmStep / lstmSequence / KerasLSTM.gates() (here): plain tfjs ops, one step after another;
//   - KerasLSTM.call: the recurrence as native TensorFlow graphs with a hand-written backward pass
//     (lib/engine/lstm-graphs.ts). test/cells/lstm.test.ts checks that both give the same outputs and gradients.
import * as tf from '@tensorflow/tfjs-node';
import type { GateMasks } from '../engine/dropout';
import type { Initializer } from './initializers';
import { KerasRecurrentLayer, type KerasRecurrentArgs } from './recurrent-layer';
import { fastLstm } from '../engine/lstm-graphs';

/** An LSTM's weights in Keras's layout (see the top of this file). */
export type LstmWeights = { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor1D };

/** What one LSTM step computes; each tensor is [batch, units]. */
export type LstmStepResult = { i: tf.Tensor2D; f: tf.Tensor2D; g: tf.Tensor2D; o: tf.Tensor2D; c: tf.Tensor2D; h: tf.Tensor2D };

/** The same quantities for a whole sequence; each tensor is [batch, time, units]. */
export type LstmSequenceResult = { i: tf.Tensor3D; f: tf.Tensor3D; g: tf.Tensor3D; o: tf.Tensor3D; c: tf.Tensor3D; h: tf.Tensor3D };

function fail(message: string): never {
  throw new Error(`lstm: ${message}`);
}

function checkWeights(weights: LstmWeights, inputDim: number): void {
  const units = weights.recurrentKernel.shape[0];
  const [kRows, kCols] = weights.kernel.shape;
  const [uRows, uCols] = weights.recurrentKernel.shape;
  if (kRows !== inputDim || kCols !== 4 * units)
    fail(`kernel is [${kRows}, ${kCols}], expected [inputDim=${inputDim}, 4*units=${4 * units}]`);
  if (uCols !== 4 * uRows) fail(`recurrentKernel is [${uRows}, ${uCols}], expected [units, 4*units]`);
  if (weights.bias.rank !== 1 || weights.bias.shape[0] !== 4 * units)
    fail(`bias is [${weights.bias.shape}], expected [4*units=${4 * units}]`);
}

function checkX(x: tf.Tensor, weights: LstmWeights): void {
  if (x.rank !== 3) fail(`x must be [batch, time, inputDim], got [${x.shape}]`);
  const [, time, inputDim] = x.shape as number[];
  if (time < 1) fail('x has no timesteps');
  checkWeights(weights, inputDim);
}

function checkState(state: tf.Tensor, batch: number, units: number): void {
  if (state.rank !== 2 || state.shape[0] !== batch || state.shape[1] !== units) {
    fail(`initialState is [${state.shape}], expected [batch=${batch}, units=${units}] for h0 and for c0`);
  }
}

// One step from the input side xw_t = x_t W + b (blocks i | f | c | o).
function lstmCell(xw: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D, u: tf.Tensor2D): LstmStepResult {
  const [xi, xf, xc, xo] = tf.split(xw.add(tf.matMul(hPrev, u)), 4, 1);
  const i = tf.sigmoid(xi) as tf.Tensor2D;
  const f = tf.sigmoid(xf) as tf.Tensor2D;
  const g = tf.tanh(xc) as tf.Tensor2D;
  const o = tf.sigmoid(xo) as tf.Tensor2D;
  const c = f.mul(cPrev).add(i.mul(g)) as tf.Tensor2D;
  const h = o.mul(tf.tanh(c)) as tf.Tensor2D;
  return { i, f, g, o, c, h };
}

/** One LSTM step by hand: x [batch, inputDim], hPrev and cPrev [batch, units] -> i, f, g, o, c, h. */
export function lstmStep(x: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D, weights: LstmWeights): LstmStepResult {
  return tf.tidy(() => {
    checkWeights(weights, x.shape[1]);
    return lstmCell(tf.add(tf.matMul(x, weights.kernel), weights.bias) as tf.Tensor2D, hPrev, cPrev, weights.recurrentKernel);
  });
}

/** Runs an LSTM over x [batch, time, inputDim]; returns i, f, g, o, c and h for every step. */
export function lstmSequence(
  x: tf.Tensor3D,
  weights: LstmWeights,
  options: { initialState?: [tf.Tensor2D, tf.Tensor2D] } = {},
): LstmSequenceResult {
  return tf.tidy(() => {
    checkX(x, weights);
    const [batch, time, inputDim] = x.shape;
    const units = weights.recurrentKernel.shape[0];
    for (const state of options.initialState ?? []) checkState(state, batch, units);
    let [h, c] = options.initialState ?? [tf.zeros([batch, units]) as tf.Tensor2D, tf.zeros([batch, units]) as tf.Tensor2D];
    const xw = tf
      .matMul(x.reshape([batch * time, inputDim]), weights.kernel)
      .add(weights.bias)
      .reshape([batch, time, 4 * units]);
    const steps: LstmStepResult[] = [];
    for (let t = 0; t < time; t++) {
      const xwT = xw.slice([0, t, 0], [batch, 1, 4 * units]).reshape([batch, 4 * units]) as tf.Tensor2D; // (slices: tf.unstack's gradient fails for 1 step)
      const step = lstmCell(xwT, h, c, weights.recurrentKernel);
      steps.push(step);
      [h, c] = [step.h, step.c];
    }
    const along = (k: keyof LstmStepResult) =>
      tf.stack(
        steps.map((s) => s[k]),
        1,
      ) as tf.Tensor3D;
    return { i: along('i'), f: along('f'), g: along('g'), o: along('o'), c: along('c'), h: along('h') };
  });
}

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
      if (shape.length !== 1 || shape[0] !== 4 * u) fail(`unitForgetBias expects a bias [4*units=${4 * u}], got [${shape}]`);
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
  protected readonly gateBlocks = 4;
  protected readonly stateCount = 2;

  constructor(args: KerasLSTMArgs) {
    super(args);
    this.unitForgetBias = args.unitForgetBias ?? true;
  }

  protected override initialBias(): Initializer {
    return this.unitForgetBias ? new UnitForgetBias(this.biasInitializer, this.units) : this.biasInitializer;
  }

  protected fail(message: string): never {
    return fail(message);
  }

  protected biasShape(): number[] {
    return [4 * this.units];
  }

  protected checkInputs(x: tf.Tensor, weights: LstmWeights): void {
    checkX(x, weights);
  }

  protected recur(x: tf.Tensor3D, weights: LstmWeights, [h0, c0]: tf.Tensor2D[], masks: GateMasks): tf.Tensor {
    return fastLstm(x, weights, [h0, c0], { returnSequences: this.returnSequences, masks });
  }

  /** The current weights in Keras's layout, ready for lstmSequence / lstmStep. */
  lstmWeights(): LstmWeights {
    return this.layerWeights() as LstmWeights;
  }

  /** Reads out i, f, g, o, c and h for x [batch, time, inputDim] (inference: no dropout). */
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
