"""The metadata database drops every connection (a PostgreSQL restart or failover) while
`shoal scheduler` drives a run: the scheduler stays up, waits for the database, reloads its runs
and finishes them, and the task that was running keeps running and is recorded once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from shoal.client import Client
from shoal.config import Settings
from shoal.store import Store
from tests.conftest import cli_runner, pg_sessions_of, wait_for_file, wait_until
from tests.integration.conftest import StartScheduler

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real schedulers, outages of seconds
DEADLINE = 60.0


# The sessions a restart would cut, but only this test's (its schema's name is their
# application_name, see tests/conftest.py): another test run may share the server.
OUR_OTHER_SESSIONS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name = :ours AND pid <> pg_backend_pid()"
)


def _drop_connections(store: Store) -> int:
    """Terminate every other session of this test (the scheduler's, the driver's, the pool's), as
    a restart of the database would."""
    url = store.engine.url.render_as_string(hide_password=False)
    with store.engine.connect() as conn:
        killed = conn.execute(text(OUR_OTHER_SESSIONS), {"ours": pg_sessions_of(url)}).scalar_one()
    store.engine.dispose()  # ours were cut too
    return int(killed)


def _apply(store: Store, tmp: Path, name: str, seconds: float, then_b: bool = True) -> Client:
    """`name`: task a touches `started`, sleeps, appends "a" to `ledger`; then b appends "b"."""
    started, ledger = tmp / "started", tmp / "ledger"
    wf = tmp / f"{name}.yaml"
    b = f"  - {{name: b, type: shell, upstream: [a], command: \"sh -c 'echo b >> {ledger}'\"}}\n" if then_b else ""
    wf.write_text(
        f"name: {name}\ntasks:\n"
        f"  - {{name: a, type: shell, command: \"sh -c 'touch {started}; sleep {seconds}; echo a >> {ledger}'\"}}\n" + b
    )
    client = Client(store=store)
    client.apply_path(wf)
    return client


def test_the_scheduler_rides_out_dropped_database_connections(
    pg_settings: Settings, pg_store: Store, start_scheduler: StartScheduler, tmp_path: Path
) -> None:
    client = _apply(pg_store, tmp_path, "blip", 3)
    sched = start_scheduler(pg_settings, pg_store)
    run_id = client.run("blip").id
    wait_for_file(tmp_path / "started", DEADLINE, sched.output)
    assert _drop_connections(pg_store) >= 1

    def run_finished() -> bool:
        assert sched.proc.poll() is None, f"the scheduler died with the connections:\n{sched.output()}"
        return client.get_run(run_id).is_finished

    wait_until(run_finished, DEADLINE, sched.output, interval=0.2)
    info = client.get_run(run_id)
    assert info.state == "success", (info, sched.output())
    assert [(t.task, t.attempt) for t in info.tasks] == [("a", 1), ("b", 1)]
    assert (tmp_path / "ledger").read_text().split() == ["a", "b"]
    assert "the metadata database failed" in sched.output()
    assert sched.stop() == 0, sched.output()


def test_a_waiting_command_that_drives_its_run_rides_out_dropped_connections(
    pg_settings: Settings, pg_store: Store, tmp_path: Path
) -> None:
    started, ledger = tmp_path / "started", tmp_path / "ledger"
    client = _apply(pg_store, tmp_path, "blip_wait", 2)
    run_id = client.run("blip_wait").id
    dropped: list[int] = []

    def drop_once(_ids: list[int]) -> None:  # called from the waiting loop, a few times a second
        if started.exists() and not dropped:
            dropped.append(_drop_connections(pg_store))

    client.wait([run_id], timeout=DEADLINE, on_tick=drop_once)
    assert dropped and dropped[0] >= 1  # the driver's own connection at least
    info = client.get_run(run_id)
    assert info.state == "success", info
    assert [(t.task, t.attempt) for t in info.tasks] == [("a", 1), ("b", 1)]
    assert ledger.read_text().split() == ["a", "b"]


def test_a_run_whose_row_is_locked_when_it_is_claimed_back_is_not_taken_for_lost(
    pg_settings: Settings, pg_store: Store, start_scheduler: StartScheduler, tmp_path: Path
) -> None:
    """After the outage the scheduler claims its runs back, and claims skip rows another
    scheduler's claim holds locked at that moment. Such a run is still its own: its attempts
    must go on, not be killed as taken over."""
    client = _apply(pg_store, tmp_path, "locked", 4, then_b=False)
    sched = start_scheduler(pg_settings, pg_store)
    run_id = client.run("locked").id
    wait_for_file(tmp_path / "started", DEADLINE, sched.output)
    _drop_connections(pg_store)
    with pg_store.engine.begin() as conn:  # as another scheduler's claim would, for 2.5 s
        conn.execute(text("SELECT id FROM runs WHERE id = :id FOR UPDATE"), {"id": run_id})
        time.sleep(2.5)  # the lock must be held while the scheduler claims its runs back
    wait_until(lambda: client.get_run(run_id).is_finished, DEADLINE, sched.output, interval=0.2)
    info = client.get_run(run_id)
    assert (info.state, info.tasks[0].attempt) == ("success", 1), (info, sched.output())
    assert "taken over" not in sched.output()
    assert (tmp_path / "ledger").read_text().split() == ["a"]
    assert sched.stop() == 0, sched.output()


def test_a_command_watching_the_scheduler_rides_out_dropped_connections(
    pg_settings: Settings, pg_store: Store, start_scheduler: StartScheduler, tmp_path: Path
) -> None:
    """Sessions terminated again and again for 1.5 s, so that some die in the middle of the
    watcher's queries (a pool's pre-ping only catches those that died between them)."""
    started = tmp_path / "started"
    client = _apply(pg_store, tmp_path, "watched", 3, then_b=False)
    sched = start_scheduler(pg_settings, pg_store)
    run_id = client.run("watched").id
    killer = create_engine(pg_settings.db_url or "", poolclass=NullPool)
    ours = pg_sessions_of(pg_settings.db_url or "")

    def terminate_for_a_while() -> None:
        deadline = time.monotonic() + DEADLINE
        while not started.exists() and time.monotonic() < deadline:  # a thread: no pytest.fail here
            time.sleep(0.05)
        until = time.monotonic() + 1.5
        while time.monotonic() < until:
            with killer.connect() as conn:
                conn.execute(text(OUR_OTHER_SESSIONS), {"ours": ours})
            time.sleep(0.05)

    storm = threading.Thread(target=terminate_for_a_while)
    storm.start()
    try:
        client.wait([run_id], timeout=DEADLINE, on_tick=lambda ids: client.get_run(ids[0]))  # watches
    finally:
        storm.join()
        killer.dispose()
    assert client.get_run(run_id).state == "success", sched.output()
    assert sched.stop() == 0, sched.output()


def test_a_run_whose_end_failed_to_commit_is_not_taken_for_ended(pg_store: Store, tmp_path: Path) -> None:
    """The connection dies under the very statement that ends the run: the waiting command must
    not return as if the run had ended (it did not, in the database); it reloads and ends it."""
    client = _apply(pg_store, tmp_path, "end_blip", 0)
    killer = create_engine(pg_store.engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    cut: list[int] = []

    def cut_the_end(conn, _cursor, statement: str, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if not cut and statement.lstrip().upper().startswith("UPDATE RUNS") and "success" in str(parameters):
            cut.append(pid := conn.connection.dbapi_connection.info.backend_pid)
            with killer.connect() as k:  # waits until that session is gone
                k.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})

    event.listen(pg_store.engine, "before_cursor_execute", cut_the_end)
    try:
        info = client.run("end_blip", wait=True, timeout=DEADLINE)
    finally:
        event.remove(pg_store.engine, "before_cursor_execute", cut_the_end)
        killer.dispose()
    assert cut, "the run ended without the statement that ends it"
    assert info.state == "success", info
    assert [(t.task, t.attempt) for t in client.get_run(info.id).tasks] == [("a", 1), ("b", 1)]
    assert (tmp_path / "ledger").read_text().split() == ["a", "b"]


def test_a_waiting_command_rides_out_a_blip_after_its_run_ended(
    pg_settings: Settings, pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shoal run --wait` reads the run once more after driving it: the connection dying under
    that read must not make a run that succeeded a command that failed (exit 1)."""
    _apply(pg_store, tmp_path, "after_blip", 0, then_b=False)
    invoke = cli_runner(monkeypatch, pg_settings, tmp_path)
    killer = create_engine(pg_store.engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    cuts: list[str] = []
    ended: list[bool] = []

    def cut_reads_after_the_end(conn, _cursor, statement: str, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if conn.engine is killer:
            return
        if statement.startswith("UPDATE runs SET state") and "success" in str(parameters):
            ended.append(True)
        # The run's row is read at most once more while it is driven (the live view), then for
        # the final view: cutting the first two reads hits that one.
        elif ended and len(cuts) < 2 and statement.startswith("SELECT runs.id, runs.workflow_id"):
            cuts.append(statement)
            with killer.connect() as k:
                k.execute(text("SELECT pg_terminate_backend(:pid, 10000)"),
                          {"pid": conn.connection.dbapi_connection.info.backend_pid})

    event.listen(Engine, "before_cursor_execute", cut_reads_after_the_end)
    try:
        result = invoke("run", "after_blip", "--wait")
    finally:
        event.remove(Engine, "before_cursor_execute", cut_reads_after_the_end)
        killer.dispose()
    assert len(cuts) == 2, "the run's end was not followed by two reads of it"
    assert result.exit_code == 0, result.output
    assert "success" in result.output
