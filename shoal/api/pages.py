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
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

UI_DIR = Path(__file__).parent / "ui"
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>shoal</title>
<body style="font-family: sans-serif; margin: 3em">
<h1>shoal</h1><p>The web UI is not built. From the repository: <code>make setup</code>
(it runs <code>npm ci</code> and <code>npm run build</code> in <code>ui/</code>).</p>
<p>The API answers meanwhile: <a href="/docs">/docs</a>.</p></body>"""


class _Assets(StaticFiles):
    """Built files named by their content: a browser keeps them for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


class _Pages(APIRoute):
    """Any GET or HEAD outside `/api`: matched by nothing else (routes are tried in order, this
    one last). It does not match other methods at all, so a POST to a path of nobody's is a 404
    and a POST to a GET-only route still a 405; nor `/api/...`, whose unknown paths are the
    API's JSON 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope.get("method") not in ("GET", "HEAD") or path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def install(app: FastAPI, ui_dir: Path | None = None) -> None:
    """Serve the built UI from `ui_dir` (UI_DIR) at `/`, after every API route: they match first."""
    root = (ui_dir or UI_DIR).resolve()
    app.mount("/assets", _Assets(directory=root / "assets", check_dir=False), name="ui-assets")

    async def page(path: str) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": "no-cache"})
        wanted = (root / path).resolve()
        if path and wanted.is_file() and root in wanted.parents:  # favicon.svg and the like
            return FileResponse(wanted)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.routes.append(_Pages("/{path:path}", page, methods=["GET", "HEAD"], include_in_schema=False))


__all__ = ["UI_DIR", "install"]
