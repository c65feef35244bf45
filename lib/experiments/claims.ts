/**
 * The comparison's results (notebook 05): every trained layer in one table (parameters, arithmetic, time per batch
 * and per epoch, validation accuracy, means over seeds), and the blog's claims about the GRU against the LSTM,
 * each checked against the course's GRU and LSTM (one engine: equal implementation quality).
 */
import pl from 'nodejs-polars';
import { mean, round } from '../util/stats';
import { multiplyAddsPerStep, paramCount, type RnnKind } from '../cells/layer-kinds';
import { bestEpoch } from '../training/run-dir';
import type { BatchTiming } from './batch-timing';
import { COMPARED_LAYERS, completeRuns, secondsPerEpoch, type ComparisonRun } from './compare';

/**
 * One row per trained layer: parameters (counted and by formula), arithmetic, measured time per batch and per epoch
 * (mean over seeds), validation accuracy after each epoch (mean over seeds) and of the epoch each run would keep.
 */
export function comparisonFrame(runs: readonly ComparisonRun[], timings: readonly BatchTiming[]): pl.DataFrame {
  const layers = COMPARED_LAYERS.filter((l) => completeRuns(runs, l.rnn).length > 0);
  const rows = layers.map((layer) => {
    const mine = completeRuns(runs, layer.rnn);
    const { config } = mine[0];
    const t = timings.find((x) => x.rnn === layer.rnn && x.maxLen === config.maxLen);
    return {
      layer,
      seeds: mine.map((r) => r.seed).join(', '),
      params: mine[0].recurrentParams,
      byFormula: paramCount(layer.rnn, config.embeddingDim, config.units),
      mads: multiplyAddsPerStep(layer.rnn, config.embeddingDim, config.units),
      trainMs: t ? t.trainMs : NaN,
      seconds: mean(mine.map(secondsPerEpoch)),
      perEpoch: config.epochs,
      valAcc: (e: number) => mean(mine.map((r) => r.history[e].val_accuracy)),
      kept: mean(mine.map((r) => bestEpoch(r.history).val_accuracy)),
    };
  });
  const epochs = Math.max(0, ...rows.map((r) => r.perEpoch));
  return pl.DataFrame([
    pl.Series(
      'layer',
      rows.map((r) => r.layer.label),
    ),
    pl.Series(
      'implementation',
      rows.map((r) => r.layer.implementation),
    ),
    pl.Series(
      'seeds',
      rows.map((r) => r.seeds),
    ),
    pl.Series(
      'params (counted)',
      Int32Array.from(rows, (r) => r.params),
    ),
    pl.Series(
      'params (formula)',
      Int32Array.from(rows, (r) => r.byFormula),
    ),
    pl.Series(
      'multiply-adds / step',
      Int32Array.from(rows, (r) => r.mads),
    ),
    pl.Series(
      'ms / train batch',
      rows.map((r) => round(r.trainMs, 1)),
    ),
    pl.Series(
      's / epoch',
      rows.map((r) => round(r.seconds, 1)),
    ),
    ...Array.from({ length: epochs }, (_, e) =>
      pl.Series(
        `val acc % e${e + 1}`,
        rows.map((r) => (e < r.perEpoch ? round(100 * r.valAcc(e), 2) : NaN)),
      ),
    ),
    pl.Series(
      'val acc % kept',
      rows.map((r) => round(100 * r.kept, 2)),
    ),
  ]);
}

/** One of the blog's claims about the GRU against the LSTM, checked against measurements. */
export interface ClaimCheck {
  claim: string;
  gru: number;
  lstm: number;
  /** gru / lstm. */
  ratio: number;
  /** Whether the measurement agrees with the claim; null: undecided (the seeds disagree). */
  holds: boolean | null;
  unit: string;
  /** How the verdict was reached, in words (e.g. the per-seed differences). */
  basis: string;
}

/**
 * Checks "a GRU has fewer parameters, lower computational cost and trains faster than an LSTM" on the course's
 * GRU and LSTM (the same engine: equal implementation quality), plus whether an epoch's time is in proportion to the
 * arithmetic (GRU/LSTM time within 0.10 of the multiply-add ratio) and whether the GRU learns as well: the validation
 * accuracy of the epoch each run would keep (lowest validation loss, as notebook 04 chooses), seed by seed. It holds
 * if in every seed the GRU is at most `accuracyTolerance` below the LSTM, fails if in every seed it is further
 * below, and is undecided otherwise. Needs both layers' runs and timings.
 */
export function checkClaims(runs: readonly ComparisonRun[], timings: readonly BatchTiming[], accuracyTolerance = 0.01): ClaimCheck[] {
  const complete = (rnn: RnnKind) => {
    const r = completeRuns(runs, rnn);
    if (r.length === 0) throw new Error(`checkClaims: no completed run of ${rnn} to check the claims with`);
    return r;
  };
  const gru = complete('kerasGru');
  const lstm = complete('kerasLstm');
  const { embeddingDim: d, units: n, maxLen } = gru[0].config;
  const timing = (rnn: RnnKind) => {
    const t = timings.find((x) => x.rnn === rnn && x.maxLen === maxLen);
    if (!t) throw new Error(`checkClaims: no timing of ${rnn} at maxLen ${maxLen}`);
    return t;
  };
  const check = (claim: string, unit: string, g: number, l: number, holds: boolean | null, basis: string): ClaimCheck => ({
    claim,
    gru: g,
    lstm: l,
    ratio: g / l,
    holds,
    unit,
    basis,
  });
  const arithmetic = multiplyAddsPerStep('kerasGru', d, n) / multiplyAddsPerStep('kerasLstm', d, n);
  const gruEpoch = mean(gru.map(secondsPerEpoch));
  const lstmEpoch = mean(lstm.map(secondsPerEpoch));
  const seeds = gru.map((r) => r.seed).filter((s) => lstm.some((l) => l.seed === s));
  const keptAcc = (rs: ComparisonRun[], seed: number) => bestEpoch((rs.find((r) => r.seed === seed) as ComparisonRun).history).val_accuracy;
  const diffs = seeds.map((s) => keptAcc(gru, s) - keptAcc(lstm, s));
  const asAccurate = diffs.every((x) => x >= -accuracyTolerance) ? true : diffs.every((x) => x < -accuracyTolerance) ? false : null;
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;
  return [
    check(
      'fewer parameters',
      'weights',
      gru[0].recurrentParams,
      lstm[0].recurrentParams,
      gru[0].recurrentParams < lstm[0].recurrentParams,
      'counted',
    ),
    check(
      'less arithmetic per step',
      'multiply-adds',
      multiplyAddsPerStep('kerasGru', d, n),
      multiplyAddsPerStep('kerasLstm', d, n),
      arithmetic < 1,
      'formula',
    ),
    check(
      'faster training step',
      'ms / batch',
      timing('kerasGru').trainMs,
      timing('kerasLstm').trainMs,
      timing('kerasGru').trainMs < timing('kerasLstm').trainMs,
      'median of the live timing',
    ),
    check('faster epoch', 's / epoch', gruEpoch, lstmEpoch, gruEpoch < lstmEpoch, `mean over ${gru.length} + ${lstm.length} runs`),
    check(
      'epoch time in proportion to arithmetic',
      's / epoch',
      gruEpoch,
      lstmEpoch,
      Math.abs(gruEpoch / lstmEpoch - arithmetic) <= 0.1,
      `GRU/LSTM time within 0.10 of the arithmetic ratio ${arithmetic.toFixed(2)}`,
    ),
    check(
      'as accurate',
      'val accuracy, epoch of lowest val loss',
      mean(seeds.map((s) => keptAcc(gru, s))),
      mean(seeds.map((s) => keptAcc(lstm, s))),
      asAccurate,
      `GRU minus LSTM per seed (${seeds.join(', ')}): ${diffs.map(pts).join(', ')} points; tolerance ${100 * accuracyTolerance} point`,
    ),
  ];
}

/** The claim checks as a table. */
export function claimFrame(checks: readonly ClaimCheck[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series(
      'claim (GRU vs LSTM)',
      checks.map((c) => c.claim),
    ),
    pl.Series(
      'GRU',
      checks.map((c) => round(c.gru, 4)),
    ),
    pl.Series(
      'LSTM',
      checks.map((c) => round(c.lstm, 4)),
    ),
    pl.Series(
      'unit',
      checks.map((c) => c.unit),
    ),
    pl.Series(
      'GRU / LSTM',
      checks.map((c) => round(c.ratio, 3)),
    ),
    pl.Series(
      'holds here',
      checks.map((c) => (c.holds === null ? 'undecided' : c.holds ? 'yes' : 'no')),
    ),
    pl.Series(
      'basis',
      checks.map((c) => c.basis),
    ),
  ]);
}
