"""The OpenAPI contract, tested by schemathesis over real HTTP: at least 1,000 generated
requests, every check (no 5xx, documented statuses, content types and schemas, schema-valid
data accepted, schema-invalid data refused), with the per-model rules a schema cannot state
checked by tests/api/contract/hooks.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CONTRACT = Path(__file__).parent / "contract"
ROOT = Path(__file__).resolve().parents[2]


def test_schemathesis_finds_no_failure_in_over_a_thousand_cases(checkpoint_dir, real_http):
    env_server = {"ATTENZIONE_QUEUE_TIMEOUT_S": "60", "ATTENZIONE_CACHE_SIZE": "0"}
    with real_http(checkpoint_dir, **env_server) as (url, _):
        cmd = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file", str(CONTRACT / "schemathesis.toml"),
            "run", f"{url}/openapi.json",
            "--max-examples", "60",
            "--seed", "20261129",
            "--no-color",
        ]  # fmt: skip
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.contract.hooks", "PYTHONPATH": str(ROOT)}
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1500)
    out = run.stdout + run.stderr
    generated = re.search(r"(\d+) generated", out)
    assert generated, out[-3000:]
    assert run.returncode == 0, out[-6000:]
    assert int(generated.group(1)) >= 1000, out[-2000:]
    assert "failure" not in out.split("Test cases:")[-1].split("\n")[1], out[-2000:]
