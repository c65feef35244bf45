/**
 * Classifies review text with a trained run (see --help).
 *
 *   node --import tsx scripts/predict.ts "A wonderful film." "Two hours I will never get back."
 *   node --import tsx scripts/predict.ts --run-dir runs/imdb-gru-ci --epoch best "text"
 *
 * Prints one line per text: P(positive), the label, the text. Exit codes: 0 done, 1 failed, 2 bad options.
 */
import { parseArgs } from 'node:util';
import { ImdbError } from '../lib/imdb';
import { Predictor, TrainError, defaultRunDir, resolveConfig, type EpochChoice } from '../lib/train';

function fail(message: string, code = 2): never {
  process.stderr.write(`predict: ${message}\nRun with --help for the options.\n`);
  process.exit(code);
}

const USAGE = `Classify movie reviews with a trained run.

Usage: node --import tsx scripts/predict.ts [options] "review text" ...

  --run-dir DIR        the run to use (default: $GRU_RUN_DIR, else the default run of the profile)
  --profile ci|full    which profile's default run (default: $GRU_PROFILE, else full)
  --epoch N|last|best  which saved epoch's weights (default: last; best = lowest val_loss)
  --json               print a JSON array of {text, probability, label}
  -h, --help           this text

Each text gets P(positive) from the model; above 0.5 is labelled positive (as Keras's accuracy counts it).
`;

function parseEpoch(text: string | undefined): EpochChoice {
  if (text === undefined || text === 'last') return 'last';
  if (text === 'best') return 'best';
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`--epoch ${JSON.stringify(text)}: use a positive integer, last or best`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: true,
      options: {
        'run-dir': { type: 'string' },
        profile: { type: 'string' },
        epoch: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length === 0) fail('give at least one review text, e.g. "A wonderful film."');
  if (values.profile !== undefined && values.profile !== 'ci' && values.profile !== 'full') fail(`--profile ${JSON.stringify(values.profile)}: use ci or full`);
  const epoch = parseEpoch(values.epoch);
  const runDir = values['run-dir'] ?? defaultRunDir(resolveConfig({ profile: values.profile as 'ci' | 'full' | undefined }));

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
}

main().catch((err) => {
  const known = err instanceof TrainError || err instanceof ImdbError;
  process.stderr.write(`predict: ${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(known && err.code === 'RUN_NOT_FOUND' ? 2 : 1);
});
