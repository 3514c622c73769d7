"""What a command does once its runs exist: the live view of `--wait` (task states of one run,
or one line per run for many), the `--json` answer, and what a Ctrl+C meanwhile says."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shoal.cli._backend import services
from shoal.cli._common import EXIT_FAILED, EXIT_INTERRUPTED, console, plain, print_json, styled

if TYPE_CHECKING:
    from shoal.services import RunInfo, Store

ERROR_CHARS = 80  # of a task's error in the table; `runs show --json` has it whole


def run_table(info: RunInfo) -> Table:
    table = Table(title=f"run {info.id} · {escape(info.workflow)} v{info.version} · {info.logical_date.date()} · "
                        f"{info.state}", title_justify="left")
    for col in ("task", "state", "attempt", "duration", "note"):  # in a narrow terminal the note folds
        table.add_column(col, **({"overflow": "fold"} if col == "note" else {"no_wrap": True}))
    for t in info.tasks:
        table.add_row(
            plain(t.task), styled(t.state), f"{t.attempt}/{t.max_attempts}" if t.attempt else "-",
            f"{t.duration:.2f}s" if t.duration is not None else "-", _note(t.error, t.note),
        )
    return table


def _note(error: str | None, note: str | None) -> Text:
    """The task's error (cut short) and its note whole, on its own line: why it was not retried
    or not started ("failure_strategy is end") is what a failed run's reader looks for."""
    lines = [error if error is None or len(error) <= ERROR_CHARS else error[:ERROR_CHARS - 1] + "…", note]
    return Text("\n".join(line for line in lines if line))


def runs_table(infos: list[RunInfo]) -> Table:
    table = Table(title=f"{len(infos)} runs", title_justify="left")
    for col in ("run", "workflow", "logical date", "state", "tasks"):  # the run, workflow and state stay whole
        table.add_column(col, **({"no_wrap": True} if col in ("run", "workflow", "state") else {"overflow": "fold"}))
    for info in infos:
        counts = Counter(t.state for t in info.tasks)
        summary = " ".join(f"{styled(s)}={n}" for s, n in sorted(counts.items()))
        table.add_row(str(info.id), plain(info.workflow), info.logical_date.isoformat(), styled(info.state), summary)
    return table


def tables(infos: list[RunInfo]) -> Group:
    return Group(run_table(infos[0]) if len(infos) == 1 else runs_table(infos))


def wait_with_progress(store: Store, run_ids: list[int]) -> list[RunInfo]:
    """Drive (or watch) the runs to the end with a live table; returns their final state.
    The runs exist: a database blip before or after driving them is waited out (as while
    driving them), not reported as a failed command."""
    with reported_if_interrupted(store, run_ids):
        first = tables(services.runs.show_many(store, run_ids, patient=True))
        with Live(first, console=console, refresh_per_second=5, transient=False) as live:
            services.runs.wait(
                store, run_ids, on_tick=lambda ids: live.update(tables(services.runs.show_many(store, ids))),
            )
            finals = services.runs.show_many(store, run_ids, patient=True)
            live.update(tables(finals))
    console.line()  # rich leaves the cursor after the table when output is not a terminal
    return finals


def finish(
    store: Store, run_ids: list[int], *, announce: str, wait: bool, json_out: bool,
    as_json: Callable[[list[RunInfo]], Any] | None = None,
) -> None:
    """The end of every command that queues runs (`run`, `backfill`, `runs rerun|recover`):
    `announce` them, or with `--json` print `as_json(their infos)`; with `--wait` first drive
    them to the end, and exit 1 unless every one succeeded. A Ctrl+C says where they stand."""
    with reported_if_interrupted(store, run_ids):
        if json_out:
            if wait:
                services.runs.wait(store, run_ids)
            infos = services.runs.show_many(store, run_ids, patient=True)
            print_json(as_json(infos) if as_json else infos)
            _exit_unless_success(infos if wait else [])
            return
        hint = ""
        if not wait and not services.runs.scheduler_running(store):
            hint = " (no scheduler is running: start `shoal scheduler`, or use --wait)"
        console.print(f"{announce}{hint}", highlight=False)
    if wait:
        _exit_unless_success(wait_with_progress(store, run_ids))


def _exit_unless_success(infos: list[RunInfo]) -> None:
    if any(i.state != "success" for i in infos):
        raise typer.Exit(EXIT_FAILED)


@contextmanager
def reported_if_interrupted(store: Store, run_ids: list[int]) -> Iterator[None]:
    """Around what a command does once its runs exist (queued, waited for): a Ctrl+C says
    where they stand and how to go on with them, and exits 130."""
    try:
        yield
    except KeyboardInterrupt:
        _interrupted(store, run_ids)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _interrupted(store: Store, run_ids: list[int]) -> None:
    """Ctrl+C on a waiting command: say where its runs stand and how to go on with them."""
    infos = services.runs.show_many(store, run_ids)
    left = [i.id for i in infos if not i.is_finished]
    # Ended otherwise than success: e.g. an attempt the interrupt cut off had no retries left.
    unsuccessful = [i for i in infos if i.is_finished and i.state != "success"]
    console.line()
    if unsuccessful:
        states = ", ".join(f"{i.id} {i.state}" for i in unsuccessful)
        console.print(f"interrupted: run(s) ended: {states}; `shoal runs recover {unsuccessful[0].id}` reruns "
                      "what did not succeed", soft_wrap=True)
    if not left:
        if not unsuccessful:
            console.print("interrupted: the runs had ended")
    elif services.runs.scheduler_running(store):
        console.print(f"stopped watching: the scheduler goes on driving run(s) {_ids(left)}")
    else:
        console.print(
            f"interrupted: what was running was cut off (retried if it has retries); run(s) {_ids(left)} "
            f"wait for a driver: `shoal runs wait {left[0]}` or `shoal scheduler` goes on with them, "
            f"`shoal runs stop {left[0]}` ends them", soft_wrap=True,
        )


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)
