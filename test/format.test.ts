// The code's one format: Prettier (pinned in package.json, settings in .prettierrc.json) over lib/, test/
// and scripts/. `npm run format` rewrites the tree; this test fails on any file that differs from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../lib/util/paths';

const PRETTIER = path.join(ROOT, 'node_modules', '.bin', 'prettier');
const GLOBS = ['lib/**/*.ts', 'test/**/*.ts', 'scripts/**/*.{ts,js}'];

test('every file of lib/, test/ and scripts/ is formatted as `npm run format` leaves it', () => {
  const r = spawnSync(PRETTIER, ['--check', ...GLOBS], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `not formatted (run npm run format):\n${r.stdout}${r.stderr}`);
});

test('the check can fail: a misformatted file is reported', () => {
  const dir = fs.mkdtempSync(path.join(ROOT, 'test', '.format-probe-'));
  try {
    fs.writeFileSync(path.join(dir, 'bad.ts'), 'const  x = {a:1,\n b : "two"}\n');
    const r = spawnSync(PRETTIER, ['--check', path.relative(ROOT, path.join(dir, 'bad.ts'))], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /bad\.ts/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the settings are the project's: single quotes, 140 columns, trailing commas", () => {
  const settings = JSON.parse(fs.readFileSync(path.join(ROOT, '.prettierrc.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(settings, { printWidth: 140, singleQuote: true, trailingComma: 'all', arrowParens: 'always' });
});
