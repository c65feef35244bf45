// The IMDB arrays as .npy files for Python (lib/data/export.ts): the files hold exactly the arrays
// the course trains on, the manifest names them with their checksums, and an identical export is reused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImdb } from '../../lib/data/imdb';
import { exportImdb, exportName, existingExport } from '../../lib/data/export';
import { decodeNpy } from '../../lib/util/npy';
import { hermetic, tempDir, tinySetup } from './helpers';

test('exportImdb writes x/y of both splits as .npy, equal to the loaded arrays, with a manifest of SHA-256s; reuses an identical export', async () => {
  const { dir, archive } = await tinySetup();
  const data = await loadImdb(hermetic(dir, { archivePath: archive, maxLen: 12 }).options);
  const root = await tempDir();
  const first = await exportImdb(data, root);
  assert.equal(first.written, true);
  assert.equal(
    path.basename(first.dir),
    exportName({
      numWords: data.info.numWords,
      maxLen: 12,
      dataSeed: data.info.seed,
      trainSize: data.train.size,
      testSize: data.test.size,
    }),
  );
  const read = (name: string) => decodeNpy(fs.readFileSync(path.join(first.dir, `${name}.npy`)));
  assert.deepEqual(Array.from(read('x_train').data), Array.from(data.train.x));
  assert.deepEqual(read('x_train').shape, [data.train.size, 12]);
  assert.deepEqual(Array.from(read('y_test').data), Array.from(data.test.y));
  assert.equal(read('y_test').descr, '<f4');
  for (const [name, f] of Object.entries(first.manifest.files)) {
    const sha = createHash('sha256')
      .update(fs.readFileSync(path.join(first.dir, `${name}.npy`)))
      .digest('hex');
    assert.equal(f.sha256, sha, name);
  }
  assert.equal(first.manifest.archiveSha256, data.info.archiveSha256);
  const again = await exportImdb(data, root);
  assert.equal(again.written, false, 'an identical export is reused, not rewritten');
  // A missing file makes the export incomplete: it is written anew.
  fs.rmSync(path.join(first.dir, 'x_test.npy'));
  assert.equal(existingExport(first.dir, { ...first.manifest }), null);
  assert.equal((await exportImdb(data, root)).written, true);
});
