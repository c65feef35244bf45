import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../lib/util/paths';
import { curvesWithReference, describeCurves, loadReferenceRun, readCurves, readHistoryCsv } from '../../lib/experiments/reference-run';
import type { EpochRecord } from '../../lib/training/run-dir';

function record(epoch: number, loss: number, valLoss: number, accuracy = 0.5, valAccuracy = 0.5): EpochRecord {
  return { epoch, loss, accuracy, val_loss: valLoss, val_accuracy: valAccuracy, seconds: 1 };
}

function tempCsv(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reference-run-'));
  const file = path.join(dir, 'history.csv');
  fs.writeFileSync(file, text);
  return file;
}

describe('the recorded reference run', () => {
  const run = loadReferenceRun();

  test('holds the 10 epochs the README records, row for row (the two records cannot drift apart)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((l) => /^\| \d+ \| \d\.\d{4} \|/.test(l));
    assert.equal(rows.length, 10, 'the README table of the reference run');
    assert.equal(run.history.length, 10);
    rows.forEach((line, i) => {
      const [epoch, loss, acc, valLoss, valAcc, seconds] = line
        .split('|')
        .slice(1, 7)
        .map((c) => c.trim());
      const r = run.history[i];
      assert.equal(r.epoch, Number(epoch));
      assert.equal(r.loss.toFixed(4), loss);
      assert.equal(`${(100 * r.accuracy).toFixed(2)}%`, acc);
      assert.equal(r.val_loss.toFixed(4), valLoss);
      assert.equal(`${(100 * r.val_accuracy).toFixed(2)}%`, valAcc);
      assert.equal(String(r.seconds), seconds);
    });
  });

  test('names the command and the commit that produced it', () => {
    assert.equal(run.info.command, 'npm run train -- --profile full');
    assert.match(run.info.commit, /^[0-9a-f]{7,40}$/);
  });

  test('its curves read as the course says: lowest validation loss at epoch 3, then overfitting', () => {
    const c = readCurves(run.history);
    const argmin = run.history.reduce((b, r) => (r.val_loss < b.val_loss ? r : b));
    assert.equal(c.best.epoch, argmin.epoch);
    assert.equal(c.best.epoch, 3);
    assert.equal(c.overfits, true);
    assert.equal(c.trainLossAlwaysFell, true);
    assert.match(
      describeCurves(run.history, 'the reference run'),
      /lowest after epoch 3 of 10 \(0\.2800.*88\.96%\)\. After it the validation loss rises at every one of the 7 epochs, to 0\.6577 by epoch 10.*overfits after epoch 3/,
    );
  });
});

describe('readCurves and describeCurves', () => {
  test('a validation loss still falling at the last epoch: no overfitting said', () => {
    const h = [record(1, 0.6, 0.65), record(2, 0.5, 0.55)];
    assert.equal(readCurves(h).overfits, false);
    assert.match(
      describeCurves(h),
      /lowest after epoch 2 of 2 .*the last epoch: it was still falling, so there is no sign of overfitting within 2 epochs\./,
    );
  });

  test('rising validation loss with falling training loss: overfitting, with the counts', () => {
    const h = [record(1, 0.6, 0.5), record(2, 0.4, 0.45), record(3, 0.3, 0.5), record(4, 0.2, 0.49), record(5, 0.1, 0.6)];
    const c = readCurves(h);
    assert.equal(c.best.epoch, 2);
    assert.equal(c.risingEpochsAfterBest, 2, 'epochs 3 and 5 rose, epoch 4 fell');
    assert.equal(c.overfits, true);
    assert.match(
      describeCurves(h, 'run X'),
      /^run X: .*rises in 2 of the 3 epochs, to 0\.6000 by epoch 5, while the training loss keeps falling, from 0\.4000 to 0\.1000: the model overfits after epoch 2\.$/,
    );
  });

  test('validation and training loss both stuck: stalled, not overfitting', () => {
    const h = [record(1, 0.6, 0.5), record(2, 0.65, 0.55)];
    assert.equal(readCurves(h).overfits, false);
    assert.match(describeCurves(h), /training stalled rather than overfitted/);
  });
});

describe('readHistoryCsv', () => {
  test("reads a run directory's history.csv", () => {
    const h = readHistoryCsv(tempCsv('epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,0.5,0.7,0.45,0.75,12.5\n'));
    assert.deepEqual(h, [{ epoch: 1, loss: 0.5, accuracy: 0.7, val_loss: 0.45, val_accuracy: 0.75, seconds: 12.5 }]);
  });

  test('names the file and what is wrong: a missing file, a missing column, a non-number, an epoch out of order', () => {
    assert.throws(() => readHistoryCsv('/nonexistent/history.csv'), /\/nonexistent\/history\.csv does not exist/);
    assert.throws(
      () => readHistoryCsv(tempCsv('epoch,loss\n1,0.5\n')),
      /history\.csv lacks the column\(s\) accuracy, val_loss, val_accuracy, seconds/,
    );
    assert.throws(
      () => readHistoryCsv(tempCsv('epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,x,0.7,0.45,0.75,1\n')),
      /row 1: loss is not a number/,
    );
    assert.throws(
      () => readHistoryCsv(tempCsv('epoch,loss,accuracy,val_loss,val_accuracy,seconds\n2,0.5,0.7,0.45,0.75,1\n')),
      /row 1: epoch 2, expected 1/,
    );
  });
});

describe('curvesWithReference', () => {
  test('"Model Loss" and "Model Accuracy", this run solid and the reference run dashed', () => {
    const reference = loadReferenceRun().history;
    const run = [record(1, 0.6, 0.65, 0.6, 0.55), record(2, 0.5, 0.55, 0.7, 0.65)];
    const [loss, accuracy] = curvesWithReference(run, reference, 'ci run');
    assert.equal(loss.layout.title?.text, 'Model Loss');
    assert.equal(accuracy.layout.title?.text, 'Model Accuracy');
    const names = loss.data.map((d) => ('name' in d ? d.name : undefined));
    assert.deepEqual(names, ['Train (ci run)', 'Validation (ci run)', 'Train (reference run)', 'Validation (reference run)']);
    const accY = accuracy.data.map((d) => ('y' in d ? (d.y as number[]).length : 0));
    assert.deepEqual(accY, [2, 2, 10, 10]);
    const [refOnly] = curvesWithReference(null, reference);
    assert.equal(refOnly.data.length, 2);
  });
});
