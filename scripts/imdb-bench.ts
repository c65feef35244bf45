/**
 * Measures one loadImdb() on the real archive: wall time, whether the cache was hit, peak memory
 * and cache size. Run it twice with the same cache folder to compare a first and a cached load:
 *
 *   node --import tsx scripts/imdb-bench.ts --cache-dir /tmp/imdb-bench   # first: preprocesses
 *   node --import tsx scripts/imdb-bench.ts --cache-dir /tmp/imdb-bench   # second: from the cache
 *
 * The archive: --archive PATH, else $IMDB_ARCHIVE, else ../shared/data/aclImdb_v1-labeled.tar.gz.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadImdb } from '../lib/data/imdb';
import { SHARED_ARCHIVE } from '../lib/util/paths';
import { runCli, type CliSpec } from './cli';

const SPEC: CliSpec = {
  name: 'imdb-bench',
  summary: 'Measure one loadImdb() on the real archive: wall time, cache hit, peak memory, cache size.',
  usage: 'node --import tsx scripts/imdb-bench.ts [--archive PATH] [--cache-dir DIR]',
  options: {
    archive: {
      type: 'string',
      value: 'PATH',
      help: 'the IMDB .tar.gz (default: $IMDB_ARCHIVE, else ../shared/data/aclImdb_v1-labeled.tar.gz)',
    },
    'cache-dir': {
      type: 'string',
      value: 'DIR',
      help: 'the cache folder (default: <tmp>/imdb-bench-cache); run twice to time a cached load',
    },
  },
  exitCodes: { 2: 'bad options' },
};

function folderBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

runCli(SPEC, async ({ values }) => {
  const archivePath = (values.archive as string | undefined) ?? process.env.IMDB_ARCHIVE ?? SHARED_ARCHIVE;
  const cacheDir = (values['cache-dir'] as string | undefined) ?? path.join(os.tmpdir(), 'imdb-bench-cache');
  const started = performance.now();
  const data = await loadImdb({ archivePath, cacheDir, download: false });
  const seconds = (performance.now() - started) / 1000;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    JSON.stringify(
      {
        fromCache: data.info.fromCache,
        seconds: Number(seconds.toFixed(3)),
        train: data.train.size,
        test: data.test.size,
        peakRss: mb(process.resourceUsage().maxRSS * 1024),
        rssNow: mb(process.memoryUsage().rss),
        cacheDir,
        cacheBytes: mb(folderBytes(cacheDir)),
        cacheFile: data.info.cacheFile,
      },
      null,
      1,
    ),
  );
});
