"""Ctrl+C on a `--wait` command that drives its own runs: what ran is cut off and recorded, the
runs are let go at once, and the command says how to go on (exit 130)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from sqlalchemy import select

from shoal.config import Settings
from shoal.engine.runs import get_run
from shoal.store import open_store
from shoal.store.models import runs
from tests.cli.conftest import start_shoal


def test_ctrl_c_cuts_off_records_and_lets_the_run_go(tmp_path: Path) -> None:
    started = tmp_path / "started"
    wf = tmp_path / "slow.yaml"
    wf.write_text(
        "name: slow\ntasks:\n"
        "  - name: long\n    type: shell\n    retries: 1\n    retry_delay: 0s\n"
        f"    command: 'if [ \"$SHOAL_ATTEMPT\" = 1 ]; then touch {started}; sleep 60; fi'\n"
        "  - {name: after, type: shell, upstream: [long], command: 'true'}\n"
    )
    home = tmp_path / "home"
    apply = start_shoal(home, "workflow", "apply", str(wf))
    assert apply.wait(60) == 0, apply.stdout.read() if apply.stdout else ""
    waiting = start_shoal(home, "run", "slow", "--wait")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline and waiting.poll() is None
        time.sleep(0.05)
    waiting.send_signal(signal.SIGINT)
    out, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, out
    assert "interrupted: what was running was cut off" in out and "shoal runs wait 1" in out, out

    store = open_store(Settings(home=home))
    info = get_run(store, 1)
    long = next(t for t in info.tasks if t.task == "long")
    assert (info.state, long.state, long.attempt) == ("running", "retrying", 1), info
    assert "cut off: the waiting command was interrupted" in (long.error or "")
    with store.engine.connect() as conn:  # let go: any driver goes on with it at once
        assert conn.execute(select(runs.c.owner).where(runs.c.id == 1)).scalar_one() is None

    resumed = start_shoal(home, "runs", "wait", "1")
    out, _ = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, out
    info = get_run(store, 1)
    assert info.state == "success" and [t.attempt for t in info.tasks] == [2, 1], info
