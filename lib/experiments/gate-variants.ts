/**
 * What each gate of the GRU buys (notebook 05): the course GRU with its reset gate held open (r = 1) or its
 * update gate held at "always write" (z = 0), against the full GRU and the course's simple RNN (no gates), all on
 * the same native-graph engine, on their own budget (GATE_BUDGETS) over several seeds; the runs, their table and
 * the verdict per variant.
 */
import pl from 'nodejs-polars';
import * as path from 'node:path';
import type { Profile } from '../util/env';
import { RUNS_DIR } from '../util/paths';
import type { ImdbData } from '../data/imdb';
import { type RnnKind } from '../cells/layer-kinds';
import { mean, round } from '../util/stats';
import { bestEpoch, type EpochRecord } from '../training/run-dir';
import type { ProgressEvent } from '../training/train-progress';
import { PROFILES, validateConfig, type TrainConfig } from '../training/config';
import type { FixedGates } from '../cells/gru-layer';
import { trainLabelledRuns } from './runs';

// ---------------------------------------------------------------------------
// What each gate buys: the GRU with a gate held, against the full GRU and the simple RNN

/** One model of the gate comparison. */
export interface GateVariant {
  /** Names the run directory: runs/gates-<profile>/<id> (seed of the budget), <id>-seed<N> (other seeds). */
  id: string;
  label: string;
  rnn: RnnKind;
  fixedGates?: FixedGates;
  /** What the model can and cannot do, in words. */
  meaning: string;
}

/** The full GRU, the GRU with one gate held, and the simple RNN: the course's layers, one engine. */
export const GATE_VARIANTS: readonly GateVariant[] = [
  { id: 'kerasGru', label: 'GRU', rnn: 'kerasGru', meaning: 'both gates learned (the course GRU)' },
  {
    id: 'kerasGru-reset1',
    label: 'GRU, r = 1',
    rnn: 'kerasGru',
    fixedGates: { reset: 1 },
    meaning: 'no resetting: the candidate always sees all of h_{t-1}',
  },
  {
    id: 'kerasGru-update0',
    label: 'GRU, z = 0',
    rnn: 'kerasGru',
    fixedGates: { update: 0 },
    meaning: 'always write: h_t = candidate, nothing kept by z',
  },
  { id: 'kerasSimpleRnn', label: 'SimpleRNN', rnn: 'kerasSimpleRnn', meaning: "no gates: the course's KerasSimpleRNN" },
];

// The gate comparison's budget: shorter than the cell comparison's (lib/experiments/compare.ts), because it trains every
// model of GATE_VARIANTS once per seed of GATE_SEEDS (GATE_VARIANTS.length x GATE_SEEDS[profile].length runs).
const GATE_BUDGETS: Readonly<Record<Profile, Partial<TrainConfig>>> = {
  full: { trainSize: 5_000, testSize: 5_000, maxLen: 200, epochs: 4 },
  ci: { trainSize: 1_000, testSize: 500, maxLen: 80, epochs: 2 },
};

/** Seeds of the gate comparison per profile: every variant trains once per seed; the first is the profile's own. */
export const GATE_SEEDS: Readonly<Record<Profile, readonly number[]>> = { full: [42, 43, 44], ci: [42] };

/** The entry of GATE_VARIANTS with this id. */
export function gateVariant(id: string): GateVariant {
  const v = GATE_VARIANTS.find((g) => g.id === id);
  if (!v) throw new Error(`gate variants: no gate variant ${JSON.stringify(id)}; use one of ${GATE_VARIANTS.map((g) => g.id).join(', ')}`);
  return v;
}

/** The training configuration of a gate variant: the gate budget (with `overrides`), the variant's held gates, the seed. */
export function gateConfig(profile: Profile, variant: GateVariant, seed: number, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const config: TrainConfig = {
    ...PROFILES[profile],
    ...GATE_BUDGETS[profile],
    ...overrides,
    rnn: variant.rnn,
    profile,
    seed,
    ...(variant.fixedGates ? { fixedGates: variant.fixedGates } : {}),
  };
  validateConfig(config);
  return config;
}

/** runs/gates-<profile>/<id> for the profile's own seed, <id>-seed<N> otherwise. */
export function gateRunDir(profile: Profile, variant: GateVariant, seed: number, runsDir = RUNS_DIR): string {
  const own = seed === PROFILES[profile].seed;
  return path.join(runsDir, `gates-${profile}`, own ? variant.id : `${variant.id}-seed${seed}`);
}

/** One run of the gate comparison. */
export interface GateRun {
  variant: GateVariant;
  seed: number;
  runDir: string;
  config: TrainConfig;
  history: EpochRecord[];
  outcome: 'trained' | 'resumed' | 'loaded' | 'stopped';
}

/**
 * Trains (or loads, or resumes) every gate variant with each seed, seed by seed (lib/experiments/runs.ts), on `data`
 * (loaded with the gate budget's numWords, maxLen and dataSeed: gateConfig(profile, GATE_VARIANTS[0], seed)).
 * Progress is reported as "<id> seed <N>".
 */
export async function trainGateVariants(
  profile: Profile,
  data: ImdbData,
  options: {
    variants?: readonly GateVariant[];
    seeds?: readonly number[];
    /** Changes to the budget, applied to every run alike (see gateConfig). */
    overrides?: Partial<TrainConfig>;
    runsDir?: string;
    onProgress?: (label: string, e: ProgressEvent) => void;
    signal?: AbortSignal;
  } = {},
): Promise<GateRun[]> {
  const runs = await trainLabelledRuns(
    options.variants ?? GATE_VARIANTS,
    options.seeds ?? GATE_SEEDS[profile],
    (variant, seed) => ({
      config: gateConfig(profile, variant, seed, options.overrides),
      runDir: gateRunDir(profile, variant, seed, options.runsDir),
      name: variant.id,
    }),
    data,
    { onProgress: options.onProgress, signal: options.signal },
  );
  return runs.map((r) => ({ variant: r.item, seed: r.seed, runDir: r.runDir, config: r.config, history: r.history, outcome: r.outcome }));
}

/** Per epoch, the mean over a variant's seeds of one column of the history (runs that stopped early are left out). */
export function gateCurves(runs: readonly GateRun[], key: 'val_accuracy' | 'val_loss' | 'loss' | 'accuracy'): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const variant of GATE_VARIANTS) {
    const mine = runs.filter((r) => r.variant.id === variant.id && r.history.length === r.config.epochs);
    if (mine.length === 0) continue;
    const epochs = mine[0].config.epochs;
    out[variant.label] = Array.from({ length: epochs }, (_, e) => mean(mine.map((r) => r.history[e][key])));
  }
  return out;
}

/** The epoch a run would keep (lowest validation loss, as notebook 04 chooses) and its validation accuracy. */
function kept(run: GateRun): EpochRecord {
  return bestEpoch(run.history);
}

/** One row per run: variant, seed, validation accuracy per epoch, the kept epoch, its loss and accuracy. */
export function gateRunFrame(runs: readonly GateRun[]): pl.DataFrame {
  const done = runs.filter((r) => r.history.length > 0);
  const epochs = Math.max(0, ...done.map((r) => r.history.length));
  const perEpoch = Array.from({ length: epochs }, (_, e) =>
    pl.Series(
      `val acc % e${e + 1}`,
      done.map((r) => (r.history[e] ? round(100 * r.history[e].val_accuracy, 2) : NaN)),
    ),
  );
  return pl.DataFrame([
    pl.Series(
      'model',
      done.map((r) => r.variant.label),
    ),
    pl.Series(
      'seed',
      Int32Array.from(done, (r) => r.seed),
    ),
    ...perEpoch,
    pl.Series(
      'lowest val loss',
      done.map((r) => round(kept(r).val_loss, 4)),
    ),
    pl.Series(
      'at epoch',
      Int32Array.from(done, (r) => kept(r).epoch),
    ),
    pl.Series(
      'val acc % there',
      done.map((r) => round(100 * kept(r).val_accuracy, 2)),
    ),
  ]);
}

/** A held gate (or no gates) against the full GRU, seed by seed. */
export interface GateEffect {
  variant: GateVariant;
  /** Seeds that both this variant and the full GRU completed. */
  seeds: number[];
  /** Per seed: validation accuracy of the kept epoch, this variant minus the full GRU (fractions, not points). */
  accuracyDifferences: number[];
  /** Per seed: the lowest validation loss, this variant minus the full GRU. */
  lossDifferences: number[];
  meanAccuracyDifference: number;
  /**
   * 'worse': lower kept accuracy AND higher lowest loss than the full GRU in every seed; 'better': the reverse in
   * every seed; 'no clear difference': anything else (the seeds disagree, or accuracy and loss do).
   */
  verdict: 'worse' | 'better' | 'no clear difference';
}

/** Each variant but the full GRU against it, paired by seed (see GateEffect for the rule of the verdict). */
export function gateEffects(runs: readonly GateRun[]): GateEffect[] {
  const complete = runs.filter((r) => r.history.length === r.config.epochs && r.history.length > 0);
  const full = new Map(complete.filter((r) => r.variant.id === 'kerasGru').map((r) => [r.seed, r]));
  return GATE_VARIANTS.filter((v) => v.id !== 'kerasGru').flatMap((variant) => {
    const pairs = complete
      .filter((r) => r.variant.id === variant.id && full.has(r.seed))
      .map((r) => [r, full.get(r.seed) as GateRun] as const);
    if (pairs.length === 0) return [];
    const accuracyDifferences = pairs.map(([v, f]) => kept(v).val_accuracy - kept(f).val_accuracy);
    const lossDifferences = pairs.map(([v, f]) => kept(v).val_loss - kept(f).val_loss);
    const worse = accuracyDifferences.every((d) => d < 0) && lossDifferences.every((d) => d > 0);
    const better = accuracyDifferences.every((d) => d > 0) && lossDifferences.every((d) => d < 0);
    return [
      {
        variant,
        seeds: pairs.map(([v]) => v.seed),
        accuracyDifferences,
        lossDifferences,
        meanAccuracyDifference: mean(accuracyDifferences),
        verdict: worse ? 'worse' : better ? 'better' : 'no clear difference',
      } satisfies GateEffect,
    ];
  });
}

/** The effects as a table (differences in percentage points of validation accuracy). */
export function gateEffectFrame(effects: readonly GateEffect[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series(
      'model',
      effects.map((e) => e.variant.label),
    ),
    pl.Series(
      'what it cannot do',
      effects.map((e) => e.variant.meaning),
    ),
    pl.Series(
      'seeds',
      effects.map((e) => e.seeds.join(', ')),
    ),
    pl.Series(
      'Δ val acc (points), per seed',
      effects.map((e) => e.accuracyDifferences.map((d) => (100 * d).toFixed(2)).join(', ')),
    ),
    pl.Series(
      'Δ val acc mean',
      effects.map((e) => round(100 * e.meanAccuracyDifference, 2)),
    ),
    pl.Series(
      'Δ lowest val loss, per seed',
      effects.map((e) => e.lossDifferences.map((d) => d.toFixed(4)).join(', ')),
    ),
    pl.Series(
      'vs the full GRU',
      effects.map((e) => e.verdict),
    ),
  ]);
}
