"""Task types discovered from the `shoal.tasks` entry point group.

A plugin that fails to import is logged and skipped, so one broken package cannot take the
scheduler down; two plugins claiming one name is an error that says which packages collide.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from importlib.metadata import entry_points

from shoal.errors import ShoalError
from shoal.tasks.base import TaskType

ENTRY_POINT_GROUP = "shoal.tasks"
log = logging.getLogger(__name__)


class DuplicateTaskType(ShoalError):
    """Raised when two entry points register the same task type name."""


@lru_cache(maxsize=1)
def task_types() -> Mapping[str, TaskType]:
    """Every installed task type by name (loaded once per process)."""
    found: dict[str, TaskType] = {}
    origin: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not break the others
            log.warning("task type %r from %s failed to load and is skipped: %s", ep.name, ep.value, exc)
            continue
        if not (isinstance(cls, type) and issubclass(cls, TaskType)):
            log.warning("entry point %r (%s) is not a TaskType subclass; skipped", ep.name, ep.value)
            continue
        if ep.name in found and origin[ep.name] != ep.value:
            raise DuplicateTaskType(
                f"task type {ep.name!r} is registered twice ({origin[ep.name]} and {ep.value}); "
                "uninstall one of the packages or rename its entry point"
            )
        found[ep.name] = cls()
        origin[ep.name] = ep.value
    return found


def get_task_type(name: str) -> TaskType:
    types = task_types()
    try:
        return types[name]
    except KeyError:
        raise ShoalError(f"unknown task type {name!r}; installed: {', '.join(sorted(types))}") from None
