// The course's GRU: the readable gruStep / gruSequence (lib/cells/gru.ts) and the layer KerasGRU (lib/cells/gru-layer.ts,
// native graphs with a hand-written backward pass, lib/engine/gru-graphs.ts). The checks every cell passes are
// test/cells/harness.ts's, run here for reset-after and reset-before; this file adds what is the GRU's own:
// hand-worked examples of both variants, what tf.layers.gru cannot do, the interpolation on the unmasked h_{t-1},
// and gates held at 0 or 1 (fixedGates).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { gruSequence, gruStep } from '../../lib/cells/gru';
import { KerasGRU, holdGates, kerasGru, normalizeFixedGates, type FixedGates } from '../../lib/cells/gru-layer';
import { registerCellTests } from './harness';
import { built, finiteDifferenceCheck, gradientTest, randomWeights, type CellSpec } from './cell-checks';
import { gru64, NO_MASKS64, type Mat, type Seq, type Vec } from './reference64';
import { assertClose, flat, rand } from './helpers';

type GruVariant = { resetAfter: boolean; fixedGates?: FixedGates };

const gruSpec: CellSpec<GruVariant> = {
  name: 'KerasGRU',
  kind: 'kerasGru',
  errorPrefix: 'gru',
  blocks: 3,
  carried: ['h'],
  outputs: ['z', 'r', 'candidate', 'h'],
  variants: [{ resetAfter: true }, { resetAfter: false }],
  describe: (v) => `resetAfter = ${v.resetAfter}${v.fixedGates ? `, fixedGates ${JSON.stringify(v.fixedGates)}` : ''}: `,
  biasShape: (units, v) => (v.resetAfter ? [2, 3 * units] : [3 * units]),
  layer: (args) => kerasGru(args),
  layerClass: KerasGRU,
  // a held gate: the plain equations on holdGates's weights (lib/cells/gru-layer.ts)
  step: (x, [h], w, v) => gruStep(x, h, holdGates(w, v.fixedGates, v), v),
  sequence: (x, w, v, init) => gruSequence(x, holdGates(w, v.fixedGates, v), { resetAfter: v.resetAfter, initialState: init?.[0] }),
  reference64: (x, { W, U, b }, v, init, masks) =>
    gru64(x, W, U, b, { resetAfter: v.resetAfter, h0: init?.[0], masks, fixedGates: v.fixedGates }),
  gates: (layer, x, init) => (layer as KerasGRU).gates(x, init?.[0]),
  tfjs: {
    variant: { resetAfter: false },
    layer: (units) => tf.layers.gru({ units, recurrentActivation: 'sigmoid', returnSequences: true }),
  },
  defaultBias: (units) => Array(6 * units).fill(0),
  // 3 * (128*128 + 128*128 + 2*128) = 99,072; with the embedding (1,280,000) and the dense unit (129): 1,379,201
  referenceParams: { layer: 99_072, model: 1_379_201 },
  saveVariants: [{ resetAfter: true }, { resetAfter: false }],
};

registerCellTests(gruSpec);

// ---------------------------------------------------------------------------
// The GRU's own

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
    const layer = built(gruSpec, { units: 1, resetAfter: true }, 1, weights);
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
    const layer = built(gruSpec, { units: 1, resetAfter: false }, 1, weights);
    assertClose(layer.apply(x) as tf.Tensor, [0.372487022, -0.299251283], 1e-6, 'layer h');
  });
});

describe('what is only the GRU', () => {
  test('tf.layers.gru cannot do resetAfter = true, which is why KerasGRU exists', () => {
    const args = { units: 3, resetAfter: true };
    assert.throws(() => tf.layers.gru(args), /reset_after/);
  });

  test('reset-before keeps one bias row: 3 * (128*128 + 128*128 + 128) = 98,688 parameters at 128 units', () => {
    assert.equal(built(gruSpec, { units: 128, resetAfter: false }, 128).countParams(), 98_688);
  });

  test('recurrent dropout: the interpolation uses the unmasked h_{t-1}', () => {
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
    const layer = built(gruSpec, { units: 1, resetAfter: true, recurrentDropout: 0.5, seed: 5 }, 1, weights);
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
  });

  test('a bias of the wrong shape for the variant is rejected, saying how the two variants keep their biases', () => {
    const [kernel, recurrentKernel, x] = [tf.tensor2d([[0.5, 1, 2]]), tf.tensor2d([[1, -1, 1]]), tf.tensor3d([[[1], [-1]]])];
    const bias3 = tf.tensor1d([0, 0, 0.5]);
    assert.throws(
      () => gruSequence(x, { kernel, recurrentKernel, bias: bias3 }, { resetAfter: true }),
      /resetAfter=true keeps input and recurrent biases as two rows/,
    );
    assert.throws(
      () => gruStep(tf.tensor2d([[1]]), tf.zeros([1, 1]) as tf.Tensor2D, { kernel, recurrentKernel, bias: bias3 }),
      /gru: bias is \[3\]/,
    );
  });
});

// The held gate's blocks (columns z: 0..n-1, r: n..2n-1 of W, U and every bias row) get exactly zero gradient.
const heldBlocksAreZero = (fixedGates: FixedGates, grads: Record<string, tf.Tensor>, n: number) => {
  for (const [gate, block] of [
    ['update', 0],
    ['reset', 1],
  ] as const) {
    if (fixedGates[gate] === undefined) continue;
    for (const name of ['kernel', 'recurrentKernel', 'bias']) {
      const g = grads[name];
      const rows = g.rank === 1 ? g.reshape([1, -1]) : g;
      const cols = rows.slice([0, block * n], [rows.shape[0], n]);
      assert.deepEqual([...new Set(flat(cols).map(Math.abs))], [0], `${name}: the held ${gate} gate's block has a non-zero gradient`);
    }
  }
};

describe('fixed gates: a gate held at 0 or 1 (not a Keras option; notebook 05 measures what each gate buys)', () => {
  const [batch, time, inputDim, units] = [2, 5, 3, 4];
  const variants: FixedGates[] = [{ reset: 1 }, { reset: 0 }, { update: 0 }, { update: 1 }, { update: 0, reset: 1 }];

  for (const resetAfter of [true, false]) {
    for (const fixedGates of variants) {
      test(`resetAfter = ${resetAfter}, ${JSON.stringify(fixedGates)}: gruSequence on holdGates's weights, the layer and gates() equal the float64 equations with the gate held`, () => {
        const w = randomWeights(gruSpec, inputDim, units, { resetAfter }, 60);
        const x = rand([batch, time, inputDim], 61) as tf.Tensor3D;
        const h0 = rand([batch, units], 62, 0.9) as tf.Tensor2D;
        const [W, U, b] = [w.kernel.arraySync(), w.recurrentKernel.arraySync(), w.bias.arraySync() as Vec | Mat];
        const expected = gru64(x.arraySync() as Seq, W, U, b, { resetAfter, h0: h0.arraySync(), masks: NO_MASKS64, fixedGates }).h.flat(2);
        const seq = gruSequence(x, holdGates(w, fixedGates, { resetAfter }), { resetAfter, initialState: h0 });
        assertClose(seq.h, expected, 1e-5, 'gruSequence h');
        const layer = built(gruSpec, { units, resetAfter, fixedGates }, inputDim, w) as KerasGRU;
        assertClose(layer.apply(x, { initialState: h0 }) as tf.Tensor, expected, 1e-5, 'KerasGRU (native graphs) h');
        const read = layer.gates(x, h0);
        assertClose(read.h, expected, 1e-5, 'gates() h');
        // the held gate reads out as its constant at every step and unit
        if (fixedGates.update !== undefined) assert.deepEqual([...new Set(flat(read.z))], [fixedGates.update]);
        if (fixedGates.reset !== undefined) assert.deepEqual([...new Set(flat(read.r))], [fixedGates.reset]);
        // what holding means, in the state: z = 0 writes the candidate, z = 1 keeps h_0
        if (fixedGates.update === 0) assertClose(seq.h, seq.candidate, 0, 'z = 0: h_t = candidate_t');
        if (fixedGates.update === 1) assertClose(seq.h, tf.stack(Array(time).fill(h0), 1), 1e-6, 'z = 1: h_t = h_0');
      });
    }
  }

  test('holdGates: with r held at 1 the candidate sees the whole recurrent term; at 0 none of it; the other gate is untouched', () => {
    const w = randomWeights(gruSpec, inputDim, units, { resetAfter: true }, 70);
    const x = rand([batch, inputDim], 71) as tf.Tensor2D;
    const hPrev = rand([batch, units], 72, 0.9) as tf.Tensor2D;
    const [Wh, Uh] = [w.kernel, w.recurrentKernel].map((m) => tf.split(m, 3, 1)[2]);
    const [bIn, bRec] = tf.unstack(w.bias).map((b) => tf.split(b, 3)[2]);
    const inputSide = tf.matMul(x, Wh).add(bIn);
    const open = gruStep(x, hPrev, holdGates(w, { reset: 1 }));
    assertClose(open.candidate, tf.tanh(inputSide.add(tf.matMul(hPrev, Uh)).add(bRec)), 1e-6, 'r = 1');
    assert.deepEqual([...new Set(flat(open.r))], [1]);
    const shut = gruStep(x, hPrev, holdGates(w, { reset: 0 }));
    assertClose(shut.candidate, tf.tanh(inputSide), 1e-6, 'r = 0: the input alone');
    assert.deepEqual([...new Set(flat(shut.r))], [0]);
    // the computed gates are untouched by holding the other one; no held gate: the weights themselves
    const free = gruStep(x, hPrev, w);
    assertClose(open.z, free.z, 0, 'z when r is held');
    assert.equal(holdGates(w, undefined), w);
  });
});

describe('fixedGates, the layer option: what it accepts, and save and load', () => {
  test('anything but { update?: 0 | 1, reset?: 0 | 1 } is rejected with what to write instead', () => {
    assert.deepEqual(normalizeFixedGates({ reset: 1, update: 0 }), { update: 0, reset: 1 });
    assert.equal(normalizeFixedGates({}), null);
    assert.equal(normalizeFixedGates(undefined), null);
    assert.throws(() => normalizeFixedGates({ reset: 0.5 }), /fixedGates\.reset must be 0 or 1/);
    assert.throws(() => normalizeFixedGates({ forget: 1 }), /knows the gates "update" and "reset", not "forget"/);
    assert.throws(() => normalizeFixedGates('open'), /must be an object like \{ reset: 1 \}/);
    assert.throws(() => kerasGru({ units: 2, fixedGates: { update: 2 as 0 } }), /fixedGates\.update must be 0 or 1/);
    assert.throws(
      () => holdGates(randomWeights(gruSpec, 3, 4, { resetAfter: true }, 1), { reset: -1 as 0 }),
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

describe("fixed gates: gradients (the held gate's weights get none)", () => {
  // the layer against autodiff of the plain equations with the gate held (its graphs use the constant)
  const autodiffCases = [
    { resetAfter: true, returnSequences: false, time: 133, dropout: 0.3, fixedGates: { reset: 1 } },
    { resetAfter: true, returnSequences: true, time: 6, dropout: 0, fixedGates: { update: 0 } },
    { resetAfter: false, returnSequences: true, time: 133, dropout: 0.3, fixedGates: { reset: 1 } },
    { resetAfter: false, returnSequences: false, time: 6, dropout: 0.3, fixedGates: { update: 0, reset: 0 } },
    { resetAfter: true, returnSequences: true, time: 6, dropout: 0.3, fixedGates: { update: 1 } },
  ] as const;
  for (const { resetAfter, returnSequences, time: steps, dropout, fixedGates } of autodiffCases) {
    // with z held at 1, h_t = h_{t-1}: the output cannot depend on the masks
    const masksMatter = !('update' in fixedGates && fixedGates.update === 1);
    const c = {
      variant: { resetAfter, fixedGates },
      returnSequences,
      time: steps,
      dropout,
      recurrentDropout: dropout,
      initialState: true,
      masksMatter,
    };
    gradientTest(gruSpec, c, (r) => heldBlocksAreZero(fixedGates, r.layerGrads, r.units));
  }

  // and against float64 finite differences
  const fdVariants: GruVariant[] = [
    { resetAfter: true, fixedGates: { reset: 1 } },
    { resetAfter: false, fixedGates: { reset: 1 } },
    { resetAfter: true, fixedGates: { update: 0 } },
    { resetAfter: false, fixedGates: { reset: 0 } },
    { resetAfter: false, fixedGates: { update: 0, reset: 1 } },
  ];
  for (const v of fdVariants) {
    test(`${gruSpec.describe(v)}finite differences (float64, dropout on) agree with the layer gradient; the held gate's weights get none`, () => {
      const grads = finiteDifferenceCheck(gruSpec, v);
      heldBlocksAreZero(v.fixedGates!, grads, 3);
    });
  }
});
