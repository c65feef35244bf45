// SimpleRNN vs GRU vs LSTM on IMDB, measured (notebook 05).
//
// The three cells get the same embedding, sizes, data, optimizer, dropout and number of epochs; only the
// recurrent layer changes. "Same implementation quality" matters as much as the cell: a GRU run as native
// TensorFlow graphs (this course's KerasGRU) against an LSTM run one eager op at a time (tf.layers.lstm) would
// measure the implementations, not the cells. So the fair three-way comparison uses TensorFlow.js's own
// layers for all three (tf.layers.simpleRNN, tf.layers.gru, tf.layers.lstm), and the course's fast GRU
// runs beside them as a fourth entry, labelled as such.
//
// "What each gate buys" (the second half of notebook 05): the course's GRU, the same GRU with its reset gate
// held open (r = 1) and with its update gate held at "always write" (z = 0) (lib/gru.ts, fixedGates), and the
// simple RNN, on the same budget; the GRU variants over several seeds, because one seed cannot tell them apart.
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import * as path from 'node:path';
import type { Profile } from './env';
import { RUNS_DIR } from './paths';
import type { ImdbData, ImdbSplit } from './imdb';
import { buildModel, recurrentLayerOf, totalParams } from './model';
import { multiplyAddsPerStep, paramCount, type RnnKind } from './recurrent-layers';
import { mean, median } from './stats';
import { KerasAdam } from './adam';
import { gatherBatch } from './evaluate';
import { bestEpoch, type EpochRecord } from './run-dir';
import { train, trainStep, trainableVariables } from './train';
import { trainProgressPrinter, type ProgressEvent, labelledProgressPrinter } from './train-progress';
import { PROFILES, validateConfig, type TrainConfig } from './train-config';

/** One recurrent layer in the comparison. */
export interface ComparedLayer {
  rnn: RnnKind;
  /** Short name for tables and legends. */
  label: string;
  /** Which code runs it, and how. */
  implementation: string;
}

/** The layers compared, the three tf.layers ones first (the fair comparison), then the course's GRU. */
export const COMPARED_LAYERS: readonly ComparedLayer[] = [
  { rnn: 'simpleRnn', label: 'SimpleRNN', implementation: 'tf.layers.simpleRNN (eager ops)' },
  { rnn: 'tfGru', label: 'GRU', implementation: 'tf.layers.gru, reset_after=False (eager ops; TfGRU: dropout fixed)' },
  { rnn: 'lstm', label: 'LSTM', implementation: 'tf.layers.lstm (eager ops)' },
  { rnn: 'kerasGru', label: 'GRU (course)', implementation: 'KerasGRU, reset_after=True (native TF graphs)' },
];

/** The entry of COMPARED_LAYERS for a recurrent layer kind. */
export function comparedLayer(rnn: RnnKind): ComparedLayer {
  const layer = COMPARED_LAYERS.find((l) => l.rnn === rnn);
  if (!layer)
    throw new Error(`compare: no compared layer ${JSON.stringify(rnn)}; use one of ${COMPARED_LAYERS.map((l) => l.rnn).join(', ')}`);
  return layer;
}

// The budget every layer gets. The tf.layers models send TensorFlow one eager call per op, forward and
// backward, at every time step, so they take far longer per batch than the native-graph GRU (TF calls per
// step, ms per batch and s per epoch as measured: README.md, "GRU vs LSTM vs simple RNN"); the full
// comparison therefore reads shorter reviews and fewer of them than the reference run (500 tokens, 25,000 reviews).
const BUDGETS: Readonly<Record<Profile, Partial<TrainConfig>>> = {
  full: { trainSize: 5_000, testSize: 5_000, maxLen: 200, epochs: 4 },
  ci: { trainSize: 1_000, testSize: 500, maxLen: 80, epochs: 2 },
};

/**
 * The training configuration of one layer in a profile's comparison: the reference model with the
 * comparison's budget, then `overrides` (the same for every layer, or the comparison is not fair).
 */
export function comparisonConfig(profile: Profile, rnn: RnnKind, overrides: Partial<TrainConfig> = {}): TrainConfig {
  comparedLayer(rnn);
  const config: TrainConfig = { ...PROFILES[profile], ...BUDGETS[profile], ...overrides, rnn, profile };
  validateConfig(config);
  return config;
}

/** Review lengths at which time per batch is measured: the comparison's own, and in full also the reference 500. */
export const TIMING_LENGTHS: Readonly<Record<Profile, readonly number[]>> = { full: [200, 500], ci: [80] };

/** runs/compare-<profile>/<rnn>: where the comparison's run of one layer is kept. */
export function comparisonRunDir(profile: Profile, rnn: RnnKind, runsDir = RUNS_DIR): string {
  return path.join(runsDir, `compare-${profile}`, rnn);
}

// ---------------------------------------------------------------------------
// Time per batch, measured

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
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`compare: rounds must be a positive integer, got ${rounds}`);
  if (split.size < config.batchSize) throw new Error(`compare: timing needs ${config.batchSize} reviews, the split has ${split.size}`);
  const maxLen = split.x.length / split.size;
  if (maxLen !== config.maxLen)
    throw new Error(
      `compare: the split holds reviews of ${maxLen} ids, the config wants maxLen ${config.maxLen}: load the data with that maxLen`,
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

// ---------------------------------------------------------------------------
// Training all layers on the same budget

/** One layer's training run in the comparison. */
export interface ComparisonRun {
  rnn: RnnKind;
  runDir: string;
  config: TrainConfig;
  history: EpochRecord[];
  /** Parameters of the recurrent layer as built (countParams). */
  recurrentParams: number;
  totalParams: number;
  outcome: 'trained' | 'resumed' | 'loaded' | 'stopped';
}

/**
 * Trains every layer of `layers` with the profile's comparison config, one after another, each in its own
 * run directory with resume (a completed run is loaded, not retrained; an interrupted one continues).
 * `data` must be loaded with the comparison's numWords, maxLen and seed.
 */
export async function trainComparison(
  profile: Profile,
  data: ImdbData,
  options: {
    layers?: readonly RnnKind[];
    /** Changes to the budget, applied to every layer alike (see comparisonConfig). */
    overrides?: Partial<TrainConfig>;
    runsDir?: string;
    onProgress?: (rnn: RnnKind, e: ProgressEvent) => void;
    signal?: AbortSignal;
  } = {},
): Promise<ComparisonRun[]> {
  const runs: ComparisonRun[] = [];
  for (const rnn of options.layers ?? COMPARED_LAYERS.map((l) => l.rnn)) {
    const config = comparisonConfig(profile, rnn, options.overrides);
    const runDir = comparisonRunDir(profile, rnn, options.runsDir);
    const onProgress = options.onProgress;
    const result = await train(config, {
      runDir,
      resume: true,
      data,
      signal: options.signal,
      onProgress: onProgress ? (e) => onProgress(rnn, e) : () => {},
    });
    const model = result.model;
    runs.push({
      rnn,
      runDir,
      config,
      history: result.history,
      outcome: result.outcome,
      recurrentParams: recurrentLayerOf(model).countParams(),
      totalParams: totalParams(model),
    });
    model.dispose();
    if (result.outcome === 'stopped') break;
  }
  return runs;
}

/** Progress of trainComparison as lines "[layer] ...": one trainProgressPrinter per layer (each has its own ETA). */
export function comparisonPrinter(
  options: Parameters<typeof trainProgressPrinter>[0] & { write: (line: string) => void },
): (rnn: RnnKind, e: ProgressEvent) => void {
  return labelledProgressPrinter(options);
}

// ---------------------------------------------------------------------------
// Tables and the verdict

/** One row per layer: parameters, arithmetic, measured time per batch and per epoch, accuracy (last epoch, and the epoch with the lowest validation loss). */
export function comparisonFrame(runs: readonly ComparisonRun[], timings: readonly BatchTiming[]): pl.DataFrame {
  const rows = runs.map((run) => {
    const layer = comparedLayer(run.rnn);
    const t = timings.find((x) => x.rnn === run.rnn && x.maxLen === run.config.maxLen);
    const last = run.history[run.history.length - 1];
    const best = run.history.length > 0 ? bestEpoch(run.history) : undefined;
    return {
      layer: layer.label,
      implementation: layer.implementation,
      params: run.recurrentParams,
      byFormula: paramCount(run.rnn, run.config.embeddingDim, run.config.units),
      madsPerStep: multiplyAddsPerStep(run.rnn, run.config.embeddingDim, run.config.units),
      kernelsPerStep: t ? t.kernelsPerTrainStep / run.config.maxLen : NaN,
      trainMsPerBatch: t ? t.trainMs : NaN,
      secondsPerEpoch: run.history.length > 0 ? mean(run.history.map((r) => r.seconds)) : NaN,
      finalValAccuracy: last ? last.val_accuracy : NaN,
      bestEpoch: best ? best.epoch : 0,
      bestEpochValAccuracy: best ? best.val_accuracy : NaN,
    };
  });
  return pl.DataFrame([
    pl.Series(
      'layer',
      rows.map((r) => r.layer),
    ),
    pl.Series(
      'implementation',
      rows.map((r) => r.implementation),
    ),
    pl.Series(
      'params (counted)',
      Int32Array.from(rows, (r) => r.params),
    ),
    pl.Series(
      'params (formula)',
      Int32Array.from(rows, (r) => r.byFormula),
    ),
    pl.Series(
      'multiply-adds / step',
      Int32Array.from(rows, (r) => r.madsPerStep),
    ),
    pl.Series(
      'TF calls / step (train)',
      rows.map((r) => round(r.kernelsPerStep, 1)),
    ),
    pl.Series(
      'ms / train batch',
      rows.map((r) => round(r.trainMsPerBatch, 1)),
    ),
    pl.Series(
      's / epoch',
      rows.map((r) => round(r.secondsPerEpoch, 1)),
    ),
    pl.Series(
      'final val acc %',
      rows.map((r) => round(100 * r.finalValAccuracy, 2)),
    ),
    pl.Series(
      'lowest val loss: epoch',
      Int32Array.from(rows, (r) => r.bestEpoch),
    ),
    pl.Series(
      'val acc % there',
      rows.map((r) => round(100 * r.bestEpochValAccuracy, 2)),
    ),
  ]);
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One of the blog's claims about the GRU against the LSTM, checked against measurements. */
export interface ClaimCheck {
  claim: string;
  gru: number;
  lstm: number;
  /** gru / lstm. */
  ratio: number;
  /** Whether the measurement agrees with the claim. */
  holds: boolean;
  unit: string;
}

/**
 * Checks "a GRU has fewer parameters, lower computational cost and trains faster than an LSTM" on the
 * tf.layers pair (tfGru vs lstm, the same implementation quality), plus whether it learns as well: the
 * validation accuracy of the epoch each would keep (lowest validation loss, as notebook 04 chooses) within
 * `accuracyTolerance`. Needs both runs and both timings.
 */
export function checkClaims(runs: readonly ComparisonRun[], timings: readonly BatchTiming[], accuracyTolerance = 0.01): ClaimCheck[] {
  const run = (rnn: RnnKind) => {
    const r = runs.find((x) => x.rnn === rnn);
    if (!r || r.history.length === 0) throw new Error(`compare: no completed run of ${rnn} to check the claims with`);
    return r;
  };
  const timing = (rnn: RnnKind, maxLen: number) => {
    const t = timings.find((x) => x.rnn === rnn && x.maxLen === maxLen);
    if (!t) throw new Error(`compare: no timing of ${rnn} at maxLen ${maxLen}`);
    return t;
  };
  const gru = run('tfGru');
  const lstm = run('lstm');
  const { embeddingDim: d, units: n, maxLen } = gru.config;
  const check = (claim: string, unit: string, g: number, l: number, holds: (g: number, l: number) => boolean): ClaimCheck => ({
    claim,
    gru: g,
    lstm: l,
    ratio: g / l,
    holds: holds(g, l),
    unit,
  });
  const keptAcc = (r: ComparisonRun) => bestEpoch(r.history).val_accuracy;
  return [
    check('fewer parameters', 'weights', gru.recurrentParams, lstm.recurrentParams, (g, l) => g < l),
    check(
      'less arithmetic per step',
      'multiply-adds',
      multiplyAddsPerStep('tfGru', d, n),
      multiplyAddsPerStep('lstm', d, n),
      (g, l) => g < l,
    ),
    check('faster training step', 'ms / batch', timing('tfGru', maxLen).trainMs, timing('lstm', maxLen).trainMs, (g, l) => g < l),
    check('faster epoch', 's / epoch', mean(gru.history.map((r) => r.seconds)), mean(lstm.history.map((r) => r.seconds)), (g, l) => g < l),
    check('as accurate', 'val accuracy, epoch of lowest val loss', keptAcc(gru), keptAcc(lstm), (g, l) => g >= l - accuracyTolerance),
  ];
}

/** The claim checks as a table. */
export function claimFrame(checks: readonly ClaimCheck[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series(
      'claim (GRU vs LSTM)',
      checks.map((c) => c.claim),
    ),
    pl.Series(
      'GRU',
      checks.map((c) => round(c.gru, 4)),
    ),
    pl.Series(
      'LSTM',
      checks.map((c) => round(c.lstm, 4)),
    ),
    pl.Series(
      'unit',
      checks.map((c) => c.unit),
    ),
    pl.Series(
      'GRU / LSTM',
      checks.map((c) => round(c.ratio, 3)),
    ),
    pl.Series(
      'holds here',
      checks.map((c) => c.holds),
    ),
  ]);
}
