"""Shared fixtures: a fresh store on SQLite and on the real PostgreSQL, and a warm executor.

PostgreSQL tests run in their own schema each, so they never see each other's rows. In CI
(`CI=true`) a missing PostgreSQL fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shoal.config import Settings
from shoal.store import Store, open_store

PG_URL = os.environ.get("SHOAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not available here"
        return str(exc).splitlines()[0]


def require_pg() -> None:
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be available in CI ({PG_URL}): {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {problem}")


def pg_schema_url() -> tuple[str, str]:
    """A fresh schema in the test database and a URL whose connections use it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_pg_schema(schema: str) -> None:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh store on `backend` (home under tmp_path)."""
    home = tmp_path / "home"
    if backend == "sqlite":
        yield Settings(home=home)
        return
    require_pg()
    schema, url = pg_schema_url()
    try:
        yield Settings(home=home, db_url=url)
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def store(store_settings: Settings) -> Iterator[Store]:
    s = open_store(store_settings)
    yield s
    s.close()


@pytest.fixture(scope="session")
def executor():  # type: ignore[no-untyped-def]
    """One warm executor shared by the engine tests (starting one costs an interpreter start)."""
    from shoal.executors.local import LocalExecutor

    ex = LocalExecutor()
    ex.start()
    yield ex
    ex.close()


def cli_runner(monkeypatch: pytest.MonkeyPatch, settings: Settings, cwd: Path):  # type: ignore[no-untyped-def]
    """`invoke(*args)` runs the `shoal` CLI in-process against `settings` (SHOAL_* set, others cleared)."""
    from typer.testing import CliRunner

    from shoal.cli.main import app

    monkeypatch.setenv("SHOAL_HOME", str(settings.home))
    for name, value in (("SHOAL_DB_URL", settings.db_url), ("SHOAL_ARTIFACTS", settings.artifacts)):
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SHOAL_ONLINE_STORE", raising=False)
    monkeypatch.chdir(cwd)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def wait_for_file(path: Path, timeout: float = 60.0, context: Callable[[], str] | None = None) -> None:
    """Until a task creates `path`; on timeout the failure shows `context()` (e.g. a process's output)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared" + (f":\n{context()}" if context else "")
        time.sleep(0.01)
