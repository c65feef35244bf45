// Exploring the corpus (lib/data/explore.ts): the polars view, word frequencies, vocabulary coverage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OOV_ID, encodeText, tokenize } from '../../lib/data/text';
import { rankWords, vocabularyFromCounts } from '../../lib/data/vocabulary';
import { corpusFrame, countWords, vocabularyCoverage, wordFrequencyFrame } from '../../lib/data/explore';
import { ImdbError } from '../../lib/data/errors';
import { tinySetup } from './helpers';

test('corpusFrame: a polars view of the raw labeled reviews', async () => {
  const { archive } = await tinySetup();
  const df = await corpusFrame({ archivePath: archive, onProgress: () => {} });
  assert.deepEqual(df.columns, ['split', 'label', 'id', 'rating', 'tokens', 'text']);
  assert.equal(df.height, 10);
  assert.deepEqual(df.getColumn('split').toArray(), ['train', 'train', 'train', 'train', 'train', 'train', 'test', 'test', 'test', 'test']);
  assert.deepEqual(df.getColumn('label').toArray(), [0, 0, 0, 1, 1, 1, 0, 0, 1, 1]);
  const first = df.row(0);
  assert.equal(first[4], tokenize("Terrible movie. I didn't like it.<br />The plot was bad, bad, bad.").length);
  assert.ok(
    !df
      .getColumn('text')
      .toArray()
      .some((t) => String(t).includes('unsupword')),
  );
  const onlyTest = await corpusFrame({ archivePath: archive, splits: ['test'], onProgress: () => {} });
  assert.equal(onlyTest.height, 4);
});

test('countWords tokenizes and counts; rankWords orders by count, ties alphabetical, as the vocabulary does', () => {
  const counts = countWords(["The film, the END.<br />Don't", 'film the'].values());
  assert.deepEqual([...counts].sort(), [
    ["don't", 1],
    ['end', 1],
    ['film', 2],
    ['the', 3],
  ]);
  const ranked = rankWords(
    new Map([
      ['b', 2],
      ['a', 2],
      ['zero', 0],
      ['c', 5],
    ]),
  );
  assert.deepEqual(ranked, [
    ['c', 5],
    ['a', 2],
    ['b', 2],
  ]);
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
  assert.deepEqual(
    points.map((p) => p.words),
    [1, 2, 3, 4, 5, 5],
  );
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
  assert.throws(
    () => vocabularyCoverage(trainCounts, testCounts, [10, 4]),
    (e: unknown) => e instanceof ImdbError && e.code === 'INVALID_OPTION',
  );
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
  assert.deepEqual(
    df.getColumn('id').toArray(),
    ['c', 'a', 'b', 'd'].map((w) => vocab.wordToId.get(w) ?? OOV_ID),
  );
  assert.deepEqual(df.getColumn('count').toArray(), [3, 2, 2, 1]);
  assert.deepEqual(df.getColumn('share').toArray(), [3 / 8, 2 / 8, 2 / 8, 1 / 8]);
  assert.deepEqual(df.getColumn('cumulativeShare').toArray(), [3 / 8, 5 / 8, 7 / 8, 1]);
  assert.equal(wordFrequencyFrame(counts).getColumn('id').toArray()[3], 7);
  assert.throws(() => wordFrequencyFrame(counts, 3), /numWords/);
});
