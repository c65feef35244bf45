// The scripts' scaffold (scripts/cli.ts): --help from the option table, usage errors with exit code 2,
// known errors mapped to their exit codes, Ctrl-C stopping at the end of a batch, and the real scripts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../lib/util/paths';
import {
  CliError,
  REPEATED_SIGNAL_MS,
  STOPPED_EXIT,
  epochChoice,
  fail,
  helpText,
  positiveInteger,
  runCli,
  type CliIo,
  type CliSpec,
  type StopSignal,
} from '../scripts/cli';

class KnownError extends Error {}

const SPEC: CliSpec = {
  name: 'demo',
  summary: 'A demo script.',
  usage: 'demo [options]',
  options: {
    size: { type: 'string', value: 'N', help: 'how many\n(a second line)' },
    fast: { type: 'boolean', help: 'go fast' },
    seed: { type: 'string', value: 'N', help: 'the seed', section: 'More options:' },
  },
  epilog: 'Ctrl-C stops at the end of a batch.',
  exitCodes: { 2: 'bad options', 130: 'stopped' },
  abortable: true,
  knownErrors: (err) => (err instanceof KnownError ? 3 : undefined),
};

/** A stop signal delivered while main runs: which one, and how many milliseconds after the previous one. */
interface Delivery {
  signal: StopSignal;
  after: number;
}

/**
 * Runs the scaffold with recorded output; `interrupts` fires the Ctrl-C handler that many times while main
 * runs (a second apart), or delivers the given signals at the given times (on the scaffold's clock).
 */
async function run(argv: string[], main: Parameters<typeof runCli>[1], interrupts: number | Delivery[] = 0) {
  const out = { stdout: '', stderr: '', code: -1 };
  let handler: ((signal?: StopSignal) => void) | undefined;
  let clock = 0;
  const io: CliIo = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    exit: (code) => {
      if (out.code === -1) out.code = code;
    },
    onInterrupt: (h) => void (handler = h),
    now: () => clock,
  };
  const deliveries = typeof interrupts === 'number' ? Array.from({ length: interrupts }, () => undefined) : interrupts;
  await runCli(
    SPEC,
    async (context) => {
      for (const d of deliveries) {
        clock += d?.after ?? 1000;
        if (d === undefined) handler?.();
        else handler?.(d.signal);
      }
      return main(context);
    },
    io,
    argv,
  );
  return out;
}

test('--help is generated from the option table: flags, value names, sections, epilog and exit codes', async () => {
  const text = helpText(SPEC);
  assert.match(text, /^A demo script\.\n\nUsage: demo \[options\]\n/);
  assert.match(text, /\n\n  -h, --help  this text\n/);
  assert.match(text, /\n  --size N {4}how many\n {14}\(a second line\)\n/);
  assert.match(text, /\n  --fast {6}go fast\n\nMore options:\n  --seed N {4}the seed\n/);
  assert.match(text, /Ctrl-C stops at the end of a batch\.\n\nExit codes: 0 done, 1 failed, 2 bad options, 130 stopped\.\n$/);
  const r = await run(['--help'], async () => assert.fail('main must not run'));
  assert.deepEqual([r.code, r.stdout], [0, text]);
});

test('options reach main; an unknown option or a bad value is a usage error (exit 2, pointing to --help)', async () => {
  const ok = await run(['--size', '3', '--fast'], async ({ values }) => {
    assert.deepEqual([positiveInteger(values.size, '--size'), values.fast], [3, true]);
  });
  assert.deepEqual([ok.code, ok.stderr], [0, '']);
  const unknown = await run(['--bogus'], async () => {});
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^demo: Unknown option '--bogus'.*\nRun with --help for the options\.\n$/s);
  const bad = await run(['--size', '0'], async ({ values }) => void positiveInteger(values.size, '--size'));
  assert.deepEqual(
    [bad.code, bad.stderr],
    [2, 'demo: --size "0": use a positive integer in decimal digits\nRun with --help for the options.\n'],
  );
  assert.throws(
    () => fail('no'),
    (err: unknown) => err instanceof CliError && err.exitCode === 2,
  );
  // Integers in decimal digits only: Number() would read these as 2, 10, 3.
  for (const text of ['0x2', '1e1', '0b11', '2.0', ' 4x']) {
    const r = await run(['--size', text], async ({ values }) => void positiveInteger(values.size, '--size'));
    assert.deepEqual([r.code, r.stderr.split('\n')[0]], [2, `demo: --size "${text}": use a positive integer in decimal digits`]);
  }
});

test('an option marked multiple may be repeated: main gets its values in order', async () => {
  const spec: CliSpec = { ...SPEC, options: { ...SPEC.options, file: { type: 'string', value: 'PATH', multiple: true, help: 'a file' } } };
  const values: unknown[] = [];
  await runCli(
    spec,
    async (context) => void values.push(context.values.file),
    { stdout: () => {}, stderr: () => {}, exit: () => {}, onInterrupt: () => {} },
    ['--file', 'a', '--file', '-', '--file', 'c'],
  );
  assert.deepEqual(values, [['a', '-', 'c']]);
});

test('known errors: their message and exit code; anything else: the stack and exit 1; main returns its exit code', async () => {
  const known = await run([], async () => {
    throw new KnownError('the archive is missing: set IMDB_ARCHIVE');
  });
  assert.deepEqual([known.code, known.stderr], [3, 'demo: the archive is missing: set IMDB_ARCHIVE\n']);
  const bug = await run([], async () => {
    throw new TypeError('x is undefined');
  });
  assert.equal(bug.code, 1);
  assert.match(bug.stderr, /^demo: TypeError: x is undefined\n {4}at /);
  const failed = await run([], async () => fail('training failed', 1));
  assert.deepEqual([failed.code, failed.stderr], [1, 'demo: training failed\n'], 'no --help pointer for a non-usage failure');
  assert.equal((await run([], async () => 7)).code, 7);
});

test('Ctrl-C: the first aborts the signal (stop at the end of the batch), the second exits 130 at once', async () => {
  const once = await run([], async ({ signal }) => (signal.aborted ? STOPPED_EXIT : 0), 1);
  assert.equal(once.code, STOPPED_EXIT);
  assert.match(once.stderr, /stopping at the end of this batch \(Ctrl-C again to quit now\)/);
  const twice = await run([], async () => 0, 2);
  assert.equal(twice.code, STOPPED_EXIT, 'the second Ctrl-C exits before main returns');
});

test('SIGTERM stops at the end of the batch like Ctrl-C and exits 143; the same signal delivered twice at once counts once', async () => {
  const term = await run([], async ({ signal }) => (signal.aborted ? STOPPED_EXIT : 0), [{ signal: 'SIGTERM', after: 0 }]);
  assert.equal(term.code, 143, 'a run stopped by SIGTERM exits 128 + 15');
  assert.match(term.stderr, /SIGTERM: stopping at the end of this batch/);
  // `npm run` forwards the terminal's Ctrl-C to the script, which the terminal also sent it: one key press, two signals.
  const repeated = await run([], async ({ signal }) => (signal.aborted ? STOPPED_EXIT : 0), [
    { signal: 'SIGINT', after: 0 },
    { signal: 'SIGINT', after: REPEATED_SIGNAL_MS - 1 },
  ]);
  assert.equal(repeated.code, STOPPED_EXIT, 'main ran to its end (the batch boundary): the repeated signal did not quit');
  assert.equal(repeated.stderr.match(/stopping at the end of this batch/g)?.length, 1);
  const second = await run([], async () => 0, [
    { signal: 'SIGTERM', after: 0 },
    { signal: 'SIGTERM', after: REPEATED_SIGNAL_MS },
  ]);
  assert.equal(second.code, 143, 'a second SIGTERM later on quits at once');
});

test('every script answers --help from its table and rejects an unknown option with exit 2', () => {
  for (const script of ['train', 'predict', 'compare', 'export-imdb', 'imdb-bench', 'bench-epoch', 'bench-gru']) {
    const file = path.join(ROOT, 'scripts', `${script}.ts`);
    const help = spawnSync(process.execPath, ['--import', 'tsx', file, '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    assert.equal(help.status, 0, `${script} --help: ${help.stderr}`);
    assert.match(help.stdout, /Usage: node --import tsx scripts\//, script);
    assert.match(help.stdout, /Exit codes: 0 done, 1 /, script);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', file, '--no-such-option'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    assert.equal(bad.status, 2, `${script}: ${bad.stderr}`);
    assert.match(bad.stderr, new RegExp(`^${script}: Unknown option '--no-such-option'`), script);
  }
});

test('epochChoice reads --epoch as last (default), best, or a positive decimal integer, and refuses anything else', () => {
  assert.equal(epochChoice(undefined), 'last');
  assert.equal(epochChoice('last'), 'last');
  assert.equal(epochChoice('best'), 'best');
  assert.equal(epochChoice('3'), 3);
  for (const bad of ['0', '-1', '1.5', '1e1', '0x2', 'first', '']) {
    assert.throws(
      () => epochChoice(bad),
      (err: unknown) => err instanceof CliError && /--epoch .*use a positive integer, last or best/.test(err.message),
      bad,
    );
  }
});

test('every npm script execs its last command, so that a signal to the npm pid reaches the process doing the work', () => {
  // npm forwards SIGTERM / SIGINT to the `sh -c` it starts; sh does not pass them on to a child it waits for.
  const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const notExec = Object.entries(scripts)
    .filter(([name]) => name !== 'postinstall') // run by npm ci itself, never by hand
    .filter(([, command]) => !/^(?:[A-Z_]+=\S+ )*exec /.test(command.split('&&').pop()!.trim()))
    .map(([name, command]) => `${name}: ${command}`);
  assert.deepEqual(notExec, []);
});
