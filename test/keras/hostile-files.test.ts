// `npm run import-keras` on hostile input (issue 26), as a user runs it: a truncated HDF5 file, NaN weights and
// a bad word index are exit 2 with one sentence naming the file, never HDF5's diagnostics or a stack trace.
// (lib/keras/file.ts's checks themselves are tested in test/keras/file.test.ts.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KerasGruSpec } from '../../lib/keras/config';
import { writeKerasModel, type KerasGruWeights } from '../../lib/keras/file';
import { runScript } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-hostile-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec: KerasGruSpec = {
  modelName: 'm',
  numWords: 40,
  embeddingDim: 3,
  maxLen: 7,
  units: 2,
  resetAfter: true,
  dropout: 0,
  recurrentDropout: 0,
  layerNames: { embedding: 'embedding', gru: 'gru', dense: 'dense' },
};

function weights(): KerasGruWeights {
  const a = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => (i % 7) / 10) });
  return {
    embeddings: a([40, 3]),
    kernel: a([3, 6]),
    recurrentKernel: a([2, 6]),
    bias: a([2, 6]),
    denseKernel: a([2, 1]),
    denseBias: a([1]),
  };
}

const wordIndex = path.join(dir, 'word_index.json');
fs.writeFileSync(wordIndex, JSON.stringify({ the: 1, a: 2, film: 3 }));

/** import-keras on `model`: exit 2, the message matching `message`, no HDF5 diagnostics, no stack trace, no run written. */
function refused(model: string, message: RegExp, index = wordIndex) {
  const runDir = path.join(dir, `run-${path.basename(model)}-${path.basename(index)}`);
  const r = runScript('import-keras', model, '--run-dir', runDir, '--word-index', index);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /HDF5-DIAG|\n\s+at /, 'no HDF5 diagnostics, no stack trace');
  assert.ok(r.stderr.trim().split('\n').length <= 2, `one message:\n${r.stderr}`);
  assert.ok(!fs.existsSync(runDir), 'nothing written');
}

test('a truncated .h5: exit 2, naming the file and saying it is truncated', async () => {
  const whole = path.join(dir, 'whole.h5');
  await writeKerasModel(whole, 'h5', spec, weights());
  const ok = runScript('import-keras', whole, '--run-dir', path.join(dir, 'whole-run'), '--word-index', wordIndex);
  assert.equal(ok.status, 0, `premise: the whole file imports\n${ok.stderr}`);
  const bytes = fs.readFileSync(whole);
  const cut = path.join(dir, 'cut.h5');
  fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  refused(cut, /^import-keras: .*cut\.h5: is not a readable HDF5 file, it is truncated or damaged \(truncated file/);
});

test('NaN weights: exit 2, naming the layer and the weight', async () => {
  const w = weights();
  w.kernel.data[0] = NaN;
  const file = path.join(dir, 'nan.keras');
  await writeKerasModel(file, 'keras', spec, w);
  refused(file, /nan\.keras: layer "gru" weight kernel holds 1 non-finite value\(s\)/);
});

test('a bad word index (a rank that is not an integer; a binary file): exit 2 naming it', async () => {
  const model = path.join(dir, 'good.keras');
  await writeKerasModel(model, 'keras', spec, weights());
  const fractional = path.join(dir, 'fractional.json');
  fs.writeFileSync(fractional, JSON.stringify({ the: 1, a: 2.5 }));
  refused(model, /fractional\.json: the rank of "a" is 2\.5, expected a positive integer/, fractional);
  const binary = path.join(dir, 'binary.json');
  fs.writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x01]));
  refused(model, /binary\.json is not valid JSON/, binary);
});
