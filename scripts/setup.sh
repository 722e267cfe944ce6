#!/usr/bin/env bash
# Set up everything Attenzione needs in ./.venv: Python 3.11, CPU torch 2.13.0 and the pinned
# dependencies (pyproject.toml). `--dev` adds the test tools, Debian's chromium and libjemalloc2
# and, with npm, the JavaScript linter/formatter (package.json; the app has no build step).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
echo "==> installing attenzione$extras (torch==2.13.0 CPU and pinned dependencies)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras" 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import torch, app, models; print('==> torch', torch.__version__, 'ready')"
echo "==> plotly.js precompressed into build/assets (once)"
.venv/bin/python -m app.assets

if [ "${1:-}" = "--dev" ]; then
  # Debian's chromium for the browser tests, libjemalloc2 for the allocator's (the image's).
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  compgen -G "/usr/lib/*-linux-gnu/libjemalloc.so.2" >/dev/null || missing+=(libjemalloc2)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing Debian's ${missing[*]} for the tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  chromium --version
  echo "==> npm ci (Biome, the JavaScript linter and formatter, pinned in package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
fi
