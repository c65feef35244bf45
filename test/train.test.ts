// Training on the real IMDB data in the `ci` profile, resume, inference and the command line.
// Needs the archive: $IMDB_ARCHIVE, else ../shared/data/aclImdb_v1-labeled.tar.gz beside the repository.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import pl from 'nodejs-polars';
import { ROOT, SHARED_ARCHIVE } from '../lib/paths';
import { loadImdb, type ImdbData } from '../lib/imdb';
import { loadVocabulary } from '../lib/vocabulary';
import { loadModel } from '../lib/model';
import { evaluate } from '../lib/evaluate';
import { Predictor, predict } from '../lib/predict';
import { epochDir, runStatus, type EpochRecord } from '../lib/run-dir';
import { epochOrder, train, trainProgressPrinter, type ProgressEvent, type TrainResult } from '../lib/train';
import { PROFILES, TrainError, defaultRunDir, resolveConfig, runName, type TrainConfig } from '../lib/train-config';

const ARCHIVE = process.env.IMDB_ARCHIVE || SHARED_ARCHIVE;
const TSX = ['--import', 'tsx'];
const quiet = () => {};

/** Environment for child processes: no GRU_* overrides leaking in from the shell, quiet TensorFlow. */
function childEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GRU_')));
  return { ...env, TF_CPP_MIN_LOG_LEVEL: '2' };
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** History without the wall-clock column, the part that must repeat exactly. */
function numbers(history: readonly EpochRecord[]): Omit<EpochRecord, 'seconds'>[] {
  return history.map(({ seconds: _s, ...rest }) => (void _s, rest));
}

function flatWeights(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

let data: ImdbData | undefined;
async function imdb(): Promise<ImdbData> {
  assert.ok(
    fs.existsSync(ARCHIVE),
    `The real IMDB archive is missing at ${ARCHIVE}. Put aclImdb_v1-labeled.tar.gz in ../shared/data beside the ` +
      'repository, or set IMDB_ARCHIVE to the path of aclImdb_v1.tar.gz.',
  );
  data ??= await loadImdb({ archivePath: ARCHIVE, maxLen: PROFILES.ci.maxLen, download: false, onProgress: quiet });
  return data;
}

// ---------------------------------------------------------------------------------------------
// Pieces: optimizer, loss, shuffles, progress
// ---------------------------------------------------------------------------------------------

test('epoch order: a permutation that depends only on seed and epoch', () => {
  const a = epochOrder(42, 1, 1000);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(epochOrder(42, 1, 1000), a);
  assert.notDeepEqual(epochOrder(42, 2, 1000), a);
  assert.notDeepEqual(epochOrder(43, 1, 1000), a);
});

test('progress: batch lines throttled, epoch lines always', () => {
  const lines: string[] = [];
  const print = trainProgressPrinter({ write: (l) => lines.push(l), intervalSeconds: 1000 });
  const batch = (b: number): ProgressEvent => ({ type: 'batch', epoch: 1, epochs: 2, batch: b, batches: 3, loss: 0.5, accuracy: 0.75, examplesPerSecond: 64.4, epochEtaSeconds: 75 });
  print(batch(1));
  print(batch(2));
  print(batch(3)); // the last batch of an epoch is always shown
  print({ type: 'epoch', epochs: 2, runEtaSeconds: 3725, record: { epoch: 1, loss: 0.5, accuracy: 0.75, val_loss: 0.6, val_accuracy: 0.7, seconds: 12.34 } });
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

// ---------------------------------------------------------------------------------------------
// The ci profile, end to end on the real data
// ---------------------------------------------------------------------------------------------

describe('the ci profile on the real IMDB data', () => {
  const runDir = tempDir('train-ci-');
  const config: TrainConfig = resolveConfig({ profile: 'ci', env: {} });
  const events: ProgressEvent[] = [];
  const tensorsAtBatch: number[] = [];
  let result: TrainResult;

  before(async () => {
    const started = performance.now();
    result = await train(config, {
      runDir,
      data: await imdb(),
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'batch') tensorsAtBatch.push(tf.memory().numTensors);
        if (e.type === 'epoch') process.stderr.write(`  ci ${JSON.stringify(e.record)}\n`);
      },
    });
    process.stderr.write(`  ci profile trained in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  });
  after(() => {
    result?.model.dispose();
    fs.rmSync(runDir, { recursive: true, force: true });
  });

  test('trains every batch of every epoch and reports progress', () => {
    assert.equal(result.outcome, 'trained');
    const batches = events.filter((e) => e.type === 'batch');
    assert.equal(batches.length, 2 * Math.ceil(2000 / 32));
    assert.deepEqual(events.filter((e) => e.type === 'epoch').map((e) => e.type === 'epoch' && e.record.epoch), [1, 2]);
    const last = batches[batches.length - 1];
    assert.ok(last.type === 'batch' && last.batch === 63 && last.batches === 63 && last.epochEtaSeconds === 0 && last.examplesPerSecond > 0);
    // No tensor is leaked per batch or per epoch (the first batch creates the optimizer's state).
    assert.deepEqual(new Set(tensorsAtBatch.slice(1)), new Set([tensorsAtBatch[1]]), `tensor counts per batch: ${[...new Set(tensorsAtBatch)]}`);
  });

  test('learns: training and validation loss fall, validation accuracy beats chance', () => {
    const [first, second] = result.history;
    assert.equal(result.history.length, 2);
    assert.ok(second.loss < 0.9 * first.loss, `training loss ${first.loss} -> ${second.loss}`);
    assert.ok(second.val_loss < first.val_loss, `validation loss ${first.val_loss} -> ${second.val_loss}`);
    assert.ok(second.val_accuracy > 0.6, `validation accuracy ${second.val_accuracy}`);
    for (const r of result.history) assert.ok(r.seconds > 0 && r.accuracy > 0 && r.accuracy < 1);
  });

  test('the run directory is complete', async () => {
    const ls = (dir: string) => fs.readdirSync(dir).sort();
    assert.deepEqual(ls(runDir), ['config.json', 'epoch-01', 'epoch-02', 'history.csv', 'vocab.json']);
    assert.deepEqual(ls(epochDir(runDir, 1)), ['model.json', 'state.json', 'weights.bin']);
    assert.deepEqual(ls(epochDir(runDir, 2)), ['model.json', 'optimizer.bin', 'optimizer.json', 'state.json', 'weights.bin']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')), config);
    assert.equal((await loadVocabulary(path.join(runDir, 'vocab.json'))).numWords, 10_000);
    const csv = pl.readCSV(path.join(runDir, 'history.csv'));
    assert.deepEqual(csv.columns, ['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds']);
    assert.deepEqual(csv.toRecords(), result.history);
    const state = JSON.parse(fs.readFileSync(path.join(epochDir(runDir, 2), 'state.json'), 'utf8'));
    assert.equal(state.steps, 2 * 63);
    assert.deepEqual(state.history, result.history);
    const status = await runStatus(runDir);
    assert.deepEqual([status.completedEpochs, status.complete], [2, true]);
  });

  test('the saved model reproduces the in-memory model and the recorded validation numbers exactly', async () => {
    const loaded = await loadModel(epochDir(runDir, 2));
    assert.deepEqual(flatWeights(loaded), flatWeights(result.model));
    const test = (await imdb()).subset(config.trainSize, config.testSize).test;
    const val = await evaluate(loaded, test, config.maxLen, 100); // another batch size: same numbers
    const last = result.history[1];
    assert.ok(Math.abs(val.loss - last.val_loss) < 1e-6, `${val.loss} vs ${last.val_loss}`);
    assert.equal(val.accuracy, last.val_accuracy);
    loaded.dispose();
  });

  test('reload and predict: raw text gets the probabilities of the in-memory model', async () => {
    const texts = [
      'One of the best films I have seen this year: moving, funny and beautifully acted.',
      'A boring, stupid mess. The worst movie ever, I want my two hours back.',
      'It was okay.',
    ];
    const predictor = await Predictor.load(runDir);
    assert.equal(predictor.epoch, 2);
    const fromRun = predictor.predict(texts);
    const inMemory = Array.from((result.model.predict(predictor.encode(texts)) as tf.Tensor).dataSync());
    assert.deepEqual(fromRun, inMemory);
    assert.ok(fromRun[0] > 0.5 && fromRun[1] < 0.5, `positive ${fromRun[0]}, negative ${fromRun[1]}`);
    assert.deepEqual(await predict(texts, runDir), fromRun);
    assert.deepEqual(predictor.predict([]), []);
    predictor.dispose();
    const first = await Predictor.load(runDir, 1);
    assert.notDeepEqual(first.predict(texts), fromRun, 'epoch 1 has other weights');
    first.dispose();
    await assert.rejects(Predictor.load(runDir, 7), /epoch 7 is not saved .*\(saved: 1, 2\)/);
  });

  test('a complete run is loaded, not retrained; an existing run is not overwritten; a changed config is refused', async () => {
    const started = performance.now();
    const again = await train(config, { runDir, resume: true, data: await imdb(), onProgress: quiet });
    assert.equal(again.outcome, 'loaded');
    assert.deepEqual(again.history, result.history);
    assert.ok(performance.now() - started < 5000, 'loading must not train');
    again.model.dispose();
    await assert.rejects(train(config, { runDir, data: await imdb(), onProgress: quiet }), (err: unknown) => {
      assert.ok(err instanceof TrainError && err.code === 'RUN_EXISTS');
      assert.match(err.message, /already holds 2 completed epoch\(s\)\. Resume it/);
      return true;
    });
    await assert.rejects(train({ ...config, batchSize: 16 }, { runDir, resume: true, data: await imdb(), onProgress: quiet }), (err: unknown) => {
      assert.ok(err instanceof TrainError && err.code === 'CONFIG_MISMATCH');
      assert.match(err.message, /batchSize: saved 32, now 16/);
      return true;
    });
  });

  test('scripts/predict.ts prints the same probabilities', async () => {
    const texts = ['A wonderful, moving film.', 'Dull and far too long.'];
    const r = spawnSync(process.execPath, [...TSX, 'scripts/predict.ts', '--run-dir', runDir, ...texts], { cwd: ROOT, encoding: 'utf8', env: childEnv() });
    assert.equal(r.status, 0, r.stderr);
    const probs = await predict(texts, runDir);
    const label = (p: number) => (p > 0.5 ? 'positive' : 'negative').padEnd(8);
    assert.deepEqual(r.stdout.trim().split('\n'), texts.map((t, i) => `${probs[i].toFixed(4)}  ${label(probs[i])}  ${t}`));
  });
});

// ---------------------------------------------------------------------------------------------
// Resume
// ---------------------------------------------------------------------------------------------

describe('an interrupted run resumes to the same history', () => {
  // Smaller than ci so that three runs fit in the time budget: 6 batches x 3 epochs.
  const config: TrainConfig = resolveConfig({ profile: 'ci', env: {}, overrides: { trainSize: 192, testSize: 64, epochs: 3 } });
  const dirs: string[] = [];
  let reference: TrainResult;

  before(async () => {
    const dir = tempDir('train-ref-');
    dirs.push(dir);
    reference = await train(config, { runDir: dir, data: await imdb(), onProgress: quiet });
  });
  after(() => {
    reference?.model.dispose();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  // TF CPU runs these ops deterministically on one machine (fixed thread pool, fixed reduction order),
  // the shuffles and masks are seeded, and Adam's state is saved exactly: so exact equality is
  // expected, and measured (max |difference| of every weight: 0).
  test('stopped in the middle of epoch 2 (and a half-written epoch left behind): same history, same weights', async () => {
    const dir = tempDir('train-abort-');
    dirs.push(dir);
    const controller = new AbortController();
    const stopped = await train(config, {
      runDir: dir,
      data: await imdb(),
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'batch' && e.epoch === 2 && e.batch === 3) controller.abort();
      },
    });
    assert.equal(stopped.outcome, 'stopped');
    assert.deepEqual(stopped.stoppedAt, { epoch: 2, batch: 3 });
    assert.equal(stopped.history.length, 1);
    stopped.model.dispose();
    assert.equal((await runStatus(dir)).completedEpochs, 1);
    // A crash while writing epoch 2 would leave a temporary directory: it must be ignored and cleaned.
    const partial = path.join(dir, 'epoch-02.partial-999999-dead');
    fs.mkdirSync(partial);
    fs.writeFileSync(path.join(partial, 'model.json'), '{"truncated');
    assert.equal((await runStatus(dir)).completedEpochs, 1);

    const resumed = await train(config, { runDir: dir, resume: true, data: await imdb(), onProgress: quiet });
    assert.equal(resumed.outcome, 'resumed');
    assert.equal(resumed.startEpoch, 1);
    assert.ok(!fs.existsSync(partial), 'the partial epoch directory is removed');
    assert.deepEqual(numbers(resumed.history), numbers(reference.history));
    assert.deepEqual(flatWeights(resumed.model), flatWeights(reference.model));
    resumed.model.dispose();
  });

  test('the command line killed (SIGKILL) after epoch 1, then resumed: same history', async () => {
    const dir = tempDir('train-kill-');
    dirs.push(dir);
    const args = [...TSX, 'scripts/train.ts', '--profile', 'ci', '--train-size', '192', '--test-size', '64', '--epochs', '3', '--archive', ARCHIVE, '--run-dir', dir, '--quiet'];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const epoch1 = path.join(epochDir(dir, 1), 'state.json');
    let killed = false;
    while (!killed) {
      if (fs.existsSync(epoch1)) {
        child.kill('SIGKILL');
        killed = true;
      } else if (child.exitCode !== null) {
        assert.fail(`the child exited (${child.exitCode}) before epoch 1 was saved:\n${stderr}`);
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await exited;
    const status = await runStatus(dir);
    assert.ok(status.completedEpochs >= 1 && status.completedEpochs < 3, `completed ${status.completedEpochs}`);
    const resumed = await train(config, { runDir: dir, resume: true, data: await imdb(), onProgress: quiet });
    assert.deepEqual(numbers(resumed.history), numbers(reference.history));
    resumed.model.dispose();
  });

  test('a run can be extended with more epochs', async () => {
    const dir = tempDir('train-extend-');
    dirs.push(dir);
    const two = await train({ ...config, epochs: 2 }, { runDir: dir, data: await imdb(), onProgress: quiet });
    two.model.dispose();
    const three = await train(config, { runDir: dir, resume: true, data: await imdb(), onProgress: quiet });
    assert.deepEqual(numbers(three.history), numbers(reference.history));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).epochs, 3);
    three.model.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

test('a non-finite loss stops training with the epoch, the batch and what to try; completed epochs stay', async () => {
  const config = resolveConfig({ profile: 'ci', env: {}, overrides: { trainSize: 64, testSize: 32, epochs: 1 } });
  const dir = tempDir('train-nan-');
  try {
    const one = await train(config, { runDir: dir, data: await imdb(), onProgress: quiet });
    one.model.dispose();
    // Diverged weights, as a too-large learning rate produces: a NaN bias in the saved epoch.
    const model = await loadModel(epochDir(dir, 1));
    const dense = model.getLayer('dense');
    const [kernel, bias] = dense.getWeights();
    dense.setWeights([kernel, tf.fill(bias.shape, NaN)]);
    await model.save(`file://${epochDir(dir, 1)}`);
    model.dispose();
    await assert.rejects(train({ ...config, epochs: 2 }, { runDir: dir, resume: true, data: await imdb(), onProgress: quiet }), (err: unknown) => {
      assert.ok(err instanceof TrainError && err.code === 'NON_FINITE_LOSS', String(err));
      assert.match(err.message, /the training loss became NaN at epoch 2, batch 1\/2/);
      assert.match(err.message, /Try a smaller learning rate \(now 0\.001; --learning-rate or GRU_LEARNING_RATE\)/);
      assert.match(err.message, /keeps the epochs completed before it/);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('epoch-')), ['epoch-01']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('train() rejects data loaded with other settings and an invalid config', async () => {
  const config = resolveConfig({ profile: 'ci', env: {} });
  const runDir = path.join(os.tmpdir(), `train-bad-${process.pid}`);
  await assert.rejects(train({ ...config, maxLen: 200 }, { runDir, data: await imdb(), onProgress: quiet }), /the data was loaded with numWords 10000, maxLen 100/);
  assert.ok(!fs.existsSync(runDir), 'nothing is written before the data is checked');
  await assert.rejects(train({ ...config, epochs: 0 }, { onProgress: quiet }), /epochs must be an integer in 1\.\.inf, got 0/);
});

describe('the command line', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...TSX, 'scripts/train.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...childEnv(), ...env } });

  test('--help documents the options and the environment variables', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0, r.stderr);
    for (const s of ['--profile ci|full', '--run-dir DIR', '--resume', '--epochs N', '--batch-size N', '--max-len N', '--train-size N', '--test-size N', 'GRU_EPOCHS', 'GRU_RUN_DIR', '--time-batches N']) {
      assert.ok(r.stdout.includes(s), `--help lacks ${s}`);
    }
  });

  test('bad options are rejected with exit code 2 and a clear message', () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--epochs', '0'], {}, /epochs must be an integer in 1\.\.inf, got 0/],
      [['--epochs', 'ten'], {}, /--epochs="ten" is not an integer/],
      [['--bogus'], {}, /Unknown option '--bogus'/],
      [['--profile', 'fast'], {}, /--profile="fast" is not a profile/],
      [[], { GRU_BATCH_SIZE: 'abc' }, /GRU_BATCH_SIZE="abc" is not an integer/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = run(args, env);
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
