/**
 * Trains the reference GRU on IMDB from the command line (see --help).
 *
 *   node --import tsx scripts/train.ts --profile ci
 *   node --import tsx scripts/train.ts --run-dir runs/my-run --epochs 3
 *   node --import tsx scripts/train.ts --resume            # continue the default run
 *   node --import tsx scripts/train.ts --time-batches 20   # estimate the epoch time, train nothing
 *
 * Exit codes: 0 done, 1 training failed (e.g. a non-finite loss), 2 bad options, 130 stopped by Ctrl-C.
 */
import { parseArgs } from 'node:util';
import type { Profile } from '../lib/env';
import { ImdbError } from '../lib/imdb';
import * as train from '../lib/train';
import type { OptionKey, TrainConfig } from '../lib/train';

const USAGE_EXIT = 2;

function fail(message: string, code = USAGE_EXIT): never {
  process.stderr.write(`train: ${message}\nRun with --help for the options.\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const flagOptions = Object.fromEntries(
    Object.values(train.OPTION_SPECS).map((spec) => [spec.flag.slice(2), { type: 'string' as const }]),
  );
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      allowPositionals: false,
      options: {
        ...flagOptions,
        profile: { type: 'string' },
        'run-dir': { type: 'string' },
        resume: { type: 'boolean' },
        archive: { type: 'string' },
        'time-batches': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) {
    process.stdout.write(usage(train.OPTION_SPECS, train.PROFILES));
    return;
  }

  const profileText = v.profile as string | undefined;
  if (profileText !== undefined && profileText !== 'ci' && profileText !== 'full') fail(`--profile ${JSON.stringify(profileText)}: use ci or full`);
  const overrides: Partial<Record<OptionKey, number | string>> = {};
  for (const [key, spec] of Object.entries(train.OPTION_SPECS) as [OptionKey, (typeof train.OPTION_SPECS)[OptionKey]][]) {
    const text = v[spec.flag.slice(2)];
    if (typeof text === 'string') overrides[key] = parseOr(() => train.parseOption(key, text, spec.flag), train.TrainError);
  }
  const config = parseOr(
    () => train.resolveConfig({ profile: profileText as Profile | undefined, overrides: overrides as Partial<TrainConfig> }),
    train.TrainError,
  );
  const archivePath = v.archive as string | undefined;

  if (typeof v['time-batches'] === 'string') {
    const batches = Number(v['time-batches']);
    if (!Number.isInteger(batches) || batches < 1) fail(`--time-batches ${JSON.stringify(v['time-batches'])}: use a positive integer`);
    const t = await train.timeEpoch(config, { batches, archivePath });
    const f = train.formatDuration;
    process.stdout.write(
      `${config.profile} profile, ${config.trainSize} reviews x ${config.maxLen} ids, batch ${config.batchSize}:\n` +
        `  ${t.secondsPerTrainBatch.toFixed(3)} s per training batch (mean of ${t.trainBatches}), ` +
        `${t.secondsPerEvalBatch.toFixed(3)} s per validation batch of ${config.evalBatchSize}\n` +
        `  estimated epoch: ${f(t.estimatedEpochSeconds)} (${Math.ceil(config.trainSize / config.batchSize)} training + ` +
        `${Math.ceil(config.testSize / config.evalBatchSize)} validation batches); ${config.epochs} epochs: ${f(t.estimatedEpochSeconds * config.epochs)}\n`,
    );
    return;
  }

  const runDir = typeof v['run-dir'] === 'string' ? v['run-dir'] : train.defaultRunDir(config);
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: epochs on disk are complete anyway
    process.stderr.write('\nstopping at the end of this batch (Ctrl-C again to quit now)...\n');
    controller.abort();
  });
  const printer = train.progressPrinter(v.quiet ? { intervalSeconds: Infinity } : {});
  try {
    const result = await train.train(config, { runDir, resume: v.resume === true, archivePath, signal: controller.signal, onProgress: printer });
    result.model.dispose();
    if (result.outcome === 'stopped') process.exit(130);
    const best = train.bestEpoch(result.history);
    const last = result.history[result.history.length - 1];
    process.stdout.write(
      `${result.outcome} ${result.runDir}: ${result.history.length} epochs, final val_accuracy ${last.val_accuracy.toFixed(4)}; ` +
        `lowest val_loss ${best.val_loss.toFixed(4)} at epoch ${best.epoch}\n`,
    );
  } catch (err) {
    if (err instanceof train.TrainError) fail(err.message, err.code === 'NON_FINITE_LOSS' ? 1 : USAGE_EXIT);
    throw err;
  }
}

function parseOr<T>(f: () => T, errorClass: new (...args: never[]) => Error): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof errorClass) fail(err.message);
    throw err;
  }
}

function usage(specs: typeof train.OPTION_SPECS, profiles: typeof train.PROFILES): string {
  const rows = Object.entries(specs).map(([key, s]) => {
    const k = key as OptionKey;
    return `  ${`${s.flag} ${s.kind === 'rnn' ? 'KIND' : s.kind === 'int' ? 'N' : 'X'}`.padEnd(24)}${s.help} (full ${profiles.full[k]}, ci ${profiles.ci[k]}; env ${s.env})`;
  });
  return `Train the reference GRU sentiment classifier on IMDB.

Usage: node --import tsx scripts/train.ts [options]

  --profile ci|full       sizes to start from (default: $GRU_PROFILE, else full = the reference run)
  --run-dir DIR           where the run is written (default: $GRU_RUN_DIR, else runs/<name>)
  --resume                continue the run in the run directory from its last completed epoch
  --archive PATH          the IMDB .tar.gz (default: $IMDB_ARCHIVE, else data/, else download)
  --time-batches N        time N training batches and estimate the epoch time; trains nothing
  --quiet                 epoch lines only, no per-batch progress
  -h, --help              this text

Single options (flags win over environment variables, which win over the profile):
${rows.join('\n')}

Ctrl-C stops at the end of the current batch; the completed epochs stay on disk and
--resume continues from the last one with the same shuffles and dropout masks.
Exit codes: 0 done, 1 training failed, 2 bad options or run directory, 130 stopped.
`;
}

main().catch((err) => {
  // Errors the user can act on are shown as their message; anything else with its stack.
  const known = err instanceof ImdbError || err instanceof train.TrainError;
  process.stderr.write(`train: ${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
