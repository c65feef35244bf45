/**
 * The epoch benchmark's two sides, run (scripts/bench-epoch.ts; the plan: lib/experiments/epoch-plan.ts):
 *
 *   course   the cell in the course's own layer (COURSE_KINDS of lib/cells/layer-kinds.ts) through
 *            lib/training/train.ts on tfjs-node, in a throw-away run directory, reference settings;
 *   keras    scripts/keras_reference.py in .venv-keras (Keras 2.12, TensorFlow 2.12 CPU), one fresh Python process
 *            per run on the arrays exported from lib/data/imdb.ts (lib/data/export.ts), seeded as the course run;
 *            its JSON says which code path Keras took and why.
 *
 * Each run also measures one large float32 matmul through its own TensorFlow build, and the machine's load
 * (`uptime`) is noted before and after every run. The runs become the committed record (benchmarkRecord,
 * lib/experiments/epoch-benchmark.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { matmulGflops, tensorflowVersion } from '../util/env';
import { ROOT } from '../util/paths';
import type { Cell } from '../cells/layer-kinds';
import type { ImdbData } from '../data/imdb';
import { train } from '../training/train';
import { labelledProgressPrinter, type ProgressEvent } from '../training/train-progress';
import type { TrainConfig } from '../training/config';
import type { EpochBenchmarkRecord } from './epoch-benchmark';
import { rLabel, type EpochResult, type RunSpec } from './epoch-plan';

/** Which code path Keras took (Keras runs only). */
export interface KerasPath {
  kind: 'fused' | 'generic';
  /** 'standard_gru', 'standard_lstm' or 'keras.backend.rnn'. */
  function: string;
  /** The path and why, in words. */
  text: string;
  /** Fused functions found in the traced training step (null: could not be read). */
  traced: string[] | null;
}

/** One finished run: its plan, what ran, its parameters, its matmul speed, its epochs and how it was set up. */
export interface RunResult extends RunSpec {
  label: string;
  params: number;
  matmulGflops: number;
  epochs: EpochResult[];
  facts: Record<string, unknown>;
  path?: KerasPath;
}

/** How scripts/keras_reference.py --cell spells each cell (Keras's module names). */
export const KERAS_REFERENCE_CELL: Readonly<Record<Cell, string>> = { gru: 'gru', lstm: 'lstm', simpleRnn: 'simple_rnn' };

/** The JSON that keras_reference.py writes (the fields used here); its cells are spelled as KERAS_REFERENCE_CELL. */
export interface KerasJson {
  tensorflow: string;
  keras: string;
  numpy: string;
  python: string;
  cpu_model: string;
  cpu_count: number;
  threading: Record<string, unknown>;
  matmul?: { gflops: number };
  config: { cell: string; dropout: number; recurrent_dropout: number; epochs: number; max_len: number; num_words: number };
  /** model.count_params(). */
  params: number;
  rnn: {
    cell: string;
    layer_class: string;
    params: number;
    dropout: number;
    recurrent_dropout: number;
    implementation: number | null;
    could_use_fused_kernel: boolean;
    path_kind: 'fused' | 'generic';
    function: string;
    path: string;
    traced_functions: string[] | null;
    reset_after?: boolean;
    unit_forget_bias?: boolean;
  };
  epochs: Array<{
    epoch: number;
    train_seconds: number;
    val_seconds: number;
    seconds: number;
    loss: number;
    accuracy: number;
    val_loss: number;
    val_accuracy: number;
  }>;
}

/** The arguments of one keras_reference.py run (after the script's path). */
export function kerasArgs(
  spec: Pick<RunSpec, 'cell' | 'recurrentDropout'>,
  exportDir: string,
  config: Pick<TrainConfig, 'dropout' | 'epochs' | 'batchSize' | 'seed'>,
  matmulN: number,
  out: string,
): string[] {
  const args: Record<string, string> = {
    data: exportDir,
    cell: KERAS_REFERENCE_CELL[spec.cell],
    dropout: String(config.dropout),
    'recurrent-dropout': String(spec.recurrentDropout),
    epochs: String(config.epochs),
    'batch-size': String(config.batchSize),
    seed: String(config.seed),
    'matmul-n': String(matmulN),
    out,
  };
  return Object.entries(args).flatMap(([name, value]) => [`--${name}`, value]);
}

/** The run a keras_reference.py JSON describes: its epochs, the path Keras took, and the setup in words. */
export function kerasRunResult(spec: RunSpec, k: KerasJson, config: Pick<TrainConfig, 'batchSize'>): RunResult {
  const traced = k.rnn.traced_functions === null ? 'not readable' : k.rnn.traced_functions.join(', ') || 'none';
  const setting = (name: string, value: unknown) => (value === undefined || value === null ? '' : `, ${name}=${String(value)}`);
  return {
    ...spec,
    label: `Keras ${k.keras} ${spec.cell} ${rLabel(spec.recurrentDropout)}`,
    params: k.params,
    matmulGflops: k.matmul?.gflops ?? NaN,
    epochs: k.epochs.map((e) => ({
      epoch: e.epoch,
      trainSeconds: e.train_seconds,
      valSeconds: e.val_seconds,
      seconds: e.seconds,
      loss: e.loss,
      accuracy: e.accuracy,
      valLoss: e.val_loss,
      valAccuracy: e.val_accuracy,
    })),
    path: { kind: k.rnn.path_kind, function: k.rnn.function, text: k.rnn.path, traced: k.rnn.traced_functions },
    facts: {
      layer:
        `${k.rnn.layer_class} (dropout ${k.rnn.dropout}, recurrent dropout ${k.rnn.recurrent_dropout}` +
        `${setting('implementation', k.rnn.implementation)}${setting('reset_after', k.rnn.reset_after)}` +
        `${setting('unit_forget_bias', k.rnn.unit_forget_bias)})`,
      params: k.params.toLocaleString('en-US'),
      path: k.rnn.path,
      'fused functions in the traced training step': traced,
      tensorflow: k.tensorflow,
      python: k.python,
      numpy: k.numpy,
      threads: `TensorFlow defaults (${JSON.stringify(k.threading)})`,
      cpus: k.cpu_count,
      validationBatch: config.batchSize,
    },
  };
}

/** Runs keras_reference.py for one run (its output on this process's stdout) and reads the JSON it wrote. */
export function runKeras(python: string, spec: RunSpec, exportDir: string, config: TrainConfig, matmulN: number): RunResult {
  const out = path.join(os.tmpdir(), `bench-epoch-keras-${process.pid}-${spec.cell}-${spec.recurrentDropout}.json`);
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
  const args = [path.join(ROOT, 'scripts', 'keras_reference.py'), ...kerasArgs(spec, exportDir, config, matmulN, out)];
  const r = spawnSync(python, args, { stdio: 'inherit', cwd: ROOT, env });
  if (r.status !== 0)
    throw new Error(`the Keras program failed for ${spec.cell} ${rLabel(spec.recurrentDropout)} (exit ${r.status ?? r.signal})`);
  const k = JSON.parse(fs.readFileSync(out, 'utf8')) as KerasJson;
  fs.rmSync(out, { force: true });
  return kerasRunResult(spec, k, config);
}

/**
 * Trains the course's model with `config.rnn` for config.epochs in a throw-away run directory. Training seconds come
 * from the last batch event of each epoch (examples seen / examples per second = seconds since the epoch started);
 * validation seconds are the rest of the epoch's recorded time. The checkpoint written after each epoch is outside
 * both (as Keras's fit writes none).
 */
export async function runCourse(
  spec: RunSpec,
  config: TrainConfig,
  data: ImdbData,
  matmulN: number,
  say: (message: string) => void,
): Promise<RunResult> {
  const label = `course ${spec.cell}`;
  const gflops = matmulGflops(matmulN, 10);
  say(`${label}: ${matmulN}x${matmulN} float32 matmul through tfjs-node: ${gflops.toFixed(1)} GFLOP/s`);
  const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-epoch-run-'));
  const trainSecondsByEpoch = new Map<number, number>();
  const printer = labelledProgressPrinter({ intervalSeconds: 30, write: (line) => process.stdout.write(`${line}\n`) });
  const onProgress = (e: ProgressEvent) => {
    if (e.type === 'batch' && e.batch === e.batches)
      trainSecondsByEpoch.set(e.epoch, Math.min(config.trainSize, e.batches * config.batchSize) / e.examplesPerSecond);
    printer(label, e);
  };
  try {
    const result = await train(config, { runDir, data, onProgress });
    const params = result.model.countParams();
    result.model.dispose();
    const epochs = result.history.map((r): EpochResult => {
      const trainSeconds = trainSecondsByEpoch.get(r.epoch) ?? NaN;
      const { loss, accuracy, val_loss: valLoss, val_accuracy: valAccuracy, seconds } = r;
      return { epoch: r.epoch, trainSeconds, valSeconds: seconds - trainSeconds, seconds, loss, accuracy, valLoss, valAccuracy };
    });
    const threads = ['TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS'].map((v) => `${v}=${process.env[v] ?? 'unset'}`).join(', ');
    return {
      ...spec,
      label: `course ${spec.cell} (${config.rnn}, tfjs-node)`,
      params,
      matmulGflops: gflops,
      epochs,
      facts: {
        layer: `${config.rnn} (dropout ${config.dropout}, recurrent dropout ${config.recurrentDropout})`,
        params: params.toLocaleString('en-US'),
        tfjsNode: tf.version.tfjs,
        tensorflow: tensorflowVersion(),
        node: process.version,
        threads: `TensorFlow defaults (${threads})`,
        validationBatch: config.evalBatchSize,
      },
    };
  } finally {
    await fsp.rm(runDir, { recursive: true, force: true });
  }
}

/** The machine's load now: `uptime`, or Node's load averages where there is no such command. */
export function uptime(): string {
  const out = spawnSync('uptime', { encoding: 'utf8' });
  if (out.status === 0) return out.stdout.trim();
  return `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
}

/** The first CPU's model name. */
export function cpuModelName(): string {
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** What runEpochBenchmark needs: the plan, the base config, the data (and its export for Keras), Keras's Python. */
export interface BenchmarkInput {
  plan: readonly RunSpec[];
  config: TrainConfig;
  data: ImdbData;
  exportDir: string;
  /** The interpreter of .venv-keras (unused when the plan has no Keras run). */
  python: string;
  matmulN: number;
  say: (message: string) => void;
}

/** Runs the plan in order, noting the load before and after each run. */
export async function runEpochBenchmark(x: BenchmarkInput): Promise<{ runs: RunResult[]; loads: string[] }> {
  const loads: string[] = [];
  const runs: RunResult[] = [];
  const note = (text: string) => {
    loads.push(text);
    x.say(text);
  };
  for (const [i, spec] of x.plan.entries()) {
    const name = `${spec.side} ${spec.cell} ${rLabel(spec.recurrentDropout)}`;
    x.say(`run ${i + 1}/${x.plan.length}: ${name}`);
    note(`before ${name}: ${uptime()}`);
    if (spec.side === 'course') {
      if (spec.kind === undefined) throw new Error(`epoch benchmark: the course run of ${spec.cell} names no layer`);
      runs.push(await runCourse(spec, { ...x.config, rnn: spec.kind }, x.data, x.matmulN, x.say));
    } else runs.push(runKeras(x.python, spec, x.exportDir, x.config, x.matmulN));
    note(`after ${name}: ${uptime()}`);
  }
  return { runs, loads };
}

/** The record the benchmark commits (data/benchmarks/epoch-cells.json): how it was made, and each run's epochs. */
export function benchmarkRecord(
  runs: readonly RunResult[],
  loads: readonly string[],
  config: TrainConfig,
  made: { command: string; commit: string; measuredAt: string; cpuModel: string; matmulN: number },
): EpochBenchmarkRecord {
  return {
    ...made,
    config: {
      trainSize: config.trainSize,
      testSize: config.testSize,
      maxLen: config.maxLen,
      batchSize: config.batchSize,
      epochs: config.epochs,
    },
    loads: [...loads],
    runs: runs.map((r) => ({
      cell: r.cell,
      side: r.side,
      recurrentDropout: r.recurrentDropout,
      label: r.label,
      params: r.params,
      matmulGflops: r.matmulGflops,
      path: r.path ? r.path.text : null,
      facts: Object.fromEntries(Object.entries(r.facts).map(([k, v]) => [k, typeof v === 'number' ? v : String(v)])),
      epochs: r.epochs.map((e) => ({
        epoch: e.epoch,
        trainSeconds: e.trainSeconds,
        valSeconds: e.valSeconds,
        seconds: e.seconds,
        loss: e.loss,
        accuracy: e.accuracy,
        valLoss: e.valLoss,
        valAccuracy: e.valAccuracy,
      })),
    })),
  };
}
