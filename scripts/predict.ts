/**
 * Classifies review text with a trained run (see --help).
 *
 *   node --import tsx scripts/predict.ts "A wonderful film." "Two hours I will never get back."
 *   node --import tsx scripts/predict.ts --run-dir runs/imdb-gru-ci --epoch best "text"
 *   node --import tsx scripts/predict.ts --file review.txt --file -      # a file, then stdin: one review each
 *   node --import tsx scripts/predict.ts --lines --file reviews.txt     # one review per line
 *
 * Prints one line per text: P(positive), the label, the text (or where it came from). A text with no word
 * the run's vocabulary knows gets no verdict. Exit codes: 0 done, 1 failed, 2 bad options or run problem.
 */
import * as fsp from 'node:fs/promises';
import { parseProfile } from '../lib/util/env';
import { ImdbError } from '../lib/data/errors';
import { Predictor, notTextReason, type Classification } from '../lib/training/predict';
import { runLockHolder } from '../lib/training/run-guards';
import { RUN_DIR_ENV, TrainError, defaultRunDir, resolveConfig } from '../lib/training/config';
import { epochChoice, fail, runCli, terminalText, type CliSpec } from './cli';

const PROFILE_ENV = 'GRU_PROFILE';

const SPEC: CliSpec = {
  name: 'predict',
  summary: 'Classify movie reviews with a trained run.',
  usage: 'node --import tsx scripts/predict.ts [options] ["review text" ...]',
  positionals: true,
  options: {
    'run-dir': { type: 'string', value: 'DIR', help: `the run to use (default: $${RUN_DIR_ENV}, else the default run of the profile)` },
    profile: {
      type: 'string',
      value: 'ci|full',
      help: `which profile's default run (default: $${PROFILE_ENV}, else full);\ntraining-only variables (GRU_EPOCHS, GRU_MAX_LEN, ...) are ignored`,
    },
    epoch: { type: 'string', value: 'N|last|best', help: "which saved epoch's weights (default: last; best = lowest val_loss)" },
    file: {
      type: 'string',
      value: 'PATH',
      multiple: true,
      help: 'read a review from a file (repeatable; - is stdin): one review per file',
    },
    lines: { type: 'boolean', help: 'with --file: one review per line instead (blank lines skipped)' },
    json: { type: 'boolean', help: 'print a JSON array of {source, text, knownWords, probability, label}' },
  },
  epilog:
    "Each text gets P(positive) from the model; above 0.5 is labelled positive (as Keras's accuracy counts it).\n" +
    'A text with no word the vocabulary knows gets no verdict ("-", probability null in JSON) and a warning:\n' +
    'the model would answer from padding alone. stderr names the run, the epoch used and whether the run\n' +
    'is complete.',
  exitCodes: { 2: 'bad options, or the run is missing, damaged or trained on other data' },
  knownErrors: (err) => {
    if (err instanceof TrainError) return 2;
    if (err instanceof ImdbError) return err.code === 'VOCABULARY_INVALID' ? 2 : 1;
    return undefined;
  },
};

/** A review to classify and where it came from (shown instead of a long text); `notText` says why it is no text. */
interface Input {
  source: string;
  text: string;
  notText?: string;
}

async function readInput(file: string): Promise<Buffer> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }
    return await fsp.readFile(file);
  } catch (err) {
    return fail(`--file ${file}: ${(err as Error).message}`);
  }
}

async function inputs(positionals: string[], files: string[], lines: boolean): Promise<Input[]> {
  const out: Input[] = positionals.map((text) => ({ source: 'argument', text }));
  for (const file of files) {
    const name = file === '-' ? 'stdin' : file;
    const bytes = await readInput(file);
    const notText = notTextReason(bytes) ?? undefined;
    const text = bytes.toString('utf8');
    if (!lines || notText !== undefined) out.push({ source: name, text, notText });
    else text.split(/\r?\n/).forEach((line, i) => void (line.trim() !== '' && out.push({ source: `${name}:${i + 1}`, text: line })));
  }
  return out;
}

const shown = (text: string) => terminalText((text.length > 100 ? `${text.slice(0, 97)}...` : text).replace(/\s+/g, ' '));

/** Each input's verdict; an input that is no text gets none, like a text with no known word. */
function classifyInputs(predictor: Predictor, texts: Input[]): Classification[] {
  const isText = texts.filter((t) => t.notText === undefined);
  const scored = predictor.classify(isText.map((t) => t.text));
  let next = 0;
  return texts.map((t) => (t.notText === undefined ? scored[next++] : { text: t.text, knownWords: 0, probability: null, label: null }));
}

/** Why a row got no verdict, for the warning on stderr. */
function noVerdictReason(input: Input, r: Classification): string {
  if (input.notText !== undefined) return `is not review text (${input.notText})`;
  return r.knownWords === 0 ? 'has no word the vocabulary knows' : 'got no finite probability from the model (its weights hold NaN?)';
}

runCli(SPEC, async ({ values, positionals }) => {
  const files = (values.file as string[] | undefined) ?? [];
  if (values.lines && files.length === 0) fail('--lines applies to --file: give --file PATH (or --file - for stdin)');
  if (positionals.length === 0 && files.length === 0)
    fail('give at least one review text, e.g. "A wonderful film.", or --file PATH (- for stdin)');
  let profile;
  try {
    profile = values.profile === undefined ? undefined : parseProfile(values.profile as string, '--profile');
  } catch (err) {
    fail((err as Error).message);
  }
  const epoch = epochChoice(values.epoch as string | undefined);
  // Which run: only the profile and the run directory count; GRU_EPOCHS, GRU_MAX_LEN... are training's.
  const env = { [PROFILE_ENV]: process.env[PROFILE_ENV], [RUN_DIR_ENV]: process.env[RUN_DIR_ENV] };
  let runDir = values['run-dir'] as string | undefined;
  if (runDir === undefined) {
    try {
      runDir = defaultRunDir(resolveConfig({ profile, env }), env);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const texts = await inputs(positionals, files, values.lines === true);
  if (texts.length === 0) fail('the files hold no review (every line is blank)');

  const predictor = await Predictor.load(runDir, epoch);
  const holder = predictor.complete ? null : await runLockHolder(predictor.runDir);
  process.stderr.write(
    `run ${predictor.runDir}, epoch ${predictor.epoch} (of ${predictor.completedEpochs} completed, ${predictor.config.epochs} planned): ` +
      (predictor.complete
        ? 'the run is complete\n'
        : `the run is INCOMPLETE${holder ? ` (being trained now by pid ${holder.pid})` : ' (finish it with scripts/train.ts --resume)'}\n`),
  );
  const results = classifyInputs(predictor, texts);
  predictor.dispose();
  const rows = results.map((r, i) => ({ source: texts[i].source, ...r }));
  rows.forEach((r, i) => {
    if (r.probability === null)
      process.stderr.write(
        `predict: text ${i + 1} (${r.source === 'argument' ? JSON.stringify(shown(r.text)) : terminalText(r.source)}) ${noVerdictReason(texts[i], r)}: no verdict\n`,
      );
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
    return;
  }
  rows.forEach((r, i) => {
    const p = r.probability === null ? '-'.padStart(6) : r.probability.toFixed(4);
    const label =
      r.label ??
      `no verdict (${texts[i].notText !== undefined ? 'not text' : r.knownWords === 0 ? 'no known word' : 'no finite probability'})`;
    const what =
      r.source === 'argument'
        ? terminalText(r.text)
        : `${terminalText(r.source)}: ${texts[i].notText === undefined ? shown(r.text) : '(not text)'}`;
    process.stdout.write(`${p}  ${label.padEnd(8)}  ${what}\n`);
  });
});
