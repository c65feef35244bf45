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
import * as tf from '@tensorflow/tfjs-node';

// ---------------------------------------------------------------------------
// Types

/** A GRU's weights in Keras's layout (see the top of this file). */
export type GruWeights = {
  kernel: tf.Tensor2D;
  recurrentKernel: tf.Tensor2D;
  bias: tf.Tensor;
};

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

/** One tensor per gate block, in the order z, r, h. */
export type PerGate<T> = [T, T, T];

/** Dropout masks for one sequence, one per gate; null means "no dropout here". */
export type DropoutMasks = {
  input: PerGate<tf.Tensor2D> | null; // [batch, inputDim] each, multiplies x_t
  recurrent: PerGate<tf.Tensor2D> | null; // [batch, units] each, multiplies h_{t-1}
};

const NO_DROPOUT: DropoutMasks = { input: null, recurrent: null };

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

// Keras adds b_in and b_rec alike for z and r, so both fold into the input side;
// only the candidate's b_rec must wait, because r multiplies it.
function inputSideBias(bias: tf.Tensor, resetAfter: boolean): tf.Tensor1D {
  if (!resetAfter) return bias as tf.Tensor1D;
  const [inputBias, recurrentBias] = tf.unstack(bias) as tf.Tensor1D[];
  const [bz, br, bh] = tf.split(recurrentBias, 3);
  return inputBias.add(tf.concat([bz, br, tf.zerosLike(bh)]));
}

function cellParams(weights: GruWeights, resetAfter: boolean): CellParams {
  const u = weights.recurrentKernel;
  const units = unitsOf(weights);
  const perGateKernels = tf.split(u, 3, 1) as PerGate<tf.Tensor2D>;
  if (!resetAfter) {
    // reset-before needs r before it can touch Uh, so only [Uz | Ur] is fused
    return { resetAfter, perGateKernels, fusedKernel: u.slice([0, 0], [units, 2 * units]) };
  }
  const candidateBias = tf.split(tf.unstack(weights.bias)[1], 3)[2] as tf.Tensor1D;
  return { resetAfter, perGateKernels, fusedKernel: u, candidateBias };
}

// ---------------------------------------------------------------------------
// The recurrence

// x W + b for every timestep in ONE matmul: [batch, time, inputDim] -> [batch, time, 3*units].
// `bias` is the input-side bias (see inputSideBias).
function projectInputs(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  masks: PerGate<tf.Tensor2D> | null = null,
): tf.Tensor3D {
  const [batch, time, inputDim] = x.shape;
  const width = kernel.shape[1];
  if (masks === null) {
    return tf.matMul(x.reshape([batch * time, inputDim]), kernel).add(bias).reshape([batch, time, width]);
  }
  // Dropout gives each gate its own masked copy of x (the same mask at every step),
  // so the three gates become one batched matmul: [3, B*T, D] x [3, D, units].
  const maskedX = tf.stack(masks.map((m) => x.mul(m.expandDims(1)).reshape([batch * time, inputDim])));
  const gateKernels = tf.stack(tf.split(kernel, 3, 1));
  const perGate = tf.matMul(maskedX, gateKernels); // [3, B*T, units]
  return perGate.transpose([1, 0, 2]).reshape([batch, time, width]).add(bias);
}

// h_{t-1} U for the blocks that do not depend on r: one fused matmul, or one per gate
// when recurrent dropout hands each gate its own masked copy of h_{t-1}.
function recurrentTerms(
  hPrev: tf.Tensor2D,
  cell: CellParams,
  masks: PerGate<tf.Tensor2D> | null,
): tf.Tensor2D[] {
  const blocks = cell.resetAfter ? 3 : 2;
  if (masks === null) return tf.split(tf.matMul(hPrev, cell.fusedKernel), blocks, 1);
  return cell.perGateKernels.slice(0, blocks).map((uGate, g) => tf.matMul(hPrev.mul(masks[g]), uGate));
}

// One GRU step, given the input side xw_t = x_t W + b already computed (blocks z | r | h).
function gruCell(
  xw: tf.Tensor2D,
  hPrev: tf.Tensor2D,
  cell: CellParams,
  masks: PerGate<tf.Tensor2D> | null,
): GruStepResult {
  const [xz, xr, xh] = tf.split(xw, 3, 1);
  const [hUz, hUr, hUh] = recurrentTerms(hPrev, cell, masks);
  const z = tf.sigmoid(xz.add(hUz));
  const r = tf.sigmoid(xr.add(hUr));
  const candidate = cell.resetAfter
    ? tf.tanh(xh.add(r.mul(hUh.add(cell.candidateBias))))
    : tf.tanh(xh.add(tf.matMul(r.mul(masks ? hPrev.mul(masks[2]) : hPrev), cell.perGateKernels[2])));
  // Mix with the *unmasked* h_{t-1}, as Keras does: dropout only touches what feeds the matmuls.
  const h = z.mul(hPrev).add(tf.sub(1, z).mul(candidate));
  return { z, r, candidate, h } as GruStepResult;
}

// Loops the cell over time. Tensors in, tensors out, nothing hidden: this is the
// piece to wrap in tf.customGrad when a hand-written backward pass arrives.
function unroll(
  xw: tf.Tensor3D,
  h0: tf.Tensor2D,
  cell: CellParams,
  recurrentMasks: PerGate<tf.Tensor2D> | null,
): GruStepResult[] {
  const steps: GruStepResult[] = [];
  let h = h0;
  for (const xwT of tf.unstack(xw, 1) as tf.Tensor2D[]) {
    const step = gruCell(xwT, h, cell, recurrentMasks);
    steps.push(step);
    h = step.h;
  }
  return steps;
}

// The whole forward pass: check shapes, project all inputs at once, run the recurrence.
function runGru(
  x: tf.Tensor3D,
  weights: GruWeights,
  resetAfter: boolean,
  initialState: tf.Tensor2D | undefined,
  masks: DropoutMasks,
): GruStepResult[] {
  if (x.rank !== 3) fail(`x must be [batch, time, inputDim], got [${x.shape}]`);
  const [batch, time, inputDim] = x.shape;
  if (time < 1) fail('x has no timesteps');
  checkWeights(weights, inputDim, resetAfter);
  const units = unitsOf(weights);
  const h0 = initialState ?? tf.zeros([batch, units]);
  if (h0.shape[0] !== batch || h0.shape[1] !== units) {
    fail(`initialState is [${h0.shape}], expected [batch=${batch}, units=${units}]`);
  }
  const xw = projectInputs(x, weights.kernel, inputSideBias(weights.bias, resetAfter), masks.input);
  return unroll(xw, h0, cellParams(weights, resetAfter), masks.recurrent);
}

function stackOverTime(steps: GruStepResult[]): GruSequenceResult {
  const along = (pick: (s: GruStepResult) => tf.Tensor2D) => tf.stack(steps.map(pick), 1) as tf.Tensor3D;
  return { h: along((s) => s.h), z: along((s) => s.z), r: along((s) => s.r), candidate: along((s) => s.candidate) };
}

// ---------------------------------------------------------------------------
// Public functions

/** One GRU step by hand: x [batch, inputDim], hPrev [batch, units] -> z, r, candidate, h. */
export function gruStep(
  x: tf.Tensor2D,
  hPrev: tf.Tensor2D,
  weights: GruWeights,
  options: { resetAfter?: boolean } = {},
): GruStepResult {
  const resetAfter = options.resetAfter ?? true;
  return tf.tidy(() => {
    checkWeights(weights, x.shape[1], resetAfter);
    const xw = tf.add(tf.matMul(x, weights.kernel), inputSideBias(weights.bias, resetAfter)) as tf.Tensor2D;
    return gruCell(xw, hPrev, cellParams(weights, resetAfter), null);
  });
}

/** Runs a GRU over x [batch, time, inputDim]; returns h, z, r and candidate for every step. */
export function gruSequence(
  x: tf.Tensor3D,
  weights: { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor },
  options?: { resetAfter?: boolean; initialState?: tf.Tensor2D },
): { h: tf.Tensor3D; z: tf.Tensor3D; r: tf.Tensor3D; candidate: tf.Tensor3D } {
  const resetAfter = options?.resetAfter ?? true;
  return tf.tidy(() => stackOverTime(runGru(x, weights, resetAfter, options?.initialState, NO_DROPOUT)));
}

/** An inverted-dropout mask: 0 with probability `rate`, else 1 / (1 - rate), so E[mask] = 1. */
export function dropoutMask(shape: [number, number], rate: number, seed?: number): tf.Tensor2D {
  return tf.tidy(
    () => tf.randomUniform(shape, 0, 1, 'float32', seed).greaterEqual(rate).cast('float32').div(1 - rate) as tf.Tensor2D,
  );
}

// ---------------------------------------------------------------------------
// A tfjs layer with Keras's GRU semantics

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Constructor arguments of KerasGRU; defaults follow keras.layers.GRU. */
export interface KerasGRUArgs extends LayerArgs {
  units: number;
  resetAfter?: boolean; // default true
  dropout?: number; // fraction of x_t dropped, default 0
  recurrentDropout?: number; // fraction of h_{t-1} dropped, default 0
  returnSequences?: boolean; // default false: return only the last h
  seed?: number | null; // seed for the dropout masks
}

/** Keyword arguments `call` understands (tfjs passes `training` during model.fit). */
export type KerasGRUCallKwargs = {
  training?: boolean;
  initialState?: tf.Tensor | tf.Tensor[];
};

// Keras applies dropout only for 0 < rate < 1.
function isDropoutActive(rate: number): boolean {
  return rate > 0 && rate < 1;
}

function clampRate(rate: number | undefined): number {
  return Math.min(1, Math.max(0, rate ?? 0));
}

/** keras.layers.GRU for tfjs: resetAfter, sigmoid gates, Keras initialisers and per-gate dropout. */
export class KerasGRU extends tf.layers.Layer {
  static className = 'KerasGRU';

  readonly units: number;
  readonly resetAfter: boolean;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly returnSequences: boolean;
  readonly seed: number | null;

  private kernel: tf.LayerVariable | null = null;
  private recurrentKernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  private maskDraws = 0; // advances the seed so every call draws fresh, yet reproducible, masks

  constructor(args: KerasGRUArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units <= 0) fail(`units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.resetAfter = args.resetAfter ?? true;
    this.dropout = clampRate(args.dropout);
    this.recurrentDropout = clampRate(args.recurrentDropout);
    this.returnSequences = args.returnSequences ?? false;
    this.seed = args.seed ?? null;
    this.inputSpec = [new tf.InputSpec({ ndim: 3 })];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputDim = shape[shape.length - 1];
    if (inputDim == null) fail(`the last input dimension must be known, got [${shape}]`);
    const width = 3 * this.units;
    this.kernel = this.addWeight('kernel', [inputDim, width], 'float32', tf.initializers.glorotUniform({}));
    this.recurrentKernel = this.addWeight(
      'recurrent_kernel',
      [this.units, width],
      'float32',
      tf.initializers.orthogonal({}),
    );
    this.bias = this.addWeight('bias', this.resetAfter ? [2, width] : [width], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, time] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return this.returnSequences ? [batch, time, this.units] : [batch, this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: KerasGRUCallKwargs = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const masks = kwargs.training === true ? this.drawMasks(x.shape[0], x.shape[2]) : NO_DROPOUT;
      const steps = runGru(x, this.gruWeights(), this.resetAfter, initialStateOf(kwargs), masks);
      return this.returnSequences ? tf.stack(steps.map((s) => s.h), 1) : steps[steps.length - 1].h;
    });
  }

  /** The current weights in Keras's layout, ready for gruSequence / gruStep. */
  gruWeights(): GruWeights {
    if (!this.kernel || !this.recurrentKernel || !this.bias) {
      return fail(`layer ${this.name} is not built yet: call it or build its model first`);
    }
    return {
      kernel: this.kernel.read() as tf.Tensor2D,
      recurrentKernel: this.recurrentKernel.read() as tf.Tensor2D,
      bias: this.bias.read(),
    };
  }

  /** Reads out z_t, r_t, candidate_t and h_t for x [batch, time, inputDim] (inference: no dropout). */
  gates(x: tf.Tensor3D, initialState?: tf.Tensor2D): GruSequenceResult {
    return gruSequence(x, this.gruWeights(), { resetAfter: this.resetAfter, initialState });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      resetAfter: this.resetAfter,
      dropout: this.dropout,
      recurrentDropout: this.recurrentDropout,
      returnSequences: this.returnSequences,
      seed: this.seed,
    };
  }

  // Keras draws each mask once per sequence (i.e. per call), one per gate, only in training.
  private drawMasks(batch: number, inputDim: number): DropoutMasks {
    return {
      input: isDropoutActive(this.dropout) ? this.drawPerGate([batch, inputDim], this.dropout) : null,
      recurrent: isDropoutActive(this.recurrentDropout)
        ? this.drawPerGate([batch, this.units], this.recurrentDropout)
        : null,
    };
  }

  private drawPerGate(shape: [number, number], rate: number): PerGate<tf.Tensor2D> {
    const draw = () => dropoutMask(shape, rate, this.seed === null ? undefined : this.seed + this.maskDraws++);
    return [draw(), draw(), draw()];
  }
}
tf.serialization.registerClass(KerasGRU);

function initialStateOf(kwargs: KerasGRUCallKwargs): tf.Tensor2D | undefined {
  const state = kwargs.initialState;
  return (Array.isArray(state) ? state[0] : state) as tf.Tensor2D | undefined;
}

/** Factory in the style of tf.layers.*: kerasGru({units: 128}) is keras.layers.GRU(128). */
export function kerasGru(args: KerasGRUArgs): KerasGRU {
  return new KerasGRU(args);
}
