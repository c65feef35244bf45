/**
 * The recorded epoch benchmark of the three cells: `data/benchmarks/epoch-cells.json`, written by
 * `npm run bench:epoch -- --json data/benchmarks/epoch-cells.json` (scripts/bench-epoch.ts; its plan, runs and report:
 * lib/experiments/epoch-plan.ts, epoch-runs.ts, epoch-report.ts). One full reference epoch (the sizes are the record's
 * `config`) of each cell in the course's own layer and in Keras 2.12 (TensorFlow 2.12 in Python) at the recurrent
 * dropouts its runs name, on the same arrays, interleaved per cell, with the machine's load average before and after
 * each run. Notebook 05 shows it beside its live timings as the Keras reference points (the machine could not afford
 * to train Keras live in a report); README.md shows its table (lib/experiments/tables.ts).
 */
import pl from 'nodejs-polars';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { mean, round } from '../util/stats';
import { CELLS, CELLS_BY_GATES, CELL_LABELS, type Cell } from '../cells/layer-kinds';
import { unknownCellHint, type BenchSide } from './epoch-plan';

/** Where the recorded benchmark lives in the repository. */
export const EPOCH_BENCHMARK_FILE = path.join(ROOT, 'data', 'benchmarks', 'epoch-cells.json');

/** One epoch of one run, in seconds (training, validation, both), its losses and accuracies. */
export interface BenchEpoch {
  epoch: number;
  trainSeconds: number;
  valSeconds: number;
  seconds: number;
  /** Training loss and accuracy, validation loss (absent in records written before they were kept). */
  loss?: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy: number;
}

/** One run: a cell on one side ('course': this project's layer; 'keras': Keras 2.12) with one recurrent dropout. */
export interface BenchRun {
  cell: Cell;
  side: BenchSide;
  recurrentDropout: number;
  /** What ran, e.g. "course lstm (kerasLstm, tfjs-node)" or "Keras 2.12.0 lstm R=0". */
  label: string;
  /** Parameters of the whole model. */
  params: number;
  /** GFLOP/s of one large float32 matmul through the run's TensorFlow build (the report's yardstick). */
  matmulGflops?: number;
  /** Keras only: the code path it took and why (fused standard_lstm, or the generic loop), else null. */
  path: string | null;
  /** How the run was set up, as the report's "Setup of each run" lists it (layer, versions, threads, ...). */
  facts?: Record<string, string | number>;
  epochs: BenchEpoch[];
}

/** The whole record: how it was made, and its runs. */
export interface EpochBenchmarkRecord {
  command: string;
  commit: string;
  measuredAt: string;
  cpuModel: string;
  /** What of the record was not written by `command` (e.g. transcribed from its report), if anything. */
  note?: string;
  /** The size n of the n x n matmul each run measured (runs' matmulGflops). */
  matmulN?: number;
  config: { trainSize: number; testSize: number; maxLen: number; batchSize: number; epochs: number };
  /** `uptime` before and after each run. */
  loads: string[];
  runs: BenchRun[];
}

/** Reads and checks the recorded benchmark; a missing or malformed file, or a cell of another name, is a clear error naming it. */
export function readEpochBenchmark(file = EPOCH_BENCHMARK_FILE): EpochBenchmarkRecord {
  let record: EpochBenchmarkRecord;
  try {
    record = JSON.parse(fs.readFileSync(file, 'utf8')) as EpochBenchmarkRecord;
  } catch (err) {
    throw new Error(`epoch benchmark: cannot read ${file} (${(err as Error).message}); make it with npm run bench:epoch -- --json ${file}`);
  }
  const ok =
    Array.isArray(record.runs) && record.runs.length > 0 && record.runs.every((r) => Array.isArray(r.epochs) && r.epochs.length > 0);
  if (!ok) throw new Error(`epoch benchmark: ${file} holds no runs with epochs; make it again with npm run bench:epoch -- --json ${file}`);
  const bad = record.runs.find((r) => !(CELLS as readonly string[]).includes(r.cell));
  if (bad) throw new Error(`epoch benchmark: ${file}, run "${bad.label}": its cell ${unknownCellHint(String(bad.cell))}`);
  return record;
}

/** Mean seconds per epoch of a run: training, validation and both. */
export function benchSecondsPerEpoch(run: BenchRun): { train: number; validation: number; total: number } {
  return {
    train: mean(run.epochs.map((e) => e.trainSeconds)),
    validation: mean(run.epochs.map((e) => e.valSeconds)),
    total: mean(run.epochs.map((e) => e.seconds)),
  };
}

/** The run of a cell on a side with a recurrent dropout, or undefined. */
export function benchRun(record: EpochBenchmarkRecord, cell: Cell, side: BenchSide, recurrentDropout: number): BenchRun | undefined {
  return record.runs.find((r) => r.cell === cell && r.side === side && r.recurrentDropout === recurrentDropout);
}

/** One row per run: cell, side, recurrent dropout, seconds per epoch (training, validation, total), validation accuracy after the last epoch, Keras's path. */
export function epochBenchmarkFrame(record: EpochBenchmarkRecord): pl.DataFrame {
  const runs = [...record.runs].sort((a, b) => CELLS_BY_GATES.indexOf(a.cell) - CELLS_BY_GATES.indexOf(b.cell));
  const s = runs.map(benchSecondsPerEpoch);
  return pl.DataFrame({
    cell: runs.map((r) => CELL_LABELS[r.cell]),
    side: runs.map((r) => (r.side === 'course' ? 'this course (native graphs)' : 'Keras 2.12 (TF 2.12, Python)')),
    'recurrent dropout': runs.map((r) => r.recurrentDropout),
    's train / epoch': s.map((x) => round(x.train, 1)),
    's validation / epoch': s.map((x) => round(x.validation, 1)),
    's / epoch': s.map((x) => round(x.total, 1)),
    'val acc %': runs.map((r) => round(100 * r.epochs[r.epochs.length - 1].valAccuracy, 2)),
    'Keras path': runs.map((r) => r.path ?? ''),
  });
}
