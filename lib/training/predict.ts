/**
 * Inference from a saved run: raw review text -> the run's vocabulary and maxLen -> P(positive).
 * A run is used only with the vocabulary and tokenizer it was trained with (data.json), its files
 * checked against their manifests; a text with no word the vocabulary knows gets no verdict (classify).
 */
import * as tf from '@tensorflow/tfjs-node';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { INDEX_FROM, encodeText, encodeTexts } from '../data/text';
import { loadVocabulary, type Vocabulary } from '../data/vocabulary';
import { checkRunVocabulary } from './run-guards';
import { loadRun, type EpochChoice } from './run-dir';
import { TrainError, type TrainConfig } from './config';

/** Classifies raw review text with a saved run's vocabulary, maxLen and model. */
export class Predictor {
  private constructor(
    readonly model: tf.LayersModel,
    readonly vocab: Vocabulary,
    readonly config: TrainConfig,
    /** The epoch whose weights are loaded. */
    readonly epoch: number,
    readonly runDir: string,
    /** The run's last completed epoch, and whether it has all of config.epochs (an unfinished run may be in training). */
    readonly completedEpochs: number,
    readonly complete: boolean,
  ) {}

  /** Loads a run directory; `epoch` picks the weights (default: the last completed epoch). DATA_MISMATCH when vocab.json is not the run's. */
  static async load(runDir: string, epoch: EpochChoice = 'last'): Promise<Predictor> {
    const run = await loadRun(runDir, epoch);
    const vocabFile = path.join(run.runDir, 'vocab.json');
    if (!fs.existsSync(vocabFile)) throw new TrainError('RUN_NOT_FOUND', `${run.runDir} has no vocab.json`);
    const vocab = await loadVocabulary(vocabFile);
    if (vocab.numWords !== run.config.numWords) {
      throw new TrainError(
        'CONFIG_MISMATCH',
        `${vocabFile} has numWords ${vocab.numWords}, the run was trained with ${run.config.numWords}`,
      );
    }
    try {
      await checkRunVocabulary(run.runDir, vocab, undefined, 'predict');
    } catch (err) {
      run.model.dispose();
      throw err;
    }
    return new Predictor(run.model, vocab, run.config, run.epoch, run.runDir, run.completedEpochs, run.complete);
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

  /** How many of the words the model sees (the last maxLen - 1 after truncation) the vocabulary knows. */
  knownWords(text: string): number {
    const ids = encodeText(text, this.vocab).slice(-this.config.maxLen);
    return ids.filter((id) => id > INDEX_FROM).length;
  }

  /**
   * Each text's P(positive) and label (above 0.5: positive), or no verdict (null) for a text with no
   * known word (the model would answer from padding alone, the same for every such text), and for a
   * probability that is not finite (a model with NaN weights).
   */
  classify(texts: readonly string[]): Classification[] {
    const known = texts.map((t) => this.knownWords(t));
    const scored = texts.filter((_, i) => known[i] > 0);
    const p = this.predict(scored);
    let next = 0;
    return texts.map((text, i) => {
      if (known[i] === 0) return { text, knownWords: 0, probability: null, label: null };
      const probability = p[next++];
      // A model whose weights hold NaN answers NaN: no verdict either, never a label beside no probability.
      if (!Number.isFinite(probability)) return { text, knownWords: known[i], probability: null, label: null };
      return { text, knownWords: known[i], probability, label: probability > 0.5 ? 'positive' : 'negative' };
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** One text's verdict: null probability and label when the vocabulary knows none of its words. */
export interface Classification {
  text: string;
  knownWords: number;
  probability: number | null;
  label: 'positive' | 'negative' | null;
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

/**
 * Why `bytes` is not review text, or null when it is: invalid UTF-8, or mostly binary (a NUL byte, or more
 * than a tenth of its characters control characters other than tab, newline and carriage return).
 */
export function notTextReason(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'it is not valid UTF-8 text';
  }
  if (text.includes('\0')) return 'it holds NUL bytes (a binary file?)';
  const controls = [...text].filter((c) => /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(c)).length;
  if (controls > text.length / 10) return `${controls} of its ${text.length} characters are control characters (a binary file?)`;
  return null;
}
