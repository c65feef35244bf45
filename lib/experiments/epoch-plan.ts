/**
 * The epoch benchmark's plan and arithmetic (npm run bench:epoch, scripts/bench-epoch.ts): which cells and
 * recurrent dropouts it runs, in which order, on which side ('course': the course's own layer through train() on
 * tfjs-node; 'keras': Keras 2.12 in Python, scripts/keras_reference.py), how many floating-point operations an
 * epoch of each cell is, and the per-epoch time ratios of one cell over another beside their arithmetic ratios.
 * Running the sides: lib/experiments/epoch-runs.ts; the report: lib/experiments/epoch-report.ts; the committed
 * record: lib/experiments/epoch-benchmark.ts.
 */
import { mean } from '../util/stats';
import { CELLS, COURSE_KINDS, RECURRENT_LAYERS, multiplyAddsPerStep, type Cell, type RnnKind } from '../cells/layer-kinds';
import type { TrainConfig } from '../training/config';

/** The code that runs a benchmark run: this course's layer, or Keras 2.12. */
export type BenchSide = 'course' | 'keras';

/** Cell names the benchmark spelled otherwise before, and the Cell each is now. */
const RENAMED_CELLS: Readonly<Record<string, Cell>> = { simple_rnn: 'simpleRnn' };

/** Why `name` is not a Cell, naming what to write instead. */
export function unknownCellHint(name: string): string {
  const renamed = Object.hasOwn(RENAMED_CELLS, name) ? RENAMED_CELLS[name] : undefined;
  return renamed
    ? `${JSON.stringify(name)} is the old name of ${JSON.stringify(renamed)}: write ${renamed}`
    : `${JSON.stringify(name)} is not a cell: use one of ${CELLS.join(', ')}`;
}

/** Reads a comma-separated list of cells (--cells), each once, order kept; throws naming what is not a cell. */
export function parseCellList(text: string): Cell[] {
  const items = text.split(',').map((c) => c.trim());
  const bad = items.filter((c) => !(CELLS as readonly string[]).includes(c));
  if (bad.length > 0)
    throw new Error(
      `--cells ${JSON.stringify(text)}: ${bad.map(unknownCellHint).join('; ')}; write a comma-separated list such as ${CELLS.join(',')}`,
    );
  return [...new Set(items as Cell[])];
}

/** Reads a comma-separated list of recurrent dropouts (--recurrent-dropout): decimals in [0, 1), each once, order kept. */
export function parseRecurrentDropouts(text: string): number[] {
  const values = text.split(',').map((item) => {
    const t = item.trim();
    const r = /^\d*\.?\d+$/.test(t) ? Number(t) : NaN;
    if (!(r >= 0 && r < 1))
      throw new Error(`--recurrent-dropout ${JSON.stringify(text)}: ${JSON.stringify(t)} is not a number in [0, 1): write e.g. 0.2,0`);
    return r;
  });
  return [...new Set(values)];
}

/** What the benchmark runs: its cells, Keras's recurrent dropouts, and whether a side is left out. */
export interface BenchChoice {
  cells: readonly Cell[];
  recurrentDropouts: readonly number[];
  skipKeras: boolean;
  skipOurs: boolean;
}

/** One run of the benchmark: a cell on one side, with its recurrent dropout. */
export interface RunSpec {
  cell: Cell;
  side: BenchSide;
  recurrentDropout: number;
  /** The course layer (side 'course' only). */
  kind?: RnnKind;
}

/** "R=0.2": a recurrent dropout in the benchmark's labels. */
export function rLabel(r: number): string {
  return `R=${r}`;
}

/** The runs in the order they run, interleaving the sides per cell (course gru, Keras gru R=0.2, Keras gru R=0, course lstm, ...). */
export function planRuns(o: BenchChoice, courseRecurrentDropout: number): RunSpec[] {
  if (o.skipKeras && o.skipOurs) throw new Error('--skip-keras and --skip-ours together leave nothing to run: give at most one');
  const runs: RunSpec[] = [];
  for (const cell of o.cells) {
    if (!o.skipOurs) runs.push({ cell, side: 'course', recurrentDropout: courseRecurrentDropout, kind: COURSE_KINDS[cell] });
    if (!o.skipKeras) for (const r of o.recurrentDropouts) runs.push({ cell, side: 'keras', recurrentDropout: r });
  }
  return runs;
}

/** Floating-point operations of one epoch of the reference model with one recurrent layer (a multiply-add counts 2). */
export interface EpochFlops {
  /** Forward pass of one review: T (input projection + recurrent product) + dense. */
  forwardPerReview: number;
  inputProjection: number;
  recurrent: number;
  dense: number;
  /** 3 x forward x trainSize: the backward pass costs ~2 forward passes (gradients for inputs and for weights). */
  train: number;
  /** forward x testSize (no backward pass). */
  validation: number;
  total: number;
}

/**
 * Counts the matrix products of Embedding(V, E) -> RNN(H) -> Dense(1) over reviews of T ids, for a recurrent layer
 * of b kernel blocks (lib/cells/layer-kinds.ts: GRU 3, LSTM 4, SimpleRNN 1): per review and step, x_t [E] times the
 * input kernel [E, bH] (2*E*bH) and h [H] times the recurrent kernel [H, bH] (2*H*bH), together 2 x
 * multiplyAddsPerStep; the dense layer 2*H once. Left out: element-wise work (a few operations per unit and block
 * and step, under 1% of 2bH(E+H)), dropout, loss, the Adam update and the embedding gather (no arithmetic).
 */
export function epochFlops(
  c: Pick<TrainConfig, 'maxLen' | 'embeddingDim' | 'units' | 'trainSize' | 'testSize'>,
  kind: RnnKind = 'kerasGru',
): EpochFlops {
  const T = c.maxLen;
  const E = c.embeddingDim;
  const H = c.units;
  const b = RECURRENT_LAYERS[kind].blocks;
  const inputProjection = T * 2 * E * b * H;
  const recurrent = T * 2 * H * b * H;
  const dense = 2 * H;
  const forwardPerReview = inputProjection + recurrent + dense;
  const trainFlops = 3 * forwardPerReview * c.trainSize;
  const validation = forwardPerReview * c.testSize;
  return { forwardPerReview, inputProjection, recurrent, dense, train: trainFlops, validation, total: trainFlops + validation };
}

/** One epoch's times and metrics, the same fields for both sides. */
export interface EpochResult {
  epoch: number;
  trainSeconds: number;
  valSeconds: number;
  seconds: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
}

/** A run's identity and epochs: what the ratios need of it. */
export type TimedRun = Pick<RunSpec, 'cell' | 'side' | 'recurrentDropout'> & { epochs: readonly Pick<EpochResult, 'seconds'>[] };

/** One side of the benchmark as a column of the ratio table. */
export interface SideColumn {
  side: BenchSide;
  recurrentDropout: number;
}

/**
 * The per-epoch time ratio (total seconds) of GRU / LSTM and SimpleRNN / LSTM on each side of `sides`, next to the
 * ratio of their multiply-adds per step (the course layer's equations); NaN where a side lacks one of the two runs.
 */
export function cellRatios(
  runs: readonly TimedRun[],
  config: Pick<TrainConfig, 'embeddingDim' | 'units'>,
  sides: readonly SideColumn[],
): Array<{ cells: [Cell, Cell]; arithmetic: number; measured: number[] }> {
  const find = (cell: Cell, side: BenchSide, r: number) => runs.find((x) => x.cell === cell && x.side === side && x.recurrentDropout === r);
  const steps = (cell: Cell) => multiplyAddsPerStep(COURSE_KINDS[cell], config.embeddingDim, config.units);
  const pairs: Array<[Cell, Cell]> = [
    ['gru', 'lstm'],
    ['simpleRnn', 'lstm'],
  ];
  return pairs.map(([a, b]) => ({
    cells: [a, b],
    arithmetic: steps(a) / steps(b),
    measured: sides.map((s) => {
      const ra = find(a, s.side, s.recurrentDropout);
      const rb = find(b, s.side, s.recurrentDropout);
      return ra && rb ? mean(ra.epochs.map((e) => e.seconds)) / mean(rb.epochs.map((e) => e.seconds)) : NaN;
    }),
  }));
}
