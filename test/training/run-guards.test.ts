// The run directory's guards (lib/training/run-guards.ts): the lock against a second trainer, an unwritable directory
// refused before anything is written, and what a run was trained on.
import { test } from 'node:test';
import { TrainError } from '../../lib/training/config';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { acquireRunLock, checkRunDirWritable, checkRunUnlocked, checkSameData, runDataOf } from '../../lib/training/run-guards';
import { vocabularyFromCounts } from '../../lib/data/vocabulary';

const isTrainError = (code: string, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof TrainError, `expected a TrainError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, pattern);
  return true;
};

function tempRun(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'run-dir-faults-'));
}

test('the run lock: a second trainer gets RUN_LOCKED with the pid; the lock of a dead process is stale and replaced', async () => {
  const runDir = tempRun();
  try {
    const release = await acquireRunLock(runDir);
    const lock = JSON.parse(fs.readFileSync(path.join(runDir, 'train.lock'), 'utf8')) as { pid: number };
    assert.equal(lock.pid, process.pid);
    const locked = new RegExp(`is being written by another trainer \\(pid ${process.pid} on `);
    await assert.rejects(acquireRunLock(runDir), isTrainError('RUN_LOCKED', locked));
    await assert.rejects(checkRunUnlocked(runDir), isTrainError('RUN_LOCKED', locked));
    await release();
    assert.ok(!fs.existsSync(path.join(runDir, 'train.lock')));
    await checkRunUnlocked(runDir);
    // A trainer killed with SIGKILL leaves its lock: its pid is gone.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead !== undefined);
    fs.writeFileSync(path.join(runDir, 'train.lock'), JSON.stringify({ pid: dead, host: os.hostname(), since: 'then' }));
    await checkRunUnlocked(runDir);
    const notes: string[] = [];
    const again = await acquireRunLock(runDir, (m) => notes.push(m));
    assert.match(notes.join('\n'), new RegExp(`removing a stale lock .*"pid":${dead}.*that process is gone`));
    await again();
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test('an unwritable run directory (a parent that is a file: ENOTDIR) is RUN_DIR_UNWRITABLE before anything is created', async () => {
  const dir = tempRun();
  try {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(
      checkRunDirWritable(path.join(file, 'runs', 'r')),
      isTrainError(
        'RUN_DIR_UNWRITABLE',
        /cannot write the run directory .*a-file\/runs\/r: .*a-file \(ENOTDIR: .* is a file, not a directory\)\. Choose another run directory/,
      ),
    );
    await checkRunDirWritable(path.join(dir, 'new', 'run'));
    assert.deepEqual(fs.readdirSync(dir), ['a-file'], 'checking creates nothing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('what a run was trained on: archive SHA-256, tokenizer version and vocabulary SHA-256; any difference is DATA_MISMATCH saying which', () => {
  const vocab = vocabularyFromCounts(
    new Map([
      ['good', 3],
      ['bad', 2],
    ]),
    10,
  );
  const shifted = vocabularyFromCounts(
    new Map([
      ['good', 3],
      ['bad', 4],
    ]),
    10,
  ); // "bad" now has id 4
  const saved = runDataOf('a'.repeat(64), vocab);
  assert.equal(saved.tokenizerVersion, 1);
  assert.equal(
    saved.vocabularySha256,
    createHash('sha256')
      .update(
        JSON.stringify({
          format: 'imdb-vocabulary',
          version: 1,
          tokenizerVersion: 1,
          numWords: 10,
          distinctWords: 2,
          words: ['good', 'bad'],
          counts: [3, 2],
        }),
      )
      .digest('hex'),
  );
  checkSameData(saved, runDataOf('a'.repeat(64), vocab), '/runs/x');
  assert.throws(
    () => checkSameData(saved, runDataOf('b'.repeat(64), shifted), '/runs/x'),
    isTrainError(
      'DATA_MISMATCH',
      new RegExp(
        `archive SHA-256: trained on a{64}, now b{64}; vocabulary SHA-256: trained on ${saved.vocabularySha256}, now [0-9a-f]{64}\\)`,
      ),
    ),
  );
  assert.throws(
    () => checkSameData(saved, { ...saved, tokenizerVersion: 2 }, '/runs/x'),
    isTrainError('DATA_MISMATCH', /tokenizer version: trained on 1, now 2/),
  );
});
