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

import contextlib
import gc
import re
from collections.abc import Collection, Generator, Iterator, Mapping
from typing import Any, NamedTuple, Protocol

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
from shoal.spec.templating import REFERENCES_CHECKED

# Names the engine defines for every run. templating.BUILTIN_NAMES is the source of truth; the
# literal set keeps validation working if that module is older or newer than this one.
BUILTIN_PARAMS: frozenset[str] = frozenset(getattr(templating, "BUILTIN_NAMES", ())) | {
    "ds", "ds_nodash", "logical_date", "run_id", "workflow", "project", "task", "attempt",
    "ts", "ts_nodash", "yesterday_ds", "tomorrow_ds",
}


# An undefined `${NAME}` in capitals is most likely an environment variable meant for the shell.
_ENV_STYLE = re.compile(r"[A-Z_][A-Z0-9_]*[A-Z][A-Z0-9_]*|[A-Z]")

# How deeply lists and mappings may nest in a workflow, counted from the document's top mapping
# (level 1; `tasks` is 2, a task 3, a list in a task's keys 4). Real workflows use fewer than 10;
# the cap keeps every reader and writer of a definition (YAML, JSON, hashing, the database)
# within Python's recursion limit, whatever the file or API payload holds.
MAX_NESTING = 64
_TASK_LEVEL = 3  # a task's own mapping

# In a large workflow, "did you mean" compares a name with every task's (~0.25 s for 20,000
# tasks): only the first few such problems get a suggestion, so many typos stay fast to report.
_SUGGEST_BUDGET = 20
_SUGGEST_FREE_BELOW = 1_000  # choices: fewer than this many are always compared
# An unknown upstream's message lists the workflow's tasks, up to this many.
_LISTED_TASKS = 20


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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector for a bulk step (reading, checking or storing a
    large workflow), and restores it after.

    Such a step allocates hundreds of thousands of objects (YAML nodes, dicts, references)
    that are garbage to nobody yet; each allocation burst makes the collector walk them all
    again, which is more than half of the time of applying a 20,000-task file. They hold no
    reference cycles, so nothing is lost by collecting later. Nests: the outermost restores.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@gc_paused()
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


def too_deep(value: Any, level: int, limit: int = MAX_NESTING) -> Path | None:
    """The key path of the first list or mapping in `value` that nests deeper than `limit`, when
    `value` sits at nesting `level` (the document's top mapping is level 1); else None.

    Iterative, so a value too deep for recursion is found, not crashed on; a value inside itself
    is infinitely deep. An object in several places (a YAML alias) is looked into again only
    where it sits deeper than before: at most `limit` times, however it is shared.
    """
    if level < limit and isinstance(value, Mapping) and not any(
        isinstance(v, Mapping | list | tuple) for v in value.values()
    ):
        return None  # a flat mapping, as most tasks' keys are
    todo: list[tuple[Any, Path, int]] = [(value, (), level)]
    deepest: dict[int, int] = {}
    while todo:
        item, path, depth = todo.pop()
        if not isinstance(item, Mapping | list | tuple):
            continue
        if depth > limit:
            return path
        if deepest.get(id(item), 0) >= depth:
            continue
        deepest[id(item)] = depth
        children = item.items() if isinstance(item, Mapping) else enumerate(item)
        todo.extend((child, (*path, key), depth + 1) for key, child in children)
    return None


def task_too_deep(task: TaskSpec) -> Path | None:
    """Where a task's type-specific keys nest deeper than MAX_NESTING (see `too_deep`), if they do."""
    return too_deep(task.model_extra or {}, _TASK_LEVEL)


def nesting_message(limit: int = MAX_NESTING) -> str:
    return (
        f"lists and mappings nest deeper than {limit} levels here: a workflow is not meant to hold "
        "data this deep; keep it in a file the task reads"
    )


class _Checker:
    def __init__(self, wf: Workflow, task_types: TaskTypeLookup | None, source: str | None, locate: Locator) -> None:
        self.wf = wf
        self.task_types = task_types
        self.source = source
        self.locate = locate
        self.names = {t.name for t in wf.tasks}
        self.graph = dag.upstream_map(wf)
        self.downstream = dag.invert(self.graph)
        self.suggestions_left = _SUGGEST_BUDGET
        self._sorted_names: list[str] | None = None
        # (a, b) where a is upstream of b, for the pairs the output references ask about.
        self.upstream_pairs: set[tuple[str, str]] = set()
        self.references: dict[str, list[templating.Reference]] = {}

    def problem(self, path: Path, task: str | None, field: str | None, message: str) -> Problem:
        return Problem(self.source, self.locate(path), task, field, message)

    def suggest(self, word: str, choices: Collection[str]) -> str:
        """`suggest`, within the budget that keeps a large workflow with many typos fast."""
        if len(choices) < _SUGGEST_FREE_BELOW:
            return suggest(word, choices)
        if self.suggestions_left <= 0:
            return ""
        self.suggestions_left -= 1
        return suggest(word, choices)

    def run(self) -> Iterator[Problem]:
        yield from self.check_workflow_params()
        first_index: dict[str, int] = {}
        texts: dict[str, list[_Text]] = {}
        too_deep_at: dict[str, Path] = {}
        for i, task in enumerate(self.wf.tasks):
            if task.name in first_index:
                continue
            first_index[task.name] = i
            deep = task_too_deep(task)
            if deep is None:
                texts[task.name] = self.task_texts(task)
            else:
                too_deep_at[task.name] = deep
        # Which outputs each task may read, for all tasks at once (see `dag.upstream_pairs`).
        self.upstream_pairs = self.answer_output_reads(texts)
        for i, task in enumerate(self.wf.tasks):
            if first_index[task.name] != i:
                yield self.problem(
                    ("tasks", i, "name"), task.name, "name",
                    f"duplicate task name: tasks[{first_index[task.name]}] is also named "
                    f"{task.name!r}; rename one of them",
                )
                continue  # its other problems would be reported against the wrong task
            yield from self.check_upstream(i, task)
            if task.name in too_deep_at:  # its other checks would walk what is too deep
                rel = too_deep_at[task.name]
                # The key it is under: the path down to the limit is as long as the limit.
                yield self.problem(("tasks", i, *rel), task.name, format_field(rel[:1]), nesting_message())
                continue
            params = yield from self.check_type(i, task)
            if params is not None:
                yield from self.check_branches(i, task, params)
            yield from self.check_references(i, task, texts[task.name])
        yield from self.check_cycles(first_index)

    def task_texts(self, task: TaskSpec) -> list[_Text]:
        """Every string of a task that holds references, with its key path and references."""
        strings = list(_strings(task.config, ()))
        for section in ("params", "env"):
            strings.extend(((section, key), value) for key, value in getattr(task, section).items())
        out = []
        for rel, text in strings:
            if "$" not in text:  # most text has no reference
                continue
            refs = self.references.get(text)
            if refs is None:  # the same text recurs across tasks ("$[yyyyMMdd-1]", commands)
                refs = self.references[text] = templating.find_references(text)
            if refs:
                out.append(_Text(rel, refs))
        return out

    def answer_output_reads(self, texts: Mapping[str, list[_Text]]) -> set[tuple[str, str]]:
        """Pairs (a, b) where task a is upstream of task b, among those the output references ask
        about: (read, reader) where a task reads an upstream's output, and (reader, read) where
        the task read from runs after its reader (for the message)."""
        asked: set[tuple[str, str]] = set()
        for reader, found in texts.items():
            direct = self.graph.get(reader, ())
            for text in found:
                for ref in text.refs:
                    if ref.kind == "output" and ref.name != reader and ref.name not in direct:
                        asked.add((ref.name, reader))
        answered = dag.upstream_pairs(self.graph, asked)
        # For the references that are not readable: is the task read from downstream instead?
        answered |= dag.upstream_pairs(self.graph, [(b, a) for a, b in asked - answered])
        return answered

    def is_readable(self, upstream: str, reader: str) -> bool:
        if upstream == reader or upstream not in self.names:
            return False
        return upstream in self.graph.get(reader, ()) or (upstream, reader) in self.upstream_pairs

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
                yield self.problem(
                    path, task.name, field,
                    f"unknown upstream task {up!r}{self.suggest(up, self.names)}; {self.listing(task.name)}",
                )
            elif up in seen:
                yield self.problem(path, task.name, field, f"upstream {up!r} is listed twice: remove one")
            seen.add(up)

    def listing(self, but: str) -> str:
        """"tasks are: a, b, c" naming the tasks other than `but`, the first few in a large workflow."""
        if self._sorted_names is None:
            self._sorted_names = sorted(self.names)
        shown: list[str] = []
        for name in self._sorted_names:
            if len(shown) == _LISTED_TASKS:
                break
            if name != but:
                shown.append(name)
        more = len(self.names) - (but in self.names) - len(shown)
        return f"tasks are: {', '.join(shown)}" + (f" and {more:,} more" if more else "")

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
            # A task that splices its values as text has no references left in its code to check.
            checked = {REFERENCES_CHECKED: True} if task.splice_values else None
            return info.Params.model_validate(task.config, context=checked)
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
        downstream = set(self.downstream.get(task.name, ()))
        for target in dict.fromkeys(info.branch_targets(params)):
            if target in downstream:
                continue
            rel = _find_value(task.config, target) or ()
            if target not in self.names:
                fix = f"there is no task {target!r}{self.suggest(target, self.names)}"
            else:
                fix = f"add {task.name!r} to the upstream of {target!r}"
            yield self.problem(
                ("tasks", i, *rel), task.name, format_field(rel) or None,
                f"{target!r} is not a downstream task of {task.name!r}: {fix}",
            )

    def check_references(self, i: int, task: TaskSpec, texts: list[_Text]) -> Iterator[Problem]:
        # The names a `${name}` may use: a view, not a union built per task (which would copy the
        # workflow's params once per task).
        defined = _Defined(task.params, self.wf.params)
        for text in texts:
            yield from self.check_text(i, task, text.rel, text.refs, defined)

    def check_text(
        self, i: int, task: TaskSpec, rel: Path, refs: list[templating.Reference], defined: Collection[str]
    ) -> Iterator[Problem]:
        path: Path = ("tasks", i, *rel)
        for ref in refs:
            if ref.kind != "output":
                yield from self.check_ref(ref, defined, path, task.name, rel)
                continue
            if self.is_readable(ref.name, task.name):
                continue
            if ref.name == task.name:
                why = f"a task cannot read its own output ({ref.text})"
            elif ref.name not in self.names:
                why = (
                    f"{ref.text} reads an output of unknown task {ref.name!r}"
                    f"{self.suggest(ref.name, self.names)}"
                )
            elif (task.name, ref.name) in self.upstream_pairs:
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
        self, ref: templating.Reference, defined: Collection[str], path: Path, task: str | None,
        rel: Path | None = None,
    ) -> Iterator[Problem]:
        if ref.kind == "param" and ref.name not in defined:
            hint = ""
            if _ENV_STYLE.fullmatch(ref.name):
                hint = (
                    f"; if it is an environment variable, write $${{{ref.name}}} and ${{{ref.name}}} "
                    "reaches the shell as it is"
                )
            yield self.problem(
                path, task, format_field(rel if rel is not None else path),
                f"undefined parameter {ref.text}{self.suggest(ref.name, defined)}: declare {ref.name!r} "
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
                yield self.problem(path, task, format_field(rel if rel is not None else path), str(exc))

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


class _Text(NamedTuple):
    """A string of a task that holds references: where it is, and its references."""

    rel: Path
    refs: list[templating.Reference]


class _Defined(Collection[str]):
    """The parameter names a task may reference: its own, the workflow's and the built-ins."""

    def __init__(self, task_params: Mapping[str, str], wf_params: Mapping[str, str]) -> None:
        self.layers = (task_params, wf_params, BUILTIN_PARAMS)

    def __contains__(self, name: object) -> bool:
        return any(name in layer for layer in self.layers)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for layer in self.layers for name in layer))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string inside nested dicts/lists, with its key path, in document order.

    Iterative, so it cannot run out of stack; callers check the nesting first (`too_deep`).
    """
    todo: list[tuple[Any, Path]] = [(value, path)]
    while todo:
        item, where = todo.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, Mapping):
            todo.extend(reversed([(child, (*where, str(key))) for key, child in item.items()]))
        elif isinstance(item, list):
            todo.extend(reversed([(child, (*where, index)) for index, child in enumerate(item)]))


def _find_value(value: Any, wanted: str) -> Path | None:
    """The key path of the first string equal to `wanted` (where a branch target was written)."""
    for path, text in _strings(value, ()):
        if text == wanted:
            return path
    return None
