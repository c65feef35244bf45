// The scripts on odd paths and input (issue 26): a clear message and the documented exit code, never a stack
// trace; review text that could drive the terminal is escaped; a file that is not text, and a model that answers
// NaN, get no verdict (never a label beside a null probability). A tiny saved run, untrained (no IMDB needed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { ROOT } from '../lib/util/paths';
import { KerasAdam } from '../lib/training/adam';
import { buildModel } from '../lib/training/model';
import { environmentFacts, saveEpoch } from '../lib/training/run-dir';
import { resolveConfig } from '../lib/training/config';
import { saveVocabulary, vocabularyFromCounts } from '../lib/data/vocabulary';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'odd-input-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const runDir = path.join(work, 'run');
const nanRun = path.join(work, 'nan-run');
const aFile = path.join(work, 'a-file.txt');

/** Saves a one-epoch run of an untrained model; `poison` puts NaN into its Dense kernel. */
async function saveRun(dir: string, poison: boolean): Promise<void> {
  const config = resolveConfig({ profile: 'ci', env: {}, overrides: { numWords: 12, maxLen: 6, embeddingDim: 3, units: 2, epochs: 1 } });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const words = new Map([
    ['good', 9],
    ['bad', 8],
    ['film', 7],
  ]);
  await saveVocabulary(vocabularyFromCounts(words, config.numWords), path.join(dir, 'vocab.json'));
  const model = buildModel(config);
  if (poison) {
    const w = model.getWeights();
    const i = w.length - 2; // the Dense kernel
    w[i] = tf.fill(w[i].shape, NaN);
    model.setWeights(w);
  }
  const record = { epoch: 1, loss: 0.5, accuracy: 0.5, val_loss: 0.5, val_accuracy: 0.5, seconds: 1 };
  await saveEpoch(dir, model, new KerasAdam(), { epoch: 1, steps: 1, history: [record], savedAt: 'now', environment: environmentFacts() });
  model.dispose();
}

before(async () => {
  await saveRun(runDir, false);
  await saveRun(nanRun, true);
  fs.writeFileSync(aFile, 'not a directory');
});

function script(name: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', `${name}.ts`), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noTrace = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at |ENOTDIR|EEXIST/, 'no stack trace, no raw error code');

test('a regular file given as --run-dir: exit 2, saying it is a file (predict, export-keras, train)', () => {
  for (const [name, args] of [
    ['predict', ['--run-dir', aFile, 'a good film']],
    ['export-keras', ['--run-dir', aFile, path.join(work, 'out.keras')]],
    ['train', ['--run-dir', aFile, '--profile', 'ci', '--resume']],
  ] as const) {
    const r = script(name, ...args);
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^${name}: .*a-file\\.txt is a file, not a run directory`), name);
    noTrace(r.stderr);
  }
});

test('export-keras into a path whose parent is a file: exit 2, naming that file', () => {
  const r = script('export-keras', '--run-dir', runDir, path.join(aFile, 'model.keras'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^export-keras: cannot write .*a-file\.txt\/model\.keras: .*a-file\.txt is a file, not a folder\. Choose another output path\./,
  );
  noTrace(r.stderr);
});

test('control characters of a review are escaped on the terminal (the JSON escapes them too)', () => {
  const hostile = '\u001b]0;owned\u0007good film\u001b[2J\u009b31m';
  const file = path.join(work, 'hostile.txt');
  fs.writeFileSync(file, `bad film ${hostile}`);
  const r = script('predict', '--run-dir', runDir, hostile, '--file', file);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character reaches the terminal');
  assert.match(r.stdout, /\\x1B\]0;owned\\x07good film\\x1B\[2J\\x9B31m/);
  const json = script('predict', '--run-dir', runDir, '--json', hostile);
  assert.equal((JSON.parse(json.stdout) as { text: string }[])[0].text, hostile, 'the JSON keeps the text, escaped by JSON');
});

test('invalid UTF-8 and binary files get the no-verdict warning, like a text with no known word', () => {
  const latin1 = path.join(work, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.from('a good film, tr\xe8s bon', 'latin1'));
  const binary = path.join(work, 'image.png');
  fs.writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]));
  const r = script('predict', '--run-dir', runDir, '--file', latin1, '--file', binary, 'a good film');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /predict: text 2 \(.*latin1\.txt\) is not review text \(it is not valid UTF-8 text\): no verdict/);
  assert.match(r.stderr, /predict: text 3 \(.*image\.png\) is not review text \(.*\): no verdict/);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[1], /^ {5}- {2}no verdict \(not text\) {2}.*latin1\.txt: \(not text\)$/);
  assert.match(lines[2], /^ {5}- {2}no verdict \(not text\) {2}.*image\.png/);
  assert.match(lines[0], /^0\.\d{4} {2}(positive|negative) {2}a good film$/, 'the text argument (listed first) is classified');
  const json = JSON.parse(script('predict', '--run-dir', runDir, '--json', '--file', binary).stdout) as {
    probability: unknown;
    label: unknown;
  }[];
  assert.deepEqual([json[0].probability, json[0].label], [null, null]);
});

test('a model that answers NaN: no verdict, and --json never pairs a null probability with a label', () => {
  const r = script('predict', '--run-dir', nanRun, '--json', 'a good film', 'bad');
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { probability: number | null; label: string | null }[];
  for (const row of rows) assert.deepEqual([row.probability, row.label], [null, null]);
  assert.match(r.stderr, /got no finite probability from the model \(its weights hold NaN\?\): no verdict/);
  const text = script('predict', '--run-dir', nanRun, 'a good film');
  assert.match(text.stdout, /^ {5}- {2}no verdict \(no finite probability\) {2}a good film$/m);
  assert.doesNotMatch(text.stdout, /NaN/);
});
