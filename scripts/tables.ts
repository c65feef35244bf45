/**
 * Writes the tables of measured figures in README.md, BENCHMARKS.md and the notebooks from their records in data/
 * (lib/experiments/tables.ts): everything between `<!-- table:NAME -->` and `<!-- /table -->`. With --check it only
 * compares, and exits 1 naming each copy that differs from its record.
 *
 *   node --import tsx scripts/tables.ts [--check] [--root DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../lib/util/paths';
import { syncTables, TABLES } from '../lib/experiments/tables';
import { fail, runCli, type CliContext, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'tables',
  summary: 'Write the tables of measured figures in README.md, BENCHMARKS.md and the notebooks from their records in data/.',
  usage: 'node --import tsx scripts/tables.ts [--check] [--root DIR]',
  options: {
    check: { type: 'boolean', help: 'change nothing: exit 1 naming each table whose copy differs from its record' },
    root: { type: 'string', value: 'DIR', help: 'the checkout whose files and records to use (default: this one)' },
  },
  exitCodes: { 1: 'with --check: a copy differs from its record (or a marker or record is wrong)' },
};

async function main({ values }: CliContext): Promise<number> {
  const check = values.check === true;
  const root = typeof values.root === 'string' ? path.resolve(values.root) : ROOT;
  if (!fs.existsSync(path.join(root, 'README.md'))) fail(`--root ${root}: no README.md there; give the folder of a checkout`);
  const files = syncTables(root, !check);
  const stale = files.flatMap((f) => f.stale.map((name) => ({ file: f.file, name })));
  for (const { file, name } of stale) {
    const from = TABLES[name].records.join(' and ');
    if (check) process.stderr.write(`tables: ${file}: table ${name} differs from ${from}; run npm run tables\n`);
    else process.stdout.write(`tables: ${file}: rewrote table ${name} from ${from}\n`);
  }
  const count = files.reduce((n, f) => n + f.tables.length, 0);
  const inFiles = files.filter((f) => f.tables.length > 0).map((f) => f.file);
  process.stdout.write(`tables: ${count} tables in ${inFiles.join(', ')}; ${stale.length} ${check ? 'stale' : 'rewritten'}\n`);
  return check && stale.length > 0 ? 1 : 0;
}

runCli(SPEC, main);
