"""Errors of the spec layer: a bad workflow definition, reported as a list of problems.

    InvalidInput (shoal.errors)
     └── SpecError        a workflow file/definition is invalid; carries every Problem found

A workflow file is checked completely before anything is reported, so one `SpecError` lists every
problem (one per line) and the user fixes them in one go instead of one per attempt. Each problem
names the file, line, task and field it is about, as far as they are known.

`problems_from_validation_error` turns a pydantic error into problems: it maps pydantic's `loc`
tuples onto task names and field names (`resources.memory`, `cases[0].then`) and asks a
`Locator` for the source line.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import pydantic

from shoal.errors import InvalidInput, expected_value

Path = tuple[str | int, ...]
# Maps a key path in the source document, e.g. ("tasks", 2, "retry_delay"), to its 1-based line.
# Implementations fall back to the nearest enclosing key, so a missing key points at its parent.
Locator = Callable[[Path], int | None]


def no_lines(path: Path) -> int | None:
    """The locator for definitions that have no source text (API payloads, models built in code)."""
    return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow definition; unknown parts are None."""

    file: str | None
    line: int | None
    task: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        what = ", ".join(
            part
            for part in (
                f"task {self.task!r}" if self.task is not None else "",
                f"field {self.field!r}" if self.field else "",
            )
            if part
        )
        prefix = ": ".join(p for p in (where, what) if p)
        return f"{prefix}: {self.message}" if prefix else self.message


class SpecError(InvalidInput):
    """Raised when a workflow definition is invalid: bad syntax, bad field, bad DAG or references."""

    code = "spec_error"

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("SpecError needs at least one problem")
        self.problems: list[Problem] = list(problems)
        super().__init__(
            "\n".join(str(p) for p in self.problems),
            problems=[asdict(p) for p in self.problems],
        )

    def with_file(self, file: str) -> SpecError:
        """The same problems, with `file` filled in where it was not known."""
        return SpecError([p if p.file is not None else replace(p, file=file) for p in self.problems])


def suggest(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close match exists, else an empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_field(path: Sequence[str | int]) -> str:
    """("cases", 0, "then") -> "cases[0].then"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def task_name_at(data: Any, index: int) -> str | None:
    """The name of `tasks[index]` in raw (not yet validated) workflow data, if it has one."""
    tasks = data.get("tasks") if isinstance(data, Mapping) else None
    if isinstance(tasks, list) and 0 <= index < len(tasks):
        task = tasks[index]
        if isinstance(task, Mapping) and isinstance(task.get("name"), str):
            return str(task["name"])
    return None


def split_task_path(data: Any, path: Path) -> tuple[str | None, Path]:
    """("tasks", 2, "resources", "cpu") -> ("train", ("resources", "cpu")) when tasks[2] is named."""
    if len(path) >= 2 and path[0] == "tasks" and isinstance(path[1], int):
        name = task_name_at(data, path[1])
        if name is not None:
            return name, path[2:]
    return None, path


def problems_from_validation_error(
    exc: pydantic.ValidationError,
    data: Any,
    *,
    model: type[pydantic.BaseModel],
    file: str | None = None,
    locate: Locator = no_lines,
    prefix: Path = (),
    task: str | None = None,
    subject: str = "",
    also_allowed: Sequence[str] = (),
) -> list[Problem]:
    """Problems for a pydantic error raised by validating `data` with `model`.

    `prefix` is where `data` sits in the document (e.g. ("tasks", 2) for a task's type params)
    and `task` the task it belongs to; with an empty prefix the task is looked up in `data`.
    `subject` (e.g. "task type 'shell'") makes unknown/missing key messages specific, and
    `also_allowed` adds keys valid beside the model's (a task's common keys) to typo suggestions.
    """
    problems: list[Problem] = []
    seen: set[tuple[str | None, str | None]] = set()
    for err in exc.errors():
        loc = _data_path(data, tuple(err["loc"]))
        full = prefix + loc
        if task is None and not prefix:
            task_name, rel = split_task_path(data, loc)
        else:
            task_name, rel = task, loc
        field = format_field(rel) or None
        # A union field (e.g. a date or datetime) reports once per member; one message is enough.
        if (task_name, field) in seen and err["type"] != "extra_forbidden":
            continue
        seen.add((task_name, field))
        message = _message(err, model, loc, subject, also_allowed)
        problems.append(Problem(file, locate(full), task_name, field, message))
    return problems


def _data_path(data: Any, loc: Path) -> Path:
    """The part of a pydantic `loc` that names keys of the data (drops union member tags)."""
    out: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, Mapping):
            if part not in current and current.get("type") == part:
                continue  # the member tag of a union discriminated by "type" (preprocess steps)
            out.append(part)
            if part not in current:
                break  # a missing key: name it, there is nothing below
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            out.append(part)
            current = current[part]
        else:
            break
    return tuple(out)


def _message(
    err: Any, model: type[pydantic.BaseModel], loc: Path, subject: str, also_allowed: Sequence[str]
) -> str:
    kind = err["type"]
    key = loc[-1] if loc else ""
    owner = f" for {subject}" if subject else ""
    if kind == "missing":
        return f"missing required key {key!r}{owner}: add it"
    if kind == "extra_forbidden":
        allowed = allowed_keys(model, loc[:-1]) or []
        hint = suggest(str(key), [*allowed, *(also_allowed if len(loc) == 1 else ())])
        label = f"keys of {subject}" if subject else "allowed keys"
        listing = f"; {label}: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{owner}{hint}{listing}"
    if kind == "too_short" and loc == ("tasks",):
        return "a workflow needs at least one task: add one under 'tasks'"
    if kind == "string_pattern_mismatch" and key in ("name", "project"):
        return (
            f"invalid {key} {err['input']!r}: use letters, digits, '_' and '-', "
            "starting with a letter or '_'"
        )
    if kind == "string_too_long" and key in ("name", "project") and isinstance(err.get("input"), str):
        limit = (err.get("ctx") or {}).get("max_length")
        return f"invalid {key}: it is {len(err['input'])} characters long, at most {limit} fit"
    message = str(err["msg"])
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    expected = expected_value(err)
    if expected is not None:
        message = f"expected {expected}"
    shown = repr(err.get("input"))
    if len(shown) <= 60:
        message += f", got {shown}"
    return message


def allowed_keys(model: type[pydantic.BaseModel], path: Path) -> list[str] | None:
    """The field names of the model found at `path` inside `model`, if there is one there."""
    tp: Any = model
    for part in path:
        tp = _step(_unwrap(tp), part)
        if tp is None:
            return None
    final = _unwrap(tp)
    if isinstance(final, type) and issubclass(final, pydantic.BaseModel):
        return list(final.model_fields)
    return None


def _unwrap(tp: Any) -> Any:
    """`Annotated[X, ...]` -> X; `X | None` -> X (the model member of other unions)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        for member in members:
            if isinstance(member, type) and issubclass(member, pydantic.BaseModel):
                return member
        return _unwrap(members[0]) if len(members) == 1 else None
    return tp


def _step(tp: Any, part: str | int) -> Any:
    """The type found one key/index below `tp`, or None."""
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None
