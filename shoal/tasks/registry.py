"""Task types discovered from the `shoal.tasks` entry point group.

A plugin that fails to import is logged and skipped, so one broken package cannot take the
scheduler down; two plugins claiming one name is an error that says which packages collide.

A type's module is imported the first time the type is asked for (`get_task_type`): a task
process (forked from the executor's fork server) imports only the type it runs, and the fork
server stays small until a type is used (see `Launch.warm`). `task_types()` loads them all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib.metadata import EntryPoint, entry_points

from shoal.errors import ShoalError
from shoal.tasks.base import TaskType

ENTRY_POINT_GROUP = "shoal.tasks"
log = logging.getLogger(__name__)


class DuplicateTaskType(ShoalError):
    """Raised when two entry points register the same task type name."""


_broken: dict[str, str] = {}  # task type -> why its plugin failed to load


@lru_cache(maxsize=1)
def _declared() -> dict[str, list[EntryPoint]]:
    """Entry points by task type name, none loaded (reading the installed distributions' metadata
    takes milliseconds: once per process, before the fork server forks)."""
    by_name: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        by_name.setdefault(ep.name, []).append(ep)
    return by_name


@cache
def _load(name: str) -> TaskType | None:
    """The task type `name` (None when no plugin declares it, or its plugin is broken: logged)."""
    declared = _declared().get(name)
    if not declared:
        return None
    values = list(dict.fromkeys(ep.value for ep in declared))
    if len(values) > 1:
        raise DuplicateTaskType(
            f"task type {name!r} is registered twice ({values[0]} and {values[1]}); "
            "uninstall one of the packages or rename its entry point"
        )
    ep = declared[0]
    try:
        cls = ep.load()
    except Exception as exc:  # a broken plugin must not break the others
        log.warning("task type %r from %s failed to load and is skipped: %s", ep.name, ep.value, exc)
        _broken[name] = f"its plugin {ep.value} failed to load: {type(exc).__name__}: {exc}"
        return None
    if not (isinstance(cls, type) and issubclass(cls, TaskType)):
        log.warning("entry point %r (%s) is not a TaskType subclass; skipped", ep.name, ep.value)
        _broken[name] = f"its entry point {ep.value} is not a TaskType subclass"
        return None
    return cls()


def task_types() -> Mapping[str, TaskType]:
    """Every installed task type by name (each loaded once per process)."""
    return {name: found for name in _declared() if (found := _load(name)) is not None}


def forget() -> None:
    """Look the installed plugins up again (tests that install one)."""
    _declared.cache_clear()
    _load.cache_clear()
    _broken.clear()


def get_task_type(name: str) -> TaskType:
    found = _load(name)
    if found is None and name in _broken:
        raise ShoalError(f"task type {name!r} cannot be used: {_broken[name]}")
    if found is None:
        raise ShoalError(f"unknown task type {name!r}; installed: {', '.join(sorted(task_types()))}")
    return found
