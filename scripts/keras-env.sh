#!/usr/bin/env bash
# Creates (once) and prints the Python of a Keras environment:
#   bash scripts/keras-env.sh keras2   -> .venv-keras/bin/python   (TensorFlow 2.12's Keras, requirements-keras.txt)
#   bash scripts/keras-env.sh keras3   -> .venv-keras3/bin/python  (Keras 3 on JAX, requirements-keras3.txt)
# Idempotent: the environment is stamped with the SHA-256 of its requirements file and only
# (re)installed when that changes (the same stamp scripts/bench-epoch.ts writes for .venv-keras).
# Safe to run concurrently: creation holds an exclusive lock (flock on <venv>.lock), so a second caller waits for the
# first instead of using a half-made environment (a venv whose python exists before its pip does); an environment
# left half-made by a killed run (python but no pip) is made again.
# KERAS_ENV_DIR and KERAS_ENV_REQUIREMENTS replace the environment's directory and requirements file (for tests).
# Progress goes to stderr; stdout is only the interpreter's path.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  keras2) venv=.venv-keras; req=requirements-keras.txt ;;
  keras3) venv=.venv-keras3; req=requirements-keras3.txt ;;
  *) echo "usage: bash scripts/keras-env.sh keras2|keras3" >&2; exit 2 ;;
esac
venv="${KERAS_ENV_DIR:-$venv}"
req="${KERAS_ENV_REQUIREMENTS:-$req}"
[[ "$venv" == /* ]] || venv="$PWD/$venv"
python="$venv/bin/python"
stamp="$venv/.requirements-sha256"
hash=$(sha256sum "$req" | cut -d' ' -f1)
ready() { [[ -x "$python" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; }
if ready; then
  echo "$python"
  exit 0
fi
exec 9>"$venv.lock"
if ! flock -n 9; then
  echo "[keras-env] another process is setting up $venv; waiting for it" >&2
  flock 9
fi
if ready; then   # made by the process we waited for
  echo "$python"
  exit 0
fi
start=$(date +%s)
echo "[keras-env] setting up $venv from $req" >&2
if [[ -x "$python" ]] && ! "$python" -m pip --version >/dev/null 2>&1; then
  echo "[keras-env] $venv has no pip (left half-made by an interrupted run): making it again" >&2
  rm -rf "$venv"
fi
[[ -x "$python" ]] || python3 -m venv "$venv" >&2
"$python" -m pip install --disable-pip-version-check -q -r "$req" >&2
echo "$hash" > "$stamp"
echo "[keras-env] $venv ready ($(( $(date +%s) - start )) s)" >&2
echo "$python"
