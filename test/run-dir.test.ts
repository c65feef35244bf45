// The run directory (lib/run-dir.ts): history, epoch folders written atomically, status, choosing
// and loading an epoch, and refusing to continue a run with another configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { KerasAdam } from '../lib/adam';
import { buildModel } from '../lib/model';
import {
  bestEpoch, checkSameRun, environmentFacts, epochDir, historyFrame, loadRun, removePartialEpochs, runStatus, saveEpoch, type EpochRecord,
} from '../lib/run-dir';
import { TrainError, resolveConfig } from '../lib/train-config';

const record = (epoch: number, valLoss: number): EpochRecord => ({ epoch, loss: 0.5, accuracy: 0.7, val_loss: valLoss, val_accuracy: 0.8, seconds: 1 });

test('history: a polars frame with an integer epoch column; bestEpoch is the lowest validation loss', () => {
  const history = [record(1, 0.5), record(2, 0.3), record(3, 0.4)];
  const frame = historyFrame(history);
  assert.deepEqual(frame.columns, ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds']);
  assert.equal(frame.getColumn('epoch').dtype.toString(), 'DataType(Int32)');
  assert.equal(bestEpoch(history).epoch, 2);
  assert.throws(() => bestEpoch([]), (err: unknown) => err instanceof TrainError && err.code === 'RUN_NOT_FOUND');
});

test('epoch folders: saved under a temporary name, listed in order, loaded by number, last or best', async () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-dir-'));
  try {
    assert.equal(epochDir(runDir, 3), path.join(runDir, 'epoch-03'));
    assert.deepEqual(await runStatus(path.join(runDir, 'missing')), { runDir: path.join(runDir, 'missing'), exists: false, config: null, completedEpochs: 0, complete: false });
    const config = resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 20, maxLen: 4, embeddingDim: 3, units: 2, epochs: 2 } });
    fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify(config));
    const model = buildModel(config);
    const optimizer = new KerasAdam();
    const history = [record(1, 0.4), record(2, 0.6)];
    for (const epoch of [1, 2]) {
      await saveEpoch(runDir, model, optimizer, { epoch, steps: epoch * 10, history: history.slice(0, epoch), savedAt: 'now', environment: environmentFacts() });
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
    assert.deepEqual(last.model.getWeights().map((w) => Array.from(w.dataSync())), model.getWeights().map((w) => Array.from(w.dataSync())));
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
  assert.throws(() => checkSameRun(saved, { ...saved, maxLen: 50 }, '/runs/x'), (err: unknown) =>
    err instanceof TrainError && err.code === 'CONFIG_MISMATCH' && /maxLen: saved 100, now 50/.test(err.message));
});
