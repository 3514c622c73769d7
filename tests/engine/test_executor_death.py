"""The executor process dies (SIGKILL, the OOM killer) under a live driver, or together with it:
nothing its attempts started runs on unsupervised, and each cut-off attempt is retried once.
And a driver paused past its lease (SIGSTOP, a frozen VM) writes nothing to a run another
driver took over meanwhile.

Each task's first attempt writes its pid to a file and sleeps; later attempts succeed at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from sqlalchemy import select, update

from shoal.client import Client
from shoal.config import Settings
from shoal.engine.driver import Driver
from shoal.engine.runs import get_run, trigger_run
from shoal.store import Store
from shoal.store.models import runs, task_runs

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`

DEADLINE = 60.0


def _sleepers(tmp: Path) -> Path:
    """Three independent tasks, one per kind of attempt process: a command, a python task forked
    for it, a python task in a warm worker. Attempt 1 records its pid in `<task>.pid` and sleeps."""
    script = (
        "import os, subprocess, time\n"
        "if ctx.attempt == 1:\n"
        "    if ctx.task == 'forked':  # something it started, in its process group\n"
        "        child = subprocess.Popen(['sleep', '60'])\n"
        f"        open({str(tmp)!r} + '/grandchild.pid', 'w').write(str(child.pid))\n"
        f"    open({str(tmp)!r} + '/' + ctx.task + '.pid', 'w').write(str(os.getpid()))\n"
        "    time.sleep(60)\n"
        "outputs = {'attempt': ctx.attempt}\n"
    )
    spec = {
        "name": "sleepers",
        "tasks": [  # cpu 0.5 each: all three run at once on a 2-core machine
            {"name": "cmd", "type": "shell", "retries": 1, "resources": {"cpu": 0.5},
             "command": f'if [ "$SHOAL_ATTEMPT" = 1 ]; then echo $$ > {tmp}/cmd.pid; exec sleep 60; fi'},
            {"name": "forked", "type": "python", "retries": 1, "resources": {"cpu": 0.5}, "script": script},
            {"name": "warm", "type": "python", "retries": 1, "resources": {"cpu": 0.5}, "isolation": "worker",
             "script": script},
        ],
    }  # fmt: skip
    path = tmp / "sleepers.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _pids(tmp: Path, names: tuple[str, ...] = ("cmd", "forked", "warm", "grandchild")) -> dict[str, int]:
    deadline = time.monotonic() + DEADLINE
    while True:
        files = {n: tmp / f"{n}.pid" for n in names}
        texts = {n: f.read_text().strip() if f.exists() else "" for n, f in files.items()}
        if all(texts.values()):
            return {n: int(t) for n, t in texts.items()}
        assert time.monotonic() < deadline, f"first attempts never started: {texts}"
        time.sleep(0.05)


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    return not _gone(pid, within=0.0)


def test_an_executor_killed_under_a_driver_is_replaced_and_what_it_ran_is_killed_and_retried(
    store: Store, tmp_path: Path
) -> None:
    Client(store=store).apply_path(_sleepers(tmp_path))
    run_id = trigger_run(store, "sleepers")
    with Driver(store, only=[run_id]) as driver:
        deadline = time.monotonic() + DEADLINE
        while not all((tmp_path / f"{n}.pid").exists() for n in ("cmd", "forked", "warm")):
            assert time.monotonic() < deadline
            driver.step()
        pids = _pids(tmp_path)
        dead_server = driver.executor.server_pid
        assert dead_server is not None
        os.kill(dead_server, signal.SIGKILL)
        driver.drive([run_id], timeout=DEADLINE)
        assert driver.executor.server_pid not in (None, dead_server)  # a fresh one took over
    info = get_run(store, run_id)
    assert info.state == "success", [(t.task, t.state, t.error) for t in info.tasks]
    assert {t.task: t.attempt for t in info.tasks} == {"cmd": 2, "forked": 2, "warm": 2}
    for name, pid in pids.items():
        assert _gone(pid), f"{name}'s first attempt (pid {pid}) still runs after its executor died"
    log = (store.logs_dir / str(run_id) / "cmd" / "1.log").read_text()
    assert "the executor process running this attempt died" in log, log


def _driver_process(run_id: int, settings: Settings, lease: float) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SHOAL_HOME=str(settings.home_dir), SHOAL_LEASE_SECONDS=str(lease))
    env.pop("SHOAL_DB_URL", None)
    if settings.db_url:
        env["SHOAL_DB_URL"] = settings.db_url
    code = f"from shoal.client import Client; Client().wait([{run_id}])"
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _executor_of(proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + DEADLINE
    while True:
        kids = [p for p in psutil.Process(proc.pid).children() if p.name() == "shoal-executor"]
        if kids:
            return kids[0].pid
        assert time.monotonic() < deadline, "the driver never started its executor"
        time.sleep(0.05)


def test_a_driver_killed_with_its_executor_leaves_nothing_running_into_the_retry(
    store_settings: Settings, store: Store, tmp_path: Path
) -> None:
    """kill -9 of the driver *and* its executor (a whole-tree kill, the OOM killer): python
    attempts die with their executor, and the next driver kills the command the dead executor
    left running (by the pid it recorded) before retrying it."""
    Client(store=store).apply_path(_sleepers(tmp_path))
    run_id = trigger_run(store, "sleepers")
    first = _driver_process(run_id, store_settings, lease=3)
    server = _executor_of(first)
    pids = _pids(tmp_path)
    os.kill(first.pid, signal.SIGKILL)
    os.kill(server, signal.SIGKILL)
    first.wait()
    assert _gone(pids["forked"]) and _gone(pids["warm"]), "python attempts outlived their executor"
    # A command, and what a python task started, have no way to notice: the next driver kills them.
    assert _alive(pids["cmd"]) and _alive(pids["grandchild"])

    second = _driver_process(run_id, store_settings, lease=3)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err.decode()
    assert _gone(pids["cmd"], within=0.5), "the command left running by the dead executor was not killed"
    assert _gone(pids["grandchild"], within=0.5), "what a python task started outlived it"
    info = get_run(store, run_id)
    assert info.state == "success", [(t.task, t.state, t.error) for t in info.tasks]
    assert {t.task: t.attempt for t in info.tasks} == {"cmd": 2, "forked": 2, "warm": 2}


def test_a_driver_paused_past_its_lease_writes_nothing_to_a_run_taken_over(
    store: Store, executor, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """The driver's lease ran out while it was paused and another driver claimed the run. When
    the paused one comes back with an outcome in hand, its guarded writes find the run is not
    its own: it records nothing, starts nothing downstream, and lets the run go."""
    ledger, hold = tmp_path / "ledger", tmp_path / "hold"
    hold.touch()
    wf = tmp_path / "paused.yaml"
    wait_for_hold = f"while test -f {hold}; do sleep 0.05; done"
    wf.write_text(
        "name: paused\ntasks:\n"
        f"  - {{name: a, type: shell, command: \"sh -c '{wait_for_hold}; echo a >> {ledger}'\"}}\n"
        f"  - {{name: b, type: shell, upstream: [a], command: \"sh -c 'echo b >> {ledger}'\"}}\n"
    )
    Client(store=store, executor=executor).apply_path(wf)
    run_id = trigger_run(store, "paused")
    with Driver(store, only=[run_id], executor=executor) as driver:
        deadline = time.monotonic() + DEADLINE
        while not (driver.active and driver.inflight):
            assert time.monotonic() < deadline
            driver.step()
        # Paused past its lease: another driver took the run over (as its claim would). The
        # paused driver hears that `a` ended before its next heartbeat or sync could notice.
        driver.leases.forget_sureness()
        driver._next_sync = driver.leases.next_renewal = time.monotonic() + 3600
        with store.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(owner="elsewhere:1:0"))
        hold.unlink()
        while driver.inflight:
            assert time.monotonic() < deadline
            driver.step(max_wait=0.05)
        with store.engine.connect() as conn:
            states = dict(conn.execute(
                select(task_runs.c.task_name, task_runs.c.state).where(task_runs.c.run_id == run_id)
            ).all())  # fmt: skip
        assert states == {"a": "running", "b": "pending"}  # for the new owner to record and start
        time.sleep(0.3)
        assert ledger.read_text().split() == ["a"]  # b never started here
        driver.step(max_wait=0.05)  # and the next sync lets the run go
        assert run_id not in driver.active
