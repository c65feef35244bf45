// Helpers shared by the IMDB tests: hermetic loads, temporary folders, typed error checks.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { ImdbError } from '../../lib/data/errors';
import type { ImdbProgress } from '../../lib/data/download';
import type { LoadOptions } from '../../lib/data/imdb';
import { SHARED_ARCHIVE } from '../../lib/util/paths';
import { tempDir as makeTempDir, writeArchive, type FixtureEntry } from '../fixtures';

// The real-archive test may use IMDB_ARCHIVE; every other test must not see it (importing this module unsets it).
export const REAL_ARCHIVE = process.env.IMDB_ARCHIVE || SHARED_ARCHIVE;
delete process.env.IMDB_ARCHIVE;

const tempDirs: string[] = [];
export async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of tempDirs) await fsp.rm(dir, { recursive: true, force: true });
});

/** Options for a hermetic load: temp data/cache dirs, no download, progress and warnings collected. */
export function hermetic(dataDir: string, extra: LoadOptions = {}) {
  const warnings: string[] = [];
  const progress: ImdbProgress[] = [];
  const options: LoadOptions = {
    dataDir,
    download: false,
    onWarning: (m) => warnings.push(m),
    onProgress: (p) => progress.push(p),
    ...extra,
  };
  return { options, warnings, progress };
}

export async function tinySetup(entries?: FixtureEntry[]) {
  const dir = await tempDir();
  const archive = await writeArchive(dir, entries);
  return { dir, archive };
}

export function rows(x: Int32Array, maxLen: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < x.length; i += maxLen) out.push(Array.from(x.subarray(i, i + maxLen)));
  return out;
}

export async function cacheFiles(cacheDir: string): Promise<string[]> {
  return (await fsp.readdir(cacheDir)).filter((f) => f.startsWith('imdb-') && f.endsWith('.bin'));
}

export async function expectImdbError(promise: Promise<unknown>, code: string, ...mentions: (string | RegExp)[]): Promise<ImdbError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ImdbError, `expected ImdbError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.match(err.message, typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
    return err;
  }
  assert.fail(`expected ImdbError ${code}, but nothing was thrown`);
}
