"""The REST API under `/api/v1`: the app, its error handlers and its routers (`routes/`, thin
faces over `shoal.services`, one bearer token per request).

No state lives in the API process beyond the store's connection pool: any number of replicas
may serve one database. Every route authenticates its caller (`services.users.authenticate`)
and passes the resulting Actor to the service, which checks the caller's role in the project;
no business logic lives here. Every 4xx answer has the body
`{"error": {"code", "message", "details"}}`, where `details` names what was wrong.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shoal import __version__, services
from shoal.api import metrics, pages
from shoal.api.deps import API, error_response
from shoal.api.limits import MAX_BODY, BodyLimit
from shoal.api.routes import ROUTERS
from shoal.api.sse import TooManyStreams
from shoal.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ShoalError,
    StoreUnavailable,
    Unauthorized,
    expected_value,
)

# Headers of the log route a page may read across origins (with SHOAL_CORS_ORIGINS).
EXPOSED = ["X-Shoal-Attempt", "X-Shoal-Log-Size", "Content-Range"]
# ShoalError kind -> HTTP status; the first that matches wins (subclasses before their bases).
STATUS: tuple[tuple[type[ShoalError], int], ...] = (
    (Unauthorized, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (InvalidInput, 422),
    (StoreUnavailable, 503), (TooManyStreams, 503),
)


def create_app(store: services.Store) -> FastAPI:
    """The API over `store` (opened once; its pool serves every request)."""
    app = FastAPI(title="shoal", version=__version__, docs_url="/docs", openapi_url="/openapi.json")
    app.add_middleware(BodyLimit)
    if origins := store.settings.cors_origin_list:  # off unless SHOAL_CORS_ORIGINS names some
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_headers=["Authorization", "Content-Type"],
                           allow_methods=["GET", "POST", "PUT", "DELETE"], expose_headers=EXPOSED)
    app.state.store = store

    @app.exception_handler(ShoalError)
    async def shoalerror_response(_request: Request, exc: ShoalError) -> Response:
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        response = error_response(status, exc.code, str(exc), dict(exc.details))
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(DataError)
    async def unstorable(_request: Request, exc: DataError) -> Response:
        # A value the database refuses to store or compare (a NUL character on PostgreSQL, a
        # number past its column): bad input, not a server fault. Only the driver's first line:
        # SQLAlchemy's own text would repeat the statement and its parameters.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "a value out of range"
        return error_response(422, "invalid_input", f"a value of the request cannot be stored: {reason}")

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":  # loc is ("body", <character>): say so plainly
                at = err.get("loc", ("body", "?"))[-1]
                problems.append({"field": "body", "message": f"not valid JSON (at character {at})"})
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            expected = expected_value(err)
            said = f"expected {expected}" if expected else str(err.get("msg", "invalid"))
            problems.append({"field": where, "message": said})
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return error_response(422, "invalid_input", f"{first['field']}: {first['message']}", {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def httperror_response(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "bad_request")
        return error_response(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")

    for router in ROUTERS:
        app.include_router(router)
    metrics.install(app)  # GET /metrics and the request timer (shoal/api/metrics.py)
    pages.install(app)  # the web UI at / (last: every API route matches first)
    return app


__all__ = ["API", "MAX_BODY", "STATUS", "create_app"]
