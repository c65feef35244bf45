/**
 * Keras's model configuration (the JSON `model.get_config()` serialises) for the course's model shape,
 * both ways:
 *
 *   Input([maxLen] ids) -> Embedding(numWords, embeddingDim) -> GRU(units, reset_after) -> Dense(1, sigmoid)
 *
 * `parseKerasConfig` reads a Sequential or a linear Functional model written by Keras 2.x (the legacy
 * `.h5` attribute `model_config`, class names and plain configs) or Keras 3 (`config.json` in a `.keras`
 * zip, each layer as {module, class_name, config, registered_name, build_config}), and refuses with a
 * KerasModelError ('UNSUPPORTED') anything whose predictions this course's model would not reproduce:
 * another layer, another activation, mask_zero, a stateful, bidirectional, backwards, unrolled or
 * sequence-returning GRU, no bias, a Dense head of more than one unit, a LoRA or quantized layer, a
 * non-float32 dtype policy.
 *
 * `kerasConfigH5` and `kerasConfigV3` write the config of such a model for Keras's loaders, with only the
 * settings that matter and that Keras 2.12 and Keras 3 both accept (everything else takes its default).
 */

/** The course's model as Keras describes it: what an import needs and an export writes. */
export interface KerasGruSpec {
  /** The model's name in Keras. */
  modelName: string;
  /** Rows of the embedding table (ids 0..numWords-1). */
  numWords: number;
  embeddingDim: number;
  /** Ids per review from the model's input shape; null when the model leaves the length open. */
  maxLen: number | null;
  units: number;
  /** Keras's reset_after: true applies r_t after the recurrent matmul (Keras 2 and 3's default). */
  resetAfter: boolean;
  dropout: number;
  recurrentDropout: number;
  /** The Keras names of the three layers (where their weights are stored). */
  layerNames: { embedding: string; gru: string; dense: string };
}

/** Why a Keras file cannot be used: the model is of another shape, or the file is not a Keras model file. */
export type KerasModelErrorCode = 'UNSUPPORTED' | 'INVALID';

/** A Keras model or file this course cannot import; the message names what and why. */
export class KerasModelError extends Error {
  override readonly name = 'KerasModelError';
  constructor(
    readonly code: KerasModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SHAPE = 'Input -> Embedding -> GRU -> Dense(1, sigmoid)';

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unsupported(source: string, what: string): never {
  throw new KerasModelError('UNSUPPORTED', `${source}: ${what}. This course imports only models of the shape ${SHAPE} (the blog's model).`);
}

function invalid(source: string, what: string): never {
  throw new KerasModelError('INVALID', `${source}: ${what}`);
}

// A layer entry as found in config.layers, either style.
interface LayerEntry {
  className: string;
  name: string;
  config: JsonObject;
  buildInputShape: Json | undefined;
  inbound: Json | undefined;
}

function layerEntries(modelConfig: JsonObject, source: string): LayerEntry[] {
  const layers = modelConfig.layers;
  if (!Array.isArray(layers)) invalid(source, 'the model config has no "layers" list');
  return layers.map((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config))
      invalid(source, `layer #${i} of the model config is malformed`);
    const name = typeof l.config.name === 'string' ? l.config.name : typeof l.name === 'string' ? l.name : `#${i}`;
    const build = isObject(l.build_config) ? l.build_config.input_shape : undefined;
    return { className: l.class_name, name, config: l.config, buildInputShape: build, inbound: l.inbound_nodes };
  });
}

// Keras 2 writes dtype "float32"; Keras 3 a DTypePolicy {config: {name: "float32"}}; "mixed_float16" etc. differ.
function dtypeName(dtype: Json | undefined): string | null {
  if (dtype === undefined || dtype === null) return null;
  if (typeof dtype === 'string') return dtype;
  if (isObject(dtype) && isObject(dtype.config) && typeof dtype.config.name === 'string') return dtype.config.name;
  return JSON.stringify(dtype);
}

function activationName(a: Json | undefined): string | null {
  if (typeof a === 'string') return a;
  if (isObject(a) && typeof a.class_name === 'string') return a.class_name; // a serialised function object
  return a === undefined ? null : JSON.stringify(a);
}

// The sequence length in a batch shape [batch, length]; undefined when not a usable shape.
function lengthOf(shape: Json | undefined): number | null | undefined {
  if (!Array.isArray(shape) || shape.length !== 2) return undefined;
  const n = shape[1];
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : n === null ? null : undefined;
}

function rate(config: JsonObject, key: string, where: string, source: string): number {
  const v = config[key] ?? 0;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) invalid(source, `${where}: ${key} is ${JSON.stringify(v)}, expected a number in [0, 1)`);
  return v;
}

function positiveInt(config: JsonObject, key: string, where: string, source: string): number {
  const v = config[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    invalid(source, `${where}: ${key} is ${JSON.stringify(v)}, expected a positive integer`);
  return v;
}

function requireSetting(
  config: JsonObject,
  key: string,
  expected: Json,
  defaultValue: Json,
  where: string,
  source: string,
  why: string,
): void {
  const v = config[key] === undefined ? defaultValue : config[key];
  if (JSON.stringify(v) !== JSON.stringify(expected))
    unsupported(source, `${where} has ${key}=${JSON.stringify(v)} (${why}; only ${JSON.stringify(expected)} is supported)`);
}

function checkCommon(config: JsonObject, where: string, source: string): void {
  const dtype = dtypeName(config.dtype);
  if (dtype !== null && dtype !== 'float32') unsupported(source, `${where} computes in ${dtype} (only float32 is supported)`);
  for (const key of ['lora_rank', 'quantization_config']) {
    if (config[key] !== undefined && config[key] !== null)
      unsupported(source, `${where} has ${key}=${JSON.stringify(config[key])} (LoRA and quantized layers are not supported)`);
  }
}

// The names of the layers a Functional layer entry takes its input from (Keras 2 node lists or Keras 3 keras_history).
function inboundNames(inbound: Json | undefined): string[] {
  const names = new Set<string>();
  const walk = (v: Json | undefined): void => {
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number') names.add(v[0]);
      else v.forEach(walk);
    } else if (isObject(v)) {
      if (Array.isArray(v.keras_history) && typeof v.keras_history[0] === 'string') names.add(v.keras_history[0]);
      else Object.values(v).forEach(walk);
    }
  };
  walk(inbound);
  return [...names];
}

const NAMED_UNSUPPORTED: Record<string, string> = {
  LSTM: 'an LSTM layer (only GRU is supported)',
  SimpleRNN: 'a SimpleRNN layer (only GRU is supported)',
  CuDNNGRU: 'a CuDNNGRU layer (use keras.layers.GRU, which reads the same weights)',
  Bidirectional: 'a Bidirectional wrapper (a bidirectional GRU is not supported)',
  RNN: 'a generic RNN layer (only keras.layers.GRU is supported)',
  Masking: 'a Masking layer (masking is not supported)',
};

/**
 * The course-shaped model described by a Keras model config (the parsed JSON of `model_config` or
 * `config.json`); throws KerasModelError naming the first layer or setting that is not supported.
 * `source` names the file in messages.
 */
export function parseKerasConfig(json: unknown, source: string): KerasGruSpec {
  const top = json as Json;
  if (!isObject(top) || typeof top.class_name !== 'string' || !isObject(top.config))
    invalid(source, 'the model config is not a Keras model ({class_name, config})');
  const kind = top.class_name;
  if (kind !== 'Sequential' && kind !== 'Functional' && kind !== 'Model') {
    unsupported(source, `the model is a ${kind} (only Sequential and Functional models are read)`);
  }
  const modelConfig = top.config;
  const modelName = typeof modelConfig.name === 'string' ? modelConfig.name : 'model';
  const entries = layerEntries(modelConfig, source);
  const inputs = entries.filter((e) => e.className === 'InputLayer');
  const layers = entries.filter((e) => e.className !== 'InputLayer');
  for (const l of layers) {
    const known = NAMED_UNSUPPORTED[l.className];
    if (known) unsupported(source, `layer "${l.name}" is ${known}`);
  }
  const expected = ['Embedding', 'GRU', 'Dense'];
  if (layers.length !== 3 || layers.some((l, i) => l.className !== expected[i]) || inputs.length > 1) {
    const got = entries.map((l) => `${l.className} "${l.name}"`).join(' -> ');
    const extra = layers.find((l) => !expected.includes(l.className));
    unsupported(source, extra ? `layer "${extra.name}" is a ${extra.className} (the model is ${got})` : `the model is ${got}`);
  }
  const [embedding, gru, dense] = layers;
  if (kind !== 'Sequential') {
    // a Functional model must be the plain chain input -> embedding -> gru -> dense
    const chain = [inputs[0]?.name, embedding.name, gru.name];
    [embedding, gru, dense].forEach((l, i) => {
      const from = inboundNames(l.inbound);
      if (from.length !== 1 || (chain[i] !== undefined && from[0] !== chain[i])) {
        unsupported(
          source,
          `layer "${l.name}" takes its input from ${from.length === 0 ? 'nothing' : from.map((n) => `"${n}"`).join(', ')}, not from "${chain[i]}" alone (only a plain chain of layers is supported)`,
        );
      }
    });
  }

  // Embedding
  const e = embedding.config;
  const eWhere = `Embedding "${embedding.name}"`;
  checkCommon(e, eWhere, source);
  requireSetting(e, 'mask_zero', false, false, eWhere, source, 'masking changes which steps the GRU takes');
  const numWords = positiveInt(e, 'input_dim', eWhere, source);
  const embeddingDim = positiveInt(e, 'output_dim', eWhere, source);

  // GRU
  const g = gru.config;
  const gWhere = `GRU "${gru.name}"`;
  checkCommon(g, gWhere, source);
  const act = activationName(g.activation) ?? 'tanh';
  if (act !== 'tanh') unsupported(source, `${gWhere} has activation=${JSON.stringify(act)} (only "tanh" is supported)`);
  const ract = activationName(g.recurrent_activation) ?? 'sigmoid';
  if (ract !== 'sigmoid') unsupported(source, `${gWhere} has recurrent_activation=${JSON.stringify(ract)} (only "sigmoid" is supported)`);
  requireSetting(g, 'use_bias', true, true, gWhere, source, 'the course GRU always has biases');
  requireSetting(g, 'return_sequences', false, false, gWhere, source, 'the Dense head reads only the last state');
  requireSetting(g, 'return_state', false, false, gWhere, source, 'the Dense head reads only the last state');
  requireSetting(g, 'go_backwards', false, false, gWhere, source, 'the course GRU reads forwards');
  requireSetting(g, 'stateful', false, false, gWhere, source, 'a stateful GRU carries its state between batches');
  requireSetting(g, 'unroll', false, false, gWhere, source, 'unrolling is a Keras execution setting the course does not reproduce');
  requireSetting(g, 'time_major', false, false, gWhere, source, 'inputs are [batch, time, features]');
  const resetAfter = g.reset_after ?? true;
  if (typeof resetAfter !== 'boolean') invalid(source, `${gWhere}: reset_after is ${JSON.stringify(resetAfter)}, expected true or false`);
  const units = positiveInt(g, 'units', gWhere, source);
  const dropout = rate(g, 'dropout', gWhere, source);
  const recurrentDropout = rate(g, 'recurrent_dropout', gWhere, source);

  // Dense
  const d = dense.config;
  const dWhere = `Dense "${dense.name}"`;
  checkCommon(d, dWhere, source);
  const denseUnits = d.units;
  if (denseUnits !== 1)
    unsupported(source, `${dWhere} has units=${JSON.stringify(denseUnits)} (the head is one sigmoid unit: P(positive))`);
  const dact = activationName(d.activation) ?? 'linear';
  if (dact !== 'sigmoid') unsupported(source, `${dWhere} has activation=${JSON.stringify(dact)} (only "sigmoid" is supported)`);
  requireSetting(d, 'use_bias', true, true, dWhere, source, 'the course head has a bias');

  // The review length: the first fixed length the model states anywhere.
  const candidates: Json[] = [];
  if (inputs[0]) candidates.push(inputs[0].config.batch_shape ?? null, inputs[0].config.batch_input_shape ?? null);
  candidates.push(e.batch_input_shape ?? null, embedding.buildInputShape ?? null, modelConfig.build_input_shape ?? null);
  const fromInputLength =
    typeof e.input_length === 'number' && Number.isInteger(e.input_length) && e.input_length > 0 ? e.input_length : null;
  const lengths = [
    ...candidates.map(lengthOf).filter((n): n is number => typeof n === 'number'),
    ...(fromInputLength ? [fromInputLength] : []),
  ];
  if (new Set(lengths).size > 1) invalid(source, `the model states different input lengths (${[...new Set(lengths)].join(', ')})`);
  const maxLen = lengths[0] ?? null;

  return {
    modelName,
    numWords,
    embeddingDim,
    maxLen,
    units,
    resetAfter,
    dropout,
    recurrentDropout,
    layerNames: { embedding: embedding.name, gru: gru.name, dense: dense.name },
  };
}

// ---------------------------------------------------------------------------------------------
// Writing

type LayerConfigs = { input: JsonObject; embedding: JsonObject; gru: JsonObject; dense: JsonObject };

// The settings of each layer, in forms Keras 2.12 and Keras 3 both accept (batch_input_shape: Keras 3's
// InputLayer converts it; no dtype policies, no initialisers: their defaults).
function layerConfigs(spec: KerasGruSpec & { maxLen: number }): LayerConfigs {
  const { layerNames: n } = spec;
  return {
    input: { batch_input_shape: [null, spec.maxLen], dtype: 'int32', sparse: false, ragged: false, name: 'input_1' },
    embedding: { name: n.embedding, trainable: true, input_dim: spec.numWords, output_dim: spec.embeddingDim, mask_zero: false },
    gru: {
      name: n.gru,
      trainable: true,
      units: spec.units,
      activation: 'tanh',
      recurrent_activation: 'sigmoid',
      use_bias: true,
      dropout: spec.dropout,
      recurrent_dropout: spec.recurrentDropout,
      reset_after: spec.resetAfter,
      return_sequences: false,
      return_state: false,
      go_backwards: false,
      stateful: false,
      unroll: false,
    },
    dense: { name: n.dense, trainable: true, units: 1, activation: 'sigmoid', use_bias: true },
  };
}

function withLength(spec: KerasGruSpec): KerasGruSpec & { maxLen: number } {
  if (spec.maxLen === null) throw new Error('keras-config: writing a model needs its input length (maxLen)');
  return spec as KerasGruSpec & { maxLen: number };
}

/** The `model_config` attribute of a legacy `.h5` file (Keras 2 style: {class_name, config} per layer). */
export function kerasConfigH5(spec: KerasGruSpec): JsonObject {
  const c = layerConfigs(withLength(spec));
  return {
    class_name: 'Sequential',
    config: {
      name: spec.modelName,
      layers: [
        { class_name: 'InputLayer', config: c.input },
        { class_name: 'Embedding', config: c.embedding },
        { class_name: 'GRU', config: c.gru },
        { class_name: 'Dense', config: c.dense },
      ],
    },
  };
}

/** The `config.json` of a `.keras` zip (Keras 3 style: module, class_name, config, build_config per layer). */
export function kerasConfigV3(spec: KerasGruSpec): JsonObject {
  const s = withLength(spec);
  const c = layerConfigs(s);
  const layer = (className: string, config: JsonObject, inputShape: Json[] | null): JsonObject => ({
    module: 'keras.layers',
    class_name: className,
    config,
    registered_name: null,
    ...(inputShape ? { build_config: { input_shape: inputShape } } : {}),
  });
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: spec.modelName,
      trainable: true,
      layers: [
        layer('InputLayer', c.input, null),
        layer('Embedding', c.embedding, [null, s.maxLen]),
        layer('GRU', c.gru, [null, s.maxLen, s.embeddingDim]),
        layer('Dense', c.dense, [null, s.units]),
      ],
      build_input_shape: [null, s.maxLen],
    },
    registered_name: null,
    build_config: { input_shape: [null, s.maxLen] },
  };
}
