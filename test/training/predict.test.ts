// Inference from a saved run (lib/training/predict.ts): raw text through the run's own vocabulary and maxLen
// gives the probabilities of the model itself; a missing run is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { KerasAdam } from '../../lib/training/adam';
import { buildModel } from '../../lib/training/model';
import { Predictor, predict } from '../../lib/training/predict';
import { environmentFacts, saveEpoch } from '../../lib/training/run-dir';
import { runDataOf, writeRunData } from '../../lib/training/run-guards';
import { TrainError, resolveConfig } from '../../lib/training/config';
import { encodeTexts } from '../../lib/data/text';
import { saveVocabulary, vocabularyFromCounts } from '../../lib/data/vocabulary';

test('Predictor: texts are encoded with the run vocabulary and maxLen, then classified by the saved model', async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-'));
  try {
    const config = resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 12, maxLen: 6, embeddingDim: 3, units: 2, epochs: 1 } });
    const vocab = vocabularyFromCounts(
      new Map([
        ['good', 9],
        ['bad', 8],
        ['film', 7],
        ['dull', 6],
        ['great', 5],
      ]),
      config.numWords,
    );
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(config));
    await saveVocabulary(vocab, path.join(runDir, 'vocab.json'));
    const model = buildModel(config);
    const optimizer = new KerasAdam();
    const record = { epoch: 1, loss: 0.5, accuracy: 0.5, val_loss: 0.5, val_accuracy: 0.5, seconds: 1 };
    await saveEpoch(runDir, model, optimizer, { epoch: 1, steps: 1, history: [record], savedAt: 'now', environment: environmentFacts() });
    const texts = ['A good film.', 'Dull, dull, DULL and bad: a great waste of a film'];
    const { values, shape } = encodeTexts(texts, vocab, { maxLen: config.maxLen });
    const expected = Array.from((model.predict(tf.tensor2d(values, shape, 'int32')) as tf.Tensor).dataSync());
    const predictor = await Predictor.load(runDir);
    assert.equal(predictor.epoch, 1);
    assert.deepEqual(
      predictor.encode(texts).arraySync(),
      Array.from({ length: 2 }, (_, i) => Array.from(values.subarray(i * 6, i * 6 + 6))),
    );
    assert.deepEqual(predictor.predict(texts), expected);
    assert.deepEqual(predictor.predict([]), []);
    predictor.dispose();
    assert.deepEqual(await predict(texts, runDir), expected);
    model.dispose();
    optimizer.dispose();
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test('a folder that holds no run is RUN_NOT_FOUND, with what to do', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-empty-'));
  try {
    await assert.rejects(
      Predictor.load(empty),
      (err: unknown) => err instanceof TrainError && err.code === 'RUN_NOT_FOUND' && /no config\.json/.test(err.message),
    );
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('a text with no word the vocabulary knows gets no verdict; the loaded epoch says whether the run is complete', async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-unknown-'));
  try {
    const config = resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 12, maxLen: 6, embeddingDim: 3, units: 2, epochs: 3 } });
    const vocab = vocabularyFromCounts(
      new Map([
        ['good', 9],
        ['bad', 8],
        ['film', 7],
      ]),
      config.numWords,
    );
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(config));
    await saveVocabulary(vocab, path.join(runDir, 'vocab.json'));
    const model = buildModel(config);
    const optimizer = new KerasAdam();
    const record = { epoch: 1, loss: 0.5, accuracy: 0.5, val_loss: 0.5, val_accuracy: 0.5, seconds: 1 };
    await saveEpoch(runDir, model, optimizer, { epoch: 1, steps: 1, history: [record], savedAt: 'now', environment: environmentFacts() });
    const predictor = await Predictor.load(runDir);
    assert.deepEqual([predictor.epoch, predictor.completedEpochs, predictor.complete], [1, 1, false], '1 of 3 planned epochs: incomplete');
    const texts = ['', '!!! ... ???', '😀🎬👍', '정말 최고의 영화입니다', 'good film', 'a bad, bad film'];
    const verdicts = predictor.classify(texts);
    assert.deepEqual(
      verdicts.map((v) => v.knownWords),
      [0, 0, 0, 0, 2, 3],
    );
    assert.deepEqual(
      verdicts.slice(0, 4).map((v) => [v.probability, v.label]),
      [
        [null, null],
        [null, null],
        [null, null],
        [null, null],
      ],
    );
    const expected = predictor.predict(texts.slice(4));
    assert.deepEqual(
      verdicts.slice(4).map((v) => v.probability),
      expected,
    );
    assert.deepEqual(
      verdicts.slice(4).map((v) => v.label),
      expected.map((p) => (p > 0.5 ? 'positive' : 'negative')),
    );
    predictor.dispose();
    model.dispose();
    optimizer.dispose();
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test("predict refuses a vocab.json that is not the run's (data.json records its SHA-256), saying what differs", async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-data-'));
  try {
    const config = resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 12, maxLen: 6, embeddingDim: 3, units: 2, epochs: 1 } });
    const trainedOn = vocabularyFromCounts(
      new Map([
        ['good', 9],
        ['bad', 8],
      ]),
      config.numWords,
    );
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(config));
    await writeRunData(runDir, runDataOf('0'.repeat(64), trainedOn));
    const model = buildModel(config);
    const optimizer = new KerasAdam();
    await saveEpoch(runDir, model, optimizer, {
      epoch: 1,
      steps: 1,
      history: [{ epoch: 1, loss: 0.5, accuracy: 0.5, val_loss: 0.5, val_accuracy: 0.5, seconds: 1 }],
      savedAt: 'now',
      environment: environmentFacts(),
    });
    await saveVocabulary(trainedOn, path.join(runDir, 'vocab.json'));
    (await Predictor.load(runDir)).dispose();
    // A vocabulary of other data (ids shifted: "bad" is now id 4) put in its place.
    await saveVocabulary(
      vocabularyFromCounts(
        new Map([
          ['good', 9],
          ['bad', 10],
        ]),
        config.numWords,
      ),
      path.join(runDir, 'vocab.json'),
    );
    await assert.rejects(
      Predictor.load(runDir),
      (err: unknown) =>
        err instanceof TrainError &&
        err.code === 'DATA_MISMATCH' &&
        /trained on other data than this code would predict with \(vocabulary SHA-256: trained on [0-9a-f]{64}, now [0-9a-f]{64}\)/.test(
          err.message,
        ),
    );
    model.dispose();
    optimizer.dispose();
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});
