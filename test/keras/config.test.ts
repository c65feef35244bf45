// Keras model configs of the course's shape: what parseKerasConfig reads from Keras 2 and Keras 3 configs,
// every setting it refuses (with the setting named), and that what kerasConfigH5 / kerasConfigV3 write reads back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KerasModelError, kerasConfigH5, kerasConfigV3, parseKerasConfig, type KerasGruSpec } from '../../lib/keras/config';

type Obj = Record<string, unknown>;

// A Keras 2.12 Sequential config as model.save('m.h5') writes it (abridged to the keys that matter plus a few others).
function keras2(overrides: { embedding?: Obj; gru?: Obj; dense?: Obj; input?: Obj | null; extra?: Obj[] } = {}): Obj {
  const layers: Obj[] = [];
  if (overrides.input !== null)
    layers.push({
      class_name: 'InputLayer',
      config: { batch_input_shape: [null, 500], dtype: 'int32', name: 'input_1', ...overrides.input },
    });
  layers.push(
    {
      class_name: 'Embedding',
      config: {
        name: 'embedding',
        dtype: 'float32',
        input_dim: 10000,
        output_dim: 128,
        mask_zero: false,
        input_length: null,
        ...overrides.embedding,
      },
    },
    {
      class_name: 'GRU',
      config: {
        name: 'gru',
        dtype: 'float32',
        return_sequences: false,
        return_state: false,
        go_backwards: false,
        stateful: false,
        unroll: false,
        time_major: false,
        units: 128,
        activation: 'tanh',
        recurrent_activation: 'sigmoid',
        use_bias: true,
        dropout: 0.2,
        recurrent_dropout: 0.2,
        implementation: 1,
        reset_after: true,
        ...overrides.gru,
      },
    },
    ...(overrides.extra ?? []),
    {
      class_name: 'Dense',
      config: { name: 'dense', dtype: 'float32', units: 1, activation: 'sigmoid', use_bias: true, ...overrides.dense },
    },
  );
  return { class_name: 'Sequential', config: { name: 'sequential', layers } };
}

function refused(config: Obj, message: RegExp): void {
  assert.throws(
    () => parseKerasConfig(config, 'm.h5'),
    (err: unknown) => {
      assert.ok(err instanceof KerasModelError);
      assert.equal(err.code, 'UNSUPPORTED');
      assert.match(err.message, message);
      assert.match(err.message, /^m\.h5: /);
      return true;
    },
  );
}

describe('parseKerasConfig', () => {
  test('reads the blog model from a Keras 2 config: sizes, dropout, reset_after, the length from the InputLayer', () => {
    const spec = parseKerasConfig(keras2(), 'm.h5');
    assert.deepEqual(spec, {
      modelName: 'sequential',
      numWords: 10000,
      embeddingDim: 128,
      maxLen: 500,
      units: 128,
      resetAfter: true,
      dropout: 0.2,
      recurrentDropout: 0.2,
      layerNames: { embedding: 'embedding', gru: 'gru', dense: 'dense' },
    });
  });

  test('the length: from input_length without an InputLayer, open (null) when nothing fixes it, an error when two disagree', () => {
    assert.equal(parseKerasConfig(keras2({ input: null, embedding: { input_length: 200 } }), 'm').maxLen, 200);
    assert.equal(parseKerasConfig(keras2({ input: { batch_input_shape: [null, null] } }), 'm').maxLen, null);
    assert.throws(() => parseKerasConfig(keras2({ embedding: { input_length: 100 } }), 'm'), /different input lengths \(500, 100\)/);
  });

  test('reset_after=False and other unit counts and dropout rates are supported', () => {
    const spec = parseKerasConfig(keras2({ gru: { reset_after: false, units: 7, dropout: 0, recurrent_dropout: 0.5 } }), 'm');
    assert.deepEqual([spec.resetAfter, spec.units, spec.dropout, spec.recurrentDropout], [false, 7, 0, 0.5]);
  });

  test('reads a Keras 3 config (module/class_name/registered_name, DTypePolicy objects, batch_shape)', () => {
    const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    const layer = (class_name: string, config: Obj) => ({
      module: 'keras.layers',
      class_name,
      config: { dtype: policy, ...config },
      registered_name: null,
    });
    const config = {
      module: 'keras',
      class_name: 'Sequential',
      registered_name: null,
      config: {
        name: 'seq',
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, 80], dtype: 'int32', name: 'input_layer' },
            registered_name: null,
          },
          layer('Embedding', {
            name: 'emb',
            input_dim: 5000,
            output_dim: 32,
            mask_zero: false,
            lora_rank: null,
            quantization_config: null,
          }),
          layer('GRU', {
            name: 'g',
            units: 16,
            activation: 'tanh',
            recurrent_activation: 'sigmoid',
            use_bias: true,
            reset_after: true,
            dropout: 0.1,
            recurrent_dropout: 0,
            seed: null,
          }),
          layer('Dense', { name: 'd', units: 1, activation: 'sigmoid', use_bias: true, lora_rank: null }),
        ],
      },
    };
    const spec = parseKerasConfig(config, 'm.keras');
    assert.deepEqual([spec.numWords, spec.embeddingDim, spec.maxLen, spec.units, spec.dropout], [5000, 32, 80, 16, 0.1]);
    assert.deepEqual(spec.layerNames, { embedding: 'emb', gru: 'g', dense: 'd' });
  });

  test('a linear Functional model is read (Keras 2 node lists and Keras 3 keras_history); a branching one is refused', () => {
    const base = keras2();
    const layers = (base.config as { layers: Obj[] }).layers;
    const names = ['input_1', 'embedding', 'gru', 'dense'];
    const keras2Nodes = layers.map((l, i) => ({ ...l, name: names[i], inbound_nodes: i === 0 ? [] : [[[names[i - 1], 0, 0, {}]]] }));
    const functional = {
      class_name: 'Functional',
      config: { name: 'model', layers: keras2Nodes, input_layers: [['input_1', 0, 0]], output_layers: [['dense', 0, 0]] },
    };
    assert.equal(parseKerasConfig(functional, 'm').units, 128);
    const keras3Nodes = layers.map((l, i) => ({
      ...l,
      name: names[i],
      inbound_nodes:
        i === 0 ? [] : [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: [names[i - 1], 0, 0] } }], kwargs: {} }],
    }));
    assert.equal(parseKerasConfig({ class_name: 'Functional', config: { name: 'model', layers: keras3Nodes } }, 'm').units, 128);
    const skip = keras3Nodes.map((l, i) =>
      i === 3 ? { ...l, inbound_nodes: [{ args: [{ config: { keras_history: ['embedding', 0, 0] } }] }] } : l,
    );
    refused(
      { class_name: 'Functional', config: { name: 'model', layers: skip } },
      /layer "dense" takes its input from "embedding", not from "gru" alone/,
    );
  });

  test('other layers are refused by name: LSTM, Bidirectional, an extra layer, a missing layer', () => {
    const withRnn = (class_name: string, config: Obj = {}) => {
      const c = keras2();
      (c.config as { layers: Obj[] }).layers[2] = { class_name, config: { name: class_name.toLowerCase(), ...config } };
      return c;
    };
    refused(withRnn('LSTM', { units: 4 }), /layer "lstm" is an LSTM layer \(only GRU is supported\)/);
    refused(withRnn('SimpleRNN'), /layer "simplernn" is a SimpleRNN layer/);
    refused(
      withRnn('Bidirectional', { layer: {} }),
      /layer "bidirectional" is a Bidirectional wrapper \(a bidirectional GRU is not supported\)/,
    );
    refused(
      keras2({ extra: [{ class_name: 'Dropout', config: { name: 'dropout', rate: 0.5 } }] }),
      /layer "dropout" is a Dropout \(the model is InputLayer "input_1" -> Embedding "embedding" -> GRU "gru" -> Dropout "dropout" -> Dense "dense"\)/,
    );
    const noDense = keras2();
    (noDense.config as { layers: Obj[] }).layers.pop();
    refused(noDense, /the model is InputLayer "input_1" -> Embedding "embedding" -> GRU "gru"/);
    refused({ class_name: 'MyModel', config: {} }, /the model is a MyModel/);
  });

  test('settings the course model does not reproduce are refused, each named with its value', () => {
    refused(keras2({ embedding: { mask_zero: true } }), /Embedding "embedding" has mask_zero=true/);
    refused(keras2({ gru: { activation: 'relu' } }), /GRU "gru" has activation="relu" \(only "tanh" is supported\)/);
    refused(keras2({ gru: { recurrent_activation: 'hard_sigmoid' } }), /recurrent_activation="hard_sigmoid"/);
    refused(keras2({ gru: { use_bias: false } }), /GRU "gru" has use_bias=false/);
    refused(keras2({ gru: { return_sequences: true } }), /return_sequences=true/);
    refused(keras2({ gru: { go_backwards: true } }), /go_backwards=true/);
    refused(keras2({ gru: { stateful: true } }), /stateful=true/);
    refused(keras2({ gru: { unroll: true } }), /unroll=true/);
    refused(keras2({ gru: { time_major: true } }), /time_major=true/);
    refused(keras2({ dense: { units: 2, activation: 'softmax' } }), /Dense "dense" has units=2/);
    refused(keras2({ dense: { activation: 'linear' } }), /Dense "dense" has activation="linear"/);
    refused(keras2({ dense: { use_bias: false } }), /Dense "dense" has use_bias=false/);
    refused(keras2({ gru: { dtype: 'mixed_float16' } }), /GRU "gru" computes in mixed_float16/);
    refused(keras2({ dense: { lora_rank: 4 } }), /lora_rank=4/);
  });

  test('malformed configs are INVALID, not UNSUPPORTED', () => {
    for (const bad of [
      null,
      [],
      { class_name: 'Sequential' },
      { class_name: 'Sequential', config: { layers: 3 } },
      keras2({ gru: { units: 0 } }),
      keras2({ gru: { dropout: 1 } }),
    ]) {
      assert.throws(
        () => parseKerasConfig(bad, 'm'),
        (err: unknown) => err instanceof KerasModelError && err.code === 'INVALID',
      );
    }
  });
});

describe('kerasConfigH5 and kerasConfigV3', () => {
  const spec: KerasGruSpec = {
    modelName: 'imdb_gru',
    numWords: 10000,
    embeddingDim: 128,
    maxLen: 500,
    units: 128,
    resetAfter: false,
    dropout: 0.2,
    recurrentDropout: 0.1,
    layerNames: { embedding: 'embedding', gru: 'gru', dense: 'dense' },
  };

  test('what they write reads back as the same model', () => {
    assert.deepEqual(parseKerasConfig(kerasConfigH5(spec), 'h5'), spec);
    assert.deepEqual(parseKerasConfig(JSON.parse(JSON.stringify(kerasConfigV3(spec))), 'keras'), spec);
  });

  test('the .keras config has Keras 3 layer entries with build configs; both need the input length', () => {
    const c = kerasConfigV3(spec) as {
      module: string;
      config: { layers: Array<{ module: string; build_config?: { input_shape: unknown } }> };
    };
    assert.equal(c.module, 'keras');
    assert.ok(c.config.layers.every((l) => l.module === 'keras.layers'));
    assert.deepEqual(c.config.layers[2].build_config, { input_shape: [null, 500, 128] });
    assert.throws(() => kerasConfigH5({ ...spec, maxLen: null }), /needs its input length/);
  });
});
