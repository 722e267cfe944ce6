"""The browser frontend: Jinja2 pages, static ES modules, and plotly.js from the plotly package."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ..assets import ASSET_VERSION, PLOTLY_URL, ROOT, STATIC_DIR, VersionedStatic, asset_url, plotly_response

TEMPLATES_DIR = ROOT / "templates"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = f"/vendor/docs-{version('fastapi-offline')}"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals.update(asset_url=asset_url, plotly_url=PLOTLY_URL)
router = APIRouter(include_in_schema=False)

# Offered under the text box: short ones to read at a glance, one with repeated words (rows
# must not merge), and a ~210-token passage to show the views stay fast near full context.
SAMPLES: list[dict[str, str]] = [
    {"label": "Best of times (repeats)", "text": "It was the best of times, it was the worst of times."},
    {"label": "The cat, twice", "text": "The cat sat on the mat because the cat was tired."},
    {"label": "Agreement", "text": "The keys to the old cabinet in the hall are on the table."},
    {"label": "Alice", "text": "Alice was beginning to get very tired of sitting by her sister on the bank."},
    {
        "label": "Long passage (~210 tokens)",
        "text": (
            "It was the best of times, it was the worst of times, it was the age of wisdom, it was the "
            "age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the "
            "season of Light, it was the season of Darkness, it was the spring of hope, it was the winter "
            "of despair, we had everything before us, we had nothing before us, we were all going direct "
            "to Heaven, we were all going direct the other way—in short, the period was so far like the "
            "present period, that some of its noisiest authorities insisted on its being received, for "
            "good or for evil, in the superlative degree of comparison only. There were a king with a "
            "large jaw and a queen with a plain face, on the throne of England; there were a king with a "
            "large jaw and a queen with a fair face, on the throne of France."
        ),
    },
]

# /translate: short English sentences like the training pairs (one clause, everyday words).
TRANSLATE_SAMPLES: list[dict[str, str]] = [
    {"label": "I am cold.", "text": "I am cold."},
    {"label": "The train station", "text": "Where is the train station?"},
    {"label": "School today", "text": "She didn't want to go to school today."},
    {"label": "A book", "text": "I am reading a good book."},
    {"label": "The weather", "text": "It is very hot today."},
]


def _boot(request: Request) -> dict[str, Any]:
    """Start-up data for the page's scripts (rendered with ``tojson``, never as a script)."""
    settings = getattr(request.app.state, "settings", None)
    return {"samples": SAMPLES, "max_text_chars": getattr(settings, "max_text_chars", None)}


def _server(request: Request) -> dict[str, Any]:
    """What /learn says about the machine its timings come from."""
    import torch  # loaded already with the models; imported here so the pages need no torch at import

    settings = getattr(request.app.state, "settings", None)
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "max_concurrency": getattr(settings, "max_concurrency", None),
    }


def _page(request: Request, name: str, page: str, **extra: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request=request, name=name, context={"page": page, "boot": {**_boot(request), **extra}}
    )


@router.get("/", response_class=HTMLResponse)
async def explore(request: Request) -> HTMLResponse:
    return _page(request, "explore.html", "explore")


@router.get("/compare", response_class=HTMLResponse)
async def compare(request: Request) -> HTMLResponse:
    return _page(request, "compare.html", "compare")


@router.get("/learn", response_class=HTMLResponse)
async def learn(request: Request) -> HTMLResponse:
    return _page(request, "learn.html", "learn", server=_server(request))


@router.get("/translate", response_class=HTMLResponse)
async def translate(request: Request) -> HTMLResponse:
    return _page(request, "translate.html", "translate", samples=TRANSLATE_SAMPLES)


@router.get(PLOTLY_URL)
async def plotly_js(request: Request) -> Response:
    return plotly_response(request)


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI from files shipped by the fastapi-offline package: works offline."""
    return templates.TemplateResponse(request=request, name="docs.html", context=_docs_context())


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request=request, name="redoc.html", context=_docs_context())


def _docs_context() -> dict[str, str]:
    return {"docs_assets": DOCS_ASSETS_URL, "openapi_url": "/openapi.json"}


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(DOCS_ASSETS_URL, VersionedStatic(directory=str(DOCS_ASSETS)), name="docs-assets")
    app.mount(f"/assets/{ASSET_VERSION}", VersionedStatic(directory=str(STATIC_DIR)), name="assets")
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
