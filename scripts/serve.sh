#!/usr/bin/env bash
# Set up everything, then start Attenzione on its built-in models: http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# MKL keeps no work buffers per inference thread and glibc spreads them over two arenas, so memory
# after load grows little with the concurrency (README, Reliability).
export MKL_DISABLE_FAST_MM="${MKL_DISABLE_FAST_MM:-1}"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/attenzione serve "$@"
