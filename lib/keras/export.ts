/**
 * A run of this course (Embedding -> KerasGRU -> Dense(1, sigmoid)) written as a Keras model file that
 * `keras.models.load_model` opens, with the run's vocabulary beside it as a Keras word index:
 *
 *   OUT.keras   the Keras 3 zip (config.json, metadata.json, model.weights.h5; Keras 2.12 opens it too)
 *   OUT.h5      the legacy HDF5 file (Keras 2.x and Keras 3)
 *   OUT.word_index.json   word -> rank as imdb.get_word_index() gives it (ids = rank + 3)
 *
 * The weights go over unchanged: KerasGRU keeps Keras's layout (kernel, recurrent_kernel, bias; z | r | h).
 * Both files are written under temporary names and renamed into place.
 */
import * as tf from '@tensorflow/tfjs-node';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { KerasGRU } from '../cells/gru-layer';
import { loadVocabulary } from '../data/vocabulary';
import { KerasModelError, type KerasGruSpec } from './config';
import { writeKerasModel, type KerasFileFormat, type KerasGruWeights } from './file';
import type { Hdf5Array } from './hdf5';
import { wordIndexFromVocabulary, wordIndexPathFor } from './word-index';
import { recurrentLayerOf } from '../training/model';
import { loadRun, type EpochChoice } from '../training/run-dir';

/** What exportKeras wrote. */
export interface ExportResult {
  file: string;
  format: KerasFileFormat;
  wordIndexFile: string;
  /** The run's epoch whose weights were written. */
  epoch: number;
  spec: KerasGruSpec;
}

/** The file format for an output name: .keras or .h5 / .hdf5 (anything else is an error). */
export function formatForPath(file: string): KerasFileFormat {
  if (/\.keras$/i.test(file)) return 'keras';
  if (/\.(h5|hdf5)$/i.test(file)) return 'h5';
  throw new KerasModelError('INVALID', `${file}: name the output .keras (Keras 3's format) or .h5 (the legacy HDF5 format)`);
}

function array(t: tf.Tensor): Hdf5Array {
  return { shape: t.shape.slice(), data: Float32Array.from(t.dataSync()) };
}

/** The spec and weights of a course model (Embedding -> KerasGRU -> Dense(1, sigmoid)) in Keras's layout. */
export function kerasWeightsOf(model: tf.LayersModel, maxLen: number): { spec: KerasGruSpec; weights: KerasGruWeights } {
  const gru = recurrentLayerOf(model);
  if (!(gru instanceof KerasGRU)) {
    throw new KerasModelError(
      'UNSUPPORTED',
      `the run's recurrent layer "${gru.name}" is a ${gru.getClassName()}: only runs with the course's KerasGRU (--rnn kerasGru) are exported`,
    );
  }
  const embedding = model.layers.find((l) => l.getClassName() === 'Embedding');
  const dense = model.layers.find((l) => l.getClassName() === 'Dense');
  if (!embedding || !dense || model.layers.length !== 3)
    throw new KerasModelError('UNSUPPORTED', `model ${model.name} is not Embedding -> KerasGRU -> Dense`);
  const [embeddings] = embedding.getWeights() as [tf.Tensor2D];
  const [denseKernel, denseBias] = dense.getWeights();
  if (denseKernel.shape[1] !== 1 || dense.getConfig().activation !== 'sigmoid')
    throw new KerasModelError('UNSUPPORTED', 'the Dense head must be one sigmoid unit');
  const g = gru.gruWeights();
  const spec: KerasGruSpec = {
    modelName: model.name,
    numWords: embeddings.shape[0],
    embeddingDim: embeddings.shape[1],
    maxLen,
    units: gru.units,
    resetAfter: gru.resetAfter,
    dropout: gru.dropout,
    recurrentDropout: gru.recurrentDropout,
    layerNames: { embedding: 'embedding', gru: 'gru', dense: 'dense' },
  };
  const weights: KerasGruWeights = {
    embeddings: array(embeddings),
    kernel: array(g.kernel),
    recurrentKernel: array(g.recurrentKernel),
    bias: array(g.bias),
    denseKernel: array(denseKernel),
    denseBias: array(denseBias),
  };
  return { spec, weights };
}

// Creates the folder of an output file; a part of its path that is a file, or a folder that cannot be
// written, is a KerasModelError naming it (not a raw EEXIST / ENOTDIR).
async function makeFolderFor(file: string): Promise<void> {
  const folder = path.dirname(file);
  try {
    await fsp.mkdir(folder, { recursive: true });
    return;
  } catch (err) {
    let part = folder;
    while (!fs.existsSync(part) && path.dirname(part) !== part) part = path.dirname(part);
    const why = fs.existsSync(part) && !fs.statSync(part).isDirectory() ? `${part} is a file, not a folder` : (err as Error).message;
    throw new KerasModelError('INVALID', `cannot write ${file}: ${why}. Choose another output path.`);
  }
}

async function writeAtomically(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${file}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await write(tmp);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Writes the run in `runDir` (epoch: default the last) as `outFile` (.keras or .h5) plus its word index JSON. */
export async function exportKeras(runDir: string, outFile: string, options: { epoch?: EpochChoice } = {}): Promise<ExportResult> {
  const format = formatForPath(outFile);
  const run = await loadRun(runDir, options.epoch ?? 'last');
  try {
    const vocabFile = path.join(run.runDir, 'vocab.json');
    if (!fs.existsSync(vocabFile)) throw new KerasModelError('INVALID', `${run.runDir} has no vocab.json to write the word index from`);
    const vocab = await loadVocabulary(vocabFile);
    const { spec, weights } = kerasWeightsOf(run.model, run.config.maxLen);
    const file = path.resolve(outFile);
    await makeFolderFor(file);
    await writeAtomically(file, (tmp) => writeKerasModel(tmp, format, spec, weights));
    const wordIndexFile = wordIndexPathFor(file);
    await writeAtomically(wordIndexFile, (tmp) => fsp.writeFile(tmp, JSON.stringify(wordIndexFromVocabulary(vocab))));
    return { file, format, wordIndexFile, epoch: run.epoch, spec };
  } finally {
    run.model.dispose();
  }
}
