"""Executors start task attempts and report how they ended (`base.Executor` is the contract).

`LocalExecutor` runs attempts on this machine through one warm fork-server process
(`_server.py`); `InlineExecutor` runs them inside the calling process, to the end, as they are
submitted (tests that step the engine); `Capacity`/`Slots` say how much of the machine the
engine may hand out.

Exports are loaded lazily: the executor server runs `python -m shoal.executors._server`, which
imports this package first, and every module it imports makes each fork of it slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal._lazy import lazy_exports

if TYPE_CHECKING:
    from shoal.executors.base import Attempt, Executor, ExecutorDied, Launch, Result
    from shoal.executors.capacity import Capacity, Slots, default_capacity
    from shoal.executors.inline import InlineExecutor
    from shoal.executors.local import LocalExecutor

__all__ = [
    "Attempt", "Capacity", "Executor", "ExecutorDied", "InlineExecutor", "Launch", "LocalExecutor", "Result", "Slots",
    "default_capacity",
]

_HOMES = {
    "Attempt": "base",
    "Executor": "base",
    "Launch": "base",
    "Result": "base",
    "InlineExecutor": "inline",
    "Capacity": "capacity",
    "Slots": "capacity",
    "default_capacity": "capacity",
    "ExecutorDied": "base",
    "LocalExecutor": "local",
}


__getattr__ = lazy_exports(__name__, _HOMES)
