"""Schedules: list, preview a cron's fire times, set or remove a workflow's schedule, pause, resume."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, json_response
from shoal.services.schedules import MAX_PREVIEW

router = APIRouter(prefix=API, tags=["schedules"])
ONE = "/projects/{project}/workflows/{name}/schedule"


class ScheduleBody(BaseModel):
    """A workflow's `schedule:` as a file has it; checked by the same model (`spec.models.Schedule`)."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field(description="5-field cron expression or alias, e.g. '30 2 * * *' or '@daily'", max_length=1000)
    timezone: str = Field(default="UTC", description="IANA timezone the cron is read in, e.g. 'Asia/Shanghai'",
                          max_length=200)
    # Text, read by the model as a file's is: a date (2026-01-01) or a local date and time.
    start: str | None = Field(default=None, max_length=40,
                              description="first logical date, YYYY-MM-DD or YYYY-MM-DDTHH:MM (in timezone)")
    end: str | None = Field(default=None, max_length=40,
                            description="last logical date, YYYY-MM-DD (that whole day) or YYYY-MM-DDTHH:MM")
    catchup: bool = Field(default=False, description="run the fire times missed since start (or while paused)")

    def schedule_data(self) -> dict[str, Any]:
        return self.model_dump(include={"cron", "timezone", "start", "end", "catchup"}, exclude_none=True)


class PreviewBody(ScheduleBody):
    """A schedule to preview, and how many fire times from when."""

    count: int = Field(default=5, ge=1, le=MAX_PREVIEW, description="how many fire times")
    after: dt.datetime | None = Field(default=None, description="as if the schedule were stored at this instant "
                                      "(UTC unless it has an offset; default now)")


@router.get("/schedules")
def list_schedules(caller: Caller, store: StoreDep, project: str | None = None) -> Response:
    """Workflows with a schedule, with their next fire time (UTC)."""
    return json_response(services.schedules.list_schedules(store, project=project, actor=caller))


@router.post("/schedules/preview")
def preview_schedule(caller: Caller, store: StoreDep, body: PreviewBody) -> Response:
    """The next fire times of a schedule as the scheduler would fire them (start, end and
    catch-up included), in UTC and in the schedule's timezone; stores nothing. Any user."""
    return json_response(services.schedules.preview(store, body.schedule_data(), count=body.count, after=body.after))


@router.put(ONE)
def set_schedule(caller: Caller, store: StoreDep, project: str, name: str, body: ScheduleBody) -> Response:
    """Store the workflow's current definition with this schedule as its next version (none
    when it already has it: `changed` false); answers the version and the schedule."""
    return json_response(services.schedules.set_schedule(store, name, body.schedule_data(), project=project,
                                                         actor=caller))


@router.delete(ONE)
def remove_schedule(caller: Caller, store: StoreDep, project: str, name: str) -> Response:
    """Store the workflow's current definition without its schedule as its next version."""
    return json_response(services.schedules.remove_schedule(store, name, project=project, actor=caller))


@router.post(ONE + "/{action}")
def pause_or_resume(
    caller: Caller, store: StoreDep, project: str, name: str, action: Literal["pause", "resume"],
) -> Response:
    """Pause a workflow's schedule (no more scheduled runs) or resume it."""
    change = services.schedules.pause if action == "pause" else services.schedules.resume
    return json_response(change(store, name, project=project, actor=caller))
