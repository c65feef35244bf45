// The IMDB vocabulary (lib/data/vocabulary.ts): ranking, the numWords bound, JSON round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { OOV_ID, START_ID, TOKENIZER_VERSION, encodeText, tokenize } from '../../lib/data/text';
import {
  buildVocabulary,
  loadVocabulary,
  saveVocabulary,
  vocabularyFromCounts,
  vocabularyFromJson,
  vocabularyToJson,
} from '../../lib/data/vocabulary';
import { tempDir, expectImdbError } from './helpers';

test('vocabulary: ranked by frequency, ties alphabetical, ids offset by 3, numWords bounds every id', () => {
  const vocab = buildVocabulary([
    ['b', 'a', 'c', 'c'],
    ['c', 'b', 'a', 'd'],
  ]);
  // c: 3, then a and b tie at 2 (alphabetical), then d: 1
  assert.deepEqual(vocab.idToWord, ['[PAD]', '[START]', '[OOV]', '[UNUSED]', 'c', 'a', 'b', 'd']);
  assert.equal(vocab.wordToId.get('c'), 4);
  assert.deepEqual(vocab.counts, [0, 0, 0, 0, 3, 2, 2, 1]);
  assert.equal(vocab.distinctWords, 4);
  const small = vocabularyFromCounts(
    new Map([
      ['c', 3],
      ['a', 2],
      ['b', 2],
      ['d', 1],
    ]),
    6,
  );
  assert.deepEqual(
    [...small.wordToId],
    [
      ['c', 4],
      ['a', 5],
    ],
  );
  assert.deepEqual(encodeText('c a b d zzz', small), [START_ID, 4, 5, OOV_ID, OOV_ID, OOV_ID]);
  assert.throws(() => vocabularyFromCounts(new Map(), 4), /numWords/);
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
