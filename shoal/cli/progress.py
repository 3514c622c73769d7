"""The live view of `--wait`: task states of one run, or one line per run for many."""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from shoal.cli._common import console, plain, styled
from shoal.client import Client
from shoal.engine.runs import RunInfo, get_run


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
    infos = [get_run(client.store, i) for i in run_ids]
    return Group(run_table(infos[0]) if len(infos) == 1 else runs_table(infos))


def wait_with_progress(client: Client, run_ids: list[int]) -> list[RunInfo]:
    """Drive (or watch) the runs to the end with a live table; returns their final state."""
    with Live(render(client, run_ids), console=console, refresh_per_second=5, transient=False) as live:
        client.wait(run_ids, on_tick=lambda ids: live.update(render(client, ids)))
        live.update(render(client, run_ids))
    console.line()  # rich leaves the cursor after the table when output is not a terminal
    return [get_run(client.store, i) for i in run_ids]
