// Shared by test/compare.test.ts and test/gate-variants.test.ts: a comparison budget tiny enough to train in
// seconds, and the synthetic fixture archive loaded with its encoding (no real data).
import * as path from 'node:path';
import { loadImdb, type ImdbData } from '../lib/imdb';
import { PROFILES, type TrainConfig } from '../lib/train-config';
import { tempDir, writeArchive } from './fixtures';

/** Overrides that shrink the comparison budget to a few reviews, units and ids. */
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
