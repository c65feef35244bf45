// HDF5 through h5wasm: what writeHdf5 writes (groups, float32 datasets, string and string-list attributes,
// hard links) Hdf5Reader reads back; in-memory bytes open through a temporary file that is removed again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { HDF5_SIGNATURE, Hdf5Reader, openHdf5Bytes, writeHdf5 } from '../../lib/keras/hdf5';

let dir: string;
let file: string;

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'hdf5-test-'));
  file = path.join(dir, 'a.h5');
  await writeHdf5(file, {
    groups: ['vars', 'layers/gru/vars'],
    datasets: [
      { path: 'layers/gru/cell/vars/0', array: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) } },
      { path: 'model_weights/dense/dense/bias:0', array: { shape: [1], data: Float32Array.of(-0.25) } },
    ],
    attributes: [
      { path: '', name: 'model_config', value: '{"class_name": "Sequential"}' },
      { path: 'model_weights', name: 'layer_names', value: ['embedding', 'gru', 'dense'] },
      { path: 'model_weights/dense', name: 'weight_names', value: ['dense/bias:0'] },
    ],
    links: [{ path: '_layer_checkpoint_dependencies', target: 'layers' }],
  });
});

after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('writeHdf5 and Hdf5Reader', () => {
  test('the file starts with the HDF5 signature', () => {
    assert.deepEqual(new Uint8Array(fs.readFileSync(file).subarray(0, 8)), HDF5_SIGNATURE);
  });

  test('datasets come back with their shapes and float32 values; empty groups exist', async () => {
    const r = await Hdf5Reader.open(file);
    assert.deepEqual(r.array('layers/gru/cell/vars/0'), { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) });
    assert.deepEqual(r.array('model_weights/dense/dense/bias:0').data, Float32Array.of(-0.25));
    assert.ok(r.has('vars') && r.has('layers/gru/vars'));
    assert.deepEqual(r.keys('layers/gru/vars'), []);
    assert.deepEqual(r.keys('no/such/group'), []);
    assert.throws(() => r.array('layers/gru'), /no dataset at layers\/gru/);
    r.close();
  });

  test('string and string-list attributes come back; an absent attribute is null', async () => {
    const r = await Hdf5Reader.open(file);
    assert.equal(r.stringAttribute('', 'model_config'), '{"class_name": "Sequential"}');
    assert.deepEqual(r.stringListAttribute('model_weights', 'layer_names'), ['embedding', 'gru', 'dense']);
    assert.deepEqual(r.stringListAttribute('model_weights/dense', 'weight_names'), ['dense/bias:0']);
    assert.equal(r.stringAttribute('', 'keras_version'), null);
    assert.equal(r.stringListAttribute('model_weights', 'nothing'), null);
    r.close();
  });

  test('a hard link is a second name for the same data', async () => {
    const r = await Hdf5Reader.open(file);
    assert.deepEqual(r.array('_layer_checkpoint_dependencies/gru/cell/vars/0'), r.array('layers/gru/cell/vars/0'));
    r.close();
  });

  test('a shape that does not match the data is refused', async () => {
    await assert.rejects(
      writeHdf5(path.join(dir, 'bad.h5'), { datasets: [{ path: 'x', array: { shape: [2, 2], data: new Float32Array(3) } }] }),
      /x has shape \[2,2\] but 3 values/,
    );
  });
});

test('openHdf5Bytes reads bytes held in memory and removes its temporary file on dispose', async () => {
  const { reader, dispose } = await openHdf5Bytes(new Uint8Array(fs.readFileSync(file)), 'bytes');
  assert.deepEqual(reader.stringListAttribute('model_weights', 'layer_names'), ['embedding', 'gru', 'dense']);
  const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`gru-course-${process.pid}-`));
  assert.equal(before.length, 1);
  await dispose();
  assert.equal(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`gru-course-${process.pid}-`)).length, 0);
});
