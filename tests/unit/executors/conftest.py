"""Fixtures for the executor tests: real executor processes, attempts under tmp_path."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import psutil
import pytest

from shoal.executors.base import Launch, Result
from shoal.executors.local import LocalExecutor

HERE = str(Path(__file__).parent)  # `targets` is imported from here by forked children
_keys = itertools.count(1)


class MakeLaunch(Protocol):
    def __call__(self, kind: str = "command", **fields: Any) -> Launch: ...


@pytest.fixture
def make_launch(tmp_path: Path) -> MakeLaunch:
    """A Launch with a fresh key and its log/result files under tmp_path (in a new sub dir)."""

    def make(kind: str = "command", **fields: Any) -> Launch:
        n = next(_keys)
        fields.setdefault("key", f"{n}:1")
        if kind == "python":
            fields.setdefault("sys_path", [HERE])
        fields.setdefault("log_path", str(tmp_path / "logs" / f"t{n}" / "attempt.log"))
        fields.setdefault("result_path", str(tmp_path / "logs" / f"t{n}" / "result.json"))
        return Launch(kind=kind, **fields)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="module")
def ex() -> Iterator[LocalExecutor]:
    """One executor per test module; tests that need other settings start their own."""
    with LocalExecutor(preload=["shoal.errors"], workers=2, kill_grace=0.5) as executor:
        yield executor


def wait_for(executor: LocalExecutor, key: str, timeout: float = 10.0) -> Result:
    """Poll until the Result of `key` arrives (other results are dropped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for result in executor.poll(deadline - time.monotonic()):
            if result.key == key:
                return result
    raise AssertionError(f"no result for {key} within {timeout}s")


def wait_gone(procs: list[psutil.Process], timeout: float = 5.0) -> list[psutil.Process]:
    """Wait until these processes are dead (zombies count as dead); return the survivors."""
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _is_alive(p)]
        if alive:
            time.sleep(0.01)
    return alive


def pid_gone(pid: int, timeout: float = 5.0) -> bool:
    """Wait until `pid` has exited (a zombie counts); False if it is still running."""
    try:
        return not wait_gone([psutil.Process(pid)], timeout)
    except psutil.NoSuchProcess:
        return True


def _is_alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def kill_session_leftovers(sid: int) -> None:
    """Kill what is left of an attempt's session (a background process it started on purpose)."""
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                proc.kill()
        except (OSError, psutil.Error):
            pass


def run(executor: LocalExecutor, launch: Launch, timeout: float = 10.0) -> Result:
    executor.submit(launch)
    return wait_for(executor, launch.key, timeout)
