// Progress lines (lib/util/progress.ts): throttled status lines, lines that stay, stdout by default, the
// self-overwriting line on a terminal, and durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, progressLine } from '../../lib/util/progress';

/** A stream that records what is written; `isTTY` says whether it pretends to be a terminal. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  return { stream: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream, written };
}

test('not a terminal: status lines throttled (unless due), kept lines always, one line each', () => {
  const { stream, written } = fakeStream(false);
  const out = progressLine({ stream, intervalSeconds: 1000, immediate: true });
  out.status('first'); // immediate: the first one shows
  out.status('second'); // within the interval: skipped
  out.status('third', true); // due: shown
  out.line('done');
  assert.deepEqual(written, ['first\n', 'third\n', 'done\n']);
});

test('a terminal: the status line overwrites itself; a kept line clears it first', () => {
  const { stream, written } = fakeStream(true);
  const out = progressLine({ stream, intervalSeconds: 0 });
  out.status('reading 10');
  out.status('reading 20');
  out.line('read 30');
  assert.deepEqual(written, ['\rreading 10\x1b[K', '\rreading 20\x1b[K', '\r\x1b[K', 'read 30\n']);
});

test('not immediate: the first status line waits one interval; Infinity shows none, even when due', () => {
  const lines: string[] = [];
  const out = progressLine({ write: (l) => lines.push(l), intervalSeconds: 1000 });
  out.status('too early');
  const never = progressLine({ write: (l) => lines.push(l), intervalSeconds: Infinity, immediate: true });
  never.status('never', true);
  never.line('kept');
  assert.deepEqual(lines, ['kept']);
});

test('the default stream is stdout (stderr is for warnings and errors)', () => {
  const original = process.stdout.write.bind(process.stdout);
  const seen: string[] = [];
  process.stdout.write = ((chunk: string) => (seen.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    progressLine({ intervalSeconds: 1 }).line('to stdout');
  } finally {
    process.stdout.write = original;
  }
  assert.ok(seen.some((s) => s.includes('to stdout')));
});

test('formatDuration: seconds, minutes and seconds, hours and minutes', () => {
  assert.equal(formatDuration(5.4), '5s');
  assert.equal(formatDuration(75), '1m15s');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(NaN), '?');
});

test('statusWrite takes the status lines (a notebook line updated in place); kept lines still go to write', () => {
  const lines: string[] = [];
  const statuses: string[] = [];
  const out = progressLine({ write: (l) => lines.push(l), statusWrite: (t) => statuses.push(t), intervalSeconds: 1000, immediate: true });
  out.status('batch 1/3');
  out.status('batch 2/3'); // within the interval: skipped
  out.status('batch 3/3', true);
  out.line('epoch 1/1 done');
  assert.deepEqual(statuses, ['batch 1/3', 'batch 3/3']);
  assert.deepEqual(lines, ['epoch 1/1 done']);
});
