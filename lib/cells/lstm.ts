// The LSTM as equations: one step (lstmStep) and a sequence (lstmSequence) in plain tfjs ops, one line per equation.
// Every other LSTM of the course is tested against these: the layer KerasLSTM (lib/cells/lstm-layer.ts) with its
// native graphs (lib/engine/lstm-graphs.ts) and the tests' float64 port (test/cells/reference64.ts).
//
// Conventions, Keras's (keras.layers.LSTM, Keras 2); examples are rows (x_t W, not W x_t):
//   kernel W [inputDim, 4*units] and recurrentKernel U [units, 4*units]: four gate blocks side by side, order
//   i | f | c | o; one bias [4*units];
//   sigmoid gates, tanh candidate and output; the cell state c is carried beside h, never output;
//   initial weights (the layer's): glorot-uniform W, orthogonal U, bias 0 but 1 on the f block (unit_forget_bias).
//
//   i_t = sigmoid(x_t W_i + h_{t-1} U_i + b_i)          input gate: how much of the candidate is written
//   f_t = sigmoid(x_t W_f + h_{t-1} U_f + b_f)          forget gate: how much of c_{t-1} is kept
//   g_t = tanh(x_t W_c + h_{t-1} U_c + b_c)             candidate
//   o_t = sigmoid(x_t W_o + h_{t-1} U_o + b_o)          output gate: how much of the memory is shown
//   c_t = f_t * c_{t-1} + i_t * g_t                     the cell state (memory)
//   h_t = o_t * tanh(c_t)                               the output and hidden state
import * as tf from '@tensorflow/tfjs-node';
import { LSTM_LAYOUT, checkSequence, checkWeights, stackSteps, timeSteps } from './layout';

/** An LSTM's weights in Keras's layout (see the top of this file). */
export type LstmWeights = { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor1D };
/** What one LSTM step computes; each tensor is [batch, units]. */
export type LstmStepResult = { i: tf.Tensor2D; f: tf.Tensor2D; g: tf.Tensor2D; o: tf.Tensor2D; c: tf.Tensor2D; h: tf.Tensor2D };
/** The same for every step of a sequence; each tensor is [batch, time, units]. */
export type LstmSequenceResult = { [K in keyof LstmStepResult]: tf.Tensor3D };

/** One LSTM step: x [batch, inputDim], hPrev and cPrev [batch, units] -> i, f, g, o, c and h, each [batch, units]. */
export function lstmStep(x: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D, w: LstmWeights): LstmStepResult {
  checkWeights(LSTM_LAYOUT, w, x.shape[1]);
  return tf.tidy(() => {
    const [Wi, Wf, Wc, Wo] = tf.split(w.kernel, 4, 1);
    const [Ui, Uf, Uc, Uo] = tf.split(w.recurrentKernel, 4, 1);
    const [bi, bf, bc, bo] = tf.split(w.bias, 4);
    const i = tf.sigmoid(x.matMul(Wi).add(hPrev.matMul(Ui)).add(bi));
    const f = tf.sigmoid(x.matMul(Wf).add(hPrev.matMul(Uf)).add(bf));
    const g = tf.tanh(x.matMul(Wc).add(hPrev.matMul(Uc)).add(bc));
    const o = tf.sigmoid(x.matMul(Wo).add(hPrev.matMul(Uo)).add(bo));
    const c = f.mul(cPrev).add(i.mul(g));
    const h = o.mul(tf.tanh(c));
    return { i, f, g, o, c, h } as LstmStepResult;
  });
}

/** lstmStep over x [batch, time, inputDim], from initialState [h0, c0] (default zeros): i, f, g, o, c and h of every step. */
export function lstmSequence(
  x: tf.Tensor3D,
  w: LstmWeights,
  options: { initialState?: [tf.Tensor2D, tf.Tensor2D] } = {},
): LstmSequenceResult {
  checkSequence(LSTM_LAYOUT, x, w, options.initialState ?? []);
  return tf.tidy(() => {
    const zeros = () => tf.zeros([x.shape[0], w.recurrentKernel.shape[0]]) as tf.Tensor2D;
    let [h, c] = options.initialState ?? [zeros(), zeros()];
    const steps = timeSteps(x).map((xt) => {
      const step = lstmStep(xt, h, c, w);
      [h, c] = [step.h, step.c];
      return step;
    });
    return stackSteps(steps);
  });
}
