/**
 * Trains SimpleRNN, GRU and LSTM (tf.layers) and the course's GRU on the same IMDB budget, times a
 * training batch of each, then the course's GRU with its reset gate held open (r = 1) and with its update
 * gate held at "always write" (z = 0) over GATE_SEEDS, and prints the comparison of notebook 05 (see --help).
 *
 *   node --import tsx scripts/compare.ts --profile full
 *
 * Runs are kept in runs/compare-<profile>/<layer> (gate variants: <variant>[-seed<N>]) and resumed (a completed one is loaded, not retrained);
 * the printed figures are also written to runs/compare-<profile>/summary.json.
 * Exit codes: 0 done, 1 failed, 2 bad options, 130 stopped by Ctrl-C.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../lib/files';
import * as compare from '../lib/compare';
import * as gates from '../lib/gate-variants';
import { PROFILE_NAMES, environmentReport, parseProfile, type Profile } from '../lib/env';
import { loadImdb } from '../lib/imdb';
import { ImdbError } from '../lib/imdb-error';
import { TrainError } from '../lib/train-config';
import { STOPPED_EXIT, fail, positiveInteger, runCli, type CliSpec } from './cli';

const budgets = PROFILE_NAMES.map((p) => {
  const c = compare.comparisonConfig(p, 'tfGru');
  return `${p}: ${c.trainSize} training / ${c.testSize} test reviews, maxLen ${c.maxLen}, ${c.epochs} epochs`;
});

const SPEC: CliSpec = {
  name: 'compare',
  summary: 'Compare SimpleRNN, GRU and LSTM on IMDB with the same embedding, sizes, data and epochs; then what each GRU gate buys.',
  usage: 'node --import tsx scripts/compare.ts [--profile ci|full] [--rounds N] [--archive PATH] [--gates-only] [--quiet]',
  options: {
    profile: { type: 'string', value: 'ci|full', help: ['the budget (default: $GRU_PROFILE, else full):', ...budgets].join('\n') },
    rounds: { type: 'string', value: 'N', help: 'timing rounds per review length (default 5; medians are reported)' },
    archive: { type: 'string', value: 'PATH', help: 'the IMDB .tar.gz (default: $IMDB_ARCHIVE, else data/, else download)' },
    'gates-only': {
      type: 'boolean',
      help: 'only what each gate buys: the GRU with r = 1 and z = 0, the full GRU and SimpleRNN\n(written to gates-summary.json; no tf.layers GRU/LSTM, no timing)',
    },
    quiet: { type: 'boolean', help: 'epoch lines only' },
  },
  epilog: 'Progress goes to stdout, warnings and errors to stderr. Ctrl-C stops at the end of the current batch; runs resume.',
  exitCodes: { 2: 'bad options', 130: 'stopped' },
  abortable: true,
  knownErrors: (err) => (err instanceof ImdbError || err instanceof TrainError ? 1 : undefined),
};

runCli(SPEC, async ({ values, signal }) => {
  let profile: Profile;
  try {
    profile = parseProfile(
      (values.profile as string | undefined) ?? process.env.GRU_PROFILE ?? 'full',
      values.profile === undefined ? 'GRU_PROFILE' : '--profile',
    );
  } catch (err) {
    fail((err as Error).message);
  }
  const rounds = values.rounds === undefined ? 5 : positiveInteger(values.rounds, '--rounds');
  const archivePath = values.archive as string | undefined;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const config = compare.comparisonConfig(profile, 'tfGru');
  const data = await loadImdb({ numWords: config.numWords, maxLen: config.maxLen, seed: config.dataSeed, archivePath });
  const printer = { write: say, ...(values.quiet ? { intervalSeconds: Infinity } : {}) };
  const trainGates = async () => {
    const gateSeeds = gates.GATE_SEEDS[profile];
    say(
      `what each gate buys: ${gates.GATE_VARIANTS.map((v) => v.label).join(', ')}; seeds ${gateSeeds.join(', ')} (SimpleRNN: ${gateSeeds[0]})`,
    );
    const gateRuns = await gates.trainGateVariants(profile, data, { signal, onProgress: gates.gatePrinter(printer) });
    return { gateRuns, stopped: gateRuns.some((r) => r.outcome === 'stopped') };
  };
  const printGates = (gateRuns: gates.GateRun[]) => {
    const gateEffects = gates.gateEffects(gateRuns);
    process.stdout.write(`${gates.gateRunFrame(gateRuns).toString()}\n${gates.gateEffectFrame(gateEffects).toString()}\n`);
    return gateEffects;
  };
  if (values['gates-only']) {
    const { gateRuns, stopped } = await trainGates();
    if (stopped) return STOPPED_EXIT;
    const gateEffects = printGates(gateRuns);
    const out = path.join(path.dirname(compare.comparisonRunDir(profile, 'kerasGru')), 'gates-summary.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await writeFileAtomic(
      out,
      JSON.stringify({ profile, measuredAt: new Date().toISOString(), environment: environmentReport(), gateRuns, gateEffects }, null, 1),
    );
    process.stdout.write(`written: ${out}\n`);
    return;
  }
  const runs = await compare.trainComparison(profile, data, {
    signal,
    onProgress: compare.comparisonPrinter(printer),
  });
  if (runs.some((r) => r.outcome === 'stopped')) return STOPPED_EXIT;
  const timings: compare.BatchTiming[] = [];
  for (const maxLen of compare.TIMING_LENGTHS[profile]) {
    const timed = await loadImdb({ numWords: config.numWords, maxLen, seed: config.dataSeed, archivePath });
    say(`timing one training batch of each layer at maxLen ${maxLen} (${rounds} rounds)`);
    timings.push(
      ...(await compare.timeBatches(
        compare.COMPARED_LAYERS.map((l) => l.rnn),
        { ...config, maxLen },
        timed.train,
        {
          rounds,
          onRound: (r, n) => say(`  round ${r}/${n}`),
        },
      )),
    );
  }
  const { gateRuns, stopped } = await trainGates();
  if (stopped) return STOPPED_EXIT;
  const table = compare.comparisonFrame(runs, timings);
  const claims = compare.claimFrame(compare.checkClaims(runs, timings));
  process.stdout.write(`${table.toString()}\n${claims.toString()}\n`);
  const gateEffects = printGates(gateRuns);
  for (const t of timings) {
    process.stdout.write(
      `maxLen ${t.maxLen} ${t.rnn.padEnd(9)} train ${t.trainMs.toFixed(1)} ms/batch, predict ${t.predictMs.toFixed(1)} ms, ${t.kernelsPerTrainStep} TF calls/step\n`,
    );
  }
  const out = path.join(path.dirname(runs[0].runDir), 'summary.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await writeFileAtomic(
    out,
    JSON.stringify(
      { profile, measuredAt: new Date().toISOString(), environment: environmentReport(), runs, timings, gateRuns, gateEffects },
      null,
      1,
    ),
  );
  process.stdout.write(`written: ${out}\n`);
});
