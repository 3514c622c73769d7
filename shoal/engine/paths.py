"""Where each attempt's log and result file live: `SHOAL_HOME/logs/<run>/<task>/<attempt>.log`."""

from __future__ import annotations

import os
from pathlib import Path


def attempt_dir(logs_dir: Path, run_id: int, task: str) -> Path:
    return logs_dir / str(run_id) / task


def attempt_files(logs_dir: Path, run_id: int, task: str, attempt: int) -> tuple[str, str]:
    """An attempt's log and result file, as strings: built for every attempt the engine starts,
    so no Path objects on that path."""
    base = f"{logs_dir}{os.sep}{run_id}{os.sep}{task}{os.sep}{attempt}"
    return f"{base}.log", f"{base}.result.json"


def log_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return Path(attempt_files(logs_dir, run_id, task, attempt)[0])


def result_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return Path(attempt_files(logs_dir, run_id, task, attempt)[1])
