"""Run statistics for the UI's charts: a workflow's last runs with durations and a summary,
runs per day by state, and the last runs of many workflows at once (the list's sparklines)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, json_response
from shoal.services.stats import MAX_DAYS, MAX_LAST, MAX_RECENT_LAST, MAX_RECENT_WORKFLOWS

router = APIRouter(prefix=API, tags=["stats"])


@router.get("/projects/{project}/workflows/{name}/stats")
def workflow_stats(
    caller: Caller, store: StoreDep, project: str, name: str,
    last: Annotated[int, Query(ge=1, le=MAX_LAST, description="how many of the newest runs")] = 50,
) -> Response:
    """The workflow's last `last` runs, oldest first, with their durations (seconds; null until a
    run has ended), and a summary: finished runs, success rate among them, and mean, p50, p90
    and max duration of the succeeded ones."""
    return json_response(services.stats.workflow_stats(store, name, project=project, last=last, actor=caller))


@router.get("/stats/runs-per-day")
def runs_per_day(
    caller: Caller, store: StoreDep, project: str | None = None, workflow: str | None = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="days up to today (UTC)")] = 30,
) -> Response:
    """Runs created on each UTC day of the last `days`, by state (every day and state present,
    zeros included), over the projects the caller may read, or `project`; `workflow` keeps the
    runs of workflows of that name."""
    return json_response(services.stats.runs_per_day(store, project=project, workflow=workflow, days=days,
                                                     actor=caller))


@router.get("/stats/recent-runs")
def recent_runs(
    caller: Caller, store: StoreDep,
    workflow: Annotated[list[str], Query(min_length=1, max_length=MAX_RECENT_WORKFLOWS,
                                         description="project/name, repeated (up to 100)")],
    last: Annotated[int, Query(ge=1, le=MAX_RECENT_LAST, description="runs of each workflow")] = 20,
) -> Response:
    """The last `last` runs (id, state, logical date, duration) of each workflow named, oldest
    first, keyed `project/name`, in one answer: what a page of the Workflows list draws as
    sparklines. Workflows that do not exist are listed under `missing`."""
    return json_response(services.stats.recent_runs(store, workflow, last=last, actor=caller))
