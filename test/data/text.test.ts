// IMDB text (lib/data/text.ts): the tokenizer, Keras-style padding, encoding and decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OOV_ID, decode, encodeText, encodeTexts, padSequences, tokenize } from '../../lib/data/text';
import { buildVocabulary } from '../../lib/data/vocabulary';
import { ImdbError } from '../../lib/data/errors';
import { rows } from './helpers';

test('tokenize: lowercases, strips <br /> tags and punctuation, keeps inner apostrophes and numbers', () => {
  assert.deepEqual(tokenize("Great movie!<br /><br />Don't miss it, it's GREAT."), [
    'great',
    'movie',
    "don't",
    'miss',
    'it',
    "it's",
    'great',
  ]);
  assert.deepEqual(tokenize('end<br/>start<BR>x<br  />y'), ['end', 'start', 'x', 'y']);
  assert.deepEqual(tokenize("'Quoted' words, students' books"), ['quoted', 'words', 'students', 'books']);
  assert.deepEqual(tokenize('Rated 10/10 (7.5 stars), well-made'), ['rated', '10', '10', '7', '5', 'stars', 'well', 'made']);
  assert.deepEqual(tokenize("It\u2019s rock'n'roll"), ["it's", "rock'n'roll"]);
  assert.deepEqual(tokenize('Amélie -- ... !!!'), ['amélie']);
  assert.deepEqual(tokenize(''), []);
});

test('padSequences follows Keras: pre padding, pre truncation (keep the last maxLen) by default', () => {
  const seqs = [[1, 2, 3], [1, 2, 3, 4, 5, 6], []];
  assert.deepEqual(padSequences(seqs, { maxLen: 4 }), {
    values: Int32Array.from([0, 1, 2, 3, 3, 4, 5, 6, 0, 0, 0, 0]),
    shape: [3, 4],
  });
  assert.deepEqual(rows(padSequences(seqs, { maxLen: 4, padding: 'post', truncating: 'post' }).values, 4), [
    [1, 2, 3, 0],
    [1, 2, 3, 4],
    [0, 0, 0, 0],
  ]);
  assert.deepEqual(rows(padSequences(seqs, { maxLen: 4, padding: 'post' }).values, 4), [
    [1, 2, 3, 0],
    [3, 4, 5, 6],
    [0, 0, 0, 0],
  ]);
  assert.deepEqual(rows(padSequences(seqs, { maxLen: 4, truncating: 'post', value: -1 }).values, 4), [
    [-1, 1, 2, 3],
    [1, 2, 3, 4],
    [-1, -1, -1, -1],
  ]);
  assert.deepEqual(padSequences([[5], [6, 7]]).shape, [2, 2], 'maxLen defaults to the longest');
  assert.deepEqual(padSequences([Int32Array.from([7, 8, 9])], { maxLen: 2 }).values, Int32Array.from([8, 9]));
  assert.throws(() => padSequences(seqs, { maxLen: -1 }), ImdbError);
});

test('decode skips padding and shows markers; encodeTexts pads with the loader defaults', () => {
  const vocab = buildVocabulary([tokenize("the film wasn't good, the end")]);
  const ids = encodeText("The film wasn't BAD<br />", vocab);
  assert.deepEqual(ids, [1, 4, vocab.wordToId.get('film'), vocab.wordToId.get("wasn't"), OOV_ID]);
  assert.equal(decode([0, 0, ...ids, 3], vocab), "[START] the film wasn't [OOV] [UNUSED]");
  const batch = encodeTexts(['the end', 'good'], vocab, { maxLen: 4 });
  assert.deepEqual(batch.shape, [2, 4]);
  assert.deepEqual(rows(batch.values, 4), [
    [0, 1, 4, vocab.wordToId.get('end')],
    [0, 0, 1, vocab.wordToId.get('good')],
  ]);
  assert.equal(encodeTexts(['x'], vocab).shape[1], 500);
});
