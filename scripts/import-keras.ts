/**
 * Imports a Keras model (.keras or .h5) of the course's shape into a run directory (see --help).
 *
 *   node --import tsx scripts/import-keras.ts model.keras --run-dir runs/keras-model --word-index word_index.json
 *
 * Exit codes: 0 done, 1 failed, 2 bad options or a model this course cannot import (nothing written).
 */
import { parseArgs } from 'node:util';
import { ImdbError } from '../lib/imdb';
import { KerasModelError } from '../lib/keras-config';
import { importKeras } from '../lib/keras-import';

const USAGE = `Import a Keras model into a run directory (for npm run predict, notebooks 04 and 06).

Usage: node --import tsx scripts/import-keras.ts MODEL.keras|MODEL.h5 --run-dir DIR [options]

  --run-dir DIR        the run directory to create (must not exist)
  --word-index FILE    a Keras word index JSON (imdb.get_word_index(): word -> rank, ids = rank + 3)
  --vocab RUN|FILE     a course vocabulary instead: a run directory or its vocab.json (for a model trained on the course's arrays)
  --max-len N          the review length, when the model's input shape leaves it open
  -h, --help           this text

Without --word-index or --vocab, MODEL.word_index.json beside the model is used (export-keras writes it).
The model must be Embedding -> GRU -> Dense(1, sigmoid) (any units, dropout, reset_after); anything else is refused.
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`import-keras: ${message}\n`);
  process.exit(code);
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
        'word-index': { type: 'string' },
        vocab: { type: 'string' },
        'max-len': { type: 'string' },
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
  if (positionals.length !== 1) fail('give exactly one model file (.keras or .h5)\nRun with --help for the options.');
  if (values['run-dir'] === undefined) fail('give the run directory to create with --run-dir DIR');
  let maxLen: number | undefined;
  if (values['max-len'] !== undefined) {
    maxLen = Number(values['max-len']);
    if (!Number.isInteger(maxLen) || maxLen <= 0) fail(`--max-len ${JSON.stringify(values['max-len'])}: use a positive integer`);
  }
  const file = positionals[0];
  process.stdout.write(`reading ${file}\n`);
  const result = await importKeras(file, { runDir: values['run-dir'], wordIndex: values['word-index'], vocab: values.vocab, maxLen });
  const c = result.config;
  process.stdout.write(
    `${result.model.format === 'keras' ? '.keras zip' : 'legacy HDF5'} from Keras ${c.imported.kerasVersion}: ` +
      `Embedding(${c.numWords}, ${c.embeddingDim}) -> GRU(${c.units}, reset_after=${c.resetAfter ? 'True' : 'False'}, dropout ${c.dropout}, ` +
      `recurrent_dropout ${c.recurrentDropout}) -> Dense(1, sigmoid), ${c.maxLen} ids per review\n` +
      `vocabulary: ${c.imported.vocabulary}\nwrote ${result.runDir}\n`,
  );
}

main().catch((err) => {
  if (err instanceof KerasModelError || err instanceof ImdbError) fail(err.message, 2);
  fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1);
});
