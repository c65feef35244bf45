/**
 * Inference from a saved run: raw review text -> the run's vocabulary and maxLen -> P(positive).
 */
import * as tf from '@tensorflow/tfjs-node';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { encodeTexts } from './imdb-text';
import { loadVocabulary, type Vocabulary } from './vocabulary';
import { loadRun, type EpochChoice } from './run-dir';
import { TrainError, type TrainConfig } from './train-config';

/** Classifies raw review text with a saved run's vocabulary, maxLen and model. */
export class Predictor {
  private constructor(
    readonly model: tf.LayersModel,
    readonly vocab: Vocabulary,
    readonly config: TrainConfig,
    /** The epoch whose weights are loaded. */
    readonly epoch: number,
    readonly runDir: string,
  ) {}

  /** Loads a run directory; `epoch` picks the weights (default: the last completed epoch). */
  static async load(runDir: string, epoch: EpochChoice = 'last'): Promise<Predictor> {
    const run = await loadRun(runDir, epoch);
    const vocabFile = path.join(run.runDir, 'vocab.json');
    if (!fs.existsSync(vocabFile)) throw new TrainError('RUN_NOT_FOUND', `${run.runDir} has no vocab.json`);
    const vocab = await loadVocabulary(vocabFile);
    if (vocab.numWords !== run.config.numWords) {
      throw new TrainError('CONFIG_MISMATCH', `${vocabFile} has numWords ${vocab.numWords}, the run was trained with ${run.config.numWords}`);
    }
    return new Predictor(run.model, vocab, run.config, run.epoch, run.runDir);
  }

  /** The ids the model sees for each text: [texts.length, maxLen], Keras-padded. */
  encode(texts: readonly string[]): tf.Tensor2D {
    const { values, shape } = encodeTexts(texts, this.vocab, { maxLen: this.config.maxLen });
    return tf.tensor2d(values, shape, 'int32');
  }

  /** P(positive) for each text. */
  predict(texts: readonly string[]): number[] {
    if (texts.length === 0) return [];
    const x = this.encode(texts);
    const p = this.model.predict(x, { batchSize: this.config.evalBatchSize }) as tf.Tensor;
    const out = Array.from(p.dataSync());
    tf.dispose([x, p]);
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** P(positive) for each text, from the run in `runDir` (loads, predicts, disposes). */
export async function predict(texts: readonly string[], runDir: string, epoch: EpochChoice = 'last'): Promise<number[]> {
  const predictor = await Predictor.load(runDir, epoch);
  try {
    return predictor.predict(texts);
  } finally {
    predictor.dispose();
  }
}
