// Keras's IMDB word index (word -> rank, ids = rank + 3) and the course vocabulary, both ways.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { OOV_ID, START_ID, encodeText } from '../../lib/data/text';
import { vocabularyFromCounts } from '../../lib/data/vocabulary';
import {
  loadWordIndex,
  parseWordIndex,
  vocabularyFromWordIndex,
  wordIndexFromVocabulary,
  wordIndexPathFor,
} from '../../lib/keras/word-index';

describe('vocabularyFromWordIndex', () => {
  test('encodes as imdb.load_data(num_words) does: rank r -> id r + 3, ranks whose id reaches num_words -> OOV', () => {
    // Keras's own example: in get_word_index(), "the" is 1, "and" 2, "a" 3 ... load_data gives "the" id 4
    const vocab = vocabularyFromWordIndex({ the: 1, and: 2, a: 3, film: 4, rare: 7 }, 9);
    assert.deepEqual(encodeText('The film and a rare', vocab), [START_ID, 4, 7, 5, 6, OOV_ID]);
    assert.equal(vocab.numWords, 9);
  });

  test('a rank held by no word keeps its id (a placeholder no text produces) and is left out of the word index again', () => {
    const vocab = vocabularyFromWordIndex({ the: 1, film: 3 }, 20);
    assert.deepEqual(encodeText('the film', vocab), [START_ID, 4, 6]);
    assert.deepEqual(wordIndexFromVocabulary(vocab), { the: 1, film: 3 });
  });
});

describe('wordIndexFromVocabulary', () => {
  test('is the inverse: a course vocabulary -> word index -> vocabulary encodes every text the same', () => {
    const counts = new Map([
      ['great', 9],
      ['film', 7],
      ['bad', 5],
      ['plot', 5],
      ['boring', 2],
    ]);
    const vocab = vocabularyFromCounts(counts, 7); // keeps 3 words: ids 4, 5, 6
    const index = wordIndexFromVocabulary(vocab);
    assert.deepEqual(index, { great: 1, film: 2, bad: 3 });
    const again = vocabularyFromWordIndex(index, 7);
    for (const text of ['great film', 'bad plot, boring', 'nothing known'])
      assert.deepEqual(encodeText(text, again), encodeText(text, vocab));
  });
});

describe('parsing and files', () => {
  test('rejects what is not a word index, naming the problem', () => {
    assert.throws(() => parseWordIndex([1, 2], 'x.json'), /x\.json is not a Keras word index/);
    assert.throws(() => parseWordIndex({ the: 0 }, 'x.json'), /rank of "the" is 0, expected a positive integer/);
    assert.throws(() => parseWordIndex({ the: 1.5 }, 'x.json'), /rank of "the" is 1\.5/);
    assert.throws(() => parseWordIndex({ the: 1, a: 1 }, 'x.json'), /"the" and "a" both have rank 1/);
  });

  test('loadWordIndex reads JSON files and reports unreadable ones', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'word-index-'));
    await fsp.writeFile(path.join(dir, 'ok.json'), '{"the": 1, "and": 2}');
    await fsp.writeFile(path.join(dir, 'bad.json'), '{"the": ');
    assert.deepEqual(await loadWordIndex(path.join(dir, 'ok.json')), { the: 1, and: 2 });
    await assert.rejects(loadWordIndex(path.join(dir, 'bad.json')), /bad\.json is not valid JSON/);
    await assert.rejects(loadWordIndex(path.join(dir, 'none.json')), /cannot read the word index/);
    await fsp.rm(dir, { recursive: true });
  });

  test('the word index beside a model file: m.keras / m.h5 -> m.word_index.json', () => {
    assert.equal(wordIndexPathFor('/a/b/model.keras'), '/a/b/model.word_index.json');
    assert.equal(wordIndexPathFor('/a/b/model.v2.h5'), '/a/b/model.v2.word_index.json');
  });
});
