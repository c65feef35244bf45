/**
 * Reading the labeled reviews straight out of the aclImdb `.tar.gz` (Maas et al. 2011), without
 * unpacking it: `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`, everything else skipped.
 * A broken archive is an ImdbError that says what to do.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { ImdbError, errnoCode, errorText } from './errors';

export const IMDB_ARCHIVE_ENV = 'IMDB_ARCHIVE';

export const ARCHIVE_FILE_NAME = 'aclImdb_v1.tar.gz';

/** The two labeled splits, train first. */
export const SPLITS = ['train', 'test'] as const;

export type Split = (typeof SPLITS)[number];

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

/** The order the loader shuffles from: neg then pos, by review id (independent of the archive's file order). */
export function canonicalOrder(a: ReviewMeta, b: ReviewMeta): number {
  return a.label - b.label || a.id - b.id;
}

export interface ReadProgress {
  stage: 'read';
  reviews: number;
  /** Compressed bytes read so far. */
  bytes: number;
  totalBytes: number;
  done: boolean;
}

type GroupCounts = Record<`${Split}/${'pos' | 'neg'}`, number>;

function emptyGroupCounts(): GroupCounts {
  return { 'train/pos': 0, 'train/neg': 0, 'test/pos': 0, 'test/neg': 0 };
}

/**
 * Streams the labeled reviews out of an aclImdb `.tar.gz`, in archive order, without unpacking it.
 * Throws ImdbError ARCHIVE_CORRUPT (bad gzip/tar), ARCHIVE_UNREADABLE or SPLIT_MISSING.
 */
export async function* readReviews(archivePath: string, onProgress?: (p: ReadProgress) => void): AsyncGenerator<RawReview> {
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
  const report = (done: boolean) => onProgress?.({ stage: 'read', reviews, bytes: file.bytesRead, totalBytes, done });
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

/** fs.stat of the archive, or ARCHIVE_NOT_FOUND / ARCHIVE_UNREADABLE. */
export async function statArchive(archivePath: string): Promise<fs.Stats> {
  try {
    return await fsp.stat(archivePath);
  } catch (err) {
    throw archiveReadError(archivePath, err);
  }
}

/** The ImdbError for a failure to open or read the archive (not found, unreadable, or corrupt). */
export function archiveReadError(archivePath: string, err: unknown): ImdbError {
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
  const missing = Object.entries(counts)
    .filter(([, n]) => n === 0)
    .map(([group]) => group);
  if (missing.length === 0) return;
  const found = Object.entries(counts)
    .map(([group, n]) => `${group} ${n}`)
    .join(', ');
  throw new ImdbError(
    'SPLIT_MISSING',
    `IMDB archive ${archivePath} has no ${missing.join(', ')} reviews (found ${found}). ` +
      `Expected the aclImdb layout aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt: ` +
      `is this the right file (${ARCHIVE_FILE_NAME}), and complete?`,
    archivePath,
  );
}
