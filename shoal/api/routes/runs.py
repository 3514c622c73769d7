"""Runs: start, backfill, list a page, show, stop, pause, resume, rerun, recover; task runs,
their logs (whole, a byte range, followed live) and a run's changes as server-sent events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, Caller, Id, Limit, StoreDep, json_response
from shoal.api.sse import open_stream

router = APIRouter(prefix=API, tags=["runs"])
RUN = "/projects/{project}/runs/{run_id}"
TASK = RUN + "/tasks/{task}"
# Documented as an event stream; the route returns the stream itself (`api.sse.open_stream`).
SSE = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}}


class RunRequest(BaseModel):
    """Start a run of a workflow's current version."""

    workflow: str = Field(description="the workflow's name")
    project: str = Field(default=services.DEFAULT_PROJECT, description="the workflow's project")
    params: dict[str, str] = Field(default_factory=dict, description="run-time parameters (values are data)")
    date: dt.datetime | dt.date | None = Field(default=None, description="logical date (default: now)")
    disable: list[str] = Field(default_factory=list, description="tasks that count as succeeded without running")


class BackfillRequest(BaseModel):
    """A run for every logical date of a range (the workflow's schedule's dates, else daily)."""

    workflow: str = Field(description="the workflow's name")
    project: str = Field(default=services.DEFAULT_PROJECT, description="the workflow's project")
    start: dt.date = Field(description="first logical date")
    end: dt.date = Field(description="last logical date (inclusive)")
    parallel: int = Field(default=1, ge=1, le=1000, description="runs of the range running at once")
    order: Literal["asc", "desc"] = Field(default="asc", description="oldest date first, or newest first")
    params: dict[str, str] = Field(default_factory=dict, description="run-time parameters of every run")
    disable: list[str] = Field(default_factory=list, description="tasks that count as succeeded without running")
    dry_run: bool = Field(default=False, description="only check and answer the logical dates (200), create nothing")


class RerunRequest(BaseModel):
    from_task: str = Field(description="run this task and everything downstream of it again")


@router.post("/runs", status_code=201)
def start_run(caller: Caller, store: StoreDep, body: RunRequest) -> Response:
    """Queue a run; a scheduler (`shoal scheduler`) drives it."""
    info = services.runs.trigger(store, body.workflow, project=body.project, params=body.params,
                                 logical_date=body.date, disabled=body.disable, actor=caller)
    return json_response(info, 201)


@router.post("/backfills", status_code=201)
def start_backfill(caller: Caller, store: StoreDep, body: BackfillRequest) -> Response:
    """Queue the runs of a date range (`parallel` at a time, in `order`); answers their ids.
    With `dry_run`: the same checks, and the logical dates it would run (200), nothing created."""
    if body.dry_run:
        return json_response(services.runs.plan_backfill(
            store, body.workflow, start=body.start, end=body.end, project=body.project, parallel=body.parallel,
            descending=body.order == "desc", actor=caller,
        ))
    result = services.runs.backfill(
        store, body.workflow, start=body.start, end=body.end, project=body.project, parallel=body.parallel,
        descending=body.order == "desc", params=body.params, disabled=body.disable, actor=caller,
    )
    return json_response(result, 201)


@router.get("/runs")
def list_runs(
    caller: Caller, store: StoreDep, project: str | None = None, workflow: str | None = None,
    state: str | None = None, trigger: str | None = None,
    since: Annotated[dt.datetime | dt.date | None, Query(description="logical date from (inclusive)")] = None,
    until: Annotated[dt.datetime | dt.date | None, Query(description="logical date to (inclusive)")] = None,
    cursor: str | None = None, limit: Limit = 50,
) -> Response:
    """Runs of the projects the caller may read, newest first, a page at a time: pass
    `next_cursor` back as `cursor` for the next page (each page costs the same on any history)."""
    return json_response(services.runs.runs_page(
        store, cursor=cursor, limit=limit, project=project, workflow=workflow, state=state, since=since,
        until=until, trigger=trigger, actor=caller,
    ))


@router.get(RUN)
def show_run(caller: Caller, store: StoreDep, project: str, run_id: Id) -> Response:
    """A run with its task runs (a run is addressed within its project)."""
    return json_response(services.runs.show(store, run_id, project=project, actor=caller))


@router.post(RUN + "/rerun")
def rerun(caller: Caller, store: StoreDep, project: str, run_id: Id, body: RerunRequest) -> Response:
    """Run a task and everything downstream of it again (the run must have ended)."""
    count = services.runs.rerun(store, run_id, body.from_task, project=project, actor=caller)
    return json_response({"run": run_id, "tasks": count})


@router.post(RUN + "/recover")
def recover(caller: Caller, store: StoreDep, project: str, run_id: Id) -> Response:
    """Run the failed, stopped and upstream-failed tasks of an ended run again."""
    return json_response({"run": run_id, "tasks": services.runs.recover(store, run_id, project=project,
                                                                        actor=caller)})


# After /rerun and /recover: a path parameter would take their names too.
@router.post(RUN + "/{action}")
def change_run(
    caller: Caller, store: StoreDep, project: str, run_id: Id, action: Literal["stop", "pause", "resume"],
) -> Response:
    """Stop a run (and its sub-workflow runs), pause it (no task starts; running ones finish) or
    resume it; 409 when its state does not allow it."""
    change, done = {"stop": (services.runs.stop, "stopped"), "pause": (services.runs.pause, "paused"),
                    "resume": (services.runs.resume, "resumed")}[action]
    return json_response({done: change(store, [run_id], project=project, actor=caller)})


@router.get(RUN + "/events", response_class=Response, responses=SSE)
def run_events(caller: Caller, store: StoreDep, project: str, run_id: Id) -> EventSourceResponse:
    """The run as it changes, as server-sent events: `run` (the run with its task runs; first,
    and whenever its state changes), `task` (a task run whose state or attempt changed), then
    `end` once it has ended."""
    events = services.runs.watch(store, run_id, project=project, actor=caller, idle=True)
    return open_stream(events, lambda e: (e.kind, e.data))


@router.get(TASK)
def show_task_run(caller: Caller, store: StoreDep, project: str, run_id: Id, task: str) -> Response:
    """A task run: state, attempts (with their log sizes), resolved params, outputs, error."""
    return json_response(services.task_runs.show(store, run_id, task, project=project, actor=caller))


@router.get(TASK + "/log", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def task_log(
    caller: Caller, store: StoreDep, project: str, run_id: Id, task: str,
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


@router.get(TASK + "/log/follow", response_class=Response, responses=SSE)
def follow_task_log(
    caller: Caller, store: StoreDep, project: str, run_id: Id, task: str,
    attempt: Annotated[int | None, Query(ge=1)] = None,
) -> EventSourceResponse:
    """A task's log lines as they are written, as server-sent events until the task has ended:
    `attempt` (an attempt's log begins), `line` ({attempt, text}), `undriven` (no scheduler is
    driving the run), then `end`."""
    lines = services.logs.follow(store, run_id, task, attempt, project=project, actor=caller, idle=True)
    return open_stream(lines, _log_event)


def _log_event(item: Any) -> tuple[str, Any]:
    if isinstance(item, services.logs.LogLine):
        return "line", {"attempt": item.attempt, "text": item.text}
    if isinstance(item, services.logs.NewAttempt):
        return "attempt", {"attempt": item.attempt}
    return "undriven", {"run": item.run_id}
