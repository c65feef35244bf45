/**
 * The recurrent layers the course builds and compares (each an RnnKind), the three cells they compute (each a
 * Cell), and what their equations cost:
 *
 *   kind            layer                                                cell       gate blocks  bias rows
 *   kerasGru        KerasGRU (lib/cells/gru.ts), reset_after=True         gru        3 (z r h)    2 (input, recurrent)
 *   kerasLstm       KerasLSTM (lib/cells/lstm.ts)                         lstm       4 (i f c o)  1
 *   kerasSimpleRnn  KerasSimpleRNN (lib/cells/simple-rnn.ts)              simpleRnn  1            1
 *   tfGru           tf.layers.gru / TfGRU, reset_after=False              gru        3            1
 *   tfLstm          tf.layers.lstm                                        lstm       4 (i f c o)  1
 *   tfSimpleRnn     tf.layers.simpleRNN                                   simpleRnn  1            1
 *
 * The kerasX layers are the course's own, run as native TensorFlow graphs (lib/engine/chunked-graphs.ts); the tfX
 * layers are TensorFlow.js's eager ones, one TensorFlow call per operation and time step. Tables and legends name a
 * cell by CELL_LABELS (GRU, LSTM, SimpleRNN). Names retired by the renaming (RENAMED_KINDS) are refused with the new one.
 *
 * Every block has an input kernel [inputDim, units], a recurrent kernel [units, units] and per bias row
 * a bias [units], so a layer has blocks * (inputDim*units + units*units + biasRows*units) weights, and a
 * forward step multiplies x_t and h_{t-1} by every block's kernels: blocks * (inputDim + units) * units
 * multiply-adds per review. Notebook 01 (parameters) and notebook 05 (the comparison) use these.
 */

/** A recurrent cell, whichever layer computes it. */
export type Cell = 'gru' | 'lstm' | 'simpleRnn';

/** Every Cell, in the order the epoch benchmark runs them. */
export const CELLS: readonly Cell[] = ['gru', 'lstm', 'simpleRnn'];

/** The cells by their gates, none (SimpleRNN), two (GRU: z, r), three (LSTM: i, f, o): the order of the tables. */
export const CELLS_BY_GATES: readonly Cell[] = ['simpleRnn', 'gru', 'lstm'];

/** Each cell's name in tables and legends (Keras's class name). */
export const CELL_LABELS: Readonly<Record<Cell, string>> = { gru: 'GRU', lstm: 'LSTM', simpleRnn: 'SimpleRNN' };

/** The recurrent layer in the middle of the model: the course's own (kerasX) or TensorFlow.js's eager one (tfX). */
export type RnnKind = 'kerasGru' | 'kerasLstm' | 'kerasSimpleRnn' | 'tfGru' | 'tfLstm' | 'tfSimpleRnn';

/** Every RnnKind, in the order the course compares them. */
export const RNN_KINDS: readonly RnnKind[] = ['kerasGru', 'kerasLstm', 'kerasSimpleRnn', 'tfGru', 'tfLstm', 'tfSimpleRnn'];

/** The course's own layer of each cell. */
export const COURSE_KINDS: Readonly<Record<Cell, RnnKind>> = { gru: 'kerasGru', lstm: 'kerasLstm', simpleRnn: 'kerasSimpleRnn' };

/** TensorFlow.js's eager layer of each cell. */
export const EAGER_KINDS: Readonly<Record<Cell, RnnKind>> = { gru: 'tfGru', lstm: 'tfLstm', simpleRnn: 'tfSimpleRnn' };

/** Names a kind had before, and the kind each is now (the same layer). */
export const RENAMED_KINDS: Readonly<Record<string, RnnKind>> = { lstm: 'tfLstm', simpleRnn: 'tfSimpleRnn' };

/** Whether `name` is an RnnKind. */
export function isRnnKind(name: unknown): name is RnnKind {
  return typeof name === 'string' && (RNN_KINDS as readonly string[]).includes(name);
}

/**
 * Why `name` is not a recurrent layer, as a sentence that says what to write instead: for a retired name the kind it
 * became (and the course's own layer of that cell); else the list of kinds.
 */
export function unknownKindHint(name: unknown): string {
  const renamed = typeof name === 'string' && Object.hasOwn(RENAMED_KINDS, name) ? RENAMED_KINDS[name] : undefined;
  if (renamed) {
    const cell = RECURRENT_LAYERS[renamed].cell;
    return (
      `${JSON.stringify(name)} is the old name of TensorFlow.js's eager ${CELL_LABELS[cell]}, now ${JSON.stringify(renamed)}: ` +
      `write ${renamed} (or ${COURSE_KINDS[cell]} for the course's own ${CELL_LABELS[cell]})`
    );
  }
  return `${JSON.stringify(name)} is not a recurrent layer: use one of ${RNN_KINDS.join(', ')}`;
}

/** What a recurrent layer's equations are made of (see the module comment). */
export interface RecurrentLayerShape {
  cell: Cell;
  /** Gate blocks of `units` columns in each kernel. */
  blocks: number;
  /** Bias vectors of length blocks*units: 2 for Keras's reset_after GRU, else 1. */
  biasRows: number;
  /** Sigmoids and tanhs per unit and step: GRU sigmoid z, r + tanh candidate; LSTM sigmoid i, f, o + tanh candidate + tanh(c). */
  nonlinearitiesPerUnit: number;
}

/** The shape of each kind's equations. */
export const RECURRENT_LAYERS: Readonly<Record<RnnKind, RecurrentLayerShape>> = {
  kerasGru: { cell: 'gru', blocks: 3, biasRows: 2, nonlinearitiesPerUnit: 3 },
  kerasLstm: { cell: 'lstm', blocks: 4, biasRows: 1, nonlinearitiesPerUnit: 5 },
  kerasSimpleRnn: { cell: 'simpleRnn', blocks: 1, biasRows: 1, nonlinearitiesPerUnit: 1 },
  tfGru: { cell: 'gru', blocks: 3, biasRows: 1, nonlinearitiesPerUnit: 3 },
  tfLstm: { cell: 'lstm', blocks: 4, biasRows: 1, nonlinearitiesPerUnit: 5 },
  tfSimpleRnn: { cell: 'simpleRnn', blocks: 1, biasRows: 1, nonlinearitiesPerUnit: 1 },
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
