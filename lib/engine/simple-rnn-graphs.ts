/**
 * The simple RNN's chunk graphs for the native-graph engine (lib/engine/chunked-graphs.ts, whose module comment
 * says why graphs and which node names a chunk graph has); lib/cells/simple-rnn.ts holds the equation and the layer.
 *
 * Forward, per step: h_t = tanh((x_t * mx) W + b + (h_{t-1} * mh) U), one mask per side (Keras's SimpleRNNCell).
 * Saved: H (h_t). Backward, per step in reverse: da = dh (1 - h_t²), d h_{t-1} = (da U^T) * mh, then the weight
 * gradients per block of steps (plainGateWeightGrads). test/cells/simple-rnn.test.ts checks it against the plain
 * equation and autodiff.
 */
import * as tf from '@tensorflow/tfjs-node';
import { Graph, graphOps, type Ref } from './graph-def';
import type { GateMasks } from './dropout';
import {
  H_STATE,
  compiledOnce,
  gateMasks,
  plainGateWeightGrads,
  projectInputs,
  runCell,
  type GraphCell,
  type LayerWeights,
} from './chunked-graphs';

/** What fixes a simple-RNN chunk graph's structure (the batch size is left open). */
export type SimpleRnnChunkSpec = {
  steps: number;
  units: number;
  inputDim: number;
  inputDropout: boolean;
  recurrentDropout: boolean;
  sequences: boolean;
};

/** The graph of one simple-RNN chunk of K steps: forward (x, h0 -> hT and H) and backward. */
export function simpleRnnChunkGraph(spec: SimpleRnnChunkSpec): Graph {
  const { steps: K } = spec;
  const g = new Graph();
  const o = graphOps(g);
  const x = g.input('x');
  const W = g.input('W');
  const U = g.input('U');
  const bias = g.input('bias');
  const inputMasks = gateMasks(o, spec.inputDropout ? g.input('inputMasks') : null, 1);
  const recMasks = gateMasks(o, spec.recurrentDropout ? g.input('recurrentMasks') : null, 1);

  const [xw] = projectInputs(o, spec, x, [W], [bias], inputMasks);
  const hs: Ref[] = [];
  let h = g.input(H_STATE.init);
  for (let t = 0; t < K; t++) {
    h = o.tanh(o.add(xw[t], o.matMul(recMasks ? o.mul(h, recMasks[0]) : h, U)));
    hs.push(h);
  }
  g.output(H_STATE.final, h);
  const H = o.unstack(g.output('H', o.stack(hs, 0)), K, 0);

  const hStart = g.input(H_STATE.start);
  const dOut = spec.sequences ? o.unstack(g.input('dH'), K, 0) : null;
  const dPre: Ref[] = [];
  let dh = g.input(H_STATE.gradIn);
  for (let t = K - 1; t >= 0; t--) {
    if (dOut) dh = o.add(dh, dOut[t]);
    const da = o.tanhGrad(H[t], dh);
    dPre[t] = da;
    const back = o.matMul(da, U, false, true);
    dh = recMasks ? o.mul(back, recMasks[0]) : back;
  }
  const grads = plainGateWeightGrads(o, spec, { x, W, Wg: [W], hPrev: (t) => (t > 0 ? H[t - 1] : hStart), inputMasks, recMasks }, [dPre]);
  g.output('dX', grads.dX);
  g.output('dW', grads.dW);
  g.output('dU', grads.dU);
  g.output('dBias', grads.dBias);
  g.output(H_STATE.gradOut, dh);
  return g;
}

/** The whole simple RNN over x [batch, time, inputDim] as one differentiable op, run as native graphs. */
export function fastSimpleRnn(
  x: tf.Tensor3D,
  weights: LayerWeights,
  h0: tf.Tensor2D,
  options: { returnSequences: boolean; masks: GateMasks },
): tf.Tensor {
  const spec = (steps: number): SimpleRnnChunkSpec => ({
    steps,
    units: weights.recurrentKernel.shape[0],
    inputDim: x.shape[2],
    inputDropout: options.masks.input !== null,
    recurrentDropout: options.masks.recurrent !== null,
    sequences: options.returnSequences,
  });
  const cell: GraphCell = {
    chunk: (steps) => compiledOnce(`simpleRnn ${JSON.stringify(spec(steps))}`, () => simpleRnnChunkGraph(spec(steps))),
    states: [H_STATE],
    saved: ['H'],
  };
  return runCell(cell, x, weights, [h0], options);
}
