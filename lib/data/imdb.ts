/**
 * IMDB movie reviews (aclImdb v1, Maas et al. 2011) for the GRU course: loadImdb() and the data set
 * it returns.
 *
 * Reads the reviews out of the `.tar.gz` (lib/data/archive.ts, found or downloaded by
 * lib/data/download.ts), tokenizes them (lib/data/text.ts), builds a vocabulary from the training
 * split only (lib/data/vocabulary.ts) and encodes/pads/shuffles them with the conventions of Keras's
 * `imdb.load_data` + `pad_sequences` (ids: lib/data/text.ts).
 *
 * Choices Keras leaves open, made deterministic here:
 *   - vocabulary ties (same training count) are broken alphabetically (UTF-16 code units);
 *   - before shuffling, each split is put in a canonical order (neg then pos, by review id), so the
 *     result does not depend on the order of files in the archive; then one mulberry32(seed) PRNG
 *     shuffles train and then test (Fisher-Yates), as Keras uses one RandomState(113) for both.
 *     The permutation is therefore not the one Keras produces, only equally reproducible;
 *   - long reviews are truncated (pad_sequences semantics), not dropped as `load_data(maxlen)` does.
 *
 * The encoded arrays are cached on disk (lib/data/cache.ts), so only the first load pays for tokenization.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Tensor2D } from '@tensorflow/tfjs-node';
import { canonicalOrder, readReviews, type ReadProgress, type ReviewMeta, type Split } from './archive';
import {
  CACHE_FORMAT_VERSION,
  archiveDigest,
  cacheFileName,
  readCache,
  writeCache,
  type CacheKey,
  type EncodedCorpus,
  type EncodedSplit,
} from './cache';
import { imdbProgressPrinter, locateArchive, type ImdbProgress, type LocateOptions } from './download';
import { ImdbError, stderrWarning } from './errors';
import { DEFAULT_MAX_LEN, OOV_ID, START_ID, TOKENIZER_VERSION, checkMaxLen, decode, placeRow, tokenize, type Side } from './text';
import { DATA_DIR } from '../util/paths';
import { mulberry32, shuffledIndices } from '../util/prng';
import { DEFAULT_NUM_WORDS, checkNumWords, vocabularyFromCounts, type Vocabulary } from './vocabulary';

/** Keras's default seed for `imdb.load_data`. */
export const DEFAULT_SEED = 113;

// ---------------------------------------------------------------------------------------------
// Options and the main entry
// ---------------------------------------------------------------------------------------------

export interface LoadOptions extends LocateOptions {
  numWords?: number;
  maxLen?: number;
  seed?: number;
  padding?: Side;
  truncating?: Side;
  /** Where encoded arrays are cached; default `<dataDir>/cache`. */
  cacheDir?: string;
  /** Use the cache (default true). */
  cache?: boolean;
  /** Pad only the first trainSize / testSize reviews of each (shuffled) split: memory for what a run takes (default: all). */
  trainSize?: number;
  testSize?: number;
  /** Stops reading the archive at the next review (ImdbError ABORTED); nothing is cached. */
  signal?: AbortSignal;
}

interface Resolved {
  numWords: number;
  maxLen: number;
  seed: number;
  padding: Side;
  truncating: Side;
  dataDir: string;
  cacheDir: string;
  cache: boolean;
  trainSize: number;
  testSize: number;
  signal?: AbortSignal;
  onProgress: (p: ImdbProgress) => void;
  onWarning: (message: string) => void;
}

function resolveOptions(o: LoadOptions): Resolved {
  const dataDir = path.resolve(o.dataDir ?? DATA_DIR);
  const resolved: Resolved = {
    numWords: o.numWords ?? DEFAULT_NUM_WORDS,
    maxLen: o.maxLen ?? DEFAULT_MAX_LEN,
    seed: o.seed ?? DEFAULT_SEED,
    padding: o.padding ?? 'pre',
    truncating: o.truncating ?? 'pre',
    dataDir,
    cacheDir: path.resolve(o.cacheDir ?? path.join(dataDir, 'cache')),
    cache: o.cache ?? true,
    trainSize: o.trainSize ?? Infinity,
    testSize: o.testSize ?? Infinity,
    signal: o.signal,
    onProgress: o.onProgress ?? imdbProgressPrinter(),
    onWarning: o.onWarning ?? stderrWarning,
  };
  checkNumWords(resolved.numWords);
  checkMaxLen(resolved.maxLen, 1);
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0 || resolved.seed > 0xffffffff)
    throw new ImdbError('INVALID_OPTION', `seed must be an integer in 0..2^32-1, got ${resolved.seed}`);
  for (const n of [resolved.trainSize, resolved.testSize])
    if (n !== Infinity && (!Number.isInteger(n) || n < 0))
      throw new ImdbError('INVALID_OPTION', `trainSize/testSize must be non-negative integers, got ${n}`);
  for (const side of [resolved.padding, resolved.truncating])
    if (side !== 'pre' && side !== 'post') throw new ImdbError('INVALID_OPTION', `padding/truncating must be 'pre' or 'post', got ${side}`);
  return resolved;
}

/**
 * Loads IMDB encoded Keras-style (see the module comment): from the cache when it is valid,
 * otherwise by reading the archive (explicit path, $IMDB_ARCHIVE, data/ cache, or a download).
 */
export async function loadImdb(options: LoadOptions = {}): Promise<ImdbData> {
  const o = resolveOptions(options);
  const archivePath = await locateArchive({ ...options, dataDir: o.dataDir, onProgress: o.onProgress, onWarning: o.onWarning });
  const archiveSha256 = await archiveDigest(archivePath, o);
  const key: CacheKey = {
    format: CACHE_FORMAT_VERSION,
    tokenizer: TOKENIZER_VERSION,
    archiveSha256,
    numWords: o.numWords,
    maxLen: o.maxLen,
    seed: o.seed,
    truncating: o.truncating,
    endianness: os.endianness(),
  };
  const cacheFile = o.cache ? path.join(o.cacheDir, cacheFileName(key)) : null;
  let corpus = cacheFile ? await readCache(cacheFile, key, o.onWarning) : null;
  const fromCache = corpus !== null;
  if (!corpus) {
    corpus = await preprocess(archivePath, o, o.onProgress, o.signal);
    if (cacheFile) await writeCache(cacheFile, key, corpus, o);
  }
  const info: ImdbInfo = {
    archivePath,
    archiveSha256,
    numWords: o.numWords,
    maxLen: o.maxLen,
    seed: o.seed,
    padding: o.padding,
    truncating: o.truncating,
    fromCache,
    cacheFile,
  };
  return new ImdbData(
    padSplit(corpus.train, o.maxLen, o.padding, o.trainSize),
    padSplit(corpus.test, o.maxLen, o.padding, o.testSize),
    corpus.vocab,
    info,
  );
}

// ---------------------------------------------------------------------------------------------
// Preprocessing: archive -> encoded, truncated, shuffled splits
// ---------------------------------------------------------------------------------------------

interface EncodeSettings {
  numWords: number;
  maxLen: number;
  seed: number;
  truncating: Side;
}

/** A review whose words are still "provisional" ids (first-seen order): 4 bytes a token, not a string. */
interface ProvisionalReview extends ReviewMeta {
  words: Int32Array;
}

/** Interns words as provisional ids and counts them in the training split only. */
class WordTable {
  readonly idOf = new Map<string, number>();
  readonly words: string[] = [];
  readonly trainCounts: number[] = [];

  intern(tokens: string[], isTrain: boolean): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      let id = this.idOf.get(tokens[i]);
      if (id === undefined) {
        id = this.words.length;
        this.idOf.set(tokens[i], id);
        this.words.push(tokens[i]);
        this.trainCounts.push(0);
      }
      if (isTrain) this.trainCounts[id]++;
      out[i] = id;
    }
    return out;
  }

  trainCountMap(): Map<string, number> {
    return new Map(this.words.map((w, i) => [w, this.trainCounts[i]]));
  }
}

async function preprocess(
  archivePath: string,
  settings: EncodeSettings,
  onProgress: (p: ReadProgress) => void,
  signal?: AbortSignal,
): Promise<EncodedCorpus> {
  const table = new WordTable();
  const bySplit: Record<Split, ProvisionalReview[]> = { train: [], test: [] };
  for await (const review of readReviews(archivePath, onProgress)) {
    if (signal?.aborted) throw new ImdbError('ABORTED', `stopped while reading ${archivePath}: nothing was cached`, archivePath);
    const words = table.intern(tokenize(review.text), review.split === 'train');
    bySplit[review.split].push({ split: review.split, label: review.label, id: review.id, rating: review.rating, words });
  }
  const vocab = vocabularyFromCounts(table.trainCountMap(), settings.numWords);
  const finalId = Int32Array.from(table.words, (w) => vocab.wordToId.get(w) ?? OOV_ID);
  // Canonical order (neg then pos, by id) so the shuffle does not depend on the archive's file order;
  // then one PRNG shuffles train and then test, as Keras does with one RandomState.
  const random = mulberry32(settings.seed);
  const encode = (reviews: ProvisionalReview[]) =>
    encodeSplit(permute(reviews.sort(canonicalOrder), shuffledIndices(reviews.length, random)), finalId, settings);
  return { train: encode(bySplit.train), test: encode(bySplit.test), vocab };
}

function permute<T>(items: T[], order: Uint32Array): T[] {
  return Array.from(order, (i) => items[i]);
}

function encodeSplit(reviews: ProvisionalReview[], finalId: Int32Array, s: EncodeSettings): EncodedSplit {
  const lengths = Uint32Array.from(reviews, (r) => r.words.length + 1);
  const keptTotal = lengths.reduce((sum, len) => sum + Math.min(len, s.maxLen), 0);
  const tokens = s.numWords <= 65536 ? new Uint16Array(keptTotal) : new Int32Array(keptTotal);
  let at = 0;
  for (const r of reviews) {
    // Positions in the full encoded review [START, w0, w1, ...]; keep [from, from + kept).
    const full = r.words.length + 1;
    const kept = Math.min(full, s.maxLen);
    const from = s.truncating === 'pre' ? full - kept : 0;
    for (let p = from; p < from + kept; p++) tokens[at++] = p === 0 ? START_ID : finalId[r.words[p - 1]];
  }
  return {
    tokens,
    lengths,
    labels: Uint8Array.from(reviews, (r) => r.label),
    ids: Uint32Array.from(reviews, (r) => r.id),
    ratings: Uint8Array.from(reviews, (r) => r.rating),
  };
}

// ---------------------------------------------------------------------------------------------
// The loaded data set
// ---------------------------------------------------------------------------------------------

export interface ImdbSplit {
  /** Row-major [size, maxLen] padded ids. */
  x: Int32Array;
  /** Labels: 1 = positive, 0 = negative. */
  y: Uint8Array;
  /** Review ids (file name `<id>_<rating>.txt`), unique within a split and label. */
  ids: Uint32Array;
  ratings: Uint8Array;
  /** Encoded length (start token + words) before padding and truncation. */
  lengths: Uint32Array;
  size: number;
}

export interface ImdbInfo {
  archivePath: string;
  archiveSha256: string;
  numWords: number;
  maxLen: number;
  seed: number;
  padding: Side;
  truncating: Side;
  fromCache: boolean;
  /** The cache file read or written; null when caching is off. */
  cacheFile: string | null;
}

/** IMDB train/test splits, encoded and padded, with their vocabulary. */
export class ImdbData {
  constructor(
    readonly train: ImdbSplit,
    readonly test: ImdbSplit,
    readonly vocab: Vocabulary,
    readonly info: ImdbInfo,
  ) {}

  get maxLen(): number {
    return this.info.maxLen;
  }

  /** One padded row (a view, not a copy). */
  row(split: Split, i: number): Int32Array {
    return this[split].x.subarray(i * this.maxLen, (i + 1) * this.maxLen);
  }

  /** A review as text, for showing examples. */
  decodeRow(split: Split, i: number): string {
    return decode(this.row(split, i), this.vocab);
  }

  /** x: int32 [n, maxLen], y: float32 [n, 1]; the caller disposes them. Loads tfjs-node on first use. */
  toTensors(split: Split): { x: Tensor2D; y: Tensor2D } {
    const tf = loadTf();
    const s = this[split];
    return {
      x: tf.tensor2d(s.x, [s.size, this.maxLen], 'int32'),
      y: tf.tensor2d(Float32Array.from(s.y), [s.size, 1], 'float32'),
    };
  }

  /** The first nTrain / nTest reviews of each (already shuffled) split, as views: a small CI profile. */
  subset(nTrain: number, nTest: number = nTrain): ImdbData {
    return new ImdbData(sliceSplit(this.train, nTrain, this.maxLen), sliceSplit(this.test, nTest, this.maxLen), this.vocab, this.info);
  }
}

function loadTf(): typeof import('@tensorflow/tfjs-node') {
  // Lazy so that reading and exploring the data does not start TensorFlow.
  return require('@tensorflow/tfjs-node') as typeof import('@tensorflow/tfjs-node');
}

function sliceSplit(s: ImdbSplit, n: number, maxLen: number): ImdbSplit {
  if (!Number.isInteger(n) || n < 0) throw new ImdbError('INVALID_OPTION', `subset size must be a non-negative integer, got ${n}`);
  const k = Math.min(n, s.size);
  return {
    x: s.x.subarray(0, k * maxLen),
    y: s.y.subarray(0, k),
    ids: s.ids.subarray(0, k),
    ratings: s.ratings.subarray(0, k),
    lengths: s.lengths.subarray(0, k),
    size: k,
  };
}

/** The first `take` reviews of a split, padded/truncated to maxLen (only those are allocated). */
function padSplit(s: EncodedSplit, maxLen: number, padding: Side, take = Infinity): ImdbSplit {
  const size = Math.min(s.labels.length, take);
  const x = new Int32Array(size * maxLen);
  let at = 0;
  for (let row = 0; row < size; row++) {
    const kept = Math.min(s.lengths[row], maxLen);
    placeRow(x, row, maxLen, s.tokens.subarray(at, at + kept), padding);
    at += kept;
  }
  return {
    x,
    y: s.labels.subarray(0, size),
    ids: s.ids.subarray(0, size),
    ratings: s.ratings.subarray(0, size),
    lengths: s.lengths.subarray(0, size),
    size,
  };
}
