"""Workflow definitions in the database: apply (new immutable version only on change), list,
show, delete. Every workflow belongs to a project; `default` unless told otherwise."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.clock import as_aware, fire_times, from_utc_naive, next_fire, to_utc_naive
from shoal.engine.schedule_times import first_fire, schedule_bounds
from shoal.engine.states import RUN_ACTIVE
from shoal.errors import Conflict, InvalidInput, NotFound
from shoal.spec.models import DEFAULT_PROJECT, Workflow
from shoal.spec.secrets import keep_stored_secrets, reads_masked_secret
from shoal.spec.validate import gc_paused
from shoal.store import Store, utcnow
from shoal.store.models import projects, runs, schedules, workflow_versions, workflows
from shoal.store.projects import project_id
from shoal.tasks.registry import get_task_type

ScheduleState = Literal["active", "paused", "none"]  # a filter of `list_workflows`
SCHEDULE_STATES: tuple[str, ...] = ScheduleState.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ApplyResult:
    project: str
    name: str
    version: int
    changed: bool  # False: identical to the current version, nothing stored
    # Unchanged, but applied from other directories than the version's python search path.
    kept_source_dir: str | None = None
    # What the user should know about what was stored (e.g. a catch-up larger than the cap).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredWorkflow:
    id: int
    project: str
    name: str
    version: int
    version_id: int
    spec: Workflow
    source_dir: str | None
    created_at: datetime
    updated_at: datetime
    schedule: dict[str, Any] | None  # cron, timezone, paused, next_fire_at


def apply_workflows(
    store: Store, items: list[tuple[Workflow, str | None]], *, actor: Actor = LOCAL,
) -> list[ApplyResult]:
    """Store each (validated) workflow as a new version where it changed, all in one transaction:
    a directory is applied completely or not at all. `actor` must be an editor of each
    workflow's project, and of every other project a task reaches (a viewer, to only read)."""
    for wf, _ in items:
        check_access(actor, wf)
    # Dumping and hashing a large definition is a bulk allocation (see `gc_paused`); the
    # transaction is held open for the time it takes, so make that short.
    with gc_paused(), store.engine.begin() as conn:
        return [_apply_one(conn, wf, source_dir, store.settings.max_catchup, actor.name) for wf, source_dir in items]


def check_access(actor: Actor, wf: Workflow) -> None:
    """Forbidden unless `actor` may store `wf`: its project, and the projects its tasks reach."""
    require(actor, wf.project, Role.EDITOR, f"apply workflows in project {wf.project!r}")
    for task in wf.tasks:
        for ref in get_task_type(task.type).project_references(task.config):
            if ref.project == wf.project:
                continue
            role = Role.EDITOR if ref.starts_runs else Role.VIEWER
            verb = "start runs of" if ref.starts_runs else "read runs of"
            require(actor, ref.project, role,
                    f"apply {wf.project}/{wf.name}, whose task {task.name!r} would {verb} {ref.project}/{ref.workflow}")


def _apply_one(
    conn: Connection, wf: Workflow, source_dir: str | None, max_catchup: int, author: str,
) -> ApplyResult:
    now = utcnow()
    pid = project_id(conn, wf.project, create=True)
    row = conn.execute(
        select(workflows.c.id, workflows.c.current_version).where(
            workflows.c.project_id == pid, workflows.c.name == wf.name
        )
    ).first()
    current = None
    if row is not None:
        current = conn.execute(
            select(workflow_versions.c.spec_hash, workflow_versions.c.source_dir, workflow_versions.c.spec).where(
                workflow_versions.c.workflow_id == row.id, workflow_versions.c.version == row.current_version
            )
        ).one()
        # A secret shown as *** (an export applied back) keeps the value stored before.
        if reads_masked_secret(wf):
            wf = keep_stored_secrets(wf, Workflow.from_stored(current.spec))
    digest = wf.spec_hash()
    notes = _catchup_notes(wf, max_catchup)
    if row is not None and current is not None:
        if current.spec_hash == digest:
            # Only a changed definition stores a version, and a stored version is immutable, where
            # its python tasks import from included: its runs and reruns keep working.
            moved = current.source_dir if source_dir and current.source_dir != source_dir else None
            return ApplyResult(wf.project, wf.name, row.current_version, changed=False, kept_source_dir=moved,
                               notes=notes)
        workflow_id, version = row.id, row.current_version + 1
        conn.execute(
            update(workflows)
            .where(workflows.c.id == workflow_id)
            .values(current_version=version, description=wf.description, updated_at=now)
        )
    else:
        version = 1
        workflow_id = conn.execute(
            insert(workflows).values(
                project_id=pid, name=wf.name, current_version=1,
                description=wf.description, owner=author, created_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]
    conn.execute(
        insert(workflow_versions).values(
            workflow_id=workflow_id, version=version, spec=wf.to_dict(),
            spec_hash=digest, source_dir=source_dir, created_by=author, created_at=now,
        )
    )
    _sync_schedule(conn, workflow_id, wf)
    return ApplyResult(wf.project, wf.name, version, changed=True, notes=notes)


def _catchup_notes(wf: Workflow, max_catchup: int) -> tuple[str, ...]:
    """Say so when a catch-up schedule already has more fire times due than it will run."""
    s = wf.schedule
    if s is None or not s.catchup or s.start is None:
        return ()
    now = datetime.now(UTC)
    start = as_aware(s.start, s.timezone)
    due = 0
    for _ in fire_times(s.cron, s.timezone, start, now):
        due += 1
        if due > max_catchup:
            return (
                f"catch-up from {s.start.isoformat()} covers more than {max_catchup:,} fire times; only the latest "
                f"{max_catchup:,} get runs (SHOAL_MAX_CATCHUP). Backfill older dates with `shoal backfill "
                f"{wf.name} --start {s.start.isoformat()[:10]} --end ...`",
            )
    return ()


def _sync_schedule(conn: Connection, workflow_id: int, wf: Workflow) -> None:
    existing = conn.execute(select(schedules).where(schedules.c.workflow_id == workflow_id)).first()
    if wf.schedule is None:
        if existing is not None:
            conn.execute(delete(schedules).where(schedules.c.workflow_id == workflow_id))
        return
    s = wf.schedule
    start, end = schedule_bounds(s)
    values = {
        "cron": s.cron, "timezone": s.timezone, "catchup": s.catchup, "updated_at": utcnow(),
        "start_at": to_utc_naive(start) if start else None,
        "end_at": to_utc_naive(end) if end else None,
    }
    unchanged_timing = existing is not None and (
        existing.cron, existing.timezone, existing.start_at, existing.catchup
    ) == (s.cron, s.timezone, values["start_at"], s.catchup)
    if not unchanged_timing:
        values["next_fire_at"] = to_utc_naive(first_fire(s.cron, s.timezone, start, s.catchup))
    elif existing.next_fire_at is None and values["end_at"] != existing.end_at:
        # A schedule that had reached its end, whose end moved: it goes on from where it stopped
        # (catch-up) or from now.
        now = datetime.now(UTC)
        since = from_utc_naive(existing.end_at, s.timezone) if s.catchup and existing.end_at else now
        nxt = next_fire(s.cron, s.timezone, since)
        values["next_fire_at"] = to_utc_naive(nxt) if end is None or nxt <= end else None
    if existing is None:
        conn.execute(insert(schedules).values(workflow_id=workflow_id, paused=False, **values))
    else:
        conn.execute(update(schedules).where(schedules.c.workflow_id == workflow_id).values(**values))


def get_workflow(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, version: int | None = None,
    conn: Connection | None = None,
) -> StoredWorkflow:
    """A stored workflow at `version` (default: current). Raises NotFound naming what is missing."""
    if conn is None:
        with store.engine.connect() as c:
            return get_workflow(store, name, project=project, version=version, conn=c)
    row = conn.execute(
        select(workflows, projects.c.name.label("project"))
        .join(projects, projects.c.id == workflows.c.project_id)
        .where(projects.c.name == project, workflows.c.name == name)
    ).first()
    if row is None:
        raise NotFound(f"workflow {name!r} not found in project {project!r}; `shoal workflow list` shows what exists")
    if version is not None and version < 1:
        raise InvalidInput(f"version {version} does not exist: versions count from 1 (latest is {row.current_version})")
    wanted = version or row.current_version
    ver = conn.execute(
        select(workflow_versions).where(
            workflow_versions.c.workflow_id == row.id, workflow_versions.c.version == wanted
        )
    ).first()
    if ver is None:
        raise NotFound(f"workflow {name!r} has no version {wanted} (latest is {row.current_version})")
    sched = conn.execute(select(schedules).where(schedules.c.workflow_id == row.id)).first()
    return StoredWorkflow(
        id=row.id, project=row.project, name=row.name, version=ver.version, version_id=ver.id,
        spec=Workflow.from_stored(ver.spec), source_dir=ver.source_dir,
        created_at=row.created_at, updated_at=row.updated_at,
        schedule=None if sched is None else {
            "cron": sched.cron, "timezone": sched.timezone, "paused": sched.paused,
            "catchup": sched.catchup, "next_fire_at": sched.next_fire_at,
        },
    )


def version_spec(conn: Connection, version_id: int) -> tuple[Workflow, str | None]:
    row = conn.execute(
        select(workflow_versions.c.spec, workflow_versions.c.source_dir).where(workflow_versions.c.id == version_id)
    ).one()
    return Workflow.from_stored(row.spec), row.source_dir


def list_workflows(
    store: Store, *, search: str | None = None, project: str | None = None, readable: Collection[str] | None = None,
    after: tuple[str, str] | None = None, limit: int | None = None, schedule: ScheduleState | None = None,
    last_state: str | None = None,
) -> list[dict[str, Any]]:
    """Workflows with their current version, owner, schedule and last run state, by project and name.

    `search`: in the name, description or owner; `schedule`: only those whose schedule is active,
    paused or absent (`none`); `last_state`: only those whose newest run is in that state (`none`:
    never run). `readable`: only these projects (None: any); `after`: the (project, name) a page
    ended at."""
    # Per row, the newest run by the (workflow_id) index: a page costs the same on any history.
    last_state_of = (
        select(runs.c.state).where(runs.c.workflow_id == workflows.c.id).order_by(runs.c.id.desc()).limit(1)
        .correlate(workflows).scalar_subquery()
    )
    q = (
        select(
            workflows.c.id, workflows.c.name, workflows.c.current_version, workflows.c.description,
            workflows.c.owner, workflows.c.updated_at, projects.c.name.label("project"),
            schedules.c.cron, schedules.c.paused, last_state_of.label("last_state"),
        )
        .join(projects, projects.c.id == workflows.c.project_id)
        .outerjoin(schedules, schedules.c.workflow_id == workflows.c.id)
        .order_by(projects.c.name, workflows.c.name)
    )
    if project:
        q = q.where(projects.c.name == project)
    if readable is not None:
        q = q.where(projects.c.name.in_(list(readable)))
    if after is not None:
        q = q.where(tuple_(projects.c.name, workflows.c.name) > tuple_(*after))
    if limit is not None:
        q = q.limit(limit)
    if search:
        # autoescape: `_` and `%` in the search are literal text, not LIKE wildcards.
        text = search.lower()
        q = q.where(
            func.lower(workflows.c.name).contains(text, autoescape=True)
            | func.lower(workflows.c.description).contains(text, autoescape=True)
            | func.lower(workflows.c.owner).contains(text, autoescape=True)
        )
    if schedule == "none":
        q = q.where(schedules.c.cron.is_(None))
    elif schedule is not None:
        q = q.where(schedules.c.cron.is_not(None), schedules.c.paused == (schedule == "paused"))
    if last_state == "none":
        q = q.where(last_state_of.is_(None))
    elif last_state is not None:
        q = q.where(last_state_of == last_state)
    with store.engine.connect() as conn:
        return [
            {
                "project": r.project, "name": r.name, "version": r.current_version,
                "description": r.description, "owner": r.owner, "schedule": r.cron,
                "paused": bool(r.paused) if r.cron else None, "last_run_state": r.last_state,
                "updated_at": r.updated_at.isoformat(timespec="seconds"),
            }
            for r in conn.execute(q)
        ]


def list_versions(store: Store, name: str, *, project: str = DEFAULT_PROJECT) -> list[dict[str, Any]]:
    """A workflow's versions, newest first (NotFound if it does not exist)."""
    with store.engine.connect() as conn:
        wf = get_workflow(store, name, project=project, conn=conn)
        rows = conn.execute(
            select(workflow_versions.c.version, workflow_versions.c.spec_hash, workflow_versions.c.created_by,
                   workflow_versions.c.created_at)
            .where(workflow_versions.c.workflow_id == wf.id).order_by(workflow_versions.c.version.desc())
        )
        return [{"version": r.version, "current": r.version == wf.version, "spec_hash": r.spec_hash,
                 "created_by": r.created_by, "created_at": r.created_at} for r in rows]


def delete_workflow(store: Store, name: str, *, project: str = DEFAULT_PROJECT) -> int:
    """Delete a workflow with its versions, schedule and finished runs. Refused while it has
    active runs (stop them first), so no running process is left without its records."""
    with store.engine.begin() as conn:
        wf = get_workflow(store, name, project=project, conn=conn)
        active = conn.execute(
            select(func.count()).select_from(runs).where(
                runs.c.workflow_id == wf.id, runs.c.state.in_([str(s) for s in RUN_ACTIVE])
            )
        ).scalar_one()
        if active:
            raise Conflict(
                f"workflow {name!r} has {active} active run(s); stop them first "
                f"(`shoal runs list --workflow {name}` then `shoal runs stop RUN`)"
            )
        from shoal.store.models import task_runs

        run_ids = select(runs.c.id).where(runs.c.workflow_id == wf.id)
        conn.execute(delete(task_runs).where(task_runs.c.run_id.in_(run_ids)))
        conn.execute(delete(runs).where(runs.c.workflow_id == wf.id))
        conn.execute(delete(schedules).where(schedules.c.workflow_id == wf.id))
        conn.execute(delete(workflow_versions).where(workflow_versions.c.workflow_id == wf.id))
        conn.execute(delete(workflows).where(workflows.c.id == wf.id))
        return wf.id
