"""The REST API under `/api/v1`: thin routes over `shoal.services`, one bearer token per request.

No state lives in the API process beyond the store's connection pool: any number of replicas
may serve one database. Every route authenticates its caller (`services.users.authenticate`)
and passes the resulting Actor to the service, which checks the caller's role in the project;
no business logic lives here. Every 4xx answer has the body
`{"error": {"code", "message", "details"}}`, where `details` names what was wrong.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shoal import __version__, services
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
from shoal.services.encoding import jsonable
from shoal.spec.io import MAX_FILE_BYTES

API = "/api/v1"
# ShoalError kind -> HTTP status; the first that matches wins (subclasses before their bases).
STATUS: tuple[tuple[type[ShoalError], int], ...] = (
    (Unauthorized, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (InvalidInput, 422),
    (StoreUnavailable, 503),
)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=jsonable), status_code=status, media_type="application/json")


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    return _json({"error": {"code": code, "message": message, "details": details or {}}}, status)


class RunRequest(BaseModel):
    """Start a run of a workflow's current version."""

    workflow: str = Field(description="the workflow's name")
    project: str = Field(default=services.DEFAULT_PROJECT, description="the workflow's project")
    params: dict[str, str] = Field(default_factory=dict, description="run-time parameters (values are data)")
    date: dt.datetime | dt.date | None = Field(default=None, description="logical date (default: now)")
    disable: list[str] = Field(default_factory=list, description="tasks that count as succeeded without running")


class ApplyRequest(BaseModel):
    """Workflow definitions as the text of a YAML or JSON file."""

    content: str = Field(description="the file's text", max_length=MAX_FILE_BYTES)
    format: str = Field(default="yaml", pattern="^(yaml|json)$", description="yaml or json")
    project: str | None = Field(default=None, description="store into this project instead of the file's")


def _caller(request: Request) -> services.Actor:
    """The Actor of the request's bearer token (Unauthorized, 401, without a valid one)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return services.users.authenticate(request.app.state.store, token.strip() if scheme.lower() == "bearer" else None)


Caller = Annotated[services.Actor, Depends(_caller)]


def create_app(store: services.Store) -> FastAPI:
    """The API over `store` (opened once; its pool serves every request)."""
    app = FastAPI(title="shoal", version=__version__, docs_url="/docs", openapi_url="/openapi.json")
    app.state.store = store

    @app.exception_handler(ShoalError)
    async def shoal_error(_request: Request, exc: ShoalError) -> Response:
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        response = _error(status, exc.code, str(exc), dict(exc.details))
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            expected = expected_value(err)
            said = f"expected {expected}" if expected else str(err.get("msg", "invalid"))
            problems.append({"field": where, "message": said})
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        return _error(422, "invalid_input", f"{first['field']}: {first['message']}", {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return _error(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Up and answering (no token needed)."""
        return {"status": "ok", "version": __version__}

    @app.get(f"{API}/whoami", tags=["meta"])
    def whoami(caller: Caller) -> Response:
        """Who the token belongs to, and their role in each project (None: an instance admin)."""
        roles = None if caller.roles is None else {p: r.name.lower() for p, r in caller.roles.items()}
        return _json({"user": caller.name, "roles": roles})

    @app.get(f"{API}/workflows", tags=["workflows"])
    def list_workflows(caller: Caller, project: str | None = None, search: str | None = None) -> Response:
        """Workflows of the projects the caller may read."""
        return _json(services.workflows.list_workflows(store, search=search, project=project, actor=caller))

    @app.post(f"{API}/workflows", tags=["workflows"], status_code=201)
    def apply_workflows(caller: Caller, body: ApplyRequest) -> Response:
        """Validate and store workflows (a new version only where a definition changed); a file
        that does not validate stores nothing."""
        results = services.workflows.apply_text(store, body.content, body.format, project=body.project, actor=caller)
        return _json(results, 201)

    @app.get(f"{API}/projects/{{project}}/workflows/{{name}}", tags=["workflows"])
    def show_workflow(caller: Caller, project: str, name: str, version: int | None = None) -> Response:
        """A workflow's definition at a version (default: the current one); secrets read ***."""
        return _json(services.workflows.show(store, name, project=project, version=version, actor=caller))

    @app.post(f"{API}/runs", tags=["runs"], status_code=201)
    def start_run(caller: Caller, body: RunRequest) -> Response:
        """Queue a run; a scheduler (`shoal scheduler`) drives it."""
        info = services.runs.trigger(store, body.workflow, project=body.project, params=body.params,
                                     logical_date=body.date, disabled=body.disable, actor=caller)
        return _json(info, 201)

    @app.get(f"{API}/runs", tags=["runs"])
    def list_runs(
        caller: Caller, project: str | None = None, workflow: str | None = None, state: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> Response:
        """Recent runs, newest first, of the projects the caller may read."""
        return _json(services.runs.list_runs(store, project=project, workflow=workflow, state=state, limit=limit,
                                             actor=caller))

    @app.get(f"{API}/projects/{{project}}/runs/{{run_id}}", tags=["runs"])
    def show_run(caller: Caller, project: str, run_id: int) -> Response:
        """A run with its task runs (a run is addressed within its project)."""
        return _json(services.runs.show(store, run_id, project=project, actor=caller))

    @app.post(f"{API}/projects/{{project}}/runs/{{run_id}}/stop", tags=["runs"])
    def stop_run(caller: Caller, project: str, run_id: int) -> Response:
        """Stop a run and its sub-workflow runs."""
        return _json({"stopped": services.runs.stop(store, [run_id], project=project, actor=caller)})

    @app.get(f"{API}/projects/{{project}}/runs/{{run_id}}/tasks/{{task}}/log", tags=["runs"],
             response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def task_log(
        caller: Caller, project: str, run_id: int, task: str, attempt: Annotated[int | None, Query(ge=1)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=services.logs.MAX_RANGE)] = services.logs.MAX_RANGE,
    ) -> Response:
        """A task's log (its latest attempt, or `attempt`), whole or a byte range: `offset` and
        `limit`. The headers say the attempt, the range and the log's size now."""
        r = services.logs.read_range(store, run_id, task, attempt, offset=offset, limit=limit, project=project,
                                     actor=caller)
        headers = {"X-Shoal-Attempt": str(r.attempt), "X-Shoal-Log-Size": str(r.size),
                   "Content-Range": f"bytes {r.offset}-{r.offset + len(r.data) - 1}/{r.size}" if r.data
                   else f"bytes */{r.size}"}
        return Response(r.data, media_type="text/plain; charset=utf-8", headers=headers)

    @app.get(f"{API}/schedules", tags=["schedules"])
    def list_schedules(caller: Caller, project: str | None = None) -> Response:
        """Workflows with a schedule, with their next fire time (UTC)."""
        return _json(services.schedules.list_schedules(store, project=project, actor=caller))

    @app.post(f"{API}/projects/{{project}}/workflows/{{name}}/schedule/{{action}}", tags=["schedules"])
    def set_schedule(caller: Caller, project: str, name: str, action: Literal["pause", "resume"]) -> Response:
        """Pause a workflow's schedule (no more scheduled runs) or resume it."""
        change = services.schedules.pause if action == "pause" else services.schedules.resume
        return _json(change(store, name, project=project, actor=caller))

    return app


__all__ = ["API", "create_app"]
