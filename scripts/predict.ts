/**
 * Classifies review text with a trained run (see --help).
 *
 *   node --import tsx scripts/predict.ts "A wonderful film." "Two hours I will never get back."
 *   node --import tsx scripts/predict.ts --run-dir runs/imdb-gru-ci --epoch best "text"
 *
 * Prints one line per text: P(positive), the label, the text. Exit codes: 0 done, 1 failed, 2 bad options.
 */
import { parseProfile } from '../lib/env';
import { ImdbError } from '../lib/imdb-error';
import { Predictor } from '../lib/predict';
import type { EpochChoice } from '../lib/run-dir';
import { TrainError, defaultRunDir, resolveConfig } from '../lib/train-config';
import { fail, runCli, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'predict',
  summary: 'Classify movie reviews with a trained run.',
  usage: 'node --import tsx scripts/predict.ts [options] "review text" ...',
  positionals: true,
  options: {
    'run-dir': { type: 'string', value: 'DIR', help: 'the run to use (default: $GRU_RUN_DIR, else the default run of the profile)' },
    profile: { type: 'string', value: 'ci|full', help: "which profile's default run (default: $GRU_PROFILE, else full)" },
    epoch: { type: 'string', value: 'N|last|best', help: "which saved epoch's weights (default: last; best = lowest val_loss)" },
    json: { type: 'boolean', help: 'print a JSON array of {text, probability, label}' },
  },
  epilog: 'Each text gets P(positive) from the model; above 0.5 is labelled positive (as Keras\'s accuracy counts it).',
  exitCodes: { 2: 'bad options or no such run' },
  knownErrors: (err) => {
    if (err instanceof TrainError || err instanceof ImdbError) return err.code === 'RUN_NOT_FOUND' ? 2 : 1;
    return undefined;
  },
};

function parseEpoch(text: string | undefined): EpochChoice {
  if (text === undefined || text === 'last') return 'last';
  if (text === 'best') return 'best';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--epoch ${JSON.stringify(text)}: use a positive integer, last or best`);
  return n;
}

runCli(SPEC, async ({ values, positionals }) => {
  if (positionals.length === 0) fail('give at least one review text, e.g. "A wonderful film."');
  let profile;
  try {
    profile = values.profile === undefined ? undefined : parseProfile(values.profile as string, '--profile');
  } catch (err) {
    fail((err as Error).message);
  }
  const epoch = parseEpoch(values.epoch as string | undefined);
  const runDir = (values['run-dir'] as string | undefined) ?? defaultRunDir(resolveConfig({ profile }));

  const predictor = await Predictor.load(runDir, epoch);
  const probabilities = predictor.predict(positionals);
  predictor.dispose();
  const rows = positionals.map((text, i) => ({ text, probability: probabilities[i], label: probabilities[i] > 0.5 ? 'positive' : 'negative' }));
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
    return;
  }
  process.stderr.write(`run ${predictor.runDir}, epoch ${predictor.epoch}\n`);
  for (const r of rows) process.stdout.write(`${r.probability.toFixed(4)}  ${r.label.padEnd(8)}  ${r.text}\n`);
});
