"""`shoal runs logs RUN [TASK]`: print task logs, or with `--follow` print them as they are
written, like `tail -f`, until the run (or the one task) has ended. Several tasks interleave,
each line prefixed by `task#attempt`, as `docker compose logs -f` does; one task prints a rule
when a new attempt begins. Which logs exist, and following them, is `services.logs`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from shoal.cli._backend import services
from shoal.cli._common import console, err_console

if TYPE_CHECKING:
    from shoal.services import Store


def print_logs(store: Store, run_id: int, task: str | None, attempt: int | None, *, project: str) -> None:
    """Every attempt log of the run (or of `task`, or `attempt`), each under a rule."""
    for found in services.logs.task_logs(store, run_id, task, attempt, project=project):
        for log in found.attempts:
            console.rule(f"{escape(log.task)} · attempt {log.attempt}", style="dim")
            for chunk in services.logs.read_chunks(log.path):
                typer.echo(chunk, nl=False)
        if not found.attempts and task is not None:
            what = "yet" if attempt is None else f"of attempt {attempt} on this host"
            console.print(f"[dim]{escape(found.task)}: no log {what} ({found.state})[/]")


def follow(store: Store, run_id: int, task: str | None, attempt: int | None, *, project: str) -> None:
    """Print new log lines until the run (or `task`) has ended."""
    logs = services.logs
    for event in logs.follow(store, run_id, task, attempt, project=project):
        if isinstance(event, logs.LogLine):
            typer.echo(event.text if task is not None else f"{event.task}#{event.attempt} | {event.text}")
        elif isinstance(event, logs.NewAttempt):
            console.rule(f"{escape(event.task)} · attempt {event.attempt}", style="dim")
        else:
            err_console.print(
                f"run {run_id} waits for a driver and none is running: start `shoal scheduler`, or "
                f"`shoal runs wait {run_id}` in another terminal (still following)", soft_wrap=True,
            )
