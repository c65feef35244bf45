#!/usr/bin/env bash
# Open JupyterLab from the project environment, in notebooks/, with the course's TypeScript kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)  # containers often run as root
exec .venv/bin/jupyter lab --notebook-dir=notebooks "${extra[@]}" "$@"
