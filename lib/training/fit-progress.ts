/**
 * Progress and history for tfjs's own `model.fit` (the quick start trains with it, as the blog's Keras program does):
 * a callback that turns fit's batch and epoch logs into the course's progress events (lib/training/train-progress.ts,
 * so the same printer and the same live line show them) and collects the history as EpochRecord rows
 * (lib/training/run-dir.ts), which the reference-run charts draw (lib/experiments/reference-run.ts).
 *
 * The model must be compiled with metrics ['accuracy'] and fitted with validationData: an epoch without
 * val_loss / val_acc is an error saying so, rather than a history row of NaNs.
 */
import * as tf from '@tensorflow/tfjs-node';
import { type EpochRecord } from './run-dir';
import { type ProgressEvent } from './train-progress';

/** What fitProgress needs to know about the fit it watches. */
export interface FitProgressOptions {
  /** The `epochs` given to fit. */
  epochs: number;
  /** The number of training examples and the `batchSize` given to fit (for "batch b/B" and the ETA). */
  examples: number;
  batchSize: number;
  /** Where the events go, e.g. trainProgressPrinter({ statusWrite: liveTextLine() }). */
  onProgress: (e: ProgressEvent) => void;
}

/** A callback for model.fit and the history it fills, one row per epoch once that epoch (and its validation) is done. */
export interface FitProgress {
  callback: tf.CustomCallback;
  history: EpochRecord[];
}

// tfjs names the accuracy metric `acc` in its logs (and `accuracy` in newer versions): accept both.
function metric(logs: tf.Logs | undefined, names: string[], epoch: number): number {
  for (const name of names) {
    const v = logs?.[name];
    if (typeof v === 'number') return v;
  }
  throw new Error(
    `fitProgress: epoch ${epoch} has no ${names.join(' / ')} in its logs (got ${Object.keys(logs ?? {}).join(', ') || 'none'}); ` +
      "compile with metrics: ['accuracy'] and fit with validationData",
  );
}

/** A model.fit callback that reports batch and epoch progress as the course's events and records the history. */
export function fitProgress(options: FitProgressOptions): FitProgress {
  const { epochs, examples, batchSize, onProgress } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`fitProgress: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(examples) || examples < 1) throw new Error(`fitProgress: examples must be a positive integer, got ${examples}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`fitProgress: batchSize must be a positive integer, got ${batchSize}`);
  const batches = Math.ceil(examples / batchSize);
  const history: EpochRecord[] = [];
  let started = 0;
  let seen = 0;
  let lossSum = 0;
  let correctSum = 0;
  let epochNumber = 0;
  const callback = new tf.CustomCallback({
    onEpochBegin: async (epoch) => {
      epochNumber = epoch + 1;
      started = performance.now();
      seen = 0;
      lossSum = 0;
      correctSum = 0;
    },
    onBatchEnd: async (batch, logs) => {
      // fit's batch logs hold that batch's mean loss and accuracy; weight them by its size for the epoch's running means
      const size = typeof logs?.size === 'number' ? logs.size : batchSize;
      seen += size;
      lossSum += metric(logs, ['loss'], epochNumber) * size;
      correctSum += metric(logs, ['acc', 'accuracy'], epochNumber) * size;
      const elapsed = (performance.now() - started) / 1000;
      onProgress({
        type: 'batch',
        epoch: epochNumber,
        epochs,
        batch: batch + 1,
        batches,
        loss: lossSum / seen,
        accuracy: correctSum / seen,
        examplesPerSecond: seen / elapsed,
        epochEtaSeconds: (elapsed / (batch + 1)) * (batches - batch - 1),
      });
    },
    onEpochEnd: async (epoch, logs) => {
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: metric(logs, ['loss'], epoch + 1),
        accuracy: metric(logs, ['acc', 'accuracy'], epoch + 1),
        val_loss: metric(logs, ['val_loss'], epoch + 1),
        val_accuracy: metric(logs, ['val_acc', 'val_accuracy'], epoch + 1),
        seconds: (performance.now() - started) / 1000, // validation included, as in a run's history.csv
      };
      history.push(record);
      const meanSeconds = history.reduce((s, r) => s + r.seconds, 0) / history.length;
      onProgress({ type: 'epoch', epochs, record, runEtaSeconds: meanSeconds * (epochs - record.epoch) });
    },
  });
  return { callback, history };
}
