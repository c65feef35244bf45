/**
 * Keras in Python, from TypeScript: the two project-local environments and scripts/keras_models.py.
 *
 *   keras2   .venv-keras    TensorFlow 2.12's Keras 2.12 (requirements-keras.txt, also the epoch benchmark's)
 *   keras3   .venv-keras3   Keras 3 on the JAX backend, CPU (requirements-keras3.txt)
 *
 * `kerasPython` creates an environment the first time (scripts/keras-env.sh: python3 -m venv + pip, stamped
 * with its requirements' SHA-256, so later calls return at once) and returns its interpreter. `runKerasModels`
 * runs a command of the script with a limit computed from its work (lib/keras/limits.ts) and streams a
 * training's progress into the cell.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describeLimit, runChild, type ChildLimit } from '../util/child';
import { ROOT } from '../util/paths';
import { liveTextLine } from '../view/display';
import { trainProgressPrinter, type ProgressEvent } from '../training/train-progress';
import { commandLimit } from './limits';

/** Which Keras. */
export type KerasEnv = 'keras2' | 'keras3';

/** Both environments, oldest first. */
export const KERAS_ENVS: readonly KerasEnv[] = ['keras2', 'keras3'];

/** The Python interpreter of a Keras environment, created first if needed (progress on stderr). */
export function kerasPython(env: KerasEnv): string {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'keras-env.sh'), env], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`scripts/keras-env.sh ${env} failed (exit ${r.status ?? r.signal}): see the pip output above`);
  return r.stdout.trim().split('\n').pop() as string;
}

/** What a scripts/keras_models.py command printed: its output lines and its final JSON line, parsed. */
export interface KerasRun<T> {
  result: T;
  /** Everything it printed on stdout before the JSON line but its progress lines (e.g. Keras's warnings). */
  log: string[];
}

/** How a scripts/keras_models.py command runs. */
export interface KerasRunOptions {
  /** The most it may run; default: computed from its work (commandLimit of lib/keras/limits.ts). Infinity: none. */
  limit?: ChildLimit;
  /**
   * The training's progress (keras_models.py's callback: a batch line every ~10 s, a line per epoch) and the
   * limit line; default: printed as the course's training prints (every line on stdout, the batch line in place
   * in a notebook).
   */
  onProgress?: (e: ProgressEvent) => void;
}

/** The prefix of keras_models.py's progress lines (a JSON ProgressEvent follows). */
export const PROGRESS_PREFIX = '@progress ';

/**
 * Runs `scripts/keras_models.py <args>` in a Keras environment and waits for it without blocking: its progress
 * is shown while it runs; it stops at its limit (computed from its work unless given) or when this process gets
 * SIGINT or SIGTERM, and the error says which; a failure throws with the script's stderr.
 */
export async function runKerasModels<T = Record<string, unknown>>(
  env: KerasEnv,
  args: readonly string[],
  options: KerasRunOptions = {},
): Promise<KerasRun<T>> {
  const python = kerasPython(env);
  const name = `keras_models.py ${args[0]} (${env})`;
  const limit = options.limit ?? commandLimit(args);
  const onProgress = options.onProgress ?? defaultPrinter();
  if (args[0] === 'train') onProgress({ type: 'info', message: `${name}: limit ${describeLimit(limit)}` });
  const log: string[] = [];
  const lines = await runChild(python, [path.join(ROOT, 'scripts', 'keras_models.py'), ...args], {
    name: name,
    limit: limit,
    cwd: ROOT,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', KERAS_BACKEND: 'jax', PYTHONUNBUFFERED: '1' },
    onLine: (line) => {
      if (line.startsWith(PROGRESS_PREFIX)) onProgress(parseProgress(line.slice(PROGRESS_PREFIX.length)));
    },
  });
  const output = lines.filter((line) => line.trim() !== '');
  for (const line of output.slice(0, -1)) if (!line.startsWith(PROGRESS_PREFIX)) log.push(line);
  const last = output[output.length - 1];
  if (last === undefined) throw new Error(`${name} printed no result line`);
  return { result: JSON.parse(last) as T, log: log };
}

/** A progress event as keras_models.py prints it (a metric Keras did not report is NaN, which JSON spells null). */
export function parseProgress(json: string): ProgressEvent {
  return JSON.parse(json.replace(/\bNaN\b/g, 'null'), (_key, value: unknown) => (value === null ? NaN : value)) as ProgressEvent;
}

/** The course's training printer: lines on stdout; in a tslab notebook the batch line updated in place. */
function defaultPrinter(): (e: ProgressEvent) => void {
  return trainProgressPrinter({ write: (line) => console.log(line), statusWrite: liveTextLine() ?? undefined, intervalSeconds: 0 });
}
