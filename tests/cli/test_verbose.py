"""`shoal -v`: shoal's own logs at INFO (-vv DEBUG); alembic and SQLAlchemy stay at WARNING."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import ROOT


def _shoal(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env["SHOAL_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "shoal.cli.main", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )


def test_verbose_shows_shoal_logs_not_alembic_noise(tmp_path: Path) -> None:
    r = _shoal(tmp_path / "a", "-v", "init")
    assert r.returncode == 0, r.stderr
    assert " INFO shoal.store.db: " in r.stderr and "migrat" in r.stderr
    assert "alembic" not in r.stderr and " DEBUG " not in r.stderr

    r = _shoal(tmp_path / "a", "-vv", "runs", "list")
    assert r.returncode == 0, r.stderr
    assert " DEBUG shoal.store.db: opened " in r.stderr and "alembic" not in r.stderr

    r = _shoal(tmp_path / "c", "init")
    assert r.returncode == 0 and r.stderr == ""

    r = _shoal(tmp_path / "d", "-vvv", "init")  # asked for: the libraries' logs too
    assert r.returncode == 0 and "INFO alembic.runtime.migration" in r.stderr


def test_verbose_run_logs_each_recorded_attempt_and_the_run(tmp_path: Path) -> None:
    wf = tmp_path / "logged.yaml"
    wf.write_text(
        "name: logged\ntasks:\n"
        "  - {name: ok, type: shell, command: 'true'}\n"
        "  - {name: flaky, type: shell, upstream: [ok], retries: 1, retry_delay: 0s,"
        " command: 'test \"$SHOAL_ATTEMPT\" = 2'}\n"
    )
    home = tmp_path / "home"
    assert _shoal(home, "workflow", "apply", str(wf)).returncode == 0
    r = _shoal(home, "-v", "run", "logged", "--wait")
    assert r.returncode == 0, r.stderr
    assert "run 1 (logged, " in r.stderr and "): started" in r.stderr
    assert "run 1: task ok attempt 1/1 succeeded in " in r.stderr
    assert "run 1: task flaky attempt 1/2 failed in " in r.stderr and "exit code 1; retrying at " in r.stderr
    assert "run 1: task flaky attempt 2/2 succeeded" in r.stderr
    assert "run 1 (logged): success" in r.stderr
