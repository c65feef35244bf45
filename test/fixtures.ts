/** Synthetic aclImdb-layout archives for tests (the real data never enters the repository). */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';

export interface FixtureEntry {
  name: string;
  text?: string;
  type?: 'file' | 'directory';
}

/** A long review (> 500 tokens) whose last words are known, to check truncation sides. */
export const LONG_REVIEW = `This one is long. ${'boring '.repeat(600)}the end`;

/**
 * A tiny aclImdb: 3 + 3 train and 2 + 2 test reviews with <br /> tags, apostrophes and numbers, a long
 * review, a word only in test ("spectacular"), and entries that must be skipped (unsup, .feat, urls, README).
 */
export function tinyCorpus(): FixtureEntry[] {
  return [
    { name: 'aclImdb/', type: 'directory' },
    { name: 'aclImdb/README', text: 'Large Movie Review Dataset (synthetic test copy)' },
    { name: 'aclImdb/imdb.vocab', text: 'the\nand\n' },
    { name: 'aclImdb/train/', type: 'directory' },
    { name: 'aclImdb/train/pos/', type: 'directory' },
    { name: 'aclImdb/train/pos/0_9.txt', text: "Great movie! I loved it.<br /><br />Don't miss it, it's GREAT." },
    { name: 'aclImdb/train/pos/1_10.txt', text: 'A great, great film. The acting was great; 10/10.' },
    { name: 'aclImdb/train/pos/2_8.txt', text: 'I loved the film<br/>and the music.' },
    { name: 'aclImdb/train/neg/', type: 'directory' },
    { name: 'aclImdb/train/neg/0_1.txt', text: "Terrible movie. I didn't like it.<br />The plot was bad, bad, bad." },
    { name: 'aclImdb/train/neg/1_3.txt', text: "Bad acting, a bad plot: don't watch it." },
    { name: 'aclImdb/train/neg/2_2.txt', text: LONG_REVIEW },
    { name: 'aclImdb/train/unsup/0_0.txt', text: 'unsupword '.repeat(1000) },
    { name: 'aclImdb/train/labeledBow.feat', text: '0 9:1 1:2\n' },
    { name: 'aclImdb/train/urls_pos.txt', text: 'http://www.imdb.com/title/tt0000000/usercomments\n' },
    { name: 'aclImdb/test/pos/0_10.txt', text: 'A spectacular film, great acting.' },
    { name: 'aclImdb/test/pos/1_7.txt', text: 'I loved it.' },
    { name: 'aclImdb/test/neg/0_4.txt', text: 'Bad movie, boring plot.' },
    { name: 'aclImdb/test/neg/1_2.txt', text: "The worst film. Don't bother.<br /><br />Boring!" },
  ];
}

/** The tar bytes (uncompressed) of the given entries. */
export async function makeTar(entries: FixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mtime: new Date(0) });
    else pack.entry({ name: e.name, type: 'file', mtime: new Date(0) }, e.text ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A .tar.gz of the given entries. */
export async function makeTarGz(entries: FixtureEntry[]): Promise<Buffer> {
  return zlib.gzipSync(await makeTar(entries));
}

/** Writes a .tar.gz of the entries (default: tinyCorpus) to dir/name and returns its path. */
export async function writeArchive(dir: string, entries: FixtureEntry[] = tinyCorpus(), name = 'aclImdb.tar.gz'): Promise<string> {
  const file = path.join(dir, name);
  await fsp.writeFile(file, await makeTarGz(entries));
  return file;
}

/** A fresh temporary folder. */
export async function tempDir(prefix = 'imdb-test-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}
