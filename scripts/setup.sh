#!/usr/bin/env bash
# Set up everything the course needs, idempotently: Node packages (with the native
# TensorFlow backend), the project-local Python environment with the Jupyter tools,
# the tslab kernelspec inside that environment, and Chromium for the browser checks.
# Each step is skipped when its inputs have not changed since it last succeeded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STAMPS=.setup
mkdir -p "$STAMPS"

say() { printf '[setup] %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }

# 1. Node packages. `npm ci` runs our postinstall, which provisions native TensorFlow
#    (scripts/setup-tensorflow.ts). A re-run only re-checks the backend.
node_key=$(hash_of package.json package-lock.json scripts/setup-tensorflow.ts; node --version)
if [ -d node_modules ] && fresh node "$node_key"; then
  say "node packages up to date"
  ./node_modules/.bin/tsx scripts/setup-tensorflow.ts
else
  say "installing node packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$node_key" > "$STAMPS/node"
fi

# 2. Python environment for JupyterLab, nbconvert and nbclient.
PY=${PYTHON:-python3}
py_key=$(hash_of requirements.txt; "$PY" --version)
if [ -x .venv/bin/python ] && fresh python "$py_key"; then
  say "python environment up to date"
else
  say "creating .venv from requirements.txt"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$py_key" > "$STAMPS/python"
fi

# 3. The tslab kernelspec, registered inside .venv only (not the user's Jupyter).
#    It starts scripts/tslab-kernel.js, which runs the project's own tslab from the
#    project root so notebooks import ./lib/... (see README, "How notebooks import lib").
KDIR=.venv/share/jupyter/kernels/tslab
mkdir -p "$KDIR"
cat > "$KDIR/kernel.json" <<JSON
{
  "argv": ["$(command -v node)", "$ROOT/scripts/tslab-kernel.js", "{connection_file}"],
  "display_name": "TypeScript (GRU course)",
  "language": "typescript",
  "env": {"TF_CPP_MIN_LOG_LEVEL": "2"}
}
JSON
cp node_modules/tslab/python/logo-64x64.png "$KDIR/" 2>/dev/null || true

# 4. Chromium for the report browser checks (Debian's package; never a download).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (apt)"
    (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }) >&2
  else
    say "WARNING: chromium not found; the browser checks need it (Debian/Ubuntu: sudo apt-get install chromium)"
  fi
fi
say "ready"
