"""What every route shares: the caller's Actor from the bearer token, the store, JSON answers
and the error body `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shoal import services
from shoal.services.encoding import dumps

API = "/api/v1"


def json_response(data: Any, status: int = 200) -> Response:
    """`data` (dataclasses, dates, lists of them) as JSON, encoded as the CLI's --json is."""
    return Response(dumps(data), status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": details or {}}}, status)


# Both dependencies are async: FastAPI runs a plain `def` one in its thread pool, a hop that
# costs more than what they do when the caller's token is remembered.
async def _store(request: Request) -> services.Store:
    return request.app.state.store


async def _caller(request: Request) -> services.Actor:
    """The Actor of the request's bearer token (Unauthorized, 401, without a valid one): from
    memory if it was checked a moment ago, else read from the database in the thread pool."""
    store: services.Store = request.app.state.store
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    if (known := services.users.remembered_actor(store, bearer)) is not None:
        return known
    return await run_in_threadpool(services.users.authenticate, store, bearer)


Caller = Annotated[services.Actor, Depends(_caller)]
# Ids and version numbers are 32-bit integer columns: a larger number is bad input (422), never
# a database error.
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Version = Annotated[int | None, Query(ge=1, le=MAX_ID, description="a version number (default: the latest)")]
# The size of a page of a list (`cursor` asks for the next one).
Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]
StoreDep = Annotated[services.Store, Depends(_store)]

__all__ = ["API", "MAX_ID", "Caller", "Id", "Limit", "StoreDep", "Version", "error_response", "json_response"]
