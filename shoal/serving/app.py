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
shape, 422 for a row with a missing field or a wrong type (the field is in `details.field`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shoal.errors import ShoalError
from shoal.features.errors import RowError
from shoal.registry import Registry
from shoal.serving.loaded import LoadedModel
from shoal.serving.watcher import ModelWatcher


class BadRequest(ShoalError):
    code = "bad_request"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(status: int, code: str, message: str, **details: Any) -> Response:
    return _json({"error": {"code": code, "message": message, "details": details}}, status)


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object or a list of objects")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"the request body is not valid JSON: {e}") from None


def _objects(rows: list[Any], where: str) -> list[Any]:
    """The rows, each a JSON object; else BadRequest naming the first that is not."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRequest(f"row {i} is {type(row).__name__}, not a JSON object", field=f"{where}[{i}]")
    return rows


def _rows_from_mlflow(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise BadRequest("an /invocations body is a JSON object with dataframe_split or dataframe_records")
    if "dataframe_records" in body:
        records = body["dataframe_records"]
        if not isinstance(records, list):
            raise BadRequest("dataframe_records must be a list of objects", field="dataframe_records")
        return _objects(records, "dataframe_records")
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        if not isinstance(split, dict) or not isinstance(split.get("columns"), list) \
                or not isinstance(split.get("data"), list):
            raise BadRequest("dataframe_split needs 'columns' (a list of names) and 'data' (a list of rows)",
                             field="dataframe_split")
        columns = split["columns"]
        rows = []
        for i, values in enumerate(split["data"]):
            if not isinstance(values, list) or len(values) != len(columns):
                raise BadRequest(f"dataframe_split.data[{i}] must be a list of {len(columns)} values",
                                 field=f"dataframe_split.data[{i}]")
            rows.append(dict(zip(columns, values, strict=True)))
        return rows
    keys = ", ".join(sorted(body)) or "none"
    raise BadRequest(f"an /invocations body needs dataframe_split or dataframe_records (got keys: {keys})")


def create_app(watcher: ModelWatcher) -> FastAPI:
    app = FastAPI(title=f"shoal model server: {watcher.model}@{watcher.alias}")

    def scored(model: LoadedModel, rows: list[Any]) -> list[float] | Response:
        try:
            return model.score(rows)
        except RowError as e:
            return _error(422, e.code, e.message, field=e.field)

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        model = watcher.current  # one version for the whole request, even if a swap happens now
        try:
            body = _parse(await request.body())
        except BadRequest as e:
            return _error(400, e.code, e.message, **e.details)
        single = isinstance(body, dict)
        if not single and not (isinstance(body, list) and body):
            return _error(400, "bad_request", "send one JSON object, or a non-empty list of objects")
        try:
            rows = [body] if single else _objects(body, "")
        except BadRequest as e:
            return _error(400, e.code, e.message, **e.details)
        scores = scored(model, rows)
        if isinstance(scores, Response):
            return scores
        head = {"model": watcher.model, "version": model.version.version}
        return _json({**head, "score": scores[0]} if single else {**head, "scores": scores})

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        model = watcher.current
        try:
            rows = _rows_from_mlflow(_parse(await request.body()))
        except BadRequest as e:
            return _error(400, e.code, e.message, **e.details)
        scores = scored(model, rows)
        if isinstance(scores, Response):
            return scores
        return _json({"predictions": scores, "model": watcher.model, "version": model.version.version})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown paths and methods answer in shoal's error shape too, not FastAPI's {"detail"}.
        return _error(exc.status_code, "not_found" if exc.status_code == 404 else "bad_request",
                      f"{request.method} {request.url.path}: {exc.detail}; "
                      "POST /predict or /invocations, GET /health or /metadata")

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
                      "serving_since": since})

    return app


# `shoal serve --workers N`: what each worker process serves, as JSON {model, alias, poll, project}.
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
    _, app = server_app(Registry(open_store(), spec["project"]), spec["model"], spec["alias"], spec["poll"])
    return app


def server_app(registry: Registry, model: str, alias: str, poll: float) -> tuple[ModelWatcher, FastAPI]:
    """A server process's app: the aliased version loaded (and frozen), its watcher started."""
    watcher = ModelWatcher(registry, model, alias, poll=poll, freeze=True)
    watcher.start()  # a daemon thread: it ends with the process
    return watcher, create_app(watcher)
