import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { gruSequence } from '../../lib/cells/gru';
import { KerasGRU } from '../../lib/cells/gru-layer';
import { maskedRun } from '../cells/cell-checks';
import {
  REFERENCE_MODEL,
  buildModel,
  formatShape,
  loadModel,
  TfGRU,
  recurrentLayerOf,
  summaryRows,
  totalParams,
} from '../../lib/training/model';
import { deriveSeed } from '../../lib/util/prng';
import { RNN_KINDS, type RnnKind } from '../../lib/cells/layer-kinds';

// Small inputs keep these tests fast; parameter counts do not depend on maxLen.
const SMALL = { maxLen: 12 };

function weightsOf(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

function ids(batch: number, time: number, numWords = 10_000): tf.Tensor2D {
  return tf.tensor2d(
    Int32Array.from({ length: batch * time }, (_, i) => (i * 7919) % numWords),
    [batch, time],
    'int32',
  );
}

describe('parameter counts (Keras reference numbers)', () => {
  const expected: Record<RnnKind, { rnn: number; total: number; type: string }> = {
    // GRU, reset_after=True: 3 * 128 * (128 + 128) weights + 2 * 3 * 128 biases
    kerasGru: { rnn: 99_072, total: 1_379_201, type: 'KerasGRU' },
    // GRU, reset_after=False: one bias row (tf.layers.gru with Keras's recurrent dropout)
    tfGru: { rnn: 98_688, total: 1_378_817, type: 'TfGRU' },
    // LSTM: 4 gates
    tfLstm: { rnn: 131_584, total: 1_411_713, type: 'LSTM' },
    tfSimpleRnn: { rnn: 32_896, total: 1_313_025, type: 'SimpleRNN' },
    // the course's own LSTM and SimpleRNN (native graphs): the same counts as Keras's
    kerasLstm: { rnn: 131_584, total: 1_411_713, type: 'KerasLSTM' },
    kerasSimpleRnn: { rnn: 32_896, total: 1_313_025, type: 'KerasSimpleRNN' },
  };
  for (const rnn of RNN_KINDS) {
    test(`${rnn}: embedding 1,280,000 + recurrent ${expected[rnn].rnn} + dense 129 = ${expected[rnn].total}`, () => {
      const model = buildModel({ rnn });
      const rows = summaryRows(model);
      assert.deepEqual(rows, [
        { layer: 'embedding', type: 'Embedding', outputShape: '(None, 500, 128)', params: 1_280_000 },
        { layer: recurrentLayerOf(model).name, type: expected[rnn].type, outputShape: '(None, 128)', params: expected[rnn].rnn },
        { layer: 'dense', type: 'Dense', outputShape: '(None, 1)', params: 129 },
      ]);
      assert.equal(totalParams(model), expected[rnn].total);
      assert.equal(model.countParams(), expected[rnn].total);
      model.dispose();
    });
  }
});

test('the reference model: KerasGRU(128, resetAfter, dropout 0.2/0.2) between the embedding and a sigmoid unit', () => {
  const model = buildModel(SMALL);
  const gru = recurrentLayerOf(model);
  assert.ok(gru instanceof KerasGRU, `the recurrent layer is ${gru.getClassName()}`);
  assert.equal(gru.units, 128);
  assert.equal(gru.resetAfter, true);
  assert.equal(gru.dropout, 0.2);
  assert.equal(gru.recurrentDropout, 0.2);
  assert.equal(gru.returnSequences, false);
  assert.notEqual(gru.seed, null, 'dropout masks must be seeded for repeatable runs');
  assert.equal(model.layers[2].getConfig().activation, 'sigmoid');
  assert.deepEqual(model.inputs[0].shape, [null, 12]);
  assert.deepEqual(REFERENCE_MODEL, {
    numWords: 10_000,
    maxLen: 500,
    embeddingDim: 128,
    units: 128,
    dropout: 0.2,
    recurrentDropout: 0.2,
    rnn: 'kerasGru',
    seed: 42,
  });
  model.dispose();
});

test('output: one probability per review, in (0, 1); dropout only while training', () => {
  const model = buildModel(SMALL);
  const x = ids(3, 12);
  const p = model.predict(x) as tf.Tensor;
  assert.deepEqual(p.shape, [3, 1]);
  for (const v of p.dataSync()) assert.ok(v > 0 && v < 1, `p = ${v}`);
  const again = model.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(again.dataSync()), Array.from(p.dataSync()), 'inference is deterministic');
  const a = (model.apply(x, { training: true }) as tf.Tensor).dataSync();
  const b = (model.apply(x, { training: true }) as tf.Tensor).dataSync();
  assert.notDeepEqual(Array.from(a), Array.from(b), 'training calls draw fresh dropout masks');
  model.dispose();
});

test('Keras initialisers: embeddings uniform(-0.05, 0.05), orthogonal recurrent kernel, glorot-uniform kernels, zero biases', () => {
  const model = buildModel(SMALL);
  const w = weightsOf(model);
  const emb = w.get('embedding/embeddings')!;
  let min = Infinity;
  let max = -Infinity;
  for (const v of emb) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const limit = Math.fround(0.05); // the bounds as float32
  assert.ok(min >= -limit && max <= limit && min < -0.049 && max > 0.049, `embeddings in [${min}, ${max}]`);
  const glorotLimit = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));
  const within = (name: string, limit: number) => {
    const values = w.get(name)!;
    const top = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(top <= limit && top > 0.9 * limit, `${name}: max |w| = ${top}, glorot limit ${limit}`);
  };
  within('gru/kernel', glorotLimit(128, 384));
  within('dense/kernel', glorotLimit(128, 1));
  assert.ok(w.get('gru/bias')!.every((v) => v === 0));
  assert.ok(w.get('dense/bias')!.every((v) => v === 0));
  // The recurrent kernel [128, 384] has orthonormal rows: U U^T = I.
  const u = tf.tensor2d(w.get('gru/recurrent_kernel')!, [128, 384]);
  const gram = tf.matMul(u, u, false, true);
  const err = tf.sub(gram, tf.eye(128)).abs().max().dataSync()[0];
  assert.ok(err < 1e-4, `max |U U^T - I| = ${err}`);
  model.dispose();
});

test('a seed makes the initial weights repeatable; another seed changes them', () => {
  const a = weightsOf(buildModel({ ...SMALL, seed: 7 }));
  const b = weightsOf(buildModel({ ...SMALL, seed: 7 }));
  const c = weightsOf(buildModel({ ...SMALL, seed: 8 }));
  for (const [name, values] of a) {
    assert.deepEqual(b.get(name), values, `${name} differs between two builds with seed 7`);
    if (!name.endsWith('bias')) assert.notDeepEqual(c.get(name), values, `${name} is the same with seed 8`);
  }
  assert.notEqual(deriveSeed(7, 'a'), deriveSeed(7, 'b'));
  assert.notEqual(deriveSeed(7, 'shuffle', 1), deriveSeed(7, 'shuffle', 2));
  assert.equal(deriveSeed(7, 'x'), deriveSeed(7, 'x'));
});

test('comparison variants are configured like Keras (sigmoid gates, glorot-uniform, LSTM forget bias 1)', () => {
  const gru = recurrentLayerOf(buildModel({ ...SMALL, rnn: 'tfGru' })).getConfig();
  assert.equal(gru.recurrentActivation, 'sigmoid');
  assert.equal(gru.resetAfter, false);
  // glorotUniform serialises as VarianceScaling(scale 1, fan_avg, uniform), Keras's definition of it.
  const kernelInit = gru.kernelInitializer as { className: string; config: Record<string, unknown> };
  assert.equal(kernelInit.className, 'VarianceScaling');
  assert.deepEqual([kernelInit.config.scale, kernelInit.config.mode, kernelInit.config.distribution], [1, 'fanAvg', 'uniform']);
  assert.equal((gru.recurrentInitializer as { className: string }).className, 'Orthogonal');
  assert.equal(gru.dropout, 0.2);
  assert.equal(gru.recurrentDropout, 0.2);
  const lstmModel = buildModel({ ...SMALL, rnn: 'tfLstm' });
  const lstm = recurrentLayerOf(lstmModel);
  assert.equal(lstm.getConfig().recurrentActivation, 'sigmoid');
  assert.equal(lstm.getConfig().unitForgetBias, true);
  const bias = lstm.getWeights()[2].dataSync(); // gates i | f | c | o
  assert.ok(bias.slice(128, 256).every((v) => v === 1) && bias.slice(0, 128).every((v) => v === 0), 'forget-gate bias starts at 1');
  const p = lstmModel.predict(ids(2, 12)) as tf.Tensor;
  assert.deepEqual(p.shape, [2, 1]);
});

test('save and load: same class, same config, same predictions', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-test-'));
  try {
    const model = buildModel(SMALL);
    await model.save(`file://${dir}`);
    const loaded = await loadModel(dir);
    const gru = recurrentLayerOf(loaded);
    assert.ok(gru instanceof KerasGRU);
    assert.equal(gru.seed, (recurrentLayerOf(model) as KerasGRU).seed);
    const x = ids(4, 12);
    assert.deepEqual(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad configurations are rejected with the offending value', () => {
  assert.throws(() => buildModel({ units: 0 }), /units must be a positive integer, got 0/);
  assert.throws(() => buildModel({ dropout: 1 }), /dropout must be in \[0, 1\), got 1/);
  assert.throws(
    () => buildModel({ rnn: 'transformer' as RnnKind }),
    /model: rnn "transformer" is not a recurrent layer: use one of kerasGru, kerasLstm, kerasSimpleRnn, tfGru, tfLstm, tfSimpleRnn/,
  );
  assert.throws(
    () => buildModel({ rnn: 'lstm' as RnnKind }),
    /model: rnn "lstm" is the old name of TensorFlow.js's eager LSTM, now "tfLstm": write tfLstm \(or kerasLstm for the course's own LSTM\)/,
  );
  assert.throws(() => buildModel({ seed: -1 }), /seed must be an integer/);
});

test('fixedGates: the course GRU with a gate held, saved and loaded with it; other layers and values rejected', async () => {
  const model = buildModel({ ...SMALL, fixedGates: { reset: 1 } });
  const gru = recurrentLayerOf(model);
  assert.ok(gru instanceof KerasGRU);
  assert.deepEqual(gru.fixedGates, { reset: 1 });
  assert.equal((recurrentLayerOf(buildModel(SMALL)) as KerasGRU).fixedGates, null, 'the reference model holds no gate');
  // the same seeded initial weights as the free GRU: only the computation differs
  const free = weightsOf(buildModel(SMALL));
  for (const [name, values] of weightsOf(model)) assert.deepEqual(values, free.get(name), name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-fixed-'));
  try {
    await model.save(`file://${dir}`);
    const loaded = await loadModel(dir);
    assert.deepEqual((recurrentLayerOf(loaded) as KerasGRU).fixedGates, { reset: 1 });
    const x = ids(3, 12);
    assert.deepEqual(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => buildModel({ ...SMALL, rnn: 'tfLstm', fixedGates: { reset: 1 } }), /fixedGates needs rnn "kerasGru".*not "tfLstm"/);
  assert.throws(() => buildModel({ ...SMALL, fixedGates: { reset: 0.5 as 1 } }), /fixedGates\.reset must be 0 or 1/);
});

test('formatShape writes shapes the Keras way', () => {
  assert.equal(formatShape([null, 500, 128]), '(None, 500, 128)');
  assert.equal(formatShape([null]), '(None,)');
});

describe("TfGRU: tf.layers.gru with Keras's recurrent dropout", () => {
  // z biased towards 1 (bias 2 on every gate): the case where a masked h_{t-1} in the interpolation compounds
  const args = {
    units: 6,
    returnSequences: true,
    recurrentActivation: 'sigmoid' as const,
    biasInitializer: tf.initializers.constant({ value: 2 }),
  };
  const x = tf.randomNormal([8, 200, 5], 0, 1, 'float32', 11) as tf.Tensor3D;
  const maxAbs = (t: tf.Tensor) => t.abs().max().dataSync()[0];

  test('in training, the state stays in [-1, 1] over 200 steps; tf.layers.gru 4.22 lets it grow (the flaw it fixes)', () => {
    const fixed = new TfGRU({ ...args, dropout: 0.2, recurrentDropout: 0.2 });
    const original = tf.layers.gru({ ...args, dropout: 0.2, recurrentDropout: 0.2 });
    const hFixed = fixed.apply(x, { training: true }) as tf.Tensor;
    const hOriginal = original.apply(x, { training: true }) as tf.Tensor;
    assert.ok(maxAbs(hFixed) <= 1, `TfGRU max |h| = ${maxAbs(hFixed)}`);
    assert.ok(maxAbs(hOriginal) > 10, `tf.layers.gru max |h| = ${maxAbs(hOriginal)}: if this fails, TensorFlow.js fixed the flaw`);
  });

  // TfGRU's weights as the readable GRU takes them (reset-before: one bias row)
  const tfGruWeights = (layer: TfGRU) => {
    const [kernel, recurrentKernel, bias] = layer.getWeights();
    return { kernel: kernel as tf.Tensor2D, recurrentKernel: recurrentKernel as tf.Tensor2D, bias };
  };

  test('without dropout it computes the readable gruSequence (reset-before), and exactly what tf.layers.gru computes', () => {
    const fixed = new TfGRU(args);
    const original = tf.layers.gru(args);
    const a = fixed.apply(x) as tf.Tensor;
    original.apply(x);
    original.setWeights(fixed.getWeights());
    const b = original.apply(x, { training: true }) as tf.Tensor;
    assert.ok(maxAbs(a.sub(b)) < 1e-6, `max difference ${maxAbs(a.sub(b))}`);
    const readable = gruSequence(x, tfGruWeights(fixed), { resetAfter: false }).h;
    assert.ok(maxAbs(a.sub(readable)) < 1e-5, `TfGRU vs gruSequence: max difference ${maxAbs(a.sub(readable))}`);
  });

  test("with dropout: the readable GRU with Keras's masks, on x_t and h_{t-1} inside the products, the unmasked h_{t-1} in the interpolation", () => {
    const layer = new TfGRU({ ...args, returnSequences: true, dropout: 0.3, recurrentDropout: 0.3 });
    const xs = x.slice([0, 0, 0], [8, 20, 5]) as tf.Tensor3D;
    const out = layer.apply(xs, { training: true }) as tf.Tensor;
    const cell = layer.cell as unknown as { dropoutMask: tf.Tensor2D[]; recurrentDropoutMask: tf.Tensor2D[] };
    // like tf.layers.gru, TfGRU draws three masks per side and uses the first for every gate
    const [mx, mh] = [cell.dropoutMask[0], cell.recurrentDropoutMask[0]];
    const masks = { input: [mx, mx, mx], recurrent: [mh, mh, mh] };
    const run = (xn: tf.Tensor3D, w: ReturnType<typeof tfGruWeights>, [h0]: tf.Tensor2D[]) =>
      gruSequence(xn, w, { resetAfter: false, initialState: h0 }).h;
    const expected = maskedRun(3, run, xs, tfGruWeights(layer), [tf.zeros([8, 6]) as tf.Tensor2D], masks);
    assert.ok(maxAbs(out.sub(expected)) < 1e-5, `max difference ${maxAbs(out.sub(expected))}`);
    const kept = mh.dataSync();
    assert.ok(kept.some((v) => v === 0) && kept.some((v) => Math.abs(v - 1 / 0.7) < 1e-6), 'a real dropout mask was used');
    const undropped = gruSequence(xs, tfGruWeights(layer), { resetAfter: false }).h;
    assert.ok(maxAbs(out.sub(undropped)) > 1e-3, 'the masks changed nothing: test is vacuous');
  });

  test('saves and loads as TfGRU, with the same predictions', async () => {
    const model = buildModel({ numWords: 30, maxLen: 10, embeddingDim: 4, units: 3, rnn: 'tfGru', seed: 1 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfgru-'));
    await model.save(`file://${dir}`);
    const loaded = await loadModel(dir);
    assert.equal(recurrentLayerOf(loaded).getClassName(), 'TfGRU');
    const input = ids(2, 10, 30);
    assert.deepEqual((loaded.predict(input) as tf.Tensor).dataSync(), (model.predict(input) as tf.Tensor).dataSync());
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
