"""SQL functions that SQLite and PostgreSQL spell differently, as SQLAlchemy expressions."""

from __future__ import annotations

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["seconds_between"]


class seconds_between(FunctionElement[float]):  # noqa: N801 (an SQL function, named as one)
    """`end - start` in seconds (float) for two timestamp columns: SQLite has no interval type.
    On SQLite it goes through julianday, so it is exact to about a millisecond."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_default(element: seconds_between, compiler: SQLCompiler, **kw: object) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # date_part, not EXTRACT: it answers a double, where EXTRACT answers a (much slower) numeric.
    return f"date_part('epoch', {end} - {start})"  # PostgreSQL


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: object) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"
