"""A small Python SDK that builds the same `Workflow` models as a YAML file.

    from shoal.spec.sdk import workflow

    with workflow("hello_ml", params={"threshold": "10"}, schedule={"cron": "0 2 * * *"}) as wf:
        extract = wf.shell("extract", command="echo hi")
        train = wf.python("train", callable="examples.hello:train", upstream=[extract], retries=2)
        report = wf.task("report", type="shell", command="echo ${train.auc}")
        train >> report          # same as upstream=[train]

Everything is explicit: tasks belong to the builder they were created on (no global "current
workflow"), and keyword arguments are exactly the keys of a task in a YAML file. The builder
remembers the line each task was declared on, so validation errors point into the .py file.
Leaving the `with` block builds the workflow once, so field errors surface right there.

`run_workflow_module` runs such a file (for `shoal.spec.io`) and collects the workflows it defines:
every `with workflow(...)` block that completed while the file ran, wherever it is (two blocks in a
row, a loop making one per region, a helper function), as in Airflow 2.4+, and every builder or
`Workflow` bound to a module-level name. Each is collected once.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path as FsPath
from types import TracebackType
from typing import Any, NamedTuple, overload

import pydantic

from shoal.spec.errors import (
    Locator,
    Path,
    Problem,
    SpecError,
    no_lines,
    problems_from_validation_error,
)
from shoal.spec.models import Schedule, Workflow

# The builders whose `with` block completed while `run_workflow_module` runs a file, in order;
# None outside it. A ContextVar, so files run at the same time in two threads stay apart.
_completed: ContextVar[list[WorkflowBuilder] | None] = ContextVar("shoal_sdk_completed", default=None)


class TaskRef:
    """A handle on a task of a builder; `a >> b` makes `a` upstream of `b`."""

    __slots__ = ("_builder", "_index")

    def __init__(self, builder: WorkflowBuilder, index: int) -> None:
        self._builder = builder
        self._index = index

    @property
    def name(self) -> str:
        return str(self._builder._tasks[self._index]["name"])

    def set_upstream(self, *tasks: TaskRef | str) -> None:
        """Adds `tasks` to this task's upstream (duplicates are ignored)."""
        if not tasks:
            return
        ups: list[str] = self._builder._tasks[self._index].setdefault("upstream", [])
        for t in tasks:
            name = t.name if isinstance(t, TaskRef) else t
            if name not in ups:
                ups.append(name)

    @overload
    def __rshift__(self, other: TaskRef) -> TaskRef: ...
    @overload
    def __rshift__(self, other: Sequence[TaskRef]) -> Sequence[TaskRef]: ...
    def __rshift__(self, other: TaskRef | Sequence[TaskRef]) -> TaskRef | Sequence[TaskRef]:
        for down in _many(other):
            down.set_upstream(self)
        return other

    @overload
    def __lshift__(self, other: TaskRef) -> TaskRef: ...
    @overload
    def __lshift__(self, other: Sequence[TaskRef]) -> Sequence[TaskRef]: ...
    def __lshift__(self, other: TaskRef | Sequence[TaskRef]) -> TaskRef | Sequence[TaskRef]:
        self.set_upstream(*_many(other))
        return other

    def __rrshift__(self, other: Sequence[TaskRef]) -> TaskRef:
        """`[a, b] >> c`."""
        self.set_upstream(*_many(other))
        return self

    def __rlshift__(self, other: Sequence[TaskRef]) -> TaskRef:
        """`[a, b] << c`."""
        for down in _many(other):
            down.set_upstream(self)
        return self

    def __repr__(self) -> str:
        return f"<task {self.name!r} of workflow {self._builder.name!r}>"


def _many(tasks: TaskRef | Iterable[TaskRef]) -> list[TaskRef]:
    return [tasks] if isinstance(tasks, TaskRef) else list(tasks)


class WorkflowBuilder:
    """Collects a workflow's keys and tasks as plain data; `build()` validates them."""

    def __init__(
        self,
        name: str,
        *,
        project: str | None = None,
        description: str | None = None,
        params: Mapping[str, Any] | None = None,
        schedule: Schedule | Mapping[str, Any] | None = None,
        failure_strategy: str | None = None,
        max_active_tasks: int | None = None,
        max_active_runs: int | None = None,
        secrets: Iterable[str] | None = None,
        alerts: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.filename, line = _caller()
        self._lines: dict[Path, int | None] = {(): line}
        if isinstance(schedule, Schedule):
            schedule = schedule.model_dump(mode="json", exclude_defaults=True)
        given = {
            "project": project, "description": description,
            "params": dict(params) if params is not None else None,
            "schedule": dict(schedule) if schedule is not None else None,
            "failure_strategy": failure_strategy, "max_active_tasks": max_active_tasks,
            "max_active_runs": max_active_runs, "secrets": list(secrets) if secrets is not None else None,
            "alerts": [dict(rule) for rule in alerts] if alerts is not None else None,
        }
        self._head: dict[str, Any] = {"name": name, **{k: v for k, v in given.items() if v is not None}}
        self._tasks: list[dict[str, Any]] = []

    def task(
        self, name: str, /, *, type: str, upstream: Iterable[TaskRef | str] = (), **fields: Any
    ) -> TaskRef:
        """Adds a task of any type; `fields` are the common task keys and the type's own keys."""
        return self._add(name, type, upstream, fields)

    def shell(self, name: str, /, command: str, *, upstream: Iterable[TaskRef | str] = (), **fields: Any) -> TaskRef:
        """Adds a `shell` task running `command`."""
        return self._add(name, "shell", upstream, {"command": command, **fields})

    def python(
        self, name: str, /, callable: str | None = None, *, upstream: Iterable[TaskRef | str] = (), **fields: Any
    ) -> TaskRef:
        """Adds a `python` task calling `callable` ("module:function"), or running `script=`."""
        config = {"callable": callable} if callable is not None else {}
        return self._add(name, "python", upstream, {**config, **fields})

    def _add(self, name: str, type: str, upstream: Iterable[TaskRef | str], fields: Mapping[str, Any]) -> TaskRef:
        spec: dict[str, Any] = {"name": name, "type": type}
        for key, value in fields.items():
            spec[key] = value.model_dump(mode="json") if isinstance(value, pydantic.BaseModel) else value
        ref = TaskRef(self, len(self._tasks))
        self._tasks.append(spec)
        self._lines[("tasks", ref._index)] = _caller()[1]
        ref.set_upstream(*upstream)
        return ref

    def to_dict(self) -> dict[str, Any]:
        """The workflow as raw data, as it would be written in a YAML file (not yet validated)."""
        return {**self._head, "tasks": [dict(t) for t in self._tasks]}

    def locate(self, path: Path) -> int | None:
        """The line in `filename` where the workflow or the task at `path` was declared."""
        for end in range(min(len(path), 2), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def build(self) -> Workflow:
        """The validated `Workflow`; raises SpecError naming the line of each bad task."""
        data = self.to_dict()
        try:
            return Workflow.model_validate(data)
        except pydantic.ValidationError as exc:
            raise SpecError(
                problems_from_validation_error(exc, data, model=Workflow, file=self.filename, locate=self.locate)
            ) from None

    def __enter__(self) -> WorkflowBuilder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.build()
            completed = _completed.get()
            if completed is not None and all(b is not self for b in completed):
                completed.append(self)


# `workflow("name", params=...)` reads better in a `with` statement than the class name.
workflow = WorkflowBuilder


def _caller() -> tuple[str | None, int | None]:
    """File and line of the first frame outside this module (where the user wrote the call)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None, None
    return frame.f_code.co_filename, frame.f_lineno


class DefinedWorkflow(NamedTuple):
    """A workflow found in a module; `source` is the file that declared it."""

    workflow: Workflow
    source: str
    locate: Locator


def run_workflow_module(
    source: str, source_dir: FsPath | None = None, text: str | None = None
) -> list[DefinedWorkflow | Problem]:
    """Runs the file `source` (or `text`, named `source`) and collects the workflows it defines.

    The module runs under the name `__shoal_workflow__`, so an `if __name__ == "__main__":`
    block does not run, with `source_dir` first on sys.path for its own imports. Any failure,
    including finding no workflow, comes back as a Problem pointing at the line in the file.
    """
    added = source_dir is not None and str(source_dir) not in sys.path
    if added:
        sys.path.insert(0, str(source_dir))
    completed: list[WorkflowBuilder] = []
    token = _completed.set(completed)
    try:
        if text is None:
            namespace = runpy.run_path(source, run_name="__shoal_workflow__")
        else:
            namespace = {"__name__": "__shoal_workflow__", "__file__": source}
            exec(compile(text, source, "exec"), namespace)
    except SpecError as exc:  # raised when a `with workflow(...)` block ends
        return list(exc.with_file(source).problems)
    except SyntaxError as exc:
        message = f"invalid Python at column {exc.offset}: {exc.msg}"
        return [Problem(exc.filename or source, exc.lineno, None, None, message)]
    except (Exception, SystemExit) as exc:  # user code: anything may come out of it
        line = _last_line_in(exc.__traceback__, source)
        return [Problem(source, line, None, None, f"running the file raised {type(exc).__name__}: {exc}")]
    finally:
        _completed.reset(token)
        if added:
            sys.path.remove(str(source_dir))
    return _collect([*completed, *namespace.values()], source)


def _collect(values: Iterable[Any], source: str) -> list[DefinedWorkflow | Problem]:
    """The workflows among `values` (builders and `Workflow`s), each once, in order."""
    results: list[DefinedWorkflow | Problem] = []
    seen: list[Workflow] = []
    builders: list[WorkflowBuilder] = []
    for value in values:
        if isinstance(value, WorkflowBuilder):
            if any(b is value for b in builders):
                continue  # a `with` block whose builder is also a module-level name
            builders.append(value)
            try:
                found = DefinedWorkflow(value.build(), value.filename or source, value.locate)
            except SpecError as exc:
                results.extend(exc.with_file(source).problems)
                continue
        elif isinstance(value, Workflow):
            found = DefinedWorkflow(value, source, no_lines)
        else:
            continue
        # `wf` and `w = wf.build()` side by side are one workflow, not a duplicate.
        if found.workflow not in seen:
            seen.append(found.workflow)
            results.append(found)
    if not results:
        results.append(Problem(
            source, None, None, None,
            "the file defines no workflow: create one with `with shoal.spec.sdk.workflow(...) as wf:`",
        ))
    return results


def _last_line_in(tb: TracebackType | None, filename: str) -> int | None:
    """The line of the innermost traceback frame that is in `filename`."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
