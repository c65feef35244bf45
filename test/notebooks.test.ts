// Notebook execution: every notebook runs in the `ci` profile with the tslab kernel of
// the project environment, and every HTML report passes the browser check offline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import {
  diagramProblems,
  diagramsShown,
  launchChromium,
  observeDiagrams,
  observeReport,
  observeStderrAreas,
  reportProblems,
  stderrAreaProblems,
  type ReportExpectation,
} from './browser';

const ROOT = path.resolve(__dirname, '..');
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
const REPORTS = path.join(ROOT, 'test-artifacts', 'reports');
const notebooksIn = (dir: string) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => /^\d.*\.ipynb$/.test(f))
    .sort();
// The chapters, then their worked solutions (the runner's default order).
const NOTEBOOKS = [...notebooksIn('notebooks'), ...notebooksIn(path.join('notebooks', 'solutions'))];

function runner(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'run_notebooks.py'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GRU_PROFILE: 'ci' },
    maxBuffer: 64 * 2 ** 20,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error) };
}

test("the project environment has the tslab kernelspec, pointing at this project's kernel", () => {
  assert.ok(fs.existsSync(PYTHON), '.venv is missing: run `npm run setup`');
  const r = spawnSync(path.join(ROOT, '.venv', 'bin', 'jupyter'), ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const specs = JSON.parse(r.stdout).kernelspecs as Record<string, { resource_dir: string; spec: { argv: string[] } }>;
  assert.ok(specs.tslab, `no tslab kernel in ${Object.keys(specs).join(', ')}`);
  assert.ok(specs.tslab.resource_dir.startsWith(path.join(ROOT, '.venv')), 'kernelspec must live in the project environment');
  assert.equal(specs.tslab.spec.argv[1], path.join(ROOT, 'scripts', 'tslab-kernel.js'));
});

test('the runner names the notebook, the failing cell and its error, not a later cell', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-fail-'));
  const nb = {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
    cells: [
      { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'const ok = 1 + 1;' },
      { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'throw new Error("gate exploded");' },
      { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'throw new Error("later cell");' },
    ],
  };
  const file = path.join(dir, 'broken.ipynb');
  fs.writeFileSync(file, JSON.stringify(nb));
  const r = runner([file]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /NOTEBOOK FAILED: broken\.ipynb: code cell 2 \(cell index 1\) failed/);
  assert.match(r.stderr, /source: throw new Error\("gate exploded"\)/);
  assert.match(r.stderr, /Error: gate exploded/);
  assert.doesNotMatch(r.stderr, /later cell/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the runner rejects an unknown profile', () => {
  const r = spawnSync(PYTHON, [path.join(ROOT, 'scripts', 'run_notebooks.py')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GRU_PROFILE: 'fast' },
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /GRU_PROFILE='fast' is not one of ci, full/);
});

describe('every notebook, executed in the ci profile', () => {
  let manifest: { reports: (ReportExpectation & { name: string })[] } | undefined;
  let browser: Browser | undefined;

  before(async () => {
    fs.rmSync(REPORTS, { recursive: true, force: true });
    const r = runner(['--html', REPORTS]);
    process.stderr.write(
      r.stdout
        .split('\n')
        .filter((l) => /\] notebook|done in| KB /.test(l))
        .join('\n') + '\n',
    );
    assert.equal(r.status, 0, `notebook execution failed:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
    manifest = JSON.parse(fs.readFileSync(path.join(REPORTS, 'manifest.json'), 'utf8'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('executes every notebook and writes a report for each, plus an index', () => {
    // one report per notebook (the index lists them by name: a chapter beside its solutions)
    assert.deepEqual(manifest?.reports.map((r) => `${r.name}.ipynb`).sort(), [...NOTEBOOKS].sort());
    const index = fs.readFileSync(path.join(REPORTS, 'index.html'), 'utf8');
    for (const r of manifest?.reports ?? []) assert.ok(index.includes(`href="${r.html}"`), `index lacks ${r.html}`);
  });

  test("links from one notebook to another lead to that notebook's report", () => {
    for (const r of manifest?.reports ?? []) {
      const body = fs.readFileSync(path.join(REPORTS, r.html), 'utf8');
      assert.doesNotMatch(body, /href="(?:solutions\/|\.\.\/)?\d[\w.-]*\.ipynb/, `${r.html} links to a notebook file, not its report`);
      for (const m of body.matchAll(/href="(\d[\w.-]*\.html)(#[^"]*)?"/g)) {
        assert.ok(fs.existsSync(path.join(REPORTS, m[1])), `${r.html} links to ${m[1]}, which is not in the reports`);
      }
    }
  });

  for (const name of NOTEBOOKS) {
    test(`${name}: its report renders offline (charts and diagrams drawn, equations typeset, no errors, no requests out)`, async () => {
      const expected = manifest?.reports.find((r) => `${r.name}.ipynb` === name);
      assert.ok(expected && browser, `no report for ${name}`);
      const obs = await observeReport(browser, path.join(REPORTS, expected.html), expected);
      assert.deepEqual(reportProblems(expected, obs), []);
      // the cell diagrams, counted like charts: each one the notebook shows must be drawn in the report
      const diagrams = await observeDiagrams(browser, path.join(REPORTS, expected.html));
      assert.deepEqual(diagramProblems(diagramsShown(path.join(REPORTS, 'executed', name)), diagrams), []);
      assert.deepEqual(
        stderrAreaProblems(await observeStderrAreas(browser, path.join(REPORTS, expected.html))),
        [],
        'ordinary output (progress) shows in red stderr areas',
      );
    });
  }
});
