"""The container test, from pytest: builds, runs and probes the image with buildah and podman.

Deselected by default (pyproject's addopts has ``-m 'not container'``); run it with

    .venv/bin/pytest -m container -s tests/container

It runs ``scripts/container-test.sh`` on the real tree, which needs the trained checkpoints in
models/checkpoints/ and root (apt-get, buildah, podman). It took about 3 minutes here on a
quiet machine (about 2 more the first time, to make the base image; over 30 with training
jobs holding both cores), so it has a 20-minute limit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "container-test.sh"


@pytest.mark.container
def test_image_builds_runs_read_only_as_non_root_and_serves_traces() -> None:
    proc = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=20 * 60,
        check=False,
    )
    print(proc.stdout)
    assert proc.returncode == 0, f"{SCRIPT.name} failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}"
    assert "== container test passed" in proc.stdout
