/**
 * Keras's dropout inside a recurrent layer (keras.layers.GRU / LSTM / SimpleRNN, Keras 2, implementation 1,
 * which Keras forces whenever recurrent_dropout > 0), shared by the course's three layers:
 *
 *   - masks are inverted: 0 with probability `rate`, else 1 / (1 - rate), so E[mask] = 1 and inference needs none;
 *   - they are drawn once per call (per sequence), so a sample loses the same units at every time step;
 *   - one mask per gate block on each side (GRU 3: z r h; LSTM 4: i f c o; SimpleRNN 1), for the inputs x_t
 *     [batch, inputDim] and for the recurrent state h_{t-1} [batch, units];
 *   - they multiply only what enters the matrix products (x_t W_g, h_{t-1} U_g); the state carried from step
 *     to step (h_{t-1} in the GRU's interpolation, the LSTM's c_t) is never masked;
 *   - only in training, and only for 0 < rate < 1.
 *
 * A layer with a seed s draws its masks with seeds s, s+1, s+2, ... (input masks gate by gate, then the
 * recurrent ones, then the next call's), so seeded training repeats exactly (tested in test/cells/gru.test.ts,
 * test/cells/lstm.test.ts, test/cells/simple-rnn.test.ts).
 */
import * as tf from '@tensorflow/tfjs-node';

/** An inverted-dropout mask: 0 with probability `rate`, else 1 / (1 - rate), so E[mask] = 1. */
export function dropoutMask(shape: [number, number], rate: number, seed?: number): tf.Tensor2D {
  return tf.tidy(
    () =>
      tf
        .randomUniform(shape, 0, 1, 'float32', seed)
        .greaterEqual(rate)
        .cast('float32')
        .div(1 - rate) as tf.Tensor2D,
  );
}

/** Keras applies dropout only for 0 < rate < 1. */
export function isDropoutActive(rate: number): boolean {
  return rate > 0 && rate < 1;
}

/** A dropout rate as the layers store it: clamped to [0, 1], absent = 0. */
export function clampRate(rate: number | undefined): number {
  return Math.min(1, Math.max(0, rate ?? 0));
}

/** The masks of one call, one per gate block; null means "no dropout on this side". */
export type GateMasks = {
  input: tf.Tensor2D[] | null; // [batch, inputDim] each, multiplies x_t
  recurrent: tf.Tensor2D[] | null; // [batch, units] each, multiplies h_{t-1}
};

/** No dropout on either side (inference, or rates of 0). */
export const NO_DROPOUT: GateMasks = { input: null, recurrent: null };

/**
 * Draws one call's masks: `gates` input masks (if `dropout` is active), then `gates` recurrent masks (if
 * `recurrentDropout` is), each with seed `nextSeed()` (undefined: unseeded).
 */
export function drawGateMasks(
  gates: number,
  shapes: { input: [number, number]; recurrent: [number, number] },
  rates: { dropout: number; recurrentDropout: number },
  nextSeed: () => number | undefined,
): GateMasks {
  const draw = (shape: [number, number], rate: number) => Array.from({ length: gates }, () => dropoutMask(shape, rate, nextSeed()));
  return {
    input: isDropoutActive(rates.dropout) ? draw(shapes.input, rates.dropout) : null,
    recurrent: isDropoutActive(rates.recurrentDropout) ? draw(shapes.recurrent, rates.recurrentDropout) : null,
  };
}
