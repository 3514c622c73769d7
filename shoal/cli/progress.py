"""The live view of `--wait`: task states of one run, or one line per run for many."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from shoal.cli._common import EXIT_INTERRUPTED, console, plain, styled
from shoal.client import Client
from shoal.engine.runs import RunInfo, get_run
from shoal.engine.scheduler import scheduler_alive
from shoal.store.retry import when_database_answers


def run_table(info: RunInfo) -> Table:
    table = Table(title=f"run {info.id} · {escape(info.workflow)} v{info.version} · {info.logical_date.date()} · "
                        f"{info.state}", title_justify="left")
    for col in ("task", "state", "attempt", "duration", "note"):  # in a narrow terminal the note folds
        table.add_column(col, **({"overflow": "fold"} if col == "note" else {"no_wrap": True}))
    for t in info.tasks:
        note = t.error or t.note or ""
        table.add_row(
            plain(t.task), styled(t.state), f"{t.attempt}/{t.max_attempts}" if t.attempt else "-",
            f"{t.duration:.2f}s" if t.duration is not None else "-", plain(note[:80]),
        )
    return table


def runs_table(infos: list[RunInfo]) -> Table:
    table = Table(title=f"{len(infos)} runs", title_justify="left")
    for col in ("run", "workflow", "logical date", "state", "tasks"):  # the run, workflow and state stay whole
        table.add_column(col, **({"no_wrap": True} if col in ("run", "workflow", "state") else {"overflow": "fold"}))
    for info in infos:
        counts = Counter(t.state for t in info.tasks)
        summary = " ".join(f"{styled(s)}={n}" for s, n in sorted(counts.items()))
        table.add_row(str(info.id), plain(info.workflow), info.logical_date.isoformat(), styled(info.state), summary)
    return table


def render(client: Client, run_ids: list[int]) -> Group:
    return tables([get_run(client.store, i) for i in run_ids])


def tables(infos: list[RunInfo]) -> Group:
    return Group(run_table(infos[0]) if len(infos) == 1 else runs_table(infos))


def wait_with_progress(client: Client, run_ids: list[int]) -> list[RunInfo]:
    """Drive (or watch) the runs to the end with a live table; returns their final state.
    The runs exist: a database blip before or after driving them is waited out (as while
    driving them), not reported as a failed command."""
    with reported_if_interrupted(client, run_ids):
        first = when_database_answers(lambda: render(client, run_ids))
        with Live(first, console=console, refresh_per_second=5, transient=False) as live:
            client.wait(run_ids, on_tick=lambda ids: live.update(render(client, ids)))
            finals = when_database_answers(lambda: [get_run(client.store, i) for i in run_ids])
            live.update(tables(finals))
    console.line()  # rich leaves the cursor after the table when output is not a terminal
    return finals


@contextmanager
def reported_if_interrupted(client: Client, run_ids: list[int]) -> Iterator[None]:
    """Around what a command does once its runs exist (queued, waited for): a Ctrl+C says
    where they stand and how to go on with them, and exits 130."""
    try:
        yield
    except KeyboardInterrupt:
        _interrupted(client, run_ids)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _interrupted(client: Client, run_ids: list[int]) -> None:
    """Ctrl+C on a waiting command: say where its runs stand and how to go on with them."""
    infos = [get_run(client.store, i) for i in run_ids]
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
    elif scheduler_alive(client.store):
        console.print(f"stopped watching: the scheduler goes on driving run(s) {_ids(left)}")
    else:
        console.print(
            f"interrupted: what was running was cut off (retried if it has retries); run(s) {_ids(left)} "
            f"wait for a driver: `shoal runs wait {left[0]}` or `shoal scheduler` goes on with them, "
            f"`shoal runs stop {left[0]}` ends them", soft_wrap=True,
        )


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)
