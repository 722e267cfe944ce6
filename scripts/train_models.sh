#!/usr/bin/env bash
# Retrain the four built-in language models with one recipe: a short learning-rate (and, for the
# recurrent models, embedding-init) sweep per architecture, then the best setting of each on the
# full budget. Every run is resumable: after an interruption, run this again and it continues
# where it stopped (finished sweep settings and models are skipped). One thread, one run at a time.
#
#   scripts/train_models.sh            # sweeps, then the four full runs into models/checkpoints
#   STAGE=sweep scripts/train_models.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
STAGE=${STAGE:-all}
ARCHS=${ARCHS:-"transformer lstm gru rnn"}

# The recipe, the same for every architecture: the ten books' training split (held-out text
# unchanged); the first 250 steps on windows made of a random run of 8-32 tokens repeated over
# the whole window, then 10% of windows so. (Writing the run only twice, with up to 200 tokens
# of text between the copies, let copying fade after the warm-up: the copy ratio was 0.82 and
# 0.71 at steps 500 and 750, against 0.19 and 0.15 with whole windows in a run with two extra books.)
RECIPE=(--threads 1 --random-share 0.1 --random-min 8 --random-max 32 --random-copies 0)
FULL=(--tokens 16000000 --copy-warmup 250)
# The sweep: the warm-up scaled with the budget. It ran with two texts later dropped from the
# full runs; passing them here reproduces the recorded sweeps (and reuses their finished settings).
SWEEP=(--tokens 1000000 --copy-warmup 21 --eval-every 50 --extra-books pg76.txt,tinyshakespeare.txt)

model_args() {
    if [ "$1" = transformer ]; then echo "--set smear_keys=true"; fi
}

# The sweep's best setting, except for the plain RNN: at its best (lr 3e-3, embeddings std 0.1)
# the full run stalled at the unigram loss after the 250-step warm-up (valid 6.60, 6.62, 6.73
# nats at steps 500, 750, 1,000; kept in runs/rnn-lr3e-3-stalled); the sweep's short warm-up
# (21 steps) did not show it. Its next setting then, lr 1e-3, trained in full to 1.832 bits/char,
# worse than the RNN it replaced, so its sweep gained lr 2e-3, now its second setting.
# The plain RNN thus had more tuning than the others, not less.
choice_args() {
    if [ "$1" = rnn ]; then echo "--sweep-rank 1"; fi
}

sweep_args() {
    case "$1" in
        transformer) echo "--lrs 0.0015,0.003,0.006" ;;
        rnn) echo "--lrs 0.001,0.002,0.003 --grid embed_std=0.02,0.1" ;;
        *) echo "--lrs 0.001,0.003 --grid embed_std=0.02,0.1" ;;
    esac
}

if [ "$STAGE" = all ] || [ "$STAGE" = sweep ]; then
    for arch in $ARCHS; do
        # shellcheck disable=SC2046
        $PY -m models.sweep --arch "$arch" $(sweep_args "$arch") $(model_args "$arch") \
            "${RECIPE[@]}" "${SWEEP[@]}"
    done
fi

if [ "$STAGE" = all ] || [ "$STAGE" = full ]; then
    for arch in $ARCHS; do
        if [ -f "runs/$arch/done" ]; then continue; fi
        # shellcheck disable=SC2046
        $PY -m models.train --arch "$arch" --sweep "runs/sweep/$arch.json" $(choice_args "$arch") --resume \
            $(model_args "$arch") "${RECIPE[@]}" "${FULL[@]}"
        touch "runs/$arch/done"
    done
fi
