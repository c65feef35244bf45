/**
 * What a training run is: its configuration (the reference run and the small `ci` profile, single
 * options from GRU_* environment variables or command-line flags, validation) and the name of the run
 * directory it is kept in.
 *
 * The reference run: 10,000-word vocabulary, reviews cut/padded to 500 ids,
 * Embedding(10000, 128) -> GRU(128, dropout 0.2, recurrent dropout 0.2) -> Dense(1, sigmoid),
 * Adam (Keras defaults), binary cross-entropy, accuracy, batch 32, 10 epochs, validation on the
 * 25,000 test reviews after every epoch.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { currentProfile, isProfile, type Profile } from '../util/env';
import { DEFAULT_SEED } from '../data/imdb';
import { REFERENCE_MODEL, fixedGatesProblems, type ModelConfig } from './model';
import { RUNS_DIR } from '../util/paths';
import { RENAMED_KINDS, RNN_KINDS, isRnnKind, unknownKindHint, type RnnKind } from '../cells/layer-kinds';

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
  /** Seed of the data set's own shuffle (lib/data/imdb; Keras's imdb.load_data uses 113). */
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
  evalBatchSize: {
    env: 'GRU_EVAL_BATCH_SIZE',
    flag: '--eval-batch-size',
    kind: 'int',
    help: 'batch size of validation (does not change results)',
  },
};

/** The environment variable that chooses the run directory. */
export const RUN_DIR_ENV = 'GRU_RUN_DIR';

/**
 * What went wrong, for callers that want to react (scripts/train.ts exits 1 for NON_FINITE_LOSS, 2 for
 * every other code: a bad option or a problem with the run directory).
 *   RUN_DIR_UNWRITABLE  the run directory cannot be created or written (EACCES, EPERM, ENOTDIR, EROFS)
 *   WRITE_FAILED        a run file could not be written completely (e.g. ENOSPC); earlier epochs are intact
 *   RUN_CORRUPT         a run file is unreadable, not valid JSON, or differs from its epoch's manifest
 *   RUN_LOCKED          another live trainer holds the run directory's lock
 *   DATA_MISMATCH       the data differs from the data the run was trained on (archive, tokenizer, vocabulary)
 */
export type TrainErrorCode =
  | 'INVALID_CONFIG'
  | 'RUN_EXISTS'
  | 'CONFIG_MISMATCH'
  | 'DATA_MISMATCH'
  | 'NON_FINITE_LOSS'
  | 'RUN_NOT_FOUND'
  | 'RUN_DIR_UNWRITABLE'
  | 'WRITE_FAILED'
  | 'RUN_CORRUPT'
  | 'RUN_LOCKED';

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
    if (isRnnKind(value)) return value;
    throw new TrainError('INVALID_CONFIG', `${source}=${unknownKindHint(value)}`);
  }
  // Integers are written in decimal digits only: Number() would also take 0x2, 1e1, 0b11 or 1.0.
  const n = value === '' ? NaN : Number(value);
  if (spec.kind === 'int' && (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(n))) {
    throw new TrainError(
      'INVALID_CONFIG',
      `${source}=${JSON.stringify(text)} is not an integer (${spec.help}): write it in decimal digits, e.g. 10`,
    );
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
  if (!(c.learningRate > 0 && Number.isFinite(c.learningRate)))
    problems.push(`learningRate must be a positive number, got ${c.learningRate}`);
  if (!(c.epsilon > 0 && Number.isFinite(c.epsilon))) problems.push(`epsilon must be a positive number, got ${c.epsilon}`);
  for (const key of ['beta1', 'beta2', 'dropout', 'recurrentDropout'] as const) {
    if (!(c[key] >= 0 && c[key] < 1)) problems.push(`${key} must be in [0, 1), got ${c[key]}`);
  }
  if (!isRnnKind(c.rnn)) problems.push(`rnn ${unknownKindHint(c.rnn)}`);
  problems.push(...fixedGatesProblems(c));
  if (!isProfile(c.profile)) problems.push(`profile must be "full" or "ci", got ${JSON.stringify(c.profile)}`);
  return problems;
}

/**
 * Refuses a config read from a run directory (`file`) that names its recurrent layer by a retired name (RENAMED_KINDS):
 * INVALID_CONFIG, saying which name to write in the file instead.
 */
export function checkStoredRnn(config: Pick<TrainConfig, 'rnn'>, file: string): void {
  const old: unknown = config.rnn;
  if (typeof old !== 'string' || !Object.hasOwn(RENAMED_KINDS, old)) return;
  const now = RENAMED_KINDS[old];
  throw new TrainError(
    'INVALID_CONFIG',
    `${file} names its recurrent layer ${JSON.stringify(old)}, the old name of ${JSON.stringify(now)}: ` +
      `change "rnn" to ${JSON.stringify(now)} in that file (the same layer under its new name)`,
  );
}

/** Throws TrainError INVALID_CONFIG listing every problem. */
export function validateConfig(c: TrainConfig): void {
  const problems = configProblems(c);
  if (problems.length > 0) throw new TrainError('INVALID_CONFIG', `invalid training configuration:\n  - ${problems.join('\n  - ')}`);
}

/** A lower bound of the memory a run needs, in bytes, with the arithmetic behind it. */
export interface MemoryEstimate {
  /** The padded int32 reviews the run takes: (trainSize + testSize) x maxLen x 4 bytes. */
  paddedBytes: number;
  /**
   * What one training batch keeps for backpropagation through time, at least: per step and review,
   * the embedding output and the recurrent layer's state and three gate activations, float32:
   * batchSize x maxLen x (embeddingDim + 4 x units) x 4 bytes.
   */
  batchBytes: number;
  totalBytes: number;
  /** The sums written out, for an error message. */
  arithmetic: string;
}

const GB = 1e9;

/** The memory a config needs at least (see MemoryEstimate). */
export function memoryEstimate(c: TrainConfig): MemoryEstimate {
  const paddedBytes = (c.trainSize + c.testSize) * c.maxLen * 4;
  const batchBytes = c.batchSize * c.maxLen * (c.embeddingDim + 4 * c.units) * 4;
  const totalBytes = paddedBytes + batchBytes;
  const gb = (b: number) => `${(b / GB).toFixed(2)} GB`;
  const arithmetic =
    `padded reviews (${c.trainSize} + ${c.testSize}) x ${c.maxLen} ids x 4 bytes = ${gb(paddedBytes)}, plus one training batch ` +
    `${c.batchSize} x ${c.maxLen} steps x (${c.embeddingDim} + 4 x ${c.units}) floats x 4 bytes = ${gb(batchBytes)}: ${gb(totalBytes)} at least`;
  return { paddedBytes, batchBytes, totalBytes, arithmetic };
}

/** Throws INVALID_CONFIG when the run cannot fit in `availableBytes` (default: this machine's memory): checked before any data is read. */
export function checkFitsInMemory(c: TrainConfig, availableBytes: number = os.totalmem()): void {
  const m = memoryEstimate(c);
  if (m.totalBytes > availableBytes) {
    throw new TrainError(
      'INVALID_CONFIG',
      `maxLen ${c.maxLen} cannot fit: ${m.arithmetic}, and this machine has ${(availableBytes / GB).toFixed(2)} GB of memory. ` +
        `Use a smaller --max-len (${OPTION_SPECS.maxLen.env}), --train-size / --test-size or --batch-size.`,
    );
  }
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

/** The part of a config that makes two runs different runs (extending `epochs` continues a run). */
export function runIdentity(c: TrainConfig): Omit<TrainConfig, 'epochs'> {
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
  const same = JSON.stringify(runIdentity({ ...PROFILES[config.profile], rnn: config.rnn })) === JSON.stringify(runIdentity(config));
  return same ? base : `${base}-${shortHash(runIdentity(config))}`;
}

/** $GRU_RUN_DIR if set, else <project>/runs/<runName>. */
export function defaultRunDir(config: TrainConfig, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[RUN_DIR_ENV]?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(RUNS_DIR, runName(config));
}
