/**
 * The scaffold every command-line script shares (scripts/train.ts, predict.ts, compare.ts,
 * export-imdb.ts, imdb-bench.ts, bench-epoch.ts, bench-gru.ts, import-keras.ts, export-keras.ts):
 *
 *   - options parsed by node:util parseArgs (strict: an unknown option or a missing value is an error);
 *   - `--help` generated from the option table (each option's value name, help text and section),
 *     with the script's exit codes;
 *   - `fail(message)`: a usage error, shown as "<script>: <message>" plus a pointer to --help, exit 2;
 *   - Ctrl-C or SIGTERM (when the script can stop cleanly): the first one aborts `signal`, so the work stops
 *     at the end of the current batch (exit 130, or 143 after SIGTERM); a second one quits at once. A second
 *     signal within half a second of the first is the same one delivered twice (by the terminal and by npm,
 *     which forwards SIGINT and SIGTERM to the script) and is ignored;
 *   - errors the user can act on (the script's `knownErrors`) are shown as their message with their exit
 *     code; anything else with its stack, exit 1.
 */
import { parseArgs } from 'node:util';
import type { EpochChoice } from '../lib/training/run-dir';

/** One command-line option: `--name VALUE` (string) or `--name` (boolean). */
export interface OptionDef {
  type: 'string' | 'boolean';
  /** What --help writes after the flag for a string option, e.g. N, DIR, PATH. */
  value?: string;
  short?: string;
  default?: string | boolean;
  /** One line, or several (continuation lines are indented under the first). */
  help: string;
  /** A heading printed before the first option of a new section. */
  section?: string;
  /** A string option that may be given several times (its value is then a list, in order). */
  multiple?: boolean;
}

/** A script: its name, what it does, its options and exit codes. */
export interface CliSpec {
  /** The prefix of its messages, e.g. "train". */
  name: string;
  /** The first line of --help. */
  summary: string;
  /** The usage line, e.g. "node --import tsx scripts/train.ts [options]". */
  usage: string;
  options: Readonly<Record<string, OptionDef>>;
  /** Whether the script takes positional arguments (default: no). */
  positionals?: boolean;
  /** Text after the options in --help. */
  epilog?: string;
  /** Exit code -> meaning, listed in --help (0 and 1 are always there). */
  exitCodes?: Readonly<Record<number, string>>;
  /** Whether Ctrl-C stops the work at the end of a batch (the main function gets the signal). */
  abortable?: boolean;
  /** The exit code of an error the user can act on (shown without a stack), or undefined for a bug. */
  knownErrors?: (err: unknown) => number | undefined;
}

/** What the script's main function receives. */
export interface CliContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** Aborted by the first Ctrl-C (only for abortable scripts). */
  signal: AbortSignal;
}

/** The exit code of a usage error: a bad option or value. */
export const USAGE_EXIT = 2;
/** The exit code of a run stopped by Ctrl-C (128 + SIGINT); after SIGTERM the script exits 143 (128 + 15) instead. */
export const STOPPED_EXIT = 130;

/** The signals that stop an abortable script, and the exit code of each (128 + its number). */
export const STOP_SIGNALS = { SIGINT: STOPPED_EXIT, SIGTERM: 143 } as const;

/** A signal that stops an abortable script. */
export type StopSignal = keyof typeof STOP_SIGNALS;

/** Milliseconds within which a second stop signal counts as the first one delivered again (see the top). */
export const REPEATED_SIGNAL_MS = 500;

/**
 * `text` safe to write to a terminal: control characters (C0 but tab, DEL, C1) shown as \xHH, so a review
 * holding ESC sequences (ESC ] 0 ; title BEL, ESC [ 2 J) cannot retitle, clear or recolour the terminal.
 */
export function terminalText(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** Thrown by fail(): the message and exit code the scaffold reports. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = USAGE_EXIT,
  ) {
    super(message);
  }
}

/** Stops the script with a message and an exit code (default 2, a usage error that points to --help). */
export function fail(message: string, exitCode = USAGE_EXIT): never {
  throw new CliError(message, exitCode);
}

/** Reads a positive integer option written in decimal digits (not 0x2 or 1e1); `flag` names it in the error. */
export function positiveInteger(text: string | boolean | string[] | undefined, flag: string): number {
  const n = typeof text === 'string' && /^\+?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) fail(`${flag} ${JSON.stringify(text)}: use a positive integer in decimal digits`);
  return n;
}

/** Reads an --epoch option: a positive integer, `last` (the default) or `best` (lowest validation loss). */
export function epochChoice(text: string | undefined): EpochChoice {
  if (text === undefined || text === 'last') return 'last';
  if (text === 'best') return 'best';
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) fail(`--epoch ${JSON.stringify(text)}: use a positive integer, last or best`);
  return n;
}

/** The --help text, generated from the option table. */
export function helpText(spec: CliSpec): string {
  const options: [string, OptionDef][] = [['help', { type: 'boolean', short: 'h', help: 'this text' }], ...Object.entries(spec.options)];
  const flag = ([name, o]: [string, OptionDef]) =>
    `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  const width = Math.max(...options.map((o) => flag(o).length)) + 2;
  const lines = [spec.summary, '', `Usage: ${spec.usage}`];
  let section: string | undefined;
  lines.push('');
  for (const option of options) {
    const def = option[1];
    if (def.section !== undefined && def.section !== section) lines.push('', def.section);
    section = def.section ?? section;
    const [first, ...more] = def.help.split('\n');
    lines.push(`  ${flag(option).padEnd(width)}${first}`, ...more.map((l) => `  ${' '.repeat(width)}${l}`));
  }
  if (spec.epilog) lines.push('', spec.epilog.trimEnd());
  const codes = { 0: 'done', 1: 'failed', ...(spec.exitCodes ?? {}) };
  lines.push(
    '',
    `Exit codes: ${Object.entries(codes)
      .map(([code, meaning]) => `${code} ${meaning}`)
      .join(', ')}.`,
  );
  return `${lines.join('\n')}\n`;
}

/** Parses argv against the spec; `--help` is answered here. Throws CliError on a bad option. */
export function parseCli(spec: CliSpec, argv: string[] = process.argv.slice(2)): Omit<CliContext, 'signal'> & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; multiple?: boolean }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: spec.positionals === true });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  return { values, positionals: parsed.positionals, help: values.help === true };
}

/** How runCli ends the process; tests replace it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  exit: (code: number) => void;
  /** Registers the handler of Ctrl-C (SIGINT) and SIGTERM. */
  onInterrupt: (handler: (signal?: StopSignal) => void) => void;
  /** The clock (milliseconds), to tell a repeated signal from a second one; default Date.now. */
  now?: () => number;
}

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
  onInterrupt: (handler) => {
    for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(signal, () => handler(signal));
  },
};

/** The message and exit code of anything main threw (see the module comment). */
export function reportError(spec: CliSpec, err: unknown): { text: string; exitCode: number } {
  if (err instanceof CliError) {
    const hint = err.exitCode === USAGE_EXIT ? '\nRun with --help for the options.' : '';
    return { text: `${spec.name}: ${err.message}${hint}\n`, exitCode: err.exitCode };
  }
  const known = spec.knownErrors?.(err);
  if (known !== undefined) return { text: `${spec.name}: ${(err as Error).message}\n`, exitCode: known };
  return { text: `${spec.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`, exitCode: 1 };
}

/**
 * Runs a script: parses the options (answering --help), installs the Ctrl-C handler when the script is
 * abortable, awaits main, and exits with main's code (0 when it returns nothing) or the error's.
 */
export async function runCli(
  spec: CliSpec,
  main: (context: CliContext) => Promise<number | void>,
  io: CliIo = processIo,
  argv?: string[],
): Promise<void> {
  const controller = new AbortController();
  const now = io.now ?? Date.now;
  let stoppedBy: { signal: StopSignal; at: number } | undefined;
  let code: number;
  try {
    const parsed = parseCli(spec, argv);
    if (parsed.help) {
      io.stdout(helpText(spec));
      return io.exit(0);
    }
    if (spec.abortable) {
      io.onInterrupt((signal = 'SIGINT') => {
        if (stoppedBy !== undefined) {
          if (now() - stoppedBy.at < REPEATED_SIGNAL_MS) return; // the first signal again (terminal and npm both send it)
          return io.exit(STOP_SIGNALS[signal]); // a second signal: what is on disk is complete anyway
        }
        stoppedBy = { signal, at: now() };
        io.stderr(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping at the end of this batch (Ctrl-C again to quit now)...\n`);
        controller.abort();
      });
    }
    code = (await main({ values: parsed.values, positionals: parsed.positionals, signal: controller.signal })) ?? 0;
    if (code === STOPPED_EXIT && stoppedBy !== undefined) code = STOP_SIGNALS[stoppedBy.signal];
  } catch (err) {
    const report = reportError(spec, err);
    io.stderr(report.text);
    code = report.exitCode;
  }
  io.exit(code);
}
