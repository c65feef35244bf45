// The GraphDef writer (lib/engine/graph-def.ts) checked against TensorFlow's own schema: the bytes it writes
// are decoded with the protobuf classes tfjs-node ships (its generated api_pb, from tensorflow's
// .proto files), and the nodes, ops, inputs and attributes are compared with what was built.
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-node';
import { DATA_TYPE, Graph, compileGraph, graphOps } from '../../lib/engine/graph-def';
import { chunkGraph, type ChunkSpec } from '../../lib/engine/gru-graphs';

// ---------------------------------------------------------------------------
// TensorFlow's schema, as tfjs-node ships it (generated JavaScript, no type declarations)

/** An AttrValue as api_pb's toObject() gives it (only the fields lib/engine/graph-def.ts writes). */
type AttrObject = {
  i: number;
  b: boolean;
  type: number;
  tensor?: { dtype: number; tensorShape?: { dimList: { size: number }[] }; floatValList: number[]; intValList: number[] };
};
type NodeObject = { name: string; op: string; inputList: string[]; device: string; attrMap: [string, AttrObject][] };
type SavedModelObject = {
  savedModelSchemaVersion: number;
  metaGraphsList: { metaInfoDef?: { tagsList: string[] }; graphDef?: { nodeList: NodeObject[]; versions?: { producer: number } } }[];
};
type Message<T> = { toObject(): T; serializeBinary(): Uint8Array };
type ApiPb = { SavedModel: { deserializeBinary(bytes: Uint8Array): Message<SavedModelObject> } };

const apiPb = require('@tensorflow/tfjs-node/dist/proto/api_pb') as ApiPb;

/** Decodes a saved_model.pb with TensorFlow's classes; fails if any byte belongs to a field the schema does not know. */
function decode(bytes: Uint8Array): { nodes: NodeObject[]; model: SavedModelObject } {
  const message = apiPb.SavedModel.deserializeBinary(bytes);
  // The generated readers skip unknown or mistyped fields; re-encoding what they understood must
  // give back every byte (map entries may come out in another order, so compare lengths).
  assert.equal(message.serializeBinary().length, bytes.length, 'some bytes were not understood as SavedModel fields');
  const model = message.toObject();
  assert.equal(model.metaGraphsList.length, 1);
  return { nodes: model.metaGraphsList[0].graphDef?.nodeList ?? [], model };
}

const attrs = (node: NodeObject) => Object.fromEntries(node.attrMap);

// ---------------------------------------------------------------------------

test('a small graph decodes to the nodes, ops, inputs and attributes that were built', () => {
  const g = new Graph();
  const o = graphOps(g);
  const x = g.input('x');
  const w = g.input('w');
  const product = o.matMul(x, w, false, true);
  const [left, right] = o.split(product, 1, 2);
  const shaped = o.reshape(o.add(left, right), [-1, 4]);
  g.output('y', o.biasAdd(shaped, g.floats([0.5, -1.25, 3, 0])));
  const { nodes, model } = decode(g.savedModel());

  assert.equal(model.savedModelSchemaVersion, 1);
  assert.deepEqual(model.metaGraphsList[0].metaInfoDef?.tagsList, ['serve']);
  assert.equal(model.metaGraphsList[0].graphDef?.versions?.producer, 1000);
  assert.deepEqual(
    nodes.map((n) => [n.name, n.op, n.inputList]),
    [
      ['x', 'Placeholder', []],
      ['w', 'Placeholder', []],
      ['MatMul_1', 'MatMul', ['x', 'w']],
      ['Const_1', 'Const', []],
      ['Split_1', 'Split', ['Const_1', 'MatMul_1']],
      ['AddV2_1', 'AddV2', ['Split_1', 'Split_1:1']],
      ['Const_2', 'Const', []],
      ['Reshape_1', 'Reshape', ['AddV2_1', 'Const_2']],
      ['Const_3', 'Const', []],
      ['BiasAdd_1', 'BiasAdd', ['Reshape_1', 'Const_3']],
      ['y', 'Identity', ['BiasAdd_1']],
    ],
  );
  const byName = new Map(nodes.map((n) => [n.name, attrs(n)]));
  assert.equal(byName.get('x')?.dtype.type, DATA_TYPE.float32);
  const matMul = byName.get('MatMul_1')!;
  assert.deepEqual([matMul.T.type, matMul.transpose_a.b, matMul.transpose_b.b], [DATA_TYPE.float32, false, true]);
  const split = byName.get('Split_1')!;
  assert.deepEqual([split.T.type, split.num_split.i], [DATA_TYPE.float32, 2]);
  // the split axis: a scalar int32 constant
  const axis = byName.get('Const_1')!;
  assert.equal(axis.dtype.type, DATA_TYPE.int32);
  assert.deepEqual(axis.value.tensor?.tensorShape?.dimList, []);
  assert.deepEqual(axis.value.tensor?.intValList, [1]);
  // a negative int32 (10-byte varint) survives
  const shape = byName.get('Const_2')!;
  assert.deepEqual(
    shape.value.tensor?.tensorShape?.dimList.map((d) => d.size),
    [2],
  );
  assert.deepEqual(shape.value.tensor?.intValList, [-1, 4]);
  assert.equal(byName.get('Reshape_1')?.Tshape.type, DATA_TYPE.int32);
  // float constants: packed float_val
  const bias = byName.get('Const_3')!;
  assert.equal(bias.value.tensor?.dtype, DATA_TYPE.float32);
  assert.deepEqual(bias.value.tensor?.floatValList, [0.5, -1.25, 3, 0]);
  assert.equal(byName.get('y')?.T.type, DATA_TYPE.float32);
});

test('TensorFlow runs a written graph: the result equals the eager ops', () => {
  const g = new Graph();
  const o = graphOps(g);
  g.output('y', o.tanh(o.matMul(g.input('a'), g.input('b'))));
  const run = compileGraph(g);
  const a = tf.randomNormal([3, 4], 0, 1, 'float32', 1);
  const b = tf.randomNormal([4, 2], 0, 1, 'float32', 2);
  const [y] = run({ a, b }, ['y']);
  const expected = tf.tanh(tf.matMul(a, b));
  assert.ok(tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0] < 1e-6);
  assert.throws(() => run({ a, nope: b }, ['y']), /the graph has no node nope/);
  assert.throws(() => g.input('a'), /graph input a defined twice/);
  tf.dispose([a, b, y, expected]);
});

test('every GRU chunk graph is valid TensorFlow: known ops, inputs that exist, float32 everywhere, the feeds and fetches the layer uses', () => {
  const specs: ChunkSpec[] = [];
  for (const resetAfter of [true, false]) {
    for (const dropout of [true, false]) {
      for (const sequences of [true, false]) {
        for (const steps of [1, 4, 32]) {
          specs.push({ steps, units: 6, inputDim: 5, resetAfter, inputDropout: dropout, recurrentDropout: dropout, sequences });
        }
      }
    }
    // gates held at a constant (OnesLike / ZerosLike of h0)
    specs.push({
      steps: 4,
      units: 6,
      inputDim: 5,
      resetAfter,
      inputDropout: true,
      recurrentDropout: true,
      sequences: false,
      fixedGates: { reset: 1 },
    });
    specs.push({
      steps: 32,
      units: 6,
      inputDim: 5,
      resetAfter,
      inputDropout: false,
      recurrentDropout: false,
      sequences: true,
      fixedGates: { update: 0, reset: 0 },
    });
  }
  const knownOps = new Set([
    'Placeholder',
    'Identity',
    'Const',
    'AddV2',
    'Sub',
    'Mul',
    'Sigmoid',
    'Tanh',
    'AddN',
    'BiasAdd',
    'SigmoidGrad',
    'TanhGrad',
    'MatMul',
    'Split',
    'Unpack',
    'Pack',
    'ConcatV2',
    'Reshape',
    'ExpandDims',
    'Slice',
    'Sum',
    'OnesLike',
    'ZerosLike',
  ]);
  for (const spec of specs) {
    const what = JSON.stringify(spec);
    const { nodes } = decode(chunkGraph(spec).savedModel());
    const byName = new Map(nodes.map((n) => [n.name, n]));
    assert.equal(byName.size, nodes.length, `${what}: node names are unique`);
    for (const node of nodes) {
      assert.ok(knownOps.has(node.op), `${what}: unexpected op ${node.op}`);
      const a = attrs(node);
      if (node.op !== 'Const' && node.op !== 'Placeholder')
        assert.equal(a.T?.type, DATA_TYPE.float32, `${what}: ${node.name} is not float32`);
      for (const input of node.inputList) {
        const [source, index = '0'] = input.split(':');
        const from = byName.get(source);
        assert.ok(from, `${what}: ${node.name} reads ${input}, which does not exist`);
        const outputs = from.op === 'Split' ? attrs(from).num_split.i : from.op === 'Unpack' ? attrs(from).num.i : 1;
        assert.ok(Number(index) < outputs, `${what}: ${node.name} reads output ${index} of ${source}, which has ${outputs}`);
      }
      if (node.op === 'AddN' || node.op === 'Pack' || node.op === 'ConcatV2') {
        const inputs = node.op === 'ConcatV2' ? node.inputList.length - 1 : node.inputList.length;
        assert.equal(a.N.i, inputs, `${what}: ${node.name} has N = ${a.N.i} for ${inputs} inputs`);
      }
    }
    const placeholders = nodes
      .filter((n) => n.op === 'Placeholder')
      .map((n) => n.name)
      .sort();
    const feeds = ['x', 'W', 'U', 'bias', 'h0', 'hStart', 'gradIn'];
    if (spec.inputDropout) feeds.push('inputMasks');
    if (spec.recurrentDropout) feeds.push('recurrentMasks');
    if (spec.sequences) feeds.push('dH');
    assert.deepEqual(placeholders, feeds.sort(), `${what}: placeholders`);
    const fetches = ['hT', 'H', 'Z', 'R', 'C', ...(spec.resetAfter ? ['N'] : []), 'dX', 'dW', 'dU', 'dBias', 'dh0'];
    for (const name of fetches) assert.equal(byName.get(name)?.op, 'Identity', `${what}: output ${name}`);
    const steps = nodes.filter((n) => n.op === 'Tanh').length;
    assert.equal(steps, spec.steps, `${what}: one candidate tanh per unrolled step`);
    // one sigmoid per computed gate and step; a held gate is one constant node for the whole chunk
    const held = Object.keys(spec.fixedGates ?? {}).length;
    assert.equal(nodes.filter((n) => n.op === 'Sigmoid').length, (2 - held) * spec.steps, `${what}: sigmoids`);
    assert.equal(nodes.filter((n) => n.op === 'OnesLike' || n.op === 'ZerosLike').length, held, `${what}: held gates`);
  }
});

test('the GRU of the equations (no fixedGates) writes the same graph bytes as before the option existed', () => {
  // sha256 of the saved_model.pb bytes, computed at commit 3e15a22 (before fixedGates): a change here changes
  // every compiled graph of every run, so it must be deliberate.
  const digest = (spec: ChunkSpec) => createHash('sha256').update(chunkGraph(spec).savedModel()).digest('hex');
  const all: string[] = [];
  for (const resetAfter of [true, false]) {
    for (const dropout of [true, false]) {
      for (const sequences of [true, false]) {
        for (const steps of [1, 4, 32]) {
          all.push(digest({ steps, units: 6, inputDim: 5, resetAfter, inputDropout: dropout, recurrentDropout: dropout, sequences }));
        }
      }
    }
  }
  assert.equal(
    createHash('sha256').update(all.join('\n')).digest('hex'),
    'fbc60c900ce7f7a148a62d818b99adb897823e872476716d097058aaea597eb0',
  );
  // the reference model's training graphs: 64-step chunks of GRU(128) on 128-wide embeddings, dropout on
  const reference = { units: 128, inputDim: 128, resetAfter: true, inputDropout: true, recurrentDropout: true, sequences: false };
  assert.equal(digest({ steps: 64, ...reference }), '148cd98661b73a664ecb1d6d35606fb8adaf88c929dfcce5f9b17d6475c7358f');
  assert.equal(digest({ steps: 8, ...reference }), 'cfb1f77cc34b4ddc461fda7be3ced4c6be38bcf2f19cc2dc08ce3fc99da4613c');
});
