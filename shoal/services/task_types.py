"""Task types: what the web UI builds its palette and its node forms from.

Each type is listed with its group (the palette's sections, `GROUPS` order), a description, and
its params' JSON Schema (`shoal.tasks.forms`: every field described, code fields marked with
their language). The fields every task has (retries, timeout, trigger_rule, upstream, ...) are
one schema, `task_fields_schema()`, shown once: a node's form is that part plus its type's.

A type whose extra is not installed is listed, not hidden: `available` is false and `extra`
says what to install. Third-party types (the `shoal.tasks` entry point group) are listed like
shoal's own; one that fails to load is listed with `problem` saying why.

Nothing here reads the metadata database: the types are the installed packages'.
"""

from __future__ import annotations

import copy
import difflib
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from shoal.errors import NotFound
from shoal.spec.models import TaskSpec
from shoal.tasks.base import GROUPS, TaskType
from shoal.tasks.forms import form_schema
from shoal.tasks.registry import Declared, declared_task_types

__all__ = [
    "ExtraNeeded", "GroupInfo", "TaskTypeCatalog", "TaskTypeInfo", "catalog", "get_task_type", "list_task_types",
    "task_fields_schema",
]

log = logging.getLogger(__name__)
_TITLES = {"general": "General", "logic": "Logic", "data": "Data", "features": "Features", "ml": "ML"}
# The group of a built-in type whose module cannot be imported without its extra, so that its
# class (which says its group) cannot be read: it is still listed in its section of the palette.
# A test checks these against the classes.
UNIMPORTABLE_GROUPS = {
    "shoal.tasks.features:DataImportTask": "data",
    "shoal.tasks.features:FeatureExtractTask": "features",
    "shoal.tasks.features:FeatureDeployTask": "features",
    "shoal.tasks.features:OnlineImportTask": "features",
}


@dataclass(frozen=True)
class GroupInfo:
    name: str  # what `TaskTypeInfo.group` holds, e.g. "ml"
    title: str  # for the palette, e.g. "ML"


@dataclass(frozen=True)
class ExtraNeeded:
    """The optional dependencies a type needs and this installation lacks."""

    name: str  # the extra, e.g. "ml"
    missing: tuple[str, ...]  # the modules not installed, e.g. ("xgboost",)
    install: str  # the command that installs it, e.g. "pip install 'shoal[ml]'"


@dataclass(frozen=True)
class TaskTypeInfo:
    name: str  # what a task's `type` says, e.g. "train"
    group: str  # one of `catalog().groups`, e.g. "ml"
    description: str  # one or two sentences ("" for a type whose module cannot be imported here)
    kind: str | None  # command, process, inline or engine (None: its class cannot be read)
    available: bool  # whether a workflow may use it on this installation
    trigger_rule: str | None  # its tasks' trigger_rule when they set none (None: class not readable)
    source: str  # where it comes from: the entry point's object, e.g. "shoal.tasks.ml:TrainTask"
    params_schema: dict[str, Any] | None  # its params' JSON Schema (None: its class cannot be read)
    extra: ExtraNeeded | None = None  # not available: the extra to install
    problem: str | None = None  # not available: why, in words (the install advice, or a plugin's error)


@dataclass(frozen=True)
class TaskTypeCatalog:
    """Everything the UI needs at once: the groups in palette order, the common fields, the types."""

    groups: tuple[GroupInfo, ...]
    common: dict[str, Any]
    items: tuple[TaskTypeInfo, ...]


def list_task_types() -> list[TaskTypeInfo]:
    """Every installed task type, usable or not, by group (`GROUPS` order, then other groups by
    name) and then by name."""
    infos = [_info(found) for found in declared_task_types()]
    order = {name: i for i, name in enumerate(_group_names(infos))}
    return sorted(infos, key=lambda t: (order[t.group], t.name))


def get_task_type(name: str) -> TaskTypeInfo:
    """The task type `name`, usable or not; NotFound if no installed package declares it."""
    found = {found.name: found for found in declared_task_types()}
    if name in found:
        return _info(found[name])
    close = difflib.get_close_matches(name, list(found), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise NotFound(
        f"unknown task type {name!r}{hint}; the installed types are: {', '.join(sorted(found))}",
        task_type=name, known=sorted(found),
    )


def task_fields_schema() -> dict[str, Any]:
    """The JSON Schema of the keys every task has, whatever its type (the workflow's `TaskSpec`):
    name, type, upstream, params, retries, retry_delay, timeout, trigger_rule, resources, env...
    A task's own type's keys sit beside them (`additionalProperties`)."""
    return copy.deepcopy(_common_schema())


def groups(types: list[TaskTypeInfo] | None = None) -> list[GroupInfo]:
    """The palette's groups in order: shoal's (`GROUPS`), then any a plugin names, by name."""
    return [GroupInfo(name, _TITLES.get(name, name.replace("_", " ").capitalize()))
            for name in _group_names(list_task_types() if types is None else types)]


def catalog() -> TaskTypeCatalog:
    """The groups, the common fields' schema and every task type: what `GET /api/v1/task-types` answers."""
    types = list_task_types()
    return TaskTypeCatalog(tuple(groups(types)), task_fields_schema(), tuple(types))


def _group_names(types: list[TaskTypeInfo]) -> list[str]:
    return [*GROUPS, *sorted({t.group for t in types} - set(GROUPS))]


def _info(found: Declared) -> TaskTypeInfo:
    cls = found.cls
    extra = None
    if found.missing is not None:
        name = str(found.missing.details.get("extra", ""))
        extra = ExtraNeeded(name, tuple(found.missing.details.get("missing", ())), f"pip install 'shoal[{name}]'")
    return TaskTypeInfo(
        name=found.name,
        group=_group_of(cls) if cls is not None else UNIMPORTABLE_GROUPS.get(found.source, "general"),
        description=cls.describe() if cls is not None else "",
        kind=cls.kind if cls is not None else None,
        available=found.task_type is not None,
        trigger_rule=cls.trigger_rule if cls is not None else None,
        source=found.source,
        params_schema=_params_schema(cls),
        extra=extra,
        problem=found.problem,
    )


def _group_of(cls: type[TaskType]) -> str:
    group = getattr(cls, "group", None)
    # A plugin's typo must not hide the type: a group that is not a name shows under "general".
    return group.strip() if isinstance(group, str) and group.strip() else "general"


def _params_schema(cls: type[TaskType] | None) -> dict[str, Any] | None:
    params = getattr(cls, "Params", None)
    if params is None:
        return None
    return copy.deepcopy(_schema_of(params))  # the caller's to change: the cached one stays


@cache
def _schema_of(model: type) -> dict[str, Any] | None:
    # Cached per class: a plugin looked up again (`registry.forget`) is a new class.
    try:
        return form_schema(model)
    except Exception as exc:  # noqa: BLE001 - a plugin's odd field type must not break the listing
        log.warning("task type params %s have no JSON Schema, listed without a form: %s", model.__qualname__, exc)
        return None


@cache
def _common_schema() -> dict[str, Any]:
    return form_schema(TaskSpec)
