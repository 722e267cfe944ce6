#!/usr/bin/env bash
# Run `bench/bench_api.py --only a` for two git revisions of this project alternately, so that
# both see the same minutes of this machine (whose speed drifts between runs), and print the
# 64-token API/bare ratios of each run.
#
#   bash bench/ab_revisions.sh OLD_REV [NEW_REV=HEAD] [ROUNDS=3] [REPEATS=20]
#
# Each revision is checked out into a temporary git worktree that shares this checkout's
# .venv and models/checkpoints (so both serve the same weights); the worktrees are removed
# at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/ab_revisions.sh OLD_REV [NEW_REV] [ROUNDS] [REPEATS]}
new=${2:-HEAD}
rounds=${3:-3}
repeats=${4:-20}
root=$(pwd)
tmp=$(mktemp -d)
cleanup() {
  for rev in a b; do git worktree remove --force "$tmp/$rev" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
for pair in "a $old" "b $new"; do
  set -- $pair
  git worktree add -q --detach "$tmp/$1" "$2"
  mkdir -p "$tmp/$1/models/checkpoints"
  for f in "$root"/models/checkpoints/*; do ln -sf "$f" "$tmp/$1/models/checkpoints/"; done
done
echo "64-token ratios (json, f16), $repeats repeats per run: a = $old, b = $new"
for round in $(seq "$rounds"); do
  for rev in a b; do
    ratios=$(cd "$tmp/$rev" && "$root/.venv/bin/python" bench/bench_api.py --only a --repeats "$repeats" 2>&1 |
      awk '$1 == 64 && ($2 == "json" || $2 == "f16") && NF >= 9 { printf "%s %s  ", $2, $5 }')
    echo "round $round  $rev  $ratios"
  done
done
