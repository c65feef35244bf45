// One test harness for the course's three cells, as Keras's run_layer_test: given a cell's spec (its readable step
// and sequence, lib/cells/<cell>.ts; its layer, lib/cells/<cell>-layer.ts; its float64 reference,
// test/cells/reference64.ts), registerCellTests registers the checks every cell must pass (the building blocks are
// test/cells/cell-checks.ts's):
//   values     the float64 reference, the readable sequence, chained readable steps, the layer (all steps, last step,
//              zero state) and gates() agree, at 1, 5 and 70 = 64 + 4 + 2 steps (the chunks of the native graphs);
//              and tf.layers agrees where it computes the same cell;
//   gradients  the layer's hand-written backward pass against autodiff of the readable cell (with Keras's masks,
//              maskedRun; across chunk boundaries), and against float64 finite differences; a fully dropped input gets none; fit trains;
//   dropout    one mask per sample and gate, constant over time and chunks, entries 0 or 1/(1 - rate), carried
//              state unmasked (read back from outputs); training only; seeds replay; unseeded layers differ;
//   and Keras compatibility (parameters, names, initialisers), save/load, bad input, no leaked tensors.
// Each cell's test file (gru.test.ts, lstm.test.ts, simple-rnn.test.ts) adds only what is its own.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { paramCount } from '../../lib/cells/layer-kinds';
import { buildModel, loadModel, recurrentLayerOf } from '../../lib/training/model';
import { NO_MASKS64, type Mat, type Seq } from './reference64';
import { assertClose, flat, lastStep, maxAbsDiff, rand, relativeDiff } from './helpers';
import {
  arrays64,
  at,
  built,
  finiteDifferenceCheck,
  gradientTest,
  initialStates,
  layerMasks,
  maskCombos,
  maskedSequence,
  masks64,
  minPairwiseGap,
  randomWeights,
  stateArg,
  type CellSpec,
  type GradientCase,
  type Weights,
} from './cell-checks';

/** Registers the shared tests of one cell. */
export function registerCellTests<V extends object>(spec: CellSpec<V>): void {
  registerValueTests(spec);
  registerGradientTests(spec);
  registerDropoutTests(spec);
  registerKerasCompatibilityTests(spec);
  registerSaveLoadTests(spec);
  registerBadInputTests(spec);
  registerLeakTests(spec);
}

function registerValueTests<V extends object>(spec: CellSpec<V>): void {
  describe(`${spec.name}, values: the float64 reference, the readable sequence and steps, the layer`, () => {
    const [batch, inputDim, units] = [3, 4, 3];
    const init = initialStates(spec, batch, units, 12);
    // 1 step, 5 = 4 + 1, 70 = 64 + 4 + 2 steps: the layer's chunks of the recurrence
    for (const v of spec.variants) {
      for (const time of [1, 5, 70]) {
        test(`${spec.describe(v)}${time} steps: every output of the readable sequence and of chained readable steps, the layer (all steps, last step, zero state)${spec.gates ? ' and gates()' : ''} equal the float64 reference`, () => {
          const x = rand([batch, time, inputDim], 30 + time) as tf.Tensor3D;
          const w = randomWeights(spec, inputDim, units, v, 40);
          const ref = spec.reference64(
            x.arraySync(),
            arrays64(w),
            v,
            init.map((s) => s.arraySync()),
            NO_MASKS64,
          );
          const seq = spec.sequence(x, w, v, init);
          for (const k of spec.outputs) assertClose(seq[k], tf.tensor(ref[k]), 1e-5, `readable sequence ${k}`);
          const layer = built(spec, { units, ...v }, inputDim, w);
          assertClose(layer.apply(x, { initialState: stateArg(init) }) as tf.Tensor, seq.h, 1e-5, 'layer (sequences)');
          const last = built(spec, { units, returnSequences: false, ...v }, inputDim, w);
          assertClose(last.apply(x, { initialState: stateArg(init) }) as tf.Tensor, lastStep(tf.tensor(ref.h)), 1e-5, 'layer (last step)');
          const fromZero = spec.sequence(x, w, v);
          assertClose(fromZero.h, tf.tensor(spec.reference64(x.arraySync(), arrays64(w), v, undefined, NO_MASKS64).h), 1e-5, 'zero state');
          assertClose(layer.apply(x) as tf.Tensor, fromZero.h, 1e-5, 'layer, zero state');
          if (spec.gates) {
            const read = spec.gates(layer, x, init);
            for (const k of spec.outputs) assertClose(read[k], seq[k], 0, `gates() ${k}`);
          }
          let states = init;
          for (let t = 0; t < time; t++) {
            const out = spec.step(at(x, t) as tf.Tensor2D, states, w, v);
            for (const k of spec.outputs) assertClose(out[k], at(seq[k], t), 1e-6, `step ${t} ${k}`);
            states = spec.carried.map((k) => out[k]);
          }
        });
      }
    }

    const tfjs = spec.tfjs;
    if (tfjs) {
      test(`${spec.describe(tfjs.variant)}tf.layers computes the same (same weights), with and without an initial state`, () => {
        const x = rand([batch, 5, inputDim], 11) as tf.Tensor3D;
        const w = randomWeights(spec, inputDim, units, tfjs.variant, 20);
        const theirs = tfjs.layer(units);
        theirs.apply(x); // builds it (RNN.build alone leaves the layer unbuilt, so apply would build again)
        theirs.setWeights([w.kernel, w.recurrentKernel, w.bias]); // same shapes and block order as Keras
        const ours = built(spec, { units, ...tfjs.variant }, inputDim, w);
        for (const states of [undefined, init]) {
          const what = states ? 'initial state' : 'zero state';
          const expected = theirs.apply(x, states ? { initialState: states } : {}) as tf.Tensor;
          assertClose(spec.sequence(x, w, tfjs.variant, states).h, expected, 1e-5, `readable sequence vs tf.layers, ${what}`);
          assertClose(
            ours.apply(x, states ? { initialState: stateArg(states) } : {}) as tf.Tensor,
            expected,
            1e-5,
            `layer vs tf.layers, ${what}`,
          );
        }
      });
    }
  });
}

// The shared gradient comparisons; the cell's variants take turns.
const GRADIENT_CASES: Omit<GradientCase<object>, 'variant'>[] = [
  { returnSequences: false, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: true },
  { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: false },
  { returnSequences: true, time: 1, dropout: 0, recurrentDropout: 0, initialState: true },
  { returnSequences: false, time: 5, dropout: 0, recurrentDropout: 0, initialState: false },
  // 70 = 64 + 4 + 2 and 133 = 64 + 64 + 4 + 1 steps: gradients cross the chunk boundaries
  { returnSequences: true, time: 70, dropout: 0.3, recurrentDropout: 0.3, initialState: true },
  { returnSequences: false, time: 70, dropout: 0.3, recurrentDropout: 0.3, initialState: true },
  { returnSequences: true, time: 70, dropout: 0, recurrentDropout: 0, initialState: false },
  { returnSequences: true, time: 133, dropout: 0.25, recurrentDropout: 0.25, initialState: true },
  { returnSequences: false, time: 133, dropout: 0.3, recurrentDropout: 0.3, initialState: false },
  // one side only: a rate of 0 (or 1) draws no mask and does not advance the seed counter
  { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0, initialState: true },
  { returnSequences: true, time: 6, dropout: 0, recurrentDropout: 0.3, initialState: true },
  { returnSequences: true, time: 6, dropout: 1, recurrentDropout: 0.3, initialState: true },
  // the second training call draws the next 2G masks
  { returnSequences: true, time: 6, dropout: 0.3, recurrentDropout: 0.3, initialState: true, call: 1 },
];

function registerGradientTests<V extends object>(spec: CellSpec<V>): void {
  describe(`${spec.name}, gradients: the layer (native graphs, hand-written backward pass) against the plain equations`, () => {
    const vs = spec.variants;
    GRADIENT_CASES.forEach((c, i) => gradientTest(spec, { ...c, variant: vs[i % vs.length] }));

    test('maskedSequence (the readable cell on per-sample masked weights) equals the float64 reference with the same masks', () => {
      const [batch, time, inputDim, units, seed] = [3, 6, 3, 3, 13];
      for (const v of vs) {
        const w = randomWeights(spec, inputDim, units, v, 30);
        const x = rand([batch, time, inputDim], 31) as tf.Tensor3D;
        const init = initialStates(spec, batch, units, 32);
        const { masks } = layerMasks(spec, seed, 0, { batch, inputDim, units }, 0.4, 0.4);
        const expected = spec.reference64(
          x.arraySync(),
          arrays64(w),
          v,
          init.map((s) => s.arraySync()),
          masks64(masks),
        ).h;
        assertClose(maskedSequence(spec, x, w, v, init, masks), tf.tensor(expected), 1e-5, `${spec.describe(v)}h`);
        const plain = spec.sequence(x, w, v, init).h;
        assert.ok(maxAbsDiff(plain, tf.tensor(expected)) > 1e-3, 'the masks changed nothing: test is vacuous');
      }
    });

    for (const v of vs) {
      test(`${spec.describe(v)}finite differences (float64, dropout on) agree with the layer gradient of every weight, input and initial-state entry`, () => {
        finiteDifferenceCheck(spec, v);
      });
    }

    test('an input entry dropped by every gate mask gets exactly zero gradient; the others do not', () => {
      const [batch, time, inputDim, units, seed, rate] = [8, 5, 3, 3, 11, 0.7];
      const v = vs[0];
      const layer = built(spec, { units, dropout: rate, seed, ...v }, inputDim, randomWeights(spec, inputDim, units, v, 60));
      const x = tf.variable(rand([batch, time, inputDim], 61));
      const g = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, rand([batch, time, units], 62))),
      )(x);
      const input = layerMasks(spec, seed, 0, { batch, inputDim, units }, rate, 0).masks.input!.map((m) => m.arraySync());
      const gx = g.arraySync() as Seq;
      let dropped = 0;
      for (let n = 0; n < batch; n++) {
        for (let j = 0; j < inputDim; j++) {
          const size = Math.max(...gx[n].map((gt) => Math.abs(gt[j])));
          if (input.every((m) => m[n][j] === 0)) {
            dropped++;
            assert.equal(size, 0, `x[${n}][:, ${j}] is dropped by every gate yet gets a gradient`);
          } else assert.ok(size > 0, `x[${n}][:, ${j}] is kept by some gate yet gets no gradient`);
        }
      }
      assert.ok(dropped > 0, 'no input entry was dropped by every gate: the zero-gradient check is vacuous');
    });

    test('model.fit trains the layer (with dropout on): loss falls, every weight moves', async () => {
      const x = rand([32, 6, 3], 50);
      const y = tf.sum(x, [1, 2]).greater(0).cast('float32').reshape([32, 1]); // "is the sum positive?"
      const rnn = spec.layer({ units: 8, inputShape: [6, 3], dropout: 0.1, recurrentDropout: 0.1, seed: 1, ...vs[0] });
      const model = tf.sequential({ layers: [rnn, tf.layers.dense({ units: 1, activation: 'sigmoid' })] });
      model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
      const before = rnn.getWeights().map((t) => t.clone());
      const history = await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
      const losses = history.history.loss as number[];
      assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss did not fall: ${losses[0]} -> ${losses[losses.length - 1]}`);
      rnn.getWeights().forEach((t, i) => assert.ok(maxAbsDiff(t, before[i]) > 1e-3, `weight ${i} did not change`));
    });
  });
}

function registerDropoutTests<V extends object>(spec: CellSpec<V>): void {
  describe(`${spec.name}, dropout (Keras 2 semantics), read back from the outputs`, () => {
    // 1 unit, 1 input, rate 0.5 (entries 0 or 2), the same x for every sample over 70 steps (chunks 64 + 4 + 2):
    // each sample's trajectory must be the float64 reference's for one constant combination of G per-gate masks,
    // masks only where x_t or h_{t-1} enter the products, the carried state unmasked; and every combination occurs.
    const time = 70;
    const combos = maskCombos(spec.blocks);
    const batch = 32 * combos.length;
    for (const side of ['input', 'recurrent'] as const) {
      for (const v of spec.variants) {
        test(`${spec.describe(v)}${side} side: one mask per sample and gate, constant over ${time} steps and across chunks, entries 0 or 1/(1 - rate)`, () => {
          const w = {
            kernel: rand([1, spec.blocks], 52, 1.5),
            recurrentKernel: rand([1, spec.blocks], 53, 1.5),
            bias: rand(spec.biasShape(1, v), 54, 0.5),
          };
          const rates = side === 'input' ? { dropout: 0.5 } : { recurrentDropout: 0.5 };
          const layer = built(spec, { units: 1, ...rates, seed: 21, ...v }, 1, w as Weights);
          const x1 = rand([1, time, 1], 51) as tf.Tensor3D;
          const init = spec.carried.map((_, i) => (i === 0 ? 0.5 : 1.2));
          const expected = combos.map((combo) => {
            const masks = combo.map((m) => [[m]]);
            const ref = spec.reference64(
              x1.arraySync(),
              arrays64(w as Weights),
              v,
              init.map((s) => [[s]]),
              {
                input: side === 'input' ? masks : null,
                recurrent: side === 'recurrent' ? masks : null,
              },
            );
            return ref.h[0].map((ht) => ht[0]);
          });
          // Combinations the equations cannot tell apart count as one (reset-before: with the candidate's mask 0,
          // r meets h_{t-1} nowhere, so r's mask has no effect); a single shared mask could produce only 2 classes.
          const classes = expected.filter((e, i) => expected.findIndex((o) => minPairwiseGap([o, e]) < 1e-12) === i);
          assert.ok(minPairwiseGap(classes) > 1e-3, 'the trajectories are not distinguishable: test is vacuous');
          assert.ok(classes.length > (spec.blocks > 1 ? 2 : 1), `only ${classes.length} distinguishable combinations: test is vacuous`);
          const states = init.map((s) => tf.fill([batch, 1], s));
          const out = layer.apply(tf.tile(x1, [batch, 1, 1]), { training: true, initialState: stateArg(states) }) as tf.Tensor;
          const rows = out.reshape([batch, time]).arraySync() as Mat;
          const found = rows.map((row) => classes.findIndex((e) => e.every((val, t) => Math.abs(val - row[t]) < 1e-5)));
          assert.ok(
            !found.includes(-1),
            `sample ${found.indexOf(-1)} follows no constant-mask trajectory: ${rows[found.indexOf(-1)]?.slice(0, 5)}`,
          );
          assert.equal(
            new Set(found).size,
            classes.length,
            `only combinations ${[...new Set(found)]} of ${classes.length} occurred: masks shared between gates or samples?`,
          );
        });
      }
    }

    test('only in training: inference is deterministic and dropout-free; masks redrawn per call; seeds reproduce them', () => {
      const [inputDim, units] = [4, 3];
      const v = spec.variants[0];
      const w = randomWeights(spec, inputDim, units, v, 70);
      const x = rand([6, 5, inputDim], 71) as tf.Tensor3D;
      const make = (seed: number | null) => built(spec, { units, dropout: 0.3, recurrentDropout: 0.3, seed, ...v }, inputDim, w);
      const layer = make(9);
      const inference = layer.apply(x) as tf.Tensor;
      assertClose(layer.apply(x, { training: false }) as tf.Tensor, inference, 0, 'inference not deterministic');
      assertClose(inference, spec.sequence(x, w, v).h, 1e-5, 'inference should equal the readable, dropout-free cell');
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
}

/** Parameters, weight names and initial weights as Keras's. */
function registerKerasCompatibilityTests<V extends object>(spec: CellSpec<V>): void {
  const v0 = spec.variants[0];
  const G = spec.blocks;
  describe(`${spec.name}, Keras compatibility: parameters, weight names, initial weights`, () => {
    const { layer: layerParams, model: modelParams } = spec.referenceParams;
    test(`Embedding(10000,128) -> ${spec.name}(128) -> Dense(1) has ${modelParams} parameters; the layer ${layerParams}`, () => {
      const rnn = spec.layer({ units: 128, ...v0 });
      const model = tf.sequential({
        layers: [
          tf.layers.embedding({ inputDim: 10000, outputDim: 128, inputShape: [null] }),
          rnn,
          tf.layers.dense({ units: 1, activation: 'sigmoid' }),
        ],
      });
      assert.equal(rnn.countParams(), layerParams);
      assert.equal(paramCount(spec.kind, 128, 128), layerParams);
      assert.deepEqual(
        rnn.getWeights().map((t) => t.shape),
        [[128, G * 128], [128, G * 128], spec.biasShape(128, v0)],
      );
      assert.deepEqual(
        rnn.weights.map((w) => w.originalName.split('/').pop()),
        ['kernel', 'recurrent_kernel', 'bias'],
      );
      assert.equal(model.countParams(), modelParams);
      model.dispose();
    });

    test(`buildModel({ rnn: '${spec.kind}' }): ${spec.name}(128, dropout 0.2, recurrent dropout 0.2), ${modelParams} parameters`, () => {
      const model = buildModel({ rnn: spec.kind, maxLen: 12 });
      const layer = recurrentLayerOf(model);
      assert.ok(layer instanceof spec.layerClass, `the recurrent layer is ${layer.getClassName()}`);
      const config = layer.getConfig();
      assert.deepEqual([config.units, config.dropout, config.recurrentDropout], [128, 0.2, 0.2]);
      assert.equal(model.countParams(), modelParams);
      assert.deepEqual((model.predict(tf.zeros([2, 12], 'int32')) as tf.Tensor).shape, [2, 1]);
      model.dispose();
    });

    test('default initialisers: glorot-uniform kernel, orthogonal recurrent kernel, the default bias', () => {
      const [inputDim, units] = [16, 16];
      const layer = built(spec, { units, ...v0 }, inputDim);
      const [kernel, recurrentKernel, bias] = layer.getWeights();
      // glorot uniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)), variance limit^2 / 3
      // (tfjs's glorotNormal default would overshoot the limit on ~4% of entries)
      const limit = Math.sqrt(6 / (inputDim + G * units));
      const k = flat(kernel);
      assert.ok(
        k.every((x) => Math.abs(x) <= limit + 1e-7),
        'kernel exceeds the glorot-uniform limit',
      );
      assert.ok(Math.max(...k.map(Math.abs)) > 0.95 * limit, 'kernel does not fill the glorot-uniform range');
      const variance = k.reduce((s, x) => s + x * x, 0) / k.length;
      assert.ok(Math.abs(variance / ((limit * limit) / 3) - 1) < 0.15, `kernel variance ${variance}`);
      // Keras's Orthogonal on [units, G*units] gives orthonormal ROWS: U U^T = I (and, when square, columns too)
      assertClose(
        tf.matMul(recurrentKernel, recurrentKernel, false, true),
        tf.eye(units),
        1e-5,
        'recurrent kernel rows are not orthonormal',
      );
      if (G === 1) assertClose(tf.matMul(recurrentKernel, recurrentKernel, true, false), tf.eye(units), 1e-5, 'U^T U is not I');
      assert.deepEqual(bias.shape, spec.biasShape(units, v0));
      assert.deepEqual(flat(bias), spec.defaultBias(units));
    });
  });
}

/** A file:// round trip through loadModel. */
function registerSaveLoadTests<V extends object>(spec: CellSpec<V>): void {
  describe(`${spec.name}, saving and loading`, () => {
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    spec.saveVariants.forEach((v, i) => {
      for (const returnSequences of [i % 2 === 1, i % 2 === 0]) {
        test(`${spec.describe(v)}returnSequences = ${returnSequences}: file:// round trip through loadModel keeps the class, config, weights and predictions`, async () => {
          const args = { units: 4, returnSequences, dropout: 0.2, recurrentDropout: 0.1, seed: 3, ...v };
          const model = tf.sequential({
            layers: [spec.layer({ ...args, inputShape: [5, 3] }), tf.layers.dense({ units: 1, activation: 'sigmoid' })], // per timestep when returnSequences
          });
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${spec.errorPrefix}-test-`));
          dirs.push(dir);
          await model.save(`file://${dir}`);
          const loaded = await loadModel(dir); // the course's loader: tf.loadLayersModel, the orthogonal warning muted
          const x = rand([7, 5, 3], 80);
          assert.deepEqual(flat(loaded.predict(x) as tf.Tensor), flat(model.predict(x) as tf.Tensor));
          const [original, restored] = [model.layers[0], loaded.layers[0]];
          assert.ok(restored instanceof spec.layerClass, `restored as ${restored.getClassName()}`);
          const config = restored.getConfig();
          for (const [key, value] of Object.entries(args)) assert.deepEqual(config[key], value, `config.${key}`);
          assert.deepEqual(restored.getConfig(), original.getConfig());
          assert.deepEqual(loaded.getConfig(), model.getConfig());
          restored.getWeights().forEach((t, j) => assert.deepEqual(flat(t), flat(original.getWeights()[j]), `weight ${j}`));
          const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
          assert.equal(json.modelTopology.config.layers[0].class_name, spec.name);
        });
      }
    });
  });
}

/** Bad input gets a sentence naming the tensor and its shape. */
function registerBadInputTests<V extends object>(spec: CellSpec<V>): void {
  const v0 = spec.variants[0];
  const G = spec.blocks;
  describe(`${spec.name}, bad input gets a clear error`, () => {
    const [batch, time, inputDim, units] = [2, 3, 4, 5];
    const x = rand([batch, time, inputDim], 1) as tf.Tensor3D;
    const good = randomWeights(spec, inputDim, units, v0, 2);
    const init = initialStates(spec, batch, units, 3);
    // the message names the cell, the offending tensor and the shape it was given
    const shaped = (name: string, shape: number[]) => new RegExp(`${spec.errorPrefix}: ${name}[^]*${shape.join(',\\s*')}`);

    test("weights of the wrong shape (another cell's layout, wrong rows, a bias of another shape) name the weight and its shape", () => {
      const other = G === 4 ? 3 : 4;
      const seq = (w: Partial<Weights>) => () => spec.sequence(x, { ...good, ...w }, v0);
      assert.throws(seq({ kernel: rand([inputDim, other * units], 3) as tf.Tensor2D }), shaped('kernel', [inputDim, other * units]));
      assert.throws(seq({ kernel: rand([inputDim + 1, G * units], 3) as tf.Tensor2D }), shaped('kernel', [inputDim + 1, G * units]));
      assert.throws(
        seq({ recurrentKernel: rand([units, other * units], 4) as tf.Tensor2D }),
        shaped('recurrentKernel', [units, other * units]),
      );
      const expected = spec.biasShape(units, v0).join();
      const biases = [[2, G * units], [G * units], [(G + 1) * units]].filter((s) => s.join() !== expected);
      for (const shape of biases) assert.throws(seq({ bias: rand(shape, 5) }), shaped('bias', shape));
      const wrongRows = { ...good, kernel: rand([inputDim + 1, G * units], 3) as tf.Tensor2D };
      assert.throws(() => spec.step(at(x, 0) as tf.Tensor2D, init, wrongRows, v0), shaped('kernel', [inputDim + 1, G * units]));
    });

    test('x of the wrong rank or without steps, initial states of the wrong shape or number, and units 0 are named', () => {
      assert.throws(() => spec.sequence(rand([batch, inputDim], 6) as unknown as tf.Tensor3D, good, v0), shaped('x', [batch, inputDim]));
      assert.throws(
        () => spec.sequence(tf.zeros([batch, 0, inputDim]) as tf.Tensor3D, good, v0),
        new RegExp(`${spec.errorPrefix}: x has no timesteps`),
      );
      const bad = [...init.slice(0, -1), tf.zeros([batch, units + 1]) as tf.Tensor2D];
      assert.throws(() => spec.sequence(x, good, v0, bad), shaped('initialState', [batch, units + 1]));
      const layer = built(spec, { units, ...v0 }, inputDim, good);
      assert.throws(() => layer.apply(x, { initialState: stateArg(bad) }), shaped('initialState', [batch, units + 1]));
      assert.throws(() => layer.apply(x, { initialState: [...init, init[0]] }), new RegExp(`initialState needs ${init.length} tensor`));
      assert.throws(() => spec.layer({ units: 0, ...v0 }), new RegExp(`${spec.errorPrefix}: units must be a positive integer`));
    });
  });
}

/** No leaked tensors; one set of graphs for any batch size. */
function registerLeakTests<V extends object>(spec: CellSpec<V>): void {
  const v0 = spec.variants[0];
  describe(`${spec.name}, no leaks`, () => {
    test('one set of graphs serves any batch size; model.predict and training leave no tensors behind; nor do the readable cell and gates()', async () => {
      const time = 70; // chunks 64 + 4 + 2
      const rnn = spec.layer({ units: 6, inputShape: [time, 4], dropout: 0.2, recurrentDropout: 0.2, seed: 2, ...v0 });
      const model = tf.sequential({ layers: [rnn, tf.layers.dense({ units: 1 })] });
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
      const batches = [2, 7, 1].map((n, i) => [rand([n, time, 4], 100 + i), rand([n, 1], 110 + i)] as const);
      for (const [x, y] of batches) await model.trainOnBatch(x, y); // first calls build the graphs
      const before = tf.memory().numTensors;
      for (const [x, y] of batches) {
        await model.trainOnBatch(x, y);
        tf.dispose(model.predict(x) as tf.Tensor);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      const x = batches[1][0] as tf.Tensor3D;
      const w = rnn.layerWeights();
      const plain = spec.sequence(x, w, v0);
      assertClose(rnn.apply(x) as tf.Tensor, lastStep(plain.h), 1e-5, 'batch of 7 after training');
      tf.dispose(Object.values(plain));
      const [x0, s0] = [at(x, 0) as tf.Tensor2D, initialStates(spec, 7, 6, 5)];
      const counted = tf.memory().numTensors;
      tf.dispose(Object.values(spec.sequence(x, w, v0)));
      tf.dispose(Object.values(spec.step(x0, s0, w, v0)));
      if (spec.gates) tf.dispose(Object.values(spec.gates(rnn, x)));
      assert.equal(tf.memory().numTensors, counted, 'the readable cell or gates() leaked');
    });
  });
}
