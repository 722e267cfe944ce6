"""Static assets: versioned URLs with long cache lifetimes, and plotly.js precompressed.

plotly.js (from the plotly Python package) is 4.8 MB, most of a first visit. Compressing it
per request costs 0.3-1 s of CPU and gives 1.4 MB; compressed once at the highest levels it
is 1.2 MB (zstd) or 1.5 MB (gzip). ``python -m app.assets`` writes those files into
``ASSET_CACHE`` (``scripts/setup.sh`` and the Dockerfile run it); where they are missing, the
file is compressed per request by the app's compression middleware like any other.

Every asset URL carries ``ASSET_VERSION``, a hash of the static files and the plotly
version, so a browser may cache it for a year: a changed file has a new URL.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import lru_cache
from pathlib import Path

import plotly
import zstandard
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ASSET_CACHE = ROOT / "build" / "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
ENCODINGS = {"zstd": ".zst", "gzip": ".gz"}  # preferred first


def _asset_version() -> str:
    digest = hashlib.sha256(plotly.__version__.encode())
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


ASSET_VERSION = _asset_version()
PLOTLY_URL = f"/vendor/plotly-{plotly.__version__}.min.js"


def asset_url(path: str) -> str:
    """The versioned, host-relative URL of a file under ``static/``."""
    return f"/assets/{ASSET_VERSION}/{path}"


class VersionedStatic(StaticFiles):
    """Static files under a versioned prefix: cacheable for a year (ETag and Last-Modified too)."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def _precompressed(encoding: str) -> Path:
    return ASSET_CACHE / f"{PLOTLY_JS.name}-{plotly.__version__}{ENCODINGS[encoding]}"


@lru_cache(maxsize=1)
def _available() -> tuple[str, ...]:
    """Encodings whose precompressed file exists (checked once per process)."""
    return tuple(e for e in ENCODINGS if _precompressed(e).is_file())


def plotly_response(request: Request) -> Response:
    """plotly.js, precompressed when the client accepts an encoding we have on disk."""
    accepted = {
        e.split(";")[0].strip().lower() for e in request.headers.get("accept-encoding", "").split(",")
    }
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    for encoding in _available():
        if encoding in accepted:
            headers["Content-Encoding"] = encoding
            return FileResponse(_precompressed(encoding), media_type="text/javascript", headers=headers)
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


def precompress(folder: Path = ASSET_CACHE) -> list[Path]:
    """Write plotly.js compressed with zstd (level 19) and gzip (level 9) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = PLOTLY_JS.read_bytes()
    codecs = {
        "zstd": lambda b: zstandard.ZstdCompressor(level=19).compress(b),
        "gzip": lambda b: gzip.compress(b, compresslevel=9, mtime=0),
    }
    written = []
    for encoding, compress in codecs.items():
        path = folder / _precompressed(encoding).name
        if not path.is_file():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(compress(raw))
            tmp.replace(path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in precompress():
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size:,} bytes")
