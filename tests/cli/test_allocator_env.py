"""The allocator settings that keep memory flat under load (README, Reliability) are the same
in the image and in scripts/allocator-env.sh, which scripts/serve.sh and the load benchmark
use; the script picks jemalloc where it is installed and says so where it is not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bench.bench_load import ALLOCATOR_SCRIPT, deployed_env

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
JEMALLOC = sorted(Path("/usr/lib").glob("*-linux-gnu/libjemalloc.so.2"))


def image_env(name: str) -> str:
    match = re.search(rf"^\s*{name}=(\S+?)(?: \\)?$", DOCKERFILE, re.M)
    assert match, f"the Dockerfile sets no ENV {name}"
    return match.group(1)


def source_script(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", 'source "$0" && env', str(ALLOCATOR_SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_the_image_preloads_jemalloc_from_the_path_its_build_links() -> None:
    assert image_env("LD_PRELOAD") == "/usr/local/lib/libjemalloc.so.2"
    assert "ln -s /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2" in DOCKERFILE
    assert "apt-get install --yes --no-install-recommends libjemalloc2" in DOCKERFILE
    assert "MALLOC_ARENA_MAX" not in DOCKERFILE  # glibc's malloc is not the one in use


def test_the_serve_script_sources_the_allocator_settings() -> None:
    assert "source scripts/allocator-env.sh" in (ROOT / "scripts" / "serve.sh").read_text()


@pytest.mark.skipif(
    not JEMALLOC, reason="Debian's libjemalloc2 is not installed (scripts/setup.sh --dev installs it)"
)
def test_with_jemalloc_installed_the_script_sets_what_the_image_sets() -> None:
    env = deployed_env()
    assert env == {
        "MKL_DISABLE_FAST_MM": image_env("MKL_DISABLE_FAST_MM"),
        "LD_PRELOAD": str(JEMALLOC[0]),
        "MALLOC_CONF": image_env("MALLOC_CONF"),
    }
    assert source_script().stderr == ""


def test_settings_already_made_are_kept() -> None:
    out = source_script(LD_PRELOAD="/nonexistent/own.so", MKL_DISABLE_FAST_MM="0").stdout
    assert "LD_PRELOAD=/nonexistent/own.so\n" in out
    assert "MKL_DISABLE_FAST_MM=0\n" in out
    assert "MALLOC_CONF=" not in out  # jemalloc's settings only go with jemalloc


@pytest.mark.skipif(bool(JEMALLOC), reason="libjemalloc2 is installed: the fallback is not taken here")
def test_without_jemalloc_the_script_falls_back_to_two_glibc_arenas_and_says_so() -> None:
    done = source_script()
    assert "MALLOC_ARENA_MAX=2\n" in done.stdout and "LD_PRELOAD" not in done.stdout
    assert "apt install libjemalloc2" in done.stderr
