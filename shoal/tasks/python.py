"""`python`: call `module:function` (importable from the workflow's directory) or an inline script.

The callable receives `kwargs` as keyword arguments (plus `ctx` if it has a parameter of that
name) and returns a dict of outputs. A script sets `outputs = {...}` or prints `##shoal:set`
lines. Either way it runs in its own process: forked from the warm fork server (`isolation:
fork`, default) or in a reused warm worker (`isolation: worker`, cheapest, no fresh state).

`${...}` references in `script` become Python literals, never code (`shoal.tasks.values.python`);
`kwargs` values are passed as they are. `callable` names code, so it takes no references.
"""

from __future__ import annotations

import importlib
import inspect
from functools import lru_cache
from types import FunctionType
from typing import Any

from pydantic import Field, ValidationInfo, model_validator

from shoal.errors import ParamError, TaskFailed
from shoal.tasks.base import Isolation, TaskContext, TaskParams, TaskType, isolation_field, literal, references_checked
from shoal.tasks.forms import written_in
from shoal.tasks.values.python import check_python_references, python_script


class PythonParams(TaskParams):
    callable: str | None = Field(
        default=None,
        description="the function to call, as module.path:function, e.g. pipelines.clean:run; importable from "
        "the directory the workflow was applied from; it returns a dict of outputs. Give this or script",
    )
    script: str | None = Field(
        default=None,
        description="Python code to run; set outputs = {'rows': 10} to pass values downstream; ${...} values "
        "become Python literals. Give this or callable",
        json_schema_extra=written_in("python"),
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword arguments for the callable, e.g. {rows: 1000, day: '${ds}'}",
    )
    isolation: Isolation = isolation_field()

    @model_validator(mode="after")
    def _one_of(self, info: ValidationInfo) -> PythonParams:
        if (self.callable is None) == (self.script is None):
            raise ValueError("give exactly one of 'callable' (module:function) or 'script'")
        literal(self.callable, "callable names code")
        if self.callable is not None and ":" not in self.callable:
            raise ValueError(f"callable {self.callable!r} must look like 'module.path:function'")
        if self.script is not None and not references_checked(info):
            check_python_references(self.script)
        return self


def import_callable(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TaskFailed(
            f"cannot import {module_name!r} for callable {path!r}: {exc}; it must be importable "
            "from the directory the workflow was applied from"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TaskFailed(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise TaskFailed(f"{path!r} is not callable")
    return obj


class PythonTask(TaskType):
    name = "python"
    Params = PythonParams
    kind = "process"
    group = "general"
    description = "Call a Python function or run a Python script; the dict it returns becomes outputs."
    code_fields = frozenset({"script"})

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: PythonParams = ctx.params
        if p.script is not None:
            script = p.script
            if ctx.values is not None:
                try:
                    script = python_script(p.script, ctx.values)
                except ParamError as exc:
                    raise TaskFailed(str(exc)) from None
            namespace: dict[str, Any] = {"ctx": ctx, "outputs": {}, "__name__": "__shoal_script__"}
            exec(compile(script, f"<task {ctx.task}>", "exec"), namespace)
            result = namespace.get("outputs")
        else:
            fn = import_callable(p.callable or "")
            kwargs = dict(p.kwargs)
            if "ctx" in _parameters(fn):
                kwargs["ctx"] = ctx
            result = fn(**kwargs)
        if result is None:
            return {}
        if not isinstance(result, dict):
            raise TaskFailed(f"task {ctx.task!r} must return a dict of outputs, got {type(result).__name__}")
        return result


def _parameters(fn: Any) -> frozenset[str]:
    if type(fn) is FunctionType and not hasattr(fn, "__wrapped__"):
        # A plain function names its parameters in its code: what signature() would say, read
        # without its cost, which a forked task (a fresh cache every time) pays on every run.
        code = fn.__code__
        star_args = bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
        return frozenset(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount + star_args])
    try:
        return _cached_parameters(fn)
    except TypeError:  # an unhashable callable object
        return _signature_names(fn)


def _signature_names(fn: Any) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


# A warm worker calls the same function task after task, and signature() is slow.
_cached_parameters = lru_cache(maxsize=1024)(_signature_names)
