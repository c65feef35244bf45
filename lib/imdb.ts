/**
 * IMDB movie reviews (aclImdb v1, Maas et al. 2011) for the GRU course.
 *
 * Reads the reviews straight out of the `.tar.gz` (no unpacking), tokenizes them, builds a
 * vocabulary from the training split only and encodes/pads/shuffles them with the conventions of
 * Keras's `imdb.load_data` + `pad_sequences`:
 *
 *   id 0 = padding, 1 = start of review, 2 = out-of-vocabulary (OOV), 3 = unused,
 *   word ids = frequency rank + 3 (the most frequent training word is 4),
 *   every id < numWords (rarer words become 2), padding and truncation both 'pre'.
 *
 * Choices Keras leaves open, made deterministic here:
 *   - vocabulary ties (same training count) are broken alphabetically (UTF-16 code units);
 *   - before shuffling, each split is put in a canonical order (neg then pos, by review id), so the
 *     result does not depend on the order of files in the archive; then one mulberry32(seed) PRNG
 *     shuffles train and then test (Fisher-Yates), as Keras uses one RandomState(113) for both.
 *     The permutation is therefore not the one Keras produces, only equally reproducible;
 *   - long reviews are truncated (pad_sequences semantics), not dropped as `load_data(maxlen)` does.
 *
 * The encoded arrays are cached on disk (keyed by the archive's SHA-256 and every option that
 * changes them), so only the first load pays for tokenization.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import type { Tensor2D } from '@tensorflow/tfjs-node';
import type { DataFrame } from 'nodejs-polars';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

export const PAD_ID = 0;
export const START_ID = 1;
export const OOV_ID = 2;
/** Keras reserves 0..2 and starts words at rank + 3, so id 3 is never produced. */
export const UNUSED_ID = 3;
export const INDEX_FROM = 3;

export const DEFAULT_NUM_WORDS = 10_000;
export const DEFAULT_MAX_LEN = 500;
/** Keras's default seed for `imdb.load_data`. */
export const DEFAULT_SEED = 113;
/** Bump whenever `tokenize` changes: it is part of every cache key and saved vocabulary. */
export const TOKENIZER_VERSION = 1;
/** Bump whenever the cache file layout or the encoding pipeline changes. */
const CACHE_FORMAT_VERSION = 1;

export const IMDB_URL = 'https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz';
export const IMDB_ARCHIVE_ENV = 'IMDB_ARCHIVE';
export const ARCHIVE_FILE_NAME = 'aclImdb_v1.tar.gz';
/** The repository root: the parent of `lib/`. */
export const REPO_ROOT = path.resolve(__dirname, '..');
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, 'data');

const RESERVED_WORDS = ['[PAD]', '[START]', '[OOV]', '[UNUSED]'];
const SPLITS = ['train', 'test'] as const;

export type Split = (typeof SPLITS)[number];
export type Side = 'pre' | 'post';

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export type ImdbErrorCode =
  | 'ARCHIVE_NOT_FOUND'
  | 'ARCHIVE_UNREADABLE'
  | 'ARCHIVE_CORRUPT'
  | 'SPLIT_MISSING'
  | 'DOWNLOAD_FAILED'
  | 'CACHE_UNWRITABLE'
  | 'VOCABULARY_INVALID'
  | 'INVALID_OPTION';

/** Every failure of this module: `code` says what went wrong, `path` which file it concerns. */
export class ImdbError extends Error {
  override readonly name = 'ImdbError';
  constructor(
    readonly code: ImdbErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${code ? `${code}: ` : ''}${err.message}${cause}`;
  }
  return String(err);
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

const BR_TAG = /<br\s*\/?>/gi;
const FANCY_APOSTROPHE = /[\u2018\u2019\u02bc`]/g;
/** A run of letters/digits, optionally joined by inner apostrophes: don't, it's, rock'n'roll. */
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:'[\p{L}\p{M}\p{N}]+)*/gu;

/**
 * Splits a review into lowercase words: `<br />` tags removed, punctuation dropped, inner
 * apostrophes kept ("don't"), numbers kept as tokens ("7.5" -> "7", "5"; "well-made" -> "well", "made").
 */
export function tokenize(text: string): string[] {
  const clean = text.toLowerCase().replace(BR_TAG, ' ').replace(FANCY_APOSTROPHE, "'");
  return clean.match(TOKEN) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Reading reviews from the archive
// ---------------------------------------------------------------------------------------------

export interface ReviewMeta {
  split: Split;
  /** 1 = positive, 0 = negative. */
  label: 0 | 1;
  /** The review's number within its split/label folder (from `<id>_<rating>.txt`). */
  id: number;
  /** The star rating 1..10 from the file name (neg <= 4, pos >= 7). */
  rating: number;
}

export interface RawReview extends ReviewMeta {
  text: string;
}

const REVIEW_PATH = /^(?:\.\/)?(?:[^/]+\/)?(train|test)\/(pos|neg)\/(\d+)_(\d+)\.txt$/;

/** Parses `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`; anything else (unsup, .feat, urls) is null. */
export function parseReviewPath(name: string): ReviewMeta | null {
  const m = REVIEW_PATH.exec(name);
  if (!m) return null;
  return { split: m[1] as Split, label: m[2] === 'pos' ? 1 : 0, id: Number(m[3]), rating: Number(m[4]) };
}

export interface ReadProgress {
  stage: 'read';
  reviews: number;
  /** Compressed bytes read so far. */
  bytes: number;
  totalBytes: number;
  done: boolean;
}

export interface DownloadProgress {
  stage: 'download';
  bytes: number;
  /** From Content-Length; null when the server did not send it. */
  totalBytes: number | null;
  bytesPerSecond: number;
  done: boolean;
}

export type ImdbProgress = ReadProgress | DownloadProgress;

type GroupCounts = Record<`${Split}/${'pos' | 'neg'}`, number>;

function emptyGroupCounts(): GroupCounts {
  return { 'train/pos': 0, 'train/neg': 0, 'test/pos': 0, 'test/neg': 0 };
}

/**
 * Streams the labeled reviews out of an aclImdb `.tar.gz`, in archive order, without unpacking it.
 * Throws ImdbError ARCHIVE_CORRUPT (bad gzip/tar), ARCHIVE_UNREADABLE or SPLIT_MISSING.
 */
export async function* readReviews(
  archivePath: string,
  onProgress?: (p: ReadProgress) => void,
): AsyncGenerator<RawReview> {
  const totalBytes = (await statArchive(archivePath)).size;
  const file = fs.createReadStream(archivePath);
  const gunzip = zlib.createGunzip();
  const extract = tar.extract();
  // pipe() does not forward errors: route them all into the extractor we iterate.
  file.on('error', (err) => extract.destroy(err));
  gunzip.on('error', (err) => extract.destroy(err));
  file.pipe(gunzip).pipe(extract);

  const counts = emptyGroupCounts();
  let entries = 0;
  let reviews = 0;
  const report = (done: boolean) =>
    onProgress?.({ stage: 'read', reviews, bytes: file.bytesRead, totalBytes, done });
  try {
    for await (const entry of extract) {
      entries++;
      const meta = entry.header.type === 'file' ? parseReviewPath(entry.header.name) : null;
      if (!meta) {
        entry.resume(); // unsup/, .feat, urls, README, directories: skip
        continue;
      }
      const text = await readEntryText(entry);
      counts[`${meta.split}/${meta.label === 1 ? 'pos' : 'neg'}`]++;
      reviews++;
      report(false);
      yield { ...meta, text };
    }
  } catch (err) {
    throw archiveReadError(archivePath, err);
  } finally {
    file.destroy();
    gunzip.destroy();
  }
  if (entries === 0) {
    throw new ImdbError(
      'ARCHIVE_CORRUPT',
      `IMDB archive ${archivePath} holds no tar entries (empty file, or not a .tar.gz). ` +
        `Delete it and download it again, or point ${IMDB_ARCHIVE_ENV} at a good copy of ${ARCHIVE_FILE_NAME}.`,
      archivePath,
    );
  }
  checkAllSplitsPresent(archivePath, counts);
  report(true);
}

async function readEntryText(entry: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer); // tar-stream entries yield Buffers
  return Buffer.concat(chunks).toString('utf8');
}

async function statArchive(archivePath: string): Promise<fs.Stats> {
  try {
    return await fsp.stat(archivePath);
  } catch (err) {
    throw archiveReadError(archivePath, err);
  }
}

function archiveReadError(archivePath: string, err: unknown): ImdbError {
  if (err instanceof ImdbError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'EPERM') {
    return new ImdbError(
      code === 'ENOENT' ? 'ARCHIVE_NOT_FOUND' : 'ARCHIVE_UNREADABLE',
      `Cannot open IMDB archive ${archivePath} (${errorText(err)}). ` +
        `Check the path, or set ${IMDB_ARCHIVE_ENV} to the location of ${ARCHIVE_FILE_NAME}.`,
      archivePath,
      { cause: err },
    );
  }
  return new ImdbError(
    'ARCHIVE_CORRUPT',
    `IMDB archive ${archivePath} is corrupt or truncated (${errorText(err)}). ` +
      `It may be an interrupted download: delete it and download it again, ` +
      `or point ${IMDB_ARCHIVE_ENV} at a good copy of ${ARCHIVE_FILE_NAME}.`,
    archivePath,
    { cause: err },
  );
}

function checkAllSplitsPresent(archivePath: string, counts: GroupCounts): void {
  const missing = Object.entries(counts).filter(([, n]) => n === 0).map(([group]) => group);
  if (missing.length === 0) return;
  const found = Object.entries(counts).map(([group, n]) => `${group} ${n}`).join(', ');
  throw new ImdbError(
    'SPLIT_MISSING',
    `IMDB archive ${archivePath} has no ${missing.join(', ')} reviews (found ${found}). ` +
      `Expected the aclImdb layout aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt: ` +
      `is this the right file (${ARCHIVE_FILE_NAME}), and complete?`,
    archivePath,
  );
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

export interface Vocabulary {
  /** Every id is < numWords; words ranked past it map to OOV_ID. */
  readonly numWords: number;
  readonly tokenizerVersion: number;
  /** idToWord[id]; ids 0..3 hold the markers [PAD], [START], [OOV], [UNUSED]. */
  readonly idToWord: readonly string[];
  readonly wordToId: ReadonlyMap<string, number>;
  /** Training-split frequency of each id's word (0 for the reserved ids). */
  readonly counts: readonly number[];
  /** Distinct words in the training split, before the numWords cut. */
  readonly distinctWords: number;
}

/**
 * Ranks words by training frequency (ties: alphabetical by UTF-16 code units, so the ranking does
 * not depend on file order) and keeps those whose id (rank + 3, most frequent = 4) is < numWords.
 */
export function vocabularyFromCounts(wordCounts: ReadonlyMap<string, number>, numWords = DEFAULT_NUM_WORDS): Vocabulary {
  checkNumWords(numWords);
  const ranked = rankWords(wordCounts);
  const kept = ranked.slice(0, Math.max(0, numWords - INDEX_FROM - 1));
  return makeVocabulary(
    kept.map(([w]) => w),
    kept.map(([, n]) => n),
    numWords,
    ranked.length,
  );
}

/** Words with a positive count, most frequent first, ties alphabetical: rank r (0-based) gets id r + 4. */
export function rankWords(wordCounts: ReadonlyMap<string, number>): Array<[string, number]> {
  return [...wordCounts].filter(([, n]) => n > 0).sort(byCountThenWord);
}

function byCountThenWord(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1];
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Builds the vocabulary from tokenized training reviews (see vocabularyFromCounts for the ranking). */
export function buildVocabulary(trainTokens: Iterable<readonly string[]>, numWords = DEFAULT_NUM_WORDS): Vocabulary {
  const counts = new Map<string, number>();
  for (const tokens of trainTokens) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return vocabularyFromCounts(counts, numWords);
}

/** rankedWords[i] gets id i + 4. */
function makeVocabulary(rankedWords: string[], rankedCounts: number[], numWords: number, distinctWords: number): Vocabulary {
  const idToWord = [...RESERVED_WORDS, ...rankedWords];
  const wordToId = new Map<string, number>();
  rankedWords.forEach((w, i) => wordToId.set(w, i + INDEX_FROM + 1));
  const counts = [0, 0, 0, 0, ...rankedCounts];
  return { numWords, tokenizerVersion: TOKENIZER_VERSION, idToWord, wordToId, counts, distinctWords };
}

interface VocabularyJson {
  format: 'imdb-vocabulary';
  version: 1;
  tokenizerVersion: number;
  numWords: number;
  distinctWords: number;
  /** words[i] has id i + 4. */
  words: string[];
  counts: number[];
}

/** A JSON-safe form of the vocabulary (words in rank order). */
export function vocabularyToJson(vocab: Vocabulary): VocabularyJson {
  return {
    format: 'imdb-vocabulary',
    version: 1,
    tokenizerVersion: vocab.tokenizerVersion,
    numWords: vocab.numWords,
    distinctWords: vocab.distinctWords,
    words: vocab.idToWord.slice(INDEX_FROM + 1),
    counts: vocab.counts.slice(INDEX_FROM + 1),
  };
}

/** Rebuilds a vocabulary from vocabularyToJson's output; throws VOCABULARY_INVALID if malformed or from another tokenizer. */
export function vocabularyFromJson(json: unknown, source = 'vocabulary JSON'): Vocabulary {
  const fail = (why: string) =>
    new ImdbError('VOCABULARY_INVALID', `Invalid IMDB vocabulary in ${source}: ${why}. Rebuild it with loadImdb() and saveVocabulary().`, source);
  if (typeof json !== 'object' || json === null) throw fail('not a JSON object');
  const v = json as Partial<VocabularyJson>;
  if (v.format !== 'imdb-vocabulary' || v.version !== 1) throw fail('unknown format (expected format "imdb-vocabulary", version 1)');
  if (v.tokenizerVersion !== TOKENIZER_VERSION)
    throw fail(`made with tokenizer version ${v.tokenizerVersion}, this code tokenizes with version ${TOKENIZER_VERSION}`);
  const { words, counts, numWords, distinctWords } = v;
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) throw fail('"words" is not a list of strings');
  if (!Array.isArray(counts) || counts.length !== words.length || !counts.every(Number.isInteger)) throw fail('"counts" does not match "words"');
  if (!Number.isInteger(numWords) || numWords! <= INDEX_FROM || words.length > numWords! - INDEX_FROM - 1)
    throw fail(`"numWords" (${numWords}) is invalid or too small for ${words.length} words`);
  if (new Set(words).size !== words.length) throw fail('duplicate words');
  return makeVocabulary(words, counts, numWords!, Number.isInteger(distinctWords) ? distinctWords! : words.length);
}

/** Saves the vocabulary as JSON (written atomically). */
export async function saveVocabulary(vocab: Vocabulary, file: string): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(vocabularyToJson(vocab)));
}

/** Loads a vocabulary saved by saveVocabulary (for encoding new text at prediction time). */
export async function loadVocabulary(file: string): Promise<Vocabulary> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new ImdbError('VOCABULARY_INVALID', `Cannot read IMDB vocabulary ${file} (${errorText(err)}).`, file, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ImdbError('VOCABULARY_INVALID', `IMDB vocabulary ${file} is not valid JSON (${errorText(err)}); save it again.`, file, { cause: err });
  }
  return vocabularyFromJson(json, file);
}

// ---------------------------------------------------------------------------------------------
// Encoding, padding, decoding
// ---------------------------------------------------------------------------------------------

/** [START, id(token)...]: words outside the vocabulary (or ranked past numWords) become OOV. */
export function encodeTokens(tokens: readonly string[], vocab: Vocabulary): number[] {
  const ids = [START_ID];
  for (const t of tokens) ids.push(vocab.wordToId.get(t) ?? OOV_ID);
  return ids;
}

/** Tokenizes and encodes one raw review (unpadded; starts with START_ID). */
export function encodeText(text: string, vocab: Vocabulary): number[] {
  return encodeTokens(tokenize(text), vocab);
}

export interface PadOptions {
  /** Row width; default: the longest sequence. */
  maxLen?: number;
  /** Where the zeros go (Keras default 'pre'). */
  padding?: Side;
  /** Which end is cut from sequences longer than maxLen (Keras default 'pre': keep the last maxLen). */
  truncating?: Side;
  value?: number;
}

export interface Padded {
  /** Row-major [rows, maxLen]. */
  values: Int32Array;
  shape: [number, number];
}

/** Keras's pad_sequences: pads/truncates every sequence to maxLen (defaults pre/pre, value 0). */
export function padSequences(sequences: readonly ArrayLike<number>[], options: PadOptions = {}): Padded {
  const maxLen = options.maxLen ?? sequences.reduce((m, s) => Math.max(m, s.length), 0);
  checkMaxLen(maxLen, 0);
  const values = new Int32Array(sequences.length * maxLen);
  if (options.value) values.fill(options.value);
  sequences.forEach((seq, row) => {
    const kept = truncate(seq, maxLen, options.truncating ?? 'pre');
    placeRow(values, row, maxLen, kept, options.padding ?? 'pre');
  });
  return { values, shape: [sequences.length, maxLen] };
}

/** The maxLen tokens that survive truncation: the last ones for 'pre', the first ones for 'post'. */
function truncate(seq: ArrayLike<number>, maxLen: number, truncating: Side): ArrayLike<number> {
  if (seq.length <= maxLen) return seq;
  const arr = Array.isArray(seq) ? seq : Array.from(seq);
  return truncating === 'pre' ? arr.slice(arr.length - maxLen) : arr.slice(0, maxLen);
}

/** Writes an already-truncated sequence into row `row`, right-aligned for 'pre' padding. */
function placeRow(out: Int32Array, row: number, maxLen: number, kept: ArrayLike<number>, padding: Side): void {
  out.set(kept, row * maxLen + (padding === 'pre' ? maxLen - kept.length : 0));
}

/** Encodes raw texts with a saved vocabulary into a padded [texts.length, maxLen] block (for predict). */
export function encodeTexts(texts: readonly string[], vocab: Vocabulary, options: PadOptions = {}): Padded {
  const maxLen = options.maxLen ?? DEFAULT_MAX_LEN;
  return padSequences(texts.map((t) => encodeText(t, vocab)), { ...options, maxLen });
}

/** Turns ids back into text: padding skipped, markers shown as [START], [OOV], [UNUSED]. */
export function decode(ids: ArrayLike<number>, vocab: Vocabulary): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === PAD_ID) continue;
    words.push(vocab.idToWord[id] ?? `[?${id}]`);
  }
  return words.join(' ');
}

// ---------------------------------------------------------------------------------------------
// Seeded shuffling
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `random`. */
export function shuffledIndices(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

// ---------------------------------------------------------------------------------------------
// Preprocessing: archive -> encoded, truncated, shuffled splits
// ---------------------------------------------------------------------------------------------

type IdArray = Uint16Array | Int32Array;

/** One split as stored in the cache: the kept (truncated, unpadded) ids of all reviews, concatenated. */
interface EncodedSplit {
  tokens: IdArray;
  /** Encoded length (start + words) before truncation. */
  lengths: Uint32Array;
  labels: Uint8Array;
  ids: Uint32Array;
  ratings: Uint8Array;
}

interface EncodedCorpus {
  train: EncodedSplit;
  test: EncodedSplit;
  vocab: Vocabulary;
}

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

async function preprocess(archivePath: string, settings: EncodeSettings, onProgress: (p: ReadProgress) => void): Promise<EncodedCorpus> {
  const table = new WordTable();
  const bySplit: Record<Split, ProvisionalReview[]> = { train: [], test: [] };
  for await (const review of readReviews(archivePath, onProgress)) {
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

function canonicalOrder(a: ReviewMeta, b: ReviewMeta): number {
  return a.label - b.label || a.id - b.id;
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
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

function padSplit(s: EncodedSplit, maxLen: number, padding: Side): ImdbSplit {
  const size = s.labels.length;
  const x = new Int32Array(size * maxLen);
  let at = 0;
  for (let row = 0; row < size; row++) {
    const kept = Math.min(s.lengths[row], maxLen);
    placeRow(x, row, maxLen, s.tokens.subarray(at, at + kept), padding);
    at += kept;
  }
  return { x, y: s.labels, ids: s.ids, ratings: s.ratings, lengths: s.lengths, size };
}

// ---------------------------------------------------------------------------------------------
// Options and the main entry
// ---------------------------------------------------------------------------------------------

export interface LocateOptions {
  /** An explicit .tar.gz (tried first). */
  archivePath?: string;
  /** Where the downloaded archive lives (`<dataDir>/aclImdb_v1.tar.gz`); default `<repo>/data`. */
  dataDir?: string;
  /** Download the official archive when none is found (default true). */
  download?: boolean;
  /** Download URL (default IMDB_URL; tests point it at a local server). */
  url?: string;
  onProgress?: (p: ImdbProgress) => void;
  /** Warnings (fallbacks, unusable cache); default: a line on stderr. */
  onWarning?: (message: string) => void;
}

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
  onProgress: (p: ImdbProgress) => void;
  onWarning: (message: string) => void;
}

function resolveOptions(o: LoadOptions): Resolved {
  const dataDir = path.resolve(o.dataDir ?? DEFAULT_DATA_DIR);
  const resolved: Resolved = {
    numWords: o.numWords ?? DEFAULT_NUM_WORDS,
    maxLen: o.maxLen ?? DEFAULT_MAX_LEN,
    seed: o.seed ?? DEFAULT_SEED,
    padding: o.padding ?? 'pre',
    truncating: o.truncating ?? 'pre',
    dataDir,
    cacheDir: path.resolve(o.cacheDir ?? path.join(dataDir, 'cache')),
    cache: o.cache ?? true,
    onProgress: o.onProgress ?? stderrProgress(),
    onWarning: o.onWarning ?? stderrWarning,
  };
  checkNumWords(resolved.numWords);
  checkMaxLen(resolved.maxLen, 1);
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0 || resolved.seed > 0xffffffff)
    throw new ImdbError('INVALID_OPTION', `seed must be an integer in 0..2^32-1, got ${resolved.seed}`);
  for (const side of [resolved.padding, resolved.truncating])
    if (side !== 'pre' && side !== 'post') throw new ImdbError('INVALID_OPTION', `padding/truncating must be 'pre' or 'post', got ${side}`);
  return resolved;
}

function checkNumWords(numWords: number): void {
  if (!Number.isInteger(numWords) || numWords <= INDEX_FROM + 1)
    throw new ImdbError('INVALID_OPTION', `numWords must be an integer > ${INDEX_FROM + 1} (ids 0..3 are reserved), got ${numWords}`);
}

function checkMaxLen(maxLen: number, min: number): void {
  if (!Number.isInteger(maxLen) || maxLen < min) throw new ImdbError('INVALID_OPTION', `maxLen must be an integer >= ${min}, got ${maxLen}`);
}

function stderrWarning(message: string): void {
  process.stderr.write(`imdb: ${message}\n`);
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
    corpus = await preprocess(archivePath, o, o.onProgress);
    if (cacheFile) await writeCache(cacheFile, key, corpus, o);
  }
  const info: ImdbInfo = { archivePath, archiveSha256, numWords: o.numWords, maxLen: o.maxLen, seed: o.seed, padding: o.padding, truncating: o.truncating, fromCache, cacheFile };
  return new ImdbData(padSplit(corpus.train, o.maxLen, o.padding), padSplit(corpus.test, o.maxLen, o.padding), corpus.vocab, info);
}

// ---------------------------------------------------------------------------------------------
// Finding (or downloading) the archive
// ---------------------------------------------------------------------------------------------

/** Where the downloaded archive is kept: `<dataDir>/aclImdb_v1.tar.gz`. */
export function cachedArchivePath(dataDir: string = DEFAULT_DATA_DIR): string {
  return path.join(path.resolve(dataDir), ARCHIVE_FILE_NAME);
}

/**
 * Finds the archive: options.archivePath, then $IMDB_ARCHIVE, then `<dataDir>/aclImdb_v1.tar.gz`,
 * then downloads it there. Throws ARCHIVE_NOT_FOUND listing every place looked at.
 */
export async function locateArchive(options: LocateOptions = {}): Promise<string> {
  const warn = options.onWarning ?? stderrWarning;
  const looked: string[] = [];
  const candidates: Array<[string, string | undefined]> = [
    ['archivePath option', options.archivePath],
    [`${IMDB_ARCHIVE_ENV} environment variable`, process.env[IMDB_ARCHIVE_ENV] || undefined],
    ['project data folder', cachedArchivePath(options.dataDir)],
  ];
  for (const [where, candidate] of candidates) {
    if (!candidate) {
      looked.push(`${where}: not set`);
      continue;
    }
    const file = path.resolve(candidate);
    if (await isFile(file)) return file;
    looked.push(`${where}: ${file} (not found)`);
    if (where !== 'project data folder') warn(`${where} points to ${file}, which does not exist; trying the next place`);
  }
  const dest = cachedArchivePath(options.dataDir);
  const url = options.url ?? IMDB_URL;
  if (options.download === false) {
    looked.push(`download from ${url}: disabled (download: false)`);
    throw notFoundError(looked);
  }
  try {
    await downloadArchive(url, dest, options.onProgress ?? stderrProgress());
    return dest;
  } catch (err) {
    looked.push(`download from ${url} to ${dest}: failed (${err instanceof ImdbError ? err.message : errorText(err)})`);
    throw notFoundError(looked, err);
  }
}

function notFoundError(looked: string[], cause?: unknown): ImdbError {
  return new ImdbError(
    'ARCHIVE_NOT_FOUND',
    `IMDB archive not found. Looked at:\n${looked.map((l, i) => `  ${i + 1}. ${l}`).join('\n')}\n` +
      `Fix: set ${IMDB_ARCHIVE_ENV}=/path/to/${ARCHIVE_FILE_NAME} (a labeled-only copy such as ` +
      `../shared/data/aclImdb_v1-labeled.tar.gz works too), pass { archivePath }, ` +
      `or allow the download (needs access to ${IMDB_URL}).`,
    undefined,
    { cause },
  );
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Downloads the archive to `dest` through a temporary file that is checked (size = Content-Length,
 * gzip + tar readable with all four splits) and only then renamed into place. Throws DOWNLOAD_FAILED,
 * leaving no file behind.
 */
export async function downloadArchive(url: string, dest: string, onProgress: (p: DownloadProgress) => void = stderrProgress()): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await removeStalePartials(dest);
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  try {
    const { bytes, expected } = await fetchToFile(url, tmp, onProgress);
    if (expected !== null && bytes !== expected)
      throw new Error(`received ${bytes} bytes but Content-Length said ${expected}`);
    await verifyArchive(tmp);
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw new ImdbError(
      'DOWNLOAD_FAILED',
      `Downloading ${url} failed: ${err instanceof ImdbError ? err.message : errorText(err)}. Nothing was saved to ${dest}.`,
      dest,
      { cause: err },
    );
  }
}

async function fetchToFile(url: string, file: string, onProgress: (p: DownloadProgress) => void): Promise<{ bytes: number; expected: number | null }> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  const header = res.headers.get('content-length');
  const expected = header === null ? null : Number(header);
  const started = Date.now();
  let bytes = 0;
  const report = (done: boolean) => {
    const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
    onProgress({ stage: 'download', bytes, totalBytes: expected, bytesPerSecond: bytes / seconds, done });
  };
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      report(false);
      callback(null, chunk);
    },
  });
  const body = Readable.fromWeb(res.body as unknown as NodeWebReadableStream<Uint8Array>);
  await pipeline(body, meter, fs.createWriteStream(file, { flags: 'wx' }));
  report(true);
  return { bytes, expected };
}

/** Reads the whole archive once: throws if the gzip/tar is broken or a split is missing. */
async function verifyArchive(file: string): Promise<void> {
  for await (const review of readReviews(file)) void review;
}

/** Removes `<dest>.<pid>.<rand>.partial` files left by downloads whose process has died. */
async function removeStalePartials(dest: string): Promise<void> {
  const dir = path.dirname(dest);
  const prefix = `${path.basename(dest)}.`;
  for (const name of await fsp.readdir(dir)) {
    const pid = name.startsWith(prefix) && name.endsWith('.partial') ? Number(name.slice(prefix.length).split('.')[0]) : NaN;
    if (Number.isInteger(pid) && !processAlive(pid)) await fsp.rm(path.join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Progress display
// ---------------------------------------------------------------------------------------------

/** The default progress display: one concise, throttled, self-overwriting line on stdout (progress is not an error). */
export function stderrProgress(stream: NodeJS.WriteStream = process.stdout): (p: ImdbProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (!p.done && now - last < (stream.isTTY ? 200 : 2000)) return;
    last = now;
    const line = formatProgress(p);
    stream.write(stream.isTTY ? `\r${line}\x1b[K${p.done ? '\n' : ''}` : `${line}\n`);
  };
}

/** One line of progress text, e.g. "imdb: downloading [#####---------------] 25.0% 21.0/84.1 MB 5.2 MB/s". */
export function formatProgress(p: ImdbProgress): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (p.stage === 'download') {
    const rate = `${mb(p.bytesPerSecond)} MB/s`;
    if (p.totalBytes === null || p.totalBytes <= 0) return `imdb: downloading ${mb(p.bytes)} MB ${rate}`;
    const fraction = Math.min(p.bytes / p.totalBytes, 1);
    return `imdb: downloading ${bar(fraction)} ${(fraction * 100).toFixed(1)}% ${mb(p.bytes)}/${mb(p.totalBytes)} MB ${rate}`;
  }
  const percent = p.totalBytes > 0 ? Math.min(100, (100 * p.bytes) / p.totalBytes) : 100;
  return `imdb: reading reviews ${p.reviews.toLocaleString('en-US')} (${percent.toFixed(0)}% of archive)${p.done ? ' done' : ''}`;
}

function bar(fraction: number, width = 20): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

// ---------------------------------------------------------------------------------------------
// Archive hashing (cached by path + size + mtime)
// ---------------------------------------------------------------------------------------------

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

type HashCache = Record<string, { size: number; mtimeMs: number; sha256: string }>;

/** The archive's SHA-256, remembered in `<cacheDir>/archive-sha256.json` so it is hashed once per file version. */
async function archiveDigest(archivePath: string, o: Resolved): Promise<string> {
  const stat = await statArchive(archivePath);
  const hashFile = path.join(o.cacheDir, 'archive-sha256.json');
  const known = o.cache ? await readJsonOr<HashCache>(hashFile, {}) : {};
  const entry = known[archivePath];
  if (entry && entry.size === stat.size && entry.mtimeMs === stat.mtimeMs && /^[0-9a-f]{64}$/.test(entry.sha256)) return entry.sha256;
  let sha256: string;
  try {
    sha256 = await sha256File(archivePath);
  } catch (err) {
    throw archiveReadError(archivePath, err);
  }
  if (o.cache) {
    known[archivePath] = { size: stat.size, mtimeMs: stat.mtimeMs, sha256 };
    await ensureCacheDir(o.cacheDir)
      .then(() => writeFileAtomic(hashFile, JSON.stringify(known, null, 1)))
      .catch((err) => o.onWarning(`could not remember the archive hash in ${hashFile} (${errorText(err)})`));
  }
  return sha256;
}

async function readJsonOr<T>(file: string, fallback: T): Promise<T> {
  try {
    const value: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as T) : fallback;
  } catch {
    return fallback; // missing or garbage: recompute
  }
}

// ---------------------------------------------------------------------------------------------
// The encoded-array cache
//
// One file per key: "IMDBCACHE" magic, uint32 LE header length, JSON header
// { key, payloadBytes, payloadSha256, sections }, then the payload (typed arrays + vocabulary JSON).
// ---------------------------------------------------------------------------------------------

interface CacheKey {
  format: number;
  tokenizer: number;
  archiveSha256: string;
  numWords: number;
  maxLen: number;
  seed: number;
  truncating: Side;
  endianness: string;
}

type DType = 'u8' | 'u16' | 'u32' | 'i32';
interface SectionInfo {
  name: string;
  dtype: DType;
  offset: number;
  length: number;
}
interface CacheHeader {
  key: CacheKey;
  payloadBytes: number;
  payloadSha256: string;
  sections: SectionInfo[];
}

const CACHE_MAGIC = Buffer.from('IMDBCACHE');
const BYTES: Record<DType, number> = { u8: 1, u16: 2, u32: 4, i32: 4 };
const ARRAY_OF: Record<DType, new (n: number) => Uint8Array | Uint16Array | Uint32Array | Int32Array> = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
};
const SPLIT_FIELDS = ['tokens', 'lengths', 'labels', 'ids', 'ratings'] as const;

function cacheFileName(key: CacheKey): string {
  return `imdb-${createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16)}.bin`;
}

function dtypeOf(a: Uint8Array | Uint16Array | Uint32Array | Int32Array): DType {
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  return 'i32';
}

function serializeCache(key: CacheKey, corpus: EncodedCorpus): Buffer {
  const arrays: Array<[string, Uint8Array | Uint16Array | Uint32Array | Int32Array]> = [];
  for (const split of SPLITS) for (const field of SPLIT_FIELDS) arrays.push([`${split}.${field}`, corpus[split][field]]);
  arrays.push(['vocab', Buffer.from(JSON.stringify(vocabularyToJson(corpus.vocab)))]);
  const sections: SectionInfo[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    sections.push({ name, dtype: dtypeOf(a), offset, length: a.length });
    offset += a.byteLength;
  }
  const payload = Buffer.concat(arrays.map(([, a]) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  const header: CacheHeader = { key, payloadBytes: payload.length, payloadSha256: sha256(payload), sections };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32LE(headerBytes.length);
  return Buffer.concat([CACHE_MAGIC, headerLength, headerBytes, payload]);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Parses and checks a cache file; returns the reason it is unusable instead of the corpus. */
function deserializeCache(file: Buffer, key: CacheKey): EncodedCorpus | string {
  if (file.length < CACHE_MAGIC.length + 4 || !file.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return 'not a cache file (bad magic)';
  const headerEnd = CACHE_MAGIC.length + 4 + file.readUInt32LE(CACHE_MAGIC.length);
  if (headerEnd > file.length) return 'truncated header';
  let header: CacheHeader;
  try {
    header = JSON.parse(file.subarray(CACHE_MAGIC.length + 4, headerEnd).toString('utf8')) as CacheHeader;
  } catch {
    return 'unreadable header';
  }
  if (JSON.stringify(header.key) !== JSON.stringify(key)) return 'written for other settings or another archive (stale)';
  const payload = file.subarray(headerEnd);
  if (payload.length !== header.payloadBytes) return `payload is ${payload.length} bytes, header says ${header.payloadBytes} (truncated?)`;
  if (sha256(payload) !== header.payloadSha256) return 'payload checksum mismatch (corrupt)';
  return decodeSections(payload, header.sections, key);
}

function decodeSections(payload: Buffer, sections: SectionInfo[], key: CacheKey): EncodedCorpus | string {
  const byName = new Map(sections.map((s) => [s.name, s]));
  const take = (name: string) => {
    const s = byName.get(name);
    if (!s || !(s.dtype in BYTES) || s.offset + s.length * BYTES[s.dtype] > payload.length) return null;
    const out = new ARRAY_OF[s.dtype](s.length);
    // Copy (not a view): section offsets need not be aligned for the element size.
    new Uint8Array(out.buffer).set(payload.subarray(s.offset, s.offset + out.byteLength));
    return out;
  };
  const splits: Partial<Record<Split, EncodedSplit>> = {};
  for (const split of SPLITS) {
    const [tokens, lengths, labels, ids, ratings] = SPLIT_FIELDS.map((f) => take(`${split}.${f}`));
    if (!tokens || !(lengths instanceof Uint32Array) || !(labels instanceof Uint8Array) || !(ids instanceof Uint32Array) || !(ratings instanceof Uint8Array))
      return `missing or mistyped ${split} section`;
    if (tokens instanceof Uint8Array || tokens instanceof Uint32Array) return `mistyped ${split}.tokens`;
    const encoded: EncodedSplit = { tokens, lengths, labels, ids, ratings };
    const problem = checkSplit(encoded, key);
    if (problem) return `${split}: ${problem}`;
    splits[split] = encoded;
  }
  const vocabBytes = take('vocab');
  if (!vocabBytes) return 'missing vocabulary';
  try {
    const vocab = vocabularyFromJson(JSON.parse(Buffer.from(vocabBytes).toString('utf8')), 'cache');
    if (vocab.numWords !== key.numWords) return 'vocabulary numWords does not match';
    return { train: splits.train!, test: splits.test!, vocab };
  } catch (err) {
    return `bad vocabulary (${errorText(err)})`;
  }
}

function checkSplit(s: EncodedSplit, key: CacheKey): string | null {
  const n = s.labels.length;
  if (s.lengths.length !== n || s.ids.length !== n || s.ratings.length !== n) return 'column lengths differ';
  let kept = 0;
  for (let i = 0; i < n; i++) kept += Math.min(s.lengths[i], key.maxLen);
  if (kept !== s.tokens.length) return `token count ${s.tokens.length} does not match lengths (${kept})`;
  for (let i = 0; i < s.tokens.length; i++) if (s.tokens[i] >= key.numWords) return `id ${s.tokens[i]} >= numWords`;
  return null;
}

/** Returns the cached corpus, or null (with a warning when a file was there but unusable). */
async function readCache(file: string, key: CacheKey, warn: (m: string) => void): Promise<EncodedCorpus | null> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') warn(`cannot read cache file ${file} (${errorText(err)}); rebuilding from the archive`);
    return null;
  }
  const result = deserializeCache(bytes, key);
  if (typeof result === 'string') {
    warn(`ignoring cache file ${file}: ${result}; rebuilding from the archive`);
    return null;
  }
  return result;
}

/** Writes the cache atomically; on failure warns (the data is still returned) instead of throwing. */
async function writeCache(file: string, key: CacheKey, corpus: EncodedCorpus, o: Resolved): Promise<void> {
  try {
    await ensureCacheDir(o.cacheDir);
    await writeFileAtomic(file, serializeCache(key, corpus));
  } catch (err) {
    const e = new ImdbError(
      'CACHE_UNWRITABLE',
      `could not write the IMDB cache ${file} (${errorText(err)}). The data is loaded, but the next load ` +
        `will preprocess again: pass cacheDir pointing to a writable folder, or cache: false.`,
      file,
      { cause: err },
    );
    o.onWarning(e.message);
  }
}

/** Creates the cache folder with a `.gitignore` of `*` so cached arrays never get committed. */
async function ensureCacheDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const ignore = path.join(dir, '.gitignore');
  if (!(await isFile(ignore))) await writeFileAtomic(ignore, '*\n');
}

/** Writes a new file (failing if it exists) and fsyncs it, so its bytes are on disk before anything renames it. */
export async function writeAndSync(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes to a temporary file in the same folder, fsyncs, then renames: readers never see half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeAndSync(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Exploration: a polars view of the raw corpus
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
  const onProgress = options.onProgress ?? stderrProgress();
  for await (const review of readReviews(archivePath, onProgress)) if (wanted.has(review.split)) rows.push(review);
  rows.sort((a, b) => SPLITS.indexOf(a.split) - SPLITS.indexOf(b.split) || canonicalOrder(a, b));
  return reviewsFrame(rows);
}

function reviewsFrame(rows: RawReview[]): DataFrame {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pl = require('nodejs-polars') as typeof import('nodejs-polars');
  return pl.DataFrame([
    pl.Series('split', rows.map((r) => r.split)),
    pl.Series('label', Uint8Array.from(rows, (r) => r.label)),
    pl.Series('id', Uint32Array.from(rows, (r) => r.id)),
    pl.Series('rating', Uint8Array.from(rows, (r) => r.rating)),
    pl.Series('tokens', Uint32Array.from(rows, (r) => tokenize(r.text).length)),
    pl.Series('text', rows.map((r) => r.text)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Exploration: word frequencies and what a numWords vocabulary covers
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pl = require('nodejs-polars') as typeof import('nodejs-polars');
  return pl.DataFrame([
    pl.Series('rank', Uint32Array.from(ranked, (_, r) => r + 1)),
    pl.Series('id', Uint32Array.from(ranked, (_, r) => idOfRank(r, numWords))),
    pl.Series('word', ranked.map(([w]) => w)),
    pl.Series('count', Uint32Array.from(ranked, ([, n]) => n)),
    pl.Series('share', Float64Array.from(ranked, ([, n]) => n / total)),
    pl.Series('cumulativeShare', cumulative),
  ]);
}
