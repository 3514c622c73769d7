"""Two `shoal scheduler` processes on one PostgreSQL schema share the queue: every run is
driven by one of them, and every task of every run executes exactly once."""

from __future__ import annotations

import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shoal.client import Client
from shoal.config import Settings
from shoal.store import Store
from shoal.store.models import runs, task_runs
from tests.conftest import wait_until
from tests.integration.conftest import StartScheduler

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # two real scheduler processes

RUNS = 12
TASKS = ("extract", "clean", "features", "train", "report")
DEADLINE = 90.0


def test_two_schedulers_run_each_task_exactly_once(
    pg_settings: Settings, pg_store: Store, start_scheduler: StartScheduler, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    wf = tmp_path / "shared.yaml"

    def task(name: str, upstream: list[str]) -> str:
        command = f"echo ${{run_id}}:{name} >> {ledger}"
        return f'  - {{name: {name}, type: shell, upstream: {upstream}, command: "{command}"}}\n'

    wf.write_text(textwrap.dedent("name: shared\ntasks:\n") + "".join([
        task("extract", []), task("clean", ["extract"]), task("features", ["extract"]),
        task("train", ["clean", "features"]), task("report", ["train"]),
    ]))
    client = Client(store=pg_store)
    client.apply_path(wf)

    first = start_scheduler(pg_settings, pg_store)
    second = start_scheduler(pg_settings, pg_store)
    pids = {str(first.pid), str(second.pid)}
    # Queue the runs one by one, so both schedulers' claim loops get a chance at them.
    run_ids = []
    for _ in range(RUNS):
        run_ids.append(client.run("shared").id)
        time.sleep(0.1)

    def all_ended() -> list[Any] | None:
        with pg_store.engine.connect() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.state, runs.c.owner).where(runs.c.id.in_(run_ids))).all()
        return list(rows) if all(r.state in ("success", "failed", "stopped") for r in rows) else None

    rows = wait_until(all_ended, DEADLINE, lambda: f"{first.output()}\n{second.output()}", interval=0.2)

    assert {r.state for r in rows} == {"success"}, f"{rows}\n{first.output()}\n{second.output()}"
    lines = Counter(ledger.read_text().split())
    expected = {f"{run_id}:{name}" for run_id in run_ids for name in TASKS}
    assert set(lines) == expected
    assert [line for line, n in lines.items() if n != 1] == []
    with pg_store.engine.connect() as conn:
        attempts = conn.execute(select(task_runs.c.attempt).where(task_runs.c.run_id.in_(run_ids))).scalars().all()
    assert len(attempts) == RUNS * len(TASKS) and set(attempts) == {1}

    # Which scheduler claims which run is a race; each run belongs to one of the two.
    owners = Counter(r.owner.split(":")[1] for r in rows)
    assert set(owners) <= pids, owners
    print(f"runs per scheduler pid: {dict(owners)}")

    assert first.stop() == 0, first.output()
    assert second.stop() == 0, second.output()
