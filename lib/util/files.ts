/**
 * Small file helpers, one home each. Writing so that a crash never leaves half a file behind: the
 * bytes go to a new file, are fsynced, and only then renamed over the destination (atomic on one
 * file system); used by the vocabulary, the IMDB cache, the run directory and the comparison summary.
 * Reading JSON, strictly or with a fallback, asking whether a path is a file, and a file's size and SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Writes a new file (failing if it exists) and fsyncs it, so its bytes are on disk before anything renames
 * it; then checks that the file holds as many bytes as were given (a short write is an error, never silent).
 */
export async function writeAndSync(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fsp.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
    const expected = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
    const { size } = await handle.stat();
    if (size !== expected) throw new Error(`${file}: wrote ${expected} bytes, but the file holds ${size}`);
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

/** Fsyncs every file directly in `dir` (before the folder itself is renamed into place). */
export async function syncFilesIn(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    const handle = await fsp.open(path.join(dir, name), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** Whether `file` exists and is a regular file (false for folders and on any error). */
export async function isFile(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file (throws if it is missing or not JSON). */
export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

/** A JSON object from `file`, or `fallback` when it is missing, unreadable or not an object (e.g. a cache to recompute). */
export async function readJsonOr<T>(file: string, fallback: T): Promise<T> {
  try {
    const value: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as T) : fallback;
  } catch {
    return fallback;
  }
}

/** A file's size and SHA-256 (lowercase hex), as a run's manifest records them. */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

/** The size and SHA-256 of bytes in memory. */
export function digestOf(data: string | Uint8Array): FileDigest {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The size and SHA-256 of a file (read whole: run files are a few MB at most). */
export async function fileDigest(file: string): Promise<FileDigest> {
  return digestOf(await fsp.readFile(file));
}
