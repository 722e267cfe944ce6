#!/usr/bin/env bash
# Set up everything, then run every check: ruff, biome, mypy, the JavaScript unit tests, the whole
# pytest suite (models, API over real HTTP, Chromium browser tests, shipped checkpoints), and
# the container test (builds and runs the image with buildah/podman; about 3 minutes, 6 on a
# machine that has to make its base image first). ATTENZIONE_SKIP_CONTAINER=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
echo "==> ruff"
.venv/bin/ruff check app models tests bench
.venv/bin/ruff format --check app models tests bench
echo "==> biome (JavaScript lint + format: static/js, tests/js)"
node_modules/.bin/biome ci
echo "==> mypy"
.venv/bin/mypy
echo "==> node --test (figure builders)"
node --test tests/js/
if [ "${ATTENZIONE_SKIP_CONTAINER:-0}" != 1 ]; then
  echo "==> container test"
  bash scripts/container-test.sh
fi
echo "==> pytest"
.venv/bin/pytest -q "$@"
