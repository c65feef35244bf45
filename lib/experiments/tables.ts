/**
 * The tables of measured figures in README.md, BENCHMARKS.md and the notebooks, made from their records.
 *
 * Every such table stands between two markers, `<!-- table:NAME -->` and `<!-- /table -->` (in a notebook, in a
 * markdown cell), and `TABLES[NAME]` makes it from its record in `data/`: the recorded reference run
 * (lib/experiments/reference-run.ts), the epoch benchmark (lib/experiments/epoch-benchmark.ts) and the other
 * records of `data/benchmarks/` (lib/experiments/records.ts). `syncTables` rewrites what stands between the markers
 * (`npm run tables`) or only says which copies differ (`npm run tables -- --check`, and test/experiments/tables.test.ts),
 * so a figure is typed once, in its record. Notebooks that compute their tables when they run (from the runs they
 * load, or from these records) need no markers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../util/paths';
import { CELLS_BY_GATES, CELL_LABELS, RECURRENT_LAYERS, type Cell } from '../cells/layer-kinds';
import { loadReferenceRun, type ReferenceRun } from './reference-run';
import { benchRun, benchSecondsPerEpoch, readEpochBenchmark, type EpochBenchmarkRecord } from './epoch-benchmark';
import { epochReportBody, reportInputOfRecord } from './epoch-report';
import {
  readRecord,
  type CellsComparisonRecord,
  type GateVariantsRecord,
  type GruStepComparison,
  type GruStepRecord,
  type GruStepRow,
  type TranscribedTables,
} from './records';

/** A column: its heading and its markdown alignment ('---' left, '---:' right). */
export type Column = [heading: string, align: string];

/** A markdown table; `pad` aligns the columns for reading in a terminal. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[], pad = false): string {
  const widths = columns.map(([h], c) => (pad ? Math.max(h.length, ...rows.map((r) => r[c].length)) : 0));
  const line = (cells: readonly string[]) =>
    `|${cells.map((cell, c) => (cell === '' && !pad ? ' ' : ` ${cell.padEnd(widths[c])} `)).join('|')}|`;
  const rule = columns.map(([, align], c) =>
    pad ? (align.endsWith(':') ? `${'-'.repeat(widths[c] - 1)}:` : '-'.repeat(widths[c])) : align,
  );
  return [line(columns.map(([h]) => h)), line(rule), ...rows.map(line)].join('\n');
}

const percent = (v: number) => `${(100 * v).toFixed(2)}%`;
const thousands = (v: number, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** "seeds 42 and 43", "seeds 42, 43 and 44". */
const seedsText = (seeds: readonly number[]) =>
  seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.slice(0, -1).join(', ')} and ${seeds[seeds.length - 1]}`;

/** The reference run, epoch by epoch (README, "The reference run"). */
export function referenceRunTable(run: ReferenceRun): string {
  const right = '---:';
  const columns: Column[] = ['epoch', 'train loss', 'train acc', 'val loss', 'val acc', 'seconds'].map((h) => [h, right]);
  const rows = run.history.map((r) => [
    String(r.epoch),
    r.loss.toFixed(4),
    percent(r.accuracy),
    r.val_loss.toFixed(4),
    percent(r.val_accuracy),
    String(r.seconds),
  ]);
  return markdownTable(columns, rows);
}

/**
 * Notebook 05's comparison (README, "GRU vs LSTM vs simple RNN"). An eager layer's epoch is not trained: it is
 * estimated as compare.ts's timing frame does, ms per batch times the batches of an epoch of training.
 */
export function cellsComparisonTable(record: CellsComparisonRecord): string {
  const c = record.config;
  const seeds = seedsText(c.seeds);
  const columns: Column[] = [
    ['layer', '---'],
    ['recurrent weights', '---:'],
    [`ms / training batch, ${c.maxLen} ids`, '---:'],
    ['TF calls / training step', '---:'],
    [`s / epoch, ${seeds}`, '---'],
    [`val accuracy after epoch ${c.epochs}, ${seeds}`, '---'],
  ];
  const rows = record.layers.map((l) => {
    const estimated = Math.round((l.msPerBatch / 1000) * Math.ceil(c.trainSize / c.batchSize));
    return [
      l.label,
      thousands(l.recurrentWeights),
      thousands(l.msPerBatch, 1),
      thousands(l.tfCallsPerStep),
      l.trained && l.secondsPerEpoch
        ? l.secondsPerEpoch.map((s) => s.toFixed(1)).join(', ')
        : `~${thousands(estimated)} (estimated, training only)`,
      l.trained && l.valAccuracy ? l.valAccuracy.map(percent).join(', ') : 'not trained',
    ];
  });
  return markdownTable(columns, rows);
}

/** Keras's code path in a few words, from the record's description of it. */
function kerasPath(description: string | null, cell: Cell): string {
  if (description === null) return 'n/a';
  const fused = /'(standard_\w+)'/.exec(description);
  if (description.startsWith('fused') && fused) return `fused \`${fused[1]}\``;
  return /has no fused/.test(description) ? `generic loop (no fused ${CELL_LABELS[cell]})` : 'generic loop';
}

/**
 * The epoch benchmark's seconds per epoch of each cell (README and notebook 05): the course's layer and Keras at each
 * recurrent dropout, Keras's path at the lowest, and the GRU/LSTM ratio of each side beside the arithmetic's.
 */
export function epochCellsTable(record: EpochBenchmarkRecord): string {
  const course = record.runs.find((r) => r.side === 'course');
  const courseDropout = course?.recurrentDropout ?? 0;
  const dropouts = [...new Set(record.runs.filter((r) => r.side === 'keras').map((r) => r.recurrentDropout))].sort((a, b) => b - a);
  const lowest = dropouts[dropouts.length - 1];
  const sides = [{ side: 'course' as const, dropout: courseDropout }, ...dropouts.map((d) => ({ side: 'keras' as const, dropout: d }))];
  const columns: Column[] = [
    ['cell', '---'],
    ['course layer', '---:'],
    ...dropouts.map((d): Column => [`Keras, recurrent dropout ${d}`, '---:']),
    [`Keras's path at ${lowest}`, '---'],
  ];
  const seconds = (cell: Cell, s: (typeof sides)[number]) => {
    const run = benchRun(record, cell, s.side, s.dropout);
    return run ? benchSecondsPerEpoch(run).total : undefined;
  };
  const cells: Cell[] = CELLS_BY_GATES.filter((cell) => record.runs.some((r) => r.cell === cell));
  const rows = cells.map((cell) => [
    CELL_LABELS[cell],
    ...sides.map((s) => seconds(cell, s)?.toFixed(1) ?? 'not run'),
    kerasPath(benchRun(record, cell, 'keras', lowest)?.path ?? null, cell),
  ]);
  const arithmetic = RECURRENT_LAYERS.kerasGru.blocks / RECURRENT_LAYERS.kerasLstm.blocks;
  const ratios = sides.map((s) => {
    const [gru, lstm] = [seconds('gru', s), seconds('lstm', s)];
    return gru !== undefined && lstm !== undefined ? (gru / lstm).toFixed(2) : 'n/a';
  });
  rows.push([`GRU / LSTM (arithmetic ${arithmetic.toFixed(2)})`, ...ratios, '']);
  return markdownTable(columns, rows);
}

/** Notebook 05's gate comparison: validation accuracy per epoch and the epoch each run would keep. */
export function gateVariantsTable(record: GateVariantsRecord): string {
  const columns: Column[] = [
    ['model', '---'],
    ['seed', '---:'],
    [`val accuracy, epochs 1-${record.config.epochs}`, '---'],
    ['lowest val loss (epoch, val accuracy there)', '---'],
  ];
  const rows = record.runs.map((r) => {
    const { epoch, valLoss } = r.lowestValLoss;
    return [
      r.model,
      String(r.seed),
      r.valAccuracy.map(percent).join(', '),
      `${valLoss.toFixed(4)} (${epoch}, ${percent(r.valAccuracy[epoch - 1])})`,
    ];
  });
  return markdownTable(columns, rows);
}

const fixed = (v: number | undefined, digits: number) => (v === undefined ? '-' : v.toFixed(digits));
const rowName = (r: GruStepRow) => `${r.variant}${r.resetAfter === null ? '' : ` ra=${r.resetAfter}`}`;

/** One bench:gru run: the table scripts/bench-gru.ts prints, and the training step of every round. */
export function gruStepTable(record: Pick<GruStepRecord, 'rows'>, pad = false): string {
  const right = '---:';
  const columns: Column[] = [
    ['variant', '---'],
    ['resetAfter', '---'],
    ...['train ms/step', 'train CPU ms/step', 'predict ms', 'eager TF ops/step', 'graph runs/step', 'train speed vs its tf.layers'].map(
      (h): Column => [h, right],
    ),
  ];
  const rows = record.rows.map((r) => [
    r.variant,
    r.resetAfter === null ? '-' : String(r.resetAfter),
    fixed(r.trainMs, 1),
    fixed(r.trainCpuMs, 1),
    fixed(r.predictMs, 1),
    r.eagerOps === undefined ? '-' : String(r.eagerOps),
    r.graphRuns === undefined ? '-' : String(r.graphRuns),
    r.speedup === undefined ? '-' : `${r.speedup.toFixed(2)}x`,
  ]);
  const rounds = record.rows.filter((r) => r.roundsMs !== undefined);
  const perRound = rounds.map((r) => `${rowName(r)}: ${(r.roundsMs ?? []).map((t) => t.toFixed(0)).join(' ')}`);
  return [markdownTable(columns, rows, pad), ...(rounds.length > 0 ? ['', `train ms/step per round: ${perRound.join('; ')}`] : [])].join(
    '\n',
  );
}

/**
 * bench:gru runs side by side (each column a run, inline or the file of its record beside this one): the training
 * step of each variant of the first column's run, with its ratio against tf.layers where it is not that layer.
 */
export function gruStepComparisonTable(record: GruStepComparison, dir: string): string {
  const runs = record.columns.map((c) => c.run ?? readRecord(path.join(dir, c.file ?? ''), 'gruStep'));
  const columns: Column[] = [['variant', '---'], ['resetAfter', '---'], ...record.columns.map((c): Column => [c.heading, '---:'])];
  const rows = runs[0].rows.map((first) => [
    first.variant,
    first.resetAfter === null ? '-' : String(first.resetAfter),
    ...runs.map((run) => {
      const r = run.rows.find((x) => x.variant === first.variant && x.resetAfter === first.resetAfter);
      if (r === undefined) return 'not run';
      return r.speedup === undefined || r.speedup === 1 ? r.trainMs.toFixed(1) : `${r.trainMs.toFixed(1)} (${r.speedup.toFixed(2)}x)`;
    }),
  ]);
  return markdownTable(columns, rows);
}

/** A table of a report kept as written. */
export function transcribedTable(record: TranscribedTables, name: string): string {
  const table = record.tables[name];
  if (table === undefined)
    throw new Error(`no table "${name}" in the record "${record.what}" (it has: ${Object.keys(record.tables).join(', ')})`);
  return markdownTable(table.columns, table.rows);
}

/** A generated table: the record files it is made from (relative to the repository) and how. */
export interface TableSource {
  records: string[];
  /** Makes the table from the records under `root`. */
  render: (root: string) => string;
}

const benchmarks = (file: string) => path.join('data', 'benchmarks', file);
const at = (root: string, file: string) => path.join(root, benchmarks(file));
const transcribed = (file: string, name: string): TableSource => ({
  records: [benchmarks(file)],
  render: (root) => transcribedTable(readRecord(at(root, file), 'transcribed'), name),
});
const gruStep = (file: string): TableSource => ({
  records: [benchmarks(file)],
  render: (root) => gruStepTable(readRecord(at(root, file), 'gruStep')),
});

/** Every generated table by the name its markers carry. */
export const TABLES: Readonly<Record<string, TableSource>> = {
  'reference-run': {
    records: [path.join('data', 'reference-run', 'history.csv')],
    render: (root) => referenceRunTable(loadReferenceRun(path.join(root, 'data', 'reference-run'))),
  },
  'cells-comparison': {
    records: [benchmarks('cells-comparison.json')],
    render: (root) => cellsComparisonTable(readRecord(at(root, 'cells-comparison.json'), 'cellsComparison')),
  },
  'epoch-cells': {
    records: [benchmarks('epoch-cells.json')],
    render: (root) => epochCellsTable(readEpochBenchmark(at(root, 'epoch-cells.json'))),
  },
  'epoch-cells-report': {
    records: [benchmarks('epoch-cells.json')],
    render: (root) => epochReportBody(reportInputOfRecord(readEpochBenchmark(at(root, 'epoch-cells.json')))),
  },
  'gate-variants': {
    records: [benchmarks('gate-variants.json')],
    render: (root) => gateVariantsTable(readRecord(at(root, 'gate-variants.json'), 'gateVariants')),
  },
  'bench-gru-70fe9af': gruStep('bench-gru-70fe9af.json'),
  'bench-gru-cd39c3f': gruStep('bench-gru-cd39c3f.json'),
  'bench-gru-module-split': {
    records: [benchmarks('bench-gru-module-split.json')],
    render: (root) => gruStepComparisonTable(readRecord(at(root, 'bench-gru-module-split.json'), 'gruStepComparison'), at(root, '')),
  },
  'bench-gru-engine-split': {
    records: [benchmarks('bench-gru-engine-split.json'), benchmarks('bench-gru-cd39c3f.json')],
    render: (root) => gruStepComparisonTable(readRecord(at(root, 'bench-gru-engine-split.json'), 'gruStepComparison'), at(root, '')),
  },
  'epoch-gru-keras-epochs': transcribed('epoch-gru-keras.json', 'epochs'),
  'epoch-gru-keras-summary': transcribed('epoch-gru-keras.json', 'summary'),
  'gru-layer-changes': transcribed('gru-layer-changes.json', 'changes'),
};

const OPEN = /<!-- table:([^ ]*) -->/;
const CLOSE = '<!-- /table -->';

/** A marked table in a file: its name and the lines of its markers (0-based). */
export interface MarkedTable {
  name: string;
  open: number;
  close: number;
}

/** The marked tables of a text; an unclosed or nested marker is an error naming the file and line. */
export function markedTables(text: string, file: string): MarkedTable[] {
  const found: MarkedTable[] = [];
  let current: { name: string; open: number } | null = null;
  text.split('\n').forEach((line, i) => {
    const open = OPEN.exec(line);
    if (open) {
      if (current !== null)
        throw new Error(
          `${file}:${i + 1}: <!-- table:${open[1]} --> inside table ${current.name} (line ${current.open + 1}): close it with ${CLOSE} first`,
        );
      current = { name: open[1], open: i };
    } else if (line.includes(CLOSE)) {
      if (current === null) throw new Error(`${file}:${i + 1}: ${CLOSE} without a <!-- table:NAME --> before it`);
      found.push({ ...current, close: i });
      current = null;
    }
  });
  if (current !== null) {
    const { name, open } = current;
    throw new Error(`${file}:${open + 1}: <!-- table:${name} --> is never closed: end the table with ${CLOSE}`);
  }
  return found;
}

/** The lines that stand between the markers: the table with a blank line each side, as JSON strings in a notebook. */
function blockLines(table: string, markerLine: string, notebook: boolean): string[] {
  const lines = ['', ...table.split('\n'), ''];
  if (!notebook) return lines;
  const indent = /^\s*/.exec(markerLine)?.[0] ?? '';
  return lines.map((l) => `${indent}${JSON.stringify(`${l}\n`)},`);
}

/** A file's text with every marked table made again by `render`, and the names of those that changed. */
export function replaceTables(
  text: string,
  file: string,
  render: (name: string) => string,
): { text: string; tables: string[]; stale: string[] } {
  const lines = text.split('\n');
  const marked = markedTables(text, file);
  const stale: string[] = [];
  for (const m of [...marked].reverse()) {
    if (!(m.name in TABLES))
      throw new Error(`${file}:${m.open + 1}: no table "${m.name}": the tables are ${Object.keys(TABLES).join(', ')}`);
    const block = blockLines(render(m.name), lines[m.open], file.endsWith('.ipynb'));
    const old = lines.slice(m.open + 1, m.close);
    if (old.join('\n') !== block.join('\n')) stale.unshift(m.name);
    lines.splice(m.open + 1, m.close - m.open - 1, ...block);
  }
  return { text: lines.join('\n'), tables: marked.map((m) => m.name), stale };
}

/** The files whose tables are generated: README.md, BENCHMARKS.md and the notebooks (solutions included). */
export function tableFiles(root = ROOT): string[] {
  const notebooks = (dir: string): string[] =>
    fs.existsSync(path.join(root, dir))
      ? fs
          .readdirSync(path.join(root, dir), { withFileTypes: true })
          .flatMap((e) => (e.isDirectory() ? notebooks(path.join(dir, e.name)) : e.name.endsWith('.ipynb') ? [path.join(dir, e.name)] : []))
          .sort()
      : [];
  return ['README.md', 'BENCHMARKS.md', ...notebooks('notebooks')].filter((f) => fs.existsSync(path.join(root, f)));
}

/** What syncTables found in one file. */
export interface FileTables {
  file: string;
  tables: string[];
  stale: string[];
}

/**
 * Makes every marked table under `root` from its record (each once) and compares it with the copy in its file;
 * with `write`, rewrites the files whose copies differ. Returns, per file, its tables and the stale ones.
 */
export function syncTables(root = ROOT, write = false): FileTables[] {
  const made = new Map<string, string>();
  const render = (name: string) => {
    if (!made.has(name)) made.set(name, TABLES[name].render(root));
    return made.get(name) as string;
  };
  return tableFiles(root).map((file) => {
    const full = path.join(root, file);
    const result = replaceTables(fs.readFileSync(full, 'utf8'), file, render);
    if (write && result.stale.length > 0) fs.writeFileSync(full, result.text);
    return { file, tables: result.tables, stale: result.stale };
  });
}
