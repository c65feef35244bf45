/**
 * What training reports while it runs (lib/training/train.ts emits these events): a batch's running loss, accuracy,
 * speed and ETA; an epoch's result with the run's ETA; information lines; and the printer that shows them on
 * stdout (lib/util/progress.ts), or in a notebook with the batch line updated in place (statusWrite).
 */
import { formatDuration, progressLine } from '../util/progress';
import { type EpochRecord } from './run-dir';

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

/** One compact line per event, e.g. "epoch 3/10 batch 120/782 loss 0.4123 acc 0.8125 231 ex/s ETA 4m12s". */
export function formatTrainProgress(e: ProgressEvent): string {
  if (e.type === 'info') return e.message;
  if (e.type === 'batch') {
    return (
      `epoch ${e.epoch}/${e.epochs} batch ${e.batch}/${e.batches} loss ${e.loss.toFixed(4)} acc ${e.accuracy.toFixed(4)} ` +
      `${Math.round(e.examplesPerSecond)} ex/s ETA ${formatDuration(e.epochEtaSeconds)}`
    );
  }
  const r = e.record;
  return (
    `epoch ${r.epoch}/${e.epochs} loss ${r.loss.toFixed(4)} acc ${r.accuracy.toFixed(4)} ` +
    `val_loss ${r.val_loss.toFixed(4)} val_acc ${r.val_accuracy.toFixed(4)} ${r.seconds.toFixed(1)} s` +
    (r.epoch < e.epochs ? ` (run ETA ${formatDuration(e.runEtaSeconds)})` : '')
  );
}

/**
 * Training's progress on stdout (lib/util/progress.ts): every info and epoch line, and a batch line at most
 * every `intervalSeconds` (default 2 s on a terminal, where it overwrites itself; 30 s otherwise, e.g. a
 * log file or a notebook) and at the end of each epoch; Infinity shows no batch lines. `write` replaces
 * stdout (one call per line); `statusWrite` takes the batch lines instead, each replacing the last (in a
 * notebook: `liveTextLine()` of lib/view/display.ts, so a saved notebook keeps the epoch lines and one batch line).
 */
export function trainProgressPrinter(
  options: { write?: (line: string) => void; intervalSeconds?: number; statusWrite?: (text: string) => void } = {},
): (e: ProgressEvent) => void {
  const tty = options.write === undefined && process.stdout.isTTY === true;
  const out = progressLine({
    write: options.write,
    statusWrite: options.statusWrite,
    intervalSeconds: options.intervalSeconds ?? (tty ? 2 : 30),
  });
  return (e) => {
    if (e.type === 'batch') out.status(formatTrainProgress(e), e.batch === e.batches);
    else out.line(formatTrainProgress(e));
  };
}

/**
 * Progress of several runs in one stream, each line prefixed "[label] ": one trainProgressPrinter per label
 * (each with its own ETA); status lines (`statusWrite`, e.g. a notebook's live line) carry the label too.
 */
export function labelledProgressPrinter(
  options: Parameters<typeof trainProgressPrinter>[0] & { write: (line: string) => void },
): (label: string, e: ProgressEvent) => void {
  const printers = new Map<string, (e: ProgressEvent) => void>();
  return (label, e) => {
    let print = printers.get(label);
    if (!print) {
      const status = options.statusWrite;
      print = trainProgressPrinter({
        ...options,
        write: (line) => options.write(`[${label}] ${line}`),
        statusWrite: status === undefined ? undefined : (text) => status(`[${label}] ${text}`),
      });
      printers.set(label, print);
    }
    print(e);
  };
}
