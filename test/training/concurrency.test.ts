// Real processes on one run directory (issue 26): two trainers of other configurations, a reader while a
// trainer writes, and `npm run train` stopped by SIGTERM. Tiny runs on the real IMDB data (the ci profile cut
// to 256 training and 128 test reviews of 50 ids).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mock } from 'node:test';
import { createRequire } from 'node:module';
import { ROOT, SHARED_ARCHIVE } from '../../lib/util/paths';
import { epochDir, loadRun, verifyEpoch } from '../../lib/training/run-dir';

const ARCHIVE = process.env.IMDB_ARCHIVE || SHARED_ARCHIVE;
const TINY = ['--profile', 'ci', '--train-size', '256', '--test-size', '128', '--max-len', '50', '--archive', ARCHIVE];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'concurrency-'));
/** Every child started here: killed at the end, so a failed assertion never leaves one (maybe SIGSTOPped) behind. */
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

/** Environment for child processes: no GRU_* overrides leaking in from the shell, quiet TensorFlow. */
function childEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRU_')));
  return { ...env, TF_CPP_MIN_LOG_LEVEL: '2' };
}

/** A started command: its output so far, a wait for a line of it, and its exit. */
interface Started {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, seconds?: number) => Promise<void>;
  exited: Promise<number | null>;
}

function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => void (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, seconds = 120) => {
    for (let i = 0; i < seconds * 20 && !pattern.test(text); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(text, pattern, `waited ${seconds} s for ${pattern}`);
  };
  return { child, output: () => text, waitFor, exited };
}

const trainer = (args: string[]) => start(process.execPath, ['--import', 'tsx', 'scripts/train.ts', ...TINY, ...args]);

/** The processes whose command line mentions `marker`, as `ps` lists them (pid and command). */
function processesWith(marker: string): string[] {
  const r = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const out: string[] = [];
  for (const pid of r) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue; // gone meanwhile
    }
    if (cmd.includes(marker) && Number(pid) !== process.pid) out.push(`${pid} ${cmd}`);
  }
  return out;
}

test('two trainers of other configurations on one run directory: the one whose data loaded last is refused under the lock (exit 2), nothing mixed', async () => {
  const runDir = path.join(work, 'race');
  // The late trainer passes its checks (the directory does not exist yet) and is held while its data loads.
  // Its load must be slow enough to stop it in: an archive at a new path is hashed again, and a maxLen no
  // other test uses (63) is encoded from the archive in a fresh checkout (the issue's own reproduction).
  const archiveCopy = path.join(work, 'archive-copy.tar.gz');
  fs.copyFileSync(ARCHIVE, archiveCopy);
  const lateArgs = [...TINY.slice(0, TINY.indexOf('--max-len')), '--max-len', '63', '--archive', archiveCopy];
  const late = start(process.execPath, [
    '--import',
    'tsx',
    'scripts/train.ts',
    ...lateArgs,
    '--run-dir',
    runDir,
    '--seed',
    '7',
    '--epochs',
    '1',
  ]);
  await late.waitFor(/loading IMDB/);
  process.kill(late.child.pid!, 'SIGSTOP');
  assert.ok(!fs.existsSync(runDir), 'premise: the late trainer has not created the run directory (nor taken its lock) yet');
  // ...while another trainer, of another configuration, trains the run to its end.
  const early = trainer(['--run-dir', runDir, '--epochs', '2', '--quiet']);
  assert.equal(await early.exited, 0, early.output());
  process.kill(late.child.pid!, 'SIGCONT');
  const code = await late.exited;
  assert.equal(code, 2, late.output());
  assert.match(
    late.output(),
    /train: another trainer wrote the run while this trainer loaded its data: .*race already holds 2 completed epoch\(s\)\. Resume it/,
  );
  assert.doesNotMatch(late.output(), /\n +at |training .*race:/, 'no stack trace, and it trained nothing');
  const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { maxLen: number; epochs: number; seed: number };
  assert.deepEqual([config.maxLen, config.epochs, config.seed], [50, 2, 42], "config.json is the first trainer's");
  assert.ok(!fs.existsSync(path.join(runDir, 'train.lock')), 'the refused trainer released the lock');
  const run = await loadRun(runDir);
  assert.deepEqual([run.completedEpochs, run.complete, run.history.length], [2, true, 2]);
  run.model.dispose();

  // With --resume the configurations are compared: CONFIG_MISMATCH naming the difference, also under the lock.
  const resumer = trainer(['--run-dir', runDir, '--seed', '7', '--epochs', '3', '--resume']);
  assert.equal(await resumer.exited, 2, resumer.output());
  assert.match(resumer.output(), /holds a run with another configuration \(seed: saved 42, now 7\)/);
});

test('a file the manifest lists, removed by the next epoch between the check and the read, is no raw ENOENT', async () => {
  // A reader chose epoch 1 and checks it while a trainer saves epoch 2 and removes epoch 1's optimizer state.
  const runDir = path.join(work, 'vanish');
  const t = trainer(['--run-dir', runDir, '--epochs', '1', '--quiet']);
  assert.equal(await t.exited, 0, t.output());
  const dir = epochDir(runDir, 1);
  const optimizerFile = path.join(dir, 'optimizer.json');
  fs.rmSync(optimizerFile);
  fs.rmSync(path.join(dir, 'optimizer.bin'));
  // The moment of the race: the file was there when looked for, and is gone when read.
  // (The module object lib/ requires, not this file's import namespace, which mock cannot patch.)
  const nodeFs = createRequire(__filename)('node:fs') as typeof fs;
  const existsSync = nodeFs.existsSync;
  const looked = mock.method(nodeFs, 'existsSync', (p: fs.PathLike) =>
    String(p).startsWith(path.join(dir, 'optimizer.')) ? true : existsSync(p),
  );
  try {
    await verifyEpoch(dir);
  } finally {
    looked.mock.restore();
  }
  // A file that no later epoch removes is still RUN_CORRUPT when it is missing.
  fs.renameSync(path.join(dir, 'weights.bin'), path.join(dir, 'weights.moved'));
  await assert.rejects(verifyEpoch(dir), /weights\.bin is missing \(listed in .*manifest\.json\)/);
  fs.renameSync(path.join(dir, 'weights.moved'), path.join(dir, 'weights.bin'));
});

test('a run read again and again while it is trained: every read is consistent, none a raw file error', async () => {
  const runDir = path.join(work, 'reader');
  const t = trainer(['--run-dir', runDir, '--epochs', '40', '--quiet', '--train-size', '64', '--test-size', '32']);
  await t.waitFor(/epoch 1\/40 loss/);
  let reads = 0;
  const failures: string[] = [];
  let done = false;
  void t.exited.then(() => void (done = true));
  while (!done) {
    try {
      const run = await loadRun(runDir);
      run.model.dispose();
      await verifyEpoch(epochDir(runDir, Math.max(1, run.completedEpochs - 1)));
      reads++;
    } catch (err) {
      failures.push(String(err instanceof Error ? err.stack : err));
    }
  }
  assert.equal(await t.exited, 0, t.output());
  assert.deepEqual(failures, [], `${failures.length} of ${reads + failures.length} reads failed`);
  assert.ok(reads > 20, `only ${reads} reads`);
});

test('SIGTERM to `npm run train` stops the trainer at a batch boundary: nothing left running, no lock', async () => {
  const runDir = path.join(work, 'npm-term');
  const npm = start('npm', ['run', 'train', '--', ...TINY, '--run-dir', runDir, '--epochs', '200']);
  await npm.waitFor(/epoch 2\/200 loss/);
  const before = processesWith(runDir);
  assert.ok(
    before.some((p) => /node .*scripts\/train\.ts/.test(p)),
    `the trainer runs:\n${before.join('\n')}`,
  );
  process.kill(npm.child.pid!, 'SIGTERM');
  await npm.exited;
  let left = processesWith(runDir);
  for (let i = 0; i < 40 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    left = processesWith(runDir);
  }
  for (const p of left) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
  assert.deepEqual(left, [], `still running after npm exited:\n${left.join('\n')}\n${npm.output()}`);
  assert.match(npm.output(), /SIGTERM: stopping at the end of this batch/);
  assert.match(npm.output(), /stopped during epoch \d+, before batch \d+\/8; .* keeps \d+ completed epoch\(s\): resume with --resume/);
  assert.ok(!fs.existsSync(path.join(runDir, 'train.lock')), 'the lock is released');
});
