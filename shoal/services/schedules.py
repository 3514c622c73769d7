"""Schedules: the workflows that have a cron schedule, setting, removing, pausing or resuming
one, previewing the fire times of a cron before it is stored, and the scheduler daemon that
fires them.

A schedule is part of its workflow's definition: setting or removing one stores the current
definition with the new schedule as the workflow's next version (`workflows.revise`), exactly
as applying the edited file would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pydantic

from shoal.engine import workflows as engine_workflows
from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.schedule_times import planned_fires
from shoal.engine.scheduler import Scheduler, set_paused
from shoal.errors import InvalidInput, NotFound
from shoal.spec.errors import problems_from_validation_error
from shoal.spec.models import DEFAULT_PROJECT, Schedule
from shoal.store import Store

__all__ = [
    "MAX_PREVIEW", "ScheduleChange", "ScheduleInfo", "SchedulePreview", "Scheduler", "as_schedule", "list_schedules",
    "pause", "preview", "remove_schedule", "resume", "scheduler", "set_schedule",
]

MAX_PREVIEW = 50  # fire times one preview lists


@dataclass(frozen=True)
class ScheduleInfo:
    project: str
    workflow: str
    cron: str
    timezone: str
    catchup: bool
    paused: bool
    next_fire_at: datetime | None  # UTC; None once the schedule has passed its end


@dataclass(frozen=True)
class SchedulePreview:
    """The logical dates a schedule gives runs to, first ones first: `fire_times` in UTC, `local`
    the same instants in the schedule's timezone. With catch-up, the first `catchup_runs` of them
    are already past and get their runs at once when the schedule is stored."""

    cron: str
    timezone: str
    fire_times: list[datetime]
    local: list[datetime]
    catchup_runs: int


@dataclass(frozen=True)
class ScheduleChange:
    """What setting or removing a schedule stored: `version` is the workflow's current version
    (a new one when `changed`), `schedule` its schedule now (None: it has none)."""

    project: str
    workflow: str
    version: int
    changed: bool
    message: str
    schedule: ScheduleInfo | None
    notes: tuple[str, ...] = ()


def as_schedule(data: Schedule | Mapping[str, Any]) -> Schedule:
    """`data` as a Schedule, checked by the model a workflow file's `schedule:` is checked by:
    InvalidInput naming each bad field with the model's own message (nothing is changed)."""
    if isinstance(data, Schedule):
        return data
    try:
        return Schedule.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        found = problems_from_validation_error(exc, dict(data), model=Schedule)
        problems = [{"field": p.field or "schedule", "message": p.message} for p in found]
        first = problems[0]
        raise InvalidInput(f"{first['field']}: {first['message']}", field=first["field"], problems=problems) from None


def preview(
    store: Store, schedule: Schedule | Mapping[str, Any], *, count: int = 5, after: datetime | None = None,
) -> SchedulePreview:
    """The first `count` fire times of `schedule` as the scheduler would fire them were it
    stored at `after` (default: now): catch-up, start and end included. Stores nothing."""
    s = as_schedule(schedule)
    if not 1 <= count <= MAX_PREVIEW:
        raise InvalidInput(f"count: expected 1 to {MAX_PREVIEW} fire times, got {count}", field="count")
    now = datetime.now(UTC) if after is None else (after if after.tzinfo else after.replace(tzinfo=UTC))
    times, due = planned_fires(s, count=count, now=now, max_catchup=store.settings.max_catchup)
    tz = ZoneInfo(s.timezone)
    return SchedulePreview(
        cron=s.cron, timezone=s.timezone, fire_times=[t.astimezone(UTC) for t in times],
        local=[t.astimezone(tz) for t in times], catchup_runs=due,
    )


def set_schedule(
    store: Store, name: str, schedule: Schedule | Mapping[str, Any], *, project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> ScheduleChange:
    """Give a workflow `schedule` (replacing its own): its current definition with that schedule
    becomes its next version, unless it already has exactly that schedule. A paused schedule
    stays paused."""
    s = as_schedule(schedule)
    wanted = s.model_dump(mode="json", exclude_defaults=True)

    def edit(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "schedule": wanted}

    return _revised(store, name, project, actor, edit, f"schedule {s.cron!r} ({s.timezone})")


def remove_schedule(store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> ScheduleChange:
    """Take a workflow's schedule away (a new version without `schedule:`): no more scheduled runs."""

    def edit(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k != "schedule"}

    return _revised(store, name, project, actor, edit, "no schedule")


def _revised(store: Store, name: str, project: str, actor: Actor, edit: Any, what: str) -> ScheduleChange:
    from shoal.services.workflows import revise

    result = revise(store, name, edit, project=project, actor=actor)
    message = (f"version {result.version} stored with {what}" if result.changed
               else f"unchanged: version {result.version} already has {what}; nothing stored")
    return ScheduleChange(result.project, result.name, result.version, result.changed, message,
                          _info(store, result.name, result.project), result.notes)


def list_schedules(store: Store, *, project: str | None = None, actor: Actor = LOCAL) -> list[ScheduleInfo]:
    """Every workflow that has a schedule (of projects `actor` may read), with its next fire time."""
    if project is not None:
        require(actor, project, Role.VIEWER, f"read workflows of project {project!r}")
    rows = engine_workflows.list_workflows(store, project=project)
    found = (
        _info(store, r["name"], r["project"]) for r in rows if r["schedule"] and actor.role_in(r["project"]) is not None
    )
    return [info for info in found if info is not None]  # None: its schedule was removed meanwhile


def pause(store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> ScheduleInfo:
    """Stop creating scheduled runs of a workflow (Conflict if it is paused already)."""
    return _set_paused(store, name, True, project, actor)


def resume(store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> ScheduleInfo:
    """Create scheduled runs again; missed times run only if the schedule has catchup: true."""
    return _set_paused(store, name, False, project, actor)


def _set_paused(store: Store, name: str, paused: bool, project: str, actor: Actor) -> ScheduleInfo:
    require(actor, project, Role.EDITOR, f"{'pause' if paused else 'resume'} schedules of project {project!r}")
    set_paused(store, name, paused, project=project)  # NotFound if it has no schedule
    info = _info(store, name, project)
    if info is None:  # applied without its schedule in the meantime
        raise NotFound(f"workflow {name!r} has no schedule any more")
    return info


def _info(store: Store, name: str, project: str) -> ScheduleInfo | None:
    wf = engine_workflows.get_workflow(store, name, project=project)
    s = wf.schedule
    if s is None:
        return None
    return ScheduleInfo(
        project=wf.project, workflow=wf.name, cron=s["cron"], timezone=s["timezone"], catchup=s["catchup"],
        paused=s["paused"], next_fire_at=s["next_fire_at"],
    )


def scheduler(store: Store) -> Scheduler:
    """The scheduler daemon over `store`: `run_forever()` ticks the cron schedules into runs and
    drives every run until its `stop` event is set."""
    return Scheduler(store)
