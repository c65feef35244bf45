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
// Two implementations of the same equations live here:
//   - gruStep / gruSequence / KerasGRU.gates(): plain tfjs ops, one step after another, readable,
//     differentiated by tfjs's autodiff;
//   - KerasGRU.call (the layer's forward and training pass): the recurrence unrolled into native
//     TensorFlow graphs with a hand-written backward pass (see "The fast path" below), because
//     tfjs-node runs each op as a separate ~10 µs call and a GRU step is a dozen tiny ops.
// The tests check that both give the same outputs and gradients.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
  return tf.matMul(x.reshape([batch * time, inputDim]), kernel).add(bias).reshape([batch, time, width]);
}

// One GRU step, given the input side xw_t = x_t W + b already computed (blocks z | r | h).
function gruCell(xw: tf.Tensor2D, hPrev: tf.Tensor2D, cell: CellParams): GruStepResult {
  const [xz, xr, xh] = tf.split(xw, 3, 1);
  // h_{t-1} U for the blocks that do not depend on r, in one fused matmul
  const [hUz, hUr, hUh] = tf.split(tf.matMul(hPrev, cell.fusedKernel), cell.resetAfter ? 3 : 2, 1);
  const z = tf.sigmoid(xz.add(hUz));
  const r = tf.sigmoid(xr.add(hUr));
  const candidate = cell.resetAfter
    ? tf.tanh(xh.add(r.mul(hUh.add(cell.candidateBias))))
    : tf.tanh(xh.add(tf.matMul(r.mul(hPrev), cell.perGateKernels[2])));
  const h = z.mul(hPrev).add(tf.sub(1, z).mul(candidate));
  return { z, r, candidate, h } as GruStepResult;
}

// Loops the cell over time.
function unroll(xw: tf.Tensor3D, h0: tf.Tensor2D, cell: CellParams): GruStepResult[] {
  const steps: GruStepResult[] = [];
  let h = h0;
  for (const xwT of tf.unstack(xw, 1) as tf.Tensor2D[]) {
    const step = gruCell(xwT, h, cell);
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
    return gruCell(xw, hPrev, cellParams(weights, resetAfter));
  });
}

/** Runs a GRU over x [batch, time, inputDim]; returns h, z, r and candidate for every step. */
export function gruSequence(
  x: tf.Tensor3D,
  weights: { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor },
  options?: { resetAfter?: boolean; initialState?: tf.Tensor2D },
): { h: tf.Tensor3D; z: tf.Tensor3D; r: tf.Tensor3D; candidate: tf.Tensor3D } {
  const resetAfter = options?.resetAfter ?? true;
  return tf.tidy(() => {
    const [batch] = checkInputs(x, weights, resetAfter, options?.initialState);
    const h0 = options?.initialState ?? tf.zeros([batch, unitsOf(weights)]);
    const xw = projectInputs(x, weights.kernel, inputSideBias(weights.bias, resetAfter));
    return stackOverTime(unroll(xw, h0 as tf.Tensor2D, cellParams(weights, resetAfter)));
  });
}

/** An inverted-dropout mask: 0 with probability `rate`, else 1 / (1 - rate), so E[mask] = 1. */
export function dropoutMask(shape: [number, number], rate: number, seed?: number): tf.Tensor2D {
  return tf.tidy(
    () => tf.randomUniform(shape, 0, 1, 'float32', seed).greaterEqual(rate).cast('float32').div(1 - rate) as tf.Tensor2D,
  );
}

// ---------------------------------------------------------------------------
// The fast path: the recurrence as native TensorFlow graphs
//
// tfjs-node runs every op eagerly, one call from JavaScript into TensorFlow each (~10 µs), while
// the arithmetic of a [32, 128] elementwise op takes ~1 µs: a GRU step of a dozen small ops is
// almost all call overhead, ~500 times per sequence, forward and backward. Keras avoids this by
// running the loop as one compiled graph; so does this layer:
//   - the steps are unrolled, in chunks of up to MAX_CHUNK steps, into a TensorFlow GraphDef written
//     here as protobuf bytes, loaded once through tfjs-node's SavedModel loader, and run with one
//     session call per chunk (TensorFlow's executor costs ~1 µs per op, not ~10);
//   - a chunk's graph holds the forward pass (input projection, the steps, the stacks of h, z, r,
//     candidate the backward pass needs) and the hand-written backward pass (the steps in reverse,
//     then the weight gradients as a few big matmuls per block of BLOCK steps, which TensorFlow
//     overlaps with the steps still running);
//   - tf.customGrad makes the chunks one differentiable op, so model.fit, optimizer.minimize and
//     tf.grad work as before. The tests check outputs and gradients against the plain equations.

// ---- protobuf encoding: just the fields GraphDef and SavedModel need

type Bytes = Uint8Array;

function varint(value: number | bigint | boolean): number[] {
  let v = BigInt.asUintN(64, BigInt(value)); // negative int64s take 10 bytes, as protobuf wants
  const out: number[] = [];
  for (; v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
  out.push(Number(v));
  return out;
}

function varintField(field: number, value: number | bigint | boolean): Bytes {
  return Uint8Array.from([...varint(field << 3), ...varint(value)]);
}

function bytesField(field: number, payload: Bytes | string): Bytes {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(body.length)]), body]);
}

const DATA_TYPE = { float32: 1, int32: 3 } as const; // tensorflow.DataType
type GraphDType = keyof typeof DATA_TYPE;

/** A node attribute: a dtype, an int, a bool, or a small constant tensor. */
type AttrValue = { type: GraphDType } | { i: number } | { b: boolean } | { tensor: { dtype: GraphDType; shape: number[]; values: number[] } };

function encodeAttr(a: AttrValue): Bytes {
  if ('type' in a) return varintField(6, DATA_TYPE[a.type]);
  if ('i' in a) return varintField(3, a.i);
  if ('b' in a) return varintField(5, a.b);
  const { dtype, shape, values } = a.tensor;
  const dims = Buffer.concat(shape.map((d) => bytesField(2, varintField(1, d))));
  const content = dtype === 'int32' ? Uint8Array.from(values.flatMap((v) => varint(v))) : new Uint8Array(Float32Array.from(values).buffer);
  const tensor = Buffer.concat([varintField(1, DATA_TYPE[dtype]), bytesField(2, dims), bytesField(dtype === 'int32' ? 7 : 5, content)]);
  return bytesField(8, tensor);
}

// ---- a graph builder: each method adds a node and returns a reference to its output(s)

/** One output of a node in a Graph: "name" or "name:k". */
type Ref = string & { readonly __graphRef: never };

const FLOAT: Record<string, AttrValue> = { T: { type: 'float32' } };

class Graph {
  private readonly nodes: Bytes[] = [];
  private readonly names = new Set<string>();
  private readonly opCounts = new Map<string, number>();

  // `name` for inputs and outputs (fed and fetched by name); ops get numbered names
  private node(op: string, inputs: Ref[], attrs: Record<string, AttrValue>, name?: string): string {
    while (name === undefined || this.names.has(name)) {
      const k = (this.opCounts.get(op) ?? 0) + 1;
      this.opCounts.set(op, k);
      name = `${op}_${k}`;
    }
    this.names.add(name);
    const parts = [bytesField(1, name), bytesField(2, op), ...inputs.map((i) => bytesField(3, i))];
    for (const [key, value] of Object.entries(attrs)) {
      parts.push(bytesField(5, Buffer.concat([bytesField(1, key), bytesField(2, encodeAttr(value))])));
    }
    this.nodes.push(Buffer.concat(parts));
    return name;
  }

  /** A float32 input fed at run time. */
  input(name: string): Ref {
    if (this.names.has(name)) fail(`graph input ${name} defined twice`);
    return this.node('Placeholder', [], { dtype: { type: 'float32' } }, name) as Ref;
  }

  /** A float32 result fetched at run time under a fixed name (it can also be fed, which cuts off what computes it). */
  output(name: string, value: Ref): Ref {
    if (this.names.has(name)) fail(`graph output ${name} defined twice`);
    return this.node('Identity', [value], FLOAT, name) as Ref;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  op(op: string, inputs: Ref[], attrs: Record<string, AttrValue> = FLOAT): Ref {
    return this.node(op, inputs, attrs) as Ref;
  }

  ops(op: string, inputs: Ref[], count: number, attrs: Record<string, AttrValue>): Ref[] {
    const name = this.node(op, inputs, attrs);
    return Array.from({ length: count }, (_, k) => (k === 0 ? name : `${name}:${k}`) as Ref);
  }

  ints(values: number[], shape: number[] = [values.length]): Ref {
    return this.op('Const', [], { dtype: { type: 'int32' }, value: { tensor: { dtype: 'int32', shape, values } } });
  }

  floats(values: number[]): Ref {
    return this.op('Const', [], { dtype: { type: 'float32' }, value: { tensor: { dtype: 'float32', shape: [values.length], values } } });
  }

  /** The graph as a SavedModel (saved_model.pb) with one meta graph tagged "serve". */
  savedModel(): Bytes {
    const versions = bytesField(4, varintField(1, 1000)); // producer: any version newer than the legacy upgrades
    const graphDef = Buffer.concat([...this.nodes.map((n) => bytesField(1, n)), versions]);
    const metaGraph = Buffer.concat([bytesField(1, bytesField(4, 'serve')), bytesField(2, graphDef)]);
    return Buffer.concat([varintField(1, 1), bytesField(2, metaGraph)]);
  }
}

// The handful of TensorFlow ops the GRU graphs use, with their attributes filled in.
function graphOps(g: Graph) {
  const binary = (op: string) => (a: Ref, b: Ref) => g.op(op, [a, b]);
  const unary = (op: string) => (a: Ref) => g.op(op, [a]);
  const scalarInt = (v: number) => g.ints([v], []);
  return {
    add: binary('AddV2'),
    sub: binary('Sub'),
    mul: binary('Mul'),
    sigmoid: unary('Sigmoid'),
    tanh: unary('Tanh'),
    addN: (xs: Ref[]) => (xs.length === 1 ? xs[0] : g.op('AddN', xs, { ...FLOAT, N: { i: xs.length } })),
    biasAdd: binary('BiasAdd'), // after a MatMul, TensorFlow fuses the two
    sigmoidGrad: binary('SigmoidGrad'), // (y, dy) -> dy * y * (1 - y)
    tanhGrad: binary('TanhGrad'), // (y, dy) -> dy * (1 - y^2)
    matMul: (a: Ref, b: Ref, transposeA = false, transposeB = false) =>
      g.op('MatMul', [a, b], { ...FLOAT, transpose_a: { b: transposeA }, transpose_b: { b: transposeB } }),
    split: (x: Ref, axis: number, n: number) => g.ops('Split', [scalarInt(axis), x], n, { ...FLOAT, num_split: { i: n } }),
    unstack: (x: Ref, n: number, axis: number) => g.ops('Unpack', [x], n, { ...FLOAT, num: { i: n }, axis: { i: axis } }),
    stack: (xs: Ref[], axis: number) => g.op('Pack', xs, { ...FLOAT, N: { i: xs.length }, axis: { i: axis } }),
    concat: (xs: Ref[], axis: number) => g.op('ConcatV2', [...xs, scalarInt(axis)], { ...FLOAT, N: { i: xs.length }, Tidx: { type: 'int32' } }),
    reshape: (x: Ref, shape: number[]) => g.op('Reshape', [x, g.ints(shape)], { ...FLOAT, Tshape: { type: 'int32' } }),
    expandDims: (x: Ref, axis: number) => g.op('ExpandDims', [x, scalarInt(axis)], { ...FLOAT, Tdim: { type: 'int32' } }),
    slice: (x: Ref, begin: number[], size: number[]) => g.op('Slice', [x, g.ints(begin), g.ints(size)], { ...FLOAT, Index: { type: 'int32' } }),
    sum: (x: Ref, axes: number[]) => g.op('Sum', [x, g.ints(axes)], { ...FLOAT, Tidx: { type: 'int32' }, keep_dims: { b: false } }),
  };
}
type GraphOps = ReturnType<typeof graphOps>;

// ---- loading and running graphs through tfjs-node's SavedModel session

// The two public methods of tfjs-node's backend (NodeJSKernelBackend) used here.
type SessionBackend = {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(id: number, inputs: tf.Tensor[], inputInfos: Array<{ name: string }>, outputs: string[]): tf.Tensor[];
};

/** A loaded graph: feed tensors by node name, fetch the named outputs; TensorFlow runs only what they need. */
type CompiledGraph = (inputs: Record<string, tf.Tensor>, outputs: string[]) => tf.Tensor[];

function sessionBackend(): SessionBackend {
  const backend = tf.backend() as unknown as Partial<SessionBackend>;
  if (typeof backend.loadSavedModelMetaGraph !== 'function' || typeof backend.runSavedModel !== 'function') {
    fail(`the fast GRU needs tfjs-node's native "tensorflow" backend, not "${tf.getBackend()}"`);
  }
  return backend as SessionBackend;
}

function compileGraph(graph: Graph): CompiledGraph {
  const backend = sessionBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gru-graph-'));
  let sessionId: number;
  try {
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), graph.savedModel());
    sessionId = backend.loadSavedModelMetaGraph(dir, 'serve'); // the session keeps the graph; the file can go
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return (inputs, outputs) => {
    const names = Object.keys(inputs);
    for (const name of [...names, ...outputs]) if (!graph.has(name)) fail(`the graph has no node ${name}`);
    const infos = names.map((name) => ({ name: `${name}:0` }));
    return backend.runSavedModel(sessionId, Object.values(inputs), infos, outputs.map((name) => `${name}:0`));
  };
}

// ---- the GRU's chunk graphs
//
// Inside the graphs everything is time-major ([K, batch, .]): a step's slice of a stack is then
// contiguous memory, so unstacking costs no copy and stacking is a plain copy.

/** What fixes a chunk graph's structure (the batch size is left open). */
type ChunkSpec = {
  steps: number; // K, the unrolled length
  units: number;
  inputDim: number;
  resetAfter: boolean;
  inputDropout: boolean; // per-gate masks on x_t
  recurrentDropout: boolean; // per-gate masks on h_{t-1}
  sequences: boolean; // backward: does every h_t receive a gradient (returnSequences), or only h_T?
};

// What the forward pass saves for the backward one, each [K, batch, units]:
// h_t, z_t, r_t, candidate_t, and n_t = h_{t-1} Uh + b_rec,h (resetAfter only).
const SAVED = ['H', 'Z', 'R', 'C', 'N'] as const;
type SavedName = (typeof SAVED)[number];
function savedNames(resetAfter: boolean): SavedName[] {
  return resetAfter ? [...SAVED] : SAVED.filter((n) => n !== 'N');
}

const GATES = [0, 1, 2] as const; // z, r, h

// The weights as the equations use them: per-gate blocks, and the biases split the way Keras adds them.
function graphWeights(o: GraphOps, g: Graph, spec: ChunkSpec) {
  const { units, resetAfter } = spec;
  const W = g.input('W');
  const U = g.input('U');
  const bias = g.input('bias');
  let inputBias = bias; // [3u]: Keras adds b_rec to b_in for z and r
  let candidateBias: Ref | null = null; // [u]: b_rec,h, which the reset gate multiplies
  if (resetAfter) {
    const [bIn, bRec] = o.unstack(bias, 2, 0);
    inputBias = o.add(bIn, o.mul(bRec, g.floats([...Array(2 * units).fill(1), ...Array(units).fill(0)])));
    candidateBias = o.slice(bRec, [2 * units], [units]);
  }
  return {
    W,
    U,
    Wg: o.split(W, 1, 3), // [inputDim, u] each
    Ug: o.split(U, 1, 3), // [u, u] each
    Uzr: o.slice(U, [0, 0], [-1, 2 * units]), // the blocks reset-before can fuse
    inputBiasG: o.split(inputBias, 0, 3),
    candidateBias,
  };
}
type GraphWeights = ReturnType<typeof graphWeights>;

// Per-gate masks [batch, width] (null: no dropout).
function gateMasks(o: GraphOps, masks: Ref | null): Ref[] | null {
  return masks ? o.unstack(masks, 3, 0) : null;
}

// Steps per block: the big matmuls (input projection, weight gradients) run per block of steps,
// so TensorFlow can overlap them with the step-by-step loop on another core.
const BLOCK = 16;

// A chunk's steps as blocks of `size` (K and BLOCK are powers of two, so blocks tile the chunk).
function blocksOf(steps: number): { count: number; size: number } {
  const size = Math.min(steps, BLOCK);
  return { count: steps / size, size };
}

// Splits a time-major [K, B, w] tensor into its blocks [size, B, w] without copying.
function timeBlocks(o: GraphOps, t: Ref, steps: number, width: number): Ref[] {
  const { count, size } = blocksOf(steps);
  return count === 1 ? [t] : o.unstack(o.reshape(t, [count, size, -1, width]), count, 0);
}

// x_t W_g + b_g for every step of the chunk, per gate: K tensors [batch, u] each, one matmul per gate and block.
function graphProjection(o: GraphOps, spec: ChunkSpec, x: Ref, w: GraphWeights, inputMasks: Ref[] | null): Ref[][] {
  const { units, inputDim } = spec;
  const { size } = blocksOf(spec.steps);
  const xBlocks = timeBlocks(o, x, spec.steps, inputDim);
  return GATES.map((gate) =>
    xBlocks.flatMap((xb) => {
      const xg = inputMasks ? o.mul(xb, inputMasks[gate]) : xb; // [size, B, D] * [B, D]
      const projected = o.biasAdd(o.matMul(o.reshape(xg, [-1, inputDim]), w.Wg[gate]), w.inputBiasG[gate]);
      return o.unstack(o.reshape(projected, [size, -1, units]), size, 0);
    }),
  );
}

// What the forward and backward parts of a chunk graph share: the input x [K, B, D], the weights, the masks.
type Shared = { x: Ref; w: GraphWeights; inputMasks: Ref[] | null; recMasks: Ref[] | null };

// Forward: h0 -> K steps -> hT, and the stacks the backward part needs (outputs named as in SAVED).
function addForward(g: Graph, o: GraphOps, spec: ChunkSpec, { x, w, inputMasks, recMasks }: Shared): Record<SavedName, Ref> {
  const { steps: K, units, resetAfter } = spec;
  const h0 = g.input('h0');
  const [xz, xr, xh] = graphProjection(o, spec, x, w, inputMasks);
  const candidateBias3 = resetAfter ? o.concat([g.floats(Array(2 * units).fill(0)), w.candidateBias as Ref], 0) : null;
  // h_{t-1} U_g for the gates that do not wait for r (z, r; and h when resetAfter), n_t including b_rec,h
  const recurrentTerms = (h: Ref): Ref[] => {
    if (recMasks) {
      const terms = GATES.slice(0, resetAfter ? 3 : 2).map((gate) => o.matMul(o.mul(h, recMasks[gate]), w.Ug[gate]));
      if (resetAfter) terms[2] = o.biasAdd(terms[2], w.candidateBias as Ref);
      return terms;
    }
    if (resetAfter) return o.split(o.biasAdd(o.matMul(h, w.U), candidateBias3 as Ref), 1, 3);
    return o.split(o.matMul(h, w.Uzr), 1, 2);
  };

  const saved: Record<SavedName, Ref[]> = { H: [], Z: [], R: [], C: [], N: [] };
  let h = h0;
  for (let t = 0; t < K; t++) {
    const [hUz, hUr, n] = recurrentTerms(h);
    const z = o.sigmoid(o.add(xz[t], hUz));
    const r = o.sigmoid(o.add(xr[t], hUr));
    let candidate: Ref;
    if (resetAfter) {
      saved.N.push(n);
      candidate = o.tanh(o.add(xh[t], o.mul(r, n)));
    } else {
      const hForCandidate = recMasks ? o.mul(h, recMasks[2]) : h;
      candidate = o.tanh(o.add(xh[t], o.matMul(o.mul(r, hForCandidate), w.Ug[2])));
    }
    // = z h + (1 - z) candidate, with the *unmasked* h_{t-1}, as Keras does: dropout only touches what feeds the matmuls
    h = o.add(candidate, o.mul(z, o.sub(h, candidate)));
    saved.H.push(h);
    saved.Z.push(z);
    saved.R.push(r);
    saved.C.push(candidate);
  }
  g.output('hT', h);
  const stacks = {} as Record<SavedName, Ref>;
  for (const name of savedNames(resetAfter)) stacks[name] = g.output(name, o.stack(saved[name], 0));
  return stacks;
}

// Backward: from the saved stacks (fed back in) and dL/dh_T, the gradients of x, the weights and h0.
function addBackward(g: Graph, o: GraphOps, spec: ChunkSpec, { x, w, inputMasks, recMasks }: Shared, stacks: Record<SavedName, Ref>): void {
  const { steps: K, units, inputDim, resetAfter } = spec;
  const hStart = g.input('hStart'); // h before the chunk's first step
  const gradIn = g.input('gradIn'); // dL/dh at the chunk's last step, from the steps after it
  const perStep = (n: SavedName) => o.unstack(stacks[n], K, 0);
  const [H, Z, R, C] = (['H', 'Z', 'R', 'C'] as const).map(perStep);
  const N = resetAfter ? perStep('N') : null;
  const dOut = spec.sequences ? o.unstack(g.input('dH'), K, 0) : null; // gradients of the outputs h_t
  // the transpose of the forward's recurrentTerms: sum over gates of mask_g * (d_g U_g^T)
  const recurrentTermsGrad = (ds: Ref[]): Ref[] => {
    if (recMasks) return ds.map((d, gate) => o.mul(o.matMul(d, w.Ug[gate], false, true), recMasks[gate]));
    return [o.matMul(o.concat(ds, 1), resetAfter ? w.U : w.Uzr, false, true)];
  };

  // d loss / d pre-activations of z, r, candidate (= d loss / d (x_t W_g + b_g)), and d loss / d n_t
  const dZ: Ref[] = [], dR: Ref[] = [], dC: Ref[] = [], dN: Ref[] = [];
  let grad = gradIn;
  for (let t = K - 1; t >= 0; t--) {
    const hPrev = t > 0 ? H[t - 1] : hStart;
    if (dOut) grad = o.add(grad, dOut[t]);
    const [z, r, c] = [Z[t], R[t], C[t]];
    const gz = o.mul(grad, z);
    const dz = o.sigmoidGrad(z, o.mul(grad, o.sub(hPrev, c))); // h = z h_prev + (1 - z) c
    const dc = o.tanhGrad(c, o.sub(grad, gz));
    let dr: Ref;
    let terms: Ref[];
    if (resetAfter) {
      const dn = o.mul(dc, r); // c = tanh(xh + r n)
      dr = o.sigmoidGrad(r, o.mul(dc, (N as Ref[])[t]));
      dN[t] = dn;
      terms = recurrentTermsGrad([dz, dr, dn]);
    } else {
      const dq = o.matMul(dc, w.Ug[2], false, true); // c = tanh(xh + q Uh), q = r * (h_prev * m_h)
      const hForCandidate = recMasks ? o.mul(hPrev, recMasks[2]) : hPrev;
      dr = o.sigmoidGrad(r, o.mul(dq, hForCandidate));
      const viaCandidate = o.mul(r, dq);
      terms = [...recurrentTermsGrad([dz, dr]), recMasks ? o.mul(viaCandidate, recMasks[2]) : viaCandidate];
    }
    dZ[t] = dz;
    dR[t] = dr;
    dC[t] = dc;
    grad = o.addN([gz, ...terms]);
  }

  // The weight gradients, a few big matmuls per block of steps over [size*batch, .] rows; each block's
  // can start as soon as the loop has passed it.
  const rows = (t: Ref, width: number) => o.reshape(t, [-1, width]);
  const { count, size } = blocksOf(K);
  const xBlocks = timeBlocks(o, x, K, inputDim);
  const parts = Array.from({ length: count }, (_, b) => {
    const span = Array.from({ length: size }, (_, i) => b * size + i);
    const block = (refs: Ref[]) => rows(o.stack(span.map((t) => refs[t]), 0), units);
    const dPre = [dZ, dR, dC].map(block); // what multiplies W_g (and U_g for z, r)
    const dRec = [dPre[0], dPre[1], resetAfter ? block(dN) : dPre[2]]; // what multiplies U_g
    const hPrev = o.stack(span.map((t) => (t > 0 ? H[t - 1] : hStart)), 0);
    const recurrentInput = (gate: number): Ref => {
      let s = recMasks ? o.mul(hPrev, recMasks[gate]) : hPrev;
      if (gate === 2 && !resetAfter) s = o.mul(s, o.stack(span.map((t) => R[t]), 0)); // q = r * h_prev (* m_h)
      return rows(s, units);
    };
    const xRows = GATES.map((gate) => rows(inputMasks ? o.mul(xBlocks[b], inputMasks[gate]) : xBlocks[b], inputDim));
    const dX = inputMasks
      ? o.addN(GATES.map((gate) => o.mul(o.reshape(o.matMul(dPre[gate], w.Wg[gate], false, true), [size, -1, inputDim]), inputMasks[gate])))
      : o.reshape(o.matMul(o.concat(dPre, 1), w.W, false, true), [size, -1, inputDim]);
    const sumRows = (d: Ref) => o.sum(d, [0]);
    const dInputBias = o.concat(dPre.map(sumRows), 0);
    return {
      dX,
      dW: o.concat(GATES.map((gate) => o.matMul(xRows[gate], dPre[gate], true, false)), 1),
      dU: o.concat(GATES.map((gate) => o.matMul(recurrentInput(gate), dRec[gate], true, false)), 1),
      dBias: resetAfter ? o.stack([dInputBias, o.concat(dRec.map(sumRows), 0)], 0) : dInputBias,
    };
  });
  const dX = count === 1 ? parts[0].dX : o.concat(parts.map((p) => p.dX), 0);
  const [dW, dU, dBias] = (['dW', 'dU', 'dBias'] as const).map((k) => o.addN(parts.map((p) => p[k])));

  g.output('dX', dX);
  g.output('dW', dW);
  g.output('dU', dU);
  g.output('dBias', dBias);
  g.output('dh0', grad);
}

/** The graph of one chunk of K steps: forward (x, h0 -> hT and saved stacks) and backward (feed the stacks back). */
function chunkGraph(spec: ChunkSpec): Graph {
  const g = new Graph();
  const o = graphOps(g);
  const shared: Shared = {
    x: g.input('x'), // [K, B, D]
    w: graphWeights(o, g, spec),
    inputMasks: gateMasks(o, spec.inputDropout ? g.input('inputMasks') : null),
    recMasks: gateMasks(o, spec.recurrentDropout ? g.input('recurrentMasks') : null),
  };
  addBackward(g, o, spec, shared, addForward(g, o, spec, shared));
  return g;
}

// Graphs are built and compiled once per structure, then reused for every batch.
const compiledGraphs = new Map<string, CompiledGraph>();

function compiledChunk(spec: ChunkSpec): CompiledGraph {
  const key = JSON.stringify(spec);
  let compiled = compiledGraphs.get(key);
  if (!compiled) {
    compiled = compileGraph(chunkGraph(spec));
    compiledGraphs.set(key, compiled);
  }
  return compiled;
}

// Longest unrolled chunk. Longer chunks mean fewer session calls but bigger graphs to compile.
const MAX_CHUNK = 64;

/** Chunk lengths covering `time` steps: as many MAX_CHUNK as fit, then powers of two (at most ~8 graph sizes). */
function chunkLengths(time: number): number[] {
  const lengths: number[] = [];
  let left = time;
  for (let k = MAX_CHUNK; k >= 1; k >>= 1) {
    for (; left >= k; left -= k) lengths.push(k);
  }
  return lengths;
}

// Is tfjs recording a gradient tape right now (so the backward pass may run)?
function recordingGradients(): boolean {
  const state = tf.engine().state;
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

type FastGruOptions = { resetAfter: boolean; returnSequences: boolean; masks: DropoutMasks };

/**
 * The whole GRU over x [batch, time, inputDim] as one differentiable op, run as native graphs:
 * returns every h_t [batch, time, units] (returnSequences) or the last one [batch, units].
 * Gradients flow to x, the three weights and the initial state.
 */
function fastGru(x: tf.Tensor3D, weights: GruWeights, h0: tf.Tensor2D, options: FastGruOptions): tf.Tensor {
  const [, time, inputDim] = x.shape;
  const { resetAfter, returnSequences, masks } = options;
  const spec = (steps: number): ChunkSpec => ({
    steps,
    units: unitsOf(weights),
    inputDim,
    resetAfter,
    inputDropout: masks.input !== null,
    recurrentDropout: masks.recurrent !== null,
    sequences: returnSequences,
  });
  const lengths = chunkLengths(time);
  const maskFeeds: Record<string, tf.Tensor> = {};
  if (masks.input) maskFeeds.inputMasks = tf.stack(masks.input); // [3, batch, inputDim]
  if (masks.recurrent) maskFeeds.recurrentMasks = tf.stack(masks.recurrent); // [3, batch, units]
  // [batch, time, .] <-> time-major chunks [K, batch, .], the graphs' layout
  const toChunks = (t: tf.Tensor) => {
    const timeMajor = tf.transpose(t, [1, 0, 2]);
    return lengths.length === 1 ? [timeMajor] : tf.split(timeMajor, lengths, 0);
  };
  const fromChunks = (ts: tf.Tensor[]) => tf.transpose(ts.length === 1 ? ts[0] : tf.concat(ts, 0), [1, 0, 2]);
  const recording = recordingGradients();
  const saved = savedNames(resetAfter);

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, W, U, bias, hInit] = args as tf.Tensor[];
    const xs = toChunks(xIn);
    const constants = { W, U, bias, ...maskFeeds };
    const perChunk: tf.Tensor[][] = []; // [x, hStart, ...saved] of every chunk
    const outputs: tf.Tensor[] = [];
    let h = hInit;
    // without a gradient tape, fetch only the outputs: TensorFlow then skips stacking the rest
    const fetch = recording ? [...saved, 'hT'] : returnSequences ? ['H', 'hT'] : ['hT'];
    lengths.forEach((steps, c) => {
      const results = compiledChunk(spec(steps))({ ...constants, x: xs[c], h0: h }, fetch);
      const byName = new Map(fetch.map((name, i) => [name, results[i]]));
      if (recording) perChunk.push([xs[c], h, ...saved.map((name) => byName.get(name) as tf.Tensor)]);
      if (returnSequences) outputs.push(byName.get('H') as tf.Tensor);
      h = byName.get('hT') as tf.Tensor;
    });
    // the backward pass runs after this call's tidy: keep what it needs, masks and weights included
    const constantNames = Object.keys(constants);
    if (recording) save([...Object.values(constants), ...perChunk.flat()]);
    const value = returnSequences ? fromChunks(outputs) : h;

    const gradFunc = (dy: tf.Tensor | tf.Tensor[], savedTensors: tf.Tensor[]): tf.Tensor[] => {
      const dOut = dy as tf.Tensor;
      const keptConstants = Object.fromEntries(constantNames.map((name, i) => [name, savedTensors[i]]));
      const kept = savedTensors.slice(constantNames.length);
      const dHs = returnSequences ? toChunks(dOut) : [];
      const width = 2 + saved.length;
      const dXs: tf.Tensor[] = [];
      const dWs: tf.Tensor[] = [], dUs: tf.Tensor[] = [], dBiases: tf.Tensor[] = [];
      let grad = returnSequences ? tf.zerosLike(hInit) : dOut;
      for (let c = lengths.length - 1; c >= 0; c--) {
        const [xc, hStart, ...savedChunk] = kept.slice(c * width, (c + 1) * width);
        const feeds: Record<string, tf.Tensor> = { ...keptConstants, x: xc, hStart, gradIn: grad };
        saved.forEach((name, i) => (feeds[name] = savedChunk[i]));
        if (returnSequences) feeds.dH = dHs[c];
        const [dX, dW, dU, dBias, dh0] = compiledChunk(spec(lengths[c]))(feeds, ['dX', 'dW', 'dU', 'dBias', 'dh0']);
        dXs.unshift(dX);
        dWs.push(dW);
        dUs.push(dU);
        dBiases.push(dBias);
        grad = dh0;
      }
      const total = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0] : tf.addN(ts));
      return [fromChunks(dXs), total(dWs), total(dUs), total(dBiases), grad];
    };
    return { value, gradFunc };
  });
  return op(x, weights.kernel, weights.recurrentKernel, weights.bias, h0);
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
      const weights = this.gruWeights();
      const initialState = initialStateOf(kwargs);
      const [batch] = checkInputs(x, weights, this.resetAfter, initialState);
      const masks = kwargs.training === true ? this.drawMasks(batch, x.shape[2]) : NO_DROPOUT;
      const h0 = initialState ?? (tf.zeros([batch, this.units]) as tf.Tensor2D);
      return fastGru(x, weights, h0, { resetAfter: this.resetAfter, returnSequences: this.returnSequences, masks });
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
