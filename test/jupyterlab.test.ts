// The JupyterLab check: a real JupyterLab 4 from the project environment, driven in
// headless Chromium. Run all cells of a notebook in the TypeScript kernel, see the Plotly
// chart drawn, save, then reopen the saved notebook in a new server that has never seen it
// (so it is untrusted) and in Notebook 7, and see the chart drawn again without running it.
// Screenshots go to test-artifacts/jupyterlab/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';

const ROOT = path.resolve(__dirname, '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'jupyterlab');
const NOTEBOOK = 'lab-check.ipynb';
// The Plotly mime renderer (from the Python plotly package) draws into .jp-RenderedPlotly.
const CHART = '.jp-RenderedPlotly .main-svg';

interface Lab {
  proc: ChildProcess;
  url: string;
  token: string;
  log: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Start JupyterLab on 127.0.0.1 with a token and private Jupyter dirs (a fresh notary: nothing is trusted). */
async function startLab(rootDir: string, stateDir: string): Promise<Lab> {
  const port = await freePort();
  const token = crypto.randomBytes(16).toString('hex');
  // Render every cell (JupyterLab 4 attaches only cells in view by default), and no news pop-up.
  const settings = path.join(stateDir, 'settings');
  fs.mkdirSync(path.join(settings, '@jupyterlab', 'notebook-extension'), { recursive: true });
  fs.writeFileSync(
    path.join(settings, '@jupyterlab', 'notebook-extension', 'tracker.jupyterlab-settings'),
    JSON.stringify({ windowingMode: 'none' }),
  );
  const proc = spawn(
    path.join(ROOT, '.venv', 'bin', 'jupyter'),
    [
      'lab',
      '--no-browser',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      `--IdentityProvider.token=${token}`,
      `--ServerApp.root_dir=${rootDir}`,
      '--LabApp.news_url=',
      '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
      `--LabApp.workspaces_dir=${path.join(stateDir, 'workspaces')}`,
      '--LabApp.extension_manager=readonly',
      `--LabApp.user_settings_dir=${settings}`,
      `--JupyterNotebookApp.user_settings_dir=${settings}`,
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    {
      cwd: rootDir,
      env: {
        ...process.env,
        JUPYTER_CONFIG_DIR: path.join(stateDir, 'config'),
        JUPYTER_DATA_DIR: path.join(stateDir, 'data'),
        JUPYTER_RUNTIME_DIR: path.join(stateDir, 'runtime'),
        GRU_PROFILE: 'ci',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    if (proc.exitCode !== null) throw new Error(`jupyter lab exited early:\n${log.join('')}`);
    try {
      const r = await fetch(`${url}/api/status?token=${token}`);
      if (r.ok) return { proc, url, token, log };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  proc.kill('SIGKILL');
  throw new Error(`jupyter lab did not answer within 60 s:\n${log.join('')}`);
}

/** Shut the server down through its API, as a user's "Shut Down" does; kill only if it hangs. */
async function stopLab(lab: Lab): Promise<void> {
  if (lab.proc.exitCode !== null) return;
  await fetch(`${lab.url}/api/shutdown?token=${lab.token}`, { method: 'POST' }).catch(() => undefined);
  const exited = await Promise.race([
    new Promise<boolean>((r) => lab.proc.once('exit', () => r(true))),
    new Promise<boolean>((r) => setTimeout(() => r(false), 20_000)),
  ]);
  if (!exited) lab.proc.kill('SIGKILL');
  assert.ok(exited, 'jupyter lab did not shut down cleanly within 20 s');
}

/** Wait until the server runs an idle tslab kernel for the notebook (the page's own indicator says idle before it connects). */
async function waitForKernel(lab: Lab, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await fetch(`${lab.url}/api/sessions?token=${lab.token}`).catch(() => undefined);
    const sessions = r?.ok ? ((await r.json()) as { path: string; kernel?: { name: string; execution_state: string } }[]) : [];
    const s = sessions.find((x) => x.path.endsWith(NOTEBOOK));
    if (s?.kernel?.name === 'tslab' && s.kernel.execution_state === 'idle') return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`no idle tslab kernel for ${NOTEBOOK} after ${timeoutMs / 1000} s:\n${lab.log.join('').slice(-3000)}`);
}

/** Wait for a drawn, interactive chart; on failure keep a screenshot of what the page showed instead.
 * A reopened notebook first shows the PNG snapshot the renderer saved with the output, and
 * becomes interactive when the pointer enters it (jupyterlab-plotly's design): so hover it. */
async function waitForChart(page: Page, shot: string, timeoutMs: number): Promise<void> {
  const chart = page.locator(CHART).first();
  const deadline = Date.now() + timeoutMs;
  const snapshot = page.locator('.jp-RenderedPlotly img.plot-img').first();
  while (!(await chart.isVisible())) {
    if (await snapshot.isVisible()) await snapshot.hover().catch(() => undefined);
    if (Date.now() > deadline) {
      await page.screenshot({ path: path.join(ARTIFACTS, `FAILED-${shot}`) }).catch(() => undefined);
      throw new Error(`no Plotly chart drawn by the mime renderer within ${timeoutMs / 1000} s (see FAILED-${shot})`);
    }
    await page.waitForTimeout(500);
  }
  await chart.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, shot) });
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
  return page;
}

const PROGRESS_CELL = [
  'import { imdbProgressPrinter } from "./lib/data/download";',
  'import { trainProgressPrinter } from "./lib/training/train-progress";',
  'imdbProgressPrinter()({ stage: "read", reviews: 25000, bytes: 100, totalBytes: 100, done: true });',
  'trainProgressPrinter()({ type: "info", message: "training 2 epochs (progress check)" });',
  'trainProgressPrinter()({ type: "epoch", epochs: 2, runEtaSeconds: 12, record: { epoch: 1, loss: 0.69, accuracy: 0.51, val_loss: 0.68, val_accuracy: 0.55, seconds: 12 } });',
].join('\n');

/** The notebook's output areas JupyterLab renders as stderr (the red ones), and all its stream text. */
async function streamAreas(page: Page): Promise<{ stderr: string[]; text: string }> {
  return page.evaluate(() => ({
    stderr: Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'), (el) =>
      (el.textContent ?? '').trim(),
    ),
    text: Array.from(document.querySelectorAll('.jp-OutputArea-output'), (el) => el.textContent ?? '').join('\n'),
  }));
}

let browser: Browser | undefined;
const labs: Lab[] = [];
const work = path.join(ARTIFACTS, 'notebooks');

before(async () => {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  // A short notebook whose chart sits in view: the check is about rendering, not scrolling.
  const cell = (source: string) => ({ cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source });
  fs.writeFileSync(
    path.join(work, NOTEBOOK),
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 4,
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (GRU course)', language: 'typescript' } },
      cells: [
        { cell_type: 'markdown', metadata: {}, source: '# JupyterLab check\nA chart drawn through `lib/view/display.ts`.' },
        cell('import { historyChart } from "./lib/view/plot";\nimport { show } from "./lib/view/display";'),
        cell('show(historyChart("Model Loss", { Train: [0.6, 0.4, 0.3], Validation: [0.55, 0.45, 0.5] }));'),
        // Ordinary progress through the library's default printers (the IMDB loader's and training's): never red.
        cell(PROGRESS_CELL),
      ],
    }),
  );
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const lab of labs) await stopLab(lab).catch(() => lab.proc.kill('SIGKILL'));
});

test('JupyterLab: run all cells in the TypeScript kernel, the Plotly chart is drawn, the notebook saves', async () => {
  assert.ok(browser);
  const lab = await startLab(work, path.join(ARTIFACTS, 'state-1'));
  labs.push(lab);
  const page = await openPage(browser, `${lab.url}/lab/tree/${NOTEBOOK}?token=${lab.token}&reset`);
  await page.locator('.jp-Notebook').first().waitFor({ timeout: 120_000 });
  await waitForKernel(lab, 120_000);
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  await waitForChart(page, '1-run-all.png', 180_000);
  await page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first().waitFor({ timeout: 180_000 });
  const traces = await page
    .locator('.jp-RenderedPlotly.js-plotly-plot')
    .first()
    .evaluate((el) => ((el as unknown as { data?: unknown[] }).data ?? []).length);
  assert.ok(traces > 0, 'the chart has no traces');

  // The progress cell printed its lines, and none of them in a red (stderr) output area.
  let areas = await streamAreas(page);
  for (let i = 0; i < 60 && !areas.text.includes('epoch 1/2'); i++) {
    await page.waitForTimeout(500);
    areas = await streamAreas(page);
  }
  assert.match(areas.text, /imdb: reading reviews 25,000/);
  assert.match(areas.text, /epoch 1\/2 loss 0\.6900/);
  assert.deepEqual(areas.stderr, [], 'ordinary progress rendered as stderr (red) in JupyterLab');

  await page.keyboard.press('Control+s');
  // Saved when the file on disk holds the chart's output.
  const file = path.join(work, NOTEBOOK);
  for (let i = 0; i < 60 && !fs.readFileSync(file, 'utf8').includes('application/vnd.plotly.v1+json'); i++) {
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(fs.readFileSync(file, 'utf8'), /application\/vnd\.plotly\.v1\+json/, 'the saved notebook lacks the chart output');
  await page.close();
  await stopLab(lab);
});

test('reopened untrusted in a fresh JupyterLab, and in Notebook 7, the saved chart is drawn without running', async () => {
  assert.ok(browser);
  const file = path.join(work, NOTEBOOK);
  assert.match(fs.readFileSync(file, 'utf8'), /application\/vnd\.plotly\.v1\+json/, 'needs the notebook saved by the previous test');
  const lab = await startLab(work, path.join(ARTIFACTS, 'state-2')); // new notary: the notebook is untrusted here
  labs.push(lab);

  const page = await openPage(browser, `${lab.url}/lab/tree/${NOTEBOOK}?token=${lab.token}&reset`);
  await waitForChart(page, '2-reopened-untrusted.png', 120_000);
  await page.close();

  const classic = await openPage(browser, `${lab.url}/notebooks/${NOTEBOOK}?token=${lab.token}`);
  await waitForChart(classic, '3-notebook7.png', 120_000);
  await classic.close();
  await stopLab(lab);
});
