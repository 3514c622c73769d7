"""The no-op callable of the python tasks that engine_overhead.py runs in shoal."""

from __future__ import annotations


def noop(**kwargs: object) -> dict:
    return {}
