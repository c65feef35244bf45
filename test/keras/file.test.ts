// The two Keras file formats for the course's model: writeKerasModel then readKerasModel gives back the same
// spec and weights in both; the format is told by content, not name; broken and foreign files are named errors.
// (That Keras itself reads and writes these files is tested in test/keras/import.test.ts and keras-export.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { KerasModelError, type KerasGruSpec } from '../../lib/keras/config';
import { KERAS_JSON_LIMIT, kerasWeightsLimit, readKerasModel, writeKerasModel, type KerasGruWeights } from '../../lib/keras/file';
import { writeHdf5 } from '../../lib/keras/hdf5';

let dir: string;
const spec: KerasGruSpec = {
  modelName: 'm',
  numWords: 20,
  embeddingDim: 3,
  maxLen: 7,
  units: 2,
  resetAfter: true,
  dropout: 0.2,
  recurrentDropout: 0,
  layerNames: { embedding: 'embedding', gru: 'gru', dense: 'dense' },
};

function filled(shape: number[], start: number) {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => start + i / 8) };
}

function weightsFor(s: KerasGruSpec): KerasGruWeights {
  const u = s.units;
  return {
    embeddings: filled([s.numWords, s.embeddingDim], 0),
    kernel: filled([s.embeddingDim, 3 * u], 100),
    recurrentKernel: filled([u, 3 * u], 200),
    bias: filled(s.resetAfter ? [2, 3 * u] : [3 * u], 300),
    denseKernel: filled([u, 1], 400),
    denseBias: filled([1], 500),
  };
}

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'keras-file-test-'));
});
after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('write then read', () => {
  for (const format of ['keras', 'h5'] as const) {
    for (const resetAfter of [true, false]) {
      test(`${format}, reset_after=${resetAfter}: the same spec and weights come back`, async () => {
        const s = { ...spec, resetAfter };
        const w = weightsFor(s);
        const file = path.join(dir, `m-${resetAfter}.${format}`);
        await writeKerasModel(file, format, s, w);
        const back = await readKerasModel(file);
        assert.equal(back.format, format);
        assert.deepEqual(back.spec, s);
        assert.deepEqual(back.weights, w);
      });
    }
  }

  test('the format is read from the content: an HDF5 file named .keras (what Keras 2.12 writes by default) is read as legacy HDF5', async () => {
    const file = path.join(dir, 'really-h5.keras');
    await writeKerasModel(file, 'h5', spec, weightsFor(spec));
    assert.equal((await readKerasModel(file)).format, 'h5');
  });

  test('weights whose shapes contradict the config are refused before writing', async () => {
    const w = weightsFor(spec);
    await assert.rejects(
      writeKerasModel(path.join(dir, 'x.h5'), 'h5', { ...spec, units: 3 }, w),
      /weight kernel has shape \[3,6\], but .* needs \[3,9\]/,
    );
  });
});

describe('files that are not the course model', () => {
  const invalid = async (file: string, message: RegExp) => {
    await assert.rejects(
      readKerasModel(file),
      (err: unknown) => err instanceof KerasModelError && err.code === 'INVALID' && message.test(err.message),
    );
  };

  test('missing files, directories and other formats', async () => {
    await invalid(path.join(dir, 'none.keras'), /no such file/);
    await invalid(dir, /is a directory \(a TensorFlow SavedModel\?\)/);
    fs.writeFileSync(path.join(dir, 'text.h5'), 'not a model');
    await invalid(path.join(dir, 'text.h5'), /neither a \.keras zip nor an HDF5/);
  });

  test('an HDF5 file of weights only (save_weights) is told apart from a model', async () => {
    const file = path.join(dir, 'weights-only.h5');
    await writeHdf5(file, { attributes: [{ path: '', name: 'layer_names', value: ['dense'] }] });
    await invalid(file, /holds weights only \(model\.save_weights\)/);
  });

  test('a .keras zip without its weights, or with variables missing', async () => {
    const good = path.join(dir, 'good.keras');
    await writeKerasModel(good, 'keras', spec, weightsFor(spec));
    const files = unzipSync(new Uint8Array(fs.readFileSync(good)));
    const noWeights = path.join(dir, 'no-weights.keras');
    fs.writeFileSync(noWeights, zipSync({ 'config.json': files['config.json'] }));
    await invalid(noWeights, /has no model\.weights\.h5/);
    const emptyWeights = path.join(dir, 'empty.h5');
    await writeHdf5(emptyWeights, { groups: ['layers/embedding/vars'] });
    const missing = path.join(dir, 'missing-vars.keras');
    fs.writeFileSync(
      missing,
      zipSync({ 'config.json': files['config.json'], 'model.weights.h5': new Uint8Array(fs.readFileSync(emptyWeights)) }),
    );
    await invalid(missing, /layer "embedding" has 0 variables in model\.weights\.h5, expected 1/);
    const badJson = path.join(dir, 'bad-json.keras');
    fs.writeFileSync(badJson, zipSync({ 'config.json': strToU8('{'), 'model.weights.h5': files['model.weights.h5'] }));
    await invalid(badJson, /config\.json is not valid JSON/);
  });
});

describe('Keras 3 layer groups', () => {
  test('weights are found under the class-named group when Keras 3 numbered the layer names (embedding_1, gru_1, dense_1)', async () => {
    const { unzipSync, zipSync, strFromU8, strToU8 } = await import('fflate');
    const file = path.join(dir, 'numbered.keras');
    await writeKerasModel(file, 'keras', spec, weightsFor(spec));
    const entries = unzipSync(new Uint8Array(await fsp.readFile(file)));
    // What a second model built in one Python session looks like: the layers' names get a suffix, while
    // Keras 3's saving_lib still names their weight groups after the class (layers/embedding/vars, ...).
    const config = strFromU8(entries['config.json']).replace(/"name":"(embedding|gru|dense)"/g, '"name":"$1_1"');
    assert.match(config, /"name":"gru_1"/);
    await fsp.writeFile(file, zipSync({ ...entries, 'config.json': strToU8(config) }));
    const back = await readKerasModel(file);
    assert.deepEqual(back.spec.layerNames, { embedding: 'embedding_1', gru: 'gru_1', dense: 'dense_1' });
    assert.deepEqual(back.weights, weightsFor(spec));
  });
});

describe('hostile files (issue 26): sizes checked before inflating, damage and non-finite weights named', () => {
  const refused = async (file: string, message: RegExp) => {
    await assert.rejects(readKerasModel(file), (err: unknown) => {
      assert.ok(err instanceof KerasModelError && err.code === 'INVALID', String(err));
      assert.match(err.message, message);
      return true;
    });
  };
  const entriesOf = async (format: 'keras' | 'h5', w = weightsFor(spec)) => {
    const file = path.join(dir, `entries-${format}-${Math.random().toString(36).slice(2)}.${format}`);
    await writeKerasModel(file, format, spec, w);
    return format === 'keras' ? unzipSync(new Uint8Array(fs.readFileSync(file))) : { 'file.h5': new Uint8Array(fs.readFileSync(file)) };
  };

  test('a truncated .h5, and a truncated model.weights.h5 in a .keras: named, HDF5 says why', async () => {
    const whole = (await entriesOf('h5'))['file.h5'];
    const cut = path.join(dir, 'truncated.h5');
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await refused(cut, /truncated\.h5: is not a readable HDF5 file, it is truncated or damaged \(truncated file: eof = \d+/);
    const files = await entriesOf('keras');
    const weights = files['model.weights.h5'];
    const keras = path.join(dir, 'truncated-weights.keras');
    fs.writeFileSync(keras, zipSync({ ...files, 'model.weights.h5': weights.subarray(0, Math.floor(weights.length * 0.6)) }));
    await refused(
      keras,
      /truncated-weights\.keras \(model\.weights\.h5\): is not a readable HDF5 file, it is truncated or damaged \(truncated file/,
    );
  });

  test('only the entries the importer uses are inflated: a damaged extra entry is never read', async () => {
    const files = await entriesOf('keras');
    const zip = zipSync({ ...files, 'assets/big.bin': new Uint8Array(1 << 16).fill(7) });
    // Damage the extra entry's deflate stream (its data starts after its local header and name).
    const name = strToU8('assets/big.bin');
    let at = -1;
    for (let i = 0; i < zip.length - 4 && at < 0; i++) {
      if (zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 3 && zip[i + 3] === 4) {
        const nameLength = zip[i + 26] | (zip[i + 27] << 8);
        const extra = zip[i + 28] | (zip[i + 29] << 8);
        if (Buffer.from(zip.subarray(i + 30, i + 30 + nameLength)).equals(Buffer.from(name))) at = i + 30 + nameLength + extra;
      }
    }
    assert.ok(at > 0, 'found the extra entry');
    zip.fill(0xff, at, at + 8);
    assert.throws(() => unzipSync(zip), 'premise: inflating every entry fails');
    const file = path.join(dir, 'extra-entry.keras');
    fs.writeFileSync(file, zip);
    assert.deepEqual((await readKerasModel(file)).weights, weightsFor(spec));
  });

  test('entries larger than the model can need are refused before they are inflated', async () => {
    const files = await entriesOf('keras');
    const padded = (bytes: Uint8Array, extra: number) => {
      const out = new Uint8Array(bytes.length + extra);
      out.set(bytes);
      out.fill(0x20, bytes.length);
      return out;
    };
    const bigConfig = path.join(dir, 'big-config.keras');
    fs.writeFileSync(bigConfig, zipSync({ ...files, 'config.json': padded(files['config.json'], KERAS_JSON_LIMIT) }));
    await refused(bigConfig, /config\.json in the \.keras zip would inflate to \d+ bytes, more than the 4194304 this model can need/);
    const bigWeights = path.join(dir, 'big-weights.keras');
    const limit = kerasWeightsLimit(spec);
    fs.writeFileSync(bigWeights, zipSync({ ...files, 'model.weights.h5': padded(files['model.weights.h5'], limit) }));
    await refused(bigWeights, new RegExp(`model\\.weights\\.h5 in the \\.keras zip would inflate to \\d+ bytes, more than the ${limit}`));
  });

  test('NaN and infinite weights are refused, naming the layer and the weight, in both formats', async () => {
    for (const format of ['keras', 'h5'] as const) {
      const w = weightsFor(spec);
      w.recurrentKernel.data[5] = NaN;
      w.denseBias.data[0] = Infinity;
      const file = path.join(dir, `nan.${format}`);
      await writeKerasModel(file, format, spec, w);
      await refused(file, /layer "gru" weight recurrent_kernel holds 1 non-finite value\(s\) \(the first, NaN, at flat index 5\)/);
      const inf = weightsFor(spec);
      inf.denseBias.data[0] = -Infinity;
      await writeKerasModel(file, format, spec, inf);
      await refused(file, /layer "dense" weight bias holds 1 non-finite value\(s\) \(the first, -Infinity/);
    }
  });
});
