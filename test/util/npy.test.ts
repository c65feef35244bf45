// The .npy writer and reader: the exact v1.0 header, round trips, and files NumPy itself wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy, encodeNpy, npyHeader, readNpy, writeNpy } from '../../lib/util/npy';

// Written by numpy 1.23.5 (np.save), base64: NumPy pads its header with room for the shape to grow.
const NUMPY_I4_2x3 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAA/v///wMAAAAEAAAABQAAAP///38=';
const NUMPY_F4_3 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAA/AACgv1nZADM=';

test('the v1.0 header: magic, version, length, the dict, space padding to 64 bytes, newline', () => {
  const h = npyHeader('<i4', [25000, 500]);
  assert.equal(h.length % 64, 0);
  assert.deepEqual([...h.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  assert.equal(h.readUInt16LE(8), h.length - 10);
  const text = h.toString('latin1', 10);
  assert.equal(text.trimEnd(), "{'descr': '<i4', 'fortran_order': False, 'shape': (25000, 500), }");
  assert.match(text, /^[^\n]* +\n$/);
  // Python's tuple spellings: one element keeps its comma, none is ().
  assert.match(npyHeader('<f4', [7]).toString('latin1'), /'shape': \(7,\), }/);
  assert.match(npyHeader('<f4', []).toString('latin1'), /'shape': \(\), }/);
});

test('a whole small file, byte for byte', () => {
  const file = encodeNpy(Int32Array.from([1, -2, 3]), [3]);
  const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  const expected = Buffer.concat([
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]), // header length 118: 10 + 118 = 128 = 2 x 64
    Buffer.from(dict.padEnd(117, ' ') + '\n', 'latin1'),
    Buffer.from([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 3, 0, 0, 0]),
  ]);
  assert.deepEqual(file, expected);
});

test('round trips: int32 2-D, float32 1-D, uint8, a scalar, an empty array', () => {
  const cases: Array<[Int32Array | Float32Array | Uint8Array, number[]]> = [
    [Int32Array.from({ length: 12 }, (_, i) => (i % 2 ? -i : i * 1000003)), [3, 4]],
    [Float32Array.from([0.5, -1.25, 3e-8, Infinity, -0]), [5]],
    [Uint8Array.from([0, 1, 255]), [3, 1]],
    [Int32Array.from([42]), []],
    [new Int32Array(0), [0, 5]],
  ];
  for (const [data, shape] of cases) {
    const back = decodeNpy(encodeNpy(data, shape));
    assert.deepEqual(back.shape, shape);
    assert.equal(back.fortranOrder, false);
    assert.equal(back.data.constructor, data.constructor);
    assert.deepEqual([...back.data], [...data]);
  }
});

test('a view into a larger buffer writes only its own elements', () => {
  const big = Int32Array.from({ length: 10 }, (_, i) => i);
  const back = decodeNpy(encodeNpy(big.subarray(4, 7), [3]));
  assert.deepEqual([...back.data], [4, 5, 6]);
});

test('reads files NumPy wrote', () => {
  const a = decodeNpy(Buffer.from(NUMPY_I4_2x3, 'base64'));
  assert.equal(a.descr, '<i4');
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual([...a.data], [1, -2, 3, 4, 5, 2147483647]);
  const f = decodeNpy(Buffer.from(NUMPY_F4_3, 'base64'));
  assert.equal(f.descr, '<f4');
  assert.deepEqual(f.shape, [3]);
  assert.deepEqual([...f.data], [0.5, -1.25, Math.fround(3e-8)]);
});

test('writeNpy and readNpy through a file', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'npy-test-'));
  try {
    const file = path.join(dir, 'y.npy');
    await writeNpy(file, Float32Array.from([1, 0, 1]), [3]);
    const back = await readNpy(file);
    assert.deepEqual([...back.data], [1, 0, 1]);
    assert.equal((await fs.stat(file)).size, 128 + 12); // the dict (58 characters) needs a 128-byte header
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('errors: a shape that does not match the data, a bad shape, bad magic, truncated data', () => {
  assert.throws(() => encodeNpy(new Int32Array(6), [4, 2]), /holds 8 elements, the data has 6/);
  assert.throws(() => npyHeader('<i4', [2.5]), /bad shape/);
  assert.throws(() => decodeNpy(Buffer.from('PK\x03\x04 not npy at all')), /bad magic/);
  const file = encodeNpy(Int32Array.from([1, 2, 3]), [3]);
  assert.throws(() => decodeNpy(file.subarray(0, file.length - 1)), /expected 12 data bytes, found 11/);
});
