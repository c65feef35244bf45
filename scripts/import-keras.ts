/**
 * Imports a Keras model (.keras or .h5) of the course's shape into a run directory (see --help).
 *
 *   node --import tsx scripts/import-keras.ts model.keras --run-dir runs/keras-model --word-index word_index.json
 *
 * Exit codes: 0 done, 1 failed, 2 bad options or a model this course cannot import (nothing written).
 */
import { ImdbError } from '../lib/data/errors';
import { KerasModelError } from '../lib/keras/config';
import { importKeras } from '../lib/keras/import';
import { fail, positiveInteger, runCli, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'import-keras',
  summary: 'Import a Keras model into a run directory (for npm run predict, notebooks 04 and 06).',
  usage: 'node --import tsx scripts/import-keras.ts MODEL.keras|MODEL.h5 --run-dir DIR [options]',
  positionals: true,
  options: {
    'run-dir': { type: 'string', value: 'DIR', help: 'the run directory to create (must not exist)' },
    'word-index': { type: 'string', value: 'FILE', help: 'a Keras word index JSON (imdb.get_word_index(): word -> rank, ids = rank + 3)' },
    vocab: {
      type: 'string',
      value: 'RUN|FILE',
      help: "a course vocabulary instead: a run directory or its vocab.json\n(for a model trained on the course's arrays)",
    },
    'max-len': { type: 'string', value: 'N', help: "the review length, when the model's input shape leaves it open" },
  },
  epilog:
    'Without --word-index or --vocab, MODEL.word_index.json beside the model is used (export-keras writes it).\n' +
    'The model must be Embedding -> GRU -> Dense(1, sigmoid) (any units, dropout, reset_after); anything else is refused.',
  exitCodes: { 2: 'bad options, or a model this course cannot import (nothing written)' },
  knownErrors: (err) => (err instanceof KerasModelError || err instanceof ImdbError ? 2 : undefined),
};

runCli(SPEC, async ({ values, positionals }) => {
  if (positionals.length !== 1) fail('give exactly one model file (.keras or .h5)');
  const runDir = values['run-dir'] as string | undefined;
  if (runDir === undefined) fail('give the run directory to create with --run-dir DIR');
  const maxLen = values['max-len'] === undefined ? undefined : positiveInteger(values['max-len'], '--max-len');
  const file = positionals[0];
  process.stdout.write(`reading ${file}\n`);
  const result = await importKeras(file, {
    runDir: runDir,
    wordIndex: values['word-index'] as string | undefined,
    vocab: values.vocab as string | undefined,
    maxLen: maxLen,
  });
  const c = result.config;
  process.stdout.write(
    `${result.model.format === 'keras' ? '.keras zip' : 'legacy HDF5'} from Keras ${c.imported.kerasVersion}: ` +
      `Embedding(${c.numWords}, ${c.embeddingDim}) -> GRU(${c.units}, reset_after=${c.resetAfter ? 'True' : 'False'}, dropout ${c.dropout}, ` +
      `recurrent_dropout ${c.recurrentDropout}) -> Dense(1, sigmoid), ${c.maxLen} ids per review\n` +
      `vocabulary: ${c.imported.vocabulary}\nwrote ${result.runDir}\n`,
  );
});
