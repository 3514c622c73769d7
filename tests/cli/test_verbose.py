"""`shoal -v`: shoal's own logs at INFO (-vv DEBUG); alembic and SQLAlchemy stay at WARNING."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_shoal

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`


def test_verbose_shows_shoal_logs_not_alembic_noise(tmp_path: Path) -> None:
    r = run_shoal(tmp_path / "a", "-v", "init")
    assert r.returncode == 0, r.stderr
    assert " INFO shoal.store.db: " in r.stderr and "migrat" in r.stderr
    assert "alembic" not in r.stderr and " DEBUG " not in r.stderr

    r = run_shoal(tmp_path / "a", "-vv", "runs", "list")
    assert r.returncode == 0, r.stderr
    assert " DEBUG shoal.store.db: opened " in r.stderr and "alembic" not in r.stderr

    r = run_shoal(tmp_path / "c", "init")
    assert r.returncode == 0 and r.stderr == ""

    r = run_shoal(tmp_path / "d", "-vvv", "init")  # asked for: the libraries' logs too
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
    assert run_shoal(home, "workflow", "apply", str(wf)).returncode == 0
    r = run_shoal(home, "-v", "run", "logged", "--wait")
    assert r.returncode == 0, r.stderr
    assert "run 1 (logged, " in r.stderr and "): started" in r.stderr
    assert "run 1: task ok attempt 1/1 succeeded in " in r.stderr
    assert "run 1: task flaky attempt 1/2 failed in " in r.stderr and "exit code 1; retrying at " in r.stderr
    assert "run 1: task flaky attempt 2/2 succeeded" in r.stderr
    assert "run 1 (logged): success" in r.stderr
