"""Start `shoal scheduler` as a real subprocess on a given store, and stop it with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import select

from shoal.config import Settings
from shoal.engine.scheduler import SCHEDULER_LEASE
from shoal.store import Store, open_store
from shoal.store.models import leases
from tests.conftest import drop_pg_schema, pg_schema_url, require_pg, wait_until

START_TIMEOUT = 60.0


@dataclass
class SchedulerProcess:
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail(f"scheduler {self.pid} ignored SIGTERM for {timeout}s:\n{self.output()}")


class StartScheduler(Protocol):
    def __call__(
        self, settings: Settings, store: Store, *, stop_grace: float = 0.0, lease: float | None = None
    ) -> SchedulerProcess: ...


def lease_owner_pid(store: Store) -> int | None:
    with store.engine.connect() as conn:
        owner = conn.execute(select(leases.c.owner).where(leases.c.name == SCHEDULER_LEASE)).scalar()
    return int(owner.split(":")[1]) if owner else None


@pytest.fixture
def start_scheduler(tmp_path: Path) -> Iterator[StartScheduler]:
    """Start a `shoal scheduler` process on the settings' store; returns once it heartbeats.

    A scheduler writes its own owner into the `scheduler` lease as the first thing of its loop,
    so seeing its pid there means it is up (even while another scheduler shares the lease).
    """
    started: list[SchedulerProcess] = []

    def start(
        settings: Settings, store: Store, *, stop_grace: float = 0.0, lease: float | None = None
    ) -> SchedulerProcess:
        # No grace by default: SIGTERM cuts running attempts off at once (tests of the drain set one).
        env = dict(os.environ, SHOAL_HOME=str(settings.home_dir), PYTHONUNBUFFERED="1",
                   SHOAL_STOP_GRACE_SECONDS=str(stop_grace))
        if lease is not None:
            env["SHOAL_LEASE_SECONDS"] = str(lease)
        env.pop("SHOAL_DB_URL", None)
        if settings.db_url:
            env["SHOAL_DB_URL"] = settings.db_url
        log = tmp_path / f"scheduler-{len(started)}.out"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "shoal.cli.main", "scheduler"],
                env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        sp = SchedulerProcess(proc, log)
        started.append(sp)

        def heartbeats() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"scheduler exited with {proc.returncode} before heartbeating:\n{sp.output()}")
            return lease_owner_pid(store) == proc.pid

        wait_until(heartbeats, START_TIMEOUT, sp.output, interval=0.05)
        return sp

    yield start
    for sp in started:
        if sp.proc.poll() is None:
            sp.proc.kill()
            sp.proc.wait(timeout=10)


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings on a fresh schema of the test PostgreSQL database (for PostgreSQL-only tests)."""
    require_pg()
    schema, url = pg_schema_url()
    try:
        yield Settings(home=tmp_path / "home", db_url=url)
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def pg_store(pg_settings: Settings) -> Iterator[Store]:
    s = open_store(pg_settings)
    yield s
    s.close()
