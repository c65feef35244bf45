/**
 * The run directory (default runs/<name>, git-ignored): what a training run writes, so that it can be
 * loaded, resumed and reported on.
 *
 *   config.json          the TrainConfig
 *   data.json            what the run was trained on: archive SHA-256, tokenizer version, vocabulary SHA-256
 *   vocab.json           the vocabulary (lib/data/vocabulary.ts saveVocabulary)
 *   history.csv          one row per completed epoch (nodejs-polars' CSV, written as below)
 *   train.lock           while a trainer writes the directory: its pid and host (see acquireRunLock, lib/training/run-guards.ts)
 *   epoch-NN/            model.json + weights.bin (model.save), state.json (history so far, steps),
 *                        optimizer.json + optimizer.bin (latest epoch only: what a resume needs),
 *                        manifest.json (size and SHA-256 of each of these files)
 *
 * Every file is complete or absent: written to a new file with checked writes, fsynced, renamed into
 * place. Each epoch directory is written under a temporary name, its files checked (weights.bin's size
 * against model.json's weight specs) and listed in manifest.json, then renamed into place, so a crash or
 * a full disk at any moment leaves the last completed epoch intact; loading an epoch checks every file
 * against the manifest. A failed write is a TrainError WRITE_FAILED, a damaged file RUN_CORRUPT naming it.
 */
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { KerasAdam, saveOptimizer } from './adam';
import { digestOf, fileDigest, syncFilesIn, writeAndSync, writeFileAtomic, type FileDigest } from '../util/files';
import { tensorflowVersion } from '../util/env';
import { loadModel } from './model';
import { TrainError, checkStoredRnn, runIdentity, type TrainConfig } from './config';

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

/** One epoch of training, named like Keras's History (history.history['val_loss'] ...). */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  /** Wall-clock seconds of the epoch, validation included (the only column that varies between runs). */
  seconds: number;
}

/** The history as a nodejs-polars DataFrame (epoch as an integer column). */
export function historyFrame(history: readonly EpochRecord[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series(
      'epoch',
      Int32Array.from(history, (r) => r.epoch),
    ),
    pl.Series(
      'loss',
      history.map((r) => r.loss),
    ),
    pl.Series(
      'accuracy',
      history.map((r) => r.accuracy),
    ),
    pl.Series(
      'val_loss',
      history.map((r) => r.val_loss),
    ),
    pl.Series(
      'val_accuracy',
      history.map((r) => r.val_accuracy),
    ),
    pl.Series(
      'seconds',
      history.map((r) => r.seconds),
    ),
  ]);
}

/** The epoch with the lowest validation loss (the one to keep). */
export function bestEpoch(history: readonly EpochRecord[]): EpochRecord {
  if (history.length === 0) throw new TrainError('RUN_NOT_FOUND', 'the history is empty: no epoch has completed');
  return history.reduce((best, r) => (r.val_loss < best.val_loss ? r : best));
}

// ---------------------------------------------------------------------------------------------
// The directory
// ---------------------------------------------------------------------------------------------

const EPOCH_DIR = /^epoch-(\d+)$/;
const PARTIAL_DIR = /^epoch-\d+\.partial-/;

/** <runDir>/epoch-NN (two digits at least, so a listing sorts in order). */
export function epochDir(runDir: string, epoch: number): string {
  return path.join(runDir, `epoch-${String(epoch).padStart(2, '0')}`);
}

/** What an epoch directory's state.json holds. */
export interface EpochState {
  epoch: number;
  /** Optimizer steps (= training batches) done by the end of this epoch. */
  steps: number;
  history: EpochRecord[];
  savedAt: string;
  environment: Record<string, string | number>;
}

/** What is in a run directory. */
export interface RunStatus {
  runDir: string;
  exists: boolean;
  /** config.json, or null when there is none yet. */
  config: TrainConfig | null;
  /** The last epoch whose directory is complete (0: none). */
  completedEpochs: number;
  /** True when completedEpochs reaches config.epochs. */
  complete: boolean;
}

/** A fs error's text: "ENOSPC: no space left on device, write" and so on. */
export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads and parses a run file; unreadable or invalid JSON is RUN_CORRUPT naming the file. */
export async function readRunJson<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new TrainError('RUN_CORRUPT', `cannot read ${file} (${errText(err)})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new TrainError(
      'RUN_CORRUPT',
      `${file} is not valid JSON (${errText(err)}): the file is damaged. ` + 'Restore it, or delete the run directory and train again.',
    );
  }
}

/** The completed epochs in a run directory (directory renamed into place and state.json present). */
async function completedEpochNumbers(runDir: string): Promise<number[]> {
  if (!fs.existsSync(runDir)) return [];
  const names = await fsp.readdir(runDir);
  return names
    .map((n) => EPOCH_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && fs.existsSync(path.join(runDir, m[0], 'state.json')))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Reads what a run directory holds, without loading any model (a damaged config.json is RUN_CORRUPT). */
export async function runStatus(runDir: string): Promise<RunStatus> {
  const dir = path.resolve(runDir);
  const stat = await fsp.stat(dir).catch(() => null);
  if (stat !== null && !stat.isDirectory()) {
    throw new TrainError(
      'RUN_NOT_FOUND',
      `${dir} is a file, not a run directory: give the run's directory (--run-dir DIR / GRU_RUN_DIR), e.g. runs/imdb-gru-ci`,
    );
  }
  const configFile = path.join(dir, 'config.json');
  const config = fs.existsSync(configFile) ? await readRunJson<TrainConfig>(configFile) : null;
  if (config !== null && (typeof config !== 'object' || !Number.isInteger(config.epochs))) {
    throw new TrainError('RUN_CORRUPT', `${configFile} is not a training configuration (no integer "epochs"): the file is damaged`);
  }
  if (config !== null) checkStoredRnn(config, configFile);
  const epochs = await completedEpochNumbers(dir);
  const completedEpochs = epochs.length > 0 ? epochs[epochs.length - 1] : 0;
  return {
    runDir: dir,
    exists: fs.existsSync(dir),
    config,
    completedEpochs,
    complete: config !== null && completedEpochs >= config.epochs,
  };
}

/** Writes a run file completely or not at all (checked, fsynced, renamed); any failure is WRITE_FAILED naming the file. */
export async function writeRunFile(file: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, data);
    const written = await fileDigest(file);
    const expected = digestOf(data);
    if (written.bytes !== expected.bytes || written.sha256 !== expected.sha256) {
      throw new Error(`read back ${written.bytes} bytes, wrote ${expected.bytes}`);
    }
  } catch (err) {
    throw err instanceof TrainError
      ? err
      : new TrainError(
          'WRITE_FAILED',
          `could not write ${file} (${errText(err)}); free space or fix the directory, then resume with --resume`,
        );
  }
}

/** The text of history.csv: one row per completed epoch (nodejs-polars' CSV writer, into memory). */
export function historyCsv(history: readonly EpochRecord[]): Buffer {
  return historyFrame(history).writeCSV();
}

/**
 * Writes history.csv through writeRunFile. (nodejs-polars' writeCSV(path) reports no error when the disk
 * is full, so the CSV text is made in memory and written with checked, fsynced writes.)
 */
export async function writeHistoryCsv(runDir: string, history: readonly EpochRecord[]): Promise<void> {
  await writeRunFile(path.join(runDir, 'history.csv'), historyCsv(history));
}

/** Rewrites history.csv when it is missing or does not match `history` (e.g. after a failed write); true if it did. */
export async function repairHistoryCsv(runDir: string, history: readonly EpochRecord[]): Promise<boolean> {
  const file = path.join(runDir, 'history.csv');
  const wanted = historyCsv(history);
  const now = fs.existsSync(file) ? await fsp.readFile(file) : null;
  if (now !== null && now.equals(wanted)) return false;
  await writeRunFile(file, wanted);
  return true;
}

/** The machine and library versions recorded with every saved epoch. */
export function environmentFacts(): Record<string, string | number> {
  return {
    node: process.version,
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    tensorflow: tensorflowVersion(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
  };
}

// ---------------------------------------------------------------------------------------------
// Epoch manifests: every file's size and SHA-256
// ---------------------------------------------------------------------------------------------

/** The file in each epoch directory that lists the others' sizes and SHA-256. */
export const MANIFEST_FILE = 'manifest.json';

/** What manifest.json holds. */
export interface EpochManifest {
  format: 'gru-epoch-manifest';
  version: 1;
  files: Record<string, FileDigest>;
}

/** Files a later epoch may remove (only the latest epoch keeps the optimizer's state). */
const REMOVABLE_FILES = new Set(['optimizer.json', 'optimizer.bin']);

const BYTES_PER_DTYPE: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };

/** Checks that weights.bin holds exactly the bytes model.json's weight specs describe. */
async function checkWeightsSize(dir: string): Promise<void> {
  const modelFile = path.join(dir, 'model.json');
  const model = await readRunJson<{ weightsManifest?: { paths: string[]; weights: { shape: number[]; dtype: string }[] }[] }>(modelFile);
  for (const group of model.weightsManifest ?? []) {
    const expected = group.weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * (BYTES_PER_DTYPE[w.dtype] ?? NaN), 0);
    const actual = group.paths.reduce((sum, p) => sum + fs.statSync(path.join(dir, p)).size, 0);
    if (actual !== expected) throw new Error(`${group.paths.join(', ')} hold ${actual} bytes, model.json's weights need ${expected}`);
  }
}

/** Writes manifest.json for every file in `dir` (after checking weights.bin's size). */
async function writeManifest(dir: string): Promise<void> {
  await checkWeightsSize(dir);
  const files: Record<string, FileDigest> = {};
  for (const name of (await fsp.readdir(dir)).sort()) files[name] = await fileDigest(path.join(dir, name));
  const manifest: EpochManifest = { format: 'gru-epoch-manifest', version: 1, files };
  await writeAndSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
}

/**
 * Checks every file of an epoch directory against its manifest (size and SHA-256); throws RUN_CORRUPT
 * naming the file that differs or is missing. Epochs saved before manifests existed have none: not checked.
 */
export async function verifyEpoch(dir: string): Promise<void> {
  const manifestFile = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(manifestFile)) return;
  const manifest = await readRunJson<EpochManifest>(manifestFile);
  if (manifest?.format !== 'gru-epoch-manifest' || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new TrainError('RUN_CORRUPT', `${manifestFile} is not an epoch manifest: the file is damaged`);
  }
  for (const [name, want] of Object.entries(manifest.files)) {
    const file = path.join(dir, name);
    let got: FileDigest;
    try {
      got = await fileDigest(file); // read at once, no existence check first: a trainer may remove a file in between
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new TrainError('RUN_CORRUPT', `cannot read ${file} (${errText(err)})`);
      if (REMOVABLE_FILES.has(name)) continue; // the next epoch's save removed it (while this was reading, perhaps)
      throw new TrainError('RUN_CORRUPT', `${file} is missing (listed in ${manifestFile})`);
    }
    if (got.bytes !== want.bytes || got.sha256 !== want.sha256) {
      throw new TrainError(
        'RUN_CORRUPT',
        `${file} is damaged: ${got.bytes} bytes with SHA-256 ${got.sha256}, but ${manifestFile} records ` +
          `${want.bytes} bytes with SHA-256 ${want.sha256}. Restore the file, load another epoch, or train again.`,
      );
    }
  }
}

/** Reads an epoch's state.json (RUN_CORRUPT when damaged). */
export async function readEpochState(dir: string): Promise<EpochState> {
  const file = path.join(dir, 'state.json');
  const state = await readRunJson<EpochState>(file);
  if (
    typeof state !== 'object' ||
    state === null ||
    !Number.isInteger(state.epoch) ||
    !Number.isInteger(state.steps) ||
    !Array.isArray(state.history)
  ) {
    throw new TrainError('RUN_CORRUPT', `${file} is not an epoch state (epoch, steps, history): the file is damaged`);
  }
  return state;
}

/** Checks an epoch directory against its manifest and loads its model (RUN_CORRUPT naming model.json when it cannot). */
export async function loadEpochModel(dir: string): Promise<tf.LayersModel> {
  await verifyEpoch(dir);
  try {
    return await loadModel(dir);
  } catch (err) {
    throw new TrainError(
      'RUN_CORRUPT',
      `cannot load the model saved in ${path.join(dir, 'model.json')} (with weights.bin): ${errText(err)}`,
    );
  }
}

/**
 * Writes epoch-NN/ under a temporary name (checked and fsynced writes, weights.bin's size checked,
 * manifest.json), then renames it into place (atomic on one file system). Any failure removes the
 * temporary directory and is WRITE_FAILED: the epochs saved before stay as they were.
 */
export async function saveEpoch(runDir: string, model: tf.LayersModel, optimizer: KerasAdam, state: EpochState): Promise<void> {
  const final = epochDir(runDir, state.epoch);
  const tmp = `${final}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await model.save(`file://${tmp}`);
    await saveOptimizer(optimizer, tmp);
    await writeAndSync(path.join(tmp, 'state.json'), JSON.stringify(state, null, 1));
    await writeManifest(tmp);
    await syncFilesIn(tmp);
    await verifyEpoch(tmp);
    await fsp.rm(final, { recursive: true, force: true }); // only a stale copy could be there
    await fsp.rename(tmp, final);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    const before = state.epoch - 1;
    throw new TrainError(
      'WRITE_FAILED',
      `could not save epoch ${state.epoch} in ${runDir} (${errText(err)}). ` +
        `${before > 0 ? `The ${before} epoch(s) saved before are intact` : 'No epoch was saved'}: free space or fix the directory, then resume with --resume.`,
    );
  }
  // Only the latest epoch's optimizer state is needed to resume: drop the previous one (~11 MB in full).
  if (state.epoch > 1) {
    for (const f of ['optimizer.json', 'optimizer.bin']) await fsp.rm(path.join(epochDir(runDir, state.epoch - 1), f), { force: true });
  }
}

/** Removes epoch directories a crash left half-written. */
export async function removePartialEpochs(runDir: string): Promise<void> {
  if (!fs.existsSync(runDir)) return;
  for (const name of await fsp.readdir(runDir)) {
    if (PARTIAL_DIR.test(name)) await fsp.rm(path.join(runDir, name), { recursive: true, force: true });
  }
}

/** Which saved epoch to load: a number, the last one, or the one with the lowest validation loss. */
export type EpochChoice = number | 'last' | 'best';

async function chooseEpoch(runDir: string, choice: EpochChoice): Promise<{ epoch: number; state: EpochState }> {
  const epochs = await completedEpochNumbers(runDir);
  if (epochs.length === 0) throw new TrainError('RUN_NOT_FOUND', `no completed epoch in ${runDir}: train first (npm run train)`);
  const last = epochs[epochs.length - 1];
  const lastState = await readEpochState(epochDir(runDir, last));
  const epoch = choice === 'last' ? last : choice === 'best' ? bestEpoch(lastState.history).epoch : choice;
  if (!epochs.includes(epoch))
    throw new TrainError('RUN_NOT_FOUND', `epoch ${epoch} is not saved in ${runDir} (saved: ${epochs.join(', ')})`);
  const state = epoch === last ? lastState : await readEpochState(epochDir(runDir, epoch));
  return { epoch, state };
}

/** A saved run: its config, history (up to the loaded epoch) and the model of one epoch. */
export interface LoadedRun {
  runDir: string;
  config: TrainConfig;
  epoch: number;
  history: EpochRecord[];
  model: tf.LayersModel;
  /** The last completed epoch of the run (may be later than `epoch`). */
  completedEpochs: number;
  /** True when the run has all of config.epochs. */
  complete: boolean;
}

/** Loads a run directory's config, history and the model of `epoch` (default: the last completed), checked against its manifest. */
export async function loadRun(runDir: string, epoch: EpochChoice = 'last'): Promise<LoadedRun> {
  const dir = path.resolve(runDir);
  const status = await runStatus(dir);
  if (!status.config) throw new TrainError('RUN_NOT_FOUND', `${dir} is not a run directory (no config.json)`);
  const chosen = await chooseEpoch(dir, epoch);
  const model = await loadEpochModel(epochDir(dir, chosen.epoch));
  return {
    runDir: dir,
    config: status.config,
    epoch: chosen.epoch,
    history: chosen.state.history,
    model,
    completedEpochs: status.completedEpochs,
    complete: status.complete,
  };
}

/** Throws CONFIG_MISMATCH unless `wanted` continues the run saved with `saved` (only `epochs` may differ). */
export function checkSameRun(saved: TrainConfig, wanted: TrainConfig, runDir: string): void {
  const a = runIdentity(saved) as unknown as Record<string, unknown>;
  const b = runIdentity(wanted) as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const diffs = keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: saved ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
  if (diffs.length > 0) {
    throw new TrainError(
      'CONFIG_MISMATCH',
      `${runDir} holds a run with another configuration (${diffs.join('; ')}). ` +
        'Use another run directory (--run-dir / GRU_RUN_DIR) or delete this one; only `epochs` may change when resuming.',
    );
  }
}
