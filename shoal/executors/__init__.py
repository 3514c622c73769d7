"""Executors start task processes and report how they ended (see `base` for the contract).

`LocalExecutor` runs attempts on this machine through one warm fork-server process
(`_server.py`); `Capacity`/`Slots` say how much of the machine the engine may hand out.

Exports are loaded lazily: the executor server runs `python -m shoal.executors._server`, which
imports this package first, and every module it imports makes each fork of it slower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal._lazy import lazy_exports

if TYPE_CHECKING:
    from shoal.executors.base import Launch, Result
    from shoal.executors.capacity import Capacity, Slots, default_capacity
    from shoal.executors.local import ExecutorDied, LocalExecutor

__all__ = ["Capacity", "ExecutorDied", "Launch", "LocalExecutor", "Result", "Slots", "default_capacity"]

_HOMES = {
    "Launch": "base",
    "Result": "base",
    "Capacity": "capacity",
    "Slots": "capacity",
    "default_capacity": "capacity",
    "ExecutorDied": "local",
    "LocalExecutor": "local",
}


__getattr__ = lazy_exports(__name__, _HOMES)
