#!/usr/bin/env node
// The course's Jupyter kernel: the project's own tslab, started in the project root.
//
// tslab compiles each cell with rootDir = the kernel's working directory and refuses
// imports from outside it ("not under rootDir", tslab issue #63). Jupyter starts a
// kernel in the notebook's folder (notebooks/), where `../lib/...` is outside. Running
// tslab from the project root instead makes `import ... from "./lib/gru"` work the same
// in JupyterLab, nbclient and CI, and tslab's file watcher recompiles lib/ on edit.
"use strict";
const path = require("path");

const root = path.resolve(__dirname, "..");
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: tslab-kernel.js <connection_file>");
  process.exit(2);
}
// Jupyter may pass a path relative to the folder it started us in.
const configPath = path.resolve(connectionFile);
process.chdir(root);
process.env.GRU_COURSE_ROOT = root;
require(path.join(root, "node_modules", "tslab", "dist", "main.js")).startKernel({
  configPath,
  enableFindLocal: false,
});
