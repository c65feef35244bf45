import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import {
  displayBundle,
  LIVE_LINE_PREFIX,
  liveTextLine,
  plotlyScriptBundle,
  PLOTLY_MIME,
  resetPlotlyInjection,
  show,
  textFallback,
  tslabDisplayWriter,
  type DisplayData,
  type ModuleCache,
} from '../../lib/view/display';
import { heatmap, historyChart, type Figure } from '../../lib/view/plot';

const ROOT = path.resolve(__dirname, '../..');
const PLOTLY_MIN_JS = require.resolve('plotly.js-dist-min/plotly.min.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const lossFigure = (): Figure => historyChart('Model Loss', { Train: [0.69, 0.52, 0.41], Validation: [0.66, 0.55, 0.5] });
const gateFigure = (): Figure =>
  heatmap(
    [
      [0.1, 0.9],
      [0.4, 0.6],
    ],
    ['the', 'movie'],
    ['z_t', 'r_t'],
    { title: 'GRU gates' },
  );

/** Bodies of the inline <script> elements of an html fragment, in order. */
function scripts(html: string): string[] {
  return Array.from(html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g), (m) => m[1]);
}

interface FakeElement {
  id: string;
  innerHTML: string;
  text: string;
  insertAdjacentText(where: string, text: string): void;
}
interface NewPlotCall {
  el: FakeElement;
  data: unknown;
  layout: unknown;
  config: unknown;
}

/** A minimal browser for the chart script: one element, a timer queue, and window.Plotly when we say so. */
function fakeBrowser(divId: string) {
  const el: FakeElement = {
    id: divId,
    innerHTML: '<pre>…</pre>',
    text: '',
    insertAdjacentText(_where, text) {
      this.text += text;
    },
  };
  const timers: (() => void)[] = [];
  const calls: NewPlotCall[] = [];
  const context = vm.createContext({
    document: { getElementById: (id: string) => (id === divId ? el : null) },
    setTimeout: (fn: () => void) => {
      timers.push(fn);
    },
  });
  vm.runInContext('var window = this;', context);
  return {
    el,
    calls,
    context,
    run: (code: string) => vm.runInContext(code, context),
    loadPlotly: () =>
      vm.runInContext(
        'window.Plotly = { newPlot: function (el, data, layout, config) { calls.push({ el, data, layout, config }); } };',
        Object.assign(context, { calls }),
      ),
    tick: () => {
      const pending = timers.splice(0);
      pending.forEach((fn) => fn());
      return pending.length;
    },
  };
}

describe('displayBundle', () => {
  const fig = lossFigure();
  const bundle = displayBundle(fig, { includePlotlyJs: false, divId: 'chart-1' });
  const html = bundle['text/html'];

  test('exactly the three mime types', () => {
    assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME, 'text/html', 'text/plain']);
  });

  test('the plotly JSON is the figure, as a JSON object', () => {
    assert.deepEqual(bundle[PLOTLY_MIME], fig);
    assert.deepEqual(JSON.parse(JSON.stringify(bundle[PLOTLY_MIME])), fig);
  });

  test('html: the div, then one script that calls Plotly.newPlot on that div id; no URLs', () => {
    assert.match(html, /^<div id="chart-1" class="gru-plot" style="width:100%;height:420px;">/);
    const [script, ...rest] = scripts(html);
    assert.equal(rest.length, 0);
    assert.ok(script.includes('"chart-1"'));
    assert.ok(script.includes('document.getElementById(id)'));
    assert.ok(script.includes('Plotly.newPlot(el, fig.data, fig.layout'));
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /<script[^>]*\bsrc=/);
    assert.ok(!html.includes('plotly.js v'), 'plotly.js is not repeated');
  });

  test('div ids are unique by default', () => {
    const id = (b: string) => /<div id="([^"]+)"/.exec(b)?.[1];
    const a = id(displayBundle(fig, { includePlotlyJs: false })['text/html']);
    const b = id(displayBundle(fig, { includePlotlyJs: false })['text/html']);
    assert.ok(a && b && a !== b, `${a} vs ${b}`);
  });

  test('text/plain: title, traces with type and size, axes; never [object Object]', () => {
    assert.equal(bundle['text/plain'], 'Model Loss — Train: scatter, 3 points; Validation: scatter, 3 points (x: Epoch, y: Loss)');
    assert.equal(textFallback(gateFigure()), 'GRU gates — values: heatmap, 2×2 cells');
    const bare: Figure = { data: [{ type: 'bar', x: ['a', 'b'], y: [1, 2] }], layout: {} };
    assert.equal(textFallback(bare), 'Plotly figure — trace 1: bar, 2 bars');
    for (const f of [fig, gateFigure(), bare]) assert.ok(!textFallback(f).includes('[object Object]'));
  });

  test('the script draws once window.Plotly exists (retrying until then)', () => {
    const browser = fakeBrowser('chart-1');
    browser.run(scripts(html)[0]);
    assert.equal(browser.calls.length, 0);
    assert.equal(browser.tick(), 1, 'retry scheduled while plotly.js is missing');
    browser.loadPlotly();
    browser.tick();
    assert.equal(browser.calls.length, 1);
    const [call] = browser.calls;
    assert.equal(call.el, browser.el);
    assert.equal(browser.el.innerHTML, '', 'the text placeholder is removed');
    assert.deepEqual(JSON.parse(JSON.stringify([call.data, call.layout, call.config])), [fig.data, fig.layout, fig.config]);
    assert.equal(browser.tick(), 0, 'no more retries');
  });

  test('the script gives up with a hint when plotly.js never loads', () => {
    const browser = fakeBrowser('chart-1');
    browser.run(scripts(html)[0]);
    let rounds = 0;
    while (browser.tick() > 0) rounds++;
    assert.ok(rounds > 100 && rounds < 1000, `${rounds} retries`);
    assert.match(browser.el.text, /plotly\.js is not loaded/);
  });

  test('titles cannot break out of the script or the html', () => {
    const evil = '</script><script>alert(1)</script> & <b>';
    const b = displayBundle(historyChart(evil, { Train: [1] }), { includePlotlyJs: false, divId: 'x' });
    assert.equal(scripts(b['text/html']).length, 1);
    assert.ok(b['text/html'].includes('&#60;/script&#62;&#60;script&#62;'), 'escaped in the placeholder');
    const browser = fakeBrowser('x');
    browser.loadPlotly();
    browser.run(scripts(b['text/html'])[0]);
    assert.deepEqual((browser.calls[0].layout as Figure['layout']).title?.text, evil);
  });
});

describe('plotly.js injection', () => {
  const injection = plotlyScriptBundle();
  const plotlyVersion = (JSON.parse(fs.readFileSync(path.join(path.dirname(PLOTLY_MIN_JS), 'package.json'), 'utf8')) as { version: string })
    .version;

  test('inlines the whole plotly.min.js from node_modules; nothing from a CDN', () => {
    const source = fs.readFileSync(PLOTLY_MIN_JS, 'utf8');
    const html = injection['text/html'];
    assert.ok(html.includes(source), 'the installed plotly.min.js, verbatim');
    // Everything around plotly.js is ours: no URLs, no <script src>. (Compared as short strings: the bundle is ~4.8 MB.)
    const wrapper = html.replace(source, '<plotly.min.js>');
    assert.doesNotMatch(wrapper, /https?:\/\//);
    assert.doesNotMatch(wrapper, /<script[^>]*\bsrc=/);
    assert.equal(injection['text/plain'], `plotly.js ${plotlyVersion} (offline copy for HTML export)`);
  });

  test('AMD guard: define is hidden while plotly.js runs and restored after', () => {
    const [hide, plotly, restore, ...rest] = scripts(injection['text/html']);
    assert.equal(rest.length, 0);
    assert.ok(plotly.includes(`plotly.js v${plotlyVersion}`));
    assert.ok(hide.includes('window.define = undefined'));
    assert.ok(restore.includes('window.define = window.__gruAmdDefine'));
    // Run the guards around a UMD bundle that prefers AMD, as plotly.js 2.x did, on a require.js page.
    const context = vm.createContext({ amdCalls: 0 });
    vm.runInContext('var window = this; window.define = function () { amdCalls++; }; window.define.amd = {};', context);
    const requireJsDefine: unknown = vm.runInContext('window.define', context);
    const umd =
      'if (typeof define === "function" && define.amd) { define([], function () { return {}; }); } else { window.Plotly = { newPlot: function () {} }; }';
    for (const code of [hide, umd, restore]) vm.runInContext(code, context);
    assert.equal(vm.runInContext('typeof window.Plotly', context), 'object');
    assert.equal(vm.runInContext('amdCalls', context), 0);
    assert.equal(vm.runInContext('window.define', context), requireJsDefine);
  });

  test('displayBundle prepends it only when asked', () => {
    const withJs = displayBundle(lossFigure(), { includePlotlyJs: true, divId: 'd' })['text/html'];
    assert.ok(withJs.startsWith(injection['text/html']), 'plotly.js first');
    assert.ok(withJs.endsWith(displayBundle(lossFigure(), { includePlotlyJs: false, divId: 'd' })['text/html']), 'then the chart');
  });
});

describe('show', () => {
  test('outside a kernel: prints the one-line summary instead of crashing', (t) => {
    const log = t.mock.method(console, 'log', () => undefined);
    assert.equal(tslabDisplayWriter(), null);
    show(lossFigure());
    assert.deepEqual(
      log.mock.calls.map((c) => c.arguments),
      [[textFallback(lossFigure())]],
    );
  });

  test('tslabDisplayWriter finds the writer in tslab/dist/jupyter.js of any tslab install', () => {
    const writer = (): void => undefined;
    const cache = (file: string, exports: unknown): ModuleCache => ({ [file]: { exports } });
    assert.equal(tslabDisplayWriter(cache('/p/node_modules/tslab/dist/jupyter.js', { lastWriteDisplayData: writer })), writer);
    assert.equal(tslabDisplayWriter(cache('C:\\g\\node_modules\\tslab\\dist\\jupyter.js', { lastWriteDisplayData: writer })), writer);
    assert.equal(tslabDisplayWriter(cache('/p/node_modules/tslab/dist/jupyter.js', { lastWriteDisplayData: null })), null);
    assert.equal(tslabDisplayWriter(cache('/p/node_modules/other/dist/jupyter.js', { lastWriteDisplayData: writer })), null);
  });

  test('installed tslab: its display API and show() share the writer; one message per show, plotly.js once', () => {
    // The module tslab's kernel sets per cell (node_modules/tslab/dist/jupyter.js).
    const jupyter = require('tslab/dist/jupyter') as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(jupyter, 'lastWriteDisplayData'));
    assert.equal(jupyter.lastWriteDisplayData, null, 'null until a cell runs');
    assert.equal(tslabDisplayWriter(), null);

    const messages: { message: DisplayData; update: boolean }[] = [];
    jupyter.lastWriteDisplayData = (message: DisplayData, update: boolean) => {
      messages.push({ message, update });
    };
    try {
      // tslab's own display.text() goes through the very function show() uses.
      (require('tslab') as typeof import('tslab')).display.text('hello');
      assert.deepEqual(
        messages.splice(0).map((m) => m.message.data),
        [{ 'text/plain': 'hello' }],
      );

      resetPlotlyInjection();
      show(lossFigure());
      show(gateFigure());
      assert.equal(messages.length, 2, 'one display_data per show');
      for (const { message, update } of messages) {
        assert.equal(update, false);
        assert.deepEqual(Object.keys(message.data).sort(), [PLOTLY_MIME, 'text/html', 'text/plain']);
        assert.deepEqual(message.metadata, {});
      }
      const htmls = messages.map((m) => m.message.data['text/html']);
      assert.deepEqual(
        htmls.map((h) => h.includes('plotly.js v')),
        [true, false],
        'plotly.js injected exactly once',
      );
      assert.deepEqual(
        messages.map((m) => Reflect.get(m.message.data, PLOTLY_MIME)),
        [lossFigure(), gateFigure()],
      );

      resetPlotlyInjection();
      show(lossFigure());
      assert.ok(messages[2].message.data['text/html'].includes('plotly.js v'), 'injected again after a reset');
    } finally {
      jupyter.lastWriteDisplayData = null;
    }
  });
});

// A real tslab kernel minus ZeroMQ: tslab's compiler and executor run a cell that imports ./lib, and ZmqServer
// publishes to a fake IOPub socket. It runs in a child process because tslab redirects process.stdout to IOPub.
const KERNEL_CHILD = String.raw`
const crypto = require("crypto");
const path = require("path");
const dist = path.dirname(require.resolve("tslab/dist/jupyter"));
const { createConverter } = require(path.join(dist, "converter"));
const { createExecutor } = require(path.join(dist, "executor"));
const { ZmqServer, JupyterHandlerImpl } = require(path.join(dist, "jupyter"));
const out = process.stdout.write.bind(process.stdout);
const KEY = "test-key", DELIM = "<IDS|MSG>";
const sent = [], diagnostics = [];
const conv = createConverter({ isJS: false, isBrowser: false });
const executor = createExecutor(process.cwd(), { node: conv, browser: conv, close: () => conv.close() },
  { log: (...a) => diagnostics.push(a.join(" ")), error: (...a) => diagnostics.push(a.join(" ")) });
const server = new ZmqServer(new JupyterHandlerImpl(executor, false), "");
server.connInfo = { key: KEY };
server.iopub = { send: (frames) => sent.push(["iopub", frames]) };
const shell = { send: (frames) => sent.push(["shell", frames]) };
const header = JSON.stringify({ msg_id: "1", session: "s", username: "u", msg_type: "execute_request", version: "5.3", date: "" });
const parts = [header, "{}", "{}", JSON.stringify({ code: process.env.CELL, silent: false, store_history: true, user_expressions: {} })];
const hmac = crypto.createHmac("sha256", KEY);
parts.forEach((p) => hmac.update(p));
server.handleShellMessage(shell, Buffer.from("client"), Buffer.from(DELIM), Buffer.from(hmac.digest("hex")), ...parts.map((p) => Buffer.from(p)))
  .finally(() => executor.close())
  .then(() => {
    const messages = sent.map(([socket, frames]) => {
      const i = frames.findIndex((f) => String(f) === DELIM);
      return { socket, msg_type: JSON.parse(String(frames[i + 2])).msg_type, content: JSON.parse(String(frames[i + 5])) };
    });
    out(JSON.stringify({ messages, diagnostics }), () => process.exit(0));
  });
`;

interface WireMessage {
  socket: 'iopub' | 'shell';
  msg_type: string;
  content: { status?: string; data?: Record<string, unknown>; transient?: unknown };
}

describe('in a tslab kernel (real compiler and executor, fake ZeroMQ sockets)', () => {
  test('a cell with two show() calls publishes two display_data messages; plotly.js only in the first', { timeout: 120_000 }, () => {
    const cell = [
      'import { show } from "./lib/view/display";',
      'import { historyChart, heatmap } from "./lib/view/plot";',
      'show(historyChart("Model Loss", { Train: [0.69, 0.52, 0.41], Validation: [0.66, 0.55, 0.5] }));',
      'show(heatmap([[0.1, 0.9], [0.4, 0.6]], ["the", "movie"], ["z_t", "r_t"], { title: "GRU gates" }));',
    ].join('\n');
    const child = spawnSync(process.execPath, ['-e', KERNEL_CHILD], {
      cwd: ROOT,
      env: { ...process.env, CELL: cell },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      timeout: 110_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const { messages, diagnostics } = JSON.parse(child.stdout) as { messages: WireMessage[]; diagnostics: string[] };
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(
      messages.map((m) => `${m.socket}:${m.msg_type}`),
      ['iopub:status', 'iopub:display_data', 'iopub:display_data', 'shell:execute_reply', 'iopub:status'],
    );
    assert.equal(messages[3].content.status, 'ok');
    const shown = messages.filter((m) => m.msg_type === 'display_data').map((m) => m.content.data ?? {});
    for (const data of shown) assert.deepEqual(Object.keys(data).sort(), [PLOTLY_MIME, 'text/html', 'text/plain']);
    assert.deepEqual(
      shown.map((d) => d[PLOTLY_MIME]),
      [lossFigure(), gateFigure()],
    );
    assert.deepEqual(
      shown.map((d) => String(d['text/html']).includes('plotly.js v')),
      [true, false],
    );
    assert.deepEqual(
      shown.map((d) => d['text/plain']),
      [textFallback(lossFigure()), textFallback(gateFigure())],
    );
  });
});

describe('liveTextLine', () => {
  test('a live progress line: one display_data, then update_display_data of the same gru-progress- id, text only', () => {
    const sent: { message: DisplayData; update: boolean }[] = [];
    const line = liveTextLine((message, update) => void sent.push({ message, update }));
    assert.ok(line);
    line('batch 1/10');
    line('batch 5/10');
    line('batch 10/10');
    assert.deepEqual(
      sent.map((s) => s.update),
      [false, true, true],
    );
    const ids = new Set(sent.map((s) => s.message.transient.display_id));
    assert.equal(ids.size, 1);
    assert.ok([...ids][0]?.startsWith(LIVE_LINE_PREFIX));
    assert.deepEqual(
      sent.map((s) => s.message.data),
      [{ 'text/plain': 'batch 1/10' }, { 'text/plain': 'batch 5/10' }, { 'text/plain': 'batch 10/10' }],
    );
    const other = liveTextLine(() => undefined);
    assert.ok(other);
    assert.equal(liveTextLine(null), null, 'outside a kernel: null, so callers fall back to plain lines');
  });

  test('in a real tslab kernel: the cell publishes display_data then update_display_data with one display_id', { timeout: 120_000 }, () => {
    const cell = [
      'import { liveTextLine } from "./lib/view/display";',
      'const line = liveTextLine()!;',
      'line("epoch 1/2 batch 1/63"); line("epoch 1/2 batch 63/63");',
    ].join('\n');
    const child = spawnSync(process.execPath, ['-e', KERNEL_CHILD], {
      cwd: ROOT,
      env: { ...process.env, CELL: cell },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      timeout: 110_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const { messages } = JSON.parse(child.stdout) as { messages: WireMessage[] };
    const shown = messages.filter((m) => m.msg_type.endsWith('display_data'));
    assert.deepEqual(
      shown.map((m) => m.msg_type),
      ['display_data', 'update_display_data'],
    );
    const ids = shown.map((m) => (m.content.transient as { display_id?: string }).display_id);
    assert.ok(ids[0]?.startsWith(LIVE_LINE_PREFIX) && ids[0] === ids[1], JSON.stringify(ids));
    assert.deepEqual(
      shown.map((m) => m.content.data),
      [{ 'text/plain': 'epoch 1/2 batch 1/63' }, { 'text/plain': 'epoch 1/2 batch 63/63' }],
    );
  });
});

describe('in a browser (offline Chromium, require.js-style AMD define on the page)', () => {
  test(
    'charts draw, including one output placed before the plotly.js injection',
    { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} not found`, timeout: 120_000 },
    async () => {
      const { chromium } = await import('playwright-core');
      const outputs = [
        displayBundle(gateFigure(), { includePlotlyJs: false }), // e.g. re-run after the first chart: drawn by the retry
        displayBundle(lossFigure(), { includePlotlyJs: true }),
        displayBundle(historyChart('Model Accuracy', { Train: [0.6, 0.8] }), { includePlotlyJs: false }),
      ];
      const amd = '<script>window.amdCalls = 0; window.define = function () { window.amdCalls++; }; window.define.amd = {};</script>';
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gru-display-')), 'report.html');
      fs.writeFileSync(
        file,
        `<!doctype html><html><head><meta charset="utf-8">${amd}</head><body>${outputs.map((o) => `<div class="output">${o['text/html']}</div>`).join('\n')}</body></html>`,
      );

      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      try {
        const context = await browser.newContext({ offline: true });
        const page = await context.newPage();
        const errors: string[] = [];
        const external: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e.message));
        await context.route('**/*', async (route) => {
          const url = route.request().url();
          if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
          external.push(url);
          return route.abort();
        });
        await page.goto(`file://${file}`, { waitUntil: 'load' });
        await page.waitForFunction(
          () =>
            document.querySelectorAll('.gru-plot.js-plotly-plot .main-svg').length > 0 &&
            document.querySelectorAll('.gru-plot').length === document.querySelectorAll('.gru-plot.js-plotly-plot').length,
          undefined,
          { timeout: 30_000 },
        );
        const seen = await page.evaluate(() => {
          const w = window as unknown as {
            amdCalls: number;
            define?: ((...args: unknown[]) => void) & { amd?: unknown };
            Plotly?: unknown;
          };
          return {
            traces: Array.from(document.querySelectorAll('.gru-plot'), (el) => ((el as unknown as { data?: unknown[] }).data ?? []).length),
            placeholders: document.querySelectorAll('.gru-plot pre').length,
            amdCalls: w.amdCalls,
            defineRestored: typeof w.define === 'function' && w.define.amd !== undefined,
            plotly: typeof w.Plotly,
          };
        });
        assert.deepEqual(seen, { traces: [1, 2, 1], placeholders: 0, amdCalls: 0, defineRestored: true, plotly: 'object' });
        assert.deepEqual(errors, []);
        assert.deepEqual(external, []);
      } finally {
        await browser.close();
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    },
  );
});
