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
 * runs/cells-<profile>/<rnn>[-seed<N>], the gate variants' in runs/gates-<profile>/<variant>[-seed<N>].
 * The printed figures are also written to runs/cells-<profile>/summary.json (--gates-only:
 * runs/gates-<profile>/gates-summary.json).
 * Exit codes: 0 done, 1 failed, 2 bad options, 130 stopped by Ctrl-C.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import pl from 'nodejs-polars';
import { writeFileAtomic } from '../lib/util/files';
import * as compare from '../lib/experiments/compare';
import { timeBatches, timingFrame } from '../lib/experiments/batch-timing';
import { checkClaims, claimFrame, comparisonFrame } from '../lib/experiments/claims';
import * as gates from '../lib/experiments/gate-variants';
import { labelledProgressPrinter } from '../lib/training/train-progress';
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

/** What every part of a run of this script shares: the profile, the output, the data loader and the Ctrl-C signal. */
interface Session {
  profile: Profile;
  signal: AbortSignal;
  say: (line: string) => void;
  onProgress: ReturnType<typeof labelledProgressPrinter>;
  load: (c: TrainConfig) => Promise<ImdbData>;
}

/** Writes a summary of the printed figures (with the profile, the time and the machine) to `out`. */
async function writeSummary(s: Session, out: string, summary: Record<string, unknown>): Promise<void> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const made = { profile: s.profile, measuredAt: new Date().toISOString(), environment: environmentReport() };
  await writeFileAtomic(out, JSON.stringify({ ...made, ...summary }, null, 1));
  s.say(`written: ${out}`);
}

/** Trains (or loads) the gate variants on data at the gate budget's length (`loaded` when it already is). */
async function trainGates(s: Session, loaded?: { config: TrainConfig; data: ImdbData }) {
  const seeds = gates.GATE_SEEDS[s.profile];
  const budget = gates.gateConfig(s.profile, gates.GATE_VARIANTS[0], seeds[0]);
  s.say(`what each gate buys: ${gates.GATE_VARIANTS.map((v) => v.id).join(', ')}; ${sizes(budget)}; seeds ${seeds.join(', ')}`);
  const same =
    loaded && ['numWords', 'maxLen', 'dataSeed'].every((k) => loaded.config[k as keyof TrainConfig] === budget[k as keyof TrainConfig]);
  const data = same ? loaded.data : await s.load(budget);
  const gateRuns = await gates.trainGateVariants(s.profile, data, { signal: s.signal, onProgress: s.onProgress });
  return { gateRuns, stopped: gateRuns.some((r) => r.outcome === 'stopped') };
}

/** Prints the gate runs and their effects; returns the effects. */
function printGates(s: Session, gateRuns: gates.GateRun[]): gates.GateEffect[] {
  const gateEffects = gates.gateEffects(gateRuns);
  s.say(`${gates.gateRunFrame(gateRuns).toString()}\n${gates.gateEffectFrame(gateEffects).toString()}`);
  return gateEffects;
}

/** --gates-only: the gate variants, their tables and gates-summary.json. */
async function gatesOnly(s: Session): Promise<number | void> {
  const { gateRuns, stopped } = await trainGates(s);
  if (stopped) return STOPPED_EXIT;
  const gateEffects = printGates(s, gateRuns);
  const seed = gates.GATE_SEEDS[s.profile][0];
  await writeSummary(s, path.join(path.dirname(gates.gateRunDir(s.profile, gates.GATE_VARIANTS[0], seed)), 'gates-summary.json'), {
    gateRuns,
    gateEffects,
  });
}

/** The cell comparison (training, batch timing, the claims), then the gate variants; every table and summary.json. */
async function cellsAndGates(s: Session, rounds: number): Promise<number | void> {
  const config = compare.comparisonConfig(s.profile, 'kerasGru');
  const seeds = compare.COMPARISON_SEEDS[s.profile];
  s.say(`the cells: ${compare.COMPARED_LAYERS.map((l) => l.implementation).join('; ')}; ${sizes(config)}; seeds ${seeds.join(', ')}`);
  const data = await s.load(config);
  const runs = await compare.trainComparison(s.profile, data, { seeds, signal: s.signal, onProgress: s.onProgress });
  if (runs.some((r) => r.outcome === 'stopped')) return STOPPED_EXIT;

  const timed = compare.TIMED_LAYERS.map((l) => l.rnn);
  s.say(`timing one training batch (${config.batchSize} reviews x ${config.maxLen} ids) of ${timed.join(', ')} (${rounds} rounds)`);
  const timings = await timeBatches(timed, config, data.train, { rounds, onRound: (r, n) => s.say(`  round ${r}/${n}`) });
  if (s.signal.aborted) return STOPPED_EXIT;

  const { gateRuns, stopped } = await trainGates(s, { config, data });
  if (stopped) return STOPPED_EXIT;

  const checks = checkClaims(runs, timings);
  s.say(comparisonFrame(runs, timings).toString());
  s.say(timingFrame(timings, config.trainSize).toString());
  s.say(claimFrame(checks).toString());
  for (const c of checks) {
    const verdict = c.holds === null ? 'undecided (the seeds disagree)' : c.holds ? 'holds' : 'does NOT hold';
    s.say(`${c.claim}: ${verdict}; GRU / LSTM = ${c.ratio.toFixed(3)} (${c.unit}; ${c.basis})`);
  }
  const gateEffects = printGates(s, gateRuns);
  const out = path.join(path.dirname(compare.comparisonRunDir(s.profile, 'kerasGru')), 'summary.json');
  await writeSummary(s, out, { runs, timings, checks, gateRuns, gateEffects });
}

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
  const say = (line: string) => void process.stdout.write(`${line}\n`);
  // tables as wide as their columns: every column shown, texts up to 60 characters
  pl.Config.setTblCols(-1);
  pl.Config.setTblWidthChars(240);
  process.env.POLARS_FMT_STR_LEN = '60';
  const session: Session = {
    profile,
    signal,
    say,
    onProgress: labelledProgressPrinter({ write: say, ...(values.quiet ? { intervalSeconds: Infinity } : {}) }),
    load: (c) => loadImdb({ numWords: c.numWords, maxLen: c.maxLen, seed: c.dataSeed, archivePath }),
  };
  return values['gates-only'] ? gatesOnly(session) : cellsAndGates(session, rounds);
});
