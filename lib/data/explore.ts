/**
 * Exploring the IMDB corpus with nodejs-polars (notebook 03): the raw reviews as a DataFrame, word
 * frequencies, and how much of the text a numWords vocabulary covers.
 */
import type { DataFrame } from 'nodejs-polars';
import { SPLITS, canonicalOrder, readReviews, type RawReview, type Split } from './archive';
import { imdbProgressPrinter, locateArchive, type LocateOptions } from './download';
import { INDEX_FROM, OOV_ID, tokenize } from './text';
import { DEFAULT_NUM_WORDS, checkNumWords, rankWords } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// A polars view of the raw corpus
// ---------------------------------------------------------------------------------------------

export interface CorpusOptions extends LocateOptions {
  /** Only these splits (default both). */
  splits?: Split[];
}

/**
 * The raw reviews as a nodejs-polars DataFrame with columns split, label, id, rating, tokens
 * (token count) and text, sorted by split (train first), label and id.
 */
export async function corpusFrame(archiveOrOptions: string | CorpusOptions = {}): Promise<DataFrame> {
  const options = typeof archiveOrOptions === 'string' ? { archivePath: archiveOrOptions } : archiveOrOptions;
  const archivePath = await locateArchive(options);
  const wanted = new Set(options.splits ?? SPLITS);
  const rows: RawReview[] = [];
  const onProgress = options.onProgress ?? imdbProgressPrinter();
  for await (const review of readReviews(archivePath, onProgress)) if (wanted.has(review.split)) rows.push(review);
  rows.sort((a, b) => SPLITS.indexOf(a.split) - SPLITS.indexOf(b.split) || canonicalOrder(a, b));
  return reviewsFrame(rows);
}

function reviewsFrame(rows: RawReview[]): DataFrame {
  const pl = require('nodejs-polars') as typeof import('nodejs-polars');
  return pl.DataFrame([
    pl.Series(
      'split',
      rows.map((r) => r.split),
    ),
    pl.Series(
      'label',
      Uint8Array.from(rows, (r) => r.label),
    ),
    pl.Series(
      'id',
      Uint32Array.from(rows, (r) => r.id),
    ),
    pl.Series(
      'rating',
      Uint8Array.from(rows, (r) => r.rating),
    ),
    pl.Series(
      'tokens',
      Uint32Array.from(rows, (r) => tokenize(r.text).length),
    ),
    pl.Series(
      'text',
      rows.map((r) => r.text),
    ),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Word frequencies and what a numWords vocabulary covers
// ---------------------------------------------------------------------------------------------

/** How often each word occurs in the texts, tokenized with `tokenize` (count the training split for a vocabulary). */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) for (const w of tokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** The id a word of 0-based frequency rank `rank` gets with a numWords vocabulary: rank + 4, or OOV past the cut. */
function idOfRank(rank: number, numWords: number): number {
  const id = rank + INDEX_FROM + 1;
  return id < numWords ? id : OOV_ID;
}

export interface CoveragePoint {
  numWords: number;
  /** Words the vocabulary keeps: min(numWords - 4, distinct training words). */
  words: number;
  /** Share of the measured tokens that become OOV (id 2); NaN when there are no tokens. */
  oovShare: number;
}

/**
 * For each numWords, the share of the tokens counted in `tokenCounts` (training or test words) that
 * become OOV with the vocabulary ranked on `trainCounts`, exactly as loadImdb({ numWords }) would encode them.
 */
export function vocabularyCoverage(
  trainCounts: ReadonlyMap<string, number>,
  tokenCounts: ReadonlyMap<string, number>,
  numWordsList: readonly number[],
): CoveragePoint[] {
  numWordsList.forEach(checkNumWords);
  const ranked = rankWords(trainCounts);
  const rankOf = new Map(ranked.map(([w], r) => [w, r]));
  // coveredUpTo[r] = tokens whose word has rank < r: one prefix sum answers every numWords.
  const coveredUpTo = new Float64Array(ranked.length + 1);
  let total = 0;
  for (const [w, n] of tokenCounts) {
    total += n;
    const r = rankOf.get(w);
    if (r !== undefined) coveredUpTo[r + 1] += n;
  }
  for (let r = 1; r <= ranked.length; r++) coveredUpTo[r] += coveredUpTo[r - 1];
  return numWordsList.map((numWords) => {
    const words = Math.min(numWords - INDEX_FROM - 1, ranked.length);
    return { numWords, words, oovShare: total === 0 ? NaN : (total - coveredUpTo[words]) / total };
  });
}

/**
 * The word-frequency table of `wordCounts` as a nodejs-polars DataFrame, one row per word in rank order:
 * rank (1 = most frequent), id (rank + 3, or 2 = OOV at and past numWords), word, count, share of all
 * tokens, and cumulative share.
 */
export function wordFrequencyFrame(wordCounts: ReadonlyMap<string, number>, numWords = DEFAULT_NUM_WORDS): DataFrame {
  checkNumWords(numWords);
  const ranked = rankWords(wordCounts);
  const total = ranked.reduce((sum, [, n]) => sum + n, 0);
  let running = 0;
  const cumulative = Float64Array.from(ranked, ([, n]) => (running += n) / total);
  const pl = require('nodejs-polars') as typeof import('nodejs-polars');
  return pl.DataFrame([
    pl.Series(
      'rank',
      Uint32Array.from(ranked, (_, r) => r + 1),
    ),
    pl.Series(
      'id',
      Uint32Array.from(ranked, (_, r) => idOfRank(r, numWords)),
    ),
    pl.Series(
      'word',
      ranked.map(([w]) => w),
    ),
    pl.Series(
      'count',
      Uint32Array.from(ranked, ([, n]) => n),
    ),
    pl.Series(
      'share',
      Float64Array.from(ranked, ([, n]) => n / total),
    ),
    pl.Series('cumulativeShare', cumulative),
  ]);
}
