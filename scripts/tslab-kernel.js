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
function asyncError(kind, err) {
  const text = err instanceof Error ? err.stack || String(err) : String(err);
  const firstFrame = text.split('\n').find((line) => /^\s+at /.test(line)) || '';
  if (TSLAB_PLUMBING.test(firstFrame)) {
    process.stderr.write(`[kernel] warning: a tslab messaging error (${kind}), ignored: ${text}\n`);
    return;
  }
  globalThis[ASYNC_ERRORS].push(`${kind}: ${text}`);
  process.stderr.write(`[kernel] asynchronous error (${kind}): ${text}\n`);
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
