// The prose budget (lib/experiments/prose.ts): its counting rules on small hand-counted texts, then the quick
// start's budget (issue 22) on the committed notebook, and the glossary links of every notebook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  QUICK_START,
  QUICK_START_BUDGET,
  budgetProblems,
  countWords,
  courseNotebooks,
  isChapter,
  plainText,
  proseFigures,
  proseTable,
  readNotebookCells,
  sentencesOf,
  splitProse,
  withoutComments,
  wordsBeforeFirstAcross,
  type NotebookCell,
} from '../../lib/experiments/prose';

const NOTEBOOKS = path.join(__dirname, '..', '..', 'notebooks');
const words = (markdown: string) => countWords(plainText(splitProse(markdown).main));
const md = (source: string): NotebookCell => ({ cell_type: 'markdown', source });
const code = (source: string, outputs: NotebookCell['outputs'] = []): NotebookCell => ({ cell_type: 'code', source, outputs });

test('prose words: code blocks and display math are left out; inline code, inline math and link text count one word each', () => {
  assert.equal(words('The gate keeps the state.'), 5);
  assert.equal(words('Run this:\n\n```ts\nconst a = 1;\nconst b = 2;\n```\n\nThen stop.'), 4);
  assert.equal(words('Before $$z_t = \\sigma(a)$$ after.'), 2);
  assert.equal(words('The value $z_t = 0.9$ of `gruStep` is high.'), 7); // The value MATH of CODE is high
  assert.equal(words('See [notebook 02](02-gate-equations.ipynb#x) now.'), 4);
  assert.equal(words('# A heading\n\n| a | b |\n| --- | --- |\n| one | two |'), 6); // A heading a b one two
  assert.equal(words('<a id="unit"></a>unit — 유닛 ★'), 2, 'tags dropped, a dash and a star are not words, Korean is');
});

test('prose words: a <details> block counts apart, except its summary, which the main path shows', () => {
  const text =
    'Main words here.\n\n<details><summary>Going deeper: the Jacobian</summary>\n\nFour hidden words here.\n\n</details>\n\nEnd.';
  const { main, deeper } = splitProse(text);
  assert.equal(countWords(plainText(main)), 8); // Main words here. Going deeper: the Jacobian End.
  assert.equal(countWords(plainText(deeper)), 4);
});

test('sentences: split at . ! ? before a capital or a digit, not inside numbers or "e.g."; list items and paragraphs end one', () => {
  assert.deepEqual(sentencesOf('One step. Two steps! Is it 0.37? 3 ways, e.g. this one.'), [
    'One step.',
    'Two steps!',
    'Is it 0.37?',
    '3 ways, e.g. this one.',
  ]);
  assert.deepEqual(sentencesOf('- first item\n- second item\n\nA paragraph\nover two lines.\n\n## A heading\n\n| a | table |'), [
    'first item',
    'second item',
    'A paragraph over two lines.',
  ]);
});

test('figures: words before the first picture and the first training, the longest cell, the mean sentence', () => {
  const cells: NotebookCell[] = [
    md('# Title\n\nOne two three four.'), // 5 words (the heading is not a sentence), a sentence of 4
    code('const a = 1;\n\nconst b = 2;'),
    md('Five six. Seven eight nine ten.'), // 6 words, sentences of 2 and 4
    code('show(chart)'), // a picture by its call (no outputs)
    md('Eleven.'),
    code('await model.fit(x, y)'),
  ];
  const f = proseFigures('t', cells);
  assert.equal(f.words, 12);
  assert.equal(f.wordsBeforeFirstPicture, 11);
  assert.equal(f.firstPictureCell, 3);
  assert.equal(f.wordsBeforeTraining, 12);
  assert.equal(f.trainingCell, 5);
  assert.deepEqual(f.longestCell, { index: 2, words: 6 });
  assert.equal(f.sentences, 4);
  assert.equal(f.meanSentenceWords, (4 + 2 + 4 + 1) / 4);
  assert.equal(f.codeLines, 4);
  // in an executed notebook the outputs decide: a cell that printed text is no picture, one with an SVG is
  const executed = proseFigures('e', [
    md('Intro words.'),
    code('show(x)', [{ data: { 'text/plain': 'no chart' } }]),
    md('More.'),
    code('draw()', [{ data: { 'image/svg+xml': '<svg/>' } }]),
  ]);
  assert.equal(executed.firstPictureCell, 3);
  assert.equal(executed.wordsBeforeFirstPicture, 3);
  // an image in markdown: the words of its own cell before it count
  const inline = proseFigures('i', [md('Three words here.'), md('Look at this ![cell](a.png) and more.')]);
  assert.equal(inline.wordsBeforeFirstPicture, 6);
  const none = proseFigures('n', [md('Only words.')]);
  assert.equal(none.wordsBeforeFirstPicture, null);
  assert.deepEqual(budgetProblems(none, { wordsBeforeFirstPicture: 250, wordsBeforeTraining: 1000 }), [
    'n: it shows no picture',
    'n: it trains no model',
  ]);
  assert.deepEqual(budgetProblems(f, { words: 10, longestCell: 6 }), ['t: the main-path prose is 12, over the budget of 10']);
  assert.match(proseTable([f, none]), /^notebook .*\nt .*\nn .*\ntotal +14 /);
});

test('the notebooks list in name order, which is reading order: the quick start sorts first, before 00-setup-check', () => {
  const names = courseNotebooks(NOTEBOOKS).map((f) => path.basename(f, '.ipynb'));
  assert.equal(names[0], QUICK_START);
  assert.deepEqual(names, [...names].sort());
  assert.ok(names.includes('00-setup-check') && names.includes('99-glossary'));
  assert.deepEqual(
    names.filter(isChapter),
    names.filter((n) => /^0[0-7]-/.test(n) && n !== QUICK_START),
  );
  assert.equal(isChapter(QUICK_START), false);
  assert.equal(isChapter('07-keras-models'), true);
  assert.equal(isChapter('99-glossary'), false);
});

test('a comment that names train() or show() is not a call; a call after code on the same line is', () => {
  assert.equal(withoutComments('const a = 1; // train() builds its own\n/* show(x) */ b()').includes('train('), false);
  const f = proseFigures('c', [
    md('One two.'),
    code('const m = buildModel(); // what train() builds\n/* show(chart) later */'),
    md('Three.'),
    code('const r = await train(config); show(chart);'),
  ]);
  assert.equal(f.trainingCell, 3);
  assert.equal(f.wordsBeforeTraining, 3);
  assert.equal(f.firstPictureCell, 3);
  // a URL in a string is not a comment
  assert.equal(withoutComments('fetch("http://x/train(")'), 'fetch("http://x/train(")');
});

test('cell diagrams: an SVG output or a showDiagram call; a chart is a picture but not a diagram', () => {
  const f = proseFigures('d', [
    md('Four words before charts.'),
    code('show(lossChart)', [{ data: { 'application/vnd.plotly.v1+json': {} } }]),
    md('Two more.'),
    code('showDiagram(gruCellDiagram(1))', [{ data: { 'image/svg+xml': '<svg/>', 'text/html': '<div/>' } }]),
  ]);
  assert.equal(f.firstPictureCell, 1);
  assert.equal(f.wordsBeforeFirstPicture, 4);
  assert.equal(f.firstDiagramCell, 3);
  assert.equal(f.wordsBeforeFirstDiagram, 6);
  const unexecuted = proseFigures('u', [md('A b.'), code('show(x)'), code('showDiagram(d)')]);
  assert.equal(unexecuted.firstPictureCell, 1);
  assert.equal(unexecuted.firstDiagramCell, 2);
});

test('words before the first picture or model across notebooks read in order: all of the earlier ones, then its own', () => {
  const a = proseFigures('a', [md('One two three.'), code('show(x)')]); // 3 words, a chart, no model
  const b = proseFigures('b', [md('Four five.'), code('showDiagram(d)'), md('Six.'), code('await model.fit(x, y)')]);
  assert.deepEqual(wordsBeforeFirstAcross([a, b], 'picture'), { words: 3, name: 'a', cell: 1 });
  assert.deepEqual(wordsBeforeFirstAcross([a, b], 'diagram'), { words: 3 + 2, name: 'b', cell: 1 });
  assert.deepEqual(wordsBeforeFirstAcross([a, b], 'training'), { words: 3 + 3, name: 'b', cell: 3 });
  assert.equal(wordsBeforeFirstAcross([a], 'training'), null);
});

test("the quick start keeps issue 22's budget: <= 1,500 words, a picture within 250, the model within 1,000, cells <= 300", () => {
  const f = proseFigures(QUICK_START, readNotebookCells(path.join(NOTEBOOKS, `${QUICK_START}.ipynb`)));
  process.stderr.write(`${proseTable([f])}\n`);
  assert.deepEqual(budgetProblems(f, QUICK_START_BUDGET), []);
  assert.ok(f.trainingCell !== null && f.firstPictureCell !== null && f.firstPictureCell < f.trainingCell);
});

test('every glossary link in the notebooks leads to an anchored row of the glossary', () => {
  const glossary = readNotebookCells(path.join(NOTEBOOKS, '99-glossary.ipynb'))
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
    .join('\n');
  const anchors = new Set([...glossary.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]));
  assert.ok(anchors.size >= 60, `only ${anchors.size} anchored rows`);
  const files = [...courseNotebooks(NOTEBOOKS), ...courseNotebooks(path.join(NOTEBOOKS, 'solutions'))];
  const broken: string[] = [];
  for (const file of files) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/99-glossary\.ipynb#([\w-]+)/g)) {
      if (!anchors.has(m[1])) broken.push(`${path.basename(file)} -> #${m[1]}`);
    }
  }
  assert.deepEqual(broken, []);
});
