// The tables of measured figures (lib/experiments/tables.ts): every marked copy in README.md, BENCHMARKS.md and the
// notebooks equals what its record makes, a changed record makes its copies stale (and `npm run tables` rewrites
// them), and the markers and records are checked with errors that say what to do.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../lib/util/paths';
import { readEpochBenchmark } from '../../lib/experiments/epoch-benchmark';
import { BENCHMARKS_DIR, readRecord } from '../../lib/experiments/records';
import {
  TABLES,
  epochCellsTable,
  gruStepComparisonTable,
  markdownTable,
  markedTables,
  replaceTables,
  syncTables,
  tableFiles,
} from '../../lib/experiments/tables';

/** A copy of what the tables are made from and written into: README.md, BENCHMARKS.md, notebooks/, the records. */
function tempCheckout(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tables-'));
  for (const f of ['README.md', 'BENCHMARKS.md']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  for (const d of ['notebooks', path.join('data', 'benchmarks'), path.join('data', 'reference-run')])
    fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  return dir;
}

/** The rows of a markdown table in `text` whose first cell is `first`. */
const rowsStarting = (text: string, first: string) => text.split('\n').filter((l) => l.startsWith(`| ${first} |`));

describe('the committed tables', () => {
  test('every marked table in README.md, BENCHMARKS.md and the notebooks equals what its record makes', () => {
    const files = syncTables(ROOT);
    const stale = files.flatMap((f) => f.stale.map((name) => `${f.file}: ${name}`));
    assert.deepEqual(stale, [], 'run npm run tables');
    const shown = new Set(files.flatMap((f) => f.tables));
    assert.deepEqual([...shown].sort(), Object.keys(TABLES).sort(), 'every table of TABLES stands somewhere, and only those');
    const readme = files.find((f) => f.file === 'README.md');
    assert.deepEqual(readme?.tables, ['reference-run', 'cells-comparison', 'epoch-cells']);
    assert.ok(tableFiles().includes(path.join('notebooks', '05-gru-vs-lstm.ipynb')));
  });

  test('every record in data/benchmarks/ is the source of a table (or of notebook 05, the epoch benchmark)', () => {
    const sources = new Set(Object.values(TABLES).flatMap((t) => t.records.map((r) => path.basename(r))));
    for (const file of fs.readdirSync(BENCHMARKS_DIR).filter((f) => f.endsWith('.json')))
      assert.ok(sources.has(file), `${file} makes no table`);
  });

  test('the epoch table: seconds per epoch and the GRU/LSTM ratios, read off the record', () => {
    const record = readEpochBenchmark();
    const table = epochCellsTable(record);
    const seconds = (cell: string, side: string, r: number) => {
      const run = record.runs.find((x) => x.cell === cell && x.side === side && x.recurrentDropout === r);
      assert.ok(run, `${cell} ${side} ${r}`);
      return run.epochs.reduce((s, e) => s + e.seconds, 0) / run.epochs.length;
    };
    const [gru] = rowsStarting(table, 'GRU');
    assert.equal(
      gru,
      `| GRU | ${seconds('gru', 'course', 0.2).toFixed(1)} | ${seconds('gru', 'keras', 0.2).toFixed(1)} | ${seconds('gru', 'keras', 0).toFixed(1)} | fused \`standard_gru\` |`,
    );
    const ratio = (side: string, r: number) => (seconds('gru', side, r) / seconds('lstm', side, r)).toFixed(2);
    const [ratios] = rowsStarting(table, 'GRU / LSTM (arithmetic 0.75)');
    assert.equal(ratios, `| GRU / LSTM (arithmetic 0.75) | ${ratio('course', 0.2)} | ${ratio('keras', 0.2)} | ${ratio('keras', 0)} | |`);
    assert.match(table, /\| SimpleRNN \| .* \| generic loop \(no fused SimpleRNN\) \|/);
  });

  test("a comparison's column given as a file shows that run's figures (one record, two tables)", () => {
    const run = readRecord(path.join(BENCHMARKS_DIR, 'bench-gru-cd39c3f.json'), 'gruStep');
    const comparison = readRecord(path.join(BENCHMARKS_DIR, 'bench-gru-engine-split.json'), 'gruStepComparison');
    const column = comparison.columns.findIndex((c) => c.file === 'bench-gru-cd39c3f.json');
    assert.ok(column >= 0);
    const table = gruStepComparisonTable(comparison, BENCHMARKS_DIR);
    const c = run.rows.find((r) => r.variant === '(c) KerasGRU' && r.resetAfter === true);
    assert.ok(c?.speedup);
    const [row] = rowsStarting(table, '(c) KerasGRU').filter((l) => l.includes('| true |'));
    assert.equal(row.split('|')[3 + column].trim(), `${c.trainMs.toFixed(1)} (${c.speedup.toFixed(2)}x)`);
  });
});

describe('a changed record', () => {
  test('makes each copy of its table stale, and only those; writing makes them again', () => {
    const dir = tempCheckout();
    const file = path.join(dir, 'data', 'benchmarks', 'cells-comparison.json');
    const record = JSON.parse(fs.readFileSync(file, 'utf8'));
    const gru = record.layers.find((l: { label: string }) => l.label === 'GRU (course)');
    gru.msPerBatch = 1234.5;
    fs.writeFileSync(file, JSON.stringify(record));
    const stale = syncTables(dir).flatMap((f) => f.stale.map((name) => `${f.file}: ${name}`));
    assert.deepEqual(stale, ['README.md: cells-comparison', `${path.join('notebooks', '05-gru-vs-lstm.ipynb')}: cells-comparison`]);

    syncTables(dir, true);
    assert.deepEqual(
      syncTables(dir).flatMap((f) => f.stale),
      [],
    );
    assert.match(rowsStarting(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), 'GRU (course)')[0], /\| 1,234\.5 \|/);
    const notebook = JSON.parse(fs.readFileSync(path.join(dir, 'notebooks', '05-gru-vs-lstm.ipynb'), 'utf8')) as {
      cells: { cell_type: string; source: string[] }[];
    };
    const cell = notebook.cells.find((c) => c.source.join('').includes('<!-- table:cells-comparison -->'));
    assert.ok(cell && cell.cell_type === 'markdown');
    assert.match(
      cell.source.join(''),
      /\n\| GRU \(course\) \| 99,072 \| 1,234\.5 \|/,
      'the notebook stays JSON and the cell holds the new row',
    );
  });

  test('npm run tables -- --check exits 1 naming the stale copy; on this checkout it exits 0', () => {
    const script = path.join(ROOT, 'scripts', 'tables.ts');
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      });
    const clean = run(['--check']);
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stdout, /tables: \d+ tables in README\.md, BENCHMARKS\.md, notebooks\/05-gru-vs-lstm\.ipynb; 0 stale/);

    const dir = tempCheckout();
    const history = path.join(dir, 'data', 'reference-run', 'history.csv');
    fs.writeFileSync(history, fs.readFileSync(history, 'utf8').replace(/^3,([^,]*),/m, '3,0.1719,'));
    const stale = run(['--check', '--root', dir]);
    assert.equal(stale.status, 1);
    assert.match(
      stale.stderr,
      /^tables: README\.md: table reference-run differs from data\/reference-run\/history\.csv; run npm run tables$/m,
    );
    assert.equal(run(['--root', dir]).status, 0);
    assert.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /^\| 3 \| 0\.1719 \|/m);
  });
});

describe('markers and records', () => {
  test('a markdown table: headings, alignments, cells; an empty cell stays "| |"', () => {
    assert.equal(
      markdownTable(
        [
          ['a', '---'],
          ['b', '---:'],
        ],
        [
          ['x', ''],
          ['long', '2'],
        ],
      ),
      '| a | b |\n| --- | ---: |\n| x | |\n| long | 2 |',
    );
    assert.equal(markdownTable([['a', '---:']], [['long']], true), '| a    |\n| ---: |\n| long |');
  });

  test('unclosed, nested or stray markers and unknown names are errors naming the file and line', () => {
    assert.throws(
      () => markedTables('x\n<!-- table:a -->\n', 'F.md'),
      /^Error: F\.md:2: <!-- table:a --> is never closed: end the table with <!-- \/table -->$/,
    );
    assert.throws(
      () => markedTables('<!-- table:a -->\n<!-- table:b -->\n<!-- /table -->', 'F.md'),
      /F\.md:2: <!-- table:b --> inside table a \(line 1\)/,
    );
    assert.throws(() => markedTables('<!-- /table -->', 'F.md'), /F\.md:1: <!-- \/table --> without a <!-- table:NAME -->/);
    assert.throws(
      () => replaceTables('<!-- table:nope -->\n<!-- /table -->', 'F.md', () => ''),
      /F\.md:1: no table "nope": the tables are reference-run, /,
    );
  });

  test("in a notebook the lines between the markers are JSON strings at the marker's indent", () => {
    const text = '{\n "source": [\n    "<!-- table:reference-run -->\\n",\n    "old\\n",\n    "<!-- /table -->\\n",\n    "after"\n ]\n}';
    const out = replaceTables(text, 'n.ipynb', () => '| a |\n| --- |');
    assert.deepEqual(out.stale, ['reference-run']);
    assert.deepEqual(JSON.parse(out.text).source, [
      '<!-- table:reference-run -->\n',
      '\n',
      '| a |\n',
      '| --- |\n',
      '\n',
      '<!-- /table -->\n',
      'after',
    ]);
    assert.deepEqual(replaceTables(out.text, 'n.ipynb', () => '| a |\n| --- |').stale, []);
  });

  test('a missing or malformed record is an error naming the file and what it lacks', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-'));
    assert.throws(() => readRecord(path.join(dir, 'none.json'), 'gruStep'), /benchmark record .*none\.json: cannot read it/);
    const file = path.join(dir, 'r.json');
    fs.writeFileSync(file, JSON.stringify({ rows: [] }));
    assert.throws(() => readRecord(file, 'gruStep'), /r\.json: expected an object with "what" and "machine"/);
    fs.writeFileSync(file, JSON.stringify({ what: 'w', machine: 'm', rows: [] }));
    assert.throws(() => readRecord(file, 'gruStep'), /r\.json: expected rows: a list of \{ variant, resetAfter, trainMs, \.\.\. \}/);
  });
});
