// SimpleRNN vs GRU vs LSTM on IMDB, measured (notebook 05).
//
// The three cells get the same embedding, sizes, data, optimizer, dropout, epochs and seeds; only the recurrent
// layer changes. "Same implementation quality" matters as much as the cell: a GRU run as native TensorFlow graphs
// against an LSTM run one eager op at a time would measure the implementations, not the cells. So the trained
// comparison uses the course's own three layers (KerasSimpleRNN, KerasGRU, KerasLSTM), which run on one
// native-graph engine with hand-written backward passes (lib/engine/chunked-graphs.ts), at the reference sizes
// (25,000 reviews of 500 ids in the full profile). TensorFlow.js's eager layers (tf.layers.simpleRNN, gru, lstm)
// are timed beside them per batch, as reference points; Keras's epochs come from the recorded epoch benchmark
// (lib/experiments/epoch-benchmark.ts).
//
// "What each gate buys" (the second half of notebook 05) lives in lib/experiments/gate-variants.ts.
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import * as path from 'node:path';
import type { Profile } from '../util/env';
import { RUNS_DIR } from '../util/paths';
import type { ImdbData, ImdbSplit } from '../data/imdb';
import { buildModel, recurrentLayerOf, totalParams } from '../training/model';
import { multiplyAddsPerStep, paramCount, type RnnKind } from '../cells/layer-kinds';
import { mean, median } from '../util/stats';
import { KerasAdam } from '../training/adam';
import { gatherBatch } from '../training/evaluate';
import { bestEpoch, type EpochRecord } from '../training/run-dir';
import { train, trainStep, trainableVariables } from '../training/train';
import { trainProgressPrinter, type ProgressEvent, labelledProgressPrinter } from '../training/train-progress';
import type { RecurrentLayerShape } from '../cells/layer-kinds';
import { PROFILES, validateConfig, type TrainConfig } from '../training/config';

/** One recurrent layer in the comparison. */
export interface ComparedLayer {
  rnn: RnnKind;
  /** Short name for tables and legends. */
  label: string;
  cell: RecurrentLayerShape['cell'];
  /** Which code runs it, and how. */
  implementation: string;
}

/** The trained comparison, at equal implementation quality: the course's three layers on one native-graph engine. */
export const COMPARED_LAYERS: readonly ComparedLayer[] = [
  { rnn: 'kerasSimpleRnn', label: 'SimpleRNN', cell: 'SimpleRNN', implementation: 'KerasSimpleRNN (native TF graphs)' },
  { rnn: 'kerasGru', label: 'GRU', cell: 'GRU', implementation: 'KerasGRU, reset_after=True (native TF graphs)' },
  { rnn: 'kerasLstm', label: 'LSTM', cell: 'LSTM', implementation: 'KerasLSTM (native TF graphs)' },
];

/** Reference points, timed per batch but not trained: TensorFlow.js's eager layers with Keras's settings. */
export const EAGER_LAYERS: readonly ComparedLayer[] = [
  { rnn: 'simpleRnn', label: 'SimpleRNN (tf.layers)', cell: 'SimpleRNN', implementation: 'tf.layers.simpleRNN (eager ops)' },
  {
    rnn: 'tfGru',
    label: 'GRU (tf.layers)',
    cell: 'GRU',
    implementation: 'tf.layers.gru, reset_after=False (eager ops; TfGRU: dropout fixed)',
  },
  { rnn: 'lstm', label: 'LSTM (tf.layers)', cell: 'LSTM', implementation: 'tf.layers.lstm (eager ops)' },
];

/** Every layer the comparison times: the course's three, then the eager three. */
export const TIMED_LAYERS: readonly ComparedLayer[] = [...COMPARED_LAYERS, ...EAGER_LAYERS];

/** The entry of TIMED_LAYERS for a recurrent layer kind. */
export function comparedLayer(rnn: RnnKind): ComparedLayer {
  const layer = TIMED_LAYERS.find((l) => l.rnn === rnn);
  if (!layer) throw new Error(`compare: no compared layer ${JSON.stringify(rnn)}; use one of ${TIMED_LAYERS.map((l) => l.rnn).join(', ')}`);
  return layer;
}

// The budget every layer gets. full: the reference run's data and sizes (validated on the test reviews) for as many
// epochs as fit in about 15 minutes for all runs on this 2-core machine (the seconds per epoch measured:
// data/benchmarks/cells-comparison.json). ci: a smoke test of the pipeline.
const BUDGETS: Readonly<Record<Profile, Partial<TrainConfig>>> = {
  full: { trainSize: 25_000, testSize: 25_000, maxLen: 500, epochs: 1 },
  ci: { trainSize: 1_000, testSize: 500, maxLen: 80, epochs: 2 },
};

/**
 * Seeds of the comparison: every layer trains once per seed (other initial weights, review order and dropout masks),
 * because one seed cannot tell two gated cells a point apart. The first is the profile's own seed.
 */
export const COMPARISON_SEEDS: Readonly<Record<Profile, readonly number[]>> = { full: [42, 43], ci: [42, 43] };

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

/** runs/cells-<profile>/<rnn> for the profile's own seed, <rnn>-seed<N> for another: where one comparison run is kept. */
export function comparisonRunDir(profile: Profile, rnn: RnnKind, seed: number = PROFILES[profile].seed ?? 42, runsDir = RUNS_DIR): string {
  const own = seed === PROFILES[profile].seed;
  return path.join(runsDir, `cells-${profile}`, own ? rnn : `${rnn}-seed${seed}`);
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

/** One layer's training run with one seed in the comparison. */
export interface ComparisonRun {
  rnn: RnnKind;
  seed: number;
  runDir: string;
  config: TrainConfig;
  history: EpochRecord[];
  /** Parameters of the recurrent layer as built (countParams). */
  recurrentParams: number;
  totalParams: number;
  outcome: 'trained' | 'resumed' | 'loaded' | 'stopped';
}

/**
 * Trains every layer of `layers` with every seed of `seeds` (default COMPARISON_SEEDS), seed by seed, with the
 * profile's comparison config, each in its own run directory with resume (a completed run is loaded, not retrained;
 * an interrupted one continues). Progress is labelled "<rnn> seed <N>". `data` must be loaded with the comparison's
 * numWords, maxLen and dataSeed.
 */
export async function trainComparison(
  profile: Profile,
  data: ImdbData,
  options: {
    layers?: readonly RnnKind[];
    seeds?: readonly number[];
    /** Changes to the budget, applied to every layer alike (see comparisonConfig). */
    overrides?: Partial<TrainConfig>;
    runsDir?: string;
    onProgress?: (label: string, e: ProgressEvent) => void;
    signal?: AbortSignal;
  } = {},
): Promise<ComparisonRun[]> {
  const runs: ComparisonRun[] = [];
  for (const seed of options.seeds ?? COMPARISON_SEEDS[profile]) {
    for (const rnn of options.layers ?? COMPARED_LAYERS.map((l) => l.rnn)) {
      const config = comparisonConfig(profile, rnn, { ...options.overrides, seed });
      const runDir = comparisonRunDir(profile, rnn, seed, options.runsDir);
      const onProgress = options.onProgress;
      const result = await train(config, {
        runDir,
        resume: true,
        data,
        signal: options.signal,
        onProgress: onProgress ? (e) => onProgress(`${rnn} seed ${seed}`, e) : () => {},
      });
      const model = result.model;
      runs.push({
        rnn,
        seed,
        runDir,
        config,
        history: result.history,
        outcome: result.outcome,
        recurrentParams: recurrentLayerOf(model).countParams(),
        totalParams: totalParams(model),
      });
      model.dispose();
      if (result.outcome === 'stopped') return runs;
    }
  }
  return runs;
}

/** Progress of trainComparison as lines "[<rnn> seed <N>] ...": one trainProgressPrinter per run (each has its own ETA). */
export function comparisonPrinter(
  options: Parameters<typeof trainProgressPrinter>[0] & { write: (line: string) => void },
): (label: string, e: ProgressEvent) => void {
  return labelledProgressPrinter(options);
}

// ---------------------------------------------------------------------------
// Tables and the verdict

/** A layer's completed runs (every epoch of the budget), one per seed. */
function completeRuns(runs: readonly ComparisonRun[], rnn: RnnKind): ComparisonRun[] {
  return runs.filter((r) => r.rnn === rnn && r.history.length === r.config.epochs && r.history.length > 0);
}

/** Mean seconds per epoch of a run (validation included, as history.csv records it). */
export function secondsPerEpoch(run: ComparisonRun): number {
  return mean(run.history.map((r) => r.seconds));
}

/** Per layer, one column of the history per epoch, averaged over the layer's completed seeds (for charts). */
export function comparisonCurves(
  runs: readonly ComparisonRun[],
  key: 'val_accuracy' | 'val_loss' | 'loss' | 'accuracy',
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const layer of COMPARED_LAYERS) {
    const mine = completeRuns(runs, layer.rnn);
    if (mine.length === 0) continue;
    out[layer.label] = mine[0].history.map((_, e) => mean(mine.map((r) => r.history[e][key])));
  }
  return out;
}

/**
 * One row per trained layer: parameters (counted and by formula), arithmetic, measured time per batch and per epoch
 * (mean over seeds), validation accuracy after each epoch (mean over seeds) and of the epoch each run would keep.
 */
export function comparisonFrame(runs: readonly ComparisonRun[], timings: readonly BatchTiming[]): pl.DataFrame {
  const layers = COMPARED_LAYERS.filter((l) => completeRuns(runs, l.rnn).length > 0);
  const rows = layers.map((layer) => {
    const mine = completeRuns(runs, layer.rnn);
    const { config } = mine[0];
    const t = timings.find((x) => x.rnn === layer.rnn && x.maxLen === config.maxLen);
    return {
      layer,
      seeds: mine.map((r) => r.seed).join(', '),
      params: mine[0].recurrentParams,
      byFormula: paramCount(layer.rnn, config.embeddingDim, config.units),
      mads: multiplyAddsPerStep(layer.rnn, config.embeddingDim, config.units),
      trainMs: t ? t.trainMs : NaN,
      seconds: mean(mine.map(secondsPerEpoch)),
      perEpoch: config.epochs,
      valAcc: (e: number) => mean(mine.map((r) => r.history[e].val_accuracy)),
      kept: mean(mine.map((r) => bestEpoch(r.history).val_accuracy)),
    };
  });
  const epochs = Math.max(0, ...rows.map((r) => r.perEpoch));
  return pl.DataFrame([
    pl.Series(
      'layer',
      rows.map((r) => r.layer.label),
    ),
    pl.Series(
      'implementation',
      rows.map((r) => r.layer.implementation),
    ),
    pl.Series(
      'seeds',
      rows.map((r) => r.seeds),
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
      Int32Array.from(rows, (r) => r.mads),
    ),
    pl.Series(
      'ms / train batch',
      rows.map((r) => round(r.trainMs, 1)),
    ),
    pl.Series(
      's / epoch',
      rows.map((r) => round(r.seconds, 1)),
    ),
    ...Array.from({ length: epochs }, (_, e) =>
      pl.Series(
        `val acc % e${e + 1}`,
        rows.map((r) => (e < r.perEpoch ? round(100 * r.valAcc(e), 2) : NaN)),
      ),
    ),
    pl.Series(
      'val acc % kept',
      rows.map((r) => round(100 * r.kept, 2)),
    ),
  ]);
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
  /** Whether the measurement agrees with the claim; null: undecided (the seeds disagree). */
  holds: boolean | null;
  unit: string;
  /** How the verdict was reached, in words (e.g. the per-seed differences). */
  basis: string;
}

/**
 * Checks "a GRU has fewer parameters, lower computational cost and trains faster than an LSTM" on the course's
 * GRU and LSTM (the same engine: equal implementation quality), plus whether an epoch's time is in proportion to the
 * arithmetic (GRU/LSTM time within 0.10 of the multiply-add ratio) and whether the GRU learns as well: the validation
 * accuracy of the epoch each run would keep (lowest validation loss, as notebook 04 chooses), seed by seed. It holds
 * if in every seed the GRU is at most `accuracyTolerance` below the LSTM, fails if in every seed it is further
 * below, and is undecided otherwise. Needs both layers' runs and timings.
 */
export function checkClaims(runs: readonly ComparisonRun[], timings: readonly BatchTiming[], accuracyTolerance = 0.01): ClaimCheck[] {
  const complete = (rnn: RnnKind) => {
    const r = completeRuns(runs, rnn);
    if (r.length === 0) throw new Error(`compare: no completed run of ${rnn} to check the claims with`);
    return r;
  };
  const gru = complete('kerasGru');
  const lstm = complete('kerasLstm');
  const { embeddingDim: d, units: n, maxLen } = gru[0].config;
  const timing = (rnn: RnnKind) => {
    const t = timings.find((x) => x.rnn === rnn && x.maxLen === maxLen);
    if (!t) throw new Error(`compare: no timing of ${rnn} at maxLen ${maxLen}`);
    return t;
  };
  const check = (claim: string, unit: string, g: number, l: number, holds: boolean | null, basis: string): ClaimCheck => ({
    claim,
    gru: g,
    lstm: l,
    ratio: g / l,
    holds,
    unit,
    basis,
  });
  const arithmetic = multiplyAddsPerStep('kerasGru', d, n) / multiplyAddsPerStep('kerasLstm', d, n);
  const gruEpoch = mean(gru.map(secondsPerEpoch));
  const lstmEpoch = mean(lstm.map(secondsPerEpoch));
  const seeds = gru.map((r) => r.seed).filter((s) => lstm.some((l) => l.seed === s));
  const keptAcc = (rs: ComparisonRun[], seed: number) => bestEpoch((rs.find((r) => r.seed === seed) as ComparisonRun).history).val_accuracy;
  const diffs = seeds.map((s) => keptAcc(gru, s) - keptAcc(lstm, s));
  const asAccurate = diffs.every((x) => x >= -accuracyTolerance) ? true : diffs.every((x) => x < -accuracyTolerance) ? false : null;
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;
  return [
    check(
      'fewer parameters',
      'weights',
      gru[0].recurrentParams,
      lstm[0].recurrentParams,
      gru[0].recurrentParams < lstm[0].recurrentParams,
      'counted',
    ),
    check(
      'less arithmetic per step',
      'multiply-adds',
      multiplyAddsPerStep('kerasGru', d, n),
      multiplyAddsPerStep('kerasLstm', d, n),
      arithmetic < 1,
      'formula',
    ),
    check(
      'faster training step',
      'ms / batch',
      timing('kerasGru').trainMs,
      timing('kerasLstm').trainMs,
      timing('kerasGru').trainMs < timing('kerasLstm').trainMs,
      'median of the live timing',
    ),
    check('faster epoch', 's / epoch', gruEpoch, lstmEpoch, gruEpoch < lstmEpoch, `mean over ${gru.length} + ${lstm.length} runs`),
    check(
      'epoch time in proportion to arithmetic',
      's / epoch',
      gruEpoch,
      lstmEpoch,
      Math.abs(gruEpoch / lstmEpoch - arithmetic) <= 0.1,
      `GRU/LSTM time within 0.10 of the arithmetic ratio ${arithmetic.toFixed(2)}`,
    ),
    check(
      'as accurate',
      'val accuracy, epoch of lowest val loss',
      mean(seeds.map((s) => keptAcc(gru, s))),
      mean(seeds.map((s) => keptAcc(lstm, s))),
      asAccurate,
      `GRU minus LSTM per seed (${seeds.join(', ')}): ${diffs.map(pts).join(', ')} points; tolerance ${100 * accuracyTolerance} point`,
    ),
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
      checks.map((c) => (c.holds === null ? 'undecided' : c.holds ? 'yes' : 'no')),
    ),
    pl.Series(
      'basis',
      checks.map((c) => c.basis),
    ),
  ]);
}
