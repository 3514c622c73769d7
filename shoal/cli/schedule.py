"""`shoal schedule list|pause|resume`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from shoal.cli._backend import services
from shoal.cli._common import Column, console, handle_errors, plain, print_rows
from shoal.cli._options import DEFAULT_PROJECT, JsonOpt, ProjectOpt

app = typer.Typer(no_args_is_help=True, help="Cron schedules of workflows.")

# A narrow terminal keeps the project, workflow, cron and state whole; catchup, timezone, then
# the next fire time leave first.
SCHEDULE_COLUMNS = (
    Column("project", lambda s: plain(s.project), whole=True),
    Column("workflow", lambda s: plain(s.workflow), whole=True),
    Column("cron", lambda s: plain(s.cron), whole=True, drop=1),
    Column("timezone", lambda s: plain(s.timezone), whole=True, drop=3),
    Column("catchup", lambda s: str(s.catchup), drop=4),
    Column("state", lambda s: "paused" if s.paused else "active", whole=True),
    # UTC, the same value as `workflow show --json`; it folds between date and time.
    Column("next (UTC)", lambda s: str(s.next_fire_at or "-"), drop=2),
)


@app.command("list")
@handle_errors
def list_(
    project: Annotated[str | None, typer.Option("--project", help="only this project's workflows")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Workflows that have a schedule, with the next fire time."""
    from shoal.cli._store import store

    print_rows(services.schedules.list_schedules(store(), project=project), SCHEDULE_COLUMNS, json_out)


@app.command("pause")
@handle_errors
def pause(name: Annotated[str, typer.Argument(help="the workflow")], project: ProjectOpt = DEFAULT_PROJECT) -> None:
    """Stop creating scheduled runs of a workflow.

    Example: shoal schedule pause nightly_training --project fraud
    """
    from shoal.cli._store import store

    services.schedules.pause(store(), name, project=project)
    console.print(f"schedule of {escape(project)}/{escape(name)} paused")


@app.command("resume")
@handle_errors
def resume(name: Annotated[str, typer.Argument(help="the workflow")], project: ProjectOpt = DEFAULT_PROJECT) -> None:
    """Create scheduled runs again (missed times run only if the schedule has catchup: true)."""
    from shoal.cli._store import store

    services.schedules.resume(store(), name, project=project)
    console.print(f"schedule of {escape(project)}/{escape(name)} resumed")
