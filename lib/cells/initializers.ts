/**
 * Keras's default initial weights for a recurrent layer, seeded, in ONE scheme that the model
 * (lib/training/model.ts), the comparison (lib/experiments/compare.ts, through the model) and the concept notebooks
 * (lib/experiments/concepts.ts) share:
 *
 *   kernel            glorot_uniform    seed deriveSeed(seed, 'init', '<name>/kernel')
 *   recurrent_kernel  orthogonal, gain 1  seed deriveSeed(seed, 'init', '<name>/recurrent_kernel')
 *   bias              zeros
 *
 * as keras.layers.GRU, LSTM and SimpleRNN default to. `name` is the weight's owner ('rnn' for the
 * model's recurrent layer); a null seed leaves TensorFlow.js to draw unseeded (Math.random).
 *
 * Also the one place that silences tfjs's "Orthogonal initializer is being called on a matrix with
 * more than 2000 elements: Slowness may result" warning, printed on every such init (a 128x384
 * recurrent kernel is 49,152): the QR it warns about takes a few milliseconds here.
 */
import * as tf from '@tensorflow/tfjs-node';
import { deriveSeed } from '../util/prng';

/** A tfjs initialiser (what tf.initializers.* return). */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** The initialisers of a recurrent layer, named as the layer constructors (and keras.layers.GRU) take them. */
export interface RecurrentInitializers {
  kernelInitializer: Initializer;
  recurrentInitializer: Initializer;
  biasInitializer: Initializer;
}

/** The seed of one initialiser, or undefined (unseeded) for a null seed. */
export function initSeed(seed: number | null, what: string): number | undefined {
  return seed === null ? undefined : deriveSeed(seed, 'init', what);
}

/** Keras's defaults for a recurrent layer named `name`, seeded from `seed` (see the module comment). */
export function kerasRecurrentInitializers(seed: number | null, name = 'rnn'): RecurrentInitializers {
  return {
    kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed(seed, `${name}/kernel`) }),
    recurrentInitializer: tf.initializers.orthogonal({ gain: 1, seed: initSeed(seed, `${name}/recurrent_kernel`) }),
    biasInitializer: tf.initializers.zeros(),
  };
}

const ORTHOGONAL_WARNING = 'Orthogonal initializer is being called';

/** Silences the orthogonal-initialiser warning until the returned function is called (for async work). */
export function muteOrthogonalWarning(): () => void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith(ORTHOGONAL_WARNING)) return;
    warn(...args);
  };
  return () => {
    console.warn = warn;
  };
}

/** Runs `fn` without the orthogonal-initialiser warning; every other warning still shows. */
export function withoutOrthogonalWarning<T>(fn: () => T): T {
  const restore = muteOrthogonalWarning();
  try {
    return fn();
  } finally {
    restore();
  }
}
