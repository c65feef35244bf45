/**
 * The four recurrent layers the course builds and compares, and what their equations cost:
 *
 *   kind            layer                                            cell       gate blocks  bias rows
 *   kerasGru        KerasGRU (lib/cells/gru.ts), reset_after=True          GRU        3 (z r h)    2 (input, recurrent)
 *   kerasLstm       KerasLSTM (lib/cells/lstm.ts)                          LSTM       4 (i f c o)  1
 *   kerasSimpleRnn  KerasSimpleRNN (lib/cells/simple-rnn.ts)               SimpleRNN  1            1
 *   tfGru           tf.layers.gru / TfGRU, reset_after=False         GRU        3            1
 *   lstm            tf.layers.lstm                                   LSTM       4 (i f c o)  1
 *   simpleRnn       tf.layers.simpleRNN                              SimpleRNN  1            1
 *
 * The three kerasX layers are the course's own, run as native TensorFlow graphs (lib/engine/chunked-graphs.ts);
 * the other three are TensorFlow.js's eager layers, one TensorFlow call per operation and time step.
 *
 * Every block has an input kernel [inputDim, units], a recurrent kernel [units, units] and per bias row
 * a bias [units], so a layer has blocks * (inputDim*units + units*units + biasRows*units) weights, and a
 * forward step multiplies x_t and h_{t-1} by every block's kernels: blocks * (inputDim + units) * units
 * multiply-adds per review. Notebook 01 (parameters) and notebook 05 (the comparison) use these.
 */

/** The recurrent layer in the middle of the model. */
export type RnnKind = 'kerasGru' | 'kerasLstm' | 'kerasSimpleRnn' | 'tfGru' | 'lstm' | 'simpleRnn';

/** Every RnnKind, in the order the course compares them. */
export const RNN_KINDS: readonly RnnKind[] = ['kerasGru', 'kerasLstm', 'kerasSimpleRnn', 'tfGru', 'lstm', 'simpleRnn'];

/** What a recurrent layer's equations are made of (see the module comment). */
export interface RecurrentLayerShape {
  cell: 'SimpleRNN' | 'GRU' | 'LSTM';
  /** Gate blocks of `units` columns in each kernel. */
  blocks: number;
  /** Bias vectors of length blocks*units: 2 for Keras's reset_after GRU, else 1. */
  biasRows: number;
  /** Sigmoids and tanhs per unit and step: GRU sigmoid z, r + tanh candidate; LSTM sigmoid i, f, o + tanh candidate + tanh(c). */
  nonlinearitiesPerUnit: number;
}

/** The shape of each kind's equations. */
export const RECURRENT_LAYERS: Readonly<Record<RnnKind, RecurrentLayerShape>> = {
  kerasGru: { cell: 'GRU', blocks: 3, biasRows: 2, nonlinearitiesPerUnit: 3 },
  kerasLstm: { cell: 'LSTM', blocks: 4, biasRows: 1, nonlinearitiesPerUnit: 5 },
  kerasSimpleRnn: { cell: 'SimpleRNN', blocks: 1, biasRows: 1, nonlinearitiesPerUnit: 1 },
  tfGru: { cell: 'GRU', blocks: 3, biasRows: 1, nonlinearitiesPerUnit: 3 },
  lstm: { cell: 'LSTM', blocks: 4, biasRows: 1, nonlinearitiesPerUnit: 5 },
  simpleRnn: { cell: 'SimpleRNN', blocks: 1, biasRows: 1, nonlinearitiesPerUnit: 1 },
};

/** Weights of the layer by formula: blocks * (inputDim*units + units*units + biasRows*units). */
export function paramCount(kind: RnnKind, inputDim: number, units: number): number {
  const { blocks, biasRows } = RECURRENT_LAYERS[kind];
  return blocks * (inputDim * units + units * units + biasRows * units);
}

/** The same formula written out with the sizes, e.g. "3*(128*128 + 128*128 + 2*128)". */
export function paramCountFormula(kind: RnnKind, inputDim: number, units: number): string {
  const { blocks, biasRows } = RECURRENT_LAYERS[kind];
  const bias = biasRows === 1 ? `${units}` : `${biasRows}*${units}`;
  const inner = `${inputDim}*${units} + ${units}*${units} + ${bias}`;
  return blocks === 1 ? inner : `${blocks}*(${inner})`;
}

/**
 * Multiply-adds per time step and review in the forward pass: x_t and h_{t-1} times every block's
 * kernels, blocks * (inputDim + units) * units. The elementwise work (a few operations per unit and
 * block) is two orders of magnitude smaller at these sizes and is left out.
 */
export function multiplyAddsPerStep(kind: RnnKind, inputDim: number, units: number): number {
  return RECURRENT_LAYERS[kind].blocks * (inputDim + units) * units;
}

/** Sigmoids and tanhs per time step and review: the cell's nonlinearities. */
export function nonlinearitiesPerStep(kind: RnnKind, units: number): number {
  return RECURRENT_LAYERS[kind].nonlinearitiesPerUnit * units;
}
