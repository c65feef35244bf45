// runChild (lib/util/child.ts) with real child processes: stdout passed on line by line, a failed exit reported with
// its stderr, a child that outlives its limit killed with the limit and its basis named, and a SIGTERM or SIGINT to
// the parent passed on to the child (killed) and named. Each child prints its pid first, so the test can check that
// no child is left running. No assertion depends on how fast the machine is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ChildFailed, describeLimit, runChild, type ChildLimit } from '../../lib/util/child';
import { ROOT } from '../../lib/util/paths';

/** Node code for a child that prints its pid and then sleeps (far longer than any test waits). */
const SLEEPER = 'console.log(process.pid); setTimeout(() => {}, 600000);';

/** Whether a process with this pid exists (0 is sent: nothing is delivered). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

test('stdout arrives line by line and resolves the promise on exit 0', async () => {
  const seen: string[] = [];
  const lines = await runChild(process.execPath, ['-e', 'console.log("a"); console.log("b"); process.stdout.write("c")'], {
    name: 'three lines',
    limit: { seconds: Infinity, basis: 'no limit in this test' },
    onLine: (l) => seen.push(l),
  });
  assert.deepEqual(lines, ['a', 'b', 'c']);
  assert.deepEqual(seen, ['a', 'b', 'c']);
});

test('a failed exit is rejected with its code and the end of its stderr', async () => {
  await assert.rejects(
    runChild(process.execPath, ['-e', 'console.error("the reason"); process.exit(3)'], {
      name: 'failing child',
      limit: { seconds: Infinity, basis: 'no limit in this test' },
    }),
    (err: unknown) =>
      err instanceof ChildFailed && err.reason === 'exit' && /failing child failed \(exit 3\):\nthe reason/.test(err.message),
  );
});

// A guard, not a speed check: without the kill these tests would wait for the 10-minute sleeper.
const GUARD = { timeout: 120_000 };

test('a child that outlives its limit is killed, and the error names the limit and how it was computed', GUARD, async () => {
  const limit: ChildLimit = { seconds: 1, basis: 'a 1 s test limit for a child that sleeps 10 min' };
  let pid = 0;
  await assert.rejects(
    runChild(process.execPath, ['-e', SLEEPER], { name: 'sleeper', limit, onLine: (l) => (pid = Number(l)) }),
    (err: unknown) => {
      assert.ok(err instanceof ChildFailed);
      assert.equal(err.reason, 'limit');
      assert.ok(err.message.includes(`sleeper stopped: it ran past its limit of ${describeLimit(limit)}`), err.message);
      assert.match(err.message, /a 1 s test limit for a child that sleeps 10 min/);
      return true;
    },
  );
  assert.ok(pid > 0, 'the child printed its pid');
  assert.equal(alive(pid), false, 'the child is gone');
});

/**
 * A parent process running runChild on the sleeper; prints "child <pid>" when the child has started and, when runChild
 * rejects, "rejected <reason>: <message>". With `ownHandler` the parent has a listener of its own for that signal (as
 * a tslab kernel has for SIGINT), so it survives the signal.
 */
function parentScript(dir: string, ownHandler: NodeJS.Signals | null): string {
  const file = path.join(dir, 'parent.ts');
  const child = JSON.stringify(path.join(ROOT, 'lib', 'util', 'child.ts'));
  fs.writeFileSync(
    file,
    `import { runChild } from ${child};\n` +
      (ownHandler ? `process.on('${ownHandler}', () => {});\n` : '') +
      `runChild(process.execPath, ['-e', ${JSON.stringify(SLEEPER)}], { name: 'sleeper', limit: { seconds: Infinity, basis: 'none' },\n` +
      `  onLine: (l) => console.log('child ' + l) }).catch((e) => console.log('rejected ' + e.reason + ': ' + e.message));\n`,
  );
  return file;
}

/** Starts the parent, sends it `signal` once its child runs; resolves with how the parent ended and the child's pid. */
function signalParent(
  ownHandler: NodeJS.Signals | null,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: string | null; stdout: string; childPid: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'child-test-'));
  const parent = spawn(process.execPath, ['--import', 'tsx', parentScript(dir, ownHandler)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    let stdout = '';
    let childPid = 0;
    parent.stdout.setEncoding('utf8');
    parent.stdout.on('data', (c: string) => {
      stdout += c;
      const m = /^child (\d+)$/m.exec(stdout);
      if (m && childPid === 0) {
        childPid = Number(m[1]);
        parent.kill(signal);
      }
    });
    parent.on('close', (code, sig) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal: sig, stdout, childPid });
    });
  });
}

test('SIGTERM to the parent kills the child, and the parent then ends by SIGTERM as it would have', GUARD, async () => {
  const r = await signalParent(null, 'SIGTERM');
  assert.ok(r.childPid > 0, `the child started:\n${r.stdout}`);
  assert.equal(r.signal, 'SIGTERM', `the parent ended by SIGTERM (code ${r.code}):\n${r.stdout}`);
  assert.equal(alive(r.childPid), false, 'the child is gone');
});

test('SIGTERM to a parent that handles SIGTERM itself kills the child and rejects naming the signal', GUARD, async () => {
  const r = await signalParent('SIGTERM', 'SIGTERM');
  assert.ok(r.childPid > 0, `the child started:\n${r.stdout}`);
  assert.equal(r.code, 0, `the parent went on and exited normally:\n${r.stdout}`);
  assert.match(r.stdout, /rejected signal: sleeper stopped by SIGTERM: the child was killed, nothing is left running/);
  assert.equal(alive(r.childPid), false, 'the child is gone');
});

test('SIGINT to a parent that handles SIGINT itself (a tslab kernel) kills the child and rejects naming the signal', GUARD, async () => {
  const r = await signalParent('SIGINT', 'SIGINT');
  assert.ok(r.childPid > 0, `the child started:\n${r.stdout}`);
  assert.equal(r.code, 0, `the parent went on and exited normally:\n${r.stdout}`);
  assert.match(r.stdout, /rejected signal: sleeper stopped by SIGINT: the child was killed, nothing is left running/);
  assert.equal(alive(r.childPid), false, 'the child is gone');
});
