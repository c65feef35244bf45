/**
 * A child process that TypeScript waits for without blocking: its stdout passed on line by line as it
 * comes (progress reaches a notebook cell while the child works), its stderr kept for the error, and
 * never a child left running:
 *
 *   limit     the child is stopped after `limit.seconds` (Infinity: never), and the error says which
 *             limit it was and how it was computed (`limit.basis`);
 *   signals   SIGINT or SIGTERM to this process while the child runs stops the child first; SIGTERM (or
 *             SIGINT with no other listener) is then raised again, so this process ends as it would have;
 *             in a tslab kernel, whose SIGINT interrupts the cell, the cell fails with the signal named;
 *   exit      a process.exit while the child runs kills it.
 */
import { spawn } from 'node:child_process';
import { formatDuration } from './progress';

/** How long a child may run, and why that long (said in the error when it stops). */
export interface ChildLimit {
  /** Infinity: no limit. */
  seconds: number;
  /** How the limit was computed, e.g. "600 s start-up + 4 x 2 epochs of 5,000 reviews at the measured speed". */
  basis: string;
}

/** Where and how the child runs. */
export interface ChildOptions {
  /** Names the child in messages, e.g. "keras_models.py train (keras2)". */
  name: string;
  limit: ChildLimit;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Each line of stdout as it arrives (without its newline). */
  onLine?: (line: string) => void;
}

/** How a child that did not succeed ended: its exit, its limit, or a signal to this process. */
export class ChildFailed extends Error {
  constructor(
    message: string,
    readonly reason: 'exit' | 'limit' | 'signal',
  ) {
    super(message);
    this.name = 'ChildFailed';
  }
}

/** Seconds a stopped child gets between SIGTERM and SIGKILL. */
const KILL_GRACE_SECONDS = 5;

/** "1h02m (the basis)" or "none". */
export function describeLimit(limit: ChildLimit): string {
  return Number.isFinite(limit.seconds) ? `${formatDuration(limit.seconds)} (${limit.basis})` : `none (${limit.basis})`;
}

/** Runs `command args`, resolving with its stdout lines when it exits 0; see the module comment for the rest. */
export function runChild(command: string, args: readonly string[], options: ChildOptions): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let stoppedBy: 'limit' | NodeJS.Signals | null = null;
    const stop = (why: 'limit' | NodeJS.Signals) => {
      if (stoppedBy === null) stoppedBy = why;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_SECONDS * 1000).unref();
    };
    const timer = Number.isFinite(options.limit.seconds) ? setTimeout(() => stop('limit'), options.limit.seconds * 1000) : null;
    const onSignal = (signal: NodeJS.Signals) => stop(signal);
    const onExit = () => child.kill('SIGKILL');
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('exit', onExit);
    const emit = (line: string) => {
      lines.push(line);
      options.onLine?.(line);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() as string;
      for (const line of parts) emit(line.replace(/\r$/, ''));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-64 * 1024);
    });
    let started = true;
    child.on('error', (err) => {
      started = false;
      finish();
      reject(new ChildFailed(`${options.name} could not start (${command}): ${err.message}`, 'exit'));
    });
    function finish() {
      if (timer) clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('exit', onExit);
    }
    child.on('close', (code, signal) => {
      if (!started) return;
      finish();
      if (partial !== '') emit(partial);
      const tail = stderr.trimEnd().split('\n').slice(-25).join('\n');
      if (stoppedBy === 'limit') {
        reject(
          new ChildFailed(
            `${options.name} stopped: it ran past its limit of ${describeLimit(options.limit)}; the child was killed, ` +
              `nothing is left running${tail ? `. Its last output on stderr:\n${tail}` : ''}`,
            'limit',
          ),
        );
      } else if (stoppedBy !== null) {
        const signalled = stoppedBy;
        reject(new ChildFailed(`${options.name} stopped by ${signalled}: the child was killed, nothing is left running`, 'signal'));
        // End this process as the signal would have, unless someone else handles it (tslab's SIGINT: interrupt).
        if (process.listenerCount(signalled) === 0) process.kill(process.pid, signalled);
      } else if (code !== 0) {
        reject(new ChildFailed(`${options.name} failed (exit ${code ?? signal}):\n${tail}`, 'exit'));
      } else {
        resolve(lines);
      }
    });
  });
}
