"""Shared fixtures: a fresh store on SQLite and on the real PostgreSQL, and a warm executor.

PostgreSQL tests run in their own schema each, so they never see each other's rows; their
connections carry the schema's name as `application_name`, so a test that cuts connections cuts
only its own (two test runs may share one server). In CI (`CI=true`) a missing PostgreSQL fails
the test instead of skipping it.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, make_url, text

from shoal.config import Settings
from shoal.store import Store, open_store

PG_URL = os.environ.get("SHOAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")
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
    """A fresh schema in the test database and a URL whose connections use it. Every session
    opened with the URL (the test's store, the schedulers and commands it starts) is named after
    the schema in pg_stat_activity's `application_name`: see `pg_sessions_of`."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}&application_name={schema}"


def pg_sessions_of(url: str) -> str:
    """The `application_name` the sessions opened with a `pg_schema_url()` URL carry: a test
    terminates sessions `WHERE application_name = <this>`, never the whole database's."""
    name = make_url(url).query.get("application_name")
    assert isinstance(name, str) and name.startswith("t_"), f"{url} is not a pg_schema_url()"
    return name


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
    for name in ("SHOAL_API_URL", "SHOAL_TOKEN"):  # the embedded CLI, whatever the shell has set
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(cwd)
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 60.0,
    context: Callable[[], str] | str | None = None,
    interval: float = 0.01,
) -> T:
    """Poll `predicate` until it returns something truthy, and return that; fail the test after
    `timeout` seconds, showing `context` (a string, or a callable such as a process's output,
    called only then). The predicate may assert on the way (e.g. "the scheduler is still up")."""
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() >= deadline:
            shown = context() if callable(context) else context
            name = getattr(predicate, "__name__", "the condition")
            pytest.fail(f"{name} did not hold within {timeout}s" + (f":\n{shown}" if shown else ""))
        time.sleep(interval)
    return found


def wait_for_file(path: Path, timeout: float = 60.0, context: Callable[[], str] | None = None) -> None:
    """Until a task creates `path`; on timeout the failure shows `context()` (e.g. a process's output)."""
    wait_until(path.exists, timeout, lambda: f"{path} never appeared" + (f":\n{context()}" if context else ""))


def add_team(store: Store) -> None:
    """Users of a shared instance: root (instance admin), alice (editor of project fraud), bob
    (viewer of fraud), carol (in no project)."""
    from shoal.services import projects, users

    users.add_user(store, "root", admin=True)
    for name in ("alice", "bob", "carol"):
        users.add_user(store, name)
    projects.create_project(store, "fraud")
    projects.add_member(store, "fraud", "alice", "editor")
    projects.add_member(store, "fraud", "bob", "viewer")


Hide = Callable[..., None]


@pytest.fixture
def hide(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hide]:
    """`hide("gensim", ...)`: those modules cannot be imported until the test ends (how Python
    marks a module unimportable); the task types are looked up again, before and after."""
    from shoal.tasks.registry import forget

    def hide(*modules: str) -> None:
        for name in modules:
            monkeypatch.setitem(sys.modules, name, None)
        forget()

    yield hide
    monkeypatch.undo()
    forget()
