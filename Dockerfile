# Attenzione: the web app and JSON API in one CPU-only image.
#
#   docker build -t attenzione .
#   docker run --rm -p 8000:8000 --read-only --tmpfs /tmp attenzione
#
# The image runs as a non-root user, needs no network at run time, and writes nothing
# outside /tmp, so it runs with a read-only root filesystem. The model checkpoints in
# models/checkpoints/ at build time are baked in.

# Any Debian-based image with Python 3.11 and its venv module. The container test builds
# on a local debootstrapped Debian bookworm (python3, python3-venv), whose python3 is 3.11.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------
# build: a virtual environment in /opt/venv with the pinned dependencies from pyproject.toml
FROM ${BASE_IMAGE} AS build

# Where torch comes from. The default is PyTorch's CPU-only wheel index: PyPI's torch is a
# CUDA build of several GB. TORCH_FIND_LINKS adds a folder (or URL) of wheels, for a local
# CPU wheel, e.g. --build-arg TORCH_INDEX=https://pypi.org/simple
# --build-arg TORCH_FIND_LINKS=/wheels with that folder mounted into the build. The pin
# "2.13.0+cpu" matches only the CPU build: the build fails rather than take a CUDA one.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_FIND_LINKS=
# The index for every other dependency (torch's own dependencies may come from either).
ARG PIP_INDEX_URL=https://pypi.org/simple
# A CA bundle for pip, only where outgoing TLS is intercepted: pass the bundle as a build
# secret and its path here, e.g. docker build --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt
# --build-arg PIP_CERT=/run/secrets/pip_cert. Empty means pip's own bundle. The secret is
# mounted only while pip runs and never stored in the image.
ARG PIP_CERT=

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first and alone, from the CPU-only source (its own layer, cached across app changes).
RUN --mount=type=secret,id=pip_cert \
    PIP_FIND_LINKS="$TORCH_FIND_LINKS" \
    pip install --only-binary=:all: --index-url "$TORCH_INDEX" --extra-index-url "$PIP_INDEX_URL" \
        "torch==2.13.0+cpu"

# The rest of the dependencies, read from pyproject.toml so that it stays the one list
# (torch==2.13.0 there is already met by 2.13.0+cpu). The project itself is not installed:
# the app finds static/ and templates/ beside its source folder, so it runs from /app.
# Then drop what is never used at run time (about 190 MB): C++ headers and CMake files for
# building torch extensions, torch's C++ test programs and protoc (torch_shm_manager stays:
# import torch needs it), numpy's test suites, and pip.
COPY pyproject.toml /tmp/build/pyproject.toml
RUN --mount=type=secret,id=pip_cert \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/build/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/build/requirements.txt \
    && pip install --only-binary=:all: -r /tmp/build/requirements.txt \
    && pip check \
    && rm -rf /opt/venv/lib/python3.11/site-packages/torch/include \
              /opt/venv/lib/python3.11/site-packages/torch/share/cmake \
              /opt/venv/lib/python3.11/site-packages/torch/test \
              /opt/venv/lib/python3.11/site-packages/numpy/*/tests \
              /opt/venv/lib/python3.11/site-packages/numpy/tests \
    && find /opt/venv/lib/python3.11/site-packages/torch/bin -mindepth 1 -maxdepth 1 \
        ! -name torch_shm_manager -exec rm -rf {} + \
    && pip uninstall --yes pip \
    && rm -rf /tmp/build

# The app source, static files, templates and checkpoints; plotly.js precompressed into
# /app/build/assets (app/assets.py). Byte-compiled now: with a
# read-only root filesystem Python could not cache them later; "unchecked-hash" byte code
# stays valid whatever file times a copy leaves (the image's sources never change). Made
# world-readable: safetensors writes weights as 0600, which the non-root user could not
# read. Done in this stage so that the runtime stage takes /app in one layer, with no
# second copy of the files from a chmod.
WORKDIR /app
COPY app/ app/
COPY models/ models/
COPY static/ static/
COPY templates/ templates/
RUN python -m compileall -q --invalidation-mode unchecked-hash app models \
    && python -m app.assets \
    && chmod -R u=rwX,go=rX /app

# ---------------------------------------------------------------------------------------
# runtime: the venv, the app source, static files, templates and model checkpoints
FROM ${BASE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="Attenzione" \
      org.opencontainers.image.description="Attention maps and recurrent states of small language models, side by side: web app and JSON API, CPU only." \
      org.opencontainers.image.licenses="MIT"

RUN groupadd --gid 10001 attenzione \
    && useradd --uid 10001 --gid attenzione --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin attenzione

# jemalloc in glibc's place (LD_PRELOAD below): the server's memory stays flat under load and
# the same whatever its concurrency (README, Reliability). Debian's libjemalloc2, installed
# unless the base already has it, and linked at one path whatever the architecture. Not pinned
# to a Debian revision: a security update would remove the pinned one from the mirror.
# hadolint ignore=DL3008
RUN if ! ls /usr/lib/*-linux-gnu/libjemalloc.so.2 >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install --yes --no-install-recommends libjemalloc2 \
        && apt-get clean && rm -rf /var/lib/apt/lists/*; \
    fi \
    && ln -s /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2 \
    && test -e /usr/local/lib/libjemalloc.so.2

# HOME and TMPDIR point into /tmp, the one writable place (a tmpfs with --read-only).
# ATTENZIONE_* are the app's settings (app/settings.py); HOST must be 0.0.0.0 in a container.
# PORT is the port to listen on (ATTENZIONE_PORT, if set, wins).
# MKL_DISABLE_FAST_MM: MKL keeps no work buffers per calling thread. LD_PRELOAD, MALLOC_CONF:
# jemalloc allocates, and gives freed memory back to the system within a second (a background
# thread). Together they keep the server's memory after load flat (README, Reliability).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    ATTENZIONE_HOST=0.0.0.0 \
    PORT=8000 \
    ATTENZIONE_MODELS_DIR=/app/models/checkpoints \
    ATTENZIONE_LOG_LEVEL=info \
    MKL_DISABLE_FAST_MM=1 \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY --from=build /app /app

# Numeric, so that a runtime (Kubernetes runAsNonRoot) can tell it is not root.
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ATTENZIONE_PORT', os.environ.get('PORT', '8000')), timeout=4)"]

# `attenzione serve` (app/cli.py) with host, port and log level from ATTENZIONE_*.
# Other commands: docker run --rm attenzione python -m app.cli models
CMD ["python", "-m", "app.cli", "serve"]
