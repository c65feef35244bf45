/**
 * The epoch benchmark: one full reference epoch (25,000 training reviews, then validation on the
 * 25,000 test reviews) with this project's stack (lib/train.ts on tfjs-node), against the reference
 * Keras program (scripts/keras_reference.py, TensorFlow 2.12 CPU from PyPI) on the very same encoded
 * arrays, exported from lib/imdb.ts as .npy files (scripts/export-imdb.ts).
 *
 * Reports, per epoch and for each side: training, validation and total seconds; the ratio
 * ours / Keras; validation accuracy after the same number of epochs; the arithmetic of an epoch
 * (matrix products of the reference model, counted below) divided by its time, against the GFLOP/s
 * of one large float32 matmul through the same TensorFlow build (tfjs-node here, TF Python there).
 *
 *   node --import tsx scripts/bench-epoch.ts [--epochs 1]                    the full benchmark
 *   node --import tsx scripts/bench-epoch.ts --train-size 256 --test-size 256 --max-len 100 --epochs 1   a smoke test
 *   options: --skip-keras, --skip-ours, --matmul-n 2048, --out /tmp/BENCHMARKS-epoch.md
 *
 * The Keras side runs in .venv-keras/, created here from requirements-keras.txt (python3 -m venv +
 * pip) and re-installed only when that file changes. Both sides keep TensorFlow's default thread
 * settings. Other processes share the CPU: `uptime` is printed before and after each side.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { assertNativeBackend, matmulGflops, tensorflowVersion } from '../lib/env';
import { kerasPython } from '../lib/keras-python';
import { ROOT } from '../lib/paths';
import { loadImdb } from '../lib/imdb';
import { mean } from '../lib/stats';
import { train } from '../lib/train';
import { trainProgressPrinter, type ProgressEvent } from '../lib/train-progress';
import { resolveConfig, type TrainConfig } from '../lib/train-config';
import { positiveInteger, runCli, type CliContext, type CliSpec } from './cli';
import { exportImdb } from '../lib/imdb-export';
import { defaultArchivePath } from './export-imdb';

// ---------------------------------------------------------------------------
// Options

interface Options {
  epochs: number;
  trainSize: number;
  testSize: number;
  maxLen: number;
  skipKeras: boolean;
  skipOurs: boolean;
  matmulN: number;
  out: string;
}

const SPEC: CliSpec = {
  name: 'bench-epoch',
  summary: 'One full reference epoch with this project (tfjs-node) against the reference Keras program, on the same arrays.',
  usage:
    'node --import tsx scripts/bench-epoch.ts [--epochs 1] [--train-size N] [--test-size N] [--max-len N] [--skip-keras] [--skip-ours]',
  options: {
    epochs: { type: 'string', value: 'N', default: '1', help: 'epochs each side trains (default 1)' },
    'train-size': { type: 'string', value: 'N', default: '25000', help: 'training reviews (default 25000)' },
    'test-size': { type: 'string', value: 'N', default: '25000', help: 'validation reviews (default 25000)' },
    'max-len': { type: 'string', value: 'N', default: '500', help: 'ids per review (default 500)' },
    'skip-keras': { type: 'boolean', default: false, help: 'run only this project' },
    'skip-ours': { type: 'boolean', default: false, help: 'run only Keras' },
    'matmul-n': { type: 'string', value: 'N', default: '2048', help: 'size of the matmul measured on each side (default 2048)' },
    out: {
      type: 'string',
      value: 'FILE',
      default: path.join(os.tmpdir(), 'BENCHMARKS-epoch.md'),
      help: 'where the report is written (default <tmp>/BENCHMARKS-epoch.md)',
    },
  },
  exitCodes: { 2: 'bad options' },
};

function options(values: CliContext['values']): Options {
  const int = (name: 'epochs' | 'train-size' | 'test-size' | 'max-len' | 'matmul-n') => positiveInteger(values[name], `--${name}`);
  return {
    epochs: int('epochs'),
    trainSize: int('train-size'),
    testSize: int('test-size'),
    maxLen: int('max-len'),
    skipKeras: values['skip-keras'] === true,
    skipOurs: values['skip-ours'] === true,
    matmulN: int('matmul-n'),
    out: values.out as string,
  };
}

// ---------------------------------------------------------------------------
// The arithmetic of an epoch

/** Floating-point operations of one epoch of the reference model (a multiply-add counts 2). */
export interface EpochFlops {
  /** Forward pass of one review: T (input projection + recurrent product) + dense. */
  forwardPerReview: number;
  inputProjection: number;
  recurrent: number;
  dense: number;
  /** 3 x forward x trainSize: the backward pass costs ~2 forward passes (gradients for inputs and for weights). */
  train: number;
  /** forward x testSize (no backward pass). */
  validation: number;
  total: number;
}

/**
 * Counts the matrix products of Embedding(V, E) -> GRU(H) -> Dense(1) over reviews of T ids:
 * per review and step, x_t [E] times the input kernel [E, 3H] (2*E*3H) and h [H] times the recurrent
 * kernel [H, 3H] (2*H*3H); the dense layer 2*H once. Left out: gate element-wise work (~10H per step,
 * under 1% of 6H(E+H)), dropout, loss, the Adam update and the embedding gather (no arithmetic).
 */
export function epochFlops(c: Pick<TrainConfig, 'maxLen' | 'embeddingDim' | 'units' | 'trainSize' | 'testSize'>): EpochFlops {
  const T = c.maxLen;
  const E = c.embeddingDim;
  const H = c.units;
  const inputProjection = T * 2 * E * 3 * H;
  const recurrent = T * 2 * H * 3 * H;
  const dense = 2 * H;
  const forwardPerReview = inputProjection + recurrent + dense;
  const trainFlops = 3 * forwardPerReview * c.trainSize;
  const validation = forwardPerReview * c.testSize;
  return { forwardPerReview, inputProjection, recurrent, dense, train: trainFlops, validation, total: trainFlops + validation };
}

// ---------------------------------------------------------------------------
// Results of both sides

/** One epoch's times and metrics, the same fields for both sides. */
interface EpochResult {
  epoch: number;
  trainSeconds: number;
  valSeconds: number;
  seconds: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
}

interface SideResult {
  label: string;
  matmulGflops: number;
  epochs: EpochResult[];
  facts: Record<string, unknown>;
}

function uptime(): string {
  const out = spawnSync('uptime', { encoding: 'utf8' });
  if (out.status === 0) return out.stdout.trim();
  return `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
}

function say(message: string): void {
  process.stderr.write(`bench-epoch: ${message}\n`);
}

/**
 * Trains this project's model for config.epochs in a throw-away run directory. Training seconds come
 * from the last batch event of each epoch (examples seen / examples per second = seconds since the
 * epoch started); validation seconds are the rest of the epoch's recorded time. The checkpoint written
 * after each epoch is outside both (as Keras's fit writes none).
 */
async function runOurs(config: TrainConfig, data: Awaited<ReturnType<typeof loadImdb>>, matmulN: number): Promise<SideResult> {
  const gflops = matmulGflops(matmulN, 10);
  say(`${matmulN}x${matmulN} float32 matmul through tfjs-node: ${gflops.toFixed(1)} GFLOP/s`);
  const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-epoch-run-'));
  const trainSecondsByEpoch = new Map<number, number>();
  const printer = trainProgressPrinter({ intervalSeconds: 30 });
  const onProgress = (e: ProgressEvent) => {
    if (e.type === 'batch' && e.batch === e.batches)
      trainSecondsByEpoch.set(e.epoch, Math.min(config.trainSize, e.batches * config.batchSize) / e.examplesPerSecond);
    printer(e);
  };
  try {
    const result = await train(config, { runDir, data, onProgress });
    result.model.dispose();
    const epochs = result.history.map((r): EpochResult => {
      const trainSeconds = trainSecondsByEpoch.get(r.epoch) ?? NaN;
      return {
        epoch: r.epoch,
        trainSeconds,
        valSeconds: r.seconds - trainSeconds,
        seconds: r.seconds,
        loss: r.loss,
        accuracy: r.accuracy,
        valLoss: r.val_loss,
        valAccuracy: r.val_accuracy,
      };
    });
    return {
      label: 'this project (tfjs-node)',
      matmulGflops: gflops,
      epochs,
      facts: {
        tfjsNode: tf.version.tfjs,
        tensorflow: tensorflowVersion(),
        node: process.version,
        threads: `TensorFlow defaults (TF_NUM_INTRAOP_THREADS=${process.env.TF_NUM_INTRAOP_THREADS ?? 'unset'}, TF_NUM_INTEROP_THREADS=${process.env.TF_NUM_INTEROP_THREADS ?? 'unset'})`,
        validationBatch: config.evalBatchSize,
      },
    };
  } finally {
    await fsp.rm(runDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// The Keras side

/** The JSON that keras_reference.py writes (the fields used here). */
interface KerasJson {
  tensorflow: string;
  keras: string;
  numpy: string;
  python: string;
  cpu_model: string;
  cpu_count: number;
  threading: Record<string, unknown>;
  matmul?: { gflops: number };
  gru: { path: string; implementation: number; reset_after: boolean; could_use_fused_kernel: boolean };
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

function runKeras(exportDir: string, config: TrainConfig, matmulN: number): SideResult {
  const python = kerasPython('keras2'); // .venv-keras (TensorFlow 2.12), created on first use by scripts/keras-env.sh
  const out = path.join(os.tmpdir(), `bench-epoch-keras-${process.pid}.json`);
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
  const args = [
    path.join(ROOT, 'scripts', 'keras_reference.py'),
    '--data',
    exportDir,
    '--epochs',
    String(config.epochs),
    '--batch-size',
    String(config.batchSize),
    '--seed',
    String(config.seed),
    '--matmul-n',
    String(matmulN),
    '--out',
    out,
  ];
  const r = spawnSync(python, args, { stdio: 'inherit', cwd: ROOT, env });
  if (r.status !== 0) throw new Error(`the Keras program failed (exit ${r.status ?? r.signal})`);
  const k = JSON.parse(fs.readFileSync(out, 'utf8')) as KerasJson;
  fs.rmSync(out, { force: true });
  return {
    label: `Keras ${k.keras} (TF ${k.tensorflow} Python)`,
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
    facts: {
      python: k.python,
      numpy: k.numpy,
      threads: `TensorFlow defaults (${JSON.stringify(k.threading)})`,
      cpus: k.cpu_count,
      gru: `${k.gru.path}; implementation=${k.gru.implementation}, reset_after=${k.gru.reset_after}`,
      validationBatch: config.batchSize,
    },
  };
}

// ---------------------------------------------------------------------------
// The report

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

function flopsSection(c: TrainConfig, f: EpochFlops): string[] {
  const g = (x: number) => `${(x / 1e9).toLocaleString('en-US', { maximumFractionDigits: 1 })} GFLOP`;
  return [
    `FLOP per epoch (multiply-add = 2; T = maxLen = ${c.maxLen}, E = ${c.embeddingDim}, H = ${c.units}, N_train = ${c.trainSize}, N_val = ${c.testSize}):`,
    '',
    `- forward, one review: T(2·E·3H + 2·H·3H) + 2H = ${c.maxLen}·(${2 * c.embeddingDim * 3 * c.units} + ${2 * c.units * 3 * c.units}) + ${2 * c.units} = ${f.forwardPerReview.toLocaleString('en-US')} FLOP` +
      ` (input projection ${f.inputProjection.toLocaleString('en-US')}, recurrent ${f.recurrent.toLocaleString('en-US')}, dense ${f.dense})`,
    `- training: 3 · forward · N_train (backward ≈ 2 × forward) = ${g(f.train)}`,
    `- validation: forward · N_val = ${g(f.validation)}`,
    `- epoch: ${g(f.total)}`,
    '- not counted: gate element-wise work (~10H per step, <1%), dropout, loss, Adam update, embedding gather',
  ];
}

function report(config: TrainConfig, flops: EpochFlops, sides: SideResult[], loads: string[], cpuModel: string, matmulN: number): string {
  const lines: string[] = [];
  const n = config.epochs;
  lines.push(
    `## Epoch benchmark: ${config.trainSize.toLocaleString('en-US')} training reviews + validation on ${config.testSize.toLocaleString('en-US')}, maxLen ${config.maxLen}, batch ${config.batchSize}, ${n} epoch(s)`,
    '',
  );
  lines.push(`Machine: ${cpuModel}, ${os.cpus().length} logical CPUs; ${new Date().toISOString()}`, '');

  lines.push(
    `| epoch | side | train s | validation s | total s | loss | acc | val_loss | val_acc |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (let e = 0; e < n; e++) {
    for (const s of sides) {
      const r = s.epochs[e];
      if (r)
        lines.push(
          `| ${r.epoch} | ${s.label} | ${fmt(r.trainSeconds)} | ${fmt(r.valSeconds)} | ${fmt(r.seconds)} | ${fmt(r.loss, 4)} | ${fmt(r.accuracy, 4)} | ${fmt(r.valLoss, 4)} | ${fmt(r.valAccuracy, 4)} |`,
        );
    }
  }
  lines.push('');

  // Summary: mean seconds over the epochs run, accuracy after the last one.
  const summary = sides.map((s) => {
    const train = mean(s.epochs.map((r) => r.trainSeconds));
    const val = mean(s.epochs.map((r) => r.valSeconds));
    const total = mean(s.epochs.map((r) => r.seconds));
    const last = s.epochs[s.epochs.length - 1];
    return {
      train,
      val,
      total,
      valAcc: last?.valAccuracy ?? NaN,
      gTrain: flops.train / train / 1e9,
      gVal: flops.validation / val / 1e9,
      gTotal: flops.total / total / 1e9,
      matmul: s.matmulGflops,
    };
  });
  const both = sides.length === 2;
  const header = `| per epoch (mean of ${n}) | ${sides.map((s) => s.label).join(' | ')} |${both ? ' ours / Keras |' : ''}`;
  lines.push(header, `| --- |${sides.map(() => ' ---: |').join('')}${both ? ' ---: |' : ''}`);
  const row = (
    name: string,
    pick: (x: (typeof summary)[number]) => number,
    digits: number,
    compare: 'ratio' | 'points' | 'none' = 'ratio',
    unit = '',
  ) => {
    const cells = summary.map((x) => `${fmt(pick(x), digits)}${unit}`);
    let extra = '';
    if (both && compare === 'ratio') extra = ` ${fmt(pick(summary[0]) / pick(summary[1]), 2)}× |`;
    if (both && compare === 'points') extra = ` ${fmt((pick(summary[0]) - pick(summary[1])) * 100, 1)} points |`;
    if (both && compare === 'none') extra = ' |';
    lines.push(`| ${name} | ${cells.join(' | ')} |${extra}`);
  };
  row('training seconds', (x) => x.train, 1);
  row('validation seconds', (x) => x.val, 1);
  row('epoch seconds', (x) => x.total, 1);
  row(`val_accuracy after ${n} epoch(s)`, (x) => x.valAcc, 4, 'points');
  row('achieved GFLOP/s, training', (x) => x.gTrain, 1);
  row('achieved GFLOP/s, validation', (x) => x.gVal, 1);
  row('achieved GFLOP/s, epoch', (x) => x.gTotal, 1);
  row(`${matmulN}×${matmulN} float32 matmul GFLOP/s (same TF build)`, (x) => x.matmul, 1);
  row('utilisation, training', (x) => (100 * x.gTrain) / x.matmul, 1, 'none', ' %');
  row('utilisation, validation', (x) => (100 * x.gVal) / x.matmul, 1, 'none', ' %');
  row('utilisation, epoch', (x) => (100 * x.gTotal) / x.matmul, 1, 'none', ' %');
  lines.push('');
  lines.push(...flopsSection(config, flops), '');
  lines.push('Setup of each side:', '');
  for (const s of sides)
    lines.push(
      `- ${s.label}: ${Object.entries(s.facts)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join('; ')}`,
    );
  lines.push(
    "- Epoch 1 includes each side's warm-up (graph building / tf.function tracing); the checkpoint this project writes after each epoch is not timed.",
  );
  lines.push('', 'Load (`uptime`):', '', ...loads.map((l) => `- ${l}`), '');
  return lines.join('\n');
}

function cpuModelName(): string {
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

// ---------------------------------------------------------------------------

async function main({ values }: CliContext): Promise<void> {
  assertNativeBackend();
  const o = options(values);
  const config = resolveConfig({
    profile: 'full',
    env: {},
    overrides: { epochs: o.epochs, trainSize: o.trainSize, testSize: o.testSize, maxLen: o.maxLen },
  });
  const flops = epochFlops(config);
  say(
    `config: ${config.trainSize} train / ${config.testSize} validation reviews, maxLen ${config.maxLen}, batch ${config.batchSize}, ${config.epochs} epoch(s)`,
  );

  const data = (
    await loadImdb({ numWords: config.numWords, maxLen: config.maxLen, seed: config.dataSeed, archivePath: defaultArchivePath() })
  ).subset(config.trainSize, config.testSize);
  const exported = await exportImdb(data);
  say(`${exported.written ? 'exported' : 'using the export in'} ${exported.dir}`);

  const loads: string[] = [];
  const sides: SideResult[] = [];
  if (!o.skipOurs) {
    loads.push(`before this project's run: ${uptime()}`);
    sides.push(await runOurs(config, data, o.matmulN));
    loads.push(`after this project's run: ${uptime()}`);
  }
  if (!o.skipKeras) {
    loads.push(`before the Keras run: ${uptime()}`);
    sides.push(runKeras(exported.dir, config, o.matmulN));
    loads.push(`after the Keras run: ${uptime()}`);
  }
  const text = report(config, flops, sides, loads, cpuModelName(), o.matmulN);
  process.stdout.write(`\n${text}\n`);
  await fsp.writeFile(o.out, `${text}\n`);
  say(`wrote ${o.out}`);
}

if (require.main === module) runCli(SPEC, main);
