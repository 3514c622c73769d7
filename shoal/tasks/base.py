"""The task-type contract: a pydantic `Params` model plus `run(ctx)`.

A task type says *how* it executes through `kind`:

- `command`: `command(ctx)` returns an argv the executor spawns directly (shell) — no Python.
- `process`: `run(ctx)` runs in a process forked from the warm fork server, or in a reused warm
  worker (`isolation`), and returns a dict of outputs (python, sql, http).
- `inline`: `run(ctx)` runs inside the engine, in the same transaction that records its outcome;
  for cheap, side-effect-free decisions (switch, condition). It returns outputs, and a branching
  type puts the names of the downstream tasks it chose under `BRANCHES_KEY`.
- `engine`: the engine drives the task through the `EngineTask` protocol (`start`, `poll`,
  `on_timeout`) without a process: sub_workflow starts a child run and ends with it; dependent
  waits for another workflow's run. A sensor ("wait for a file", "wait for a partition") is
  the same: subclass `EngineTaskType`. `run` is not called.

`Params` is validated once when a workflow is applied (with `${...}` still in it) and again at
run time after rendering; its JSON Schema is what the web UI shows as the task's form (see
`shoal.tasks.forms`: every field has a `description`, and a field whose text is code says its
language). `group` and `description` place and explain the type in the UI's palette.

Values are data: a field listed in `code_fields` (a command, SQL, a script, a URL) is *not*
rendered. It reaches the task as written, with the value of each of its references in
`ctx.values`, and the type passes those values in a way that cannot run them as code (see
`shoal.tasks.values`). A task with `splice_values: true` gets such fields rendered as text instead.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo

from shoal.spec.templating import REFERENCES_CHECKED, find_references, render_value, resolve_references

Kind = Literal["command", "process", "inline", "engine"]
Isolation = Literal["fork", "worker"]
TriggerRule = Literal["all_success", "all_done", "none_failed", "one_success"]
BRANCHES_KEY = "branches"
# The groups of the web UI's palette, in its order. A plugin may name another group: it is
# shown after these (a type's group is a `str`, so a plugin from before groups keeps working).
GROUPS: tuple[str, ...] = ("general", "logic", "data", "features", "ml")


def references_checked(info: ValidationInfo) -> bool:
    """Whether the params being validated need no check of where their references stand (see
    `templating.REFERENCES_CHECKED`): only a definition being applied is checked."""
    return isinstance(info.context, dict) and bool(info.context.get(REFERENCES_CHECKED))


class TaskParams(BaseModel):
    """Base for every task type's params: unknown keys are an error, naming the key."""

    model_config = ConfigDict(extra="forbid")


def isolation_field() -> Any:
    """The `isolation` field of a `process` type's params (read by `TaskType.isolation`)."""
    return Field(
        default="fork",
        description="fork: every attempt gets a fresh process, forked from a warm one (the default); worker: "
        "reuse a warm worker process, the cheapest start, but what one task imports or sets stays for the next",
    )


@dataclass(frozen=True, kw_only=True)
class TaskContext:
    """What a task run knows about itself. Passed to `run`, `command` and python callables."""

    params: Any  # the validated, rendered `Params` instance
    run_id: int
    task_run_id: int
    task: str
    attempt: int
    workflow: str
    project: str
    logical_date: datetime
    source_dir: str | None = None
    # Inline tasks only: upstream task -> state, and the scope to evaluate expressions in.
    upstream_states: dict[str, str] = field(default_factory=dict)
    scope: Any = None
    # The value of each reference in the task's `code_fields`, keyed as written (`${x}`). None:
    # those fields were rendered as text already (`splice_values: true`); use them as they are.
    values: dict[str, Any] | None = None


@dataclass(frozen=True)
class ProjectReference:
    """Another workflow a task reaches: where it is, and whether runs are started there (a
    sub-workflow: the editor role) or only read (a dependency: the viewer role)."""

    project: str
    workflow: str
    starts_runs: bool


def literal(value: str | None, what: str) -> str | None:
    """`value` if it holds no `${...}`/`$[...]`: fields naming code or another project's
    workflow are fixed when the workflow is applied, so a value can never choose them."""
    if value is not None and find_references(value):
        raise ValueError(f"{what}, which a parameter or an output cannot choose: write it as it is")
    return value


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


class TaskType:
    """Base class of task-type plugins (registered under the `shoal.tasks` entry point group)."""

    name: ClassVar[str]
    Params: ClassVar[type[TaskParams]]
    kind: ClassVar[Kind] = "process"
    # Where the UI's palette shows the type (one of GROUPS for shoal's own types).
    group: ClassVar[str] = "general"
    # One or two sentences for someone picking a type. Empty: the class docstring's first
    # paragraph (see `describe`), so a plugin written before this existed still says something.
    description: ClassVar[str] = ""
    trigger_rule: ClassVar[TriggerRule] = "all_success"
    # Params fields left as written (not `${...}`-rendered) because the type evaluates them itself.
    raw_fields: ClassVar[frozenset[str]] = frozenset()
    # Params fields whose text is code: left as written, their references' values in `ctx.values`.
    code_fields: ClassVar[frozenset[str]] = frozenset()
    # Runs with the metadata database's and the online store's URLs (which may hold passwords):
    # for shoal's own types that record models and feature sets. Other tasks never see them.
    needs_store: ClassVar[bool] = False

    @classmethod
    def describe(cls) -> str:
        """`description`, or else the first paragraph of the class's own docstring ("" if none)."""
        if cls.description:
            return cls.description
        doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        return " ".join(doc.split("\n\n")[0].split())

    def branch_targets(self, params: BaseModel) -> list[str]:
        """Downstream tasks this type may choose between; [] for a type that does not branch."""
        return []

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        """Do the work and return outputs (`process` and `inline` kinds)."""
        raise NotImplementedError(f"task type {self.name!r} does not implement run()")

    def command(self, ctx: TaskContext) -> Command:
        """The process to spawn (`command` kind)."""
        raise NotImplementedError(f"task type {self.name!r} does not implement command()")

    def project_references(self, config: dict[str, Any]) -> list[ProjectReference]:
        """The workflows of other projects this task reaches (`config` as written): checked
        against the applying user's roles when the workflow is applied."""
        return []

    def isolation(self, params: BaseModel) -> Literal["fork", "worker"]:
        """How a `process` task runs: forked fresh (default) or in a reused warm worker."""
        return getattr(params, "isolation", "fork")


def render_params(task_type: TaskType, spec: Any, scope: Any) -> tuple[TaskParams, dict[str, Any] | None]:
    """A task's params for one attempt (`spec` a `TaskSpec`, `scope` a templating `Scope`).

    Plain fields are rendered; `raw_fields` stay as written; `code_fields` stay as written too,
    and the values of their references are returned beside the params (for `ctx.values`), unless
    the task opted into `splice_values`, which renders them as text like any field.
    """
    splice = bool(spec.splice_values)
    config: dict[str, Any] = {}
    code: dict[str, Any] = {}
    for key, value in spec.config.items():
        if key in task_type.raw_fields:
            config[key] = value
        elif key in task_type.code_fields and not splice:
            config[key] = code[key] = value
        else:
            config[key] = render_value(value, scope)
    values = None if splice else resolve_references(code, scope)
    # Checked when the workflow was applied: the code fields are unchanged, or spliced as text.
    params = task_type.Params.model_validate(config, context={REFERENCES_CHECKED: True})
    return params, values


# ----------------------------------------------------------------------- engine-driven tasks


class RunControl(Protocol):
    """What an engine-driven task may do to runs, through the engine."""

    def start_child(self, workflow: str, project: str, params: dict[str, str]) -> int:
        """Queue a run of `workflow` as this task's child (same logical date, timezone and
        priority), in the transaction that starts the task; returns its id."""
        ...

    def stop(self, run_id: int) -> None:
        """Stop a run (and its children) that this task started."""
        ...


@dataclass(frozen=True, kw_only=True)
class EngineContext:
    """What an engine-driven task knows when the engine starts, polls or times it out."""

    task: TaskContext  # the task run itself, with its rendered params
    conn: Any  # a SQLAlchemy Connection in the engine's transaction: read what you wait for here
    runs: RunControl
    task_params: dict[str, str]  # the task's own `params`, rendered (a sub-workflow's run params)
    timeout: float | None  # the task's timeout in seconds, if it has one
    now: datetime  # naive UTC, the engine's clock
    child_run: int | None = None  # the run this task waits for, if it said so (`Waiting.child_run`)
    first_poll: bool = False  # the first poll of this attempt by this engine: say what it waits for


@dataclass(frozen=True)
class Waiting:
    """Not done yet: poll again in `poll_in` seconds, or (None) when `child_run` ends."""

    poll_in: float | None = None
    child_run: int | None = None  # a run the engine drives (or watches) and polls this task after
    log: str | None = None  # a line for the task's log


@dataclass(frozen=True)
class Done:
    """The attempt ended: succeeded (`ok`) with `outputs`, or failed with `error`."""

    ok: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False
    log: str | None = None


class EngineTask(Protocol):
    """The contract of an engine-driven task type (`kind = "engine"`). Each call gets a
    keyword-only context and answers at once: the engine never waits inside one."""

    def start(self, ctx: EngineContext) -> Waiting | Done:
        """The attempt starts (in the transaction that moves it to running). Raising a
        `ShoalError` fails it without retrying: the reason is the error's message."""
        ...

    def poll(self, ctx: EngineContext) -> Waiting | Done:
        """Is it done? Called when `Waiting.poll_in` is up, when `Waiting.child_run` ended, and
        after a driver took the task over from another."""
        ...

    def on_timeout(self, ctx: EngineContext) -> Done:
        """The task's `timeout` passed: clean up (e.g. stop the child run) and say how it ends."""
        ...


class EngineTaskType(TaskType):
    """Base class of engine-driven task types: implement `start` and `poll` (see `EngineTask`)."""

    kind: ClassVar[Kind] = "engine"

    def start(self, ctx: EngineContext) -> Waiting | Done:
        return Waiting(poll_in=0.0)  # look at once

    def poll(self, ctx: EngineContext) -> Waiting | Done:
        raise NotImplementedError(f"task type {self.name!r} does not implement poll()")

    def on_timeout(self, ctx: EngineContext) -> Done:
        return Done(ok=False, timed_out=True, error=f"timed out after {ctx.timeout:g}s")
