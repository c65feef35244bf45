// Where the project keeps its files (lib/util/paths.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATA_DIR, ROOT, RUNS_DIR, SHARED_ARCHIVE } from '../../lib/util/paths';

test('ROOT is the folder holding package.json; data/ and runs/ are inside it; the shared archive is beside it', () => {
  assert.equal(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).name, 'gru-course');
  assert.equal(DATA_DIR, path.join(ROOT, 'data'));
  assert.equal(RUNS_DIR, path.join(ROOT, 'runs'));
  assert.equal(SHARED_ARCHIVE, path.join(path.dirname(ROOT), 'shared', 'data', 'aclImdb_v1-labeled.tar.gz'));
});
