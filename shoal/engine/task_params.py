"""A task run's params as its attempt sees them: rendered from the run's own workflow version,
its run-time params and its upstream outputs, exactly as the driver renders them to launch it
(`Launcher`), with the run's secrets masked. For `shoal` readers (the API, the run view); the
values are recomputed, not stored, so they are what the next (or last) attempt gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from shoal.engine.launch import Launcher, one_line
from shoal.engine.runtime import ActiveRun
from shoal.engine.workflows import version_spec
from shoal.errors import NotFound
from shoal.spec.secrets import mask_value
from shoal.store import Store
from shoal.store.models import runs, task_runs


@dataclass(frozen=True)
class Resolved:
    """A task's rendered params, the values its code fields' references have (passed to the
    task as data, not pasted into its code; None when it splices them), or why they cannot be
    rendered yet (e.g. an upstream output that does not exist until its task has run)."""

    params: dict[str, Any] | None
    values: dict[str, Any] | None
    error: str | None


def resolved_params(store: Store, run_id: int, task: str) -> Resolved:
    with store.engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id} not found")
        spec, source_dir = version_spec(conn, row.version_id)
        trows = conn.execute(select(task_runs).where(task_runs.c.run_id == run_id)).all()
    try:
        run = ActiveRun.from_rows(row, spec, source_dir, trows)
    except Exception as exc:  # noqa: BLE001 - e.g. a plugin that no longer imports: say so, do not fail the read
        return Resolved(None, None, one_line(exc))
    if task not in run.tasks:
        raise NotFound(f"run {run_id} has no task {task!r}")
    ts = run.tasks[task]
    launcher = Launcher(store.logs_dir, {}, {})
    secrets = launcher.secrets_of(run, ts)
    try:
        params, values = launcher.render(run, ts, launcher.scope(run, ts, max(ts.attempt, 1)))
    except Exception as exc:  # noqa: BLE001 - the same failure its launch reports: shown, not raised
        return Resolved(None, None, mask_value(one_line(exc), secrets))
    return Resolved(mask_value(params.model_dump(mode="json"), secrets), mask_value(values, secrets), None)


__all__ = ["Resolved", "resolved_params"]
