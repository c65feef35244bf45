/**
 * Exports a run as a Keras model file (.keras or .h5) with its word index beside it (see --help).
 *
 *   node --import tsx scripts/export-keras.ts --run-dir runs/imdb-gru-ci model.keras
 *
 * Exit codes: 0 done, 1 failed, 2 bad options or a run that cannot be exported.
 */
import { parseArgs } from 'node:util';
import { ImdbError } from '../lib/imdb';
import { KerasModelError } from '../lib/keras-config';
import { exportKeras } from '../lib/keras-export';
import { TrainError, defaultRunDir, resolveConfig, type EpochChoice } from '../lib/train';

const USAGE = `Export a trained run as a Keras model (keras.models.load_model opens it).

Usage: node --import tsx scripts/export-keras.ts [options] OUT.keras|OUT.h5

  --run-dir DIR        the run to export (default: $GRU_RUN_DIR, else the default run of the profile)
  --profile ci|full    which profile's default run (default: $GRU_PROFILE, else full)
  --epoch N|last|best  which saved epoch's weights (default: last; best = lowest val_loss)
  -h, --help           this text

OUT.keras is Keras 3's zip format (Keras 2.12 opens it too), OUT.h5 the legacy HDF5 format.
The run's vocabulary is written beside it as OUT.word_index.json (word -> rank, ids = rank + 3, as imdb.get_word_index()).
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`export-keras: ${message}\n`);
  process.exit(code);
}

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
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\nRun with --help for the options.`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length !== 1) fail('give exactly one output file (OUT.keras or OUT.h5)\nRun with --help for the options.');
  if (values.profile !== undefined && values.profile !== 'ci' && values.profile !== 'full') fail(`--profile ${JSON.stringify(values.profile)}: use ci or full`);
  const runDir = values['run-dir'] ?? defaultRunDir(resolveConfig({ profile: values.profile as 'ci' | 'full' | undefined }));
  const result = await exportKeras(runDir, positionals[0], { epoch: parseEpoch(values.epoch) });
  const s = result.spec;
  process.stdout.write(
    `run ${runDir}, epoch ${result.epoch}: Embedding(${s.numWords}, ${s.embeddingDim}) -> GRU(${s.units}, reset_after=${s.resetAfter ? 'True' : 'False'}) ` +
      `-> Dense(1, sigmoid), ${s.maxLen} ids per review\nwrote ${result.file} (${result.format === 'keras' ? '.keras zip' : 'legacy HDF5'})\n` +
      `wrote ${result.wordIndexFile}\n`,
  );
}

main().catch((err) => {
  if (err instanceof KerasModelError || err instanceof ImdbError) fail(err.message, 2);
  if (err instanceof TrainError) fail(err.message, err.code === 'RUN_NOT_FOUND' ? 2 : 1);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
