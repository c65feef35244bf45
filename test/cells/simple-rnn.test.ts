// The course's simple RNN: the readable simpleRnnStep / simpleRnnSequence (lib/cells/simple-rnn.ts) and the layer
// KerasSimpleRNN (lib/cells/simple-rnn-layer.ts, native graphs with a hand-written backward pass,
// lib/engine/simple-rnn-graphs.ts). The checks every cell passes are test/cells/harness.ts's; this file adds what is
// the simple RNN's own: a hand-worked example.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { simpleRnnSequence, simpleRnnStep, type SimpleRnnWeights } from '../../lib/cells/simple-rnn';
import { KerasSimpleRNN, kerasSimpleRnn } from '../../lib/cells/simple-rnn-layer';
import { registerCellTests } from './harness';
import { built, type CellSpec } from './cell-checks';
import { simpleRnn64, type Vec } from './reference64';
import { assertClose } from './helpers';

const simpleRnnSpec: CellSpec<object> = {
  name: 'KerasSimpleRNN',
  kind: 'kerasSimpleRnn',
  errorPrefix: 'simple-rnn',
  blocks: 1,
  carried: ['h'],
  outputs: ['h'],
  variants: [{}],
  describe: () => '',
  biasShape: (units) => [units],
  layer: (args) => kerasSimpleRnn(args),
  layerClass: KerasSimpleRNN,
  step: (x, [h], w) => ({ h: simpleRnnStep(x, h, w as SimpleRnnWeights) }),
  sequence: (x, w, _v, init) => ({ h: simpleRnnSequence(x, w as SimpleRnnWeights, { initialState: init?.[0] }) }),
  reference64: (x, { W, U, b }, _v, init, masks) => simpleRnn64(x, W, U, b as Vec, { h0: init?.[0], masks }),
  tfjs: { variant: {}, layer: (units) => tf.layers.simpleRNN({ units, returnSequences: true }) },
  defaultBias: (units) => Array(units).fill(0),
  // 128*128 + 128*128 + 128 = 32,896; with the embedding (1,280,000) and the dense unit (129): 1,313,025
  referenceParams: { layer: 32_896, model: 1_313_025 },
  saveVariants: [{}],
};

registerCellTests(simpleRnnSpec);

// ---------------------------------------------------------------------------
// The simple RNN's own

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
    assertClose(
      built(simpleRnnSpec, { units: 1 }, 1, weights).apply(x) as tf.Tensor,
      [0.537049567, -0.9003565289],
      1e-6,
      'layer, sequences',
    );
    const last = built(simpleRnnSpec, { units: 1, returnSequences: false }, 1, weights).apply(x) as tf.Tensor;
    assert.deepEqual(last.shape, [1, 1]);
    assertClose(last, [-0.9003565289], 1e-6, 'layer, last step');
  });
});
