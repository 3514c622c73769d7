"""Where each attempt's log and result file live: `SHOAL_HOME/logs/<run>/<task>/<attempt>.log`."""

from __future__ import annotations

from pathlib import Path


def attempt_dir(logs_dir: Path, run_id: int, task: str) -> Path:
    return logs_dir / str(run_id) / task


def log_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    # One join, not three: these are built for every attempt the engine starts.
    return logs_dir.joinpath(f"{run_id}/{task}/{attempt}.log")


def result_path(logs_dir: Path, run_id: int, task: str, attempt: int) -> Path:
    return logs_dir.joinpath(f"{run_id}/{task}/{attempt}.result.json")
