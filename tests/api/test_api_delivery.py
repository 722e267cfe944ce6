"""How responses travel: compressed when the client accepts it (zstd, br, gzip), plotly.js
precompressed, versioned assets cacheable for a year, and HEAD wherever GET works."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
import zstandard

from app import assets

DECODE = {
    "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
    "br": brotli.decompress,
    "gzip": gzip.decompress,
}


def raw_get(client, url: str, encoding: str):
    """GET ``url`` accepting only ``encoding``; the response with its body still encoded."""
    with client.stream("GET", url, headers={"accept-encoding": encoding}) as r:
        return r, b"".join(r.iter_raw())


@pytest.mark.parametrize("encoding", ["zstd", "br", "gzip"])
def test_api_json_is_compressed_when_accepted_and_decodes_to_the_same_bytes(client, encoding):
    body = {"model": "transformer", "text": "Compressed on the way, identical on arrival."}
    plain = client.post("/api/v1/trace", json=body, headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    with client.stream("POST", "/api/v1/trace", json=body, headers={"accept-encoding": encoding}) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == encoding and "accept-encoding" in r.headers["vary"].lower()
    assert len(raw) < len(plain.content) / 2
    assert DECODE[encoding](raw) == plain.content


def test_small_responses_stay_uncompressed(client):
    r, raw = raw_get(client, "/healthz", "zstd, gzip")
    assert "content-encoding" not in r.headers and raw == b'{"status":"ok"}'


def test_page_assets_are_versioned_and_cacheable_for_a_year(client):
    page = client.get("/").text
    urls = re.findall(r'(?:src|href)="(/(?:assets|vendor)/[^"]+)"', page)
    assert {u.rsplit(".", 1)[-1] for u in urls} >= {"css", "js", "svg"}
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
    assert all(assets.ASSET_VERSION in u or "plotly-" in u for u in urls)
    assert "http://" not in page and "https://" not in page  # no absolute URLs from the Host header


@pytest.mark.parametrize("encoding", ["zstd", "gzip"])
def test_plotly_is_served_precompressed_and_decodes_to_the_package_file(client, encoding):
    assets.precompress()
    assets._available.cache_clear()
    r, raw = raw_get(client, assets.PLOTLY_URL, encoding)
    assert r.headers["content-encoding"] == encoding
    assert int(r.headers["content-length"]) == len(raw) < 1_500_000
    assert DECODE[encoding](raw) == assets.PLOTLY_JS.read_bytes()


def test_plotly_without_an_accepted_encoding_is_the_plain_file(client):
    r, raw = raw_get(client, assets.PLOTLY_URL, "identity")
    assert "content-encoding" not in r.headers and raw == assets.PLOTLY_JS.read_bytes()


def get_routes(client) -> list[str]:
    documented = [p for p, ops in client.get("/openapi.json").json()["paths"].items() if "get" in ops]
    assert {"/api/v1/models", "/healthz", "/readyz"} <= set(documented)
    return [*documented, "/", "/compare", "/docs", "/redoc", "/openapi.json"]


def test_head_answers_wherever_get_does_with_the_same_headers_and_no_body(client):
    page = client.get("/").text
    static = re.findall(r'href="(/assets/[^"]+\.css)"', page)
    for url in [*get_routes(client), *static, "/static/css/app.css"]:
        got, head = (
            client.get(url, headers={"accept-encoding": "identity"}),
            client.head(url, headers={"accept-encoding": "identity"}),
        )
        assert head.status_code == got.status_code == 200, url
        assert head.content == b"", url
        assert head.headers.get("content-type") == got.headers.get("content-type"), url
        assert head.headers.get("content-length") == got.headers.get("content-length"), url
