// The Keras environments: kerasPython creates (once) and returns an interpreter running the pinned Keras;
// runKerasModels returns the script's JSON line and reports a failure with the script's own error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../lib/util/paths';
import { KERAS_ENVS, kerasPython, runKerasModels } from '../../lib/keras/python';

const PINNED: Record<string, RegExp> = { keras2: /^keras==(.+)$/m, keras3: /^keras==(.+)$/m };
const REQUIREMENTS: Record<string, string> = { keras2: 'requirements-keras.txt', keras3: 'requirements-keras3.txt' };

for (const env of KERAS_ENVS) {
  test(`${env}: the environment runs the Keras its requirements pin, and a second call reuses it`, () => {
    const python = kerasPython(env);
    assert.ok(fs.existsSync(python), python);
    const pinned = PINNED[env].exec(fs.readFileSync(path.join(ROOT, REQUIREMENTS[env]), 'utf8'))?.[1];
    const r = spawnSync(python, ['-c', 'import keras; print(keras.__version__)'], {
      encoding: 'utf8',
      env: { ...process.env, KERAS_BACKEND: 'jax', TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    assert.equal(r.stdout.trim(), pinned);
    // stamped with its requirements' hash, so a second call reuses it (the interpreter is not reinstalled)
    const venv = path.dirname(path.dirname(python));
    const hash = createHash('sha256')
      .update(fs.readFileSync(path.join(ROOT, REQUIREMENTS[env])))
      .digest('hex');
    assert.equal(fs.readFileSync(path.join(venv, '.requirements-sha256'), 'utf8').trim(), hash);
    const installed = fs.statSync(path.join(venv, 'lib')).mtimeMs;
    assert.equal(kerasPython(env), python);
    assert.equal(fs.statSync(path.join(venv, 'lib')).mtimeMs, installed);
  });
}

test('runKerasModels: a failing command throws with the script error', async () => {
  await assert.rejects(
    runKerasModels('keras3', ['unsupported', '--model', 'gru-ish=/tmp/x.keras']),
    /keras_models\.py unsupported \(keras3\) failed .*\n[\s\S]*use KIND=FILE/,
  );
});
