/**
 * How fast does a GRU train here? Times one training step (forward + backward + Adam update, via
 * model.trainOnBatch on Input[steps, units] -> GRU(units) -> Dense(1)) and one forward pass
 * (model.predict) for
 *
 *   (a) tf.layers.gru         tfjs's own GRU (resetAfter false, sigmoid gates; tfjs has no resetAfter true)
 *   (b) KerasGRU, original    this project's layer as first written: plain tfjs ops step by step,
 *                             autodiff (a copy of that implementation lives below, as the baseline)
 *   (c) KerasGRU              the layer in lib/cells/gru.ts (native graphs, hand-written backward pass: lib/engine/gru-graphs.ts)
 *   (d) tf.layers.lstm        tfjs's LSTM with Keras's settings (sigmoid gates, unitForgetBias)
 *   (e) KerasLSTM             the course's LSTM (lib/cells/lstm.ts, the same native-graph engine: lib/engine/chunked-graphs.ts)
 *   (f) tf.layers.simpleRNN   tfjs's simple RNN
 *   (g) KerasSimpleRNN        the course's simple RNN (lib/cells/simple-rnn.ts)
 *
 * all with dropout 0.2 and recurrent dropout 0.2, at resetAfter false (like tf.layers.gru) and, for
 * (b) and (c), also at resetAfter true (Keras's default). Variants are timed in interleaved rounds,
 * so a change in machine load hits them alike; the table shows medians after warm-up (wall time,
 * and this process's CPU time, which other processes' load moves less), the TensorFlow ops run
 * eagerly ("kernel launches", one JavaScript -> TensorFlow call each) and the native graph runs per
 * step, and the wall-time ratio of each layer against the tf.layers layer of its cell ((a), (d) or (f)).
 * Before timing, (b) and (c) run one training step from the same weights and dropout masks, and
 * their loss and gradients are compared.
 *
 *   node --import tsx scripts/bench-gru.ts [--batch 32] [--steps 500] [--units 128] [--reps 5]
 *                                          [--warmup 2] [--only a,b,c] [--json FILE]
 *
 * Other processes share the CPU: the load average is printed with the figures, and so are
 * TensorFlow's thread settings (TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, read once when
 * TensorFlow starts, so set them on the command line to compare).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { GruWeights, KerasGRU, KerasGRUArgs, KerasGRUCallKwargs, PerGate, kerasGru } from '../lib/cells/gru-layer';
import { dropoutMask } from '../lib/engine/dropout';
import { kerasLstm } from '../lib/cells/lstm-layer';
import { kerasSimpleRnn } from '../lib/cells/simple-rnn-layer';
import { median } from '../lib/util/stats';
import { ROOT } from '../lib/util/paths';
import type { GruStepRecord, GruStepRow } from '../lib/experiments/records';
import { gruStepTable } from '../lib/experiments/tables';
import { fail, positiveInteger, runCli, type CliContext, type CliSpec } from './cli';

// ---------------------------------------------------------------------------
// Options

const SPEC: CliSpec = {
  name: 'bench-gru',
  summary:
    'Time a recurrent training step and a forward pass: tf.layers.gru, KerasGRU as first written, KerasGRU; tf.layers.lstm, KerasLSTM; tf.layers.simpleRNN, KerasSimpleRNN.',
  usage:
    'node --import tsx scripts/bench-gru.ts [--batch 32] [--steps 500] [--units 128] [--reps 5] [--warmup 2] [--only a,b,c,d,e,f,g] [--json FILE]',
  options: {
    batch: { type: 'string', value: 'N', default: '32', help: 'sequences per batch (default 32)' },
    steps: { type: 'string', value: 'N', default: '500', help: 'time steps per sequence (default 500)' },
    units: { type: 'string', value: 'N', default: '128', help: 'input features and GRU units (default 128)' },
    reps: { type: 'string', value: 'N', default: '5', help: 'timed rounds (default 5)' },
    warmup: { type: 'string', value: 'N', default: '2', help: 'untimed rounds first (default 2)' },
    only: { type: 'string', value: 'LIST', help: 'the variants to run, e.g. a,c,d,e (default all: a..g)' },
    json: {
      type: 'string',
      value: 'FILE',
      help: 'also write the run as a record (lib/experiments/records.ts GruStepRecord), e.g.\ndata/benchmarks/bench-gru-<commit>.json; npm run tables makes its table',
    },
  },
  exitCodes: { 2: 'bad options' },
};

// Sizes from the command line, set by main() before anything is built.
let BATCH = 0;
let STEPS = 0;
let UNITS = 0;
let REPS = 0;
let WARMUP = 0;
const DROPOUT = 0.2;

// ---------------------------------------------------------------------------
// (b) the baseline: KerasGRU's call as originally written (plain ops, autodiff), kept verbatim in spirit

type BaselineCell = {
  perGateKernels: PerGate<tf.Tensor2D>;
  fusedKernel: tf.Tensor2D;
} & ({ resetAfter: true; candidateBias: tf.Tensor1D } | { resetAfter: false });

function baselineInputSideBias(bias: tf.Tensor, resetAfter: boolean): tf.Tensor1D {
  if (!resetAfter) return bias as tf.Tensor1D;
  const [inputBias, recurrentBias] = tf.unstack(bias) as tf.Tensor1D[];
  const [bz, br, bh] = tf.split(recurrentBias, 3);
  return inputBias.add(tf.concat([bz, br, tf.zerosLike(bh)]));
}

function baselineCellParams(weights: GruWeights, resetAfter: boolean): BaselineCell {
  const u = weights.recurrentKernel;
  const units = u.shape[0];
  const perGateKernels = tf.split(u, 3, 1) as PerGate<tf.Tensor2D>;
  if (!resetAfter) return { resetAfter, perGateKernels, fusedKernel: u.slice([0, 0], [units, 2 * units]) };
  const candidateBias = tf.split(tf.unstack(weights.bias)[1], 3)[2] as tf.Tensor1D;
  return { resetAfter, perGateKernels, fusedKernel: u, candidateBias };
}

function baselineProjectInputs(x: tf.Tensor3D, kernel: tf.Tensor2D, bias: tf.Tensor1D, masks: PerGate<tf.Tensor2D> | null): tf.Tensor3D {
  const [batch, time, inputDim] = x.shape;
  const width = kernel.shape[1];
  if (masks === null) {
    return tf
      .matMul(x.reshape([batch * time, inputDim]), kernel)
      .add(bias)
      .reshape([batch, time, width]);
  }
  const maskedX = tf.stack(masks.map((m) => x.mul(m.expandDims(1)).reshape([batch * time, inputDim])));
  const gateKernels = tf.stack(tf.split(kernel, 3, 1));
  const perGate = tf.matMul(maskedX, gateKernels);
  return perGate.transpose([1, 0, 2]).reshape([batch, time, width]).add(bias);
}

function baselineRecurrentTerms(hPrev: tf.Tensor2D, cell: BaselineCell, masks: PerGate<tf.Tensor2D> | null): tf.Tensor2D[] {
  const blocks = cell.resetAfter ? 3 : 2;
  if (masks === null) return tf.split(tf.matMul(hPrev, cell.fusedKernel), blocks, 1);
  return cell.perGateKernels.slice(0, blocks).map((uGate, g) => tf.matMul(hPrev.mul(masks[g]), uGate));
}

function baselineCell(xw: tf.Tensor2D, hPrev: tf.Tensor2D, cell: BaselineCell, masks: PerGate<tf.Tensor2D> | null): tf.Tensor2D {
  const [xz, xr, xh] = tf.split(xw, 3, 1);
  const [hUz, hUr, hUh] = baselineRecurrentTerms(hPrev, cell, masks);
  const z = tf.sigmoid(xz.add(hUz));
  const r = tf.sigmoid(xr.add(hUr));
  const candidate = cell.resetAfter
    ? tf.tanh(xh.add(r.mul(hUh.add(cell.candidateBias))))
    : tf.tanh(xh.add(tf.matMul(r.mul(masks ? hPrev.mul(masks[2]) : hPrev), cell.perGateKernels[2])));
  return z.mul(hPrev).add(tf.sub(1, z).mul(candidate)) as tf.Tensor2D;
}

/** KerasGRU with the original call(): same weights, same seeded mask stream, plain ops and autodiff. */
class BaselineGRU extends KerasGRU {
  static override className = 'BaselineGRU';
  private draws = 0;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: KerasGRUCallKwargs = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, , inputDim] = x.shape;
      const training = kwargs.training === true;
      const draw = (shape: [number, number], rate: number): PerGate<tf.Tensor2D> | null => {
        if (!training || !(rate > 0 && rate < 1)) return null;
        const one = () => dropoutMask(shape, rate, this.seed === null ? undefined : this.seed + this.draws++);
        return [one(), one(), one()];
      };
      const inputMasks = draw([batch, inputDim], this.dropout);
      const recurrentMasks = draw([batch, this.units], this.recurrentDropout);
      const weights = this.gruWeights();
      const xw = baselineProjectInputs(x, weights.kernel, baselineInputSideBias(weights.bias, this.resetAfter), inputMasks);
      const cell = baselineCellParams(weights, this.resetAfter);
      const hs: tf.Tensor2D[] = [];
      let h = tf.zeros([batch, this.units]) as tf.Tensor2D;
      for (const xwT of tf.unstack(xw, 1) as tf.Tensor2D[]) {
        h = baselineCell(xwT, h, cell, recurrentMasks);
        hs.push(h);
      }
      return this.returnSequences ? tf.stack(hs, 1) : h;
    });
  }
}

// ---------------------------------------------------------------------------
// Counting what reaches TensorFlow

type Binding = { executeOp: (...args: unknown[]) => unknown };
type RunsSessions = { runSavedModel: (...args: unknown[]) => unknown };
const counts = { ops: 0, graphRuns: 0 };

function countNativeCalls(): void {
  const backend = tf.backend() as unknown as { binding: Binding } & RunsSessions;
  const binding = backend.binding;
  const executeOp = binding.executeOp.bind(binding);
  const counted = (...args: unknown[]) => (counts.ops++, executeOp(...args));
  backend.binding = Object.create(binding, { executeOp: { value: counted } }); // the addon's own object is frozen
  const runSavedModel = backend.runSavedModel.bind(backend);
  backend.runSavedModel = (...args: unknown[]) => (counts.graphRuns++, runSavedModel(...args));
}

// ---------------------------------------------------------------------------
// Models and timing

// `versus`: the key of the tf.layers variant of the same cell, the yardstick of the speed ratio.
type Variant = { key: string; label: string; resetAfter: boolean | null; versus: string; make: () => tf.layers.Layer };

const gruArgs = (resetAfter: boolean): KerasGRUArgs => ({ units: UNITS, resetAfter, dropout: DROPOUT, recurrentDropout: DROPOUT, seed: 7 });

const cellArgs = () => ({ units: UNITS, dropout: DROPOUT, recurrentDropout: DROPOUT, seed: 7 });

const VARIANTS: Variant[] = [
  {
    key: 'a',
    label: '(a) tf.layers.gru',
    resetAfter: false,
    versus: 'a',
    make: () => tf.layers.gru({ units: UNITS, recurrentActivation: 'sigmoid', dropout: DROPOUT, recurrentDropout: DROPOUT }),
  },
  { key: 'b', label: '(b) KerasGRU, original', resetAfter: false, versus: 'a', make: () => new BaselineGRU(gruArgs(false)) },
  { key: 'c', label: '(c) KerasGRU', resetAfter: false, versus: 'a', make: () => kerasGru(gruArgs(false)) },
  { key: 'b', label: '(b) KerasGRU, original', resetAfter: true, versus: 'a', make: () => new BaselineGRU(gruArgs(true)) },
  { key: 'c', label: '(c) KerasGRU', resetAfter: true, versus: 'a', make: () => kerasGru(gruArgs(true)) },
  // the other two cells, each as TensorFlow.js's eager layer (Keras's settings) and as the course's native-graph layer
  {
    key: 'd',
    label: '(d) tf.layers.lstm',
    resetAfter: null,
    versus: 'd',
    make: () => tf.layers.lstm({ ...cellArgs(), recurrentActivation: 'sigmoid', unitForgetBias: true }),
  },
  { key: 'e', label: '(e) KerasLSTM', resetAfter: null, versus: 'd', make: () => kerasLstm(cellArgs()) },
  { key: 'f', label: '(f) tf.layers.simpleRNN', resetAfter: null, versus: 'f', make: () => tf.layers.simpleRNN(cellArgs()) },
  { key: 'g', label: '(g) KerasSimpleRNN', resetAfter: null, versus: 'f', make: () => kerasSimpleRnn(cellArgs()) },
];

function buildModel(rnn: tf.layers.Layer): tf.LayersModel {
  const input = tf.input({ shape: [STEPS, UNITS] });
  const output = tf.layers.dense({ units: 1 }).apply(rnn.apply(input)) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  return model;
}

type Timing = { train: number[]; trainCpu: number[]; predict: number[]; ops: number; graphRuns: number };

// Wall time, and the CPU time of this process (all its threads): the CPU time moves less with other processes' load.
async function timeTrainStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) {
  const before = { ...counts };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await model.trainOnBatch(x, y); // returns the loss: the step has finished
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ops: counts.ops - before.ops, graphRuns: counts.graphRuns - before.graphRuns };
}

function timePredict(model: tf.LayersModel, x: tf.Tensor): number {
  const started = performance.now();
  const p = model.predict(x) as tf.Tensor;
  p.dataSync();
  p.dispose();
  return performance.now() - started;
}

// (b) and (c) from the same weights and masks must agree: loss and every gradient.
function checkEquivalence(resetAfter: boolean, x: tf.Tensor, y: tf.Tensor): string {
  const [baseline, fast] = [new BaselineGRU(gruArgs(resetAfter)), kerasGru(gruArgs(resetAfter))];
  const [mb, mf] = [buildModel(baseline), buildModel(fast)];
  mf.setWeights(mb.getWeights());
  const lossAndGrads = (m: tf.LayersModel) =>
    tf.variableGrads(
      () => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      m.trainableWeights.map((w) => w.read() as tf.Variable),
    );
  const b = lossAndGrads(mb);
  const f = lossAndGrads(mf);
  const lossDiff = Math.abs(b.value.dataSync()[0] - f.value.dataSync()[0]);
  const gradDiff = Math.max(
    ...mb.trainableWeights.map((w, i) => {
      const gb = b.grads[(w.read() as tf.Variable).name];
      const gf = f.grads[(mf.trainableWeights[i].read() as tf.Variable).name];
      return tf.tidy(() => tf.max(tf.abs(tf.sub(gb, gf))).dataSync()[0] / Math.max(1e-12, tf.max(tf.abs(gb)).dataSync()[0]));
    }),
  );
  return `resetAfter=${resetAfter}: |loss diff| ${lossDiff.toExponential(1)}, max relative gradient diff ${gradDiff.toExponential(1)}`;
}

async function main({ values }: CliContext): Promise<void> {
  const option = (name: string) => positiveInteger(values[name], `--${name}`);
  [BATCH, STEPS, UNITS, REPS, WARMUP] = ['batch', 'steps', 'units', 'reps', 'warmup'].map(option);
  if (typeof values.json === 'string' && fs.existsSync(values.json) && fs.statSync(values.json).isDirectory())
    fail(`--json ${values.json} is a directory: give the file to write, e.g. data/benchmarks/bench-gru-<commit>.json`);
  countNativeCalls();
  const only = typeof values.only === 'string' ? values.only.split(',') : null;
  const variants = VARIANTS.filter((v) => only === null || only.includes(v.key));
  const x = tf.randomNormal([BATCH, STEPS, UNITS], 0, 1, 'float32', 1);
  const y = tf.randomNormal([BATCH, 1], 0, 1, 'float32', 2);
  console.log(
    `GRU training step: batch ${BATCH}, ${STEPS} steps, ${UNITS} -> ${UNITS} units, dropout ${DROPOUT}/${DROPOUT}, ` +
      `${REPS} timed rounds after ${WARMUP} warm-up; tfjs-node ${tf.version.tfjs}, ${os.cpus().length} CPUs`,
  );
  const threads = ['TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS'].map((v) => `${v}=${process.env[v] ?? '(default)'}`);
  const loadBefore = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(`${threads.join(' ')}; load average before: ${loadBefore}`);

  if (only === null || (only.includes('b') && only.includes('c'))) {
    const xs = x.slice([0, 0, 0], [Math.min(BATCH, 8), Math.min(STEPS, 50), UNITS]);
    const models = [false, true].map((r) => checkEquivalence(r, xs, y.slice([0, 0], [xs.shape[0], 1])));
    console.log(`(b) vs (c), same weights and masks, ${xs.shape[0]}x${xs.shape[1]}: ${models.join('; ')}`);
  }

  const models = variants.map((v) => buildModel(v.make()));
  const timings: Timing[] = variants.map(() => ({ train: [], trainCpu: [], predict: [], ops: 0, graphRuns: 0 }));
  for (let round = 0; round < WARMUP + REPS; round++) {
    for (const [i, model] of models.entries()) {
      const step = await timeTrainStep(model, x, y);
      const predictMs = timePredict(model, x);
      if (round < WARMUP) continue;
      timings[i].train.push(step.ms);
      timings[i].trainCpu.push(step.cpuMs);
      timings[i].predict.push(predictMs);
      [timings[i].ops, timings[i].graphRuns] = [step.ops, step.graphRuns];
    }
    process.stdout.write(round < WARMUP ? 'w' : '.');
  }
  process.stdout.write('\n');

  const rows: GruStepRow[] = variants.map((v, i) => {
    const reference = variants.findIndex((r) => r.key === v.versus);
    return {
      variant: v.label,
      resetAfter: v.resetAfter,
      trainMs: median(timings[i].train),
      trainCpuMs: median(timings[i].trainCpu),
      predictMs: median(timings[i].predict),
      eagerOps: timings[i].ops,
      graphRuns: timings[i].graphRuns,
      ...(reference >= 0 ? { speedup: median(timings[reference].train) / median(timings[i].train) } : {}),
      roundsMs: timings[i].train,
    };
  });
  console.log(gruStepTable({ rows }, true));
  const loadAfter = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(`load average after: ${loadAfter}`);
  if (typeof values.json === 'string') {
    const record: GruStepRecord = {
      what: `a recurrent training step (forward, backward, Adam) and a forward pass: ${variants.map((v) => v.label).join(', ')}`,
      command: ['npm run bench:gru', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: ROOT }).stdout?.trim() || null,
      measuredAt: new Date().toISOString(),
      machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical CPUs`,
      loadBefore,
      loadAfter,
      config: { batch: BATCH, steps: STEPS, units: UNITS, reps: REPS, warmup: WARMUP, dropout: DROPOUT },
      rows,
    };
    fs.mkdirSync(path.dirname(values.json), { recursive: true });
    fs.writeFileSync(values.json, `${JSON.stringify(record, null, 1)}\n`);
    console.log(`wrote ${values.json} (lib/experiments/records.ts GruStepRecord; npm run tables makes its table)`);
  }
}

runCli(SPEC, main);
