"""Schedules: the workflows that have a cron schedule, pausing or resuming one, and the
scheduler daemon that fires them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shoal.engine import workflows as engine_workflows
from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.scheduler import Scheduler, set_paused
from shoal.errors import NotFound
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store

__all__ = ["ScheduleInfo", "Scheduler", "list_schedules", "pause", "resume", "scheduler"]


@dataclass(frozen=True)
class ScheduleInfo:
    project: str
    workflow: str
    cron: str
    timezone: str
    catchup: bool
    paused: bool
    next_fire_at: datetime | None  # UTC; None once the schedule has passed its end


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
