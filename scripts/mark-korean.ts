/**
 * Marks the Korean in notebooks' markdown cells as `<span lang="ko">…</span>` (lib/view/korean.ts's markHangul),
 * so that a CJK font draws its Korean forms in the reports and in JupyterLab. Idempotent: marked runs, code,
 * math, HTML tags and link targets are left alone. Code cells are never touched.
 *
 *   node --import tsx scripts/mark-korean.ts [--check] [NOTEBOOK ...]   (default: every notebook under notebooks/)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../lib/util/paths';
import { markNotebookHangul, type NotebookJson } from '../lib/view/korean';
import { fail, runCli, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'mark-korean',
  summary: 'Wrap the Hangul of notebooks\' markdown cells in <span lang="ko">…</span> (idempotent).',
  usage: 'node --import tsx scripts/mark-korean.ts [--check] [NOTEBOOK ...]',
  options: {
    check: { type: 'boolean', help: 'change nothing; list the unmarked Korean and exit 1 when there is any' },
  },
  positionals: true,
  epilog: 'Without NOTEBOOK arguments: every .ipynb under notebooks/.',
  exitCodes: { 1: 'with --check: some Korean is unmarked', 2: 'bad options, or a file that is not a notebook' },
};

/** Every notebook under notebooks/, sorted. */
export function allNotebooks(): string[] {
  const dir = path.join(ROOT, 'notebooks');
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ipynb') && !f.includes('.ipynb_checkpoints'))
    .map((f) => path.join(dir, f))
    .sort();
}

/** Reads a notebook, failing with what is wrong when it is not one. */
function readNotebook(file: string): { nb: NotebookJson; text: string } {
  if (!fs.existsSync(file)) fail(`${file}: no such file`);
  const text = fs.readFileSync(file, 'utf8');
  let nb: NotebookJson;
  try {
    nb = JSON.parse(text) as NotebookJson;
  } catch (err) {
    return fail(`${file}: not a notebook (invalid JSON: ${(err as Error).message})`);
  }
  if (!Array.isArray(nb.cells)) fail(`${file}: not a notebook (no "cells" list)`);
  return { nb, text };
}

if (require.main === module) {
  runCli(SPEC, async ({ values, positionals }) => {
    const files = positionals.length ? positionals.map((f) => path.resolve(f)) : allNotebooks();
    let unmarked = 0;
    for (const file of files) {
      const { nb } = readNotebook(file);
      const changes = markNotebookHangul(nb);
      const runs = changes.reduce((n, c) => n + c.wrapped.length, 0);
      unmarked += runs;
      const name = path.relative(process.cwd(), file);
      if (runs === 0) {
        process.stdout.write(`${name}: all Korean marked\n`);
        continue;
      }
      for (const c of changes) process.stdout.write(`${name}: cell ${c.cell}: ${c.wrapped.join(' · ')}\n`);
      if (!values.check) {
        // nbformat's own layout (one-space indent, non-ASCII kept, a final newline), so the diff is the marks alone
        fs.writeFileSync(file, `${JSON.stringify(nb, null, 1)}\n`);
        process.stdout.write(`${name}: marked ${runs} Korean runs in ${changes.length} cells\n`);
      }
    }
    if (values.check && unmarked > 0) {
      process.stderr.write(`mark-korean: ${unmarked} Korean runs unmarked; run node --import tsx scripts/mark-korean.ts\n`);
      return 1;
    }
  });
}
