"""The service layer: what the CLI calls today and the REST API will call tomorrow, one module
per noun. It is the one place that combines the engine, the store and the libraries for a use
case; callers import it and `shoal.errors`, nothing below.

    workflows.py  apply (a file, a directory or a Workflow), list, show, export, delete
    runs.py       trigger, backfill, list (a page at a time), show, stop, rerun, recover, wait
    task_runs.py  one task of a run: attempts, resolved params, outputs
    pages.py      a page of a long list and the cursor of the next (keyset pagination)
    logs.py       task-run logs: which attempts have one, read, follow as they are written
    schedules.py  list the cron schedules, pause and resume one
    home.py       open the metadata database; tell a database outage from other errors
    features.py, models.py   feature sets and the model registry
    users.py      users and API tokens; `authenticate` turns a token into an Actor
    projects.py   projects and their members (viewer, editor, admin)
    task_types.py the installed task types by group, with their params' JSON Schema (the UI's forms)
    metrics.py    monitoring numbers (runs by state, queue depth, lag, durations) for /metrics
    remote/       the same nouns over a server's REST API (the CLI with SHOAL_API_URL set)
    alerts.py     alert deliveries (sent, pending, failed) and a project's default alert rules
    stats.py      run statistics: a workflow's durations and success rate, runs per day, sparklines

Every function takes the `Store` first (and an `Actor` where `engine.access` decides who may
act: the CLI is `LOCAL`), returns dataclasses that serialise to JSON, and raises `shoal.errors`;
task_types' read the installed packages, not the store, and take neither.

Cheap to import: the CLI imports this face to show `--help`, so each name below (and each
module above) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shoal._lazy import lazy_exports

if TYPE_CHECKING:
    from shoal.services import home, logs, metrics, names, runs, schedules, workflows
    from shoal.services.home import Store, open_store
    from shoal.services.names import (
        DEFAULT_PROJECT,
        LOCAL,
        RUN_TERMINAL,
        TASK_TERMINAL,
        Actor,
        Role,
        RunState,
        TaskRunState,
    )
    from shoal.services.runs import RunInfo, TaskRunInfo

_HOMES = {
    "Store": "home", "open_store": "home",
    "DEFAULT_PROJECT": "names", "LOCAL": "names", "Actor": "names", "Role": "names",
    "RunState": "names", "TaskRunState": "names", "RUN_TERMINAL": "names", "TASK_TERMINAL": "names",
    "RunInfo": "runs", "TaskRunInfo": "runs",
}
_MODULES = frozenset({
    "home", "logs", "names", "runs", "schedules", "workflows", "features", "models", "users", "projects",
    "pages", "task_runs", "task_types", "metrics", "alerts", "stats",
})
_exported = lazy_exports(__name__, _HOMES)

__all__ = [
    "DEFAULT_PROJECT", "LOCAL", "RUN_TERMINAL", "TASK_TERMINAL", "Actor", "Role", "RunInfo", "RunState", "Store",
    "TaskRunInfo", "TaskRunState", "home", "logs", "metrics", "names", "open_store", "runs", "schedules", "workflows",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:  # `services.runs.list_runs(...)` without importing every noun up front
        return importlib.import_module(f"{__name__}.{name}")
    return _exported(name)
