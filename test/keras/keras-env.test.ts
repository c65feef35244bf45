// scripts/keras-env.sh is safe to run twice at once and repairs a half-made environment. The environments are made
// in a temporary directory from a requirements file that pip already satisfies ("pip"), so nothing is downloaded.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../lib/util/paths';

const SCRIPT = path.join(ROOT, 'scripts', 'keras-env.sh');

/** A fresh directory with a requirements file pip satisfies offline; the environment is to be made at `venv`. */
function scratch(): { dir: string; venv: string; env: NodeJS.ProcessEnv } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-env-'));
  fs.writeFileSync(path.join(dir, 'req.txt'), 'pip\n');
  const venv = path.join(dir, 'venv');
  return { dir, venv, env: { ...process.env, KERAS_ENV_DIR: venv, KERAS_ENV_REQUIREMENTS: path.join(dir, 'req.txt') } };
}

/** Runs the script; resolves with its exit code, stdout and stderr. */
function runScript(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [SCRIPT, 'keras2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Whether the environment's python can run pip. */
function hasPip(venv: string): boolean {
  return spawnSync(path.join(venv, 'bin', 'python'), ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0;
}

test('a second creator started while the first is making the environment waits for it, and both get a working one', async () => {
  const { dir, venv, env } = scratch();
  try {
    const first = runScript(env);
    // Start the second as soon as the half-made environment has its python (before pip is in it): the moment the
    // unlocked script saw "python exists" and ran pip, failing with "No module named pip".
    const python = path.join(venv, 'bin', 'python');
    while (!fs.existsSync(python)) await new Promise((r) => setTimeout(r, 10));
    const second = runScript(env);
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.code, 0, `first creator failed:\n${a.stderr}`);
    assert.equal(b.code, 0, `second creator failed:\n${b.stderr}`);
    assert.equal(a.stdout.trim(), python);
    assert.equal(b.stdout.trim(), python);
    assert.ok(hasPip(venv), 'the environment has pip');
    // The stamp the script writes makes a third call a no-op that prints the same interpreter.
    const c = await runScript(env);
    assert.equal(c.code, 0);
    assert.equal(c.stdout.trim(), python);
    assert.doesNotMatch(c.stderr, /setting up/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an environment left without pip by an interrupted run is made again', async () => {
  const { dir, venv, env } = scratch();
  try {
    assert.equal(spawnSync('python3', ['-m', 'venv', '--without-pip', venv]).status, 0);
    assert.ok(!hasPip(venv), 'the half-made environment has no pip');
    const r = await runScript(env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /has no pip .*making it again/);
    assert.ok(hasPip(venv), 'the remade environment has pip');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
