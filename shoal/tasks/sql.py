"""`sql`: run statements on DuckDB (default) or any SQLAlchemy URL; result rows may become outputs.

`output: first_row` turns the columns of the last statement's first row into outputs;
`output: rows` puts up to `max_rows` rows (as a list of dicts) under the `rows` output.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any, Literal

from pydantic import Field

from shoal.errors import TaskFailed
from shoal.tasks.base import TaskContext, TaskParams, TaskType


class SqlParams(TaskParams):
    sql: str = Field(description="one or more statements separated by ';'")
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (postgresql+psycopg://...), or duckdb:///path.db; default in-memory DuckDB",
    )
    output: Literal["none", "first_row", "rows"] = Field(default="none", description="turn results into outputs")
    max_rows: int = Field(default=100, ge=1, le=100_000)
    isolation: Literal["fork", "worker"] = "fork"


def _plain(value: Any) -> Any:
    # Outputs are stored as JSON.
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


class SqlTask(TaskType):
    name = "sql"
    Params = SqlParams
    kind = "process"

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: SqlParams = ctx.params
        url = p.url or "duckdb:///:memory:"
        columns, rows = (_run_duckdb if url.startswith("duckdb:") else _run_sqlalchemy)(url, p.sql, p.max_rows)
        print(f"{len(rows)} row(s)" + (f": {', '.join(columns)}" if columns else ""))
        records = [{c: _plain(v) for c, v in zip(columns, row, strict=False)} for row in rows]
        if p.output == "first_row":
            if not records:
                raise TaskFailed("output: first_row, but the last statement returned no rows")
            return records[0]
        if p.output == "rows":
            return {"rows": records, "row_count": len(records)}
        return {"row_count": len(records)}




def _run_duckdb(url: str, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    import duckdb

    path = url.removeprefix("duckdb:///") or ":memory:"
    con = duckdb.connect(path)
    try:
        cur = con.execute(sql)  # DuckDB runs every statement and keeps the last result
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchmany(limit)
    except duckdb.Error as exc:
        raise TaskFailed(f"SQL failed: {exc}") from None
    finally:
        con.close()


def _run_sqlalchemy(url: str, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    columns: list[str] = []
    rows: list[tuple[Any, ...]] = []
    try:
        with engine.begin() as conn:
            for statement in _split(sql, engine.dialect.name):
                # Straight to the driver: text() would read ':word' in a literal as a bind parameter.
                result = conn.exec_driver_sql(statement)
                if result.returns_rows:
                    columns = list(result.keys())
                    rows = [tuple(r) for r in result.fetchmany(limit)]
    except SQLAlchemyError as exc:
        raise TaskFailed(f"SQL failed: {exc.__class__.__name__}: {exc.orig or exc}") from None
    finally:
        engine.dispose()
    return columns, rows


def _split(sql: str, dialect: str) -> list[str]:
    import sqlglot

    read = {"postgresql": "postgres"}.get(dialect, dialect)
    try:
        return [e.sql(dialect=read) for e in sqlglot.parse(sql, read=read) if e is not None]
    except sqlglot.errors.ParseError:
        # Dialect-specific SQL sqlglot cannot parse: let the database judge it as one statement.
        return [sql]
