import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  ImdbError,
  OOV_ID,
  REPO_ROOT,
  START_ID,
  TOKENIZER_VERSION,
  buildVocabulary,
  corpusFrame,
  countWords,
  decode,
  downloadArchive,
  encodeText,
  encodeTexts,
  formatProgress,
  loadImdb,
  loadVocabulary,
  locateArchive,
  mulberry32,
  padSequences,
  parseReviewPath,
  rankWords,
  readReviews,
  saveVocabulary,
  shuffledIndices,
  stderrProgress,
  tokenize,
  vocabularyCoverage,
  vocabularyFromCounts,
  vocabularyFromJson,
  vocabularyToJson,
  wordFrequencyFrame,
  type ImdbProgress,
  type LoadOptions,
  type Vocabulary,
} from '../lib/imdb';
import { LONG_REVIEW, makeTar, makeTarGz, tempDir as makeTempDir, tinyCorpus, writeArchive, type FixtureEntry } from './fixtures';

// The real-archive test may use IMDB_ARCHIVE; every other test must not see it.
const REAL_ARCHIVE = process.env.IMDB_ARCHIVE || path.resolve(REPO_ROOT, '..', 'shared', 'data', 'aclImdb_v1-labeled.tar.gz');
delete process.env.IMDB_ARCHIVE;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of tempDirs) await fsp.rm(dir, { recursive: true, force: true });
});

/** Options for a hermetic load: temp data/cache dirs, no download, progress and warnings collected. */
function hermetic(dataDir: string, extra: LoadOptions = {}) {
  const warnings: string[] = [];
  const progress: ImdbProgress[] = [];
  const options: LoadOptions = {
    dataDir,
    download: false,
    onWarning: (m) => warnings.push(m),
    onProgress: (p) => progress.push(p),
    ...extra,
  };
  return { options, warnings, progress };
}

async function tinySetup(entries?: FixtureEntry[]) {
  const dir = await tempDir();
  const archive = await writeArchive(dir, entries);
  return { dir, archive };
}

function rows(x: Int32Array, maxLen: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < x.length; i += maxLen) out.push(Array.from(x.subarray(i, i + maxLen)));
  return out;
}

async function cacheFiles(cacheDir: string): Promise<string[]> {
  return (await fsp.readdir(cacheDir)).filter((f) => f.startsWith('imdb-') && f.endsWith('.bin'));
}

async function expectImdbError(promise: Promise<unknown>, code: string, ...mentions: (string | RegExp)[]): Promise<ImdbError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ImdbError, `expected ImdbError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.match(err.message, typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
    return err;
  }
  assert.fail(`expected ImdbError ${code}, but nothing was thrown`);
}

// --- tokenizer and file names ----------------------------------------------------------------

test('tokenize: lowercases, strips <br /> tags and punctuation, keeps inner apostrophes and numbers', () => {
  assert.deepEqual(tokenize("Great movie!<br /><br />Don't miss it, it's GREAT."), ['great', 'movie', "don't", 'miss', 'it', "it's", 'great']);
  assert.deepEqual(tokenize('end<br/>start<BR>x<br  />y'), ['end', 'start', 'x', 'y']);
  assert.deepEqual(tokenize("'Quoted' words, students' books"), ['quoted', 'words', 'students', 'books']);
  assert.deepEqual(tokenize('Rated 10/10 (7.5 stars), well-made'), ['rated', '10', '10', '7', '5', 'stars', 'well', 'made']);
  assert.deepEqual(tokenize('It\u2019s rock\'n\'roll'), ["it's", "rock'n'roll"]);
  assert.deepEqual(tokenize('Amélie -- ... !!!'), ['amélie']);
  assert.deepEqual(tokenize(''), []);
});

test('parseReviewPath keeps {train,test}/{pos,neg}/<id>_<rating>.txt and nothing else', () => {
  assert.deepEqual(parseReviewPath('aclImdb/train/pos/12_9.txt'), { split: 'train', label: 1, id: 12, rating: 9 });
  assert.deepEqual(parseReviewPath('aclImdb/test/neg/0_2.txt'), { split: 'test', label: 0, id: 0, rating: 2 });
  for (const skipped of ['aclImdb/train/unsup/0_0.txt', 'aclImdb/train/labeledBow.feat', 'aclImdb/train/urls_pos.txt', 'aclImdb/README', 'aclImdb/train/pos/'])
    assert.equal(parseReviewPath(skipped), null, skipped);
});

// --- padding, shuffling, vocabulary ----------------------------------------------------------

test('padSequences follows Keras: pre padding, pre truncation (keep the last maxLen) by default', () => {
  const seqs = [[1, 2, 3], [1, 2, 3, 4, 5, 6], []];
  assert.deepEqual(padSequences(seqs, { maxLen: 4 }), {
    values: Int32Array.from([0, 1, 2, 3, 3, 4, 5, 6, 0, 0, 0, 0]),
    shape: [3, 4],
  });
  assert.deepEqual(rows(padSequences(seqs, { maxLen: 4, padding: 'post', truncating: 'post' }).values, 4), [[1, 2, 3, 0], [1, 2, 3, 4], [0, 0, 0, 0]]);
  assert.deepEqual(rows(padSequences(seqs, { maxLen: 4, padding: 'post' }).values, 4), [[1, 2, 3, 0], [3, 4, 5, 6], [0, 0, 0, 0]]);
  assert.deepEqual(rows(padSequences(seqs, { maxLen: 4, truncating: 'post', value: -1 }).values, 4), [[-1, 1, 2, 3], [1, 2, 3, 4], [-1, -1, -1, -1]]);
  assert.deepEqual(padSequences([[5], [6, 7]]).shape, [2, 2], 'maxLen defaults to the longest');
  assert.deepEqual(padSequences([Int32Array.from([7, 8, 9])], { maxLen: 2 }).values, Int32Array.from([8, 9]));
  assert.throws(() => padSequences(seqs, { maxLen: -1 }), ImdbError);
});

test('mulberry32 and shuffledIndices are deterministic permutations', () => {
  assert.deepEqual(Array.from({ length: 3 }, mulberry32(113)), Array.from({ length: 3 }, mulberry32(113)));
  assert.notDeepEqual(Array.from({ length: 3 }, mulberry32(113)), Array.from({ length: 3 }, mulberry32(114)));
  const a = shuffledIndices(1000, mulberry32(113));
  assert.deepEqual(a, shuffledIndices(1000, mulberry32(113)));
  assert.notDeepEqual(a, shuffledIndices(1000, mulberry32(7)));
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  for (const r of Array.from({ length: 1000 }, mulberry32(1))) assert.ok(r >= 0 && r < 1);
});

test('vocabulary: ranked by frequency, ties alphabetical, ids offset by 3, numWords bounds every id', () => {
  const vocab = buildVocabulary([['b', 'a', 'c', 'c'], ['c', 'b', 'a', 'd']]);
  // c: 3, then a and b tie at 2 (alphabetical), then d: 1
  assert.deepEqual(vocab.idToWord, ['[PAD]', '[START]', '[OOV]', '[UNUSED]', 'c', 'a', 'b', 'd']);
  assert.equal(vocab.wordToId.get('c'), 4);
  assert.deepEqual(vocab.counts, [0, 0, 0, 0, 3, 2, 2, 1]);
  assert.equal(vocab.distinctWords, 4);
  const small = vocabularyFromCounts(new Map([['c', 3], ['a', 2], ['b', 2], ['d', 1]]), 6);
  assert.deepEqual([...small.wordToId], [['c', 4], ['a', 5]]);
  assert.deepEqual(encodeText('c a b d zzz', small), [START_ID, 4, 5, OOV_ID, OOV_ID, OOV_ID]);
  assert.throws(() => vocabularyFromCounts(new Map(), 4), /numWords/);
});

test('decode skips padding and shows markers; encodeTexts pads with the loader defaults', () => {
  const vocab = buildVocabulary([tokenize("the film wasn't good, the end")]);
  const ids = encodeText("The film wasn't BAD<br />", vocab);
  assert.deepEqual(ids, [1, 4, vocab.wordToId.get('film'), vocab.wordToId.get("wasn't"), OOV_ID]);
  assert.equal(decode([0, 0, ...ids, 3], vocab), "[START] the film wasn't [OOV] [UNUSED]");
  const batch = encodeTexts(['the end', 'good'], vocab, { maxLen: 4 });
  assert.deepEqual(batch.shape, [2, 4]);
  assert.deepEqual(rows(batch.values, 4), [[0, 1, 4, vocab.wordToId.get('end')], [0, 0, 1, vocab.wordToId.get('good')]]);
  assert.equal(encodeTexts(['x'], vocab).shape[1], 500);
});

test('vocabulary JSON round trip; bad or foreign vocabularies are rejected', async () => {
  const dir = await tempDir();
  const vocab = buildVocabulary([tokenize("don't stop, don't")], 100);
  const file = path.join(dir, 'vocab.json');
  await saveVocabulary(vocab, file);
  const back = await loadVocabulary(file);
  assert.deepEqual(back.idToWord, vocab.idToWord);
  assert.deepEqual([...back.wordToId], [...vocab.wordToId]);
  assert.equal(back.numWords, 100);
  assert.deepEqual(encodeText("Don't!", back), [1, 4]);
  assert.deepEqual(await fsp.readdir(dir), ['vocab.json'], 'no temp file left behind');

  await fsp.writeFile(file, '{ not json');
  await expectImdbError(loadVocabulary(file), 'VOCABULARY_INVALID', file);
  await expectImdbError(loadVocabulary(path.join(dir, 'missing.json')), 'VOCABULARY_INVALID', 'missing.json');
  const json = vocabularyToJson(vocab);
  assert.throws(() => vocabularyFromJson({ ...json, tokenizerVersion: TOKENIZER_VERSION + 1 }), /tokenizer version/);
  assert.throws(() => vocabularyFromJson({ ...json, words: ['a', 'a'], counts: [1, 1] }), /duplicate/);
  assert.throws(() => vocabularyFromJson({ ...json, numWords: 5 }), /numWords/);
});

// --- reading archives --------------------------------------------------------------------------

test('readReviews streams the labeled reviews and skips unsup, .feat, urls and README', async () => {
  const { archive } = await tinySetup();
  const progress: ImdbProgress[] = [];
  const reviews = [];
  for await (const r of readReviews(archive, (p) => progress.push(p))) reviews.push(r);
  assert.equal(reviews.length, 10);
  assert.ok(!reviews.some((r) => r.text.includes('unsupword')));
  assert.deepEqual(reviews[0], { split: 'train', label: 1, id: 0, rating: 9, text: "Great movie! I loved it.<br /><br />Don't miss it, it's GREAT." });
  const last = progress.at(-1);
  assert.ok(last && last.stage === 'read' && last.done && last.reviews === 10 && last.bytes === last.totalBytes);
});

test('bad archives: truncated gzip, garbage, empty tar, truncated tar, missing split', async () => {
  const dir = await tempDir();
  const good = await makeTarGz(tinyCorpus());
  const cases: Array<[string, Buffer, string, string[]]> = [
    ['truncated.tar.gz', good.subarray(0, Math.floor(good.length / 2)), 'ARCHIVE_CORRUPT', ['corrupt or truncated', 'unexpected end of file']],
    ['garbage.tar.gz', Buffer.from('<html>404 not found</html>'), 'ARCHIVE_CORRUPT', ['corrupt or truncated']],
    ['zero-bytes.tar.gz', Buffer.alloc(0), 'ARCHIVE_CORRUPT', ['corrupt or truncated']],
    ['empty-tar.tar.gz', zlib.gzipSync(Buffer.alloc(1024)), 'ARCHIVE_CORRUPT', ['no tar entries']],
    ['not-a-tar.tar.gz', zlib.gzipSync(Buffer.from('plain text '.repeat(100))), 'ARCHIVE_CORRUPT', ['Invalid tar header']],
    ['cut-tar.tar.gz', zlib.gzipSync((await makeTar(tinyCorpus())).subarray(0, 3000)), 'ARCHIVE_CORRUPT', ['Unexpected end of data']],
    ['no-test-neg.tar.gz', await makeTarGz(tinyCorpus().filter((e) => !e.name.includes('test/neg'))), 'SPLIT_MISSING', ['no test/neg reviews', 'test/pos 2']],
  ];
  for (const [name, bytes, code, mentions] of cases) {
    const file = path.join(dir, name);
    await fsp.writeFile(file, bytes);
    const { options } = hermetic(dir, { archivePath: file });
    await expectImdbError(loadImdb(options), code, file, ...mentions);
  }
  assert.deepEqual(await cacheFiles(path.join(dir, 'cache')), [], 'no encoded cache written for a bad archive');
});

test('no archive anywhere with download disabled: ARCHIVE_NOT_FOUND lists every place and the fix', async () => {
  const dir = await tempDir();
  const missing = path.join(dir, 'nope.tar.gz');
  process.env.IMDB_ARCHIVE = path.join(dir, 'also-missing.tar.gz');
  try {
    const { options, warnings } = hermetic(dir, { archivePath: missing });
    await expectImdbError(loadImdb(options), 'ARCHIVE_NOT_FOUND', missing, 'also-missing.tar.gz', path.join(dir, 'aclImdb_v1.tar.gz'), 'disabled', 'set IMDB_ARCHIVE');
    assert.equal(warnings.length, 2, 'a warning for each set-but-missing path');
  } finally {
    delete process.env.IMDB_ARCHIVE;
  }
  const { options } = hermetic(dir);
  await expectImdbError(loadImdb(options), 'ARCHIVE_NOT_FOUND', 'archivePath option: not set', 'IMDB_ARCHIVE environment variable: not set');
});

test('archive resolution order: explicit path, then IMDB_ARCHIVE, then <dataDir>/aclImdb_v1.tar.gz', async () => {
  const dir = await tempDir();
  const explicit = await writeArchive(dir, tinyCorpus(), 'explicit.tar.gz');
  const fromEnv = await writeArchive(dir, tinyCorpus(), 'env.tar.gz');
  const cached = await writeArchive(dir, tinyCorpus(), 'aclImdb_v1.tar.gz');
  const opts = { dataDir: dir, download: false, onWarning: () => {} };
  process.env.IMDB_ARCHIVE = fromEnv;
  try {
    assert.equal(await locateArchive({ ...opts, archivePath: explicit }), explicit);
    assert.equal(await locateArchive(opts), fromEnv);
  } finally {
    delete process.env.IMDB_ARCHIVE;
  }
  assert.equal(await locateArchive(opts), cached);
});

// --- loading, encoding, caching --------------------------------------------------------------

test('loadImdb on a tiny archive: Keras conventions, train-only vocabulary, pre padding and truncation', async () => {
  const { dir, archive } = await tinySetup();
  const { options, progress } = hermetic(dir, { archivePath: archive, maxLen: 12 });
  const data = await loadImdb(options);
  const { train, test: testSplit, vocab } = data;
  assert.equal(train.size, 6);
  assert.equal(testSplit.size, 4);
  assert.equal(train.x.length, 6 * 12);
  assert.deepEqual([...train.y].sort(), [0, 0, 0, 1, 1, 1]);
  assert.deepEqual([...testSplit.y].sort(), [0, 0, 1, 1]);
  assert.ok(progress.some((p) => p.stage === 'read' && p.done));

  // boring (600x, the long review) is the most frequent word -> 4; bad, great and the tie at 5 -> alphabetical
  assert.deepEqual(vocab.idToWord.slice(0, 9), ['[PAD]', '[START]', '[OOV]', '[UNUSED]', 'boring', 'bad', 'great', 'the', 'it']);
  assert.equal(vocab.counts[4], 600);
  for (const testOnly of ['spectacular', 'worst', 'bother']) assert.equal(vocab.wordToId.get(testOnly), undefined, testOnly);
  assert.equal(vocab.wordToId.get('unsupword'), undefined, 'unsup reviews are skipped');
  assert.equal(vocab.wordToId.get('[START]'), undefined);

  // Every row equals the reference path tokenize -> encodeText -> padSequences, looked up by id.
  const texts = new Map(tinyCorpus().filter((e) => e.text !== undefined).map((e) => [e.name, e.text!]));
  for (const split of ['train', 'test'] as const) {
    const s = data[split];
    for (let i = 0; i < s.size; i++) {
      const name = `aclImdb/${split}/${s.y[i] ? 'pos' : 'neg'}/${s.ids[i]}_${s.ratings[i]}.txt`;
      const encoded = encodeText(texts.get(name)!, vocab);
      assert.equal(s.lengths[i], encoded.length, name);
      assert.deepEqual(data.row(split, i), padSequences([encoded], { maxLen: 12 }).values, name);
    }
  }
  // The test-only word is OOV in its test review.
  const spectacular = [...testSplit.ids].findIndex((id, i) => id === 0 && testSplit.y[i] === 1);
  assert.equal(data.decodeRow('test', spectacular), '[START] a [OOV] film great acting');
  // The long review keeps its last 12 tokens (no start token); short ones start with 1 after the padding.
  const long = [...train.ids].findIndex((id, i) => id === 2 && train.y[i] === 0);
  assert.equal(train.lengths[long], tokenize(LONG_REVIEW).length + 1);
  assert.equal(data.decodeRow('train', long), 'boring '.repeat(10) + 'the end');
  for (let i = 0; i < train.size; i++) {
    if (train.lengths[i] > 12) continue;
    const row = data.row('train', i);
    assert.equal(row[12 - train.lengths[i]], START_ID);
    assert.ok(row.subarray(0, 12 - train.lengths[i]).every((v) => v === 0));
  }
});

test('loadImdb: post padding/truncation options, numWords bound, seeded shuffle', async () => {
  const { dir, archive } = await tinySetup();
  const base = hermetic(dir, { archivePath: archive, maxLen: 8 }).options;
  const post = await loadImdb({ ...base, padding: 'post', truncating: 'post' });
  for (let i = 0; i < post.train.size; i++) assert.equal(post.row('train', i)[0], START_ID, 'post truncation keeps the start');
  const long = [...post.train.lengths].findIndex((n) => n > 8);
  assert.equal(post.decodeRow('train', long), '[START] this one is long boring boring boring');

  const bounded = await loadImdb({ ...base, numWords: 8 });
  assert.deepEqual(bounded.vocab.idToWord, ['[PAD]', '[START]', '[OOV]', '[UNUSED]', 'boring', 'bad', 'great', 'the']);
  assert.ok([...bounded.train.x, ...bounded.test.x].every((id) => id < 8));
  assert.ok(bounded.train.x.includes(OOV_ID));

  const order = (seed: number) => loadImdb({ ...base, seed }).then((d) => [...d.train.ids].map((id, i) => `${d.train.y[i]}/${id}`).join(' '));
  assert.equal(await order(113), await order(113));
  const orders = new Set(await Promise.all([1, 2, 3, 113].map(order)));
  assert.ok(orders.size > 1, 'different seeds give different orders');
  // Shuffle does not depend on the order of files in the archive.
  const reversed = await writeArchive(dir, [...tinyCorpus()].reverse(), 'reversed.tar.gz');
  const again = await loadImdb({ ...base, archivePath: reversed });
  assert.deepEqual(again.train.ids, (await loadImdb(base)).train.ids);
  assert.deepEqual(again.vocab.idToWord, (await loadImdb(base)).vocab.idToWord);
});

test('cache: hit on the second load; numWords, maxLen or archive content changes miss', async () => {
  const { dir, archive } = await tinySetup();
  const cacheDir = path.join(dir, 'cache');
  const { options, warnings } = hermetic(dir, { archivePath: archive, maxLen: 10 });
  const first = await loadImdb(options);
  assert.equal(first.info.fromCache, false);
  assert.equal(first.info.cacheFile?.startsWith(cacheDir), true);
  const second = await loadImdb(options);
  assert.equal(second.info.fromCache, true);
  assert.deepEqual(second.train, first.train);
  assert.deepEqual(second.test, first.test);
  assert.deepEqual(second.vocab, first.vocab);
  assert.equal((await fsp.readFile(path.join(cacheDir, '.gitignore'), 'utf8')).trim(), '*');

  assert.equal((await loadImdb({ ...options, numWords: 9 })).info.fromCache, false);
  assert.equal((await loadImdb({ ...options, maxLen: 11 })).info.fromCache, false);
  assert.equal((await loadImdb({ ...options, seed: 5 })).info.fromCache, false);
  assert.equal((await loadImdb({ ...options, numWords: 9 })).info.fromCache, true);
  assert.equal((await cacheFiles(cacheDir)).length, 4);

  // Same path, new content: the archive hash changes, so the old arrays are not used.
  const changed = tinyCorpus().map((e) => (e.name.endsWith('train/pos/2_8.txt') ? { ...e, text: 'A brand new review, loved it' } : e));
  await writeArchive(dir, changed);
  const third = await loadImdb(options);
  assert.equal(third.info.fromCache, false);
  assert.notEqual(third.info.archiveSha256, first.info.archiveSha256);
  assert.ok(third.vocab.wordToId.has('brand'));
  assert.deepEqual(warnings, []);
  assert.ok((await fsp.readdir(cacheDir)).every((f) => !f.endsWith('.tmp')), 'no temp files left');
});

test('cache: the archive hash is remembered by path + size + mtime', async () => {
  const { dir, archive } = await tinySetup();
  const { options } = hermetic(dir, { archivePath: archive });
  const first = await loadImdb(options);
  const hashFile = path.join(dir, 'cache', 'archive-sha256.json');
  const known = JSON.parse(await fsp.readFile(hashFile, 'utf8'));
  assert.equal(known[archive].sha256, first.info.archiveSha256);
  // A remembered hash is trusted while size and mtime match (proves it is not recomputed)...
  known[archive].sha256 = 'f'.repeat(64);
  await fsp.writeFile(hashFile, JSON.stringify(known));
  assert.equal((await loadImdb(options)).info.archiveSha256, 'f'.repeat(64));
  // ...and recomputed when the file changes.
  const later = new Date(Date.now() + 5000);
  await fsp.utimes(archive, later, later);
  assert.equal((await loadImdb(options)).info.archiveSha256, first.info.archiveSha256);
  // A garbage hash file is ignored.
  await fsp.writeFile(hashFile, 'garbage');
  assert.equal((await loadImdb(options)).info.archiveSha256, first.info.archiveSha256);
});

test('cache: corrupt, truncated or garbage cache files are detected and rebuilt', async () => {
  const { dir, archive } = await tinySetup();
  const { options, warnings } = hermetic(dir, { archivePath: archive, maxLen: 10 });
  const reference = await loadImdb(options);
  const file = reference.info.cacheFile!;
  const good = await fsp.readFile(file);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 40] ^= 0xff;
  const damaged: Array<[Buffer, RegExp]> = [
    [flipped, /checksum mismatch/],
    [good.subarray(0, good.length - 7), /truncated/],
    [Buffer.from('garbage, not a cache'), /bad magic/],
    [good.subarray(0, 20), /truncated header|bad magic/],
  ];
  for (const [bytes, reason] of damaged) {
    await fsp.writeFile(file, bytes);
    warnings.length = 0;
    const rebuilt = await loadImdb(options);
    assert.equal(rebuilt.info.fromCache, false);
    assert.deepEqual(rebuilt.train, reference.train);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], reason);
    assert.match(warnings[0], /rebuilding/);
    assert.ok(warnings[0].includes(file));
    assert.deepEqual(await fsp.readFile(file), good, 'a valid cache file was written back');
    assert.equal((await loadImdb(options)).info.fromCache, true);
  }
});

test('cache: unreadable or unwritable cache warns, still returns the data', async () => {
  const { dir, archive } = await tinySetup();
  const { options, warnings } = hermetic(dir, { archivePath: archive, maxLen: 10 });
  const reference = await loadImdb(options);
  // Unreadable: the cache file's path is a directory (EISDIR; chmod cannot stop root from reading).
  const file = reference.info.cacheFile!;
  await fsp.rm(file);
  await fsp.mkdir(path.join(file, 'sub'), { recursive: true });
  const data = await loadImdb(options);
  assert.deepEqual(data.train, reference.train);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0], /cannot read cache file .*EISDIR.*rebuilding/);
  assert.match(warnings[1], /could not write the IMDB cache .*cacheDir/);
  assert.ok(warnings[1].includes(file));

  // Unwritable: the cache folder is a regular file.
  const blocked = path.join(dir, 'not-a-folder');
  await fsp.writeFile(blocked, 'x');
  warnings.length = 0;
  const again = await loadImdb({ ...options, cacheDir: blocked });
  assert.deepEqual(again.test, reference.test);
  assert.ok(warnings.some((w) => w.includes('could not write the IMDB cache') && w.includes(blocked)), warnings.join('\n'));

  // cache: false neither reads nor writes.
  const noCache = hermetic(path.join(dir, 'fresh'), { archivePath: archive, cache: false });
  assert.equal((await loadImdb(noCache.options)).info.cacheFile, null);
  assert.equal(fs.existsSync(path.join(dir, 'fresh')), false);
});

test('subset, toTensors and option validation', async () => {
  const { dir, archive } = await tinySetup();
  const data = await loadImdb(hermetic(dir, { archivePath: archive, maxLen: 6 }).options);
  const small = data.subset(2, 1);
  assert.equal(small.train.size, 2);
  assert.equal(small.test.size, 1);
  assert.deepEqual(small.train.x, data.train.x.subarray(0, 12));
  assert.equal(data.subset(100).train.size, 6);
  assert.throws(() => data.subset(-1), ImdbError);

  const { x, y } = small.toTensors('train');
  try {
    assert.deepEqual(x.shape, [2, 6]);
    assert.equal(x.dtype, 'int32');
    assert.deepEqual(y.shape, [2, 1]);
    assert.equal(y.dtype, 'float32');
    assert.deepEqual(Array.from(x.dataSync()), Array.from(small.train.x));
    assert.deepEqual(Array.from(y.dataSync()), Array.from(small.train.y));
  } finally {
    x.dispose();
    y.dispose();
  }
  const bad: LoadOptions[] = [{ numWords: 4 }, { numWords: 1.5 }, { maxLen: 0 }, { seed: -1 }, { padding: 'middle' as 'pre' }];
  for (const o of bad) await expectImdbError(loadImdb({ ...hermetic(dir, { archivePath: archive }).options, ...o }), 'INVALID_OPTION');
});

test('corpusFrame: a polars view of the raw labeled reviews', async () => {
  const { archive } = await tinySetup();
  const df = await corpusFrame({ archivePath: archive, onProgress: () => {} });
  assert.deepEqual(df.columns, ['split', 'label', 'id', 'rating', 'tokens', 'text']);
  assert.equal(df.height, 10);
  assert.deepEqual(df.getColumn('split').toArray(), ['train', 'train', 'train', 'train', 'train', 'train', 'test', 'test', 'test', 'test']);
  assert.deepEqual(df.getColumn('label').toArray(), [0, 0, 0, 1, 1, 1, 0, 0, 1, 1]);
  const first = df.row(0);
  assert.equal(first[4], tokenize("Terrible movie. I didn't like it.<br />The plot was bad, bad, bad.").length);
  assert.ok(!df.getColumn('text').toArray().some((t) => String(t).includes('unsupword')));
  const onlyTest = await corpusFrame({ archivePath: archive, splits: ['test'], onProgress: () => {} });
  assert.equal(onlyTest.height, 4);
});

// --- download ----------------------------------------------------------------------------------

async function serve(handler: http.RequestListener): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/aclImdb_v1.tar.gz`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('download: from a local server into <dataDir> with progress, then used by loadImdb', async () => {
  const body = await makeTarGz(tinyCorpus());
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
    // Two chunks so progress reports an intermediate value.
    res.write(body.subarray(0, 100));
    setTimeout(() => res.end(body.subarray(100)), 10);
  });
  try {
    const dir = await tempDir();
    const { options, progress } = hermetic(dir, { download: true, url: server.url, maxLen: 10 });
    const data = await loadImdb(options);
    const dest = path.join(dir, 'aclImdb_v1.tar.gz');
    assert.equal(data.info.archivePath, dest);
    assert.deepEqual(await fsp.readFile(dest), body);
    assert.equal(data.train.size, 6);
    const downloads = progress.filter((p) => p.stage === 'download');
    assert.ok(downloads.length >= 2);
    const last = downloads.at(-1)!;
    assert.ok(last.stage === 'download' && last.done && last.bytes === body.length && last.totalBytes === body.length);
    assert.ok(last.bytesPerSecond > 0);
    assert.match(formatProgress(downloads[0]), /downloading \[#*-+\] \d+\.\d% 0\.0\/0\.0 MB \d+\.\d MB\/s/);
    assert.match(formatProgress(last), /\[#{20}\] 100\.0%/);
    // Found in the data folder next time: no second request.
    await loadImdb(options);
    assert.equal(server.hits(), 1);
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['aclImdb_v1.tar.gz', 'cache']);
  } finally {
    await server.close();
  }
});

test('download: interrupted, HTTP error or corrupt body leaves no file behind', async () => {
  const body = await makeTarGz(tinyCorpus());
  let mode: 'cut' | 'missing' | 'garbage' = 'cut';
  const server = await serve((_req, res) => {
    if (mode === 'missing') {
      res.writeHead(404).end('not here');
    } else if (mode === 'garbage') {
      const junk = Buffer.alloc(body.length, 7);
      res.writeHead(200, { 'content-length': junk.length }).end(junk);
    } else {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => res.socket?.destroy(), 20); // the connection drops midway
    }
  });
  try {
    const dir = await tempDir();
    const dest = path.join(dir, 'aclImdb_v1.tar.gz');
    const progress: ImdbProgress[] = [];
    await expectImdbError(downloadArchive(server.url, dest, (p) => progress.push(p)), 'DOWNLOAD_FAILED', server.url, dest);
    assert.ok(progress.length > 0 && progress.every((p) => !p.done));
    assert.deepEqual(await fsp.readdir(dir), [], 'no partial or cache file after an interrupted download');

    mode = 'missing';
    await expectImdbError(downloadArchive(server.url, dest, () => {}), 'DOWNLOAD_FAILED', 'HTTP 404');
    mode = 'garbage';
    await expectImdbError(downloadArchive(server.url, dest, () => {}), 'DOWNLOAD_FAILED', 'corrupt or truncated');
    assert.deepEqual(await fsp.readdir(dir), []);

    // Through loadImdb the failure is reported with the places looked at.
    mode = 'cut';
    const { options } = hermetic(dir, { download: true, url: server.url });
    await expectImdbError(loadImdb(options), 'ARCHIVE_NOT_FOUND', 'download from', 'failed', 'IMDB_ARCHIVE');
    assert.deepEqual((await fsp.readdir(dir)).filter((f) => f !== 'cache'), []);
    // A partial file left by a killed download (dead pid) is cleaned up by the next one.
    const stale = `${dest}.999999999.abcd.partial`;
    await fsp.writeFile(stale, 'half');
    mode = 'missing';
    await expectImdbError(downloadArchive(server.url, dest, () => {}), 'DOWNLOAD_FAILED');
    assert.equal(fs.existsSync(stale), false);
  } finally {
    await server.close();
  }
});

test('stderrProgress writes concise lines (throttled when not a terminal)', () => {
  const lines: string[] = [];
  const fake = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const show = stderrProgress(fake);
  show({ stage: 'read', reviews: 1, bytes: 10, totalBytes: 100, done: false });
  show({ stage: 'read', reviews: 2, bytes: 20, totalBytes: 100, done: false }); // throttled
  show({ stage: 'read', reviews: 50000, bytes: 100, totalBytes: 100, done: true });
  assert.deepEqual(lines, ['imdb: reading reviews 1 (10% of archive)\n', 'imdb: reading reviews 50,000 (100% of archive) done\n']);
  assert.equal(
    formatProgress({ stage: 'download', bytes: 21e6, totalBytes: 84e6, bytesPerSecond: 5.2e6, done: false }),
    'imdb: downloading [#####---------------] 25.0% 21.0/84.0 MB 5.2 MB/s',
  );
});

// --- the real data set ------------------------------------------------------------------------

test('real aclImdb archive: 25k + 25k reviews, balanced, padded to 500, ids < 10,000', async () => {
  assert.ok(
    fs.existsSync(REAL_ARCHIVE),
    `The real IMDB archive is missing at ${REAL_ARCHIVE}. Put aclImdb_v1-labeled.tar.gz in ../shared/data ` +
      `beside the repository, or set IMDB_ARCHIVE to the path of aclImdb_v1.tar.gz.`,
  );
  const dir = await tempDir();
  const { options } = hermetic(dir, { archivePath: REAL_ARCHIVE });
  const data = await loadImdb(options);
  const shaFile = `${REAL_ARCHIVE}.sha256`;
  if (fs.existsSync(shaFile)) assert.equal(data.info.archiveSha256, (await fsp.readFile(shaFile, 'utf8')).trim().split(/\s+/)[0]);
  assert.equal(data.vocab.idToWord.length, 10_000);
  assert.equal(data.vocab.idToWord[4], 'the');
  for (const split of ['train', 'test'] as const) {
    const s = data[split];
    assert.equal(s.size, 25_000);
    assert.equal(s.x.length, 25_000 * 500);
    assert.equal(s.y.reduce((a, b) => a + b, 0), 12_500);
    let max = 0;
    for (const id of s.x) if (id > max) max = id;
    assert.ok(max < 10_000 && max > 9_000, `max id ${max}`);
    for (let i = 0; i < s.size; i++) {
      const row = data.row(split, i);
      const len = s.lengths[i];
      if (len <= 500) {
        assert.equal(row[500 - len], START_ID, `${split} row ${i}: start token after the padding`);
        if (len < 500) assert.equal(row[499 - len], 0);
      } else {
        assert.notEqual(row[0], 0, `${split} row ${i}: long reviews fill the row`);
      }
      assert.ok(s.y[i] === 1 ? s.ratings[i] >= 7 : s.ratings[i] <= 4, 'rating matches label');
    }
  }
  const again = await loadImdb(options);
  assert.equal(again.info.fromCache, true);
  assert.deepEqual(again.train.x, data.train.x);
  assert.deepEqual(again.test.y, data.test.y);
});

// --- exploration: word frequencies and vocabulary coverage ------------------------------------

test('countWords tokenizes and counts; rankWords orders by count, ties alphabetical, as the vocabulary does', () => {
  const counts = countWords(["The film, the END.<br />Don't", 'film the'].values());
  assert.deepEqual([...counts].sort(), [["don't", 1], ['end', 1], ['film', 2], ['the', 3]]);
  const ranked = rankWords(new Map([['b', 2], ['a', 2], ['zero', 0], ['c', 5]]));
  assert.deepEqual(ranked, [['c', 5], ['a', 2], ['b', 2]]);
  const vocab = vocabularyFromCounts(counts);
  rankWords(counts).forEach(([w], r) => assert.equal(vocab.wordToId.get(w), r + 4));
});

test('vocabularyCoverage: the OOV share equals the share of id 2 when encoding with that vocabulary', () => {
  const train = ['a a a a b b b c c d', 'a b e'];
  const test = ['a b c d e f g', 'a a unseen'];
  const trainCounts = countWords(train);
  const testCounts = countWords(test);
  const numWordsList = [5, 6, 7, 8, 9, 100];
  const points = vocabularyCoverage(trainCounts, testCounts, numWordsList);
  assert.deepEqual(points.map((p) => p.words), [1, 2, 3, 4, 5, 5]);
  points.forEach(({ numWords, oovShare }) => {
    const vocab = vocabularyFromCounts(trainCounts, numWords);
    const ids = test.flatMap((t) => encodeText(t, vocab).slice(1)); // without the start token
    assert.equal(oovShare, ids.filter((id) => id === OOV_ID).length / ids.length, `numWords ${numWords}`);
  });
  // numWords 5 keeps only "a": 3 of the 10 test tokens; past every training word only f, g, unseen stay OOV.
  assert.equal(points[0].oovShare, 7 / 10);
  assert.equal(points[5].oovShare, 3 / 10);
  assert.equal(vocabularyCoverage(trainCounts, trainCounts, [100])[0].oovShare, 0);
  assert.ok(Number.isNaN(vocabularyCoverage(trainCounts, new Map(), [10])[0].oovShare));
  assert.throws(() => vocabularyCoverage(trainCounts, testCounts, [10, 4]), (e: unknown) => e instanceof ImdbError && e.code === 'INVALID_OPTION');
});

test('wordFrequencyFrame: rank, Keras id (OOV past numWords), count and shares as a polars table', () => {
  const counts = countWords(['c c c a a b b d']);
  const df = wordFrequencyFrame(counts, 7);
  assert.deepEqual(df.columns, ['rank', 'id', 'word', 'count', 'share', 'cumulativeShare']);
  assert.deepEqual(df.getColumn('word').toArray(), ['c', 'a', 'b', 'd']);
  assert.deepEqual(df.getColumn('rank').toArray(), [1, 2, 3, 4]);
  // numWords 7 keeps ids 4..6 (c, a, b); d would be id 7, so it is OOV.
  assert.deepEqual(df.getColumn('id').toArray(), [4, 5, 6, OOV_ID]);
  const vocab = vocabularyFromCounts(counts, 7);
  assert.deepEqual(df.getColumn('id').toArray(), ['c', 'a', 'b', 'd'].map((w) => vocab.wordToId.get(w) ?? OOV_ID));
  assert.deepEqual(df.getColumn('count').toArray(), [3, 2, 2, 1]);
  assert.deepEqual(df.getColumn('share').toArray(), [3 / 8, 2 / 8, 2 / 8, 1 / 8]);
  assert.deepEqual(df.getColumn('cumulativeShare').toArray(), [3 / 8, 5 / 8, 7 / 8, 1]);
  assert.equal(wordFrequencyFrame(counts).getColumn('id').toArray()[3], 7);
  assert.throws(() => wordFrequencyFrame(counts, 3), /numWords/);
});
