// Shared by the tests of lib/experiments/ (compare, batch-timing, claims, gate-variants, runs): a budget tiny enough to
// train in seconds, the synthetic fixture archive loaded with its encoding (no real data), and hand-made comparison
// runs and timings whose tables and verdicts are known.
import * as path from 'node:path';
import { comparisonConfig, type ComparisonRun } from '../../lib/experiments/compare';
import type { BatchTiming } from '../../lib/experiments/batch-timing';
import { loadImdb, type ImdbData } from '../../lib/data/imdb';
import { paramCount, type RnnKind } from '../../lib/cells/layer-kinds';
import type { EpochRecord } from '../../lib/training/run-dir';
import { PROFILES, type TrainConfig } from '../../lib/training/config';
import { tempDir, writeArchive } from '../fixtures';

/** Overrides that shrink the comparison and gate budgets to a few reviews, units and ids. */
export const TINY: Partial<TrainConfig> = {
  numWords: 50,
  maxLen: 12,
  embeddingDim: 4,
  units: 3,
  trainSize: 6,
  testSize: 4,
  batchSize: 4,
  evalBatchSize: 4,
  epochs: 1,
};

/** A temporary folder with the fixture archive, loaded with TINY's encoding and the ci data seed. */
export async function tinyComparisonData(prefix: string): Promise<{ dir: string; data: ImdbData }> {
  const dir = await tempDir(prefix);
  const archivePath = await writeArchive(dir);
  const data = await loadImdb({ archivePath, numWords: 50, maxLen: 12, seed: PROFILES.ci.dataSeed, cacheDir: path.join(dir, 'cache') });
  return { dir, data };
}

/**
 * A hand-made run of the ci comparison: one epoch per entry of `seconds`, with these validation accuracies and
 * losses (loss default 0.6 for every epoch, so the first epoch is the one kept); the budget's epochs are the
 * history's, so the run is complete. Parameters are the formula's, at the ci sizes (d = n = 128).
 */
export function fakeComparisonRun(
  rnn: RnnKind,
  seed: number,
  seconds: readonly number[],
  valAcc: readonly number[],
  valLoss: readonly number[] = valAcc.map(() => 0.6),
): ComparisonRun {
  const config = { ...comparisonConfig('ci', rnn, { seed }), epochs: seconds.length };
  const history: EpochRecord[] = seconds.map((s, i) => ({
    epoch: i + 1,
    loss: 0.5,
    accuracy: 0.8,
    val_loss: valLoss[i],
    val_accuracy: valAcc[i],
    seconds: s,
  }));
  const params = paramCount(rnn, config.embeddingDim, config.units);
  return {
    rnn,
    seed,
    runDir: `/runs/${rnn}-seed${seed}`,
    config,
    history,
    recurrentParams: params,
    totalParams: params + 1_280_129,
    outcome: 'loaded',
  };
}

/** A hand-made timing of one layer at the ci comparison's length (80 ids, batches of 32). */
export function fakeTiming(rnn: RnnKind, trainMs: number, kernelsPerTrainStep = 800): BatchTiming {
  return { rnn, batchSize: 32, maxLen: 80, trainMs, predictMs: trainMs / 3, kernelsPerTrainStep, rounds: 3 };
}
