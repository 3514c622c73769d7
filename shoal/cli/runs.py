"""`shoal runs list|show|logs|stop|pause|resume|wait|rerun|recover`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from shoal.cli._backend import services
from shoal.cli._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    Column,
    console,
    fmt_time,
    handle_errors,
    plain,
    print_json,
    print_rows,
    styled,
)
from shoal.cli._options import DEFAULT_PROJECT, JsonOpt, RunProjectOpt, WaitOpt

if TYPE_CHECKING:
    from shoal.services.runs import RunSummary

app = typer.Typer(no_args_is_help=True, help="Inspect and control runs.")

# What a narrow terminal shows: the run, its project, workflow, state and logical date, each
# whole; the other columns leave first (created, then ended, trigger, version).
RUN_COLUMNS = (
    Column("run", lambda r: str(r.id), whole=True),
    Column("project", lambda r: plain(r.project), whole=True),
    Column("workflow", lambda r: plain(r.workflow), whole=True),
    Column("version", lambda r: str(r.version), drop=1),
    Column("state", lambda r: styled(r.state), whole=True),
    Column("trigger", lambda r: r.trigger, drop=2),
    # A date-time folds between date, time and offset, never inside one.
    Column("logical date", lambda r: _spaced(r.logical_date)),
    Column("created", lambda r: _spaced(r.created_at), drop=4),
    Column("ended", lambda r: _spaced(r.ended_at), drop=3),
)


@app.command("list")
@handle_errors
def list_(
    workflow: Annotated[str | None, typer.Option("--workflow", "-w", help="only runs of this workflow")] = None,
    project: Annotated[str | None, typer.Option("--project", help="only runs of this project's workflows")] = None,
    state: Annotated[str | None, typer.Option("--state", help="only runs in this state, e.g. failed")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="how many, newest first")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """Recent runs, newest first.

    Example: shoal runs list --workflow hello_ml --state failed
    """
    from shoal.cli._store import store

    if state is not None and state not in set(services.RunState):
        raise _bad_state(state)
    rows: list[RunSummary] = services.runs.list_runs(
        store(), project=project, workflow=workflow, state=state, limit=limit,
    )
    print_rows(rows, RUN_COLUMNS, json_out)


def _bad_state(state: str) -> Exception:
    from shoal.errors import InvalidInput

    return InvalidInput(f"--state {state!r} is not a run state; the states are: "
                        f"{', '.join(services.RunState)}")


def _spaced(iso: str | None) -> str:
    """An ISO date-time with spaces between date, time and UTC offset, where a narrow table folds it:
    2026-01-02T02:00:00+08:00 -> 2026-01-02 02:00:00 +08:00."""
    if not iso:
        return "-"
    day, _, time = iso.partition("T")
    if len(time) > 8 and time[8] in "+-":
        time = f"{time[:8]} {time[8:]}"
    return f"{day} {time}".strip()


@app.command("show")
@handle_errors
def show(
    run_id: Annotated[int, typer.Argument(help="the run")], json_out: JsonOpt = False,
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """A run's tasks with their states, attempts, outputs, errors and notes."""
    from shoal.cli._store import store
    from shoal.cli.progress import run_table

    info = services.runs.show(store(), run_id, project=project)
    if json_out:
        print_json(info)
        return
    console.print(run_table(info))
    console.print(f"created {fmt_time(info.created_at)}  started {fmt_time(info.started_at)}  "
                  f"ended {fmt_time(info.ended_at)}  trigger {info.trigger}  params {escape(str(info.params or {}))}")
    for t in info.tasks:
        if t.outputs:
            console.print(f"  {escape(t.task)} outputs: {escape(str(t.outputs))}", highlight=False)


@app.command("logs")
@handle_errors
def logs(
    run_id: Annotated[int, typer.Argument(help="the run")],
    task: Annotated[str | None, typer.Argument(help="one task (default: every task of the run)")] = None,
    attempt: Annotated[int | None, typer.Option("--attempt", min=1, help="one attempt (default: all)")] = None,
    follow_: Annotated[bool, typer.Option(
        "--follow", "-f", help="keep printing new lines until the run (or the task) has ended",
    )] = False,
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Print task logs (timestamped stdout+stderr of each attempt).

    Example: shoal runs logs 7 train --follow
    """
    from shoal.cli._store import store
    from shoal.cli.follow import follow, print_logs

    if follow_:
        try:
            follow(store(), run_id, task, attempt, project=project)
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        return
    print_logs(store(), run_id, task, attempt, project=project)


@app.command("stop")
@handle_errors
def stop(
    run_ids: Annotated[list[int], typer.Argument(help="runs to stop")], project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Stop runs: kill their running task processes, mark the rest stopped (sub-workflow runs too)."""
    from shoal.cli._store import store

    stopped = services.runs.stop(store(), run_ids, project=project)
    console.print(f"stopped run(s) {', '.join(map(str, stopped))}")


@app.command("pause")
@handle_errors
def pause(
    run_ids: Annotated[list[int], typer.Argument(help="running runs to pause")],
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Pause runs: none of their tasks starts until `shoal runs resume`; running tasks finish.

    Example: shoal runs pause 12
    """
    from shoal.cli._store import store

    paused = services.runs.pause(store(), run_ids, project=project)
    console.print(f"paused run(s) {', '.join(map(str, paused))}; `shoal runs resume` starts their tasks again")


@app.command("resume")
@handle_errors
def resume(
    run_ids: Annotated[list[int], typer.Argument(help="paused runs to resume")],
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Resume paused runs: their tasks start again as they become ready.

    Example: shoal runs resume 12
    """
    from shoal.cli._store import store

    resumed = services.runs.resume(store(), run_ids, project=project)
    console.print(f"resumed run(s) {', '.join(map(str, resumed))}")


@app.command("wait")
@handle_errors
def wait_(
    run_ids: Annotated[list[int], typer.Argument(help="runs to wait for")], project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Drive (or, with a scheduler running, watch) existing runs to the end, with live progress:
    e.g. a queued run, or one whose waiting command was interrupted."""
    from shoal.cli._store import store
    from shoal.cli.progress import wait_with_progress

    s = store()
    for run_id in run_ids:
        services.runs.show(s, run_id, project=project)  # NotFound names a bad id before anything starts
    finals = wait_with_progress(s, list(run_ids))
    if any(f.state != "success" for f in finals):
        raise typer.Exit(EXIT_FAILED)


@app.command("rerun")
@handle_errors
def rerun(
    run_id: Annotated[int, typer.Argument(help="a finished run")],
    from_task: Annotated[str, typer.Option("--from", help="rerun this task and everything downstream of it")],
    wait: WaitOpt = False,
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Rerun a finished run from a task: that task and all its downstream run again.

    Example: shoal runs rerun 7 --from train --wait
    """
    from shoal.cli._store import store
    from shoal.cli.progress import finish

    s = store()
    n = services.runs.rerun(s, run_id, from_task, project=project)
    finish(s, [run_id], announce=f"run {run_id}: {n} task(s) will run again", wait=wait, json_out=False)


@app.command("recover")
@handle_errors
def recover(
    run_id: Annotated[int, typer.Argument(help="a failed or stopped run")], wait: WaitOpt = False,
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Recover a failed or stopped run: only its failed/stopped/upstream_failed tasks run again."""
    from shoal.cli._store import store
    from shoal.cli.progress import finish

    s = store()
    n = services.runs.recover(s, run_id, project=project)
    finish(s, [run_id], announce=f"run {run_id}: {n} task(s) will run again", wait=wait, json_out=False)
