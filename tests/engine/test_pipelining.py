"""The driver hands the next task of a run to the executor before the transaction recording it
commits (`Driver._record(pipeline=True)`). These tests open that window on purpose: a driver
that dies inside it, and a run stopped inside it; and a run stopped elsewhere while a
long-lived driver holds its capacity."""

from __future__ import annotations

import socket
import time
from collections import Counter
from pathlib import Path

import pytest

from shoal.client import Client
from shoal.engine.attempts import Attempts
from shoal.engine.driver import Driver
from shoal.engine.runs import get_run, stop_run, trigger_run
from shoal.engine.transitions import DeferredWrites
from shoal.store import Store
from tests.conftest import wait_for_file

DEAD_OWNER = f"{socket.gethostname()}:2147483646:0"  # this host, a pid that does not exist


class _Crash(BaseException):
    """The driver dies here (nothing after it runs, like SIGKILL)."""


def _chain(workdir: Path, ledger: Path) -> Path:
    """a -> b -> c; b sleeps 30 s while the file `hold` exists next to the ledger."""
    hold = ledger.with_name("hold")
    wf = workdir / "piped.yaml"
    wf.write_text(
        "name: piped\n"
        "tasks:\n"
        f"  - {{name: a, type: shell, retries: 2, command: \"sh -c 'echo a >> {ledger}'\"}}\n"
        f"  - {{name: b, type: shell, retries: 2, upstream: [a], "
        f"command: \"sh -c 'if test -f {hold}; then sleep 30; fi; echo b >> {ledger}'\"}}\n"
        f"  - {{name: c, type: shell, upstream: [b], command: \"sh -c 'echo c >> {ledger}'\"}}\n"
    )
    return wf


def test_a_driver_dying_before_recording_a_start_it_handed_over_reruns_nothing(
    store: Store, executor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`b` was handed to the executor and succeeded, but the transaction that would have said
    so (a succeeded, b running) never committed. The next driver records b's success from its
    result file instead of running it again."""
    ledger = tmp_path / "ledger"
    Client(store=store, executor=executor).apply_path(_chain(tmp_path, ledger))
    run_id = trigger_run(store, "piped")
    b_result = store.logs_dir / str(run_id) / "b" / "1.result.json"
    real_apply = DeferredWrites.apply

    def crash_once_b_is_done(self: DeferredWrites, conn):  # type: ignore[no-untyped-def]
        wait_for_file(b_result)  # b ran to the end while a's outcome was still unwritten
        raise _Crash

    monkeypatch.setattr(DeferredWrites, "apply", crash_once_b_is_done)
    dying = Driver(store, only=[run_id], owner=DEAD_OWNER)  # its own executor, as a real driver
    with pytest.raises(_Crash):
        dying.drive([run_id], timeout=60)
    dying.close()  # its executor goes, as when the driver process dies
    monkeypatch.setattr(DeferredWrites, "apply", real_apply)

    info = get_run(store, run_id)
    assert {t.task: t.state for t in info.tasks} == {"a": "running", "b": "pending", "c": "pending"}

    with Driver(store, only=[run_id], executor=executor) as taker:
        taker.drive([run_id], timeout=60)
    info = get_run(store, run_id)
    assert info.state == "success", [(t.task, t.state, t.error) for t in info.tasks]
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1}
    assert {t.task: t.attempt for t in info.tasks} == {"a": 1, "b": 1, "c": 1}


def test_a_stale_unrecorded_attempt_that_did_not_succeed_is_run_again(
    store: Store, executor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dying driver's executor killed `b` (it was still sleeping): its killed result file is
    stale, and the next driver runs b for real, once."""
    ledger = tmp_path / "ledger"
    (tmp_path / "hold").touch()
    Client(store=store, executor=executor).apply_path(_chain(tmp_path, ledger))
    run_id = trigger_run(store, "piped")

    def crash(self: DeferredWrites, conn):  # type: ignore[no-untyped-def]
        raise _Crash

    monkeypatch.setattr(DeferredWrites, "apply", crash)
    dying = Driver(store, only=[run_id], owner=DEAD_OWNER)
    with pytest.raises(_Crash):
        dying.drive([run_id], timeout=60)
    dying.close()
    monkeypatch.undo()
    stale = store.logs_dir / str(run_id) / "b" / "1.result.json"
    assert '"killed": true' in stale.read_text()

    (tmp_path / "hold").unlink()
    with Driver(store, only=[run_id], executor=executor) as taker:
        taker.drive([run_id], timeout=60)
    info = get_run(store, run_id)
    assert info.state == "success", [(t.task, t.state, t.error) for t in info.tasks]
    assert {t.task: t.attempt for t in info.tasks} == {"a": 1, "b": 1, "c": 1}
    assert Counter(ledger.read_text().split()) == {"a": 1, "b": 1, "c": 1}


def test_a_run_stopped_while_its_next_task_is_being_recorded_kills_that_task(
    store: Store, executor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "ledger"
    (tmp_path / "hold").touch()
    Client(store=store, executor=executor).apply_path(_chain(tmp_path, ledger))
    run_id = trigger_run(store, "piped")
    real_submit = Attempts.submit

    def submit_then_stop(self: Attempts, batch):  # type: ignore[no-untyped-def]
        refused = real_submit(self, batch)
        if any(ts.name == "b" for _, ts, _ in batch):
            stop_run(store, run_id)  # someone stops the run before b's start is written
        return refused

    monkeypatch.setattr(Attempts, "submit", submit_then_stop)
    start = time.monotonic()
    with Driver(store, only=[run_id], executor=executor) as driver:
        driver.drive([run_id], timeout=60)
        # b's process was killed: its result comes back and the executor has nothing running.
        deadline = time.monotonic() + 10
        while executor.running() and time.monotonic() < deadline:
            driver.step(max_wait=0.1)
    assert time.monotonic() - start < 20, "b was not killed"
    assert not executor.running()
    info = get_run(store, run_id)
    assert info.state == "stopped"
    # The stop came before a's outcome was written, so it recorded a as stopped too, as it
    # does without pipelining when a stop and an outcome race.
    assert {t.task: t.state for t in info.tasks} == {"a": "stopped", "b": "stopped", "c": "stopped"}
    assert ledger.read_text().split() == ["a"]


def test_a_run_stopped_elsewhere_gives_back_its_place_in_max_active_tasks(
    store: Store, executor, tmp_path: Path
) -> None:
    """A long-lived driver forgets a run stopped by someone else; the killed attempt's place in
    the workflow's `max_active_tasks` must come back, or the workflow's next run never starts."""
    hold = tmp_path / "hold"
    hold.touch()
    wf = tmp_path / "limited.yaml"
    wf.write_text(
        "name: limited\nmax_active_tasks: 1\ntasks:\n"
        f"  - {{name: a, type: shell, command: \"sh -c 'if test -f {hold}; then sleep 30; fi'\"}}\n"
    )
    Client(store=store, executor=executor).apply_path(wf)
    first = trigger_run(store, "limited")
    with Driver(store, executor=executor) as driver:  # claims every run, like the scheduler
        deadline = time.monotonic() + 20
        while not driver.inflight:
            assert time.monotonic() < deadline, "a never started"
            driver.step(max_wait=0.1)
        stop_run(store, first)
        deadline = time.monotonic() + 20
        while driver.inflight or first in driver.active:
            assert time.monotonic() < deadline, "the stopped run was not let go"
            driver.step(max_wait=0.1)
        hold.unlink()
        second = trigger_run(store, "limited")
        driver.drive([second], timeout=30)
    assert get_run(store, second).state == "success"
    assert get_run(store, first).state == "stopped"
