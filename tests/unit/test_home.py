"""Where shoal keeps its state: SHOAL_HOME, else the nearest `.shoal` upward, else `~/.shoal`;
and a command that only reads never creates a database, anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from shoal.config import Settings, find_home
from shoal.errors import NoDatabase
from shoal.store import open_store
from tests.conftest import drop_pg_schema, pg_schema_url, require_pg


@pytest.fixture
def no_home_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """SHOAL_* unset and the user's home directory a fresh one; returns that user home."""
    for name in ("SHOAL_HOME", "SHOAL_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("HOME", str(user))
    return user


def test_the_nearest_home_upward_is_used(no_home_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer, inner = tmp_path / "work" / ".shoal", tmp_path / "work" / "proj" / ".shoal"
    deep = tmp_path / "work" / "proj" / "src" / "pkg"
    for folder in (outer, inner, deep):
        folder.mkdir(parents=True)
    monkeypatch.chdir(deep)
    home, how = find_home()
    assert home == inner.resolve() and "walking up" in how
    assert Settings().home_dir == inner.resolve()
    monkeypatch.chdir(tmp_path / "work")
    assert Settings().home_dir == outer.resolve() and "current directory" in Settings().home_source


def test_without_a_home_upward_the_user_default_is_used(no_home_env: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = Settings()
    assert settings.home_dir == no_home_env / ".shoal"
    assert "user default" in settings.home_source


def test_shoal_home_wins_over_a_home_upward(no_home_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "proj" / ".shoal").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj")
    monkeypatch.setenv("SHOAL_HOME", str(tmp_path / "explicit"))
    settings = Settings()
    assert settings.home_dir == (tmp_path / "explicit").resolve() and settings.home_source == "SHOAL_HOME"


def test_a_reader_creates_no_sqlite_database(no_home_env: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoDatabase) as caught:
        open_store(create=False)
    message = str(caught.value)
    assert str(no_home_env / ".shoal" / "shoal.db") in message and "shoal init" in message
    assert "user default" in message
    assert not (no_home_env / ".shoal").exists()  # no folder, no file
    store = open_store()  # a writer creates it, and says it did
    try:
        assert store.created and (no_home_env / ".shoal" / "shoal.db").is_file()
    finally:
        store.close()
    again = open_store(create=False)
    try:
        assert not again.created
    finally:
        again.close()


@pytest.mark.integration
def test_a_reader_creates_no_tables_in_an_empty_postgresql(tmp_path: Path) -> None:
    require_pg()
    schema, url = pg_schema_url()
    try:
        with pytest.raises(NoDatabase, match="SHOAL_DB_URL.*shoal init"):
            open_store(Settings(home=tmp_path / "home", db_url=url), create=False)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert inspect(conn).get_table_names() == []
        finally:
            engine.dispose()
        assert not (tmp_path / "home").exists()
    finally:
        drop_pg_schema(schema)
