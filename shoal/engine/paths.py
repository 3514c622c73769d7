"""Where each attempt's log and result file live: `SHOAL_HOME/logs/<run>/<task>/<attempt>.log`."""

from __future__ import annotations

import os
from pathlib import Path


def attempt_dir(logs_dir: Path, run_id: int, task: str) -> Path:
    return logs_dir / str(run_id) / task


def log_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return logs_dir.joinpath(f"{run_id}/{task}/{attempt}.log")


def result_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return logs_dir.joinpath(f"{run_id}/{task}/{attempt}.result.json")


def attempt_files(logs_dir: Path, run_id: int, task: str, attempt: int) -> tuple[str, str]:
    """`log_path` and `result_path` as strings, for every attempt the engine starts (no Path
    objects built on the hot path)."""
    base = f"{logs_dir}{os.sep}{run_id}{os.sep}{task}{os.sep}{attempt}"
    return f"{base}.log", f"{base}.result.json"
