/**
 * Finding the IMDB archive, or downloading it: an explicit path, then $IMDB_ARCHIVE, then
 * `data/aclImdb_v1.tar.gz`, then the official download (84 MB) into data/, checked before it is
 * kept. Also the progress line of reading and downloading (stdout; warnings go to stderr).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { isFile } from '../util/files';
import { ARCHIVE_FILE_NAME, IMDB_ARCHIVE_ENV, readReviews, type ReadProgress } from './archive';
import { ImdbError, errnoCode, errorText } from './errors';
import { DATA_DIR } from '../util/paths';
import { progressLine } from '../util/progress';

export const IMDB_URL = 'https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz';

export interface DownloadProgress {
  stage: 'download';
  bytes: number;
  /** From Content-Length; null when the server did not send it. */
  totalBytes: number | null;
  bytesPerSecond: number;
  done: boolean;
}

export type ImdbProgress = ReadProgress | DownloadProgress;

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
  /** Warnings (e.g. an unusable cache); default: a line on stderr. */
  onWarning?: (message: string) => void;
}

/** Where the downloaded archive is kept: `<dataDir>/aclImdb_v1.tar.gz`. */
export function cachedArchivePath(dataDir: string = DATA_DIR): string {
  return path.join(path.resolve(dataDir), ARCHIVE_FILE_NAME);
}

/**
 * Finds the archive: options.archivePath, then $IMDB_ARCHIVE, then `<dataDir>/aclImdb_v1.tar.gz`,
 * then downloads it there. Throws ARCHIVE_NOT_FOUND listing every place looked at; an explicit path
 * (the option or $IMDB_ARCHIVE) that is missing or a directory is ARCHIVE_NOT_FOUND at once, naming it.
 */
export async function locateArchive(options: LocateOptions = {}): Promise<string> {
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
    // A path the user gave (option or environment variable) that is wrong is an error, never a fallback.
    if (where !== 'project data folder') throw await explicitPathError(where, file);
    looked.push(`${where}: ${file} (not found)`);
  }
  const dest = cachedArchivePath(options.dataDir);
  const url = options.url ?? IMDB_URL;
  if (options.download === false) {
    looked.push(`download from ${url}: disabled (download: false)`);
    throw notFoundError(looked);
  }
  try {
    await downloadArchive(url, dest, options.onProgress ?? imdbProgressPrinter());
    return dest;
  } catch (err) {
    looked.push(`download from ${url} to ${dest}: failed (${err instanceof ImdbError ? err.message : errorText(err)})`);
    throw notFoundError(looked, err);
  }
}

/** ARCHIVE_NOT_FOUND for a path the user gave: says whether it is missing or a directory. */
async function explicitPathError(where: string, file: string): Promise<ImdbError> {
  let what = 'does not exist';
  try {
    const stat = await fsp.stat(file);
    what = stat.isDirectory() ? 'is a directory, not a .tar.gz file' : 'is not a regular file';
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') what = `cannot be read (${errorText(err)})`;
  }
  return new ImdbError(
    'ARCHIVE_NOT_FOUND',
    `the IMDB archive given by the ${where}, ${file}, ${what}. ` +
      `Give the path of ${ARCHIVE_FILE_NAME} (a labeled-only copy such as aclImdb_v1-labeled.tar.gz works too), or leave it unset to use ` +
      `${cachedArchivePath()} or the download.`,
    file,
  );
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

/**
 * Downloads the archive to `dest` through a temporary file that is checked (size = Content-Length,
 * gzip + tar readable with all four splits) and only then renamed into place. Throws DOWNLOAD_FAILED,
 * leaving no file behind.
 */
export async function downloadArchive(
  url: string,
  dest: string,
  onProgress: (p: DownloadProgress) => void = imdbProgressPrinter(),
): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  await removeStalePartials(dest);
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  try {
    const { bytes, expected } = await fetchToFile(url, tmp, onProgress);
    if (expected !== null && bytes !== expected) throw new Error(`received ${bytes} bytes but Content-Length said ${expected}`);
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

async function fetchToFile(
  url: string,
  file: string,
  onProgress: (p: DownloadProgress) => void,
): Promise<{ bytes: number; expected: number | null }> {
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

/**
 * The default progress display (lib/util/progress.ts): one concise line on stdout, at most every 0.2 s on a
 * terminal (where it overwrites itself) and every 2 s elsewhere; the final "done" line always.
 */
export function imdbProgressPrinter(stream: NodeJS.WriteStream = process.stdout): (p: ImdbProgress) => void {
  const out = progressLine({ stream, intervalSeconds: stream.isTTY ? 0.2 : 2, immediate: true });
  return (p) => (p.done ? out.line(formatImdbProgress(p)) : out.status(formatImdbProgress(p)));
}

/** One line of progress text, e.g. "imdb: downloading [#####---------------] 25.0% 21.0/84.1 MB 5.2 MB/s". */
export function formatImdbProgress(p: ImdbProgress): string {
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
