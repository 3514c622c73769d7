"""`shoal runs logs RUN [TASK] -f` prints lines as tasks write them, including tasks and attempts
that start after it began, and exits when the run (or the task) has ended."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.conftest import run_shoal, start_shoal

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`


def _workflow(tmp: Path) -> Path:
    gate = tmp / "gate"
    wf = tmp / "chatty.yaml"
    wf.write_text(
        "name: chatty\ntasks:\n"
        "  - name: first\n    type: shell\n"
        f"    command: 'echo one; while [ ! -e {gate} ]; do sleep 0.05; done; echo two'\n"
        "  - name: second\n    type: shell\n    upstream: [first]\n    retries: 1\n    retry_delay: 0s\n"
        "    command: 'echo \"try $SHOAL_ATTEMPT\"; test \"$SHOAL_ATTEMPT\" = 2'\n"
    )
    return wf


def _read_until(proc: subprocess.Popen[str], text: str, timeout: float = 30.0) -> str:
    """Lines from a following command until one contains `text`."""
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, f"no {text!r} in:\n{seen}"
        line = proc.stdout.readline()
        assert line, f"the command ended before printing {text!r}:\n{seen}"
        seen += line
    return seen


def test_follow_prints_lines_as_they_come_and_ends_with_the_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert start_shoal(home, "workflow", "apply", str(_workflow(tmp_path))).wait(60) == 0
    run = start_shoal(home, "run", "chatty", "--wait")
    os.set_blocking(run.stdout.fileno(), False)  # type: ignore[union-attr]  # never read: keep it from filling
    deadline = time.monotonic() + 30
    while not (home / "logs" / "1" / "first" / "1.log").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    follow = start_shoal(home, "runs", "logs", "1", "-f")
    _read_until(follow, "first#1 | ")  # what was written before it started
    assert follow.poll() is None  # the run goes on, so does it
    (tmp_path / "gate").touch()
    rest = _read_until(follow, "second#2 | ")  # a task, and an attempt, that began after it did
    assert follow.wait(timeout=30) == 0  # the run ended: so does it
    out = follow.stdout.read()  # type: ignore[union-attr]  # (not communicate(): it skips what readline buffered)
    text = rest + out
    assert "first#1 | " in text and "] two" in text
    assert "] try 1" in text and "] try 2" in text, text
    assert "waits for a driver" not in text  # the waiting command drove it all along
    assert run.wait(30) == 0


def test_follow_says_once_when_nothing_drives_the_run_and_goes_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    wf = tmp_path / "quick.yaml"
    wf.write_text("name: quick\ntasks:\n  - {name: only, type: shell, command: 'echo done'}\n")
    assert run_shoal(home, "workflow", "apply", str(wf)).returncode == 0
    assert run_shoal(home, "run", "quick").returncode == 0  # queued; no scheduler, nobody waits on it
    follow = start_shoal(home, "runs", "logs", "1", "-f")
    told = _read_until(follow, "run 1 waits for a driver and none is running")
    assert "shoal runs wait 1" in told and follow.poll() is None  # it goes on following
    assert run_shoal(home, "runs", "wait", "1").returncode == 0
    assert follow.wait(timeout=30) == 0
    out = follow.stdout.read()  # type: ignore[union-attr]
    assert "] done" in out and "waits for a driver" not in out, out


def test_follow_one_task_ends_with_that_task(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert start_shoal(home, "workflow", "apply", str(_workflow(tmp_path))).wait(60) == 0
    (tmp_path / "gate").touch()
    assert start_shoal(home, "run", "chatty", "--wait").wait(60) == 0
    follow = run_shoal(home, "runs", "logs", "1", "second", "--follow")
    assert follow.returncode == 0, follow.stderr
    assert "second · attempt 1" in follow.stdout and "second · attempt 2" in follow.stdout
    assert "] try 1" in follow.stdout and "] try 2" in follow.stdout and "one" not in follow.stdout


def test_follow_an_attempt_that_never_ran_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert start_shoal(home, "workflow", "apply", str(_workflow(tmp_path))).wait(60) == 0
    (tmp_path / "gate").touch()
    assert start_shoal(home, "run", "chatty", "--wait").wait(60) == 0
    r = run_shoal(home, "runs", "logs", "1", "second", "--attempt", "5", "-f")
    assert r.returncode == 2, r.stdout
    assert "task 'second' of run 1 has no attempt 5; it ended after 2 attempts" in r.stderr


def test_follow_does_not_call_a_run_waiting_its_turn_undriven(tmp_path: Path) -> None:
    """A backfill run with `--parallel 1` waits, unleased, for the runs before it: the waiting
    command drives it next, so following it says nothing about a missing driver."""
    home = tmp_path / "home"
    wf = tmp_path / "slowish.yaml"
    wf.write_text("name: slowish\ntasks:\n  - {name: only, type: shell, command: 'sleep 1.5; echo done'}\n")
    assert run_shoal(home, "workflow", "apply", str(wf)).returncode == 0
    backfill = start_shoal(home, "backfill", "slowish", "--start", "2026-01-01", "--end", "2026-01-03", "--wait")
    os.set_blocking(backfill.stdout.fileno(), False)  # type: ignore[union-attr]  # never read: keep it from filling
    deadline = time.monotonic() + 30
    while not (home / "logs" / "1").exists():  # the backfill's runs exist and the first started
        assert time.monotonic() < deadline and backfill.poll() is None
        time.sleep(0.05)
    follow = start_shoal(home, "runs", "logs", "3", "-f")
    out, _ = follow.communicate(timeout=60)
    assert follow.returncode == 0, out
    assert "] done" in out and "waits for a driver" not in out, out
    assert backfill.wait(30) == 0
