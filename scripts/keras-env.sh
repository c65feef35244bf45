#!/usr/bin/env bash
# Creates (once) and prints the Python of a Keras environment:
#   bash scripts/keras-env.sh keras2   -> .venv-keras/bin/python   (TensorFlow 2.12's Keras, requirements-keras.txt)
#   bash scripts/keras-env.sh keras3   -> .venv-keras3/bin/python  (Keras 3 on JAX, requirements-keras3.txt)
# Idempotent: the environment is stamped with the SHA-256 of its requirements file and only
# (re)installed when that changes (the same stamp scripts/bench-epoch.ts writes for .venv-keras).
# Progress goes to stderr; stdout is only the interpreter's path.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  keras2) venv=.venv-keras; req=requirements-keras.txt ;;
  keras3) venv=.venv-keras3; req=requirements-keras3.txt ;;
  *) echo "usage: bash scripts/keras-env.sh keras2|keras3" >&2; exit 2 ;;
esac
python="$PWD/$venv/bin/python"
stamp="$venv/.requirements-sha256"
hash=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x "$python" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
  echo "$python"
  exit 0
fi
start=$(date +%s)
echo "[keras-env] setting up $venv from $req" >&2
[[ -x "$python" ]] || python3 -m venv "$venv" >&2
"$python" -m pip install --disable-pip-version-check -q -r "$req" >&2
echo "$hash" > "$stamp"
echo "[keras-env] $venv ready ($(( $(date +%s) - start )) s)" >&2
echo "$python"
