"""`shoal workflow apply|list|show|export|delete`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.syntax import Syntax
from rich.table import Table

from shoal.cli._common import console, handle_errors, print_json, store, styled
from shoal.client import Client
from shoal.engine.workflows import delete_workflow, get_workflow, list_workflows
from shoal.spec.io import dump_json, dump_python, dump_yaml
from shoal.spec.models import DEFAULT_PROJECT

app = typer.Typer(no_args_is_help=True, help="Define, inspect and delete workflows.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project the workflow belongs to")]


@app.command("apply")
@handle_errors
def apply(
    path: Annotated[Path, typer.Argument(help="a .yaml/.yml/.json/.py workflow file, or a directory of them")],
    project: Annotated[str | None, typer.Option("--project", help="store into this project instead of the file's")] = None,
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
        console.print(f"workflow [bold]{r.project}/{r.name}[/]: {what}")


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
        table.add_row(r["project"], r["name"], str(r["version"]), sched, styled(r["last_run_state"]), r["description"])
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
    if json_out:
        print_json({
            "project": wf.project, "name": wf.name, "version": wf.version, "source_dir": wf.source_dir,
            "schedule": wf.schedule, "definition": wf.spec.to_dict(),
        })
        return
    console.print(f"[bold]{wf.project}/{wf.name}[/] version {wf.version}  (source: {wf.source_dir or '-'})")
    if wf.schedule:
        s = wf.schedule
        console.print(f"schedule: {s['cron']} {s['timezone']}{' (paused)' if s['paused'] else ''}, "
                      f"next: {s['next_fire_at'] or '-'} UTC")
    console.print(Syntax(dump_yaml(wf.spec), "yaml"))


@app.command("export")
@handle_errors
def export(
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="yaml, json or py")] = "yaml",
    version: Annotated[int | None, typer.Option("--version", help="a stored version (default: current)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file instead of stdout")] = None,
) -> None:
    """Write a workflow as YAML, JSON or a Python SDK file; applying it back changes nothing."""
    dumpers = {"yaml": dump_yaml, "json": dump_json, "py": dump_python}
    if fmt not in dumpers:
        from shoal.errors import InvalidInput

        raise InvalidInput(f"--format must be one of {', '.join(dumpers)}, got {fmt!r}")
    text = dumpers[fmt](get_workflow(store(), name, project=project, version=version).spec)
    if output:
        output.write_text(text)
        console.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


@app.command("delete")
@handle_errors
def delete(
    name: str,
    project: ProjectOpt = DEFAULT_PROJECT,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a workflow with its versions, schedule and finished runs."""
    if not yes:
        typer.confirm(f"delete workflow {project}/{name} and all its runs?", abort=True)
    delete_workflow(store(), name, project=project)
    console.print(f"deleted workflow {project}/{name}")


