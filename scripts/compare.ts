/**
 * The comparison of notebook 05 from a terminal: trains the course's SimpleRNN, GRU and LSTM (one native-graph
 * engine: equal implementation quality) on the same IMDB budget over COMPARISON_SEEDS, times one training batch of
 * those three and of TensorFlow.js's eager layers (tf.layers.simpleRNN, gru, lstm) at the budget's length, checks
 * the blog's claims on the course's GRU against its LSTM, then trains the gate variants (the course GRU with
 * r = 1 and with z = 0, the full GRU and the course's SimpleRNN) on their own budget over GATE_SEEDS; prints
 * every table (see --help).
 *
 *   node --import tsx scripts/compare.ts --profile full
 *
 * Runs are kept and resumed (a completed one is loaded, not retrained): the comparison's in
 * runs/cells-<profile>/<rnn>[-seed<N>], the gate variants' in runs/compare-<profile>/<variant>[-seed<N>].
 * The printed figures are also written to runs/cells-<profile>/summary.json (--gates-only:
 * runs/compare-<profile>/gates-summary.json).
 * Exit codes: 0 done, 1 failed, 2 bad options, 130 stopped by Ctrl-C.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import pl from 'nodejs-polars';
import { writeFileAtomic } from '../lib/util/files';
import * as compare from '../lib/experiments/compare';
import * as gates from '../lib/experiments/gate-variants';
import { PROFILE_NAMES, environmentReport, parseProfile, type Profile } from '../lib/util/env';
import { loadImdb, type ImdbData } from '../lib/data/imdb';
import { ImdbError } from '../lib/data/errors';
import { TrainError, type TrainConfig } from '../lib/training/config';
import { STOPPED_EXIT, fail, positiveInteger, runCli, type CliSpec } from './cli';

const sizes = (c: TrainConfig) =>
  `${c.trainSize} training / ${c.testSize} test reviews, maxLen ${c.maxLen}, ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}`;
const budgets = PROFILE_NAMES.flatMap((p) => {
  const gateSeeds = gates.GATE_SEEDS[p];
  return [
    `${p}: cells ${sizes(compare.comparisonConfig(p, 'kerasGru'))}, seeds ${compare.COMPARISON_SEEDS[p].join(', ')};`,
    `${' '.repeat(p.length)}  gates ${sizes(gates.gateConfig(p, gates.GATE_VARIANTS[0], gateSeeds[0]))}, seeds ${gateSeeds.join(', ')}`,
  ];
});

const SPEC: CliSpec = {
  name: 'compare',
  summary:
    "Compare the course's SimpleRNN, GRU and LSTM on IMDB (same engine, embedding, sizes, data, epochs and seeds), time\n" +
    "them beside TensorFlow.js's eager layers, check the blog's GRU-vs-LSTM claims; then what each GRU gate buys.",
  usage: 'node --import tsx scripts/compare.ts [--profile ci|full] [--rounds N] [--archive PATH] [--gates-only] [--quiet]',
  options: {
    profile: { type: 'string', value: 'ci|full', help: ['the budgets (default: $GRU_PROFILE, else full):', ...budgets].join('\n') },
    rounds: {
      type: 'string',
      value: 'N',
      help: "timing rounds of the six layers at the comparison's maxLen (default 5; medians are reported)",
    },
    archive: { type: 'string', value: 'PATH', help: 'the IMDB .tar.gz (default: $IMDB_ARCHIVE, else data/, else download)' },
    'gates-only': {
      type: 'boolean',
      help: 'only what each gate buys: the GRU with r = 1 and z = 0, the full GRU and SimpleRNN\n(written to gates-summary.json; no cell comparison, no timing)',
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
  // tables as wide as their columns: every column shown, texts up to 60 characters
  pl.Config.setTblCols(-1);
  pl.Config.setTblWidthChars(240);
  process.env.POLARS_FMT_STR_LEN = '60';
  const printer = { write: say, ...(values.quiet ? { intervalSeconds: Infinity } : {}) };
  const load = (c: TrainConfig): Promise<ImdbData> => loadImdb({ numWords: c.numWords, maxLen: c.maxLen, seed: c.dataSeed, archivePath });
  const sameData = (a: TrainConfig, b: TrainConfig) => a.numWords === b.numWords && a.maxLen === b.maxLen && a.dataSeed === b.dataSeed;

  const gateSeeds = gates.GATE_SEEDS[profile];
  const gateBudget = gates.gateConfig(profile, gates.GATE_VARIANTS[0], gateSeeds[0]);
  /** Trains (or loads) the gate variants on data at the gate budget's length (`data` when it already is). */
  const trainGates = async (data?: { config: TrainConfig; data: ImdbData }) => {
    say(`what each gate buys: ${gates.GATE_VARIANTS.map((v) => v.id).join(', ')}; ${sizes(gateBudget)}; seeds ${gateSeeds.join(', ')}`);
    const gateData = data && sameData(data.config, gateBudget) ? data.data : await load(gateBudget);
    const gateRuns = await gates.trainGateVariants(profile, gateData, { signal, onProgress: gates.gatePrinter(printer) });
    return { gateRuns, stopped: gateRuns.some((r) => r.outcome === 'stopped') };
  };
  const printGates = (gateRuns: gates.GateRun[]) => {
    const gateEffects = gates.gateEffects(gateRuns);
    say(`${gates.gateRunFrame(gateRuns).toString()}\n${gates.gateEffectFrame(gateEffects).toString()}`);
    return gateEffects;
  };
  const writeSummary = async (out: string, summary: Record<string, unknown>) => {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await writeFileAtomic(
      out,
      JSON.stringify({ profile, measuredAt: new Date().toISOString(), environment: environmentReport(), ...summary }, null, 1),
    );
    say(`written: ${out}`);
  };

  if (values['gates-only']) {
    const { gateRuns, stopped } = await trainGates();
    if (stopped) return STOPPED_EXIT;
    const gateEffects = printGates(gateRuns);
    const out = path.join(path.dirname(gates.gateRunDir(profile, gates.GATE_VARIANTS[0], gateSeeds[0])), 'gates-summary.json');
    await writeSummary(out, { gateRuns, gateEffects });
    return;
  }

  const config = compare.comparisonConfig(profile, 'kerasGru');
  const seeds = compare.COMPARISON_SEEDS[profile];
  say(`the cells: ${compare.COMPARED_LAYERS.map((l) => l.implementation).join('; ')}; ${sizes(config)}; seeds ${seeds.join(', ')}`);
  const data = await load(config);
  const runs = await compare.trainComparison(profile, data, { seeds, signal, onProgress: compare.comparisonPrinter(printer) });
  if (runs.some((r) => r.outcome === 'stopped')) return STOPPED_EXIT;

  const timed = compare.TIMED_LAYERS.map((l) => l.rnn);
  say(`timing one training batch (${config.batchSize} reviews x ${config.maxLen} ids) of ${timed.join(', ')} (${rounds} rounds)`);
  const timings = await compare.timeBatches(timed, config, data.train, { rounds, onRound: (r, n) => say(`  round ${r}/${n}`) });
  if (signal.aborted) return STOPPED_EXIT;

  const { gateRuns, stopped } = await trainGates({ config, data });
  if (stopped) return STOPPED_EXIT;

  const checks = compare.checkClaims(runs, timings);
  say(compare.comparisonFrame(runs, timings).toString());
  say(compare.timingFrame(timings, config.trainSize).toString());
  say(compare.claimFrame(checks).toString());
  for (const c of checks) {
    const verdict = c.holds === null ? 'undecided (the seeds disagree)' : c.holds ? 'holds' : 'does NOT hold';
    say(`${c.claim}: ${verdict}; GRU / LSTM = ${c.ratio.toFixed(3)} (${c.unit}; ${c.basis})`);
  }
  const gateEffects = printGates(gateRuns);
  await writeSummary(path.join(path.dirname(compare.comparisonRunDir(profile, 'kerasGru')), 'summary.json'), {
    runs,
    timings,
    checks,
    gateRuns,
    gateEffects,
  });
});
