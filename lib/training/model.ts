/**
 * The course's sentiment classifier, the reference Keras model:
 *
 *   Embedding(10000, 128) -> GRU(128, dropout 0.2, recurrent_dropout 0.2) -> Dense(1, sigmoid)
 *
 * with the recurrent layer swappable for the comparisons of notebook 05 (the course's own LSTM and SimpleRNN
 * on the same native-graph engine as its GRU; TensorFlow.js's eager tf.layers.gru, lstm and simpleRNN),
 * Keras's initialisers made explicit and seeded (lib/cells/initializers.ts), and a per-layer parameter summary.
 */
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import { kerasGru, normalizeFixedGates, type FixedGates } from '../cells/gru-layer';
import { kerasLstm } from '../cells/lstm-layer';
import { kerasSimpleRnn } from '../cells/simple-rnn-layer';
import { initSeed, kerasRecurrentInitializers, muteOrthogonalWarning, withoutOrthogonalWarning } from '../cells/initializers';
import { deriveSeed } from '../util/prng';
import { isRnnKind, unknownKindHint, type RnnKind } from '../cells/layer-kinds';

/** What the model looks like; `seed` makes its initial weights and GRU dropout masks repeatable. */
export interface ModelConfig {
  /** Vocabulary size: rows of the embedding table (ids 0..numWords-1). */
  numWords: number;
  /** Tokens per review (the input length). */
  maxLen: number;
  embeddingDim: number;
  units: number;
  /** Fraction of x_t dropped inside the recurrent layer (training only). */
  dropout: number;
  /** Fraction of h_{t-1} dropped inside the recurrent layer (training only). */
  recurrentDropout: number;
  rnn: RnnKind;
  /** null: unseeded (TensorFlow.js draws from Math.random). */
  seed: number | null;
  /**
   * Gates of the course's GRU held at 0 or 1 (lib/cells/gru.ts; rnn 'kerasGru' only), e.g. { reset: 1 }. Absent (not
   * undefined-valued) in every other configuration, so their JSON, and the run names hashed from it, stay as they were.
   */
  fixedGates?: FixedGates;
}

/** The reference configuration (the Keras program the course reproduces). */
export const REFERENCE_MODEL: Readonly<ModelConfig> = {
  numWords: 10_000,
  maxLen: 500,
  embeddingDim: 128,
  units: 128,
  dropout: 0.2,
  recurrentDropout: 0.2,
  rnn: 'kerasGru',
  seed: 42,
};

/** Layer names, fixed so that saved weights and summaries read the same in every run. */
const RNN_LAYER_NAME: Record<RnnKind, string> = {
  kerasGru: 'gru',
  kerasLstm: 'lstm',
  kerasSimpleRnn: 'simple_rnn',
  tfGru: 'tf_gru',
  tfLstm: 'lstm',
  tfSimpleRnn: 'simple_rnn',
};

// ---------------------------------------------------------------------------
// tf.layers.gru, with Keras's recurrent dropout
//
// TensorFlow.js 4.22's GRUCell.call multiplies h_{t-1} by its recurrent-dropout mask and then uses the
// MASKED h_{t-1} in the interpolation as well: h_t = z * (mask * h_{t-1}) + (1 - z) * candidate. The mask
// is fixed for a whole sequence, so a kept unit is scaled by 1/(1 - rate) = 1.25 at every step where z
// is near 1: its state leaves [-1, 1] and grows over a long review, the training-mode outputs saturate
// and the training loss explodes (measured: 2.74 after one epoch at 200 ids, above 4 in the next, while
// the validation loss, computed without dropout, is fine). Keras 2 masks only what goes into the products
// (implementation 1); Keras 3 had the same flaw and fixed it the Keras 2 way (keras-team/keras#20656).
// TfGRU below is tf.layers.gru with that one line fixed (the interpolation uses the unmasked h_{t-1})
// and otherwise the same operations in the same order: tf.profile counts the same kernels for both,
// so it runs as fast as tf.layers.gru and the speed comparison of notebook 05 stays fair.

type GruCellArgs = Parameters<typeof tf.layers.gruCell>[0];
type GruCellBase = ReturnType<typeof tf.layers.gruCell>;
type GruLayerArgs = Parameters<typeof tf.layers.gru>[0];
type GruLayerBase = ReturnType<typeof tf.layers.gru>;

// TensorFlow.js exports the factories, not the classes: take the classes from instances.
type LayerClass<A, T> = (new (args: A) => T) & {
  className: string;
  fromConfig: tf.serialization.FromConfigMethod<tf.serialization.Serializable>;
};
const GRU_CELL_CLASS = Object.getPrototypeOf(tf.layers.gruCell({ units: 1 })).constructor as LayerClass<GruCellArgs, GruCellBase>;
const GRU_LAYER_CLASS = Object.getPrototypeOf(tf.layers.gru({ units: 1 })).constructor as LayerClass<GruLayerArgs, GruLayerBase>;

/** tf.layers.gru's cell with the interpolation on the unmasked h_{t-1} (Keras's recurrent dropout). */
export class TfGRUCell extends GRU_CELL_CLASS {
  static override className = 'TfGRUCell';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor[] {
    return tf.tidy(() => {
      const [input, hPrev] = inputs as tf.Tensor[];
      const training = kwargs.training ?? false;
      // Masks for x_t and h_{t-1}, drawn on the first step of a sequence (the layer resets them per call). Like
      // tf.layers.gru, three of each are drawn and the first is used, so both run the same operations.
      const masks = (like: tf.Tensor, rate: number) =>
        [0, 1, 2].map(() => tf.keep((training ? tf.dropout(tf.onesLike(like), rate) : tf.onesLike(like)).clone()));
      const dropsInput = this.dropout > 0 && this.dropout < 1;
      const dropsState = this.recurrentDropout > 0 && this.recurrentDropout < 1;
      if (dropsInput && this.dropoutMask == null) this.dropoutMask = masks(input, this.dropout);
      if (dropsState && this.recurrentDropoutMask == null) this.recurrentDropoutMask = masks(hPrev, this.recurrentDropout);
      const x = dropsInput ? tf.mul(input, (this.dropoutMask as tf.Tensor[])[0]) : input;
      const hMasked = dropsState ? tf.mul(hPrev, (this.recurrentDropoutMask as tf.Tensor[])[0]) : hPrev;
      // tf.fused.matMul and tf.add, as tfjs-layers' K.dot and K.biasAdd compute them for 2-D tensors
      const dot = (a: tf.Tensor, b: tf.Tensor) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D });
      let matrixX = dot(x, this.kernel.read());
      if (this.useBias) matrixX = tf.add(matrixX, this.bias.read());
      const [rk1, rk2] = tf.split(this.recurrentKernel.read(), [2 * this.units, this.units], 1);
      const matrixInner = dot(hMasked, rk1);
      const [xZ, xR, xH] = tf.split(matrixX, 3, 1);
      const [recurrentZ, recurrentR] = tf.split(matrixInner, 2, 1);
      const z = this.recurrentActivation.apply(tf.add(xZ, recurrentZ));
      const r = this.recurrentActivation.apply(tf.add(xR, recurrentR));
      const candidate = this.activation.apply(tf.add(xH, dot(tf.mul(r, hMasked), rk2)));
      const h = tf.add(tf.mul(z, hPrev), tf.mul(tf.add(1, tf.neg(z)), candidate)); // hPrev, not hMasked: the fix
      return [h, h];
    });
  }
}
tf.serialization.registerClass(TfGRUCell);

/** tf.layers.gru (reset_after=False, one eager op at a time) with TfGRUCell's recurrent dropout. */
export class TfGRU extends GRU_LAYER_CLASS {
  static override className = 'TfGRU';

  constructor(args: GruLayerArgs) {
    super(args);
    (this as { cell: GruLayerBase['cell'] }).cell = new TfGRUCell(args); // GRU's constructor made a GRUCell
  }
}
tf.serialization.registerClass(TfGRU);

// ---------------------------------------------------------------------------
// Building

/** What is wrong with `fixedGates` of a config, as sentences (empty when it is absent or valid). */
export function fixedGatesProblems(c: Pick<ModelConfig, 'rnn' | 'fixedGates'>): string[] {
  if (c.fixedGates === undefined) return [];
  try {
    normalizeFixedGates(c.fixedGates);
  } catch (err) {
    return [(err as Error).message];
  }
  return c.rnn === 'kerasGru' ? [] : [`fixedGates needs rnn "kerasGru" (the course's GRU), not ${JSON.stringify(c.rnn)}`];
}

function checkConfig(c: ModelConfig): void {
  const positiveInts: (keyof ModelConfig)[] = ['numWords', 'maxLen', 'embeddingDim', 'units'];
  for (const key of positiveInts) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`model: ${key} must be a positive integer, got ${v}`);
  }
  for (const key of ['dropout', 'recurrentDropout'] as const) {
    if (!(c[key] >= 0 && c[key] < 1)) throw new Error(`model: ${key} must be in [0, 1), got ${c[key]}`);
  }
  if (!isRnnKind(c.rnn)) throw new Error(`model: rnn ${unknownKindHint(c.rnn)}`);
  if (c.seed !== null && !(Number.isInteger(c.seed) && c.seed >= 0 && c.seed <= 0xffffffff)) {
    throw new Error(`model: seed must be an integer in 0..2^32-1 or null, got ${c.seed}`);
  }
  const gateProblems = fixedGatesProblems(c);
  if (gateProblems.length > 0) throw new Error(`model: ${gateProblems.join('; ')}`);
}

function recurrentLayer(config: ModelConfig): tf.layers.Layer {
  const common = {
    name: RNN_LAYER_NAME[config.rnn],
    units: config.units,
    dropout: config.dropout,
    recurrentDropout: config.recurrentDropout,
  };
  const initializers = kerasRecurrentInitializers(config.seed);
  const dropoutSeed = config.seed === null ? null : deriveSeed(config.seed, 'dropout');
  switch (config.rnn) {
    case 'kerasGru':
      return kerasGru({
        ...common,
        ...initializers,
        resetAfter: true,
        seed: dropoutSeed,
        ...(config.fixedGates ? { fixedGates: config.fixedGates } : {}),
      });
    case 'kerasLstm':
      return kerasLstm({ ...common, ...initializers, unitForgetBias: true, seed: dropoutSeed });
    case 'kerasSimpleRnn':
      return kerasSimpleRnn({ ...common, ...initializers, seed: dropoutSeed });
    case 'tfGru':
      // tf.layers.gru only does resetAfter=false (it throws on true); the rest follows Keras's defaults (tfjs's differ),
      // and TfGRU fixes its recurrent dropout (see above).
      return new TfGRU({ ...common, ...initializers, recurrentActivation: 'sigmoid' });
    case 'tfLstm':
      return tf.layers.lstm({ ...common, ...initializers, recurrentActivation: 'sigmoid', unitForgetBias: true });
    case 'tfSimpleRnn':
      return tf.layers.simpleRNN({ ...common, ...initializers });
  }
}

/**
 * Builds Embedding(numWords, embeddingDim) -> recurrent layer -> Dense(1, sigmoid) for [batch, maxLen]
 * int32 ids, with Keras's initialisers: embeddings uniform(-0.05, 0.05), Dense glorot_uniform + zero bias.
 */
export function buildModel(overrides: Partial<ModelConfig> = {}): tf.Sequential {
  const config: ModelConfig = { ...REFERENCE_MODEL, ...overrides };
  checkConfig(config);
  return withoutOrthogonalWarning(() => {
    const rnn = recurrentLayer(config);
    const model = tf.sequential({
      name: `imdb_${RNN_LAYER_NAME[config.rnn]}`,
      layers: [
        tf.layers.embedding({
          name: 'embedding',
          inputDim: config.numWords,
          outputDim: config.embeddingDim,
          inputLength: config.maxLen,
          embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: initSeed(config.seed, 'embedding') }),
        }),
        rnn,
        tf.layers.dense({
          name: 'dense',
          units: 1,
          activation: 'sigmoid',
          kernelInitializer: tf.initializers.glorotUniform({ seed: initSeed(config.seed, 'dense/kernel') }),
          biasInitializer: tf.initializers.zeros(),
        }),
      ],
    });
    return model;
  });
}

/** Loads a model saved with model.save('file://dir') (KerasGRU included: importing this module registers it). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const restore = muteOrthogonalWarning();
  try {
    return await tf.loadLayersModel(`file://${dir}/model.json`);
  } finally {
    restore();
  }
}

/** The model's recurrent layer (the one between the embedding and the dense head). */
export function recurrentLayerOf(model: tf.LayersModel): tf.layers.Layer {
  const layer = model.layers.find((l) => l.getClassName() !== 'Embedding' && l.getClassName() !== 'Dense');
  if (!layer) throw new Error(`model ${model.name} has no recurrent layer`);
  return layer;
}

// ---------------------------------------------------------------------------
// Summary

/** One row of a model summary, Keras-style. */
export interface LayerSummaryRow {
  layer: string;
  type: string;
  outputShape: string;
  params: number;
}

/** Keras's way of writing a shape: (None, 500, 128). */
export function formatShape(shape: tf.Shape | tf.Shape[]): string {
  const one = (s: tf.Shape) => `(${s.map((d) => (d === null ? 'None' : String(d))).join(', ')}${s.length === 1 ? ',' : ''})`;
  return Array.isArray(shape[0]) ? (shape as tf.Shape[]).map(one).join(', ') : one(shape as tf.Shape);
}

/** Parameters per layer (name, type, output shape, count), ready for pl.DataFrame(rows). */
export function summaryRows(model: tf.LayersModel): LayerSummaryRow[] {
  return model.layers.map((l) => ({
    layer: l.name,
    type: l.getClassName(),
    outputShape: formatShape(l.outputShape),
    params: l.countParams(),
  }));
}

/** summaryRows as a nodejs-polars DataFrame (params as an integer column). */
export function summaryFrame(model: tf.LayersModel): pl.DataFrame {
  const rows = summaryRows(model);
  return pl.DataFrame([
    pl.Series(
      'layer',
      rows.map((r) => r.layer),
    ),
    pl.Series(
      'type',
      rows.map((r) => r.type),
    ),
    pl.Series(
      'outputShape',
      rows.map((r) => r.outputShape),
    ),
    pl.Series(
      'params',
      Int32Array.from(rows, (r) => r.params),
    ),
  ]);
}

/** Total number of parameters (trainable and not). */
export function totalParams(model: tf.LayersModel): number {
  return model.layers.reduce((sum, l) => sum + l.countParams(), 0);
}
