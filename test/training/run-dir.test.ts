// The run directory (lib/training/run-dir.ts): history, epoch folders written atomically, status, choosing
// and loading an epoch, and refusing to continue a run with another configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-node';
import { KerasAdam } from '../../lib/training/adam';
import { buildModel } from '../../lib/training/model';
import {
  bestEpoch,
  checkSameRun,
  environmentFacts,
  epochDir,
  historyFrame,
  loadRun,
  removePartialEpochs,
  repairHistoryCsv,
  runStatus,
  saveEpoch,
  verifyEpoch,
  writeHistoryCsv,
  type EpochRecord,
} from '../../lib/training/run-dir';
import { TrainError, resolveConfig, type TrainConfig } from '../../lib/training/config';

const record = (epoch: number, valLoss: number): EpochRecord => ({
  epoch,
  loss: 0.5,
  accuracy: 0.7,
  val_loss: valLoss,
  val_accuracy: 0.8,
  seconds: 1,
});

test('history: a polars frame with an integer epoch column; bestEpoch is the lowest validation loss', () => {
  const history = [record(1, 0.5), record(2, 0.3), record(3, 0.4)];
  const frame = historyFrame(history);
  assert.deepEqual(frame.columns, ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds']);
  assert.equal(frame.getColumn('epoch').dtype.toString(), 'DataType(Int32)');
  assert.equal(bestEpoch(history).epoch, 2);
  assert.throws(
    () => bestEpoch([]),
    (err: unknown) => err instanceof TrainError && err.code === 'RUN_NOT_FOUND',
  );
});

test('epoch folders: saved under a temporary name, listed in order, loaded by number, last or best', async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-dir-'));
  try {
    assert.equal(epochDir(runDir, 3), path.join(runDir, 'epoch-03'));
    assert.deepEqual(await runStatus(path.join(runDir, 'missing')), {
      runDir: path.join(runDir, 'missing'),
      exists: false,
      config: null,
      completedEpochs: 0,
      complete: false,
    });
    const config = resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 20, maxLen: 4, embeddingDim: 3, units: 2, epochs: 2 } });
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(config));
    const model = buildModel(config);
    const optimizer = new KerasAdam();
    const history = [record(1, 0.4), record(2, 0.6)];
    for (const epoch of [1, 2]) {
      await saveEpoch(runDir, model, optimizer, {
        epoch,
        steps: epoch * 10,
        history: history.slice(0, epoch),
        savedAt: 'now',
        environment: environmentFacts(),
      });
    }
    fs.mkdirSync(path.join(runDir, 'epoch-03.partial-1-abcd')); // what a crash leaves behind
    const status = await runStatus(runDir);
    assert.deepEqual([status.completedEpochs, status.complete], [2, true]);
    assert.ok(!fs.existsSync(path.join(epochDir(runDir, 1), 'optimizer.bin')), "only the latest epoch keeps the optimizer's state");
    assert.ok(fs.existsSync(path.join(epochDir(runDir, 2), 'optimizer.bin')));
    await removePartialEpochs(runDir);
    assert.deepEqual(fs.readdirSync(runDir).sort(), ['config.json', 'epoch-01', 'epoch-02']);
    const best = await loadRun(runDir, 'best');
    assert.deepEqual([best.epoch, best.history.length], [1, 1]);
    const last = await loadRun(runDir);
    assert.equal(last.epoch, 2);
    assert.deepEqual(
      last.model.getWeights().map((w) => Array.from(w.dataSync())),
      model.getWeights().map((w) => Array.from(w.dataSync())),
    );
    await assert.rejects(loadRun(runDir, 5), /epoch 5 is not saved .* \(saved: 1, 2\)/);
    for (const m of [best.model, last.model, model]) m.dispose();
    optimizer.dispose();
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test('checkSameRun: only epochs may change when continuing a run', () => {
  const saved = resolveConfig({ profile: 'ci', env: {} });
  checkSameRun(saved, { ...saved, epochs: 9 }, '/runs/x');
  assert.throws(
    () => checkSameRun(saved, { ...saved, maxLen: 50 }, '/runs/x'),
    (err: unknown) => err instanceof TrainError && err.code === 'CONFIG_MISMATCH' && /maxLen: saved 100, now 50/.test(err.message),
  );
});

// ---------------------------------------------------------------------------------------------
// Faults: full disks, damaged files, two trainers, unwritable directories (issue 16)
// ---------------------------------------------------------------------------------------------

function tempRun(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'run-dir-faults-'));
}

const isTrainError = (code: string, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof TrainError, `expected a TrainError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, pattern);
  return true;
};

/** Makes every FileHandle.writeFile fail as a full disk does (or, with 'silent', write nothing and report nothing) until restored. */
async function injectWriteFailure(mode: 'ENOSPC' | 'silent'): Promise<() => void> {
  const handle = await fsp.open(__filename, 'r');
  const proto = Object.getPrototypeOf(handle) as { writeFile: (...args: unknown[]) => Promise<void> };
  await handle.close();
  const original = proto.writeFile;
  proto.writeFile = async () => {
    if (mode === 'ENOSPC') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
  };
  return () => void (proto.writeFile = original);
}

function tinyConfig(): TrainConfig {
  return resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 20, maxLen: 4, embeddingDim: 3, units: 2, epochs: 3 } });
}

async function saveEpochs(runDir: string, n: number, model: tf.LayersModel, optimizer: KerasAdam): Promise<EpochRecord[]> {
  const history = Array.from({ length: n }, (_, i) => record(i + 1, 0.5 - i / 10));
  for (let epoch = 1; epoch <= n; epoch++) {
    await saveEpoch(runDir, model, optimizer, {
      epoch,
      steps: epoch * 10,
      history: history.slice(0, epoch),
      savedAt: 'now',
      environment: environmentFacts(),
    });
  }
  return history;
}

test('a full disk (ENOSPC) while saving an epoch is WRITE_FAILED; the epochs saved before stay intact and nothing half-written is left', async () => {
  const runDir = tempRun();
  const model = buildModel(tinyConfig());
  const optimizer = new KerasAdam();
  try {
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(tinyConfig()));
    await saveEpochs(runDir, 1, model, optimizer);
    for (const mode of ['ENOSPC', 'silent'] as const) {
      const restore = await injectWriteFailure(mode);
      try {
        await assert.rejects(
          saveEpoch(runDir, model, optimizer, {
            epoch: 2,
            steps: 20,
            history: [record(1, 0.5), record(2, 0.4)],
            savedAt: 'now',
            environment: environmentFacts(),
          }),
          isTrainError(
            'WRITE_FAILED',
            mode === 'ENOSPC'
              ? /could not save epoch 2 in .*ENOSPC.*The 1 epoch\(s\) saved before are intact/
              : /could not save epoch 2 .*\.partial-.*: wrote \d+ bytes, but the file holds 0\)/,
          ),
        );
      } finally {
        restore();
      }
      assert.deepEqual(fs.readdirSync(runDir).sort(), ['config.json', 'epoch-01'], `${mode}: no epoch-02, no partial folder`);
      assert.ok(fs.existsSync(path.join(epochDir(runDir, 1), 'optimizer.bin')), 'epoch 1 keeps what a resume needs');
      await verifyEpoch(epochDir(runDir, 1));
      assert.equal((await runStatus(runDir)).completedEpochs, 1);
    }
  } finally {
    model.dispose();
    optimizer.dispose();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test('history.csv is complete or absent: a refused or silently empty write is WRITE_FAILED, the previous file stays, and a resume rewrites it', async () => {
  const runDir = tempRun();
  try {
    const one = [record(1, 0.5)];
    const two = [record(1, 0.5), record(2, 0.4)];
    await writeHistoryCsv(runDir, one);
    const file = path.join(runDir, 'history.csv');
    const before = fs.readFileSync(file, 'utf8');
    assert.equal(before.trim().split('\n').length, 2, 'a header and one row');
    for (const mode of ['ENOSPC', 'silent'] as const) {
      const restore = await injectWriteFailure(mode);
      try {
        await assert.rejects(
          writeHistoryCsv(runDir, two),
          isTrainError('WRITE_FAILED', /could not write .*history\.csv \((ENOSPC|.*wrote \d+ bytes, but the file holds 0)/),
        );
      } finally {
        restore();
      }
      assert.equal(fs.readFileSync(file, 'utf8'), before, `${mode}: the last complete history.csv is kept`);
      assert.deepEqual(fs.readdirSync(runDir), ['history.csv'], `${mode}: no temporary file is left`);
    }
    fs.writeFileSync(file, ''); // what nodejs-polars' writeCSV left on a full disk
    assert.equal(await repairHistoryCsv(runDir, two), true);
    assert.equal(await repairHistoryCsv(runDir, two), false, 'an up-to-date file is left alone');
    const rows = fs.readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'epoch,loss,accuracy,val_loss,val_accuracy,seconds');
    assert.deepEqual(
      rows.slice(1).map((r) => Number(r.split(',')[0])),
      [1, 2],
    );
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test("run files carry checksums: each epoch's manifest records every file's size and SHA-256; a flipped byte in weights.bin is RUN_CORRUPT naming it", async () => {
  const runDir = tempRun();
  const model = buildModel(tinyConfig());
  const optimizer = new KerasAdam();
  try {
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(tinyConfig()));
    await saveEpochs(runDir, 2, model, optimizer);
    const dir = epochDir(runDir, 2);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      files: Record<string, { bytes: number; sha256: string }>;
    };
    assert.deepEqual(Object.keys(manifest.files).sort(), ['model.json', 'optimizer.bin', 'optimizer.json', 'state.json', 'weights.bin']);
    for (const [name, digest] of Object.entries(manifest.files)) {
      const bytes = fs.readFileSync(path.join(dir, name));
      assert.deepEqual(digest, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, name);
    }
    const weights = path.join(dir, 'weights.bin');
    const good = fs.readFileSync(weights);
    const flipped = Buffer.from(good);
    flipped[100] ^= 0x01;
    fs.writeFileSync(weights, flipped);
    await assert.rejects(
      loadRun(runDir),
      isTrainError('RUN_CORRUPT', /weights\.bin is damaged: \d+ bytes with SHA-256 [0-9a-f]{64}, but .*manifest\.json records/),
    );
    fs.writeFileSync(weights, good);
    (await loadRun(runDir)).model.dispose();
    // Epoch 1's optimizer state was removed on purpose (only the latest epoch keeps it): still valid.
    (await loadRun(runDir, 1)).model.dispose();
  } finally {
    model.dispose();
    optimizer.dispose();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});

test('a damaged config.json, state.json or model.json is RUN_CORRUPT naming the file, not a stack trace', async () => {
  const runDir = tempRun();
  const model = buildModel(tinyConfig());
  const optimizer = new KerasAdam();
  try {
    const configFile = path.join(runDir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(tinyConfig()));
    await saveEpochs(runDir, 1, model, optimizer);
    const dir = epochDir(runDir, 1);
    const damage = async (file: string, text: string, pattern: RegExp) => {
      const good = fs.readFileSync(file);
      fs.writeFileSync(file, text);
      try {
        await assert.rejects(loadRun(runDir), isTrainError('RUN_CORRUPT', pattern));
      } finally {
        fs.writeFileSync(file, good);
      }
    };
    await damage(configFile, '{"epochs": 3,', /config\.json is not valid JSON/);
    await damage(path.join(dir, 'state.json'), '{"epo', /epoch-01\/state\.json is not valid JSON/);
    await damage(path.join(dir, 'model.json'), '{}', /epoch-01\/model\.json is damaged/);
    fs.rmSync(path.join(dir, 'manifest.json')); // an epoch saved before manifests existed: the loader still names the file
    await damage(path.join(dir, 'model.json'), '{"modelTopology": 1}', /cannot load the model saved in .*epoch-01\/model\.json/);
    (await loadRun(runDir)).model.dispose();
  } finally {
    model.dispose();
    optimizer.dispose();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});
