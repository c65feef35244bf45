/**
 * Progress lines for long work (reading the archive, a download, training), on stdout: stderr is
 * for warnings and errors. On a terminal a status line overwrites itself ("\r...\x1b[K"); anywhere
 * else (a log file, a notebook, a writer given in the options) every shown line is a line of its own.
 *
 * Two kinds of line:
 *   status(text, due)   passing news (the reviews read so far, batch 120/782): shown at most once every
 *                       `intervalSeconds` (Infinity: never), and always when `due` (e.g. the last batch);
 *   line(text)          news that stays (an epoch's result, "done"): always shown, on a fresh line.
 * In a notebook, status lines can go to one output that is updated in place (`statusWrite`).
 */

/** How a progress line is shown. */
export interface ProgressLineOptions {
  /** The stream written to (default process.stdout). */
  stream?: NodeJS.WriteStream;
  /** Where lines go instead of the stream, one call per line (nothing is overwritten then). */
  write?: (line: string) => void;
  /**
   * Where status lines go instead, each replacing the last (e.g. `liveTextLine()` of lib/view/display.ts, a
   * notebook output updated in place): a saved notebook then keeps only the last status and every line.
   */
  statusWrite?: (text: string) => void;
  /** Least seconds between two status lines; Infinity shows none. */
  intervalSeconds: number;
  /** May the first status line come at once (true), or only after one interval (false, the default)? */
  immediate?: boolean;
}

/** A throttled, self-overwriting status line plus lines that stay (see the module comment). */
export interface ProgressLine {
  /** Passing news: throttled to one per interval unless `due`; overwritten by the next line on a terminal. */
  status(text: string, due?: boolean): void;
  /** News that stays: replaces a pending status line and restarts the interval. */
  line(text: string): void;
}

/** A progress line on `stream` (default stdout) or through `write`; see the module comment. */
export function progressLine(options: ProgressLineOptions): ProgressLine {
  const stream = options.stream ?? process.stdout;
  const tty = options.write === undefined && stream.isTTY === true;
  const write = options.write ?? ((text: string) => void stream.write(`${text}\n`));
  const interval = options.intervalSeconds * 1000;
  let last = options.immediate ? -Infinity : Date.now();
  let pending = false; // a self-overwriting status line is on screen
  return {
    status(text, due = false) {
      if (interval === Infinity) return;
      const now = Date.now();
      if (now - last < interval && !due) return;
      last = now;
      if (options.statusWrite) {
        options.statusWrite(text);
      } else if (tty) {
        stream.write(`\r${text}\x1b[K`);
        pending = true;
      } else {
        write(text);
      }
    },
    line(text) {
      if (pending) stream.write('\r\x1b[K');
      pending = false;
      last = Date.now();
      write(text);
    },
  };
}

/** 75 -> "1m15s", 3725 -> "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
