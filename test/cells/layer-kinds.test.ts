// The recurrent layers' parameter and arithmetic formulas (lib/cells/layer-kinds.ts), against numbers
// worked out by hand and against countParams() of the layers the model actually builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, recurrentLayerOf } from '../../lib/training/model';
import {
  CELLS,
  CELLS_BY_GATES,
  CELL_LABELS,
  COURSE_KINDS,
  EAGER_KINDS,
  RECURRENT_LAYERS,
  RENAMED_KINDS,
  RNN_KINDS,
  isRnnKind,
  multiplyAddsPerStep,
  nonlinearitiesPerStep,
  paramCount,
  paramCountFormula,
} from '../../lib/cells/layer-kinds';

test('the reference sizes (input 128, units 128) give the numbers quoted in the course', () => {
  assert.equal(paramCount('tfSimpleRnn', 128, 128), 32_896); // 128*128 + 128*128 + 128
  assert.equal(paramCount('tfGru', 128, 128), 98_688); // 3*(128*128 + 128*128 + 128)
  assert.equal(paramCount('kerasGru', 128, 128), 99_072); // 3*(128*128 + 128*128 + 2*128)
  assert.equal(paramCount('tfLstm', 128, 128), 131_584); // 4*(128*128 + 128*128 + 128)
  assert.equal(paramCountFormula('kerasGru', 128, 128), '3*(128*128 + 128*128 + 2*128)');
  assert.equal(paramCountFormula('tfLstm', 128, 64), '4*(128*64 + 64*64 + 64)');
  assert.equal(paramCountFormula('kerasGru', 8, 4), '3*(8*4 + 4*4 + 2*4)');
  assert.equal(paramCountFormula('tfSimpleRnn', 8, 4), '8*4 + 4*4 + 4');
});

test('each written-out formula evaluates to its count', () => {
  for (const kind of RNN_KINDS) {
    const expression = paramCountFormula(kind, 7, 5);
    assert.match(expression, /^[\d*+() ]+$/);
    assert.equal(Function(`return ${expression}`)(), paramCount(kind, 7, 5), kind);
  }
});

test('parameter formulas equal the layers the model builds, at the course sizes and odd ones', () => {
  for (const [d, n] of [
    [128, 128],
    [5, 3],
  ]) {
    for (const rnn of RNN_KINDS) {
      const model = buildModel({ numWords: 20, maxLen: 4, embeddingDim: d, units: n, rnn, seed: 1 });
      assert.equal(recurrentLayerOf(model).countParams(), paramCount(rnn, d, n), `${rnn} d=${d} n=${n}`);
      model.dispose();
    }
  }
});

test('arithmetic per step: kernel blocks times (inputDim + units) * units; GRU needs 3/4 of the LSTM', () => {
  assert.equal(multiplyAddsPerStep('tfSimpleRnn', 128, 128), 32_768);
  assert.equal(multiplyAddsPerStep('tfGru', 128, 128), 98_304);
  assert.equal(multiplyAddsPerStep('tfLstm', 128, 128), 131_072);
  assert.equal(multiplyAddsPerStep('kerasGru', 10, 2), 72);
  assert.equal(multiplyAddsPerStep('tfGru', 64, 32) / multiplyAddsPerStep('tfLstm', 64, 32), 0.75);
  assert.equal(nonlinearitiesPerStep('tfLstm', 128), 640);
  assert.equal(nonlinearitiesPerStep('kerasGru', 128), 384);
  assert.equal(nonlinearitiesPerStep('tfSimpleRnn', 2), 2);
});

test('one vocabulary: every cell has a course layer (kerasX) and an eager one (tfX) computing it, and one label', () => {
  assert.deepEqual(CELLS, ['gru', 'lstm', 'simpleRnn']);
  assert.deepEqual(
    CELLS.map((c) => CELL_LABELS[c]),
    ['GRU', 'LSTM', 'SimpleRNN'],
  );
  for (const cell of CELLS) {
    assert.equal(RECURRENT_LAYERS[COURSE_KINDS[cell]].cell, cell);
    assert.equal(RECURRENT_LAYERS[EAGER_KINDS[cell]].cell, cell);
    assert.match(COURSE_KINDS[cell], /^keras/);
    assert.match(EAGER_KINDS[cell], /^tf/);
  }
  assert.deepEqual(
    [...Object.values(COURSE_KINDS), ...Object.values(EAGER_KINDS)].sort(),
    [...RNN_KINDS].sort(),
    'each kind is one of the two',
  );
  // the retired names are not kinds any more, and each names the eager layer it was
  for (const [old, now] of Object.entries(RENAMED_KINDS)) {
    assert.equal(isRnnKind(old), false, old);
    assert.match(now, /^tf/);
  }
  assert.deepEqual(RENAMED_KINDS, { lstm: 'tfLstm', simpleRnn: 'tfSimpleRnn' });
});

test('CELLS_BY_GATES orders the three cells by their gate blocks: SimpleRNN (1), GRU (3), LSTM (4)', () => {
  assert.deepEqual([...CELLS_BY_GATES].sort(), [...CELLS].sort());
  const blocks = CELLS_BY_GATES.map((cell) => RECURRENT_LAYERS[COURSE_KINDS[cell]].blocks);
  assert.deepEqual(blocks, [1, 3, 4]);
  assert.deepEqual(
    CELLS_BY_GATES.map((cell) => CELL_LABELS[cell]),
    ['SimpleRNN', 'GRU', 'LSTM'],
  );
});
