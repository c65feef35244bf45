// The SVG drawing kit (lib/view/svg-canvas.ts): text in the equations' notation, and a canvas that renders a
// well-formed, self-contained picture with its text alternative.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Canvas, math } from '../../lib/view/svg-canvas';
import { SVG_NS, elements, parseStrict } from './svg-helpers';

describe('math text', () => {
  test('subscripts and superscripts are smaller and return to the baseline', () => {
    const xml = math(0, 0, 'b^{rec}_h + h_{t-1}');
    const doc = parseStrict(`<svg xmlns="${SVG_NS}">${xml}</svg>`);
    const spans = elements(doc, 'tspan');
    const total = spans.reduce((sum, s) => sum + Number(s.getAttribute('dy') ?? 0), 0);
    assert.ok(Math.abs(total) < 1e-9, `dy adds up to ${total}`);
    const scripts = spans.filter((s) => s.getAttribute('font-size')).map((s) => s.textContent);
    assert.deepEqual(scripts, ['rec', 'h', 't', '−1']);
    assert.equal(spans.find((s) => s.textContent === 'rec')?.getAttribute('font-style'), null, 'names are upright');
    assert.equal(spans.find((s) => s.textContent === 'b')?.getAttribute('font-style'), 'italic', 'variables are italic');
  });
});

describe('math text, bad input', () => {
  test('unbalanced braces are an error that names them', () => {
    assert.throws(() => math(0, 0, 'h_{t-1'), /unbalanced braces/);
  });
});

describe('Canvas', () => {
  test('renders a well-formed SVG with its title and description, one arrowhead marker per colour used, on its own panel', () => {
    const c = new Canvas('t1');
    c.box(100, 60, 80, 40, 'σ', 'W_z, U_z, b_z', 'keep', 'new');
    c.wire(
      [
        [10, 60],
        [60, 60],
      ],
      'keep',
      'new',
      { arrow: true },
    );
    c.wire(
      [
        [140, 60],
        [190, 60],
      ],
      'write',
      'old',
      { arrow: true },
    );
    c.op(200, 60, '⊙', 'write', 'new');
    c.label(100, 110, 'z_t');
    const svg = c.render({ name: 't1', title: 'A test <picture>', description: 'two wires & a box', width: 240, height: 140 });
    const doc = parseStrict(svg);
    const root = doc.documentElement!;
    assert.equal(root.namespaceURI, SVG_NS);
    assert.equal(root.getAttribute('role'), 'img');
    assert.equal(elements(doc, 'title')[0].textContent, 'A test <picture>', 'text is escaped, not markup');
    assert.equal(elements(doc, 'desc')[0].textContent, 'two wires & a box');
    assert.equal(elements(doc, 'marker').length, 2, 'one marker for the new colour, one for the grey of earlier steps');
    assert.ok(elements(doc, 'rect').length >= 2, 'the panel and the box');
  });
});
