"""Workflows: apply (a Workflow, a file or a directory of them), list, show, export, delete.

Applying is all or nothing: every workflow of a directory is validated before any is stored,
and they are stored in one transaction (`shoal.engine.workflows.apply_workflows`). What is
shown or exported reads each secret param as `***`; applying that back keeps the stored value.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic

from shoal.engine import workflows as engine_workflows
from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.states import RunState
from shoal.engine.workflows import SCHEDULE_STATES, ApplyResult, ScheduleState
from shoal.errors import InvalidInput
from shoal.services.pages import Page, check_limit, decode_cursor, page_of
from shoal.spec.errors import Problem, SpecError, problems_from_validation_error
from shoal.spec.io import (
    FORMATS,
    LoadedWorkflow,
    dump_json,
    dump_python,
    dump_yaml,
    read_dir,
    read_file,
    read_text,
    read_texts,
)
from shoal.spec.models import DEFAULT_PROJECT, Workflow
from shoal.spec.secrets import masked_definition
from shoal.spec.validate import validate_project_name, validate_workflow
from shoal.store import Store
from shoal.tasks.registry import task_types

__all__ = [
    "EXPORT_FORMATS", "ApplyResult", "LoadedWorkflow", "VersionInfo", "WorkflowDetail", "WorkflowDiff",
    "RestoreResult", "WorkflowSummary", "apply", "apply_files", "apply_path", "apply_text", "delete", "diff",
    "export", "format_of_suffix", "list_workflows", "load", "no_workflows", "restore", "revise", "show",
    "validate_text", "versions", "workflows_page",
]

_DUMPERS = {"yaml": dump_yaml, "json": dump_json, "py": dump_python}
EXPORT_FORMATS = tuple(_DUMPERS)


@dataclass(frozen=True)
class WorkflowSummary:
    """One row of `list_workflows`."""

    project: str
    name: str
    version: int  # the current one
    description: str | None
    owner: str | None  # who first applied it; None if applied before owners were recorded
    schedule: str | None  # its cron
    paused: bool | None  # None: no schedule
    last_run_state: str | None
    updated_at: str  # ISO, UTC


@dataclass(frozen=True)
class VersionInfo:
    version: int
    current: bool
    spec_hash: str
    created_by: str | None  # who applied it; None if applied before authors were recorded
    created_at: datetime


@dataclass(frozen=True)
class WorkflowDiff:
    project: str
    name: str
    old: int
    new: int
    diff: str  # unified diff of the YAML definitions; empty when they are the same


@dataclass(frozen=True)
class WorkflowDetail:
    """A workflow at one version: its definition (secret params read `***`) and its schedule
    (cron, timezone, paused, catchup, next_fire_at in UTC; None without one)."""

    project: str
    name: str
    version: int
    source_dir: str | None
    schedule: dict[str, Any] | None
    definition: dict[str, Any]


@dataclass(frozen=True)
class RestoreResult:
    """What restoring an old version stored: `version`, the new current one with the definition
    of version `restored` (`changed` False: the current version already is that definition)."""

    project: str
    name: str
    version: int
    changed: bool
    restored: int
    notes: tuple[str, ...] = ()


def load(path: str | Path) -> list[LoadedWorkflow]:
    """Read and validate every workflow of a file or directory (nothing is stored)."""
    p = Path(path)
    return read_dir(p, task_types()) if p.is_dir() else read_file(p, task_types())


def apply(
    store: Store, wf: Workflow, source_dir: str | Path | None = None, *, project: str | None = None,
    actor: Actor = LOCAL,
) -> ApplyResult:
    """Validate and store one workflow (into `project` if given): a new version only if it changed."""
    return engine_workflows.apply_workflows(store, [_prepared(wf, source_dir, project)], actor=actor)[0]


def apply_path(
    store: Store | Callable[[], Store], path: str | Path, *, project: str | None = None, actor: Actor = LOCAL,
) -> list[ApplyResult]:
    """Apply every workflow of a file or directory, all or none.

    Python tasks import their `module:function` from the directory `apply` is run in, then
    from the file's own directory: both are kept as the version's search path. `store` may be
    a function opening it, called only once every file is valid: a bad file creates no database.
    """
    loaded = load(path)
    if not loaded:
        raise no_workflows(path)
    cwd = str(Path.cwd().resolve())

    def search_path(lw: LoadedWorkflow) -> str:
        dirs = [cwd] + ([str(Path(lw.source_dir).resolve())] if lw.source_dir else [])
        return os.pathsep.join(dict.fromkeys(dirs))

    return _apply_loaded(store, loaded, project, actor, search_path)


def apply_text(
    store: Store, text: str, fmt: str = "yaml", *, project: str | None = None, actor: Actor = LOCAL,
    source: str = "<request>",
) -> list[ApplyResult]:
    """Apply every workflow of a YAML or JSON text (a request's body), all or none. Python SDK
    files are not taken here: they are code, and what a request carries never runs as code."""
    loaded = _read_text(text, fmt, source)
    return _apply_loaded(store, loaded, project, actor, lambda _lw: None)


def no_workflows(path: str | Path) -> InvalidInput:
    """What applying a file or directory without workflows says (here and from a remote CLI)."""
    hint = (
        f": apply reads the {'/'.join(FORMATS)} files directly inside it, not in its "
        "subdirectories, and skips names starting with _ or ."
    ) if Path(path).is_dir() else ""
    return InvalidInput(f"no workflows found in {path}{hint}")


def apply_files(
    store: Store, files: list[tuple[str, str, str]], *, project: str | None = None, actor: Actor = LOCAL,
) -> list[ApplyResult]:
    """Apply every workflow of several YAML or JSON texts, each `(name, text, format)`, all or
    none, as `apply_path` applies a directory: every problem of every text is reported, a name
    defined twice is refused, and they are stored in one transaction. What a CLI pointed at a
    server sends for `shoal workflow apply DIR`."""
    if not files:
        raise InvalidInput("no files to apply: send at least one", field="files")
    for name, _text, fmt in files:
        if fmt not in ("yaml", "json"):
            raise InvalidInput(f"{name}: format {fmt!r}: send yaml or json (a Python SDK file is applied as the "
                               "JSON it builds)", field="format")
    loaded = read_texts(files, task_types())
    if not loaded:
        raise InvalidInput(f"no workflows found in {', '.join(name for name, _, _ in files)}", field="files")
    return _apply_loaded(store, loaded, project, actor, lambda _lw: None)


def _read_text(text: str, fmt: str, source: str) -> list[LoadedWorkflow]:
    if fmt not in ("yaml", "json"):
        raise InvalidInput(f"format {fmt!r}: send yaml or json (a Python SDK file is applied from the command line)",
                           field="format")
    loaded = read_text(text, fmt, source, task_types())
    if not loaded:
        raise InvalidInput(f"no workflows found in {source}", field="content")
    return loaded


def _apply_loaded(
    store: Store | Callable[[], Store], loaded: list[LoadedWorkflow], project: str | None, actor: Actor,
    search_path: Callable[[LoadedWorkflow], str | None],
) -> list[ApplyResult]:
    if project is not None:
        _refuse_merged_names(loaded, project)
    items = [_prepared(lw.workflow, search_path(lw), project, validated=True) for lw in loaded]
    return engine_workflows.apply_workflows(store() if callable(store) else store, items, actor=actor)


def list_workflows(
    store: Store, *, search: str | None = None, project: str | None = None, schedule: ScheduleState | None = None,
    last_state: str | None = None, actor: Actor = LOCAL,
) -> list[WorkflowSummary]:
    """Workflows (of projects `actor` may read) with their current version, owner, schedule and
    last run; `search` in the name, description or owner."""
    return _summaries(store, search=search, project=project, actor=actor, schedule=schedule, last_state=last_state)


def workflows_page(
    store: Store, *, cursor: str | None = None, limit: int = 50, search: str | None = None,
    project: str | None = None, schedule: ScheduleState | None = None, last_state: str | None = None,
    actor: Actor = LOCAL,
) -> Page[WorkflowSummary]:
    """A page of `list_workflows`, by project and name; `cursor`: the `next_cursor` of the page before."""
    after = decode_cursor(cursor, (str, str))
    rows = _summaries(store, search=search, project=project, actor=actor, after=after, limit=check_limit(limit) + 1,
                      schedule=schedule, last_state=last_state)
    return page_of(rows, limit, lambda w: (w.project, w.name))


def _summaries(store: Store, *, search: str | None, project: str | None, actor: Actor, **page: Any,
               ) -> list[WorkflowSummary]:
    if project is not None:
        require(actor, project, Role.VIEWER, f"read workflows of project {project!r}")
    last_state, schedule = page.get("last_state"), page.get("schedule")
    if last_state is not None and last_state != "none" and last_state not in set(RunState):
        raise InvalidInput(f"last_state {last_state!r}: expected none (never run) or a run state: "
                           f"{', '.join(RunState)}", field="last_state")
    if schedule is not None and schedule not in SCHEDULE_STATES:
        raise InvalidInput(f"schedule {schedule!r}: expected one of {', '.join(SCHEDULE_STATES)}", field="schedule")
    rows = engine_workflows.list_workflows(
        store, search=search, project=project, readable=None if actor.roles is None else list(actor.roles), **page,
    )
    return [WorkflowSummary(**r) for r in rows]


def versions(store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> list[VersionInfo]:
    """A workflow's versions, newest first."""
    require(actor, project, Role.VIEWER, f"read workflows of project {project!r}")
    return [VersionInfo(**v) for v in engine_workflows.list_versions(store, name, project=project)]


def diff(
    store: Store, name: str, old: int, new: int | None = None, *, project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> WorkflowDiff:
    """What changed from version `old` to version `new` (default: the current one), as a unified
    diff of the two definitions in YAML (secret params read `***` in both)."""
    require(actor, project, Role.VIEWER, f"read workflows of project {project!r}")
    before = engine_workflows.get_workflow(store, name, project=project, version=old)
    after = engine_workflows.get_workflow(store, name, project=project, version=new)
    a, b = (dump_yaml(masked_definition(w.spec)).splitlines(keepends=True) for w in (before, after))
    text = "".join(difflib.unified_diff(a, b, f"{name} v{before.version}", f"{name} v{after.version}"))
    return WorkflowDiff(project, name, before.version, after.version, text)


def revise(
    store: Store, name: str, edit: Callable[[dict[str, Any]], dict[str, Any]], *, project: str = DEFAULT_PROJECT,
    version: int | None = None, actor: Actor = LOCAL,
) -> ApplyResult:
    """Store `edit` of a workflow's definition at `version` (default: the current one) as its
    next version, the way applying a file does: the edited definition is validated as a file's
    would be (SpecError naming the field), `actor` must be an editor, and nothing is stored when
    it equals the current version. Secrets keep their stored values (they are never shown), and
    the version's python search path stays with it."""
    require(actor, project, Role.EDITOR, f"apply workflows in project {project!r}")
    stored = engine_workflows.get_workflow(store, name, project=project, version=version)
    data = edit(stored.spec.to_dict())
    try:
        wf = Workflow.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SpecError(problems_from_validation_error(exc, data, model=Workflow)) from None
    return apply(store, wf, stored.source_dir, actor=actor)


def restore(
    store: Store, name: str, version: int, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL,
) -> RestoreResult:
    """Make version `version`'s definition (schedule included) the current one, as a new
    version; the versions in between stay as they were."""
    result = revise(store, name, lambda data: data, project=project, version=version, actor=actor)
    return RestoreResult(result.project, result.name, result.version, result.changed, version, result.notes)


def validate_text(text: str, fmt: str = "yaml", *, source: str = "<request>") -> list[str]:
    """Check a YAML or JSON text as `apply_text` would, storing nothing: the names of its
    workflows, or SpecError listing every problem (file, line, task, field)."""
    return [lw.workflow.name for lw in _read_text(text, fmt, source)]


def show(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, version: int | None = None, actor: Actor = LOCAL,
) -> WorkflowDetail:
    """A workflow at `version` (default: the current one)."""
    require(actor, project, Role.VIEWER, f"read workflows of project {project!r}")
    wf = engine_workflows.get_workflow(store, name, project=project, version=version)
    return WorkflowDetail(
        project=wf.project, name=wf.name, version=wf.version, source_dir=wf.source_dir, schedule=wf.schedule,
        definition=masked_definition(wf.spec).to_dict(),
    )


def export(
    store: Store, name: str, fmt: str = "yaml", *, project: str = DEFAULT_PROJECT, version: int | None = None,
    actor: Actor = LOCAL,
) -> str:
    """The workflow as YAML, JSON or a Python SDK file (`fmt`: one of EXPORT_FORMATS); applying
    it back changes nothing."""
    if fmt not in _DUMPERS:
        raise InvalidInput(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    require(actor, project, Role.VIEWER, f"read workflows of project {project!r}")
    wf = engine_workflows.get_workflow(store, name, project=project, version=version)
    return _DUMPERS[fmt](masked_definition(wf.spec))


def format_of_suffix(suffix: str) -> str | None:
    """The export format a file extension stands for (`.yml` -> yaml), as `apply` reads it."""
    fmt = FORMATS.get(suffix.lower())
    return "py" if fmt == "python" else fmt


def delete(store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> None:
    """Delete a workflow with its versions, schedule and finished runs (refused while it has
    active runs)."""
    require(actor, project, Role.EDITOR, f"delete workflows of project {project!r}")
    engine_workflows.delete_workflow(store, name, project=project)


def _prepared(
    wf: Workflow, source_dir: str | Path | None, project: str | None, *, validated: bool = False,
) -> tuple[Workflow, str | None]:
    """`wf` moved to `project` (if given) and validated (unless `load` just did: a second pass
    costs a quarter of applying a 20,000-task file), with its source directory resolved."""
    if project is not None and project != wf.project:
        wf = wf.model_copy(update={"project": validate_project_name(project)})
    if not validated:
        validate_workflow(wf, task_types())
    if source_dir is not None and os.pathsep not in str(source_dir):
        source_dir = str(Path(source_dir).resolve())
    return wf, str(source_dir) if source_dir else None


def _refuse_merged_names(loaded: list[LoadedWorkflow], project: str) -> None:
    """`--project` puts every workflow in one project: two of the same name would silently
    become versions of one workflow."""
    first: dict[str, LoadedWorkflow] = {}
    problems = []
    for lw in loaded:
        other = first.setdefault(lw.workflow.name, lw)
        if other is not lw:
            problems.append(Problem(
                lw.source, lw.locate(("name",)), None, "name",
                f"workflow {lw.workflow.name!r} is also defined in {other.source}; with --project {project} both "
                "would be the same workflow: rename one or apply them separately",
            ))
    if problems:
        raise SpecError(problems)
