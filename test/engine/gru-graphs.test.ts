// The native-graph GRU (lib/engine/gru-graphs.ts) against the plain equations: outputs and gradients,
// across chunk boundaries, with and without dropout, and no leaked tensors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { gruSequence, kerasGru, type FixedGates, type GruWeights, type KerasGRU, type PerGate } from '../../lib/cells/gru';
import { dropoutMask } from '../../lib/engine/dropout';
import { assertClose, builtLayer, maxAbsDiff, rand, randomWeights } from '../cells/gru-helpers';

describe('the layer (native graphs, hand-written backward pass) equals the plain equations', () => {
  // The GRU equations with Keras's per-gate dropout masks, written out in plain tfjs ops and
  // differentiated by tfjs's autodiff: the yardstick for KerasGRU.call. `fixed` holds a gate at 0 or 1.
  function referenceGru(
    x: tf.Tensor3D,
    w: GruWeights,
    resetAfter: boolean,
    h0: tf.Tensor2D,
    masks: { input: PerGate<tf.Tensor2D> | null; recurrent: PerGate<tf.Tensor2D> | null },
    fixed: FixedGates = {},
  ): tf.Tensor3D {
    const [Wz, Wr, Wh] = tf.split(w.kernel, 3, 1);
    const [Uz, Ur, Uh] = tf.split(w.recurrentKernel, 3, 1);
    const [bIn, bRec] = resetAfter ? tf.unstack(w.bias) : [w.bias, tf.zeros(w.bias.shape)];
    const [bz, br, bh] = tf.split(bIn, 3);
    const [rz, rr, rh] = tf.split(bRec, 3);
    let h: tf.Tensor = h0;
    const hs: tf.Tensor[] = [];
    const [batch, time, inputDim] = x.shape;
    for (let t = 0; t < time; t++) {
      const xt = x.slice([0, t, 0], [batch, 1, inputDim]).reshape([batch, inputDim]); // (tf.unstack's gradient fails for 1 step)
      const xg = (g: number) => (masks.input ? xt.mul(masks.input[g]) : xt);
      const hg = (g: number) => (masks.recurrent ? h.mul(masks.recurrent[g]) : h);
      const held = (value: number) => tf.fill([batch, h0.shape[1]], value);
      const z =
        fixed.update !== undefined
          ? held(fixed.update)
          : tf.sigmoid(
              tf
                .matMul(xg(0), Wz)
                .add(bz)
                .add(tf.matMul(hg(0), Uz))
                .add(rz),
            );
      const r =
        fixed.reset !== undefined
          ? held(fixed.reset)
          : tf.sigmoid(
              tf
                .matMul(xg(1), Wr)
                .add(br)
                .add(tf.matMul(hg(1), Ur))
                .add(rr),
            );
      const candidate = resetAfter
        ? tf.tanh(
            tf
              .matMul(xg(2), Wh)
              .add(bh)
              .add(r.mul(tf.matMul(hg(2), Uh).add(rh))),
          )
        : tf.tanh(
            tf
              .matMul(xg(2), Wh)
              .add(bh)
              .add(tf.matMul(r.mul(hg(2)), Uh)),
          );
      h = z.mul(h).add(tf.sub(1, z).mul(candidate));
      hs.push(h);
    }
    return tf.stack(hs, 1) as tf.Tensor3D;
  }

  // The masks a fresh layer with this seed draws on its first training call: input z, r, h, then recurrent z, r, h.
  function firstMasks(seed: number, batch: number, inputDim: number, units: number, rate: number) {
    const draw = (shape: [number, number], k: number) =>
      [0, 1, 2].map((g) => dropoutMask(shape, rate, seed + k + g)) as PerGate<tf.Tensor2D>;
    return { input: draw([batch, inputDim], 0), recurrent: draw([batch, units], 3) };
  }

  // loss = sum(coeff * output) for the layer and for the reference, from the same weights, masks and
  // initial state; returns max |difference| of the loss and of every gradient, relative to its scale.
  function compare(args: { resetAfter: boolean; returnSequences: boolean; time: number; dropout: number; fixedGates?: FixedGates }) {
    const [batch, inputDim, units, seed] = [3, 5, 4, 17];
    const { resetAfter, returnSequences, time, dropout, fixedGates } = args;
    const w = randomWeights(inputDim, units, resetAfter, 90);
    const layer = builtLayer({ units, resetAfter, returnSequences, dropout, recurrentDropout: dropout, seed, fixedGates }, inputDim, w);
    const x = tf.variable(rand([batch, time, inputDim], 91)) as tf.Variable<tf.Rank.R3>;
    const h0 = tf.variable(rand([batch, units], 92, 0.9)) as tf.Variable<tf.Rank.R2>;
    const coeff = rand(returnSequences ? [batch, time, units] : [batch, units], 93);
    const weights = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const training = dropout > 0;
    const masks = training ? firstMasks(seed, batch, inputDim, units, dropout) : { input: null, recurrent: null };
    const fast = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(x, { training, initialState: h0 }) as tf.Tensor, coeff)) as tf.Scalar,
      [...weights, x, h0],
    );
    const reference = tf.variableGrads(() => {
      const hs = referenceGru(x, layer.gruWeights(), resetAfter, h0, masks, fixedGates);
      const out = returnSequences ? hs : hs.slice([0, time - 1, 0], [batch, 1, units]).reshape([batch, units]);
      return tf.sum(tf.mul(out, coeff)) as tf.Scalar;
    }, [...weights, x, h0]);
    const relative = (a: tf.Tensor, b: tf.Tensor) =>
      maxAbsDiff(a, b) /
      Math.max(
        1e-3,
        tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]),
      );
    const grads = ['kernel', 'recurrentKernel', 'bias', 'x', 'h0'].map((name, i) => {
      const v = [...weights, x, h0][i];
      return [name, relative(fast.grads[v.name], reference.grads[v.name])] as const;
    });
    // the gradient of each held gate's blocks (z: columns 0..n-1, r: n..2n-1 of kernel, recurrentKernel, every bias row)
    const heldBlocks = (['update', 'reset'] as const).flatMap((gate, block) =>
      fixedGates?.[gate] === undefined
        ? []
        : weights.map((v, i) => {
            const g = fast.grads[v.name];
            const rows = g.rank === 1 ? g.reshape([1, -1]) : g;
            return [
              `${gate} block of ${['kernel', 'recurrentKernel', 'bias'][i]}`,
              tf.tidy(() => tf.max(tf.abs(rows.slice([0, block * units], [rows.shape[0], units]))).dataSync()[0]),
            ] as const;
          }),
    );
    return { loss: relative(fast.value, reference.value), grads, heldBlocks };
  }

  const cases: Array<Parameters<typeof compare>[0]> = [
    { resetAfter: true, returnSequences: false, time: 6, dropout: 0.3 },
    { resetAfter: false, returnSequences: true, time: 6, dropout: 0.3 },
    { resetAfter: true, returnSequences: true, time: 1, dropout: 0 },
    { resetAfter: false, returnSequences: false, time: 3, dropout: 0 },
    // 133 = 128 + 4 + 1 steps: three chunk graphs, so gradients cross chunk boundaries
    { resetAfter: true, returnSequences: true, time: 133, dropout: 0.3 },
    { resetAfter: false, returnSequences: false, time: 133, dropout: 0.3 },
    // gates held at 0 or 1: the graphs use the constant; the backward pass is the same code (see test/cells/gru.test.ts too)
    { resetAfter: true, returnSequences: false, time: 133, dropout: 0.3, fixedGates: { reset: 1 } },
    { resetAfter: true, returnSequences: true, time: 6, dropout: 0, fixedGates: { update: 0 } },
    { resetAfter: false, returnSequences: true, time: 133, dropout: 0.3, fixedGates: { reset: 1 } },
    { resetAfter: false, returnSequences: false, time: 6, dropout: 0.3, fixedGates: { update: 0, reset: 0 } },
    { resetAfter: true, returnSequences: true, time: 6, dropout: 0.3, fixedGates: { update: 1 } },
  ];
  for (const c of cases) {
    const held = c.fixedGates ? `, fixedGates ${JSON.stringify(c.fixedGates)}` : '';
    test(`resetAfter = ${c.resetAfter}, returnSequences = ${c.returnSequences}, ${c.time} steps, dropout ${c.dropout}${held}: same loss and gradients`, () => {
      const { loss, grads, heldBlocks } = compare(c);
      assert.ok(loss < 1e-5, `loss differs by ${loss} (relative)`);
      for (const [name, diff] of grads) assert.ok(diff < 1e-5, `d loss / d ${name} differs by ${diff} (relative to its largest entry)`);
      for (const [name, largest] of heldBlocks)
        assert.equal(largest, 0, `the ${name} gets a gradient (${largest}), though its gate is held`);
    });
  }

  test('one set of graphs serves any batch size; model.predict and training leave no tensors behind', async () => {
    const model = tf.sequential({
      layers: [kerasGru({ units: 6, inputShape: [9, 4], dropout: 0.2, recurrentDropout: 0.2, seed: 2 }), tf.layers.dense({ units: 1 })],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const batches = [2, 7, 1].map((n, i) => [rand([n, 9, 4], 100 + i), rand([n, 1], 110 + i)] as const);
    for (const [x, y] of batches) await model.trainOnBatch(x, y); // first calls build the graphs
    const before = tf.memory().numTensors;
    for (const [x, y] of batches) {
      await model.trainOnBatch(x, y);
      tf.dispose(model.predict(x) as tf.Tensor);
    }
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const gru = model.layers[0] as KerasGRU;
    const x = batches[1][0] as tf.Tensor3D;
    assertClose(
      gru.apply(x) as tf.Tensor,
      gruSequence(x, gru.gruWeights()).h.slice([0, 8, 0], [7, 1, 6]).reshape([7, 6]),
      1e-5,
      'batch of 7 after training',
    );
  });
});
