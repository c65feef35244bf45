// The training configuration (lib/training/config.ts): profiles, overrides from the environment and
// the command line, validation, and run names.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUNS_DIR } from '../../lib/util/paths';
import {
  PROFILES,
  TrainError,
  checkFitsInMemory,
  defaultRunDir,
  memoryEstimate,
  parseOption,
  resolveConfig,
  runName,
} from '../../lib/training/config';
import { runStatus } from '../../lib/training/run-dir';
import type { RnnKind } from '../../lib/cells/layer-kinds';

describe('configuration', () => {
  test('the full profile is the reference run; ci is a small subset', () => {
    const full = resolveConfig({ profile: 'full', env: {} });
    assert.deepEqual(
      [full.numWords, full.maxLen, full.embeddingDim, full.units, full.dropout, full.recurrentDropout, full.rnn],
      [10_000, 500, 128, 128, 0.2, 0.2, 'kerasGru'],
    );
    assert.deepEqual([full.learningRate, full.beta1, full.beta2, full.epsilon], [0.001, 0.9, 0.999, 1e-7]);
    assert.deepEqual([full.batchSize, full.epochs, full.trainSize, full.testSize], [32, 10, 25_000, 25_000]);
    const ci = resolveConfig({ profile: 'ci', env: {} });
    assert.deepEqual([ci.trainSize, ci.testSize, ci.maxLen, ci.epochs, ci.batchSize], [2_000, 1_000, 100, 2, 32]);
    assert.equal(resolveConfig({ env: { GRU_PROFILE: 'ci' } }).profile, 'ci');
    assert.equal(resolveConfig({ env: {} }).profile, 'full');
  });

  test('environment overrides apply; explicit overrides win over them', () => {
    const env = {
      GRU_EPOCHS: '3',
      GRU_BATCH_SIZE: ' 16 ',
      GRU_MAX_LEN: '50',
      GRU_TRAIN_SIZE: '500',
      GRU_TEST_SIZE: '200',
      GRU_LEARNING_RATE: '3e-4',
      GRU_RNN: 'tfLstm',
      GRU_SEED: '',
    };
    const c = resolveConfig({ profile: 'ci', env });
    assert.deepEqual(
      [c.epochs, c.batchSize, c.maxLen, c.trainSize, c.testSize, c.learningRate, c.rnn, c.seed],
      [3, 16, 50, 500, 200, 3e-4, 'tfLstm', 42],
    );
    assert.equal(resolveConfig({ profile: 'ci', env, overrides: { epochs: 5 } }).epochs, 5);
  });

  test('bad values are rejected with the variable, the value and what is expected', () => {
    const bad = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(
        () => resolveConfig({ profile: 'ci', env }),
        (err: unknown) => {
          assert.ok(err instanceof TrainError && err.code === 'INVALID_CONFIG', String(err));
          assert.match(err.message, pattern);
          return true;
        },
      );
    bad({ GRU_EPOCHS: 'abc' }, /GRU_EPOCHS="abc" is not an integer \(passes over the training reviews\)/);
    bad({ GRU_EPOCHS: '2.5' }, /GRU_EPOCHS="2.5" is not an integer/);
    // Integers are decimal digits only: Number() would read these as 2, 10, 3 and 2.
    bad({ GRU_EPOCHS: '0x2' }, /GRU_EPOCHS="0x2" is not an integer .*decimal digits/);
    bad({ GRU_EPOCHS: '1e1' }, /GRU_EPOCHS="1e1" is not an integer/);
    bad({ GRU_EPOCHS: '0b11' }, /GRU_EPOCHS="0b11" is not an integer/);
    bad({ GRU_EPOCHS: '2.0' }, /GRU_EPOCHS="2.0" is not an integer/);
    bad({ GRU_EPOCHS: '0' }, /epochs must be an integer in 1\.\.inf, got 0/);
    bad({ GRU_TRAIN_SIZE: '30000' }, /trainSize must be an integer in 1\.\.25000, got 30000/);
    bad({ GRU_LEARNING_RATE: '-1' }, /learningRate must be a positive number, got -1/);
    bad({ GRU_LEARNING_RATE: 'Infinity' }, /GRU_LEARNING_RATE="Infinity" is not a number/);
    bad(
      { GRU_RNN: 'transformer' },
      /GRU_RNN="transformer" is not a recurrent layer: use one of kerasGru, kerasLstm, kerasSimpleRnn, tfGru, tfLstm, tfSimpleRnn/,
    );
    bad({ GRU_TRAIN_SIZE: '32', GRU_BATCH_SIZE: '64' }, /batchSize \(64\) is larger than trainSize \(32\)/);
    assert.throws(() => resolveConfig({ env: { GRU_PROFILE: 'fast' } }), /GRU_PROFILE="fast" is not a profile/);
    // Several problems are reported together.
    bad({ GRU_EPOCHS: '0', GRU_MAX_LEN: '-5' }, /epochs must be .*\n.*maxLen must be/s);
  });

  test("the eager layers' old names (lstm, simpleRnn) are refused wherever a user gives them, naming the new one", () => {
    const refused = (run: () => unknown, pattern: RegExp) =>
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof TrainError && err.code === 'INVALID_CONFIG', String(err));
        assert.match(err.message, pattern);
        return true;
      });
    const lstm =
      /"lstm" is the old name of TensorFlow.js's eager LSTM, now "tfLstm": write tfLstm \(or kerasLstm for the course's own LSTM\)/;
    const simple =
      /"simpleRnn" is the old name of TensorFlow.js's eager SimpleRNN, now "tfSimpleRnn": write tfSimpleRnn \(or kerasSimpleRnn/;
    refused(() => resolveConfig({ profile: 'ci', env: { GRU_RNN: 'lstm' } }), new RegExp(`^GRU_RNN=${lstm.source}`));
    refused(() => parseOption('rnn', 'simpleRnn', '--rnn'), new RegExp(`^--rnn=${simple.source}`));
    refused(
      () => resolveConfig({ profile: 'ci', env: {}, overrides: { rnn: 'simpleRnn' as RnnKind } }),
      new RegExp(`\n  - rnn ${simple.source}`),
    );
    // the new names and the course's own are accepted
    for (const rnn of ['tfLstm', 'tfSimpleRnn', 'kerasLstm', 'kerasGru'])
      assert.equal(resolveConfig({ profile: 'ci', env: { GRU_RNN: rnn } }).rnn, rnn);
  });

  test('a run directory whose config.json names an old layer name is refused, saying what to write in the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-old-rnn-'));
    try {
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ ...PROFILES.ci, rnn: 'lstm' }));
      await assert.rejects(runStatus(dir), (err: unknown) => {
        assert.ok(err instanceof TrainError && err.code === 'INVALID_CONFIG', String(err));
        assert.equal(
          err.message,
          `${file} names its recurrent layer "lstm", the old name of "tfLstm": change "rnn" to "tfLstm" in that file (the same layer under its new name)`,
        );
        return true;
      });
      fs.writeFileSync(file, JSON.stringify({ ...PROFILES.ci, rnn: 'tfLstm' }));
      assert.equal((await runStatus(dir)).config?.rnn, 'tfLstm', 'with the new name the same file is read');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('run names: the profile for its own config, a hash when options were changed (except epochs)', () => {
    assert.equal(runName(resolveConfig({ profile: 'full', env: {} })), 'imdb-gru-full');
    assert.equal(runName(resolveConfig({ profile: 'ci', env: {} })), 'imdb-gru-ci');
    assert.equal(runName(resolveConfig({ profile: 'ci', env: { GRU_EPOCHS: '7' } })), 'imdb-gru-ci');
    assert.equal(runName(resolveConfig({ profile: 'ci', env: { GRU_RNN: 'tfLstm' } })), 'imdb-tflstm-ci');
    assert.equal(runName(resolveConfig({ profile: 'ci', env: { GRU_RNN: 'kerasSimpleRnn' } })), 'imdb-kerassimplernn-ci');
    const changed = runName(resolveConfig({ profile: 'ci', env: { GRU_MAX_LEN: '50' } }));
    assert.match(changed, /^imdb-gru-ci-[0-9a-f]{8}$/);
    assert.notEqual(changed, runName(resolveConfig({ profile: 'ci', env: { GRU_MAX_LEN: '60' } })));
    const ci = resolveConfig({ profile: 'ci', env: {} });
    assert.equal(defaultRunDir(ci, {}), path.join(RUNS_DIR, 'imdb-gru-ci'));
    assert.equal(defaultRunDir(ci, { GRU_RUN_DIR: 'somewhere/else' }), path.resolve('somewhere/else'));
  });

  test('run names are stable across versions: these hashes name runs already on disk', () => {
    // Computed by the code before the module split (commit 88dc39c): a changed key order or hash would
    // orphan every existing run whose options were changed.
    const name = (profile: 'ci' | 'full', env: NodeJS.ProcessEnv) => runName(resolveConfig({ profile, env }));
    assert.equal(name('ci', { GRU_MAX_LEN: '50' }), 'imdb-gru-ci-cf3c514c');
    assert.equal(name('full', { GRU_MAX_LEN: '50' }), 'imdb-gru-full-d0bcb58a');
    assert.equal(name('full', { GRU_EPOCHS: '3', GRU_TRAIN_SIZE: '500' }), 'imdb-gru-full-ecbcbad6');
    // (the course's LSTM kept its name through the renaming of the eager kinds; its hash by the code of commit 2fa5b5e)
    assert.equal(name('ci', { GRU_RNN: 'kerasLstm', GRU_SEED: '7' }), 'imdb-keraslstm-ci-b9c9fb39');
  });

  test('fixedGates: checked with the other options, and a run of its own (its name hashes it)', () => {
    const ci = resolveConfig({ profile: 'ci', env: {} });
    assert.ok(!('fixedGates' in ci), 'the profiles hold no fixedGates key, so their JSON and run names stay as they were');
    const held = resolveConfig({ profile: 'ci', env: {}, overrides: { fixedGates: { reset: 1 } } });
    assert.match(runName(held), /^imdb-gru-ci-[0-9a-f]{8}$/);
    assert.notEqual(runName(held), runName(resolveConfig({ profile: 'ci', env: {}, overrides: { fixedGates: { update: 0 } } })));
    assert.throws(
      () => resolveConfig({ profile: 'ci', env: {}, overrides: { rnn: 'tfLstm', fixedGates: { reset: 1 } } }),
      /fixedGates needs rnn "kerasGru"/,
    );
  });

  test('a maxLen that cannot fit in memory is refused with the arithmetic (padded reviews of the run plus one batch)', () => {
    const huge = resolveConfig({ profile: 'ci', env: {}, overrides: { maxLen: 1_000_000 } });
    // By hand: (2000 + 1000) reviews x 1e6 ids x 4 bytes = 12e9; 32 x 1e6 x (128 + 4 x 128) x 4 bytes = 81.92e9.
    const m = memoryEstimate(huge);
    assert.deepEqual([m.paddedBytes, m.batchBytes, m.totalBytes], [12e9, 81.92e9, 93.92e9]);
    assert.throws(
      () => checkFitsInMemory(huge, 8e9),
      (err: unknown) => {
        assert.ok(err instanceof TrainError && err.code === 'INVALID_CONFIG', String(err));
        assert.match(
          err.message,
          /^maxLen 1000000 cannot fit: padded reviews \(2000 \+ 1000\) x 1000000 ids x 4 bytes = 12\.00 GB, plus one training batch 32 x 1000000 steps x \(128 \+ 4 x 128\) floats x 4 bytes = 81\.92 GB: 93\.92 GB at least, and this machine has 8\.00 GB of memory\. Use a smaller --max-len/,
        );
        return true;
      },
    );
    // Only the reviews the run takes count: the ci profile's own sizes fit in far less.
    checkFitsInMemory(PROFILES.ci, 8e9);
    checkFitsInMemory(PROFILES.full, 8e9);
    assert.equal(memoryEstimate({ ...PROFILES.full, trainSize: 100, testSize: 100 }).paddedBytes, 200 * 500 * 4);
  });
});
