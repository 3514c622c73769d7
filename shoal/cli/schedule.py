"""`shoal schedule list|set|unset|pause|resume`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from shoal.cli._backend import services
from shoal.cli._common import Column, console, handle_errors, plain, print_json, print_rows
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


@app.command("set")
@handle_errors
def set_(
    name: Annotated[str, typer.Argument(help="the workflow")],
    cron: Annotated[str, typer.Option("--cron", help="5-field cron expression or alias, e.g. '30 2 * * *'")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA timezone the cron is read in")] = "UTC",
    start: Annotated[str | None, typer.Option("--start", help="first logical date: YYYY-MM-DD[THH:MM]")] = None,
    end: Annotated[str | None, typer.Option("--end", help="last logical date (a date: that whole day)")] = None,
    catchup: Annotated[bool, typer.Option("--catchup", help="run the fire times missed since --start")] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Give a workflow a schedule: its current definition with that schedule becomes its next version.

    Example: shoal schedule set nightly_training --cron '30 2 * * *' --timezone Asia/Shanghai
    """
    from shoal.cli._store import store

    data: dict[str, object] = {"cron": cron, "timezone": timezone, "catchup": catchup}
    data.update({k: v for k, v in (("start", start), ("end", end)) if v is not None})
    _print_change(services.schedules.set_schedule(store(), name, data, project=project), json_out)


@app.command("unset")
@handle_errors
def unset(
    name: Annotated[str, typer.Argument(help="the workflow")], project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Take a workflow's schedule away (a new version without it): no more scheduled runs."""
    from shoal.cli._store import store

    _print_change(services.schedules.remove_schedule(store(), name, project=project), json_out)


def _print_change(change: Any, json_out: bool) -> None:
    """A `services.schedules.ScheduleChange`: what was stored, and when the schedule fires next."""
    if json_out:
        print_json(change)
        return
    console.print(f"workflow {escape(change.project)}/{escape(change.workflow)}: {escape(change.message)}")
    for note in change.notes:
        console.print(f"note: {escape(note)}")
    if (s := change.schedule) is not None:
        nxt = "paused" if s.paused else (f"next fire {s.next_fire_at} UTC" if s.next_fire_at else "past its end")
        console.print(f"schedule {escape(s.cron)} ({escape(s.timezone)}): {nxt}")
