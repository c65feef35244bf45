/**
 * The encoded IMDB arrays (lib/data/imdb.ts loadImdb) as NumPy .npy files, so that a Python program
 * (scripts/keras_reference.py, scripts/keras_models.py) trains on exactly the arrays, in exactly the
 * order, that this project's training reads:
 *
 *   data/export/<name>/x_train.npy  int32 [trainSize, maxLen]   (Keras-padded ids, 'pre')
 *                      y_train.npy  float32 [trainSize]         (1 = positive)
 *                      x_test.npy   int32 [testSize, maxLen]
 *                      y_test.npy   float32 [testSize]
 *                      manifest.json  what was exported, from which archive, with each file's SHA-256
 *
 * The rows are the first trainSize / testSize of each split after lib/data/imdb's seeded shuffle
 * (ImdbData.subset), which is what lib/training/train.ts's train() uses before its own per-epoch shuffles.
 * Its command line: scripts/export-imdb.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DATA_DIR } from '../util/paths';
import type { ImdbData, ImdbSplit } from './imdb';
import { encodeNpy } from '../util/npy';

/** Where exports go (git-ignored with the rest of data/). */
export const EXPORT_ROOT = path.join(DATA_DIR, 'export');

/** What identifies an export: the encoding options, the row counts and the archive. */
export interface ExportKey {
  numWords: number;
  maxLen: number;
  dataSeed: number;
  trainSize: number;
  testSize: number;
  archiveSha256: string;
}

/** manifest.json of an export folder. */
export interface ExportManifest extends ExportKey {
  format: 1;
  padding: string;
  truncating: string;
  files: Record<string, { descr: string; shape: number[]; sha256: string }>;
  createdAt: string;
}

/** The folder name of an export, e.g. imdb-w10000-len500-seed113-train25000-test25000. */
export function exportName(k: Omit<ExportKey, 'archiveSha256'>): string {
  return `imdb-w${k.numWords}-len${k.maxLen}-seed${k.dataSeed}-train${k.trainSize}-test${k.testSize}`;
}

// The four arrays of a data set, as the Python side reads them.
function arraysOf(data: ImdbData): Array<[string, Int32Array | Float32Array, number[]]> {
  const labels = (s: ImdbSplit) => Float32Array.from(s.y);
  return [
    ['x_train', data.train.x, [data.train.size, data.maxLen]],
    ['y_train', labels(data.train), [data.train.size]],
    ['x_test', data.test.x, [data.test.size, data.maxLen]],
    ['y_test', labels(data.test), [data.test.size]],
  ];
}

/** The manifest in `dir` when it describes exactly `key`, else null. */
export function existingExport(dir: string, key: ExportKey): ExportManifest | null {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return null;
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as ExportManifest;
  const same = (Object.keys(key) as (keyof ExportKey)[]).every((k) => m[k] === key[k]);
  const complete = Object.keys(m.files ?? {}).every((name) => fs.existsSync(path.join(dir, `${name}.npy`)));
  return same && complete ? m : null;
}

/**
 * Writes `data` (already cut to the wanted sizes) into `<root>/<exportName>/` unless an identical export
 * is there; returns the folder and its manifest. Written under a temporary name and renamed into place.
 */
export async function exportImdb(
  data: ImdbData,
  root: string = EXPORT_ROOT,
): Promise<{ dir: string; manifest: ExportManifest; written: boolean }> {
  const key: ExportKey = {
    numWords: data.info.numWords,
    maxLen: data.maxLen,
    dataSeed: data.info.seed,
    trainSize: data.train.size,
    testSize: data.test.size,
    archiveSha256: data.info.archiveSha256,
  };
  const dir = path.join(root, exportName(key));
  const found = existingExport(dir, key);
  if (found) return { dir, manifest: found, written: false };

  await fsp.mkdir(root, { recursive: true });
  const tmp = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fsp.mkdir(tmp);
  try {
    const files: ExportManifest['files'] = {};
    for (const [name, values, shape] of arraysOf(data)) {
      const bytes = encodeNpy(values, shape);
      await fsp.writeFile(path.join(tmp, `${name}.npy`), bytes);
      files[name] = {
        descr: values instanceof Int32Array ? '<i4' : '<f4',
        shape,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    }
    const manifest: ExportManifest = {
      format: 1,
      ...key,
      padding: data.info.padding,
      truncating: data.info.truncating,
      files,
      createdAt: new Date().toISOString(),
    };
    await fsp.writeFile(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
    await fsp.rm(dir, { recursive: true, force: true }); // a stale or incomplete export of the same name
    await fsp.rename(tmp, dir);
    return { dir, manifest, written: true };
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
