/**
 * The encoded-array cache: the tokenized, encoded, truncated and shuffled IMDB splits on disk, so
 * that only the first load pays for tokenization. Keyed by the archive's SHA-256 (remembered per
 * path, size and mtime) and every option that changes the arrays.
 *
 * One file per key: "IMDBCACHE" magic, uint32 LE header length, JSON header
 * { key, payloadBytes, payloadSha256, sections }, then the payload (typed arrays + vocabulary JSON).
 * A stale, truncated or corrupt file is detected, reported as a warning and rebuilt.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isFile, readJsonOr, writeFileAtomic } from '../util/files';
import { SPLITS, archiveReadError, statArchive, type Split } from './archive';
import { ImdbError, errnoCode, errorText } from './errors';
import type { Side } from './text';
import { vocabularyFromJson, vocabularyToJson, type Vocabulary } from './vocabulary';

/** Bump whenever the cache file layout or the encoding pipeline changes. */
export const CACHE_FORMAT_VERSION = 1;

export type IdArray = Uint16Array | Int32Array;

/** One split as stored in the cache: the kept (truncated, unpadded) ids of all reviews, concatenated. */
export interface EncodedSplit {
  tokens: IdArray;
  /** Encoded length (start + words) before truncation. */
  lengths: Uint32Array;
  labels: Uint8Array;
  ids: Uint32Array;
  ratings: Uint8Array;
}

/** Both splits and the vocabulary they were encoded with. */
export interface EncodedCorpus {
  train: EncodedSplit;
  test: EncodedSplit;
  vocab: Vocabulary;
}

/** Where the cache lives and how it reports problems (the loader's resolved options). */
export interface CacheOptions {
  cacheDir: string;
  /** false: no cache at all (nothing read or written, the archive hash not remembered). */
  cache: boolean;
  onWarning: (message: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Archive hashing (cached by path + size + mtime)
// ---------------------------------------------------------------------------------------------

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

type HashCache = Record<string, { size: number; mtimeMs: number; sha256: string }>;

/** The archive's SHA-256, remembered in `<cacheDir>/archive-sha256.json` so it is hashed once per file version. */
export async function archiveDigest(archivePath: string, o: CacheOptions): Promise<string> {
  const stat = await statArchive(archivePath);
  const hashFile = path.join(o.cacheDir, 'archive-sha256.json');
  const known = o.cache ? await readJsonOr<HashCache>(hashFile, {}) : {};
  const entry = known[archivePath];
  if (entry && entry.size === stat.size && entry.mtimeMs === stat.mtimeMs && /^[0-9a-f]{64}$/.test(entry.sha256)) return entry.sha256;
  let sha256: string;
  try {
    sha256 = await sha256File(archivePath);
  } catch (err) {
    throw archiveReadError(archivePath, err);
  }
  if (o.cache) {
    known[archivePath] = { size: stat.size, mtimeMs: stat.mtimeMs, sha256 };
    await ensureCacheDir(o.cacheDir)
      .then(() => writeFileAtomic(hashFile, JSON.stringify(known, null, 1)))
      .catch((err) => o.onWarning(`could not remember the archive hash in ${hashFile} (${errorText(err)})`));
  }
  return sha256;
}

// ---------------------------------------------------------------------------------------------
// The cache file
// ---------------------------------------------------------------------------------------------

/** Everything that changes the cached arrays. */
export interface CacheKey {
  format: number;
  tokenizer: number;
  archiveSha256: string;
  numWords: number;
  maxLen: number;
  seed: number;
  truncating: Side;
  endianness: string;
}

type DType = 'u8' | 'u16' | 'u32' | 'i32';

interface SectionInfo {
  name: string;
  dtype: DType;
  offset: number;
  length: number;
}

interface CacheHeader {
  key: CacheKey;
  payloadBytes: number;
  payloadSha256: string;
  sections: SectionInfo[];
}

const CACHE_MAGIC = Buffer.from('IMDBCACHE');

const BYTES: Record<DType, number> = { u8: 1, u16: 2, u32: 4, i32: 4 };

const ARRAY_OF: Record<DType, new (n: number) => Uint8Array | Uint16Array | Uint32Array | Int32Array> = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
};

const SPLIT_FIELDS = ['tokens', 'lengths', 'labels', 'ids', 'ratings'] as const;

/** imdb-<16 hex of the key's SHA-256>.bin */
export function cacheFileName(key: CacheKey): string {
  return `imdb-${createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16)}.bin`;
}

function dtypeOf(a: Uint8Array | Uint16Array | Uint32Array | Int32Array): DType {
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  return 'i32';
}

function serializeCache(key: CacheKey, corpus: EncodedCorpus): Buffer {
  const arrays: Array<[string, Uint8Array | Uint16Array | Uint32Array | Int32Array]> = [];
  for (const split of SPLITS) for (const field of SPLIT_FIELDS) arrays.push([`${split}.${field}`, corpus[split][field]]);
  arrays.push(['vocab', Buffer.from(JSON.stringify(vocabularyToJson(corpus.vocab)))]);
  const sections: SectionInfo[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    sections.push({ name, dtype: dtypeOf(a), offset, length: a.length });
    offset += a.byteLength;
  }
  const payload = Buffer.concat(arrays.map(([, a]) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  const header: CacheHeader = { key, payloadBytes: payload.length, payloadSha256: sha256(payload), sections };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const headerLength = Buffer.alloc(4);
  headerLength.writeUInt32LE(headerBytes.length);
  return Buffer.concat([CACHE_MAGIC, headerLength, headerBytes, payload]);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Parses and checks a cache file; returns the reason it is unusable instead of the corpus. */
function deserializeCache(file: Buffer, key: CacheKey): EncodedCorpus | string {
  if (file.length < CACHE_MAGIC.length + 4 || !file.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC))
    return 'not a cache file (bad magic)';
  const headerEnd = CACHE_MAGIC.length + 4 + file.readUInt32LE(CACHE_MAGIC.length);
  if (headerEnd > file.length) return 'truncated header';
  let header: CacheHeader;
  try {
    header = JSON.parse(file.subarray(CACHE_MAGIC.length + 4, headerEnd).toString('utf8')) as CacheHeader;
  } catch {
    return 'unreadable header';
  }
  if (JSON.stringify(header.key) !== JSON.stringify(key)) return 'written for other settings or another archive (stale)';
  const payload = file.subarray(headerEnd);
  if (payload.length !== header.payloadBytes) return `payload is ${payload.length} bytes, header says ${header.payloadBytes} (truncated?)`;
  if (sha256(payload) !== header.payloadSha256) return 'payload checksum mismatch (corrupt)';
  return decodeSections(payload, header.sections, key);
}

function decodeSections(payload: Buffer, sections: SectionInfo[], key: CacheKey): EncodedCorpus | string {
  const byName = new Map(sections.map((s) => [s.name, s]));
  const take = (name: string) => {
    const s = byName.get(name);
    if (!s || !(s.dtype in BYTES) || s.offset + s.length * BYTES[s.dtype] > payload.length) return null;
    const out = new ARRAY_OF[s.dtype](s.length);
    // Copy (not a view): section offsets need not be aligned for the element size.
    new Uint8Array(out.buffer).set(payload.subarray(s.offset, s.offset + out.byteLength));
    return out;
  };
  const splits: Partial<Record<Split, EncodedSplit>> = {};
  for (const split of SPLITS) {
    const [tokens, lengths, labels, ids, ratings] = SPLIT_FIELDS.map((f) => take(`${split}.${f}`));
    if (
      !tokens ||
      !(lengths instanceof Uint32Array) ||
      !(labels instanceof Uint8Array) ||
      !(ids instanceof Uint32Array) ||
      !(ratings instanceof Uint8Array)
    )
      return `missing or mistyped ${split} section`;
    if (tokens instanceof Uint8Array || tokens instanceof Uint32Array) return `mistyped ${split}.tokens`;
    const encoded: EncodedSplit = { tokens, lengths, labels, ids, ratings };
    const problem = checkSplit(encoded, key);
    if (problem) return `${split}: ${problem}`;
    splits[split] = encoded;
  }
  const vocabBytes = take('vocab');
  if (!vocabBytes) return 'missing vocabulary';
  try {
    const vocab = vocabularyFromJson(JSON.parse(Buffer.from(vocabBytes).toString('utf8')), 'cache');
    if (vocab.numWords !== key.numWords) return 'vocabulary numWords does not match';
    return { train: splits.train!, test: splits.test!, vocab };
  } catch (err) {
    return `bad vocabulary (${errorText(err)})`;
  }
}

function checkSplit(s: EncodedSplit, key: CacheKey): string | null {
  const n = s.labels.length;
  if (s.lengths.length !== n || s.ids.length !== n || s.ratings.length !== n) return 'column lengths differ';
  let kept = 0;
  for (let i = 0; i < n; i++) kept += Math.min(s.lengths[i], key.maxLen);
  if (kept !== s.tokens.length) return `token count ${s.tokens.length} does not match lengths (${kept})`;
  for (let i = 0; i < s.tokens.length; i++) if (s.tokens[i] >= key.numWords) return `id ${s.tokens[i]} >= numWords`;
  return null;
}

/** Returns the cached corpus, or null (with a warning when a file was there but unusable). */
export async function readCache(file: string, key: CacheKey, warn: (m: string) => void): Promise<EncodedCorpus | null> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') warn(`cannot read cache file ${file} (${errorText(err)}); rebuilding from the archive`);
    return null;
  }
  const result = deserializeCache(bytes, key);
  if (typeof result === 'string') {
    warn(`ignoring cache file ${file}: ${result}; rebuilding from the archive`);
    return null;
  }
  return result;
}

/** Writes the cache atomically; on failure warns (the data is still returned) instead of throwing. */
export async function writeCache(file: string, key: CacheKey, corpus: EncodedCorpus, o: CacheOptions): Promise<void> {
  try {
    await ensureCacheDir(o.cacheDir);
    await writeFileAtomic(file, serializeCache(key, corpus));
  } catch (err) {
    const e = new ImdbError(
      'CACHE_UNWRITABLE',
      `could not write the IMDB cache ${file} (${errorText(err)}). The data is loaded, but the next load ` +
        `will preprocess again: pass cacheDir pointing to a writable folder, or cache: false.`,
      file,
      { cause: err },
    );
    o.onWarning(e.message);
  }
}

/** Creates the cache folder with a `.gitignore` of `*` so cached arrays never get committed. */
async function ensureCacheDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const ignore = path.join(dir, '.gitignore');
  if (!(await isFile(ignore))) await writeFileAtomic(ignore, '*\n');
}
