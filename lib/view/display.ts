/**
 * Shows `Figure`s in a tslab notebook as one display_data bundle that renders everywhere:
 * - `application/vnd.plotly.v1+json`: JupyterLab 4 / Notebook 7 (Python plotly's extension; safe for untrusted notebooks);
 * - `text/html`: classic Notebook and nbconvert HTML, drawn with `window.Plotly` from a copy of plotly.js
 *   injected once per kernel session (from npm `plotly.js-dist-min`, never a CDN);
 * - `text/plain`: a one-line summary for text-only front ends.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { toPlainJson, type Figure } from './plot';

/** The mime type rendered by the JupyterLab Plotly extension. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** The three representations of one chart. */
export interface MimeBundle {
  'application/vnd.plotly.v1+json': Figure;
  'text/html': string;
  'text/plain': string;
}

/** The one-time output that loads plotly.js into the page. */
export interface PlotlyScriptBundle {
  'text/html': string;
  'text/plain': string;
}

/** Content of a Jupyter `display_data` message, as tslab's writer expects it. */
export interface DisplayData {
  data: MimeBundle | PlotlyScriptBundle | StaticBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** Ready-made representations keyed by mime type (e.g. a diagram's SVG, html and text); `text/plain` is required. */
export type StaticBundle = { 'text/plain': string } & Record<string, string>;

/** tslab's per-cell writer: one call sends one `display_data` (or `update_display_data`) message. */
export type DisplayWriter = (message: DisplayData, update: boolean) => void;

/** Options of `displayBundle`. */
export interface BundleOptions {
  /** Prepend the plotly.js injection to the html (done by `show` once per kernel session). */
  includePlotlyJs: boolean;
  /** Id of the chart's div; random by default. */
  divId?: string;
}

const DEFAULT_HEIGHT_PX = 420;
/** The html retries for ~60 s: plotly.js may be parsed after the chart's script (out-of-order outputs). */
const RETRY_MS = 100;
const MAX_RETRIES = 600;

/** Shows a figure under the current notebook cell; outside a tslab kernel prints its one-line summary. */
export function show(fig: Figure): void {
  const write = tslabDisplayWriter();
  if (!write) {
    console.log(textFallback(fig));
    return;
  }
  const includePlotlyJs = !isPlotlyInjected();
  write(displayMessage(displayBundle(fig, { includePlotlyJs })), false);
  setPlotlyInjected(true);
}

/** Shows a ready-made mime bundle under the current cell as one display_data; outside a kernel prints its text/plain. */
export function showMimeBundle(bundle: StaticBundle): void {
  const write = tslabDisplayWriter();
  if (!write) {
    console.log(bundle['text/plain']);
    return;
  }
  write(displayMessage(bundle), false);
}

/**
 * A line of text under the current cell that every call replaces: the first call sends a display_data
 * with a display_id, later ones an update_display_data of it. For live progress (the batch line of
 * training): JupyterLab shows it changing in place, and a saved notebook or report keeps only its last
 * state. The display_id starts with `gru-progress-`, which the report runner echoes to the terminal.
 * Null outside a tslab kernel (use ordinary lines there).
 */
export function liveTextLine(write: DisplayWriter | null = tslabDisplayWriter()): ((text: string) => void) | null {
  if (!write) return null;
  const displayId = `${LIVE_LINE_PREFIX}${randomUUID()}`;
  let shown = false;
  return (text) => {
    write({ data: { 'text/plain': text }, metadata: {}, transient: { display_id: displayId } }, shown);
    shown = true;
  };
}

/** The display_id prefix of `liveTextLine` outputs. */
export const LIVE_LINE_PREFIX = 'gru-progress-';

/** The mime bundle of a figure: Plotly JSON, self-drawing html, and a text summary. */
export function displayBundle(fig: Figure, options: BundleOptions): MimeBundle {
  const spec = toPlainJson(fig);
  const divId = options.divId ?? `gru-plot-${randomUUID()}`;
  const inject = options.includePlotlyJs ? plotlyScriptBundle()['text/html'] : '';
  return {
    [PLOTLY_MIME]: spec,
    'text/html': inject + chartHtml(spec, divId),
    'text/plain': textFallback(spec),
  };
}

/** The one-time bundle that puts plotly.js (from node_modules, no CDN) into the notebook's output. */
export function plotlyScriptBundle(): PlotlyScriptBundle {
  const { source, version } = plotlyJs();
  return {
    'text/html': [
      // require.js (classic Notebook, nbconvert pages) defines an AMD `define`; a UMD bundle would then register
      // as an anonymous AMD module instead of setting window.Plotly, so hide `define` while plotly.js runs.
      '<script type="text/javascript">window.__gruAmdDefine = window.define; window.define = undefined;</script>',
      `<script type="text/javascript">/* plotly.js ${version}, inlined from npm plotly.js-dist-min */\n${scriptSafe(source)}\n</script>`,
      '<script type="text/javascript">window.define = window.__gruAmdDefine; window.__gruAmdDefine = undefined;</script>',
    ].join('\n'),
    'text/plain': `plotly.js ${version} (offline copy for HTML export)`,
  };
}

/** One-line summary, e.g. `Model Loss — Train: scatter, 10 points; Validation: scatter, 10 points (x: Epoch, y: Loss)`. */
export function textFallback(fig: Figure): string {
  const title = titleText(fig.layout.title) ?? 'Plotly figure';
  const traces = fig.data.map((trace, i) => traceSummary(trace, i)).join('; ') || 'no traces';
  const axes = [axisLabel('x', fig.layout.xaxis?.title), axisLabel('y', fig.layout.yaxis?.title)].filter(Boolean);
  return `${title} — ${traces}${axes.length ? ` (${axes.join(', ')})` : ''}`;
}

/** Makes the next `show` inject plotly.js again, e.g. after "Clear All Outputs" removed the first chart. */
export function resetPlotlyInjection(): void {
  setPlotlyInjected(false);
}

// ---- tslab internals: the only code in this project that depends on them (tslab 1.0.22 is unmaintained) ----
//
// tslab's public `display.raw(mime, value)` (node_modules/tslab/dist/public.js, lines 81-107) sends ONE mime type
// per message. It does so by calling `lastWriteDisplayData(data, update)`, a plain export of
// node_modules/tslab/dist/jupyter.js (declared line 48), which JupyterHandlerImpl.handleExecuteImpl (line 248)
// sets to the writer of the running execute_request; ZmqServer.handleExecute (lines 400-405) turns each call into
// one `display_data` message on IOPub, whose content is exactly `{ data, metadata, transient }`.
// We call that same writer with the whole bundle. The module is looked up in `require.cache` rather than required:
// plain node then never loads tslab (and the TypeScript compiler it pulls in), and a globally installed tslab
// kernel is found as well as the project's. Tested in test/view/display.test.ts against the installed tslab.

const TSLAB_JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** A module cache, e.g. `require.cache`. */
export type ModuleCache = Readonly<Record<string, { exports: unknown } | undefined>>;

/** The running tslab kernel's display writer, or null outside a kernel (plain node, tests). */
export function tslabDisplayWriter(cache: ModuleCache = require.cache): DisplayWriter | null {
  for (const [file, mod] of Object.entries(cache)) {
    if (!mod || !TSLAB_JUPYTER_MODULE.test(file)) continue;
    const writer = lastWriteDisplayData(mod.exports);
    if (writer) return writer;
  }
  return null;
}

function lastWriteDisplayData(exports: unknown): DisplayWriter | null {
  if (typeof exports !== 'object' || exports === null) return null;
  const writer: unknown = Reflect.get(exports, 'lastWriteDisplayData');
  return typeof writer === 'function' ? (writer as DisplayWriter) : null;
}

// ---- helpers ----

/** Wraps a bundle as display_data content (no display_id: each chart is a new output). */
function displayMessage(data: DisplayData['data']): DisplayData {
  return { data, metadata: {}, transient: {} };
}

// Kept on globalThis, not in a module variable: tslab re-evaluates lib/*.ts when they change, the kernel process
// (and the page's window.Plotly) stays.
const INJECTED = Symbol.for('gru-course.display.plotlyInjected');

function isPlotlyInjected(): boolean {
  return Reflect.get(globalThis, INJECTED) === true;
}

function setPlotlyInjected(value: boolean): void {
  Reflect.set(globalThis, INJECTED, value);
}

let plotlyCache: { source: string; version: string } | undefined;

function plotlyJs(): { source: string; version: string } {
  if (!plotlyCache) {
    const source = readFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'), 'utf8');
    const version = /plotly\.js v(\S+)/.exec(source.slice(0, 200))?.[1] ?? 'unknown version';
    plotlyCache = { source, version };
  }
  return plotlyCache;
}

/** A div (with the text summary until the chart is drawn) and a script that draws it once window.Plotly exists. */
function chartHtml(spec: Figure, divId: string): string {
  const height = spec.layout.height ?? DEFAULT_HEIGHT_PX;
  const width = spec.layout.width ? `${spec.layout.width}px` : '100%';
  const id = JSON.stringify(divId);
  return (
    `<div id="${escapeHtml(divId)}" class="gru-plot" style="width:${width};height:${height}px;">` +
    `<pre style="margin:0;color:#777;">${escapeHtml(textFallback(spec))}</pre></div>
<script type="text/javascript">
(function () {
  var id = ${id};
  var fig = ${scriptJson(spec)};
  var attempts = 0;
  function draw() {
    var el = document.getElementById(id);
    var Plotly = window.Plotly;
    if (el && Plotly && typeof Plotly.newPlot === "function") {
      el.innerHTML = "";
      Plotly.newPlot(el, fig.data, fig.layout, fig.config || {});
    } else if (++attempts < ${MAX_RETRIES}) {
      setTimeout(draw, ${RETRY_MS});
    } else if (el) {
      el.insertAdjacentText("beforeend", "  [plotly.js is not loaded: re-run the notebook from the top]");
    }
  }
  draw();
})();
</script>`
  );
}

function traceSummary(trace: Figure['data'][number], index: number): string {
  const name = typeof trace.name === 'string' && trace.name ? trace.name : `trace ${index + 1}`;
  const type = typeof trace.type === 'string' ? trace.type : 'scatter';
  return `${name}: ${type}, ${sizeOf(trace)}`;
}

/** "10 points", "500 values" (histogram), "3 bars", or "2×12 cells" (heatmap). */
function sizeOf(trace: Figure['data'][number]): string {
  const z = Reflect.get(trace, 'z');
  if (Array.isArray(z) && Array.isArray(z[0])) return `${z.length}×${z[0].length} cells`;
  const lengths = ['x', 'y', 'values', 'z']
    .map((k) => Reflect.get(trace, k))
    .filter(isArrayLike)
    .map((a) => a.length);
  const n = lengths.length ? Math.max(...lengths) : 0;
  const unit = trace.type === 'histogram' ? 'value' : trace.type === 'bar' ? 'bar' : 'point';
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function titleText(title: unknown): string | undefined {
  if (typeof title === 'string') return title || undefined;
  if (typeof title === 'object' && title !== null) {
    const text: unknown = Reflect.get(title, 'text');
    if (typeof text === 'string' && text) return text;
  }
  return undefined;
}

function axisLabel(axis: 'x' | 'y', title: unknown): string {
  const text = titleText(title);
  return text ? `${axis}: ${text}` : '';
}

/** JSON that is safe inside <script>: no `</script>`, `<!--`, or line separators that end JS strings. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Keeps a script's source from closing its <script> element early. */
function scriptSafe(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
