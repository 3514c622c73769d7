"""The `shoal` command: `shoal <noun> <verb>` (typer + rich).

Exit codes (`shoal.cli.exit_codes`): 0 success, 1 the work failed, 2 bad input (nothing was
changed), 130 interrupted.

Building the command tree imports typer, rich and the command modules only: each command
imports the services (SQLAlchemy, the engine) when it runs, so `shoal --help` answers at once.
"""

from __future__ import annotations

import logging
import signal
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from shoal import __version__
from shoal.cli import access as access_cli
from shoal.cli import alerts as alerts_cli
from shoal.cli import features as features_cli
from shoal.cli import model as model_cli
from shoal.cli import runs as runs_cli
from shoal.cli import schedule as schedule_cli
from shoal.cli import workflow as workflow_cli
from shoal.cli._backend import refuse_remote, services
from shoal.cli._common import console, handle_errors, parse_params
from shoal.cli._help import ShoalGroup, root_epilog
from shoal.cli._options import DEFAULT_PROJECT, ParamOpt, ProjectOpt
from shoal.errors import InvalidInput

app = typer.Typer(
    cls=ShoalGroup,
    help="shoal: ML pipelines as DAG workflows — define, schedule, run, backfill.",
    epilog=root_epilog(),
    # Bare `shoal` prints this help and exits 0 (`_root`): typer's no_args_is_help exits 2.
    invoke_without_command=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(workflow_cli.app, name="workflow")
app.add_typer(runs_cli.app, name="runs")
app.add_typer(schedule_cli.app, name="schedule")
app.add_typer(features_cli.app, name="features")
app.add_typer(model_cli.app, name="model")
app.add_typer(access_cli.projects_app, name="project")
app.add_typer(access_cli.users_app, name="user")
app.add_typer(access_cli.tokens_app, name="token")
app.add_typer(alerts_cli.app, name="alerts")
app.command("serve")(handle_errors(model_cli.serve))


Workers = Annotated[int, typer.Option("--workers", min=1, max=64,
                                     help="API processes on the one port (a busy API: one per core)")]


@app.command("api")
@handle_errors
def api(
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
    host: Annotated[str, typer.Option("--host", help="address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
    workers: Workers = 1,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /docs); requests need a token (`shoal token create`).

    Runs are queued by the API and driven by `shoal scheduler`, which may run anywhere on the
    same database. Example: shoal api --port 8000 --workers 2
    """
    refuse_remote("shoal api")
    from shoal.api.server import serve_api
    from shoal.cli._store import store

    serve_api(store(create=True), host=host, port=port, workers=workers,
              announce=lambda line: console.print(line, markup=False))


@app.command("server")
@handle_errors
def server(
    port: Annotated[int, typer.Option("--port", help="TCP port of the API")] = 8000,
    host: Annotated[str, typer.Option("--host", help="address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
    workers: Workers = 1,
) -> None:
    """Everything in one command: the REST API and a scheduler with its local executor, until Ctrl+C.

    On a new database it creates the instance admin and prints their API token once. For
    production, run `shoal api` (any number) and `shoal scheduler` (one or more) on PostgreSQL.
    """
    refuse_remote("shoal server")
    from shoal.api.server import serve_with_scheduler
    from shoal.cli._store import store

    s = store(create=True)
    _print_first_admin(s)
    serve_with_scheduler(s, host=host, port=port, workers=workers,
                         announce=lambda line: console.print(line, markup=False))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    # None, not 0, when not given: typer converts any other value with pydantic, whose import
    # would double the time of `shoal version`.
    verbose: Annotated[
        int | None,
        typer.Option(
            "--verbose", "-v", count=True, show_default=False,
            help="log what shoal does: -v INFO, -vv DEBUG; -vvv also alembic's and SQLAlchemy's logs",
        ),
    ] = None,
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version, help="print shoal's version and exit",
    )] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    configure_logging(verbose or 0)


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
    """Create a home with its database here (./.shoal, or SHOAL_HOME if set), migrated to the newest schema.

    Every command run in this directory or below then uses it (it is found walking up, as git finds .git).
    """
    refuse_remote("shoal init", "it creates a database on this machine")
    s = services.home.init_home()
    home, url = services.home.describe(s)
    what = "created" if s.created else "already there, schema up to date"
    console.print(f"shoal home: {home}\ndatabase: {url} ({what})", markup=False)
    _print_first_admin(s)


def _print_first_admin(store: services.Store) -> None:
    """In a database without users: create the instance admin and print its token, once."""
    admin = services.users.first_admin(store)
    if admin is not None:
        console.print(f"instance admin: {admin.info.user}; API token (shown this once, keep it safe):\n{admin.token}",
                      markup=False, highlight=False)


@app.command()
@handle_errors
def run(
    name: Annotated[str, typer.Argument(help="the workflow")],
    param: ParamOpt = None,
    run_date: Annotated[
        str | None, typer.Option("--date", help="logical date YYYY-MM-DD[THH:MM] (default: now)")
    ] = None,
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", metavar="TASK", help="task that counts as succeeded without running (repeatable)"),
    ] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    wait: Annotated[
        bool, typer.Option("--wait", help="show live progress until it ends; exit 0 only on success")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the run as JSON (with --wait: once it ended)")
    ] = False,
) -> None:
    """Start a run of a workflow's current version.

    Example: shoal run hello_ml --date 2026-03-01 -p region=us --wait
    """
    from shoal.cli._store import store
    from shoal.cli.progress import finish

    s = store()
    info = services.runs.trigger(
        s, name, project=project, params=parse_params(param), logical_date=run_date, disabled=disable,
    )
    finish(s, [info.id], announce=f"run {info.id} of {escape(name)} queued", wait=wait, json_out=json_out,
           as_json=lambda infos: infos[0])


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


@app.command()
@handle_errors
def backfill(
    name: Annotated[str, typer.Argument(help="the workflow")],
    start: Annotated[str, typer.Option("--start", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="last day (included), YYYY-MM-DD")],
    parallel: Annotated[int, typer.Option("--parallel", help="how many runs at once")] = 1,
    descending: Annotated[bool, typer.Option("--descending", help="newest date first")] = False,
    param: ParamOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    wait: Annotated[
        bool, typer.Option("--wait", help="show live progress; exit 0 only if every run succeeded")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the runs as JSON (with --wait: once they ended)")
    ] = False,
) -> None:
    """Create runs for every logical date in a range (the schedule's fire times, or daily).

    Example: shoal backfill hello_ml --start 2026-03-01 --end 2026-03-07 --parallel 2 --wait
    """
    from shoal.cli._store import store
    from shoal.cli.progress import finish

    s = store()
    run_ids = services.runs.backfill(
        s, name, start=_parse_day(start, "--start"), end=_parse_day(end, "--end"), project=project,
        parallel=parallel, descending=descending, params=parse_params(param),
    ).run_ids
    shown = f"{', '.join(map(str, run_ids[:10]))}{', ...' if len(run_ids) > 10 else ''}"
    finish(
        s, run_ids, announce=f"backfill of {escape(name)}: {len(run_ids)} run(s) queued ({shown})", wait=wait,
        json_out=json_out,
        as_json=lambda infos: [{"id": i.id, "logical_date": i.logical_date, "state": i.state} for i in infos],
    )


@app.command()
@handle_errors
def scheduler() -> None:
    """Run the scheduler: create runs from cron schedules and drive every run, until Ctrl+C."""
    refuse_remote("shoal scheduler", "the server's scheduler drives its runs")
    from shoal.cli._store import store

    shoal_log = logging.getLogger("shoal")
    if shoal_log.level == logging.NOTSET or shoal_log.level > logging.INFO:  # -vv keeps DEBUG
        shoal_log.setLevel(logging.INFO)
    sched = services.schedules.scheduler(store(create=True))
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
