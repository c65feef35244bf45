/**
 * How long a scripts/keras_models.py command may run: a limit computed from its work, never a fixed timeout
 * that a slower machine or a bigger budget trips.
 *
 * The speed is measured, not guessed: the committed epoch benchmark (data/benchmarks/epoch-cells.json,
 * `npm run bench:epoch`) timed one epoch of the blog's program in Keras 2.12 on this course's machine, with
 * recurrent dropout 0.2 (its slowest GRU path). A command's limit is a start-up allowance (Python, TensorFlow
 * or JAX, the arrays) plus SAFETY times its work at that speed, so a machine SAFETY times slower still finishes.
 *
 * The Keras trainings the notebooks make are listed in KERAS_BUDGETS (lib/keras/budgets.ts), so a test can
 * check each one's limit against its planned work.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ChildLimit } from '../util/child';
import { ROOT } from '../util/paths';

/** Where the speed comes from (relative to the project root). */
export const SPEED_FILE = 'data/benchmarks/epoch-cells.json';

/** How many times slower than measured a machine may be and still finish within the limit. */
export const SAFETY = 4;

/** Seconds allowed on top of the work: Python and TensorFlow (or JAX) starting, the arrays loading, the files saved. */
export const STARTUP_SECONDS = 600;

/** Keras's measured speed: ids (a review's time steps) per second, training and evaluating. */
export interface KerasSpeed {
  trainIdsPerSecond: number;
  evalIdsPerSecond: number;
  /** The measurement, e.g. "Keras 2.12.0 gru R=0.2, 25,000 x 500 ids (data/benchmarks/epoch-cells.json)". */
  source: string;
}

interface BenchmarkFile {
  config: { trainSize: number; testSize: number; maxLen: number; batchSize: number };
  runs: { cell: string; side: string; recurrentDropout: number; label: string; epochs: { trainSeconds: number; valSeconds: number }[] }[];
}

/** The speed of the epoch benchmark's Keras GRU with recurrent dropout 0.2 (its slowest epoch, if several). */
export function kerasSpeed(file: string = path.join(ROOT, SPEED_FILE)): KerasSpeed {
  const bench = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchmarkFile;
  const run = bench.runs.find((r) => r.side === 'keras' && r.cell === 'gru' && r.recurrentDropout > 0);
  if (!run || run.epochs.length === 0) throw new Error(`${file}: no Keras GRU run with recurrent dropout; rerun npm run bench:epoch`);
  const { trainSize, testSize, maxLen } = bench.config;
  const train = Math.max(...run.epochs.map((e) => e.trainSeconds));
  const val = Math.max(...run.epochs.map((e) => e.valSeconds));
  return {
    trainIdsPerSecond: (trainSize * maxLen) / train,
    evalIdsPerSecond: (testSize * maxLen) / val,
    source: `${run.label}, ${trainSize.toLocaleString('en')} x ${maxLen} ids in ${train.toFixed(0)} s (${SPEED_FILE})`,
  };
}

/** What a Keras training does: the blog's program, sized. */
export interface KerasTrainWork {
  epochs: number;
  trainRows: number;
  /** Rows evaluated after each epoch, and predicted once at the end. */
  testRows: number;
  maxLen: number;
  units: number;
  embeddingDim: number;
  batchSize: number;
}

/** How much more a step costs than the benchmark's (128 units, 128 dimensions, batch 32): never less than 1. */
function sizeFactor(w: KerasTrainWork): number {
  const arithmetic = (w.units * (w.units + w.embeddingDim)) / (128 * 256);
  return Math.max(1, arithmetic) * Math.max(1, 32 / w.batchSize);
}

/** Seconds a training takes at the measured speed (start-up not included). */
export function plannedTrainSeconds(w: KerasTrainWork, speed: KerasSpeed = kerasSpeed()): number {
  const ids = (rows: number) => rows * w.maxLen;
  const perEpoch = ids(w.trainRows) / speed.trainIdsPerSecond + ids(w.testRows) / speed.evalIdsPerSecond;
  return sizeFactor(w) * (w.epochs * perEpoch + ids(w.testRows) / speed.evalIdsPerSecond);
}

/** Seconds a prediction over `rows` of `maxLen` ids takes at the measured speed. */
export function plannedPredictSeconds(rows: number, maxLen: number, speed: KerasSpeed = kerasSpeed()): number {
  return (rows * maxLen) / speed.evalIdsPerSecond;
}

/** The limit for work that takes `planned` seconds at the measured speed; `what` says what the work is. */
export function limitFor(planned: number, what: string, speed: KerasSpeed = kerasSpeed()): ChildLimit {
  return {
    seconds: STARTUP_SECONDS + SAFETY * planned,
    basis: `${STARTUP_SECONDS} s start-up + ${SAFETY} x ${planned.toFixed(0)} s, the time of ${what} at Keras's measured speed: ${speed.source}`,
  };
}

/** The limit of a training. */
export function trainLimit(w: KerasTrainWork, speed: KerasSpeed = kerasSpeed()): ChildLimit {
  const what = `${w.epochs} epoch(s) of ${w.trainRows.toLocaleString('en')} reviews + ${w.testRows.toLocaleString('en')} evaluated, ${w.maxLen} ids`;
  return limitFor(plannedTrainSeconds(w, speed), what, speed);
}

/** The value of `--name` in a command line, or undefined. */
function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The [rows, columns] of a .npy file, from its header only (the data is not read). */
function npyRowsAndColumns(file: string): [number, number] {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const shape = /'shape':\s*\(\s*(\d+)\s*,\s*(\d+)/.exec(head.toString('latin1', 0, n));
    if (!shape) throw new Error(`${file}: not a 2-d .npy array`);
    return [Number(shape[1]), Number(shape[2])];
  } finally {
    fs.closeSync(fd);
  }
}

/** The work of `keras_models.py train ...`: its options (the script's defaults when absent) and its arrays' shapes. */
export function trainWorkOf(args: readonly string[]): KerasTrainWork {
  const data = option(args, '--data');
  if (data === undefined) throw new Error('keras_models.py train needs --data DIR (the arrays of scripts/export-imdb.ts)');
  const num = (name: string, fallback: number) => Number(option(args, name) ?? fallback);
  const [trainAll, maxLen] = npyRowsAndColumns(path.join(data, 'x_train.npy'));
  const [testAll] = npyRowsAndColumns(path.join(data, 'x_test.npy'));
  const cap = (all: number, size: number) => (size > 0 ? Math.min(all, size) : all);
  return {
    epochs: num('--epochs', 1),
    trainRows: cap(trainAll, num('--train-size', 0)),
    testRows: cap(testAll, num('--test-size', 0)),
    maxLen: maxLen,
    units: num('--units', 128),
    embeddingDim: num('--embedding-dim', 128),
    batchSize: num('--batch-size', 32),
  };
}

/** The limit of a keras_models.py command line, computed from its work (train: epochs x rows; predict: rows). */
export function commandLimit(args: readonly string[], speed: KerasSpeed = kerasSpeed()): ChildLimit {
  if (args[0] === 'train') return trainLimit(trainWorkOf(args), speed);
  const x = option(args, '--x');
  if (args[0] === 'predict' && x !== undefined && fs.existsSync(x)) {
    const [rows, maxLen] = npyRowsAndColumns(x);
    return limitFor(plannedPredictSeconds(rows, maxLen, speed), `predicting ${rows.toLocaleString('en')} rows of ${maxLen} ids`, speed);
  }
  return limitFor(0, `${args[0] ?? 'a command'} (no training or prediction)`, speed);
}
