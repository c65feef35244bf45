/**
 * Exports a run as a Keras model file (.keras or .h5) with its word index beside it (see --help).
 *
 *   node --import tsx scripts/export-keras.ts --run-dir runs/imdb-gru-ci model.keras
 *
 * Exit codes: 0 done, 1 failed, 2 bad options or a run that cannot be exported.
 */
import { parseProfile } from '../lib/util/env';
import { ImdbError } from '../lib/data/errors';
import { KerasModelError } from '../lib/keras/config';
import { exportKeras } from '../lib/keras/export';
import { TrainError, defaultRunDir, resolveConfig } from '../lib/training/config';
import { epochChoice, fail, runCli, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'export-keras',
  summary: 'Export a trained run as a Keras model (keras.models.load_model opens it).',
  usage: 'node --import tsx scripts/export-keras.ts [options] OUT.keras|OUT.h5',
  positionals: true,
  options: {
    'run-dir': { type: 'string', value: 'DIR', help: 'the run to export (default: $GRU_RUN_DIR, else the default run of the profile)' },
    profile: { type: 'string', value: 'ci|full', help: "which profile's default run (default: $GRU_PROFILE, else full)" },
    epoch: { type: 'string', value: 'N|last|best', help: "which saved epoch's weights (default: last; best = lowest val_loss)" },
  },
  epilog:
    "OUT.keras is Keras 3's zip format (Keras 2.12 opens it too), OUT.h5 the legacy HDF5 format.\n" +
    "The run's vocabulary is written beside it as OUT.word_index.json (word -> rank, ids = rank + 3, as imdb.get_word_index()).",
  exitCodes: { 2: 'bad options, no such run, or a run that cannot be exported' },
  knownErrors: (err) => {
    if (err instanceof KerasModelError || err instanceof ImdbError) return 2;
    if (err instanceof TrainError) return err.code === 'RUN_NOT_FOUND' ? 2 : 1;
    return undefined;
  },
};

runCli(SPEC, async ({ values, positionals }) => {
  if (positionals.length !== 1) fail('give exactly one output file (OUT.keras or OUT.h5)');
  let profile;
  try {
    profile = values.profile === undefined ? undefined : parseProfile(values.profile as string, '--profile');
  } catch (err) {
    fail((err as Error).message);
  }
  const runDir = (values['run-dir'] as string | undefined) ?? defaultRunDir(resolveConfig({ profile }));
  const result = await exportKeras(runDir, positionals[0], { epoch: epochChoice(values.epoch as string | undefined) });
  const s = result.spec;
  process.stdout.write(
    `run ${runDir}, epoch ${result.epoch}: Embedding(${s.numWords}, ${s.embeddingDim}) -> GRU(${s.units}, reset_after=${s.resetAfter ? 'True' : 'False'}) ` +
      `-> Dense(1, sigmoid), ${s.maxLen} ids per review\nwrote ${result.file} (${result.format === 'keras' ? '.keras zip' : 'legacy HDF5'})\n` +
      `wrote ${result.wordIndexFile}\n`,
  );
});
