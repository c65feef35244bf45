// A model trained here, exported with `npm run export-keras` as .keras and .h5, opened by Keras 2.12 and
// Keras 3 with keras.models.load_model: Keras predicts the same probabilities (max |difference| <= 1e-5).
// Also: an imported reset_after=False model goes back out unchanged, the word index beside the file, and the
// refusals. Creates .venv-keras and .venv-keras3 on first use (scripts/keras-env.sh). Needs the IMDB archive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../lib/util/paths';
import { INDEX_FROM } from '../../lib/data/text';
import { loadImdb, type ImdbData } from '../../lib/data/imdb';
import { readKerasModel } from '../../lib/keras/file';
import { formatForPath, kerasWeightsOf } from '../../lib/keras/export';
import { importKeras } from '../../lib/keras/import';
import { KERAS_ENVS, runKerasModels } from '../../lib/keras/python';
import { loadWordIndex } from '../../lib/keras/word-index';
import { buildModel } from '../../lib/training/model';
import { readNpy } from '../../lib/util/npy';
import { loadRun } from '../../lib/training/run-dir';
import { resolveConfig } from '../../lib/training/config';
import { train } from '../../lib/training/train';
import { exportImdb } from '../../lib/data/export';
import { maxAbsDiff, predictSplit, runScript } from './helpers';

const ARCHIVE = process.env.IMDB_ARCHIVE || path.resolve(ROOT, '..', 'shared', 'data', 'aclImdb_v1-labeled.tar.gz');
const MAX_LEN = 60;
const TOLERANCE = 1e-5;

let tmp: string;
let data: ImdbData;
let xTest: string;
let runDir: string;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'keras-export-test-'));
  // a small run trained here: 256 reviews of 60 ids, one epoch, 32 units (a few seconds)
  const config = resolveConfig({
    profile: 'ci',
    env: {},
    overrides: { trainSize: 256, testSize: 128, maxLen: MAX_LEN, epochs: 1, units: 32, embeddingDim: 32 },
  });
  const full = await loadImdb({ numWords: config.numWords, maxLen: MAX_LEN, seed: config.dataSeed, archivePath: ARCHIVE });
  runDir = path.join(tmp, 'run');
  const result = await train(config, { runDir, data: full, onProgress: () => {} });
  result.model.dispose();
  data = full.subset(256, 128);
  xTest = path.join((await exportImdb(data)).dir, 'x_test.npy');
});

after(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('a run trained here, exported, loaded by Keras', () => {
  let ours: Float32Array;
  before(async () => {
    ours = await predictSplit(runDir, data.test, MAX_LEN);
    for (const ext of ['keras', 'h5']) {
      const r = runScript('export-keras', '--run-dir', runDir, path.join(tmp, 'out', `model.${ext}`));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /wrote .*model\.word_index\.json/);
    }
  });

  for (const env of KERAS_ENVS) {
    for (const ext of ['keras', 'h5']) {
      test(`${env === 'keras2' ? 'Keras 2.12' : 'Keras 3'} opens model.${ext} and predicts our probabilities (max |diff| <= ${TOLERANCE})`, async (t) => {
        const out = path.join(tmp, `p-${env}-${ext}.npy`);
        const { result } = await runKerasModels<{ keras_version: string }>(env, [
          'predict',
          path.join(tmp, 'out', `model.${ext}`),
          '--x',
          xTest,
          '--out',
          out,
        ]);
        const keras = (await readNpy(out)).data as Float32Array;
        const diff = maxAbsDiff(keras, ours);
        t.diagnostic(
          `export-keras .${ext} -> Keras ${result.keras_version}: max |P_keras - P_here| over ${data.test.size} test reviews = ${diff.toExponential(2)}`,
        );
        assert.ok(diff <= TOLERANCE, `max difference ${diff}`);
        assert.ok(Math.max(...ours) - Math.min(...ours) > 1e-4, 'the predictions hardly vary: the test proves nothing');
      });
    }
  }

  test('the word index beside the model is the run vocabulary in imdb.get_word_index() form (id = rank + 3)', async () => {
    const index = await loadWordIndex(path.join(tmp, 'out', 'model.word_index.json'));
    const words = data.vocab.idToWord;
    assert.equal(Object.keys(index).length, words.length - INDEX_FROM - 1);
    for (const id of [4, 5, 100, words.length - 1]) assert.equal(index[words[id]] + INDEX_FROM, id, words[id]);
  });

  test('the exported weights are the run weights, unchanged, and read back as such', async () => {
    const run = await loadRun(runDir);
    const { weights } = kerasWeightsOf(run.model, MAX_LEN);
    run.model.dispose();
    for (const ext of ['keras', 'h5']) {
      const back = await readKerasModel(path.join(tmp, 'out', `model.${ext}`));
      assert.equal(back.spec.maxLen, MAX_LEN);
      for (const key of Object.keys(weights) as (keyof typeof weights)[]) {
        assert.deepEqual(back.weights[key].shape, weights[key].shape, key);
        assert.deepEqual(back.weights[key].data, weights[key].data, key);
      }
    }
  });
});

test('a reset_after=False model imported from Keras 3 goes back out and Keras 3 predicts what it predicted', async (t) => {
  const exportDir = path.dirname(xTest);
  const original = path.join(tmp, 'rb.keras');
  const pOriginal = path.join(tmp, 'rb-p.npy');
  await runKerasModels('keras3', [
    'train',
    '--data',
    exportDir,
    '--out',
    original,
    '--predictions',
    pOriginal,
    '--units',
    '8',
    '--embedding-dim',
    '8',
    '--reset-after',
    'false',
    '--epochs',
    '1',
  ]);
  const imported = path.join(tmp, 'runs', 'rb');
  await fsp.writeFile(path.join(tmp, 'rb.word_index.json'), '{"the": 1}');
  await importKeras(original, { runDir: imported, wordIndex: path.join(tmp, 'rb.word_index.json') });
  const back = path.join(tmp, 'out', 'rb-again.h5');
  const r = runScript('export-keras', '--run-dir', imported, back);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /reset_after=False/);
  const pBack = path.join(tmp, 'rb-again-p.npy');
  await runKerasModels('keras3', ['predict', back, '--x', xTest, '--out', pBack]);
  const diff = maxAbsDiff((await readNpy(pBack)).data, (await readNpy(pOriginal)).data);
  t.diagnostic(`Keras 3 .keras (reset_after=False) -> import -> export .h5 -> Keras 3: max |diff| = ${diff.toExponential(2)}`);
  assert.ok(diff <= TOLERANCE);
});

describe('refusals', () => {
  test('an output name that is neither .keras nor .h5 is refused before anything is written', () => {
    assert.throws(() => formatForPath('model.pb'), /name the output \.keras .* or \.h5/);
    const out = path.join(tmp, 'out', 'model.savedmodel');
    const r = runScript('export-keras', '--run-dir', runDir, out);
    assert.equal(r.status, 2);
    assert.ok(!fs.existsSync(out));
  });

  test('a run without the course GRU (e.g. an LSTM run) is refused by name', () => {
    const model = buildModel({ numWords: 50, maxLen: 10, embeddingDim: 4, units: 4, rnn: 'tfLstm' });
    assert.throws(() => kerasWeightsOf(model, 10), /recurrent layer "lstm" is a LSTM: only runs with the course's KerasGRU/);
    model.dispose();
  });

  test('a missing run directory is a clear error with exit code 2', () => {
    const r = runScript('export-keras', '--run-dir', path.join(tmp, 'no-such-run'), path.join(tmp, 'out', 'x.keras'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a run directory/);
  });
});
