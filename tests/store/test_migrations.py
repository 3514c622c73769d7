"""The Alembic migrations build exactly the schema the SQLAlchemy models describe, and step back."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from shoal.store import Store
from shoal.store.db import HEAD_REVISION, MIGRATIONS_DIR
from shoal.store.models import metadata


def _config(store: Store) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = store.engine
    return cfg


def _diff(store: Store) -> list[object]:
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_migrated_schema_equals_the_models(store: Store) -> None:
    assert _diff(store) == []


def test_the_newest_migration_steps_down_and_up(store: Store) -> None:
    cfg = _config(store)
    command.downgrade(cfg, "-1")
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() != HEAD_REVISION
    command.upgrade(cfg, "head")
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
    assert _diff(store) == []
