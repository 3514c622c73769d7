"""`shoal workflow apply|list|show|export|delete`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from shoal.cli._common import console, handle_errors, plain, print_json, store, styled
from shoal.client import Client
from shoal.engine.workflows import delete_workflow, get_workflow, list_workflows
from shoal.errors import InvalidInput
from shoal.spec.io import FORMATS, dump_json, dump_python, dump_yaml
from shoal.spec.models import DEFAULT_PROJECT
from shoal.spec.secrets import masked_definition

app = typer.Typer(no_args_is_help=True, help="Define, inspect and delete workflows.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project the workflow belongs to")]
DUMPERS = {"yaml": dump_yaml, "json": dump_json, "py": dump_python}
# A file's extension -> the --format that `workflow apply` reads it as.
FORMAT_OF_SUFFIX = {suffix: "py" if fmt == "python" else fmt for suffix, fmt in FORMATS.items()}


@app.command("apply")
@handle_errors
def apply(
    path: Annotated[Path, typer.Argument(help="a .yaml/.yml/.json/.py workflow file, or a directory of them")],
    project: Annotated[
        str | None, typer.Option("--project", help="store into this project instead of the file's")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Validate and store workflows: a new version only when a definition changed."""
    client = Client(store=store())
    results = client.apply_path(path, project=project)
    if json_out:
        print_json([r.__dict__ for r in results])
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
    search: Annotated[str | None, typer.Option("--search", help="only names/descriptions containing TEXT")] = None,
    project: Annotated[str | None, typer.Option("--project", help="only this project")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List workflows with their current version, schedule and last run."""
    rows = list_workflows(store(), search=search, project=project)
    if json_out:
        print_json(rows)
        return
    table = Table()
    for col in ("project", "name", "version", "schedule", "last run", "description"):
        table.add_column(col)
    for r in rows:
        sched = "-" if not r["schedule"] else r["schedule"] + (" (paused)" if r["paused"] else "")
        table.add_row(plain(r["project"]), plain(r["name"]), str(r["version"]), plain(sched),
                      styled(r["last_run_state"]), plain(r["description"]))
    console.print(table)


@app.command("show")
@handle_errors
def show(
    name: str,
    version: Annotated[int | None, typer.Option("--version", help="a stored version (default: current)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show a workflow's definition at a version."""
    wf = get_workflow(store(), name, project=project, version=version)
    spec = masked_definition(wf.spec)  # secret params read ***
    if json_out:
        print_json({
            "project": wf.project, "name": wf.name, "version": wf.version, "source_dir": wf.source_dir,
            "schedule": wf.schedule, "definition": spec.to_dict(),
        })
        return
    console.print(f"[bold]{escape(wf.project)}/{escape(wf.name)}[/] version {wf.version}  "
                  f"(source: {escape(wf.source_dir or '-')})", soft_wrap=True)  # a path stays whole to copy
    if wf.schedule:
        s = wf.schedule
        console.print(f"schedule: {escape(s['cron'])} {escape(s['timezone'])}{' (paused)' if s['paused'] else ''}, "
                      f"next: {s['next_fire_at'] or '-'} UTC")
    console.print(Syntax(dump_yaml(spec), "yaml"))


def _export_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the one -o's extension says (yaml for stdout or another extension)."""
    if fmt is not None and fmt not in DUMPERS:
        raise InvalidInput(f"--format must be one of {', '.join(DUMPERS)}, got {fmt!r}")
    implied = FORMAT_OF_SUFFIX.get(output.suffix.lower()) if output is not None else None
    if fmt is not None and implied is not None and fmt != implied:
        raise InvalidInput(f"--format {fmt} contradicts the extension of {output} ({implied}): "
                           "`workflow apply` reads a file by its extension, so make them agree")
    return fmt or implied or "yaml"


@app.command("export")
@handle_errors
def export(
    name: str,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="yaml, json or py (default: from -o's extension, else yaml)", show_default=False,
    )] = None,
    version: Annotated[int | None, typer.Option("--version", help="a stored version (default: current)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file instead of stdout")] = None,
) -> None:
    """Write a workflow as YAML, JSON or a Python SDK file; applying it back changes nothing."""
    fmt = _export_format(fmt, output)
    if output is not None:
        if output.is_dir():
            raise InvalidInput(f"cannot write {output}: it is a directory; give a file name")
        if not output.parent.is_dir():
            raise InvalidInput(f"cannot write {output}: directory {output.parent} does not exist")
    # Secret params read *** (applying it back keeps the stored values: see shoal.spec.secrets).
    text = DUMPERS[fmt](masked_definition(get_workflow(store(), name, project=project, version=version).spec))
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
    name: str,
    project: ProjectOpt = DEFAULT_PROJECT,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a workflow with its versions, schedule and finished runs."""
    s = store()
    if not yes:
        get_workflow(s, name, project=project)  # a name that does not exist says so, before any question
        if not sys.stdin.isatty():
            raise InvalidInput(f"not deleting {project}/{name} without a confirmation: pass --yes (no terminal "
                               "to ask on)")
        typer.confirm(f"delete workflow {project}/{name} and all its runs?", abort=True)
    delete_workflow(s, name, project=project)
    console.print(f"deleted workflow {escape(project)}/{escape(name)}")


