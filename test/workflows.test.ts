// The CI workflows users run on their own fork (.github/workflows/): actionlint, pinned and built by
// the setup into .tools/bin, finds no error in them; and they do what the README says they do.
// Without actionlint (no Go on the machine) these tests fail with the setup's instructions; they never skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const ACTIONLINT = path.join(ROOT, '.tools', 'bin', 'actionlint');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const PINNED = /^ACTIONLINT_VERSION=(v[\d.]+)/m.exec(fs.readFileSync(path.join(ROOT, 'scripts', 'setup.sh'), 'utf8'))?.[1];

function actionlint(args: string[], cwd = ROOT): { status: number | null; out: string } {
  assert.ok(
    fs.existsSync(ACTIONLINT),
    `${ACTIONLINT} is missing: run \`npm run setup\`, which builds actionlint ${PINNED} ` +
      'from the Go module proxy (it needs Go >= 1.24: https://go.dev/dl/ or apt-get install golang-go)',
  );
  const r = spawnSync(ACTIONLINT, ['-no-color', ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A workflow file as data (PyYAML from the project's .venv; YAML 1.1 reads the key `on` as true). */
function workflow(name: string): Record<string, any> {
  const r = spawnSync(
    path.join(ROOT, '.venv', 'bin', 'python'),
    [
      '-c',
      'import json,sys,yaml; d = yaml.safe_load(open(sys.argv[1])); d["on"] = d.pop(True, d.get("on")); print(json.dumps(d))',
      path.join(WORKFLOWS, name),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('actionlint is the version the setup pins', () => {
  assert.ok(PINNED, 'scripts/setup.sh pins ACTIONLINT_VERSION');
  const r = actionlint(['-version']);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out.split('\n')[0], PINNED);
});

test('actionlint finds no error in .github/workflows/', () => {
  const files = fs
    .readdirSync(WORKFLOWS)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join('.github', 'workflows', f));
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), ['reports.yml', 'test.yml']);
  const r = actionlint(files);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out, '');
});

test('actionlint does catch a broken workflow (the check can fail)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'actionlint-'));
  try {
    const file = path.join(dir, 'broken.yml');
    fs.writeFileSync(
      file,
      [
        'on: push',
        'jobs:',
        '  t:',
        '    runs-on: ubuntu-24.04',
        '    steps:',
        '      - uses: actions/checkout@v4',
        '        with:',
        '          fetch-depth: ${{ github.nonexistent_context_value }}',
        '',
      ].join('\n'),
    );
    const r = actionlint([file], dir);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /broken\.yml:8:\d+: property "nonexistent_context_value" is not defined/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the test workflow runs the README's test command with the caches and uploads the reports", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /^npm test\b/m, "the README's test command");
  const wf = workflow('test.yml');
  assert.ok('push' in wf.on && 'pull_request' in wf.on);
  const job = wf.jobs.test;
  assert.match(job['runs-on'], /^ubuntu-/);
  const steps = job.steps as { uses?: string; run?: string; with?: Record<string, string> }[];
  assert.ok(
    steps.some((s) => s.run?.trim() === 'npm test'),
    'runs `npm test`',
  );
  assert.equal(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.cache, 'npm');
  assert.equal(steps.find((s) => s.uses?.startsWith('actions/setup-python@'))?.with?.cache, 'pip');
  const cached = steps
    .filter((s) => s.uses?.startsWith('actions/cache@'))
    .map((s) => String(s.with?.path))
    .join('\n');
  for (const p of ['~/.cache/gru-course', 'data/aclImdb_v1.tar.gz', 'data/cache', '.tools']) assert.ok(cached.includes(p), `caches ${p}`);
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') && String(s.with?.path).includes('reports'));
  assert.ok(upload, 'uploads the HTML reports');
  assert.equal(job.env.GRU_PROFILE, 'ci');
});

test('the test workflow runs on every supported Node.js major (package.json engines), none left out', () => {
  const engines = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string;
  const majors = [...engines.matchAll(/\^(\d+)/g)].map((m) => Number(m[1]));
  assert.ok(majors.length >= 2, `engines.node lists majors: ${engines}`);
  const job = workflow('test.yml').jobs.test;
  assert.deepEqual(job.strategy.matrix.node, majors);
  assert.equal(job.strategy['fail-fast'], false, 'one major failing does not cancel the others');
  const setupNode = (job.steps as { uses?: string; with?: Record<string, string> }[]).find((s) =>
    s.uses?.startsWith('actions/setup-node@'),
  );
  assert.equal(setupNode?.with?.['node-version'], '${{ matrix.node }}');
});

test('the reports workflow is started by hand and builds the full profile by default', () => {
  const wf = workflow('reports.yml');
  assert.deepEqual(Object.keys(wf.on), ['workflow_dispatch']);
  assert.equal(wf.on.workflow_dispatch.inputs.profile.default, 'full');
  const steps = wf.jobs.reports.steps as { uses?: string; run?: string; with?: Record<string, string> }[];
  assert.ok(steps.some((s) => s.run?.includes('scripts/run_notebooks.py') && s.run.includes('--html reports')));
  assert.ok(steps.some((s) => s.uses?.startsWith('actions/upload-artifact@') && s.with?.path === 'reports/'));
});
