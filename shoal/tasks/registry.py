"""Task types discovered from the `shoal.tasks` entry point group.

A plugin that fails to import is logged and skipped, so one broken package cannot take the
scheduler down; two plugins claiming one name is an error that says which packages collide.

A built-in type whose optional dependencies are not installed (the ML types without
`shoal[ml]`) is not loaded either; looking it up, when a workflow using it is applied, validated
or run, raises `MissingExtra`, whose message says which extra to install.

A type's module is imported the first time the type is asked for (`get_task_type`): a task
process (forked from the executor's fork server) imports only the type it runs, and the fork
server stays small until a type is used (see `Launch.warm`). `task_types()` loads them all.

`declared_task_types()` is for listings (the API's and the web UI's palette, never a task
process): every declared type, usable or not, with why not; for a type whose extra is missing it
also imports the type's module if that works without the extra, so its form can still be shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.metadata import EntryPoint, entry_points

from shoal._extras import MissingExtra, advice, imports_of, missing
from shoal.errors import ShoalError
from shoal.tasks.base import TaskType

ENTRY_POINT_GROUP = "shoal.tasks"
log = logging.getLogger(__name__)


class DuplicateTaskType(ShoalError):
    """Raised when two entry points register the same task type name."""


_broken: dict[str, str] = {}  # task type -> why its plugin failed to load
_unavailable: dict[str, MissingExtra] = {}  # task type -> the extra it needs, not installed

# Built-in task modules -> the extra they need and the modules of it checked before loading them
# (checked, not imported: a missing extra must not be found halfway through a run, and a lookup
# must not import heavy libraries into the fork server). None: every module of the extra.
_NEEDS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "shoal.tasks.sql": ("features", ("duckdb", "sqlglot")),  # DuckDB by default; sqlglot splits and binds
    "shoal.tasks.features": ("features", None),
    "shoal.tasks.ml": ("ml", None),
    "shoal.tasks.http": ("http", None),
}


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
    what = f"task type {name!r}"
    needs = _NEEDS.get(ep.module)
    if needs is not None and (absent := missing(needs[0], *(needs[1] or ()))):
        log.info("task type %r needs shoal[%s] (missing: %s); skipped", name, needs[0], ", ".join(absent))
        _unavailable[name] = MissingExtra(advice(what, needs[0], absent), extra=needs[0], missing=absent)
        return None
    try:
        with imports_of(what):  # a plugin importing a module one of shoal's extras provides
            cls = ep.load()
    except MissingExtra as exc:
        log.info("%s; skipped", exc)
        _unavailable[name] = exc
        return None
    except Exception as exc:  # a broken plugin must not break the others
        log.warning("task type %r from %s failed to load and is skipped: %s", ep.name, ep.value, exc)
        _broken[name] = f"its plugin {ep.value} failed to load: {type(exc).__name__}: {exc}"
        return None
    if not (isinstance(cls, type) and issubclass(cls, TaskType)):
        log.warning("entry point %r (%s) is not a TaskType subclass; skipped", ep.name, ep.value)
        _broken[name] = f"its entry point {ep.value} is not a TaskType subclass"
        return None
    return cls()


def _fresh(exc: MissingExtra) -> MissingExtra:
    """A new exception each time: raising one instance again would grow its traceback."""
    return MissingExtra(exc.message, **exc.details)


class TaskTypes(Mapping[str, TaskType]):
    """The usable task types by name. Looking up a type whose extra is not installed raises
    MissingExtra (so validating a workflow that uses it says what to install, rather than
    "unknown task type"); iterating lists only the usable ones."""

    def __init__(self, usable: dict[str, TaskType], unavailable: dict[str, MissingExtra]) -> None:
        self._usable = usable
        self._unavailable = unavailable

    def __getitem__(self, name: str) -> TaskType:
        if name in self._unavailable:
            raise _fresh(self._unavailable[name])
        return self._usable[name]

    def __contains__(self, name: object) -> bool:  # a membership test answers, it does not raise
        return name in self._usable

    def __iter__(self) -> Iterator[str]:
        return iter(self._usable)

    def __len__(self) -> int:
        return len(self._usable)


def task_types() -> TaskTypes:
    """Every installed task type by name (each loaded once per process)."""
    usable = {name: found for name in _declared() if (found := _load(name)) is not None}
    return TaskTypes(usable, {name: _unavailable[name] for name in _declared() if name in _unavailable})


def forget() -> None:
    """Look the installed plugins up again (tests that install one)."""
    _declared.cache_clear()
    _load.cache_clear()
    _broken.clear()
    _unavailable.clear()


@dataclass(frozen=True)
class Declared:
    """A task type an entry point declares, and whether it can be used here."""

    name: str
    source: str  # the entry point's object reference, e.g. "shoal.tasks.shell:ShellTask"
    task_type: TaskType | None  # None: it cannot be used here (see `missing` and `problem`)
    cls: type[TaskType] | None  # its class, also when unusable if its module imports (None: it does not)
    missing: MissingExtra | None = None  # the extra it needs, not installed
    problem: str | None = None  # why it cannot be used (None: it can)


def declared_task_types() -> list[Declared]:
    """Every task type the installed packages declare, usable or not, sorted by name."""
    return [_declared_one(name, eps) for name, eps in sorted(_declared().items())]


def _declared_one(name: str, eps: list[EntryPoint]) -> Declared:
    source = " and ".join(dict.fromkeys(ep.value for ep in eps))
    try:
        found = _load(name)
    except DuplicateTaskType as exc:
        return Declared(name, source, None, None, problem=str(exc))
    if found is not None:
        return Declared(name, source, found, type(found))
    if name in _unavailable:
        exc = _fresh(_unavailable[name])
        return Declared(name, source, None, _class_if_importable(eps[0]), missing=exc, problem=exc.message)
    return Declared(name, source, None, None, problem=f"task type {name!r} cannot be used: {_broken.get(name)}")


def _class_if_importable(ep: EntryPoint) -> type[TaskType] | None:
    """The class of a type whose extra is missing, if its module imports without the extra (the
    ML types' modules do: their libraries are imported when a task runs)."""
    try:
        cls = ep.load()
    except Exception:  # noqa: BLE001 - it needs the extra after all: listed without its form
        return None
    return cls if isinstance(cls, type) and issubclass(cls, TaskType) else None


def get_task_type(name: str) -> TaskType:
    """The task type `name`; MissingExtra if its extra is not installed, ShoalError if unknown."""
    found = _load(name)
    if found is None and name in _unavailable:
        raise _fresh(_unavailable[name])
    if found is None and name in _broken:
        raise ShoalError(f"task type {name!r} cannot be used: {_broken[name]}")
    if found is None:
        raise ShoalError(f"unknown task type {name!r}; installed: {', '.join(sorted(task_types()))}")
    return found
