#!/usr/bin/env node
// The course's Jupyter kernel: the project's own tslab, started in the project root.
//
// tslab compiles each cell with rootDir = the kernel's working directory and refuses
// imports from outside it ("not under rootDir", tslab issue #63). Jupyter starts a
// kernel in the notebook's folder (notebooks/), where `../lib/...` is outside. Running
// tslab from the project root instead makes `import ... from "./lib/cells/gru"` work the same
// in JupyterLab, nbclient and CI, and tslab's file watcher recompiles lib/ on edit.
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..');
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error('usage: tslab-kernel.js <connection_file>');
  process.exit(2);
}
// Jupyter may pass a path relative to the folder it started us in.
const configPath = path.resolve(connectionFile);
process.chdir(root);
process.env.GRU_COURSE_ROOT = root;
// The end of a kernel: tslab's ZmqServer.close() (on a shutdown request) closes its sockets, but its hooks
// still route process.stdout/stderr writes to them, so any later write (a timer's console.log, our asyncError
// below) threw "Socket is closed" and Node printed that with a stack trace as it died. Once the sockets are
// closed, writes are dropped, errors are no longer reported (nobody is listening), and the process exits
// within a second even when a timer or a training loop would keep it alive.
const jupyter = require(path.join(root, 'node_modules', 'tslab', 'dist', 'jupyter.js'));
let closed = false;
const tslabClose = jupyter.ZmqServer.prototype.close;
jupyter.ZmqServer.prototype.close = function closeQuietly() {
  closed = true;
  const drop = () => true;
  process.stdout.write = drop;
  process.stderr.write = drop;
  setTimeout(() => process.exit(0), 1000).unref();
  return tslabClose.call(this);
};
require(path.join(root, 'node_modules', 'tslab', 'dist', 'main.js')).startKernel({
  configPath,
  enableFindLocal: false,
});

// Asynchronous errors: a throw inside a timer or callback, a promise rejected with no handler.
// tslab only prints them to stderr, into whichever cell happens to run next (or nowhere), and the
// cell counts as passed. We replace its handlers: each error is printed (as before, marked) and
// recorded in a list that the notebook runner (scripts/run_notebooks.py) reads and empties after
// every cell, failing that cell with the error. In JupyterLab the printed error is what one sees.
const ASYNC_ERRORS = Symbol.for('gru-course.kernel.asyncErrors');
globalThis[ASYNC_ERRORS] = [];
// tslab's own messaging can fail the same way (e.g. "Socket is blocked by a bind or unbind operation" when
// a status message races the socket's setup): that is no fault of the notebook's code, so it is printed only.
const TSLAB_PLUMBING = /^\s+at .*[\\/]node_modules[\\/]tslab[\\/]dist[\\/]jupyter\.js:/m;
// The kernel's own stderr, for when tslab's (a cell's output) cannot take a line.
const kernelStderr = process.stderr.write.bind(process.stderr);
/** Writes a line where the running cell shows it; if tslab's socket refuses it, to the kernel's stderr, without a trace. */
function report(line, short) {
  try {
    process.stderr.write(line);
  } catch (writeError) {
    if (closed) return;
    kernelStderr(`${short} (not shown in the notebook: ${writeError && writeError.message})\n`);
  }
}
function asyncError(kind, err) {
  if (closed) return; // the kernel is ending: its sockets are closed, nobody reads an error now
  const text = err instanceof Error ? err.stack || String(err) : String(err);
  const message = err instanceof Error ? String(err) : text.split('\n')[0];
  const firstFrame = text.split('\n').find((line) => /^\s+at /.test(line)) || '';
  if (TSLAB_PLUMBING.test(firstFrame)) {
    const line = `[kernel] warning: a tslab messaging error (${kind}), ignored: ${message}`;
    report(`${line}\n`, line);
    return;
  }
  globalThis[ASYNC_ERRORS].push(`${kind}: ${text}`);
  report(`[kernel] asynchronous error (${kind}): ${text}\n`, `[kernel] asynchronous error (${kind}): ${message}`);
}
process.removeAllListeners('uncaughtException');
process.removeAllListeners('unhandledRejection');
process.on('uncaughtException', (err) => asyncError('uncaught exception in a callback', err));
process.on('unhandledRejection', (reason) => asyncError('unhandled promise rejection', reason));

// The parent watch: when the process that started this kernel (the notebook runner, JupyterLab's server) is
// gone, even killed with SIGKILL and so unable to shut the kernel down, the kernel is re-parented and its
// ppid changes. It then exits within a second, so that no kernel, and no training in it, is left running.
// (The line goes to fd 2 directly: tslab routes process.stderr to a socket nobody reads any more.)
const KERNEL_PARENT = process.ppid;
setInterval(() => {
  if (process.ppid === KERNEL_PARENT) return;
  try {
    require('fs').writeSync(2, `[kernel] the process that started this kernel (pid ${KERNEL_PARENT}) is gone: exiting\n`);
  } finally {
    process.exit(0);
  }
}, 1000).unref();
