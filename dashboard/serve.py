"""The dashboard server: `streamlit run dashboard/serve.py` serves app.py, and answers a page's
own address (/person?id=…, /game) with a start page that tells the browser the app lives at
the root.

Loaded at /person, Streamlit's frontend first probes /person/_stcore/health and
/person/_stcore/host-config (the path as a possible base URL), which 404 and show as console
errors, before it tries the root. The page served here sets the frontend's backend address to
the site root up front, so it never probes a sub-path. A browser test loads every page
directly and fails on any console error, so a Streamlit upgrade that changes this is caught."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from streamlit import file_util

from dashboard import runtime
from dashboard.routes import SUB_PAGES

_INDEX = (Path(file_util.get_static_dir()) / "index.html").read_text(encoding="utf-8")
_PINNED = _INDEX.replace(
    "<head>", '<head><script>window.__streamlit = {BACKEND_BASE_URL: '
              'location.origin + "/"}</script>', 1)
if _PINNED == _INDEX:
    raise RuntimeError("Streamlit's index.html has no <head>: dashboard/serve.py needs updating")


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(_PINNED, headers={"Cache-Control": "no-cache"})


@asynccontextmanager
async def _lifespan(_app):
    # after the runtime has started (pages imported before it bind their caches to a throwaway
    # store and log "No runtime found") and before the first page run: see dashboard/runtime.py
    runtime.settle()
    runtime.start_warmer()
    yield


app = st.App(str(Path(__file__).resolve().parent / "app.py"), lifespan=_lifespan,
             routes=[Route(f"/{p}", _page) for p in SUB_PAGES])
