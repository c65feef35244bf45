#!/usr/bin/env bash
# Run the test suite with node's built-in runner on TypeScript (tsx).
#   scripts/test.sh            all tests, notebook execution and browser checks included
#   scripts/test.sh --unit     only the tests of lib/ (no notebooks, runner, setup, workflows, JupyterLab or other Node.js releases)
#   scripts/test.sh FILE...    the given test files
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# The tests read the real IMDB archive: IMDB_ARCHIVE, else a shared copy beside the checkout.
if [ -z "${IMDB_ARCHIVE:-}" ] && [ -f ../shared/data/aclImdb_v1-labeled.tar.gz ]; then
  export IMDB_ARCHIVE=$(cd .. && pwd)/shared/data/aclImdb_v1-labeled.tar.gz
fi
if [ "${1:-}" = "--unit" ]; then
  files=$(find test -name '*.test.ts' | sort | grep -v -e notebooks.test.ts -e jupyterlab.test.ts -e runner.test.ts -e setup.test.ts -e workflows.test.ts -e node-versions.test.ts)
elif [ $# -gt 0 ]; then
  files="$*"
else
  files=$(find test -name '*.test.ts' | sort)
fi
# One file at a time: 2 cores, and TensorFlow already uses both.
exec node --import tsx --test --test-concurrency=1 $files
