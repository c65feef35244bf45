/**
 * IMDB review text as the model reads it, with the conventions of Keras's `imdb.load_data` +
 * `pad_sequences`:
 *
 *   id 0 = padding, 1 = start of review, 2 = out-of-vocabulary (OOV), 3 = unused,
 *   word ids = frequency rank + 3 (the most frequent training word is 4; lib/data/vocabulary.ts),
 *   padding and truncation both 'pre' by default.
 *
 * The tokenizer, encoding with a vocabulary, padding, and decoding ids back to text.
 */
import { ImdbError } from './errors';

export const PAD_ID = 0;

export const START_ID = 1;

export const OOV_ID = 2;

/** Keras reserves 0..2 and starts words at rank + 3, so id 3 is never produced. */
export const UNUSED_ID = 3;

export const INDEX_FROM = 3;

export const DEFAULT_MAX_LEN = 500;

/** Bump whenever `tokenize` changes: it is part of every cache key and saved vocabulary. */
export const TOKENIZER_VERSION = 1;

export type Side = 'pre' | 'post';

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

const BR_TAG = /<br\s*\/?>/gi;

const FANCY_APOSTROPHE = /[\u2018\u2019\u02bc`]/g;

/** A run of letters/digits, optionally joined by inner apostrophes: don't, it's, rock'n'roll. */
const TOKEN = /[\p{L}\p{M}\p{N}]+(?:'[\p{L}\p{M}\p{N}]+)*/gu;

/**
 * Splits a review into lowercase words: `<br />` tags removed, punctuation dropped, inner
 * apostrophes kept ("don't"), numbers kept as tokens ("7.5" -> "7", "5"; "well-made" -> "well", "made").
 */
export function tokenize(text: string): string[] {
  const clean = text.toLowerCase().replace(BR_TAG, ' ').replace(FANCY_APOSTROPHE, "'");
  return clean.match(TOKEN) ?? [];
}

// ---------------------------------------------------------------------------------------------
// Encoding, padding, decoding
// ---------------------------------------------------------------------------------------------

/** The two maps of a vocabulary (lib/data/vocabulary.ts) that encoding and decoding use. */
export interface WordIds {
  /** idToWord[id]; ids 0..3 hold the markers [PAD], [START], [OOV], [UNUSED]. */
  readonly idToWord: readonly string[];
  readonly wordToId: ReadonlyMap<string, number>;
}

/** [START, id(token)...]: words outside the vocabulary (or ranked past numWords) become OOV. */
export function encodeTokens(tokens: readonly string[], vocab: WordIds): number[] {
  const ids = [START_ID];
  for (const t of tokens) ids.push(vocab.wordToId.get(t) ?? OOV_ID);
  return ids;
}

/** Tokenizes and encodes one raw review (unpadded; starts with START_ID). */
export function encodeText(text: string, vocab: WordIds): number[] {
  return encodeTokens(tokenize(text), vocab);
}

export interface PadOptions {
  /** Row width; default: the longest sequence. */
  maxLen?: number;
  /** Where the zeros go (Keras default 'pre'). */
  padding?: Side;
  /** Which end is cut from sequences longer than maxLen (Keras default 'pre': keep the last maxLen). */
  truncating?: Side;
  value?: number;
}

export interface Padded {
  /** Row-major [rows, maxLen]. */
  values: Int32Array;
  shape: [number, number];
}

/** Keras's pad_sequences: pads/truncates every sequence to maxLen (defaults pre/pre, value 0). */
export function padSequences(sequences: readonly ArrayLike<number>[], options: PadOptions = {}): Padded {
  const maxLen = options.maxLen ?? sequences.reduce((m, s) => Math.max(m, s.length), 0);
  checkMaxLen(maxLen, 0);
  const values = new Int32Array(sequences.length * maxLen);
  if (options.value) values.fill(options.value);
  sequences.forEach((seq, row) => {
    const kept = truncate(seq, maxLen, options.truncating ?? 'pre');
    placeRow(values, row, maxLen, kept, options.padding ?? 'pre');
  });
  return { values, shape: [sequences.length, maxLen] };
}

/** The maxLen tokens that survive truncation: the last ones for 'pre', the first ones for 'post'. */
function truncate(seq: ArrayLike<number>, maxLen: number, truncating: Side): ArrayLike<number> {
  if (seq.length <= maxLen) return seq;
  const arr = Array.isArray(seq) ? seq : Array.from(seq);
  return truncating === 'pre' ? arr.slice(arr.length - maxLen) : arr.slice(0, maxLen);
}

/** Writes an already-truncated sequence into row `row`, right-aligned for 'pre' padding. */
export function placeRow(out: Int32Array, row: number, maxLen: number, kept: ArrayLike<number>, padding: Side): void {
  out.set(kept, row * maxLen + (padding === 'pre' ? maxLen - kept.length : 0));
}

/** Throws INVALID_OPTION unless maxLen is an integer >= min. */
export function checkMaxLen(maxLen: number, min: number): void {
  if (!Number.isInteger(maxLen) || maxLen < min)
    throw new ImdbError('INVALID_OPTION', `maxLen must be an integer >= ${min}, got ${maxLen}`);
}

/** Encodes raw texts with a saved vocabulary into a padded [texts.length, maxLen] block (for predict). */
export function encodeTexts(texts: readonly string[], vocab: WordIds, options: PadOptions = {}): Padded {
  const maxLen = options.maxLen ?? DEFAULT_MAX_LEN;
  return padSequences(
    texts.map((t) => encodeText(t, vocab)),
    { ...options, maxLen },
  );
}

/** Turns ids back into text: padding skipped, markers shown as [START], [OOV], [UNUSED]. */
export function decode(ids: ArrayLike<number>, vocab: WordIds): string {
  const words: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === PAD_ID) continue;
    words.push(vocab.idToWord[id] ?? `[?${id}]`);
  }
  return words.join(' ');
}
