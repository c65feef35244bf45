// The foundation: native TensorFlow, known answers, and the packages the course relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { assertNativeBackend, currentProfile, environmentReport, matmulGflops, tensorflowVersion } from '../../lib/util/env';

test('tfjs runs on the native TensorFlow backend (never the pure-JS one)', () => {
  assert.equal(tf.getBackend(), 'tensorflow', 'run `npm run setup`: @tensorflow/tfjs-node has no native addon');
  assert.doesNotThrow(assertNativeBackend);
  assert.match(tensorflowVersion(), /^2\.\d+\.\d+/);
});

test('a known matmul is exact', () => {
  const y = tf.matMul(
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]),
    tf.tensor2d([
      [5, 6],
      [7, 8],
    ]),
  );
  assert.deepEqual(Array.from(y.dataSync()), [19, 22, 43, 50]);
});

test('a known gradient is right: d/dx sum(x^3) = 3x^2', () => {
  const g = tf.grad((x: tf.Tensor) => x.pow(3).sum())(tf.tensor1d([1, 2, 3]));
  assert.deepEqual(Array.from(g.dataSync()), [3, 12, 27]);
});

test('a 1024x1024 matmul agrees with a plain JavaScript product on a few entries', () => {
  const n = 1024;
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  const c = tf.matMul(a, b).dataSync();
  const av = a.dataSync();
  const bv = b.dataSync();
  for (const [i, j] of [
    [0, 0],
    [511, 7],
    [1023, 1023],
  ]) {
    let s = 0;
    for (let k = 0; k < n; k++) s += av[i * n + k] * bv[k * n + j];
    assert.ok(Math.abs(c[i * n + j] - s) < 1e-3, `c[${i},${j}] = ${c[i * n + j]}, expected ${s}`);
  }
  assert.ok(matmulGflops(256, 3) > 0);
});

test('nodejs-polars loads and computes', () => {
  const pl = require('nodejs-polars') as typeof import('nodejs-polars');
  const df = pl.DataFrame({ label: [0, 1, 1], n: [10, 20, 30] });
  const sums = df.groupBy('label').agg(pl.col('n').sum()).sort('label');
  assert.deepEqual(sums.getColumn('n').toArray(), [10, 50]);
});

test('GRU_PROFILE selects full (default) or ci, and rejects anything else', () => {
  assert.equal(currentProfile({}), 'full');
  assert.equal(currentProfile({ GRU_PROFILE: 'ci' }), 'ci');
  assert.throws(() => currentProfile({ GRU_PROFILE: 'fast' }), /not a profile.*"full".*"ci"/);
});

test('the environment report names versions and the backend', () => {
  const r = environmentReport();
  assert.equal(r.tfjsBackend, 'tensorflow');
  assert.equal(r.tfjsNode, '4.22.0');
  assert.equal(r.tslab, '1.0.22');
  assert.equal(r.nodejsPolars, '0.25.2');
});
