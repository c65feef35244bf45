/**
 * The IMDB vocabulary, built from the training split only: words ranked by training frequency
 * (ties broken alphabetically by UTF-16 code units, so the ranking does not depend on the order of
 * files in the archive), word id = rank + 3 (the most frequent word is 4), every id < numWords
 * (rarer words become OOV, id 2). Saved as JSON beside a trained run, to encode new text later.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { writeFileAtomic } from '../util/files';
import { ImdbError, errorText } from './errors';
import { INDEX_FROM, TOKENIZER_VERSION, type WordIds } from './text';

export const DEFAULT_NUM_WORDS = 10_000;

const RESERVED_WORDS = ['[PAD]', '[START]', '[OOV]', '[UNUSED]'];

/** The words a run knows, with their ids and training counts. */
export interface Vocabulary extends WordIds {
  /** Every id is < numWords; words ranked past it map to OOV_ID. */
  readonly numWords: number;
  readonly tokenizerVersion: number;
  /** Training-split frequency of each id's word (0 for the reserved ids). */
  readonly counts: readonly number[];
  /** Distinct words in the training split, before the numWords cut. */
  readonly distinctWords: number;
}

/**
 * Ranks words by training frequency (ties: alphabetical by UTF-16 code units, so the ranking does
 * not depend on file order) and keeps those whose id (rank + 3, most frequent = 4) is < numWords.
 */
export function vocabularyFromCounts(wordCounts: ReadonlyMap<string, number>, numWords = DEFAULT_NUM_WORDS): Vocabulary {
  checkNumWords(numWords);
  const ranked = rankWords(wordCounts);
  const kept = ranked.slice(0, Math.max(0, numWords - INDEX_FROM - 1));
  return makeVocabulary(
    kept.map(([w]) => w),
    kept.map(([, n]) => n),
    numWords,
    ranked.length,
  );
}

/** Words with a positive count, most frequent first, ties alphabetical: rank r (0-based) gets id r + 4. */
export function rankWords(wordCounts: ReadonlyMap<string, number>): Array<[string, number]> {
  return [...wordCounts].filter(([, n]) => n > 0).sort(byCountThenWord);
}

function byCountThenWord(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1];
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Builds the vocabulary from tokenized training reviews (see vocabularyFromCounts for the ranking). */
export function buildVocabulary(trainTokens: Iterable<readonly string[]>, numWords = DEFAULT_NUM_WORDS): Vocabulary {
  const counts = new Map<string, number>();
  for (const tokens of trainTokens) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return vocabularyFromCounts(counts, numWords);
}

/** rankedWords[i] gets id i + 4. */
function makeVocabulary(rankedWords: string[], rankedCounts: number[], numWords: number, distinctWords: number): Vocabulary {
  const idToWord = [...RESERVED_WORDS, ...rankedWords];
  const wordToId = new Map<string, number>();
  rankedWords.forEach((w, i) => wordToId.set(w, i + INDEX_FROM + 1));
  const counts = [0, 0, 0, 0, ...rankedCounts];
  return { numWords, tokenizerVersion: TOKENIZER_VERSION, idToWord, wordToId, counts, distinctWords };
}

/** Throws INVALID_OPTION unless numWords leaves room for words past the reserved ids 0..3. */
export function checkNumWords(numWords: number): void {
  if (!Number.isInteger(numWords) || numWords <= INDEX_FROM + 1)
    throw new ImdbError('INVALID_OPTION', `numWords must be an integer > ${INDEX_FROM + 1} (ids 0..3 are reserved), got ${numWords}`);
}

interface VocabularyJson {
  format: 'imdb-vocabulary';
  version: 1;
  tokenizerVersion: number;
  numWords: number;
  distinctWords: number;
  /** words[i] has id i + 4. */
  words: string[];
  counts: number[];
}

/** A JSON-safe form of the vocabulary (words in rank order). */
export function vocabularyToJson(vocab: Vocabulary): VocabularyJson {
  return {
    format: 'imdb-vocabulary',
    version: 1,
    tokenizerVersion: vocab.tokenizerVersion,
    numWords: vocab.numWords,
    distinctWords: vocab.distinctWords,
    words: vocab.idToWord.slice(INDEX_FROM + 1),
    counts: vocab.counts.slice(INDEX_FROM + 1),
  };
}

/** Rebuilds a vocabulary from vocabularyToJson's output; throws VOCABULARY_INVALID if malformed or from another tokenizer. */
export function vocabularyFromJson(json: unknown, source = 'vocabulary JSON'): Vocabulary {
  const fail = (why: string) =>
    new ImdbError(
      'VOCABULARY_INVALID',
      `Invalid IMDB vocabulary in ${source}: ${why}. Rebuild it with loadImdb() and saveVocabulary().`,
      source,
    );
  if (typeof json !== 'object' || json === null) throw fail('not a JSON object');
  const v = json as Partial<VocabularyJson>;
  if (v.format !== 'imdb-vocabulary' || v.version !== 1) throw fail('unknown format (expected format "imdb-vocabulary", version 1)');
  if (v.tokenizerVersion !== TOKENIZER_VERSION)
    throw fail(`made with tokenizer version ${v.tokenizerVersion}, this code tokenizes with version ${TOKENIZER_VERSION}`);
  const { words, counts, numWords, distinctWords } = v;
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) throw fail('"words" is not a list of strings');
  if (!Array.isArray(counts) || counts.length !== words.length || !counts.every(Number.isInteger))
    throw fail('"counts" does not match "words"');
  if (!Number.isInteger(numWords) || numWords! <= INDEX_FROM || words.length > numWords! - INDEX_FROM - 1)
    throw fail(`"numWords" (${numWords}) is invalid or too small for ${words.length} words`);
  if (new Set(words).size !== words.length) throw fail('duplicate words');
  return makeVocabulary(words, counts, numWords!, Number.isInteger(distinctWords) ? distinctWords! : words.length);
}

/** SHA-256 (hex) of the vocabulary's JSON form: equal exactly when every word has the same id (and count). */
export function vocabularySha256(vocab: Vocabulary): string {
  return createHash('sha256')
    .update(JSON.stringify(vocabularyToJson(vocab)))
    .digest('hex');
}

/** Saves the vocabulary as JSON (written atomically). */
export async function saveVocabulary(vocab: Vocabulary, file: string): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(vocabularyToJson(vocab)));
}

/** Loads a vocabulary saved by saveVocabulary (for encoding new text at prediction time). */
export async function loadVocabulary(file: string): Promise<Vocabulary> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new ImdbError('VOCABULARY_INVALID', `Cannot read IMDB vocabulary ${file} (${errorText(err)}).`, file, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ImdbError('VOCABULARY_INVALID', `IMDB vocabulary ${file} is not valid JSON (${errorText(err)}); save it again.`, file, {
      cause: err,
    });
  }
  return vocabularyFromJson(json, file);
}
