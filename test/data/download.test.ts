// Finding or downloading the archive (lib/data/download.ts), and the progress line of reading and downloading.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { loadImdb } from '../../lib/data/imdb';
import { ImdbProgress, downloadArchive, formatImdbProgress, imdbProgressPrinter, locateArchive } from '../../lib/data/download';
import { makeTarGz, tinyCorpus, writeArchive } from '../fixtures';
import { tempDir, hermetic, expectImdbError } from './helpers';

async function serve(handler: http.RequestListener): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/aclImdb_v1.tar.gz`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('no archive anywhere with download disabled: ARCHIVE_NOT_FOUND lists every place and the fix', async () => {
  const dir = await tempDir();
  const { options, warnings } = hermetic(dir);
  await expectImdbError(
    loadImdb(options),
    'ARCHIVE_NOT_FOUND',
    'archivePath option: not set',
    'IMDB_ARCHIVE environment variable: not set',
    path.join(dir, 'aclImdb_v1.tar.gz'),
    'disabled',
    'set IMDB_ARCHIVE',
  );
  assert.deepEqual(warnings, []);
});

test('an explicit archive path that is wrong is an error naming it, never a fallback; a directory is named as a directory', async () => {
  const dir = await tempDir();
  await writeArchive(dir, tinyCorpus(), 'aclImdb_v1.tar.gz'); // what a fallback would silently use
  const missing = path.join(dir, 'nope.tar.gz');
  const opts = { dataDir: dir, download: false, onWarning: () => {} };
  await expectImdbError(
    locateArchive({ ...opts, archivePath: missing }),
    'ARCHIVE_NOT_FOUND',
    `archivePath option, ${missing}, does not exist`,
  );
  await expectImdbError(locateArchive({ ...opts, archivePath: dir }), 'ARCHIVE_NOT_FOUND', `${dir}, is a directory, not a .tar.gz file`);
  process.env.IMDB_ARCHIVE = path.join(dir, 'also-missing.tar.gz');
  try {
    await expectImdbError(
      locateArchive(opts),
      'ARCHIVE_NOT_FOUND',
      'IMDB_ARCHIVE environment variable',
      'also-missing.tar.gz, does not exist',
    );
    process.env.IMDB_ARCHIVE = dir;
    await expectImdbError(locateArchive(opts), 'ARCHIVE_NOT_FOUND', 'is a directory');
  } finally {
    delete process.env.IMDB_ARCHIVE;
  }
});

test('archive resolution order: explicit path, then IMDB_ARCHIVE, then <dataDir>/aclImdb_v1.tar.gz', async () => {
  const dir = await tempDir();
  const explicit = await writeArchive(dir, tinyCorpus(), 'explicit.tar.gz');
  const fromEnv = await writeArchive(dir, tinyCorpus(), 'env.tar.gz');
  const cached = await writeArchive(dir, tinyCorpus(), 'aclImdb_v1.tar.gz');
  const opts = { dataDir: dir, download: false, onWarning: () => {} };
  process.env.IMDB_ARCHIVE = fromEnv;
  try {
    assert.equal(await locateArchive({ ...opts, archivePath: explicit }), explicit);
    assert.equal(await locateArchive(opts), fromEnv);
  } finally {
    delete process.env.IMDB_ARCHIVE;
  }
  assert.equal(await locateArchive(opts), cached);
});

test('download: from a local server into <dataDir> with progress, then used by loadImdb', async () => {
  const body = await makeTarGz(tinyCorpus());
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
    // Two chunks so progress reports an intermediate value.
    res.write(body.subarray(0, 100));
    setTimeout(() => res.end(body.subarray(100)), 10);
  });
  try {
    const dir = await tempDir();
    const { options, progress } = hermetic(dir, { download: true, url: server.url, maxLen: 10 });
    const data = await loadImdb(options);
    const dest = path.join(dir, 'aclImdb_v1.tar.gz');
    assert.equal(data.info.archivePath, dest);
    assert.deepEqual(await fsp.readFile(dest), body);
    assert.equal(data.train.size, 6);
    const downloads = progress.filter((p) => p.stage === 'download');
    assert.ok(downloads.length >= 2);
    const last = downloads.at(-1)!;
    assert.ok(last.stage === 'download' && last.done && last.bytes === body.length && last.totalBytes === body.length);
    assert.ok(last.bytesPerSecond > 0);
    assert.match(formatImdbProgress(downloads[0]), /downloading \[#*-+\] \d+\.\d% 0\.0\/0\.0 MB \d+\.\d MB\/s/);
    assert.match(formatImdbProgress(last), /\[#{20}\] 100\.0%/);
    // Found in the data folder next time: no second request.
    await loadImdb(options);
    assert.equal(server.hits(), 1);
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['aclImdb_v1.tar.gz', 'cache']);
  } finally {
    await server.close();
  }
});

test('download: interrupted, HTTP error or corrupt body leaves no file behind', async () => {
  const body = await makeTarGz(tinyCorpus());
  let mode: 'cut' | 'missing' | 'garbage' = 'cut';
  const server = await serve((_req, res) => {
    if (mode === 'missing') {
      res.writeHead(404).end('not here');
    } else if (mode === 'garbage') {
      const junk = Buffer.alloc(body.length, 7);
      res.writeHead(200, { 'content-length': junk.length }).end(junk);
    } else {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => res.socket?.destroy(), 20); // the connection drops midway
    }
  });
  try {
    const dir = await tempDir();
    const dest = path.join(dir, 'aclImdb_v1.tar.gz');
    const progress: ImdbProgress[] = [];
    await expectImdbError(
      downloadArchive(server.url, dest, (p) => progress.push(p)),
      'DOWNLOAD_FAILED',
      server.url,
      dest,
    );
    assert.ok(progress.length > 0 && progress.every((p) => !p.done));
    assert.deepEqual(await fsp.readdir(dir), [], 'no partial or cache file after an interrupted download');

    mode = 'missing';
    await expectImdbError(
      downloadArchive(server.url, dest, () => {}),
      'DOWNLOAD_FAILED',
      'HTTP 404',
    );
    mode = 'garbage';
    await expectImdbError(
      downloadArchive(server.url, dest, () => {}),
      'DOWNLOAD_FAILED',
      'corrupt or truncated',
    );
    assert.deepEqual(await fsp.readdir(dir), []);

    // Through loadImdb the failure is reported with the places looked at.
    mode = 'cut';
    const { options } = hermetic(dir, { download: true, url: server.url });
    await expectImdbError(loadImdb(options), 'ARCHIVE_NOT_FOUND', 'download from', 'failed', 'IMDB_ARCHIVE');
    assert.deepEqual(
      (await fsp.readdir(dir)).filter((f) => f !== 'cache'),
      [],
    );
    // A partial file left by a killed download (dead pid) is cleaned up by the next one.
    const stale = `${dest}.999999999.abcd.partial`;
    await fsp.writeFile(stale, 'half');
    mode = 'missing';
    await expectImdbError(
      downloadArchive(server.url, dest, () => {}),
      'DOWNLOAD_FAILED',
    );
    assert.equal(fs.existsSync(stale), false);
  } finally {
    await server.close();
  }
});

test('imdbProgressPrinter writes concise lines (throttled when not a terminal)', () => {
  const lines: string[] = [];
  const fake = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const show = imdbProgressPrinter(fake);
  show({ stage: 'read', reviews: 1, bytes: 10, totalBytes: 100, done: false });
  show({ stage: 'read', reviews: 2, bytes: 20, totalBytes: 100, done: false }); // throttled
  show({ stage: 'read', reviews: 50000, bytes: 100, totalBytes: 100, done: true });
  assert.deepEqual(lines, ['imdb: reading reviews 1 (10% of archive)\n', 'imdb: reading reviews 50,000 (100% of archive) done\n']);
  assert.equal(
    formatImdbProgress({ stage: 'download', bytes: 21e6, totalBytes: 84e6, bytesPerSecond: 5.2e6, done: false }),
    'imdb: downloading [#####---------------] 25.0% 21.0/84.0 MB 5.2 MB/s',
  );
});
