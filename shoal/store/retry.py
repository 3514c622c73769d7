"""Riding out a metadata database that went away (a restart, a failover, dropped connections).

Shared by the driver, the scheduler loop and the commands that wait on runs: each backs off the
same way, and none of them needs the driver to know what a database outage looks like.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors of a database that went away or is too busy (a restart, a dropped connection, SQLite
# locked past its busy timeout): worth waiting out. Others (a constraint, bad SQL) are bugs.
DATABASE_AWAY = (OperationalError, InterfaceError)


def db_error_text(exc: BaseException) -> str:
    """A database error in one line: the driver's own message, not SQLAlchemy's statement dump."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]


class DatabaseRetry:
    """Backing off while the metadata database is away: each failure calls `on_failure` (a
    driver reloads its runs there, see `Driver.reload`) and says how long to wait before trying
    again, doubling up to a limit."""

    FIRST, MAX = 1.0, 30.0  # seconds

    def __init__(self) -> None:
        self.wait = self.FIRST

    def failed(self, exc: DBAPIError, on_failure: Callable[[], object] | None = None) -> float:
        log.error("the metadata database failed: %s; trying again in %gs",
                  db_error_text(exc), self.wait)
        if on_failure is not None:
            on_failure()
        wait, self.wait = self.wait, min(self.wait * 2, self.MAX)
        return wait

    def ok(self) -> None:
        self.wait = self.FIRST


def when_database_answers(read: Callable[[], T]) -> T:
    """`read()`, again after each failure of a database that went away (backing off as a driver
    does), until it answers. For what a waiting command reads around driving its runs: a blip
    then must not turn a run that succeeded into a command that failed."""
    retry = DatabaseRetry()
    while True:
        try:
            return read()
        except DATABASE_AWAY as exc:
            time.sleep(retry.failed(exc))


__all__ = ["DATABASE_AWAY", "DatabaseRetry", "db_error_text", "when_database_answers"]
