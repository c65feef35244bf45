/**
 * Exports the encoded IMDB arrays as NumPy .npy files (lib/data/export.ts), so that a Python
 * program (scripts/keras_reference.py) trains on exactly the arrays, in exactly the order, that this
 * project's training reads:
 *
 *   data/export/<name>/x_train.npy  int32 [trainSize, maxLen]   (Keras-padded ids, 'pre')
 *                      y_train.npy  float32 [trainSize]         (1 = positive)
 *                      x_test.npy   int32 [testSize, maxLen]
 *                      y_test.npy   float32 [testSize]
 *                      manifest.json  what was exported, from which archive, with each file's SHA-256
 *
 * The rows are the first trainSize / testSize of each split after lib/data/imdb's seeded shuffle
 * (ImdbData.subset), which is what lib/training/train.ts's train() uses before its own per-epoch shuffles.
 *
 *   node --import tsx scripts/export-imdb.ts [--max-len 500] [--num-words 10000] [--train-size 25000] [--test-size 25000]
 */
import * as fs from 'node:fs';
import { SHARED_ARCHIVE } from '../lib/util/paths';
import { DEFAULT_SEED, loadImdb } from '../lib/data/imdb';
import { ImdbError } from '../lib/data/errors';
import { exportImdb } from '../lib/data/export';
import { positiveInteger, runCli, type CliSpec } from './cli';

/** The shared archive beside the checkout (as scripts/test.sh finds it), when IMDB_ARCHIVE is unset. */
export function defaultArchivePath(): string | undefined {
  if (process.env.IMDB_ARCHIVE) return undefined;
  return fs.existsSync(SHARED_ARCHIVE) ? SHARED_ARCHIVE : undefined;
}

const SPEC: CliSpec = {
  name: 'export-imdb',
  summary: 'Export the encoded IMDB arrays as NumPy .npy files (for scripts/keras_reference.py).',
  usage: 'node --import tsx scripts/export-imdb.ts [--max-len 500] [--num-words 10000] [--train-size 25000] [--test-size 25000]',
  options: {
    'num-words': { type: 'string', value: 'N', default: '10000', help: 'vocabulary size (default 10000)' },
    'max-len': { type: 'string', value: 'N', default: '500', help: 'ids per review (default 500)' },
    'data-seed': {
      type: 'string',
      value: 'N',
      default: String(DEFAULT_SEED),
      help: `seed of the data set's shuffle (default ${DEFAULT_SEED})`,
    },
    'train-size': { type: 'string', value: 'N', default: '25000', help: 'training reviews exported (default 25000)' },
    'test-size': { type: 'string', value: 'N', default: '25000', help: 'test reviews exported (default 25000)' },
    archive: { type: 'string', value: 'PATH', help: 'the IMDB .tar.gz (default: $IMDB_ARCHIVE, else the shared copy, else data/)' },
  },
  exitCodes: { 2: 'bad options' },
  knownErrors: (err) => (err instanceof ImdbError ? 1 : undefined),
};

if (require.main === module) {
  runCli(SPEC, async ({ values }) => {
    const int = (name: string) => positiveInteger(values[name], `--${name}`);
    const archivePath = (values.archive as string | undefined) ?? defaultArchivePath();
    const data = await loadImdb({ numWords: int('num-words'), maxLen: int('max-len'), seed: int('data-seed'), archivePath });
    const { dir, written } = await exportImdb(data.subset(int('train-size'), int('test-size')));
    process.stdout.write(`${written ? 'wrote' : 'already there:'} ${dir}\n`);
  });
}
