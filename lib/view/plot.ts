/**
 * Figure builders for the course's charts (training curves, histograms, bars,
 * gate heatmaps). Every builder returns a plain-JSON Plotly spec (`Figure`) that
 * `show()` in ./display.ts renders in JupyterLab, Notebook and nbconvert HTML.
 */
import type { Annotations, Color, ColorScale, Config, Data, Datum, Layout, LayoutAxis, Shape } from 'plotly.js';
import { fontStack } from './korean';

/** A Plotly figure as plain JSON: no functions, no typed arrays, no NaN. */
export interface Figure {
  data: Data[];
  layout: Partial<Layout>;
  config?: Partial<Config>;
}

/** Numbers from a plain array or a typed array (e.g. `tensor.dataSync()`). */
export type Numbers = ArrayLike<number>;

/** Axis labels: category names, tokens, or numbers. */
export type Labels = ArrayLike<string | number>;

/** Options shared by all builders. */
export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  height?: number;
  width?: number;
}

/** One named line of a `lineChart`; `x` defaults to 0..n-1. */
export interface LineSeries {
  name: string;
  y: Numbers;
  x?: Labels;
  color?: string;
  /** Plotly's scatter mode; defaults to 'lines'. */
  mode?: 'lines' | 'markers' | 'lines+markers';
}

/** Options for `historyChart`. */
export interface HistoryOptions extends ChartOptions {
  /** Plot accuracies as percentages (values are expected in 0..1). */
  percent?: boolean;
  /** Series of a recorded run drawn beside the others: dashed, fainter, same colours by name. */
  reference?: Readonly<Record<string, Numbers>>;
}

/** A labelled vertical line on a histogram, e.g. the `maxLen` cut. */
export interface MarkerLine {
  x: number;
  label?: string;
  color?: string;
}

/** Options for `histogram`. */
export interface HistogramOptions extends ChartOptions {
  /** Approximate number of bins (ignored when `binSize` is set). */
  bins?: number;
  binSize?: number;
  marker?: MarkerLine;
  name?: string;
  color?: string;
}

/** Options for `barChart`. */
export interface BarOptions extends ChartOptions {
  orientation?: 'v' | 'h';
  barmode?: 'group' | 'stack';
  /** Trace name when a single series is given. */
  name?: string;
}

/** Options for `heatmap`. */
export interface HeatmapOptions extends ChartOptions {
  colorscale?: ColorScale;
  zmin?: number;
  zmax?: number;
  /** Label of the colour bar, e.g. "gate value". */
  colorbarTitle?: string;
}

/** Colours of the standard series, so "Train" and "Validation" look the same in every chart. */
export const SERIES_COLORS: Readonly<Record<string, string>> = {
  train: '#1f77b4',
  validation: '#ff7f0e',
  test: '#2ca02c',
};

/** Fallback colours for other series (Plotly's default qualitative palette). */
export const COLORWAY: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const MARKER_LINE_COLOR = '#d62728';
const GRID_COLOR = '#e6e6e6';
const DEFAULT_HEIGHT = 420;

/** Config used by every figure: resizes with the output area, no Plotly logo. */
export const DEFAULT_CONFIG: Readonly<Partial<Config>> = { responsive: true, displaylogo: false };

/** The shared look of all course charts (font, margins, hover, legend). */
export function baseLayout(): Partial<Layout> {
  return {
    font: { family: fontStack(['Inter', 'Segoe UI', 'Helvetica Neue', 'Arial'], 'sans-serif'), size: 13, color: '#2a2a2a' },
    margin: { l: 64, r: 24, t: 56, b: 56 },
    height: DEFAULT_HEIGHT,
    hovermode: 'x unified',
    colorway: [...COLORWAY],
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.02, yanchor: 'bottom' },
    xaxis: axisStyle(),
    yaxis: axisStyle(),
  };
}

/** Colour for a series name: fixed for Train/Validation/Test ("val", "train_loss" work too). */
export function seriesColor(name: string, index = 0): string {
  const key = name.toLowerCase();
  if (key.startsWith('val')) return SERIES_COLORS.validation;
  if (key.startsWith('train')) return SERIES_COLORS.train;
  if (key.startsWith('test')) return SERIES_COLORS.test;
  return COLORWAY[index % COLORWAY.length];
}

/** Training curves over epochs (x = 1..n), e.g. `historyChart('Model Loss', { Train, Validation })`. */
export function historyChart(title: string, series: Readonly<Record<string, Numbers>>, opts: HistoryOptions = {}): Figure {
  const yTitle = opts.yTitle ?? metricName(title);
  const hovertemplate = opts.percent ? '%{y:.2%}' : '%{y:.4f}';
  const data: Data[] = Object.entries(series).map(([name, values], i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: epochs(values.length),
    y: plainNumbers(values),
    line: { color: seriesColor(name, i), width: 2 },
    marker: { color: seriesColor(name, i), size: 6 },
    hovertemplate,
  }));
  const reference: Data[] = Object.entries(opts.reference ?? {}).map(([name, values], i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x: epochs(values.length),
    y: plainNumbers(values),
    opacity: 0.65,
    line: { color: seriesColor(name, data.length + i), width: 2, dash: 'dash' },
    marker: { color: seriesColor(name, data.length + i), size: 6, symbol: 'circle-open' },
    hovertemplate,
  }));
  const yaxis: Partial<LayoutAxis> = opts.percent ? { tickformat: '.0%' } : {};
  return figure([...data, ...reference], {
    ...chartLayout({ ...opts, title, yTitle, xTitle: opts.xTitle ?? 'Epoch' }),
    xaxis: { ...axisStyle(opts.xTitle ?? 'Epoch'), dtick: 1, tick0: 1 },
    yaxis: { ...axisStyle(yTitle), ...yaxis },
  });
}

/** Generic line chart of named x/y series. */
export function lineChart(series: readonly LineSeries[], opts: ChartOptions = {}): Figure {
  const data: Data[] = series.map((s, i) => ({
    type: 'scatter',
    mode: s.mode ?? 'lines',
    name: s.name,
    x: s.x ? plainLabels(s.x) : range(s.y.length),
    y: plainNumbers(s.y),
    line: { color: s.color ?? seriesColor(s.name, i), width: 2 },
  }));
  return figure(data, chartLayout(opts));
}

/** Histogram of values with an optional labelled vertical marker (e.g. the maxLen cut). */
export function histogram(values: Numbers, opts: HistogramOptions = {}): Figure {
  const x = plainNumbers(values);
  const bins = binSpec(x, opts);
  const data: Data[] = [
    {
      type: 'histogram',
      name: opts.name ?? opts.xTitle ?? 'count',
      x,
      marker: { color: opts.color ?? COLORWAY[0] },
      opacity: 0.85,
      ...(bins ? { xbins: bins } : {}),
    },
  ];
  const layout: Partial<Layout> = {
    ...chartLayout({ ...opts, yTitle: opts.yTitle ?? 'Count' }),
    hovermode: 'closest',
    bargap: 0.04,
    showlegend: false,
  };
  if (opts.marker) {
    layout.shapes = [markerShape(opts.marker)];
    if (opts.marker.label) layout.annotations = [markerAnnotation(opts.marker)];
  }
  return figure(data, layout);
}

/** Bar chart of one series (`values`) or several (`{ name: values }`, grouped by default). */
export function barChart(categories: Labels, values: Numbers | Readonly<Record<string, Numbers>>, opts: BarOptions = {}): Figure {
  const labels = plainLabels(categories);
  const series = isNumbers(values) ? { [opts.name ?? opts.yTitle ?? 'value']: values } : values;
  const horizontal = opts.orientation === 'h';
  const data: Data[] = Object.entries(series).map(([name, v], i) => ({
    type: 'bar',
    name,
    orientation: horizontal ? 'h' : 'v',
    x: horizontal ? plainNumbers(v) : labels,
    y: horizontal ? labels : plainNumbers(v),
    marker: { color: seriesColor(name, i) },
  }));
  return figure(data, {
    ...chartLayout(opts),
    barmode: opts.barmode ?? 'group',
    hovermode: 'closest',
    showlegend: data.length > 1,
  });
}

/**
 * Heatmap of z[row][column], e.g. gate values (rows "z_t", "r_t") over tokens (columns).
 * Cells are placed by index, not by label, so repeated tokens ("the" twice) keep their own column.
 */
export function heatmap(z: ArrayLike<Numbers>, xLabels: Labels, yLabels: Labels, opts: HeatmapOptions = {}): Figure {
  const rows = Array.from(z, (row) => plainNumbers(row));
  const xs = plainLabels(xLabels);
  const ys = plainLabels(yLabels);
  const data: Data[] = [
    {
      type: 'heatmap',
      name: opts.colorbarTitle ?? 'values',
      z: rows,
      x: range(xs.length),
      y: range(ys.length),
      customdata: rows.map((row, r) => row.map((_, c) => `${ys[r] ?? r} · ${xs[c] ?? c}`)),
      hovertemplate: '%{customdata}: %{z:.3f}<extra></extra>',
      colorscale: opts.colorscale ?? 'Viridis',
      ...(opts.zmin !== undefined ? { zmin: opts.zmin } : {}),
      ...(opts.zmax !== undefined ? { zmax: opts.zmax } : {}),
      ...(opts.colorbarTitle ? { colorbar: { title: { text: opts.colorbarTitle } } } : {}),
    },
  ];
  return figure(data, {
    ...chartLayout(opts),
    hovermode: 'closest',
    xaxis: { ...axisStyle(opts.xTitle), ...categoryTicks(xs), showgrid: false },
    // Reversed so the first row is on top, as in a matrix.
    yaxis: { ...axisStyle(opts.yTitle), ...categoryTicks(ys), showgrid: false, autorange: 'reversed' },
  });
}

/** Escape hatch: any Plotly spec, with the course styling underneath and converted to plain JSON. */
export function figure(data: readonly Data[], layout: Partial<Layout> = {}, config: Partial<Config> = {}): Figure {
  return {
    data: toPlainJson([...data]),
    layout: toPlainJson(mergeLayout(baseLayout(), layout)),
    config: toPlainJson({ ...DEFAULT_CONFIG, ...config }),
  };
}

/**
 * Deep-copies a value into plain JSON: typed arrays become arrays, Dates ISO strings,
 * non-finite numbers null; functions and undefined are dropped (as JSON.stringify would).
 */
export function toPlainJson<T>(value: T): T {
  return plain(value) as T;
}

// ---- helpers ----

function chartLayout(opts: ChartOptions): Partial<Layout> {
  const layout: Partial<Layout> = {
    xaxis: axisStyle(opts.xTitle),
    yaxis: axisStyle(opts.yTitle),
  };
  if (opts.title) layout.title = { text: opts.title, x: 0.02, xanchor: 'left' };
  if (opts.height) layout.height = opts.height;
  if (opts.width) layout.width = opts.width;
  return layout;
}

function axisStyle(title?: string): Partial<LayoutAxis> {
  const style: Partial<LayoutAxis> = { gridcolor: GRID_COLOR, zeroline: false, automargin: true };
  if (title) style.title = { text: title };
  return style;
}

/** "Model Accuracy" -> "Accuracy", "Model Loss" -> "Loss". */
function metricName(title: string): string {
  if (/acc/i.test(title)) return 'Accuracy';
  if (/loss/i.test(title)) return 'Loss';
  return 'Value';
}

function markerShape(m: MarkerLine): Partial<Shape> {
  return {
    type: 'line',
    xref: 'x',
    yref: 'paper',
    x0: m.x,
    x1: m.x,
    y0: 0,
    y1: 1,
    line: { color: m.color ?? MARKER_LINE_COLOR, width: 2, dash: 'dash' },
  };
}

function markerAnnotation(m: MarkerLine): Partial<Annotations> {
  return {
    x: m.x,
    y: 1,
    xref: 'x',
    yref: 'paper',
    text: m.label ?? '',
    showarrow: false,
    xanchor: 'left',
    yanchor: 'bottom',
    font: { color: m.color ?? MARKER_LINE_COLOR },
  };
}

/** Explicit bins from `binSize` or a bin count; undefined lets Plotly choose. */
function binSpec(values: readonly (number | null)[], opts: HistogramOptions): { start: number; end: number; size: number } | undefined {
  const finite = values.filter((v): v is number => v !== null);
  if (finite.length === 0 || (opts.binSize === undefined && opts.bins === undefined)) return undefined;
  const min = finite.reduce((a, b) => Math.min(a, b));
  const max = finite.reduce((a, b) => Math.max(a, b));
  const size = opts.binSize ?? Math.max((max - min) / Math.max(1, opts.bins ?? 1), Number.EPSILON);
  return { start: min, end: max + size, size };
}

function categoryTicks(labels: readonly (string | number)[]): Partial<LayoutAxis> {
  return { tickmode: 'array', tickvals: range(labels.length), ticktext: labels.map(String) };
}

function isNumbers(v: Numbers | Readonly<Record<string, Numbers>>): v is Numbers {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function epochs(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Plain array of numbers; NaN/Infinity become null (a gap), which JSON can carry.
 * Float32 values are rounded to float32 precision (0.72, not 0.7200000286102295): smaller notebooks, same chart.
 */
function plainNumbers(values: Numbers): (number | null)[] {
  const float32 = values instanceof Float32Array;
  return Array.from(values, (v) => (!Number.isFinite(v) ? null : float32 ? Number(v.toPrecision(7)) : v));
}

function plainLabels(labels: Labels): (string | number)[] {
  return Array.from(labels);
}

function plain(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (v) => plain(v));
  if (Array.isArray(value)) return value.map((v) => (v === undefined || typeof v === 'function' ? null : plain(v)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined && typeof v !== 'function') out[k] = plain(v);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
}

/** Merges `over` into `base` recursively for nested objects (axes, fonts); arrays are replaced. */
function mergeLayout(base: Partial<Layout>, over: Partial<Layout>): Partial<Layout> {
  return mergeRecords(Object.fromEntries(Object.entries(base)), Object.fromEntries(Object.entries(over)));
}

function mergeRecords(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeRecords(prev, v) : v;
  }
  return out;
}

// Re-exported so notebooks can type their own specs without importing plotly.js types.
export type { Color, ColorScale, Config, Data, Datum, Layout };
