#!/usr/bin/env bash
# Set up everything, then start Attenzione on its built-in models: http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Allocations over 128 KB (tensors) go back to the OS when freed (README, Reliability).
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec .venv/bin/attenzione serve "$@"
