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
import { ROOT, SHARED_ARCHIVE } from '../../lib/util/paths';
import { tinyCorpus, writeArchive, type FixtureEntry } from '../fixtures';
import { loadImdb, type ImdbData } from '../../lib/data/imdb';
import { loadVocabulary } from '../../lib/data/vocabulary';
import { loadModel } from '../../lib/training/model';
import { evaluate } from '../../lib/training/evaluate';
import { Predictor, predict } from '../../lib/training/predict';
import { epochDir, runStatus, type EpochRecord } from '../../lib/training/run-dir';
import { epochOrder, train, type TrainResult } from '../../lib/training/train';
import { type ProgressEvent } from '../../lib/training/train-progress';
import { PROFILES, TrainError, resolveConfig, type TrainConfig } from '../../lib/training/config';

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
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.deepEqual(epochOrder(42, 1, 1000), a);
  assert.notDeepEqual(epochOrder(42, 2, 1000), a);
  assert.notDeepEqual(epochOrder(43, 1, 1000), a);
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
    assert.deepEqual(
      events.filter((e) => e.type === 'epoch').map((e) => e.type === 'epoch' && e.record.epoch),
      [1, 2],
    );
    const last = batches[batches.length - 1];
    assert.ok(
      last.type === 'batch' && last.batch === 63 && last.batches === 63 && last.epochEtaSeconds === 0 && last.examplesPerSecond > 0,
    );
    // No tensor is leaked per batch or per epoch (the first batch creates the optimizer's state).
    assert.deepEqual(
      new Set(tensorsAtBatch.slice(1)),
      new Set([tensorsAtBatch[1]]),
      `tensor counts per batch: ${[...new Set(tensorsAtBatch)]}`,
    );
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
    assert.deepEqual(ls(runDir), ['config.json', 'data.json', 'epoch-01', 'epoch-02', 'history.csv', 'vocab.json'], 'no train.lock left');
    assert.deepEqual(ls(epochDir(runDir, 1)), ['manifest.json', 'model.json', 'state.json', 'weights.bin']);
    assert.deepEqual(ls(epochDir(runDir, 2)), [
      'manifest.json',
      'model.json',
      'optimizer.bin',
      'optimizer.json',
      'state.json',
      'weights.bin',
    ]);
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
    await assert.rejects(
      train({ ...config, batchSize: 16 }, { runDir, resume: true, data: await imdb(), onProgress: quiet }),
      (err: unknown) => {
        assert.ok(err instanceof TrainError && err.code === 'CONFIG_MISMATCH');
        assert.match(err.message, /batchSize: saved 32, now 16/);
        return true;
      },
    );
  });

  test('scripts/predict.ts prints the same probabilities', async () => {
    const texts = ['A wonderful, moving film.', 'Dull and far too long.'];
    const r = spawnSync(process.execPath, [...TSX, 'scripts/predict.ts', '--run-dir', runDir, ...texts], {
      cwd: ROOT,
      encoding: 'utf8',
      env: childEnv(),
    });
    assert.equal(r.status, 0, r.stderr);
    const probs = await predict(texts, runDir);
    const label = (p: number) => (p > 0.5 ? 'positive' : 'negative').padEnd(8);
    assert.deepEqual(
      r.stdout.trim().split('\n'),
      texts.map((t, i) => `${probs[i].toFixed(4)}  ${label(probs[i])}  ${t}`),
    );
  });
  const predictCli = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
    spawnSync(process.execPath, [...TSX, 'scripts/predict.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...childEnv(), ...options.env },
      input: options.input ?? '',
    });

  test('scripts/predict.ts gives no verdict for a text with no known word (empty, punctuation, emoji, Korean) and warns', async () => {
    const unknown = ['', '!!! ... ???', '😀🎬👍', '정말 최고의 영화입니다'];
    const r = predictCli(['--run-dir', runDir, ...unknown, 'A wonderful film.']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').slice(0, 5);
    unknown.forEach((t, i) => assert.equal(lines[i], `     -  no verdict (no known word)  ${t}`));
    const [p] = await predict(['A wonderful film.'], runDir);
    assert.equal(lines[4], `${p.toFixed(4)}  ${p > 0.5 ? 'positive' : 'negative'}  A wonderful film.`);
    for (let i = 1; i <= 4; i++)
      assert.match(r.stderr, new RegExp(`predict: text ${i} \\(.*\\) has no word the vocabulary knows: no verdict`));
    const json = JSON.parse(predictCli(['--run-dir', runDir, '--json', '😀', 'good']).stdout) as {
      probability: number | null;
      label: string | null;
      knownWords: number;
    }[];
    assert.deepEqual(
      json.map((j) => [j.knownWords, j.label === null, j.probability === null]),
      [
        [0, true, true],
        [1, false, false],
      ],
    );
  });

  test('scripts/predict.ts reads reviews from files and stdin (one per file, or one per line with --lines), however long', async () => {
    const dir = tempDir('predict-files-');
    try {
      const long = `${'A wonderful, moving film with a great cast. '.repeat(25_000)}`; // ~1.1 MB: too long for an argument list
      const file = path.join(dir, 'long.txt');
      fs.writeFileSync(file, long);
      const lines = path.join(dir, 'lines.txt');
      fs.writeFileSync(lines, 'A wonderful film.\n\nDull and far too long.\n');
      const r = predictCli(['--run-dir', runDir, '--file', file, '--file', '-'], {
        input: 'Dull and far too long.\nSecond line of the same review.',
      });
      assert.equal(r.status, 0, r.stderr);
      const probs = await predict([long, 'Dull and far too long.\nSecond line of the same review.'], runDir);
      const out = r.stdout.trim().split('\n');
      assert.equal(out.length, 2);
      assert.match(
        out[0],
        new RegExp(`^${probs[0].toFixed(4)}  \\w+ +${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: A wonderful, moving film`),
      );
      assert.match(out[1], new RegExp(`^${probs[1].toFixed(4)}  \\w+ +stdin: Dull and far too long\\. Second line`));
      const perLine = predictCli(['--run-dir', runDir, '--lines', '--file', lines, '--json']);
      assert.equal(perLine.status, 0, perLine.stderr);
      const rows = JSON.parse(perLine.stdout) as { source: string; probability: number }[];
      assert.deepEqual(
        rows.map((x) => [x.source, x.probability]),
        [
          [`${lines}:1`, (await predict(['A wonderful film.'], runDir))[0]],
          [`${lines}:3`, (await predict(['Dull and far too long.'], runDir))[0]],
        ],
      );
      const missing = predictCli(['--run-dir', runDir, '--file', path.join(dir, 'nope.txt')]);
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /--file .*nope\.txt: ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('scripts/predict.ts says which epoch of which run it uses and whether the run is complete', () => {
    const r = predictCli(['--run-dir', runDir, 'A film.']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^run ${runDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, epoch 2 \\(of 2 completed, 2 planned\\): the run is complete\\n`),
    );
    const best = predictCli(['--run-dir', runDir, '--epoch', '1', 'A film.']);
    assert.match(best.stderr, /, epoch 1 \(of 2 completed, 2 planned\): the run is complete\n/);
    const dir = tempDir('predict-incomplete-');
    try {
      fs.cpSync(runDir, dir, { recursive: true });
      const configFile = path.join(dir, 'config.json');
      fs.writeFileSync(configFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, 'utf8')), epochs: 5 }));
      const incomplete = predictCli(['--run-dir', dir, 'A film.']);
      assert.equal(incomplete.status, 0, incomplete.stderr);
      assert.match(
        incomplete.stderr,
        /, epoch 2 \(of 2 completed, 5 planned\): the run is INCOMPLETE \(finish it with scripts\/train\.ts --resume\)\n/,
      );
      // A flipped byte in weights.bin: a clear error naming the file (exit 2), not a different prediction.
      const weights = path.join(epochDir(dir, 2), 'weights.bin');
      const bytes = fs.readFileSync(weights);
      bytes[1000] ^= 0x80;
      fs.writeFileSync(weights, bytes);
      const corrupt = predictCli(['--run-dir', dir, 'A film.']);
      assert.equal(corrupt.status, 2, corrupt.stderr);
      assert.match(corrupt.stderr, /^predict: .*epoch-02\/weights\.bin is damaged: .* but .*manifest\.json records/);
      assert.doesNotMatch(corrupt.stderr, /\n +at /, 'no stack trace');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('scripts/predict.ts ignores training-only environment variables (GRU_EPOCHS, GRU_MAX_LEN, ...) when choosing and reading a run', async () => {
    const training = { GRU_EPOCHS: '0x2', GRU_MAX_LEN: '7', GRU_BATCH_SIZE: 'abc', GRU_TRAIN_SIZE: '5' };
    const r = predictCli(['A wonderful film.'], { env: { ...training, GRU_RUN_DIR: runDir } });
    assert.equal(r.status, 0, r.stderr);
    const [p] = await predict(['A wonderful film.'], runDir);
    assert.equal(r.stdout, `${p.toFixed(4)}  ${p > 0.5 ? 'positive' : 'negative'}  A wonderful film.\n`);
    // The default run of the profile is the profile's own, whatever GRU_MAX_LEN says (no hashed name).
    const chosen = predictCli(['--profile', 'ci', 'x'], { env: { ...training, GRU_RUN_DIR: '' } });
    const wanted = path.join(ROOT, 'runs', 'imdb-gru-ci').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(chosen.stderr, new RegExp(`^run ${wanted}, |${wanted} is not a run directory`));
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
    const args = [
      ...TSX,
      'scripts/train.ts',
      '--profile',
      'ci',
      '--train-size',
      '192',
      '--test-size',
      '64',
      '--epochs',
      '3',
      '--archive',
      ARCHIVE,
      '--run-dir',
      dir,
      '--quiet',
    ];
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
    // This edit bypasses saveEpoch: drop the manifest it would contradict (as for an epoch saved before manifests).
    fs.rmSync(path.join(epochDir(dir, 1), 'manifest.json'));
    await assert.rejects(
      train({ ...config, epochs: 2 }, { runDir: dir, resume: true, data: await imdb(), onProgress: quiet }),
      (err: unknown) => {
        assert.ok(err instanceof TrainError && err.code === 'NON_FINITE_LOSS', String(err));
        assert.match(err.message, /the training loss became NaN at epoch 2, batch 1\/2/);
        assert.match(err.message, /Try a smaller learning rate \(now 0\.001; --learning-rate or GRU_LEARNING_RATE\)/);
        assert.match(err.message, /keeps the epochs completed before it/);
        return true;
      },
    );
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith('epoch-')),
      ['epoch-01'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('train() rejects data loaded with other settings and an invalid config', async () => {
  const config = resolveConfig({ profile: 'ci', env: {} });
  const runDir = path.join(os.tmpdir(), `train-bad-${process.pid}`);
  await assert.rejects(
    train({ ...config, maxLen: 200 }, { runDir, data: await imdb(), onProgress: quiet }),
    /the data was loaded with numWords 10000, maxLen 100/,
  );
  assert.ok(!fs.existsSync(runDir), 'nothing is written before the data is checked');
  await assert.rejects(train({ ...config, epochs: 0 }, { onProgress: quiet }), /epochs must be an integer in 1\.\.inf, got 0/);
});

// ---------------------------------------------------------------------------------------------
// Faults (issue 16) on a tiny synthetic archive: fast, no real data needed
// ---------------------------------------------------------------------------------------------

describe('faults: other data, two trainers, Ctrl-C while loading, nothing to resume, a stale history.csv', () => {
  const config: TrainConfig = resolveConfig({
    profile: 'ci',
    env: {},
    overrides: { numWords: 30, maxLen: 8, embeddingDim: 3, units: 2, trainSize: 6, testSize: 4, batchSize: 2, evalBatchSize: 4, epochs: 1 },
  });
  const root = tempDir('train-faults-');
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = () => path.join(root, `run-${++n}`);

  async function tinyImdb(entries: FixtureEntry[], name: string): Promise<ImdbData> {
    const archivePath = await writeArchive(root, entries, name);
    return loadImdb({
      archivePath,
      numWords: config.numWords,
      maxLen: config.maxLen,
      seed: config.dataSeed,
      cache: false,
      download: false,
      onProgress: quiet,
    });
  }
  /** The tiny corpus with a new word made the most frequent of the training split (it takes id 4: every id shifts). */
  const shifted = () =>
    tinyCorpus().map((e) => (e.name === 'aclImdb/train/pos/0_9.txt' ? { ...e, text: `${e.text} ${'zzz '.repeat(2000)}` } : e));

  test('resume with another archive (its new top word took id 4) is DATA_MISMATCH saying what differs; the run is untouched', async () => {
    const dataA = await tinyImdb(tinyCorpus(), 'a.tar.gz');
    const dataB = await tinyImdb(shifted(), 'b.tar.gz');
    assert.equal(dataB.vocab.wordToId.get('zzz'), 4);
    const runDir = fresh();
    (await train(config, { runDir, data: dataA, onProgress: quiet })).model.dispose();
    const recorded = JSON.parse(fs.readFileSync(path.join(runDir, 'data.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(recorded).sort(), ['archiveSha256', 'tokenizerVersion', 'vocabularySha256']);
    assert.equal(recorded.archiveSha256, dataA.info.archiveSha256);
    const before = fs.readFileSync(path.join(runDir, 'vocab.json'));
    const mismatch = new RegExp(
      `trained on other data .*archive SHA-256: trained on ${dataA.info.archiveSha256}, now ${dataB.info.archiveSha256}; vocabulary SHA-256: trained on [0-9a-f]{64}, now [0-9a-f]{64}`,
    );
    await assert.rejects(
      train({ ...config, epochs: 2 }, { runDir, resume: true, data: dataB, onProgress: quiet }),
      (err: unknown) => err instanceof TrainError && err.code === 'DATA_MISMATCH' && mismatch.test(err.message),
    );
    // A run saved before data.json existed: its vocab.json is compared instead.
    fs.rmSync(path.join(runDir, 'data.json'));
    await assert.rejects(
      train({ ...config, epochs: 2 }, { runDir, resume: true, data: dataB, onProgress: quiet }),
      (err: unknown) =>
        err instanceof TrainError && err.code === 'DATA_MISMATCH' && /vocab\.json is not the vocabulary of this archive/.test(err.message),
    );
    assert.deepEqual(fs.readFileSync(path.join(runDir, 'vocab.json')), before);
    assert.equal((await runStatus(runDir)).completedEpochs, 1);
    const resumed = await train({ ...config, epochs: 2 }, { runDir, resume: true, data: dataA, onProgress: quiet });
    assert.deepEqual([resumed.outcome, resumed.history.length], ['resumed', 2]);
    resumed.model.dispose();
    assert.ok(fs.existsSync(path.join(runDir, 'data.json')), 'the legacy run now records its data');
  });

  test('a second trainer on a run directory being written gets RUN_LOCKED naming the pid', async () => {
    const data = await tinyImdb(tinyCorpus(), 'c.tar.gz');
    const runDir = fresh();
    let second: Promise<unknown> | undefined; // settles with the error (or null), so that it is never an unhandled rejection
    const first = await train(
      { ...config, epochs: 2 },
      {
        runDir,
        data,
        onProgress: (e) => {
          if (e.type === 'batch' && second === undefined) {
            second = train({ ...config, epochs: 2 }, { runDir, resume: true, data, onProgress: quiet }).then(
              (r) => {
                r.model.dispose();
                return null;
              },
              (err: unknown) => err,
            );
          }
        },
      },
    );
    first.model.dispose();
    const err = await second;
    assert.ok(err instanceof TrainError && err.code === 'RUN_LOCKED', String(err));
    assert.match(err.message, new RegExp(`is being written by another trainer \\(pid ${process.pid} `));
    assert.ok(!fs.existsSync(path.join(runDir, 'train.lock')), 'the lock is released at the end');
    assert.equal((await runStatus(runDir)).completedEpochs, 2);
  });

  test('Ctrl-C while the data loads stops before the run directory is created', async () => {
    const archivePath = await writeArchive(root, tinyCorpus(), 'd.tar.gz');
    const runDir = fresh();
    const controller = new AbortController();
    controller.abort();
    const messages: string[] = [];
    const r = await train(config, {
      runDir,
      archivePath,
      signal: controller.signal,
      onProgress: (e) => void (e.type === 'info' && messages.push(e.message)),
    });
    r.model.dispose();
    assert.equal(r.outcome, 'stopped');
    assert.ok(!fs.existsSync(runDir), 'no run directory');
    assert.match(messages.join('\n'), /stopped while loading the data; .* was not created/);
  });

  test('--resume with no run says it starts from scratch', async () => {
    const data = await tinyImdb(tinyCorpus(), 'e.tar.gz');
    const runDir = fresh();
    const messages: string[] = [];
    const r = await train(config, { runDir, resume: true, data, onProgress: (e) => void (e.type === 'info' && messages.push(e.message)) });
    r.model.dispose();
    assert.equal(r.outcome, 'trained');
    assert.match(
      messages[0],
      new RegExp(`^nothing to resume in ${runDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(no such run\\): starting from scratch$`),
    );
  });

  test('a history.csv emptied by a full disk is rewritten when the run is resumed or loaded', async () => {
    const data = await tinyImdb(tinyCorpus(), 'f.tar.gz');
    const runDir = fresh();
    const trained = await train(config, { runDir, data, onProgress: quiet });
    trained.model.dispose();
    const file = path.join(runDir, 'history.csv');
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, '');
    const loaded = await train(config, { runDir, resume: true, data, onProgress: quiet });
    loaded.model.dispose();
    assert.equal(loaded.outcome, 'loaded');
    assert.equal(fs.readFileSync(file, 'utf8'), good);
    fs.writeFileSync(file, '');
    const resumed = await train({ ...config, epochs: 2 }, { runDir, resume: true, data, onProgress: quiet });
    resumed.model.dispose();
    assert.deepEqual(pl.readCSV(file).getColumn('epoch').toArray(), [1, 2]);
  });
});

describe('the command line', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...TSX, 'scripts/train.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...childEnv(), ...env } });

  test('--help documents the options and the environment variables', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0, r.stderr);
    for (const s of [
      '--profile ci|full',
      '--run-dir DIR',
      '--resume',
      '--epochs N',
      '--batch-size N',
      '--max-len N',
      '--train-size N',
      '--test-size N',
      'GRU_EPOCHS',
      'GRU_RUN_DIR',
      '--time-batches N',
    ]) {
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
      [['--epochs', '0x2'], {}, /--epochs="0x2" is not an integer .*decimal digits/],
      [['--epochs', '1e1'], {}, /--epochs="1e1" is not an integer .*decimal digits/],
      [['--time-batches', '0x10'], {}, /--time-batches "0x10": use a positive integer in decimal digits/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = run(args, env);
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });

  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n +at /, `a stack trace:\n${stderr}`);

  test('--max-len 1000000 is refused before any data is read, with the arithmetic (exit 2)', () => {
    const runDir = path.join(tempDir('train-maxlen-'), 'run');
    const r = run(['--profile', 'ci', '--max-len', '1000000', '--archive', ARCHIVE, '--run-dir', runDir]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^train: maxLen 1000000 cannot fit: padded reviews \(2000 \+ 1000\) x 1000000 ids x 4 bytes = 12\.00 GB, plus one training batch .* = 81\.92 GB: 93\.92 GB at least, and this machine has [\d.]+ GB of memory/,
    );
    assert.doesNotMatch(r.stdout, /loading IMDB/);
    assert.ok(!fs.existsSync(runDir));
  });

  test('an --archive that does not exist, or is a directory, is an error naming it (exit 2), never a fallback', () => {
    const dir = tempDir('train-archive-');
    const missing = path.join(dir, 'nope.tar.gz');
    const r = run(['--profile', 'ci', '--archive', missing, '--run-dir', path.join(dir, 'run')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^train: the IMDB archive given by the archivePath option, ${escaped(missing)}, does not exist`));
    const d = run(['--profile', 'ci', '--archive', dir, '--run-dir', path.join(dir, 'run')]);
    assert.equal(d.status, 2, d.stderr);
    assert.match(d.stderr, new RegExp(`${escaped(dir)}, is a directory, not a \\.tar\\.gz file`));
    assert.ok(!fs.existsSync(path.join(dir, 'run')));
  });

  test('an unwritable run directory (ENOTDIR) and a damaged config.json are clear errors with exit 2, before any data is read', () => {
    const dir = tempDir('train-rundir-');
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const r = run(['--profile', 'ci', '--archive', ARCHIVE, '--run-dir', path.join(dir, 'file', 'run')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^train: cannot write the run directory .*file\/run: .*file \(ENOTDIR: .* is a file, not a directory\)/);
    noStack(r.stderr);
    assert.doesNotMatch(r.stdout, /loading IMDB/);
    const runDir = path.join(dir, 'run');
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(runDir, 'config.json'), '{"profile": "ci", ');
    const c = run(['--profile', 'ci', '--archive', ARCHIVE, '--run-dir', runDir, '--resume']);
    assert.equal(c.status, 2, c.stderr);
    assert.match(c.stderr, new RegExp(`^train: ${escaped(path.join(runDir, 'config.json'))} is not valid JSON`));
    noStack(c.stderr);
  });

  test('a full disk (a small tmpfs) during an epoch save: exit 2 with ENOSPC, epoch 1 and its history.csv intact, then resumed once there is room', (t) => {
    if (process.getuid?.() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) {
      t.skip('needs root and unshare -m to mount a small tmpfs; the injected ENOSPC of test/training/run-dir.test.ts covers the logic');
      return;
    }
    const mnt = tempDir('train-tmpfs-');
    const args = [
      '--profile',
      'ci',
      '--train-size',
      '64',
      '--test-size',
      '64',
      '--epochs',
      '2',
      '--archive',
      ARCHIVE,
      '--run-dir',
      `${mnt}/run`,
      '--quiet',
    ];
    const node = (extra: string[]) => [process.execPath, ...TSX, 'scripts/train.ts', ...args, ...extra].map((a) => `'${a}'`).join(' ');
    // 24 MB: epoch 1 (5.5 MB of weights + 11 MB of Adam state) fits, epoch 2's copy does not.
    const script =
      `mount -t tmpfs -o size=24m tmpfs '${mnt}' && { ${node([])}; echo "EXIT1 $?"; ` +
      `cat '${mnt}/run/history.csv'; ls '${mnt}/run'; mount -o remount,size=64m '${mnt}' && ${node(['--resume'])}; echo "EXIT2 $?"; cat '${mnt}/run/history.csv'; }`;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: ROOT, encoding: 'utf8', env: childEnv() });
    fs.rmSync(mnt, { recursive: true, force: true });
    const out = r.stdout;
    assert.match(out, /EXIT1 2\n/, `${out}\n${r.stderr}`);
    assert.match(
      r.stderr,
      /train: could not save epoch 2 in .*\(ENOSPC: no space left on device.*\)\. The 1 epoch\(s\) saved before are intact/,
    );
    const afterFailure = out.slice(out.indexOf('EXIT1'), out.indexOf('EXIT2'));
    assert.match(afterFailure, /epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,[^\n]+\n(?!2,)/, 'history.csv holds epoch 1');
    assert.match(afterFailure, /\nepoch-01\n/);
    assert.doesNotMatch(afterFailure, /epoch-02|partial|train\.lock/);
    assert.match(out, /EXIT2 0\n/);
    assert.match(out.slice(out.indexOf('EXIT2')), /\n1,[^\n]+\n2,[^\n]+\n$/, 'resumed: both epochs in history.csv');
  });
});
