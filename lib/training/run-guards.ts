/**
 * Guards of a run directory: what the run was trained on (data.json: archive SHA-256, tokenizer version,
 * vocabulary SHA-256), checked before a resume or a prediction; whether the directory can be written; and
 * the lock (train.lock, the trainer's pid and host) that keeps a second trainer out while one writes it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeAndSync } from '../util/files';
import { TOKENIZER_VERSION } from '../data/text';
import { vocabularySha256, type Vocabulary } from '../data/vocabulary';
import { TrainError, type TrainConfig } from './config';
import { checkSameRun, errText, readRunJson, runStatus, writeRunFile, type RunStatus } from './run-dir';

// ---------------------------------------------------------------------------------------------
// What a run was trained on
// ---------------------------------------------------------------------------------------------

/** data.json: what a run was trained on, so that a resume or a prediction can refuse anything else. */
export interface RunData {
  /** SHA-256 of the IMDB archive the reviews were read from. */
  archiveSha256: string;
  /** lib/data/text.ts TOKENIZER_VERSION when the vocabulary was built. */
  tokenizerVersion: number;
  /** lib/data/vocabulary.ts vocabularySha256 of vocab.json's vocabulary. */
  vocabularySha256: string;
}

/** The RunData of a vocabulary built from the archive with SHA-256 `archiveSha256` by this code's tokenizer. */
export function runDataOf(archiveSha256: string, vocab: Vocabulary): RunData {
  return { archiveSha256, tokenizerVersion: vocab.tokenizerVersion, vocabularySha256: vocabularySha256(vocab) };
}

/** data.json of a run, or null for a run saved before it existed. */
export async function readRunData(runDir: string): Promise<RunData | null> {
  const file = path.join(runDir, 'data.json');
  if (!fs.existsSync(file)) return null;
  const data = await readRunJson<RunData>(file);
  if (typeof data?.archiveSha256 !== 'string' || typeof data.vocabularySha256 !== 'string' || !Number.isInteger(data.tokenizerVersion)) {
    throw new TrainError(
      'RUN_CORRUPT',
      `${file} does not record archiveSha256, tokenizerVersion and vocabularySha256: the file is damaged`,
    );
  }
  return data;
}

/** Writes data.json. */
export async function writeRunData(runDir: string, data: RunData): Promise<void> {
  await writeRunFile(path.join(runDir, 'data.json'), JSON.stringify(data, null, 1));
}

/** Throws DATA_MISMATCH, listing what differs, unless `now` is the data the run in `runDir` was trained on. */
export function checkSameData(saved: RunData, now: RunData, runDir: string, what = 'resume it'): void {
  const labels: Record<keyof RunData, string> = {
    archiveSha256: 'archive SHA-256',
    tokenizerVersion: 'tokenizer version',
    vocabularySha256: 'vocabulary SHA-256',
  };
  const diffs = (Object.keys(labels) as (keyof RunData)[])
    .filter((k) => saved[k] !== now[k])
    .map((k) => `${labels[k]}: trained on ${saved[k]}, now ${now[k]}`);
  if (diffs.length > 0) {
    throw new TrainError(
      'DATA_MISMATCH',
      `${runDir} was trained on other data than this code would ${what} with (${diffs.join('; ')}). ` +
        'Use the archive and code the run was trained with, or train a new run (--run-dir / GRU_RUN_DIR).',
    );
  }
}

/** Checks `vocab` (just built, or read from vocab.json) against data.json and this code's tokenizer; no data.json: nothing to check. */
export async function checkRunVocabulary(runDir: string, vocab: Vocabulary, archiveSha256?: string, what = 'resume it'): Promise<void> {
  const saved = await readRunData(runDir);
  if (saved === null) return;
  // This code's tokenizer is what encodes new text, whatever version the vocabulary records.
  checkSameData(saved, { ...runDataOf(archiveSha256 ?? saved.archiveSha256, vocab), tokenizerVersion: TOKENIZER_VERSION }, runDir, what);
}

/**
 * The run directory's state, refused when `config` may not write it: RUN_EXISTS (completed epochs and no
 * resume) or CONFIG_MISMATCH. Read before the data loads and again once the lock is held (`changed` then
 * says why the refusal comes only now).
 */
export async function checkRunStatus(runDir: string, config: TrainConfig, resume: boolean, changed?: string): Promise<RunStatus> {
  const status = await runStatus(runDir);
  try {
    if (status.completedEpochs > 0 && !resume) {
      throw new TrainError(
        'RUN_EXISTS',
        `${runDir} already holds ${status.completedEpochs} completed epoch(s). ` +
          'Resume it (--resume / { resume: true }), choose another run directory (--run-dir / GRU_RUN_DIR), or delete it.',
      );
    }
    if (status.config) checkSameRun(status.config, config, runDir);
  } catch (err) {
    if (changed === undefined || !(err instanceof TrainError)) throw err;
    throw new TrainError(err.code, `${changed}: ${err.message}`);
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Writing: the directory must be writable, and one trainer at a time
// ---------------------------------------------------------------------------------------------

/**
 * Throws RUN_DIR_UNWRITABLE when `runDir` cannot be created or written, before any data is read: a parent
 * that is a file (ENOTDIR), a folder without write permission (EACCES/EPERM) or a read-only file system
 * (EROFS). Creates nothing.
 */
export async function checkRunDirWritable(runDir: string): Promise<void> {
  let dir = path.resolve(runDir);
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = await fsp.stat(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw unwritable(runDir, dir, err); // ENOTDIR: a parent is a file, named below
    }
    if (stat) {
      if (!stat.isDirectory())
        throw unwritable(runDir, dir, Object.assign(new Error(`ENOTDIR: ${dir} is a file, not a directory`), { code: 'ENOTDIR' }));
      try {
        await fsp.access(dir, fs.constants.W_OK | fs.constants.X_OK);
      } catch (err) {
        throw unwritable(runDir, dir, err);
      }
      return;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** The RUN_DIR_UNWRITABLE error for `runDir`, where `at` failed with `err`. */
export function unwritable(runDir: string, at: string, err: unknown): TrainError {
  return new TrainError(
    'RUN_DIR_UNWRITABLE',
    `cannot write the run directory ${runDir}: ${at} (${errText(err)}). ` +
      'Choose another run directory (--run-dir / GRU_RUN_DIR) or fix its permissions.',
  );
}

/** Creates the run directory (RUN_DIR_UNWRITABLE when it cannot). */
export async function makeRunDir(runDir: string): Promise<void> {
  try {
    await fsp.mkdir(runDir, { recursive: true });
    await fsp.access(runDir, fs.constants.W_OK);
  } catch (err) {
    throw unwritable(runDir, runDir, err);
  }
}

/** The lock file a trainer holds while it writes a run directory. */
export const LOCK_FILE = 'train.lock';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

/** Whether process `pid` runs on this machine (EPERM: it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live trainer holding `runDir`'s lock, or null (no lock, or a stale one: its process is gone). */
export async function runLockHolder(runDir: string): Promise<LockInfo | null> {
  const file = path.join(runDir, LOCK_FILE);
  let info: Partial<LockInfo>;
  try {
    info = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<LockInfo>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return null; // half-written by a trainer killed while taking it: stale
  }
  if (typeof info.pid !== 'number') return null;
  if (info.host !== undefined && info.host !== os.hostname()) return info as LockInfo; // cannot tell: assume held
  return processAlive(info.pid) ? (info as LockInfo) : null;
}

function lockedError(runDir: string, holder: LockInfo): TrainError {
  return new TrainError(
    'RUN_LOCKED',
    `${runDir} is being written by another trainer (pid ${holder.pid} on ${holder.host}, since ${holder.since}; ` +
      `lock file ${path.join(runDir, LOCK_FILE)}). Wait for it to finish, stop it, or use another run directory (--run-dir / GRU_RUN_DIR).`,
  );
}

/** Throws RUN_LOCKED when a live trainer holds `runDir` (checked before the data is loaded; creates nothing). */
export async function checkRunUnlocked(runDir: string): Promise<void> {
  const holder = await runLockHolder(runDir);
  if (holder) throw lockedError(runDir, holder);
}

/**
 * Takes `runDir`'s lock (train.lock: pid, host and time, created exclusively) and returns its release.
 * A lock whose process is gone (a killed trainer) is stale and replaced; a live one is RUN_LOCKED.
 */
export async function acquireRunLock(runDir: string, onStale: (message: string) => void = () => {}): Promise<() => Promise<void>> {
  const file = path.join(runDir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeAndSync(file, JSON.stringify(mine));
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unwritable(runDir, file, err);
    }
    const holder = await runLockHolder(runDir);
    if (holder) throw lockedError(runDir, holder);
    const stale = await fsp.readFile(file, 'utf8').catch(() => '');
    onStale(`removing a stale lock ${file} (${stale.trim() || 'empty'}: that process is gone)`);
    await fsp.rm(file, { force: true });
  }
  throw new TrainError('RUN_LOCKED', `could not take the lock ${file}: another trainer keeps taking it`);
}
