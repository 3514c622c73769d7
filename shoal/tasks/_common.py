"""What the feature and ML task types share: the run's store, paths, and their artifact folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from shoal.config import get_settings
from shoal.errors import TaskFailed
from shoal.store import Store, open_store
from shoal.tasks.base import Isolation, TaskContext

__all__ = ["Isolation", "number", "resolve", "run_store", "task_dir", "version"]


def run_store() -> Store:
    """The run's metadata database, from the SHOAL_* variables the engine passes down."""
    return open_store(get_settings())


def resolve(path: str, ctx: TaskContext) -> Path:
    """A relative path is looked up in the directories the workflow was applied from."""
    p = Path(path)
    if p.is_absolute():
        return p
    for base in (ctx.source_dir or "").split(os.pathsep):
        if base and (Path(base) / p).exists():
            return Path(base) / p
    return p


def task_dir(ctx: TaskContext, output: str | None = None) -> Path:
    """The folder this task run writes to.

    Default: SHOAL_ARTIFACTS/runs/<project>/<workflow>/<run>/<task>, started afresh so a retry
    never sees an earlier attempt's half-written files. A folder the user names with `output`
    (relative: under the artifacts) is never emptied: tasks replace their files in it atomically.
    """
    settings = get_settings()
    base = Path(settings.artifacts_url)
    if output:
        path = Path(output) if Path(output).is_absolute() else base / output
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = settings.run_artifacts_dir(ctx.project, ctx.workflow, ctx.run_id) / ctx.task
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def number(value: float | int | str, field: str) -> float:
    """A number given as such or as a rendered `${task.key}` reference (text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TaskFailed(f"{field}: {value!r} is not a number") from None


def version(value: int | str | None, field: str = "version") -> int | None:
    """A version number given as such or as a rendered reference; empty means "the latest"."""
    if value is None or value == "":
        return None
    as_float = number(value, field)
    if not as_float.is_integer() or as_float < 1:
        raise TaskFailed(f"{field}: {value!r} is not a version number")
    return int(as_float)
