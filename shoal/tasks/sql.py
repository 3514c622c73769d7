"""`sql`: run statements on DuckDB (default) or any SQLAlchemy URL; result rows may become outputs.

`output: first_row` turns the columns of the last statement's first row into outputs;
`output: rows` puts up to `max_rows` rows (as a list of dicts) under the `rows` output.
`row_count` is the number of rows the last statement returned (all counted, streamed), or for a
statement returning none (INSERT/UPDATE/DELETE...) the rows changed as the driver reports them.

`${...}` references in `sql` are bound as query parameters, never pasted into the statement
(see `shoal.tasks.values.sql`); `splice_values: true` pastes them as text instead (dangerous).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from shoal.errors import ParamError, TaskFailed
from shoal.tasks.base import Isolation, TaskContext, TaskParams, TaskType, isolation_field, references_checked
from shoal.tasks.forms import written_in
from shoal.tasks.values.sql import Bound, Marked, bind_sql, check_sql_field, dialect_name, mark, tokenize


class SqlParams(TaskParams):
    sql: str = Field(
        description="one or more SQL statements separated by ;, e.g. SELECT count(*) AS n FROM clicks WHERE "
        "day = ${ds}; ${...} values are bound as query parameters, never pasted into the SQL",
        json_schema_extra=written_in("sql"),
    )
    url: str | None = Field(
        default=None,
        description="the database to run on, as a SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db or "
        "duckdb:///data/local.db; empty: a fresh in-memory DuckDB",
    )
    output: Literal["none", "first_row", "rows"] = Field(
        default="none",
        description="what the last statement's result gives downstream: none (only row_count), first_row (each "
        "column of the first row becomes an output) or rows (up to max_rows rows under the output rows)",
    )
    max_rows: int = Field(
        default=100, ge=1, le=100_000, description="with output: rows, how many rows to keep (1-100,000)",
    )
    isolation: Isolation = isolation_field()

    @model_validator(mode="after")
    def _values_can_be_bound(self, info: ValidationInfo) -> SqlParams:
        check_sql_field(self.sql, self.url, references_checked(info))
        return self


@dataclass
class _Result:
    """The last statement's result: its first `max_rows` rows and how many rows it returned or changed."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    row_count: int = 0
    returns_rows: bool = False


def _plain(value: Any) -> Any:
    # Outputs are stored as JSON.
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()  # with its UTC offset when tz-aware (TIMESTAMPTZ)
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
    group = "data"
    description = ("Run SQL statements on DuckDB or any database SQLAlchemy reaches; the result's first row "
                   "or rows can become outputs.")
    code_fields = frozenset({"sql"})

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: SqlParams = ctx.params
        url = p.url or "duckdb:///:memory:"
        try:
            marked = mark(p.sql) if ctx.values is not None else Marked(p.sql)
        except ParamError as exc:
            raise TaskFailed(f"SQL failed: {exc}") from None
        run = _run_duckdb if url.startswith("duckdb:") else _run_sqlalchemy
        result = run(url, marked, ctx.values or {}, p.max_rows)
        if result.returns_rows:
            print(f"{result.row_count} row(s) returned" + (f": {', '.join(result.columns)}" if result.columns else ""))
        else:
            print(f"{result.row_count} row(s) affected")
        records = [{c: _plain(v) for c, v in zip(result.columns, row, strict=False)} for row in result.rows]
        if p.output == "first_row":
            if not records:
                raise TaskFailed("output: first_row, but the last statement returned no rows")
            return records[0]
        if p.output == "rows":
            return {"rows": records, "row_count": result.row_count}
        return {"row_count": result.row_count}


_FETCH_CHUNK = 10_000


def _drain(fetchmany: Callable[[int], Sequence[Any]], limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Read every row in chunks: keep the first `limit`, count them all."""
    kept: list[tuple[Any, ...]] = []
    count = 0
    while chunk := fetchmany(_FETCH_CHUNK):
        count += len(chunk)
        if len(kept) < limit:
            kept.extend(tuple(row) for row in chunk[: limit - len(kept)])
    return kept, count


def _run_duckdb(url: str, marked: Marked, values: dict[str, Any], limit: int) -> _Result:
    import duckdb

    path = url.removeprefix("duckdb:///") or ":memory:"
    con = duckdb.connect(path)
    try:
        if marked.refs:
            # Parameters bind to one statement at a time: run them one by one, keep the last.
            for statement in _bind_all(_split(marked.text, "duckdb"), marked, values, "duckdb", "qmark"):
                cur = con.execute(statement.text, statement.params)
        else:
            cur = con.execute(marked.text)  # DuckDB runs every statement and keeps the last result
        if cur.rowcount >= 0:
            # INSERT/UPDATE/DELETE/CREATE TABLE AS/COPY: DuckDB reports the changed rows as rowcount
            # (and as a one-row `Count` result, which is not the statement's data).
            return _Result(row_count=cur.rowcount)
        if cur.description is None:
            return _Result()
        rows, count = _drain(cur.fetchmany, limit)  # DuckDB streams the result: memory stays flat
        return _Result([d[0] for d in cur.description], rows, count, returns_rows=True)
    except duckdb.Error as exc:
        raise TaskFailed(f"SQL failed: {exc}") from None
    finally:
        con.close()


def _bind_all(statements: list[_Statement], marked: Marked, values: dict[str, Any], dialect: str,
              paramstyle: str) -> list[Bound]:
    """Each statement with its references bound in the driver's parameter style (a statement
    without any runs as it is)."""
    try:
        return [
            bind_sql(st.text, st.tokens, marked, values, dialect_name(dialect), paramstyle,
                     offset=st.tokens[0].start)
            for st in statements
        ]
    except ParamError as exc:
        raise TaskFailed(f"SQL failed: {exc}") from None


def _run_sqlalchemy(url: str, marked: Marked, values: dict[str, Any], limit: int) -> _Result:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        dialect = engine.dialect.name
        split = _split(marked.text, dialect)
        bound = _bind_all(split, marked, values, dialect, engine.dialect.paramstyle)
        result = _Result()
        with engine.begin() as conn:
            for i, (statement, binding) in enumerate(zip(split, bound, strict=True)):
                last = i == len(split) - 1
                options = {
                    # Straight to the driver (text() would read ':word' in a literal as a bind
                    # parameter), with no parameters unless bound: with a parameter collection,
                    # even an empty one, pyformat drivers (psycopg) read every '%' as placeholder
                    # syntax (bind_sql doubles them when it binds).
                    "no_parameters": binding.params is None,
                    "preserve_rowcount": True,  # the driver's rowcount for INSERT and DDL too
                    # A server-side cursor where the driver has one (psycopg), so that a large
                    # result is counted without being held in memory. Only for the last statement
                    # (a cursor runs its query only as far as it is fetched) and for plain queries
                    # (PostgreSQL's DECLARE CURSOR takes nothing else).
                    "stream_results": last and statement.is_plain_query,
                }
                cursor = conn.exec_driver_sql(binding.text, binding.params or None, execution_options=options)
                if not last:
                    cursor.close()
                elif cursor.returns_rows:
                    rows, count = _drain(cursor.fetchmany, limit)
                    result = _Result(list(cursor.keys()), rows, count, returns_rows=True)
                else:
                    result = _Result(row_count=max(cursor.rowcount, 0))  # -1: not reported (DDL)
    except SQLAlchemyError as exc:
        raise TaskFailed(f"SQL failed: {exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}") from None
    finally:
        engine.dispose()
    return result


@dataclass
class _Statement:
    text: str  # exactly as written: the database runs the user's SQL, not a rewrite of it
    tokens: list[Any]

    @property
    def is_plain_query(self) -> bool:
        from sqlglot.tokens import TokenType

        starts = {TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.TABLE, TokenType.L_PAREN}
        writes = {TokenType.INTO, TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE, TokenType.MERGE}
        return self.tokens[0].token_type in starts and not any(t.token_type in writes for t in self.tokens)


def _split(sql: str, dialect: str) -> list[_Statement]:
    """Cut `sql` at its top-level semicolons, found by sqlglot's tokenizer for the dialect (so a
    ';' in a string, quoted name, comment or dollar-quoted body does not count). The BEGIN ... END
    body of a CREATE TRIGGER/FUNCTION/PROCEDURE (SQLite triggers, PostgreSQL's BEGIN ATOMIC)
    stays whole, with any CASE ... END in it. Elsewhere BEGIN is a transaction or a name."""
    from sqlglot.tokens import TokenType

    try:
        tokens = tokenize(sql, dialect_name(dialect))
    except ParamError as exc:
        raise TaskFailed(f"SQL failed: cannot split the SQL into statements: {exc}") from None

    statements: list[_Statement] = []
    current: list[Any] = []
    depth = 0  # open BEGIN/CASE ... END inside a block

    def flush() -> None:
        if current:
            statements.append(_Statement(sql[current[0].start : current[-1].end + 1], list(current)))
            current.clear()

    for token in tokens:
        kind = token.token_type
        if kind == TokenType.SEMICOLON and depth == 0:
            flush()
            continue
        if kind == TokenType.BEGIN and current and _defines_routine(current):
            depth += 1
        elif kind == TokenType.CASE and depth:
            depth += 1
        elif kind == TokenType.END and depth:
            depth -= 1
        current.append(token)
    if depth:
        raise TaskFailed(f"SQL failed: a BEGIN ... END block is not closed: {sql[current[0].start :][:200]!r}")
    flush()
    return statements


def _defines_routine(tokens: list[Any]) -> bool:
    from sqlglot.tokens import TokenType

    routines = {TokenType.TRIGGER, TokenType.FUNCTION, TokenType.PROCEDURE}
    return tokens[0].token_type == TokenType.CREATE and any(t.token_type in routines for t in tokens)
