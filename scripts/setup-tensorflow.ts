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
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const TFJS_NODE = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node');

/** The wheel that supplies libtensorflow. 2.12 is the oldest release whose wheel
 * carries the C API in a plain shared library: up to 2.11 it lives inside
 * _pywrap_tensorflow_internal.so, which needs libpython's symbols to load. */
export const TF_WHEEL = { name: 'tensorflow-cpu', version: '2.12.0', python: '3.11' } as const;

/** Headers the binding includes, directly or transitively. */
const HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/tsl/c/',
  'tensorflow/include/tensorflow/tsl/platform/ctstring',
  'tensorflow/include/tensorflow/core/platform/ctstring',
];
const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];

function log(msg: string): void {
  process.stderr.write(`[setup-tensorflow] ${msg}\n`);
}

/** The course's user-level cache, shared by every clone on this machine ($GRU_COURSE_CACHE moves it). */
export function courseCacheDir(): string {
  return process.env.GRU_COURSE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'gru-course');
}

/** Where the TensorFlow libraries and the built addons are cached. */
export function cacheDir(): string {
  return path.join(courseCacheDir(), 'tensorflow');
}

function tfjsNodeVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(TFJS_NODE, 'package.json'), 'utf8')).version as string;
}

/** The Node-API version the addon is built for: the newest tfjs-node offers that this node has. */
function napiBuildVersion(): number {
  const pkg = JSON.parse(fs.readFileSync(path.join(TFJS_NODE, 'package.json'), 'utf8'));
  return Math.max(...(pkg.binary.napi_versions as number[]).filter((v) => v <= Number(process.versions.napi)));
}

/** Where node-pre-gyp puts the addon: lib/napi-v<N>/tfjs_binding.node. */
function addonPath(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(TFJS_NODE, 'package.json'), 'utf8'));
  return path.join(TFJS_NODE, pkg.binary.module_path.replace('{napi_build_version}', String(napiBuildVersion())), 'tfjs_binding.node');
}

/** The probe run by the backend check: a product and a top-k (tfjs-node's kernels that patches/ mends), on native TensorFlow. */
export const NATIVE_PROBE =
  "const tf=require('@tensorflow/tfjs-node');" +
  'const y=tf.matMul(tf.tensor2d([[1,2],[3,4]]),tf.tensor2d([[5],[6]])).dataSync();' +
  'const k=tf.topk(tf.tensor1d([1,3,2])).indices.dataSync();' +
  "if(tf.getBackend()!=='tensorflow'||y[0]!==17||y[1]!==39||k[0]!==1){console.error('wrong results on '+tf.getBackend());process.exit(3)}";

/** Null when a fresh node process runs tfjs-node on the native backend with no warning, else what went wrong. */
export function nativeBackendProblem(node = process.execPath): string | null {
  // --throw-deprecation: a deprecated Node API that tfjs-node calls (DEP0051 before patches/) fails the check.
  const probe = spawnSync(node, ['--throw-deprecation', '-e', NATIVE_PROBE], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  if (probe.status === 0 && !probe.stderr.trim()) return null;
  return tail(`${probe.stderr ?? ''}${probe.error ? probe.error.message : ''}`) || `the probe exited with ${probe.status}`;
}

/** True when a fresh node process loads tfjs-node on the native backend. */
export function nativeBackendWorks(): boolean {
  return nativeBackendProblem() === null;
}

/** Where the tools' full output goes (git-ignored; the setup shows only its tail, on failure). */
const LOG_DIR = path.join(ROOT, '.setup');

/** The last meaningful lines of a tool's output, for an error message. */
function tail(text: string, lines = 15): string {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n');
}

/** Runs a tool with its output captured into .setup/<logName> (appended); returns success and the output. */
function runLogged(
  cmd: string,
  args: string[],
  cwd: string,
  logName: string,
  options: { timeoutMs?: number } = {},
): { ok: boolean; output: string; log: string } {
  log(`$ ${cmd} ${args.join(' ')} (output: .setup/${logName})`);
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: options.timeoutMs, maxBuffer: 256 * 2 ** 20, env: process.env });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}\n` : ''}`;
  const file = path.join(LOG_DIR, logName);
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.appendFileSync(file, `===== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n${output}\n`);
  return { ok: r.status === 0, output, log: file };
}

/** Why tfjs-node's installer failed, in a few words (e.g. "getaddrinfo ENOTFOUND storage.googleapis.com"). */
export function downloadFailureReason(output: string): string {
  const net =
    /\b(getaddrinfo \w+ [\w.-]+|connect E\w+ [\d.:]+|E(?:NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT|AI_AGAIN|NETUNREACH)\b[^\n]*)/.exec(
      output,
    );
  if (net) return net[1].trim().slice(0, 120);
  const http = /\b(?:status(?:Code)?|HTTP)\D{0,3}([45]\d\d)\b/i.exec(output);
  if (http) return `HTTP ${http[1]} from Google storage`;
  if (/spawnSync .* ETIMEDOUT/.test(output)) return 'no answer within 10 minutes';
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /error/i.test(l));
  return (line ?? 'the installer exited with an error').slice(0, 120);
}

/** The official route: tfjs-node's own installer (needs Google storage). Returns null on success, else why not. */
function tryOfficialDownload(): string | null {
  log("trying tfjs-node's own installer (downloads libtensorflow 2.9.1 from Google storage)");
  // The installer can hang on a closed network; bound it.
  const r = runLogged(process.execPath, ['scripts/install.js'], TFJS_NODE, 'tfjs-node-download.log', { timeoutMs: 10 * 60_000 });
  if (!r.ok) return downloadFailureReason(r.output);
  return nativeBackendWorks() ? null : 'the downloaded addon does not load';
}

/** Download the wheel with pip (cached by pip) and extract what the addon needs. */
function fetchWheelFiles(stage: string): void {
  const dl = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-wheel-'));
  try {
    const python = process.env.PYTHON ?? 'python3';
    const pip = runLogged(
      python,
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '--python-version',
        TF_WHEEL.python,
        '--platform',
        'manylinux2014_x86_64',
        '-d',
        dl,
        `${TF_WHEEL.name}==${TF_WHEEL.version}`,
      ],
      ROOT,
      'tensorflow-wheel.log',
    );
    const wheel = fs.readdirSync(dl).find((f) => f.endsWith('.whl'));
    if (!pip.ok || !wheel) {
      throw new Error(
        `pip could not download ${TF_WHEEL.name}==${TF_WHEEL.version}. ` +
          'Check that PyPI is reachable (pip config, proxy), or install with internet access to Google storage. ' +
          `pip said:\n${tail(pip.output)}\n  (all of it: ${pip.log})`,
      );
    }
    log(`extracting the C API from ${wheel}`);
    // python's zipfile is always there with pip; `unzip` may not be.
    execFileSync(
      python,
      [
        '-c',
        `
import sys, zipfile, os
wheel, stage, libs, prefixes = sys.argv[1], sys.argv[2], sys.argv[3].split(","), tuple(sys.argv[4].split(","))
z = zipfile.ZipFile(wheel)
for n in z.namelist():
    if n.startswith(prefixes):
        z.extract(n, stage)
for lib in libs:
    z.extract("tensorflow/" + lib, stage)
`,
        path.join(dl, wheel),
        stage,
        LIBS.join(','),
        HEADER_PREFIXES.join(','),
      ],
      { stdio: 'inherit' },
    );
  } finally {
    fs.rmSync(dl, { recursive: true, force: true });
  }
}

/** Make sure the cache holds the wheel's libs and headers; returns its folder. */
function ensureCachedLibtensorflow(): string {
  const dir = path.join(cacheDir(), `${TF_WHEEL.name}-${TF_WHEEL.version}`);
  if (fs.existsSync(path.join(dir, 'COMPLETE'))) {
    log(`using cached libtensorflow from ${dir}`);
    return dir;
  }
  const stage = `${dir}.partial-${process.pid}`;
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  try {
    fetchWheelFiles(stage);
    fs.writeFileSync(path.join(stage, 'COMPLETE'), `${TF_WHEEL.name}==${TF_WHEEL.version}\n`);
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
  const deps = path.join(TFJS_NODE, 'deps');
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  for (const lib of LIBS) linkOrCopy(path.join(cached, 'tensorflow', lib), path.join(deps, 'lib', lib));
  // binding.gyp links -ltensorflow -ltensorflow_framework; the wheel names the first libtensorflow_cc.
  fs.symlinkSync('libtensorflow_cc.so.2', path.join(deps, 'lib', 'libtensorflow.so'));
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(deps, 'lib', 'libtensorflow_framework.so'));
  fs.cpSync(path.join(cached, 'tensorflow', 'include'), path.join(deps, 'include'), { recursive: true });
  fs.writeFileSync(path.join(deps, 'SOURCE'), `${TF_WHEEL.name}==${TF_WHEEL.version} (PyPI wheel)\n`);
}

/** Key of a built addon: everything that changes the binary. */
function addonKey(): string {
  const h = crypto
    .createHash('sha256')
    // Node-API is ABI-stable: one addon serves every Node major with that Node-API version or newer.
    .update([tfjsNodeVersion(), TF_WHEEL.name, TF_WHEEL.version, `napi-${napiBuildVersion()}`, os.arch()].join('|'))
    .digest('hex')
    .slice(0, 16);
  return `tfjs-node-${tfjsNodeVersion()}-${h}`;
}

function buildAddon(): void {
  const args = ['node_modules/.bin/node-pre-gyp', 'install', '--build-from-source'];
  // Node's own headers: use the installed ones when present (no download needed).
  const nodeDir = path.resolve(path.dirname(process.execPath), '..');
  if (fs.existsSync(path.join(nodeDir, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${nodeDir}`);
  const bin = path.join(ROOT, args[0]);
  const build = runLogged(
    process.execPath,
    [fs.existsSync(bin) ? bin : require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp'), ...args.slice(1)],
    TFJS_NODE,
    'tfjs-node-build.log',
  );
  if (!build.ok) {
    throw new Error(
      `building the tfjs-node addon from source failed (it needs g++, make and python3). The build said:\n${tail(build.output)}\n` +
        `  (all of it: ${build.log})`,
    );
  }
}

/** The PyPI route: stage the wheel's C API, reuse or build the addon. */
function provisionFromWheel(): void {
  const cached = ensureCachedLibtensorflow();
  stageDeps(cached);
  const builtDir = path.join(cacheDir(), 'addons', addonKey());
  const built = path.join(builtDir, 'tfjs_binding.node');
  const target = addonPath();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (fs.existsSync(built)) {
    log(`using cached addon ${built}`);
    fs.copyFileSync(built, target);
    if (nativeBackendWorks()) return;
    log('cached addon does not load; rebuilding');
  }
  buildAddon();
  const problem = nativeBackendProblem();
  if (problem) throw new Error(`the addon built at ${target} does not run the native backend:\n${problem}`);
  fs.mkdirSync(builtDir, { recursive: true });
  fs.copyFileSync(target, `${built}.tmp`);
  fs.renameSync(`${built}.tmp`, built);
}

function main(): void {
  const t0 = Date.now();
  if (!fs.existsSync(TFJS_NODE)) throw new Error(`${TFJS_NODE} is missing: run npm install first`);
  const source = process.env.TFJS_NODE_SOURCE ?? 'auto';
  if (!['auto', 'download', 'pypi'].includes(source)) {
    throw new Error(`TFJS_NODE_SOURCE=${source} is not one of auto, download, pypi`);
  }
  if (source === 'auto' && nativeBackendWorks()) {
    log('native TensorFlow backend already works');
    return;
  }
  if (source !== 'pypi') {
    const why = tryOfficialDownload();
    if (why === null) {
      log(`native backend ready from the official download (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return;
    }
    if (source === 'download')
      throw new Error(
        `the official tfjs-node download failed: ${why} (TFJS_NODE_SOURCE=download; its output: .setup/tfjs-node-download.log)`,
      );
    log(`official download unavailable (${why}); using the TensorFlow C API from PyPI's ${TF_WHEEL.name} ${TF_WHEEL.version} instead`);
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
