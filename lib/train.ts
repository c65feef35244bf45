/**
 * Training the reference model on IMDB, repeatably and resumably, plus inference from a saved run.
 *
 * The reference run: 10,000-word vocabulary, reviews cut/padded to 500 ids,
 * Embedding(10000, 128) -> GRU(128, dropout 0.2, recurrent dropout 0.2) -> Dense(1, sigmoid),
 * Adam (Keras defaults), binary cross-entropy, accuracy, batch 32, 10 epochs, validation on the
 * 25,000 test reviews after every epoch.
 *
 * Training is a custom loop (optimizer.minimize per batch), not model.fit, because exact resume
 * needs every source of randomness under our control:
 *   - the order of the training reviews in epoch e comes from mulberry32(deriveSeed(seed, 'shuffle', e));
 *   - the GRU's dropout masks come from its seed plus the number of training steps taken so far,
 *     so a resumed run fast-forwards the mask stream by the steps already done (see fastForwardDropout);
 *   - the optimizer is Keras's Adam, whose state (step count, m, v) is saved after every epoch.
 *
 * A run directory (default runs/<name>, git-ignored) holds:
 *   config.json          the TrainConfig
 *   vocab.json           the vocabulary (lib/imdb saveVocabulary)
 *   history.csv          one row per completed epoch (written with nodejs-polars)
 *   epoch-NN/            model.json + weights.bin (model.save), state.json (history so far, steps),
 *                        optimizer.json + optimizer.bin (latest epoch only: what a resume needs)
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
import { ROOT, currentProfile, tensorflowVersion, type Profile } from './env';
import { KerasGRU } from './gru';
import {
  DEFAULT_SEED,
  encodeTexts,
  loadImdb,
  loadVocabulary,
  mulberry32,
  saveVocabulary,
  shuffledIndices,
  type ImdbData,
  type ImdbSplit,
  type Vocabulary,
  writeAndSync,
  writeFileAtomic,
} from './imdb';
import { REFERENCE_MODEL, RNN_KINDS, buildModel, deriveSeed, loadModel, recurrentLayerOf, type ModelConfig, type RnnKind } from './model';

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/** Everything that determines a run's numbers. */
export interface TrainConfig extends ModelConfig {
  /** The profile the sizes came from (overrides may have changed some). */
  profile: Profile;
  /** Training reviews used: the first trainSize of the (seeded, shuffled) train split. */
  trainSize: number;
  /** Test reviews used for validation after every epoch. */
  testSize: number;
  batchSize: number;
  epochs: number;
  /** Batch size for validation and prediction (results do not depend on it). */
  evalBatchSize: number;
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Seeds the initial weights, the per-epoch shuffles and the dropout masks. */
  seed: number;
  /** Seed of the data set's own shuffle (lib/imdb; Keras's imdb.load_data uses 113). */
  dataSeed: number;
}

const REFERENCE: TrainConfig = {
  ...REFERENCE_MODEL, // Embedding(10000, 128) -> GRU(128, dropout 0.2/0.2) -> Dense(1), seed 42
  profile: 'full',
  trainSize: 25_000,
  testSize: 25_000,
  batchSize: 32,
  epochs: 10,
  evalBatchSize: 256,
  // Keras's Adam defaults, set explicitly. (tf.train.adam's default epsilon is the backend's, also 1e-7
  // for float32, but it adds it to the bias-corrected sqrt(v); KerasAdam below follows Keras.)
  learningRate: 0.001,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
  seed: 42, // REFERENCE_MODEL's seed may be null; a run always has one
  dataSeed: DEFAULT_SEED,
};

/** The two profiles: `full` is the reference run; `ci` is small enough for a few minutes on 2 cores. */
export const PROFILES: Readonly<Record<Profile, Readonly<TrainConfig>>> = {
  full: REFERENCE,
  ci: { ...REFERENCE, profile: 'ci', trainSize: 2_000, testSize: 1_000, maxLen: 100, epochs: 2 },
};

/** Number of reviews in each IMDB split. */
export const IMDB_SPLIT_SIZE = 25_000;

/** The options one may override from the environment or the command line. */
export type OptionKey = 'epochs' | 'batchSize' | 'maxLen' | 'trainSize' | 'testSize' | 'learningRate' | 'seed' | 'rnn' | 'evalBatchSize';

/** How each overridable option is spelled and parsed. */
export interface OptionSpec {
  env: string;
  flag: string;
  kind: 'int' | 'number' | 'rnn';
  help: string;
}

/** Every override, with its environment variable and command-line flag. */
export const OPTION_SPECS: Readonly<Record<OptionKey, OptionSpec>> = {
  epochs: { env: 'GRU_EPOCHS', flag: '--epochs', kind: 'int', help: 'passes over the training reviews' },
  batchSize: { env: 'GRU_BATCH_SIZE', flag: '--batch-size', kind: 'int', help: 'reviews per optimizer step' },
  maxLen: { env: 'GRU_MAX_LEN', flag: '--max-len', kind: 'int', help: 'ids kept per review (padded/truncated, Keras "pre")' },
  trainSize: { env: 'GRU_TRAIN_SIZE', flag: '--train-size', kind: 'int', help: `training reviews used (1..${IMDB_SPLIT_SIZE})` },
  testSize: { env: 'GRU_TEST_SIZE', flag: '--test-size', kind: 'int', help: `test reviews used for validation (1..${IMDB_SPLIT_SIZE})` },
  learningRate: { env: 'GRU_LEARNING_RATE', flag: '--learning-rate', kind: 'number', help: 'Adam learning rate' },
  seed: { env: 'GRU_SEED', flag: '--seed', kind: 'int', help: 'seed of initial weights, shuffles and dropout masks' },
  rnn: { env: 'GRU_RNN', flag: '--rnn', kind: 'rnn', help: `recurrent layer: ${RNN_KINDS.join(' | ')}` },
  evalBatchSize: { env: 'GRU_EVAL_BATCH_SIZE', flag: '--eval-batch-size', kind: 'int', help: 'batch size of validation (does not change results)' },
};

/** The environment variable that chooses the run directory. */
export const RUN_DIR_ENV = 'GRU_RUN_DIR';

/** What went wrong, for callers that want to react (the CLI maps INVALID_CONFIG to exit code 2). */
export type TrainErrorCode = 'INVALID_CONFIG' | 'RUN_EXISTS' | 'CONFIG_MISMATCH' | 'DATA_MISMATCH' | 'NON_FINITE_LOSS' | 'RUN_NOT_FOUND';

/** Every failure of this module that the user can fix: `code` says which kind. */
export class TrainError extends Error {
  override readonly name = 'TrainError';
  constructor(
    readonly code: TrainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Parses one option's text (from an env var or a flag); `source` names it in the error. */
export function parseOption(key: OptionKey, text: string, source: string): number | RnnKind {
  const spec = OPTION_SPECS[key];
  const value = text.trim();
  if (spec.kind === 'rnn') {
    if ((RNN_KINDS as readonly string[]).includes(value)) return value as RnnKind;
    throw new TrainError('INVALID_CONFIG', `${source}=${JSON.stringify(text)} is not a recurrent layer: use one of ${RNN_KINDS.join(', ')}`);
  }
  const n = value === '' ? NaN : Number(value);
  if (spec.kind === 'int' && !Number.isInteger(n)) {
    throw new TrainError('INVALID_CONFIG', `${source}=${JSON.stringify(text)} is not an integer (${spec.help})`);
  }
  if (!Number.isFinite(n)) throw new TrainError('INVALID_CONFIG', `${source}=${JSON.stringify(text)} is not a number (${spec.help})`);
  return n;
}

/** The overrides found in GRU_* environment variables (unset or empty variables are ignored). */
export function overridesFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<TrainConfig> {
  const out: Partial<Record<OptionKey, number | RnnKind>> = {};
  for (const [key, spec] of Object.entries(OPTION_SPECS) as [OptionKey, OptionSpec][]) {
    const text = env[spec.env];
    if (text !== undefined && text.trim() !== '') out[key] = parseOption(key, text, spec.env);
  }
  return out as Partial<TrainConfig>;
}

/** Every problem with a config, as sentences (empty when it is valid). */
export function configProblems(c: TrainConfig): string[] {
  const problems: string[] = [];
  const int = (key: keyof TrainConfig, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${key} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}, got ${v}`);
    }
  };
  int('epochs', 1);
  int('batchSize', 1);
  int('evalBatchSize', 1);
  int('maxLen', 1);
  int('numWords', 5);
  int('embeddingDim', 1);
  int('units', 1);
  int('trainSize', 1, IMDB_SPLIT_SIZE);
  int('testSize', 1, IMDB_SPLIT_SIZE);
  int('seed', 0, 0xffffffff);
  int('dataSeed', 0, 0xffffffff);
  if (c.batchSize > c.trainSize) problems.push(`batchSize (${c.batchSize}) is larger than trainSize (${c.trainSize})`);
  if (!(c.learningRate > 0 && Number.isFinite(c.learningRate))) problems.push(`learningRate must be a positive number, got ${c.learningRate}`);
  if (!(c.epsilon > 0 && Number.isFinite(c.epsilon))) problems.push(`epsilon must be a positive number, got ${c.epsilon}`);
  for (const key of ['beta1', 'beta2', 'dropout', 'recurrentDropout'] as const) {
    if (!(c[key] >= 0 && c[key] < 1)) problems.push(`${key} must be in [0, 1), got ${c[key]}`);
  }
  if (!RNN_KINDS.includes(c.rnn)) problems.push(`rnn must be one of ${RNN_KINDS.join(', ')}, got ${JSON.stringify(c.rnn)}`);
  if (c.profile !== 'full' && c.profile !== 'ci') problems.push(`profile must be "full" or "ci", got ${JSON.stringify(c.profile)}`);
  return problems;
}

/** Throws TrainError INVALID_CONFIG listing every problem. */
export function validateConfig(c: TrainConfig): void {
  const problems = configProblems(c);
  if (problems.length > 0) throw new TrainError('INVALID_CONFIG', `invalid training configuration:\n  - ${problems.join('\n  - ')}`);
}

/** The config of a profile with environment overrides, then explicit overrides, applied (and validated). */
export function resolveConfig(options: { profile?: Profile; env?: NodeJS.ProcessEnv; overrides?: Partial<TrainConfig> } = {}): TrainConfig {
  const env = options.env ?? process.env;
  let profile: Profile;
  try {
    profile = options.profile ?? currentProfile(env);
  } catch (err) {
    throw new TrainError('INVALID_CONFIG', (err as Error).message);
  }
  const config: TrainConfig = { ...PROFILES[profile], ...overridesFromEnv(env), ...options.overrides, profile };
  validateConfig(config);
  return config;
}

// The part of a config that makes two runs different runs (extending `epochs` continues a run).
function identity(c: TrainConfig): Omit<TrainConfig, 'epochs'> {
  const { epochs: _epochs, ...rest } = c;
  void _epochs;
  return rest;
}

function shortHash(value: unknown): string {
  const text = JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** `imdb-gru-full` for a profile's own config; a hash is appended when options were overridden. */
export function runName(config: TrainConfig): string {
  const base = `imdb-${config.rnn === 'kerasGru' ? 'gru' : config.rnn.toLowerCase()}-${config.profile}`;
  const same = JSON.stringify(identity({ ...PROFILES[config.profile], rnn: config.rnn })) === JSON.stringify(identity(config));
  return same ? base : `${base}-${shortHash(identity(config))}`;
}

/** $GRU_RUN_DIR if set, else <project>/runs/<runName>. */
export function defaultRunDir(config: TrainConfig, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[RUN_DIR_ENV]?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(ROOT, 'runs', runName(config));
}

// ---------------------------------------------------------------------------------------------
// Keras's Adam
// ---------------------------------------------------------------------------------------------

type NamedTensor = { name: string; tensor: tf.Tensor };

// Adam's two moving averages for one variable; `name` labels them in getWeights.
type Slot = { name: string; m: tf.Variable; v: tf.Variable };

/**
 * Adam exactly as keras.optimizers.Adam updates a dense variable (TF 2.12):
 *
 *   t = step + 1,  alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m += (g - m)(1 - beta1),  v += (g^2 - v)(1 - beta2),  w -= alpha * m / (sqrt(v) + epsilon)
 *
 * epsilon is Kingma & Ba's "epsilon hat" (Keras's convention); tf.train.adam adds it to the
 * bias-corrected sqrt(v) instead. The bias corrections are recomputed from t every step, so the
 * state is exactly (t, m, v): saving and restoring it resumes bit for bit.
 */
export class KerasAdam extends tf.Optimizer {
  static readonly className = 'KerasAdam';
  private slots: Slot[] = [];

  constructor(
    readonly learningRate = 0.001,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    super();
  }

  /** One update of every variable named in `gradients` (by position: keep the variable order fixed). */
  override applyGradients(gradients: tf.NamedTensorMap | NamedTensor[]): void {
    const list = Array.isArray(gradients) ? gradients : Object.entries(gradients).map(([name, tensor]) => ({ name, tensor }));
    const t = this.iterations + 1;
    const alpha = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    tf.tidy(() => {
      list.forEach(({ name, tensor: g }, i) => {
        const variable = tf.engine().registeredVariables[name];
        if (!variable) throw new Error(`KerasAdam: no variable named ${name}`);
        const { m, v } = this.slotFor(i, variable);
        if (g == null) return;
        m.assign(m.add(g.sub(m).mul(1 - this.beta1)));
        v.assign(v.add(g.square().sub(v).mul(1 - this.beta2)));
        variable.assign(variable.sub(m.mul(alpha).div(v.sqrt().add(this.epsilon))));
      });
    });
    this.incrementIterations();
  }

  private slotFor(i: number, variable: tf.Variable): Slot {
    // Unnamed variables: two optimizers of the same model must not collide in tfjs's variable registry.
    this.slots[i] ??= { name: variable.name, m: tf.zerosLike(variable).variable(false), v: tf.zerosLike(variable).variable(false) };
    const slot = this.slots[i];
    if (!tf.util.arraysEqual(slot.m.shape, variable.shape)) {
      throw new Error(`KerasAdam: state #${i} has shape [${slot.m.shape}] but variable ${variable.name} is [${variable.shape}] (restored into another model?)`);
    }
    return slot;
  }

  /** [step, m_0..m_n, v_0..v_n], the layout tf.train.adam uses too. */
  override async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...this.slots.map((s) => ({ name: `${s.name}/m`, tensor: s.m })),
      ...this.slots.map((s) => ({ name: `${s.name}/v`, tensor: s.v })),
    ];
  }

  /** Restores what getWeights returned (copies the tensors). */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weights);
    if (rest.length % 2 !== 0) throw new Error(`KerasAdam: expected pairs of m and v, got ${rest.length} tensors`);
    const n = rest.length / 2;
    this.disposeSlots();
    this.slots = rest.slice(0, n).map((m, i) => ({
      name: m.name.replace(/\/m$/, ''),
      m: m.tensor.clone().variable(false),
      v: rest[n + i].tensor.clone().variable(false),
    }));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  override dispose(): void {
    this.disposeSlots();
    super.dispose();
  }

  private disposeSlots(): void {
    for (const s of this.slots) tf.dispose([s.m, s.v]);
    this.slots = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Loss and metrics
// ---------------------------------------------------------------------------------------------

/** Keras's backend epsilon: probabilities are clipped to [EPS, 1 - EPS] before the log. */
const EPS = 1e-7;

/**
 * Binary cross-entropy per example: -(y log p + (1 - y) log(1 - p)), p clipped as Keras and tfjs do.
 * (Keras in graph mode computes it from the logits when the model ends in a sigmoid; the two agree
 * unless p comes within 1e-7 of 0 or 1.)
 */
export function binaryCrossEntropy(y: tf.Tensor, p: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const q = p.clipByValue(EPS, 1 - EPS);
    return y.mul(q.log()).add(tf.sub(1, y).mul(tf.sub(1, q).log())).neg().reshape([-1]) as tf.Tensor1D;
  });
}

/** How many predictions are right at threshold 0.5 (Keras's binary accuracy: p > 0.5 means positive). */
export function countCorrect(y: tf.Tensor, p: tf.Tensor): tf.Scalar {
  return tf.tidy(() => p.greater(0.5).cast('float32').equal(y).cast('float32').sum() as tf.Scalar);
}

// ---------------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------------

/** Rows `indices` of a split as tensors: x int32 [n, maxLen], y float32 [n, 1]. */
export function gatherBatch(split: ImdbSplit, indices: ArrayLike<number>, maxLen: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const n = indices.length;
  const x = new Int32Array(n * maxLen);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = indices[i];
    x.set(split.x.subarray(row * maxLen, (row + 1) * maxLen), i * maxLen);
    y[i] = split.y[row];
  }
  return { x: tf.tensor2d(x, [n, maxLen], 'int32'), y: tf.tensor2d(y, [n, 1], 'float32') };
}

/** The order of the training reviews in `epoch` (1-based): a pure function of seed and epoch. */
export function epochOrder(seed: number, epoch: number, n: number): Uint32Array {
  return shuffledIndices(n, mulberry32(deriveSeed(seed, 'shuffle', epoch)));
}

function range(from: number, to: number): Uint32Array {
  return Uint32Array.from({ length: to - from }, (_, i) => from + i);
}

/** Mean loss and accuracy of a model on a split, batched (inference: no dropout). */
export async function evaluate(model: tf.LayersModel, split: ImdbSplit, maxLen: number, batchSize = 256): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < split.size; start += batchSize) {
    const { x, y } = gatherBatch(split, range(start, Math.min(start + batchSize, split.size)), maxLen);
    const [l, c] = tf.tidy(() => {
      const p = model.predict(x, { batchSize: x.shape[0] }) as tf.Tensor;
      return [binaryCrossEntropy(y, p).sum(), countCorrect(y, p)];
    });
    lossSum += (await l.data())[0];
    correct += (await c.data())[0];
    tf.dispose([x, y, l, c]);
  }
  return { loss: lossSum / split.size, accuracy: correct / split.size };
}

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
// The run directory
// ---------------------------------------------------------------------------------------------

const EPOCH_DIR = /^epoch-(\d+)$/;
const PARTIAL_DIR = /^epoch-\d+\.partial-/;

/** <runDir>/epoch-NN (two digits at least, so a listing sorts in order). */
export function epochDir(runDir: string, epoch: number): string {
  return path.join(runDir, `epoch-${String(epoch).padStart(2, '0')}`);
}

/** What an epoch directory's state.json holds. */
interface EpochState {
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

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

function exists(file: string): boolean {
  return fs.existsSync(file);
}

/** The completed epochs in a run directory (directory renamed into place and state.json present). */
async function completedEpochNumbers(runDir: string): Promise<number[]> {
  if (!exists(runDir)) return [];
  const names = await fsp.readdir(runDir);
  return names
    .map((n) => EPOCH_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && exists(path.join(runDir, m[0], 'state.json')))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Reads what a run directory holds, without loading any model. */
export async function runStatus(runDir: string): Promise<RunStatus> {
  const dir = path.resolve(runDir);
  const configFile = path.join(dir, 'config.json');
  const config = exists(configFile) ? await readJson<TrainConfig>(configFile) : null;
  const epochs = await completedEpochNumbers(dir);
  const completedEpochs = epochs.length > 0 ? epochs[epochs.length - 1] : 0;
  return { runDir: dir, exists: exists(dir), config, completedEpochs, complete: config !== null && completedEpochs >= config.epochs };
}

async function syncFilesIn(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    const handle = await fsp.open(path.join(dir, name), 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

async function writeHistoryCsv(runDir: string, history: readonly EpochRecord[]): Promise<void> {
  const file = path.join(runDir, 'history.csv');
  const tmp = `${file}.${process.pid}.tmp`;
  historyFrame(history).writeCSV(tmp);
  await fsp.rename(tmp, file);
}

/** Saves the optimizer state as optimizer.json (names, shapes) + optimizer.bin (the numbers). */
async function saveOptimizer(optimizer: KerasAdam, dir: string): Promise<void> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights);
  weights[0].tensor.dispose(); // the step count is a fresh scalar (the rest are the live m and v)
  await writeAndSync(path.join(dir, 'optimizer.bin'), new Uint8Array(data));
  const meta = { format: 'keras-adam-state', version: 1, config: optimizer.getConfig(), iterations: optimizer.iterations, specs };
  await writeAndSync(path.join(dir, 'optimizer.json'), JSON.stringify(meta, null, 1));
}

async function loadOptimizer(optimizer: KerasAdam, dir: string): Promise<void> {
  const meta = await readJson<{ specs: Parameters<typeof tf.io.decodeWeights>[1] }>(path.join(dir, 'optimizer.json'));
  const bytes = await fsp.readFile(path.join(dir, 'optimizer.bin'));
  const tensors = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), meta.specs);
  const weights = meta.specs.map((s) => ({ name: s.name, tensor: tensors[s.name] }));
  await optimizer.setWeights(weights);
  tf.dispose(Object.values(tensors));
}

function environmentFacts(): Record<string, string | number> {
  return { node: process.version, tfjs: tf.version.tfjs, backend: tf.getBackend(), tensorflow: tensorflowVersion(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown' };
}

/** Writes epoch-NN/ under a temporary name, then renames it into place (atomic on one file system). */
async function saveEpoch(runDir: string, model: tf.LayersModel, optimizer: KerasAdam, state: EpochState): Promise<void> {
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

async function removePartialEpochs(runDir: string): Promise<void> {
  if (!exists(runDir)) return;
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

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

/** Sent after every training batch. */
export interface BatchProgress {
  type: 'batch';
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean loss and accuracy over the batches of this epoch so far. */
  loss: number;
  accuracy: number;
  examplesPerSecond: number;
  /** Seconds until the epoch's training batches are done (validation not included). */
  epochEtaSeconds: number;
}

/** Sent after every completed (and saved) epoch. */
export interface EpochProgress {
  type: 'epoch';
  epochs: number;
  record: EpochRecord;
  /** Seconds until the run is done, from the mean epoch time so far. */
  runEtaSeconds: number;
}

/** Anything worth telling the user: a line of text (start, resume, save). */
export interface InfoProgress {
  type: 'info';
  message: string;
}

export type ProgressEvent = BatchProgress | EpochProgress | InfoProgress;

/** 75 -> "1m15s", 3725 -> "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One compact line per event, e.g. "epoch 3/10 batch 120/782 loss 0.4123 acc 0.8125 231 ex/s ETA 4m12s". */
export function formatProgress(e: ProgressEvent): string {
  if (e.type === 'info') return e.message;
  if (e.type === 'batch') {
    return `epoch ${e.epoch}/${e.epochs} batch ${e.batch}/${e.batches} loss ${e.loss.toFixed(4)} acc ${e.accuracy.toFixed(4)} ` +
      `${Math.round(e.examplesPerSecond)} ex/s ETA ${formatDuration(e.epochEtaSeconds)}`;
  }
  const r = e.record;
  return `epoch ${r.epoch}/${e.epochs} loss ${r.loss.toFixed(4)} acc ${r.accuracy.toFixed(4)} ` +
    `val_loss ${r.val_loss.toFixed(4)} val_acc ${r.val_accuracy.toFixed(4)} ${r.seconds.toFixed(1)} s` +
    (r.epoch < e.epochs ? ` (run ETA ${formatDuration(e.runEtaSeconds)})` : '');
}

/**
 * A progress display: every info and epoch line, and a batch line at most every `intervalSeconds`
 * (default 2 s on a terminal, where it overwrites itself; 30 s otherwise, e.g. a log file) and at the
 * end of each epoch; Infinity shows no batch lines. `write` defaults to stdout (progress is not an error).
 */
export function progressPrinter(options: { write?: (line: string) => void; intervalSeconds?: number } = {}): (e: ProgressEvent) => void {
  const tty = options.write === undefined && process.stdout.isTTY === true;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const interval = (options.intervalSeconds ?? (tty ? 2 : 30)) * 1000;
  let last = Date.now();
  let pending = false; // a self-overwriting batch line is on screen
  return (e) => {
    if (e.type === 'batch') {
      if (interval === Infinity) return;
      const now = Date.now();
      if (now - last < interval && e.batch < e.batches) return;
      last = now;
      if (tty) {
        process.stdout.write(`\r${formatProgress(e)}\x1b[K`);
        pending = true;
      } else {
        write(formatProgress(e));
      }
      return;
    }
    if (pending) process.stdout.write('\r\x1b[K');
    pending = false;
    last = Date.now();
    write(formatProgress(e));
  };
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/** How train() runs; none of these change the numbers. */
export interface TrainOptions {
  /** Where the run is written (default: defaultRunDir(config)). */
  runDir?: string;
  /** Continue the run in runDir from its last completed epoch (a complete run is just loaded). */
  resume?: boolean;
  /** Already loaded data (must match numWords, maxLen and dataSeed); default: loadImdb(). */
  data?: ImdbData;
  /** The IMDB archive, when not found by lib/imdb's usual search. */
  archivePath?: string;
  /** Progress events; default: progressPrinter() on stdout. Pass () => {} for silence. */
  onProgress?: (e: ProgressEvent) => void;
  /** Stops training at the next batch boundary; the epoch in progress is not saved. */
  signal?: AbortSignal;
}

/** What train() did and what it produced. */
export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  /** One record per completed epoch, resumed ones included. */
  history: EpochRecord[];
  /** The model after the last completed epoch (the caller disposes it). */
  model: tf.LayersModel;
  /** trained: from scratch; resumed: continued a saved run; loaded: the run was already complete; stopped: aborted. */
  outcome: 'trained' | 'resumed' | 'loaded' | 'stopped';
  /** Completed epochs found in runDir when train() started. */
  startEpoch: number;
  /** Where an aborted run stopped. */
  stoppedAt?: { epoch: number; batch: number };
}

function checkSameRun(saved: TrainConfig, wanted: TrainConfig, runDir: string): void {
  const a = identity(saved) as unknown as Record<string, unknown>;
  const b = identity(wanted) as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const diffs = keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: saved ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
  if (diffs.length > 0) {
    throw new TrainError('CONFIG_MISMATCH', `${runDir} holds a run with another configuration (${diffs.join('; ')}). ` +
      'Use another run directory (--run-dir / GRU_RUN_DIR) or delete this one; only `epochs` may change when resuming.');
  }
}

async function dataFor(config: TrainConfig, options: TrainOptions, say: (m: string) => void): Promise<ImdbData> {
  let data = options.data;
  if (!data) {
    say(`loading IMDB (numWords ${config.numWords}, maxLen ${config.maxLen})`);
    data = await loadImdb({ numWords: config.numWords, maxLen: config.maxLen, seed: config.dataSeed, archivePath: options.archivePath });
  }
  const info = data.info;
  if (info.numWords !== config.numWords || info.maxLen !== config.maxLen || info.seed !== config.dataSeed) {
    throw new TrainError('DATA_MISMATCH', `the data was loaded with numWords ${info.numWords}, maxLen ${info.maxLen}, seed ${info.seed}, ` +
      `but the config wants ${config.numWords}, ${config.maxLen}, ${config.dataSeed}`);
  }
  if (data.train.size < config.trainSize || data.test.size < config.testSize) {
    throw new TrainError('DATA_MISMATCH', `the data has ${data.train.size} train / ${data.test.size} test reviews, fewer than trainSize ${config.trainSize} / testSize ${config.testSize}`);
  }
  return data.subset(config.trainSize, config.testSize);
}

/** The model's trainable weights as the variables an optimizer updates. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Advances the GRU's seeded dropout-mask stream by `steps` training calls, as if that many batches had
 * run. KerasGRU draws fresh masks on every training call from its seed and the number of calls so far,
 * so one cheap call on a [1, 1, inputDim] input advances the stream exactly as a real batch does.
 */
export function fastForwardDropout(model: tf.LayersModel, steps: number): void {
  const layer = recurrentLayerOf(model);
  if (!(layer instanceof KerasGRU) || layer.seed === null || (layer.dropout === 0 && layer.recurrentDropout === 0)) return;
  const x = tf.zeros([1, 1, layer.gruWeights().kernel.shape[0]]);
  for (let i = 0; i < steps; i++) tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
  x.dispose();
}

function nonFiniteLossError(config: TrainConfig, epoch: number, batch: number, batches: number, what: string, value: number, runDir: string): TrainError {
  return new TrainError('NON_FINITE_LOSS',
    `the ${what} became ${value} at epoch ${epoch}, batch ${batch}/${batches}: training stopped. ` +
      `${runDir} keeps the epochs completed before it (resume from there with --resume once the cause is fixed). ` +
      `Try a smaller learning rate (now ${config.learningRate}; --learning-rate or ${OPTION_SPECS.learningRate.env}), ` +
      'check that the inputs are valid ids below numWords, or another seed.');
}

/** One optimizer step (what train() runs per batch); returns the batch's mean loss and correct predictions. */
export async function trainStep(model: tf.LayersModel, optimizer: KerasAdam, vars: tf.Variable[], x: tf.Tensor, y: tf.Tensor): Promise<{ loss: number; correct: number }> {
  const kept: { correct?: tf.Scalar } = {}; // accuracy from the same forward pass (dropout on), as Keras reports it
  const loss = optimizer.minimize(() => {
    const p = model.apply(x, { training: true }) as tf.Tensor;
    kept.correct = tf.keep(countCorrect(y, p));
    return binaryCrossEntropy(y, p).mean() as tf.Scalar;
  }, true, vars) as tf.Scalar;
  const c = kept.correct as tf.Scalar;
  const [l, k] = await Promise.all([loss.data(), c.data()]);
  tf.dispose([loss, c]);
  return { loss: l[0], correct: k[0] };
}

/** Lets the event loop run (notebook output, Ctrl-C, abort signals) between batches. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains (or resumes, or just loads) the run described by `config` and returns its history and model.
 * Writes config.json, vocab.json, history.csv and epoch-NN/ into the run directory as it goes.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  validateConfig(config);
  const runDir = path.resolve(options.runDir ?? defaultRunDir(config));
  const progress = options.onProgress ?? progressPrinter();
  const say = (message: string) => progress({ type: 'info', message });
  const status = await runStatus(runDir);
  const startEpoch = status.completedEpochs;
  if (startEpoch > 0 && !options.resume) {
    throw new TrainError('RUN_EXISTS', `${runDir} already holds ${startEpoch} completed epoch(s). ` +
      'Resume it (--resume / { resume: true }), choose another run directory (--run-dir / GRU_RUN_DIR), or delete it.');
  }
  if (status.config) checkSameRun(status.config, config, runDir);

  if (startEpoch >= config.epochs) {
    say(`${runDir} already holds ${startEpoch} completed epochs (${config.epochs} wanted): loading it, nothing to train`);
    const run = await loadRun(runDir);
    return { runDir, config: status.config ?? config, history: run.history, model: run.model, outcome: 'loaded', startEpoch };
  }

  const data = await dataFor(config, options, say);
  await fsp.mkdir(runDir, { recursive: true });
  await removePartialEpochs(runDir);
  await writeFileAtomic(path.join(runDir, 'config.json'), JSON.stringify(config, null, 1));
  if (!exists(path.join(runDir, 'vocab.json'))) await saveVocabulary(data.vocab, path.join(runDir, 'vocab.json'));

  const optimizer = new KerasAdam(config.learningRate, config.beta1, config.beta2, config.epsilon);
  let model: tf.LayersModel;
  let history: EpochRecord[] = [];
  if (startEpoch > 0) {
    const dir = epochDir(runDir, startEpoch);
    const state = await readJson<EpochState>(path.join(dir, 'state.json'));
    model = await loadModel(dir);
    await loadOptimizer(optimizer, dir);
    if (optimizer.iterations !== state.steps) throw new Error(`${dir}: optimizer step ${optimizer.iterations} != saved steps ${state.steps}`);
    fastForwardDropout(model, state.steps);
    history = state.history;
    say(`resuming ${runDir} after epoch ${startEpoch}/${config.epochs}`);
  } else {
    model = buildModel(config);
    say(`training ${runDir}: ${config.trainSize} reviews x ${config.epochs} epochs, batch ${config.batchSize}, maxLen ${config.maxLen}`);
  }

  try {
    const vars = trainableVariables(model);
    const batches = Math.ceil(config.trainSize / config.batchSize);
    const sessionSeconds: number[] = [];
    for (let epoch = startEpoch + 1; epoch <= config.epochs; epoch++) {
      const started = performance.now();
      const order = epochOrder(config.seed, epoch, config.trainSize);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        if (options.signal?.aborted) {
          say(`stopped during epoch ${epoch}, before batch ${b + 1}/${batches}; ${runDir} keeps ${epoch - 1} completed epoch(s): resume with --resume`);
          optimizer.dispose();
          return { runDir, config, history, model, outcome: 'stopped', startEpoch, stoppedAt: { epoch, batch: b } };
        }
        const { x, y } = gatherBatch(data.train, order.subarray(b * config.batchSize, (b + 1) * config.batchSize), config.maxLen);
        const step = await trainStep(model, optimizer, vars, x, y);
        const n = x.shape[0];
        tf.dispose([x, y]);
        if (!Number.isFinite(step.loss)) throw nonFiniteLossError(config, epoch, b + 1, batches, 'training loss', step.loss, runDir);
        lossSum += step.loss * n;
        correct += step.correct;
        seen += n;
        const elapsed = (performance.now() - started) / 1000;
        progress({
          type: 'batch', epoch, epochs: config.epochs, batch: b + 1, batches,
          loss: lossSum / seen, accuracy: correct / seen,
          examplesPerSecond: seen / elapsed, epochEtaSeconds: (elapsed / (b + 1)) * (batches - b - 1),
        });
        await breathe();
      }
      const val = await evaluate(model, data.test, config.maxLen, config.evalBatchSize);
      if (!Number.isFinite(val.loss)) throw nonFiniteLossError(config, epoch, batches, batches, 'validation loss', val.loss, runDir);
      const seconds = (performance.now() - started) / 1000;
      const record: EpochRecord = { epoch, loss: lossSum / seen, accuracy: correct / seen, val_loss: val.loss, val_accuracy: val.accuracy, seconds };
      history = [...history, record];
      await saveEpoch(runDir, model, optimizer, { epoch, steps: optimizer.iterations, history, savedAt: new Date().toISOString(), environment: environmentFacts() });
      await writeHistoryCsv(runDir, history);
      sessionSeconds.push(seconds);
      const mean = sessionSeconds.reduce((s, v) => s + v, 0) / sessionSeconds.length;
      progress({ type: 'epoch', epochs: config.epochs, record, runEtaSeconds: mean * (config.epochs - epoch) });
    }
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    throw err;
  }
  optimizer.dispose();
  return { runDir, config, history, model, outcome: startEpoch > 0 ? 'resumed' : 'trained', startEpoch };
}

// ---------------------------------------------------------------------------------------------
// Timing (for estimates without running the full profile)
// ---------------------------------------------------------------------------------------------

/** Measured seconds per training batch and per validation batch, and the epoch time they imply. */
export interface TimingEstimate {
  trainBatches: number;
  secondsPerTrainBatch: number;
  secondsPerEvalBatch: number;
  /** ceil(trainSize / batchSize) training batches + ceil(testSize / evalBatchSize) validation batches. */
  estimatedEpochSeconds: number;
}

/**
 * Times `batches` training steps (after one warm-up step) and two validation batches of a fresh model
 * at the config's sizes, and extrapolates to one epoch. Writes nothing.
 */
export async function timeEpoch(config: TrainConfig, options: { batches?: number; data?: ImdbData; archivePath?: string } = {}): Promise<TimingEstimate> {
  validateConfig(config);
  const batches = options.batches ?? 20;
  const data = await dataFor(config, { data: options.data, archivePath: options.archivePath }, () => {});
  const model = buildModel(config);
  const optimizer = new KerasAdam(config.learningRate, config.beta1, config.beta2, config.epsilon);
  const vars = trainableVariables(model);
  const order = epochOrder(config.seed, 1, config.trainSize);
  const batchAt = (b: number) => {
    const from = (b * config.batchSize) % Math.max(1, config.trainSize - config.batchSize + 1);
    return gatherBatch(data.train, order.subarray(from, from + config.batchSize), config.maxLen);
  };
  const timeSteps = async (from: number, count: number) => {
    const t0 = performance.now();
    for (let b = from; b < from + count; b++) {
      const { x, y } = batchAt(b);
      await trainStep(model, optimizer, vars, x, y);
      tf.dispose([x, y]);
    }
    return (performance.now() - t0) / 1000;
  };
  await timeSteps(0, 1); // warm-up: first calls allocate and pick kernels
  const trainSeconds = await timeSteps(1, batches);
  const evalRows = Math.min(config.testSize, config.evalBatchSize * 2);
  const t0 = performance.now();
  await evaluate(model, { ...data.test, size: evalRows }, config.maxLen, config.evalBatchSize);
  const evalSeconds = (performance.now() - t0) / 1000;
  optimizer.dispose();
  model.dispose();
  const secondsPerTrainBatch = trainSeconds / batches;
  const secondsPerEvalBatch = evalSeconds / Math.ceil(evalRows / config.evalBatchSize);
  const estimatedEpochSeconds =
    Math.ceil(config.trainSize / config.batchSize) * secondsPerTrainBatch + Math.ceil(config.testSize / config.evalBatchSize) * secondsPerEvalBatch;
  return { trainBatches: batches, secondsPerTrainBatch, secondsPerEvalBatch, estimatedEpochSeconds };
}

// ---------------------------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------------------------

/** Classifies raw review text with a saved run's vocabulary, maxLen and model. */
export class Predictor {
  private constructor(
    readonly model: tf.LayersModel,
    readonly vocab: Vocabulary,
    readonly config: TrainConfig,
    /** The epoch whose weights are loaded. */
    readonly epoch: number,
    readonly runDir: string,
  ) {}

  /** Loads a run directory; `epoch` picks the weights (default: the last completed epoch). */
  static async load(runDir: string, epoch: EpochChoice = 'last'): Promise<Predictor> {
    const run = await loadRun(runDir, epoch);
    const vocabFile = path.join(run.runDir, 'vocab.json');
    if (!exists(vocabFile)) throw new TrainError('RUN_NOT_FOUND', `${run.runDir} has no vocab.json`);
    const vocab = await loadVocabulary(vocabFile);
    if (vocab.numWords !== run.config.numWords) {
      throw new TrainError('CONFIG_MISMATCH', `${vocabFile} has numWords ${vocab.numWords}, the run was trained with ${run.config.numWords}`);
    }
    return new Predictor(run.model, vocab, run.config, run.epoch, run.runDir);
  }

  /** The ids the model sees for each text: [texts.length, maxLen], Keras-padded. */
  encode(texts: readonly string[]): tf.Tensor2D {
    const { values, shape } = encodeTexts(texts, this.vocab, { maxLen: this.config.maxLen });
    return tf.tensor2d(values, shape, 'int32');
  }

  /** P(positive) for each text. */
  predict(texts: readonly string[]): number[] {
    if (texts.length === 0) return [];
    const x = this.encode(texts);
    const p = this.model.predict(x, { batchSize: this.config.evalBatchSize }) as tf.Tensor;
    const out = Array.from(p.dataSync());
    tf.dispose([x, p]);
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** P(positive) for each text, from the run in `runDir` (loads, predicts, disposes). */
export async function predict(texts: readonly string[], runDir: string, epoch: EpochChoice = 'last'): Promise<number[]> {
  const predictor = await Predictor.load(runDir, epoch);
  try {
    return predictor.predict(texts);
  } finally {
    predictor.dispose();
  }
}
