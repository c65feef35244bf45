/**
 * The recorded reference run, and reading training curves in words.
 *
 * `data/reference-run/history.csv` holds the history of the course's reference run, one row per epoch
 * (`npm run train -- --profile full`; `run.json` beside it names the commit, date and machine),
 * so that every report, in every profile, can draw "Model Loss" and "Model Accuracy" of the real
 * run beside the curves of the run it has just made. The columns are those of a run directory's
 * history.csv (Keras's History names): epoch, loss, accuracy, val_loss, val_accuracy, seconds. README.md's table
 * of the run is made from it (lib/experiments/tables.ts, `npm run tables`).
 *
 * `readCurves` turns any history into the facts a reader looks for (the epoch with the lowest
 * validation loss, whether the validation loss rose after it while the training loss kept
 * falling), and `describeCurves` says them in a sentence: the notebooks print that sentence
 * instead of typing the numbers in.
 */
import pl from 'nodejs-polars';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { historyChart, type Figure } from '../view/plot';
import { bestEpoch, type EpochRecord } from '../training/run-dir';

/** Where the recorded reference run lives in the repository. */
export const REFERENCE_RUN_DIR = path.join(ROOT, 'data', 'reference-run');

/** What run.json says about the recorded run. */
export interface ReferenceRunInfo {
  what: string;
  command: string;
  commit: string;
  date: string;
  machine: string;
  data: string;
  model: string;
  note: string;
}

/** The recorded reference run: where it came from and its history. */
export interface ReferenceRun {
  info: ReferenceRunInfo;
  history: EpochRecord[];
}

const COLUMNS = ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds'] as const;

/** Reads a history.csv (a run directory's, or the recorded one) into epoch records, checked. */
export function readHistoryCsv(file: string): EpochRecord[] {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: expected a history.csv with columns ${COLUMNS.join(', ')}`);
  const frame = pl.readCSV(fs.readFileSync(file, 'utf8'));
  const missing = COLUMNS.filter((c) => !frame.columns.includes(c));
  if (missing.length > 0) throw new Error(`${file} lacks the column(s) ${missing.join(', ')} (has: ${frame.columns.join(', ')})`);
  const records = frame.toRecords() as Record<string, unknown>[];
  return records.map((row, i) => {
    const record = {} as EpochRecord;
    for (const c of COLUMNS) {
      const value = Number(row[c]);
      if (!Number.isFinite(value)) throw new Error(`${file}, row ${i + 1}: ${c} is not a number (${String(row[c])})`);
      record[c] = value;
    }
    if (record.epoch !== i + 1)
      throw new Error(`${file}, row ${i + 1}: epoch ${record.epoch}, expected ${i + 1} (rows in epoch order, none missing)`);
    return record;
  });
}

/** Loads the recorded reference run from data/reference-run/ (or another directory). */
export function loadReferenceRun(dir = REFERENCE_RUN_DIR): ReferenceRun {
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as ReferenceRunInfo;
  return { info, history: readHistoryCsv(path.join(dir, 'history.csv')) };
}

/** The facts of a history that the course's text reads off the curves. */
export interface CurveReading {
  epochs: number;
  /** The epoch with the lowest validation loss. */
  best: EpochRecord;
  last: EpochRecord;
  /** True when the validation loss ends higher than at `best` while the training loss ends lower. */
  overfits: boolean;
  /** Epochs after `best` whose validation loss is above the previous epoch's. */
  risingEpochsAfterBest: number;
  /** True when the training loss fell at every epoch. */
  trainLossAlwaysFell: boolean;
}

/** Reads the lowest validation loss and what came after it from a history. */
export function readCurves(history: readonly EpochRecord[]): CurveReading {
  const best = bestEpoch(history);
  const last = history[history.length - 1];
  let risingEpochsAfterBest = 0;
  for (let i = best.epoch; i < history.length; i++) if (history[i].val_loss > history[i - 1].val_loss) risingEpochsAfterBest++;
  const trainLossAlwaysFell = history.every((r, i) => i === 0 || r.loss < history[i - 1].loss);
  const overfits = last.epoch > best.epoch && last.val_loss > best.val_loss && last.loss < best.loss;
  return { epochs: history.length, best, last, overfits, risingEpochsAfterBest, trainLossAlwaysFell };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const rises = (k: number, n: number) => (k === n ? `at every one of the ${n} epochs` : `in ${k} of the ${n} epochs`);

/** One or two sentences that say what a history's curves show, computed from the numbers. */
export function describeCurves(history: readonly EpochRecord[], name = 'this run'): string {
  const c = readCurves(history);
  const lowest = `${name}: the validation loss is lowest after epoch ${c.best.epoch} of ${c.epochs} (${c.best.val_loss.toFixed(4)}, validation accuracy ${pct(c.best.val_accuracy)})`;
  if (c.best.epoch === c.last.epoch) {
    return `${lowest}, the last epoch: it was still falling, so there is no sign of overfitting within ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}.`;
  }
  if (c.overfits) {
    return (
      `${lowest}. After it the validation loss rises ${rises(c.risingEpochsAfterBest, c.last.epoch - c.best.epoch)}, to ` +
      `${c.last.val_loss.toFixed(4)} by epoch ${c.last.epoch}, while the training loss ${c.trainLossAlwaysFell ? 'keeps falling' : 'goes on down'}, ` +
      `from ${c.best.loss.toFixed(4)} to ${c.last.loss.toFixed(4)}: the model overfits after epoch ${c.best.epoch}.`
    );
  }
  return `${lowest}. By epoch ${c.last.epoch} the validation loss is ${c.last.val_loss.toFixed(4)} and the training loss ${c.last.loss.toFixed(4)}: training stalled rather than overfitted.`;
}

/** A history's column as numbers. */
function column(history: readonly EpochRecord[], key: keyof EpochRecord): number[] {
  return history.map((r) => r[key]);
}

/**
 * "Model Loss" and "Model Accuracy" of a run, with the recorded reference run drawn beside it
 * (dashed, labelled "(reference run)"); pass `run` = null to draw the reference run alone.
 */
export function curvesWithReference(
  run: readonly EpochRecord[] | null,
  reference: readonly EpochRecord[],
  runLabel = 'this run',
): [Figure, Figure] {
  const ref = ' (reference run)';
  const mine = run === null ? '' : ` (${runLabel})`;
  const lossCurrent = run === null ? {} : { [`Train${mine}`]: column(run, 'loss'), [`Validation${mine}`]: column(run, 'val_loss') };
  const accCurrent = run === null ? {} : { [`Train${mine}`]: column(run, 'accuracy'), [`Validation${mine}`]: column(run, 'val_accuracy') };
  const loss = historyChart('Model Loss', lossCurrent, {
    reference: { [`Train${ref}`]: column(reference, 'loss'), [`Validation${ref}`]: column(reference, 'val_loss') },
  });
  const accuracy = historyChart('Model Accuracy', accCurrent, {
    percent: true,
    reference: { [`Train${ref}`]: column(reference, 'accuracy'), [`Validation${ref}`]: column(reference, 'val_accuracy') },
  });
  return [loss, accuracy];
}
