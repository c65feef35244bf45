// The course's simple RNN (lib/cells/simple-rnn.ts): simpleRnnStep / simpleRnnSequence and the layer KerasSimpleRNN
// (native graphs, hand-written backward pass) against references written here from the equation: a float64
// loop (hand-worked numbers, finite differences), plain tfjs ops differentiated by autodiff (gradients, with
// Keras 2's dropout masks), and tf.layers.simpleRNN.
//
//   kernel W [D, u], recurrentKernel U [u, u], bias b [u]:   h_t = tanh(x_t W + b + h_{t-1} U)
// Dropout (Keras 2 SimpleRNNCell): per training call ONE input mask m^x [B, D] and ONE recurrent mask m^h [B, u],
// constant over time: h_t = tanh((x_t * m^x) W + b + (h_{t-1} * m^h) U); the carried h_t is never masked.
// Mask k of a layer with seed s is dropoutMask(shape, rate, s + k), k counting from 0 over the layer's life in
// the order input, recurrent; a side with rate 0 (or >= 1) draws none.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { dropoutMask } from '../../lib/engine/dropout';
import { KerasSimpleRNN, kerasSimpleRnn, simpleRnnSequence, simpleRnnStep, type SimpleRnnWeights } from '../../lib/cells/simple-rnn';
import { buildModel, loadModel, recurrentLayerOf } from '../../lib/training/model';
import { paramCount } from '../../lib/cells/layer-kinds';
import { assertClose, flat, maxAbsDiff, rand } from './gru-helpers';

// ---------------------------------------------------------------------------
// Helpers and references

type Vec = number[];
type Mat = number[][];
type Seq = number[][][]; // [batch][time][feature]

function randomRnnWeights(inputDim: number, units: number, seed: number): SimpleRnnWeights {
  return {
    kernel: rand([inputDim, units], seed, 0.8) as tf.Tensor2D,
    recurrentKernel: rand([units, units], seed + 1, 0.8) as tf.Tensor2D,
    bias: rand([units], seed + 2, 0.5) as tf.Tensor1D,
  };
}

function weightList(w: SimpleRnnWeights): tf.Tensor[] {
  return [w.kernel, w.recurrentKernel, w.bias];
}

type LayerOptions = { units: number; returnSequences?: boolean; dropout?: number; recurrentDropout?: number; seed?: number | null };

/** A KerasSimpleRNN built for inputs [*, time, inputDim] (returnSequences unless told), with the given weights. */
function builtRnn(args: LayerOptions, inputDim: number, weights?: SimpleRnnWeights): KerasSimpleRNN {
  const layer = kerasSimpleRnn({ returnSequences: true, ...args });
  layer.build([null, null, inputDim]);
  if (weights) layer.setWeights(weightList(weights));
  return layer;
}

// float64 masks, [batch][dim], or null (no dropout on that side)
type Masks64 = { input: Mat | null; recurrent: Mat | null };

/** The simple RNN in float64 JavaScript loops, masks applied only where x_t and h_{t-1} enter the products. */
function referenceRnn(x: Seq, W: Mat, U: Mat, b: Vec, h0?: Mat, masks: Masks64 = { input: null, recurrent: null }): Seq {
  const units = U.length;
  return x.map((xs, n) => {
    let h = h0 ? [...h0[n]] : new Array<number>(units).fill(0);
    return xs.map((xt) => {
      h = h.map((_, k) => {
        let s = b[k];
        xt.forEach((xj, j) => (s += xj * (masks.input ? masks.input[n][j] : 1) * W[j][k]));
        h.forEach((hj, j) => (s += hj * (masks.recurrent ? masks.recurrent[n][j] : 1) * U[j][k]));
        return Math.tanh(s);
      });
      return h;
    });
  });
}

type TfMasks = { input: tf.Tensor2D | null; recurrent: tf.Tensor2D | null };
const NO_MASKS: TfMasks = { input: null, recurrent: null };

/** The simple RNN in plain tfjs ops, differentiable by tfjs's autodiff: the yardstick for KerasSimpleRNN.call. */
function rnnByOps(x: tf.Tensor3D, w: SimpleRnnWeights, h0: tf.Tensor2D, masks: TfMasks = NO_MASKS): tf.Tensor3D {
  const [batch, time, inputDim] = x.shape;
  let h: tf.Tensor = h0;
  const hs: tf.Tensor[] = [];
  for (let t = 0; t < time; t++) {
    const xt = x.slice([0, t, 0], [batch, 1, inputDim]).reshape([batch, inputDim]); // (tf.unstack's gradient fails for 1 step)
    const xIn = masks.input ? xt.mul(masks.input) : xt;
    const hIn = masks.recurrent ? h.mul(masks.recurrent) : h;
    h = tf.tanh(tf.matMul(xIn, w.kernel).add(w.bias).add(tf.matMul(hIn, w.recurrentKernel)));
    hs.push(h);
  }
  return tf.stack(hs, 1) as tf.Tensor3D;
}

const dropsWith = (rate: number) => rate > 0 && rate < 1;

/** The masks a layer with this seed draws in one training call, its counter at `k`: input, then recurrent. */
function layerMasks(
  seed: number,
  k: number,
  shapes: { batch: number; inputDim: number; units: number },
  dropout: number,
  recurrentDropout: number,
) {
  const input = dropsWith(dropout) ? dropoutMask([shapes.batch, shapes.inputDim], dropout, seed + k++) : null;
  const recurrent = dropsWith(recurrentDropout) ? dropoutMask([shapes.batch, shapes.units], recurrentDropout, seed + k++) : null;
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

// ---------------------------------------------------------------------------

describe('hand-worked example (1 unit, 2 steps)', () => {
  //   kernel [[0.5]], recurrentKernel [[-2]], bias [0.1]; x_1 = 1, x_2 = -1, h_0 = 0
  //   h1 = tanh(0.5*1 + 0.1 + (-2)*0)             = tanh(0.6)           = 0.5370495670
  //   h2 = tanh(0.5*(-1) + 0.1 + (-2)*0.5370495670) = tanh(-1.4740991340) = -0.9003565289
  const weights: SimpleRnnWeights = { kernel: tf.tensor2d([[0.5]]), recurrentKernel: tf.tensor2d([[-2]]), bias: tf.tensor1d([0.1]) };
  const x = tf.tensor3d([[[1], [-1]]]);

  test('simpleRnnSequence, simpleRnnStep and the layer give h of both steps', () => {
    assertClose(simpleRnnSequence(x, weights), [0.537049567, -0.9003565289], 1e-6, 'simpleRnnSequence');
    const zero = tf.zeros([1, 1]) as tf.Tensor2D;
    assertClose(simpleRnnSequence(x, weights, { initialState: zero }), [0.537049567, -0.9003565289], 1e-6, 'explicit zero state');
    assertClose(simpleRnnStep(tf.tensor2d([[1]]), zero, weights), [0.537049567], 1e-6, 'simpleRnnStep, step 1');
    assertClose(simpleRnnStep(tf.tensor2d([[-1]]), tf.tensor2d([[0.537049567]]), weights), [-0.9003565289], 1e-6, 'simpleRnnStep, step 2');
    assertClose(builtRnn({ units: 1 }, 1, weights).apply(x) as tf.Tensor, [0.537049567, -0.9003565289], 1e-6, 'layer, sequences');
    const last = builtRnn({ units: 1, returnSequences: false }, 1, weights).apply(x) as tf.Tensor;
    assert.deepEqual(last.shape, [1, 1]);
    assertClose(last, [-0.9003565289], 1e-6, 'layer, last step');
  });
});

describe('agreement: simpleRnnSequence, simpleRnnStep, KerasSimpleRNN, tf.layers.simpleRNN, float64 reference', () => {
  const [batch, inputDim, units] = [3, 4, 3];
  const h0 = rand([batch, units], 12, 0.9) as tf.Tensor2D;

  test('matches tf.layers.simpleRNN (same weights), with and without an initial state', () => {
    const x = rand([batch, 5, inputDim], 11) as tf.Tensor3D;
    const w = randomRnnWeights(inputDim, units, 20);
    const tfjsRnn = tf.layers.simpleRNN({ units, returnSequences: true });
    tfjsRnn.apply(x); // builds it
    tfjsRnn.setWeights(weightList(w));
    const ours = builtRnn({ units }, inputDim, w);
    for (const initialState of [undefined, h0]) {
      const what = initialState ? 'with h0' : 'zero state';
      const expected = tfjsRnn.apply(x, initialState ? { initialState: [initialState] } : {}) as tf.Tensor;
      assertClose(simpleRnnSequence(x, w, { initialState }), expected, 1e-5, `simpleRnnSequence vs tf.layers.simpleRNN, ${what}`);
      assertClose(
        ours.apply(x, initialState ? { initialState } : {}) as tf.Tensor,
        expected,
        1e-5,
        `KerasSimpleRNN vs tf.layers.simpleRNN, ${what}`,
      );
    }
  });

  // 1 step, 5 = 4 + 1, 70 = 64 + 4 + 2 steps: the layer's chunks of the recurrence
  for (const time of [1, 5, 70]) {
    test(`${time} steps: the layer (all steps and last step), simpleRnnSequence and chained simpleRnnStep equal a float64 reference`, () => {
      const x = rand([batch, time, inputDim], 30 + time) as tf.Tensor3D;
      const w = randomRnnWeights(inputDim, units, 40);
      const [W, U, b] = [w.kernel.arraySync(), w.recurrentKernel.arraySync(), w.bias.arraySync()];
      const expected = tf.tensor(referenceRnn(x.arraySync(), W, U, b, h0.arraySync()));
      const seq = simpleRnnSequence(x, w, { initialState: h0 });
      assertClose(seq, expected, 1e-5, 'simpleRnnSequence');
      const layer = builtRnn({ units }, inputDim, w);
      assertClose(layer.apply(x, { initialState: h0 }) as tf.Tensor, expected, 1e-5, 'layer (sequences)');
      const last = builtRnn({ units, returnSequences: false }, inputDim, w);
      assertClose(last.apply(x, { initialState: h0 }) as tf.Tensor, lastStep(expected as tf.Tensor3D), 1e-5, 'layer (last step)');
      const fromZero = tf.tensor(referenceRnn(x.arraySync(), W, U, b));
      assertClose(simpleRnnSequence(x, w), fromZero, 1e-5, 'simpleRnnSequence, zero state');
      assertClose(layer.apply(x) as tf.Tensor, fromZero, 1e-5, 'layer, zero state');
      assert.deepEqual(layer.simpleRnnWeights().recurrentKernel.shape, [units, units]);

      let h = h0;
      for (let t = 0; t < time; t++) {
        const xt = x.slice([0, t, 0], [batch, 1, inputDim]).reshape([batch, inputDim]) as tf.Tensor2D;
        h = simpleRnnStep(xt, h, w);
        assertClose(h, seq.slice([0, t, 0], [batch, 1, units]).reshape([batch, units]), 1e-6, `step ${t}`);
      }
    });
  }
});

describe('gradients: the layer (native graphs, hand-written backward pass) equals the plain equation', () => {
  const shapes = { batch: 3, inputDim: 5, units: 4 };
  const SEED = 17;

  // loss = sum(coeff * output) for the layer and for rnnByOps, from the same weights, masks and initial state;
  // returns the loss's and every gradient's max |difference| relative to its largest entry.
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
    const w = randomRnnWeights(inputDim, units, 90);
    const layer = builtRnn({ units, returnSequences, dropout, recurrentDropout, seed: SEED }, inputDim, w);
    const x = tf.variable(rand([batch, time, inputDim], 91)) as tf.Variable<tf.Rank.R3>;
    const h0 = tf.variable(rand([batch, units], 92, 0.9)) as tf.Variable<tf.Rank.R2>;
    const coeff = rand(returnSequences ? [batch, time, units] : [batch, units], 94);
    const weights = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const training = dropout > 0 || recurrentDropout > 0;
    let k = 0;
    if (args.call === 1) {
      tf.dispose(layer.apply(x, { training: true }) as tf.Tensor); // the first call: draws (and uses up) its masks
      k = layerMasks(SEED, 0, shapes, dropout, recurrentDropout).next;
    }
    const masks = training ? layerMasks(SEED, k, shapes, dropout, recurrentDropout).masks : NO_MASKS;
    const kwargs = initialState ? { training, initialState: h0 } : { training };
    const variables = initialState ? [...weights, x, h0] : [...weights, x];
    const names = ['kernel', 'recurrentKernel', 'bias', 'x', 'h0'];
    const referenceLoss = (m: TfMasks) => {
      const hs = rnnByOps(x, layer.simpleRnnWeights(), initialState ? h0 : (tf.zeros([batch, units]) as tf.Tensor2D), m);
      return tf.sum(tf.mul(returnSequences ? hs : lastStep(hs), coeff)) as tf.Scalar;
    };
    const fast = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, kwargs) as tf.Tensor, coeff)) as tf.Scalar, variables);
    const reference = tf.variableGrads(() => referenceLoss(masks), variables);
    const grads = variables.map((v, i) => [names[i], relativeDiff(fast.grads[v.name], reference.grads[v.name])] as const);
    const plain = tf.tidy(() => referenceLoss(NO_MASKS).dataSync()[0]); // the dropout-free loss
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
    // the second training call draws the next two masks (seeds s+2, s+3)
    { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: true, call: 1 },
  ];
  for (const c of cases) {
    const name =
      `returnSequences = ${c.returnSequences}, ${c.time} steps, dropout ${c.dropout} / recurrent ${c.recurrentDropout}` +
      `${c.initialState ? ', initial h0' : ''}${c.call ? ', second training call' : ''}: same loss and gradients`;
    test(name, () => {
      const { loss, grads, maskEffect } = compare(c);
      assert.ok(loss < 1e-5, `loss differs by ${loss} (relative)`);
      for (const [what, diff] of grads) assert.ok(diff < 1e-5, `d loss / d ${what} differs by ${diff} (relative to its largest entry)`);
      if (dropsWith(c.dropout) || dropsWith(c.recurrentDropout)) assert.ok(maskEffect > 1e-3, 'the masks changed nothing: test is vacuous');
    });
  }

  test('finite differences (float64) of the loss agree with the layer gradient of every weight, input and initial-state entry', () => {
    const [batch, time, inputDim, units, seed, rate] = [2, 5, 3, 3, 7, 0.3];
    const w = randomRnnWeights(inputDim, units, 95);
    const layer = builtRnn({ units, dropout: rate, recurrentDropout: rate, seed }, inputDim, w);
    const x = tf.variable(rand([batch, time, inputDim], 96)) as tf.Variable<tf.Rank.R3>;
    const h0 = tf.variable(rand([batch, units], 97, 0.9)) as tf.Variable<tf.Rank.R2>;
    const coeff = rand([batch, time, units], 99);
    const [kernel, recurrentKernel, bias] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const { masks } = layerMasks(seed, 0, { batch, inputDim, units }, rate, rate);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(x, { training: true, initialState: h0 }) as tf.Tensor, coeff)) as tf.Scalar,
      [kernel, recurrentKernel, bias, x, h0],
    );
    const params = {
      W: w.kernel.arraySync(),
      U: w.recurrentKernel.arraySync(),
      b: w.bias.arraySync(),
      x: x.arraySync() as Seq,
      h0: h0.arraySync(),
    };
    const masks64: Masks64 = { input: masks.input!.arraySync(), recurrent: masks.recurrent!.arraySync() };
    const c = coeff.arraySync() as Seq;
    const loss = () =>
      referenceRnn(params.x, params.W, params.U, params.b, params.h0, masks64).reduce(
        (s, hb, n) => s + hb.reduce((s2, ht, t) => s2 + ht.reduce((s3, v, k) => s3 + v * c[n][t][k], 0), 0),
        0,
      );
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
    // a dropped input entry gets exactly zero gradient (its mask is 0 at every step) (either sign of zero)
    const gx = grads[x.name].arraySync() as Seq;
    masks64.input!.forEach((row, n) => row.forEach((m, j) => m === 0 && gx[n].forEach((gt) => assert.equal(Math.abs(gt[j]), 0))));
    assert.ok(
      masks64.input!.flat().some((m) => m === 0),
      'no input entry was dropped: the zero-gradient check is vacuous',
    );
  });

  test('model.fit trains the layer (with dropout on): loss falls, every weight moves', async () => {
    const x = rand([32, 6, 3], 50);
    const y = tf.sum(x, [1, 2]).greater(0).cast('float32').reshape([32, 1]); // "is the sum positive?"
    const model = tf.sequential({
      layers: [
        kerasSimpleRnn({ units: 8, inputShape: [6, 3], dropout: 0.1, recurrentDropout: 0.1, seed: 1 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
    const rnn = model.layers[0] as KerasSimpleRNN;
    const before = rnn.getWeights().map((t) => t.clone());
    const history = await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
    const losses = history.history.loss as number[];
    assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss did not fall: ${losses[0]} -> ${losses[losses.length - 1]}`);
    rnn.getWeights().forEach((t, i) => assert.ok(maxAbsDiff(t, before[i]) > 1e-3, `weight ${i} did not change`));
  });
});

describe('dropout (Keras 2 semantics)', () => {
  test('input mask: one per sample, constant over time across the chunks of a 70-step sequence, entries 0 or 1/(1-rate)', () => {
    // U = 0 and x_t the same at every step: h_t = tanh((v * m) W + b) is constant over time iff the mask is
    const [batch, time, inputDim, units] = [24, 70, 3, 2];
    const W = rand([inputDim, units], 60) as tf.Tensor2D;
    const b = tf.tensor1d([0.1, -0.2]);
    const layer = builtRnn({ units, dropout: 0.5, seed: 3 }, inputDim, {
      kernel: W,
      recurrentKernel: tf.zeros([units, units]) as tf.Tensor2D,
      bias: b,
    });
    const v = rand([batch, 1, inputDim], 61);
    const h = layer.apply(tf.tile(v, [1, time, 1]), { training: true }) as tf.Tensor3D;
    const first = h.slice([0, 0, 0], [batch, 1, units]);
    assertClose(h, tf.tile(first, [1, time, 1]), 1e-6, 'h_t changes over time: mask redrawn per step or per chunk?');

    // each sample's h matches tanh((v * m) W + b) for some m in {0, 2}^inputDim; different samples, different masks
    const masks = [...Array(2 ** inputDim).keys()].map((bits) => [...Array(inputDim).keys()].map((i) => ((bits >> i) & 1) * 2));
    const vs = v.reshape([batch, inputDim]).arraySync() as Mat;
    const rows = first.reshape([batch, units]).arraySync() as Mat;
    const [Wa, ba] = [W.arraySync(), b.arraySync()];
    const used = new Set<number>();
    vs.forEach((vb, n) => {
      const hit = masks.findIndex((m) =>
        rows[n].every((val, k) => Math.abs(Math.tanh(vb.reduce((s, vi, i) => s + vi * m[i] * Wa[i][k], ba[k])) - val) < 1e-5),
      );
      assert.ok(hit >= 0, `sample ${n} is not explained by any {0, 2} mask`);
      used.add(hit);
    });
    assert.ok(used.size > 1, 'every sample got the same mask');
  });

  test('recurrent mask: one per sample, constant over time; the carried h_{t-1} is unmasked', () => {
    // units = 1, x = 0, h_0 = 1, U = 1.3, b = 0.2: h_t = tanh(m * h_{t-1} * 1.3 + 0.2) with a constant m in {0, 2}
    const [batch, time] = [48, 5];
    const layer = builtRnn({ units: 1, recurrentDropout: 0.5, seed: 5 }, 1, {
      kernel: tf.zeros([1, 1]) as tf.Tensor2D,
      recurrentKernel: tf.tensor2d([[1.3]]),
      bias: tf.tensor1d([0.2]),
    });
    const rows = (layer.apply(tf.zeros([batch, time, 1]), { training: true, initialState: tf.ones([batch, 1]) }) as tf.Tensor)
      .reshape([batch, time])
      .arraySync() as Mat;
    const trajectory = (m: number) => {
      let h = 1;
      return [...Array(time)].map(() => (h = Math.tanh(m * h * 1.3 + 0.2)));
    };
    const seen = new Set<number>();
    rows.forEach((row, n) => {
      const m = [0, 2].find((mask) => trajectory(mask).every((v, t) => Math.abs(v - row[t]) < 1e-5));
      assert.ok(m !== undefined, `sample ${n} follows no constant-mask trajectory: ${row}`);
      seen.add(m);
    });
    assert.equal(seen.size, 2, 'expected both kept and dropped samples');
  });

  test('only in training: inference is deterministic and dropout-free; masks redrawn per call; seeds reproduce them', () => {
    const [inputDim, units] = [4, 3];
    const w = randomRnnWeights(inputDim, units, 70);
    const x = rand([6, 5, inputDim], 71) as tf.Tensor3D;
    const make = (seed: number | null) => builtRnn({ units, dropout: 0.3, recurrentDropout: 0.3, seed }, inputDim, w);
    const layer = make(9);

    const inference = layer.apply(x) as tf.Tensor;
    assertClose(layer.apply(x, { training: false }) as tf.Tensor, inference, 0, 'inference not deterministic');
    assertClose(inference, simpleRnnSequence(x, w), 1e-5, 'inference should equal the dropout-free RNN');

    const train1 = layer.apply(x, { training: true }) as tf.Tensor;
    const train2 = layer.apply(x, { training: true }) as tf.Tensor;
    assert.ok(maxAbsDiff(train1, inference) > 1e-3, 'training output equals inference output');
    assert.ok(maxAbsDiff(train1, train2) > 1e-3, 'masks were not redrawn between calls');

    assertClose(make(9).apply(x, { training: true }) as tf.Tensor, train1, 0, 'same seed, different masks');
    assert.ok(maxAbsDiff(make(10).apply(x, { training: true }) as tf.Tensor, train1) > 1e-3, 'seed ignored');
    const [u1, u2] = [make(null), make(null)].map((l) => l.apply(x, { training: true }) as tf.Tensor);
    assert.ok(maxAbsDiff(u1, u2) > 1e-3, 'two unseeded layers drew the same masks');
  });
});

describe('Keras compatibility: parameters and initial weights', () => {
  test('Embedding(10000,128) -> KerasSimpleRNN(128) -> Dense(1) has 1,313,025 parameters; the layer 32,896', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10000, outputDim: 128, inputShape: [null] }),
        kerasSimpleRnn({ units: 128 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    const rnn = model.layers[1] as KerasSimpleRNN;
    assert.equal(rnn.countParams(), 128 * 128 + 128 * 128 + 128);
    assert.equal(rnn.countParams(), 32896);
    assert.deepEqual(
      rnn.getWeights().map((t) => t.shape),
      [[128, 128], [128, 128], [128]],
    );
    assert.deepEqual(
      rnn.weights.map((v) => v.originalName.split('/').pop()),
      ['kernel', 'recurrent_kernel', 'bias'],
    );
    assert.equal(model.countParams(), 1313025);
    assert.equal(paramCount('kerasSimpleRnn', 128, 128), 32896);
    model.dispose();
  });

  test("buildModel({ rnn: 'kerasSimpleRnn' }): KerasSimpleRNN(128, dropout 0.2, recurrent dropout 0.2), 1,313,025 parameters", () => {
    const model = buildModel({ rnn: 'kerasSimpleRnn', maxLen: 12 });
    const layer = recurrentLayerOf(model);
    assert.ok(layer instanceof KerasSimpleRNN, `the recurrent layer is ${layer.getClassName()}`);
    const config = layer.getConfig();
    assert.deepEqual([config.units, config.dropout, config.recurrentDropout], [128, 0.2, 0.2]);
    assert.equal(model.countParams(), 1313025);
    assert.equal(layer.countParams(), paramCount('kerasSimpleRnn', 128, 128));
    const p = model.predict(tf.zeros([2, 12], 'int32')) as tf.Tensor;
    assert.deepEqual(p.shape, [2, 1]);
    model.dispose();
  });

  test('default initialisers: glorot-uniform kernel, orthogonal recurrent kernel, zero bias', () => {
    const [inputDim, units] = [24, 40];
    const layer = kerasSimpleRnn({ units });
    layer.build([null, null, inputDim]);
    const [kernel, recurrentKernel, bias] = layer.getWeights();

    const limit = Math.sqrt(6 / (inputDim + units));
    const k = flat(kernel);
    assert.ok(
      k.every((v) => Math.abs(v) <= limit + 1e-7),
      'kernel exceeds the glorot-uniform limit',
    );
    assert.ok(Math.max(...k.map(Math.abs)) > 0.95 * limit, 'kernel does not fill the glorot-uniform range');
    const variance = k.reduce((s, v) => s + v * v, 0) / k.length;
    assert.ok(Math.abs(variance / ((limit * limit) / 3) - 1) < 0.15, `kernel variance ${variance}`);

    // square: orthonormal rows and columns
    assertClose(tf.matMul(recurrentKernel, recurrentKernel, false, true), tf.eye(units), 1e-5, 'U U^T is not I');
    assertClose(tf.matMul(recurrentKernel, recurrentKernel, true, false), tf.eye(units), 1e-5, 'U^T U is not I');
    assert.deepEqual(flat(bias), Array(units).fill(0));
  });
});

describe('saving and loading', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  for (const returnSequences of [false, true]) {
    test(`returnSequences = ${returnSequences}: file:// round trip through loadModel keeps predictions and config`, async () => {
      const model = tf.sequential({
        layers: [
          kerasSimpleRnn({ units: 4, inputShape: [5, 3], returnSequences, dropout: 0.2, recurrentDropout: 0.1, seed: 3 }),
          tf.layers.dense({ units: 1, activation: 'sigmoid' }), // per timestep when returnSequences
        ],
      });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simple-rnn-test-'));
      dirs.push(dir);
      await model.save(`file://${dir}`);
      const loaded = await loadModel(dir);

      const x = rand([7, 5, 3], 80);
      assert.deepEqual(flat(loaded.predict(x) as tf.Tensor), flat(model.predict(x) as tf.Tensor));
      const [original, restored] = [model.layers[0], loaded.layers[0]];
      assert.ok(original instanceof KerasSimpleRNN && restored instanceof KerasSimpleRNN, `restored as ${restored.getClassName()}`);
      const config = restored.getConfig();
      const settings = ['units', 'dropout', 'recurrentDropout', 'returnSequences', 'seed'].map((key) => config[key]);
      assert.deepEqual(settings, [4, 0.2, 0.1, returnSequences, 3]);
      assert.deepEqual(restored.getConfig(), original.getConfig());
      assert.deepEqual(loaded.getConfig(), model.getConfig());
      restored.getWeights().forEach((t, i) => assert.deepEqual(flat(t), flat(original.getWeights()[i]), `weight ${i}`));
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      assert.equal(json.modelTopology.config.layers[0].class_name, 'KerasSimpleRNN');
    });
  }
});

describe('bad input gets a clear error', () => {
  const [batch, time, inputDim, units] = [2, 3, 4, 5];
  const x = rand([batch, time, inputDim], 1) as tf.Tensor3D;
  const good = randomRnnWeights(inputDim, units, 2);
  // the message names the offending tensor and the shape it was given
  const shaped = (name: string, shape: number[]) => new RegExp(`${name}[^]*${shape.join(',\\s*')}`);

  test('weights of the wrong shape name the weight and its shape', () => {
    const gateKernel = rand([inputDim, 4 * units], 3) as tf.Tensor2D; // an LSTM's
    assert.throws(() => simpleRnnSequence(x, { ...good, kernel: gateKernel }), shaped('kernel', [inputDim, 4 * units]));
    const wrongRows = rand([inputDim + 1, units], 3) as tf.Tensor2D;
    assert.throws(() => simpleRnnSequence(x, { ...good, kernel: wrongRows }), shaped('kernel', [inputDim + 1, units]));
    const wideRecurrent = rand([units, 3 * units], 4) as tf.Tensor2D;
    assert.throws(() => simpleRnnSequence(x, { ...good, recurrentKernel: wideRecurrent }), shaped('recurrentKernel', [units, 3 * units]));
    const twoRowBias = rand([2, units], 5) as unknown as tf.Tensor1D;
    assert.throws(() => simpleRnnSequence(x, { ...good, bias: twoRowBias }), shaped('bias', [2, units]));
    const x2d = x.slice([0, 0, 0], [batch, 1, inputDim]).reshape([batch, inputDim]) as tf.Tensor2D;
    assert.throws(
      () => simpleRnnStep(x2d, tf.zeros([batch, units]) as tf.Tensor2D, { ...good, kernel: wrongRows }),
      shaped('kernel', [inputDim + 1, units]),
    );
  });

  test('x of the wrong rank and an initial state of the wrong shape are named', () => {
    const x2 = rand([batch, inputDim], 6) as unknown as tf.Tensor3D;
    assert.throws(() => simpleRnnSequence(x2, good), shaped('x', [batch, inputDim]));
    const badH0 = tf.zeros([batch, units + 1]) as tf.Tensor2D;
    assert.throws(() => simpleRnnSequence(x, good, { initialState: badH0 }), shaped('initialState', [batch, units + 1]));
    const layer = builtRnn({ units }, inputDim, good);
    assert.throws(() => layer.apply(x, { initialState: badH0 }), shaped('initialState', [batch, units + 1]));
    assert.throws(() => kerasSimpleRnn({ units: 0 }), /units/);
  });
});

describe('no leaks', () => {
  test('one set of graphs serves any batch size; model.predict and training leave no tensors behind', async () => {
    const time = 70; // chunks 64 + 4 + 2
    const model = tf.sequential({
      layers: [
        kerasSimpleRnn({ units: 6, inputShape: [time, 4], dropout: 0.2, recurrentDropout: 0.2, seed: 2 }),
        tf.layers.dense({ units: 1 }),
      ],
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
    const rnn = model.layers[0] as KerasSimpleRNN;
    const x = batches[1][0] as tf.Tensor3D;
    assertClose(rnn.apply(x) as tf.Tensor, lastStep(simpleRnnSequence(x, rnn.simpleRnnWeights())), 1e-5, 'batch of 7 after training');
  });
});
