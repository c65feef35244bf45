#!/usr/bin/env bash
# The epoch benchmark (scripts/bench-epoch.ts) with TensorFlow's start-up notices silenced.
#   bash scripts/bench-epoch.sh [--epochs 1] [--cells gru,lstm,simpleRnn] [--recurrent-dropout 0.2,0] [--train-size N --test-size N --max-len N] [--skip-keras] [--skip-ours]
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
exec node --import tsx scripts/bench-epoch.ts "$@"
