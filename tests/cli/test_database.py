"""A metadata database that cannot be reached: one clear error, exit 2, nothing created."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shoal.config import Settings
from tests.cli.conftest import ROOT
from tests.conftest import PG_URL, cli_runner, require_pg


def _one_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ") and "Traceback" not in output
    return lines[0]


def test_a_database_that_does_not_exist_says_how_to_create_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_pg()
    name = f"shoal_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_URL).set(database=name)
    home = tmp_path / "home"
    cli = cli_runner(monkeypatch, Settings(home=home, db_url=url.render_as_string(hide_password=False)), ROOT)
    for args in (("init",), ("runs", "list")):
        r = cli(*args)
        assert r.exit_code == 2, r.output
        line = _one_error(r.output)
        assert f'database "{name}" does not exist' in line
        assert f"createdb -h {url.host} -p {url.port or 5432} -U {url.username} {name}" in line
    assert not home.exists()
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    engine.dispose()
    assert found is None


def test_a_refused_connection_says_to_check_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port that was just free: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/shoal"
    cli = cli_runner(monkeypatch, Settings(home=home, db_url=url), ROOT)
    for args in (("init",), ("runs", "list"), ("workflow", "list", "--json")):
        r = cli(*args)
        assert r.exit_code == 2, r.output
        line = _one_error(r.output)
        assert f"127.0.0.1:{port}" in line and "connection refused" in line.lower()
        assert "running" in line and "SHOAL_DB_URL" in line
    assert not home.exists()


def test_a_password_in_the_url_is_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{port}/shoal"
    cli = cli_runner(monkeypatch, Settings(home=tmp_path / "home", db_url=url), ROOT)
    r = cli("init")
    assert r.exit_code == 2 and "s3cret" not in r.output


def test_a_database_failing_mid_command_is_one_line_and_exit_1(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The server went away between opening the store and the command's query (a restart):
    one line saying so and what to do, not a traceback."""
    from sqlalchemy.exc import OperationalError

    import shoal.services.workflows as workflow_services

    def gone(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    assert cli("init").exit_code == 0
    monkeypatch.setattr(workflow_services, "list_workflows", gone)
    r = cli("workflow", "list")
    assert r.exit_code == 1
    assert "error: the metadata database failed: server closed the connection unexpectedly" in r.output
    assert "Traceback" not in r.output
