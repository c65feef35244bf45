// IMDB errors (lib/data/errors.ts): a code, the file concerned, the cause, and one-line error texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { ImdbError, errnoCode, errorText } from '../../lib/data/errors';

test('ImdbError carries its code, path and cause', () => {
  const cause = new Error('disk full');
  const err = new ImdbError('CACHE_UNWRITABLE', 'could not write the cache', '/tmp/c.bin', { cause });
  assert.ok(err instanceof Error);
  assert.deepEqual([err.name, err.code, err.path, err.cause], ['ImdbError', 'CACHE_UNWRITABLE', '/tmp/c.bin', cause]);
});

test('errorText: errno code, message and cause on one line; errnoCode only for file-system errors', () => {
  let missing: unknown;
  try {
    fs.readFileSync('/no/such/file');
  } catch (err) {
    missing = err;
  }
  assert.equal(errnoCode(missing), 'ENOENT');
  assert.match(errorText(missing), /^ENOENT: ENOENT: no such file or directory/);
  assert.equal(errorText(new Error('outer', { cause: new Error('inner') })), 'outer (inner)');
  assert.equal(errorText('plain'), 'plain');
  assert.equal(errnoCode(new Error('x')), undefined);
});
