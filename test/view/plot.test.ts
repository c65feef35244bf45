import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlotData, Shape, Annotations } from 'plotly.js';
import {
  barChart,
  baseLayout,
  figure,
  heatmap,
  histogram,
  historyChart,
  lineChart,
  seriesColor,
  SERIES_COLORS,
  toPlainJson,
  type Figure,
} from '../../lib/view/plot';

/** The builders' traces are all PlotData-like; this view lets tests read their fields. */
function traces(fig: Figure): Partial<PlotData>[] {
  return fig.data as Partial<PlotData>[];
}

/** Fails if anything in the spec is not plain JSON (functions, typed arrays, Dates, NaN, undefined). */
function assertPlainJson(value: unknown, where = 'figure'): void {
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${where} is ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertPlainJson(v, `${where}[${i}]`));
  } else if (typeof value === 'object' && value !== null) {
    assert.equal(Object.getPrototypeOf(value), Object.prototype, `${where} is not a plain object`);
    for (const [k, v] of Object.entries(value)) assertPlainJson(v, `${where}.${k}`);
  } else {
    assert.ok(['string', 'boolean'].includes(typeof value) || value === null, `${where} is a ${typeof value}`);
  }
}

function assertJsonRoundTrip(fig: Figure): void {
  assertPlainJson(fig);
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig);
}

const loss = { Train: [0.69, 0.52, 0.41, 0.35], Validation: [0.66, 0.55, 0.5, 0.51] };

describe('historyChart', () => {
  const fig = historyChart('Model Loss', loss);

  test('one lines+markers trace per series, x = epochs 1..n', () => {
    const t = traces(fig);
    assert.equal(t.length, 2);
    assert.deepEqual(
      t.map((d) => d.name),
      ['Train', 'Validation'],
    );
    for (const d of t) {
      assert.equal(d.type, 'scatter');
      assert.equal(d.mode, 'lines+markers');
      assert.deepEqual(d.x, [1, 2, 3, 4]);
    }
    assert.deepEqual(t[1].y, loss.Validation);
  });

  test('title and axis titles (Epoch, and the metric inferred from the title)', () => {
    assert.equal(fig.layout.title?.text, 'Model Loss');
    assert.equal(fig.layout.xaxis?.title?.text, 'Epoch');
    assert.equal(fig.layout.yaxis?.title?.text, 'Loss');
    assert.equal(historyChart('Model Accuracy', loss).layout.yaxis?.title?.text, 'Accuracy');
    assert.equal(historyChart('Whatever', loss, { yTitle: 'F1' }).layout.yaxis?.title?.text, 'F1');
  });

  test('Train and Validation get their fixed colours, in every chart', () => {
    const colors = traces(fig).map((d) => d.line?.color);
    assert.deepEqual(colors, [SERIES_COLORS.train, SERIES_COLORS.validation]);
    const acc = historyChart('Model Accuracy', { Validation: [0.5], Train: [0.6] });
    assert.deepEqual(
      traces(acc).map((d) => d.line?.color),
      [SERIES_COLORS.validation, SERIES_COLORS.train],
    );
    assert.equal(seriesColor('val_loss'), SERIES_COLORS.validation);
  });

  test('shared styling: font, margins, unified hover, config', () => {
    const base = baseLayout();
    assert.deepEqual(fig.layout.font, base.font);
    assert.deepEqual(fig.layout.margin, base.margin);
    assert.equal(fig.layout.hovermode, 'x unified');
    assert.deepEqual(fig.config, { responsive: true, displaylogo: false });
  });

  test('typed arrays and NaN become plain JSON', () => {
    const f = historyChart('Model Loss', { Train: new Float32Array([0.7, 0.5]), Validation: [0.6, Number.NaN] });
    assertJsonRoundTrip(f);
    assert.deepEqual(traces(f)[0].y, [0.7, 0.5], 'float32 values keep float32 precision only');
    assert.deepEqual(traces(f)[1].y, [0.6, null]);
  });

  test('percent option formats the y axis', () => {
    const f = historyChart('Model Accuracy', { Train: [0.5, 0.9] }, { percent: true });
    assert.equal(f.layout.yaxis?.tickformat, '.0%');
  });

  test("reference series come after the run's own, dashed, in the colour their name implies, over their own epochs", () => {
    const f = historyChart('Model Loss', loss, {
      reference: { 'Train (reference run)': [0.5, 0.3, 0.2, 0.1, 0.05], 'Validation (reference run)': [0.45, 0.3] },
    });
    const t = traces(f);
    assert.deepEqual(
      t.map((d) => d.name),
      ['Train', 'Validation', 'Train (reference run)', 'Validation (reference run)'],
    );
    assert.deepEqual(
      t.map((d) => d.line?.dash),
      [undefined, undefined, 'dash', 'dash'],
    );
    assert.deepEqual(
      t.map((d) => d.line?.color),
      [SERIES_COLORS.train, SERIES_COLORS.validation, SERIES_COLORS.train, SERIES_COLORS.validation],
    );
    assert.deepEqual(t[2].x, [1, 2, 3, 4, 5]);
    assert.deepEqual(t[3].x, [1, 2]);
    assertJsonRoundTrip(f);
  });
});

describe('lineChart', () => {
  test('x defaults to 0..n-1; explicit x, names and axis titles are kept', () => {
    const fig = lineChart(
      [
        { name: 'a', y: [3, 4, 5] },
        { name: 'b', x: ['p', 'q'], y: [1, 2], mode: 'markers' },
      ],
      { title: 'Lines', xTitle: 'step', yTitle: 'value' },
    );
    const t = traces(fig);
    assert.equal(t.length, 2);
    assert.deepEqual(t[0].x, [0, 1, 2]);
    assert.deepEqual(t[1].x, ['p', 'q']);
    assert.deepEqual(
      t.map((d) => [d.name, d.type, d.mode]),
      [
        ['a', 'scatter', 'lines'],
        ['b', 'scatter', 'markers'],
      ],
    );
    assert.equal(fig.layout.xaxis?.title?.text, 'step');
    assert.equal(fig.layout.yaxis?.title?.text, 'value');
    assertJsonRoundTrip(fig);
  });
});

describe('histogram', () => {
  const lengths = Int32Array.from([12, 80, 230, 231, 500, 1200]);

  test('one histogram trace of the values, Count on the y axis', () => {
    const fig = histogram(lengths, { title: 'Review length', xTitle: 'tokens' });
    const t = traces(fig);
    assert.equal(t.length, 1);
    assert.equal(t[0].type, 'histogram');
    assert.deepEqual(t[0].x, Array.from(lengths));
    assert.equal(fig.layout.yaxis?.title?.text, 'Count');
    assert.equal(fig.layout.shapes, undefined);
    assertJsonRoundTrip(fig);
  });

  test('marker: a dashed vertical line at x over the full height, with its label', () => {
    const fig = histogram(lengths, { marker: { x: 200, label: 'maxLen = 200' } });
    const shapes = fig.layout.shapes as Partial<Shape>[];
    assert.equal(shapes.length, 1);
    const [line] = shapes;
    assert.equal(line.type, 'line');
    assert.deepEqual([line.x0, line.x1, line.xref], [200, 200, 'x']);
    assert.deepEqual([line.y0, line.y1, line.yref], [0, 1, 'paper']);
    assert.equal(line.line?.dash, 'dash');
    const notes = fig.layout.annotations as Partial<Annotations>[];
    assert.equal(notes.length, 1);
    assert.deepEqual([notes[0].text, notes[0].x, notes[0].yref], ['maxLen = 200', 200, 'paper']);
    assertJsonRoundTrip(fig);
  });

  test('bins: bin count or bin size set explicit xbins', () => {
    const byCount = traces(histogram([0, 10], { bins: 5 }))[0];
    assert.deepEqual(byCount.xbins, { start: 0, end: 12, size: 2 });
    const bySize = traces(histogram([0, 10], { binSize: 4 }))[0];
    assert.equal(bySize.xbins?.size, 4);
  });
});

describe('barChart', () => {
  test('single series: one unlabelled trace, no legend', () => {
    const fig = barChart(['neg', 'pos'], [12500, 12500], { title: 'Labels', yTitle: 'reviews' });
    const t = traces(fig);
    assert.equal(t.length, 1);
    assert.deepEqual([t[0].type, t[0].x, t[0].y], ['bar', ['neg', 'pos'], [12500, 12500]]);
    assert.equal(fig.layout.showlegend, false);
    assertJsonRoundTrip(fig);
  });

  test('several series: grouped traces named after the series', () => {
    const fig = barChart(['GRU', 'LSTM'], { Train: [0.9, 0.91], Validation: [0.86, 0.87] });
    assert.deepEqual(
      traces(fig).map((d) => d.name),
      ['Train', 'Validation'],
    );
    assert.equal(fig.layout.barmode, 'group');
    assert.equal(fig.layout.showlegend, true);
  });

  test('horizontal bars swap x and y', () => {
    const [t] = traces(barChart(['a', 'b'], [1, 2], { orientation: 'h' }));
    assert.deepEqual([t.orientation, t.x, t.y], ['h', [1, 2], ['a', 'b']]);
  });
});

describe('heatmap', () => {
  const tokens = ['the', 'movie', 'was', 'the', 'best'];
  const gates = [
    [0.1, 0.8, 0.3, 0.2, 0.9],
    [0.5, 0.4, 0.6, 0.7, 0.2],
  ];
  const fig = heatmap(gates, tokens, ['z_t', 'r_t'], { title: 'Gates', zmin: 0, zmax: 1, colorbarTitle: 'gate value' });
  const [t] = traces(fig);

  test('one heatmap trace holding z as rows × columns', () => {
    assert.equal(fig.data.length, 1);
    assert.equal(t.type, 'heatmap');
    assert.deepEqual(t.z, gates);
    assert.deepEqual([t.zmin, t.zmax], [0, 1]);
    assertJsonRoundTrip(fig);
  });

  test('columns by position, labelled with tokens (a repeated token keeps its own column)', () => {
    assert.deepEqual(t.x, [0, 1, 2, 3, 4]);
    assert.deepEqual(fig.layout.xaxis?.ticktext, tokens);
    assert.deepEqual(fig.layout.xaxis?.tickvals, [0, 1, 2, 3, 4]);
    assert.deepEqual(fig.layout.yaxis?.ticktext, ['z_t', 'r_t']);
    assert.equal(fig.layout.yaxis?.autorange, 'reversed');
    assert.equal((t.customdata as string[][])[1][3], 'r_t · the');
  });

  test('accepts typed-array rows', () => {
    const f = heatmap([new Float32Array([0.25, 0.5])], ['a', 'b'], ['z_t']);
    assert.deepEqual(traces(f)[0].z, [[0.25, 0.5]]);
    assertJsonRoundTrip(f);
  });
});

describe('figure (escape hatch)', () => {
  test('any spec, styled with the shared layout, user values win, typed arrays converted', () => {
    const fig = figure(
      [{ type: 'scatter', x: new Float64Array([1, 2]), y: [3, 4], name: 'custom' }],
      { title: { text: 'Custom' }, margin: { t: 10 }, hovermode: 'closest' },
      { displayModeBar: false },
    );
    assert.deepEqual(traces(fig)[0].x, [1, 2]);
    assert.equal(fig.layout.title?.text, 'Custom');
    assert.deepEqual(fig.layout.margin, { ...baseLayout().margin, t: 10 });
    assert.equal(fig.layout.hovermode, 'closest');
    assert.deepEqual(fig.layout.font, baseLayout().font);
    assert.deepEqual(fig.config, { responsive: true, displaylogo: false, displayModeBar: false });
    assertJsonRoundTrip(fig);
  });

  test('toPlainJson drops functions and undefined, turns Dates into ISO strings', () => {
    const plain = toPlainJson({ f: () => 1, u: undefined, d: new Date(0), n: [1, Number.POSITIVE_INFINITY] });
    assert.deepEqual(plain, { d: '1970-01-01T00:00:00.000Z', n: [1, null] });
  });
});
