/**
 * The epoch benchmark: full reference epochs (25,000 training reviews, then validation on the 25,000 test
 * reviews, maxLen 500, batch 32) of Embedding(10000, 128) -> {GRU|LSTM|SimpleRNN}(128) -> Dense(1, sigmoid),
 * for each cell of --cells (default gru,lstm,simple_rnn), on both sides, on the very same encoded arrays
 * (exported from lib/data/imdb.ts as .npy files, scripts/export-imdb.ts):
 *
 *   course   the cell in the course's own layers (COURSE_LAYER below: cell -> lib/cells/layer-kinds.ts RnnKind),
 *            through lib/training/train.ts on tfjs-node, reference settings (dropout 0.2, recurrent dropout 0.2).
 *   Keras    scripts/keras_reference.py (Keras 2.12, TensorFlow 2.12 CPU from PyPI, .venv-keras), the same model
 *            with dropout 0.2 and each recurrent dropout R of --recurrent-dropout (default 0.2,0), one fresh
 *            Python process per run, seeded as the course run. With R = 0 Keras's GRU and LSTM may take their
 *            fused path (on a CPU the tf.function 'standard_gru' / 'standard_lstm'); the report says which path
 *            each Keras model took and why (SimpleRNN has no fused path).
 *
 * The runs interleave the sides per cell (course gru, Keras gru R=0.2, Keras gru R=0, course lstm, ...) so that a
 * change in the machine's load does not hit one side only; `uptime` is printed before and after each run.
 *
 * Reports, per epoch and run: training, validation and total seconds, loss and accuracy; per cell the
 * seconds per epoch of each run with the ratios course / Keras and Keras's path; the per-epoch time
 * ratios GRU / LSTM and SimpleRNN / LSTM on each side next to the arithmetic ratios (multiply-adds per
 * step, lib/cells/layer-kinds.ts multiplyAddsPerStep); and each run's achieved GFLOP/s (the matrix
 * products of an epoch, counted below, divided by its time) against one large float32 matmul through
 * the same TensorFlow build (tfjs-node here, TF Python there).
 *
 *   node --import tsx scripts/bench-epoch.ts [--epochs 1]                    the full benchmark (3 cells, 2 Keras runs each)
 *   node --import tsx scripts/bench-epoch.ts --train-size 256 --test-size 256 --max-len 60 --epochs 1   a smoke test
 *   options: --cells gru,lstm,simple_rnn, --recurrent-dropout 0.2,0, --skip-keras, --skip-ours, --matmul-n 2048,
 *            --out /tmp/BENCHMARKS-epoch.md
 *
 * The Keras side runs in .venv-keras/, created here from requirements-keras.txt (scripts/keras-env.sh:
 * python3 -m venv + pip) and re-installed only when that file changes. Both sides keep TensorFlow's
 * default thread settings. Progress (every epoch of every run) goes to stdout.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { assertNativeBackend, matmulGflops, tensorflowVersion } from '../lib/util/env';
import { kerasPython } from '../lib/keras/python';
import { ROOT } from '../lib/util/paths';
import { loadImdb } from '../lib/data/imdb';
import { mean } from '../lib/util/stats';
import { train } from '../lib/training/train';
import { labelledProgressPrinter, type ProgressEvent } from '../lib/training/train-progress';
import { resolveConfig, type TrainConfig } from '../lib/training/config';
import { RECURRENT_LAYERS, multiplyAddsPerStep, paramCount, type RecurrentLayerShape, type RnnKind } from '../lib/cells/layer-kinds';
import { fail, positiveInteger, runCli, type CliContext, type CliSpec } from './cli';
import { exportImdb } from '../lib/data/export';
import { defaultArchivePath } from './export-imdb';
import type { BenchCell, EpochBenchmarkRecord } from '../lib/experiments/epoch-benchmark';

// ---------------------------------------------------------------------------
// The cells

// A cell (BenchCell, lib/experiments/epoch-benchmark.ts) is spelled as scripts/keras_reference.py --cell spells it.

/** Every cell, in the order the benchmark runs them. */
export const BENCH_CELLS: readonly BenchCell[] = ['gru', 'lstm', 'simple_rnn'];

/** Keras's class name of each cell (the `cell` of lib/cells/layer-kinds.ts RecurrentLayerShape). */
export const CELL_CLASS: Readonly<Record<BenchCell, RecurrentLayerShape['cell']>> = { gru: 'GRU', lstm: 'LSTM', simple_rnn: 'SimpleRNN' };

/** The course's own layer of each cell (an RnnKind of lib/cells/layer-kinds.ts), trained by the course side. */
export const COURSE_LAYER: Readonly<Record<BenchCell, RnnKind>> = {
  gru: 'kerasGru',
  lstm: 'kerasLstm',
  simple_rnn: 'kerasSimpleRnn',
};

/** The kind whose equations give the cell's arithmetic: the course layer. */
export function arithmeticKind(cell: BenchCell): RnnKind {
  return COURSE_LAYER[cell];
}

// ---------------------------------------------------------------------------
// Options

interface Options {
  epochs: number;
  trainSize: number;
  testSize: number;
  maxLen: number;
  cells: BenchCell[];
  recurrentDropouts: number[];
  skipKeras: boolean;
  skipOurs: boolean;
  matmulN: number;
  out: string;
  json?: string;
}

const SPEC: CliSpec = {
  name: 'bench-epoch',
  summary:
    'Full reference epochs of the GRU, LSTM and SimpleRNN models: the course layers (tfjs-node) against Keras 2.12 with and without recurrent dropout, on the same arrays.',
  usage:
    'node --import tsx scripts/bench-epoch.ts [--epochs 1] [--cells gru,lstm,simple_rnn] [--recurrent-dropout 0.2,0] [--train-size N] [--test-size N] [--max-len N] [--skip-keras] [--skip-ours]',
  options: {
    epochs: { type: 'string', value: 'N', default: '1', help: 'epochs each run trains (default 1)' },
    cells: {
      type: 'string',
      value: 'LIST',
      default: BENCH_CELLS.join(','),
      help: `comma-separated cells among ${BENCH_CELLS.join(', ')} (default all three)`,
    },
    'recurrent-dropout': {
      type: 'string',
      value: 'LIST',
      default: '0.2,0',
      help: "Keras runs' recurrent dropouts, comma-separated, each in [0, 1) (default 0.2,0; the course layers always use the reference 0.2)",
    },
    'train-size': { type: 'string', value: 'N', default: '25000', help: 'training reviews (default 25000)' },
    'test-size': { type: 'string', value: 'N', default: '25000', help: 'validation reviews (default 25000)' },
    'max-len': { type: 'string', value: 'N', default: '500', help: 'ids per review (default 500)' },
    'skip-keras': { type: 'boolean', default: false, help: 'run only the course layers' },
    'skip-ours': { type: 'boolean', default: false, help: 'run only Keras' },
    'matmul-n': { type: 'string', value: 'N', default: '2048', help: 'size of the matmul measured in each run (default 2048)' },
    json: {
      type: 'string',
      value: 'FILE',
      help: 'also write the runs as JSON (lib/experiments/epoch-benchmark.ts; notebook 05 reads data/benchmarks/epoch-cells.json)',
    },
    out: {
      type: 'string',
      value: 'FILE',
      default: path.join(os.tmpdir(), 'BENCHMARKS-epoch.md'),
      help: 'where the report is written (default <tmp>/BENCHMARKS-epoch.md)',
    },
  },
  exitCodes: { 2: 'bad options' },
};

/** Reads --cells: known cells, comma-separated, each once (order kept). */
export function parseCells(text: string): BenchCell[] {
  const items = text.split(',').map((c) => c.trim());
  const bad = items.filter((c) => !(BENCH_CELLS as readonly string[]).includes(c));
  if (bad.length > 0 || items.length === 0)
    fail(
      `--cells ${JSON.stringify(text)}: ${bad.map((b) => JSON.stringify(b)).join(', ')} not a cell: use a comma-separated list of ${BENCH_CELLS.join(', ')}`,
    );
  return [...new Set(items as BenchCell[])];
}

/** Reads --recurrent-dropout: decimal numbers in [0, 1), comma-separated, each once (order kept). */
export function parseRecurrentDropouts(text: string): number[] {
  const values = text.split(',').map((item) => {
    const t = item.trim();
    const r = /^\d*\.?\d+$/.test(t) ? Number(t) : NaN;
    if (!(r >= 0 && r < 1))
      fail(`--recurrent-dropout ${JSON.stringify(text)}: ${JSON.stringify(t)} is not a number in [0, 1): write e.g. 0.2,0`);
    return r;
  });
  return [...new Set(values)];
}

function options(values: CliContext['values']): Options {
  const int = (name: 'epochs' | 'train-size' | 'test-size' | 'max-len' | 'matmul-n') => positiveInteger(values[name], `--${name}`);
  const o: Options = {
    epochs: int('epochs'),
    trainSize: int('train-size'),
    testSize: int('test-size'),
    maxLen: int('max-len'),
    cells: parseCells(values.cells as string),
    recurrentDropouts: parseRecurrentDropouts(values['recurrent-dropout'] as string),
    skipKeras: values['skip-keras'] === true,
    skipOurs: values['skip-ours'] === true,
    matmulN: int('matmul-n'),
    out: values.out as string,
    json: values.json as string | undefined,
  };
  if (o.skipKeras && o.skipOurs) fail('--skip-keras and --skip-ours together leave nothing to run: give at most one');
  return o;
}

// ---------------------------------------------------------------------------
// The runs, in order

/** One run of the benchmark: a cell on one side, with its recurrent dropout. */
export interface RunSpec {
  cell: BenchCell;
  side: 'course' | 'keras';
  recurrentDropout: number;
  /** The course layer (side 'course' only). */
  kind?: RnnKind;
}

/** The runs in the order they run, interleaving the sides per cell (course gru, Keras gru R=0.2, Keras gru R=0, course lstm, ...). */
export function planRuns(
  o: Pick<Options, 'cells' | 'recurrentDropouts' | 'skipKeras' | 'skipOurs'>,
  courseRecurrentDropout: number,
): RunSpec[] {
  const runs: RunSpec[] = [];
  for (const cell of o.cells) {
    if (!o.skipOurs) runs.push({ cell, side: 'course', recurrentDropout: courseRecurrentDropout, kind: COURSE_LAYER[cell] });
    if (!o.skipKeras) for (const r of o.recurrentDropouts) runs.push({ cell, side: 'keras', recurrentDropout: r });
  }
  return runs;
}

// ---------------------------------------------------------------------------
// The arithmetic of an epoch

/** Floating-point operations of one epoch of the reference model with one recurrent layer (a multiply-add counts 2). */
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
 * Counts the matrix products of Embedding(V, E) -> RNN(H) -> Dense(1) over reviews of T ids, for a recurrent layer
 * of b kernel blocks (lib/cells/layer-kinds.ts: GRU 3, LSTM 4, SimpleRNN 1): per review and step, x_t [E] times the
 * input kernel [E, bH] (2*E*bH) and h [H] times the recurrent kernel [H, bH] (2*H*bH), together 2 x
 * multiplyAddsPerStep; the dense layer 2*H once. Left out: element-wise work (a few operations per unit and block
 * and step, under 1% of 2bH(E+H)), dropout, loss, the Adam update and the embedding gather (no arithmetic).
 */
export function epochFlops(
  c: Pick<TrainConfig, 'maxLen' | 'embeddingDim' | 'units' | 'trainSize' | 'testSize'>,
  kind: RnnKind = 'kerasGru',
): EpochFlops {
  const T = c.maxLen;
  const E = c.embeddingDim;
  const H = c.units;
  const b = RECURRENT_LAYERS[kind].blocks;
  const inputProjection = T * 2 * E * b * H;
  const recurrent = T * 2 * H * b * H;
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

/** Which code path Keras took (Keras runs only). */
interface KerasPath {
  kind: 'fused' | 'generic';
  /** 'standard_gru', 'standard_lstm' or 'keras.backend.rnn'. */
  function: string;
  /** The path and why, in words. */
  text: string;
  /** Fused functions found in the traced training step (null: could not be read). */
  traced: string[] | null;
}

interface RunResult extends RunSpec {
  label: string;
  params: number;
  matmulGflops: number;
  epochs: EpochResult[];
  facts: Record<string, unknown>;
  path?: KerasPath;
}

function uptime(): string {
  const out = spawnSync('uptime', { encoding: 'utf8' });
  if (out.status === 0) return out.stdout.trim();
  return `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
}

/** Progress on stdout. */
function say(message: string): void {
  process.stdout.write(`bench-epoch: ${message}\n`);
}

const rLabel = (r: number) => `R=${r}`;

/**
 * Trains the course's model with `spec.kind` for config.epochs in a throw-away run directory. Training seconds come
 * from the last batch event of each epoch (examples seen / examples per second = seconds since the epoch started);
 * validation seconds are the rest of the epoch's recorded time. The checkpoint written after each epoch is outside
 * both (as Keras's fit writes none).
 */
async function runCourse(
  spec: RunSpec,
  config: TrainConfig,
  data: Awaited<ReturnType<typeof loadImdb>>,
  matmulN: number,
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
export interface KerasJson {
  tensorflow: string;
  keras: string;
  numpy: string;
  python: string;
  cpu_model: string;
  cpu_count: number;
  threading: Record<string, unknown>;
  matmul?: { gflops: number };
  config: { cell: BenchCell; dropout: number; recurrent_dropout: number; epochs: number; max_len: number; num_words: number };
  /** model.count_params(). */
  params: number;
  rnn: {
    cell: BenchCell;
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
  config: TrainConfig,
  matmulN: number,
  out: string,
): string[] {
  return [
    '--data',
    exportDir,
    '--cell',
    spec.cell,
    '--dropout',
    String(config.dropout),
    '--recurrent-dropout',
    String(spec.recurrentDropout),
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
}

function runKeras(python: string, spec: RunSpec, exportDir: string, config: TrainConfig, matmulN: number): RunResult {
  const out = path.join(os.tmpdir(), `bench-epoch-keras-${process.pid}-${spec.cell}-${spec.recurrentDropout}.json`);
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
  const args = [path.join(ROOT, 'scripts', 'keras_reference.py'), ...kerasArgs(spec, exportDir, config, matmulN, out)];
  const r = spawnSync(python, args, { stdio: 'inherit', cwd: ROOT, env });
  if (r.status !== 0)
    throw new Error(`the Keras program failed for ${spec.cell} ${rLabel(spec.recurrentDropout)} (exit ${r.status ?? r.signal})`);
  const k = JSON.parse(fs.readFileSync(out, 'utf8')) as KerasJson;
  fs.rmSync(out, { force: true });
  const traced = k.rnn.traced_functions === null ? 'not readable' : k.rnn.traced_functions.join(', ') || 'none';
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
      layer: `${k.rnn.layer_class} (dropout ${k.rnn.dropout}, recurrent dropout ${k.rnn.recurrent_dropout}${
        k.rnn.implementation === null ? '' : `, implementation=${k.rnn.implementation}`
      }${
        k.rnn.reset_after === undefined ? '' : `, reset_after=${k.rnn.reset_after}`
      }${k.rnn.unit_forget_bias === undefined ? '' : `, unit_forget_bias=${k.rnn.unit_forget_bias}`})`,
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

// ---------------------------------------------------------------------------
// The report

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** Mean seconds per epoch of a run, and its accuracy after the last epoch. */
interface PerEpoch {
  train: number;
  val: number;
  total: number;
  valAcc: number;
}

function perEpoch(r: RunResult): PerEpoch {
  return {
    train: mean(r.epochs.map((e) => e.trainSeconds)),
    val: mean(r.epochs.map((e) => e.valSeconds)),
    total: mean(r.epochs.map((e) => e.seconds)),
    valAcc: r.epochs[r.epochs.length - 1]?.valAccuracy ?? NaN,
  };
}

/** "train / validation / total" seconds of a run. */
const triple = (a: PerEpoch | undefined) => (a === undefined ? 'n/a' : `${fmt(a.train)} / ${fmt(a.val)} / ${fmt(a.total)}`);

/** "train / validation / total" ratios a / b of two runs. */
const ratioTriple = (a: PerEpoch | undefined, b: PerEpoch | undefined) =>
  a === undefined || b === undefined ? 'n/a' : `${fmt(a.train / b.train, 2)} / ${fmt(a.val / b.val, 2)} / ${fmt(a.total / b.total, 2)}`;

/** The per-epoch time ratio of two cells on one side (total seconds), next to the arithmetic ratio. */
export function cellRatios(
  runs: readonly Pick<RunResult, 'cell' | 'side' | 'recurrentDropout' | 'epochs'>[],
  config: Pick<TrainConfig, 'embeddingDim' | 'units'>,
  sides: readonly { side: RunSpec['side']; recurrentDropout: number }[],
): Array<{ cells: [BenchCell, BenchCell]; arithmetic: number; measured: number[] }> {
  const find = (cell: BenchCell, side: RunSpec['side'], r: number) =>
    runs.find((x) => x.cell === cell && x.side === side && x.recurrentDropout === r);
  const steps = (cell: BenchCell) => multiplyAddsPerStep(arithmeticKind(cell), config.embeddingDim, config.units);
  const pairs: Array<[BenchCell, BenchCell]> = [
    ['gru', 'lstm'],
    ['simple_rnn', 'lstm'],
  ];
  return pairs.map(([a, b]) => ({
    cells: [a, b],
    arithmetic: steps(a) / steps(b),
    measured: sides.map((s) => {
      const ra = find(a, s.side, s.recurrentDropout);
      const rb = find(b, s.side, s.recurrentDropout);
      return ra && rb ? mean(ra.epochs.map((e) => e.seconds)) / mean(rb.epochs.map((e) => e.seconds)) : NaN;
    }),
  }));
}

function flopsSection(c: TrainConfig, cells: readonly BenchCell[]): string[] {
  const g = (x: number) => `${(x / 1e9).toLocaleString('en-US', { maximumFractionDigits: 1 })} GFLOP`;
  const lines = [
    `FLOP per epoch (multiply-add = 2; T = maxLen = ${c.maxLen}, E = ${c.embeddingDim}, H = ${c.units}, b = kernel blocks, N_train = ${c.trainSize}, N_val = ${c.testSize}; ` +
      'training = 3 · forward · N_train (backward ≈ 2 × forward), validation = forward · N_val):',
    '',
  ];
  for (const cell of cells) {
    const kind = arithmeticKind(cell);
    const b = RECURRENT_LAYERS[kind].blocks;
    const f = epochFlops(c, kind);
    lines.push(
      `- ${CELL_CLASS[cell]} (b = ${b}, ${multiplyAddsPerStep(kind, c.embeddingDim, c.units).toLocaleString('en-US')} multiply-adds per step): forward, one review T(2·E·bH + 2·H·bH) + 2H = ` +
        `${f.forwardPerReview.toLocaleString('en-US')} FLOP (input projection ${f.inputProjection.toLocaleString('en-US')}, recurrent ${f.recurrent.toLocaleString('en-US')}, dense ${f.dense}); ` +
        `training ${g(f.train)}, validation ${g(f.validation)}, epoch ${g(f.total)}`,
    );
  }
  lines.push('- not counted: element-wise gate work (<1%), dropout, loss, Adam update, embedding gather');
  return lines;
}

interface ReportInput {
  config: TrainConfig;
  cells: readonly BenchCell[];
  recurrentDropouts: readonly number[];
  runs: readonly RunResult[];
  loads: readonly string[];
  cpuModel: string;
  matmulN: number;
}

function report(x: ReportInput): string {
  const { config, runs } = x;
  const lines: string[] = [];
  const n = config.epochs;
  lines.push(
    `## Epoch benchmark: ${x.cells.map((c) => CELL_CLASS[c]).join(', ')}; ${config.trainSize.toLocaleString('en-US')} training reviews + validation on ${config.testSize.toLocaleString('en-US')}, maxLen ${config.maxLen}, batch ${config.batchSize}, ${n} epoch(s)`,
    '',
  );
  lines.push(`Machine: ${x.cpuModel}, ${os.cpus().length} logical CPUs; ${new Date().toISOString()}`, '');

  lines.push(
    '| cell | recurrent dropout | epoch | side | train s | validation s | total s | loss | acc | val_loss | val_acc |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const cell of x.cells) {
    for (let e = 0; e < n; e++) {
      for (const s of runs.filter((r) => r.cell === cell)) {
        const r = s.epochs[e];
        if (r)
          lines.push(
            `| ${cell} | ${s.recurrentDropout} | ${r.epoch} | ${s.label} | ${fmt(r.trainSeconds)} | ${fmt(r.valSeconds)} | ${fmt(r.seconds)} | ${fmt(r.loss, 4)} | ${fmt(r.accuracy, 4)} | ${fmt(r.valLoss, 4)} | ${fmt(r.valAccuracy, 4)} |`,
          );
      }
    }
  }
  lines.push('');

  // Summary per cell: seconds per epoch (mean of the epochs run), train / validation / total.
  const courseR = config.recurrentDropout;
  const find = (cell: BenchCell, side: RunSpec['side'], r: number) =>
    runs.find((q) => q.cell === cell && q.side === side && q.recurrentDropout === r);
  const pathName = (p: KerasPath | undefined) =>
    p === undefined ? 'n/a' : p.kind === 'fused' ? `fused ${p.function}` : `generic ${p.function}`;
  lines.push(
    `Seconds per epoch (mean of ${n}), each cell "train / validation / total"; the course layers use recurrent dropout ${courseR}:`,
    '',
    `| cell | course (${rLabel(courseR)}) | ${x.recurrentDropouts.map((r) => `Keras ${rLabel(r)} | course / Keras ${rLabel(r)} | Keras path ${rLabel(r)}`).join(' | ')} |`,
    `| --- | ---: |${x.recurrentDropouts.map(() => ' ---: | ---: | --- |').join('')}`,
  );
  for (const cell of x.cells) {
    const course = find(cell, 'course', courseR);
    const c = course && perEpoch(course);
    const cols = x.recurrentDropouts.map((r) => {
      const k = find(cell, 'keras', r);
      const kp = k && perEpoch(k);
      return `${triple(kp)} | ${ratioTriple(c, kp)} | ${pathName(k?.path)}`;
    });
    const courseText = course ? triple(c) : 'not run';
    lines.push(`| ${CELL_CLASS[cell]} | ${courseText} | ${cols.join(' | ')} |`);
  }
  lines.push('');

  if (x.cells.includes('lstm')) {
    const sides = [
      { side: 'course' as const, recurrentDropout: courseR, name: `course (${rLabel(courseR)})` },
      ...x.recurrentDropouts.map((r) => ({ side: 'keras' as const, recurrentDropout: r, name: `Keras ${rLabel(r)}` })),
    ];
    lines.push(
      'Per-epoch time (total seconds) of one cell over another on each side, against the ratio of their multiply-adds per step (lib/cells/layer-kinds.ts multiplyAddsPerStep):',
      '',
      `| cells | arithmetic | ${sides.map((s) => s.name).join(' | ')} |`,
      `| --- | ---: |${sides.map(() => ' ---: |').join('')}`,
    );
    for (const row of cellRatios(runs, config, sides))
      lines.push(
        `| ${CELL_CLASS[row.cells[0]]} / ${CELL_CLASS[row.cells[1]]} | ${fmt(row.arithmetic, 2)} | ${row.measured.map((m) => fmt(m, 2)).join(' | ')} |`,
      );
    lines.push('');
  }

  // Throughput of every run: the epoch's matrix arithmetic over its time, against a large matmul of the same build.
  lines.push(
    `| run | params | GFLOP per epoch | GFLOP/s training | GFLOP/s validation | GFLOP/s epoch | ${x.matmulN}×${x.matmulN} matmul GFLOP/s | utilisation, epoch |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of runs) {
    const f = epochFlops(config, arithmeticKind(r.cell));
    const p = perEpoch(r);
    const gTotal = f.total / p.total / 1e9;
    lines.push(
      `| ${r.label} | ${r.params.toLocaleString('en-US')} | ${fmt(f.total / 1e9)} | ${fmt(f.train / p.train / 1e9)} | ${fmt(f.validation / p.val / 1e9)} | ${fmt(gTotal)} | ${fmt(r.matmulGflops)} | ${fmt((100 * gTotal) / r.matmulGflops)} % |`,
    );
  }
  lines.push('');
  lines.push(...flopsSection(config, x.cells), '');
  lines.push('Setup of each run:', '');
  for (const s of runs)
    lines.push(
      `- ${s.label}: ${Object.entries(s.facts)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join('; ')}`,
    );
  lines.push(
    "- Epoch 1 includes each run's warm-up (graph building / tf.function tracing); the checkpoint the course side writes after each epoch is not timed.",
    '- Expected parameters (lib/cells/layer-kinds.ts paramCount + embedding + dense): ' +
      x.cells
        .map(
          (c) =>
            `${CELL_CLASS[c]} ${(config.numWords * config.embeddingDim + paramCount(arithmeticKind(c), config.embeddingDim, config.units) + config.units + 1).toLocaleString('en-US')}`,
        )
        .join(', '),
  );
  lines.push('', 'Load (`uptime`):', '', ...x.loads.map((l) => `- ${l}`), '');
  return lines.join('\n');
}

function cpuModelName(): string {
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

// ---------------------------------------------------------------------------

async function main({ values }: CliContext): Promise<void> {
  assertNativeBackend();
  const o = options(values);
  const base = resolveConfig({
    profile: 'full',
    env: {},
    overrides: { epochs: o.epochs, trainSize: o.trainSize, testSize: o.testSize, maxLen: o.maxLen },
  });
  const plan = planRuns(o, base.recurrentDropout);
  say(
    `config: ${base.trainSize} train / ${base.testSize} validation reviews, maxLen ${base.maxLen}, batch ${base.batchSize}, ${base.epochs} epoch(s); ` +
      `${plan.length} run(s): ${plan.map((r) => `${r.side} ${r.cell} ${rLabel(r.recurrentDropout)}`).join(', ')}`,
  );

  const data = (
    await loadImdb({ numWords: base.numWords, maxLen: base.maxLen, seed: base.dataSeed, archivePath: defaultArchivePath() })
  ).subset(base.trainSize, base.testSize);
  const exported = await exportImdb(data);
  say(`${exported.written ? 'exported' : 'using the export in'} ${exported.dir}`);
  // .venv-keras (TensorFlow 2.12) is created on first use by scripts/keras-env.sh, before any run is timed.
  const python = plan.some((r) => r.side === 'keras') ? kerasPython('keras2') : '';

  const loads: string[] = [];
  const runs: RunResult[] = [];
  for (const [i, spec] of plan.entries()) {
    const name = `${spec.side} ${spec.cell} ${rLabel(spec.recurrentDropout)}`;
    say(`run ${i + 1}/${plan.length}: ${name}`);
    loads.push(`before ${name}: ${uptime()}`);
    say(loads[loads.length - 1]);
    if (spec.side === 'course') runs.push(await runCourse(spec, { ...base, rnn: spec.kind as RnnKind }, data, o.matmulN));
    else runs.push(runKeras(python, spec, exported.dir, base, o.matmulN));
    loads.push(`after ${name}: ${uptime()}`);
    say(loads[loads.length - 1]);
  }
  const text = report({
    config: base,
    cells: o.cells,
    recurrentDropouts: o.skipKeras ? [] : o.recurrentDropouts,
    runs,
    loads,
    cpuModel: cpuModelName(),
    matmulN: o.matmulN,
  });
  process.stdout.write(`\n${text}\n`);
  await fsp.writeFile(o.out, `${text}\n`);
  say(`wrote ${o.out}`);
  if (o.json) {
    const record: EpochBenchmarkRecord = {
      command: `npm run bench:epoch -- ${process.argv.slice(2).join(' ')}`.trim(),
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: ROOT }).stdout.trim(),
      measuredAt: new Date().toISOString(),
      cpuModel: cpuModelName(),
      config: { trainSize: base.trainSize, testSize: base.testSize, maxLen: base.maxLen, batchSize: base.batchSize, epochs: base.epochs },
      loads,
      runs: runs.map((r) => ({
        cell: r.cell,
        side: r.side,
        recurrentDropout: r.recurrentDropout,
        label: r.label,
        params: r.params,
        path: r.path ? r.path.text : null,
        epochs: r.epochs.map((e) => ({
          epoch: e.epoch,
          trainSeconds: e.trainSeconds,
          valSeconds: e.valSeconds,
          seconds: e.seconds,
          valAccuracy: e.valAccuracy,
        })),
      })),
    };
    await fsp.mkdir(path.dirname(o.json), { recursive: true });
    await fsp.writeFile(o.json, `${JSON.stringify(record, null, 1)}\n`);
    say(`wrote ${o.json}`);
  }
}

if (require.main === module) runCli(SPEC, main);
