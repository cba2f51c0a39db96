"""The playground page (`GET /`) and its files (`GET /playground/<file>`), shipped inside this
package so `sam build` packages them with the function. Plain files, no build step."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

FILES = Path(__file__).resolve().parent / "playground"
# The page runs only its own files and talks only to this API: no inline script, no third party.
# Generated digits arrive as data: PNGs.
PAGE_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def install(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(FILES / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    # Starlette's StaticFiles: exact files under FILES only (no listing, no path outside it).
    app.mount("/playground", StaticFiles(directory=FILES), name="playground")
