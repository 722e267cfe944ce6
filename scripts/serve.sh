#!/usr/bin/env bash
# Set up everything, then start Attenzione on its built-in models: http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Allocations over 128 KB (tensors) go back to the OS when freed, and MKL keeps no work buffers
# per inference thread, so memory after load does not grow with the concurrency (README, Reliability).
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
export MKL_DISABLE_FAST_MM="${MKL_DISABLE_FAST_MM:-1}"
exec .venv/bin/attenzione serve "$@"
