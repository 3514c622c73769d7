"""Opening the metadata database, and telling an outage of it from other errors: what a caller
needs to start and to report, without reaching into `shoal.store`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from shoal.config import HOME_NAME, Settings, get_settings
from shoal.store import Store, open_store
from shoal.store.retry import DATABASE_AWAY, db_error_text, when_database_answers

__all__ = [
    "Store", "database_failure", "describe", "init_home", "open_home", "open_store", "patiently", "where",
]

T = TypeVar("T")


def open_home(home: str | Path | None = None, db_url: str | None = None) -> Store:
    """The store of `home` / `db_url`; each one not given comes from SHOAL_HOME / SHOAL_DB_URL."""
    overrides: dict[str, Any] = {}
    if home is not None:
        overrides["home"] = Path(home)
    if db_url is not None:
        overrides["db_url"] = db_url
    return open_store(Settings(**overrides))


def init_home() -> Store:
    """`shoal init`: the home SHOAL_HOME names, else `./.shoal` in the current directory (as `git
    init` does, even inside another project's tree), with its database created and migrated."""
    settings = get_settings()
    if settings.home is None:
        settings = Settings(home=Path.cwd() / HOME_NAME)
    return open_store(settings, create=True)


def database_failure(exc: BaseException) -> str | None:
    """What went wrong, if `exc` says the database went away mid-command (a restart, a dropped
    connection); None for any other error."""
    return db_error_text(exc) if isinstance(exc, DATABASE_AWAY) else None


def patiently(read: Callable[[], T]) -> T:
    """`read()`, waiting out a database blip: for reads of things that exist whatever happens
    (runs go on without their caller), where failing the command would tell the user nothing."""
    return when_database_answers(read)


def where() -> str:
    """Which home and database a command of this process uses, and why (for "not found" errors:
    the wrong home is the usual reason something that exists is not found)."""
    return get_settings().where


def describe(store: Store) -> tuple[str, str]:
    """(home directory, database URL with any password hidden): where a store keeps things."""
    return str(store.settings.home_dir), store.engine.url.render_as_string(hide_password=True)
