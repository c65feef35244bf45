/**
 * Training the reference model on IMDB, repeatably and resumably: the loop, its progress, and a
 * timing estimate. The configuration is lib/training/config.ts, the optimizer lib/training/adam.ts, what is saved
 * lib/training/run-dir.ts, inference from a saved run lib/training/predict.ts.
 *
 * Training is a custom loop (optimizer.minimize per batch), not model.fit, because exact resume
 * needs every source of randomness under our control:
 *   - the order of the training reviews in epoch e comes from mulberry32(deriveSeed(seed, 'shuffle', e));
 *   - the GRU's dropout masks come from its seed plus the number of training steps taken so far,
 *     so a resumed run fast-forwards the mask stream by the steps already done (see fastForwardDropout);
 *   - the optimizer is Keras's Adam, whose state (step count, m, v) is saved after every epoch.
 */
import * as tf from '@tensorflow/tfjs-node';
import * as path from 'node:path';
import { KerasAdam, loadOptimizer } from './adam';
import * as fs from 'node:fs';
import { binaryCrossEntropy, countCorrect, evaluate, gatherBatch } from './evaluate';
import { KerasGRU } from '../cells/gru-layer';
import { loadImdb, type ImdbData } from '../data/imdb';
import { ImdbError } from '../data/errors';
import { loadVocabulary, vocabularySha256, vocabularyToJson } from '../data/vocabulary';
import { buildModel, recurrentLayerOf } from './model';
import { deriveSeed, mulberry32, shuffledIndices } from '../util/prng';
import { mean } from '../util/stats';
import {
  acquireRunLock,
  checkRunDirWritable,
  checkRunStatus,
  checkRunUnlocked,
  checkSameData,
  makeRunDir,
  readRunData,
  runDataOf,
  writeRunData,
} from './run-guards';
import {
  environmentFacts,
  epochDir,
  loadEpochModel,
  loadRun,
  readEpochState,
  removePartialEpochs,
  repairHistoryCsv,
  saveEpoch,
  writeHistoryCsv,
  writeRunFile,
  type EpochRecord,
  type RunStatus,
} from './run-dir';
import { OPTION_SPECS, TrainError, checkFitsInMemory, defaultRunDir, validateConfig, type TrainConfig } from './config';
import { trainProgressPrinter, type ProgressEvent } from './train-progress';

/** The order of the training reviews in `epoch` (1-based): a pure function of seed and epoch. */
export function epochOrder(seed: number, epoch: number, n: number): Uint32Array {
  return shuffledIndices(n, mulberry32(deriveSeed(seed, 'shuffle', epoch)));
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/** How train() runs; none of these change the numbers. */
export interface TrainOptions {
  /** Where the run is written (default: defaultRunDir(config)). */
  runDir?: string;
  /** Continue the run in runDir from its last completed epoch (a complete run is just loaded). */
  resume?: boolean;
  /** Already loaded data (must match numWords, maxLen and dataSeed); default: loadImdb(). */
  data?: ImdbData;
  /** The IMDB archive, when not found by lib/data/imdb's usual search. */
  archivePath?: string;
  /** Progress events; default: trainProgressPrinter() on stdout. Pass () => {} for silence. */
  onProgress?: (e: ProgressEvent) => void;
  /** Stops training at the next batch boundary (the epoch in progress is not saved), or the data loading before the run directory is created. */
  signal?: AbortSignal;
}

/** What train() did and what it produced. */
export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  /** One record per completed epoch, resumed ones included. */
  history: EpochRecord[];
  /** The model after the last completed epoch (the caller disposes it). */
  model: tf.LayersModel;
  /** trained: from scratch; resumed: continued a saved run; loaded: the run was already complete; stopped: aborted. */
  outcome: 'trained' | 'resumed' | 'loaded' | 'stopped';
  /** Completed epochs found in runDir when train() started. */
  startEpoch: number;
  /** Where an aborted run stopped. */
  stoppedAt?: { epoch: number; batch: number };
}

/** The data of a run (only the reviews it takes are padded); null when `signal` stopped the loading. */
async function dataFor(config: TrainConfig, options: TrainOptions, say: (m: string) => void): Promise<ImdbData | null> {
  let data = options.data;
  if (!data) {
    say(`loading IMDB (numWords ${config.numWords}, maxLen ${config.maxLen})`);
    try {
      data = await loadImdb({
        numWords: config.numWords,
        maxLen: config.maxLen,
        seed: config.dataSeed,
        archivePath: options.archivePath,
        trainSize: config.trainSize,
        testSize: config.testSize,
        signal: options.signal,
      });
    } catch (err) {
      if (err instanceof ImdbError && err.code === 'ABORTED') return null;
      throw err;
    }
  }
  if (options.signal?.aborted) return null;
  const info = data.info;
  if (info.numWords !== config.numWords || info.maxLen !== config.maxLen || info.seed !== config.dataSeed) {
    throw new TrainError(
      'DATA_MISMATCH',
      `the data was loaded with numWords ${info.numWords}, maxLen ${info.maxLen}, seed ${info.seed}, ` +
        `but the config wants ${config.numWords}, ${config.maxLen}, ${config.dataSeed}`,
    );
  }
  if (data.train.size < config.trainSize || data.test.size < config.testSize) {
    throw new TrainError(
      'DATA_MISMATCH',
      `the data has ${data.train.size} train / ${data.test.size} test reviews, fewer than trainSize ${config.trainSize} / testSize ${config.testSize}`,
    );
  }
  return data.subset(config.trainSize, config.testSize);
}

/** The model's trainable weights as the variables an optimizer updates. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Advances the GRU's seeded dropout-mask stream by `steps` training calls, as if that many batches had
 * run. KerasGRU draws fresh masks on every training call from its seed and the number of calls so far,
 * so one cheap call on a [1, 1, inputDim] input advances the stream exactly as a real batch does.
 */
export function fastForwardDropout(model: tf.LayersModel, steps: number): void {
  const layer = recurrentLayerOf(model);
  if (!(layer instanceof KerasGRU) || layer.seed === null || (layer.dropout === 0 && layer.recurrentDropout === 0)) return;
  const x = tf.zeros([1, 1, layer.gruWeights().kernel.shape[0]]);
  for (let i = 0; i < steps; i++) tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
  x.dispose();
}

function nonFiniteLossError(
  config: TrainConfig,
  epoch: number,
  batch: number,
  batches: number,
  what: string,
  value: number,
  runDir: string,
): TrainError {
  return new TrainError(
    'NON_FINITE_LOSS',
    `the ${what} became ${value} at epoch ${epoch}, batch ${batch}/${batches}: training stopped. ` +
      `${runDir} keeps the epochs completed before it (resume from there with --resume once the cause is fixed). ` +
      `Try a smaller learning rate (now ${config.learningRate}; --learning-rate or ${OPTION_SPECS.learningRate.env}), ` +
      'check that the inputs are valid ids below numWords, or another seed.',
  );
}

/** One optimizer step (what train() runs per batch); returns the batch's mean loss and correct predictions. */
export async function trainStep(
  model: tf.LayersModel,
  optimizer: KerasAdam,
  vars: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
): Promise<{ loss: number; correct: number }> {
  const kept: { correct?: tf.Scalar } = {}; // accuracy from the same forward pass (dropout on), as Keras reports it
  const loss = optimizer.minimize(
    () => {
      const p = model.apply(x, { training: true }) as tf.Tensor;
      kept.correct = tf.keep(countCorrect(y, p));
      return binaryCrossEntropy(y, p).mean() as tf.Scalar;
    },
    true,
    vars,
  ) as tf.Scalar;
  const c = kept.correct as tf.Scalar;
  const [l, k] = await Promise.all([loss.data(), c.data()]);
  tf.dispose([loss, c]);
  return { loss: l[0], correct: k[0] };
}

/** Lets the event loop run (notebook output, Ctrl-C, abort signals) between batches. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains (or resumes, or just loads) the run described by `config` and returns its history and model.
 * Writes config.json, vocab.json, history.csv and epoch-NN/ into the run directory as it goes.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  validateConfig(config);
  checkFitsInMemory(config);
  const runDir = path.resolve(options.runDir ?? defaultRunDir(config));
  const progress = options.onProgress ?? trainProgressPrinter();
  const say = (message: string) => progress({ type: 'info', message });
  const status = await checkRunStatus(runDir, config, options.resume === true);
  const startEpoch = status.completedEpochs;
  if (options.resume && startEpoch === 0)
    say(`nothing to resume in ${runDir} (${status.exists ? 'no completed epoch' : 'no such run'}): starting from scratch`);
  if (startEpoch >= config.epochs) return loadComplete(runDir, status, config, say, await runLockFree(runDir));

  // Everything that can be checked without the data, before loading it (which may take minutes).
  await checkRunDirWritable(runDir);
  await checkRunUnlocked(runDir);
  const data = await dataFor(config, options, say);
  if (data === null) {
    say(`stopped while loading the data; ${status.exists ? `${runDir} is unchanged` : `${runDir} was not created`}`);
    const model = startEpoch > 0 ? (await loadRun(runDir)).model : buildModel(config);
    return { runDir, config, history: [], model, outcome: 'stopped', startEpoch, stoppedAt: { epoch: startEpoch + 1, batch: 0 } };
  }
  await makeRunDir(runDir);
  const release = await acquireRunLock(runDir, say);
  try {
    // Another trainer may have written the run while the data loaded: its state is read again, under the lock.
    const now = await checkRunStatus(
      runDir,
      config,
      options.resume === true,
      'another trainer wrote the run while this trainer loaded its data',
    );
    if (now.completedEpochs !== startEpoch)
      say(`${runDir} changed while the data loaded: it holds ${now.completedEpochs} completed epoch(s) now`);
    if (now.completedEpochs >= config.epochs) return await loadComplete(runDir, now, config, say, true);
    return await trainLocked(config, options, runDir, now.completedEpochs, data, progress);
  } finally {
    await release();
  }
}

/** The result of a run that already holds the epochs wanted: loaded, nothing trained (history.csv repaired when `mayWrite`). */
async function loadComplete(
  runDir: string,
  status: RunStatus,
  config: TrainConfig,
  say: (m: string) => void,
  mayWrite: boolean,
): Promise<TrainResult> {
  const startEpoch = status.completedEpochs;
  say(`${runDir} already holds ${startEpoch} completed epochs (${config.epochs} wanted): loading it, nothing to train`);
  const run = await loadRun(runDir);
  if (mayWrite && (await repairHistoryCsv(runDir, run.history)))
    say(`rewrote ${path.join(runDir, 'history.csv')} from epoch ${run.epoch}'s saved history`);
  return { runDir, config: status.config ?? config, history: run.history, model: run.model, outcome: 'loaded', startEpoch };
}

/** Whether no live trainer holds the run's lock (a complete run's history.csv is only repaired then). */
async function runLockFree(runDir: string): Promise<boolean> {
  try {
    await checkRunUnlocked(runDir);
    return true;
  } catch {
    return false;
  }
}

/** Checks the data against what the run was trained on (data.json; vocab.json for runs saved before it), then records it. */
async function recordRunData(runDir: string, data: ImdbData): Promise<void> {
  const now = runDataOf(data.info.archiveSha256, data.vocab);
  const saved = await readRunData(runDir);
  if (saved) {
    checkSameData(saved, now, runDir);
  } else {
    const vocabFile = path.join(runDir, 'vocab.json');
    if (fs.existsSync(vocabFile)) {
      const kept = vocabularySha256(await loadVocabulary(vocabFile));
      if (kept !== now.vocabularySha256) {
        throw new TrainError(
          'DATA_MISMATCH',
          `${vocabFile} is not the vocabulary of this archive (${data.info.archivePath}, SHA-256 ${now.archiveSha256}): ` +
            `vocabulary SHA-256 ${kept} was saved, ${now.vocabularySha256} is built now. Use the archive the run was trained on, or train a new run.`,
        );
      }
    }
    await writeRunData(runDir, now);
  }
  const vocabFile = path.join(runDir, 'vocab.json');
  if (!fs.existsSync(vocabFile)) await writeRunFile(vocabFile, JSON.stringify(vocabularyToJson(data.vocab)));
}

async function trainLocked(
  config: TrainConfig,
  options: TrainOptions,
  runDir: string,
  startEpoch: number,
  data: ImdbData,
  progress: (e: ProgressEvent) => void,
): Promise<TrainResult> {
  const say = (message: string) => progress({ type: 'info', message });
  await removePartialEpochs(runDir);
  await recordRunData(runDir, data);
  await writeRunFile(path.join(runDir, 'config.json'), JSON.stringify(config, null, 1));

  const optimizer = new KerasAdam(config.learningRate, config.beta1, config.beta2, config.epsilon);
  let model: tf.LayersModel;
  let history: EpochRecord[] = [];
  if (startEpoch > 0) {
    const dir = epochDir(runDir, startEpoch);
    const state = await readEpochState(dir);
    model = await loadEpochModel(dir);
    await loadOptimizer(optimizer, dir);
    if (optimizer.iterations !== state.steps)
      throw new TrainError('RUN_CORRUPT', `${dir}: optimizer step ${optimizer.iterations} != saved steps ${state.steps} in state.json`);
    fastForwardDropout(model, state.steps);
    history = state.history;
    if (await repairHistoryCsv(runDir, history))
      say(`rewrote ${path.join(runDir, 'history.csv')} from epoch ${startEpoch}'s saved history`);
    say(`resuming ${runDir} after epoch ${startEpoch}/${config.epochs}`);
  } else {
    model = buildModel(config);
    say(`training ${runDir}: ${config.trainSize} reviews x ${config.epochs} epochs, batch ${config.batchSize}, maxLen ${config.maxLen}`);
  }

  try {
    const vars = trainableVariables(model);
    const batches = Math.ceil(config.trainSize / config.batchSize);
    const sessionSeconds: number[] = [];
    for (let epoch = startEpoch + 1; epoch <= config.epochs; epoch++) {
      const started = performance.now();
      const order = epochOrder(config.seed, epoch, config.trainSize);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        if (options.signal?.aborted) {
          say(
            `stopped during epoch ${epoch}, before batch ${b + 1}/${batches}; ${runDir} keeps ${epoch - 1} completed epoch(s): resume with --resume`,
          );
          optimizer.dispose();
          return { runDir, config, history, model, outcome: 'stopped', startEpoch, stoppedAt: { epoch, batch: b } };
        }
        const { x, y } = gatherBatch(data.train, order.subarray(b * config.batchSize, (b + 1) * config.batchSize), config.maxLen);
        const step = await trainStep(model, optimizer, vars, x, y);
        const n = x.shape[0];
        tf.dispose([x, y]);
        if (!Number.isFinite(step.loss)) throw nonFiniteLossError(config, epoch, b + 1, batches, 'training loss', step.loss, runDir);
        lossSum += step.loss * n;
        correct += step.correct;
        seen += n;
        const elapsed = (performance.now() - started) / 1000;
        progress({
          type: 'batch',
          epoch,
          epochs: config.epochs,
          batch: b + 1,
          batches,
          loss: lossSum / seen,
          accuracy: correct / seen,
          examplesPerSecond: seen / elapsed,
          epochEtaSeconds: (elapsed / (b + 1)) * (batches - b - 1),
        });
        await breathe();
      }
      const val = await evaluate(model, data.test, config.maxLen, config.evalBatchSize);
      if (!Number.isFinite(val.loss)) throw nonFiniteLossError(config, epoch, batches, batches, 'validation loss', val.loss, runDir);
      const seconds = (performance.now() - started) / 1000;
      const record: EpochRecord = {
        epoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        val_loss: val.loss,
        val_accuracy: val.accuracy,
        seconds,
      };
      history = [...history, record];
      await saveEpoch(runDir, model, optimizer, {
        epoch,
        steps: optimizer.iterations,
        history,
        savedAt: new Date().toISOString(),
        environment: environmentFacts(),
      });
      await writeHistoryCsv(runDir, history);
      sessionSeconds.push(seconds);
      progress({ type: 'epoch', epochs: config.epochs, record, runEtaSeconds: mean(sessionSeconds) * (config.epochs - epoch) });
    }
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    throw err;
  }
  optimizer.dispose();
  return { runDir, config, history, model, outcome: startEpoch > 0 ? 'resumed' : 'trained', startEpoch };
}

// ---------------------------------------------------------------------------------------------
// Timing (for estimates without running the full profile)
// ---------------------------------------------------------------------------------------------

/** Measured seconds per training batch and per validation batch, and the epoch time they imply. */
export interface TimingEstimate {
  trainBatches: number;
  secondsPerTrainBatch: number;
  secondsPerEvalBatch: number;
  /** ceil(trainSize / batchSize) training batches + ceil(testSize / evalBatchSize) validation batches. */
  estimatedEpochSeconds: number;
}

/**
 * Times `batches` training steps (after one warm-up step) and two validation batches of a fresh model
 * at the config's sizes, and extrapolates to one epoch. Writes nothing.
 */
export async function timeEpoch(
  config: TrainConfig,
  options: { batches?: number; data?: ImdbData; archivePath?: string } = {},
): Promise<TimingEstimate> {
  validateConfig(config);
  checkFitsInMemory(config);
  const batches = options.batches ?? 20;
  const data = await dataFor(config, { data: options.data, archivePath: options.archivePath }, () => {});
  if (data === null) throw new Error('unreachable: no signal was given');
  const model = buildModel(config);
  const optimizer = new KerasAdam(config.learningRate, config.beta1, config.beta2, config.epsilon);
  const vars = trainableVariables(model);
  const order = epochOrder(config.seed, 1, config.trainSize);
  const batchAt = (b: number) => {
    const from = (b * config.batchSize) % Math.max(1, config.trainSize - config.batchSize + 1);
    return gatherBatch(data.train, order.subarray(from, from + config.batchSize), config.maxLen);
  };
  const timeSteps = async (from: number, count: number) => {
    const t0 = performance.now();
    for (let b = from; b < from + count; b++) {
      const { x, y } = batchAt(b);
      await trainStep(model, optimizer, vars, x, y);
      tf.dispose([x, y]);
    }
    return (performance.now() - t0) / 1000;
  };
  await timeSteps(0, 1); // warm-up: first calls allocate and pick kernels
  const trainSeconds = await timeSteps(1, batches);
  const evalRows = Math.min(config.testSize, config.evalBatchSize * 2);
  const t0 = performance.now();
  await evaluate(model, { ...data.test, size: evalRows }, config.maxLen, config.evalBatchSize);
  const evalSeconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  model.dispose();
  const secondsPerTrainBatch = trainSeconds / batches;
  const secondsPerEvalBatch = evalSeconds / Math.ceil(evalRows / config.evalBatchSize);
  const estimatedEpochSeconds =
    Math.ceil(config.trainSize / config.batchSize) * secondsPerTrainBatch +
    Math.ceil(config.testSize / config.evalBatchSize) * secondsPerEvalBatch;
  return { trainBatches: batches, secondsPerTrainBatch, secondsPerEvalBatch, estimatedEpochSeconds };
}
