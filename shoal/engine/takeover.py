"""Taking a run over from a driver that went away (or from this one, after a reload).

What the previous driver left is read here from the run's rows; what became of the attempts it
handed to an executor is the executor's to say (`Executor.recover`), since only it knows where
they ran. The driver records the outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shoal.config import Settings
from shoal.engine.paths import attempt_files, claim_run_dir, run_dir
from shoal.engine.states import TaskRunState
from shoal.executors.base import Attempt

log = logging.getLogger(__name__)


def claim_dirs(row: Any, spec: Any, settings: Settings, logs_dir: Path, *, has_run: bool) -> None:
    """The run's logs folder, and its artifacts folder if there is one (local artifacts),
    are made this run's: run ids restart at 1 in a fresh database (see `claim_run_dir`)."""
    folders = [(run_dir(logs_dir, row.id), True)]
    if "://" not in settings.artifacts_url:
        # Made by the tasks that write artifacts (`task_dir`), not by the claim.
        folders.append((settings.run_artifacts_dir(spec.project, spec.name, row.id), False))
    for folder, create in folders:
        moved = claim_run_dir(folder, row.created_at, has_run, create=create)
        if moved is not None:
            log.warning("run %s: %s held files of another run (an earlier database's?); moved to %s",
                        row.id, folder, moved)


def attempts_left_running(trows: Iterable[Any], logs_dir: Path, names: Iterable[str] | None = None) -> list[Attempt]:
    """The attempts the rows say are running (of the tasks `names`, if given), as an executor
    needs them to find out how they ended."""
    wanted = None if names is None else set(names)
    return [
        Attempt(
            key=f"{t.id}:{t.attempt}",
            result_path=attempt_files(logs_dir, t.run_id, t.task_name, t.attempt)[1],
            host=t.host, executor_pid=t.executor_pid,
        )
        for t in trows
        if t.state == TaskRunState.RUNNING and (wanted is None or t.task_name in wanted)
    ]


__all__ = ["attempts_left_running", "claim_dirs"]
