/**
 * The environment the course runs in: versions, the run profile, and proof that
 * TensorFlow runs natively (the pure-JS backend is ~100x too slow for a GRU on IMDB).
 */
import * as tf from '@tensorflow/tfjs-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './paths';
import { median } from './stats';

/** Sizes to run at: `full` is the reference configuration, `ci` is small and fast. */
export type Profile = 'full' | 'ci';

/** Every profile, the reference first. */
export const PROFILE_NAMES: readonly Profile[] = ['full', 'ci'];

/** Whether a value names a profile. */
export function isProfile(value: unknown): value is Profile {
  return (PROFILE_NAMES as readonly unknown[]).includes(value);
}

/** Reads a profile name; `source` (GRU_PROFILE, --profile) names where it came from in the error. */
export function parseProfile(text: string, source: string): Profile {
  const value = text.trim();
  if (isProfile(value)) return value;
  throw new Error(`${source}=${JSON.stringify(text)} is not a profile: use "full" (the reference run) or "ci" (small and fast)`);
}

/** The active profile, from GRU_PROFILE (default `full`); a typo is an error, not a silent default. */
export function currentProfile(env: NodeJS.ProcessEnv = process.env): Profile {
  return parseProfile(env.GRU_PROFILE ?? 'full', 'GRU_PROFILE');
}

/** The TensorFlow C library behind tfjs-node, e.g. "2.12.0". */
export function tensorflowVersion(): string {
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string } };
  return backend.binding?.TF_Version ?? 'none (not the native backend)';
}

/** Throw unless tfjs runs on native TensorFlow. */
export function assertNativeBackend(): void {
  if (tf.getBackend() !== 'tensorflow') {
    throw new Error(
      `tfjs backend is "${tf.getBackend()}", not the native "tensorflow": ` +
        'run `npm run setup` (it builds @tensorflow/tfjs-node against libtensorflow)',
    );
  }
}

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`, { paths: [ROOT] });
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Where the native library came from, as recorded by scripts/setup-tensorflow.ts. */
export function tensorflowSource(): string {
  const stamp = path.join(path.dirname(require.resolve('@tensorflow/tfjs-node/package.json', { paths: [ROOT] })), 'deps', 'SOURCE');
  return fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : 'official libtensorflow download';
}

/** Versions and machine facts worth printing at the top of a run. */
export function environmentReport(): Record<string, string | number> {
  return {
    node: process.version,
    profile: currentProfile(),
    tfjsBackend: tf.getBackend(),
    tfjs: tf.version.tfjs,
    tfjsNode: packageVersion('@tensorflow/tfjs-node'),
    libtensorflow: tensorflowVersion(),
    libtensorflowSource: tensorflowSource(),
    tslab: packageVersion('tslab'),
    nodejsPolars: packageVersion('nodejs-polars'),
    plotlyJs: packageVersion('plotly.js-dist-min'),
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** Measured GFLOP/s of an n x n float32 matmul (median of `reps` timed runs, after a warm-up). */
export function matmulGflops(n = 1024, reps = 10): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = (): number => {
    const t0 = process.hrtime.bigint();
    const c = tf.matMul(a, b);
    c.dataSync(); // wait for the result: tfjs-node ops run eagerly, reading forces completion
    c.dispose();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  once();
  const times = Array.from({ length: reps }, once);
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / median(times) / 1e9;
}
