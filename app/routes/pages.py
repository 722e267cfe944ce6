"""The browser frontend: Jinja2 pages, static ES modules, and plotly.js from the plotly package."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

ROOT = Path(__file__).resolve().parent.parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATES_DIR = ROOT / "templates"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def explore(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request=request, name="explore.html", context={"page": "explore"})


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request=request, name="compare.html", context={"page": "compare"})


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
