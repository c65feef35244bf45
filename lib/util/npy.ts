/**
 * NumPy's .npy file format, version 1.0, for the typed arrays this project exports (so that a Python
 * program can read exactly the arrays lib/data/imdb.ts produced, with numpy.load).
 *
 * Layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *
 *   \x93NUMPY  1 0  <header length: uint16 little-endian>  <header>  <data>
 *
 * The header is a Python dict literal, e.g. {'descr': '<i4', 'fortran_order': False, 'shape': (25000, 500), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes. The data is
 * the array in C (row-major) order, little-endian.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';

/** The element types written: int32, float32 and uint8 (NumPy's descr strings). */
export type NpyDescr = '<i4' | '<f4' | '|u1';

/** An array a .npy file can hold here. */
export type NpyData = Int32Array | Float32Array | Uint8Array;

/** A parsed .npy file. */
export interface NpyArray {
  descr: NpyDescr;
  fortranOrder: boolean;
  shape: number[];
  data: NpyData;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const PREAMBLE_BYTES = 10; // magic (6) + version (2) + header length (2)
const ALIGN = 64;

/** The descr NumPy uses for each typed array. */
export function descrOf(data: NpyData): NpyDescr {
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Float32Array) return '<f4';
  return '|u1';
}

/** Python's repr of a shape tuple: (), (3,), (2, 5). */
function shapeTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The preamble and header of a v1.0 file: magic, version, length, dict, padding, newline (a multiple of 64 bytes). */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Buffer {
  for (const n of shape) if (!Number.isInteger(n) || n < 0) throw new Error(`npy: bad shape [${shape.join(', ')}]`);
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeTuple(shape)}, }`;
  const unpadded = PREAMBLE_BYTES + dict.length + 1; // + the closing '\n'
  const headerLength = dict.length + 1 + ((ALIGN - (unpadded % ALIGN)) % ALIGN);
  if (headerLength > 0xffff) throw new Error('npy: header too long for format version 1.0');
  const out = Buffer.alloc(PREAMBLE_BYTES + headerLength, 0x20); // spaces
  MAGIC.copy(out, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  out.writeUInt16LE(headerLength, 8);
  out.write(dict, PREAMBLE_BYTES, 'latin1');
  out[out.length - 1] = 0x0a;
  return out;
}

/** The element bytes in little-endian order (a copy only on a big-endian machine). */
function littleEndianBytes(data: NpyData): Buffer {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (os.endianness() === 'LE' || data.BYTES_PER_ELEMENT === 1) return bytes;
  return Buffer.from(bytes).swap32();
}

/** A whole .npy file for `data` seen as an array of `shape` (C order). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape.join(', ')}] holds ${count} elements, the data has ${data.length}`);
  return Buffer.concat([npyHeader(descrOf(data), shape), littleEndianBytes(data)]);
}

/** Writes `data` as an array of `shape` to a .npy file. */
export async function writeNpy(file: string, data: NpyData, shape: readonly number[]): Promise<void> {
  await fs.writeFile(file, encodeNpy(data, shape));
}

// Reads the dict NumPy writes (and the one npyHeader writes): descr, fortran_order and shape.
function parseHeaderDict(text: string): { descr: NpyDescr; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined)
    throw new Error(`npy: unreadable header ${JSON.stringify(text)}`);
  if (descr !== '<i4' && descr !== '<f4' && descr !== '|u1') throw new Error(`npy: unsupported descr ${descr} (only <i4, <f4, |u1)`);
  const dims = shape
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  return { descr, fortranOrder: fortran === 'True', shape: dims };
}

/** Parses a .npy file (versions 1.0 and 2.0; <i4, <f4 and |u1 only). The data is a copy. */
export function decodeNpy(file: Uint8Array): NpyArray {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < PREAMBLE_BYTES || !buf.subarray(0, 6).equals(MAGIC)) throw new Error('npy: not a .npy file (bad magic)');
  const major = buf[6];
  const lengthBytes = major === 1 ? 2 : major === 2 ? 4 : 0;
  if (lengthBytes === 0) throw new Error(`npy: unsupported format version ${major}.${buf[7]}`);
  const headerLength = lengthBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const dataStart = 8 + lengthBytes + headerLength;
  const { descr, fortranOrder, shape } = parseHeaderDict(buf.toString('latin1', 8 + lengthBytes, dataStart));
  const count = shape.reduce((a, b) => a * b, 1);
  const itemBytes = descr === '|u1' ? 1 : 4;
  if (buf.length !== dataStart + count * itemBytes)
    throw new Error(`npy: expected ${count * itemBytes} data bytes, found ${buf.length - dataStart}`);
  const bytes = Buffer.from(new ArrayBuffer(count * itemBytes)); // own buffer: aligned, and free to byte-swap
  buf.copy(bytes, 0, dataStart);
  if (itemBytes === 4 && os.endianness() === 'BE') bytes.swap32();
  const data: NpyData =
    descr === '<i4'
      ? new Int32Array(bytes.buffer, bytes.byteOffset, count)
      : descr === '<f4'
        ? new Float32Array(bytes.buffer, bytes.byteOffset, count)
        : new Uint8Array(bytes.buffer, bytes.byteOffset, count);
  return { descr, fortranOrder, shape, data };
}

/** Reads a .npy file written by writeNpy or by NumPy (see decodeNpy for what is supported). */
export async function readNpy(file: string): Promise<NpyArray> {
  return decodeNpy(await fs.readFile(file));
}
