// The GRU as its equations: one step (gruStep) and a sequence (gruSequence) in plain tfjs ops, one line per equation.
// Every other GRU of the course is tested against these: the layer KerasGRU (lib/cells/gru-layer.ts) with its native
// graphs (lib/engine/gru-graphs.ts), TfGRU (lib/training/model.ts) and the tests' float64 port (test/cells/reference64.ts).
//
// Conventions, Keras's (keras.layers.GRU); examples are rows (x_t W, not W x_t):
//   kernel W [inputDim, 3*units] and recurrentKernel U [units, 3*units]: three gate blocks side by side, order z | r | h;
//   resetAfter = true (Keras's default; cuDNN and PyTorch's too): bias [2, 3*units], row 0 the input bias b_in, row 1
//     the recurrent bias b_rec; r scales h_{t-1} U_h + b_rec,h, after the product;
//   resetAfter = false (Cho et al. 2014; tf.layers.gru): one bias row [3*units] (b_rec = 0); r scales h_{t-1} before it;
//   sigmoid gates, tanh candidate; z = 1 keeps the old state (Chung et al. 2014 write z for 1 - z);
//   initial weights (the layer's): glorot-uniform W, orthogonal U, zero bias (lib/cells/initializers.ts).
//
//   z_t = sigmoid(x_t W_z + b_in,z + h_{t-1} U_z + b_rec,z)                   update gate
//   r_t = sigmoid(x_t W_r + b_in,r + h_{t-1} U_r + b_rec,r)                   reset gate
//   candidate_t = tanh(x_t W_h + b_in,h + r_t * (h_{t-1} U_h + b_rec,h))      reset-after
//   candidate_t = tanh(x_t W_h + b_h + (r_t * h_{t-1}) U_h)                   reset-before
//   h_t = z_t * h_{t-1} + (1 - z_t) * candidate_t
import * as tf from '@tensorflow/tfjs-node';
import type { GruWeights } from '../engine/gru-graphs';
import { checkSequence, checkWeights, gruLayout, stackSteps, timeSteps } from './layout';

export type { GruWeights };
/** What one GRU step computes, each [batch, units]. */
export type GruStepResult = { z: tf.Tensor2D; r: tf.Tensor2D; candidate: tf.Tensor2D; h: tf.Tensor2D };
/** The same for every step of a sequence, each [batch, time, units]. */
export type GruSequenceResult = { [K in keyof GruStepResult]: tf.Tensor3D };

/** One GRU step: x [batch, inputDim], hPrev [batch, units] -> z, r, candidate and h, each [batch, units]. */
export function gruStep(x: tf.Tensor2D, hPrev: tf.Tensor2D, w: GruWeights, { resetAfter = true } = {}): GruStepResult {
  checkWeights(gruLayout(resetAfter), w, x.shape[1]);
  return tf.tidy(() => {
    const [Wz, Wr, Wh] = tf.split(w.kernel, 3, 1);
    const [Uz, Ur, Uh] = tf.split(w.recurrentKernel, 3, 1);
    const [bIn, bRec] = resetAfter ? tf.unstack(w.bias) : [w.bias, tf.zeros(w.bias.shape)];
    const [[bInZ, bInR, bInH], [bRecZ, bRecR, bRecH]] = [tf.split(bIn, 3), tf.split(bRec, 3)];
    const z = tf.sigmoid(x.matMul(Wz).add(bInZ).add(hPrev.matMul(Uz)).add(bRecZ));
    const r = tf.sigmoid(x.matMul(Wr).add(bInR).add(hPrev.matMul(Ur)).add(bRecR));
    const candidate = resetAfter
      ? tf.tanh(tf.add(x.matMul(Wh).add(bInH), r.mul(hPrev.matMul(Uh).add(bRecH))))
      : tf.tanh(tf.add(x.matMul(Wh).add(bInH), r.mul(hPrev).matMul(Uh)));
    const h = z.mul(hPrev).add(tf.sub(1, z).mul(candidate));
    return { z, r, candidate, h } as GruStepResult;
  });
}

/** gruStep over x [batch, time, inputDim] from initialState (default zeros): z, r, candidate and h of every step. */
export function gruSequence(
  x: tf.Tensor3D,
  w: GruWeights,
  options: { resetAfter?: boolean; initialState?: tf.Tensor2D } = {},
): GruSequenceResult {
  checkSequence(gruLayout(options.resetAfter ?? true), x, w, options.initialState ? [options.initialState] : []);
  return tf.tidy(() => {
    let h = options.initialState ?? (tf.zeros([x.shape[0], w.recurrentKernel.shape[0]]) as tf.Tensor2D);
    const steps = timeSteps(x).map((xt) => {
      const step = gruStep(xt, h, w, options);
      h = step.h;
      return step;
    });
    return stackSteps(steps);
  });
}
