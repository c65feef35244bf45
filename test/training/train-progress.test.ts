// Training's progress lines (lib/training/train-progress.ts): batch lines throttled, epoch lines always.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainProgressPrinter, type ProgressEvent } from '../../lib/training/train-progress';

test('progress: batch lines throttled, epoch lines always', () => {
  const lines: string[] = [];
  const print = trainProgressPrinter({ write: (l) => lines.push(l), intervalSeconds: 1000 });
  const batch = (b: number): ProgressEvent => ({
    type: 'batch',
    epoch: 1,
    epochs: 2,
    batch: b,
    batches: 3,
    loss: 0.5,
    accuracy: 0.75,
    examplesPerSecond: 64.4,
    epochEtaSeconds: 75,
  });
  print(batch(1));
  print(batch(2));
  print(batch(3)); // the last batch of an epoch is always shown
  print({
    type: 'epoch',
    epochs: 2,
    runEtaSeconds: 3725,
    record: { epoch: 1, loss: 0.5, accuracy: 0.75, val_loss: 0.6, val_accuracy: 0.7, seconds: 12.34 },
  });
  assert.deepEqual(lines, [
    'epoch 1/2 batch 3/3 loss 0.5000 acc 0.7500 64 ex/s ETA 1m15s',
    'epoch 1/2 loss 0.5000 acc 0.7500 val_loss 0.6000 val_acc 0.7000 12.3 s (run ETA 1h02m)',
  ]);
  const quietLines: string[] = [];
  const quietPrint = trainProgressPrinter({ write: (l) => quietLines.push(l), intervalSeconds: Infinity });
  quietPrint(batch(3));
  quietPrint({ type: 'info', message: 'hello' });
  assert.deepEqual(quietLines, ['hello'], 'intervalSeconds: Infinity shows no batch lines');
});
