// The notebook runner (scripts/run_notebooks.py) under faults and as a terminal program: live progress
// on stdout, asynchronous errors failing their cell, a dead kernel or a malformed file named, no kernel
// left behind when it is stopped, and reports that share plotly.js (or carry it, --self-contained).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchChromium, observeReport, reportProblems, stderrAreaProblems, observeStderrAreas } from './browser';

const ROOT = path.resolve(__dirname, '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const RUNNER = path.join(ROOT, 'scripts', 'run_notebooks.py');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'runner-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Writes a tslab notebook of the given code cells (and markdown cells, written "md:..."). */
function notebook(name: string, sources: string[]): string {
  const cells = sources.map((source) =>
    source.startsWith('md:')
      ? { cell_type: 'markdown', metadata: {}, source: source.slice(3) }
      : { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source },
  );
  const file = path.join(work, name);
  fs.writeFileSync(
    file,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 4,
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      cells,
    }),
  );
  return file;
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, [RUNNER, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GRU_PROFILE: 'ci' },
    maxBuffer: 64 * 2 ** 20,
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr ?? String(r.error) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('asynchronous errors fail the cell that ran when they happened', () => {
  test('a throw inside a timer: the notebook fails at that cell, with the error, and no report is written', () => {
    const out = path.join(work, 'timer-reports');
    const file = notebook('timer.ipynb', [
      'const a = 1;',
      'setTimeout(() => { throw new Error("timer exploded"); }, 200);',
      'console.log("a later cell");',
    ]);
    const r = run(['--html', out, file]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /NOTEBOOK FAILED: timer\.ipynb: code cell 2 \(cell index 1\) failed asynchronously/);
    assert.match(r.stderr, /uncaught exception in a callback: Error: timer exploded/);
    assert.doesNotMatch(r.stdout, /cell 3\/3/, 'the run stops at the failing cell');
    assert.equal(fs.existsSync(path.join(out, 'timer.html')), false);
  });

  test('an unhandled promise rejection: the notebook fails at that cell, with the reason', () => {
    const file = notebook('rejection.ipynb', ['const a = 1;', 'Promise.reject(new Error("nobody awaits me"));', 'const b = 2;']);
    const r = run([file]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /rejection\.ipynb: code cell 2 \(cell index 1\) failed asynchronously/);
    assert.match(r.stderr, /unhandled promise rejection: Error: nobody awaits me/);
  });

  test('a rejection that is handled later in the same cell is no error', () => {
    const file = notebook('handled.ipynb', [
      'const p = Promise.reject(new Error("caught"));\nawait p.catch(() => undefined);\nconsole.log("fine");',
    ]);
    const r = run([file]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

describe('a dead kernel or a malformed notebook is named', () => {
  test('a kernel killed mid-cell: notebook and cell named, exit 1', () => {
    const file = notebook('dies.ipynb', ['const a = 1;', 'process.kill(process.pid, "SIGKILL");']);
    const r = run([file]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /NOTEBOOK FAILED: dies\.ipynb: code cell 2 \(cell index 1\) failed: the kernel died/);
    assert.match(r.stderr, /source: process\.kill/);
    assert.doesNotMatch(r.stderr, /Traceback/);
  });

  test('a truncated .ipynb and one missing a required key: the file named, no traceback', () => {
    const truncated = path.join(work, 'truncated.ipynb');
    fs.writeFileSync(truncated, '{"cells": [');
    const missing = path.join(work, 'nometa.ipynb');
    fs.writeFileSync(missing, JSON.stringify({ nbformat: 4, nbformat_minor: 4, cells: [] }));
    for (const [file, why] of [
      [truncated, /NotJSONError/],
      [missing, /ValidationError: .*metadata/],
    ] as const) {
      const r = run([file]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`NOTEBOOK FAILED: ${path.basename(file)}: not a valid \\.ipynb notebook`));
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /Traceback/);
    }
  });
});

describe('stopping the runner stops its kernel', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} during a long cell: the kernel process is gone, exit ${signal === 'SIGTERM' ? 143 : 130}`, async () => {
      const pidFile = path.join(work, `kernel-${signal}.pid`);
      const file = notebook(`long-${signal}.ipynb`, [
        `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));`,
        'for (let i = 0; i < 300; i++) { console.log(`tick ${i}`); await new Promise((r) => setTimeout(r, 1000)); }',
      ]);
      // Its own process group, as a CI job's step is: the signal reaches the runner only, not the kernel.
      const child = spawn(PYTHON, [RUNNER, '--echo-after', '1', file], {
        cwd: ROOT,
        env: { ...process.env, GRU_PROFILE: 'ci' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (let i = 0; i < 240 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 250));
      assert.ok(fs.existsSync(pidFile), `the kernel never ran the first cell:\n${output}`);
      await new Promise((r) => setTimeout(r, 3000)); // well into the long cell
      const kernel = Number(fs.readFileSync(pidFile, 'utf8'));
      assert.ok(alive(kernel));
      process.kill(child.pid!, signal);
      const code = await exited;
      for (let i = 0; i < 40 && alive(kernel); i++) await new Promise((r) => setTimeout(r, 250));
      const left = alive(kernel);
      if (left) process.kill(kernel, 'SIGKILL');
      assert.equal(left, false, `kernel ${kernel} still running after the runner exited:\n${output}`);
      assert.equal(code, signal === 'SIGTERM' ? 143 : 130, output);
      assert.match(output, new RegExp(`stopped by ${signal}: the kernel was shut down`));
      assert.doesNotMatch(output, /Traceback|Task exception/);
    });
  }
});

test("live progress on stdout: notebook i/n, each cell as it starts, a long cell's lines while it runs, a summary", async () => {
  const file = notebook('progress.ipynb', [
    'const a = 1;',
    'for (let i = 1; i <= 6; i++) { console.log(`epoch ${i}/6 ETA ${6 - i}s`); await new Promise((r) => setTimeout(r, 1000)); }',
    'console.log("short cell output stays in the report");',
  ]);
  const child = spawn(PYTHON, [RUNNER, '--echo-after', '2', file], {
    cwd: ROOT,
    env: { ...process.env, GRU_PROFILE: 'ci' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: { at: number; text: string }[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push({ at: Date.now(), text: d.toString() }));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const stdout = chunks.map((c) => c.text).join('');
  assert.equal(code, 0, stdout + stderr);
  assert.equal(stderr, '', 'progress is not written to stderr');
  assert.match(stdout, /\[ci\] notebook 1\/1: progress\.ipynb/);
  assert.match(stdout, /cell 2\/3: for \(let i = 1/);
  assert.match(stdout, /\| epoch 6\/6 ETA 0s/);
  assert.match(stdout, /cell 2 ok \(\d+\.\d s\)/);
  assert.doesNotMatch(stdout, /\| short cell output/, "a short cell's output is left to the report");
  assert.match(stdout, /1 notebook in .*\n\s+progress\.ipynb\s+\d/);
  // Streamed while the cell ran: epoch 5's line reached us at least half a second before the cell's "ok".
  const when = (re: RegExp) => {
    let seen = '';
    for (const c of chunks) {
      seen += c.text;
      if (re.test(seen)) return c.at;
    }
    return NaN;
  };
  assert.ok(when(/cell 2 ok/) - when(/\| epoch 5\/6/) >= 500, "the long cell's lines came only at its end");
});

describe('reports: plotly.js shared in assets/, or inline with --self-contained', () => {
  const cells = [
    'md:# A chart\nThe update gate $z_t = \\sigma(W_z x_t)$ and one chart.',
    'import { historyChart } from "./lib/view/plot";\nimport { show } from "./lib/view/display";',
    'show(historyChart("Model Loss", { Train: [0.6, 0.4], Validation: [0.55, 0.5] }));',
    'show(historyChart("Accuracy", { Train: [0.6, 0.7], Validation: [0.5, 0.6] }));',
  ];
  const plotlySize = fs.statSync(require.resolve('plotly.js-dist-min/plotly.min.js')).size;

  test('shared: the report is small, refers to assets/plotly, and draws both charts offline; index lists it', async () => {
    const out = path.join(work, 'shared');
    const r = run(['--html', out, notebook('chart.ipynb', cells)]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const page = fs.readFileSync(path.join(out, 'chart.html'), 'utf8');
    assert.ok(page.length < plotlySize / 4, `report is ${page.length} bytes`);
    assert.match(page, /<script[^>]* src="assets\/plotly\/plotly\.min\.js"[^>]*><\/script>/);
    assert.equal(fs.statSync(path.join(out, 'assets', 'plotly', 'plotly.min.js')).size, plotlySize);
    const executed = fs.readFileSync(path.join(out, 'executed', 'chart.ipynb'), 'utf8');
    assert.ok(executed.length < plotlySize / 4, 'the executed copy shares plotly.js too');
    const index = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    const commit = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    assert.match(index, /href="chart\.html"/);
    assert.match(index, /<code>ci<\/code>/);
    assert.ok(index.includes(commit), `index names commit ${commit}`);
    assert.match(index, /\d{4}-\d\d-\d\d \d\d:\d\d/);
    assert.match(r.stdout, /chart\.html\s+\d+ KB\s+2 charts, 1 equations/);
    const browser = await launchChromium();
    try {
      const expected = { html: 'chart.html', figures: 2, equations: 1 };
      assert.deepEqual(reportProblems(expected, await observeReport(browser, path.join(out, 'chart.html'), expected)), []);
    } finally {
      await browser.close();
    }
  });

  test('--self-contained: one file that draws its charts and equations alone in an empty folder', async () => {
    const out = path.join(work, 'single');
    const r = run(['--html', out, '--self-contained', notebook('alone.ipynb', cells)]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const lonely = path.join(work, 'lonely');
    fs.mkdirSync(lonely);
    fs.copyFileSync(path.join(out, 'alone.html'), path.join(lonely, 'alone.html'));
    const page = fs.readFileSync(path.join(lonely, 'alone.html'), 'utf8');
    assert.doesNotMatch(page, /<script[^>]*\bsrc=/, 'nothing loaded from elsewhere');
    assert.ok(page.length > plotlySize, 'plotly.js is inline');
    const browser = await launchChromium();
    try {
      const expected = { html: 'alone.html', figures: 2, equations: 1 };
      assert.deepEqual(reportProblems(expected, await observeReport(browser, path.join(lonely, 'alone.html'), expected)), []);
    } finally {
      await browser.close();
    }
  });

  test('the stderr check: a report whose cell wrote non-warning text to stderr is flagged; a warning is not', async () => {
    const out = path.join(work, 'stderr');
    const r = run([
      '--html',
      out,
      notebook('noisy.ipynb', [
        'process.stderr.write("imdb: reading reviews 1,000 (4% of archive)\\n");',
        'console.warn("Warning: the archive is older than the cache");',
      ]),
    ]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const browser = await launchChromium();
    try {
      const areas = await observeStderrAreas(browser, path.join(out, 'noisy.html'));
      assert.equal(areas.length, 2);
      assert.deepEqual(stderrAreaProblems(areas), ['stderr output (shown as an error): imdb: reading reviews 1,000 (4% of archive)']);
    } finally {
      await browser.close();
    }
  });
});
