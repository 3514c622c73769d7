"""`shoal scheduler` as a real process, on SQLite and on PostgreSQL: a waiting client hands its
run over to it, it turns due cron fire times into runs and drives them, and SIGTERM stops it
cleanly, releasing its lease."""

from __future__ import annotations

import signal
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from shoal.client import Client
from shoal.config import Settings
from shoal.engine.clock import to_utc_naive
from shoal.engine.scheduler import SCHEDULER_LEASE, scheduler_alive
from shoal.store import Store
from shoal.store.models import leases, runs, schedules, workflows
from tests.conftest import wait_for_file, wait_until
from tests.integration.conftest import StartScheduler

pytestmark = pytest.mark.slow  # a real `shoal scheduler` process per test (4-10 s each)

DEADLINE = 60.0


def apply(client: Client, tmp_path: Path, yaml_text: str) -> str:
    path = tmp_path / f"wf_{len(list(tmp_path.glob('wf_*.yaml')))}.yaml"
    path.write_text(textwrap.dedent(yaml_text))
    (result,) = client.apply_path(path)
    return result.name


def owner_pid(store: Store, run_id: int) -> str:
    with store.engine.connect() as conn:
        owner = conn.execute(select(runs.c.owner).where(runs.c.id == run_id)).scalar_one()
    assert owner, f"run {run_id} has no owner"
    return owner.split(":")[1]


def lease_rows(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(leases.c.owner).where(leases.c.name == SCHEDULER_LEASE)).scalars())


def test_waiting_client_hands_its_run_to_the_scheduler(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, tmp_path: Path
) -> None:
    client = Client(store=store)  # no executor: if it drove the run itself it would start one
    name = apply(client, tmp_path, """
        name: handed_over
        tasks:
          - {name: a, type: shell, command: "echo '##shoal:set x=1'"}
          - {name: b, type: shell, upstream: [a], command: "echo '##shoal:set y=${a.x}2'"}
        """)
    sched = start_scheduler(store_settings, store)
    assert scheduler_alive(store)
    info = client.run(name, wait=True, timeout=DEADLINE)
    assert info.state == "success", sched.output()
    assert {t.task: t.outputs for t in info.tasks} == {"a": {"x": "1"}, "b": {"y": "12"}}
    assert owner_pid(store, info.id) == str(sched.pid)
    assert sched.stop() == 0, sched.output()


def test_scheduler_creates_due_scheduled_runs_and_drives_them(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, tmp_path: Path
) -> None:
    client = Client(store=store)
    now = datetime.now(UTC)
    # Due since three minutes ago (on the minute), as if the scheduler had been down.
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=3)
    name = apply(client, tmp_path, f"""
        name: every_minute
        schedule: {{cron: "* * * * *", start: "{first.strftime('%Y-%m-%dT%H:%M:%S')}", catchup: true}}
        tasks:
          - {{name: a, type: shell, command: "echo run ${{run_id}} for ${{logical_date}}"}}
          - {{name: b, type: shell, upstream: [a], command: "true"}}
        """)
    with store.engine.begin() as conn:
        wf_id = conn.execute(select(workflows.c.id).where(workflows.c.name == name)).scalar_one()
        conn.execute(update(schedules).where(schedules.c.workflow_id == wf_id).values(next_fire_at=to_utc_naive(first)))
    sched = start_scheduler(store_settings, store)

    def four_runs_ended() -> list[Any] | None:
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(runs.c.id, runs.c.state, runs.c.logical_date, runs.c.owner, runs.c.trigger)
                .where(runs.c.workflow_id == wf_id).order_by(runs.c.logical_date)
            ).all()
        return list(rows) if len(rows) >= 4 and all(r.state in ("success", "failed", "stopped") for r in rows) else None

    rows = wait_until(four_runs_ended, DEADLINE, sched.output, interval=0.2)
    end = datetime.now(UTC)

    # One run per minute from `first` on, none twice: 4, or 5+ if a minute turned meanwhile.
    fired = [r.logical_date for r in rows]
    assert fired == [to_utc_naive(first) + timedelta(minutes=i) for i in range(len(rows))]
    assert 4 <= len(rows) <= 4 + int((end - now).total_seconds() // 60) + 1
    assert {r.trigger for r in rows} == {"schedule"}
    assert {r.state for r in rows} == {"success"}, sched.output()
    assert {r.owner.split(":")[1] for r in rows} == {str(sched.pid)}
    assert sched.stop() == 0, sched.output()


def test_sigterm_stops_the_scheduler_cleanly_and_releases_the_lease(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, executor, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    marker = tmp_path / "first-attempt"
    client = Client(store=store, executor=executor)
    name = apply(client, tmp_path, f"""
        name: interrupted
        tasks:
          - name: long
            type: shell
            retries: 1
            command: |
              if [ -e {marker} ]; then echo second attempt; exit 0; fi
              touch {marker}; sleep 60
        """)
    sched = start_scheduler(store_settings, store)
    run_id = client.run(name).id
    wait_for_file(marker, DEADLINE, sched.output)

    # Stopped in the middle of a task: it exits 0 and gives the lease back at once.
    assert sched.stop() == 0, sched.output()
    assert "scheduler stopped" in sched.output()
    assert not scheduler_alive(store)
    assert lease_rows(store) == []

    # The interrupted attempt is not lost: the next driver takes the run over and retries it.
    client.wait([run_id], timeout=DEADLINE)
    info = client.get_run(run_id)
    assert info.state == "success", info
    (task,) = info.tasks
    assert task.attempt == 2
    # The cut-off attempt's log says why it ended.
    first_log = (store.logs_dir / str(run_id) / "long" / "1.log").read_text()
    assert "cut off: the scheduler stopped" in first_log and "grace" not in first_log


def test_sigterm_lets_running_tasks_finish_starts_nothing_new_and_hands_the_run_on(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, executor, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    started, ledger = tmp_path / "started", tmp_path / "ledger"
    client = Client(store=store, executor=executor)
    name = apply(client, tmp_path, f"""
        name: drained
        tasks:
          - {{name: a, type: shell, command: "sh -c 'touch {started}; sleep 1.5; echo a >> {ledger}'"}}
          - {{name: b, type: shell, upstream: [a], command: "sh -c 'echo b >> {ledger}'"}}
        """)
    sched = start_scheduler(store_settings, store, stop_grace=20)
    run_id = client.run(name).id
    wait_for_file(started, DEADLINE, sched.output)

    assert sched.stop() == 0, sched.output()
    info = client.get_run(run_id)
    # a ran to its end and was recorded; b became ready but was left queued; nobody owns the run.
    assert {t.task: (t.state, t.attempt) for t in info.tasks} == {"a": ("success", 1), "b": ("queued", 0)}
    assert ledger.read_text().split() == ["a"]
    with store.engine.connect() as conn:
        assert conn.execute(select(runs.c.owner).where(runs.c.id == run_id)).scalar_one() is None

    client.wait([run_id], timeout=DEADLINE)
    assert client.get_run(run_id).state == "success"
    assert ledger.read_text().split() == ["a", "b"]


def test_a_drain_longer_than_a_lease_keeps_the_run_leased(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, executor, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The grace of a drain (here 20 s) may outlast a lease (here 2 s): the draining scheduler
    keeps renewing its leases, so no other driver takes the run over and runs the task again."""
    started, ledger = tmp_path / "started", tmp_path / "ledger"
    client = Client(store=store, executor=executor)
    name = apply(client, tmp_path, f"""
        name: long_drain
        tasks:
          - {{name: a, type: shell, command: "sh -c 'touch {started}; sleep 5; echo a >> {ledger}'"}}
        """)
    sched = start_scheduler(store_settings, store, stop_grace=20, lease=2)
    run_id = client.run(name).id
    wait_for_file(started, DEADLINE, sched.output)
    sched.proc.send_signal(signal.SIGTERM)

    def exited_keeping_its_lease() -> bool:  # draining: the lease never runs out
        if sched.proc.poll() is not None:
            return True
        with store.engine.connect() as conn:
            lease_until = conn.execute(select(runs.c.lease_until).where(runs.c.id == run_id)).scalar_one()
        if lease_until is not None:  # None once the drain let the run go
            assert lease_until > to_utc_naive(datetime.now(UTC)), sched.output()
        return False

    wait_until(exited_keeping_its_lease, DEADLINE, sched.output, interval=0.2)
    assert sched.proc.returncode == 0, sched.output()
    info = client.get_run(run_id)
    assert (info.state, info.tasks[0].state, info.tasks[0].attempt) == ("success", "success", 1)
    assert ledger.read_text().split() == ["a"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_waiting_client_takes_over_when_the_scheduler_stops(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, executor, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    marker = tmp_path / "first-attempt"
    client = Client(store=store, executor=executor)
    name = apply(client, tmp_path, f"""
        name: orphaned
        tasks:
          - name: long
            type: shell
            retries: 1
            command: |
              if [ -e {marker} ]; then exit 0; fi
              touch {marker}; sleep 60
        """)
    sched = start_scheduler(store_settings, store)
    run_id = client.run(name).id
    wait_for_file(marker, DEADLINE, sched.output)
    # The scheduler goes away while the client is already waiting on it.
    # (`stop` also reaps it: a zombie would still count as a live owner of the run.)
    stopper = threading.Timer(0.5, sched.stop)
    stopper.start()
    try:
        client.wait([run_id], timeout=6)
    finally:
        stopper.join()
    assert client.get_run(run_id).state == "success"
