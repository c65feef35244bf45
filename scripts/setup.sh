#!/usr/bin/env bash
# Set up everything the course needs, idempotently: Node packages (with the native
# TensorFlow backend), the project-local Python environment with the Jupyter tools,
# the tslab kernelspec inside that environment, actionlint (the workflow check), and
# Chromium with a Korean font for the browser checks. Each step is skipped when its inputs have not changed
# since it last succeeded; the checkout's path is one of those inputs (a moved or copied
# checkout rebuilds what holds the old path).
#
# The terminal gets one line per step (outcome and time). The tools' own output (npm and
# its install scripts, pip, node-gyp, go, apt) goes to .setup/setup.log, and is shown (its
# tail, with the log's path) only when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# A Node.js the course does not support stops here, in one line (scripts/check-node.js).
command -v node >/dev/null 2>&1 || { echo "[setup] Node.js not found: the course needs Node.js 20, 22, 24 or 26 with npm (https://nodejs.org/en/download)" >&2; exit 1; }
node scripts/check-node.js || exit 1
STAMPS=.setup
mkdir -p "$STAMPS"
LOG="$ROOT/$STAMPS/setup.log"
: > "$LOG"
ACTIONLINT_VERSION=v1.7.12   # github.com/rhysd/actionlint, built from the Go module proxy

say() { printf '[setup] %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# run_step LABEL COMMAND...: run a command with its output in the log; one line with the outcome.
# On failure: the log's tail and path, and the setup stops with the command's exit code.
run_step() {
  local label=$1; shift
  local t0 rc=0 mark
  t0=$(now)
  mark=$(wc -l < "$LOG")
  printf '\n===== %s: %s\n' "$label" "$*" >> "$LOG"
  "$@" >> "$LOG" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "$label: FAILED (exit $rc, $(took "$t0")); the last lines of its output:"
    tail -n +"$((mark + 1))" "$LOG" | tail -n 25 | sed 's/^/    /'
    say "full output: $LOG"
    exit "$rc"
  fi
  say "$label: ok ($(took "$t0"))"
}

# The lines setup-tensorflow.ts meant for the user (its route, and why), from this run's log.
tensorflow_notes() { grep -a '^\[setup-tensorflow\] ' "$LOG" | grep -a -E 'unavailable|ready|already works' | sed -e 's/^\[setup-tensorflow\] /[setup]   native TensorFlow: /' -e 's/native TensorFlow backend already works/already works/' -e 's/: native backend ready from/: ready from/' || true; }

T_START=$(now)

# 0. Where this checkout lives. The .venv's scripts (#! lines, activate) hold the absolute path
#    of the checkout they were made in; a moved or copied checkout must not use the old one's.
moved=""
if [ -f "$STAMPS/root" ] && [ "$(cat "$STAMPS/root")" != "$ROOT" ]; then
  moved=$(cat "$STAMPS/root")
  say "this checkout was moved or copied from $moved: rebuilding what holds that path (.venv, kernelspec)"
fi

# 1. Node packages. `npm ci` runs our postinstall, which applies patches/ to the installed packages
#    (patch-package) and provisions native TensorFlow (scripts/setup-tensorflow.ts). A re-run only
#    re-checks the backend.
node_key=$(hash_of package.json package-lock.json scripts/setup-tensorflow.ts patches/*.patch; node --version)
if [ -d node_modules ] && fresh node "$node_key"; then
  run_step "node packages up to date; native TensorFlow check" ./node_modules/.bin/tsx scripts/setup-tensorflow.ts
else
  run_step "node packages (npm ci, native TensorFlow)" npm ci --no-audit --no-fund
  echo "$node_key" > "$STAMPS/node"
fi
tensorflow_notes

# 2. Python environment for JupyterLab, nbconvert and nbclient.
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
  say "python environment: FAILED: $PY not found (install Python >= 3.10, or set PYTHON=/path/to/python3)"
  exit 1
fi
py_key=$(hash_of requirements.txt; "$PY" --version)
make_venv() {
  rm -rf .venv
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --upgrade pip
  .venv/bin/python -m pip install -r requirements.txt
}
venv_points_here() { head -n1 .venv/bin/jupyter 2>/dev/null | grep -qxF "#!$ROOT/.venv/bin/python"; }
if [ -x .venv/bin/python ] && fresh python "$py_key" && [ -z "$moved" ] && venv_points_here; then
  say "python environment (.venv): up to date"
else
  rm -f "$STAMPS/python"
  run_step "python environment (.venv from requirements.txt)" make_venv
  venv_points_here || { say "python environment: .venv/bin/jupyter does not start $ROOT/.venv/bin/python; see $LOG"; exit 1; }
  echo "$py_key" > "$STAMPS/python"
fi

# 3. The tslab kernelspec, registered inside .venv only (not the user's Jupyter).
#    It starts scripts/tslab-kernel.js, which runs the project's own tslab from the
#    project root so notebooks import ./lib/... (see README, "How notebooks import lib").
#    Written on every run, so it always names this checkout.
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
say "tslab kernelspec: $KDIR/kernel.json -> $ROOT/scripts/tslab-kernel.js"
echo "$ROOT" > "$STAMPS/root"

# 4. actionlint, for the check of .github/workflows/ (test/workflows.test.ts): built from the
#    Go module proxy into .tools/bin (git-ignored). Without Go the setup says so and goes on;
#    that test then fails with the same message (it never skips).
GO=$(command -v go || true)
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -x .tools/bin/actionlint ] && [ "$(.tools/bin/actionlint --version 2>/dev/null | head -n1)" = "$ACTIONLINT_VERSION" ]; then
  say "actionlint $ACTIONLINT_VERSION (.tools/bin): up to date"
elif [ -n "$GO" ]; then
  run_step "actionlint $ACTIONLINT_VERSION (go install into .tools/bin)" \
    env GOBIN="$ROOT/.tools/bin" "$GO" install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
else
  say "actionlint: WARNING: Go not found, so the workflow check cannot run (install Go >= 1.24, e.g. apt-get install golang-go, then re-run the setup)"
fi

# 5. Chromium for the report browser checks (Debian's package; never a download), or the
#    browser CHROMIUM_PATH names (the CI workflow uses the runner image's Chrome).
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
  say "chromium: $CHROMIUM_PATH (CHROMIUM_PATH)"
elif command -v chromium >/dev/null 2>&1; then
  say "chromium: $(command -v chromium)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  install_chromium() { apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }; }
  run_step "chromium (apt-get install chromium)" install_chromium
else
  say "chromium: WARNING: not found; the browser checks need it (Debian/Ubuntu: sudo apt-get install chromium)"
fi

# 6. A font with Hangul, so the reports' Korean is drawn rather than shown as empty boxes (the browser
#    checks fail a report whose Hangul has no font): Debian's fonts-noto-cjk, through apt as root or with
#    passwordless sudo; elsewhere a warning (macOS and Windows ship Korean fonts; fontconfig is Linux's).
korean_font() { command -v fc-list >/dev/null 2>&1 && fc-list ':charset=ac00' family | head -n 1 | cut -d, -f1; }
install_korean_font() { $1 apt-get install -y -qq fonts-noto-cjk || { $1 apt-get update -qq && $1 apt-get install -y -qq fonts-noto-cjk; }; }
as_root=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=sudo; fi
if [ -n "$(korean_font)" ]; then
  say "korean font: $(korean_font)"
elif [ "$(uname -s)" = Darwin ]; then
  say "korean font: macOS's own (Apple SD Gothic Neo)"
elif command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$as_root" ]; }; then
  t0=$(now)
  printf '\n===== korean font: apt-get install fonts-noto-cjk\n' >> "$LOG"
  if install_korean_font "$as_root" >> "$LOG" 2>&1 && [ -n "$(korean_font)" ]; then
    say "korean font (apt-get install fonts-noto-cjk): ok ($(took "$t0")), $(korean_font)"
  else
    say "korean font: WARNING: apt-get install fonts-noto-cjk failed (see $LOG); Hangul in the reports shows as empty boxes"
  fi
else
  say "korean font: WARNING: no font with Hangul found; the reports' Korean shows as empty boxes and the browser checks fail (Debian/Ubuntu: sudo apt-get install fonts-noto-cjk)"
fi
say "ready ($(took "$T_START")); the tools' output is in $LOG"
