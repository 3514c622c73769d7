"""`shoal workflow apply|list|show|export|delete`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shoal.cli._backend import services
from shoal.cli._common import Column, console, handle_errors, plain, print_json, print_rows, styled
from shoal.cli._options import DEFAULT_PROJECT, JsonOpt, ProjectOpt
from shoal.errors import InvalidInput

app = typer.Typer(no_args_is_help=True, help="Define, inspect and delete workflows.")
VersionOpt = Annotated[int | None, typer.Option("--version", help="a stored version (default: current)")]

# A narrow terminal keeps the project, name and last run whole; version, description, then
# schedule leave first.
WORKFLOW_COLUMNS = (
    Column("project", lambda w: plain(w.project), whole=True),
    Column("name", lambda w: plain(w.name), whole=True),
    Column("version", lambda w: str(w.version), whole=True, drop=3),
    Column("schedule", lambda w: plain("-" if not w.schedule else w.schedule + (" (paused)" if w.paused else "")),
           drop=1),
    Column("last run", lambda w: styled(w.last_run_state), whole=True),
    Column("description", lambda w: plain(w.description), drop=2),
)


@app.command("apply")
@handle_errors
def apply(
    path: Annotated[Path, typer.Argument(help="a .yaml/.yml/.json/.py workflow file, or a directory of them")],
    project: Annotated[
        str | None, typer.Option("--project", help="store into this project instead of the file's")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate and store workflows: a new version only when a definition changed.

    Example: shoal workflow apply examples/hello_ml.yaml
    """
    from shoal.cli._store import store

    results = services.workflows.apply_path(lambda: store(create=True), path, project=project)
    if json_out:
        print_json(results)
        return
    for r in results:
        what = f"version {r.version} stored" if r.changed else f"unchanged (version {r.version})"
        console.print(f"workflow [bold]{escape(r.project)}/{escape(r.name)}[/]: {what}")
        if r.kept_source_dir:
            console.print(
                f"  its python tasks still import from {escape(r.kept_source_dir)}, where it was applied from; "
                "only a changed definition stores a version that imports from here", highlight=False, soft_wrap=True,
            )
        for note in r.notes:
            console.print(f"  [yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)


@app.command("list")
@handle_errors
def list_(
    search: Annotated[str | None, typer.Option("--search", help="only names/descriptions/owners containing TEXT")
                      ] = None,
    project: Annotated[str | None, typer.Option("--project", help="only this project")] = None,
    schedule: Annotated[str | None, typer.Option(
        "--schedule", help="only those whose schedule is active, paused or none")] = None,
    last_state: Annotated[str | None, typer.Option(
        "--last-state", help="only those whose newest run is in this state (none: never run)")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List workflows with their current version, schedule and last run (--json: and owner)."""
    from shoal.cli._store import store

    found = services.workflows.list_workflows(
        store(), search=search, project=project, schedule=schedule, last_state=last_state)  # type: ignore[arg-type]
    print_rows(found, WORKFLOW_COLUMNS, json_out)


@app.command("show")
@handle_errors
def show(
    name: Annotated[str, typer.Argument(help="the workflow")],
    version: VersionOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Show a workflow's definition at a version (secret params read ***)."""
    from rich.syntax import Syntax

    from shoal.cli._store import store

    s = store()
    wf = services.workflows.show(s, name, project=project, version=version)
    if json_out:
        print_json(wf)
        return
    console.print(f"[bold]{escape(wf.project)}/{escape(wf.name)}[/] version {wf.version}  "
                  f"(source: {escape(wf.source_dir or '-')})", soft_wrap=True)  # a path stays whole to copy
    if wf.schedule:
        sched = wf.schedule
        console.print(f"schedule: {escape(sched['cron'])} {escape(sched['timezone'])}"
                      f"{' (paused)' if sched['paused'] else ''}, next: {sched['next_fire_at'] or '-'} UTC")
    text = services.workflows.export(s, name, "yaml", project=project, version=wf.version)
    console.print(Syntax(text, "yaml"))


def _export_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the one -o's extension says (yaml for stdout or another extension)."""
    formats = services.workflows.EXPORT_FORMATS
    if fmt is not None and fmt not in formats:
        raise InvalidInput(f"--format must be one of {', '.join(formats)}, got {fmt!r}")
    implied = services.workflows.format_of_suffix(output.suffix) if output is not None else None
    if fmt is not None and implied is not None and fmt != implied:
        raise InvalidInput(f"--format {fmt} contradicts the extension of {output} ({implied}): "
                           "`workflow apply` reads a file by its extension, so make them agree")
    return fmt or implied or "yaml"


@app.command("export")
@handle_errors
def export(
    name: Annotated[str, typer.Argument(help="the workflow")],
    fmt: Annotated[str | None, typer.Option(
        "--format", help="yaml, json or py (default: from -o's extension, else yaml)", show_default=False,
    )] = None,
    version: VersionOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file instead of stdout")] = None,
) -> None:
    """Write a workflow as YAML, JSON or a Python SDK file; applying it back changes nothing.

    Example: shoal workflow export hello_ml -o hello_ml.py
    """
    from shoal.cli._store import store

    fmt = _export_format(fmt, output)
    if output is not None:
        if output.is_dir():
            raise InvalidInput(f"cannot write {output}: it is a directory; give a file name")
        if not output.parent.is_dir():
            raise InvalidInput(f"cannot write {output}: directory {output.parent} does not exist")
    # Secret params read *** (applying it back keeps the stored values: see shoal.spec.secrets).
    text = services.workflows.export(store(), name, fmt, project=project, version=version)
    if output is None:
        typer.echo(text, nl=False)
        return
    partial = output.with_name(f".{output.name}.partial")  # renamed into place: never half-written
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot write {output}: {exc.strerror or exc}") from None
    console.print(f"wrote {escape(str(output))} ({fmt})", soft_wrap=True)


@app.command("delete")
@handle_errors
def delete(
    name: Annotated[str, typer.Argument(help="the workflow")],
    project: ProjectOpt = DEFAULT_PROJECT,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a workflow with its versions, schedule and finished runs."""
    from shoal.cli._store import store

    s = store()
    if not yes:
        services.workflows.show(s, name, project=project)  # a name that does not exist says so, before any question
        if not sys.stdin.isatty():
            raise InvalidInput(f"not deleting {project}/{name} without a confirmation: pass --yes (no terminal "
                               "to ask on)")
        typer.confirm(f"delete workflow {project}/{name} and all its runs?", abort=True)
    services.workflows.delete(s, name, project=project)
    console.print(f"deleted workflow {escape(project)}/{escape(name)}")
