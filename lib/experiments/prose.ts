/**
 * How much a notebook asks its reader to read (issue 22's prose budget): markdown prose words, counted
 * outside code and display math, with the words inside `<details>` blocks ("Going deeper") apart from the
 * main path; the longest markdown cell; the mean sentence length; how many words come before the first
 * picture and before the first trained model; and the lines of code.
 *
 * The rules, so that the figures can be checked by hand:
 *   - prose is markdown cells only; fenced code blocks (``` or ~~~) and display math ($$ ... $$) are left out;
 *   - an inline code span or inline math ($...$) counts as one word; a link counts its text, not its address;
 *     HTML tags are dropped and their text kept; a word is a whitespace-separated token with a letter or digit;
 *   - the content of a `<details>` block counts as "going deeper", except its `<summary>`, which the main path shows;
 *   - sentences are read from paragraphs and list items (not headings or table rows): a sentence ends at
 *     . ! or ? followed by a space and a capital, digit, quote or bracket, and at the end of its paragraph or item;
 *   - a picture is a code cell whose outputs hold an image or a Plotly chart, or, in a notebook without outputs,
 *     whose source calls show(...) or showDiagram(...); or an image in markdown; a cell diagram is a code cell
 *     whose outputs hold an SVG (the course's diagrams are its only SVG outputs), or that calls showDiagram(...);
 *   - training is the first code cell whose source calls `.fit(` or `train(` (comments left out).
 * "Words before" counts the main-path words of the markdown cells above that cell (and, for an image in
 * markdown, the words of its own cell before it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A notebook cell as nbformat stores it (only what is read here). */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: { data?: Record<string, unknown> }[];
}

/** The prose figures of one notebook. */
export interface ProseFigures {
  name: string;
  /** Main-path words: markdown prose outside code, display math and <details>. */
  words: number;
  /** Words inside <details> blocks. */
  deeperWords: number;
  markdownCells: number;
  /** The markdown cell with the most main-path words (its index among all cells, and its words). */
  longestCell: { index: number; words: number };
  sentences: number;
  /** Main-path words in sentences divided by the number of sentences. */
  meanSentenceWords: number;
  /** Main-path words before the first picture, and that cell's index; null when there is none. */
  wordsBeforeFirstPicture: number | null;
  firstPictureCell: number | null;
  /** The same for the first cell diagram (lib/view/cell-diagrams.ts: an SVG output, or a showDiagram(...) call). */
  wordsBeforeFirstDiagram: number | null;
  firstDiagramCell: number | null;
  /** Main-path words before the first cell that trains a model; null when none does. */
  wordsBeforeTraining: number | null;
  trainingCell: number | null;
  /** Non-empty lines in code cells. */
  codeLines: number;
}

/** Limits on a notebook's figures; a limit left out is not checked. */
export interface ProseBudget {
  words?: number;
  wordsBeforeFirstPicture?: number;
  wordsBeforeTraining?: number;
  longestCell?: number;
  meanSentenceWords?: number;
}

/** Issue 22's budget for the quick start. */
export const QUICK_START_BUDGET: Readonly<ProseBudget> = Object.freeze({
  words: 1500,
  wordsBeforeFirstPicture: 250,
  wordsBeforeTraining: 1000,
  longestCell: 300,
  meanSentenceWords: 20,
});

/** The reading speed the course states its reading times at, in words of prose per minute. */
export const READING_WORDS_PER_MINUTE = 200;

const PICTURE_MIMES = ['image/svg+xml', 'image/png', 'image/jpeg', 'image/gif', 'application/vnd.plotly.v1+json'];

function text(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}

/** Markdown with code blocks and display math removed, split into the main path and the <details> content. */
export function splitProse(markdown: string): { main: string; deeper: string } {
  let s = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '\n'); // fenced code
  s = s.replace(/\$\$[\s\S]*?\$\$/g, '\n'); // display math
  const deeper: string[] = [];
  s = s.replace(/<details\b[^>]*>([\s\S]*?)<\/details>/gi, (_m, inner: string) => {
    const summary = /<summary\b[^>]*>([\s\S]*?)<\/summary>/i.exec(inner);
    deeper.push(inner.replace(/<summary\b[^>]*>[\s\S]*?<\/summary>/i, ''));
    return summary ? `\n\n${summary[1]}\n\n` : '\n';
  });
  return { main: s, deeper: deeper.join('\n\n') };
}

/** Plain words of a piece of markdown prose (no code blocks or display math left in it): see the module comment. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/`[^`\n]+`/g, ' CODE ') // inline code: one word
    .replace(/\$[^$\n]+\$/g, ' MATH ') // inline math: one word
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, ' ') // an image's alt text is not read
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link: its text
    .replace(/<[^>]+>/g, ' '); // HTML tags
}

/** Words in plain text: whitespace-separated tokens with a letter or a digit. */
export function countWords(plain: string): number {
  return plain.split(/\s+/).filter((t) => /[\p{L}\p{N}]/u.test(t)).length;
}

/** The sentences of a piece of markdown prose, read from its paragraphs and list items (see the module comment). */
export function sentencesOf(markdown: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  const flush = () => {
    if (current.length > 0) blocks.push(current.join(' '));
    current = [];
  };
  for (const raw of markdown.split('\n')) {
    const line = raw.trim().replace(/^>\s?/, '');
    if (line === '' || /^#{1,6}\s/.test(line) || line.startsWith('|')) {
      flush();
      continue;
    }
    if (/^([-*+]|\d+[.)])\s/.test(line)) flush(); // a list item starts a block of its own
    current.push(line.replace(/^([-*+]|\d+[.)])\s+/, ''));
  }
  flush();
  return blocks
    .map(plainText)
    .flatMap((b) => b.split(/(?<=[.!?]["'”)*_]*)\s+(?=["'“(*_[]*[\p{Lu}\p{N}])/u))
    .filter((s) => countWords(s) > 0);
}

/** Code without its comments (a `//` at the start of a line or after a space, and block comments), so that a comment naming train() does not count as a call. */
export function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|\s)\/\/.*$/gm, '$1');
}

function isPictureCode(cell: NotebookCell, diagramOnly: boolean): boolean {
  const outputs = cell.outputs ?? [];
  const mimes = diagramOnly ? ['image/svg+xml'] : PICTURE_MIMES;
  if (outputs.length > 0) return outputs.some((o) => mimes.some((m) => o.data?.[m] !== undefined));
  return (diagramOnly ? /(^|[^.\w])showDiagram\(/m : /(^|[^.\w])(show|showDiagram)\(/m).test(withoutComments(text(cell.source)));
}

const IMAGE_IN_MARKDOWN = /!\[[^\]]*\]\([^)]*\)|<img\b/i;

/** The prose figures of one notebook's cells (the rules are in the module comment). */
export function proseFigures(name: string, cells: readonly NotebookCell[]): ProseFigures {
  let words = 0;
  let deeperWords = 0;
  let markdownCells = 0;
  let longestCell = { index: -1, words: 0 };
  let sentenceWords = 0;
  let sentences = 0;
  let wordsBeforeFirstPicture: number | null = null;
  let firstPictureCell: number | null = null;
  let wordsBeforeFirstDiagram: number | null = null;
  let firstDiagramCell: number | null = null;
  let wordsBeforeTraining: number | null = null;
  let trainingCell: number | null = null;
  let codeLines = 0;
  cells.forEach((cell, index) => {
    const source = text(cell.source);
    if (cell.cell_type === 'markdown') {
      const { main, deeper } = splitProse(source);
      const mainWords = countWords(plainText(main));
      if (firstPictureCell === null && IMAGE_IN_MARKDOWN.test(main)) {
        wordsBeforeFirstPicture = words + countWords(plainText(splitProse(main.split(IMAGE_IN_MARKDOWN)[0]).main));
        firstPictureCell = index;
      }
      markdownCells++;
      words += mainWords;
      deeperWords += countWords(plainText(deeper));
      if (mainWords > longestCell.words) longestCell = { index, words: mainWords };
      for (const s of sentencesOf(main)) {
        sentences++;
        sentenceWords += countWords(s);
      }
    } else if (cell.cell_type === 'code') {
      codeLines += source.split('\n').filter((l) => l.trim() !== '').length;
      if (firstPictureCell === null && isPictureCode(cell, false)) {
        wordsBeforeFirstPicture = words;
        firstPictureCell = index;
      }
      if (firstDiagramCell === null && isPictureCode(cell, true)) {
        wordsBeforeFirstDiagram = words;
        firstDiagramCell = index;
      }
      if (trainingCell === null && /\.fit\(|(^|[^.\w])train\(/m.test(withoutComments(source))) {
        wordsBeforeTraining = words;
        trainingCell = index;
      }
    }
  });
  const meanSentenceWords = sentences === 0 ? 0 : sentenceWords / sentences;
  return {
    name,
    words,
    deeperWords,
    markdownCells,
    longestCell,
    sentences,
    meanSentenceWords,
    wordsBeforeFirstPicture,
    firstPictureCell,
    wordsBeforeFirstDiagram,
    firstDiagramCell,
    wordsBeforeTraining,
    trainingCell,
    codeLines,
  };
}

/** What is over budget, one sentence each; empty when every limit holds. */
export function budgetProblems(f: ProseFigures, budget: ProseBudget): string[] {
  const problems: string[] = [];
  const over = (what: string, value: number | null, limit: number | undefined, missing: string) => {
    if (limit === undefined) return;
    if (value === null) problems.push(`${f.name}: ${missing}`);
    else if (value > limit) problems.push(`${f.name}: ${what} is ${Number(value.toFixed(1))}, over the budget of ${limit}`);
  };
  over('the main-path prose', f.words, budget.words, '');
  over('the prose before the first picture', f.wordsBeforeFirstPicture, budget.wordsBeforeFirstPicture, 'it shows no picture');
  over('the prose before the first trained model', f.wordsBeforeTraining, budget.wordsBeforeTraining, 'it trains no model');
  over(`the longest markdown cell (cell ${f.longestCell.index})`, f.longestCell.words, budget.longestCell, '');
  over('the mean sentence, in words,', f.meanSentenceWords, budget.meanSentenceWords, '');
  return problems;
}

/** Minutes of reading at READING_WORDS_PER_MINUTE for the main path, rounded up. */
export function readingMinutes(f: ProseFigures): number {
  return Math.ceil(f.words / READING_WORDS_PER_MINUTE);
}

/** The figures as a fixed-width table, one notebook a row, with a total row when there are several. */
export function proseTable(rows: readonly ProseFigures[]): string {
  const dash = (v: number | null, cell: number | null) => (v === null ? '-' : `${v} (cell ${cell})`);
  const header = [
    'notebook',
    'words',
    'going deeper',
    'longest cell',
    'mean sentence',
    'before 1st picture',
    'before 1st diagram',
    'before training',
    'code lines',
  ];
  const body = rows.map((f) => [
    f.name,
    String(f.words),
    String(f.deeperWords),
    `${f.longestCell.words} (cell ${f.longestCell.index})`,
    f.meanSentenceWords.toFixed(1),
    dash(f.wordsBeforeFirstPicture, f.firstPictureCell),
    dash(f.wordsBeforeFirstDiagram, f.firstDiagramCell),
    dash(f.wordsBeforeTraining, f.trainingCell),
    String(f.codeLines),
  ]);
  if (rows.length > 1) {
    const sum = (k: 'words' | 'deeperWords' | 'codeLines') => String(rows.reduce((s, f) => s + f[k], 0));
    body.push(['total', sum('words'), sum('deeperWords'), '', '', '', '', '', sum('codeLines')]);
  }
  const table = [header, ...body];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  return table.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')).join('\n');
}

/** The cells of an .ipynb file; a file that is not a notebook is an error naming it. */
export function readNotebookCells(file: string): NotebookCell[] {
  let nb: { cells?: unknown };
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells?: unknown };
  } catch (err) {
    throw new Error(`prose: cannot read ${file} as a notebook (${(err as Error).message})`);
  }
  if (!Array.isArray(nb.cells)) throw new Error(`prose: ${file} has no "cells" list: not an .ipynb notebook`);
  return nb.cells as NotebookCell[];
}

/** The course's notebooks in a folder (names starting with a digit), in reading order, which is name order. */
export function courseNotebooks(dir: string): string[] {
  const names = fs.readdirSync(dir).filter((f) => /^\d.*\.ipynb$/.test(f));
  return names.sort().map((f) => path.join(dir, f));
}

/** The quick start's file name, without .ipynb: the first notebook of the course (its name sorts first). */
export const QUICK_START = '00-quick-start';

/** Whether a notebook is one of the chapters 00-07 (the quick start is not one). */
export function isChapter(name: string): boolean {
  return /^0[0-7]-/.test(name) && name !== QUICK_START;
}

/**
 * Main-path words a reader meets before the first picture, or the first trained model, of a run of notebooks
 * read in order (all the words of the notebooks before it, and those of its own before it); null when none has one.
 */
export function wordsBeforeFirstAcross(
  rows: readonly ProseFigures[],
  which: 'picture' | 'diagram' | 'training',
): { words: number; name: string; cell: number } | null {
  let before = 0;
  for (const f of rows) {
    const [words, cell] = {
      picture: [f.wordsBeforeFirstPicture, f.firstPictureCell],
      diagram: [f.wordsBeforeFirstDiagram, f.firstDiagramCell],
      training: [f.wordsBeforeTraining, f.trainingCell],
    }[which];
    if (words !== null && cell !== null) return { words: before + words, name: f.name, cell };
    before += f.words;
  }
  return null;
}
