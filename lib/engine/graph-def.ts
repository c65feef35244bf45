/**
 * A TensorFlow graph written from TypeScript and run natively: the protobuf encoding of a GraphDef
 * (just the fields GraphDef and SavedModel need), a small graph builder, the handful of ops the
 * GRU's graphs use, and loading a graph once through tfjs-node's SavedModel session so that each
 * later run is one call into TensorFlow.
 *
 * Why: tfjs-node runs every op eagerly, one call from JavaScript into TensorFlow each, and that call
 * costs far more than TensorFlow's own executor spends per op in a graph (measured: BENCHMARKS.md,
 * "Why graphs"). lib/engine/gru-graphs.ts builds the GRU's graphs with this.
 * test/engine/graph-def.test.ts decodes the bytes written here with TensorFlow's own protobuf classes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';

function fail(message: string): never {
  throw new Error(`graph-def: ${message}`);
}

// ---- protobuf encoding: just the fields GraphDef and SavedModel need

/** Encoded protobuf bytes. */
export type Bytes = Uint8Array;

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

export const DATA_TYPE = { float32: 1, int32: 3 } as const; // tensorflow.DataType
export type GraphDType = keyof typeof DATA_TYPE;

/** A node attribute: a dtype, an int, a bool, or a small constant tensor. */
export type AttrValue =
  { type: GraphDType } | { i: number } | { b: boolean } | { tensor: { dtype: GraphDType; shape: number[]; values: number[] } };

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
export type Ref = string & { readonly __graphRef: never };

/** The attribute of every float32 op: T = DT_FLOAT. */
export const FLOAT: Record<string, AttrValue> = { T: { type: 'float32' } };

/** A GraphDef under construction: each method adds a node and returns a reference to its output(s). */
export class Graph {
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

  /** Whether a node of this name exists. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** A node with one output. */
  op(op: string, inputs: Ref[], attrs: Record<string, AttrValue> = FLOAT): Ref {
    return this.node(op, inputs, attrs) as Ref;
  }

  /** A node with `count` outputs (Split, Unpack). */
  ops(op: string, inputs: Ref[], count: number, attrs: Record<string, AttrValue>): Ref[] {
    const name = this.node(op, inputs, attrs);
    return Array.from({ length: count }, (_, k) => (k === 0 ? name : `${name}:${k}`) as Ref);
  }

  /** An int32 constant. */
  ints(values: number[], shape: number[] = [values.length]): Ref {
    return this.op('Const', [], { dtype: { type: 'int32' }, value: { tensor: { dtype: 'int32', shape, values } } });
  }

  /** A float32 vector constant. */
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
/** The ops the GRU graphs use, bound to a graph, with their attributes filled in. */
export function graphOps(g: Graph) {
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
    concat: (xs: Ref[], axis: number) =>
      g.op('ConcatV2', [...xs, scalarInt(axis)], { ...FLOAT, N: { i: xs.length }, Tidx: { type: 'int32' } }),
    reshape: (x: Ref, shape: number[]) => g.op('Reshape', [x, g.ints(shape)], { ...FLOAT, Tshape: { type: 'int32' } }),
    expandDims: (x: Ref, axis: number) => g.op('ExpandDims', [x, scalarInt(axis)], { ...FLOAT, Tdim: { type: 'int32' } }),
    slice: (x: Ref, begin: number[], size: number[]) =>
      g.op('Slice', [x, g.ints(begin), g.ints(size)], { ...FLOAT, Index: { type: 'int32' } }),
    sum: (x: Ref, axes: number[]) => g.op('Sum', [x, g.ints(axes)], { ...FLOAT, Tidx: { type: 'int32' }, keep_dims: { b: false } }),
  };
}
export type GraphOps = ReturnType<typeof graphOps>;

// ---- loading and running graphs through tfjs-node's SavedModel session

// The two public methods of tfjs-node's backend (NodeJSKernelBackend) used here.
type SessionBackend = {
  loadSavedModelMetaGraph(path: string, tags: string): number;
  runSavedModel(id: number, inputs: tf.Tensor[], inputInfos: Array<{ name: string }>, outputs: string[]): tf.Tensor[];
};

/** A loaded graph: feed tensors by node name, fetch the named outputs; TensorFlow runs only what they need. */
export type CompiledGraph = (inputs: Record<string, tf.Tensor>, outputs: string[]) => tf.Tensor[];

function sessionBackend(): SessionBackend {
  const backend = tf.backend() as unknown as Partial<SessionBackend>;
  if (typeof backend.loadSavedModelMetaGraph !== 'function' || typeof backend.runSavedModel !== 'function') {
    fail(`the fast GRU needs tfjs-node's native "tensorflow" backend, not "${tf.getBackend()}"`);
  }
  return backend as SessionBackend;
}

/** Loads `graph` into a TensorFlow session once; the result runs it (feeds by node name, fetches named outputs). */
export function compileGraph(graph: Graph): CompiledGraph {
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
    return backend.runSavedModel(
      sessionId,
      Object.values(inputs),
      infos,
      outputs.map((name) => `${name}:0`),
    );
  };
}
