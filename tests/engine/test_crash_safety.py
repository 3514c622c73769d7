"""Kill -9 the driving process in the middle of a run, start again: the run finishes, no task
that had succeeded runs twice, and a task that was cut off is retried (it has retries).

Each task appends its name to a file when it *finishes* its work, so a task that succeeded and
ran again would show up twice; a task showing twice must have been cut off the first time
(its result file says how each attempt ended).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from shoal.config import Settings
from shoal.engine.paths import result_path
from shoal.engine.runs import get_run, trigger_run
from shoal.executors.base import read_result
from shoal.store import open_store

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`

N_TASKS = 20


def _workflow(tmp: Path) -> str:
    ledger = tmp / "ledger"
    lines = ["name: crashy", "max_active_tasks: 2", "tasks:"]
    for i in range(N_TASKS):
        up = f", upstream: [t{i - 2}]" if i >= 2 else ""
        lines.append(
            f"  - {{name: t{i}, type: shell, retries: 3{up}, "
            f"command: \"sh -c 'sleep 0.15; echo t{i} >> {ledger}'\"}}"
        )
    return "\n".join(lines) + "\n"


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ, SHOAL_HOME=str(settings.home_dir), SHOAL_LEASE_SECONDS="3")
    if settings.db_url:
        env["SHOAL_DB_URL"] = settings.db_url
    return env


def _start_driver(run_id: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    code = (
        "from shoal.client import Client; import sys; "
        f"Client().wait([{run_id}])"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_of_the_driver_loses_nothing_and_reruns_no_success(store_settings: Settings, tmp_path: Path) -> None:
    store = open_store(store_settings)
    wf_file = tmp_path / "crashy.yaml"
    wf_file.write_text(_workflow(tmp_path))
    from shoal.client import Client

    Client(store=store).apply_path(wf_file)
    run_id = trigger_run(store, "crashy")
    env = _env(store_settings)
    kills = 0
    # Kill at several points: early, mid-run, and while tasks are in flight.
    for delay in (0.4, 0.9, 0.6, 1.1, 0.5):
        proc = _start_driver(run_id, env)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        if get_run(store, run_id).is_finished:
            break
    proc = _start_driver(run_id, env)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode()
    info = get_run(store, run_id)
    assert kills >= 2
    assert info.state == "success", [(t.task, t.state, t.error) for t in info.tasks]
    finished = Counter((tmp_path / "ledger").read_text().split())
    assert sorted(finished) == sorted(f"t{i}" for i in range(N_TASKS))  # every task did its work
    # No attempt that succeeded ran again. The one way a task's work shows twice is the window
    # no scheduler can close: its process wrote the ledger, then was killed (with its dead
    # driver) before it exited, so its attempt ended cut off and was retried. Then the earlier
    # attempts' result files say so, and the task is on a later attempt.
    tasks = {t.task: t for t in info.tasks}
    for name, times in finished.items():
        if times == 1:
            continue
        ts = tasks[name]
        earlier = [read_result(result_path(store.logs_dir, run_id, name, a), f"{ts.id}:{a}")
                   for a in range(1, ts.attempt)]
        assert ts.attempt >= times and not any(r is not None and r.is_success for r in earlier), (
            name, times, ts.attempt, earlier)
    assert sum(n - 1 for n in finished.values()) <= kills, finished
    store.close()
