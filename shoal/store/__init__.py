"""The metadata database: SQLAlchemy models, Alembic migrations, and opening it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from shoal.config import Settings, get_settings
from shoal.errors import StoreUnavailable
from shoal.store.db import open_engine, utcnow


@dataclass
class Store:
    """An opened metadata database plus the local directories that go with it."""

    engine: Engine
    settings: Settings

    @property
    def logs_dir(self) -> Path:
        return self.settings.logs_dir

    def close(self) -> None:
        self.engine.dispose()


def open_store(settings: Settings | None = None) -> Store:
    """Open (and migrate) the database named by the settings: SQLite under SHOAL_HOME by default."""
    settings = settings or get_settings()
    engine = open_engine(settings.database_url)  # first: a database that cannot be opened creates nothing
    try:
        settings.home_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # its owner's only
    except OSError as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot create SHOAL_HOME {settings.home_dir}: {exc.strerror or exc}; set "
                               "SHOAL_HOME to a directory you can write") from None
    return Store(engine=engine, settings=settings)


__all__ = ["Store", "open_store", "utcnow"]
