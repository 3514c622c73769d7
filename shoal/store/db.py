"""Opening the metadata database: SQLite (WAL) under SHOAL_HOME by default, PostgreSQL by URL.

Every process (scheduler, CLI, API) opens its own engine. The schema is created and upgraded
only by Alembic migrations (`migrate`), run on open, so an old database is brought up to date.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from shoal.errors import NoDatabase, StoreUnavailable

log = logging.getLogger(__name__)
_MIGRATED: set[str] = set()
_LOCK = threading.Lock()
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0008"


def utcnow() -> datetime:
    """Naive UTC now: how every time is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(engine: Engine, path: str | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Take transaction control from the sqlite3 module so BEGIN IMMEDIATE below is ours.
        dbapi_conn.isolation_level = None
        if path is not None:
            _make_private(path)  # before WAL mode: SQLite gives -wal and -shm the file's mode
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode (only power loss may lose the tail).
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: a guarded read-then-write never deadlocks
        # against another process upgrading its own read lock.
        # Straight to the driver: this runs for every transaction of the engine's hot path.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


def _make_private(path: str) -> None:
    """The database file (and its WAL files) readable by its owner only, however it was made."""
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass
        except OSError as exc:  # not ours (a shared file the owner set up): leave it as it is
            log.debug("cannot make %s private: %s", name, exc)


def make_engine(url: str) -> Engine:
    """An Engine for `url`, with SQLite tuned for several local processes."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            home = Path(u.database).parent
            try:
                home.mkdir(mode=0o700, parents=True, exist_ok=True)  # SHOAL_HOME is its owner's only
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create {home} for the metadata database: {exc.strerror or exc}; set SHOAL_HOME "
                    "to a directory you can write (or SHOAL_DB_URL to a database)"
                ) from None
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_pragmas(engine, u.database if u.database != ":memory:" else None)
        return engine
    # The API answers up to 40 requests at once (its thread pool): keep connections open for them
    # rather than opening and closing overflow ones under load (benchmarks/api.py counted 0.1 new
    # PostgreSQL sessions per request with the default 5).
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


def migrate(engine: Engine, create: bool = True) -> bool:
    """Bring the schema to the newest revision (idempotent; cached per URL in this process).
    With `create=False` a database without shoal's tables is left as it is (NoDatabase): a
    command that only reads must not turn an empty database into a shoal one. Whether it created
    shoal's tables in an empty database."""
    key = engine.url.render_as_string(hide_password=False)
    with _LOCK:
        if key in _MIGRATED:
            return False
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise _unreachable(engine.url, exc) from None
        with conn:
            current = _current_revision(conn)
        shown = engine.url.render_as_string(hide_password=True)
        if current is None and not create:
            raise NoDatabase(f"{shown} has no shoal tables")
        if current != HEAD_REVISION:
            log.info("migrating %s from schema %s to %s", shown, current or "(empty)", HEAD_REVISION)
            # Alembic (and Mako) load only to migrate: opening an up-to-date database is most
            # commands' first step, and `shoal runs list` must answer in a blink.
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["engine"] = engine
            command.upgrade(cfg, "head")
        else:
            log.debug("opened %s (schema %s)", shown, current)
        _MIGRATED.add(key)
        return current is None


def _current_revision(conn) -> str | None:  # type: ignore[no-untyped-def]
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return row[0] if row else None


def open_engine(url: str, create: bool = True) -> tuple[Engine, bool]:
    """An engine for `url`, migrated, and whether shoal's tables were created just now;
    StoreUnavailable (one line saying what to fix) if the database cannot be reached or the URL
    is unusable. With `create=False`, NoDatabase if there is no shoal database there yet (nothing
    is created: no file, no folder, no table)."""
    u = make_url(url) if not create else None
    if u is not None and u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        if not Path(u.database).is_file():
            raise NoDatabase(f"{u.database} does not exist")
    try:
        engine = make_engine(url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"invalid SHOAL_DB_URL {url!r}: {exc}; use a SQLAlchemy URL such as "
                               "postgresql+psycopg://user@host:5432/dbname") from None
    except ImportError as exc:  # the URL's DBAPI driver is not installed
        shown = make_url(url).render_as_string(hide_password=True)
        raise StoreUnavailable(f"the metadata database {shown} needs the Python driver "
                               f"{exc.name or str(exc)!r}, which is not installed; install it, or use "
                               "postgresql+psycopg://… for PostgreSQL") from None
    try:
        created = migrate(engine, create)
    except StoreUnavailable:
        engine.dispose()
        raise
    return engine, created


def _unreachable(url: URL, exc: DBAPIError) -> StoreUnavailable:
    """A connection to `url` failed with `exc`: what could not be reached, and how to fix it."""
    shown = url.render_as_string(hide_password=True)
    detail = " ".join(str(exc.orig or exc).split())
    if url.get_backend_name() != "postgresql":
        return StoreUnavailable(
            f"cannot open the metadata database {shown}: {detail}; check SHOAL_DB_URL (or SHOAL_HOME)"
        )
    where = f"{url.host or 'the local socket'}" + (f":{url.port}" if url.port else "")
    missing = re.search(r'database "([^"]+)" does not exist', detail)
    if missing:
        command = " ".join(
            ["createdb"] + ([f"-h {url.host}"] if url.host else []) + ([f"-p {url.port}"] if url.port else [])
            + ([f"-U {url.username}"] if url.username else []) + [missing.group(1)]
        )
        return StoreUnavailable(
            f"cannot open the metadata database {shown}: database \"{missing.group(1)}\" does not exist "
            f"on {where}; create it first (`{command}`) or point SHOAL_DB_URL at an existing database"
        )
    if "refused" in detail.lower():
        why = "connection refused"
    else:
        # psycopg: 'connection failed: connection to server at "h", port 5432 failed: <why>'
        why = detail.rsplit(" failed: ", 1)[-1] if " failed: " in detail else detail
    return StoreUnavailable(
        f"cannot connect to the metadata database {shown} at {where}: {why}; check that PostgreSQL "
        "is running there and accepts connections, or fix SHOAL_DB_URL"
    )
