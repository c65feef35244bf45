// Small, tested helpers for the concept notebooks (01-gru-concept, 02-gate-equations):
//   - parameter counts of SimpleRNN, GRU (reset-after / reset-before) and LSTM: formula (lib/cells/layer-kinds.ts) against built layers;
//   - Keras-style seeded initial weights (lib/cells/initializers.ts) and the gradient-versus-distance measurement
//     (through the cells' plain equations, lib/cells/gru.ts and lib/cells/simple-rnn.ts);
//   - the Keras <-> PyTorch GRU weight mapping, with PyTorch's documented GRU step to check it.
import * as tf from '@tensorflow/tfjs-node';
import { gruSequence, type GruWeights } from '../cells/gru';
import { kerasGru } from '../cells/gru-layer';
import { kerasLstm } from '../cells/lstm-layer';
import { simpleRnnSequence, type SimpleRnnWeights } from '../cells/simple-rnn';
import { kerasSimpleRnn } from '../cells/simple-rnn-layer';
import { kerasRecurrentInitializers, withoutOrthogonalWarning } from '../cells/initializers';
import { paramCount, paramCountFormula, type RnnKind } from '../cells/layer-kinds';
import { lineChart, type Figure } from '../view/plot';

// ---------------------------------------------------------------------------
// Parameter counts: the formulas (lib/cells/layer-kinds.ts) against the layers actually built

/** One row of the parameter-count comparison. */
export interface ParamCountRow {
  layer: string; // the layer that was built
  formula: string; // the count written out for these sizes
  byFormula: number;
  byLayer: number; // countParams() of the built layer
}

const LAYER_NAMES: Record<RnnKind, string> = {
  tfSimpleRnn: 'SimpleRNN (tf.layers.simpleRNN)',
  kerasGru: 'GRU, reset_after=True (this course: kerasGru)',
  tfGru: 'GRU, reset_after=False (tf.layers.gru)',
  tfLstm: 'LSTM (tf.layers.lstm)',
  kerasLstm: 'LSTM (this course: kerasLstm)',
  kerasSimpleRnn: 'SimpleRNN (this course: kerasSimpleRnn)',
};

function defaultLayer(kind: RnnKind, units: number): tf.layers.Layer {
  switch (kind) {
    case 'tfSimpleRnn':
      return tf.layers.simpleRNN({ units });
    case 'kerasGru':
      return kerasGru({ units });
    case 'kerasLstm':
      return kerasLstm({ units });
    case 'kerasSimpleRnn':
      return kerasSimpleRnn({ units });
    case 'tfGru':
      return tf.layers.gru({ units });
    case 'tfLstm':
      return tf.layers.lstm({ units });
  }
}

/** Builds the layer for inputs [batch, time, inputDim] with its default initialisers and returns countParams(). */
export function builtLayerParamCount(kind: RnnKind, inputDim: number, units: number): number {
  const layer = defaultLayer(kind, units);
  // Applying the layer to a symbolic input builds it, as in a model (RNN.build alone leaves `built` unset).
  withoutOrthogonalWarning(() => layer.apply(tf.input({ shape: [null, inputDim] })));
  const count = layer.countParams();
  for (const w of layer.weights) w.dispose();
  return count;
}

/** Formula and built-layer counts side by side, for all four layer kinds. */
export function paramCountTable(inputDim: number, units: number): ParamCountRow[] {
  const kinds: RnnKind[] = ['tfSimpleRnn', 'tfGru', 'kerasGru', 'tfLstm'];
  return kinds.map((kind) => ({
    layer: LAYER_NAMES[kind],
    formula: paramCountFormula(kind, inputDim, units),
    byFormula: paramCount(kind, inputDim, units),
    byLayer: builtLayerParamCount(kind, inputDim, units),
  }));
}

// ---------------------------------------------------------------------------
// Seeded weights with Keras's default initialisers

/** keras.layers.SimpleRNN's default init, seeded with lib/cells/initializers.ts's scheme: glorot_uniform kernel, orthogonal recurrent kernel, zero bias. */
export function kerasInitSimpleRnn(inputDim: number, units: number, seed: number): SimpleRnnWeights {
  const init = kerasRecurrentInitializers(seed);
  return withoutOrthogonalWarning(() => ({
    kernel: init.kernelInitializer.apply([inputDim, units]) as tf.Tensor2D,
    recurrentKernel: init.recurrentInitializer.apply([units, units]) as tf.Tensor2D,
    bias: init.biasInitializer.apply([units]) as tf.Tensor1D,
  }));
}

/**
 * keras.layers.GRU's default init, seeded with lib/cells/initializers.ts's scheme (the model's): glorot_uniform
 * kernel [inputDim, 3*units], orthogonal recurrent kernel [units, 3*units], zero bias ([2, 3*units] when
 * resetAfter, else [3*units]). `updateGateBias` sets the input-side bias of the z block, so z starts near
 * sigmoid(updateGateBias) instead of sigmoid(0) = 0.5.
 */
export function kerasInitGru(
  inputDim: number,
  units: number,
  seed: number,
  options: { resetAfter?: boolean; updateGateBias?: number } = {},
): GruWeights {
  const resetAfter = options.resetAfter ?? true;
  const zBias = options.updateGateBias ?? 0;
  const init = kerasRecurrentInitializers(seed);
  return withoutOrthogonalWarning(() =>
    tf.tidy(() => {
      const inputBias = tf.concat([tf.fill([units], zBias), tf.zeros([2 * units])]);
      return {
        kernel: init.kernelInitializer.apply([inputDim, 3 * units]) as tf.Tensor2D,
        recurrentKernel: init.recurrentInitializer.apply([units, 3 * units]) as tf.Tensor2D,
        bias: resetAfter ? tf.stack([inputBias, tf.zeros([3 * units])]) : inputBias,
      };
    }),
  );
}

// ---------------------------------------------------------------------------
// How the gradient reaching step t shrinks with its distance from the end

/** The two cells the gradient demo compares. */
export type DemoCell = 'rnn' | 'gru';

/** Sizes and seeds of the gradient demo. */
export interface GradientDemoOptions {
  steps: number; // T
  inputDim: number;
  units: number;
  samples: number; // random input sequences per seed
  seeds: number[];
  updateGateBias: number; // GRU only: input-side bias of z (0 = Keras's init)
}

/** The demo's default configuration: both cells with Keras's default initialisers. */
export const GRADIENT_DEMO_DEFAULTS: Readonly<GradientDemoOptions> = Object.freeze({
  steps: 50,
  inputDim: 16,
  units: 16,
  samples: 8,
  seeds: [1, 2, 3],
  updateGateBias: 0,
});

/** Norms of the Jacobian d h_T / d x_t for t = 1..T (index t-1), geometric means over samples and seeds. */
export interface GradientProfile {
  cell: DemoCell;
  options: GradientDemoOptions;
  t: number[]; // 1..T
  distance: number[]; // T - t: how many steps lie between x_t and h_T
  norm: number[]; // geometric mean over all samples and seeds
  perSeed: number[][]; // [seed][t-1], geometric mean over the samples of that seed
}

/** The cell's last state h_T [batch, units] as a function of x, with freshly initialised weights (dispose them after). */
function lastStateOf(
  cell: DemoCell,
  inputDim: number,
  seed: number,
  o: GradientDemoOptions,
): {
  run: (x: tf.Tensor3D) => tf.Tensor2D;
  weights: tf.Tensor[];
} {
  const last = (h: tf.Tensor3D) => h.slice([0, o.steps - 1, 0], [-1, 1, -1]).squeeze([1]) as tf.Tensor2D;
  if (cell === 'rnn') {
    const w = kerasInitSimpleRnn(inputDim, o.units, seed);
    return { run: (x) => last(simpleRnnSequence(x, w)), weights: [w.kernel, w.recurrentKernel, w.bias] };
  }
  const w = kerasInitGru(inputDim, o.units, seed, { updateGateBias: o.updateGateBias });
  return { run: (x) => last(gruSequence(x, w).h), weights: [w.kernel, w.recurrentKernel, w.bias] };
}

/**
 * Frobenius norms ||d h_T / d x_t|| for every sample and step: [samples, T].
 * One backward pass gives the whole Jacobian: the batch holds `units` copies of the samples, and copy i
 * back-propagates only h_T[i] (the sequences of a batch do not interact, so each copy gets row i).
 */
export function jacobianNorms(run: (x: tf.Tensor3D) => tf.Tensor2D, x: tf.Tensor3D, units: number): number[][] {
  const norms = tf.tidy(() => {
    const [samples, T] = x.shape;
    const copies = tf.tile(x, [units, 1, 1]) as tf.Tensor3D; // row b is sample b % samples, for unit floor(b / samples)
    const unitOfRow = Array.from({ length: units * samples }, (_, b) => Math.floor(b / samples));
    const pick = tf.oneHot(tf.tensor1d(unitOfRow, 'int32'), units);
    const grad = tf.grad((xx: tf.Tensor) =>
      run(xx as tf.Tensor3D)
        .mul(pick)
        .sum(),
    )(copies); // [units*samples, T, D]
    return grad.square().sum(2).reshape([units, samples, T]).sum(0).sqrt();
  });
  const values = norms.arraySync() as number[][];
  norms.dispose();
  return values;
}

function geometricMean(values: number[]): number {
  return 10 ** (values.reduce((sum, v) => sum + Math.log10(v), 0) / values.length);
}

/** Measures how the gradient reaching x_t shrinks with its distance T - t from h_T, for one cell. */
export function gradientByDistance(cell: DemoCell, options: Partial<GradientDemoOptions> = {}): GradientProfile {
  const o: GradientDemoOptions = { ...GRADIENT_DEMO_DEFAULTS, ...options };
  const perSample = o.seeds.map((seed) => {
    const x = tf.randomNormal([o.samples, o.steps, o.inputDim], 0, 1, 'float32', seed) as tf.Tensor3D;
    const { run, weights } = lastStateOf(cell, o.inputDim, seed, o);
    const norms = jacobianNorms(run, x, o.units); // [samples, T]
    tf.dispose([x, ...weights]);
    return norms;
  });
  const column = (rows: number[][], i: number) => rows.map((row) => row[i]);
  const t = Array.from({ length: o.steps }, (_, i) => i + 1);
  return {
    cell,
    options: o,
    t,
    distance: t.map((step) => o.steps - step),
    norm: t.map((_, i) => geometricMean(perSample.flatMap((rows) => column(rows, i)))),
    perSeed: perSample.map((rows) => t.map((_, i) => geometricMean(column(rows, i)))),
  };
}

/** The average factor by which one more step of distance multiplies the gradient: (norm at t=1 / norm at t=T)^(1/(T-1)). */
export function perStepFactor(profile: GradientProfile): number {
  const n = profile.norm;
  return (n[0] / n[n.length - 1]) ** (1 / (n.length - 1));
}

/** Gradient norm against distance T - t, one line per profile, on a log-scale y axis. */
export function gradientDecayChart(lines: { name: string; profile: GradientProfile }[], title: string): Figure {
  const fig = lineChart(
    lines.map(({ name, profile }) => ({ name, x: profile.distance, y: profile.norm, mode: 'lines+markers' as const })),
    { title, xTitle: 'distance T − t (steps between x_t and h_T)', yTitle: '‖∂h_T / ∂x_t‖ (log scale)' },
  );
  return { ...fig, layout: { ...fig.layout, yaxis: { ...fig.layout.yaxis, type: 'log', exponentformat: 'power' } } };
}

// ---------------------------------------------------------------------------
// Keras <-> PyTorch

/** nn.GRU's weights for one layer: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 (gate rows r | z | n). */
export type TorchGruWeights = {
  weightIh: tf.Tensor2D; // [3*hidden, input]
  weightHh: tf.Tensor2D; // [3*hidden, hidden]
  biasIh: tf.Tensor1D; // [3*hidden]
  biasHh: tf.Tensor1D; // [3*hidden]
};

// Keras blocks z | r | h along the last axis -> PyTorch order r | z | n.
function zrhToRzn(t: tf.Tensor, axis: number): tf.Tensor {
  const [z, r, h] = tf.split(t, 3, axis);
  return tf.concat([r, z, h], axis);
}

/** Keras reset_after weights (kernel z|r|h columns, bias [2, 3*units]) as PyTorch nn.GRU weights: reorder to r|z|n, transpose. */
export function kerasToTorchGru(w: GruWeights): TorchGruWeights {
  if (w.bias.rank !== 2)
    throw new Error('kerasToTorchGru: PyTorch keeps two biases, so the Keras GRU must be reset_after (bias [2, 3*units])');
  return tf.tidy(() => {
    const [inputBias, recurrentBias] = tf.unstack(w.bias);
    return {
      weightIh: zrhToRzn(w.kernel, 1).transpose() as tf.Tensor2D,
      weightHh: zrhToRzn(w.recurrentKernel, 1).transpose() as tf.Tensor2D,
      biasIh: zrhToRzn(inputBias, 0) as tf.Tensor1D,
      biasHh: zrhToRzn(recurrentBias, 0) as tf.Tensor1D,
    };
  });
}

/**
 * One step of PyTorch's GRU exactly as its documentation writes it (x [batch, input], h [batch, hidden]):
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h.
 */
export function torchGruStep(x: tf.Tensor2D, h: tf.Tensor2D, w: TorchGruWeights): tf.Tensor2D {
  return tf.tidy(() => {
    const [ir, iz, inn] = tf.split(tf.matMul(x, w.weightIh, false, true).add(w.biasIh), 3, 1);
    const [hr, hz, hn] = tf.split(tf.matMul(h, w.weightHh, false, true).add(w.biasHh), 3, 1);
    const r = tf.sigmoid(ir.add(hr));
    const z = tf.sigmoid(iz.add(hz));
    const n = tf.tanh(inn.add(r.mul(hn)));
    return tf.sub(1, z).mul(n).add(z.mul(h)) as tf.Tensor2D;
  });
}

// ---------------------------------------------------------------------------
// Small readouts for charts

/** One sample of a [batch, time, units] tensor as a units x time matrix (rows = units), ready for a heatmap. */
export function unitsByTime(t: tf.Tensor3D, sample = 0): number[][] {
  const m = tf.tidy(() => t.slice([sample, 0, 0], [1, -1, -1]).squeeze([0]).transpose());
  const rows = m.arraySync() as number[][];
  m.dispose();
  return rows;
}

/** The largest absolute elementwise difference of two same-shaped tensors. */
export function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`maxAbsDifference: shapes [${a.shape}] and [${b.shape}] differ`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}
