/**
 * The LSTM's chunk graphs for the native-graph engine (lib/engine/chunked-graphs.ts, whose module comment says why
 * graphs and which node names a chunk graph has); lib/cells/lstm.ts holds the equations and the layer.
 *
 * Forward, per step (gate order i | f | c | o, Keras's; masks only on what enters the products):
 *   i = σ(x_i W_i + b_i + h_i U_i), f = σ(x_f W_f + b_f + h_f U_f), g = tanh(x_c W_c + b_c + h_c U_c),
 *   o = σ(x_o W_o + b_o + h_o U_o), with x_k = x_t * mx_k and h_k = h_{t-1} * mh_k;
 *   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t).
 * Saved for the backward pass, each [K, B, u]: H (h_t), S (c_t), I, F, G, O and T (tanh c_t).
 *
 * Backward, per step in reverse, from dh (d loss / d h_t, the later steps' part plus the output's) and dc
 * (d loss / d c_t from the later steps):
 *   do = dh tanh(c_t) o (1 - o);  dc += dh o (1 - tanh²c_t);  di = dc g i (1 - i);  dg = dc i (1 - g²);
 *   df = dc c_{t-1} f (1 - f);  d c_{t-1} = dc f;  d h_{t-1} = Σ_k (d_k U_k^T) * mh_k,
 * then the weight gradients per block of steps (plainGateWeightGrads). test/cells/lstm.test.ts checks all of it
 * against the plain equations and autodiff.
 */
import * as tf from '@tensorflow/tfjs-node';
import { Graph, graphOps, type Ref } from './graph-def';
import type { GateMasks } from './dropout';
import {
  C_STATE,
  H_STATE,
  compiledOnce,
  gateMasks,
  plainGateWeightGrads,
  projectInputs,
  runCell,
  type GraphCell,
  type LayerWeights,
} from './chunked-graphs';

/** What fixes an LSTM chunk graph's structure (the batch size is left open). */
export type LstmChunkSpec = {
  steps: number; // K, the unrolled length
  units: number;
  inputDim: number;
  inputDropout: boolean; // per-gate masks on x_t
  recurrentDropout: boolean; // per-gate masks on h_{t-1}
  sequences: boolean; // backward: does every h_t receive a gradient (returnSequences), or only h_T?
};

const SAVED = ['H', 'S', 'I', 'F', 'G', 'O', 'T'] as const;
const GATES = 4;

/** The graph of one LSTM chunk of K steps: forward (x, h0, c0 -> hT, cT and the saved stacks) and backward. */
export function lstmChunkGraph(spec: LstmChunkSpec): Graph {
  const { steps: K, units } = spec;
  const g = new Graph();
  const o = graphOps(g);
  const x = g.input('x'); // [K, B, D]
  const W = g.input('W');
  const U = g.input('U');
  const bias = g.input('bias');
  const Wg = o.split(W, 1, GATES);
  const Ug = o.split(U, 1, GATES);
  const bg = o.split(bias, 0, GATES);
  const inputMasks = gateMasks(o, spec.inputDropout ? g.input('inputMasks') : null, GATES);
  const recMasks = gateMasks(o, spec.recurrentDropout ? g.input('recurrentMasks') : null, GATES);

  // ---- forward
  const [xi, xf, xc, xo] = projectInputs(o, spec, x, Wg, bg, inputMasks);
  const recurrentTerms = (h: Ref): Ref[] =>
    recMasks ? Ug.map((u, k) => o.matMul(o.mul(h, recMasks[k]), u)) : o.split(o.matMul(h, U), 1, GATES);
  const saved: Record<(typeof SAVED)[number], Ref[]> = { H: [], S: [], I: [], F: [], G: [], O: [], T: [] };
  let h = g.input(H_STATE.init);
  let c = g.input(C_STATE.init);
  for (let t = 0; t < K; t++) {
    const [hi, hf, hc, ho] = recurrentTerms(h);
    const i = o.sigmoid(o.add(xi[t], hi));
    const f = o.sigmoid(o.add(xf[t], hf));
    const cand = o.tanh(o.add(xc[t], hc));
    const out = o.sigmoid(o.add(xo[t], ho));
    c = o.add(o.mul(f, c), o.mul(i, cand)); // the carried cell state: never masked
    const tc = o.tanh(c);
    h = o.mul(out, tc);
    saved.H.push(h);
    saved.S.push(c);
    saved.I.push(i);
    saved.F.push(f);
    saved.G.push(cand);
    saved.O.push(out);
    saved.T.push(tc);
  }
  g.output(H_STATE.final, h);
  g.output(C_STATE.final, c);
  const stacks = Object.fromEntries(SAVED.map((name) => [name, g.output(name, o.stack(saved[name], 0))])) as Record<
    (typeof SAVED)[number],
    Ref
  >;

  // ---- backward (the stacks are fed back in)
  const hStart = g.input(H_STATE.start);
  const cStart = g.input(C_STATE.start);
  const [H, S, I, F, G, O, T] = SAVED.map((name) => o.unstack(stacks[name], K, 0));
  const dOut = spec.sequences ? o.unstack(g.input('dH'), K, 0) : null;
  const dPre: Ref[][] = [[], [], [], []]; // d loss / d pre-activation of i, f, c, o at every step
  let dh = g.input(H_STATE.gradIn);
  let dc = g.input(C_STATE.gradIn);
  for (let t = K - 1; t >= 0; t--) {
    if (dOut) dh = o.add(dh, dOut[t]);
    const cPrev = t > 0 ? S[t - 1] : cStart;
    const dOutGate = o.sigmoidGrad(O[t], o.mul(dh, T[t]));
    const dcTotal = o.add(dc, o.tanhGrad(T[t], o.mul(dh, O[t])));
    const di = o.sigmoidGrad(I[t], o.mul(dcTotal, G[t]));
    const dg = o.tanhGrad(G[t], o.mul(dcTotal, I[t]));
    const df = o.sigmoidGrad(F[t], o.mul(dcTotal, cPrev));
    dc = o.mul(dcTotal, F[t]);
    const ds = [di, df, dg, dOutGate];
    ds.forEach((d, k) => (dPre[k][t] = d));
    dh = recMasks
      ? o.addN(ds.map((d, k) => o.mul(o.matMul(d, Ug[k], false, true), recMasks[k])))
      : o.matMul(o.concat(ds, 1), U, false, true);
  }
  const grads = plainGateWeightGrads(o, spec, { x, W, Wg, hPrev: (t) => (t > 0 ? H[t - 1] : hStart), inputMasks, recMasks }, dPre);
  g.output('dX', grads.dX);
  g.output('dW', grads.dW);
  g.output('dU', grads.dU);
  g.output('dBias', grads.dBias);
  g.output(H_STATE.gradOut, dh);
  g.output(C_STATE.gradOut, dc);
  return g;
}

/**
 * The whole LSTM over x [batch, time, inputDim] as one differentiable op, run as native graphs: every h_t
 * [batch, time, units] (returnSequences) or the last one [batch, units]. Gradients flow to x, the three
 * weights and both initial states.
 */
export function fastLstm(
  x: tf.Tensor3D,
  weights: LayerWeights,
  [h0, c0]: [tf.Tensor2D, tf.Tensor2D],
  options: { returnSequences: boolean; masks: GateMasks },
): tf.Tensor {
  const spec = (steps: number): LstmChunkSpec => ({
    steps,
    units: weights.recurrentKernel.shape[0],
    inputDim: x.shape[2],
    inputDropout: options.masks.input !== null,
    recurrentDropout: options.masks.recurrent !== null,
    sequences: options.returnSequences,
  });
  const cell: GraphCell = {
    chunk: (steps) => compiledOnce(`lstm ${JSON.stringify(spec(steps))}`, () => lstmChunkGraph(spec(steps))),
    states: [H_STATE, C_STATE],
    saved: SAVED,
  };
  return runCell(cell, x, weights, [h0, c0], options);
}
