// The course's LSTM: the readable lstmStep / lstmSequence (lib/cells/lstm.ts) and the layer KerasLSTM
// (lib/cells/lstm-layer.ts, native graphs with a hand-written backward pass, lib/engine/lstm-graphs.ts). The checks
// every cell passes are test/cells/harness.ts's; this file adds what is the LSTM's own: a hand-worked example,
// unit_forget_bias, and the cell state c_t, carried and never masked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { lstmSequence, lstmStep, type LstmWeights } from '../../lib/cells/lstm';
import { KerasLSTM, kerasLstm } from '../../lib/cells/lstm-layer';
import { registerCellTests } from './harness';
import { built, type CellSpec } from './cell-checks';
import { lstm64, type Vec } from './reference64';
import { assertClose, flat, rand } from './helpers';

type LstmVariant = { unitForgetBias?: boolean };
type States = [tf.Tensor2D, tf.Tensor2D];

const lstmSpec: CellSpec<LstmVariant> = {
  name: 'KerasLSTM',
  kind: 'kerasLstm',
  errorPrefix: 'lstm',
  blocks: 4,
  carried: ['h', 'c'],
  outputs: ['i', 'f', 'g', 'o', 'c', 'h'],
  variants: [{}],
  describe: (v) => (v.unitForgetBias === undefined ? '' : `unitForgetBias = ${v.unitForgetBias}, `),
  biasShape: (units) => [4 * units],
  layer: (args) => kerasLstm(args),
  layerClass: KerasLSTM,
  step: (x, [h, c], w) => lstmStep(x, h, c, w as LstmWeights),
  sequence: (x, w, _v, init) => lstmSequence(x, w as LstmWeights, { initialState: init as States | undefined }),
  reference64: (x, { W, U, b }, _v, init, masks) => lstm64(x, W, U, b as Vec, { h0: init?.[0], c0: init?.[1], masks }),
  gates: (layer, x, init) => (layer as KerasLSTM).gates(x, init as States | undefined),
  tfjs: { variant: {}, layer: (units) => tf.layers.lstm({ units, recurrentActivation: 'sigmoid', returnSequences: true }) },
  // unit_forget_bias (default on): blocks i | f | c | o = 0 | 1 | 0 | 0
  defaultBias: (units) => [...Array(units).fill(0), ...Array(units).fill(1), ...Array(2 * units).fill(0)],
  // 4 * (128*128 + 128*128 + 128) = 131,584; with the embedding (1,280,000) and the dense unit (129): 1,411,713
  referenceParams: { layer: 131_584, model: 1_411_713 },
  saveVariants: [{ unitForgetBias: true }, { unitForgetBias: false }],
};

registerCellTests(lstmSpec);

// ---------------------------------------------------------------------------
// The LSTM's own

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
    assertClose(built(lstmSpec, { units: 1 }, 1, weights).apply(x) as tf.Tensor, [0.2027763102, -0.1106267645], 1e-6, 'layer, sequences');
    const last = built(lstmSpec, { units: 1, returnSequences: false }, 1, weights).apply(x) as tf.Tensor;
    assert.deepEqual(last.shape, [1, 1]);
    assertClose(last, [-0.1106267645], 1e-6, 'layer, last step');
  });
});

describe('what is only the LSTM', () => {
  test('unitForgetBias: true (the default) starts the forget block at 1; false leaves the bias all zeros', () => {
    const layer = kerasLstm({ units: 5, unitForgetBias: false });
    layer.build([null, null, 3]);
    assert.deepEqual(flat(layer.getWeights()[2]), Array(20).fill(0));
    assert.equal(layer.getConfig().unitForgetBias, false);
    assert.equal(kerasLstm({ units: 5 }).getConfig().unitForgetBias, true);
  });

  test('the cell state is never masked: forget gate open, input gate shut, output gate open give h_t = tanh(c_0) for 70 steps', () => {
    // b_i = -30, b_f = +30, b_o = +30 (|x W + h U| stays below 8 even with masks of 2): c_t = c_{t-1} = c_0 and
    // h_t = tanh(c_0) exactly, in training with dropout on both sides. Masking c (or h) as carried state would
    // scale c_0 by 2 at every step for a kept unit, and tanh(c) would go to +-1.
    const [n, time, inputDim, units] = [8, 70, 2, 3];
    const bias = tf.tensor1d([...Array(units).fill(-30), ...Array(units).fill(30), ...Array(units).fill(0), ...Array(units).fill(30)]);
    const layer = built(lstmSpec, { units, dropout: 0.5, recurrentDropout: 0.5, seed: 24 }, inputDim, {
      kernel: rand([inputDim, 4 * units], 62, 0.8) as tf.Tensor2D,
      recurrentKernel: rand([units, 4 * units], 63, 0.8) as tf.Tensor2D,
      bias,
    });
    const c0 = rand([n, units], 64, 1.5) as tf.Tensor2D;
    const h = layer.apply(rand([n, time, inputDim], 65), { training: true, initialState: [tf.zeros([n, units]), c0] }) as tf.Tensor;
    assertClose(h, tf.tile(tf.tanh(c0).expandDims(1), [1, time, 1]), 1e-5, 'h_t drifted from tanh(c_0): is c_t masked?');
  });
});
