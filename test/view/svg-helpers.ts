// Strict SVG parsing for the diagram tests (test/view/cell-diagrams.test.ts, test/view/svg-canvas.test.ts).
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';

export const SVG_NS = 'http://www.w3.org/2000/svg';

/** Parses XML strictly: any error or warning of the parser fails. */
export function parseStrict(xml: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      throw new Error(`XML ${level}: ${message}`);
    },
  }).parseFromString(xml, 'image/svg+xml');
}

/** The SVG elements of one tag, in document order. */
export function elements(doc: Document, tag: string): Element[] {
  return Array.from(doc.getElementsByTagNameNS(SVG_NS, tag));
}
