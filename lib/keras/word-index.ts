/**
 * Keras's IMDB word index and this course's vocabulary, one into the other.
 *
 * `keras.datasets.imdb.get_word_index()` maps each word to its frequency rank (1 = most frequent), and
 * `imdb.load_data()` encodes a word of rank r as the id r + 3 (index_from=3), keeping ids below num_words;
 * ids 0, 1, 2 are padding, start and out-of-vocabulary, 3 is unused. lib/data/imdb.ts's Vocabulary follows the
 * same convention (a word of rank r has id r + 3), so the two convert exactly:
 *
 *   word index {word: r}  <->  vocab.wordToId.get(word) = r + 3   for every id r + 3 < numWords.
 *
 * The words themselves must come from the same tokenizer to give the same ids: this course tokenizes
 * raw text with lib/data/imdb.ts's tokenize(); Keras's arrays were tokenized by Keras's authors.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { INDEX_FROM, TOKENIZER_VERSION } from '../data/text';
import { vocabularyFromJson, type Vocabulary } from '../data/vocabulary';
import { KerasModelError } from './config';

/** A Keras word index: word -> rank (1-based). */
export type WordIndex = Record<string, number>;

/** Checks that `json` is a word index (an object of positive integer ranks, no rank twice); else KerasModelError INVALID naming `source`. */
export function parseWordIndex(json: unknown, source: string): WordIndex {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new KerasModelError(
      'INVALID',
      `${source} is not a Keras word index: expected a JSON object {"word": rank, ...} as imdb.get_word_index() returns`,
    );
  }
  const seen = new Map<number, string>();
  for (const [word, rank] of Object.entries(json as Record<string, unknown>)) {
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) {
      throw new KerasModelError(
        'INVALID',
        `${source}: the rank of ${JSON.stringify(word)} is ${JSON.stringify(rank)}, expected a positive integer`,
      );
    }
    const other = seen.get(rank);
    if (other !== undefined)
      throw new KerasModelError('INVALID', `${source}: ${JSON.stringify(other)} and ${JSON.stringify(word)} both have rank ${rank}`);
    seen.set(rank, word);
  }
  return json as WordIndex;
}

/** Reads and checks a word index JSON file. */
export async function loadWordIndex(file: string): Promise<WordIndex> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new KerasModelError('INVALID', `cannot read the word index ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KerasModelError('INVALID', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseWordIndex(json, file);
}

/**
 * The vocabulary that encodes text as Keras's imdb.load_data(num_words=numWords) encoded it: the word
 * of rank r gets id r + 3 when that is below numWords. A rank that no word holds (a gap) keeps its id,
 * with a placeholder that no tokenized text contains. Counts are unknown: 0.
 */
export function vocabularyFromWordIndex(index: WordIndex, numWords: number): Vocabulary {
  const maxRank = numWords - INDEX_FROM - 1; // the rank whose id is numWords - 1
  const byRank = new Map<number, string>();
  for (const [word, rank] of Object.entries(index)) if (rank <= maxRank) byRank.set(rank, word);
  const highest = Math.max(0, ...byRank.keys());
  const words = Array.from({ length: highest }, (_, i) => byRank.get(i + 1) ?? `[no word has rank ${i + 1}]`);
  return vocabularyFromJson(
    {
      format: 'imdb-vocabulary',
      version: 1,
      tokenizerVersion: TOKENIZER_VERSION,
      numWords,
      distinctWords: Object.keys(index).length,
      words,
      counts: words.map(() => 0),
    },
    'a Keras word index',
  );
}

/** The Keras word index of a vocabulary: word -> id - 3, for every word it encodes (placeholders excluded). */
export function wordIndexFromVocabulary(vocab: Vocabulary): WordIndex {
  const index: WordIndex = {};
  vocab.idToWord.forEach((word, id) => {
    if (id > INDEX_FROM && !/^\[no word has rank \d+\]$/.test(word)) index[word] = id - INDEX_FROM;
  });
  return index;
}

/** The word index JSON beside a model file: m.keras -> m.word_index.json (what export-keras writes, import-keras looks for). */
export function wordIndexPathFor(modelFile: string): string {
  return path.join(path.dirname(modelFile), `${path.basename(modelFile).replace(/\.(keras|h5|hdf5)$/i, '')}.word_index.json`);
}
