/**
 * The run directory (default runs/<name>, git-ignored): what a training run writes, so that it can be
 * loaded, resumed and reported on.
 *
 *   config.json          the TrainConfig
 *   vocab.json           the vocabulary (lib/vocabulary.ts saveVocabulary)
 *   history.csv          one row per completed epoch (written with nodejs-polars)
 *   epoch-NN/            model.json + weights.bin (model.save), state.json (history so far, steps),
 *                        optimizer.json + optimizer.bin (latest epoch only: what a resume needs)
 *
 * Each epoch directory is written under a temporary name and renamed into place, so a crash at any
 * moment leaves the last completed epoch intact.
 */
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { KerasAdam, saveOptimizer } from './adam';
import { readJson, syncFilesIn, writeAndSync } from './files';
import { tensorflowVersion } from './env';
import { loadModel } from './model';
import { TrainError, runIdentity, type TrainConfig } from './train-config';

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
    pl.Series('epoch', Int32Array.from(history, (r) => r.epoch)),
    pl.Series('loss', history.map((r) => r.loss)),
    pl.Series('accuracy', history.map((r) => r.accuracy)),
    pl.Series('val_loss', history.map((r) => r.val_loss)),
    pl.Series('val_accuracy', history.map((r) => r.val_accuracy)),
    pl.Series('seconds', history.map((r) => r.seconds)),
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

/** Reads what a run directory holds, without loading any model. */
export async function runStatus(runDir: string): Promise<RunStatus> {
  const dir = path.resolve(runDir);
  const configFile = path.join(dir, 'config.json');
  const config = fs.existsSync(configFile) ? await readJson<TrainConfig>(configFile) : null;
  const epochs = await completedEpochNumbers(dir);
  const completedEpochs = epochs.length > 0 ? epochs[epochs.length - 1] : 0;
  return { runDir: dir, exists: fs.existsSync(dir), config, completedEpochs, complete: config !== null && completedEpochs >= config.epochs };
}

/** Writes history.csv (one row per completed epoch) through a temporary file. */
export async function writeHistoryCsv(runDir: string, history: readonly EpochRecord[]): Promise<void> {
  const file = path.join(runDir, 'history.csv');
  const tmp = `${file}.${process.pid}.tmp`;
  historyFrame(history).writeCSV(tmp);
  await fsp.rename(tmp, file);
}

/** The machine and library versions recorded with every saved epoch. */
export function environmentFacts(): Record<string, string | number> {
  return { node: process.version, tfjs: tf.version.tfjs, backend: tf.getBackend(), tensorflow: tensorflowVersion(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown' };
}

/** Writes epoch-NN/ under a temporary name, then renames it into place (atomic on one file system). */
export async function saveEpoch(runDir: string, model: tf.LayersModel, optimizer: KerasAdam, state: EpochState): Promise<void> {
  const final = epochDir(runDir, state.epoch);
  const tmp = `${final}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await model.save(`file://${tmp}`);
  await saveOptimizer(optimizer, tmp);
  await writeAndSync(path.join(tmp, 'state.json'), JSON.stringify(state, null, 1));
  await syncFilesIn(tmp);
  await fsp.rm(final, { recursive: true, force: true }); // only a stale copy could be there
  await fsp.rename(tmp, final);
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
  const lastState = await readJson<EpochState>(path.join(epochDir(runDir, last), 'state.json'));
  const epoch = choice === 'last' ? last : choice === 'best' ? bestEpoch(lastState.history).epoch : choice;
  if (!epochs.includes(epoch)) throw new TrainError('RUN_NOT_FOUND', `epoch ${epoch} is not saved in ${runDir} (saved: ${epochs.join(', ')})`);
  const state = epoch === last ? lastState : await readJson<EpochState>(path.join(epochDir(runDir, epoch), 'state.json'));
  return { epoch, state };
}

/** A saved run: its config, history (up to the loaded epoch) and the model of one epoch. */
export interface LoadedRun {
  runDir: string;
  config: TrainConfig;
  epoch: number;
  history: EpochRecord[];
  model: tf.LayersModel;
}

/** Loads a run directory's config, history and the model of `epoch` (default: the last completed). */
export async function loadRun(runDir: string, epoch: EpochChoice = 'last'): Promise<LoadedRun> {
  const dir = path.resolve(runDir);
  const status = await runStatus(dir);
  if (!status.config) throw new TrainError('RUN_NOT_FOUND', `${dir} is not a run directory (no config.json)`);
  const chosen = await chooseEpoch(dir, epoch);
  const model = await loadModel(epochDir(dir, chosen.epoch));
  return { runDir: dir, config: status.config, epoch: chosen.epoch, history: chosen.state.history, model };
}

/** Throws CONFIG_MISMATCH unless `wanted` continues the run saved with `saved` (only `epochs` may differ). */
export function checkSameRun(saved: TrainConfig, wanted: TrainConfig, runDir: string): void {
  const a = runIdentity(saved) as unknown as Record<string, unknown>;
  const b = runIdentity(wanted) as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const diffs = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: saved ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
  if (diffs.length > 0) {
    throw new TrainError('CONFIG_MISMATCH', `${runDir} holds a run with another configuration (${diffs.join('; ')}). ` +
      'Use another run directory (--run-dir / GRU_RUN_DIR) or delete this one; only `epochs` may change when resuming.');
  }
}
