// loadImdb (lib/data/imdb.ts) on tiny synthetic archives and on the real aclImdb archive.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { LoadOptions, loadImdb } from '../../lib/data/imdb';
import { OOV_ID, START_ID, encodeText, padSequences, tokenize } from '../../lib/data/text';
import { ImdbError } from '../../lib/data/errors';
import { LONG_REVIEW, tinyCorpus, writeArchive } from '../fixtures';
import { REAL_ARCHIVE, tempDir, hermetic, tinySetup, expectImdbError } from './helpers';

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
  const texts = new Map(
    tinyCorpus()
      .filter((e) => e.text !== undefined)
      .map((e) => [e.name, e.text!]),
  );
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

  const order = (seed: number) =>
    loadImdb({ ...base, seed }).then((d) => [...d.train.ids].map((id, i) => `${d.train.y[i]}/${id}`).join(' '));
  assert.equal(await order(113), await order(113));
  const orders = new Set(await Promise.all([1, 2, 3, 113].map(order)));
  assert.ok(orders.size > 1, 'different seeds give different orders');
  // Shuffle does not depend on the order of files in the archive.
  const reversed = await writeArchive(dir, [...tinyCorpus()].reverse(), 'reversed.tar.gz');
  const again = await loadImdb({ ...base, archivePath: reversed });
  assert.deepEqual(again.train.ids, (await loadImdb(base)).train.ids);
  assert.deepEqual(again.vocab.idToWord, (await loadImdb(base)).vocab.idToWord);
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
    assert.equal(
      s.y.reduce((a, b) => a + b, 0),
      12_500,
    );
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

test('trainSize / testSize: only the reviews a run takes are padded (the same rows as the full load); a signal stops the reading', async () => {
  const { dir, archive } = await tinySetup();
  const all = await loadImdb(hermetic(dir, { archivePath: archive, maxLen: 12 }).options);
  const some = await loadImdb(hermetic(dir, { archivePath: archive, maxLen: 12, trainSize: 2, testSize: 3 }).options);
  assert.deepEqual([some.train.size, some.test.size, some.train.x.length, some.test.x.length], [2, 3, 2 * 12, 3 * 12]);
  for (const [split, n] of [
    ['train', 2],
    ['test', 3],
  ] as const) {
    const subset = all.subset(2, 3)[split];
    for (const key of ['x', 'y', 'ids', 'ratings', 'lengths'] as const)
      assert.deepEqual(Array.from(some[split][key]), Array.from(subset[key]), `${split}.${key}`);
    assert.equal(some[split].size, n);
  }
  const controller = new AbortController();
  controller.abort();
  const cacheDir = path.join(dir, 'fresh-cache');
  await expectImdbError(
    loadImdb(hermetic(dir, { archivePath: archive, maxLen: 13, cacheDir, signal: controller.signal }).options),
    'ABORTED',
    'stopped while reading',
  );
  assert.ok(!fs.existsSync(cacheDir) || fs.readdirSync(cacheDir).every((f) => !f.endsWith('.bin')), 'nothing cached');
});
