/**
 * A Keras model of the course's shape (lib/keras/config.ts), from a `.keras` or `.h5` file (lib/keras/file.ts),
 * turned into a run directory like the ones lib/training/train.ts writes, so that Predictor, loadRun, notebook 04's
 * loading and notebook 06's gate read-out use it like any trained run:
 *
 *   config.json    the TrainConfig (sizes from the Keras model) + resetAfter + `imported` (file, format, Keras version)
 *   vocab.json     the vocabulary: a course vocabulary (--vocab) or one made from a Keras word index (--word-index)
 *   history.csv    one row, epoch 1, with NaN figures (the Keras file does not carry its training history)
 *   epoch-01/      model.json + weights.bin (Embedding -> KerasGRU -> Dense, the Keras weights unchanged), state.json
 *
 * Everything is checked before anything is written, and the directory is written under a temporary name
 * beside the target and renamed into place: an unsupported model or a bad option leaves no run directory.
 */
import * as tf from '@tensorflow/tfjs-node';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { kerasGru } from '../cells/gru-layer';
import { withoutOrthogonalWarning } from '../cells/initializers';
import { loadVocabulary, saveVocabulary, type Vocabulary } from '../data/vocabulary';
import { KerasModelError, type KerasGruSpec } from './config';
import { readKerasModel, type KerasGruWeights, type KerasModelFile } from './file';
import { loadWordIndex, vocabularyFromWordIndex, wordIndexPathFor } from './word-index';
import { PROFILES, type TrainConfig } from '../training/config';
import { epochDir, historyFrame, type EpochRecord } from '../training/run-dir';

/** Where the vocabulary comes from, and what else an import needs to know. */
export interface ImportOptions {
  /** The run directory to create (it must not exist yet). */
  runDir: string;
  /** A course vocabulary: a vocab.json, or a run directory holding one (the model was trained on this course's arrays). */
  vocab?: string;
  /** A Keras word index JSON (imdb.get_word_index() format: word -> rank, ids = rank + 3). */
  wordIndex?: string;
  /** The review length, when the model's input shape leaves it open (must agree with it otherwise). */
  maxLen?: number;
}

/** config.json of an imported run: a TrainConfig plus what lib/training/train.ts's configs do not record. */
export interface ImportedConfig extends TrainConfig {
  /** Keras's reset_after of the GRU (runs trained here always use true). */
  resetAfter: boolean;
  imported: {
    file: string;
    format: KerasModelFile['format'];
    kerasVersion: string;
    backend: string | null;
    /** The Keras model's own name and layer names. */
    kerasModel: string;
    kerasLayers: KerasGruSpec['layerNames'];
    vocabulary: string;
    importedAt: string;
  };
}

/** What importKeras wrote. */
export interface ImportResult {
  runDir: string;
  config: ImportedConfig;
  model: KerasModelFile;
}

function optionError(message: string): never {
  throw new KerasModelError('INVALID', message);
}

async function chooseVocabulary(modelFile: string, numWords: number, options: ImportOptions): Promise<{ vocab: Vocabulary; from: string }> {
  if (options.vocab !== undefined && options.wordIndex !== undefined) optionError('give either --vocab or --word-index, not both');
  let vocab: Vocabulary;
  let from: string;
  if (options.vocab !== undefined) {
    const file =
      fs.existsSync(options.vocab) && fs.statSync(options.vocab).isDirectory() ? path.join(options.vocab, 'vocab.json') : options.vocab;
    if (!fs.existsSync(file)) optionError(`--vocab ${options.vocab}: no ${file} (give a run directory or its vocab.json)`);
    vocab = await loadVocabulary(file);
    from = path.resolve(file);
  } else {
    const file = options.wordIndex ?? wordIndexPathFor(modelFile);
    if (!fs.existsSync(file)) {
      optionError(
        options.wordIndex !== undefined
          ? `--word-index ${file}: no such file`
          : `no vocabulary: give --word-index FILE (Keras's imdb.get_word_index() as JSON) or --vocab RUN_DIR (a course run's vocab.json); ` +
              `${path.basename(file)} is not beside the model either`,
      );
    }
    vocab = vocabularyFromWordIndex(await loadWordIndex(file), numWords);
    from = path.resolve(file);
  }
  if (vocab.numWords !== numWords) {
    optionError(
      `the vocabulary in ${from} has numWords ${vocab.numWords}, but the model's Embedding has ${numWords} rows: they were not made for each other`,
    );
  }
  return { vocab, from };
}

function reviewLength(spec: KerasGruSpec, wanted: number | undefined, source: string): number {
  if (wanted !== undefined && !(Number.isInteger(wanted) && wanted > 0)) optionError(`--max-len ${wanted}: use a positive integer`);
  if (spec.maxLen === null) {
    if (wanted === undefined)
      optionError(
        `${source}: the model's input length is open (None): give the review length with --max-len N (the length it was trained with)`,
      );
    return wanted;
  }
  if (wanted !== undefined && wanted !== spec.maxLen)
    optionError(`--max-len ${wanted}: the model's input is fixed at ${spec.maxLen} ids per review`);
  return spec.maxLen;
}

/** The tfjs model for a spec, with the Keras weights set: Embedding -> KerasGRU -> Dense(1, sigmoid), named as lib/training/model.ts names them. */
export function modelFromKeras(spec: KerasGruSpec, maxLen: number, w: KerasGruWeights): tf.Sequential {
  const model = withoutOrthogonalWarning(() =>
    tf.sequential({
      name: 'imdb_gru',
      layers: [
        tf.layers.embedding({ name: 'embedding', inputDim: spec.numWords, outputDim: spec.embeddingDim, inputLength: maxLen }),
        kerasGru({
          name: 'gru',
          units: spec.units,
          resetAfter: spec.resetAfter,
          dropout: spec.dropout,
          recurrentDropout: spec.recurrentDropout,
        }),
        tf.layers.dense({ name: 'dense', units: 1, activation: 'sigmoid' }),
      ],
    }),
  );
  const values = [w.embeddings, w.kernel, w.recurrentKernel, w.bias, w.denseKernel, w.denseBias].map((a) =>
    tf.tensor(a.data, a.shape, 'float32'),
  );
  model.setWeights(values);
  tf.dispose(values);
  return model;
}

/** The run configuration of an imported model (training settings: the reference's, for a later fine-tune). */
function importedConfig(file: string, m: KerasModelFile, maxLen: number, vocabularyFrom: string): ImportedConfig {
  const s = m.spec;
  return {
    ...PROFILES.full,
    numWords: s.numWords,
    maxLen,
    embeddingDim: s.embeddingDim,
    units: s.units,
    dropout: s.dropout,
    recurrentDropout: s.recurrentDropout,
    rnn: 'kerasGru',
    epochs: 1,
    resetAfter: s.resetAfter,
    imported: {
      file: path.resolve(file),
      format: m.format,
      kerasVersion: m.kerasVersion,
      backend: m.backend,
      kerasModel: s.modelName,
      kerasLayers: s.layerNames,
      vocabulary: vocabularyFrom,
      importedAt: new Date().toISOString(),
    },
  };
}

/** Imports a Keras `.keras` / `.h5` model into a new run directory (see the top of this file). */
export async function importKeras(modelFile: string, options: ImportOptions): Promise<ImportResult> {
  const runDir = path.resolve(options.runDir);
  if (fs.existsSync(runDir))
    optionError(`${runDir} already exists: choose another --run-dir or delete it (an import never overwrites a run)`);
  const m = await readKerasModel(modelFile);
  const maxLen = reviewLength(m.spec, options.maxLen, modelFile);
  const { vocab, from } = await chooseVocabulary(modelFile, m.spec.numWords, options);
  const config = importedConfig(modelFile, m, maxLen, from);

  await fsp.mkdir(path.dirname(runDir), { recursive: true });
  const tmp = `${runDir}.partial-import-${process.pid}-${randomBytes(4).toString('hex')}`;
  const model = modelFromKeras(m.spec, maxLen, m.weights);
  try {
    await fsp.mkdir(tmp);
    await fsp.writeFile(path.join(tmp, 'config.json'), JSON.stringify(config, null, 1));
    await saveVocabulary(vocab, path.join(tmp, 'vocab.json'));
    const history: EpochRecord[] = [{ epoch: 1, loss: NaN, accuracy: NaN, val_loss: NaN, val_accuracy: NaN, seconds: NaN }];
    historyFrame(history).writeCSV(path.join(tmp, 'history.csv'));
    const dir = epochDir(tmp, 1);
    await model.save(`file://${dir}`);
    const state = {
      epoch: 1,
      steps: 0,
      history,
      savedAt: config.imported.importedAt,
      environment: { importedFrom: config.imported.file, kerasVersion: m.kerasVersion },
    };
    await fsp.writeFile(path.join(dir, 'state.json'), JSON.stringify(state, null, 1));
    await fsp.rename(tmp, runDir);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    model.dispose();
  }
  return { runDir, config, model: m };
}
