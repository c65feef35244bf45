/**
 * Time per batch, measured (notebook 05): one training step and one prediction of each layer on the same batch, the
 * layers taking turns round by round, and the TensorFlow calls a training step makes; the table that sets each course
 * layer beside TensorFlow.js's eager layer of its cell (the layers: lib/experiments/compare.ts).
 */
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import { median, round } from '../util/stats';
import type { ImdbSplit } from '../data/imdb';
import { buildModel } from '../training/model';
import type { RnnKind } from '../cells/layer-kinds';
import { KerasAdam } from '../training/adam';
import { gatherBatch } from '../training/evaluate';
import { trainStep, trainableVariables } from '../training/train';
import type { TrainConfig } from '../training/config';
import { EAGER_LAYERS, comparedLayer } from './compare';

/** Median time of one training step and one forward pass on the same batch, and the work each step sends to TensorFlow. */
export interface BatchTiming {
  rnn: RnnKind;
  batchSize: number;
  maxLen: number;
  /** Median wall-clock ms of one optimizer step (forward, backward, Adam), as train() runs it. */
  trainMs: number;
  /** Median wall-clock ms of model.predict on the batch (no dropout). */
  predictMs: number;
  /** TensorFlow.js kernel calls in one training step (each one JavaScript -> TensorFlow call). */
  kernelsPerTrainStep: number;
  rounds: number;
}

/**
 * Times the layers on one batch of reviews (rows 0..batchSize-1 of `split`): after a warm-up step, the
 * layers take turns, one training step and one prediction each per round, so a change in machine load
 * hits them alike; reports medians over `rounds`. Models are fresh (seeded) and thrown away.
 */
export async function timeBatches(
  layers: readonly RnnKind[],
  config: TrainConfig,
  split: ImdbSplit,
  options: { rounds?: number; onRound?: (round: number, rounds: number) => void } = {},
): Promise<BatchTiming[]> {
  const rounds = options.rounds ?? 5;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`timeBatches: rounds must be a positive integer, got ${rounds}`);
  if (split.size < config.batchSize) throw new Error(`timeBatches: timing needs ${config.batchSize} reviews, the split has ${split.size}`);
  const maxLen = split.x.length / split.size;
  if (maxLen !== config.maxLen)
    throw new Error(
      `timeBatches: the split holds reviews of ${maxLen} ids, the config wants maxLen ${config.maxLen}: load the data with that maxLen`,
    );
  const { x, y } = gatherBatch(
    split,
    Array.from({ length: config.batchSize }, (_, i) => i),
    config.maxLen,
  );
  const entries = layers.map((rnn) => {
    const model = buildModel({ ...config, rnn });
    return {
      rnn,
      model,
      optimizer: new KerasAdam(config.learningRate, config.beta1, config.beta2, config.epsilon),
      vars: trainableVariables(model),
      train: [] as number[],
      predict: [] as number[],
      kernels: 0,
    };
  });
  const predictOnce = (model: tf.LayersModel) => tf.dispose(model.predict(x, { batchSize: config.batchSize }) as tf.Tensor);
  try {
    for (const e of entries) {
      await trainStep(e.model, e.optimizer, e.vars, x, y); // warm-up: first calls allocate and pick kernels
      predictOnce(e.model);
      const info = await tf.profile(async () => {
        await trainStep(e.model, e.optimizer, e.vars, x, y);
      });
      e.kernels = info.kernels.length;
    }
    for (let round = 1; round <= rounds; round++) {
      for (const e of entries) {
        let t0 = performance.now();
        await trainStep(e.model, e.optimizer, e.vars, x, y);
        e.train.push(performance.now() - t0);
        t0 = performance.now();
        predictOnce(e.model);
        e.predict.push(performance.now() - t0);
      }
      options.onRound?.(round, rounds);
    }
  } finally {
    for (const e of entries) {
      e.optimizer.dispose();
      e.model.dispose();
    }
    tf.dispose([x, y]);
  }
  return entries.map((e) => ({
    rnn: e.rnn,
    batchSize: config.batchSize,
    maxLen: config.maxLen,
    trainMs: median(e.train),
    predictMs: median(e.predict),
    kernelsPerTrainStep: e.kernels,
    rounds,
  }));
}

/**
 * One row per timed layer (the course's and TensorFlow.js's eager ones): time per training and prediction batch, the
 * TensorFlow calls of a training step, how many times faster than the eager layer of its cell, and the training part
 * of an epoch those times imply (ms per batch x batches per epoch of `trainSize` reviews).
 */
export function timingFrame(timings: readonly BatchTiming[], trainSize: number): pl.DataFrame {
  const eager = (t: BatchTiming) => {
    const cell = comparedLayer(t.rnn).cell;
    const layer = EAGER_LAYERS.find((l) => l.cell === cell);
    return timings.find((x) => x.rnn === layer?.rnn && x.maxLen === t.maxLen);
  };
  return pl.DataFrame([
    pl.Series(
      'layer',
      timings.map((t) => comparedLayer(t.rnn).label),
    ),
    pl.Series(
      'ids / review',
      Int32Array.from(timings, (t) => t.maxLen),
    ),
    pl.Series(
      'ms / training batch',
      timings.map((t) => round(t.trainMs, 1)),
    ),
    pl.Series(
      'ms / prediction batch',
      timings.map((t) => round(t.predictMs, 1)),
    ),
    pl.Series(
      'TF calls / training step',
      Int32Array.from(timings, (t) => t.kernelsPerTrainStep),
    ),
    pl.Series(
      'x faster than tf.layers',
      timings.map((t) => {
        const e = eager(t);
        return e ? round(e.trainMs / t.trainMs, 1) : NaN;
      }),
    ),
    pl.Series(
      's / epoch of training (estimated)',
      timings.map((t) => round((t.trainMs / 1000) * Math.ceil(trainSize / t.batchSize), 0)),
    ),
  ]);
}
