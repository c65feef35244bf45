import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { FixedGates, GruWeights, KerasGRU, PerGate, gruSequence, gruStep, kerasGru, normalizeFixedGates } from '../../lib/cells/gru';
import { asWeightList, assertClose, builtLayer, flat, maxAbsDiff, rand, randomWeights } from './gru-helpers';

// ---------------------------------------------------------------------------
// Helpers

type Vec = number[];
type Mat = number[][];
type Seq = number[][][]; // [batch][time][feature]

const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

// An independent float64 GRU written with plain loops: the yardstick for the
// tf implementation and the function we finite-difference.
// `fixed` holds a gate at 0 or 1 instead of computing it (lib/cells/gru.ts, fixedGates).
function referenceGru(x: Seq, W: Mat, U: Mat, bias: Vec | Mat, resetAfter: boolean, h0?: Mat, fixed: FixedGates = {}): Seq {
  const units = U.length;
  const bIn = resetAfter ? (bias as Mat)[0] : (bias as Vec);
  const bRec = resetAfter ? (bias as Mat)[1] : null;
  return x.map((xs, b) => {
    let h = h0 ? [...h0[b]] : new Array<number>(units).fill(0);
    return xs.map((xt) => {
      const xw = (col: number) => xt.reduce((s, xi, i) => s + xi * W[i][col], bIn[col]);
      const hu = (v: Vec, col: number) => v.reduce((s, vj, j) => s + vj * U[j][col], 0);
      const rb = (col: number) => (bRec ? bRec[col] : 0);
      const z = h.map((_, k) => fixed.update ?? sigmoid(xw(k) + hu(h, k) + rb(k)));
      const r = h.map((_, k) => fixed.reset ?? sigmoid(xw(units + k) + hu(h, units + k) + rb(units + k)));
      const rh = h.map((hj, j) => r[j] * hj);
      const cand = h.map((_, k) => {
        const c = 2 * units + k;
        return Math.tanh(resetAfter ? xw(c) + r[k] * (hu(h, c) + rb(c)) : xw(c) + hu(rh, c));
      });
      h = h.map((hk, k) => z[k] * hk + (1 - z[k]) * cand[k]);
      return h;
    });
  });
}

// ---------------------------------------------------------------------------

describe('hand-worked examples (1 unit, 2 steps)', () => {
  // Weights shared by both variants, Keras layout, blocks z | r | h:
  //   kernel          [[Wz, Wr, Wh]] = [[0.5, 1, 2]]
  //   recurrentKernel [[Uz, Ur, Uh]] = [[1, -1, 1]]
  //   inputs x_1 = 1, x_2 = -1, h_0 = 0
  const kernel = tf.tensor2d([[0.5, 1, 2]]);
  const recurrentKernel = tf.tensor2d([[1, -1, 1]]);
  const x = tf.tensor3d([[[1], [-1]]]);

  test('resetAfter = true (Keras default)', () => {
    // bias rows: input [0, 0, 0], recurrent [0, 0, 0.5], i.e. only b_rec,h = 0.5,
    // which sits INSIDE the reset gate: candidate = tanh(x Wh + r * (h Uh + 0.5)).
    //
    // step 1 (x = 1, h0 = 0):
    //   z = sigmoid(0.5*1 + 1*0)          = sigmoid(0.5)     = 0.6224593312
    //   r = sigmoid(1*1 - 1*0)            = sigmoid(1)       = 0.7310585786
    //   candidate = tanh(2*1 + r*(1*0 + 0.5)) = tanh(2.3655292893) = 0.9825198598
    //   h1 = z*0 + (1 - z)*candidate = 0.3775406688 * 0.9825198598 = 0.3709412050
    // step 2 (x = -1, h1 = 0.3709412050):
    //   z = sigmoid(-0.5 + 0.3709412050)  = sigmoid(-0.1290587950) = 0.4677800106
    //   r = sigmoid(-1 - 0.3709412050)    = sigmoid(-1.3709412050) = 0.2024678232
    //   candidate = tanh(-2 + r*(0.3709412050 + 0.5)) = tanh(-1.8236624301) = -0.9492023221
    //   h2 = z*h1 + (1 - z)*candidate = 0.4677800106*0.3709412050 + 0.5322199894*(-0.9492023221)
    //      = 0.1735189 - 0.5051845 = -0.3316655690
    const weights = {
      kernel,
      recurrentKernel,
      bias: tf.tensor2d([
        [0, 0, 0],
        [0, 0, 0.5],
      ]),
    };
    const out = gruSequence(x, weights, { resetAfter: true });
    assertClose(out.z, [0.6224593312, 0.4677800106], 1e-6, 'z');
    assertClose(out.r, [0.7310585786, 0.2024678232], 1e-6, 'r');
    assertClose(out.candidate, [0.9825198598, -0.9492023221], 1e-6, 'candidate');
    assertClose(out.h, [0.370941205, -0.331665569], 1e-6, 'h');

    // gruStep reproduces step 1 on its own; the layer reproduces h.
    const step = gruStep(tf.tensor2d([[1]]), tf.zeros([1, 1]) as tf.Tensor2D, weights);
    assertClose(step.h, [0.370941205], 1e-6, 'gruStep h');
    const layer = builtLayer({ units: 1, resetAfter: true }, 1, weights);
    assertClose(layer.apply(x) as tf.Tensor, [0.370941205, -0.331665569], 1e-6, 'layer h');
  });

  test('resetAfter = false (tf.layers.gru, original GRU)', () => {
    // bias [bz, br, bh] = [0, 0, 0.5]: one bias, OUTSIDE the reset gate:
    //   candidate = tanh(x Wh + (r * h) Uh + 0.5).
    //
    // step 1 (x = 1, h0 = 0): z and r as above (0.6224593312, 0.7310585786)
    //   candidate = tanh(2*1 + (r*0)*1 + 0.5) = tanh(2.5) = 0.9866142982
    //   h1 = (1 - z)*candidate = 0.3775406688 * 0.9866142982 = 0.3724870220
    //   (differs from resetAfter=true already: there r scaled the 0.5 bias)
    // step 2 (x = -1, h1 = 0.3724870220):
    //   z = sigmoid(-0.5 + 0.3724870220) = sigmoid(-0.1275129780) = 0.4681648792
    //   r = sigmoid(-1 - 0.3724870220)   = sigmoid(-1.3724870220) = 0.2022183278
    //   candidate = tanh(-2 + (r*h1)*1 + 0.5) = tanh(-1.5 + 0.0753237030) = tanh(-1.4246762970)
    //             = -0.8905704159
    //   h2 = z*h1 + (1 - z)*candidate = 0.4681648792*0.3724870220 + 0.5318351208*(-0.8905704159)
    //      = 0.1743853 - 0.4736366 = -0.2992512830
    const weights = { kernel, recurrentKernel, bias: tf.tensor1d([0, 0, 0.5]) };
    const out = gruSequence(x, weights, { resetAfter: false });
    assertClose(out.z, [0.6224593312, 0.4681648792], 1e-6, 'z');
    assertClose(out.r, [0.7310585786, 0.2022183278], 1e-6, 'r');
    assertClose(out.candidate, [0.9866142982, -0.8905704159], 1e-6, 'candidate');
    assertClose(out.h, [0.372487022, -0.299251283], 1e-6, 'h');

    const step = gruStep(tf.tensor2d([[-1]]), tf.tensor2d([[0.372487022]]), weights, { resetAfter: false });
    assertClose(step.candidate, [-0.8905704159], 1e-6, 'gruStep candidate');
    assertClose(step.h, [-0.299251283], 1e-6, 'gruStep h');
    const layer = builtLayer({ units: 1, resetAfter: false }, 1, weights);
    assertClose(layer.apply(x) as tf.Tensor, [0.372487022, -0.299251283], 1e-6, 'layer h');
  });

  test('a bias of the wrong shape for the variant is rejected', () => {
    const bias3 = tf.tensor1d([0, 0, 0.5]);
    assert.throws(() => gruSequence(x, { kernel, recurrentKernel, bias: bias3 }, { resetAfter: true }), /resetAfter=true/);
  });
});

describe('agreement: gruSequence, gruStep, KerasGRU, tf.layers.gru, float64 reference', () => {
  const [batch, time, inputDim, units] = [3, 5, 4, 3];
  const x = rand([batch, time, inputDim], 11) as tf.Tensor3D;
  const h0 = rand([batch, units], 12, 0.9) as tf.Tensor2D;

  test('resetAfter = false matches tf.layers.gru (sigmoid gates), with and without an initial state', () => {
    const w = randomWeights(inputDim, units, false, 20);
    const tfjsGru = tf.layers.gru({ units, recurrentActivation: 'sigmoid', returnSequences: true });
    tfjsGru.apply(x); // builds it (RNN.build alone leaves the layer unbuilt, so apply would build again)
    tfjsGru.setWeights(asWeightList(w)); // same shapes and z|r|h block order as Keras
    const ours = builtLayer({ units, resetAfter: false }, inputDim, w);

    for (const initialState of [undefined, h0]) {
      const kwargs = initialState ? { initialState: [initialState] } : {};
      const expected = tfjsGru.apply(x, kwargs) as tf.Tensor;
      const seq = gruSequence(x, w, { resetAfter: false, initialState });
      assertClose(seq.h, expected, 1e-5, 'gruSequence vs tf.layers.gru');
      assertClose(ours.apply(x, kwargs) as tf.Tensor, expected, 1e-5, 'KerasGRU vs tf.layers.gru');
    }
  });

  for (const resetAfter of [true, false]) {
    test(`resetAfter = ${resetAfter}: layer, gruSequence and gruStep agree with a float64 reference`, () => {
      const w = randomWeights(inputDim, units, resetAfter, 30);
      const expected = referenceGru(
        x.arraySync(),
        w.kernel.arraySync(),
        w.recurrentKernel.arraySync(),
        w.bias.arraySync() as Vec | Mat,
        resetAfter,
        h0.arraySync(),
      );
      const seq = gruSequence(x, w, { resetAfter, initialState: h0 });
      assertClose(seq.h, tf.tensor(expected), 1e-5, 'gruSequence');

      const layer = builtLayer({ units, resetAfter }, inputDim, w);
      assertClose(layer.apply(x, { initialState: h0 }) as tf.Tensor, seq.h, 1e-5, 'layer (sequences)');
      const last = builtLayer({ units, resetAfter, returnSequences: false }, inputDim, w);
      const hT = tf.tensor(expected.map((s) => s[time - 1]));
      assertClose(last.apply(x, { initialState: h0 }) as tf.Tensor, hT, 1e-5, 'layer (last step)');
      assertClose(layer.gates(x, h0).z, seq.z, 0, 'layer.gates');

      // chaining gruStep by hand reproduces every gate of every step
      let h = h0;
      tf.unstack(x, 1).forEach((xt, t) => {
        const step = gruStep(xt as tf.Tensor2D, h, w, { resetAfter });
        const at = (s: tf.Tensor3D) => s.slice([0, t, 0], [batch, 1, units]).reshape([batch, units]);
        for (const k of ['z', 'r', 'candidate', 'h'] as const) assertClose(step[k], at(seq[k]), 1e-6, `step ${t} ${k}`);
        h = step.h;
      });
    });
  }

  test('tf.layers.gru cannot do resetAfter = true, which is why KerasGRU exists', () => {
    const args = { units, resetAfter: true };
    assert.throws(() => tf.layers.gru(args), /reset_after/);
  });
});

describe('gradients', () => {
  const [batch, time, inputDim, units] = [2, 4, 3, 3];

  const variants: Array<{ resetAfter: boolean; fixedGates?: FixedGates }> = [
    { resetAfter: true },
    { resetAfter: false },
    // a held gate: the layer's graphs use the constant, and its weights get zero gradient
    { resetAfter: true, fixedGates: { reset: 1 } },
    { resetAfter: false, fixedGates: { reset: 1 } },
    { resetAfter: true, fixedGates: { update: 0 } },
    { resetAfter: false, fixedGates: { reset: 0 } },
    { resetAfter: false, fixedGates: { update: 0, reset: 1 } },
  ];
  for (const { resetAfter, fixedGates } of variants) {
    const held = fixedGates ? `, fixedGates ${JSON.stringify(fixedGates)}` : '';
    test(`resetAfter = ${resetAfter}${held}: d loss / d (kernel, recurrentKernel, bias, x) match central differences`, () => {
      const w = randomWeights(inputDim, units, resetAfter, 40);
      const layer = builtLayer({ units, resetAfter, fixedGates }, inputDim, w);
      const x = tf.variable(rand([batch, time, inputDim], 41));
      const coeff = rand([batch, time, units], 42); // loss = sum(coeff * h): touches every output
      // LayerVariable.read() hands back the tf.Variable the layer computes with (typed as Tensor)
      const [kernel, recurrentKernel, bias] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, coeff)) as tf.Scalar,
        [kernel, recurrentKernel, bias, x],
      );

      // The same loss in float64 JavaScript; finite differences there are exact to ~1e-9,
      // so any mismatch beyond float32 noise is a wrong gradient in the layer.
      const params = {
        W: w.kernel.arraySync(),
        U: w.recurrentKernel.arraySync(),
        b: w.bias.arraySync() as Vec | Mat,
        x: x.arraySync() as Seq,
      };
      const c = coeff.arraySync() as Seq;
      const loss = () => {
        const h = referenceGru(params.x, params.W, params.U, params.b, resetAfter, undefined, fixedGates);
        return h.reduce((s, hb, b) => s + hb.reduce((s2, ht, t) => s2 + ht.reduce((s3, v, k) => s3 + v * c[b][t][k], 0), 0), 0);
      };
      assert.ok(Math.abs(value.dataSync()[0] - loss()) < 1e-5, 'forward loss differs from the reference');

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
          assert.ok(Math.abs(analytic[i] - g) <= 2e-5 + 1e-4 * Math.abs(g), `${name}[${i}]: autodiff ${analytic[i]} vs numeric ${g}`);
        });
      }
      // The held gate's blocks (columns z: 0..n-1, r: n..2n-1 of W, U and every bias row) get exactly zero gradient.
      for (const [gate, block] of [
        ['update', 0],
        ['reset', 1],
      ] as const) {
        if (fixedGates?.[gate] === undefined) continue;
        for (const [name, variable] of [
          ['kernel', kernel],
          ['recurrentKernel', recurrentKernel],
          ['bias', bias],
        ] as const) {
          const g = grads[variable.name];
          const rows = g.rank === 1 ? g.reshape([1, -1]) : g;
          const cols = rows.slice([0, block * units], [rows.shape[0], units]);
          assert.deepEqual([...new Set(flat(cols).map(Math.abs))], [0], `${name}: the held ${gate} gate's block has a non-zero gradient`);
        }
      }
    });
  }

  test('model.fit trains the layer (with dropout on): loss falls, every weight moves', async () => {
    const x = rand([32, 6, 3], 50);
    const y = tf.sum(x, [1, 2]).greater(0).cast('float32').reshape([32, 1]); // "is the sum positive?"
    const model = tf.sequential({
      layers: [
        kerasGru({ units: 8, inputShape: [6, 3], dropout: 0.1, recurrentDropout: 0.1, seed: 1 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
    const gru = model.layers[0] as KerasGRU;
    const before = gru.getWeights().map((t) => t.clone());
    const history = await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
    const losses = history.history.loss as number[];
    assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss did not fall: ${losses[0]} -> ${losses[losses.length - 1]}`);
    gru.getWeights().forEach((t, i) => assert.ok(maxAbsDiff(t, before[i]) > 1e-3, `weight ${i} did not change`));
  });
});

describe('dropout (Keras semantics)', () => {
  test('input masks: one per sequence (constant over time), per sample, scaled by 1/(1-rate)', () => {
    // z ~ 0 (input bias -30) and U = 0, so h_t = candidate_t = tanh((x_t * m) Wh).
    // x_t is the same at every step, so h_t is constant over time iff the mask is.
    const [batch, time, inputDim, units] = [24, 5, 3, 2];
    const Wh = rand([inputDim, units], 60);
    const kernel = tf.concat([tf.zeros([inputDim, 2 * units]), Wh], 1) as tf.Tensor2D;
    const bias = tf.tensor2d([[...Array(units).fill(-30), ...Array(2 * units).fill(0)], Array(3 * units).fill(0)]);
    const weights = { kernel, recurrentKernel: tf.zeros([units, 3 * units]) as tf.Tensor2D, bias };
    const layer = builtLayer({ units, resetAfter: true, dropout: 0.5, seed: 3 }, inputDim, weights);
    const v = rand([batch, 1, inputDim], 61);
    const x = tf.tile(v, [1, time, 1]) as tf.Tensor3D;

    const h = layer.apply(x, { training: true }) as tf.Tensor3D;
    const first = h.slice([0, 0, 0], [batch, 1, units]);
    assertClose(h, tf.tile(first, [1, time, 1]), 1e-6, 'h_t changes over time: mask redrawn per step?');

    // each sample's h matches tanh((v * m) Wh) for some mask m in {0, 2}^inputDim
    const masks = [...Array(2 ** inputDim).keys()].map((bits) => [...Array(inputDim).keys()].map((i) => ((bits >> i) & 1) * 2));
    const vs = v.reshape([batch, inputDim]).arraySync() as Mat;
    const firstRows = first.reshape([batch, units]).arraySync() as Mat;
    const used = new Set<number>();
    vs.forEach((vb, b) => {
      const hit = masks.findIndex((m) => {
        const hb = tf.tidy(() => tf.tanh(tf.matMul(tf.tensor2d([vb.map((vi, i) => vi * m[i])]), Wh)).dataSync());
        return hb.every((val, k) => Math.abs(val - firstRows[b][k]) < 1e-5);
      });
      assert.ok(hit >= 0, `sample ${b} is not explained by any {0, 2} mask`);
      used.add(hit);
    });
    assert.ok(used.size > 1, 'every sample got the same mask');
  });

  test('recurrent masks: one per sequence, separate per gate; the mix uses the unmasked h_{t-1}', () => {
    // units = 1, x = 0, h_0 = 1, reset gate r ~ 1 (recurrent bias +30), Uz = 0 so z = 0.5.
    // With Uh = 1 and candidate mask m in {0, 2}:
    //   h_t = 0.5 * h_{t-1} + 0.5 * tanh(m * h_{t-1})
    // m = 0 gives h_t = 0.5^t exactly; that needs the UNMASKED h_{t-1} in the mix.
    const [batch, time] = [48, 4];
    const weights = {
      kernel: tf.zeros([1, 3]) as tf.Tensor2D,
      recurrentKernel: tf.tensor2d([[0, 0, 1]]),
      bias: tf.tensor2d([
        [0, 0, 0],
        [0, 30, 0],
      ]),
    };
    const layer = builtLayer({ units: 1, resetAfter: true, recurrentDropout: 0.5, seed: 5 }, 1, weights);
    const h = (layer.apply(tf.zeros([batch, time, 1]), { training: true, initialState: tf.ones([batch, 1]) }) as tf.Tensor)
      .reshape([batch, time])
      .arraySync() as Mat;
    const trajectory = (m: number) => {
      let hPrev = 1;
      return [...Array(time)].map(() => (hPrev = 0.5 * hPrev + 0.5 * Math.tanh(m * hPrev)));
    };
    const seen = new Set<number>();
    h.forEach((row, b) => {
      const m = [0, 2].find((mask) => trajectory(mask).every((v, t) => Math.abs(v - row[t]) < 1e-5));
      assert.ok(m !== undefined, `sample ${b} follows no constant-mask trajectory: ${row}`);
      seen.add(m);
    });
    assert.equal(seen.size, 2, 'expected both kept and dropped samples');

    // Separate masks per gate: make z read h_{t-1} too (Uz = 1, r bias as before), one step.
    // (m_z, m_h) -> h_1 = sigmoid(m_z) + (1 - sigmoid(m_z)) * tanh(m_h): four distinct values,
    // and a single shared mask could only produce two of them.
    const both = builtLayer({ units: 1, resetAfter: true, recurrentDropout: 0.5, seed: 6 }, 1, {
      ...weights,
      recurrentKernel: tf.tensor2d([[1, 0, 1]]),
    });
    const h1 = flat(both.apply(tf.zeros([batch, 1, 1]), { training: true, initialState: tf.ones([batch, 1]) }) as tf.Tensor);
    const combos = [
      [0, 0],
      [0, 2],
      [2, 0],
      [2, 2],
    ].map(([mz, mh]) => sigmoid(mz) + (1 - sigmoid(mz)) * Math.tanh(mh));
    const found = new Set(h1.map((v) => combos.findIndex((c) => Math.abs(c - v) < 1e-5)));
    assert.ok(!found.has(-1), 'an output matches no (m_z, m_h) combination');
    assert.equal(found.size, 4, `only combinations ${[...found]} occurred: masks shared between gates?`);
  });

  test('only in training: inference is deterministic and dropout-free; seeds reproduce masks', () => {
    const [inputDim, units] = [4, 3];
    const w = randomWeights(inputDim, units, true, 70);
    const x = rand([6, 5, inputDim], 71) as tf.Tensor3D;
    const make = (seed: number) => builtLayer({ units, resetAfter: true, dropout: 0.3, recurrentDropout: 0.3, seed }, inputDim, w);
    const layer = make(9);

    const inference = layer.apply(x) as tf.Tensor;
    assertClose(layer.apply(x, { training: false }) as tf.Tensor, inference, 0, 'inference not deterministic');
    assertClose(inference, gruSequence(x, w).h, 1e-6, 'inference should equal the dropout-free GRU');

    const train1 = layer.apply(x, { training: true }) as tf.Tensor;
    const train2 = layer.apply(x, { training: true }) as tf.Tensor;
    assert.ok(maxAbsDiff(train1, inference) > 1e-3, 'training output equals inference output');
    assert.ok(maxAbsDiff(train1, train2) > 1e-3, 'masks were not redrawn between calls');

    // a fresh layer with the same seed replays the same masks; another seed does not
    assertClose(make(9).apply(x, { training: true }) as tf.Tensor, train1, 0, 'same seed, different masks');
    assert.ok(maxAbsDiff(make(10).apply(x, { training: true }) as tf.Tensor, train1) > 1e-3, 'seed ignored');
  });
});

describe('saving and loading', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  for (const [resetAfter, returnSequences] of [
    [true, false],
    [false, true],
  ]) {
    test(`resetAfter = ${resetAfter}, returnSequences = ${returnSequences}: file:// round trip keeps predictions and config`, async () => {
      const model = tf.sequential({
        layers: [
          kerasGru({ units: 4, inputShape: [5, 3], resetAfter, returnSequences, dropout: 0.2, recurrentDropout: 0.1, seed: 3 }),
          tf.layers.dense({ units: 1, activation: 'sigmoid' }), // per timestep when returnSequences
        ],
      });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gru-test-'));
      dirs.push(dir);
      await model.save(`file://${dir}`);
      const loaded = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);

      const x = rand([7, 5, 3], 80);
      assert.deepEqual(flat(loaded.predict(x) as tf.Tensor), flat(model.predict(x) as tf.Tensor));
      const [original, restored] = [model.layers[0], loaded.layers[0]];
      assert.ok(original instanceof KerasGRU && restored instanceof KerasGRU);
      const settings = (l: KerasGRU) => [l.units, l.resetAfter, l.dropout, l.recurrentDropout, l.returnSequences, l.seed];
      assert.deepEqual(settings(restored), [4, resetAfter, 0.2, 0.1, returnSequences, 3]);
      assert.deepEqual(settings(original), settings(restored));
      assert.deepEqual(loaded.layers[0].getConfig(), model.layers[0].getConfig());
      assert.deepEqual(loaded.getConfig(), model.getConfig());
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      assert.equal(json.modelTopology.config.layers[0].class_name, 'KerasGRU');
    });
  }
});

describe('fixed gates: a gate held at 0 or 1 (not a Keras option; notebook 05 measures what each gate buys)', () => {
  const [batch, time, inputDim, units] = [2, 5, 3, 4];
  const variants: FixedGates[] = [{ reset: 1 }, { reset: 0 }, { update: 0 }, { update: 1 }, { update: 0, reset: 1 }];

  for (const resetAfter of [true, false]) {
    for (const fixedGates of variants) {
      test(`resetAfter = ${resetAfter}, ${JSON.stringify(fixedGates)}: gruSequence, the layer and gates() equal the float64 equations with the gate held`, () => {
        const w = randomWeights(inputDim, units, resetAfter, 60);
        const x = rand([batch, time, inputDim], 61) as tf.Tensor3D;
        const h0 = rand([batch, units], 62, 0.9) as tf.Tensor2D;
        const expected = referenceGru(
          x.arraySync() as Seq,
          w.kernel.arraySync(),
          w.recurrentKernel.arraySync(),
          w.bias.arraySync() as Vec | Mat,
          resetAfter,
          h0.arraySync(),
          fixedGates,
        );
        const seq = gruSequence(x, w, { resetAfter, initialState: h0, fixedGates });
        assertClose(seq.h, expected.flat(2), 1e-5, 'gruSequence h');
        const layer = builtLayer({ units, resetAfter, fixedGates }, inputDim, w);
        assertClose(layer.apply(x, { initialState: h0 }) as tf.Tensor, expected.flat(2), 1e-5, 'KerasGRU (native graphs) h');
        const read = layer.gates(x, h0);
        assertClose(read.h, expected.flat(2), 1e-5, 'gates() h');
        // the held gate reads out as its constant at every step and unit
        if (fixedGates.update !== undefined) assert.deepEqual([...new Set(flat(read.z))], [fixedGates.update]);
        if (fixedGates.reset !== undefined) assert.deepEqual([...new Set(flat(read.r))], [fixedGates.reset]);
        // what holding means, in the state: z = 0 writes the candidate, z = 1 keeps h_0
        if (fixedGates.update === 0) assertClose(seq.h, seq.candidate, 0, 'z = 0: h_t = candidate_t');
        if (fixedGates.update === 1) assertClose(seq.h, tf.stack(Array(time).fill(h0), 1), 1e-6, 'z = 1: h_t = h_0');
      });
    }
  }

  test('gruStep with r held at 1: the candidate sees the whole recurrent term; at 0: none of it', () => {
    const w = randomWeights(inputDim, units, true, 70);
    const x = rand([batch, inputDim], 71) as tf.Tensor2D;
    const hPrev = rand([batch, units], 72, 0.9) as tf.Tensor2D;
    const [Wh, Uh] = [w.kernel, w.recurrentKernel].map((m) => tf.split(m, 3, 1)[2]);
    const [bIn, bRec] = tf.unstack(w.bias).map((b) => tf.split(b, 3)[2]);
    const inputSide = tf.matMul(x, Wh).add(bIn);
    const open = gruStep(x, hPrev, w, { fixedGates: { reset: 1 } });
    assertClose(open.candidate, tf.tanh(inputSide.add(tf.matMul(hPrev, Uh)).add(bRec)), 1e-6, 'r = 1');
    const shut = gruStep(x, hPrev, w, { fixedGates: { reset: 0 } });
    assertClose(shut.candidate, tf.tanh(inputSide), 1e-6, 'r = 0: the input alone');
    // the computed gates are untouched by holding the other one
    const free = gruStep(x, hPrev, w);
    assertClose(open.z, free.z, 0, 'z when r is held');
  });

  test('anything but { update?: 0 | 1, reset?: 0 | 1 } is rejected with what to write instead', () => {
    assert.deepEqual(normalizeFixedGates({ reset: 1, update: 0 }), { update: 0, reset: 1 });
    assert.equal(normalizeFixedGates({}), null);
    assert.equal(normalizeFixedGates(undefined), null);
    assert.throws(() => normalizeFixedGates({ reset: 0.5 }), /fixedGates\.reset must be 0 or 1/);
    assert.throws(() => normalizeFixedGates({ forget: 1 }), /knows the gates "update" and "reset", not "forget"/);
    assert.throws(() => normalizeFixedGates('open'), /must be an object like \{ reset: 1 \}/);
    assert.throws(() => kerasGru({ units: 2, fixedGates: { update: 2 as 0 } }), /fixedGates\.update must be 0 or 1/);
    assert.throws(
      () =>
        gruStep(tf.zeros([1, 3]) as tf.Tensor2D, tf.zeros([1, 4]) as tf.Tensor2D, randomWeights(3, 4, true, 1), {
          fixedGates: { reset: -1 as 0 },
        }),
      /fixedGates\.reset must be 0 or 1/,
    );
  });

  test('save and load keep the held gates (getConfig) and the predictions; a free layer saves no fixedGates key', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gru-fixed-'));
    try {
      const model = tf.sequential({
        layers: [kerasGru({ units: 4, inputShape: [6, 3], fixedGates: { reset: 1, update: 0 } }), tf.layers.dense({ units: 1 })],
      });
      await model.save(`file://${dir}`);
      const loaded = await tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
      const restored = loaded.layers[0] as KerasGRU;
      assert.deepEqual(restored.fixedGates, { update: 0, reset: 1 });
      assert.deepEqual(restored.getConfig().fixedGates, { update: 0, reset: 1 });
      const x = rand([5, 6, 3], 81);
      assert.deepEqual(flat(loaded.predict(x) as tf.Tensor), flat(model.predict(x) as tf.Tensor));
      assert.deepEqual([...new Set(flat(restored.gates(x as tf.Tensor3D).r))], [1]);
      assert.ok(!('fixedGates' in kerasGru({ units: 2 }).getConfig()), 'a free GRU has no fixedGates in its config');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Keras compatibility of the layer', () => {
  test('reference model Embedding(10000,128) -> GRU(128) -> Dense(1) has 1,379,201 parameters', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10000, outputDim: 128, inputShape: [null] }),
        kerasGru({ units: 128 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    const gru = model.layers[1] as KerasGRU;
    assert.equal(gru.countParams(), 3 * (128 * 128 + 128 * 128 + 2 * 128)); // 99,072
    assert.equal(gru.countParams(), 99072);
    assert.deepEqual(
      gru.getWeights().map((t) => t.shape),
      [
        [128, 384],
        [128, 384],
        [2, 384],
      ],
    );
    assert.equal(model.countParams(), 1379201);
    // reset-before has one bias row fewer: 3 * (128*128 + 128*128 + 128) = 98,688
    assert.equal(builtLayer({ units: 128, resetAfter: false }, 128).countParams(), 98688);
  });

  test('default initialisers: glorot-uniform kernel, orthogonal recurrent kernel, zero bias', () => {
    const [inputDim, units] = [16, 16];
    const layer = kerasGru({ units });
    layer.build([null, null, inputDim]);
    const [kernel, recurrentKernel, bias] = layer.getWeights();

    // glorot uniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)), variance limit^2 / 3.
    // (tfjs's glorotNormal default would overshoot the limit on ~4% of entries.)
    const limit = Math.sqrt(6 / (inputDim + 3 * units));
    const k = flat(kernel);
    assert.ok(
      k.every((v) => Math.abs(v) <= limit + 1e-7),
      'kernel exceeds the glorot-uniform limit',
    );
    assert.ok(Math.max(...k.map(Math.abs)) > 0.95 * limit, 'kernel does not fill the glorot-uniform range');
    const variance = k.reduce((s, v) => s + v * v, 0) / k.length;
    assert.ok(Math.abs(variance / ((limit * limit) / 3) - 1) < 0.15, `kernel variance ${variance}`);

    // Keras's Orthogonal on [units, 3*units] gives orthonormal ROWS: U U^T = I
    const gram = tf.matMul(recurrentKernel, recurrentKernel, false, true);
    assertClose(gram, tf.eye(units), 1e-5, 'recurrent kernel rows are not orthonormal');

    assert.deepEqual(bias.shape, [2, 3 * units]);
    assert.ok(
      flat(bias).every((v) => v === 0),
      'bias is not zero',
    );
  });
});
