"""The CLI pointed at a server (SHOAL_API_URL) without one: commands that work on the server's
own files and processes refuse, a server that does not answer is one clear error (exit 2), and
no local database is ever opened or created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import HELLO

DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture
def remote_cli(cli, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOAL_API_URL", DOWN)
    monkeypatch.setenv("SHOAL_TOKEN", "shoal_not_a_real_one")
    return cli


@pytest.mark.parametrize("args", [
    ("init",), ("scheduler",), ("server",), ("api",), ("serve", "m"),
    ("features", "import", "t", "x.csv"), ("features", "extract", "f.sql", "-o", "x.parquet"),
    ("features", "online-import", "td"), ("features", "insert", "td", "--row", "{}"), ("features", "verify", "td"),
    ("model", "register", "m", "bundle"),
])
def test_commands_on_the_servers_files_and_processes_refuse(remote_cli, args: tuple[str, ...],
                                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = remote_cli(*args)
    assert r.exit_code == 2, r.output
    flat = " ".join(r.output.split())
    assert f"`shoal {' '.join(args[:2]) if args[0] in ('features', 'model') else args[0]}` does not run against a " \
           "server" in flat, flat
    assert "unset SHOAL_API_URL" in flat
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("args", [
    ("runs", "list"), ("workflow", "apply", str(HELLO)), ("run", "hello_ml", "--wait"), ("schedule", "list"),
    ("runs", "logs", "1", "-f"), ("token", "list"), ("model", "list"),
])
def test_a_server_that_does_not_answer_is_exit_2_and_nothing_local_is_created(
    remote_cli, args: tuple[str, ...], tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    r = remote_cli(*args)
    flat = " ".join(r.output.split())
    assert r.exit_code == 2 and f"cannot reach the shoal API at {DOWN} (SHOAL_API_URL)" in flat, flat
    assert not (tmp_path / "home").exists()  # no database opened, none created


def test_no_token_says_so_before_asking(remote_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SHOAL_TOKEN")
    r = remote_cli("runs", "list")
    assert r.exit_code == 2 and "SHOAL_TOKEN is not" in " ".join(r.output.split()), r.output


def test_a_url_that_is_not_http_is_a_bad_setting(remote_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOAL_API_URL", "shoal.example:8000")
    r = remote_cli("runs", "list")
    flat = " ".join(r.output.split())
    assert r.exit_code == 2 and "SHOAL_API_URL='shoal.example:8000'" in flat and "http://" in flat, flat


def test_the_token_is_never_printed(remote_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOAL_API_URL", "ftp://x")  # a bad setting lists the settings' problems
    r = remote_cli("-vv", "runs", "list")
    assert "shoal_not_a_real_one" not in r.output
