"""The model server's HTTP API (FastAPI).

- `POST /predict`: one JSON object (`{"score", "model", "version"}`) or a list of them
  (`{"scores": [...], ...}`); with a feature set, the object is a request row of its main table.
- `POST /invocations`: MLflow's scoring protocol (`dataframe_split` / `dataframe_records`),
  answered as `{"predictions": [...]}`, so MLflow clients can switch servers.
- `GET /health`, `GET /metadata`.

Bodies are parsed with orjson from the raw request instead of a pydantic body model: the
request schema depends on the served version (and changes with it), and a model server's
per-request overhead is the point. Errors use shoal's JSON error shape
`{"error": {"code", "message", "details"}}`: 400 for a body that is not JSON or not the right
shape, 413 for a body or a row count over the server's `Limits` (see body.py), 422 for a row
with a missing field or a wrong type (the field is in `details.field`).

The event loop reads bodies and writes answers. Parsing, online features and scoring of a body
over INLINE_MAX_BYTES, or of several rows, run in a worker thread, so one large request cannot
stall the small ones arriving meanwhile. A small one-row body (the common request, under a
millisecond) is scored on the loop: handing it to a thread and back measured about 0.2 ms of
server CPU, a third of the request, and 15-20% fewer requests per second. Each request reads
`watcher.current` once, before anything else, and scores every row with that one version,
wherever it runs.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import orjson
from anyio import CapacityLimiter
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from shoal.features.errors import RowError
from shoal.registry import Registry
from shoal.serving.body import Limits, mlflow_rows, parse, predict_rows, read_body
from shoal.serving.errors import BadRequest
from shoal.serving.loaded import LoadedModel
from shoal.serving.watcher import ModelWatcher

# A body up to this size is parsed on the event loop (orjson: microseconds), and scored there
# too if it holds one row; anything larger, or more rows, is parsed and scored in a thread.
INLINE_MAX_BYTES = 4096
# Bodies over INLINE_MAX_BYTES parsed and scored at once; more wait their turn holding only their
# raw bytes. Scoring is CPU work under one GIL, so more at once would only add memory (a parsed
# 8 MiB body is several times its size) without adding speed.
LARGE_AT_ONCE = 4

# The GIL switch interval of a server process (seconds; Python's default is 0.005): see server_app.
SWITCH_INTERVAL = 0.001

# a parsed body -> its rows, and whether it was one object (under a row limit)
ToRows = Callable[[Any, int], tuple[list[Any], bool]]
# rows, whether the body was one object -> the answer's JSON
Render = Callable[[LoadedModel, list[Any], bool], Any]


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, code: str, message: str, **details: Any) -> Response:
    return _json({"error": {"code": code, "message": message, "details": details}}, status)


def _refused(e: BadRequest) -> Response:
    return _error(e.status, e.code, e.message, **e.details)


def _scored(model: LoadedModel, rows: list[Any], single: bool, render: Render) -> Response:
    """Score `rows` with `model` and render the answer; a bad row is a 422 naming its field."""
    try:
        return _json(render(model, rows, single))
    except RowError as e:
        return _error(422, e.code, e.message, **e.details)
    except RecursionError:
        # A row value nested hundreds of levels deep (JSON allows 1,024) can exhaust the
        # interpreter's recursion limit when an error message shows it.
        return _error(400, "bad_request", "a value in the request is nested too deeply; "
                      "row values are numbers, strings, booleans or null")


def _parsed_and_scored(model: LoadedModel, raw: bytes, max_rows: int, to_rows: ToRows, render: Render) -> Response:
    """The whole answer to a large body: what runs in a worker thread."""
    try:
        rows, single = to_rows(parse(raw), max_rows)
    except BadRequest as e:
        return _refused(e)
    return _scored(model, rows, single, render)


def create_app(watcher: ModelWatcher, limits: Limits | None = None) -> FastAPI:
    """The server's app for `watcher`'s model; `limits` caps each request (default: `Limits()`)."""
    limits = limits or Limits()
    app = FastAPI(title=f"shoal model server: {watcher.model}@{watcher.alias}")
    app.state.large_bodies = large = CapacityLimiter(LARGE_AT_ONCE)
    name = watcher.model

    async def answer(request: Request, to_rows: ToRows, render: Render) -> Response:
        model = watcher.current  # one version for the whole request, even if a swap happens now
        try:
            raw = await read_body(request, limits.max_body_bytes)
            if len(raw) > INLINE_MAX_BYTES:
                return await anyio.to_thread.run_sync(_parsed_and_scored, model, raw, limits.max_rows, to_rows,
                                                      render, limiter=large)
            rows, single = to_rows(parse(raw), limits.max_rows)
        except BadRequest as e:
            return _refused(e)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        if len(rows) > 1:
            return await anyio.to_thread.run_sync(_scored, model, rows, single, render)
        return _scored(model, rows, single, render)

    def render_predict(model: LoadedModel, rows: list[Any], single: bool) -> Any:
        scores = model.score(rows)
        if single:
            return {"model": name, "version": model.version.version, "score": scores[0]}
        return {"model": name, "version": model.version.version, "scores": scores}

    def render_invocations(model: LoadedModel, rows: list[Any], single: bool) -> Any:
        return {"predictions": model.score(rows), "model": name, "version": model.version.version}

    def invocation_rows(body: Any, max_rows: int) -> tuple[list[Any], bool]:
        return mlflow_rows(body, max_rows), False

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        return await answer(request, predict_rows, render_predict)

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        return await answer(request, invocation_rows, render_invocations)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown paths and methods answer in shoal's error shape too, not FastAPI's {"detail"}.
        return _error(exc.status_code, "not_found" if exc.status_code == 404 else "bad_request",
                      f"{request.method} {request.url.path}: {exc.detail}; "
                      "POST /predict or /invocations, GET /health or /metadata")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # A fault of the server or the model, not of the request: logged with its traceback
        # (Starlette re-raises it to uvicorn after this answer), answered in the error shape.
        return _error(500, "internal_error", f"{request.method} {request.url.path} failed on the server "
                      f"({type(exc).__name__}); the server's log has the details")

    @app.get("/health")
    async def health() -> Response:
        doc = {"status": "ok", "model": watcher.model, "alias": watcher.alias,
               "version": watcher.current.version.version}
        if watcher.failed is not None:
            # The alias points at a version that did not load: still serving the old one.
            doc["failed"] = {"version": watcher.failed[0], "error": watcher.failed[1]}
        return _json(doc)

    @app.get("/metadata")
    async def metadata() -> Response:
        since = dt.datetime.fromtimestamp(watcher.swapped_at, dt.UTC).replace(tzinfo=None).isoformat()
        return _json({**watcher.current.metadata(), "alias": watcher.alias, "poll_seconds": watcher.poll,
                      "serving_since": since, "limits": {"max_body_bytes": limits.max_body_bytes,
                                                         "max_rows": limits.max_rows}})

    return app


# `shoal serve --workers N`: what each worker process serves, as JSON
# {model, alias, poll, project, max_body_bytes, max_rows}.
SERVE_ENV = "SHOAL_SERVE"


def app_from_env() -> FastAPI:
    """The app of one `shoal serve --workers N` worker process (a uvicorn app factory).

    Each worker loads the version itself and follows the alias with its own watcher, so every
    worker swaps on its own within one poll period; a request is answered by one version.
    """
    import json
    import os

    from shoal.store import open_store

    spec = json.loads(os.environ[SERVE_ENV])
    limits = Limits(**{k: spec[k] for k in ("max_body_bytes", "max_rows") if k in spec})
    _, app = server_app(Registry(open_store(), spec["project"]), spec["model"], spec["alias"], spec["poll"], limits)
    return app


def server_app(registry: Registry, model: str, alias: str, poll: float,
               limits: Limits | None = None) -> tuple[ModelWatcher, FastAPI]:
    """A server process's app: the aliased version loaded (and frozen), its watcher started."""
    # While a thread scores a large request, the event loop waits for the GIL on every step of a
    # small one, up to one switch interval each time: 1 ms instead of Python's 5 ms cut small
    # requests' median from ~7 ms to ~1.5 ms next to 10,000-row requests (no cost when idle).
    sys.setswitchinterval(SWITCH_INTERVAL)
    watcher = ModelWatcher(registry, model, alias, poll=poll, freeze=True)
    watcher.start()  # a daemon thread: it ends with the process
    return watcher, create_app(watcher, limits)
