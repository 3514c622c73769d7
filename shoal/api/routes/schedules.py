"""Schedules: list, pause, resume."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, json_response

router = APIRouter(prefix=API, tags=["schedules"])


@router.get("/schedules")
def list_schedules(caller: Caller, store: StoreDep, project: str | None = None) -> Response:
    """Workflows with a schedule, with their next fire time (UTC)."""
    return json_response(services.schedules.list_schedules(store, project=project, actor=caller))


@router.post("/projects/{project}/workflows/{name}/schedule/{action}")
def set_schedule(
    caller: Caller, store: StoreDep, project: str, name: str, action: Literal["pause", "resume"],
) -> Response:
    """Pause a workflow's schedule (no more scheduled runs) or resume it."""
    change = services.schedules.pause if action == "pause" else services.schedules.resume
    return json_response(change(store, name, project=project, actor=caller))
