"""What the feature and ML task types share: the run's store, paths, and their artifact folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

from shoal.config import get_settings
from shoal.store import Store, open_store
from shoal.tasks.base import TaskContext

Isolation = Literal["fork", "worker"]


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
    """A fresh folder for what this task run writes.

    Default: SHOAL_ARTIFACTS/runs/<project>/<workflow>/<run>/<task>; a retry starts it afresh so
    no attempt sees another's half-written files. A relative `output` goes under the artifacts.
    """
    base = Path(get_settings().artifacts_url)
    if output:
        path = Path(output) if Path(output).is_absolute() else base / output
    else:
        path = base / "runs" / ctx.project / ctx.workflow / str(ctx.run_id) / ctx.task
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
