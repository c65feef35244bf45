/**
 * The epoch benchmark's command line: full reference epochs (25,000 training reviews, then validation on the 25,000
 * test reviews, maxLen 500, batch 32) of Embedding(10000, 128) -> {GRU|LSTM|SimpleRNN}(128) -> Dense(1, sigmoid),
 * for each cell of --cells, in the course's own layer (tfjs-node) and in Keras 2.12 with each recurrent dropout of
 * --recurrent-dropout, on the very same encoded arrays, the sides interleaved per cell. What it runs and computes
 * lives in lib/experiments/: epoch-plan.ts (the order of the runs, the FLOP of an epoch, the cell-over-cell
 * ratios), epoch-runs.ts (both sides, run), epoch-report.ts (the Markdown report) and epoch-benchmark.ts (the
 * committed record, data/benchmarks/epoch-cells.json, which notebook 05 reads).
 *
 *   node --import tsx scripts/bench-epoch.ts [--epochs 1]                    the full benchmark (3 cells, 2 Keras runs each)
 *   node --import tsx scripts/bench-epoch.ts --train-size 256 --test-size 256 --max-len 60 --epochs 1   a smoke test
 *
 * The Keras side runs in .venv-keras/, created from requirements-keras.txt on first use (scripts/keras-env.sh).
 * Both sides keep TensorFlow's default thread settings. Progress (every epoch of every run) goes to stdout.
 */
import { spawnSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertNativeBackend } from '../lib/util/env';
import { kerasPython } from '../lib/keras/python';
import { ROOT } from '../lib/util/paths';
import { loadImdb } from '../lib/data/imdb';
import { exportImdb } from '../lib/data/export';
import { resolveConfig } from '../lib/training/config';
import { CELLS } from '../lib/cells/layer-kinds';
import { parseCellList, parseRecurrentDropouts, planRuns, rLabel } from '../lib/experiments/epoch-plan';
import { benchmarkRecord, cpuModelName, runEpochBenchmark } from '../lib/experiments/epoch-runs';
import { epochReport } from '../lib/experiments/epoch-report';
import { fail, positiveInteger, runCli, type CliContext, type CliSpec } from './cli';
import { defaultArchivePath } from './export-imdb';

const SPEC: CliSpec = {
  name: 'bench-epoch',
  summary:
    'Full reference epochs of the GRU, LSTM and SimpleRNN models: the course layers (tfjs-node) against Keras 2.12 with and without recurrent dropout, on the same arrays.',
  usage: `node --import tsx scripts/bench-epoch.ts [--epochs 1] [--cells ${CELLS.join(',')}] [--recurrent-dropout 0.2,0] [--train-size N] [--test-size N] [--max-len N] [--skip-keras] [--skip-ours]`,
  options: {
    epochs: { type: 'string', value: 'N', default: '1', help: 'epochs each run trains (default 1)' },
    cells: {
      type: 'string',
      value: 'LIST',
      default: CELLS.join(','),
      help: `comma-separated cells among ${CELLS.join(', ')} (default all three)`,
    },
    'recurrent-dropout': {
      type: 'string',
      value: 'LIST',
      default: '0.2,0',
      help: "Keras runs' recurrent dropouts, comma-separated, each in [0, 1) (default 0.2,0; the course layers always use the reference 0.2)",
    },
    'train-size': { type: 'string', value: 'N', default: '25000', help: 'training reviews (default 25000)' },
    'test-size': { type: 'string', value: 'N', default: '25000', help: 'validation reviews (default 25000)' },
    'max-len': { type: 'string', value: 'N', default: '500', help: 'ids per review (default 500)' },
    'skip-keras': { type: 'boolean', default: false, help: 'run only the course layers' },
    'skip-ours': { type: 'boolean', default: false, help: 'run only Keras' },
    'matmul-n': { type: 'string', value: 'N', default: '2048', help: 'size of the matmul measured in each run (default 2048)' },
    json: {
      type: 'string',
      value: 'FILE',
      help: 'also write the runs as JSON (lib/experiments/epoch-benchmark.ts; notebook 05 reads data/benchmarks/epoch-cells.json)',
    },
    out: {
      type: 'string',
      value: 'FILE',
      default: path.join(os.tmpdir(), 'BENCHMARKS-epoch.md'),
      help: 'where the report is written (default <tmp>/BENCHMARKS-epoch.md)',
    },
  },
  exitCodes: { 2: 'bad options' },
};

/** A lib/ function's refusal of an option's text, as a usage error (exit 2). */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    fail((err as Error).message);
  }
}

/** Progress on stdout. */
function say(message: string): void {
  process.stdout.write(`bench-epoch: ${message}\n`);
}

async function main({ values }: CliContext): Promise<void> {
  const int = (name: 'epochs' | 'train-size' | 'test-size' | 'max-len' | 'matmul-n') => positiveInteger(values[name], `--${name}`);
  const cells = usage(() => parseCellList(values.cells as string));
  const recurrentDropouts = usage(() => parseRecurrentDropouts(values['recurrent-dropout'] as string));
  const skipKeras = values['skip-keras'] === true;
  const config = resolveConfig({
    profile: 'full',
    env: {},
    overrides: { epochs: int('epochs'), trainSize: int('train-size'), testSize: int('test-size'), maxLen: int('max-len') },
  });
  const matmulN = int('matmul-n');
  const plan = usage(() =>
    planRuns({ cells, recurrentDropouts, skipKeras, skipOurs: values['skip-ours'] === true }, config.recurrentDropout),
  );
  assertNativeBackend();
  say(
    `config: ${config.trainSize} train / ${config.testSize} validation reviews, maxLen ${config.maxLen}, batch ${config.batchSize}, ${config.epochs} epoch(s); ` +
      `${plan.length} run(s): ${plan.map((r) => `${r.side} ${r.cell} ${rLabel(r.recurrentDropout)}`).join(', ')}`,
  );
  const imdb = await loadImdb({
    numWords: config.numWords,
    maxLen: config.maxLen,
    seed: config.dataSeed,
    archivePath: defaultArchivePath(),
  });
  const data = imdb.subset(config.trainSize, config.testSize);
  const exported = await exportImdb(data);
  say(`${exported.written ? 'exported' : 'using the export in'} ${exported.dir}`);
  // .venv-keras (TensorFlow 2.12) is created on first use by scripts/keras-env.sh, before any run is timed.
  const python = plan.some((r) => r.side === 'keras') ? kerasPython('keras2') : '';
  const { runs, loads } = await runEpochBenchmark({ plan, config, data, exportDir: exported.dir, python, matmulN, say });

  const machine = { cpuModel: cpuModelName(), cpus: os.cpus().length, at: new Date().toISOString() };
  const text = epochReport({ config, cells, recurrentDropouts: skipKeras ? [] : recurrentDropouts, runs, loads, machine, matmulN });
  process.stdout.write(`\n${text}\n`);
  await fsp.writeFile(values.out as string, `${text}\n`);
  say(`wrote ${values.out as string}`);
  const json = values.json as string | undefined;
  if (json) {
    const record = benchmarkRecord(runs, loads, config, {
      command: `npm run bench:epoch -- ${process.argv.slice(2).join(' ')}`.trim(),
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: ROOT }).stdout.trim(),
      measuredAt: machine.at,
      cpuModel: machine.cpuModel,
      matmulN,
    });
    await fsp.mkdir(path.dirname(json), { recursive: true });
    await fsp.writeFile(json, `${JSON.stringify(record, null, 1)}\n`);
    say(`wrote ${json}`);
  }
}

runCli(SPEC, main);
