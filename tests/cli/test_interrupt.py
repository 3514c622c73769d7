"""Ctrl+C on a `--wait` command that drives its own runs: what ran is cut off and recorded, the
runs are let go at once, and the command says how to go on (exit 130)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from shoal.config import Settings
from shoal.engine.runs import get_run
from shoal.store import open_store
from shoal.store.models import runs
from tests.cli.conftest import run_shoal, start_shoal

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`


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


def _importing(proc: subprocess.Popen[str]) -> None:
    """Wait until `proc` is importing the CLI (pydantic's extension is mapped): its Ctrl+C
    handler is installed by then (before that, SIGINT kills it outright), the CLI not yet."""
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 30
    while "_pydantic_core" not in maps.read_text():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.002)


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.6, 1.0, 1.5])
def test_ctrl_c_at_any_moment_of_a_waiting_run_is_one_message_and_exit_130(tmp_path: Path, delay: float) -> None:
    """From start-up (importing) through creating the run to driving it: never a traceback."""
    wf = tmp_path / "slow.yaml"
    wf.write_text("name: slow\ntasks:\n  - {name: long, type: shell, command: 'sleep 60'}\n")
    home = tmp_path / "home"
    assert run_shoal(home, "workflow", "apply", str(wf)).returncode == 0
    waiting = start_shoal(home, "run", "slow", "--wait")
    _importing(waiting)
    time.sleep(delay)
    waiting.send_signal(signal.SIGINT)
    out, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, out
    assert "Traceback" not in out and "Aborted" not in out and "interrupted" in out, out
    store = open_store(Settings(home=home))
    with store.engine.connect() as conn:
        made = conn.execute(select(runs.c.id)).scalars().all()
    if made:
        # The run exists: the command named it and says how to go on; or, interrupted while it
        # was creating it (the commit may or may not have landed), says where to look.
        named = (f"runs wait {made[0]}", f"runs recover {made[0]}", "shoal runs list")
        assert any(text in out for text in named), out
