// The building blocks of the cells' shared tests (test/cells/harness.ts registers them): what the harness needs to
// know about a cell (CellSpec), its layer built with given weights, the dropout masks a seeded layer draws, the
// readable cell with those masks (maskedRun, derived from the readable sequence), and the gradient comparisons
// against autodiff and float64 finite differences. A cell's test file uses them for its own cases too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { dropoutMask, NO_DROPOUT, type GateMasks } from '../../lib/engine/dropout';
import type { KerasRecurrentLayer } from '../../lib/cells/recurrent-layer';
import type { RnnKind } from '../../lib/cells/layer-kinds';
import type { Masks64, Mat, Outputs64, Seq, Vec } from './reference64';
import { flat, lastStep, maxAbsDiff, numericGradient, rand, relativeDiff } from './helpers';

/** A cell's weights in Keras's layout. */
export type Weights = { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor };
/** Named outputs of a step or a sequence; `h` is always there. */
export type Outputs<T> = { h: T } & Record<string, T>;
/** The layer options the harness sets; a cell's variant adds its own (GRU: resetAfter, fixedGates). */
export type LayerOptions = { units: number; returnSequences?: boolean; dropout?: number; recurrentDropout?: number; seed?: number | null };
type Arrays64 = { W: Mat; U: Mat; b: Vec | Mat };

/** What the harness needs to know about a cell. V: the cell's own layer options. */
export interface CellSpec<V extends object> {
  name: string; // the layer's class name, e.g. "KerasGRU"
  kind: RnnKind; // for paramCount and buildModel
  errorPrefix: string; // "gru", "lstm", "simple-rnn"
  blocks: number; // gate blocks G: the kernel is [inputDim, G*units]
  carried: string[]; // the outputs carried as states, in the layer's initialState order: ['h'] or ['h', 'c']
  outputs: string[]; // every named output of the readable step
  variants: V[]; // the variants the shared checks run for (GRU: reset-after and reset-before)
  describe(v: V): string;
  biasShape(units: number, v: V): number[];
  layer(args: LayerOptions & V & { inputShape?: number[] }): KerasRecurrentLayer;
  layerClass: abstract new (...args: never[]) => KerasRecurrentLayer;
  step(x: tf.Tensor2D, states: tf.Tensor2D[], w: Weights, v: V): Outputs<tf.Tensor2D>;
  sequence(x: tf.Tensor3D, w: Weights, v: V, initialStates?: tf.Tensor2D[]): Outputs<tf.Tensor3D>;
  reference64(x: Seq, w: Arrays64, v: V, initialStates: Mat[] | undefined, masks: Masks64): Outputs64;
  gates?(layer: KerasRecurrentLayer, x: tf.Tensor3D, initialStates?: tf.Tensor2D[]): Outputs<tf.Tensor3D>;
  tfjs?: { variant: V; layer(units: number): tf.layers.Layer }; // tf.layers computing the same cell
  defaultBias(units: number): number[]; // the layer's initial bias with default initialisers, flat
  referenceParams: { layer: number; model: number }; // Embedding(10000, 128) -> layer(128) -> Dense(1)
  saveVariants: V[];
}

/** Random weights in the cell's layout: kernel and recurrent kernel uniform(-0.8, 0.8), bias uniform(-0.5, 0.5). */
export function randomWeights<V extends object>(spec: CellSpec<V>, inputDim: number, units: number, v: V, seed: number): Weights {
  return {
    kernel: rand([inputDim, spec.blocks * units], seed, 0.8) as tf.Tensor2D,
    recurrentKernel: rand([units, spec.blocks * units], seed + 1, 0.8) as tf.Tensor2D,
    bias: rand(spec.biasShape(units, v), seed + 2, 0.5),
  };
}

/** The cell's layer built for inputs [*, time, inputDim] (returnSequences unless told), with the given weights. */
export function built<V extends object>(spec: CellSpec<V>, args: LayerOptions & V, inputDim: number, w?: Weights): KerasRecurrentLayer {
  const layer = spec.layer({ returnSequences: true, ...args });
  layer.build([null, null, inputDim]);
  if (w) layer.setWeights([w.kernel, w.recurrentKernel, w.bias]);
  return layer;
}

/** Random initial states: h0 uniform(-0.9, 0.9), c0 uniform(-1.5, 1.5). */
export function initialStates<V extends object>(spec: CellSpec<V>, batch: number, units: number, seed: number): tf.Tensor2D[] {
  return spec.carried.map((_, i) => rand([batch, units], seed + i, i === 0 ? 0.9 : 1.5) as tf.Tensor2D);
}

/** The initialState a layer call gets: the tensor itself for one state, the list for more. */
export const stateArg = (states: tf.Tensor[]) => (states.length === 1 ? states[0] : states);
/** The weights as float64 arrays, for the reference. */
export const arrays64 = (w: Weights): Arrays64 => ({
  W: w.kernel.arraySync(),
  U: w.recurrentKernel.arraySync(),
  b: w.bias.arraySync() as Vec | Mat,
});
/** The masks as float64 arrays, for the reference. */
export const masks64 = (m: GateMasks): Masks64 => ({
  input: m.input?.map((t) => t.arraySync()) ?? null,
  recurrent: m.recurrent?.map((t) => t.arraySync()) ?? null,
});
/** Step t [batch, width] of a sequence [batch, time, width]. */
export const at = (seq: tf.Tensor, t: number) => {
  const [batch, , width] = seq.shape as number[];
  return seq.slice([0, t, 0], [batch, 1, width]).reshape([batch, width]);
};
/** Whether a rate draws masks (0 and >= 1 draw none). */
export const dropsWith = (rate: number) => rate > 0 && rate < 1;
/** sum(c * h) over float64 sequences. */
export const sumOver = (h: Seq, c: Seq) =>
  h.reduce((s, hb, n) => s + hb.reduce((s2, ht, t) => s2 + ht.reduce((s3, v, k) => s3 + v * c[n][t][k], 0), 0), 0);

/**
 * The masks a layer with this seed draws in one training call, its counter at `k`: the G input masks, then the G
 * recurrent ones, each dropoutMask(shape, rate, seed + k++); a side with rate 0 (or >= 1) draws none. `next` is the counter after.
 */
export function layerMasks<V extends object>(
  spec: CellSpec<V>,
  seed: number,
  k: number,
  shapes: { batch: number; inputDim: number; units: number },
  dropout: number,
  recurrentDropout: number,
): { masks: GateMasks; next: number } {
  const draw = (shape: [number, number], rate: number) => Array.from({ length: spec.blocks }, () => dropoutMask(shape, rate, seed + k++));
  const input = dropsWith(dropout) ? draw([shapes.batch, shapes.inputDim], dropout) : null;
  const recurrent = dropsWith(recurrentDropout) ? draw([shapes.batch, shapes.units], recurrentDropout) : null;
  return { masks: { input, recurrent }, next: k };
}

/**
 * A readable sequence with Keras's per-gate dropout masks, derived from it rather than written again: a mask m_g on
 * x_t (or h_{t-1}) where it meets the block W_g (or U_g) gives (x_t * m_g) W_g = x_t (diag(m_g) W_g), so each sample
 * runs `run` (every h_t of the plain cell, e.g. gruSequence) on its own weights, each of the `blocks` gate blocks'
 * rows scaled by its masks. The carried state stays unmasked, as in Keras.
 */
export function maskedRun(
  blocks: number,
  run: (x: tf.Tensor3D, w: Weights, states: tf.Tensor2D[]) => tf.Tensor3D,
  x: tf.Tensor3D,
  w: Weights,
  states: tf.Tensor2D[],
  masks: GateMasks,
): tf.Tensor3D {
  const row = (t: tf.Tensor, n: number) => t.slice([n, 0], [1, -1]);
  // (tf.split and tf.concat of one block have no gradient: the simple RNN's single block is scaled whole)
  const scaleRows = (kernel: tf.Tensor2D, perGate: tf.Tensor2D[] | null, n: number): tf.Tensor2D => {
    if (!perGate) return kernel;
    const scale = (block: tf.Tensor, g: number) => block.mul(row(perGate[g], n).reshape([-1, 1]));
    if (blocks === 1) return scale(kernel, 0) as tf.Tensor2D;
    return tf.concat(tf.split(kernel, blocks, 1).map(scale), 1) as tf.Tensor2D;
  };
  const samples = Array.from({ length: x.shape[0] }, (_, n) => {
    const wn = {
      kernel: scaleRows(w.kernel, masks.input, n),
      recurrentKernel: scaleRows(w.recurrentKernel, masks.recurrent, n),
      bias: w.bias,
    };
    return run(
      x.slice([n, 0, 0], [1, -1, -1]),
      wn,
      states.map((s) => row(s, n) as tf.Tensor2D),
    );
  });
  return tf.concat(samples, 0) as tf.Tensor3D;
}

/** The cell's readable sequence with Keras's per-gate dropout masks (maskedRun): the autodiff yardstick of the layer's training pass. */
export function maskedSequence<V extends object>(
  spec: CellSpec<V>,
  x: tf.Tensor3D,
  w: Weights,
  v: V,
  states: tf.Tensor2D[],
  masks: GateMasks,
): tf.Tensor3D {
  return maskedRun(spec.blocks, (xn, wn, sn) => spec.sequence(xn, wn, v, sn).h, x, w, states, masks);
}

/** One comparison of the layer's gradients with autodiff of the plain equations. */
export type GradientCase<V> = {
  variant: V;
  returnSequences: boolean;
  time: number;
  dropout: number;
  recurrentDropout: number;
  initialState: boolean;
  call?: 0 | 1; // 1: the layer's SECOND training call (its mask counter starts after the first call's masks)
  masksMatter?: boolean; // default true; false where the output cannot depend on them (the GRU's z held at 1)
};

/**
 * loss = sum(coeff * output) for the layer and for the plain equations (the readable sequence, or with masks
 * maskedSequence) from the same weights, masks and initial states: the loss's and every gradient's max
 * |difference| relative to its largest entry, the masks' effect on the loss, and the layer's gradients.
 */
export function compareGradients<V extends object>(spec: CellSpec<V>, c: GradientCase<V>) {
  const shapes = { batch: 3, inputDim: 5, units: 4 };
  const [{ batch, inputDim, units }, seed] = [shapes, 17];
  const { variant, returnSequences, time, dropout, recurrentDropout } = c;
  const layer = built(
    spec,
    { units, returnSequences, dropout, recurrentDropout, seed, ...variant },
    inputDim,
    randomWeights(spec, inputDim, units, variant, 90),
  );
  const x = tf.variable(rand([batch, time, inputDim], 91)) as tf.Variable<tf.Rank.R3>;
  const states = initialStates(spec, batch, units, 92).map((s) => tf.variable(s) as tf.Variable<tf.Rank.R2>);
  const coeff = rand(returnSequences ? [batch, time, units] : [batch, units], 94);
  const weights = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const training = dropout > 0 || recurrentDropout > 0;
  let k = 0;
  if (c.call === 1) {
    tf.dispose(layer.apply(x, { training: true }) as tf.Tensor); // the first call draws (and uses up) its masks
    k = layerMasks(spec, seed, 0, shapes, dropout, recurrentDropout).next;
  }
  const masks = training ? layerMasks(spec, seed, k, shapes, dropout, recurrentDropout).masks : NO_DROPOUT;
  const start = () => (c.initialState ? states : states.map((s) => tf.zerosLike(s)));
  const plainLoss = (m: GateMasks) => {
    const w = layer.layerWeights();
    const hs = m.input || m.recurrent ? maskedSequence(spec, x, w, variant, start(), m) : spec.sequence(x, w, variant, start()).h;
    return tf.sum(tf.mul(returnSequences ? hs : lastStep(hs), coeff)) as tf.Scalar;
  };
  const variables = c.initialState ? [...weights, x, ...states] : [...weights, x];
  const names = ['kernel', 'recurrentKernel', 'bias', 'x', ...spec.carried.map((s) => `${s}0`)];
  const kwargs = c.initialState ? { training, initialState: stateArg(states) } : { training };
  const fast = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, kwargs) as tf.Tensor, coeff)) as tf.Scalar, variables);
  const reference = tf.variableGrads(() => plainLoss(masks), variables);
  const lossScale = tf.tidy(() => tf.sum(tf.abs(tf.mul(layer.apply(x, { ...kwargs, training: false }) as tf.Tensor, coeff))).dataSync()[0]);
  const grads = variables.map((v, i) => [names[i], relativeDiff(fast.grads[v.name], reference.grads[v.name])] as const);
  const plain = tf.tidy(() => plainLoss(NO_DROPOUT).dataSync()[0]);
  const layerGrads = Object.fromEntries(weights.map((v, i) => [names[i], fast.grads[v.name]]));
  return {
    // relative to sum |coeff * output|, the loss's scale before its terms cancel (a sum near 0 would magnify rounding)
    loss: maxAbsDiff(fast.value, reference.value) / Math.max(1e-3, lossScale),
    grads,
    maskEffect: Math.abs(plain - reference.value.dataSync()[0]),
    layerGrads,
    units,
  };
}

/** Registers a gradient comparison as a test (the shared cases, and a cell's own, e.g. the GRU's held gates). */
export function gradientTest<V extends object>(
  spec: CellSpec<V>,
  c: GradientCase<V>,
  extra?: (r: ReturnType<typeof compareGradients<V>>) => void,
) {
  const name =
    `${spec.describe(c.variant)}returnSequences = ${c.returnSequences}, ${c.time} steps, dropout ${c.dropout} / recurrent ${c.recurrentDropout}` +
    `${c.initialState ? ', initial state' : ''}${c.call ? ', second training call' : ''}: same loss and gradients as the plain equations`;
  test(name, () => {
    const r = compareGradients(spec, c);
    assert.ok(r.loss < 1e-5, `loss differs by ${r.loss} (relative)`);
    for (const [what, diff] of r.grads) assert.ok(diff < 1e-5, `d loss / d ${what} differs by ${diff} (relative to its largest entry)`);
    if (c.masksMatter !== false && (dropsWith(c.dropout) || dropsWith(c.recurrentDropout)))
      assert.ok(r.maskEffect > 1e-3, 'the masks changed nothing: test is vacuous');
    extra?.(r);
  });
}

/**
 * The layer's gradient of loss = sum(coeff * h) (dropout 0.3 on both sides, random initial states) against
 * central differences of the float64 reference with the same masks, for every weight, input and initial-state
 * entry. Returns the layer's gradients by name.
 */
export function finiteDifferenceCheck<V extends object>(spec: CellSpec<V>, v: V, rate = 0.3): Record<string, tf.Tensor> {
  const [batch, time, inputDim, units, seed] = [2, 5, 3, 3, 7];
  const w = randomWeights(spec, inputDim, units, v, 95);
  const layer = built(spec, { units, dropout: rate, recurrentDropout: rate, seed, ...v }, inputDim, w);
  const x = tf.variable(rand([batch, time, inputDim], 96)) as tf.Variable<tf.Rank.R3>;
  const states = initialStates(spec, batch, units, 97).map((s) => tf.variable(s) as tf.Variable<tf.Rank.R2>);
  const coeff = rand([batch, time, units], 99);
  const weights = layer.trainableWeights.map((t) => t.read() as tf.Variable);
  const { masks } = layerMasks(spec, seed, 0, { batch, inputDim, units }, rate, rate);
  const variables = [...weights, x, ...states];
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(layer.apply(x, { training: true, initialState: stateArg(states) }) as tf.Tensor, coeff)) as tf.Scalar,
    variables,
  );
  const p = { ...arrays64(w), x: x.arraySync() as Seq, states: states.map((s) => s.arraySync()) };
  const m64 = masks64(masks);
  const c = coeff.arraySync() as Seq;
  const loss = () => sumOver(spec.reference64(p.x, p, v, p.states, m64).h, c);
  assert.ok(Math.abs(value.dataSync()[0] - loss()) < 1e-5, 'forward loss differs from the float64 reference');
  const targets: [string, unknown[]][] = [
    ['kernel', p.W],
    ['recurrentKernel', p.U],
    ['bias', p.b],
    ['x', p.x],
    ...spec.carried.map((s, i) => [`${s}0`, p.states[i]] as [string, unknown[]]),
  ];
  const byName: Record<string, tf.Tensor> = {};
  targets.forEach(([name, target], i) => {
    const analytic = flat((byName[name] = grads[variables[i].name]));
    const numeric = numericGradient(loss, target);
    assert.equal(analytic.length, numeric.length);
    assert.ok(
      numeric.some((g) => Math.abs(g) > 1e-2),
      `${name}: gradient is trivially small`,
    );
    numeric.forEach((g, j) =>
      assert.ok(Math.abs(analytic[j] - g) <= 2e-5 + 1e-4 * Math.abs(g), `${name}[${j}]: layer ${analytic[j]} vs numeric ${g}`),
    );
  });
  return byName;
}

/** Every combination of G per-gate mask entries, each 0 (dropped) or 2 (kept at rate 0.5). */
export const maskCombos = (gates: number) =>
  [...Array(2 ** gates).keys()].map((bits) => [...Array(gates).keys()].map((g) => ((bits >> g) & 1) * 2));

/** The smallest max-over-time gap between two rows. */
export function minPairwiseGap(rows: number[][]): number {
  let gap = Infinity;
  rows.forEach((a, p) => rows.slice(p + 1).forEach((b) => (gap = Math.min(gap, Math.max(...a.map((v, t) => Math.abs(v - b[t])))))));
  return gap;
}
