"""Runs: start, list, show, stop; task logs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, json_response

router = APIRouter(prefix=API, tags=["runs"])


class RunRequest(BaseModel):
    """Start a run of a workflow's current version."""

    workflow: str = Field(description="the workflow's name")
    project: str = Field(default=services.DEFAULT_PROJECT, description="the workflow's project")
    params: dict[str, str] = Field(default_factory=dict, description="run-time parameters (values are data)")
    date: dt.datetime | dt.date | None = Field(default=None, description="logical date (default: now)")
    disable: list[str] = Field(default_factory=list, description="tasks that count as succeeded without running")


@router.post("/runs", status_code=201)
def start_run(caller: Caller, store: StoreDep, body: RunRequest) -> Response:
    """Queue a run; a scheduler (`shoal scheduler`) drives it."""
    info = services.runs.trigger(store, body.workflow, project=body.project, params=body.params,
                                 logical_date=body.date, disabled=body.disable, actor=caller)
    return json_response(info, 201)


@router.get("/runs")
def list_runs(
    caller: Caller, store: StoreDep, project: str | None = None, workflow: str | None = None,
    state: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """Recent runs, newest first, of the projects the caller may read."""
    return json_response(services.runs.list_runs(store, project=project, workflow=workflow, state=state, limit=limit,
                                                 actor=caller))


@router.get("/projects/{project}/runs/{run_id}")
def show_run(caller: Caller, store: StoreDep, project: str, run_id: int) -> Response:
    """A run with its task runs (a run is addressed within its project)."""
    return json_response(services.runs.show(store, run_id, project=project, actor=caller))


@router.post("/projects/{project}/runs/{run_id}/stop")
def stop_run(caller: Caller, store: StoreDep, project: str, run_id: int) -> Response:
    """Stop a run and its sub-workflow runs."""
    return json_response({"stopped": services.runs.stop(store, [run_id], project=project, actor=caller)})


@router.get("/projects/{project}/runs/{run_id}/tasks/{task}/log", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def task_log(
    caller: Caller, store: StoreDep, project: str, run_id: int, task: str,
    attempt: Annotated[int | None, Query(ge=1)] = None, offset: Annotated[int, Query(ge=0)] = 0,
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
