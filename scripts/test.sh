#!/usr/bin/env bash
# Set up everything, then run every check: ruff, mypy, the JavaScript unit tests, and the
# whole pytest suite (models, API over real HTTP, Chromium browser tests, shipped checkpoints).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
echo "==> ruff"
.venv/bin/ruff check app models tests bench
.venv/bin/ruff format --check app models tests bench
echo "==> mypy"
.venv/bin/mypy
echo "==> node --test (figure builders)"
node --test tests/js/
echo "==> pytest"
.venv/bin/pytest -q "$@"
