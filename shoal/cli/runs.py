"""`shoal runs list|show|logs|stop|rerun|recover`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shoal.cli._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    console,
    fmt_time,
    handle_errors,
    plain,
    print_json,
    store,
    styled,
)
from shoal.cli.follow import attempt_logs, follow
from shoal.cli.progress import reported_if_interrupted, run_table, wait_with_progress
from shoal.client import Client
from shoal.engine.runs import get_run, list_runs, recover_run, rerun_from, stop_run
from shoal.engine.states import RUN_TERMINAL, RunState
from shoal.errors import Conflict, InvalidInput, NotFound
from shoal.spec.models import DEFAULT_PROJECT

app = typer.Typer(no_args_is_help=True, help="Inspect and control runs.")
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
# A run is addressed within its project: `runs stop 7` finds run 7 only if it is this project's.
RunProjectOpt = Annotated[str, typer.Option("--project", help="the project of the run(s)")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="show live progress until it ends; exit 0 only on success")]


@app.command("list")
@handle_errors
def list_(
    workflow: Annotated[str | None, typer.Option("--workflow", "-w", help="only runs of this workflow")] = None,
    project: Annotated[str | None, typer.Option("--project", help="only runs of this project's workflows")] = None,
    state: Annotated[RunState | None, typer.Option("--state", help="only runs in this state")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="how many, newest first")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """Recent runs, newest first."""
    rows = list_runs(store(), project=project, workflow=workflow, state=state, limit=limit)
    if json_out:
        print_json(rows)
        return
    # The run id, workflow and state are what a narrow terminal must still show whole; the rest
    # folds onto more lines (dates first) instead of being cut to "2026-…".
    table = Table()
    key = {"run": 3, "workflow": 8, "state": 7}
    for col in ("run", "project", "workflow", "version", "state", "trigger", "logical date", "created", "ended"):
        if col in key:
            table.add_column(col, no_wrap=True, min_width=key[col])
        else:
            table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), plain(r["project"]), plain(r["workflow"]), str(r["version"]), styled(r["state"]),
                      r["trigger"], _spaced(r["logical_date"]), _spaced(r["created_at"]), _spaced(r["ended_at"]))
    console.print(table)


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
def show(run_id: int, json_out: JsonOpt = False, project: RunProjectOpt = DEFAULT_PROJECT) -> None:
    """A run's tasks with their states, attempts, outputs and errors."""
    info = get_run(store(), run_id, project=project)
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
    run_id: int,
    task: Annotated[str | None, typer.Argument(help="one task (default: every task of the run)")] = None,
    attempt: Annotated[int | None, typer.Option("--attempt", min=1, help="one attempt (default: all)")] = None,
    follow_: Annotated[bool, typer.Option(
        "--follow", "-f", help="keep printing new lines until the run (or the task) has ended",
    )] = False,
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Print task logs (timestamped stdout+stderr of each attempt)."""
    s = store()
    info = get_run(s, run_id, project=project)
    names = [t.task for t in info.tasks]
    if task is not None and task not in names:
        raise NotFound(f"run {run_id} has no task {task!r}; its tasks: {', '.join(names)}")
    if follow_:
        try:
            follow(s, run_id, task, attempt)
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        return
    tasks = [t for t in info.tasks if task is None or t.task == task]
    if attempt is not None and all(attempt > t.attempt for t in tasks):
        # Attempts are numbered 1..attempt (reruns continue the count), so this one never started.
        if task is not None:
            n = tasks[0].attempt
            if n == 0:
                have = f"it ran none ({tasks[0].state})"
            else:
                have = "its only attempt is 1" if n == 1 else f"its attempts are 1 to {n}"
            raise InvalidInput(f"task {task!r} of run {run_id} has no attempt {attempt}; {have}")
        most = max((t.attempt for t in tasks), default=0)
        raise InvalidInput(f"no task of run {run_id} has an attempt {attempt}; "
                           + (f"the most any task has is {most}" if most else "no task has run yet"))
    for t in tasks:
        files = attempt_logs(s, info, t.task, attempt)
        for f in files:
            console.rule(f"{escape(t.task)} · attempt {f.stem}", style="dim")
            _print_file(f)
        if not files and task is not None:
            what = "yet" if attempt is None else f"of attempt {attempt} on this host"
            console.print(f"[dim]{escape(t.task)}: no log {what} ({t.state})[/]")


def _print_file(path: Path) -> None:
    """Copy a log to stdout in pieces: a task may have printed gigabytes."""
    with path.open(encoding="utf-8", errors="replace") as f:
        while chunk := f.read(1 << 20):
            typer.echo(chunk, nl=False)


@app.command("stop")
@handle_errors
def stop(
    run_ids: Annotated[list[int], typer.Argument(help="runs to stop")], project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Stop runs: kill their running task processes, mark the rest stopped (sub-workflow runs too)."""
    s = store()
    ids = list(dict.fromkeys(run_ids))
    for run_id in ids:  # name every bad id before stopping anything
        state = get_run(s, run_id, project=project).state
        if state in RUN_TERMINAL:
            raise Conflict(f"run {run_id} already ended ({state}); nothing to stop")
    stopped: list[int] = []
    for run_id in ids:
        if run_id not in stopped:  # already stopped as a sub-workflow run of an earlier one
            stopped.extend(stop_run(s, run_id, project=project))
    console.print(f"stopped run(s) {', '.join(map(str, stopped))}")


def _finish(client: Client, run_id: int, wait: bool) -> None:
    if not wait:
        with reported_if_interrupted(client, [run_id]):
            console.print(f"run {run_id} queued")
        return
    info = wait_with_progress(client, [run_id])[0]
    if info.state != "success":
        raise typer.Exit(EXIT_FAILED)


@app.command("wait")
@handle_errors
def wait_(
    run_ids: Annotated[list[int], typer.Argument(help="runs to wait for")], project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Drive (or, with a scheduler running, watch) existing runs to the end, with live progress:
    e.g. a queued run, or one whose waiting command was interrupted."""
    s = store()
    for run_id in run_ids:
        get_run(s, run_id, project=project)  # NotFound names a bad id before anything starts
    finals = wait_with_progress(Client(store=s), list(run_ids))
    if any(f.state != "success" for f in finals):
        raise typer.Exit(EXIT_FAILED)


@app.command("rerun")
@handle_errors
def rerun(
    run_id: int,
    from_task: Annotated[str, typer.Option("--from", help="rerun this task and everything downstream of it")],
    wait: WaitOpt = False,
    project: RunProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Rerun a finished run from a task: that task and all its downstream run again."""
    s = store()
    n = rerun_from(s, run_id, from_task, project=project)
    console.print(f"run {run_id}: {n} task(s) will run again")
    _finish(Client(store=s), run_id, wait)


@app.command("recover")
@handle_errors
def recover(run_id: int, wait: WaitOpt = False, project: RunProjectOpt = DEFAULT_PROJECT) -> None:
    """Recover a failed or stopped run: only its failed/stopped/upstream_failed tasks run again."""
    s = store()
    n = recover_run(s, run_id, project=project)
    console.print(f"run {run_id}: {n} task(s) will run again")
    _finish(Client(store=s), run_id, wait)
