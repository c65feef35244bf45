// No committed file names a folder of the machine it was written on (issue 26): a transcript, a recorded
// command or a comment holding /work/..., /home/<user>/... or /Users/<user>/... is wrong on every other
// machine and tells readers nothing. Legitimate absolute paths stay allowed: system ones (/usr/bin/chromium,
// /proc/<pid>/..., /dev/null), /tmp/<name> as a place a reader may write to, and a checkout shown as
// <checkout>/ or <clone>/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../lib/util/paths';

/** Absolute paths of a development machine: its work folder, a user's home, root's home, a mount. */
const MACHINE_PATH = /(?<![\w.~-])\/(?:work|root|mnt|media)\/[\w.-]+|(?<![\w.~-])\/(?:home|Users)\/(?!runner\/)[\w.-]+\//;

/** The machine paths in `text`, each as "line N: path". */
function machinePaths(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(new RegExp(MACHINE_PATH.source, 'g'))) found.push(`line ${i + 1}: ${m[0]}`);
  });
  return found;
}

test('the pattern finds dev-machine paths and leaves system, temporary and placeholder paths alone', () => {
  const bad = [
    'training /work/wt-i17/runs/imdb-gru-ci: 2000 reviews',
    '"--out /work/logs/x.md"',
    'cd /home/ann/gru',
    '/Users/bob/gru',
    '/root/.cache',
  ];
  for (const line of bad) assert.equal(machinePaths(line).length, 1, line);
  const fine = [
    '[setup] chromium: /usr/bin/chromium',
    'fs.readFileSync(`/proc/${pid}/stat`)',
    '--cache-dir /tmp/imdb-bench',
    'open <checkout>/reports/index.html',
    'GitHub runs it in /home/runner/work/gru/gru',
    'https://example.org/work/page',
    '~/work/gru and ./work/x',
  ];
  for (const line of fine) assert.deepEqual(machinePaths(line), [], line);
});

test('no committed file holds an absolute path of a development machine', () => {
  const listed = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const self = path.relative(ROOT, __filename);
  const offenders: string[] = [];
  for (const file of listed.stdout.split('\0').filter((f) => f !== '' && f !== self && f !== 'package-lock.json')) {
    const full = path.join(ROOT, file);
    if (!fs.existsSync(full) || !fs.statSync(full).isFile()) continue;
    const bytes = fs.readFileSync(full);
    if (bytes.includes(0)) continue; // binary
    for (const hit of machinePaths(bytes.toString('utf8'))) offenders.push(`${file} ${hit}`);
  }
  assert.deepEqual(offenders, [], 'write such a path relative to the checkout, or as <checkout>/...');
});
