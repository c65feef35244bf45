/**
 * The experiment runner of notebook 05: the cell comparison (lib/experiments/compare.ts) and the gate variants
 * (lib/experiments/gate-variants.ts) both train a list of models with several seeds, seed by seed, each run
 * through train() in its own run directory with resume (a completed run is loaded, not retrained; an interrupted
 * one continues), its progress labelled "<name> seed <N>", and stop at the first run that Ctrl-C (the signal)
 * stopped. What differs is only how a model and a seed become a config and a run directory: the `plan`.
 */
import type * as tf from '@tensorflow/tfjs-node';
import type { ImdbData } from '../data/imdb';
import type { EpochRecord } from '../training/run-dir';
import { train, type TrainResult } from '../training/train';
import type { ProgressEvent } from '../training/train-progress';
import type { TrainConfig } from '../training/config';

/** One run of an experiment as planned: what it trains, where it is kept, and the name its progress lines carry. */
export interface PlannedRun {
  config: TrainConfig;
  runDir: string;
  /** What the experiment calls the model (the label is "<name> seed <N>"). */
  name: string;
}

/** One run of an experiment after train(): the model it ran (`item`), its seed, its plan and what train() did. */
export interface LabelledRun<T, M = undefined> {
  item: T;
  seed: number;
  /** "<name> seed <N>": how its progress lines are labelled. */
  label: string;
  /** The config the experiment planned (the one train() was asked for). */
  config: TrainConfig;
  runDir: string;
  history: EpochRecord[];
  outcome: TrainResult['outcome'];
  /** What `measure` read from the trained model before it was disposed. */
  measured: M;
}

/** How trainLabelledRuns reports and stops; `measure` reads what the experiment needs from each model. */
export interface LabelledRunOptions<M> {
  /** Progress of every run, with its label (e.g. labelledProgressPrinter); default: silence. */
  onProgress?: (label: string, e: ProgressEvent) => void;
  /** Ctrl-C: the run in progress stops at the end of its batch, and no further run starts. */
  signal?: AbortSignal;
  /** Reads something from each run's model before it is disposed (e.g. its parameter count). */
  measure?: (model: tf.LayersModel) => M;
}

/** The label of a run's progress lines: "<name> seed <N>". */
export function runLabel(name: string, seed: number): string {
  return `${name} seed ${seed}`;
}

/**
 * Trains every item with every seed, seed by seed (all items with the first seed, then with the next), each as
 * `plan(item, seed)` says, with resume, on `data` (loaded with the plans' numWords, maxLen and dataSeed). Returns
 * the runs in that order; a run stopped by the signal is the last one returned.
 */
export async function trainLabelledRuns<T, M = undefined>(
  items: readonly T[],
  seeds: readonly number[],
  plan: (item: T, seed: number) => PlannedRun,
  data: ImdbData,
  options: LabelledRunOptions<M> = {},
): Promise<LabelledRun<T, M>[]> {
  const runs: LabelledRun<T, M>[] = [];
  for (const seed of seeds) {
    for (const item of items) {
      const { config, runDir, name } = plan(item, seed);
      const label = runLabel(name, seed);
      const onProgress = options.onProgress;
      const result = await train(config, {
        runDir,
        resume: true,
        data,
        signal: options.signal,
        onProgress: onProgress ? (e) => onProgress(label, e) : () => {},
      });
      let measured: M;
      try {
        measured = options.measure ? options.measure(result.model) : (undefined as M);
      } finally {
        result.model.dispose();
      }
      runs.push({ item, seed, label, config, runDir, history: result.history, outcome: result.outcome, measured });
      if (result.outcome === 'stopped') return runs;
    }
  }
  return runs;
}
