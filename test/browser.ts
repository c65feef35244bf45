/**
 * The browser check of HTML reports: headless Debian Chromium (playwright-core, no
 * downloaded browser) opens a report with the network blocked and reports what a
 * reader would see: charts drawn, equations typeset, Korean drawn with a font that has Hangul, errors,
 * requests that left the page.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { observeHangul, observeHangulInDiagrams, hangulProblems, type HangulObservation } from './browser-hangul';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What a report should show, from the runner's manifest.json. */
export interface ReportExpectation {
  html: string;
  figures: number;
  equations: number;
}

/** What the browser saw. */
export interface ReportObservation {
  plots: { traces: number; drawn: boolean }[];
  typesetEquations: number;
  mathErrors: number;
  consoleErrors: string[];
  externalRequests: string[];
  failedRequests: string[];
  /** Every Hangul run on the page and in its diagrams, with the fonts that drew it. */
  hangul: HangulObservation[];
}

/** The environment each browser was started with (fontconfig's, for the fonts it can see). */
export const BROWSER_ENV = new WeakMap<Browser, NodeJS.ProcessEnv>();

/** Start the system Chromium headless; fail with a clear message when it is missing. `env`: its environment. */
export async function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the browser check needs Debian's chromium (npm run setup installs it as root; ` +
        'otherwise `sudo apt-get install chromium`, or set CHROMIUM_PATH)',
    );
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: env as Record<string, string>,
    // Without the background-networking flags Chromium phones home at start, which a closed network refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  BROWSER_ENV.set(browser, env);
  return browser;
}

/** Open one report file with every non-file request blocked, and observe it. */
export async function observeReport(browser: Browser, file: string, expected: ReportExpectation): Promise<ReportObservation> {
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const obs: ReportObservation = {
    plots: [],
    typesetEquations: 0,
    mathErrors: 0,
    consoleErrors: [],
    externalRequests: [],
    failedRequests: [],
    hangul: [],
  };
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    obs.externalRequests.push(url);
    return route.abort('blockedbyclient');
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') obs.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => obs.consoleErrors.push(`uncaught: ${err.message}`));
  page.on('requestfailed', (req) => {
    if (!obs.externalRequests.includes(req.url())) obs.failedRequests.push(`${req.url()} (${req.failure()?.errorText})`);
  });

  await page.goto(`file://${path.resolve(file)}`, { waitUntil: 'load', timeout: 120_000 });
  // Charts draw asynchronously; MathJax typesets after its startup promise.
  await page
    .waitForFunction((n: number) => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n, expected.figures, {
      timeout: 60_000,
    })
    .catch(() => undefined);
  if (expected.equations > 0) {
    await page
      .waitForFunction(
        () => {
          const mj = (window as unknown as { MathJax?: { startup?: { promise?: Promise<unknown> } } }).MathJax;
          return mj?.startup?.promise !== undefined;
        },
        undefined,
        { timeout: 30_000 },
      )
      .catch(() => undefined);
    await page
      .evaluate(async () => {
        const mj = (window as unknown as { MathJax?: { startup?: { promise?: Promise<unknown> } } }).MathJax;
        await mj?.startup?.promise;
      })
      .catch(() => undefined);
  }
  const seen = await page.evaluate(() => ({
    plots: Array.from(document.querySelectorAll('.js-plotly-plot')).map((el) => ({
      traces: ((el as unknown as { data?: unknown[] }).data ?? []).length,
      drawn: el.querySelector('.main-svg') !== null,
    })),
    typesetEquations: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
  }));
  Object.assign(obs, seen);
  const env = BROWSER_ENV.get(browser) ?? process.env;
  obs.hangul = [...(await observeHangul(page, 'page', env)), ...(await observeHangulInDiagrams(context, page, env))];
  await context.close();
  return obs;
}

/** Problems a reader would meet in a report, as readable lines (empty when all is well). */
export function reportProblems(expected: ReportExpectation, obs: ReportObservation): string[] {
  const problems: string[] = [];
  if (obs.plots.length !== expected.figures) problems.push(`${obs.plots.length} charts rendered, the notebook shows ${expected.figures}`);
  obs.plots.forEach((p, i) => {
    if (!p.drawn) problems.push(`chart ${i + 1} was not drawn`);
    if (p.traces === 0) problems.push(`chart ${i + 1} has no traces`);
  });
  if (obs.typesetEquations < expected.equations) {
    problems.push(`${obs.typesetEquations} equations typeset, the markdown holds ${expected.equations}`);
  }
  if (obs.mathErrors > 0) problems.push(`${obs.mathErrors} equations failed to typeset`);
  problems.push(...hangulProblems(obs.hangul));
  for (const e of obs.consoleErrors) problems.push(`console error: ${e}`);
  for (const u of obs.externalRequests) problems.push(`request left the page: ${u}`);
  for (const u of obs.failedRequests) problems.push(`request failed: ${u}`);
  return problems;
}

// ---- the course's cell diagrams (lib/view/cell-diagrams.ts): counted like charts ----

/** How many diagrams an executed notebook shows: outputs carrying an `image/svg+xml` representation. */
export function diagramsShown(executedNotebook: string): number {
  const nb = JSON.parse(fs.readFileSync(executedNotebook, 'utf8')) as { cells: { outputs?: { data?: Record<string, unknown> }[] }[] };
  return nb.cells.reduce((n, cell) => n + (cell.outputs ?? []).filter((o) => o.data?.['image/svg+xml'] !== undefined).length, 0);
}

/** One diagram as the browser drew it. */
export interface DiagramObservation {
  name: string;
  /** The image decoded (an <img> with naturalWidth > 0, or an inline <svg> with a non-empty box). */
  decoded: boolean;
  width: number;
  height: number;
  visible: boolean;
}

/** Open a report offline and look at every `.gru-diagram` (an <img> of the SVG, or the SVG inline). */
export async function observeDiagrams(browser: Browser, file: string): Promise<DiagramObservation[]> {
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    return url.startsWith('file:') || url.startsWith('data:') ? route.continue() : route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  await page.goto(file.startsWith('file:') ? file : `file://${path.resolve(file)}`, { waitUntil: 'load', timeout: 120_000 });
  const seen = await page.evaluate(async () => {
    const els = Array.from(document.querySelectorAll('.gru-diagram'));
    await Promise.all(els.map((el) => (el instanceof HTMLImageElement ? el.decode().catch(() => undefined) : undefined)));
    return els.map((el) => {
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      const decoded = el instanceof HTMLImageElement ? el.complete && el.naturalWidth > 0 : box.width > 0 && box.height > 0;
      return {
        name: el.getAttribute('data-diagram') ?? el.getAttribute('aria-labelledby') ?? el.tagName,
        decoded,
        width: box.width,
        height: box.height,
        visible: style.display !== 'none' && style.visibility !== 'hidden' && Number(style.opacity) > 0,
      };
    });
  });
  await context.close();
  return seen;
}

/** Problems with a report's diagrams, as readable lines (empty when every diagram the notebook shows is drawn). */
export function diagramProblems(expected: number, seen: DiagramObservation[]): string[] {
  const problems: string[] = [];
  if (seen.length !== expected) problems.push(`${seen.length} diagrams in the report, the notebook shows ${expected}`);
  seen.forEach((d, i) => {
    if (!d.decoded) problems.push(`diagram ${i + 1} (${d.name}) did not render: its image did not decode`);
    if (!(d.width > 0 && d.height > 0)) problems.push(`diagram ${i + 1} (${d.name}) has no size (${d.width}×${d.height})`);
    if (!d.visible) problems.push(`diagram ${i + 1} (${d.name}) is hidden`);
  });
  return problems;
}

// ---- stderr output areas: ordinary progress must not render as an error ----

/** A report's stderr output areas (rendered with an error look), as the reader sees their text. */
export async function observeStderrAreas(browser: Browser, file: string): Promise<string[]> {
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  await context.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort('blockedbyclient')));
  await page.goto(`file://${path.resolve(file)}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
  const texts = await page.evaluate(() =>
    Array.from(document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'), (el) => (el.textContent ?? '').trim()),
  );
  await context.close();
  return texts;
}

/** Text on stderr is an error or a warning; anything else there (progress, info) is a problem, one line per area. */
export function stderrAreaProblems(areas: string[]): string[] {
  return areas
    .filter((text) => !/\bwarn(ing)?\b/i.test(text))
    .map((text) => `stderr output (shown as an error): ${text.split('\n')[0].slice(0, 200)}`);
}
