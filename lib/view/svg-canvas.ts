/**
 * A small SVG drawing kit for the course's cell diagrams (lib/view/cell-diagrams.ts): the colours, a canvas of
 * boxes, operator circles, wires with arrowheads and labels, and text with sub- and superscripts in the
 * equations' notation (x_t, h_{t-1}, b^{rec}_h), all as self-contained SVG markup.
 */
import { round } from '../util/stats';
import { fontStack, hasHangul } from './korean';

/** A drawn diagram: its SVG and its text alternative. */
export interface Diagram {
  /** A stable name, e.g. `gru-step-2-reset-after`; also the prefix of the SVG's ids. */
  name: string;
  /** One line: what the picture is (the SVG's <title>). */
  title: string;
  /** What the picture shows, in words, for a reader who cannot see it (the SVG's <desc>). */
  description: string;
  width: number;
  height: number;
  svg: string;
}

/** The class every diagram carries (its <svg> and the html <img>); the report's browser check looks for it. */
export const DIAGRAM_CLASS = 'gru-diagram';

// ---- colours: dark ink on the diagram's own light panel ----

export const PANEL = '#fbfbf8';
export const PANEL_EDGE = '#c9ced6';
export const INK = '#1f2328';
export const MUTED = '#7f8893';
export const MUTED_FILL = '#f1f2f4';
export const COLOURS = {
  keep: '#1d5fb8', // z_t and the LSTM's forget gate: how much of the old state is kept
  write: '#1a7f37', // 1 − z_t, the candidate, the LSTM's input gate: how much new is written
  reset: '#8a3ffc', // r_t
  output: '#b35900', // the LSTM's output gate
  cell: '#b3261e', // the LSTM's cell state c_t
  ink: INK,
} as const;
export type Colour = keyof typeof COLOURS;
export const FILLS: Record<Colour, string> = {
  keep: '#e3eefc',
  write: '#e2f4e6',
  reset: '#efe6ff',
  output: '#fdeedd',
  cell: '#fbe4e2',
  ink: '#f4f5f7',
};

// Latin fonts first (the look), then the Korean ones (lib/view/korean.ts), so Hangul is drawn with real glyphs.
export const SANS = fontStack(['DejaVu Sans', 'Liberation Sans', 'Arial', 'Helvetica'], 'sans-serif');
export const SERIF = fontStack(['DejaVu Serif', 'Liberation Serif', 'Times New Roman', 'Times'], 'serif');

// ---- a small drawing kit ----

/** Whether an element is new in this picture (full colour) or shown from an earlier step (grey). */
export type Tone = 'new' | 'old';

export class Canvas {
  private readonly parts: string[] = [];
  private readonly markers = new Set<string>();

  constructor(readonly id: string) {}

  private stroke(colour: Colour, tone: Tone): string {
    return tone === 'old' ? MUTED : COLOURS[colour];
  }

  private marker(colour: string): string {
    const key = colour.replace('#', '');
    this.markers.add(colour);
    return `url(#${this.id}-arrow-${key})`;
  }

  /** A wire through the given points; `arrow` puts a head at the end; `bridge` clears a gap where it crosses other wires. */
  wire(points: [number, number][], colour: Colour, tone: Tone, opts: { arrow?: boolean; bridge?: boolean; width?: number } = {}): void {
    const d = points.map(([x, y], i) => `${i ? 'L' : 'M'}${x} ${y}`).join(' ');
    const stroke = this.stroke(colour, tone);
    if (opts.bridge) {
      // a halo in the panel's colour under the wire (not under its first 10 px, where it leaves its own bus)
      const [[x0, y0], [x1, y1]] = points;
      const len = Math.hypot(x1 - x0, y1 - y0) || 1;
      const start: [number, number] = [x0 + ((x1 - x0) * 10) / len, y0 + ((y1 - y0) * 10) / len];
      const halo = [start, ...points.slice(1)].map(([x, y], i) => `${i ? 'L' : 'M'}${x} ${y}`).join(' ');
      this.parts.push(`<path d="${halo}" fill="none" stroke="${PANEL}" stroke-width="9"/>`);
    }
    const end = opts.arrow === false ? '' : ` marker-end="${this.marker(stroke)}"`;
    this.parts.push(
      `<path class="wire" d="${d}" fill="none" stroke="${stroke}" stroke-width="${opts.width ?? 2}"` + ` stroke-linejoin="round"${end}/>`,
    );
  }

  /** A dot where a wire splits. */
  dot(x: number, y: number, colour: Colour, tone: Tone): void {
    this.parts.push(`<circle cx="${x}" cy="${y}" r="3.5" fill="${this.stroke(colour, tone)}"/>`);
  }

  /** A layer box: an affine map of its inputs, then `fn` (σ, tanh) when given; `params` names its weights. */
  box(cx: number, cy: number, w: number, h: number, fn: string, params: string, colour: Colour, tone: Tone): void {
    const stroke = this.stroke(colour, tone);
    const fill = tone === 'old' ? MUTED_FILL : FILLS[colour];
    const textColour = tone === 'old' ? MUTED : INK;
    this.parts.push(
      `<rect class="box" x="${cx - w / 2}" y="${cy - h / 2}" width="${w}" height="${h}" rx="7" fill="${fill}" stroke="${stroke}" stroke-width="2"/>`,
    );
    if (fn) {
      this.parts.push(math(cx, cy - (params ? 2 : -6), fn, { size: 18, colour: textColour, anchor: 'middle' }));
      if (params) this.parts.push(math(cx, cy + 15, params, { size: 12, colour: textColour, anchor: 'middle' }));
    } else {
      this.parts.push(math(cx, cy + 5, params, { size: 13, colour: textColour, anchor: 'middle' }));
    }
  }

  /** An elementwise operation: ⊙, +, or 1−. */
  op(cx: number, cy: number, symbol: '⊙' | '+' | '1−', colour: Colour, tone: Tone): void {
    const stroke = this.stroke(colour, tone);
    const r = symbol === '1−' ? 14 : 11;
    this.parts.push(`<circle class="op" cx="${cx}" cy="${cy}" r="${r}" fill="${PANEL}" stroke="${stroke}" stroke-width="2"/>`);
    const size = symbol === '1−' ? 13 : 18;
    this.parts.push(
      `<text x="${cx}" y="${cy + size * 0.36}" font-family="${SANS}" font-size="${size}" text-anchor="middle"` +
        ` fill="${tone === 'old' ? MUTED : INK}">${symbol}</text>`,
    );
  }

  /** A label in the course's notation (`h_{t-1}`, `b^{rec}_h`, `\tilde h_t`). */
  label(x: number, y: number, tex: string, opts: MathOptions = {}): void {
    this.parts.push(math(x, y, tex, opts));
  }

  /** Words, with formulas between `$` signs (see richText). */
  text(x: number, y: number, words: string, opts: MathOptions = {}): void {
    this.parts.push(richText(x, y, words, { size: 13, ...opts }));
  }

  /** A plain rectangle (panels, legend swatches). */
  rect(x: number, y: number, w: number, h: number, fill: string, stroke: string, opts: { rx?: number } = {}): void {
    this.parts.push(
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${opts.rx ?? 8}" fill="${fill}" stroke="${stroke}"` + ' stroke-width="1.5"/>',
    );
  }

  /** The finished SVG document. */
  render(d: Omit<Diagram, 'svg'>): string {
    const defs = [...this.markers]
      .map(
        (c) =>
          `<marker id="${this.id}-arrow-${c.replace('#', '')}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="12" markerHeight="12"` +
          ` markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${c}"/></marker>`,
      )
      .join('');
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" class="${DIAGRAM_CLASS}" width="${d.width}" height="${d.height}"`,
      ` viewBox="0 0 ${d.width} ${d.height}" role="img" aria-labelledby="${this.id}-title ${this.id}-desc">`,
      `<title id="${this.id}-title">${escapeXml(d.title)}</title>`,
      `<desc id="${this.id}-desc">${escapeXml(d.description)}</desc>`,
      `<defs>${defs}</defs>`,
      `<rect x="1" y="1" width="${d.width - 2}" height="${d.height - 2}" rx="10" fill="${PANEL}" stroke="${PANEL_EDGE}"/>`,
      ...this.parts,
      '</svg>',
    ].join('\n');
  }
}

export interface MathOptions {
  size?: number;
  colour?: string;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'bold' | 'normal';
}

/**
 * Words with formulas, as one SVG <text>: `$...$` marks the formulas (serif, variables italic, `_x`/`_{..}`
 * subscripts, `^x`/`^{..}` superscripts, `\tilde h` for h̃, `-` set as a minus sign); the rest is sans-serif.
 * Sub- and superscripts are set with dy, which every SVG renderer supports.
 */
export function richText(x: number, y: number, source: string, opts: MathOptions = {}): string {
  const size = opts.size ?? 16;
  const small = round(size * 0.72, 1);
  const spans: string[] = [];
  let shift = 0; // the current baseline offset from y, in px
  const push = (text: string, attrs: string, offset: number) => {
    const dy = offset - shift;
    shift = offset;
    spans.push(`<tspan${dy ? ` dy="${round(dy, 1)}"` : ''}${attrs}>${escapeXml(text)}</tspan>`);
  };
  const formula = (tex: string) => {
    const src = tex.replace(/\\tilde ([a-z])/g, '$1\u0303').replace(/-/g, '−');
    const serif = ` font-family="${SERIF}"`;
    const run = (text: string, script: 0 | 1 | -1) => {
      for (const m of text.matchAll(/tanh|in|rec|[A-Za-z]\u0303?|[^A-Za-z]+/g)) {
        const word = m[0];
        const italic = /^[A-Za-z]\u0303?$/.test(word) && !(script && /^(in|rec)$/.test(word)); // variables italic, names upright
        const attrs = `${serif}${script ? ` font-size="${small}"` : ''}${italic ? ' font-style="italic"' : ''}`;
        push(word, attrs, script === 1 ? size * 0.3 : script === -1 ? -size * 0.42 : 0);
      }
    };
    let i = 0;
    let plain = '';
    while (i < src.length) {
      const ch = src[i];
      if (ch !== '_' && ch !== '^') {
        plain += ch;
        i += 1;
        continue;
      }
      run(plain, 0);
      plain = '';
      let arg: string;
      if (src[i + 1] === '{') {
        const close = src.indexOf('}', i + 2);
        if (close < 0) throw new Error(`cell-diagrams: unbalanced braces in $${tex}$`);
        arg = src.slice(i + 2, close);
        i = close + 1;
      } else {
        arg = src[i + 1];
        i += 2;
      }
      run(arg, ch === '_' ? 1 : -1);
    }
    run(plain, 0);
  };
  source.split('$').forEach((piece, i) => {
    if (!piece) return;
    if (i % 2) formula(piece);
    else push(piece, hasHangul(piece) ? ' lang="ko"' : '', 0); // Korean forms of a CJK font
  });
  if (shift !== 0) spans.push(`<tspan dy="${round(-shift, 1)}"></tspan>`);
  return (
    `<text x="${x}" y="${y}" font-family="${SANS}" font-size="${size}" fill="${opts.colour ?? INK}"` +
    ` text-anchor="${opts.anchor ?? 'start'}"${opts.weight === 'bold' ? ' font-weight="bold"' : ''}>${spans.join('')}</text>`
  );
}

/** A formula alone (see richText). */
export function math(x: number, y: number, tex: string, opts: MathOptions = {}): string {
  return richText(x, y, `$${tex}$`, opts);
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
