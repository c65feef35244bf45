/**
 * Reading a trained GRU's gates on real reviews: per token, how far the update gate z_t and the
 * reset gate r_t are open, how much the state moves, and what the model would conclude so far.
 *
 * For the model Embedding -> KerasGRU -> Dense(1, sigmoid) and rows of ids [T] (Keras 'pre'
 * padding: id 0 at the front), `readGates` runs the GRU over the WHOLE row, pads included, exactly
 * as the model does (so the state the first real token meets is the state after the pads, not 0),
 * with KerasGRU.gates (plain ops, no dropout), and keeps only the real tokens:
 *
 *   z[t] = mean_j z_{t,j}          r[t] = mean_j r_{t,j}          (over the n units)
 *   rMin[t] = min_j r_{t,j}        rLow[t] = share of units j with r_{t,j} < lowReset (default 0.1)
 *   change[t] = mean_j |h_{t,j} - h_{t-1,j}|                       (mean absolute change, in [0, 2])
 *   logit[t] = h_t w + b,  prediction[t] = sigmoid(logit[t])      (the Dense head on h_t)
 *
 * prediction[last] is the model's output for the row. The rest: flips of the running opinion,
 * picking example reviews, per-word aggregation with nodejs-polars, and the charts of notebook 06.
 */
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import { KerasGRU } from '../cells/gru-layer';
import { PAD_ID } from '../data/text';
import { recurrentLayerOf } from '../training/model';
import { figure, heatmap, lineChart, type Figure } from '../view/plot';

/** The read-out of one review: one entry per real (non-pad) token, in reading order. */
export interface GateTrace {
  /** Token ids, pads dropped. */
  ids: number[];
  /** Index of each token in the padded row. */
  positions: number[];
  /** Mean over units of the update gate z_t (near 1: keep the old state). */
  z: number[];
  /** Mean over units of the reset gate r_t. */
  r: number[];
  /** Smallest r_{t,j} over the units: how far the most-reset unit shut its gate. */
  rMin: number[];
  /** Share of the units with r_{t,j} below the read-out's lowReset (default 0.1): units that nearly reset. */
  rLow: number[];
  /** Mean over units of |h_t - h_{t-1}|. */
  change: number[];
  /** h_t w + b: the log-odds of "positive" the Dense head reads from h_t. */
  logit: number[];
  /** sigmoid(logit): P(positive) if the review ended after token t. */
  prediction: number[];
  /** At the state the first real token meets (after the pads; h_0 = 0 when there are none). */
  before: { logit: number; prediction: number; meanAbsState: number };
}

type Parts = { embeddings: tf.Tensor2D; gru: KerasGRU; kernel: tf.Tensor2D; bias: tf.Tensor1D; numWords: number };

function fail(message: string): never {
  throw new Error(`gates: ${message}`);
}

// The three layers, checked: the read-out only makes sense for Embedding -> KerasGRU -> Dense(1, sigmoid).
function partsOf(model: tf.LayersModel): Parts {
  const embedding = model.layers.find((l) => l.getClassName() === 'Embedding');
  const dense = model.layers.find((l) => l.getClassName() === 'Dense');
  if (!embedding || !dense) fail(`model ${model.name} is not Embedding -> recurrent layer -> Dense`);
  const gru = recurrentLayerOf(model);
  if (!(gru instanceof KerasGRU))
    fail(`the recurrent layer ${gru.name} is a ${gru.getClassName()}, not a KerasGRU: only KerasGRU exposes gates()`);
  const embeddings = embedding.getWeights()[0] as tf.Tensor2D;
  const [kernel, bias] = dense.getWeights() as [tf.Tensor2D, tf.Tensor1D];
  if (kernel.shape[1] !== 1 || dense.getConfig().activation !== 'sigmoid') fail('the Dense head must be one sigmoid unit');
  return { embeddings, gru, kernel, bias, numWords: embeddings.shape[0] };
}

function checkRows(rows: readonly ArrayLike<number>[], numWords: number): number {
  if (rows.length === 0) fail('no rows to read');
  const time = rows[0].length;
  if (time === 0) fail('rows are empty');
  rows.forEach((row, i) => {
    if (row.length !== time) fail(`row ${i} has ${row.length} ids, row 0 has ${time}: pad the rows to one length`);
    let real = 0;
    for (let t = 0; t < time; t++) {
      const id = row[t];
      if (!Number.isInteger(id) || id < 0 || id >= numWords) fail(`row ${i}, position ${t}: id ${id} is not in 0..${numWords - 1}`);
      if (id !== PAD_ID) real++;
    }
    if (real === 0) fail(`row ${i} holds only padding`);
  });
  return time;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Below this, a unit's reset gate counts as nearly shut (GateTrace.rLow). */
export const LOW_RESET = 0.1;

function readBatch(p: Parts, rows: readonly ArrayLike<number>[], time: number, lowReset: number): GateTrace[] {
  const n = rows.length;
  const flat = new Int32Array(n * time);
  rows.forEach((row, i) => flat.set(Array.from(row), i * time));
  const outs = tf.tidy(() => {
    const x = tf.gather(p.embeddings, tf.tensor2d(flat, [n, time], 'int32')) as tf.Tensor as tf.Tensor3D;
    const { h, z, r } = p.gru.gates(x);
    const units = h.shape[2];
    const hPrev = tf.concat([tf.zeros([n, 1, units]), h.slice([0, 0, 0], [n, time - 1, units])], 1);
    const logits = h
      .reshape([n * time, units])
      .matMul(p.kernel)
      .add(p.bias)
      .reshape([n, time]);
    return [
      z.mean(2),
      r.mean(2),
      h.sub(hPrev).abs().mean(2),
      logits,
      hPrev.abs().mean(2),
      r.min(2),
      r.less(lowReset).cast('float32').mean(2),
    ];
  });
  const [zs, rs, changes, logits, sizes, rMins, rLows] = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  const biasOnly = p.bias.dataSync()[0]; // the logit of h_0 = 0
  return rows.map((row, i) => {
    const positions = Array.from({ length: time }, (_, t) => t).filter((t) => row[t] !== PAD_ID);
    const at = (a: Float32Array) => positions.map((t) => a[i * time + t]);
    const first = positions[0];
    const logit = at(logits);
    const beforeLogit = first === 0 ? biasOnly : logits[i * time + first - 1];
    return {
      ids: positions.map((t) => row[t]),
      positions,
      z: at(zs),
      r: at(rs),
      rMin: at(rMins),
      rLow: at(rLows),
      change: at(changes),
      logit,
      prediction: logit.map(sigmoid),
      before: { logit: beforeLogit, prediction: sigmoid(beforeLogit), meanAbsState: first === 0 ? 0 : sizes[i * time + first] },
    };
  });
}

/** Per real token of each row of ids: mean z_t, mean and smallest r_t (and the share of units below lowReset), mean |h_t - h_{t-1}| and sigmoid(h_t w + b); pads dropped. */
export function readGates(
  model: tf.LayersModel,
  rows: readonly ArrayLike<number>[],
  options: { batchSize?: number; lowReset?: number } = {},
): GateTrace[] {
  const p = partsOf(model);
  const time = checkRows(rows, p.numWords);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) fail(`batchSize must be a positive integer, got ${batchSize}`);
  const lowReset = options.lowReset ?? LOW_RESET;
  if (!(lowReset > 0 && lowReset < 1)) fail(`lowReset must be in (0, 1), got ${lowReset}`);
  const traces: GateTrace[] = [];
  for (let start = 0; start < rows.length; start += batchSize)
    traces.push(...readBatch(p, rows.slice(start, start + batchSize), time, lowReset));
  return traces;
}

/**
 * Indices where a running prediction changes side of `threshold`; with a `margin`, a side is only
 * entered beyond threshold ± margin (wiggles inside the band are not flips). The first side taken is not a flip.
 */
export function opinionFlips(prediction: ArrayLike<number>, options: { threshold?: number; margin?: number } = {}): number[] {
  const threshold = options.threshold ?? 0.5;
  const margin = options.margin ?? 0;
  if (!Number.isFinite(threshold) || !(margin >= 0)) fail(`threshold must be finite and margin >= 0, got ${threshold}, ${margin}`);
  const flips: number[] = [];
  let side = 0; // +1 positive, -1 negative, 0 not decided yet
  for (let t = 0; t < prediction.length; t++) {
    const p = prediction[t];
    if (Number.isNaN(p)) fail(`prediction ${t} is NaN`);
    const now = p > threshold + margin ? 1 : p < threshold - margin ? -1 : side;
    if (side !== 0 && now !== side) flips.push(t);
    side = now;
  }
  return flips;
}

/** Which example a review is. */
export type ExampleKind = 'clearly positive' | 'clearly negative' | 'mixed';

/** A chosen review, with the rule that chose it. */
export interface Example {
  kind: ExampleKind;
  index: number;
  label: number;
  trace: GateTrace;
  flips: number[];
  rule: string;
}

/** Options of pickExamples. */
export interface PickOptions {
  minTokens?: number;
  maxTokens?: number;
  /** Margin of the flips that make a review "mixed" (see opinionFlips). */
  margin?: number;
  /** Reviews to leave out, e.g. truncated ones. */
  exclude?: (index: number) => boolean;
}

const last = (a: readonly number[]) => a[a.length - 1];

/**
 * Among reviews of minTokens..maxTokens real tokens (default 40..100): the correctly classified positive with the
 * highest final prediction, the negative with the lowest, and as "mixed" the one whose running opinion flips most often.
 */
export function pickExamples(traces: readonly GateTrace[], labels: ArrayLike<number>, options: PickOptions = {}): Example[] {
  const { minTokens = 40, maxTokens = 100, margin = 0.1, exclude = () => false } = options;
  if (labels.length !== traces.length) fail(`${traces.length} traces but ${labels.length} labels`);
  const pool = traces.map((_, i) => i).filter((i) => traces[i].ids.length >= minTokens && traces[i].ids.length <= maxTokens && !exclude(i));
  const flipsOf = traces.map((t) => opinionFlips(t.prediction, { margin }));
  const argBest = (candidates: number[], score: (i: number) => number) =>
    candidates.reduce((best, i) => (best === -1 || score(i) > score(best) ? i : best), -1); // ties: the earliest review
  const make = (kind: ExampleKind, index: number, rule: string): Example => {
    if (index === -1) fail(`no review of ${minTokens}..${maxTokens} tokens qualifies as ${kind} (${rule})`);
    return { kind, index, label: labels[index], trace: traces[index], flips: flipsOf[index], rule };
  };
  const pos = argBest(
    pool.filter((i) => labels[i] === 1 && last(traces[i].prediction) > 0.5),
    (i) => last(traces[i].prediction),
  );
  const neg = argBest(
    pool.filter((i) => labels[i] === 0 && last(traces[i].prediction) < 0.5),
    (i) => -last(traces[i].prediction),
  );
  const rest = pool.filter((i) => i !== pos && i !== neg);
  const most = Math.max(0, ...rest.map((i) => flipsOf[i].length));
  const mixed =
    most > 0
      ? make(
          'mixed',
          argBest(rest, (i) => flipsOf[i].length),
          `most flips across 0.5 ± ${margin} (${most})`,
        )
      : make(
          'mixed',
          argBest(rest, (i) => -Math.abs(last(traces[i].prediction) - 0.5)),
          `no review flips: final prediction closest to 0.5`,
        );
  return [
    make('clearly positive', pos, 'label positive, highest final prediction'),
    make('clearly negative', neg, 'label negative, lowest final prediction'),
    mixed,
  ];
}

/**
 * One row per token of the traces: review, position, id, word, z, r, rMin, rLow, change, prediction, push (the token's change of
 * the log-odds, logit[t] - logit[t-1], which is (h_t - h_{t-1}) w), and label when labels are given.
 */
export function tokenFrame(traces: readonly GateTrace[], idToWord: readonly string[], labels?: ArrayLike<number>): pl.DataFrame {
  if (labels && labels.length !== traces.length) fail(`${traces.length} traces but ${labels.length} labels`);
  const col = (pick: (t: GateTrace) => number[]) => Float64Array.from(traces.flatMap(pick));
  const ids = traces.flatMap((t) => t.ids);
  const columns: pl.Series[] = [
    pl.Series('review', Int32Array.from(traces.flatMap((t, i) => t.ids.map(() => i)))),
    pl.Series('position', Int32Array.from(traces.flatMap((t) => t.positions))),
    pl.Series('id', Int32Array.from(ids)),
    pl.Series(
      'word',
      ids.map((id) => idToWord[id] ?? `[?${id}]`),
    ),
    pl.Series(
      'z',
      col((t) => t.z),
    ),
    pl.Series(
      'r',
      col((t) => t.r),
    ),
    pl.Series(
      'rMin',
      col((t) => t.rMin),
    ),
    pl.Series(
      'rLow',
      col((t) => t.rLow),
    ),
    pl.Series(
      'change',
      col((t) => t.change),
    ),
    pl.Series(
      'prediction',
      col((t) => t.prediction),
    ),
    pl.Series(
      'push',
      col((t) => t.logit.map((v, k) => v - (k === 0 ? t.before.logit : t.logit[k - 1]))),
    ),
  ];
  if (labels) columns.push(pl.Series('label', Float64Array.from(traces.flatMap((t, i) => t.ids.map(() => labels[i])))));
  return pl.DataFrame(columns);
}

/**
 * Per word of a tokenFrame: count, mean change, mean z, mean r, mean push, mean rLow (and the share of its occurrences in
 * positive reviews when the frame has labels); words seen at least minCount times, largest mean change first.
 */
export function wordStats(tokens: pl.DataFrame, options: { minCount?: number } = {}): pl.DataFrame {
  const minCount = options.minCount ?? 1;
  if (!Number.isInteger(minCount) || minCount < 1) fail(`minCount must be a positive integer, got ${minCount}`);
  const means = (['change', 'z', 'r', 'push', 'rLow'] as const).map((c) =>
    pl
      .col(c)
      .mean()
      .alias(`mean${c[0].toUpperCase()}${c.slice(1)}`),
  );
  if (tokens.columns.includes('label')) means.push(pl.col('label').mean().alias('positiveShare'));
  return tokens
    .groupBy(['id', 'word'])
    .agg(pl.col('change').count().alias('count'), ...means)
    .filter(pl.col('count').gtEq(minCount))
    .sort(['meanChange', 'id'], [true, false]);
}

/** "1·the", "2·film", ...: unique, ordered labels for a review's words (repeated words keep their own column). */
export function tokenLabels(trace: GateTrace, idToWord: readonly string[]): string[] {
  return trace.ids.map((id, k) => `${k + 1}·${idToWord[id] ?? `[?${id}]`}`);
}

/** Heatmaps of mean z, mean r and |Δh| ÷ its largest value in the review over its words: charts of equal width, at most `wrap` words each. */
export function gateHeatmaps(trace: GateTrace, idToWord: readonly string[], opts: { title: string; wrap?: number }): Figure[] {
  const wrap = opts.wrap ?? 50;
  const labels = tokenLabels(trace, idToWord);
  const top = Math.max(...trace.change);
  const scaled = trace.change.map((c) => (top > 0 ? c / top : 0));
  const rows = ['mean z (update)', 'mean r (reset)', `|Δh| ÷ ${top.toFixed(3)}`];
  const figures: Figure[] = [];
  if (!Number.isInteger(wrap) || wrap < 1) fail(`wrap must be a positive integer, got ${wrap}`);
  const size = Math.ceil(labels.length / Math.ceil(labels.length / wrap)); // 52 words, wrap 50: two charts of 26
  for (let from = 0; from < labels.length; from += size) {
    const to = Math.min(from + size, labels.length);
    const part = (a: number[]) => a.slice(from, to);
    const title = labels.length > wrap ? `${opts.title} (words ${from + 1}–${to})` : opts.title;
    figures.push(
      heatmap([part(trace.z), part(trace.r), part(scaled)], labels.slice(from, to), rows, {
        title,
        zmin: 0,
        zmax: 1,
        height: 300,
        colorbarTitle: 'value',
      }),
    );
  }
  return figures;
}

/** The running prediction over the review's words, with the 0.5 line and the flips (at `margin`) marked. */
export function opinionChart(trace: GateTrace, idToWord: readonly string[], opts: { title: string; margin?: number }): Figure {
  const labels = tokenLabels(trace, idToWord);
  const flips = opinionFlips(trace.prediction, { margin: opts.margin ?? 0.1 });
  return lineChart(
    [
      { name: 'P(positive) so far', x: labels, y: trace.prediction, mode: 'lines+markers' },
      { name: '0.5', x: labels, y: labels.map(() => 0.5), color: '#7f7f7f' },
      { name: 'flip', x: flips.map((t) => labels[t]), y: flips.map((t) => trace.prediction[t]), mode: 'markers', color: '#d62728' },
    ],
    { title: opts.title, yTitle: 'P(positive)', height: 360 },
  );
}

/** Scatter of words: mean z (x) against mean |Δh| (y), coloured by the share of their occurrences in positive reviews (red 0, blue 1). */
export function wordScatter(stats: pl.DataFrame, opts: { title: string }): Figure {
  if (!stats.columns.includes('positiveShare'))
    fail('wordScatter needs wordStats of a tokenFrame made with labels (no positiveShare column)');
  const values = (c: string) => Array.from(stats.getColumn(c).toArray() as number[]);
  const words = stats.getColumn('word').toArray() as string[];
  const counts = values('count');
  return figure(
    [
      {
        type: 'scatter',
        mode: 'markers',
        name: 'words',
        x: values('meanZ'),
        y: values('meanChange'),
        text: words.map((w, i) => `${w} (${counts[i]}×)`),
        hovertemplate: '%{text}<br>mean z %{x:.3f}<br>mean |Δh| %{y:.3f}<br>in positive reviews %{marker.color:.0%}<extra></extra>',
        marker: {
          color: values('positiveShare'),
          colorscale: 'RdBu',
          reversescale: true,
          cmin: 0,
          cmax: 1,
          size: 7,
          opacity: 0.8,
          colorbar: { title: { text: 'share positive' } },
        },
      },
    ],
    {
      title: { text: opts.title, x: 0.02, xanchor: 'left' },
      hovermode: 'closest',
      height: 480,
      xaxis: { title: { text: 'mean z (update gate)' } },
      yaxis: { title: { text: 'mean |h_t − h_{t−1}|' } },
    },
  );
}
