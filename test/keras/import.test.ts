// Models trained by Keras (2.12 and 3) on the course's arrays, imported with `npm run import-keras`:
// the imported run predicts what Keras predicted (max |difference| <= 1e-5) through loadRun, Predictor,
// `npm run predict` and the gate read-out; models of other shapes are refused and leave nothing behind.
// Creates .venv-keras and .venv-keras3 on first use (scripts/keras-env.sh). Needs the IMDB archive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { ROOT } from '../../lib/util/paths';
import { readGates } from '../../lib/experiments/gates';
import { loadImdb, type ImdbData } from '../../lib/data/imdb';
import { saveVocabulary, vocabularyFromJson, vocabularyToJson } from '../../lib/data/vocabulary';
import { importKeras, type ImportedConfig } from '../../lib/keras/import';
import { runKerasModels, type KerasEnv } from '../../lib/keras/python';
import { wordIndexFromVocabulary } from '../../lib/keras/word-index';
import { KerasGRU } from '../../lib/cells/gru-layer';
import { recurrentLayerOf } from '../../lib/training/model';
import { readNpy } from '../../lib/util/npy';
import { Predictor } from '../../lib/training/predict';
import { exportImdb } from '../../lib/data/export';
import { maxAbsDiff, predictSplit, runScript } from './helpers';

const ARCHIVE = process.env.IMDB_ARCHIVE || path.resolve(ROOT, '..', 'shared', 'data', 'aclImdb_v1-labeled.tar.gz');
const MAX_LEN = 60;
const TRAIN = 256;
const TEST = 128;
const TOLERANCE = 1e-5;

let tmp: string;
let data: ImdbData;
let exportDir: string;
let vocabFile: string;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'keras-import-test-'));
  data = (await loadImdb({ numWords: 10_000, maxLen: MAX_LEN, archivePath: ARCHIVE })).subset(TRAIN, TEST);
  exportDir = (await exportImdb(data)).dir;
  vocabFile = path.join(tmp, 'vocab.json');
  await saveVocabulary(data.vocab, vocabFile);
});

after(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

// One Keras-trained model per Keras version; the two differ in reset_after and dropout so that both GRU variants are imported.
const TRAINED: Array<{ env: KerasEnv; resetAfter: boolean; dropout: string; recurrentDropout: string }> = [
  { env: 'keras2', resetAfter: true, dropout: '0.2', recurrentDropout: '0.2' },
  { env: 'keras3', resetAfter: false, dropout: '0.1', recurrentDropout: '0' },
];

for (const spec of TRAINED) {
  describe(`a model trained by ${spec.env === 'keras2' ? 'Keras 2.12' : 'Keras 3'} (reset_after=${spec.resetAfter})`, () => {
    const files = () => ({
      keras: path.join(tmp, `${spec.env}.keras`),
      h5: path.join(tmp, `${spec.env}.h5`),
      p: path.join(tmp, `${spec.env}-p.npy`),
    });
    let kerasVersion = '';

    before(async () => {
      const f = files();
      const { result } = await runKerasModels<{ keras_version: string; seconds: number }>(spec.env, [
        'train',
        '--data',
        exportDir,
        '--out',
        f.keras,
        '--out',
        f.h5,
        '--predictions',
        f.p,
        '--epochs',
        '1',
        '--units',
        '16',
        '--embedding-dim',
        '16',
        '--reset-after',
        String(spec.resetAfter),
        '--dropout',
        spec.dropout,
        '--recurrent-dropout',
        spec.recurrentDropout,
      ]);
      kerasVersion = result.keras_version;
    });

    for (const format of ['keras', 'h5'] as const) {
      test(`its .${format} file, imported, predicts Keras's probabilities on the test reviews (max |diff| <= ${TOLERANCE})`, async (t) => {
        const f = files();
        const runDir = path.join(tmp, 'runs', `${spec.env}-${format}`);
        const r = runScript('import-keras', f[format], '--run-dir', runDir, '--vocab', vocabFile);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`from Keras ${kerasVersion.replace(/\./g, '\\.')}`));
        const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as ImportedConfig;
        assert.deepEqual(
          [config.maxLen, config.numWords, config.units, config.embeddingDim, config.resetAfter, config.dropout, config.recurrentDropout],
          [MAX_LEN, 10_000, 16, 16, spec.resetAfter, Number(spec.dropout), Number(spec.recurrentDropout)],
        );
        assert.equal(config.imported.format, format);
        const keras = (await readNpy(f.p)).data as Float32Array;
        const ours = await predictSplit(runDir, data.test, MAX_LEN);
        const diff = maxAbsDiff(ours, keras);
        t.diagnostic(
          `Keras ${kerasVersion} .${format} -> import-keras: max |P_here - P_keras| over ${TEST} test reviews = ${diff.toExponential(2)}`,
        );
        assert.ok(diff <= TOLERANCE, `max difference ${diff}`);
        // a model that predicts a constant would pass trivially: the predictions must differ between reviews
        assert.ok(Math.max(...ours) - Math.min(...ours) > 1e-4, 'the predictions hardly vary: the test proves nothing');
      });
    }

    test('the imported run works like a trained one: Predictor, npm run predict, the gate read-out', async () => {
      const runDir = path.join(tmp, 'runs', `${spec.env}-keras`);
      const predictor = await Predictor.load(runDir);
      const texts = ['A wonderful, moving film with a great cast.', 'The worst movie I have ever seen. Boring and stupid.'];
      const p = predictor.predict(texts);
      assert.equal(p.length, 2);
      // Predictor encodes with the run's vocabulary: the same ids as the exported arrays' encoding of the same text
      const ids = predictor.encode(texts);
      assert.deepEqual(ids.shape, [2, MAX_LEN]);
      ids.dispose();
      const gru = recurrentLayerOf(predictor.model);
      assert.ok(gru instanceof KerasGRU);
      assert.equal((gru as KerasGRU).resetAfter, spec.resetAfter);
      // readGates runs KerasGRU.gates (plain ops, reset_after as imported): its last running prediction is the model's
      const rows = Array.from({ length: 8 }, (_, i) => data.row('test', i));
      const traces = readGates(predictor.model, rows);
      const x = tf.tensor2d(data.test.x.subarray(0, 8 * MAX_LEN), [8, MAX_LEN], 'int32');
      const modelP = (predictor.model.predict(x) as tf.Tensor).dataSync();
      x.dispose();
      assert.ok(
        maxAbsDiff(
          traces.map((tr) => tr.prediction[tr.prediction.length - 1]),
          modelP,
        ) < 1e-5,
      );
      predictor.dispose();
      const r = runScript('predict', '--run-dir', runDir, '--json', ...texts);
      assert.equal(r.status, 0, r.stderr);
      const rowsOut = JSON.parse(r.stdout) as { probability: number }[];
      assert.ok(
        maxAbsDiff(
          rowsOut.map((x) => x.probability),
          p,
        ) < 1e-6,
      );
    });
  });
}

describe('vocabularies', () => {
  test('a Keras word index gives the same encoding, and so the same predictions, as the course vocabulary it was written from', async () => {
    const wordIndexFile = path.join(tmp, 'word_index.json');
    await fsp.writeFile(wordIndexFile, JSON.stringify(wordIndexFromVocabulary(data.vocab)));
    const runDir = path.join(tmp, 'runs', 'by-word-index');
    await importKeras(path.join(tmp, 'keras3.keras'), { runDir, wordIndex: wordIndexFile });
    const a = await Predictor.load(runDir);
    const b = await Predictor.load(path.join(tmp, 'runs', 'keras3-keras'));
    const texts = ['An excellent story, superbly acted.', 'Dull, predictable and far too long; a waste of time.'];
    assert.deepEqual(Array.from(a.encode(texts).dataSync()), Array.from(b.encode(texts).dataSync()));
    assert.deepEqual(a.predict(texts), b.predict(texts));
    a.dispose();
    b.dispose();
  });

  test('without --vocab or --word-index, the word index beside the model is used, and its absence is a clear error', async () => {
    const model = path.join(tmp, 'keras3.keras');
    const beside = path.join(tmp, 'keras3.word_index.json');
    const missing = runScript('import-keras', model, '--run-dir', path.join(tmp, 'runs', 'no-vocab'));
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /give --word-index FILE .* or --vocab RUN_DIR/);
    assert.ok(!fs.existsSync(path.join(tmp, 'runs', 'no-vocab')));
    await fsp.writeFile(beside, JSON.stringify(wordIndexFromVocabulary(data.vocab)));
    const r = runScript('import-keras', model, '--run-dir', path.join(tmp, 'runs', 'beside'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /keras3\.word_index\.json/);
    await fsp.rm(beside);
  });

  test('a vocabulary of another size than the embedding is refused', async () => {
    const small = path.join(tmp, 'small-vocab.json');
    const json = vocabularyToJson(data.vocab);
    await saveVocabulary(
      vocabularyFromJson({ ...json, numWords: 5_000, words: json.words.slice(0, 4_996), counts: json.counts.slice(0, 4_996) }),
      small,
    );
    const runDir = path.join(tmp, 'runs', 'wrong-vocab');
    await assert.rejects(
      importKeras(path.join(tmp, 'keras3.h5'), { runDir, vocab: small }),
      /numWords 5000, but the model's Embedding has 10000 rows/,
    );
    assert.ok(!fs.existsSync(runDir));
  });
});

describe('the input length', () => {
  test('an open input length needs --max-len; a fixed one must not be contradicted', async () => {
    // the Keras 3 file with its input shape made open (None), as a model built without Input(shape=(maxLen,)) is
    const files = unzipSync(new Uint8Array(await fsp.readFile(path.join(tmp, 'keras3.keras'))));
    const config = JSON.parse(strFromU8(files['config.json']));
    const text = JSON.stringify(config)
      .replace(/\[null,\s*60\]/g, '[null, null]')
      .replace(/\[null,\s*60,/g, '[null, null,');
    files['config.json'] = strToU8(text);
    const open = path.join(tmp, 'open-length.keras');
    await fsp.writeFile(open, zipSync(files));
    const refused = runScript('import-keras', open, '--run-dir', path.join(tmp, 'runs', 'open'), '--vocab', vocabFile);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /input length is open \(None\): give the review length with --max-len N/);
    assert.ok(!fs.existsSync(path.join(tmp, 'runs', 'open')));
    const r = runScript('import-keras', open, '--run-dir', path.join(tmp, 'runs', 'open'), '--vocab', vocabFile, '--max-len', '60');
    assert.equal(r.status, 0, r.stderr);
    const wrong = runScript(
      'import-keras',
      path.join(tmp, 'keras3.keras'),
      '--run-dir',
      path.join(tmp, 'runs', 'wrong-len'),
      '--vocab',
      vocabFile,
      '--max-len',
      '80',
    );
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /fixed at 60 ids per review/);
  });

  test('an existing run directory is never overwritten', () => {
    const runDir = path.join(tmp, 'runs', 'keras3-keras');
    const before = fs.readFileSync(path.join(runDir, 'config.json'), 'utf8');
    const r = runScript('import-keras', path.join(tmp, 'keras3.h5'), '--run-dir', runDir, '--vocab', vocabFile);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /already exists/);
    assert.equal(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8'), before);
  });
});

describe('models of another shape are refused, naming what is not supported, and nothing is written', () => {
  // Keras numbers layer names within one Python process (lstm, lstm_1, ...): the messages name whichever it chose
  const cases: Array<{ env: KerasEnv; kind: string; ext: string; message: RegExp }> = [
    { env: 'keras3', kind: 'lstm', ext: 'keras', message: /layer "lstm(_\d+)?" is an LSTM layer \(only GRU is supported\)/ },
    { env: 'keras3', kind: 'relu', ext: 'keras', message: /GRU "gru(_\d+)?" has activation="relu" \(only "tanh" is supported\)/ },
    { env: 'keras3', kind: 'mask_zero', ext: 'keras', message: /Embedding "embedding(_\d+)?" has mask_zero=true/ },
    { env: 'keras3', kind: 'bidirectional', ext: 'keras', message: /is a Bidirectional wrapper \(a bidirectional GRU is not supported\)/ },
    { env: 'keras3', kind: 'return_sequences', ext: 'h5', message: /layer "global_average_pooling1d(_\d+)?" is a GlobalAveragePooling1D/ },
    { env: 'keras2', kind: 'lstm', ext: 'h5', message: /layer "lstm(_\d+)?" is an LSTM layer/ },
    { env: 'keras2', kind: 'bidirectional', ext: 'keras', message: /Bidirectional wrapper/ },
  ];
  const fileOf = (c: (typeof cases)[number]) => path.join(tmp, `unsupported-${c.env}-${c.kind}.${c.ext}`);
  before(async () => {
    // one Python start per Keras version
    for (const env of ['keras2', 'keras3'] as const) {
      await runKerasModels(env, [
        'unsupported',
        ...cases.filter((c) => c.env === env).flatMap((c) => ['--model', `${c.kind}=${fileOf(c)}`]),
      ]);
    }
  });
  for (const c of cases) {
    test(`${c.kind} (${c.env === 'keras2' ? 'Keras 2.12' : 'Keras 3'}, .${c.ext})`, async () => {
      const file = fileOf(c);
      const parent = path.join(tmp, 'refused');
      await fsp.mkdir(parent, { recursive: true });
      const runDir = path.join(parent, c.kind);
      const r = runScript('import-keras', file, '--run-dir', runDir, '--vocab', vocabFile);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.match(r.stderr, /only models of the shape Input -> Embedding -> GRU -> Dense\(1, sigmoid\)/);
      assert.ok(!fs.existsSync(runDir), 'the run directory must not be created');
      assert.deepEqual(fs.readdirSync(parent), [], 'no partial directory left behind');
    });
  }
});
