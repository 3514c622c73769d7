"""`shoal alerts list`: the alerts shoal recorded for runs, and how their delivery went.

A project's default rules are the project's: `shoal project alerts` (cli/access.py).
"""

from __future__ import annotations

from typing import Annotated

import typer

from shoal.cli._backend import services
from shoal.cli._common import Column, fmt_time, handle_errors, plain, print_rows
from shoal.cli._options import JsonOpt

app = typer.Typer(no_args_is_help=True, help="Alerts of runs (webhook, email): what was sent, what failed and why.")

_STATE_COLOURS = {"sent": "green", "failed": "red", "pending": "yellow"}

# A narrow terminal keeps id, run, event, state and the reason; the rest leaves first.
ALERT_COLUMNS = (
    Column("id", lambda d: str(d.id), whole=True),
    Column("workflow", lambda d: plain(f"{d.project}/{d.workflow}"), drop=3),
    Column("run", lambda d: str(d.run_id), whole=True),
    Column("event", lambda d: plain(d.event + (f" ({d.task})" if d.task else "")), whole=True),
    Column("to", lambda d: plain(f"{d.channel} {d.target}")),
    Column("state", lambda d: f"[{_STATE_COLOURS.get(d.state, 'white')}]{d.state}[/]", whole=True),
    Column("tries", lambda d: str(d.attempts), whole=True, drop=4),
    Column("when (UTC)", lambda d: fmt_time(d.sent_at or d.last_attempt_at or d.created_at), min_width=10, drop=2),
    Column("reason", lambda d: plain(d.last_error or "-"), drop=1),
)


@app.command("list")
@handle_errors
def list_(
    project: Annotated[str | None, typer.Option("--project", help="only this project's alerts")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", help="only this workflow's (with --project)")] = None,
    run: Annotated[int | None, typer.Option("--run", help="only this run's")] = None,
    state: Annotated[str | None, typer.Option("--state", help="pending, sent or failed")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many, newest first")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """Alert deliveries, newest first: event, target, state (pending, sent, failed), tries and
    the reason of the last failure. Webhook URLs show their host only.

    Example: shoal alerts list --project fraud --state failed
    """
    from shoal.cli._store import store

    rows = services.alerts.list_deliveries(store(), project=project, workflow=workflow, run=run, state=state,
                                           limit=limit)
    print_rows(rows, ALERT_COLUMNS, json_out)
