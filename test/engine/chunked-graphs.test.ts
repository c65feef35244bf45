// The native-graph engine (lib/engine/chunked-graphs.ts): how a sequence is cut into chunks and what runCell refuses. The
// cells' graphs are checked against their equations in test/engine/gru-graphs.test.ts, test/cells/lstm.test.ts, test/cells/simple-rnn.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { H_STATE, C_STATE, chunkLengths, runCell, type GraphCell } from '../../lib/engine/chunked-graphs';

test('chunkLengths: as many 64-step chunks as fit, then powers of two, covering every step once', () => {
  assert.deepEqual(chunkLengths(1), [1]);
  assert.deepEqual(chunkLengths(70), [64, 4, 2]);
  assert.deepEqual(chunkLengths(500), [64, 64, 64, 64, 64, 64, 64, 32, 16, 4]);
  for (const time of [1, 2, 3, 63, 64, 65, 127, 133, 500, 1000]) {
    const lengths = chunkLengths(time);
    assert.equal(
      lengths.reduce((a, b) => a + b, 0),
      time,
    );
    assert.ok(lengths.every((k) => k <= 64 && (k & (k - 1)) === 0));
    assert.ok(
      lengths.every((k, i) => i === 0 || k <= lengths[i - 1]),
      'longest first',
    );
  }
});

test('the state names of h and c are distinct graph nodes', () => {
  const names = [...Object.values(H_STATE), ...Object.values(C_STATE)];
  assert.equal(new Set(names).size, names.length);
});

test('runCell refuses a wrong number of initial states, naming both counts', () => {
  const cell: GraphCell = {
    chunk: () => {
      throw new Error('not reached');
    },
    states: [H_STATE, C_STATE],
    saved: ['H'],
  };
  const x = tf.zeros([2, 3, 4]) as tf.Tensor3D;
  const w = { kernel: tf.zeros([4, 8]) as tf.Tensor2D, recurrentKernel: tf.zeros([2, 8]) as tf.Tensor2D, bias: tf.zeros([8]) };
  assert.throws(
    () => runCell(cell, x, w, [tf.zeros([2, 2]) as tf.Tensor2D], { returnSequences: false, masks: { input: null, recurrent: null } }),
    /2 initial states needed, got 1/,
  );
});
