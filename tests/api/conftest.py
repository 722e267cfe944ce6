"""Fixtures for the API tests: a folder of tiny random-init checkpoints (all four built-in
names), a folder with one corrupt model, app clients built from ``Settings``, real HTTP
servers (uvicorn in a thread or a subprocess), and helpers that decode wire arrays.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed into the venv
    sys.path.insert(0, str(ROOT))

from app.main import create_app  # noqa: E402
from app.server import config as server_config  # noqa: E402
from app.settings import Settings  # noqa: E402
from models.lm import LanguageModel, load_model  # noqa: E402
from tests.server import free_port, stop, wait_ready  # noqa: E402
from tests.tiny import CONFIGS, write_tiny_checkpoints, write_tiny_translation_checkpoints  # noqa: E402

torch.set_num_threads(1)  # the machine's cores belong to the training jobs

NAMES = tuple(CONFIGS)
CORRUPT = "gru"
SERVER_ENV = {"ATTENZIONE_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1", "ATTENZIONE_LOG_LEVEL": "warning"}


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checkpoints")
    write_tiny_checkpoints(folder)
    return folder


@pytest.fixture(scope="session")
def translation_dir(checkpoint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny language models plus the two translation models (tiny) in ``mt/``."""
    folder = tmp_path_factory.mktemp("with-translation")
    shutil.copytree(checkpoint_dir, folder, dirs_exist_ok=True)
    write_tiny_translation_checkpoints(folder / "mt")
    return folder


@pytest.fixture(scope="session")
def corrupt_dir(checkpoint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoints, but the GRU's weights file is garbage."""
    folder = tmp_path_factory.mktemp("corrupt")
    shutil.copytree(checkpoint_dir, folder, dirs_exist_ok=True)
    (folder / f"{CORRUPT}.safetensors").write_bytes(b"\x00garbage, not safetensors" * 40)
    return folder


@pytest.fixture(scope="session")
def empty_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("empty")


@pytest.fixture(scope="session")
def lms(checkpoint_dir: Path) -> dict[str, LanguageModel]:
    """The same checkpoints loaded straight through ``models``, independently of the app."""
    return {name: load_model(name, checkpoint_dir) for name in NAMES}


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """``make_client(models_dir, **settings)``: a started TestClient, closed after the test."""
    with ExitStack() as stack:

        def make(models_dir: Path, **settings: Any) -> TestClient:
            app = create_app(Settings(models_dir=models_dir, **settings))
            return stack.enter_context(
                TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
            )

        yield make


@pytest.fixture(scope="session")
def client(checkpoint_dir: Path) -> Iterator[TestClient]:
    """The app over the tiny checkpoints, cache off so every response is computed afresh.
    Server errors come back as responses (500) rather than exceptions, as over HTTP."""
    app = create_app(Settings(models_dir=checkpoint_dir, cache_size=0))
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as c:
        yield c


@contextmanager
def thread_server(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread (real sockets, real event loop); yields its URL."""
    port = free_port()
    server = uvicorn.Server(server_config(app, Settings(log_level="warning"), "127.0.0.1", port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


ServeFactory = Callable[[FastAPI], str]


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """``serve(app)`` starts the app on a real port for this test and returns its base URL."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(thread_server(app))


@contextmanager
def uvicorn_process(models_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m app.cli serve`` (the server as deployed) on a free port, configured only by
    environment. Its output goes to a file (a pipe could fill up and stall the server); ``proc.log``."""
    port = free_port()
    environ = {**os.environ, **SERVER_ENV, "ATTENZIONE_MODELS_DIR": str(models_dir), **env}
    cmd = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
        proc.log = log  # type: ignore[attr-defined]
        try:
            wait_ready(url, proc)
            yield url, proc
        finally:
            stop(proc)


def read_log(proc: subprocess.Popen[bytes]) -> str:
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    return log.read().decode(errors="replace")


@pytest.fixture(scope="session")
def live_server(checkpoint_dir: Path) -> Iterator[str]:
    """A uvicorn subprocess over the tiny checkpoints, shared by the session; its base URL."""
    with uvicorn_process(checkpoint_dir, ATTENZIONE_CACHE_SIZE="0") as (url, _):
        yield url


# --- reading responses ------------------------------------------------------------------


def decode_array(arr: dict[str, Any]) -> np.ndarray:
    """The float64 array a wire array stands for, in its full ``shape``; written from the
    format's description, not from the server's code."""
    shape = tuple(arr["shape"])
    if arr["encoding"] == "json":
        return np.array(arr["data"], dtype=np.float64).reshape(shape)  # null -> NaN
    raw = base64.b64decode(arr["data"])
    if arr["encoding"] == "f16":
        assert arr["dtype"] == "float16"
        flat = np.frombuffer(raw, dtype="<f2").astype(np.float64)
    else:
        assert arr["encoding"] == "u8" and arr["dtype"] == "uint8"
        flat = arr["offset"] + arr["scale"] * np.frombuffer(raw, dtype=np.uint8).astype(np.float64)
    if arr["layout"] == "dense":
        return flat.reshape(shape)
    assert arr["layout"] == "causal_lower"
    t = shape[-1]
    per_matrix = t * (t + 1) // 2
    matrices = flat.reshape(-1, per_matrix)
    out = np.zeros((matrices.shape[0], t, t))
    start = 0
    for row in range(t):  # row i carries keys 0..i
        out[:, row, : row + 1] = matrices[:, start : start + row + 1]
        start += row + 1
    return out.reshape(shape)


@pytest.fixture(scope="session")
def decode() -> Callable[[dict[str, Any]], np.ndarray]:
    return decode_array


def check_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture(scope="session")
def problem() -> Callable[[httpx.Response, int], dict[str, Any]]:
    return check_problem


@pytest.fixture(scope="session")
def real_http() -> Callable[..., AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]]:
    """``real_http(models_dir, **env)``: a context manager running a uvicorn subprocess."""
    return uvicorn_process


@pytest.fixture(scope="session")
def server_log() -> Callable[[subprocess.Popen[bytes]], str]:
    """``server_log(proc)``: what a ``real_http`` server has printed so far."""
    return read_log
