// SimpleRNN vs GRU vs LSTM on IMDB, measured (notebook 05): which layers, on which budget, trained how.
//
// The three cells get the same embedding, sizes, data, optimizer, dropout, epochs and seeds; only the recurrent
// layer changes. "Same implementation quality" matters as much as the cell: a GRU run as native TensorFlow graphs
// against an LSTM run one eager op at a time would measure the implementations, not the cells. So the trained
// comparison uses the course's own three layers (KerasSimpleRNN, KerasGRU, KerasLSTM), which run on one
// native-graph engine with hand-written backward passes (lib/engine/chunked-graphs.ts), at the reference sizes
// (25,000 reviews of 500 ids in the full profile). TensorFlow.js's eager layers (tf.layers.simpleRNN, gru, lstm)
// are timed beside them per batch, as reference points (lib/experiments/batch-timing.ts); Keras's epochs come from
// the recorded epoch benchmark (lib/experiments/epoch-benchmark.ts). The tables of results and the blog's claims,
// checked, are in lib/experiments/claims.ts.
//
// "What each gate buys" (the second half of notebook 05) lives in lib/experiments/gate-variants.ts.
import * as path from 'node:path';
import type { Profile } from '../util/env';
import { RUNS_DIR } from '../util/paths';
import { mean } from '../util/stats';
import type { ImdbData } from '../data/imdb';
import { recurrentLayerOf, totalParams } from '../training/model';
import { CELLS_BY_GATES, CELL_LABELS, COURSE_KINDS, EAGER_KINDS, type Cell, type RnnKind } from '../cells/layer-kinds';
import type { EpochRecord } from '../training/run-dir';
import type { ProgressEvent } from '../training/train-progress';
import { PROFILES, validateConfig, type TrainConfig } from '../training/config';
import { trainLabelledRuns } from './runs';

/** One recurrent layer in the comparison. */
export interface ComparedLayer {
  rnn: RnnKind;
  /** Short name for tables and legends. */
  label: string;
  cell: Cell;
  /** Which code runs it, and how. */
  implementation: string;
}

const COURSE_IMPLEMENTATION: Readonly<Record<Cell, string>> = {
  simpleRnn: 'KerasSimpleRNN (native TF graphs)',
  gru: 'KerasGRU, reset_after=True (native TF graphs)',
  lstm: 'KerasLSTM (native TF graphs)',
};

const EAGER_IMPLEMENTATION: Readonly<Record<Cell, string>> = {
  simpleRnn: 'tf.layers.simpleRNN (eager ops)',
  gru: 'tf.layers.gru, reset_after=False (eager ops; TfGRU: dropout fixed)',
  lstm: 'tf.layers.lstm (eager ops)',
};

/** The trained comparison, at equal implementation quality: the course's three layers on one native-graph engine. */
export const COMPARED_LAYERS: readonly ComparedLayer[] = CELLS_BY_GATES.map((cell) => ({
  rnn: COURSE_KINDS[cell],
  label: CELL_LABELS[cell],
  cell,
  implementation: COURSE_IMPLEMENTATION[cell],
}));

/** Reference points, timed per batch but not trained: TensorFlow.js's eager layers with Keras's settings. */
export const EAGER_LAYERS: readonly ComparedLayer[] = CELLS_BY_GATES.map((cell) => ({
  rnn: EAGER_KINDS[cell],
  label: `${CELL_LABELS[cell]} (tf.layers)`,
  cell,
  implementation: EAGER_IMPLEMENTATION[cell],
}));

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
 * profile's comparison config, each in its own run directory with resume (lib/experiments/runs.ts: a completed run
 * is loaded, not retrained; an interrupted one continues). Progress is labelled "<rnn> seed <N>". `data` must be
 * loaded with the comparison's numWords, maxLen and dataSeed.
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
  const runs = await trainLabelledRuns(
    options.layers ?? COMPARED_LAYERS.map((l) => l.rnn),
    options.seeds ?? COMPARISON_SEEDS[profile],
    (rnn, seed) => ({
      config: comparisonConfig(profile, rnn, { ...options.overrides, seed }),
      runDir: comparisonRunDir(profile, rnn, seed, options.runsDir),
      name: rnn,
    }),
    data,
    {
      onProgress: options.onProgress,
      signal: options.signal,
      measure: (model) => ({ recurrentParams: recurrentLayerOf(model).countParams(), totalParams: totalParams(model) }),
    },
  );
  return runs.map((r) => ({
    rnn: r.item,
    seed: r.seed,
    runDir: r.runDir,
    config: r.config,
    history: r.history,
    outcome: r.outcome,
    ...r.measured,
  }));
}

// ---------------------------------------------------------------------------
// Means over seeds

/** A layer's completed runs (every epoch of the budget), one per seed. */
export function completeRuns(runs: readonly ComparisonRun[], rnn: RnnKind): ComparisonRun[] {
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
