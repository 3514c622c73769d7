"""Where each attempt's log and result file live: `SHOAL_HOME/logs/<run>/<task>/<attempt>.log`,
and the mark that says which run a `logs/<run>/` directory belongs to."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path


def run_dir(logs_dir: Path, run_id: int) -> Path:
    return logs_dir / str(run_id)


def attempt_dir(logs_dir: Path, run_id: int, task: str) -> Path:
    return run_dir(logs_dir, run_id) / task


def attempt_files(logs_dir: Path, run_id: int, task: str, attempt: int) -> tuple[str, str]:
    """An attempt's log and result file, as strings: built for every attempt the engine starts,
    so no Path objects on that path."""
    base = f"{logs_dir}{os.sep}{run_id}{os.sep}{task}{os.sep}{attempt}"
    return f"{base}.log", f"{base}.result.json"


def log_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return Path(attempt_files(logs_dir, run_id, task, attempt)[0])


def result_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return Path(attempt_files(logs_dir, run_id, task, attempt)[1])


RUN_MARK = ".run"  # in a run's directory: which run of which database the directory belongs to


def claim_run_dir(logs_dir: Path, run_id: int, created_at: datetime, has_run: bool) -> Path | None:
    """Make `logs/<run>/` this run's before its attempts use it; returns where a directory left
    by another run was moved, if one was.

    A database started afresh, or another one under the same SHOAL_HOME, numbers its runs from 1
    again, and files left in `logs/<run>/` by a run of the other database would pass for this
    run's: a result file for an attempt that never ran (a takeover would record it instead of
    running the task), old lines at the top of its logs. The directory is marked with the run's
    creation time (unique per run in practice); one marked otherwise, or unmarked while the run
    has never run (`has_run`: some task has an attempt), belongs to another run and is moved
    aside, never deleted."""
    folder = run_dir(logs_dir, run_id)
    mark = folder / RUN_MARK
    ours = created_at.isoformat()
    try:
        found: str | None = mark.read_text()
    except FileNotFoundError:
        found = None
    if found == ours:
        return None
    moved = None
    if folder.exists() and (found is not None or not has_run):
        moved = folder.with_name(f"{run_id}.earlier-{int(time.time())}")
        n = 1
        while moved.exists():
            n += 1
            moved = folder.with_name(f"{run_id}.earlier-{int(time.time())}-{n}")
        folder.rename(moved)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = mark.with_name(f"{RUN_MARK}.tmp")
    tmp.write_text(ours)
    tmp.replace(mark)
    return moved
