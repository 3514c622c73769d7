"""The metadata database: SQLAlchemy models, Alembic migrations, and opening it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from shoal.config import Settings, get_settings
from shoal.errors import NoDatabase, StoreUnavailable
from shoal.store.db import open_engine, utcnow


@dataclass
class Store:
    """An opened metadata database plus the local directories that go with it."""

    engine: Engine
    settings: Settings
    created: bool = False  # this open created shoal's tables: a new home (the CLI says so)
    # `services.users.authenticate`'s short memory in this process: token hash -> (Actor, the
    # token's expiry, when to ask the database again). See SHOAL_AUTH_CACHE_SECONDS.
    actors: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def reading(self) -> Connection:
        """A connection for reads that need no snapshot of their own (one statement, or several
        that may each see the latest commit): on PostgreSQL in autocommit, which spares each
        checkout its BEGIN and ROLLBACK round trips (the API's hot reads: a token, a page of
        runs, a run). SQLite reads as before."""
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    @property
    def logs_dir(self) -> Path:
        return self.settings.logs_dir

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings | None = None, create: bool = True) -> Store:
    """Open (and migrate) the database named by the settings: SQLite under the home by default.

    `create=False` is for commands that only read: where there is no shoal database yet they
    create nothing and raise NoDatabase, naming where they looked and how to make one.
    """
    settings = settings or get_settings()
    try:
        # First: a database that cannot be opened creates nothing (no home folder either).
        engine, created = open_engine(settings.database_url, create)
    except NoDatabase:
        raise NoDatabase(f"no shoal database at {settings.where}; run `shoal init` to create one, or set "
                         "SHOAL_HOME (or SHOAL_DB_URL) to the one you meant") from None
    try:
        if create:  # a reader of a PostgreSQL database leaves no empty home behind either
            settings.home_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # its owner's only
    except OSError as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot create SHOAL_HOME {settings.home_dir}: {exc.strerror or exc}; set "
                               "SHOAL_HOME to a directory you can write") from None
    return Store(engine=engine, settings=settings, created=created)


__all__ = ["Store", "open_store", "utcnow"]
