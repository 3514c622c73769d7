"""The web UI: the files `ui/` builds (`npm run build` writes them to shoal/api/ui/), served by
the API at `/`.

`/assets/...` are the built, content-hashed files: cached for a year. Any other GET outside
the API (`/workflows`, `/runs/default/7`: the page's own routes) answers `index.html`, never
cached, so that a reload or a shared link opens the page at that place. Paths under `/api/`
stay the API's: an unknown one is a JSON 404, not a page. Without a built UI, `/` says how
to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

UI_DIR = Path(__file__).parent / "ui"
NOT_PAGES = frozenset({"api", "health", "metrics", "docs", "openapi.json", "redoc"})  # and api/...
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>shoal</title>
<body style="font-family: sans-serif; margin: 3em">
<h1>shoal</h1><p>The web UI is not built. From the repository: <code>make setup</code>
(it runs <code>npm ci</code> and <code>npm run build</code> in <code>ui/</code>).</p>
<p>The API answers meanwhile: <a href="/docs">/docs</a>.</p></body>"""


class _Assets(StaticFiles):
    """Built files named by their content: a browser keeps them for good."""

    async def get_response(self, path: str, scope) -> Response:  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI, ui_dir: Path | None = None) -> None:
    """Serve the built UI from `ui_dir` (UI_DIR) at `/`, after every API route: they match first."""
    ui_dir = ui_dir or UI_DIR
    app.mount("/assets", _Assets(directory=ui_dir / "assets", check_dir=False), name="ui-assets")
    root = ui_dir.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def page(path: str) -> Response:
        if path.startswith("api/") or path in NOT_PAGES:
            raise HTTPException(404, "Not Found")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": "no-cache"})
        wanted = (root / path).resolve()
        if path and wanted.is_file() and root in wanted.parents:  # favicon.svg and the like
            return FileResponse(wanted)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


__all__ = ["UI_DIR", "install"]
