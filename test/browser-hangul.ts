/**
 * The browser check's Korean part (used by test/browser.ts's observeReport): every Hangul run a reader sees
 * must be drawn with a font that has glyphs for it, never as empty boxes. Chromium's DevTools protocol names
 * the platform fonts that drew each text node (CSS.getPlatformFontsForNode); fontconfig names the fonts that
 * cover given characters (`fc-list ':charset=…'`). Chromium draws a character no font has with its first
 * font's empty box and names that font, so a run is well drawn only when every font named for it covers it.
 * Prose (markdown cells, diagrams) must also mark its Korean lang="ko" (scripts/mark-korean.ts).
 */
import { spawnSync } from 'node:child_process';
import type { BrowserContext, Page } from 'playwright-core';
import { HANGUL_CHAR, hasHangul } from '../lib/view/korean';

/** One Hangul run (Hangul letters only) as the browser drew it. */
export interface HangulObservation {
  text: string;
  /** Where: 'page', or the diagram's name. */
  where: string;
  /** The platform font families that drew it. */
  fonts: string[];
  /** Those of `fonts` that have no glyph for some character of the run. */
  missingGlyphs: string[];
  /** The nearest lang (or xml:lang) around it; '' when none. */
  lang: string;
  /** In prose: a rendered markdown cell or a diagram (where scripts/mark-korean.ts's marks belong). */
  prose: boolean;
}

/** Families (each alias) of the fonts fontconfig has that cover every character of `chars`. */
export function fontsCovering(chars: string, env: NodeJS.ProcessEnv): Set<string> {
  const charset = [...new Set(chars)].map((c) => c.codePointAt(0)!.toString(16)).join(' ');
  const r = spawnSync('fc-list', [`:charset=${charset}`, 'family'], { env, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`fc-list failed (${r.error?.message ?? r.stderr}): the Korean check needs fontconfig (apt-get install fontconfig)`);
  }
  return new Set(
    r.stdout
      .split(/[\n,]/)
      .map((f) => f.trim())
      .filter(Boolean),
  );
}

/**
 * Every visible Hangul run of a page: its text nodes are split so each run is a node of its own (which
 * changes nothing drawn), then the DevTools protocol names the fonts that drew each, and fontconfig (with
 * the browser's environment) says which of those lack its glyphs.
 */
export async function observeHangul(page: Page, where: string, env: NodeJS.ProcessEnv): Promise<HangulObservation[]> {
  const runs = await page.evaluate((hangul: string) => {
    const re = new RegExp(`${hangul}+`, 'g');
    const XML_NS = 'http://www.w3.org/XML/1998/namespace';
    const texts: Text[] = [];
    const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) if (new RegExp(hangul).test(t.nodeValue ?? '')) texts.push(t as Text);
    const found: Text[] = [];
    for (const t of texts) {
      const matches = [...(t.nodeValue ?? '').matchAll(re)].reverse(); // from the end, so `t` keeps the part before
      for (const m of matches) {
        const run = t.splitText(m.index ?? 0);
        run.splitText(m[0].length);
        found.push(run);
      }
    }
    const visible = found.filter((t) => {
      const range = document.createRange();
      range.selectNodeContents(t);
      return range.getClientRects().length > 0;
    });
    (window as unknown as { __hangulRuns: Text[] }).__hangulRuns = visible;
    const svgDocument = document.documentElement instanceof SVGElement;
    // (no named helper functions in here: tsx's __name wrapper does not exist in the page)
    return visible.map((t) => {
      let lang = '';
      for (let e = t.parentElement; e; e = e.parentElement) {
        const own = e.getAttribute('lang') ?? e.getAttributeNS(XML_NS, 'lang');
        if (own !== null) {
          lang = own;
          break;
        }
      }
      return {
        text: t.nodeValue ?? '',
        lang,
        prose: svgDocument || t.parentElement?.closest('.jp-MarkdownOutput, .jp-RenderedMarkdown') != null,
      };
    });
  }, HANGUL_CHAR);
  if (runs.length === 0) return [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  await cdp.send('DOM.getDocument', { depth: -1 });
  const coverage = new Map<string, Set<string>>();
  const out: HangulObservation[] = [];
  for (const [i, run] of runs.entries()) {
    const { result } = await cdp.send('Runtime.evaluate', { expression: `window.__hangulRuns[${i}]` });
    const { nodeId } = await cdp.send('DOM.requestNode', { objectId: result.objectId! });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    const key = [...new Set(run.text)].sort().join('');
    if (!coverage.has(key)) coverage.set(key, fontsCovering(key, env));
    const families = [...new Set(fonts.map((f) => f.familyName))];
    out.push({ ...run, where, fonts: families, missingGlyphs: families.filter((f) => !coverage.get(key)!.has(f)) });
  }
  await cdp.detach();
  return out;
}

/** The Hangul runs of a report's diagrams (`img.gru-diagram` SVGs), each diagram opened as its own document. */
export async function observeHangulInDiagrams(context: BrowserContext, page: Page, env: NodeJS.ProcessEnv): Promise<HangulObservation[]> {
  const diagrams = await page.evaluate(() =>
    Array.from(document.querySelectorAll('img.gru-diagram'), (img) => ({
      name: img.getAttribute('data-diagram') ?? 'diagram',
      src: (img as HTMLImageElement).src,
    })),
  );
  const seen = new Set<string>();
  const out: HangulObservation[] = [];
  for (const d of diagrams) {
    if (seen.has(d.src) || !d.src.startsWith('data:image/svg+xml;base64,')) continue;
    seen.add(d.src);
    if (!hasHangul(Buffer.from(d.src.slice(d.src.indexOf(',') + 1), 'base64').toString('utf8'))) continue;
    const probe = await context.newPage();
    await probe.goto(d.src, { waitUntil: 'load' });
    out.push(...(await observeHangul(probe, `diagram ${d.name}`, env)));
    await probe.close();
  }
  return out;
}

/** Korean a reader would not see, or would see in the wrong forms, as readable lines (empty when all is well). */
export function hangulProblems(runs: HangulObservation[]): string[] {
  const listed = (rs: HangulObservation[]) =>
    rs
      .slice(0, 8)
      .map((r) => `"${r.text}" (${r.where})`)
      .join(', ') + (rs.length > 8 ? `, … ${rs.length - 8} more` : '');
  const problems: string[] = [];
  const unseen = runs.filter((r) => r.fonts.length === 0);
  if (unseen.length) problems.push(`${unseen.length} Hangul runs are visible but no font drew them: ${listed(unseen)}`);
  const boxes = runs.filter((r) => r.missingGlyphs.length > 0);
  if (boxes.length) {
    const fonts = [...new Set(boxes.flatMap((r) => r.missingGlyphs))].join(', ');
    problems.push(
      `${boxes.length} Hangul runs drawn as empty boxes with ${fonts}, which has no Hangul glyphs: ${listed(boxes)} ` +
        "(a font with Hangul is missing: `fc-list ':charset=ac00'`; npm run setup installs fonts-noto-cjk)",
    );
  }
  const unmarked = runs.filter((r) => r.prose && r.lang !== 'ko');
  if (unmarked.length) {
    problems.push(
      `${unmarked.length} Hangul runs in prose not marked lang="ko": ${listed(unmarked)} (run node --import tsx scripts/mark-korean.ts)`,
    );
  }
  return problems;
}
