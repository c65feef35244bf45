/**
 * Where the project keeps its files. Nothing here loads TensorFlow, so any module may import it.
 *
 *   ROOT             the project root (the folder holding package.json), wherever the code runs from
 *   DATA_DIR         <root>/data: the downloaded archive, the encoded-array cache, exports (git-ignored)
 *   RUNS_DIR         <root>/runs: training runs (git-ignored)
 *   SHARED_ARCHIVE   ../shared/data/aclImdb_v1-labeled.tar.gz beside the checkout (what scripts/test.sh uses)
 */
import * as path from 'node:path';

/** The project root (the folder holding package.json), wherever the code runs from. */
export const ROOT = path.resolve(__dirname, '../..');

/** Downloaded and cached data (never committed). */
export const DATA_DIR = path.join(ROOT, 'data');

/** Training runs (never committed). */
export const RUNS_DIR = path.join(ROOT, 'runs');

/** The labeled IMDB archive shared beside the checkout, which the tests and benchmarks fall back to. */
export const SHARED_ARCHIVE = path.resolve(ROOT, '..', 'shared', 'data', 'aclImdb_v1-labeled.tar.gz');
