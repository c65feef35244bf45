/**
 * Trains SimpleRNN, GRU and LSTM (tf.layers) and the course's GRU on the same IMDB budget, times a
 * training batch of each, and prints the comparison of notebook 05 (see --help).
 *
 *   node --import tsx scripts/compare.ts --profile full
 *
 * Runs are kept in runs/compare-<profile>/<layer> and resumed (a completed one is loaded, not retrained);
 * the printed figures are also written to runs/compare-<profile>/summary.json.
 * Exit codes: 0 done, 1 failed, 2 bad options, 130 stopped by Ctrl-C.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as compare from '../lib/compare';
import { environmentReport, type Profile } from '../lib/env';
import { ImdbError, loadImdb, writeFileAtomic } from '../lib/imdb';
import { TrainError } from '../lib/train';

const USAGE = `Compare SimpleRNN, GRU and LSTM on IMDB with the same embedding, sizes, data and epochs.

Usage: node --import tsx scripts/compare.ts [--profile ci|full] [--rounds N] [--archive PATH] [--quiet]

  --profile ci|full   the budget (default: $GRU_PROFILE, else full):
${(['full', 'ci'] as Profile[]).map((p) => {
  const c = compare.comparisonConfig(p, 'tfGru');
  return `                        ${p}: ${c.trainSize} training / ${c.testSize} test reviews, maxLen ${c.maxLen}, ${c.epochs} epochs`;
}).join('\n')}
  --rounds N          timing rounds per review length (default 5; medians are reported)
  --archive PATH      the IMDB .tar.gz (default: $IMDB_ARCHIVE, else data/, else download)
  --quiet             epoch lines only
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`compare: ${message}\nRun with --help for the options.\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: process.argv.slice(2), strict: true, allowPositionals: false,
      options: { profile: { type: 'string' }, rounds: { type: 'string' }, archive: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) return void process.stdout.write(USAGE);
  const profile = (values.profile ?? process.env.GRU_PROFILE ?? 'full') as string;
  if (profile !== 'ci' && profile !== 'full') fail(`--profile ${JSON.stringify(profile)}: use ci or full`);
  const rounds = values.rounds === undefined ? 5 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds ${JSON.stringify(values.rounds)}: use a positive integer`);
  const archivePath = values.archive as string | undefined;

  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping at the end of this batch (Ctrl-C again to quit now)...\n');
    controller.abort();
  });

  const config = compare.comparisonConfig(profile, 'tfGru');
  const data = await loadImdb({ numWords: config.numWords, maxLen: config.maxLen, seed: config.dataSeed, archivePath });
  const runs = await compare.trainComparison(profile, data, {
    signal: controller.signal,
    onProgress: compare.comparisonPrinter({ write: (line) => process.stderr.write(`${line}\n`), ...(values.quiet ? { intervalSeconds: Infinity } : {}) }),
  });
  if (runs.some((r) => r.outcome === 'stopped')) process.exit(130);

  const timings: compare.BatchTiming[] = [];
  for (const maxLen of compare.TIMING_LENGTHS[profile]) {
    const timed = await loadImdb({ numWords: config.numWords, maxLen, seed: config.dataSeed, archivePath });
    process.stderr.write(`timing one training batch of each layer at maxLen ${maxLen} (${rounds} rounds)\n`);
    timings.push(...(await compare.timeBatches(compare.COMPARED_LAYERS.map((l) => l.rnn), { ...config, maxLen }, timed.train, {
      rounds, onRound: (r, n) => process.stderr.write(`  round ${r}/${n}\n`),
    })));
  }

  const table = compare.comparisonFrame(runs, timings);
  const claims = compare.claimFrame(compare.checkClaims(runs, timings));
  process.stdout.write(`${table.toString()}\n${claims.toString()}\n`);
  for (const t of timings) {
    process.stdout.write(`maxLen ${t.maxLen} ${t.rnn.padEnd(9)} train ${t.trainMs.toFixed(1)} ms/batch, predict ${t.predictMs.toFixed(1)} ms, ${t.kernelsPerTrainStep} TF calls/step\n`);
  }
  const out = path.join(path.dirname(runs[0].runDir), 'summary.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await writeFileAtomic(out, JSON.stringify({ profile, measuredAt: new Date().toISOString(), environment: environmentReport(), runs, timings }, null, 1));
  process.stdout.write(`written: ${out}\n`);
}

main().catch((err) => {
  const known = err instanceof ImdbError || err instanceof TrainError;
  process.stderr.write(`compare: ${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
