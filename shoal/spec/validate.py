"""Whole-workflow checks, after each field passed the pydantic models of `shoal.spec.models`.

Field rules (units, bounds, cron, schedule dates) live in the models and are checked first.
`validate_workflow` collects every problem before raising, so one `SpecError` lists them all:

- task types: the type exists, and the task's type-specific keys pass the type's `Params` model;
- the DAG: unique task names, known upstream names, no task upstream of itself, no cycles;
- references: every `${name}` names a declared parameter, every `${task.key}` names a task that is
  upstream (transitively) of the reader, every `$[...]` date expression parses;
- branches: the tasks a switch/condition may choose are direct downstream tasks of it.

Parameters must be declared to be referenced. A run-time parameter (`-p key=value`) only
overrides a declared value, so `${name}` is defined when `name` is in the workflow's `params`, the
task's `params`, or `BUILTIN_PARAMS`; to pass a new value at run time, declare it with a default.

`validate_project_name` checks a project name given on its own (`apply --project P`).

The task-type registry lives above this layer; it is handed in as a `TaskTypeLookup`.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from typing import Any, Protocol

import pydantic

from shoal.spec import dag, templating
from shoal.spec.errors import (
    Locator,
    Path,
    Problem,
    SpecError,
    format_field,
    no_lines,
    problems_from_validation_error,
    suggest,
)
from shoal.spec.models import Name, TaskSpec, Workflow

# Names the engine defines for every run. templating.BUILTIN_NAMES is the source of truth; the
# literal set keeps validation working if that module is older or newer than this one.
BUILTIN_PARAMS: frozenset[str] = frozenset(getattr(templating, "BUILTIN_NAMES", ())) | {
    "ds", "ds_nodash", "logical_date", "run_id", "workflow", "project", "task", "attempt",
    "ts", "ts_nodash", "yesterday_ds", "tomorrow_ds",
}


# An undefined `${NAME}` in capitals is most likely an environment variable meant for the shell.
_ENV_STYLE = re.compile(r"[A-Z_][A-Z0-9_]*[A-Z][A-Z0-9_]*|[A-Z]")


class TaskTypeInfo(Protocol):
    """What validation needs to know about a task type; the tasks layer implements it.

    A registry may map names to task-type classes as long as `branch_targets` can be called on
    the class (a classmethod or staticmethod).
    """

    # Validates TaskSpec.config (the type-specific keys); it should forbid extra keys.
    Params: type[pydantic.BaseModel]

    def branch_targets(self, params: Any) -> list[str]:
        """The tasks a switch/condition may choose between; [] for other types."""
        ...


# Task type name -> info. A Mapping, so an unknown type's error can list the known ones.
TaskTypeLookup = Mapping[str, TaskTypeInfo]


class _ProjectName(pydantic.BaseModel):
    project: Name


def validate_project_name(name: str, *, source: str | None = None) -> str:
    """`name` if it is a valid project name, else SpecError (field 'project').

    The rules are those of a workflow's `project` key, so a name given on its own (`apply
    --project P`) is held to what a file may say: letters, digits, '_' and '-', at most 128.
    """
    try:
        return _ProjectName(project=name).project
    except pydantic.ValidationError as exc:
        data = {"project": name}
        raise SpecError(problems_from_validation_error(exc, data, model=_ProjectName, file=source)) from None


def validate_workflow(
    wf: Workflow,
    task_types: TaskTypeLookup | None,
    *,
    source: str | None = None,
    locate: Locator | None = None,
) -> None:
    """Raise SpecError listing every problem of `wf`; return None when it is valid.

    `source` names the file in messages and `locate` maps a key path to its line. With
    `task_types=None` the type-specific checks (type names, params, branches) are skipped.
    """
    problems = list(_Checker(wf, task_types, source, locate or no_lines).run())
    if problems:
        raise SpecError(problems)


class _Checker:
    def __init__(self, wf: Workflow, task_types: TaskTypeLookup | None, source: str | None, locate: Locator) -> None:
        self.wf = wf
        self.task_types = task_types
        self.source = source
        self.locate = locate
        self.names = {t.name for t in wf.tasks}
        self.graph = dag.upstream_map(wf)
        self.downstream = dag.invert(self.graph)

    def problem(self, path: Path, task: str | None, field: str | None, message: str) -> Problem:
        return Problem(self.source, self.locate(path), task, field, message)

    def run(self) -> Iterator[Problem]:
        yield from self.check_workflow_params()
        first_index: dict[str, int] = {}
        for i, task in enumerate(self.wf.tasks):
            if task.name in first_index:
                yield self.problem(
                    ("tasks", i, "name"), task.name, "name",
                    f"duplicate task name: tasks[{first_index[task.name]}] is also named "
                    f"{task.name!r}; rename one of them",
                )
                continue  # its other problems would be reported against the wrong task
            first_index[task.name] = i
            yield from self.check_upstream(i, task)
            params = yield from self.check_type(i, task)
            if params is not None:
                yield from self.check_branches(i, task, params)
            yield from self.check_references(i, task)
        yield from self.check_cycles(first_index)

    def check_workflow_params(self) -> Iterator[Problem]:
        defined = set(self.wf.params) | BUILTIN_PARAMS
        for key, value in self.wf.params.items():
            path: Path = ("params", key)
            for ref in templating.find_references(value):
                if ref.kind == "output":
                    yield self.problem(
                        path, None, format_field(path),
                        f"workflow params cannot read task outputs ({ref.text}): "
                        "reference it in the task that needs it",
                    )
                else:
                    yield from self.check_ref(ref, defined, path, None)

    def check_upstream(self, i: int, task: TaskSpec) -> Iterator[Problem]:
        seen: set[str] = set()
        for j, up in enumerate(task.upstream):
            path: Path = ("tasks", i, "upstream", j)
            field = f"upstream[{j}]"
            if up == task.name:
                yield self.problem(path, task.name, field, f"task {task.name!r} lists itself as upstream: remove it")
            elif up not in self.names:
                others = sorted(self.names - {task.name})
                yield self.problem(
                    path, task.name, field,
                    f"unknown upstream task {up!r}{suggest(up, others)}; tasks are: {', '.join(others)}",
                )
            elif up in seen:
                yield self.problem(path, task.name, field, f"upstream {up!r} is listed twice: remove one")
            seen.add(up)

    def check_type(self, i: int, task: TaskSpec) -> Generator[Problem, None, pydantic.BaseModel | None]:
        """Checks the type and its params; returns the validated params (None if not checked)."""
        if self.task_types is None:
            return None
        info = self.task_types.get(task.type)
        if info is None:
            known = sorted(self.task_types)
            yield self.problem(
                ("tasks", i, "type"), task.name, "type",
                f"unknown task type {task.type!r}{suggest(task.type, known)}; known types: {', '.join(known)}",
            )
            return None
        try:
            return info.Params.model_validate(task.config)
        except pydantic.ValidationError as exc:
            yield from problems_from_validation_error(
                exc, task.config, model=info.Params, file=self.source, locate=self.locate,
                prefix=("tasks", i), task=task.name, subject=f"task type {task.type!r}",
                also_allowed=list(TaskSpec.model_fields),
            )
            return None

    def check_branches(self, i: int, task: TaskSpec, params: pydantic.BaseModel) -> Iterator[Problem]:
        assert self.task_types is not None
        info = self.task_types[task.type]
        downstream = self.downstream.get(task.name, [])
        for target in dict.fromkeys(info.branch_targets(params)):
            if target in downstream:
                continue
            rel = _find_value(task.config, target) or ()
            if target not in self.names:
                fix = f"there is no task {target!r}{suggest(target, self.names)}"
            else:
                fix = f"add {task.name!r} to the upstream of {target!r}"
            yield self.problem(
                ("tasks", i, *rel), task.name, format_field(rel) or None,
                f"{target!r} is not a downstream task of {task.name!r}: {fix}",
            )

    def check_references(self, i: int, task: TaskSpec) -> Iterator[Problem]:
        defined = set(self.wf.params) | set(task.params) | BUILTIN_PARAMS
        readable = dag.reachable(self.graph, task.name) - {task.name}
        for rel, text in _strings(task.config, ()):
            yield from self.check_text(i, task, rel, text, defined, readable)
        for section in ("params", "env"):
            for key, value in getattr(task, section).items():
                yield from self.check_text(i, task, (section, key), value, defined, readable)

    def check_text(
        self, i: int, task: TaskSpec, rel: Path, text: str, defined: set[str], readable: set[str]
    ) -> Iterator[Problem]:
        path: Path = ("tasks", i, *rel)
        for ref in templating.find_references(text):
            if ref.kind != "output":
                yield from self.check_ref(ref, defined, path, task.name, rel)
                continue
            if ref.name in readable:
                continue
            if ref.name == task.name:
                why = f"a task cannot read its own output ({ref.text})"
            elif ref.name not in self.names:
                why = (
                    f"{ref.text} reads an output of unknown task {ref.name!r}"
                    f"{suggest(ref.name, self.names)}"
                )
            elif task.name in dag.reachable(self.graph, ref.name):
                why = (
                    f"{ref.text}: {ref.name!r} is downstream of {task.name!r} and runs after it; "
                    "a task can only read the outputs of its upstream tasks"
                )
            else:
                why = (
                    f"{ref.text}: {ref.name!r} is not an upstream task of {task.name!r}; "
                    f"add {ref.name!r} to its upstream"
                )
            yield self.problem(path, task.name, format_field(rel), why)

    def check_ref(
        self, ref: templating.Reference, defined: set[str], path: Path, task: str | None, rel: Path | None = None
    ) -> Iterator[Problem]:
        field = format_field(rel if rel is not None else path)
        if ref.kind == "param" and ref.name not in defined:
            hint = ""
            if _ENV_STYLE.fullmatch(ref.name):
                hint = (
                    f"; if it is an environment variable, write $${{{ref.name}}} and ${{{ref.name}}} "
                    "reaches the shell as it is"
                )
            yield self.problem(
                path, task, field,
                f"undefined parameter {ref.text}{suggest(ref.name, defined)}: declare {ref.name!r} "
                "under the workflow's or the task's params (a run-time -p value needs a declared default)"
                f"{hint}",
            )
        elif ref.kind == "date":
            check = getattr(templating, "check_date_expr", None)  # absent in older templating
            if check is None:
                return
            try:
                check(ref.expr)
            except ValueError as exc:  # ParamError is a ValueError
                yield self.problem(path, task, field, str(exc))

    def check_cycles(self, first_index: Mapping[str, int]) -> Iterator[Problem]:
        # Self-upstream is reported on its own; looking for longer cycles without it.
        graph = {name: [u for u in ups if u != name] for name, ups in self.graph.items()}
        cycle = dag.find_cycle_in(graph)
        if cycle is not None:
            # Report on the first task of the cycle in file order, at its upstream link.
            head = min(cycle[:-1], key=first_index.__getitem__)
            start = cycle.index(head)
            ordered = cycle[start:-1] + cycle[:start] + [head]
            yield self.problem(("tasks", first_index[head], "upstream"), head, "upstream", dag.cycle_message(ordered))


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string inside nested dicts/lists, with its key path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _find_value(value: Any, wanted: str) -> Path | None:
    """The key path of the first string equal to `wanted` (where a branch target was written)."""
    for path, text in _strings(value, ()):
        if text == wanted:
            return path
    return None
