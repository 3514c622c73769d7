"""`shoal schedule list|pause|resume`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shoal.cli._common import console, handle_errors, plain, print_json, store
from shoal.engine.scheduler import set_paused
from shoal.engine.workflows import get_workflow, list_workflows
from shoal.spec.models import DEFAULT_PROJECT

app = typer.Typer(no_args_is_help=True, help="Cron schedules of workflows.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project of the workflow")]


@app.command("list")
@handle_errors
def list_(json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Workflows that have a schedule, with the next fire time."""
    s = store()
    rows = []
    for r in list_workflows(s):
        if not r["schedule"]:
            continue
        wf = get_workflow(s, r["name"], project=r["project"])
        sched = wf.schedule or {}
        rows.append({
            "project": r["project"], "workflow": r["name"], "cron": sched.get("cron"),
            "timezone": sched.get("timezone"), "catchup": sched.get("catchup"), "paused": sched.get("paused"),
            "next_fire_at": sched.get("next_fire_at"),  # UTC; the same key as `workflow show --json`
        })
    if json_out:
        print_json(rows)
        return
    table = Table()
    for col in ("project", "workflow", "cron", "timezone", "catchup", "state", "next (UTC)"):
        table.add_column(col)
    for r in rows:
        table.add_row(plain(r["project"]), plain(r["workflow"]), plain(r["cron"]), plain(r["timezone"]),
                      str(r["catchup"]), "paused" if r["paused"] else "active", str(r["next_fire_at"] or "-"))
    console.print(table)


@app.command("pause")
@handle_errors
def pause(name: str, project: ProjectOpt = DEFAULT_PROJECT) -> None:
    """Stop creating scheduled runs of a workflow."""
    set_paused(store(), name, True, project=project)
    console.print(f"schedule of {escape(project)}/{escape(name)} paused")


@app.command("resume")
@handle_errors
def resume(name: str, project: ProjectOpt = DEFAULT_PROJECT) -> None:
    """Create scheduled runs again (missed times run only if the schedule has catchup: true)."""
    set_paused(store(), name, False, project=project)
    console.print(f"schedule of {escape(project)}/{escape(name)} resumed")
