// A Gated Recurrent Unit written with plain tfjs ops, in Keras's weight layout,
// so weights move 1:1 between this course, tf.layers and Keras (Python).
//
//   kernel           W  [inputDim, 3*units]   gate blocks ordered z | r | h
//   recurrentKernel  U  [units,    3*units]   same block order
//   bias             b  [3*units]             resetAfter = false
//                       [2, 3*units]          resetAfter = true (row 0: input bias, row 1: recurrent bias)
//
//   z_t = sigmoid(x_t Wz + h_{t-1} Uz + bz)          update gate
//   r_t = sigmoid(x_t Wr + h_{t-1} Ur + br)          reset gate
//   candidate_t = tanh(x_t Wh + b_in,h + r_t * (h_{t-1} Uh + b_rec,h))   resetAfter = true  (Keras default, cuDNN)
//   candidate_t = tanh(x_t Wh + (r_t * h_{t-1}) Uh + bh)                 resetAfter = false (tf.layers.gru)
//   h_t = z_t * h_{t-1} + (1 - z_t) * candidate_t
//
// With resetAfter = true, z and r use b_in + b_rec, as Keras does.
//
// A gate may be held at a constant (fixedGates, not a Keras option; the course uses it to measure
// what each gate buys, notebook 05): reset 1 holds r_t = 1 (the candidate always sees all of h_{t-1}),
// reset 0 holds r_t = 0; update 0 holds z_t = 0 ("always write": h_t = candidate_t), update 1 holds
// z_t = 1 (h_t = h_{t-1}). The held gate's weights (its blocks of W, U and b) then do not reach the
// output and get zero gradient; they stay in the layout, so weights still move 1:1 to Keras.
//
// Two implementations of the same equations:
//   - gruStep / gruSequence / KerasGRU.gates() (here): plain tfjs ops, one step after another,
//     readable, differentiated by tfjs's autodiff;
//   - KerasGRU.call (the layer's forward and training pass): the recurrence unrolled into native
//     TensorFlow graphs with a hand-written backward pass (lib/engine/gru-graphs.ts), because tfjs-node
//     runs each op as a separate call and a GRU step is a dozen tiny ops (BENCHMARKS.md, "Why graphs").
// The tests check that both give the same outputs and gradients.
import * as tf from '@tensorflow/tfjs-node';
import type { GateMasks } from '../engine/dropout';
import { fastGru, type FixedGates, type GruWeights } from '../engine/gru-graphs';

export type { FixedGates, GruWeights };
import { KerasRecurrentLayer, type KerasRecurrentArgs, type RecurrentCallKwargs } from './recurrent-layer';

// ---------------------------------------------------------------------------
// Types

/** What one GRU step computes; each tensor is [batch, units]. */
export type GruStepResult = {
  z: tf.Tensor2D; // update gate: how much of h_{t-1} survives
  r: tf.Tensor2D; // reset gate: how much of h_{t-1} the candidate gets to see
  candidate: tf.Tensor2D; // the proposed new state
  h: tf.Tensor2D; // the new state
};

/** The same quantities for a whole sequence; each tensor is [batch, time, units]. */
export type GruSequenceResult = {
  h: tf.Tensor3D;
  z: tf.Tensor3D;
  r: tf.Tensor3D;
  candidate: tf.Tensor3D;
};

/**
 * The fixed gates in canonical form (keys in the order update, reset; absent ones left out), or null when no
 * gate is held. Throws a clear error for anything but { update?: 0 | 1, reset?: 0 | 1 }.
 */
export function normalizeFixedGates(value: unknown): FixedGates | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    fail(`fixedGates must be an object like { reset: 1 } or { update: 0 }, got ${JSON.stringify(value)}`);
  }
  const given = value as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => k !== 'update' && k !== 'reset');
  if (unknown.length > 0) fail(`fixedGates knows the gates "update" and "reset", not ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const out: FixedGates = {};
  for (const gate of ['update', 'reset'] as const) {
    const v = given[gate];
    if (v === undefined) continue;
    // Only 0 and 1: there sigmoid'(a) = g (1 - g) = 0, the derivative of a held gate, so the
    // hand-written backward pass of lib/engine/gru-graphs.ts needs no special case (and a half-open gate teaches nothing).
    if (v !== 0 && v !== 1) fail(`fixedGates.${gate} must be 0 or 1 (a gate held shut or open), got ${JSON.stringify(v)}`);
    out[gate] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** One tensor per gate block, in the order z, r, h. */
export type PerGate<T> = [T, T, T];

// The recurrent-side weights, cut once per sequence rather than once per step.
type CellParams = {
  perGateKernels: PerGate<tf.Tensor2D>; // Uz, Ur, Uh: [units, units] each
  fusedKernel: tf.Tensor2D; // what h_{t-1} meets in one matmul: all of U, or only [Uz | Ur]
} & ({ resetAfter: true; candidateBias: tf.Tensor1D } | { resetAfter: false });

// ---------------------------------------------------------------------------
// Shapes and bias bookkeeping

function unitsOf(weights: GruWeights): number {
  return weights.recurrentKernel.shape[0];
}

function fail(message: string): never {
  throw new Error(`gru: ${message}`);
}

function checkWeights(weights: GruWeights, inputDim: number, resetAfter: boolean): void {
  const units = unitsOf(weights);
  const [kRows, kCols] = weights.kernel.shape;
  const [uRows, uCols] = weights.recurrentKernel.shape;
  if (kRows !== inputDim || kCols !== 3 * units) {
    fail(`kernel is [${kRows}, ${kCols}], expected [inputDim=${inputDim}, 3*units=${3 * units}]`);
  }
  if (uCols !== 3 * uRows) fail(`recurrentKernel is [${uRows}, ${uCols}], expected [units, 3*units]`);
  const expected = resetAfter ? [2, 3 * units] : [3 * units];
  const got = weights.bias.shape;
  if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
    fail(
      `bias is [${got}], but resetAfter=${resetAfter} expects [${expected}]` +
        ` (resetAfter=true keeps input and recurrent biases as two rows)`,
    );
  }
}

// Checks x and the initial state against the weights; returns [batch, time, inputDim].
function checkInputs(x: tf.Tensor, weights: GruWeights, resetAfter: boolean, h0: tf.Tensor | undefined): number[] {
  if (x.rank !== 3) fail(`x must be [batch, time, inputDim], got [${x.shape}]`);
  const [batch, time, inputDim] = x.shape;
  if (time < 1) fail('x has no timesteps');
  checkWeights(weights, inputDim, resetAfter);
  const units = unitsOf(weights);
  if (h0 && (h0.rank !== 2 || h0.shape[0] !== batch || h0.shape[1] !== units)) {
    fail(`initialState is [${h0.shape}], expected [batch=${batch}, units=${units}]`);
  }
  return [batch, time, inputDim];
}

// Keras adds b_in and b_rec alike for z and r, so both fold into the input side;
// only the candidate's b_rec must wait, because r multiplies it.
function inputSideBias(bias: tf.Tensor, resetAfter: boolean): tf.Tensor1D {
  if (!resetAfter) return bias as tf.Tensor1D;
  const [inputBias, recurrentBias] = tf.unstack(bias) as tf.Tensor1D[];
  const [bz, br, bh] = tf.split(recurrentBias, 3);
  return inputBias.add(tf.concat([bz, br, tf.zerosLike(bh)]));
}

// The gate's value: held at a constant, or sigmoid(pre-activation).
function gateValue(preActivation: tf.Tensor2D, held: 0 | 1 | undefined): tf.Tensor2D {
  if (held === undefined) return tf.sigmoid(preActivation);
  return (held === 1 ? tf.onesLike(preActivation) : tf.zerosLike(preActivation)) as tf.Tensor2D;
}

function cellParams(weights: GruWeights, resetAfter: boolean): CellParams {
  const u = weights.recurrentKernel;
  const units = unitsOf(weights);
  const perGateKernels = tf.split(u, 3, 1) as PerGate<tf.Tensor2D>;
  if (!resetAfter) {
    // reset-before needs r before it can touch Uh, so only [Uz | Ur] is fused
    return { resetAfter: false, perGateKernels, fusedKernel: u.slice([0, 0], [units, 2 * units]) };
  }
  const candidateBias = tf.split(tf.unstack(weights.bias)[1], 3)[2] as tf.Tensor1D;
  return { resetAfter: true, perGateKernels, fusedKernel: u, candidateBias };
}

// ---------------------------------------------------------------------------
// The recurrence, step by step in plain tfjs ops (gruStep, gruSequence, gates())

// x W + b for every timestep in ONE matmul: [batch, time, inputDim] -> [batch, time, 3*units].
// `bias` is the input-side bias (see inputSideBias).
function projectInputs(x: tf.Tensor3D, kernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor3D {
  const [batch, time, inputDim] = x.shape;
  const width = kernel.shape[1];
  return tf
    .matMul(x.reshape([batch * time, inputDim]), kernel)
    .add(bias)
    .reshape([batch, time, width]);
}

// One GRU step, given the input side xw_t = x_t W + b already computed (blocks z | r | h).
function gruCell(xw: tf.Tensor2D, hPrev: tf.Tensor2D, cell: CellParams, fixed: FixedGates = {}): GruStepResult {
  const [xz, xr, xh] = tf.split(xw, 3, 1);
  // h_{t-1} U for the blocks that do not depend on r, in one fused matmul
  const [hUz, hUr, hUh] = tf.split(tf.matMul(hPrev, cell.fusedKernel), cell.resetAfter ? 3 : 2, 1);
  const z = gateValue(xz.add(hUz), fixed.update);
  const r = gateValue(xr.add(hUr), fixed.reset);
  const candidate = cell.resetAfter
    ? tf.tanh(xh.add(r.mul(hUh.add(cell.candidateBias))))
    : tf.tanh(xh.add(tf.matMul(r.mul(hPrev), cell.perGateKernels[2])));
  const h = z.mul(hPrev).add(tf.sub(1, z).mul(candidate));
  return { z, r, candidate, h } as GruStepResult;
}

// Loops the cell over time.
function unroll(xw: tf.Tensor3D, h0: tf.Tensor2D, cell: CellParams, fixed: FixedGates): GruStepResult[] {
  const steps: GruStepResult[] = [];
  let h = h0;
  for (const xwT of tf.unstack(xw, 1) as tf.Tensor2D[]) {
    const step = gruCell(xwT, h, cell, fixed);
    steps.push(step);
    h = step.h;
  }
  return steps;
}

function stackOverTime(steps: GruStepResult[]): GruSequenceResult {
  const along = (pick: (s: GruStepResult) => tf.Tensor2D) => tf.stack(steps.map(pick), 1) as tf.Tensor3D;
  return { h: along((s) => s.h), z: along((s) => s.z), r: along((s) => s.r), candidate: along((s) => s.candidate) };
}

// ---------------------------------------------------------------------------
// Public functions

/** One GRU step by hand: x [batch, inputDim], hPrev [batch, units] -> z, r, candidate, h (fixedGates: gates held, see the top). */
export function gruStep(
  x: tf.Tensor2D,
  hPrev: tf.Tensor2D,
  weights: GruWeights,
  options: { resetAfter?: boolean; fixedGates?: FixedGates } = {},
): GruStepResult {
  const resetAfter = options.resetAfter ?? true;
  const fixed = normalizeFixedGates(options.fixedGates) ?? {};
  return tf.tidy(() => {
    checkWeights(weights, x.shape[1], resetAfter);
    const xw = tf.add(tf.matMul(x, weights.kernel), inputSideBias(weights.bias, resetAfter)) as tf.Tensor2D;
    return gruCell(xw, hPrev, cellParams(weights, resetAfter), fixed);
  });
}

/** Runs a GRU over x [batch, time, inputDim]; returns h, z, r and candidate for every step. */
export function gruSequence(
  x: tf.Tensor3D,
  weights: { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor },
  options?: { resetAfter?: boolean; initialState?: tf.Tensor2D; fixedGates?: FixedGates },
): { h: tf.Tensor3D; z: tf.Tensor3D; r: tf.Tensor3D; candidate: tf.Tensor3D } {
  const resetAfter = options?.resetAfter ?? true;
  const fixed = normalizeFixedGates(options?.fixedGates) ?? {};
  return tf.tidy(() => {
    const [batch] = checkInputs(x, weights, resetAfter, options?.initialState);
    const h0 = options?.initialState ?? tf.zeros([batch, unitsOf(weights)]);
    const xw = projectInputs(x, weights.kernel, inputSideBias(weights.bias, resetAfter));
    return stackOverTime(unroll(xw, h0 as tf.Tensor2D, cellParams(weights, resetAfter), fixed));
  });
}

// ---------------------------------------------------------------------------
// A tfjs layer with Keras's GRU semantics

/** Constructor arguments of KerasGRU; defaults follow keras.layers.GRU (lib/cells/recurrent-layer.ts has the shared ones). */
export interface KerasGRUArgs extends KerasRecurrentArgs {
  resetAfter?: boolean; // default true
  fixedGates?: FixedGates; // not in Keras: gates held at 0 or 1 (see the top of this file), default none
}

/** Keyword arguments `call` understands (tfjs passes `training` during model.fit). */
export type KerasGRUCallKwargs = RecurrentCallKwargs;

/**
 * keras.layers.GRU for tfjs: resetAfter, sigmoid gates, Keras's initialisers (given, or its defaults) and
 * per-gate dropout (lib/cells/recurrent-layer.ts, lib/engine/dropout.ts); call runs the native graphs of lib/engine/gru-graphs.ts.
 */
export class KerasGRU extends KerasRecurrentLayer {
  static className = 'KerasGRU';

  readonly resetAfter: boolean;
  /** The gates held at a constant, or null (the GRU of the equations). */
  readonly fixedGates: FixedGates | null;
  protected readonly gateBlocks = 3;
  protected readonly stateCount = 1;

  constructor(args: KerasGRUArgs) {
    super(args);
    this.resetAfter = args.resetAfter ?? true;
    this.fixedGates = normalizeFixedGates(args.fixedGates);
  }

  protected fail(message: string): never {
    return fail(message);
  }

  protected biasShape(): number[] {
    return this.resetAfter ? [2, 3 * this.units] : [3 * this.units];
  }

  protected checkInputs(x: tf.Tensor, weights: GruWeights): void {
    checkInputs(x, weights, this.resetAfter, undefined);
  }

  protected recur(x: tf.Tensor3D, weights: GruWeights, [h0]: tf.Tensor2D[], masks: GateMasks): tf.Tensor {
    return fastGru(x, weights, h0, {
      resetAfter: this.resetAfter,
      returnSequences: this.returnSequences,
      masks,
      ...(this.fixedGates ? { fixedGates: this.fixedGates } : {}),
    });
  }

  /** The current weights in Keras's layout, ready for gruSequence / gruStep. */
  gruWeights(): GruWeights {
    return this.layerWeights();
  }

  /** Reads out z_t, r_t, candidate_t and h_t for x [batch, time, inputDim] (inference: no dropout). */
  gates(x: tf.Tensor3D, initialState?: tf.Tensor2D): GruSequenceResult {
    return gruSequence(x, this.gruWeights(), { resetAfter: this.resetAfter, initialState, fixedGates: this.fixedGates ?? undefined });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      resetAfter: this.resetAfter,
      // only when a gate is held, so the saved config of the GRU of the equations stays as it was
      ...(this.fixedGates ? { fixedGates: { ...this.fixedGates } } : {}),
    };
  }
}
tf.serialization.registerClass(KerasGRU);

/** Factory in the style of tf.layers.*: kerasGru({units: 128}) is keras.layers.GRU(128). */
export function kerasGru(args: KerasGRUArgs): KerasGRU {
  return new KerasGRU(args);
}
