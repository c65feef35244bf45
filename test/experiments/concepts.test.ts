import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { gruStep, type GruWeights } from '../../lib/cells/gru';
import { simpleRnnSequence } from '../../lib/cells/simple-rnn';
import {
  GRADIENT_DEMO_DEFAULTS,
  builtLayerParamCount,
  gradientByDistance,
  gradientDecayChart,
  jacobianNorms,
  kerasInitGru,
  kerasInitSimpleRnn,
  kerasToTorchGru,
  maxAbsDifference,
  paramCountTable,
  perStepFactor,
  torchGruStep,
  unitsByTime,
} from '../../lib/experiments/concepts';
import { RNN_KINDS, paramCount } from '../../lib/cells/layer-kinds';

describe('parameter counts: formulas against built layers', () => {
  test('formulas equal countParams() of the built layers, for the reference and for odd sizes', () => {
    for (const [inputDim, units] of [
      [128, 128],
      [7, 5],
      [1, 3],
    ]) {
      for (const kind of RNN_KINDS) {
        assert.equal(builtLayerParamCount(kind, inputDim, units), paramCount(kind, inputDim, units), `${kind} ${inputDim}x${units}`);
      }
    }
  });

  test('the table lists all four layers with matching counts and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const rows = paramCountTable(12, 4);
    assert.equal(rows.length, 4);
    for (const row of rows) assert.equal(row.byLayer, row.byFormula, row.layer);
    assert.deepEqual(
      rows.map((r) => r.byFormula),
      [paramCount('tfSimpleRnn', 12, 4), paramCount('tfGru', 12, 4), paramCount('kerasGru', 12, 4), paramCount('tfLstm', 12, 4)],
    );
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('seeded Keras-style weights', () => {
  test('kerasInitGru: shapes, the update-gate bias, determinism and orthonormal recurrent rows', () => {
    const w = kerasInitGru(5, 4, 7, { updateGateBias: 2 });
    assert.deepEqual(w.kernel.shape, [5, 12]);
    assert.deepEqual(w.recurrentKernel.shape, [4, 12]);
    assert.deepEqual(w.bias.shape, [2, 12]);
    const [inputBias, recurrentBias] = w.bias.arraySync() as number[][];
    assert.deepEqual(inputBias, [2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(recurrentBias, new Array(12).fill(0));
    const again = kerasInitGru(5, 4, 7, { updateGateBias: 2 });
    assert.equal(maxAbsDifference(w.kernel, again.kernel), 0);
    assert.equal(maxAbsDifference(w.recurrentKernel, again.recurrentKernel), 0);
    assert.ok(maxAbsDifference(w.kernel, kerasInitGru(5, 4, 8).kernel) > 0, 'another seed gives other weights');
    const gram = tf.matMul(w.recurrentKernel, w.recurrentKernel, false, true); // U U^T = I for orthonormal rows
    assert.ok(maxAbsDifference(gram, tf.eye(4)) < 1e-5);
    assert.deepEqual(kerasInitGru(5, 4, 7, { resetAfter: false }).bias.shape, [12]);
  });

  test("kerasInitSimpleRnn's weights are in keras SimpleRNN's layout: tf.layers.simpleRNN takes them and computes simpleRnnSequence's states", () => {
    const w = kerasInitSimpleRnn(3, 4, 1);
    const x = tf.randomNormal([2, 6, 3], 0, 1, 'float32', 5) as tf.Tensor3D;
    const layer = tf.layers.simpleRNN({ units: 4, returnSequences: true });
    layer.apply(tf.input({ shape: [null, 3] }));
    layer.setWeights([w.kernel, w.recurrentKernel, w.bias]);
    const expected = layer.apply(x) as tf.Tensor;
    const ours = simpleRnnSequence(x, w);
    assert.deepEqual(ours.shape, [2, 6, 4]);
    assert.ok(maxAbsDifference(ours, expected) < 1e-6);
  });
});

describe('gradient versus distance', () => {
  test('jacobianNorms (one batched backward pass) equals the norms of the Jacobian built row by row', () => {
    const w = kerasInitSimpleRnn(3, 4, 2);
    const x = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 9) as tf.Tensor3D;
    const last = (xx: tf.Tensor3D) => simpleRnnSequence(xx, w).slice([0, 4, 0], [-1, 1, -1]).squeeze([1]) as tf.Tensor2D;
    const fast = jacobianNorms(last, x, 4);
    // Row i of every sample's Jacobian: the gradient of sum_b h_T[b, i] (samples do not interact).
    const squares = tf.tidy(() => {
      const rows = [0, 1, 2, 3].map((i) =>
        tf.grad((xx: tf.Tensor) =>
          last(xx as tf.Tensor3D)
            .slice([0, i], [-1, 1])
            .sum(),
        )(x),
      );
      return tf.addN(rows.map((g) => g.square().sum(2))).sqrt(); // [samples, T]
    });
    const slow = squares.arraySync() as number[][];
    assert.equal(fast.length, 2);
    fast.forEach((row, s) =>
      row.forEach((v, t) => assert.ok(Math.abs(v - slow[s][t]) <= 1e-5 * Math.max(1, slow[s][t]), `s${s} t${t}: ${v} vs ${slow[s][t]}`)),
    );
  });

  test('at distance 0 the plain RNN gradient is the closed form ||diag(1 - h_T^2) W^T||', () => {
    const w = kerasInitSimpleRnn(3, 4, 3);
    const x = tf.randomNormal([1, 4, 3], 0, 1, 'float32', 4) as tf.Tensor3D;
    const hT = simpleRnnSequence(x, w).slice([0, 3, 0], [1, 1, 4]).reshape([4, 1]);
    const closedForm = tf.tidy(() => tf.sub(1, hT.square()).mul(w.kernel.transpose()).square().sum().sqrt().dataSync()[0]);
    const last = (xx: tf.Tensor3D) => simpleRnnSequence(xx, w).slice([0, 3, 0], [-1, 1, -1]).squeeze([1]) as tf.Tensor2D;
    const measured = jacobianNorms(last, x, 4)[0][3];
    assert.ok(Math.abs(measured - closedForm) < 1e-5, `${measured} vs ${closedForm}`);
  });

  const small = { steps: 30, samples: 4 };

  test('the demo returns T finite, positive values for both cells, and is deterministic', () => {
    for (const cell of ['rnn', 'gru'] as const) {
      const p = gradientByDistance(cell, small);
      assert.equal(p.norm.length, 30);
      assert.deepEqual(
        p.t,
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      assert.equal(p.distance[0], 29);
      assert.equal(p.distance[29], 0);
      assert.equal(p.perSeed.length, GRADIENT_DEMO_DEFAULTS.seeds.length);
      for (const v of p.norm) assert.ok(Number.isFinite(v) && v > 0, `${cell}: ${v}`);
      assert.deepEqual(gradientByDistance(cell, small).norm, p.norm);
    }
  });

  test('in the plain RNN the gradient vanishes with distance: the farthest step gets < 1e-4 of the nearest', () => {
    const p = gradientByDistance('rnn', small);
    assert.ok(p.norm[0] < 1e-4 * p.norm[29], `${p.norm[0]} vs ${p.norm[29]}`);
    assert.ok(perStepFactor(p) < 0.8);
  });

  // The measured fact the notebook shows: at Keras's initialisation (update-gate bias 0, z near 0.5) a GRU's
  // gradient shrinks at least as fast as the plain RNN's; the gate helps once it leans towards keeping h.
  test('default configuration (Keras init): the GRU gradient at the farthest step is below the plain RNN one', () => {
    const rnn = gradientByDistance('rnn');
    const gru = gradientByDistance('gru');
    assert.ok(gru.norm[0] < rnn.norm[0], `gru ${gru.norm[0]} vs rnn ${rnn.norm[0]}`);
  });

  test('with the update gate biased to remember (b_z = 2) the GRU gradient at the farthest step exceeds the RNN one by > 1000x, for every seed', () => {
    const rnn = gradientByDistance('rnn');
    const gru = gradientByDistance('gru', { updateGateBias: 2 });
    for (let s = 0; s < rnn.perSeed.length; s++) {
      assert.ok(gru.perSeed[s][0] > 1000 * rnn.perSeed[s][0], `seed ${s}: gru ${gru.perSeed[s][0]} vs rnn ${rnn.perSeed[s][0]}`);
    }
    assert.ok(perStepFactor(gru) > perStepFactor(rnn));
  });

  test('the farthest-step gradient grows with the update-gate bias', () => {
    const far = [0, 1, 2, 4].map((b) => gradientByDistance('gru', { ...small, updateGateBias: b }).norm[0]);
    for (let i = 1; i < far.length; i++) assert.ok(far[i] > far[i - 1], `bias index ${i}: ${far}`);
  });

  test('the chart has one log-scale line per profile and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const p = gradientByDistance('rnn', { ...small, seeds: [1] });
    assert.equal(tf.memory().numTensors, before);
    const fig = gradientDecayChart(
      [
        { name: 'a', profile: p },
        { name: 'b', profile: p },
      ],
      'title',
    );
    assert.equal(fig.data.length, 2);
    assert.equal((fig.layout.yaxis as { type?: string }).type, 'log');
  });
});

describe('Keras <-> PyTorch', () => {
  test('kerasToTorchGru reorders z|r|h columns into r|z|n rows, transposed, and splits the two bias rows', () => {
    const w = kerasInitGru(3, 2, 4);
    w.bias = tf.randomUniform([2, 6], -1, 1, 'float32', 3);
    const t = kerasToTorchGru(w);
    assert.deepEqual(t.weightIh.shape, [6, 3]);
    assert.deepEqual(t.weightHh.shape, [6, 2]);
    const k = w.kernel.arraySync() as number[][]; // [3, 6], columns z0 z1 r0 r1 h0 h1
    const ih = t.weightIh.arraySync() as number[][]; // [6, 3], rows r0 r1 z0 z1 n0 n1
    for (let i = 0; i < 3; i++) {
      assert.equal(ih[0][i], k[i][2]); // r0
      assert.equal(ih[2][i], k[i][0]); // z0
      assert.equal(ih[5][i], k[i][5]); // n1
    }
    const [bIn, bRec] = w.bias.arraySync() as number[][];
    assert.deepEqual(Array.from(t.biasIh.dataSync()), [bIn[2], bIn[3], bIn[0], bIn[1], bIn[4], bIn[5]]);
    assert.deepEqual(Array.from(t.biasHh.dataSync()), [bRec[2], bRec[3], bRec[0], bRec[1], bRec[4], bRec[5]]);
  });

  test("PyTorch's documented GRU step on the mapped weights equals gruStep (reset_after)", () => {
    const w: GruWeights = { ...kerasInitGru(3, 4, 6), bias: tf.randomUniform([2, 12], -0.5, 0.5, 'float32', 8) };
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const h = tf.randomUniform([5, 4], -0.9, 0.9, 'float32', 2) as tf.Tensor2D;
    const keras = gruStep(x, h, w).h;
    const torch = torchGruStep(x, h, kerasToTorchGru(w));
    assert.ok(maxAbsDifference(keras, torch) < 1e-6);
    // Without the reordering (treating z|r|h as r|z|n) the results differ: the check can fail.
    const unordered = {
      weightIh: w.kernel.transpose() as tf.Tensor2D,
      weightHh: w.recurrentKernel.transpose() as tf.Tensor2D,
      biasIh: tf.unstack(w.bias)[0] as tf.Tensor1D,
      biasHh: tf.unstack(w.bias)[1] as tf.Tensor1D,
    };
    assert.ok(maxAbsDifference(keras, torchGruStep(x, h, unordered)) > 1e-3);
  });

  test('kerasToTorchGru refuses reset-before weights (one bias row cannot become two)', () => {
    assert.throws(() => kerasToTorchGru(kerasInitGru(3, 2, 1, { resetAfter: false })), /reset_after/);
  });
});

describe('readouts', () => {
  test('unitsByTime turns one sample of [batch, time, units] into units x time rows', () => {
    const t = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [7, 8],
        [9, 10],
        [11, 12],
      ],
    ]); // [2, 3, 2]
    assert.deepEqual(unitsByTime(t), [
      [1, 3, 5],
      [2, 4, 6],
    ]);
    assert.deepEqual(unitsByTime(t, 1), [
      [7, 9, 11],
      [8, 10, 12],
    ]);
  });

  test('maxAbsDifference: the largest gap, and a clear error for different shapes', () => {
    assert.equal(maxAbsDifference(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 2.5, 2])), 1);
    assert.throws(() => maxAbsDifference(tf.tensor1d([1]), tf.tensor1d([1, 2])), /shapes/);
  });
});
