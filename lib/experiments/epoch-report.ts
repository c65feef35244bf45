/**
 * The epoch benchmark's report (scripts/bench-epoch.ts writes it; BENCHMARKS.md keeps one), in Markdown: every epoch
 * of every run; per cell the seconds per epoch of each side with the ratios course / Keras and Keras's code path;
 * the per-epoch time ratios GRU / LSTM and SimpleRNN / LSTM on each side beside the arithmetic ratios
 * (lib/experiments/epoch-plan.ts cellRatios); each run's achieved GFLOP/s (the matrix products of an epoch,
 * epochFlops, over its time) against one large float32 matmul through the same TensorFlow build; how each run was
 * set up; and the machine's load.
 */
import { mean } from '../util/stats';
import { CELL_LABELS, COURSE_KINDS, RECURRENT_LAYERS, multiplyAddsPerStep, paramCount, type Cell } from '../cells/layer-kinds';
import { resolveConfig, type TrainConfig } from '../training/config';
import { cellRatios, epochFlops, rLabel, type BenchSide } from './epoch-plan';
import type { KerasPath, RunResult } from './epoch-runs';
import type { BenchRun, EpochBenchmarkRecord } from './epoch-benchmark';

/** What the report is made of: the config, the cells and Keras's recurrent dropouts asked for, the runs and loads. */
export interface ReportInput {
  config: TrainConfig;
  cells: readonly Cell[];
  recurrentDropouts: readonly number[];
  runs: readonly RunResult[];
  loads: readonly string[];
  /** The machine: its CPU, how many logical CPUs, and when the report was made (ISO time). */
  machine: { cpuModel: string; cpus: number; at: string };
  matmulN: number;
}

/** A number with `digits` decimals, or n/a when it is not finite (a run that is missing or did not measure it). */
export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** Mean seconds per epoch of a run (training, validation, both). */
interface PerEpoch {
  train: number;
  val: number;
  total: number;
}

function perEpoch(r: RunResult): PerEpoch {
  return {
    train: mean(r.epochs.map((e) => e.trainSeconds)),
    val: mean(r.epochs.map((e) => e.valSeconds)),
    total: mean(r.epochs.map((e) => e.seconds)),
  };
}

/** "train / validation / total" seconds of a run. */
const triple = (a: PerEpoch | undefined) => (a === undefined ? 'n/a' : `${fmt(a.train)} / ${fmt(a.val)} / ${fmt(a.total)}`);

/** "train / validation / total" ratios a / b of two runs. */
const ratioTriple = (a: PerEpoch | undefined, b: PerEpoch | undefined) =>
  a === undefined || b === undefined ? 'n/a' : `${fmt(a.train / b.train, 2)} / ${fmt(a.val / b.val, 2)} / ${fmt(a.total / b.total, 2)}`;

const pathName = (p: KerasPath | undefined) => (p === undefined ? 'n/a' : `${p.kind === 'fused' ? 'fused' : 'generic'} ${p.function}`);

const findRun = (runs: readonly RunResult[], cell: Cell, side: BenchSide, r: number) =>
  runs.find((q) => q.cell === cell && q.side === side && q.recurrentDropout === r);

/** Every epoch of every run, cell by cell. */
function epochTable(x: ReportInput): string[] {
  const lines = [
    '| cell | recurrent dropout | epoch | side | train s | validation s | total s | loss | acc | val_loss | val_acc |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const cell of x.cells)
    for (let e = 0; e < x.config.epochs; e++)
      for (const s of x.runs.filter((r) => r.cell === cell)) {
        const r = s.epochs[e];
        if (r)
          lines.push(
            `| ${cell} | ${s.recurrentDropout} | ${r.epoch} | ${s.label} | ${fmt(r.trainSeconds)} | ${fmt(r.valSeconds)} | ${fmt(r.seconds)} | ` +
              `${fmt(r.loss, 4)} | ${fmt(r.accuracy, 4)} | ${fmt(r.valLoss, 4)} | ${fmt(r.valAccuracy, 4)} |`,
          );
      }
  return lines;
}

/** Per cell: seconds per epoch (mean of the epochs run) of the course layer and of Keras with each recurrent dropout. */
function summaryTable(x: ReportInput): string[] {
  const courseR = x.config.recurrentDropout;
  const lines = [
    `Seconds per epoch (mean of ${x.config.epochs}), each cell "train / validation / total"; the course layers use recurrent dropout ${courseR}:`,
    '',
    `| cell | course (${rLabel(courseR)}) | ${x.recurrentDropouts.map((r) => `Keras ${rLabel(r)} | course / Keras ${rLabel(r)} | Keras path ${rLabel(r)}`).join(' | ')} |`,
    `| --- | ---: |${x.recurrentDropouts.map(() => ' ---: | ---: | --- |').join('')}`,
  ];
  for (const cell of x.cells) {
    const course = findRun(x.runs, cell, 'course', courseR);
    const c = course && perEpoch(course);
    const cols = x.recurrentDropouts.map((r) => {
      const k = findRun(x.runs, cell, 'keras', r);
      const kp = k && perEpoch(k);
      return `${triple(kp)} | ${ratioTriple(c, kp)} | ${pathName(k?.path)}`;
    });
    lines.push(`| ${CELL_LABELS[cell]} | ${course ? triple(c) : 'not run'} | ${cols.join(' | ')} |`);
  }
  return lines;
}

/** GRU / LSTM and SimpleRNN / LSTM per epoch on each side, against the arithmetic (empty without the LSTM). */
function ratioTable(x: ReportInput): string[] {
  if (!x.cells.includes('lstm')) return [];
  const courseR = x.config.recurrentDropout;
  const sides = [
    { side: 'course' as const, recurrentDropout: courseR, name: `course (${rLabel(courseR)})` },
    ...x.recurrentDropouts.map((r) => ({ side: 'keras' as const, recurrentDropout: r, name: `Keras ${rLabel(r)}` })),
  ];
  const lines = [
    'Per-epoch time (total seconds) of one cell over another on each side, against the ratio of their multiply-adds per step (lib/cells/layer-kinds.ts multiplyAddsPerStep):',
    '',
    `| cells | arithmetic | ${sides.map((s) => s.name).join(' | ')} |`,
    `| --- | ---: |${sides.map(() => ' ---: |').join('')}`,
  ];
  for (const row of cellRatios(x.runs, x.config, sides))
    lines.push(
      `| ${CELL_LABELS[row.cells[0]]} / ${CELL_LABELS[row.cells[1]]} | ${fmt(row.arithmetic, 2)} | ${row.measured.map((m) => fmt(m, 2)).join(' | ')} |`,
    );
  return [...lines, ''];
}

/** Throughput of every run: the epoch's matrix arithmetic over its time, against a large matmul of the same build. */
function throughputTable(x: ReportInput): string[] {
  const matmul = Number.isFinite(x.matmulN) ? `${x.matmulN}×${x.matmulN} matmul` : 'matmul';
  const lines = [
    `| run | params | GFLOP per epoch | GFLOP/s training | GFLOP/s validation | GFLOP/s epoch | ${matmul} GFLOP/s | utilisation, epoch |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of x.runs) {
    const f = epochFlops(x.config, COURSE_KINDS[r.cell]);
    const p = perEpoch(r);
    const gTotal = f.total / p.total / 1e9;
    lines.push(
      `| ${r.label} | ${r.params.toLocaleString('en-US')} | ${fmt(f.total / 1e9)} | ${fmt(f.train / p.train / 1e9)} | ${fmt(f.validation / p.val / 1e9)} | ` +
        `${fmt(gTotal)} | ${fmt(r.matmulGflops)} | ${Number.isFinite(r.matmulGflops) ? `${fmt((100 * gTotal) / r.matmulGflops)} %` : 'n/a'} |`,
    );
  }
  return lines;
}

/** How the floating-point operations of an epoch are counted, cell by cell. */
function flopsSection(c: TrainConfig, cells: readonly Cell[]): string[] {
  const g = (x: number) => `${(x / 1e9).toLocaleString('en-US', { maximumFractionDigits: 1 })} GFLOP`;
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `FLOP per epoch (multiply-add = 2; T = maxLen = ${c.maxLen}, E = ${c.embeddingDim}, H = ${c.units}, b = kernel blocks, N_train = ${c.trainSize}, N_val = ${c.testSize}; ` +
      'training = 3 · forward · N_train (backward ≈ 2 × forward), validation = forward · N_val):',
    '',
  ];
  for (const cell of cells) {
    const kind = COURSE_KINDS[cell];
    const f = epochFlops(c, kind);
    lines.push(
      `- ${CELL_LABELS[cell]} (b = ${RECURRENT_LAYERS[kind].blocks}, ${n(multiplyAddsPerStep(kind, c.embeddingDim, c.units))} multiply-adds per step): forward, one review T(2·E·bH + 2·H·bH) + 2H = ` +
        `${n(f.forwardPerReview)} FLOP (input projection ${n(f.inputProjection)}, recurrent ${n(f.recurrent)}, dense ${f.dense}); ` +
        `training ${g(f.train)}, validation ${g(f.validation)}, epoch ${g(f.total)}`,
    );
  }
  lines.push('- not counted: element-wise gate work (<1%), dropout, loss, Adam update, embedding gather');
  return lines;
}

/** Each run's setup, the parameters the formulas expect, and the load before and after each run. */
function setupSection(x: ReportInput): string[] {
  const { config } = x;
  const expected = (c: Cell) =>
    config.numWords * config.embeddingDim + paramCount(COURSE_KINDS[c], config.embeddingDim, config.units) + config.units + 1;
  return [
    'Setup of each run:',
    '',
    ...x.runs.map(
      (s) =>
        `- ${s.label}: ${Object.entries(s.facts)
          .map(([k, v]) => `${k} ${String(v)}`)
          .join('; ')}`,
    ),
    "- Epoch 1 includes each run's warm-up (graph building / tf.function tracing); the checkpoint the course side writes after each epoch is not timed.",
    '- Expected parameters (lib/cells/layer-kinds.ts paramCount + embedding + dense): ' +
      x.cells.map((c) => `${CELL_LABELS[c]} ${expected(c).toLocaleString('en-US')}`).join(', '),
    '',
    'Load (`uptime`):',
    '',
    ...x.loads.map((l) => `- ${l}`),
    '',
  ];
}

/** Keras's path from the record's words for it ("fused ... 'standard_gru' ..." or "generic keras.backend.rnn: ..."). */
function recordedPath(run: BenchRun): KerasPath | undefined {
  if (run.path === null) return undefined;
  const traced = run.facts?.['fused functions in the traced training step'];
  const fused = run.path.startsWith('fused') ? /'(standard_\w+)'/.exec(run.path) : null;
  return {
    kind: fused ? 'fused' : 'generic',
    function: fused ? fused[1] : run.path.replace(/^generic /, '').split(':')[0],
    text: run.path,
    traced: traced === undefined ? null : String(traced) === 'none' ? [] : String(traced).split(', '),
  };
}

/**
 * The report's input from a record (data/benchmarks/epoch-cells.json): its runs, loads and machine, the reference
 * model's sizes at the record's config. A figure the record lacks (an older record) shows as n/a.
 */
export function reportInputOfRecord(record: EpochBenchmarkRecord): ReportInput {
  const course = record.runs.find((r) => r.side === 'course');
  const overrides = { ...record.config, ...(course ? { recurrentDropout: course.recurrentDropout } : {}) };
  const config = resolveConfig({ profile: 'full', env: {}, overrides });
  const runs = record.runs.map((r): RunResult => ({
    cell: r.cell,
    side: r.side,
    recurrentDropout: r.recurrentDropout,
    label: r.label,
    params: r.params,
    matmulGflops: r.matmulGflops ?? NaN,
    epochs: r.epochs.map((e) => ({ ...e, loss: e.loss ?? NaN, accuracy: e.accuracy ?? NaN, valLoss: e.valLoss ?? NaN })),
    facts: r.facts ?? {},
    path: recordedPath(r),
  }));
  const cells = [...new Set(record.runs.map((r) => r.cell))];
  const recurrentDropouts = [...new Set(record.runs.filter((r) => r.side === 'keras').map((r) => r.recurrentDropout))];
  const machine = { cpuModel: record.cpuModel, cpus: NaN, at: record.measuredAt };
  return { config, cells, recurrentDropouts, runs, loads: record.loads, machine, matmulN: record.matmulN ?? NaN };
}

/** The report without its heading and machine line: the tables, the FLOP counts, the setup and the load. */
export function epochReportBody(x: ReportInput): string {
  return [
    ...epochTable(x),
    '',
    ...summaryTable(x),
    '',
    ...ratioTable(x),
    ...throughputTable(x),
    '',
    ...flopsSection(x.config, x.cells),
    '',
    ...setupSection(x),
  ]
    .join('\n')
    .trimEnd();
}

/** The whole report, in Markdown. */
export function epochReport(x: ReportInput): string {
  const { config } = x;
  const sizes =
    `${config.trainSize.toLocaleString('en-US')} training reviews + validation on ${config.testSize.toLocaleString('en-US')}, ` +
    `maxLen ${config.maxLen}, batch ${config.batchSize}, ${config.epochs} epoch(s)`;
  return [
    `## Epoch benchmark: ${x.cells.map((c) => CELL_LABELS[c]).join(', ')}; ${sizes}`,
    '',
    `Machine: ${x.machine.cpuModel}, ${x.machine.cpus} logical CPUs; ${x.machine.at}`,
    '',
    epochReportBody(x),
    '',
  ].join('\n');
}
