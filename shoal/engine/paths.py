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


def append_log_line(logs_dir: Path, run_id: int, task: str, attempt: int, message: str) -> None:
    """A timestamped line in an attempt's log, written by the engine (not by the task): why it
    did not start, what an engine-driven task decided, that it was lost. The owner's only."""
    path = log_path(logs_dir, run_id, task, attempt)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path, "a", opener=lambda p, flags: os.open(p, flags, 0o600)) as f:
        f.write(f"[{datetime.now().isoformat(sep=' ', timespec='milliseconds')}] {message}\n")


def result_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return Path(attempt_files(logs_dir, run_id, task, attempt)[1])


RUN_MARK = ".run"  # in a run's directory: which run of which database the directory belongs to


def run_dir_is_its_own(logs_dir: Path, run_id: int, created_at: datetime, has_run: bool) -> bool:
    """Do the files in `logs/<run>/` belong to this run (see `claim_run_dir`)? A reader that asks
    before a driver claimed the run shows none of another run's."""
    found = _mark(run_dir(logs_dir, run_id))
    return found == created_at.isoformat() or (found is None and has_run)


def claim_run_dir(folder: Path, created_at: datetime, has_run: bool, create: bool = True) -> Path | None:
    """Make `folder` (a run's `logs/<run>/`, or its artifacts folder) this run's before its
    attempts use it; returns where a directory left by another run was moved, if one was.
    Without `create`, a folder that does not exist is left so.

    A database started afresh, or another one under the same SHOAL_HOME, numbers its runs from 1
    again, and files left in `logs/<run>/` by a run of the other database would pass for this
    run's: a result file for an attempt that never ran (a takeover would record it instead of
    running the task), old lines in its logs. The directory is marked with the run's creation
    time (unique per run in practice); one marked otherwise, or unmarked while the run has never
    run (`has_run`: some task has an attempt), belongs to another run and is moved aside, never
    deleted. If this run's own directory was moved aside before (two databases taking turns),
    it comes back."""
    ours = created_at.isoformat()
    found = _mark(folder)
    if found == ours:
        return None
    moved = None
    if folder.exists() and (found is not None or not has_run):
        moved = _aside(folder)
        folder.rename(moved)
    if moved is not None or not folder.exists():
        earlier = next((d for d in sorted(folder.parent.glob(f"{folder.name}.earlier-*")) if _mark(d) == ours), None)
        if earlier is not None:
            earlier.rename(folder)
    if not create and not folder.exists():
        return moved
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mark = folder / RUN_MARK
    tmp = mark.with_name(f"{RUN_MARK}.tmp")
    with open(tmp, "w", opener=lambda p, flags: os.open(p, flags, 0o600)) as f:
        f.write(ours)
    tmp.replace(mark)
    return moved


def _mark(folder: Path) -> str | None:
    try:
        return (folder / RUN_MARK).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _aside(folder: Path) -> Path:
    stamp = int(time.time())
    moved, n = folder.with_name(f"{folder.name}.earlier-{stamp}"), 1
    while moved.exists():
        n += 1
        moved = folder.with_name(f"{folder.name}.earlier-{stamp}-{n}")
    return moved
