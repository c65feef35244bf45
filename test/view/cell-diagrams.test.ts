// The cell diagrams: well-formed, self-contained SVG with a text alternative, in the notation of notebook 02;
// drawn in Chromium without overlapping labels, clipped text or wires through labels (PNGs of each, on a light
// and a dark page, go to test-artifacts/diagrams/ to look at); shown as one display_data bundle; and the
// report check that counts them fails when one does not render.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { DIAGRAM_CLASS, diagramBundle, gruCellDiagram, recurrentCellsDiagram, showDiagram } from '../../lib/view/cell-diagrams';
import { type Diagram } from '../../lib/view/svg-canvas';
import { SVG_NS, elements, parseStrict } from './svg-helpers';
import { diagramProblems, launchChromium, observeDiagrams } from '../browser';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'diagrams');

const ALL: Diagram[] = [
  gruCellDiagram(1),
  gruCellDiagram(2),
  gruCellDiagram(3),
  gruCellDiagram(2, 'before'),
  gruCellDiagram(3, 'before'),
  recurrentCellsDiagram(),
];

/** The visible text of every <text> element, e.g. "ht−1" for h_{t-1}. */
function texts(d: Diagram): string[] {
  return elements(parseStrict(d.svg), 'text').map((t) => t.textContent ?? '');
}

describe('every diagram is well-formed, self-contained SVG with a text alternative', () => {
  for (const d of ALL) {
    test(d.name, () => {
      const doc = parseStrict(d.svg);
      const svg = doc.documentElement!;
      assert.equal(svg.namespaceURI, SVG_NS);
      assert.equal(svg.getAttribute('role'), 'img');
      assert.equal(svg.getAttribute('class'), DIAGRAM_CLASS);
      assert.equal(svg.getAttribute('viewBox'), `0 0 ${d.width} ${d.height}`);
      const [titleId, descId] = (svg.getAttribute('aria-labelledby') ?? '').split(' ');
      const title = elements(doc, 'title')[0];
      const desc = elements(doc, 'desc')[0];
      assert.equal(title.getAttribute('id'), titleId);
      assert.equal(desc.getAttribute('id'), descId);
      assert.equal(title.textContent, d.title);
      assert.equal(desc.textContent, d.description);
      assert.ok(d.description.length > 150, 'the description says what the picture shows');
      // offline: nothing outside the document (no links, images, scripts, styles, fonts)
      for (const tag of ['image', 'script', 'style', 'foreignObject', 'use', 'a']) assert.equal(elements(doc, tag).length, 0, tag);
      assert.doesNotMatch(d.svg.replace(`xmlns="${SVG_NS}"`, ''), /https?:|@import|@font-face|xlink:href/);
      for (const m of d.svg.matchAll(/url\(([^)]*)\)/g)) assert.match(m[1], /^#/, 'only references inside the document');
      // every internal reference points at an element of the document
      const ids = new Set(Array.from(d.svg.matchAll(/ id="([^"]+)"/g), (m) => m[1]));
      for (const m of d.svg.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.has(m[1]), `missing #${m[1]}`);
    });
  }
});

describe("the GRU build-up uses the equations' symbols, step by step", () => {
  const symbols = (d: Diagram) => new Set(texts(d).flatMap((t) => [t, ...t.split(/[\s,:;()=+]+/)]));
  const all = ['xt', 'ht−1', 'zt', 'rt', 'h̃t', 'ht', 'σ', 'tanh', '⊙', '1−'];

  test('step 1 draws the two gates from x_t and h_{t-1}; no candidate yet', () => {
    const s = symbols(gruCellDiagram(1));
    for (const sym of ['xt', 'ht−1', 'zt', 'rt', 'σ']) assert.ok(s.has(sym), sym);
    for (const sym of ['h̃t', 'tanh', '⊙']) assert.ok(!s.has(sym), `${sym} belongs to a later step`);
  });

  test('step 2 adds the candidate with tanh and r_t ⊙', () => {
    const s = symbols(gruCellDiagram(2));
    for (const sym of ['h̃t', 'tanh', '⊙']) assert.ok(s.has(sym), sym);
    assert.ok(!s.has('1−'), '1 − z_t belongs to step 3');
  });

  test('step 3 has every symbol of the equations, h_t and 1 − z_t included', () => {
    for (const reset of ['after', 'before'] as const) {
      const s = symbols(gruCellDiagram(3, reset));
      for (const sym of all) assert.ok(s.has(sym), `${sym} missing in step 3, reset-${reset}: ${[...s].join(' | ')}`);
    }
  });

  test('the comparison names every state and gate of the three cells', () => {
    const s = symbols(recurrentCellsDiagram());
    for (const sym of ['xt', 'ht−1', 'ht', 'zt', 'rt', 'h̃t', 'ct−1', 'ct', 'c̃t', 'ft', 'it', 'ot', 'σ', 'tanh', '⊙', '1−', '+']) {
      assert.ok(s.has(sym), sym);
    }
    assert.match(recurrentCellsDiagram().description, /no cell state/);
    assert.match(recurrentCellsDiagram().description, /forget gate.*input gate/);
  });

  test('reset-after and reset-before differ exactly where r_t acts', () => {
    const afterTexts = texts(gruCellDiagram(2, 'after'));
    const beforeTexts = texts(gruCellDiagram(2, 'before'));
    // reset-after: h_{t-1} goes through U_h and b^rec_h first, and the tanh box adds x_t W_h + b^in_h
    assert.ok(afterTexts.includes('ht−1Uh + brech'), afterTexts.join(' | '));
    assert.ok(afterTexts.includes('Wh, binh'));
    assert.ok(!beforeTexts.includes('ht−1Uh + brech'), 'reset-before has no product before r_t');
    // reset-before: r_t ⊙ h_{t-1} enters the box, which multiplies by U_h and adds one bias
    assert.ok(beforeTexts.includes('Wh, Uh, bh'));
    assert.ok(afterTexts.some((t) => /^Reset-after \(Keras's default\): rt multiplies ht−1Uh \+ brech, after/.test(t)));
    assert.ok(beforeTexts.some((t) => /^Reset-before .*rt multiplies ht−1, before the product with Uh/.test(t)));
    // the two differ only in step 2's parts: step 1 is the same picture
    assert.equal(
      gruCellDiagram(1, 'after').svg.replace(/reset-after/g, 'X'),
      gruCellDiagram(1, 'before').svg.replace(/reset-before/g, 'X'),
    );
  });

  test("Keras's convention: z_t keeps h_{t-1}, 1 − z_t takes the candidate", () => {
    const d = gruCellDiagram(3);
    assert.ok(
      texts(d).some((t) => t.startsWith('ht = zt ⊙ ht−1 + (1 − zt) ⊙ h̃t')),
      texts(d).join(' | '),
    );
    assert.match(d.description, /h_t = z_t ⊙ h_\{t-1\} \+ \(1 − z_t\) ⊙ h̃_t/);
  });

  test('bad arguments get a clear error', () => {
    assert.throws(() => gruCellDiagram(4 as 1), /step must be 1, 2 or 3, got 4/);
    assert.throws(() => gruCellDiagram(1, 'middle' as 'after'), /reset must be 'after' or 'before', got middle/);
  });
});

describe('display', () => {
  const d = gruCellDiagram(2);
  const bundle = diagramBundle(d);

  test('one bundle: the SVG, an html <img> of it, and the text alternative', () => {
    assert.deepEqual(Object.keys(bundle).sort(), ['image/svg+xml', 'text/html', 'text/plain']);
    assert.equal(bundle['image/svg+xml'], d.svg);
    const src = /src="data:image\/svg\+xml;base64,([^"]+)"/.exec(bundle['text/html'])?.[1];
    assert.ok(src, 'a data: URI, nothing to fetch');
    assert.equal(Buffer.from(src, 'base64').toString('utf8'), d.svg);
    assert.match(bundle['text/html'], new RegExp(`<img class="${DIAGRAM_CLASS}" data-diagram="${d.name}"`));
    assert.ok(bundle['text/html'].includes(`alt="${d.title}. `));
    assert.equal(bundle['text/plain'], `[diagram] ${d.title}. ${d.description}`);
  });

  test("showDiagram sends that bundle as one display_data through tslab's writer", () => {
    const file = path.join(os.tmpdir(), 'node_modules', 'tslab', 'dist', 'jupyter.js');
    const sent: unknown[] = [];
    const cache = require.cache as Record<string, unknown>;
    cache[file] = { exports: { lastWriteDisplayData: (message: unknown, update: boolean) => sent.push({ message, update }) } };
    try {
      showDiagram(d);
    } finally {
      delete cache[file];
    }
    assert.deepEqual(sent, [{ message: { data: bundle, metadata: {}, transient: {} }, update: false }]);
  });

  test('outside a kernel, showDiagram prints the text alternative', (t) => {
    const log = t.mock.method(console, 'log', () => undefined);
    showDiagram(d);
    assert.deepEqual(
      log.mock.calls.map((c) => c.arguments),
      [[bundle['text/plain']]],
    );
  });
});

describe('in Chromium', () => {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchChromium();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });

  for (const d of ALL) {
    test(`${d.name}: labels inside the picture, apart from each other and from the wires; PNGs written`, async () => {
      assert.ok(browser);
      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      const problems = await layoutProblems(page, d.svg);
      for (const [theme, background] of [
        ['light', '#ffffff'],
        ['dark', '#111111'],
      ] as const) {
        await page.setContent(`<html><body style="margin:12px;background:${background}">${diagramBundle(d)['text/html']}</body></html>`);
        const img = await page.$('img');
        assert.ok(img);
        await img.screenshot({ path: path.join(ARTIFACTS, `${d.name}-${theme}.png`) });
      }
      await page.close();
      assert.deepEqual(problems, []);
    });
  }

  test('the layout check finds overlapping labels, clipped labels and wires through labels', async () => {
    assert.ok(browser);
    const page = await browser.newPage();
    const bad =
      `<svg xmlns="${SVG_NS}" width="300" height="100" viewBox="0 0 300 100">` +
      '<text x="20" y="40" font-size="16">first label</text><text x="40" y="44" font-size="16">second</text>' +
      '<text x="250" y="80" font-size="16">clipped at the edge</text>' +
      '<text x="20" y="90" font-size="16">crossed</text><path class="wire" d="M10 84 L120 84"/></svg>';
    const found = await layoutProblems(page, bad);
    await page.close();
    assert.deepEqual(found.sort(), [
      '"clipped at the edge" is clipped by the edge',
      '"first label" overlaps "second"',
      'a wire crosses "crossed"',
    ]);
  });

  test('the report check counts diagrams and fails on one that does not render', async () => {
    assert.ok(browser);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diagrams-'));
    const good = diagramBundle(gruCellDiagram(1))['text/html'];
    const broken = diagramBundle({ ...gruCellDiagram(2), svg: gruCellDiagram(2).svg.replace('</svg>', '') })['text/html'];
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, `<html><body>${good}${broken}</body></html>`);
    const seen = await observeDiagrams(browser, file);
    assert.deepEqual(
      seen.map((s) => s.decoded),
      [true, false],
    );
    assert.deepEqual(diagramProblems(2, seen.slice(0, 1)), ['1 diagrams in the report, the notebook shows 2']);
    assert.deepEqual(diagramProblems(1, seen.slice(0, 1)), []);
    assert.ok(
      diagramProblems(2, seen).some((p) => /diagram 2 \(gru-step-2-reset-after\) did not render/.test(p)),
      diagramProblems(2, seen).join('\n'),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/** Labels outside the picture, overlapping each other, or crossed by a wire: what a reader would trip over. */
async function layoutProblems(page: import('playwright-core').Page, svgSource: string): Promise<string[]> {
  await page.setContent(`<html><body style="margin:0">${svgSource}</body></html>`);
  const layout = await page.evaluate(() => {
    const svg = document.querySelector('svg')!;
    const labels = Array.from(svg.querySelectorAll('text')).map((t) => {
      const b = t.getBBox();
      return { text: t.textContent ?? '', x: b.x, y: b.y, w: b.width, h: b.height };
    });
    const wires = Array.from(svg.querySelectorAll('path.wire')).map((p) =>
      Array.from((p.getAttribute('d') ?? '').matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g), (m) => [Number(m[1]), Number(m[2])]),
    );
    const [, , width, height] = (svg.getAttribute('viewBox') ?? '').split(' ').map(Number);
    return { labels, wires, width, height };
  });
  const problems: string[] = [];
  const inset = 1.5; // glyph boxes include some empty space
  const boxes = layout.labels.map((l) => ({ ...l, x0: l.x + inset, y0: l.y + inset, x1: l.x + l.w - inset, y1: l.y + l.h - inset }));
  for (const b of boxes) {
    if (b.w <= 0 || b.h <= 0) problems.push(`"${b.text}" has no size`);
    if (b.x < 2 || b.y < 2 || b.x + b.w > layout.width - 2 || b.y + b.h > layout.height - 2)
      problems.push(`"${b.text}" is clipped by the edge`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) problems.push(`"${a.text}" overlaps "${b.text}"`);
    }
  }
  for (const b of boxes) {
    for (const wire of layout.wires) {
      for (let k = 1; k < wire.length; k++) {
        if (segmentHitsBox(wire[k - 1] as [number, number], wire[k] as [number, number], b)) problems.push(`a wire crosses "${b.text}"`);
      }
    }
  }
  return problems;
}

/** Whether the segment p–q passes through the box (Liang–Barsky clipping). */
function segmentHitsBox(p: [number, number], q: [number, number], b: { x0: number; y0: number; x1: number; y1: number }): boolean {
  const dx = q[0] - p[0];
  const dy = q[1] - p[1];
  let t0 = 0;
  let t1 = 1;
  for (const [den, num] of [
    [-dx, p[0] - b.x0],
    [dx, b.x1 - p[0]],
    [-dy, p[1] - b.y0],
    [dy, b.y1 - p[1]],
  ]) {
    if (den === 0) {
      if (num < 0) return false;
    } else {
      const t = num / den;
      if (den < 0) t0 = Math.max(t0, t);
      else t1 = Math.min(t1, t);
      if (t0 > t1) return false;
    }
  }
  return true;
}
