/**
 * The recorded benchmarks in `data/benchmarks/*.json`, beside the epoch benchmark (`epoch-cells.json`, read by
 * lib/experiments/epoch-benchmark.ts) and the reference run (`data/reference-run/`, lib/experiments/reference-run.ts).
 * Each record is the one home of its figures: the tables of README.md, BENCHMARKS.md and notebook 05 are made from
 * them (lib/experiments/tables.ts, `npm run tables`), and each names where its figures come from (`command`,
 * `commit`, the date and the machine, a `note` when they were transcribed from text rather than written by a run).
 *
 *   bench-gru-<commit>.json     one `npm run bench:gru` run (`--json FILE` writes this format): GruStepRecord
 *   bench-gru-*-split.json      several bench:gru runs side by side, before and after a change: GruStepComparison
 *   cells-comparison.json       notebook 05's comparison of the three cells and the eager layers: CellsComparisonRecord
 *   gate-variants.json          notebook 05's "What each gate buys": GateVariantsRecord
 *   epoch-gru-keras.json, gru-layer-changes.json
 *                               reports of commands that no longer print that format, kept as they were written:
 *                               TranscribedTables
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';

/** Where the recorded benchmarks live in the repository. */
export const BENCHMARKS_DIR = path.join(ROOT, 'data', 'benchmarks');

/** Where a record's figures come from. */
export interface Provenance {
  /** What was measured, in words. */
  what: string;
  /** The command that measured it (absent when a record gathers several runs, each with its own). */
  command?: string;
  /** The commit measured, short hash; null when the text it was transcribed from does not say. */
  commit?: string | null;
  /** The commit that first wrote the figures into the repository, when `commit` is not known. */
  recordedIn?: string;
  /** When: an ISO date or date-time. */
  measuredAt?: string;
  date?: string;
  machine: string;
  note?: string;
}

/** One variant of one `npm run bench:gru` run (times are medians of the timed rounds, ms). */
export interface GruStepRow {
  /** e.g. "(c) KerasGRU" (scripts/bench-gru.ts VARIANTS). */
  variant: string;
  /** GRU variants: reset_after or not; null for the LSTM and simple RNN rows. */
  resetAfter: boolean | null;
  trainMs: number;
  trainCpuMs?: number;
  predictMs?: number;
  /** TensorFlow calls from JavaScript per training step. */
  eagerOps?: number;
  /** Native graph runs per training step. */
  graphRuns?: number;
  /** Wall-time ratio of the tf.layers layer of the same cell over this row (1 for that layer itself). */
  speedup?: number;
  /** The training step of every timed round, ms. */
  roundsMs?: number[];
}

/** One run of `npm run bench:gru`, as its `--json FILE` writes it. */
export interface GruStepRecord extends Provenance {
  command: string;
  commit: string | null;
  /** `os.loadavg()` (or the text's figure) before and after the run. */
  loadBefore: string;
  loadAfter: string;
  config: { batch: number; steps: number; units: number; reps: number; warmup: number; dropout: number };
  rows: GruStepRow[];
}

/** The part of a bench:gru run a comparison keeps. */
export type GruStepRun = Pick<GruStepRecord, 'command' | 'commit' | 'loadBefore' | 'loadAfter' | 'rows'>;

/** Several bench:gru runs side by side: each column a run, given inline or as the file of its record. */
export interface GruStepComparison extends Provenance {
  columns: { heading: string; run?: GruStepRun; file?: string }[];
}

/** One layer of notebook 05's comparison. */
export interface CellsComparisonLayer {
  /** e.g. "GRU (course)" or "LSTM (`tf.layers`)". */
  label: string;
  /** Whether it was trained (the eager layers are only timed; their epoch is estimated from the batch time). */
  trained: boolean;
  recurrentWeights: number;
  /** A training batch of the whole model (embedding, recurrent layer, dense, Adam), median ms. */
  msPerBatch: number;
  tfCallsPerStep: number;
  /** Seconds of each seed's epoch (training and validation), in the order of config.seeds; null if not trained. */
  secondsPerEpoch: number[] | null;
  /** Validation accuracy after the last epoch, per seed; null if not trained. */
  valAccuracy: number[] | null;
}

/** Notebook 05's comparison of the three cells at the reference sizes. */
export interface CellsComparisonRecord extends Provenance {
  config: { trainSize: number; testSize: number; maxLen: number; batchSize: number; epochs: number; seeds: number[] };
  layers: CellsComparisonLayer[];
}

/** One run of notebook 05's gate comparison. */
export interface GateVariantRun {
  model: string;
  seed: number;
  /** Validation accuracy after each epoch. */
  valAccuracy: number[];
  /** The epoch of lowest validation loss, and that loss. */
  lowestValLoss: { epoch: number; valLoss: number };
}

/** Notebook 05's "What each gate buys". */
export interface GateVariantsRecord extends Provenance {
  config: { trainSize: number; testSize: number; maxLen: number; epochs: number; seeds: number[] };
  runs: GateVariantRun[];
}

/** A table as a command once wrote it: [heading, markdown alignment] per column, and the cells as text. */
export interface TranscribedTable {
  columns: [string, string][];
  rows: string[][];
}

/** Reports whose format no command prints any more, kept as they were written. */
export interface TranscribedTables extends Provenance {
  tables: Record<string, TranscribedTable>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const numbers = (x: unknown): boolean => Array.isArray(x) && x.every((v) => typeof v === 'number' && Number.isFinite(v));

/** What makes each record's file well-formed: the first missing or wrong field, or null. */
const CHECKS = {
  gruStep: (r: Record<string, unknown>) =>
    Array.isArray(r.rows) &&
    r.rows.length > 0 &&
    r.rows.every((row) => isObject(row) && typeof row.variant === 'string' && typeof row.trainMs === 'number')
      ? null
      : 'rows: a list of { variant, resetAfter, trainMs, ... }',
  gruStepComparison: (r: Record<string, unknown>) =>
    Array.isArray(r.columns) &&
    r.columns.every((c) => isObject(c) && typeof c.heading === 'string' && (isObject(c.run) || typeof c.file === 'string'))
      ? null
      : 'columns: a list of { heading, run } or { heading, file }',
  cellsComparison: (r: Record<string, unknown>) =>
    isObject(r.config) &&
    numbers(r.config.seeds) &&
    Array.isArray(r.layers) &&
    r.layers.every((l) => isObject(l) && typeof l.msPerBatch === 'number')
      ? null
      : 'config.seeds and layers: a list of { label, recurrentWeights, msPerBatch, ... }',
  gateVariants: (r: Record<string, unknown>) =>
    Array.isArray(r.runs) && r.runs.every((x) => isObject(x) && numbers(x.valAccuracy) && isObject(x.lowestValLoss))
      ? null
      : 'runs: a list of { model, seed, valAccuracy, lowestValLoss }',
  transcribed: (r: Record<string, unknown>) =>
    isObject(r.tables) && Object.values(r.tables).every((t) => isObject(t) && Array.isArray(t.columns) && Array.isArray(t.rows))
      ? null
      : 'tables: { name: { columns, rows } }',
} as const;

/** The record types by the name of their check. */
interface RecordTypes {
  gruStep: GruStepRecord;
  gruStepComparison: GruStepComparison;
  cellsComparison: CellsComparisonRecord;
  gateVariants: GateVariantsRecord;
  transcribed: TranscribedTables;
}

/** Reads a record and checks its shape; a missing, unreadable or malformed file is an error naming it and what is wrong. */
export function readRecord<K extends keyof RecordTypes>(file: string, kind: K): RecordTypes[K] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`benchmark record ${file}: cannot read it (${(err as Error).message})`);
  }
  if (!isObject(data) || typeof data.what !== 'string' || typeof data.machine !== 'string')
    throw new Error(`benchmark record ${file}: expected an object with "what" and "machine" (where its figures come from)`);
  const wrong = CHECKS[kind](data);
  if (wrong !== null) throw new Error(`benchmark record ${file}: expected ${wrong}`);
  return data as unknown as RecordTypes[K];
}
