// File helpers (lib/util/files.ts): atomic writes, fsync, isFile, JSON reads.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isFile, readJson, readJsonOr, syncFilesIn, writeAndSync, writeFileAtomic } from '../../lib/util/files';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'files-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('writeFileAtomic replaces a file whole and leaves no temporary file behind', async () => {
  const file = path.join(dir, 'a.json');
  await writeFileAtomic(file, '{"v": 1}');
  await writeFileAtomic(file, new Uint8Array(Buffer.from('{"v": 2}')));
  assert.deepEqual(await readJson(file), { v: 2 });
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('a.json')),
    ['a.json'],
  );
  await assert.rejects(writeFileAtomic(path.join(dir, 'no-such-folder', 'b'), 'x'), /ENOENT/);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('writeAndSync creates a new file and refuses to overwrite one; syncFilesIn syncs a folder', async () => {
  const file = path.join(dir, 'new.txt');
  await writeAndSync(file, 'hello');
  assert.equal(fs.readFileSync(file, 'utf8'), 'hello');
  await assert.rejects(writeAndSync(file, 'again'), /EEXIST/);
  await syncFilesIn(dir);
});

test('isFile: true for a file, false for a folder or nothing; readJsonOr falls back on missing or non-object JSON', async () => {
  const file = path.join(dir, 'obj.json');
  fs.writeFileSync(file, '{"k": [1]}');
  fs.writeFileSync(path.join(dir, 'list.json'), '[1, 2]');
  fs.writeFileSync(path.join(dir, 'bad.json'), '{oops');
  assert.equal(await isFile(file), true);
  assert.equal(await isFile(dir), false);
  assert.equal(await isFile(path.join(dir, 'missing')), false);
  assert.deepEqual(await readJsonOr(file, {}), { k: [1] });
  for (const name of ['list.json', 'bad.json', 'missing.json'])
    assert.deepEqual(await readJsonOr(path.join(dir, name), { d: 0 }), { d: 0 }, name);
  await assert.rejects(readJson(path.join(dir, 'bad.json')), SyntaxError);
});

test('writeAndSync: a write that leaves fewer bytes than given is an error, never silent; fileDigest is the size and SHA-256', async () => {
  const fsp = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  const { fileDigest, digestOf } = await import('../../lib/util/files');
  const handle = await fsp.open(__filename, 'r');
  const proto = Object.getPrototypeOf(handle) as { writeFile: (...args: unknown[]) => Promise<void> };
  await handle.close();
  const original = proto.writeFile;
  proto.writeFile = async () => {}; // a file system that reports success and writes nothing
  try {
    await assert.rejects(writeAndSync(path.join(dir, 'short'), 'twelve bytes'), /short: wrote 12 bytes, but the file holds 0/);
  } finally {
    proto.writeFile = original;
  }
  const file = path.join(dir, 'digest');
  await writeAndSync(file, 'héllo');
  const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  assert.deepEqual(await fileDigest(file), { bytes: 6, sha256: sha });
  assert.deepEqual(digestOf('héllo'), { bytes: 6, sha256: sha });
});
