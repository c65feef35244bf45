// The course's LSTM (lib/cells/lstm.ts): lstmStep / lstmSequence and the layer KerasLSTM (native graphs,
// hand-written backward pass) against references written here from the equations: a float64 loop
// (hand-worked numbers, finite differences), plain tfjs ops differentiated by autodiff (gradients,
// with Keras 2's dropout masks), and tf.layers.lstm.
//
//   gate blocks i | f | c | o (Keras's layout), kernel W [D, 4u], recurrentKernel U [u, 4u], bias b [4u]
//   i = sigmoid(x W_i + h U_i + b_i)   f = sigmoid(x W_f + h U_f + b_f)
//   g = tanh(x W_c + h U_c + b_c)      o = sigmoid(x W_o + h U_o + b_o)
//   c_t = f c_{t-1} + i g              h_t = o tanh(c_t)
// Dropout (Keras 2, implementation 1): per training call 4 input masks [B, D] (x_t * m^x_g feeds W_g) and
// 4 recurrent masks [B, u] (h_{t-1} * m^h_g feeds U_g), constant over time; c_t and h_t are never masked.
// Mask k of a layer with seed s is dropoutMask(shape, rate, s + k), k counting from 0 over the layer's
// life in the order input i, f, c, o, recurrent i, f, c, o; a side with rate 0 (or >= 1) draws none.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { dropoutMask } from '../../lib/engine/dropout';
import { KerasLSTM, kerasLstm, lstmSequence, lstmStep, type LstmWeights } from '../../lib/cells/lstm';
import { buildModel, loadModel, recurrentLayerOf } from '../../lib/training/model';
import { paramCount } from '../../lib/cells/layer-kinds';
import { assertClose, flat, maxAbsDiff, rand } from './gru-helpers';

// ---------------------------------------------------------------------------
// Helpers and references

type Vec = number[];
type Mat = number[][];
type Seq = number[][][]; // [batch][time][feature]
type Four<T> = [T, T, T, T];

const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));
const GATES = ['i', 'f', 'c', 'o'] as const;

function randomLstmWeights(inputDim: number, units: number, seed: number): LstmWeights {
  return {
    kernel: rand([inputDim, 4 * units], seed, 0.8) as tf.Tensor2D,
    recurrentKernel: rand([units, 4 * units], seed + 1, 0.8) as tf.Tensor2D,
    bias: rand([4 * units], seed + 2, 0.5) as tf.Tensor1D,
  };
}

function weightList(w: LstmWeights): tf.Tensor[] {
  return [w.kernel, w.recurrentKernel, w.bias];
}

type LayerOptions = {
  units: number;
  returnSequences?: boolean;
  dropout?: number;
  recurrentDropout?: number;
  seed?: number | null;
  unitForgetBias?: boolean;
};

/** A KerasLSTM built for inputs [*, time, inputDim] (returnSequences unless told), with the given weights. */
function builtLstm(args: LayerOptions, inputDim: number, weights?: LstmWeights): KerasLSTM {
  const layer = kerasLstm({ returnSequences: true, ...args });
  layer.build([null, null, inputDim]);
  if (weights) layer.setWeights(weightList(weights));
  return layer;
}

// float64 masks: one [batch][dim] array per gate, or null (no dropout on that side)
type Masks64 = { input: Four<Mat> | null; recurrent: Four<Mat> | null };

/** The LSTM in float64 JavaScript loops, masks applied only where x_t and h_{t-1} enter the products. */
function referenceLstm(x: Seq, W: Mat, U: Mat, b: Vec, h0?: Mat, c0?: Mat, masks: Masks64 = { input: null, recurrent: null }) {
  const units = U.length;
  const out = { h: [] as Seq, c: [] as Seq, i: [] as Seq, f: [] as Seq, g: [] as Seq, o: [] as Seq };
  x.forEach((xs, n) => {
    let h = h0 ? [...h0[n]] : new Array<number>(units).fill(0);
    let c = c0 ? [...c0[n]] : new Array<number>(units).fill(0);
    for (const key of Object.keys(out) as (keyof typeof out)[]) out[key].push([]);
    for (const xt of xs) {
      const pre = (gate: number, k: number) => {
        const col = gate * units + k;
        let s = b[col];
        xt.forEach((xj, j) => (s += xj * (masks.input ? masks.input[gate][n][j] : 1) * W[j][col]));
        h.forEach((hj, j) => (s += hj * (masks.recurrent ? masks.recurrent[gate][n][j] : 1) * U[j][col]));
        return s;
      };
      const i = h.map((_, k) => sigmoid(pre(0, k)));
      const f = h.map((_, k) => sigmoid(pre(1, k)));
      const g = h.map((_, k) => Math.tanh(pre(2, k)));
      const o = h.map((_, k) => sigmoid(pre(3, k)));
      c = c.map((ck, k) => f[k] * ck + i[k] * g[k]);
      h = c.map((ck, k) => o[k] * Math.tanh(ck));
      const at = { h, c, i, f, g, o };
      for (const key of Object.keys(out) as (keyof typeof out)[]) out[key][n].push(at[key]);
    }
  });
  return out;
}

type TfMasks = { input: Four<tf.Tensor2D> | null; recurrent: Four<tf.Tensor2D> | null };
const NO_MASKS: TfMasks = { input: null, recurrent: null };

/** The LSTM in plain tfjs ops, one step after another, differentiable by tfjs's autodiff: the yardstick for KerasLSTM.call. */
function lstmByOps(x: tf.Tensor3D, w: LstmWeights, h0: tf.Tensor2D, c0: tf.Tensor2D, masks: TfMasks = NO_MASKS) {
  const Ws = tf.split(w.kernel, 4, 1);
  const Us = tf.split(w.recurrentKernel, 4, 1);
  const bs = tf.split(w.bias, 4);
  const [batch, time, inputDim] = x.shape;
  let h: tf.Tensor = h0;
  let c: tf.Tensor = c0;
  const hs: tf.Tensor[] = [];
  const cs: tf.Tensor[] = [];
  for (let t = 0; t < time; t++) {
    const xt = x.slice([0, t, 0], [batch, 1, inputDim]).reshape([batch, inputDim]); // (tf.unstack's gradient fails for 1 step)
    const hPrev = h;
    const pre = (gate: number) =>
      tf
        .matMul(masks.input ? xt.mul(masks.input[gate]) : xt, Ws[gate])
        .add(bs[gate])
        .add(tf.matMul(masks.recurrent ? hPrev.mul(masks.recurrent[gate]) : hPrev, Us[gate]));
    const [i, f, g, o] = [tf.sigmoid(pre(0)), tf.sigmoid(pre(1)), tf.tanh(pre(2)), tf.sigmoid(pre(3))];
    c = f.mul(c).add(i.mul(g));
    h = o.mul(tf.tanh(c));
    hs.push(h);
    cs.push(c);
  }
  return { h: tf.stack(hs, 1) as tf.Tensor3D, c: tf.stack(cs, 1) as tf.Tensor3D };
}

const dropsWith = (rate: number) => rate > 0 && rate < 1;

/**
 * The masks a layer with this seed draws in one training call, its counter at `k`: input i, f, c, o, then
 * recurrent i, f, c, o, each dropoutMask(shape, rate, seed + k++); `next` is the counter afterwards.
 */
function layerMasks(
  seed: number,
  k: number,
  shapes: { batch: number; inputDim: number; units: number },
  dropout: number,
  recurrentDropout: number,
) {
  const draw = (shape: [number, number], rate: number) => [0, 1, 2, 3].map(() => dropoutMask(shape, rate, seed + k++)) as Four<tf.Tensor2D>;
  const input = dropsWith(dropout) ? draw([shapes.batch, shapes.inputDim], dropout) : null;
  const recurrent = dropsWith(recurrentDropout) ? draw([shapes.batch, shapes.units], recurrentDropout) : null;
  return { masks: { input, recurrent } as TfMasks, next: k };
}

const lastStep = (seq: tf.Tensor3D) => {
  const [batch, time, units] = seq.shape;
  return seq.slice([0, time - 1, 0], [batch, 1, units]).reshape([batch, units]);
};

function relativeDiff(actual: tf.Tensor, expected: tf.Tensor): number {
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  return maxAbsDiff(actual, expected) / Math.max(1e-3, scale);
}

/** Every (m_i, m_f, m_c, m_o) with each mask entry 0 (dropped) or 2 (kept at rate 0.5). */
const MASK_COMBOS: Four<number>[] = [...Array(16).keys()].map((bits) => [0, 1, 2, 3].map((g) => ((bits >> g) & 1) * 2) as Four<number>);

function minPairwiseGap(rows: number[][]): number {
  let gap = Infinity;
  rows.forEach((a, p) => rows.slice(p + 1).forEach((b) => (gap = Math.min(gap, Math.max(...a.map((v, t) => Math.abs(v - b[t])))))));
  return gap;
}

// ---------------------------------------------------------------------------

describe('hand-worked example (1 unit, 2 steps)', () => {
  // Keras layout, blocks i | f | c | o:
  //   kernel          [[Wi, Wf, Wc, Wo]] = [[0.5, 1, 2, -1]]
  //   recurrentKernel [[Ui, Uf, Uc, Uo]] = [[1, -1, 1, 0.5]]
  //   bias             [bi, bf, bc, bo]  =  [0, 1, 0, 0.5]
  //   x_1 = 1, x_2 = -1, h_0 = c_0 = 0
  //
  // step 1 (x = 1, h0 = 0, c0 = 0):
  //   i = sigmoid(0.5)            = 0.6224593312
  //   f = sigmoid(1 + 1)          = 0.8807970780
  //   g = tanh(2)                 = 0.9640275801
  //   o = sigmoid(-1 + 0.5)       = 0.3775406688
  //   c1 = f*0 + i*g              = 0.6000679628
  //   h1 = o * tanh(c1) = 0.3775406688 * 0.5370979260 = 0.2027763102
  // step 2 (x = -1, h1 = 0.2027763102, c1 = 0.6000679628):
  //   i = sigmoid(-0.5 + h1)          = sigmoid(-0.2972236898) = 0.4262363152
  //   f = sigmoid(-1 - h1 + 1)        = sigmoid(-0.2027763102) = 0.4494789154
  //   g = tanh(-2 + h1)               = tanh(-1.7972236898)    = -0.9465177457
  //   o = sigmoid(1 + 0.5*h1 + 0.5)   = sigmoid(1.6013881551)  = 0.8322123095
  //   c2 = f*c1 + i*g = 0.4494789154*0.6000679628 + 0.4262363152*(-0.9465177457) = -0.1337223391
  //   h2 = o * tanh(c2) = 0.8322123095 * (-0.1329309399) = -0.1106267645
  const weights: LstmWeights = {
    kernel: tf.tensor2d([[0.5, 1, 2, -1]]),
    recurrentKernel: tf.tensor2d([[1, -1, 1, 0.5]]),
    bias: tf.tensor1d([0, 1, 0, 0.5]),
  };
  const x = tf.tensor3d([[[1], [-1]]]);

  test('lstmSequence gives every gate, c and h of both steps', () => {
    const out = lstmSequence(x, weights);
    assertClose(out.i, [0.6224593312, 0.4262363152], 1e-6, 'i');
    assertClose(out.f, [0.880797078, 0.4494789154], 1e-6, 'f');
    assertClose(out.g, [0.9640275801, -0.9465177457], 1e-6, 'g');
    assertClose(out.o, [0.3775406688, 0.8322123095], 1e-6, 'o');
    assertClose(out.c, [0.6000679628, -0.1337223391], 1e-6, 'c');
    assertClose(out.h, [0.2027763102, -0.1106267645], 1e-6, 'h');
    // the same with h_0 = c_0 = 0 given explicitly
    const zero = tf.zeros([1, 1]) as tf.Tensor2D;
    assertClose(lstmSequence(x, weights, { initialState: [zero, zero] }).h, [0.2027763102, -0.1106267645], 1e-6, 'explicit zero state');
  });

  test('lstmStep reproduces step 2 from (h1, c1); the layer returns h (all steps, or the last)', () => {
    const step = lstmStep(tf.tensor2d([[-1]]), tf.tensor2d([[0.2027763102]]), tf.tensor2d([[0.6000679628]]), weights);
    assertClose(step.i, [0.4262363152], 1e-6, 'lstmStep i');
    assertClose(step.f, [0.4494789154], 1e-6, 'lstmStep f');
    assertClose(step.g, [-0.9465177457], 1e-6, 'lstmStep g');
    assertClose(step.o, [0.8322123095], 1e-6, 'lstmStep o');
    assertClose(step.c, [-0.1337223391], 1e-6, 'lstmStep c');
    assertClose(step.h, [-0.1106267645], 1e-6, 'lstmStep h');
    assertClose(builtLstm({ units: 1 }, 1, weights).apply(x) as tf.Tensor, [0.2027763102, -0.1106267645], 1e-6, 'layer, sequences');
    const last = builtLstm({ units: 1, returnSequences: false }, 1, weights).apply(x) as tf.Tensor;
    assert.deepEqual(last.shape, [1, 1]);
    assertClose(last, [-0.1106267645], 1e-6, 'layer, last step');
  });
});

describe('agreement: lstmSequence, lstmStep, KerasLSTM, tf.layers.lstm, float64 reference', () => {
  const [batch, inputDim, units] = [3, 4, 3];
  const h0 = rand([batch, units], 12, 0.9) as tf.Tensor2D;
  const c0 = rand([batch, units], 13, 1.5) as tf.Tensor2D;

  test('matches tf.layers.lstm (sigmoid gates, same weights), with and without an initial state', () => {
    const x = rand([batch, 5, inputDim], 11) as tf.Tensor3D;
    const w = randomLstmWeights(inputDim, units, 20);
    const tfjsLstm = tf.layers.lstm({ units, recurrentActivation: 'sigmoid', returnSequences: true });
    tfjsLstm.apply(x); // builds it (RNN.build alone leaves the layer unbuilt, so apply would build again)
    tfjsLstm.setWeights(weightList(w)); // same shapes and i|f|c|o block order as Keras
    const ours = builtLstm({ units }, inputDim, w);
    for (const initialState of [undefined, [h0, c0] as [tf.Tensor2D, tf.Tensor2D]]) {
      const kwargs = initialState ? { initialState } : {};
      const expected = tfjsLstm.apply(x, kwargs) as tf.Tensor;
      const what = initialState ? 'with (h0, c0)' : 'zero state';
      assertClose(lstmSequence(x, w, { initialState }).h, expected, 1e-5, `lstmSequence vs tf.layers.lstm, ${what}`);
      assertClose(ours.apply(x, kwargs) as tf.Tensor, expected, 1e-5, `KerasLSTM vs tf.layers.lstm, ${what}`);
    }
  });

  // 1 step, 5 = 4 + 1, 70 = 64 + 4 + 2 steps: the layer's chunks of the recurrence
  for (const time of [1, 5, 70]) {
    test(`${time} steps: the layer (all steps and last step), lstmSequence, gates() and chained lstmStep equal a float64 reference`, () => {
      const x = rand([batch, time, inputDim], 30 + time) as tf.Tensor3D;
      const w = randomLstmWeights(inputDim, units, 40);
      const expected = referenceLstm(
        x.arraySync(),
        w.kernel.arraySync(),
        w.recurrentKernel.arraySync(),
        w.bias.arraySync(),
        h0.arraySync(),
        c0.arraySync(),
      );
      const seq = lstmSequence(x, w, { initialState: [h0, c0] });
      for (const key of ['h', 'c', 'i', 'f', 'g', 'o'] as const)
        assertClose(seq[key], tf.tensor(expected[key]), 1e-5, `lstmSequence ${key}`);

      const layer = builtLstm({ units }, inputDim, w);
      assertClose(layer.apply(x, { initialState: [h0, c0] }) as tf.Tensor, seq.h, 1e-5, 'layer (sequences)');
      const last = builtLstm({ units, returnSequences: false }, inputDim, w);
      assertClose(last.apply(x, { initialState: [h0, c0] }) as tf.Tensor, lastStep(seq.h), 1e-5, 'layer (last step)');
      // without an initial state: zeros
      const fromZero = lstmSequence(x, w);
      const zeroRef = referenceLstm(x.arraySync(), w.kernel.arraySync(), w.recurrentKernel.arraySync(), w.bias.arraySync());
      assertClose(fromZero.h, tf.tensor(zeroRef.h), 1e-5, 'lstmSequence, zero state');
      assertClose(layer.apply(x) as tf.Tensor, fromZero.h, 1e-5, 'layer, zero state');
      const read = layer.gates(x);
      for (const key of ['h', 'c', 'i', 'f', 'g', 'o'] as const) assertClose(read[key], fromZero[key], 0, `gates() ${key}`);
      assert.deepEqual(layer.lstmWeights().kernel.shape, [inputDim, 4 * units]);

      // chaining lstmStep by hand reproduces every gate of every step
      let [h, c] = [h0, c0];
      for (let t = 0; t < time; t++) {
        const xt = x.slice([0, t, 0], [batch, 1, inputDim]).reshape([batch, inputDim]) as tf.Tensor2D;
        const step = lstmStep(xt, h, c, w);
        const at = (s: tf.Tensor3D) => s.slice([0, t, 0], [batch, 1, units]).reshape([batch, units]);
        for (const key of ['h', 'c', 'i', 'f', 'g', 'o'] as const) assertClose(step[key], at(seq[key]), 1e-6, `step ${t} ${key}`);
        [h, c] = [step.h, step.c];
      }
    });
  }
});

describe('gradients: the layer (native graphs, hand-written backward pass) equals the plain equations', () => {
  const shapes = { batch: 3, inputDim: 5, units: 4 };
  const SEED = 17;

  // loss = sum(coeff * output) for the layer and for lstmByOps, from the same weights, masks and initial
  // state; returns the loss's and every gradient's max |difference| relative to its largest entry.
  // `call` 1 compares the layer's SECOND training call (its mask counter then starts after the first call's masks).
  function compare(args: {
    returnSequences: boolean;
    time: number;
    dropout: number;
    recurrentDropout: number;
    initialState: boolean;
    call?: 0 | 1;
  }) {
    const { batch, inputDim, units } = shapes;
    const { returnSequences, time, dropout, recurrentDropout, initialState } = args;
    const w = randomLstmWeights(inputDim, units, 90);
    const layer = builtLstm({ units, returnSequences, dropout, recurrentDropout, seed: SEED }, inputDim, w);
    const x = tf.variable(rand([batch, time, inputDim], 91)) as tf.Variable<tf.Rank.R3>;
    const h0 = tf.variable(rand([batch, units], 92, 0.9)) as tf.Variable<tf.Rank.R2>;
    const c0 = tf.variable(rand([batch, units], 93, 1.5)) as tf.Variable<tf.Rank.R2>;
    const coeff = rand(returnSequences ? [batch, time, units] : [batch, units], 94);
    const weights = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const training = dropout > 0 || recurrentDropout > 0;
    let k = 0;
    if (args.call === 1) {
      tf.dispose(layer.apply(x, { training: true }) as tf.Tensor); // the first call: draws (and uses up) its masks
      k = layerMasks(SEED, 0, shapes, dropout, recurrentDropout).next;
    }
    const masks = training ? layerMasks(SEED, k, shapes, dropout, recurrentDropout).masks : NO_MASKS;
    const kwargs = initialState ? { training, initialState: [h0, c0] } : { training };
    const variables = initialState ? [...weights, x, h0, c0] : [...weights, x];
    const names = ['kernel', 'recurrentKernel', 'bias', 'x', 'h0', 'c0'];
    const fast = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, kwargs) as tf.Tensor, coeff)) as tf.Scalar, variables);
    const reference = tf.variableGrads(() => {
      const start = initialState ? [h0, c0] : [tf.zeros([batch, units]), tf.zeros([batch, units])];
      const hs = lstmByOps(x, layer.lstmWeights(), start[0] as tf.Tensor2D, start[1] as tf.Tensor2D, masks).h;
      return tf.sum(tf.mul(returnSequences ? hs : lastStep(hs), coeff)) as tf.Scalar;
    }, variables);
    const grads = variables.map((v, i) => [names[i], relativeDiff(fast.grads[v.name], reference.grads[v.name])] as const);
    // the dropout-free loss, to show the masks made a difference
    const plain = tf.tidy(() => {
      const start = initialState ? [h0, c0] : [tf.zeros([batch, units]), tf.zeros([batch, units])];
      const hs = lstmByOps(x, layer.lstmWeights(), start[0] as tf.Tensor2D, start[1] as tf.Tensor2D).h;
      return tf.sum(tf.mul(returnSequences ? hs : lastStep(hs), coeff)).dataSync()[0];
    });
    return { loss: relativeDiff(fast.value, reference.value), grads, maskEffect: Math.abs(plain - reference.value.dataSync()[0]) };
  }

  const cases: Array<Parameters<typeof compare>[0]> = [
    { returnSequences: false, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: true },
    { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: false },
    { returnSequences: true, time: 1, dropout: 0, recurrentDropout: 0, initialState: true },
    { returnSequences: false, time: 5, dropout: 0, recurrentDropout: 0, initialState: false },
    // 70 = 64 + 4 + 2 and 133 = 64 + 64 + 4 + 1 steps: gradients cross the chunk boundaries
    { returnSequences: true, time: 70, dropout: 0.3, recurrentDropout: 0.3, initialState: true },
    { returnSequences: false, time: 70, dropout: 0.3, recurrentDropout: 0.3, initialState: true },
    { returnSequences: true, time: 70, dropout: 0, recurrentDropout: 0, initialState: false },
    { returnSequences: true, time: 133, dropout: 0.25, recurrentDropout: 0.25, initialState: true },
    // one side only: a rate of 0 (or 1) draws no mask and does not advance the seed counter
    { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0, initialState: true },
    { returnSequences: true, time: 6, dropout: 0, recurrentDropout: 0.3, initialState: true },
    { returnSequences: true, time: 6, dropout: 1, recurrentDropout: 0.3, initialState: true },
    // the second training call draws the next eight masks (seeds s+8 .. s+15)
    { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: true, call: 1 },
  ];
  for (const c of cases) {
    const name =
      `returnSequences = ${c.returnSequences}, ${c.time} steps, dropout ${c.dropout} / recurrent ${c.recurrentDropout}` +
      `${c.initialState ? ', initial (h0, c0)' : ''}${c.call ? ', second training call' : ''}: same loss and gradients`;
    test(name, () => {
      const { loss, grads, maskEffect } = compare(c);
      assert.ok(loss < 1e-5, `loss differs by ${loss} (relative)`);
      for (const [what, diff] of grads) assert.ok(diff < 1e-5, `d loss / d ${what} differs by ${diff} (relative to its largest entry)`);
      if (dropsWith(c.dropout) || dropsWith(c.recurrentDropout)) assert.ok(maskEffect > 1e-3, 'the masks changed nothing: test is vacuous');
    });
  }

  test('finite differences (float64) of the loss agree with the layer gradient of every weight, input and initial-state entry', () => {
    const [batch, time, inputDim, units, seed, rate] = [2, 5, 3, 2, 7, 0.3];
    const w = randomLstmWeights(inputDim, units, 95);
    const layer = builtLstm({ units, dropout: rate, recurrentDropout: rate, seed }, inputDim, w);
    const x = tf.variable(rand([batch, time, inputDim], 96)) as tf.Variable<tf.Rank.R3>;
    const h0 = tf.variable(rand([batch, units], 97, 0.9)) as tf.Variable<tf.Rank.R2>;
    const c0 = tf.variable(rand([batch, units], 98, 1.5)) as tf.Variable<tf.Rank.R2>;
    const coeff = rand([batch, time, units], 99);
    const [kernel, recurrentKernel, bias] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const { masks } = layerMasks(seed, 0, { batch, inputDim, units }, rate, rate);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(x, { training: true, initialState: [h0, c0] }) as tf.Tensor, coeff)) as tf.Scalar,
      [kernel, recurrentKernel, bias, x, h0, c0],
    );

    const params = {
      W: w.kernel.arraySync(),
      U: w.recurrentKernel.arraySync(),
      b: w.bias.arraySync(),
      x: x.arraySync() as Seq,
      h0: h0.arraySync(),
      c0: c0.arraySync(),
    };
    const masks64: Masks64 = {
      input: masks.input!.map((m) => m.arraySync()) as Four<Mat>,
      recurrent: masks.recurrent!.map((m) => m.arraySync()) as Four<Mat>,
    };
    const c = coeff.arraySync() as Seq;
    const loss = () => {
      const { h } = referenceLstm(params.x, params.W, params.U, params.b, params.h0, params.c0, masks64);
      return h.reduce((s, hb, n) => s + hb.reduce((s2, ht, t) => s2 + ht.reduce((s3, v, k) => s3 + v * c[n][t][k], 0), 0), 0);
    };
    assert.ok(Math.abs(value.dataSync()[0] - loss()) < 1e-5, 'forward loss differs from the float64 reference');

    const eps = 1e-6;
    const numericGrad = (target: unknown[]): number[] => {
      const out: number[] = [];
      const visit = (arr: unknown[]): void =>
        arr.forEach((v, i) => {
          if (Array.isArray(v)) return visit(v);
          const cell = arr as number[];
          const orig = cell[i];
          cell[i] = orig + eps;
          const plus = loss();
          cell[i] = orig - eps;
          const minus = loss();
          cell[i] = orig;
          out.push((plus - minus) / (2 * eps));
        });
      visit(target);
      return out;
    };
    const checks: Array<[string, tf.Variable, unknown[]]> = [
      ['kernel', kernel, params.W],
      ['recurrentKernel', recurrentKernel, params.U],
      ['bias', bias, params.b],
      ['x', x, params.x],
      ['h0', h0, params.h0],
      ['c0', c0, params.c0],
    ];
    for (const [name, variable, reference] of checks) {
      const analytic = flat(grads[variable.name]);
      const numeric = numericGrad(reference);
      assert.equal(analytic.length, numeric.length);
      assert.ok(
        numeric.some((g) => Math.abs(g) > 1e-2),
        `${name}: gradient is trivially small`,
      );
      numeric.forEach((g, i) => {
        assert.ok(Math.abs(analytic[i] - g) <= 2e-5 + 1e-4 * Math.abs(g), `${name}[${i}]: layer ${analytic[i]} vs numeric ${g}`);
      });
    }
  });

  test('model.fit trains the layer (with dropout on): loss falls, every weight moves', async () => {
    const x = rand([32, 6, 3], 50);
    const y = tf.sum(x, [1, 2]).greater(0).cast('float32').reshape([32, 1]); // "is the sum positive?"
    const model = tf.sequential({
      layers: [
        kerasLstm({ units: 8, inputShape: [6, 3], dropout: 0.1, recurrentDropout: 0.1, seed: 1 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
    const lstm = model.layers[0] as KerasLSTM;
    const before = lstm.getWeights().map((t) => t.clone());
    const history = await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
    const losses = history.history.loss as number[];
    assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss did not fall: ${losses[0]} -> ${losses[losses.length - 1]}`);
    lstm.getWeights().forEach((t, i) => assert.ok(maxAbsDiff(t, before[i]) > 1e-3, `weight ${i} did not change`));
  });
});

describe('dropout (Keras 2 semantics)', () => {
  // One step, 1 unit, 1 input, rate 0.5 (masks 0 or 2): each sample's output is a function of its four masks
  // (m_i, m_f, m_c, m_o), 16 combinations with distinct outputs; one shared mask could give only 2 of them.
  const gateW: Four<number> = [0.9, -1.1, 1.3, 0.7];
  const gateB: Four<number> = [0.1, 0.2, 0.3, -0.2];
  const c0Value = 1.2;
  const batch = 256;

  test('input side: four masks per sample, one per gate (i, f, c, o)', () => {
    // x = 1, h0 = 0, c0 = 1.2, U = 0: h1 = o tanh(f c0 + i g) with gate_g = act(m_g W_g + b_g)
    const layer = builtLstm({ units: 1, dropout: 0.5, seed: 21 }, 1, {
      kernel: tf.tensor2d([gateW]),
      recurrentKernel: tf.zeros([1, 4]) as tf.Tensor2D,
      bias: tf.tensor1d(gateB),
    });
    const expected = MASK_COMBOS.map(([mi, mf, mc, mo]) => {
      const c = sigmoid(mf * gateW[1] + gateB[1]) * c0Value + sigmoid(mi * gateW[0] + gateB[0]) * Math.tanh(mc * gateW[2] + gateB[2]);
      return sigmoid(mo * gateW[3] + gateB[3]) * Math.tanh(c);
    });
    assert.ok(minPairwiseGap(expected.map((v) => [v])) > 1e-3, 'the combinations are not distinguishable: test is vacuous');
    const h = flat(
      layer.apply(tf.ones([batch, 1, 1]), {
        training: true,
        initialState: [tf.zeros([batch, 1]), tf.fill([batch, 1], c0Value)],
      }) as tf.Tensor,
    );
    const found = h.map((v) => expected.findIndex((e) => Math.abs(e - v) < 1e-5));
    assert.ok(!found.includes(-1), `an output matches no (m_i, m_f, m_c, m_o) combination: ${h[found.indexOf(-1)]}`);
    assert.equal(new Set(found).size, 16, `only combinations ${[...new Set(found)]} occurred: masks shared between gates or samples?`);
  });

  test('recurrent side: four masks per sample, one per gate, constant over time; c_t and h_t carried unmasked', () => {
    // x = 0, h0 = 1, c0 = 1.2, W = 0, U = gateW; 5 steps (chunks 4 + 1). Each sample must follow the float64
    // trajectory of one constant (m_i, m_f, m_c, m_o), with the masks only where h_{t-1} meets U.
    const time = 5;
    const layer = builtLstm({ units: 1, recurrentDropout: 0.5, seed: 22 }, 1, {
      kernel: tf.zeros([1, 4]) as tf.Tensor2D,
      recurrentKernel: tf.tensor2d([gateW]),
      bias: tf.tensor1d(gateB),
    });
    const trajectory = ([mi, mf, mc, mo]: Four<number>) => {
      let [h, c] = [1, c0Value];
      return [...Array(time)].map(() => {
        const gi = sigmoid(mi * h * gateW[0] + gateB[0]);
        const gf = sigmoid(mf * h * gateW[1] + gateB[1]);
        const gc = Math.tanh(mc * h * gateW[2] + gateB[2]);
        const go = sigmoid(mo * h * gateW[3] + gateB[3]);
        c = gf * c + gi * gc;
        h = go * Math.tanh(c);
        return h;
      });
    };
    const expected = MASK_COMBOS.map(trajectory);
    assert.ok(minPairwiseGap(expected) > 1e-3, 'the trajectories are not distinguishable: test is vacuous');
    const rows = (
      layer.apply(tf.zeros([batch, time, 1]), {
        training: true,
        initialState: [tf.ones([batch, 1]), tf.fill([batch, 1], c0Value)],
      }) as tf.Tensor
    )
      .reshape([batch, time])
      .arraySync() as Mat;
    const found = rows.map((row) => expected.findIndex((e) => e.every((v, t) => Math.abs(v - row[t]) < 1e-5)));
    assert.ok(!found.includes(-1), `sample ${found.indexOf(-1)} follows no constant-mask trajectory: ${rows[found.indexOf(-1)]}`);
    assert.equal(new Set(found).size, 16, `only combinations ${[...new Set(found)]} occurred: masks shared between gates or samples?`);
  });

  test('input masks are constant over time, across the chunks of a 70-step sequence', () => {
    // forget gate shut (b_f = -30), U = 0: c_t = i g and h_t = o tanh(i g), functions of x_t * m only;
    // x_t is the same at every step, so h_t is constant over time iff the masks are.
    const [n, time, inputDim, units] = [24, 70, 3, 2];
    const bias = tf.tensor1d([...Array(units).fill(0), ...Array(units).fill(-30), ...Array(2 * units).fill(0.2)]);
    const layer = builtLstm({ units, dropout: 0.5, seed: 23 }, inputDim, {
      kernel: rand([inputDim, 4 * units], 60) as tf.Tensor2D,
      recurrentKernel: tf.zeros([units, 4 * units]) as tf.Tensor2D,
      bias,
    });
    const v = rand([n, 1, inputDim], 61);
    const h = layer.apply(tf.tile(v, [1, time, 1]), { training: true }) as tf.Tensor3D;
    const first = h.slice([0, 0, 0], [n, 1, units]);
    assertClose(h, tf.tile(first, [1, time, 1]), 1e-6, 'h_t changes over time: masks redrawn per step or per chunk?');
    assert.ok(maxAbsDiff(first, layer.apply(v) as tf.Tensor) > 1e-3, 'no dropout happened');
  });

  test('the cell state is never masked: forget gate open, input gate shut, output gate open give h_t = tanh(c_0) for 70 steps', () => {
    // b_i = -30, b_f = +30, b_o = +30 (|x W + h U| stays below 8 even with masks of 2): c_t = c_{t-1} = c_0 and
    // h_t = tanh(c_0) exactly, in training with dropout on both sides. Masking c (or h) as carried state would
    // scale c_0 by 2 at every step for a kept unit, and tanh(c) would go to +-1.
    const [n, time, inputDim, units] = [8, 70, 2, 3];
    const bias = tf.tensor1d([...Array(units).fill(-30), ...Array(units).fill(30), ...Array(units).fill(0), ...Array(units).fill(30)]);
    const layer = builtLstm({ units, dropout: 0.5, recurrentDropout: 0.5, seed: 24 }, inputDim, {
      kernel: rand([inputDim, 4 * units], 62, 0.8) as tf.Tensor2D,
      recurrentKernel: rand([units, 4 * units], 63, 0.8) as tf.Tensor2D,
      bias,
    });
    const c0 = rand([n, units], 64, 1.5) as tf.Tensor2D;
    const h = layer.apply(rand([n, time, inputDim], 65), { training: true, initialState: [tf.zeros([n, units]), c0] }) as tf.Tensor;
    assertClose(h, tf.tile(tf.tanh(c0).expandDims(1), [1, time, 1]), 1e-5, 'h_t drifted from tanh(c_0): is c_t masked?');
  });

  test('only in training: inference is deterministic and dropout-free; masks redrawn per call; seeds reproduce them', () => {
    const [inputDim, units] = [4, 3];
    const w = randomLstmWeights(inputDim, units, 70);
    const x = rand([6, 5, inputDim], 71) as tf.Tensor3D;
    const make = (seed: number | null) => builtLstm({ units, dropout: 0.3, recurrentDropout: 0.3, seed }, inputDim, w);
    const layer = make(9);

    const inference = layer.apply(x) as tf.Tensor;
    assertClose(layer.apply(x, { training: false }) as tf.Tensor, inference, 0, 'inference not deterministic');
    assertClose(inference, lstmSequence(x, w).h, 1e-5, 'inference should equal the dropout-free LSTM');

    const train1 = layer.apply(x, { training: true }) as tf.Tensor;
    const train2 = layer.apply(x, { training: true }) as tf.Tensor;
    assert.ok(maxAbsDiff(train1, inference) > 1e-3, 'training output equals inference output');
    assert.ok(maxAbsDiff(train1, train2) > 1e-3, 'masks were not redrawn between calls');

    // a fresh layer with the same seed replays the same masks; another seed does not; no seed: unseeded
    assertClose(make(9).apply(x, { training: true }) as tf.Tensor, train1, 0, 'same seed, different masks');
    assert.ok(maxAbsDiff(make(10).apply(x, { training: true }) as tf.Tensor, train1) > 1e-3, 'seed ignored');
    const [u1, u2] = [make(null), make(null)].map((l) => l.apply(x, { training: true }) as tf.Tensor);
    assert.ok(maxAbsDiff(u1, u2) > 1e-3, 'two unseeded layers drew the same masks');
  });
});

describe('Keras compatibility: parameters and initial weights', () => {
  test('Embedding(10000,128) -> KerasLSTM(128) -> Dense(1) has 1,411,713 parameters; the layer 131,584', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10000, outputDim: 128, inputShape: [null] }),
        kerasLstm({ units: 128 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    const lstm = model.layers[1] as KerasLSTM;
    assert.equal(lstm.countParams(), 4 * (128 * 128 + 128 * 128 + 128));
    assert.equal(lstm.countParams(), 131584);
    assert.deepEqual(
      lstm.getWeights().map((t) => t.shape),
      [[128, 512], [128, 512], [512]],
    );
    assert.deepEqual(
      lstm.weights.map((v) => v.originalName.split('/').pop()),
      ['kernel', 'recurrent_kernel', 'bias'],
    );
    assert.equal(model.countParams(), 1411713);
    assert.equal(paramCount('kerasLstm', 128, 128), 131584);
    model.dispose();
  });

  test("buildModel({ rnn: 'kerasLstm' }): KerasLSTM(128, dropout 0.2, recurrent dropout 0.2), 1,411,713 parameters", () => {
    const model = buildModel({ rnn: 'kerasLstm', maxLen: 12 });
    const layer = recurrentLayerOf(model);
    assert.ok(layer instanceof KerasLSTM, `the recurrent layer is ${layer.getClassName()}`);
    const config = layer.getConfig();
    assert.deepEqual([config.units, config.dropout, config.recurrentDropout], [128, 0.2, 0.2]);
    assert.equal(model.countParams(), 1411713);
    assert.equal(layer.countParams(), paramCount('kerasLstm', 128, 128));
    const p = model.predict(tf.zeros([2, 12], 'int32')) as tf.Tensor;
    assert.deepEqual(p.shape, [2, 1]);
    model.dispose();
  });

  test('default initialisers: glorot-uniform kernel, orthogonal recurrent kernel (orthonormal rows), bias 1 on the forget block only', () => {
    const [inputDim, units] = [16, 16];
    const layer = kerasLstm({ units });
    layer.build([null, null, inputDim]);
    const [kernel, recurrentKernel, bias] = layer.getWeights();

    // glorot uniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)), variance limit^2 / 3
    const limit = Math.sqrt(6 / (inputDim + 4 * units));
    const k = flat(kernel);
    assert.ok(
      k.every((v) => Math.abs(v) <= limit + 1e-7),
      'kernel exceeds the glorot-uniform limit',
    );
    assert.ok(Math.max(...k.map(Math.abs)) > 0.95 * limit, 'kernel does not fill the glorot-uniform range');
    const variance = k.reduce((s, v) => s + v * v, 0) / k.length;
    assert.ok(Math.abs(variance / ((limit * limit) / 3) - 1) < 0.15, `kernel variance ${variance}`);

    // Keras's Orthogonal on [units, 4*units] gives orthonormal ROWS: U U^T = I
    assert.deepEqual(recurrentKernel.shape, [units, 4 * units]);
    assertClose(tf.matMul(recurrentKernel, recurrentKernel, false, true), tf.eye(units), 1e-5, 'recurrent kernel rows are not orthonormal');

    // unit_forget_bias (default on): blocks i | f | c | o = 0 | 1 | 0 | 0
    const expected = [...Array(units).fill(0), ...Array(units).fill(1), ...Array(2 * units).fill(0)];
    assert.deepEqual(flat(bias), expected);
    assert.equal(layer.getConfig().unitForgetBias, true);
  });

  test('unitForgetBias: false leaves the bias all zeros', () => {
    const layer = kerasLstm({ units: 5, unitForgetBias: false });
    layer.build([null, null, 3]);
    assert.deepEqual(flat(layer.getWeights()[2]), Array(20).fill(0));
    assert.equal(layer.getConfig().unitForgetBias, false);
  });
});

describe('saving and loading', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  for (const [returnSequences, unitForgetBias] of [
    [false, true],
    [true, false],
  ]) {
    test(`returnSequences = ${returnSequences}, unitForgetBias = ${unitForgetBias}: file:// round trip through loadModel keeps predictions and config`, async () => {
      const model = tf.sequential({
        layers: [
          kerasLstm({ units: 4, inputShape: [5, 3], returnSequences, unitForgetBias, dropout: 0.2, recurrentDropout: 0.1, seed: 3 }),
          tf.layers.dense({ units: 1, activation: 'sigmoid' }), // per timestep when returnSequences
        ],
      });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-test-'));
      dirs.push(dir);
      await model.save(`file://${dir}`);
      const loaded = await loadModel(dir);

      const x = rand([7, 5, 3], 80);
      assert.deepEqual(flat(loaded.predict(x) as tf.Tensor), flat(model.predict(x) as tf.Tensor));
      const [original, restored] = [model.layers[0], loaded.layers[0]];
      assert.ok(original instanceof KerasLSTM && restored instanceof KerasLSTM, `restored as ${restored.getClassName()}`);
      const config = restored.getConfig();
      const settings = ['units', 'dropout', 'recurrentDropout', 'returnSequences', 'seed', 'unitForgetBias'].map((key) => config[key]);
      assert.deepEqual(settings, [4, 0.2, 0.1, returnSequences, 3, unitForgetBias]);
      assert.deepEqual(restored.getConfig(), original.getConfig());
      assert.deepEqual(loaded.getConfig(), model.getConfig());
      restored.getWeights().forEach((t, i) => assert.deepEqual(flat(t), flat(original.getWeights()[i]), `weight ${i}`));
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      assert.equal(json.modelTopology.config.layers[0].class_name, 'KerasLSTM');
    });
  }
});

describe('bad input gets a clear error', () => {
  const [batch, time, inputDim, units] = [2, 3, 4, 5];
  const x = rand([batch, time, inputDim], 1) as tf.Tensor3D;
  const good = randomLstmWeights(inputDim, units, 2);
  // the message names the offending tensor and the shape it was given
  const shaped = (name: string, shape: number[]) => new RegExp(`${name}[^]*${shape.join(',\\s*')}`);

  test('weights of the wrong shape (e.g. a GRU layout) name the weight and its shape', () => {
    const gruKernel = rand([inputDim, 3 * units], 3) as tf.Tensor2D;
    assert.throws(() => lstmSequence(x, { ...good, kernel: gruKernel }), shaped('kernel', [inputDim, 3 * units]));
    const wrongRows = rand([inputDim + 1, 4 * units], 3) as tf.Tensor2D;
    assert.throws(() => lstmSequence(x, { ...good, kernel: wrongRows }), shaped('kernel', [inputDim + 1, 4 * units]));
    const gruRecurrent = rand([units, 3 * units], 4) as tf.Tensor2D;
    assert.throws(() => lstmSequence(x, { ...good, recurrentKernel: gruRecurrent }), shaped('recurrentKernel', [units, 3 * units]));
    const twoRowBias = rand([2, 4 * units], 5) as unknown as tf.Tensor1D;
    assert.throws(() => lstmSequence(x, { ...good, bias: twoRowBias }), shaped('bias', [2, 4 * units]));
    const shortBias = rand([3 * units], 5) as tf.Tensor1D;
    assert.throws(() => lstmSequence(x, { ...good, bias: shortBias }), shaped('bias', [3 * units]));
    assert.throws(
      () =>
        lstmStep(
          x.slice([0, 0, 0], [batch, 1, inputDim]).reshape([batch, inputDim]) as tf.Tensor2D,
          tf.zeros([batch, units]) as tf.Tensor2D,
          tf.zeros([batch, units]) as tf.Tensor2D,
          { ...good, kernel: gruKernel },
        ),
      shaped('kernel', [inputDim, 3 * units]),
    );
  });

  test('x of the wrong rank and initial states of the wrong shape are named', () => {
    const x2 = rand([batch, inputDim], 6) as unknown as tf.Tensor3D;
    assert.throws(() => lstmSequence(x2, good), shaped('x', [batch, inputDim]));
    const h0 = tf.zeros([batch, units]) as tf.Tensor2D;
    const badC0 = tf.zeros([batch, units + 1]) as tf.Tensor2D;
    assert.throws(() => lstmSequence(x, good, { initialState: [h0, badC0] }), shaped('initialState', [batch, units + 1]));
    const layer = builtLstm({ units }, inputDim, good);
    assert.throws(() => layer.apply(x, { initialState: [h0, badC0] }), shaped('initialState', [batch, units + 1]));
    assert.throws(() => kerasLstm({ units: 0 }), /units/);
  });
});

describe('no leaks', () => {
  test('one set of graphs serves any batch size; model.predict and training leave no tensors behind', async () => {
    const time = 70; // chunks 64 + 4 + 2
    const model = tf.sequential({
      layers: [kerasLstm({ units: 6, inputShape: [time, 4], dropout: 0.2, recurrentDropout: 0.2, seed: 2 }), tf.layers.dense({ units: 1 })],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const batches = [2, 7, 1].map((n, i) => [rand([n, time, 4], 100 + i), rand([n, 1], 110 + i)] as const);
    for (const [x, y] of batches) await model.trainOnBatch(x, y); // first calls build the graphs
    const before = tf.memory().numTensors;
    for (const [x, y] of batches) {
      await model.trainOnBatch(x, y);
      tf.dispose(model.predict(x) as tf.Tensor);
    }
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const lstm = model.layers[0] as KerasLSTM;
    const x = batches[1][0] as tf.Tensor3D;
    assertClose(lstm.apply(x) as tf.Tensor, lastStep(lstmSequence(x, lstm.lstmWeights()).h), 1e-5, 'batch of 7 after training');
  });
});
