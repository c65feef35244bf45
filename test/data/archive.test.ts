// Reading the aclImdb archive (lib/data/archive.ts): file names, streaming, broken archives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadImdb } from '../../lib/data/imdb';
import { parseReviewPath, readReviews } from '../../lib/data/archive';
import { ImdbProgress } from '../../lib/data/download';
import { makeTar, makeTarGz, tinyCorpus } from '../fixtures';
import { tempDir, hermetic, tinySetup, cacheFiles, expectImdbError } from './helpers';

test('parseReviewPath keeps {train,test}/{pos,neg}/<id>_<rating>.txt and nothing else', () => {
  assert.deepEqual(parseReviewPath('aclImdb/train/pos/12_9.txt'), { split: 'train', label: 1, id: 12, rating: 9 });
  assert.deepEqual(parseReviewPath('aclImdb/test/neg/0_2.txt'), { split: 'test', label: 0, id: 0, rating: 2 });
  for (const skipped of [
    'aclImdb/train/unsup/0_0.txt',
    'aclImdb/train/labeledBow.feat',
    'aclImdb/train/urls_pos.txt',
    'aclImdb/README',
    'aclImdb/train/pos/',
  ])
    assert.equal(parseReviewPath(skipped), null, skipped);
});

test('readReviews streams the labeled reviews and skips unsup, .feat, urls and README', async () => {
  const { archive } = await tinySetup();
  const progress: ImdbProgress[] = [];
  const reviews = [];
  for await (const r of readReviews(archive, (p) => progress.push(p))) reviews.push(r);
  assert.equal(reviews.length, 10);
  assert.ok(!reviews.some((r) => r.text.includes('unsupword')));
  assert.deepEqual(reviews[0], {
    split: 'train',
    label: 1,
    id: 0,
    rating: 9,
    text: "Great movie! I loved it.<br /><br />Don't miss it, it's GREAT.",
  });
  const last = progress.at(-1);
  assert.ok(last && last.stage === 'read' && last.done && last.reviews === 10 && last.bytes === last.totalBytes);
});

test('bad archives: truncated gzip, garbage, empty tar, truncated tar, missing split', async () => {
  const dir = await tempDir();
  const good = await makeTarGz(tinyCorpus());
  const cases: Array<[string, Buffer, string, string[]]> = [
    [
      'truncated.tar.gz',
      good.subarray(0, Math.floor(good.length / 2)),
      'ARCHIVE_CORRUPT',
      ['corrupt or truncated', 'unexpected end of file'],
    ],
    ['garbage.tar.gz', Buffer.from('<html>404 not found</html>'), 'ARCHIVE_CORRUPT', ['corrupt or truncated']],
    ['zero-bytes.tar.gz', Buffer.alloc(0), 'ARCHIVE_CORRUPT', ['corrupt or truncated']],
    ['empty-tar.tar.gz', zlib.gzipSync(Buffer.alloc(1024)), 'ARCHIVE_CORRUPT', ['no tar entries']],
    ['not-a-tar.tar.gz', zlib.gzipSync(Buffer.from('plain text '.repeat(100))), 'ARCHIVE_CORRUPT', ['Invalid tar header']],
    ['cut-tar.tar.gz', zlib.gzipSync((await makeTar(tinyCorpus())).subarray(0, 3000)), 'ARCHIVE_CORRUPT', ['Unexpected end of data']],
    [
      'no-test-neg.tar.gz',
      await makeTarGz(tinyCorpus().filter((e) => !e.name.includes('test/neg'))),
      'SPLIT_MISSING',
      ['no test/neg reviews', 'test/pos 2'],
    ],
  ];
  for (const [name, bytes, code, mentions] of cases) {
    const file = path.join(dir, name);
    await fsp.writeFile(file, bytes);
    const { options } = hermetic(dir, { archivePath: file });
    await expectImdbError(loadImdb(options), code, file, ...mentions);
  }
  assert.deepEqual(await cacheFiles(path.join(dir, 'cache')), [], 'no encoded cache written for a bad archive');
});
