"""The `shoal` command: `shoal <noun> <verb>` (typer + rich).

Exit codes: 0 success, 1 the work failed, 2 bad input (nothing was changed).
"""

from __future__ import annotations

import logging
import signal
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from shoal import __version__
from shoal.cli import features as features_cli
from shoal.cli import model as model_cli
from shoal.cli import runs as runs_cli
from shoal.cli import schedule as schedule_cli
from shoal.cli import workflow as workflow_cli
from shoal.cli._common import EXIT_FAILED, console, handle_errors, parse_params, print_json, store
from shoal.cli.progress import reported_if_interrupted, wait_with_progress
from shoal.client import Client
from shoal.errors import InvalidInput
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store.retry import when_database_answers

app = typer.Typer(
    no_args_is_help=True,
    help="shoal: ML pipelines as DAG workflows — define, schedule, run, backfill.",
    pretty_exceptions_show_locals=False,
)
app.add_typer(workflow_cli.app, name="workflow")
app.add_typer(runs_cli.app, name="runs")
app.add_typer(schedule_cli.app, name="schedule")
app.add_typer(features_cli.app, name="features")
app.add_typer(model_cli.app, name="model")
app.command("serve")(handle_errors(model_cli.serve))

ProjectOpt = Annotated[str, typer.Option("--project", help="project of the workflow")]


@app.callback()
def _root(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True,
            help="log what shoal does: -v INFO, -vv DEBUG; -vvv also alembic's and SQLAlchemy's logs",
        ),
    ] = 0,
) -> None:
    configure_logging(verbose)


def configure_logging(verbose: int) -> None:
    """Warnings from everything; with -v shoal's own loggers at INFO (-vv DEBUG). Libraries
    (alembic's migration steps, SQLAlchemy) stay at WARNING unless -vvv asks for them."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose >= 1:
        logging.getLogger("shoal").setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    if verbose >= 3:
        for name in ("alembic", "sqlalchemy.engine", "sqlalchemy.pool"):
            logging.getLogger(name).setLevel(logging.INFO)


@app.command()
def version() -> None:
    """Print shoal's version."""
    typer.echo(__version__)


@app.command()
@handle_errors
def init() -> None:
    """Create SHOAL_HOME (default ./.shoal) with its database, migrated to the newest schema."""
    s = store()
    console.print(f"shoal home: {s.settings.home_dir}\ndatabase: {s.engine.url.render_as_string(hide_password=True)}",
                  markup=False)


@app.command()
@handle_errors
def run(
    name: str,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="run-time parameter key=value")] = None,
    run_date: Annotated[
        str | None, typer.Option("--date", help="logical date YYYY-MM-DD[THH:MM] (default: now)")
    ] = None,
    disable: Annotated[
        list[str] | None, typer.Option("--disable", help="task that counts as succeeded without running")
    ] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    wait: Annotated[
        bool, typer.Option("--wait", help="show live progress until it ends; exit 0 only on success")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the run as JSON (with --wait: once it ended)")
    ] = False,
) -> None:
    """Start a run of a workflow's current version."""
    client = Client(store=store())
    info = client.run(name, project=project, params=parse_params(param), date=run_date, disable=disable)
    with reported_if_interrupted(client, [info.id]):  # from here on, a Ctrl+C names the run
        if json_out:
            if wait:
                client.wait([info.id])
                run_id = info.id
                info = when_database_answers(lambda: client.get_run(run_id))
            print_json(info)
            if wait and info.state != "success":
                raise typer.Exit(EXIT_FAILED)
            return
        if not wait:
            from shoal.engine.scheduler import scheduler_alive

            hint = ""
            if not scheduler_alive(client.store):
                hint = " (no scheduler is running: start `shoal scheduler`, or use --wait)"
            console.print(f"run {info.id} of {escape(name)} queued{hint}")
            return
    final = wait_with_progress(client, [info.id])[0]
    if final.state != "success":
        raise typer.Exit(EXIT_FAILED)


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


@app.command()
@handle_errors
def backfill(
    name: str,
    start: Annotated[str, typer.Option("--start", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last day (included), YYYY-MM-DD")],
    parallel: Annotated[int, typer.Option("--parallel", help="how many runs at once")] = 1,
    descending: Annotated[bool, typer.Option("--descending", help="newest date first")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="run-time parameter key=value")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    wait: Annotated[
        bool, typer.Option("--wait", help="show live progress; exit 0 only if every run succeeded")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the runs as JSON (with --wait: once they ended)")
    ] = False,
) -> None:
    """Create runs for every logical date in a range (the schedule's fire times, or daily)."""
    client = Client(store=store())
    run_ids = client.backfill(
        name, start=_parse_day(start, "--start"), end=_parse_day(end, "--end"), project=project,
        parallel=parallel, descending=descending, params=parse_params(param),
    )
    with reported_if_interrupted(client, run_ids):
        if json_out:
            if wait:
                client.wait(run_ids)
            infos = when_database_answers(lambda: [client.get_run(i) for i in run_ids])
            print_json([{"id": i.id, "logical_date": i.logical_date, "state": i.state} for i in infos])
            if wait and any(i.state != "success" for i in infos):
                raise typer.Exit(EXIT_FAILED)
            return
        console.print(f"backfill of {escape(name)}: {len(run_ids)} run(s) queued "
                      f"({', '.join(map(str, run_ids[:10]))}{', ...' if len(run_ids) > 10 else ''})")
    if wait:
        finals = wait_with_progress(client, run_ids)
        if any(f.state != "success" for f in finals):
            raise typer.Exit(EXIT_FAILED)


@app.command()
@handle_errors
def scheduler() -> None:
    """Run the scheduler: create runs from cron schedules and drive every run, until Ctrl+C."""
    from shoal.engine.scheduler import Scheduler

    shoal_log = logging.getLogger("shoal")
    if shoal_log.level == logging.NOTSET or shoal_log.level > logging.INFO:  # -vv keeps DEBUG
        shoal_log.setLevel(logging.INFO)
    sched = Scheduler(store())
    grace = sched.store.settings.stop_grace_seconds

    def stop(signum: int, _frame: object) -> None:
        if sched.stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C: stop now, running attempts are cut off
        sched.stop.set()
        console.print(f"stopping: running tasks get up to {grace:g}s to finish (SHOAL_STOP_GRACE_SECONDS)"
                      + ("; Ctrl+C again to stop now" if signum == signal.SIGINT else ""))

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    console.print(f"scheduler {sched.owner} started (Ctrl+C to stop)")
    try:
        sched.run_forever()
    except KeyboardInterrupt:
        sched.stop.set()
    console.print("scheduler stopped")


if __name__ == "__main__":
    app()
