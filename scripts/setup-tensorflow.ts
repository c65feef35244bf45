/**
 * Provision the native TensorFlow backend of @tensorflow/tfjs-node.
 *
 * tfjs-node's own install script downloads libtensorflow 2.9.1 and a prebuilt
 * addon from Google storage. Where that host is unreachable (this project's CI),
 * we take the TensorFlow C API from PyPI's `tensorflow-cpu` wheel instead
 * (libtensorflow_cc.so.2 + libtensorflow_framework.so.2 export every TF_/TFE_
 * symbol; the C headers ship under tensorflow/include), stage it where the
 * addon's binding.gyp expects it (deps/lib, deps/include) and build the addon
 * from source with node-gyp. The addon finds the libraries through its rpath
 * ($ORIGIN/../../deps/lib): no LD_LIBRARY_PATH, no global preload.
 *
 * Order: already working -> cached build -> official download -> PyPI wheel.
 * TFJS_NODE_SOURCE=download|pypi forces one route; see README "Native TensorFlow".
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const TFJS_NODE = path.join(ROOT, "node_modules", "@tensorflow", "tfjs-node");

/** The wheel that supplies libtensorflow. 2.12 is the oldest release whose wheel
 * carries the C API in a plain shared library: up to 2.11 it lives inside
 * _pywrap_tensorflow_internal.so, which needs libpython's symbols to load. */
export const TF_WHEEL = { name: "tensorflow-cpu", version: "2.12.0", python: "3.11" } as const;

/** Headers the binding includes, directly or transitively. */
const HEADER_PREFIXES = [
  "tensorflow/include/tensorflow/c/",
  "tensorflow/include/tensorflow/tsl/c/",
  "tensorflow/include/tensorflow/tsl/platform/ctstring",
  "tensorflow/include/tensorflow/core/platform/ctstring",
];
const LIBS = ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2"];

function log(msg: string): void {
  process.stderr.write(`[setup-tensorflow] ${msg}\n`);
}

/** User-level cache shared by every clone on this machine. */
export function cacheDir(): string {
  const base = process.env.GRU_COURSE_CACHE
    ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "gru-course");
  return path.join(base, "tensorflow");
}

function tfjsNodeVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(TFJS_NODE, "package.json"), "utf8")).version as string;
}

/** Where node-pre-gyp puts the addon: lib/napi-v<N>/tfjs_binding.node. */
function addonPath(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(TFJS_NODE, "package.json"), "utf8"));
  const napi = Math.max(...(pkg.binary.napi_versions as number[]).filter((v) => v <= Number(process.versions.napi)));
  return path.join(TFJS_NODE, pkg.binary.module_path.replace("{napi_build_version}", String(napi)), "tfjs_binding.node");
}

/** True when a fresh node process loads tfjs-node on the native backend. */
export function nativeBackendWorks(): boolean {
  const probe = spawnSync(process.execPath, ["-e",
    "const tf=require('@tensorflow/tfjs-node');" +
    "const y=tf.matMul(tf.tensor2d([[1,2],[3,4]]),tf.tensor2d([[5],[6]])).dataSync();" +
    "if(tf.getBackend()!=='tensorflow'||y[0]!==17||y[1]!==39)process.exit(3)"],
  { cwd: ROOT, encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });
  return probe.status === 0;
}

function run(cmd: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): boolean {
  log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit", env: { ...process.env, ...extraEnv } });
  return r.status === 0;
}

/** The official route: tfjs-node's own installer (needs Google storage). */
function tryOfficialDownload(): boolean {
  log("trying tfjs-node's own installer (downloads libtensorflow 2.9.1 from Google storage)");
  // The installer can hang on a closed network; bound it.
  const r = spawnSync(process.execPath, ["scripts/install.js"], {
    cwd: TFJS_NODE, stdio: "inherit", timeout: 10 * 60_000, env: process.env,
  });
  return r.status === 0 && nativeBackendWorks();
}

/** Download the wheel with pip (cached by pip) and extract what the addon needs. */
function fetchWheelFiles(stage: string): void {
  const dl = fs.mkdtempSync(path.join(os.tmpdir(), "tf-wheel-"));
  try {
    const python = process.env.PYTHON ?? "python3";
    const ok = run(python, ["-m", "pip", "download", "--no-deps", "--only-binary=:all:",
      "--python-version", TF_WHEEL.python, "--platform", "manylinux2014_x86_64",
      "-d", dl, `${TF_WHEEL.name}==${TF_WHEEL.version}`], ROOT);
    const wheel = fs.readdirSync(dl).find((f) => f.endsWith(".whl"));
    if (!ok || !wheel) {
      throw new Error(`pip could not download ${TF_WHEEL.name}==${TF_WHEEL.version}. ` +
        "Check that PyPI is reachable (pip config, proxy), or install with internet access to Google storage.");
    }
    log(`extracting the C API from ${wheel}`);
    // python's zipfile is always there with pip; `unzip` may not be.
    execFileSync(python, ["-c", `
import sys, zipfile, os
wheel, stage, libs, prefixes = sys.argv[1], sys.argv[2], sys.argv[3].split(","), tuple(sys.argv[4].split(","))
z = zipfile.ZipFile(wheel)
for n in z.namelist():
    if n.startswith(prefixes):
        z.extract(n, stage)
for lib in libs:
    z.extract("tensorflow/" + lib, stage)
`, path.join(dl, wheel), stage, LIBS.join(","), HEADER_PREFIXES.join(",")], { stdio: "inherit" });
  } finally {
    fs.rmSync(dl, { recursive: true, force: true });
  }
}

/** Make sure the cache holds the wheel's libs and headers; returns its folder. */
function ensureCachedLibtensorflow(): string {
  const dir = path.join(cacheDir(), `${TF_WHEEL.name}-${TF_WHEEL.version}`);
  if (fs.existsSync(path.join(dir, "COMPLETE"))) {
    log(`using cached libtensorflow from ${dir}`);
    return dir;
  }
  const stage = `${dir}.partial-${process.pid}`;
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  try {
    fetchWheelFiles(stage);
    fs.writeFileSync(path.join(stage, "COMPLETE"), `${TF_WHEEL.name}==${TF_WHEEL.version}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(stage, dir); // atomic: an interrupted run never leaves a half cache
  } catch (e) {
    fs.rmSync(stage, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/** Hard-link when possible (same filesystem), otherwise copy. */
function linkOrCopy(src: string, dst: string): void {
  fs.rmSync(dst, { force: true });
  try {
    fs.linkSync(src, dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
}

/** Put the wheel's libs and headers into tfjs-node/deps as binding.gyp expects. */
function stageDeps(cached: string): void {
  const deps = path.join(TFJS_NODE, "deps");
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, "lib"), { recursive: true });
  for (const lib of LIBS) linkOrCopy(path.join(cached, "tensorflow", lib), path.join(deps, "lib", lib));
  // binding.gyp links -ltensorflow -ltensorflow_framework; the wheel names the first libtensorflow_cc.
  fs.symlinkSync("libtensorflow_cc.so.2", path.join(deps, "lib", "libtensorflow.so"));
  fs.symlinkSync("libtensorflow_framework.so.2", path.join(deps, "lib", "libtensorflow_framework.so"));
  fs.cpSync(path.join(cached, "tensorflow", "include"), path.join(deps, "include"), { recursive: true });
  fs.writeFileSync(path.join(deps, "SOURCE"), `${TF_WHEEL.name}==${TF_WHEEL.version} (PyPI wheel)\n`);
}

/** Key of a built addon: everything that changes the binary. */
function addonKey(): string {
  const h = crypto.createHash("sha256")
    .update([tfjsNodeVersion(), TF_WHEEL.name, TF_WHEEL.version, process.versions.napi, process.versions.modules, os.arch()].join("|"))
    .digest("hex").slice(0, 16);
  return `tfjs-node-${tfjsNodeVersion()}-${h}`;
}

function buildAddon(): void {
  const args = ["node_modules/.bin/node-pre-gyp", "install", "--build-from-source"];
  // Node's own headers: use the installed ones when present (no download needed).
  const nodeDir = path.resolve(path.dirname(process.execPath), "..");
  if (fs.existsSync(path.join(nodeDir, "include", "node", "common.gypi"))) args.push(`--nodedir=${nodeDir}`);
  const bin = path.join(ROOT, args[0]);
  const ok = run(process.execPath, [fs.existsSync(bin) ? bin : require.resolve("@mapbox/node-pre-gyp/bin/node-pre-gyp"), ...args.slice(1)], TFJS_NODE);
  if (!ok) throw new Error("building the tfjs-node addon from source failed (see the compiler output above; it needs g++ and make)");
}

/** The PyPI route: stage the wheel's C API, reuse or build the addon. */
function provisionFromWheel(): void {
  const cached = ensureCachedLibtensorflow();
  stageDeps(cached);
  const builtDir = path.join(cacheDir(), "addons", addonKey());
  const built = path.join(builtDir, "tfjs_binding.node");
  const target = addonPath();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (fs.existsSync(built)) {
    log(`using cached addon ${built}`);
    fs.copyFileSync(built, target);
    if (nativeBackendWorks()) return;
    log("cached addon does not load; rebuilding");
  }
  buildAddon();
  if (!nativeBackendWorks()) throw new Error(`the addon built at ${target} does not load the native backend`);
  fs.mkdirSync(builtDir, { recursive: true });
  fs.copyFileSync(target, `${built}.tmp`);
  fs.renameSync(`${built}.tmp`, built);
}

function main(): void {
  const t0 = Date.now();
  if (!fs.existsSync(TFJS_NODE)) throw new Error(`${TFJS_NODE} is missing: run npm install first`);
  const source = process.env.TFJS_NODE_SOURCE ?? "auto";
  if (!["auto", "download", "pypi"].includes(source)) {
    throw new Error(`TFJS_NODE_SOURCE=${source} is not one of auto, download, pypi`);
  }
  if (source === "auto" && nativeBackendWorks()) {
    log("native TensorFlow backend already works");
    return;
  }
  if (source !== "pypi") {
    if (tryOfficialDownload()) {
      log(`native backend ready from the official download (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return;
    }
    if (source === "download") throw new Error("the official tfjs-node download failed (TFJS_NODE_SOURCE=download)");
    log("official download unavailable; falling back to the TensorFlow C API from PyPI");
  }
  provisionFromWheel();
  log(`native backend ready from ${TF_WHEEL.name}==${TF_WHEEL.version} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    log(`ERROR: ${(e as Error).message}`);
    process.exit(1);
  }
}
