// The graph engine's GRU (lib/engine/gru-graphs.ts, fastGru: forward steps and a hand-written backward pass) against
// the readable one (lib/cells/gru.ts), called directly, without the layer. test/cells/gru.test.ts runs the layer
// KerasGRU, which calls fastGru, through the full harness (dropout masks, held gates, finite differences).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { gruSequence, type GruWeights } from '../../lib/cells/gru';
import { chunkLengths } from '../../lib/engine/chunked-graphs';
import { NO_DROPOUT } from '../../lib/engine/dropout';
import { fastGru } from '../../lib/engine/gru-graphs';
import { lastStep, rand, relativeDiff } from '../cells/helpers';

describe('fastGru equals the readable gruSequence: outputs and gradients of x, the weights and h0', () => {
  const [batch, inputDim, units] = [3, 5, 4];
  for (const resetAfter of [true, false]) {
    for (const [time, returnSequences] of [
      [1, true],
      [70, true],
      [70, false],
    ] as const) {
      test(`resetAfter = ${resetAfter}, ${time} steps (chunks ${chunkLengths(time).join(' + ')}), returnSequences = ${returnSequences}`, () => {
        const x = rand([batch, time, inputDim], 1) as tf.Tensor3D;
        const h0 = rand([batch, units], 2, 0.9) as tf.Tensor2D;
        const w: GruWeights = {
          kernel: rand([inputDim, 3 * units], 3, 0.8) as tf.Tensor2D,
          recurrentKernel: rand([units, 3 * units], 4, 0.8) as tf.Tensor2D,
          bias: rand(resetAfter ? [2, 3 * units] : [3 * units], 5, 0.5),
        };
        const coeff = rand(returnSequences ? [batch, time, units] : [batch, units], 6);
        const inputs = [x, w.kernel, w.recurrentKernel, w.bias, h0];
        const names = ['x', 'kernel', 'recurrentKernel', 'bias', 'h0'];
        const loss = (out: (xx: tf.Tensor3D, ww: GruWeights, hh: tf.Tensor2D) => tf.Tensor) =>
          tf.valueAndGrads((xx: tf.Tensor, k: tf.Tensor, u: tf.Tensor, b: tf.Tensor, hh: tf.Tensor) =>
            tf.sum(
              tf.mul(
                out(xx as tf.Tensor3D, { kernel: k as tf.Tensor2D, recurrentKernel: u as tf.Tensor2D, bias: b }, hh as tf.Tensor2D),
                coeff,
              ),
            ),
          )(inputs);
        const fast = loss((xx, ww, hh) => fastGru(xx, ww, hh, { resetAfter, returnSequences, masks: NO_DROPOUT }));
        const readable = loss((xx, ww, hh) => {
          const h = gruSequence(xx, ww, { resetAfter, initialState: hh }).h;
          return returnSequences ? h : lastStep(h);
        });
        assert.ok(relativeDiff(fast.value, readable.value) < 1e-5, `loss: ${fast.value.dataSync()[0]} vs ${readable.value.dataSync()[0]}`);
        fast.grads.forEach((g, i) => {
          const diff = relativeDiff(g, readable.grads[i]);
          assert.ok(diff < 1e-5, `d loss / d ${names[i]} differs by ${diff} (relative to its largest entry)`);
        });
      });
    }
  }
});
