// The encoded-array cache (lib/data/cache.ts): hits, misses, the remembered archive hash, corrupt and unwritable caches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { loadImdb } from '../../lib/data/imdb';
import { tinyCorpus, writeArchive } from '../fixtures';
import { hermetic, tinySetup, cacheFiles } from './helpers';

test('cache: hit on the second load; numWords, maxLen or archive content changes miss', async () => {
  const { dir, archive } = await tinySetup();
  const cacheDir = path.join(dir, 'cache');
  const { options, warnings } = hermetic(dir, { archivePath: archive, maxLen: 10 });
  const first = await loadImdb(options);
  assert.equal(first.info.fromCache, false);
  assert.equal(first.info.cacheFile?.startsWith(cacheDir), true);
  const second = await loadImdb(options);
  assert.equal(second.info.fromCache, true);
  assert.deepEqual(second.train, first.train);
  assert.deepEqual(second.test, first.test);
  assert.deepEqual(second.vocab, first.vocab);
  assert.equal((await fsp.readFile(path.join(cacheDir, '.gitignore'), 'utf8')).trim(), '*');

  assert.equal((await loadImdb({ ...options, numWords: 9 })).info.fromCache, false);
  assert.equal((await loadImdb({ ...options, maxLen: 11 })).info.fromCache, false);
  assert.equal((await loadImdb({ ...options, seed: 5 })).info.fromCache, false);
  assert.equal((await loadImdb({ ...options, numWords: 9 })).info.fromCache, true);
  assert.equal((await cacheFiles(cacheDir)).length, 4);

  // Same path, new content: the archive hash changes, so the old arrays are not used.
  const changed = tinyCorpus().map((e) => (e.name.endsWith('train/pos/2_8.txt') ? { ...e, text: 'A brand new review, loved it' } : e));
  await writeArchive(dir, changed);
  const third = await loadImdb(options);
  assert.equal(third.info.fromCache, false);
  assert.notEqual(third.info.archiveSha256, first.info.archiveSha256);
  assert.ok(third.vocab.wordToId.has('brand'));
  assert.deepEqual(warnings, []);
  assert.ok(
    (await fsp.readdir(cacheDir)).every((f) => !f.endsWith('.tmp')),
    'no temp files left',
  );
});

test('cache: the archive hash is remembered by path + size + mtime', async () => {
  const { dir, archive } = await tinySetup();
  const { options } = hermetic(dir, { archivePath: archive });
  const first = await loadImdb(options);
  const hashFile = path.join(dir, 'cache', 'archive-sha256.json');
  const known = JSON.parse(await fsp.readFile(hashFile, 'utf8'));
  assert.equal(known[archive].sha256, first.info.archiveSha256);
  // A remembered hash is trusted while size and mtime match (proves it is not recomputed)...
  known[archive].sha256 = 'f'.repeat(64);
  await fsp.writeFile(hashFile, JSON.stringify(known));
  assert.equal((await loadImdb(options)).info.archiveSha256, 'f'.repeat(64));
  // ...and recomputed when the file changes.
  const later = new Date(Date.now() + 5000);
  await fsp.utimes(archive, later, later);
  assert.equal((await loadImdb(options)).info.archiveSha256, first.info.archiveSha256);
  // A garbage hash file is ignored.
  await fsp.writeFile(hashFile, 'garbage');
  assert.equal((await loadImdb(options)).info.archiveSha256, first.info.archiveSha256);
});

test('cache: corrupt, truncated or garbage cache files are detected and rebuilt', async () => {
  const { dir, archive } = await tinySetup();
  const { options, warnings } = hermetic(dir, { archivePath: archive, maxLen: 10 });
  const reference = await loadImdb(options);
  const file = reference.info.cacheFile!;
  const good = await fsp.readFile(file);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 40] ^= 0xff;
  const damaged: Array<[Buffer, RegExp]> = [
    [flipped, /checksum mismatch/],
    [good.subarray(0, good.length - 7), /truncated/],
    [Buffer.from('garbage, not a cache'), /bad magic/],
    [good.subarray(0, 20), /truncated header|bad magic/],
  ];
  for (const [bytes, reason] of damaged) {
    await fsp.writeFile(file, bytes);
    warnings.length = 0;
    const rebuilt = await loadImdb(options);
    assert.equal(rebuilt.info.fromCache, false);
    assert.deepEqual(rebuilt.train, reference.train);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], reason);
    assert.match(warnings[0], /rebuilding/);
    assert.ok(warnings[0].includes(file));
    assert.deepEqual(await fsp.readFile(file), good, 'a valid cache file was written back');
    assert.equal((await loadImdb(options)).info.fromCache, true);
  }
});

test('cache: unreadable or unwritable cache warns, still returns the data', async () => {
  const { dir, archive } = await tinySetup();
  const { options, warnings } = hermetic(dir, { archivePath: archive, maxLen: 10 });
  const reference = await loadImdb(options);
  // Unreadable: the cache file's path is a directory (EISDIR; chmod cannot stop root from reading).
  const file = reference.info.cacheFile!;
  await fsp.rm(file);
  await fsp.mkdir(path.join(file, 'sub'), { recursive: true });
  const data = await loadImdb(options);
  assert.deepEqual(data.train, reference.train);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0], /cannot read cache file .*EISDIR.*rebuilding/);
  assert.match(warnings[1], /could not write the IMDB cache .*cacheDir/);
  assert.ok(warnings[1].includes(file));

  // Unwritable: the cache folder is a regular file.
  const blocked = path.join(dir, 'not-a-folder');
  await fsp.writeFile(blocked, 'x');
  warnings.length = 0;
  const again = await loadImdb({ ...options, cacheDir: blocked });
  assert.deepEqual(again.test, reference.test);
  assert.ok(
    warnings.some((w) => w.includes('could not write the IMDB cache') && w.includes(blocked)),
    warnings.join('\n'),
  );

  // cache: false neither reads nor writes.
  const noCache = hermetic(path.join(dir, 'fresh'), { archivePath: archive, cache: false });
  assert.equal((await loadImdb(noCache.options)).info.cacheFile, null);
  assert.equal(fs.existsSync(path.join(dir, 'fresh')), false);
});
