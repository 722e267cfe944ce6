#!/usr/bin/env bash
# Set up everything, then start Attenzione on its built-in models: http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The image's allocator settings: jemalloc where it is installed (scripts/allocator-env.sh).
# shellcheck source=scripts/allocator-env.sh
source scripts/allocator-env.sh
exec .venv/bin/attenzione serve "$@"
