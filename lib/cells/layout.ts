/**
 * Keras's weight layout of the course's three cells, and the checks of inputs against it, so that a wrong shape
 * fails with a sentence naming the tensor and its shape instead of deep inside a matrix product:
 *
 *   kernel           W  [inputDim, G*units]   the G gate blocks side by side (GRU z|r|h, LSTM i|f|c|o, SimpleRNN one)
 *   recurrentKernel  U  [units,    G*units]   same block order
 *   bias             b  per cell (GRU reset_after: [2, 3*units], two rows)
 *
 * The readable cells (lib/cells/gru.ts, lstm.ts, simple-rnn.ts) and the layers (lib/cells/recurrent-layer.ts) call these;
 * the readable cells also share the two helpers at the end, which cut a sequence into steps and stack them back.
 */
import * as tf from '@tensorflow/tfjs-node';
import type { LayerWeights } from '../engine/chunked-graphs';

/** What fixes a cell's layout: its name in errors, its gate blocks, its bias shape and its carried states. */
export type CellLayout = {
  cell: string; // the prefix of its errors: "gru", "lstm", "simple-rnn"
  gates: number; // gate blocks per kernel: GRU 3, LSTM 4, SimpleRNN 1
  biasShape: (units: number) => number[];
  biasNote?: string; // appended to a bias error
  states: number; // states carried from step to step: h, and the LSTM's c
};

/** The GRU's layout: resetAfter (Keras's default) keeps two bias rows, input and recurrent. */
export function gruLayout(resetAfter: boolean): CellLayout {
  return {
    cell: 'gru',
    gates: 3,
    biasShape: (units) => (resetAfter ? [2, 3 * units] : [3 * units]),
    biasNote: ` for resetAfter=${resetAfter} (resetAfter=true keeps input and recurrent biases as two rows)`,
    states: 1,
  };
}

/** The LSTM's layout: one bias [4*units]; carries h and c. */
export const LSTM_LAYOUT: CellLayout = { cell: 'lstm', gates: 4, biasShape: (units) => [4 * units], states: 2 };

/** The simple RNN's layout: one block, one bias [units]. */
export const SIMPLE_RNN_LAYOUT: CellLayout = { cell: 'simple-rnn', gates: 1, biasShape: (units) => [units], states: 1 };

/** Throws `${cell}: message`. */
export function failCell(layout: Pick<CellLayout, 'cell'>, message: string): never {
  throw new Error(`${layout.cell}: ${message}`);
}

/** Checks the three weights against the layout and inputDim. */
export function checkWeights(layout: CellLayout, weights: LayerWeights, inputDim: number): void {
  const units = weights.recurrentKernel.shape[0];
  const width = layout.gates === 1 ? 'units' : `${layout.gates}*units`;
  const [kRows, kCols] = weights.kernel.shape;
  const [uRows, uCols] = weights.recurrentKernel.shape;
  if (kRows !== inputDim || kCols !== layout.gates * units) {
    failCell(layout, `kernel is [${kRows}, ${kCols}], expected [inputDim=${inputDim}, ${width}=${layout.gates * units}]`);
  }
  if (uCols !== layout.gates * uRows) failCell(layout, `recurrentKernel is [${uRows}, ${uCols}], expected [units, ${width}]`);
  const expected = layout.biasShape(units);
  const got = weights.bias.shape;
  if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
    failCell(layout, `bias is [${got}], expected [${expected}]${layout.biasNote ?? ''}`);
  }
}

/** Checks x [batch, time, inputDim], the weights and the initial states (each [batch, units]) of a sequence. */
export function checkSequence(layout: CellLayout, x: tf.Tensor, weights: LayerWeights, initialStates: tf.Tensor[] = []): void {
  if (x.rank !== 3) failCell(layout, `x must be [batch, time, inputDim], got [${x.shape}]`);
  const [batch, time, inputDim] = x.shape;
  if (time < 1) failCell(layout, 'x has no timesteps');
  checkWeights(layout, weights, inputDim);
  const units = weights.recurrentKernel.shape[0];
  for (const s of initialStates) {
    if (s.rank !== 2 || s.shape[0] !== batch || s.shape[1] !== units) {
      const which = layout.states === 2 ? ' for h0 and for c0' : '';
      failCell(layout, `initialState is [${s.shape}], expected [batch=${batch}, units=${units}]${which}`);
    }
  }
}

/** x [batch, time, inputDim] as its steps x_1 .. x_T, each [batch, inputDim] (tf.unstack, whose gradient fails for one step). */
export function timeSteps(x: tf.Tensor3D): tf.Tensor2D[] {
  return x.shape[1] === 1 ? [x.reshape([x.shape[0], x.shape[2]])] : (tf.unstack(x, 1) as tf.Tensor2D[]);
}

/** The steps' named outputs, each [batch, units], stacked over time: each [batch, time, units]. */
export function stackSteps<K extends string>(steps: Record<K, tf.Tensor2D>[]): Record<K, tf.Tensor3D> {
  const keys = Object.keys(steps[0]) as K[];
  return Object.fromEntries(
    keys.map((k) => [
      k,
      tf.stack(
        steps.map((s) => s[k]),
        1,
      ),
    ]),
  ) as Record<K, tf.Tensor3D>;
}
