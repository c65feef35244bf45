// The setup (scripts/setup.sh) in a moved or copied checkout: what holds the old path (.venv's
// scripts and their #! lines, the kernelspec) is rebuilt for the new one, and the terminal gets
// one line per step with the tools' output in .setup/setup.log.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const copies = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-copy-'));
after(() => fs.rmSync(copies, { recursive: true, force: true }));

test('a copied checkout: the setup rebuilds .venv and the kernelspec for the new path, and says so', () => {
  assert.ok(fs.existsSync(path.join(ROOT, '.venv', 'bin', 'jupyter')), 'run the setup in this checkout first');
  const copy = path.join(copies, 'moved-course');
  fs.mkdirSync(copy);
  // What the setup reads, plus the set-up state that holds absolute paths (.venv, .setup's stamps).
  for (const entry of ['package.json', 'package-lock.json', 'requirements.txt', 'scripts', 'patches', '.venv', '.setup', '.tools']) {
    if (fs.existsSync(path.join(ROOT, entry))) {
      assert.equal(spawnSync('cp', ['-a', path.join(ROOT, entry), copy]).status, 0, `copying ${entry}`);
    }
  }
  // node_modules holds no absolute path of the checkout (relative .bin links, $ORIGIN rpath): shared, not copied (1 GB).
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const before = fs.readFileSync(path.join(copy, '.venv', 'bin', 'jupyter'), 'utf8').split('\n')[0];
  assert.equal(before, `#!${path.join(ROOT, '.venv', 'bin', 'python')}`, 'the copied .venv starts with the old path');

  const r = spawnSync('bash', [path.join(copy, 'scripts', 'setup.sh')], { cwd: copy, encoding: 'utf8', timeout: 900_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`moved or copied from ${ROOT.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  assert.match(r.stdout, /python environment \(\.venv from requirements\.txt\): ok/);
  assert.doesNotMatch(r.stdout, /python environment \(\.venv\): up to date/);

  for (const script of ['jupyter', 'jupyter-lab', 'jupyter-kernelspec', 'pip']) {
    const first = fs.readFileSync(path.join(copy, '.venv', 'bin', script), 'utf8').split('\n')[0];
    assert.equal(first, `#!${path.join(copy, '.venv', 'bin', 'python')}`, `.venv/bin/${script}`);
  }
  const kernel = JSON.parse(fs.readFileSync(path.join(copy, '.venv', 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'), 'utf8'));
  assert.equal(kernel.argv[1], path.join(copy, 'scripts', 'tslab-kernel.js'));
  // Jupyter in the copy finds the copy's kernelspec.
  const specs = spawnSync(path.join(copy, '.venv', 'bin', 'jupyter'), ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
  assert.equal(specs.status, 0, specs.stderr);
  const tslab = JSON.parse(specs.stdout).kernelspecs.tslab as { resource_dir: string; spec: { argv: string[] } };
  assert.ok(tslab.resource_dir.startsWith(path.join(copy, '.venv')), tslab.resource_dir);
  assert.equal(tslab.spec.argv[1], path.join(copy, 'scripts', 'tslab-kernel.js'));
  assert.equal(fs.readFileSync(path.join(copy, '.setup', 'root'), 'utf8').trim(), copy);

  // Quiet: one line per step on the terminal, every line the setup's own; the tools' output is in the log.
  for (const line of r.stdout.trim().split('\n')) assert.match(line, /^\[setup\] /, `not a setup line: ${line}`);
  assert.ok(r.stdout.trim().split('\n').length <= 10, r.stdout);
  assert.equal(r.stderr, '');
  assert.match(
    fs.readFileSync(path.join(copy, '.setup', 'setup.log'), 'utf8'),
    /pip install -r requirements\.txt|Successfully installed|Requirement already satisfied/,
  );

  // A second run in the same place: nothing to rebuild.
  const again = spawnSync('bash', [path.join(copy, 'scripts', 'setup.sh')], { cwd: copy, encoding: 'utf8', timeout: 300_000 });
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /python environment \(\.venv\): up to date/);
  assert.doesNotMatch(again.stdout, /moved or copied/);
});
