"""The server runs under the image's allocator (jemalloc, preloaded; scripts/allocator-env.sh)
and computes the same numbers as under glibc's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bench.bench_load import deployed_env

JEMALLOC_INSTALLED = "LD_PRELOAD" in deployed_env()  # scripts/allocator-env.sh found it
TEXT = "The keys to the old cabinet are on the table"


@pytest.mark.skipif(
    not JEMALLOC_INSTALLED,
    reason="Debian's libjemalloc2 is not installed (scripts/setup.sh --dev installs it)",
)
def test_a_server_under_jemalloc_answers_as_one_under_glibc(checkpoint_dir, real_http) -> None:
    requests = [
        ("/api/v1/trace", {"model": "transformer", "text": TEXT, "decimals": 8}),
        ("/api/v1/compare", {"models": ["lstm", "gru", "rnn"], "text": TEXT, "decimals": 8}),
        ("/api/v1/influence", {"models": ["transformer", "lstm"], "text": TEXT, "decimals": 8}),
    ]
    answers = []
    for env in (deployed_env(), {}):
        with real_http(checkpoint_dir, **env) as (url, proc):
            maps = Path(f"/proc/{proc.pid}/maps").read_text()
            assert ("libjemalloc.so.2" in maps) == ("LD_PRELOAD" in env)
            answers.append([httpx.post(url + path, json=body, timeout=60) for path, body in requests])
    for under_jemalloc, under_glibc in zip(*answers, strict=True):
        assert under_jemalloc.status_code == under_glibc.status_code == 200, under_jemalloc.text
        assert under_jemalloc.json() == under_glibc.json()
