/**
 * Trains the reference GRU on IMDB from the command line (see --help).
 *
 *   node --import tsx scripts/train.ts --profile ci
 *   node --import tsx scripts/train.ts --run-dir runs/my-run --epochs 3
 *   node --import tsx scripts/train.ts --resume            # continue the default run
 *   node --import tsx scripts/train.ts --time-batches 20   # estimate the epoch time, train nothing
 *
 * Exit codes: 0 done, 1 training failed (a non-finite loss, unreadable data), 2 bad options or a run-directory
 * problem (unwritable, a failed write such as a full disk, a damaged file, locked, other data), 130 stopped by Ctrl-C,
 * 143 stopped by SIGTERM.
 */
import { parseProfile } from '../lib/util/env';
import { ImdbError } from '../lib/data/errors';
import { formatDuration } from '../lib/util/progress';
import { bestEpoch } from '../lib/training/run-dir';
import { timeEpoch, train } from '../lib/training/train';
import { trainProgressPrinter } from '../lib/training/train-progress';
import {
  OPTION_SPECS,
  PROFILES,
  TrainError,
  defaultRunDir,
  parseOption,
  resolveConfig,
  type OptionKey,
  type TrainConfig,
} from '../lib/training/config';
import { STOPPED_EXIT, fail, positiveInteger, runCli, type CliSpec, type OptionDef } from './cli';

const SINGLE_OPTIONS = 'Single options (flags win over environment variables, which win over the profile):';

const singleOptions: Record<string, OptionDef> = Object.fromEntries(
  (Object.entries(OPTION_SPECS) as [OptionKey, (typeof OPTION_SPECS)[OptionKey]][]).map(([key, s]) => [
    s.flag.slice(2),
    {
      type: 'string',
      value: s.kind === 'rnn' ? 'KIND' : s.kind === 'int' ? 'N' : 'X',
      help: `${s.help} (full ${PROFILES.full[key]}, ci ${PROFILES.ci[key]}; env ${s.env})`,
      section: SINGLE_OPTIONS,
    },
  ]),
);

const SPEC: CliSpec = {
  name: 'train',
  summary: 'Train the reference GRU sentiment classifier on IMDB.',
  usage: 'node --import tsx scripts/train.ts [options]',
  options: {
    profile: { type: 'string', value: 'ci|full', help: 'sizes to start from (default: $GRU_PROFILE, else full = the reference run)' },
    'run-dir': { type: 'string', value: 'DIR', help: 'where the run is written (default: $GRU_RUN_DIR, else runs/<name>)' },
    resume: { type: 'boolean', help: 'continue the run in the run directory from its last completed epoch' },
    archive: { type: 'string', value: 'PATH', help: 'the IMDB .tar.gz (default: $IMDB_ARCHIVE, else data/, else download)' },
    'time-batches': { type: 'string', value: 'N', help: 'time N training batches and estimate the epoch time; trains nothing' },
    quiet: { type: 'boolean', help: 'epoch lines only, no per-batch progress' },
    ...singleOptions,
  },
  epilog:
    'Progress goes to stdout, warnings and errors to stderr.\n' +
    'Ctrl-C (or SIGTERM) stops at the end of the current batch; the completed epochs stay on disk and\n' +
    '--resume continues from the last one with the same shuffles and dropout masks. Ctrl-C while the\n' +
    'data loads stops before the run directory is created.\n' +
    'Every run file is written completely or not at all (checked, fsynced, renamed into place; each\n' +
    "epoch's manifest.json records the size and SHA-256 of its files), and data.json records what the\n" +
    'run was trained on (archive SHA-256, tokenizer version, vocabulary SHA-256).\n' +
    'Exit code 2 means a bad option (integers in decimal digits only; a maxLen that cannot fit in\n' +
    'memory, refused before any data is read; an --archive that is missing or a directory) or a\n' +
    'run-directory problem: unwritable (EACCES, EPERM, ENOTDIR, EROFS); a failed write (e.g. ENOSPC:\n' +
    'the last complete epoch stays); a damaged config.json, state.json, model.json or weights.bin\n' +
    '(named); another trainer holding its lock (train.lock); or a resume with another archive,\n' +
    'tokenizer or vocabulary (data.json).',
  exitCodes: {
    1: 'training failed (a non-finite loss) or the data could not be read',
    2: 'bad options or a run-directory problem (above)',
    130: 'stopped by Ctrl-C',
    143: 'stopped by SIGTERM',
  },
  abortable: true,
  knownErrors: (err) => {
    if (err instanceof TrainError) return err.code === 'NON_FINITE_LOSS' ? 1 : 2;
    if (err instanceof ImdbError) return err.code === 'ARCHIVE_NOT_FOUND' && archiveGiven ? 2 : 1;
    return undefined;
  },
};

let archiveGiven = false; // an explicit --archive that is wrong is a bad option (exit 2)

runCli(SPEC, async ({ values: v, signal }) => {
  const profile = typeof v.profile === 'string' ? parseOr(() => parseProfile(v.profile as string, '--profile')) : undefined;
  const overrides: Partial<Record<OptionKey, number | string>> = {};
  for (const [key, spec] of Object.entries(OPTION_SPECS) as [OptionKey, (typeof OPTION_SPECS)[OptionKey]][]) {
    const text = v[spec.flag.slice(2)];
    if (typeof text === 'string') overrides[key] = parseOr(() => parseOption(key, text, spec.flag));
  }
  const config = parseOr(() => resolveConfig({ profile, overrides: overrides as Partial<TrainConfig> }));
  const archivePath = v.archive as string | undefined;
  archiveGiven = archivePath !== undefined;

  if (v['time-batches'] !== undefined) {
    const batches = positiveInteger(v['time-batches'], '--time-batches');
    const t = await timeEpoch(config, { batches, archivePath });
    const f = formatDuration;
    process.stdout.write(
      `${config.profile} profile, ${config.trainSize} reviews x ${config.maxLen} ids, batch ${config.batchSize}:\n` +
        `  ${t.secondsPerTrainBatch.toFixed(3)} s per training batch (mean of ${t.trainBatches}), ` +
        `${t.secondsPerEvalBatch.toFixed(3)} s per validation batch of ${config.evalBatchSize}\n` +
        `  estimated epoch: ${f(t.estimatedEpochSeconds)} (${Math.ceil(config.trainSize / config.batchSize)} training + ` +
        `${Math.ceil(config.testSize / config.evalBatchSize)} validation batches); ${config.epochs} epochs: ${f(t.estimatedEpochSeconds * config.epochs)}\n`,
    );
    return;
  }

  const runDir = typeof v['run-dir'] === 'string' ? v['run-dir'] : defaultRunDir(config);
  const printer = trainProgressPrinter(v.quiet ? { intervalSeconds: Infinity } : {});
  const result = await train(config, { runDir, resume: v.resume === true, archivePath, signal, onProgress: printer });
  result.model.dispose();
  if (result.outcome === 'stopped') return STOPPED_EXIT;
  const best = bestEpoch(result.history);
  const last = result.history[result.history.length - 1];
  process.stdout.write(
    `${result.outcome} ${result.runDir}: ${result.history.length} epochs, final val_accuracy ${last.val_accuracy.toFixed(4)}; ` +
      `lowest val_loss ${best.val_loss.toFixed(4)} at epoch ${best.epoch}\n`,
  );
});

// A bad value in an option or environment variable is a usage error (exit 2), whatever threw it.
function parseOr<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    return fail((err as Error).message);
  }
}
