/**
 * Korean that renders: the font stacks the course's pages and diagrams name (Korean fonts after the Latin ones,
 * so Latin text keeps its look and Hangul falls through to a font that has it), and the marking of Hangul in
 * notebook markdown as `<span lang="ko">…</span>`, so that a CJK font draws its Korean forms (without the mark,
 * fontconfig picks Noto Sans CJK JP here) and screen readers read it as Korean. scripts/mark-korean.ts applies it.
 */

/** Korean fonts by platform: macOS, Windows, Google's Noto Sans KR, and Debian's fonts-noto-cjk (the setup installs it). */
export const KOREAN_FONTS = ['Apple SD Gothic Neo', 'Malgun Gothic', 'Noto Sans KR', 'Noto Sans CJK KR'] as const;

/** A CSS font-family list: the given families, then the Korean ones, then the generic family. */
export function fontStack(latin: readonly string[], generic: 'sans-serif' | 'serif' | 'monospace'): string {
  const quote = (f: string) => (/^[a-z-]+$/.test(f) ? f : `'${f}'`);
  const korean = generic === 'monospace' ? ['Noto Sans Mono CJK KR', ...KOREAN_FONTS] : KOREAN_FONTS;
  return [...latin, ...korean, generic].map(quote).join(', ');
}

/** One Hangul character: jamo, compatibility jamo, extended jamo, syllables. */
export const HANGUL_CHAR = '[\\u1100-\\u11ff\\u3130-\\u318f\\ua960-\\ua97f\\uac00-\\ud7af\\ud7b0-\\ud7ff]';

/** Whether a text holds any Hangul. */
export function hasHangul(text: string): boolean {
  return new RegExp(HANGUL_CHAR).test(text);
}

/** A Hangul run: Hangul words separated only by spaces ("기초 이해" is one run; "글로럿(자비에)" is two). */
const RUN = new RegExp(`^${HANGUL_CHAR}+(?:[ \\u00a0]+${HANGUL_CHAR}+)*`);

/** HTML elements whose content is never prose to mark. */
const VERBATIM_TAGS = new Set(['code', 'pre', 'kbd', 'samp', 'script', 'style', 'math', 'svg']);

/** What marking did: the new markdown and the runs it wrapped (none when all Hangul was already marked). */
export interface Marked {
  markdown: string;
  wrapped: string[];
}

/**
 * Wraps every unmarked Hangul run of a markdown text in `<span lang="ko">…</span>`; idempotent. Left alone:
 * fenced code and inline code, math (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`), HTML tags and comments, the content of
 * elements that already carry a `lang` attribute or hold code, link destinations and images' alt text.
 */
export function markHangul(markdown: string): Marked {
  const out: string[] = [];
  const wrapped: string[] = [];
  const src = markdown;
  let i = 0;
  const copyTo = (end: number) => {
    out.push(src.slice(i, end));
    i = end;
  };
  while (i < src.length) {
    const rest = src.slice(i);
    const lineStart = i === 0 || src[i - 1] === '\n';
    const skip = lineStart ? fencedCodeEnd(src, i) : -1;
    if (skip >= 0) {
      copyTo(skip);
      continue;
    }
    const end = verbatimEnd(src, i, rest);
    if (end > i) {
      copyTo(end);
      continue;
    }
    const run = RUN.exec(rest);
    if (run) {
      out.push(`<span lang="ko">${run[0]}</span>`);
      wrapped.push(run[0]);
      i += run[0].length;
      continue;
    }
    copyTo(i + 1);
  }
  return { markdown: out.join(''), wrapped };
}

/** Where a fenced code block starting at `i` (a line start) ends, or -1 when none starts there. */
function fencedCodeEnd(src: string, i: number): number {
  const open = /^ {0,3}(`{3,}|~{3,})[^\n]*/.exec(src.slice(i));
  if (!open) return -1;
  const fence = open[1];
  const close = new RegExp(`\\n {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*(?=\\n|$)`, 'g');
  close.lastIndex = i + open[0].length;
  const m = close.exec(src);
  return m ? m.index + m[0].length : src.length;
}

/** Where a piece starting at `i` that is copied verbatim ends (code, math, tags, links' targets), or `i` for none. */
function verbatimEnd(src: string, i: number, rest: string): number {
  const ch = src[i];
  if (ch === '\\') {
    const math = rest.startsWith('\\(') ? '\\)' : rest.startsWith('\\[') ? '\\]' : '';
    if (math) return closeAfter(src, i + 2, math);
    return Math.min(i + 2, src.length); // an escaped character (\$ is a dollar, not math)
  }
  if (ch === '$') {
    const delim = rest.startsWith('$$') ? '$$' : '$';
    const close = unescapedIndex(src, delim, i + delim.length);
    return close < 0 ? i + delim.length : close + delim.length;
  }
  if (ch === '`') {
    const ticks = /^`+/.exec(rest)![0];
    const close = new RegExp(`(?<!\`)${ticks}(?!\`)`, 'g');
    close.lastIndex = i + ticks.length;
    const m = close.exec(src);
    return m ? m.index + ticks.length : i + ticks.length;
  }
  if (rest.startsWith('<!--')) return closeAfter(src, i + 4, '-->');
  if (ch === '<') return tagEnd(src, i, rest);
  if (rest.startsWith('](')) return parenEnd(src, i + 1);
  if (rest.startsWith('![')) return closeAfter(src, i + 2, ']');
  const ref = i === 0 || src[i - 1] === '\n' ? /^ {0,3}\[[^\]\n]+\]:[ \t]*\S+/.exec(rest) : null;
  return ref ? i + ref[0].length : i;
}

/** The index just past the first `close` at or after `from` (the text's end when there is none). */
function closeAfter(src: string, from: number, close: string): number {
  const at = src.indexOf(close, from);
  return at < 0 ? src.length : at + close.length;
}

/** The first `delim` at or after `from` that no backslash escapes, or -1. */
function unescapedIndex(src: string, delim: string, from: number): number {
  for (let at = src.indexOf(delim, from); at >= 0; at = src.indexOf(delim, at + 1)) {
    let slashes = 0;
    while (src[at - 1 - slashes] === '\\') slashes++;
    if (slashes % 2 === 0) return at;
  }
  return -1;
}

/** A link destination `(…)` opening at `open`: the index past its matching parenthesis. */
function parenEnd(src: string, open: number): number {
  let depth = 0;
  for (let at = open; at < src.length; at++) {
    if (src[at] === '\n') return at;
    if (src[at] === '(') depth++;
    else if (src[at] === ')' && --depth === 0) return at + 1;
  }
  return src.length;
}

/** An HTML tag at `i`: past the tag, or past its element's end when it carries `lang` or holds code; `i` if no tag. */
function tagEnd(src: string, i: number, rest: string): number {
  const tag = /^<(\/?)([A-Za-z][\w-]*)(?:\s[^<>]*)?>|^<[a-z][\w+.-]*:[^\s<>]*>/i.exec(rest);
  if (!tag) return i;
  const end = i + tag[0].length;
  const name = tag[2]?.toLowerCase();
  if (!name || tag[1] || tag[0].endsWith('/>')) return end;
  if (!VERBATIM_TAGS.has(name) && !/\slang\s*=/i.test(tag[0])) return end;
  // skip to the matching close tag, counting nested elements of the same name
  const re = new RegExp(`<(/?)${name}\\b[^>]*>`, 'gi');
  re.lastIndex = end;
  let depth = 1;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    depth += m[1] ? -1 : m[0].endsWith('/>') ? 0 : 1;
    if (depth === 0) return m.index + m[0].length;
  }
  return src.length;
}

/** A notebook as JSON, as much of it as marking needs. */
export interface NotebookJson {
  cells: { cell_type: string; source: string | string[] }[];
}

/** Marks the Hangul of every markdown cell of a notebook (in place); returns the runs wrapped, cell by cell. */
export function markNotebookHangul(nb: NotebookJson): { cell: number; wrapped: string[] }[] {
  const changes: { cell: number; wrapped: string[] }[] = [];
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'markdown') return;
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    const marked = markHangul(source);
    if (marked.wrapped.length === 0) return;
    cell.source = Array.isArray(cell.source) ? splitLines(marked.markdown) : marked.markdown;
    changes.push({ cell: index, wrapped: marked.wrapped });
  });
  return changes;
}

/** A text as nbformat's list of lines, each keeping its newline. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}
