/**
 * Keras in Python, from TypeScript: the two project-local environments and scripts/keras_models.py.
 *
 *   keras2   .venv-keras    TensorFlow 2.12's Keras 2.12 (requirements-keras.txt, also the epoch benchmark's)
 *   keras3   .venv-keras3   Keras 3 on the JAX backend, CPU (requirements-keras3.txt)
 *
 * `kerasPython` creates an environment the first time (scripts/keras-env.sh: python3 -m venv + pip, stamped
 * with its requirements' SHA-256, so later calls return at once) and returns its interpreter.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../util/paths';

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
  /** Everything it printed on stdout before the JSON line (e.g. Keras's epoch lines). */
  log: string[];
}

/** Runs `scripts/keras_models.py <args>` in a Keras environment; throws with its stderr when it fails. */
export function runKerasModels<T = Record<string, unknown>>(
  env: KerasEnv,
  args: readonly string[],
  options: { timeoutSeconds?: number } = {},
): KerasRun<T> {
  const python = kerasPython(env);
  const r = spawnSync(python, [path.join(ROOT, 'scripts', 'keras_models.py'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', KERAS_BACKEND: 'jax' },
    timeout: (options.timeoutSeconds ?? 900) * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(
      `keras_models.py ${args[0]} (${env}) failed (exit ${r.status ?? r.signal}):\n${(r.stderr ?? '').split('\n').slice(-25).join('\n')}`,
    );
  }
  const lines = r.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]) as T, log: lines.slice(0, -1) };
}
