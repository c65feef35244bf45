/**
 * What training measures, batch by batch: Keras's binary cross-entropy and binary accuracy, the
 * batches cut out of an encoded split, and evaluate(), the validation pass after every epoch.
 */
import * as tf from '@tensorflow/tfjs-node';
import type { ImdbSplit } from '../data/imdb';

/** Keras's backend epsilon: probabilities are clipped to [EPS, 1 - EPS] before the log. */
const EPS = 1e-7;

/**
 * Binary cross-entropy per example: -(y log p + (1 - y) log(1 - p)), p clipped as Keras and tfjs do.
 * (Keras in graph mode computes it from the logits when the model ends in a sigmoid; the two agree
 * unless p comes within 1e-7 of 0 or 1.)
 */
export function binaryCrossEntropy(y: tf.Tensor, p: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const q = p.clipByValue(EPS, 1 - EPS);
    return y
      .mul(q.log())
      .add(tf.sub(1, y).mul(tf.sub(1, q).log()))
      .neg()
      .reshape([-1]) as tf.Tensor1D;
  });
}

/** How many predictions are right at threshold 0.5 (Keras's binary accuracy: p > 0.5 means positive). */
export function countCorrect(y: tf.Tensor, p: tf.Tensor): tf.Scalar {
  return tf.tidy(() => p.greater(0.5).cast('float32').equal(y).cast('float32').sum() as tf.Scalar);
}

/** Rows `indices` of a split as tensors: x int32 [n, maxLen], y float32 [n, 1]. */
export function gatherBatch(split: ImdbSplit, indices: ArrayLike<number>, maxLen: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const n = indices.length;
  const x = new Int32Array(n * maxLen);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = indices[i];
    x.set(split.x.subarray(row * maxLen, (row + 1) * maxLen), i * maxLen);
    y[i] = split.y[row];
  }
  return { x: tf.tensor2d(x, [n, maxLen], 'int32'), y: tf.tensor2d(y, [n, 1], 'float32') };
}

function range(from: number, to: number): Uint32Array {
  return Uint32Array.from({ length: to - from }, (_, i) => from + i);
}

/** Mean loss and accuracy of a model on a split, batched (inference: no dropout). */
export async function evaluate(
  model: tf.LayersModel,
  split: ImdbSplit,
  maxLen: number,
  batchSize = 256,
): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.size; start += batchSize) {
    const { x, y } = gatherBatch(split, range(start, Math.min(start + batchSize, split.size)), maxLen);
    const [l, c] = tf.tidy(() => {
      const p = model.predict(x, { batchSize: x.shape[0] }) as tf.Tensor;
      return [binaryCrossEntropy(y, p).sum(), countCorrect(y, p)];
    });
    lossSum += (await l.data())[0];
    correct += (await c.data())[0];
    tf.dispose([x, y, l, c]);
  }
  return { loss: lossSum / split.size, accuracy: correct / split.size };
}
