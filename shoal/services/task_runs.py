"""Task runs: one task of a run with its attempts, resolved params and outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shoal.engine.access import LOCAL, Actor
from shoal.engine.run_info import get_run
from shoal.services.logs import log_paths, select_tasks
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store

__all__ = ["AttemptInfo", "TaskRunDetail", "show"]


@dataclass(frozen=True)
class AttemptInfo:
    attempt: int
    log_bytes: int  # the size of its log now (0: none on this host)


@dataclass(frozen=True)
class TaskRunDetail:
    """A task of a run. `params`: what its attempt is given, rendered from the run's own version,
    run-time params and upstream outputs (secrets `***`), and `values`: those of the references
    in its code fields; None with `params_error` while they cannot be rendered (an upstream
    output that does not exist yet)."""

    run_id: int
    project: str
    workflow: str
    task: str
    type: str
    state: str
    attempt: int
    max_attempts: int
    started_at: datetime | None
    ended_at: datetime | None
    duration: float | None
    upstream: list[str]
    outputs: dict[str, Any]
    error: str | None
    note: str | None
    attempts: list[AttemptInfo]
    params: dict[str, Any] | None
    values: dict[str, Any] | None  # of the references in its code fields (command, SQL): passed as data
    params_error: str | None


def show(
    store: Store, run_id: int, task: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL,
) -> TaskRunDetail:
    """One task run of a run of `project` (viewer); NotFound names the run's tasks."""
    from shoal.engine.task_params import resolved_params  # brings templating and the task types
    from shoal.engine.workflows import get_workflow

    info = get_run(store, run_id, project=project, actor=actor)
    (t,) = select_tasks(info, task)  # NotFound for a task the run does not have
    logs = {int(path.stem): path for path in log_paths(store, info, task)}
    spec = get_workflow(store, info.workflow, project=project, version=info.version).spec.task(task)
    resolved = resolved_params(store, run_id, task)
    return TaskRunDetail(
        run_id=run_id, project=info.project, workflow=info.workflow, task=task, type=spec.type, state=t.state,
        attempt=t.attempt, max_attempts=t.max_attempts, started_at=t.started_at, ended_at=t.ended_at,
        duration=t.duration, upstream=list(spec.upstream), outputs=t.outputs, error=t.error, note=t.note,
        attempts=[AttemptInfo(n, _size(logs.get(n))) for n in range(1, t.attempt + 1)], params=resolved.params,
        values=resolved.values, params_error=resolved.error,
    )


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0
