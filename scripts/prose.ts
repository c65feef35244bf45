/**
 * The prose budget of the course's notebooks (lib/experiments/prose.ts has the counting rules): markdown words on
 * the main path and in "Going deeper" blocks, the longest markdown cell, the mean sentence, the words before the
 * first picture and before the first trained model, and the lines of code, one notebook a row; then the quick
 * start's figures against its budget.
 *
 *   node --import tsx scripts/prose.ts                        # notebooks/ (without outputs: pictures found by show(...) calls)
 *   node --import tsx scripts/prose.ts reports/executed       # executed notebooks: pictures found in their outputs
 *
 * Exit codes: 0 done, 1 failed, 2 bad options.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  QUICK_START,
  QUICK_START_BUDGET,
  READING_WORDS_PER_MINUTE,
  budgetProblems,
  courseNotebooks,
  isChapter,
  proseFigures,
  proseTable,
  readNotebookCells,
  readingMinutes,
  wordsBeforeFirstAcross,
} from '../lib/experiments/prose';
import { fail, runCli, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'prose',
  summary:
    "Measure the notebooks' prose: words (main path and going deeper), longest cell, sentences, words before the first picture and model.",
  usage: 'node --import tsx scripts/prose.ts [--json] [NOTEBOOK.ipynb | DIR ...]   (default: notebooks/)',
  positionals: true,
  options: { json: { type: 'boolean', help: 'print the figures as JSON instead of a table' } },
  epilog: 'A folder stands for its notebooks whose names start with a digit, in name order (the quick start sorts first).',
  exitCodes: { 2: 'bad options (a path that is neither a notebook nor a folder)' },
};

void runCli(SPEC, async ({ values, positionals }) => {
  const targets = positionals.length > 0 ? positionals : [path.join(__dirname, '..', 'notebooks')];
  const files = targets.flatMap((t) => {
    if (!fs.existsSync(t)) fail(`no such notebook or folder: ${t}`);
    return fs.statSync(t).isDirectory() ? courseNotebooks(t) : [t];
  });
  if (files.length === 0) fail(`no notebooks (names starting with a digit) in ${targets.join(', ')}`);
  const rows = files.map((f) => proseFigures(path.basename(f, '.ipynb'), readNotebookCells(f)));
  if (values.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(proseTable(rows));
  const chapters = rows.filter((r) => isChapter(r.name));
  if (chapters.length > 0) {
    const sum = (k: 'words' | 'deeperWords' | 'sentences') => chapters.reduce((s, r) => s + r[k], 0);
    const sentenceWords = chapters.reduce((s, r) => s + r.meanSentenceWords * r.sentences, 0);
    const longest = chapters.reduce((a, r) => (r.longestCell.words > a.longestCell.words ? r : a));
    const at = (x: ReturnType<typeof wordsBeforeFirstAcross>) => (x === null ? 'none' : `${x.words} words (${x.name}, cell ${x.cell})`);
    console.log(
      `chapters 00-07 (${chapters.length} notebooks, read in order): ${sum('words')} words on the main path, ` +
        `${sum('deeperWords')} in going-deeper blocks; mean sentence ${(sentenceWords / Math.max(1, sum('sentences'))).toFixed(1)} words; ` +
        `longest markdown cell ${longest.longestCell.words} words (${longest.name}, cell ${longest.longestCell.index})`,
    );
    console.log(
      `  before the first picture: ${at(wordsBeforeFirstAcross(chapters, 'picture'))}; ` +
        `before the first cell diagram: ${at(wordsBeforeFirstAcross(chapters, 'diagram'))}; ` +
        `before the first trained model: ${at(wordsBeforeFirstAcross(chapters, 'training'))}`,
    );
  }
  const quick = rows.find((r) => r.name === QUICK_START);
  if (quick) {
    console.log(
      `${QUICK_START}: about ${readingMinutes(quick)} minutes of prose at ${READING_WORDS_PER_MINUTE} words a minute, and ${quick.codeLines} lines of code`,
    );
    const problems = budgetProblems(quick, QUICK_START_BUDGET);
    console.log(problems.length === 0 ? `${QUICK_START}: within its budget ${JSON.stringify(QUICK_START_BUDGET)}` : problems.join('\n'));
  }
});
