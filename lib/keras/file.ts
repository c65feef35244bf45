/**
 * Keras's two model file formats, read and written for the course's model (lib/keras/config.ts):
 *
 * - Legacy HDF5 (`model.save("m.h5")`, Keras 2.x and Keras 3; also what Keras 2.12 writes for a `.keras`
 *   name unless told save_format="keras_v3"). Root attributes `model_config` (JSON), `keras_version`,
 *   `backend`; weights under `model_weights/<layer>/`, whose attribute `weight_names` lists the layer's
 *   datasets in order, e.g. Keras 2.12 `gru/gru_cell/kernel:0`, Keras 3 `sequential/gru/gru_cell/kernel`
 *   (the dataset is `model_weights/<layer>/<weight name>`).
 * - The `.keras` zip (Keras 3; Keras 2.12 with save_format="keras_v3"): `config.json` (the model config),
 *   `metadata.json` ({keras_version, date_saved}) and `model.weights.h5`, which holds each layer's
 *   variables in creation order as datasets `vars/0`, `vars/1`, ... under `layers/<layer>/` (Keras 3) or
 *   `_layer_checkpoint_dependencies/<layer>/` (Keras 2.12); a GRU's are under its `cell/`.
 *
 * Either way the course's model has six arrays, in Keras's layout (lib/cells/gru.ts):
 *   embeddings [numWords, dim], kernel [dim, 3u], recurrent_kernel [u, 3u],
 *   bias [2, 3u] (reset_after) or [3u], dense kernel [u, 1], dense bias [1].
 * The format of a file is told by its first bytes (zip or HDF5 signature), not by its name.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { KerasModelError, kerasConfigH5, kerasConfigV3, parseKerasConfig, type KerasGruSpec } from './config';
import { HDF5_SIGNATURE, Hdf5Reader, openHdf5Bytes, tempFilePath, writeHdf5, type Hdf5Array, type Hdf5Content } from './hdf5';

/** The six weight arrays of the course's model, in Keras's layout. */
export interface KerasGruWeights {
  embeddings: Hdf5Array;
  kernel: Hdf5Array;
  recurrentKernel: Hdf5Array;
  bias: Hdf5Array;
  denseKernel: Hdf5Array;
  denseBias: Hdf5Array;
}

/** Which of the two file formats. */
export type KerasFileFormat = 'keras' | 'h5';

/** A Keras model file, read. */
export interface KerasModelFile {
  format: KerasFileFormat;
  /** keras_version as the file records it (e.g. "2.12.0", "3.15.1"), or "unknown". */
  kerasVersion: string;
  /** The backend that saved it (legacy .h5 only), or null. */
  backend: string | null;
  spec: KerasGruSpec;
  weights: KerasGruWeights;
}

const ZIP_SIGNATURE = Uint8Array.from([0x50, 0x4b, 0x03, 0x04]);

function startsWith(bytes: Uint8Array, signature: Uint8Array): boolean {
  return signature.every((b, i) => bytes[i] === b);
}

function invalid(source: string, what: string): never {
  throw new KerasModelError('INVALID', `${source}: ${what}`);
}

function parseJson(text: string, source: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return invalid(source, `${what} is not valid JSON (${(err as Error).message})`);
  }
}

// Checks each array's shape against the spec; the message names the weight, the shape found and wanted.
function checkShapes(w: KerasGruWeights, spec: KerasGruSpec, source: string): void {
  const u = spec.units;
  const wanted: Array<[keyof KerasGruWeights, number[]]> = [
    ['embeddings', [spec.numWords, spec.embeddingDim]],
    ['kernel', [spec.embeddingDim, 3 * u]],
    ['recurrentKernel', [u, 3 * u]],
    ['bias', spec.resetAfter ? [2, 3 * u] : [3 * u]],
    ['denseKernel', [u, 1]],
    ['denseBias', [1]],
  ];
  for (const [key, shape] of wanted) {
    const got = w[key].shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      invalid(source, `weight ${key} has shape [${got}], but the config (units ${u}, reset_after ${spec.resetAfter}) needs [${shape}]`);
    }
  }
}

// Refuses NaN and infinite weights (a diverged training's file): they would import, then predict NaN.
function checkFinite(w: KerasGruWeights, spec: KerasGruSpec, source: string): void {
  const n = spec.layerNames;
  const names: Array<[keyof KerasGruWeights, string, string]> = [
    ['embeddings', n.embedding, 'embeddings'],
    ['kernel', n.gru, 'kernel'],
    ['recurrentKernel', n.gru, 'recurrent_kernel'],
    ['bias', n.gru, 'bias'],
    ['denseKernel', n.dense, 'kernel'],
    ['denseBias', n.dense, 'bias'],
  ];
  for (const [key, layer, weight] of names) {
    const data = w[key].data;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < data.length; i++) {
      if (Number.isFinite(data[i])) continue;
      if (bad++ === 0) first = i;
    }
    if (bad > 0) {
      invalid(
        source,
        `layer "${layer}" weight ${weight} holds ${bad} non-finite value(s) (the first, ${data[first]}, at flat index ${first}): ` +
          'the model is broken (a training that diverged?) and is not imported',
      );
    }
  }
}

// The variables of one layer in a .keras weights file: <base>/<key>[/cell]/vars/0, 1, .... Keras 3 names a
// layer's group after its class, snake-cased (saving_lib's _save_container_state: "embedding", "gru", "dense"),
// not after the layer's own name ("embedding_1" when a second model was built in the same session); Keras 2.12's
// keras_v3 files use the layer's name. Both are tried: the layer's name, then its class's.
function layerVars(reader: Hdf5Reader, layer: string, classKey: string, cell: boolean, source: string): Hdf5Array[] {
  for (const key of layer === classKey ? [layer] : [layer, classKey]) {
    for (const base of ['layers', '_layer_checkpoint_dependencies']) {
      const dir = `${base}/${key}${cell ? '/cell' : ''}/vars`;
      if (!reader.has(dir)) continue;
      const keys = reader
        .keys(dir)
        .filter((k) => /^\d+$/.test(k))
        .sort((a, b) => Number(a) - Number(b));
      return keys.map((k) => reader.array(`${dir}/${k}`));
    }
  }
  return invalid(
    source,
    `model.weights.h5 has no variables for layer "${layer}" (looked under layers/ and _layer_checkpoint_dependencies/, as "${layer}" and "${classKey}")`,
  );
}

function weightsFromV3(reader: Hdf5Reader, spec: KerasGruSpec, source: string): KerasGruWeights {
  const n = spec.layerNames;
  const count = (vars: Hdf5Array[], want: number, layer: string) => {
    if (vars.length !== want) invalid(source, `layer "${layer}" has ${vars.length} variables in model.weights.h5, expected ${want}`);
    return vars;
  };
  const [embeddings] = count(layerVars(reader, n.embedding, 'embedding', false, source), 1, n.embedding);
  const [kernel, recurrentKernel, bias] = count(layerVars(reader, n.gru, 'gru', true, source), 3, n.gru);
  const [denseKernel, denseBias] = count(layerVars(reader, n.dense, 'dense', false, source), 2, n.dense);
  return { embeddings, kernel, recurrentKernel, bias, denseKernel, denseBias };
}

// A legacy layer group's weights by their last name part without ":0" (embeddings, kernel, recurrent_kernel, bias).
function legacyLayerWeights(reader: Hdf5Reader, root: string, layer: string, source: string): Map<string, Hdf5Array> {
  const group = `${root}/${layer}`;
  const names = reader.stringListAttribute(group, 'weight_names');
  if (names === null) invalid(source, `no weights for layer "${layer}" (${group} has no weight_names attribute)`);
  const out = new Map<string, Hdf5Array>();
  for (const name of names) out.set(name.split('/').pop()!.replace(/:\d+$/, ''), reader.array(`${group}/${name}`));
  return out;
}

function weightsFromH5(reader: Hdf5Reader, spec: KerasGruSpec, source: string): KerasGruWeights {
  const root = reader.has('model_weights') ? 'model_weights' : '';
  const n = spec.layerNames;
  const get = (m: Map<string, Hdf5Array>, key: string, layer: string) => {
    const a = m.get(key);
    if (!a) invalid(source, `layer "${layer}" has no weight named ${key} (found: ${[...m.keys()].join(', ') || 'none'})`);
    return a;
  };
  const e = legacyLayerWeights(reader, root, n.embedding, source);
  const g = legacyLayerWeights(reader, root, n.gru, source);
  const d = legacyLayerWeights(reader, root, n.dense, source);
  return {
    embeddings: get(e, 'embeddings', n.embedding),
    kernel: get(g, 'kernel', n.gru),
    recurrentKernel: get(g, 'recurrent_kernel', n.gru),
    bias: get(g, 'bias', n.gru),
    denseKernel: get(d, 'kernel', n.dense),
    denseBias: get(d, 'bias', n.dense),
  };
}

/** The largest config.json / metadata.json a .keras zip may hold (the course's model's config is ~3 KB). */
export const KERAS_JSON_LIMIT = 4 * 2 ** 20;

/**
 * The largest model.weights.h5 accepted for `spec`: its weights' float32 bytes four times over (Keras 3 saves
 * the optimizer's two moments beside them) plus 16 MiB of HDF5 structure.
 */
export function kerasWeightsLimit(spec: KerasGruSpec): number {
  const u = spec.units;
  const floats = spec.numWords * spec.embeddingDim + spec.embeddingDim * 3 * u + u * 3 * u + 2 * 3 * u + u + 1;
  return 4 * 4 * floats + 16 * 2 ** 20;
}

// The named entries of a zip, each inflated only when the central directory declares at most its limit
// (fflate inflates into a buffer of the declared size); nothing else in the zip is inflated.
function unzipEntries(
  bytes: Uint8Array,
  limits: Record<string, number>,
  source: string,
): { files: Record<string, Uint8Array>; names: string[] } {
  const names: string[] = [];
  try {
    const files = unzipSync(bytes, {
      filter: (entry) => {
        names.push(entry.name);
        const limit = limits[entry.name];
        if (limit === undefined) return false;
        if (entry.originalSize > limit) {
          invalid(
            source,
            `${entry.name} in the .keras zip would inflate to ${entry.originalSize} bytes, more than the ${limit} this model can need`,
          );
        }
        return true;
      },
    });
    return { files, names };
  } catch (err) {
    if (err instanceof KerasModelError) throw err;
    return invalid(source, `is not a readable zip (${(err as Error).message})`);
  }
}

async function readV3(bytes: Uint8Array, source: string): Promise<KerasModelFile> {
  const { files: meta, names } = unzipEntries(bytes, { 'config.json': KERAS_JSON_LIMIT, 'metadata.json': KERAS_JSON_LIMIT }, source);
  const missing = ['config.json', 'model.weights.h5'].find((name) => !names.includes(name));
  if (missing) invalid(source, `the .keras zip has no ${missing} (found: ${names.join(', ')})`);
  const spec = parseKerasConfig(parseJson(strFromU8(meta['config.json']), source, 'config.json'), source);
  const metadata = meta['metadata.json']
    ? (parseJson(strFromU8(meta['metadata.json']), source, 'metadata.json') as { keras_version?: string })
    : {};
  const weightsBytes = unzipEntries(bytes, { 'model.weights.h5': kerasWeightsLimit(spec) }, source).files['model.weights.h5'];
  const { reader, dispose } = await openHdf5Bytes(weightsBytes, `${source} (model.weights.h5)`);
  try {
    const weights = weightsFromV3(reader, spec, source);
    checkShapes(weights, spec, source);
    checkFinite(weights, spec, source);
    return { format: 'keras', kerasVersion: metadata.keras_version ?? 'unknown', backend: null, spec, weights };
  } finally {
    await dispose();
  }
}

async function readH5(file: string, source: string): Promise<KerasModelFile> {
  const reader = await Hdf5Reader.open(file, source);
  try {
    const configText = reader.stringAttribute('', 'model_config');
    if (configText === null) {
      invalid(
        source,
        'this HDF5 file has no model_config attribute: it holds weights only (model.save_weights). Save the whole model with model.save("model.h5") or model.save("model.keras")',
      );
    }
    const spec = parseKerasConfig(parseJson(configText, source, 'model_config'), source);
    const weights = weightsFromH5(reader, spec, source);
    checkShapes(weights, spec, source);
    checkFinite(weights, spec, source);
    const version = reader.stringAttribute('', 'keras_version') ?? reader.stringAttribute('model_weights', 'keras_version') ?? 'unknown';
    const backend = reader.stringAttribute('', 'backend') ?? reader.stringAttribute('model_weights', 'backend');
    return { format: 'h5', kerasVersion: version, backend, spec, weights };
  } finally {
    reader.close();
  }
}

/** Reads a `.keras` zip or a legacy `.h5` file of the course's model shape (else KerasModelError). */
export async function readKerasModel(file: string): Promise<KerasModelFile> {
  let stat: fs.Stats;
  try {
    stat = await fsp.stat(file);
  } catch {
    throw new KerasModelError('INVALID', `${file}: no such file`);
  }
  if (stat.isDirectory()) {
    invalid(
      file,
      'is a directory (a TensorFlow SavedModel?). Save the model as one file: model.save("model.keras") or model.save("model.h5")',
    );
  }
  const head = await readHead(file, HDF5_SIGNATURE.length);
  if (startsWith(head, ZIP_SIGNATURE)) return readV3(new Uint8Array(await fsp.readFile(file)), file);
  if (startsWith(head, HDF5_SIGNATURE)) return readH5(file, file);
  return invalid(file, 'is neither a .keras zip nor an HDF5 (.h5) file');
}

// The first `n` bytes of a file (fewer when it is shorter): the format is told by them, without reading the rest.
async function readHead(file: string, n: number): Promise<Uint8Array> {
  const handle = await fsp.open(file, 'r');
  try {
    const head = new Uint8Array(n);
    const { bytesRead } = await handle.read(head, 0, n, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** keras_version written into exported files: the Keras whose layout each follows (.h5: Keras 2.12's; .keras: Keras 3's; both open both). */
export const EXPORT_KERAS_VERSION = { h5: '2.12.0', keras: '3.15.1' } as const;

function h5Content(spec: KerasGruSpec, w: KerasGruWeights): Hdf5Content {
  const n = spec.layerNames;
  const mw = 'model_weights';
  const layer = (name: string, weights: Array<[string, Hdf5Array]>) => ({
    attribute: { path: `${mw}/${name}`, name: 'weight_names', value: weights.map(([wn]) => wn) },
    datasets: weights.map(([wn, array]) => ({ path: `${mw}/${name}/${wn}`, array })),
  });
  const layers = [
    layer(n.embedding, [[`${n.embedding}/embeddings:0`, w.embeddings]]),
    layer(n.gru, [
      [`${n.gru}/gru_cell/kernel:0`, w.kernel],
      [`${n.gru}/gru_cell/recurrent_kernel:0`, w.recurrentKernel],
      [`${n.gru}/gru_cell/bias:0`, w.bias],
    ]),
    layer(n.dense, [
      [`${n.dense}/kernel:0`, w.denseKernel],
      [`${n.dense}/bias:0`, w.denseBias],
    ]),
  ];
  return {
    attributes: [
      { path: '', name: 'keras_version', value: EXPORT_KERAS_VERSION.h5 },
      { path: '', name: 'backend', value: 'tensorflow' },
      { path: '', name: 'model_config', value: JSON.stringify(kerasConfigH5(spec)) },
      { path: mw, name: 'keras_version', value: EXPORT_KERAS_VERSION.h5 },
      { path: mw, name: 'backend', value: 'tensorflow' },
      { path: mw, name: 'layer_names', value: [n.embedding, n.gru, n.dense] },
      ...layers.map((l) => l.attribute),
    ],
    datasets: layers.flatMap((l) => l.datasets),
  };
}

// model.weights.h5 of a .keras zip: Keras 3's paths (layers/...), and Keras 2.12's (_layer_checkpoint_dependencies/...)
// as a hard link to the same group, so that both versions' loaders find the variables (stored once).
function v3WeightsContent(spec: KerasGruSpec, w: KerasGruWeights): Hdf5Content {
  const n = spec.layerNames;
  const content: Required<Hdf5Content> = {
    attributes: [],
    datasets: [],
    groups: ['vars'],
    links: [{ path: '_layer_checkpoint_dependencies', target: 'layers' }],
  };
  const vars = (dir: string, arrays: Hdf5Array[]) =>
    arrays.forEach((array, i) => content.datasets.push({ path: `layers/${dir}/vars/${i}`, array }));
  vars(n.embedding, [w.embeddings]);
  content.groups.push(`layers/${n.gru}/vars`);
  vars(`${n.gru}/cell`, [w.kernel, w.recurrentKernel, w.bias]);
  vars(n.dense, [w.denseKernel, w.denseBias]);
  return content;
}

/** Writes the model as `format` into `file` (the caller picks the name; see lib/keras/export.ts). */
export async function writeKerasModel(file: string, format: KerasFileFormat, spec: KerasGruSpec, weights: KerasGruWeights): Promise<void> {
  checkShapes(weights, spec, file);
  if (format === 'h5') {
    await writeHdf5(file, h5Content(spec, weights));
    return;
  }
  const tmp = tempFilePath('.weights.h5');
  try {
    await writeHdf5(tmp, v3WeightsContent(spec, weights));
    const weightsBytes = new Uint8Array(await fsp.readFile(tmp));
    const now = new Date().toISOString();
    const metadata = {
      keras_version: EXPORT_KERAS_VERSION.keras,
      date_saved: `${now.slice(0, 10)}@${now.slice(11, 19)}`,
      written_by: 'gru-course export-keras',
    };
    const zip = zipSync({
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(JSON.stringify(kerasConfigV3(spec))),
      'model.weights.h5': [weightsBytes, { level: 0 }],
    });
    await fsp.writeFile(file, zip);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
