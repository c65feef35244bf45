// The recorded epoch benchmark (lib/experiments/epoch-benchmark.ts): the committed record is complete and consistent with the
// library's arithmetic, and a missing or malformed file is refused with the command that makes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EPOCH_BENCHMARK_FILE,
  benchRun,
  benchSecondsPerEpoch,
  epochBenchmarkFrame,
  readEpochBenchmark,
  type BenchRun,
} from '../../lib/experiments/epoch-benchmark';
import { CELLS } from '../../lib/cells/layer-kinds';

test('the committed record has, per cell, the course layer and Keras with recurrent dropout 0.2 and 0, at the reference sizes', () => {
  const record = readEpochBenchmark();
  assert.deepEqual(
    {
      trainSize: record.config.trainSize,
      testSize: record.config.testSize,
      maxLen: record.config.maxLen,
      batchSize: record.config.batchSize,
    },
    { trainSize: 25_000, testSize: 25_000, maxLen: 500, batchSize: 32 },
  );
  assert.match(record.command, /^npm run bench:epoch/);
  assert.ok(record.loads.length >= 2 * record.runs.length, 'the load before and after every run');
  const params = { gru: 1_379_201, lstm: 1_411_713, simpleRnn: 1_313_025 };
  for (const cell of CELLS) {
    const runs = [benchRun(record, cell, 'course', 0.2), benchRun(record, cell, 'keras', 0.2), benchRun(record, cell, 'keras', 0)];
    for (const r of runs) {
      assert.ok(r, `${cell}: a run is missing`);
      assert.equal(r.params, params[cell], `${r.label}: parameters`);
      // the epoch's wall time holds its training and validation (Keras's also its end-of-epoch work, up to ~20 s here)
      for (const e of r.epochs) assert.ok(e.seconds >= e.trainSeconds + e.valSeconds - 0.01, `${r.label}: epoch shorter than its parts`);
    }
    assert.equal(runs[0]?.path, null, 'the course side has no Keras path');
    assert.ok(runs[1]?.path && runs[2]?.path, 'each Keras run says which path it took');
  }
  // Keras takes its fused functions for the GRU and the LSTM only without recurrent dropout
  assert.match(benchRun(record, 'gru', 'keras', 0)?.path ?? '', /fused/);
  assert.match(benchRun(record, 'lstm', 'keras', 0)?.path ?? '', /fused/);
  assert.doesNotMatch(benchRun(record, 'gru', 'keras', 0.2)?.path ?? '', /^fused/);
  assert.equal(epochBenchmarkFrame(record).height, record.runs.length);
});

test('benchSecondsPerEpoch averages over the epochs of a run', () => {
  const run: BenchRun = {
    cell: 'gru',
    side: 'course',
    recurrentDropout: 0.2,
    label: 'test',
    params: 1,
    path: null,
    epochs: [
      { epoch: 1, trainSeconds: 10, valSeconds: 2, seconds: 12, valAccuracy: 0.5 },
      { epoch: 2, trainSeconds: 20, valSeconds: 4, seconds: 24, valAccuracy: 0.6 },
    ],
  };
  assert.deepEqual(benchSecondsPerEpoch(run), { train: 15, validation: 3, total: 18 });
});

test('a missing or empty record is refused, naming the file and the command that makes it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epoch-bench-'));
  const missing = path.join(dir, 'none.json');
  assert.throws(
    () => readEpochBenchmark(missing),
    (err: Error) => err.message.includes(missing) && /npm run bench:epoch -- --json/.test(err.message),
  );
  const empty = path.join(dir, 'empty.json');
  fs.writeFileSync(empty, JSON.stringify({ runs: [] }));
  assert.throws(() => readEpochBenchmark(empty), /holds no runs with epochs/);
  assert.ok(fs.existsSync(EPOCH_BENCHMARK_FILE), 'the committed record is where notebook 05 reads it');
});
