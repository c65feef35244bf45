/**
 * HDF5 for Keras's model files, through h5wasm (the HDF5 C library compiled to WebAssembly):
 * reading and writing groups, float32 datasets and string attributes, which is all that Keras's
 * legacy `.h5` files and the `model.weights.h5` inside a `.keras` zip hold.
 *
 * h5wasm is an ES module only (its package.json exports just an "import" condition), and this
 * project compiles to CommonJS (tsx, and tslab's own compiler, both turn `import()` into `require`);
 * so it is loaded with a real dynamic import built at run time. The node build opens files on the
 * real file system by path.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { KerasModelError } from './config';

type H5wasm = typeof import('h5wasm');
type H5Group = import('h5wasm').Group;
type H5Dataset = import('h5wasm').Dataset;

/** A float32 array with its shape (row-major), as Keras stores a weight. */
export interface Hdf5Array {
  shape: number[];
  data: Float32Array;
}

let loaded: Promise<H5wasm> | null = null;

// h5wasm tags groups and datasets with `type` ("Group", "Dataset"); references carry no tag.
function kindOf(entity: unknown): string | undefined {
  return (entity as { type?: string } | null)?.type;
}

/** The h5wasm module, loaded and initialised once. */
export function h5wasm(): Promise<H5wasm> {
  // new Function: a genuine import() that neither TypeScript nor tslab rewrites into require().
  const dynamicImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<H5wasm>;
  loaded ??= dynamicImport('h5wasm/node').then(async (h5) => {
    await h5.ready;
    return h5;
  });
  return loaded;
}

// The fs module object itself, which h5wasm's file system calls (an import namespace cannot be patched).
const nodeFs = (): { writeSync: typeof import('node:fs').writeSync } => require('node:fs');

/**
 * Runs `work` (h5wasm calls) with HDF5's diagnostics kept off the terminal: the library writes its error
 * stack ("HDF5-DIAG: Error detected ...", ~50 lines for a truncated file) straight to fd 2. When `work`
 * throws, the error is a KerasModelError INVALID naming `source`, with HDF5's innermost reason (e.g.
 * "truncated file: eof = 44544, ... stored_eof = 74240"). With `strict`, diagnostics alone are that error:
 * h5wasm's File constructor reports a file it cannot open only there, and returns a dead handle.
 */
export function quietHdf5<T>(source: string, work: () => T, strict = false): T {
  const fs = nodeFs();
  const writeSync = fs.writeSync;
  let diagnostics = '';
  const keep = (fd: number, data: unknown, offset?: unknown, length?: unknown, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, data, offset, length, ...rest);
    if (typeof data === 'string') {
      diagnostics += data;
      return Buffer.byteLength(data);
    }
    const view = data as ArrayBufferView;
    const from = typeof offset === 'number' ? offset : 0;
    const count = typeof length === 'number' ? length : view.byteLength - from;
    diagnostics += Buffer.from(view.buffer, view.byteOffset + from, count).toString('utf8');
    return count;
  };
  (fs as { writeSync: unknown }).writeSync = keep;
  const damaged = (why: string) =>
    new KerasModelError(
      'INVALID',
      `${source}: is not a readable HDF5 file, it is truncated or damaged (${why}). Save or copy the model again.`,
    );
  let value: T;
  try {
    value = work();
  } catch (err) {
    if (err instanceof KerasModelError) throw err;
    throw damaged(hdf5Reason(diagnostics) ?? (err as Error).message);
  } finally {
    (fs as { writeSync: unknown }).writeSync = writeSync;
  }
  if (strict && diagnostics !== '') throw damaged(hdf5Reason(diagnostics) ?? diagnostics.trim().split('\n')[0]);
  return value;
}

/** The innermost reason of HDF5's first error stack ("#003: ... in H5F__super_read(): truncated file: ..."), or null. */
export function hdf5Reason(diagnostics: string): string | null {
  const first = diagnostics.split('HDF5-DIAG:').find((block) => block.trim() !== '') ?? '';
  const reasons = [...first.matchAll(/#\d+: .* in [\w.]+\(\): (.+)$/gm)].map((m) => m[1].trim());
  return reasons.length > 0 ? reasons[reasons.length - 1] : null;
}

/** Read access to an open HDF5 file (paths are "/"-separated from the root). */
export class Hdf5Reader {
  private constructor(
    private readonly file: import('h5wasm').File,
    /** The file as named to the user (for messages). */
    readonly source: string,
  ) {}

  /** Opens `file` read-only; `source` names it in errors (default: the path). */
  static async open(file: string, source = file): Promise<Hdf5Reader> {
    const h5 = await h5wasm();
    return new Hdf5Reader(
      quietHdf5(source, () => new h5.File(file, 'r'), true),
      source,
    );
  }

  /** True when `objectPath` names a group or dataset. */
  has(objectPath: string): boolean {
    return objectPath === '' || quietHdf5(this.source, () => this.file.get(objectPath)) !== null;
  }

  /** The names directly under a group ([] when it does not exist or is not a group). */
  keys(groupPath: string): string[] {
    return quietHdf5(this.source, () => {
      const g = groupPath === '' ? this.file : this.file.get(groupPath);
      return kindOf(g) === 'Group' ? (g as H5Group).keys() : [];
    });
  }

  /** A string attribute of the root ('') or of a group, or null when absent. */
  stringAttribute(objectPath: string, name: string): string | null {
    const a = this.attribute(objectPath, name);
    if (!a) return null;
    const v = a.value;
    if (typeof v === 'string') return v;
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    return null;
  }

  /** A string-list attribute (Keras's layer_names, weight_names), or null when absent. Bytes are decoded as UTF-8. */
  stringListAttribute(objectPath: string, name: string): string[] | null {
    const a = this.attribute(objectPath, name);
    if (!a) return null;
    const v = a.json_value;
    if (v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => String(x));
  }

  /** A dataset as float32 (Keras's weights are float32; float64 and integer data are converted). */
  array(datasetPath: string): Hdf5Array {
    return quietHdf5(this.source, () => this.readArray(datasetPath));
  }

  private readArray(datasetPath: string): Hdf5Array {
    const d = this.file.get(datasetPath);
    if (kindOf(d) !== 'Dataset') throw new KerasModelError('INVALID', `${this.source}: no dataset at ${datasetPath}`);
    const ds = d as H5Dataset;
    const value = ds.value;
    const shape = ds.shape ?? [];
    if (value instanceof Float32Array) return { shape, data: value };
    if (
      ArrayBuffer.isView(value) &&
      !(value instanceof DataView) &&
      !(value instanceof BigInt64Array) &&
      !(value instanceof BigUint64Array)
    ) {
      return { shape, data: Float32Array.from(value as ArrayLike<number>) };
    }
    if (typeof value === 'number') return { shape, data: Float32Array.of(value) };
    throw new KerasModelError('INVALID', `${this.source}: dataset ${datasetPath} is not numeric (dtype ${JSON.stringify(ds.dtype)})`);
  }

  /** Closes the file. */
  close(): void {
    quietHdf5(this.source, () => this.file.close());
  }

  // One attribute of an object, its value read at once (h5wasm reads lazily), or null.
  private attribute(objectPath: string, name: string) {
    return quietHdf5(this.source, () => {
      const o = objectPath === '' ? this.file : this.file.get(objectPath);
      if (o === null || !('attrs' in o)) return null;
      const a = (o as H5Group).attrs[name];
      return a ? { value: a.value, json_value: a.json_value } : null;
    });
  }
}

/** What to write into an HDF5 file: groups (made on demand), float32 datasets and string attributes. */
export interface Hdf5Content {
  /** Attributes by object path ('' is the root): a string or a list of strings each. */
  attributes?: Array<{ path: string; name: string; value: string | string[] }>;
  /** Datasets by full path, e.g. "model_weights/gru/gru/gru_cell/kernel:0". */
  datasets?: Array<{ path: string; array: Hdf5Array }>;
  /** Groups to create even when empty (Keras writes e.g. an empty `vars` group per layer). */
  groups?: string[];
  /** Hard links made last: `path` becomes another name of the existing object `target` (no data copied). */
  links?: Array<{ path: string; target: string }>;
}

/** Writes `content` into a new HDF5 file `file` (replaced if it exists). */
export async function writeHdf5(file: string, content: Hdf5Content): Promise<void> {
  const h5 = await h5wasm();
  const f = new h5.File(file, 'w');
  try {
    const group = (groupPath: string): H5Group => {
      let g: H5Group = f;
      for (const part of groupPath.split('/').filter((p) => p !== '')) {
        const next = g.get(part);
        g = kindOf(next) === 'Group' ? (next as H5Group) : g.create_group(part);
      }
      return g;
    };
    for (const g of content.groups ?? []) group(g);
    for (const { path: p, array } of content.datasets ?? []) {
      const cut = p.lastIndexOf('/');
      const size = array.shape.reduce((a, b) => a * b, 1);
      if (size !== array.data.length) throw new Error(`writeHdf5: ${p} has shape [${array.shape}] but ${array.data.length} values`);
      group(cut < 0 ? '' : p.slice(0, cut)).create_dataset({ name: p.slice(cut + 1), data: array.data, shape: array.shape, dtype: '<f' });
    }
    for (const { path: p, name, value } of content.attributes ?? []) {
      const target = p === '' ? f : group(p);
      if (Array.isArray(value)) target.create_attribute(name, value, [value.length]);
      else target.create_attribute(name, value);
    }
    for (const { path: p, target } of content.links ?? []) {
      const cut = p.lastIndexOf('/');
      group(cut < 0 ? '' : p.slice(0, cut)).create_hard_link(`/${target}`, p.slice(cut + 1));
    }
  } finally {
    f.close();
  }
}

/** A fresh temporary file path (not created) with the given suffix, in the OS's temp folder. */
export function tempFilePath(suffix: string): string {
  return path.join(os.tmpdir(), `gru-course-${process.pid}-${randomBytes(6).toString('hex')}${suffix}`);
}

/** Opens HDF5 bytes held in memory (e.g. from a zip) by writing them to a temporary file first. */
export async function openHdf5Bytes(bytes: Uint8Array, source: string): Promise<{ reader: Hdf5Reader; dispose: () => Promise<void> }> {
  const tmp = tempFilePath('.h5');
  await fsp.writeFile(tmp, bytes);
  try {
    const reader = await Hdf5Reader.open(tmp, source);
    return {
      reader,
      dispose: async () => {
        reader.close();
        await fsp.rm(tmp, { force: true });
      },
    };
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** HDF5's file signature (the first 8 bytes of a file written at offset 0). */
export const HDF5_SIGNATURE = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
