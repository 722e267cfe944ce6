"""The allocator settings that keep memory flat under load (README, Reliability) are the same
in the image, in scripts/serve.sh and in the load benchmark that measures them."""

from __future__ import annotations

import re
from pathlib import Path

from bench.bench_load import DEPLOYED_ENV

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_the_serve_script_and_the_load_benchmark_set_the_same_allocator_settings() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    serve = (ROOT / "scripts" / "serve.sh").read_text()
    for name, value in DEPLOYED_ENV.items():
        assert re.search(rf"^\s*{name}={value}\b", dockerfile, re.M), f"Dockerfile lacks ENV {name}={value}"
        assert f'export {name}="${{{name}:-{value}}}"' in serve, f"scripts/serve.sh lacks {name}={value}"
