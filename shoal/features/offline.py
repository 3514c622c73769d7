"""The offline engine: a `FeatureQuery` as one DuckDB statement, run over Parquet, CSV or rows.

Point-in-time correctness rests on one trick. Each row gets its arrival number `__seq` (its place
in the file) and an order key `__ok = time * 10^12 + __seq`, unique and sorted by (time, arrival).
Windows ORDER BY `__ok`, so CURRENT ROW ends exactly at the row itself even when several rows
share a time (plain `ORDER BY time RANGE` would let a row see its later peers). A time range of
d becomes `RANGE BETWEEN (d * 10^12 + __seq) PRECEDING`, a per-row offset that lands on the first
row whose time is >= t - d, whatever its arrival number. LAST JOIN becomes an ASOF LEFT JOIN on
dimension rows deduplicated to the last arrival per (key, time).

DuckDB streams the input and spills to disk, so large inputs never pass through Python.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb

from shoal.errors import InvalidInput
from shoal.features.errors import FeatureSqlError, TableNotFound
from shoal.features.files import check_output
from shoal.features.progress import Progress
from shoal.features.query import MAIN, Agg, Call, Col, Expr, FeatureQuery, Lit
from shoal.features.schema import Kind, TableSchema

SEQ = "__seq"
ORDER_KEY = "__ok"
RESERVED = (SEQ, ORDER_KEY)
_SHIFT = 10**12  # arrival numbers stay below this


@dataclass(frozen=True)
class OrderKey:
    """How `__ok` is computed: `(time - base) * shift + __seq`, in BIGINT when it fits.

    A 64-bit key sorts and frames faster than a 128-bit one; `prepare` picks it from the table's
    time range and row count, and falls back to HUGEINT when the product could overflow.
    """

    base: int = 0
    shift: int = _SHIFT
    wide: bool = True

    @property
    def type(self) -> str:
        return "HUGEINT" if self.wide else "BIGINT"

    def sql(self, score: str, seq: str = SEQ) -> str:
        """`__ok` for a row whose time score (microseconds or the integer time) is `score`."""
        return f"({score}::{self.type} - {self.base}) * {self.shift} + {seq}"


def error_text(e: duckdb.Error) -> str:
    """What a DuckDB error says went wrong, on one line: the first two lines of its first
    paragraph, without the reader options, search spaces, fixes and SQL it goes on to print."""
    first = str(e).strip().split("\n\n")[0]
    return " ".join(line.strip() for line in first.splitlines()[:2] if line.strip())


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # x/0 is inf or NaN and x//0, x%0 are NULL, as in request mode; a feature never aborts a job.
    con.execute("SET error_on_division_by_zero=false")
    spill = Path(tempfile.gettempdir()) / f"shoal-duckdb-{os.getpid()}"
    con.execute(f"SET temp_directory='{spill}'")
    return con


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """Where a table's rows come from; the order they come in is their arrival order."""

    kind: Literal["parquet", "csv", "rows"]
    location: str = ""
    schema: TableSchema | None = None  # for `rows`
    rows: Sequence[Sequence[Any]] = field(default=(), repr=False)

    @classmethod
    def from_path(cls, path: str | Path) -> Source:
        p = Path(path)
        if not p.exists():
            raise TableNotFound(f"no such file: {p}")
        if p.is_dir():
            raise InvalidInput(f"{p} is a directory, not a .parquet or .csv file")
        suffix = p.suffix.lower()
        if suffix in (".parquet", ".pq"):
            return cls("parquet", str(p.resolve()))
        if suffix in (".csv", ".tsv", ".txt") or p.name.lower().endswith(".csv.gz"):
            return cls("csv", str(p.resolve()))
        raise FeatureSqlError(f"{p}: expected a .parquet or .csv file")

    @classmethod
    def from_rows(cls, schema: TableSchema, rows: Sequence[Sequence[Any]]) -> Source:
        return cls("rows", schema=schema, rows=rows)

    def relation(self, con: duckdb.DuckDBPyConnection, name: str) -> str:
        """SQL for FROM that yields the table's columns plus `__seq`, its arrival number."""
        if self.kind == "parquet":
            return (
                f"(SELECT * EXCLUDE (file_row_number), file_row_number AS {SEQ} "
                f"FROM read_parquet({literal(self.location)}, file_row_number=true))"
            )
        if self.kind == "csv":
            # DuckDB keeps a CSV's row order for an empty OVER () (insertion order is preserved).
            return f"(SELECT *, row_number() OVER () - 1 AS {SEQ} FROM read_csv({literal(self.location)}))"
        assert self.schema is not None
        table = f"__rows_{name}"
        cols = ", ".join(f"{quote(c)} {t}" for c, t in self.schema.columns.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote(table)} ({cols}, {SEQ} BIGINT)")
        if self.rows:
            marks = ", ".join("?" for _ in range(len(self.schema.columns) + 1))
            con.executemany(
                f"INSERT INTO {quote(table)} VALUES ({marks})", [[*r, i] for i, r in enumerate(self.rows)]
            )
        return quote(table)

    def describe(self, name: str, con: duckdb.DuckDBPyConnection | None = None) -> TableSchema:
        if self.kind == "rows":
            assert self.schema is not None
            return TableSchema(name, dict(self.schema.columns))
        own = con is None
        con = con or connect()
        try:
            rows = con.execute(f"DESCRIBE SELECT * FROM {self.relation(con, name)}").fetchall()
        except duckdb.Error as e:
            raise FeatureSqlError(f"cannot read {self.location}: {error_text(e)}") from None
        finally:
            if own:
                con.close()
        return TableSchema(name, {r[0]: r[1] for r in rows if r[0] != SEQ})


def check_schema(schema: TableSchema) -> None:
    clash = [c for c in schema.columns if c in RESERVED]
    if clash:
        raise FeatureSqlError(f"table {schema.name} has a column named {clash[0]}, a name shoal reserves")


class _Sql:
    """Renders the expression tree as DuckDB SQL."""

    def __init__(self, query: FeatureQuery, order: OrderKey) -> None:
        self.q = query
        self.order = order
        self.alias = {MAIN: query.main_alias, **{j.alias: j.alias for j in query.joins}}

    def col(self, role: str, name: str) -> str:
        return f"{quote(self.alias[role])}.{quote(name)}"

    def expr(self, e: Expr) -> str:
        if isinstance(e, Col):
            return self.col(e.table, e.name)
        if isinstance(e, Lit):
            return _lit(e)
        if isinstance(e, Agg):
            return self.agg(e)
        return self.call(e)

    def call(self, e: Call) -> str:
        a = [self.expr(x) for x in e.args]
        op = e.op
        if op in ("+", "-", "*", "//", "%"):
            return f"({a[0]} {op} {a[1]})"
        if op == "/":
            return f"(CAST({a[0]} AS DOUBLE) / {a[1]})"
        if op in ("=", "<", "<=", ">", ">="):
            return f"({a[0]} {op} {a[1]})"
        if op == "!=":
            return f"({a[0]} <> {a[1]})"
        if op in ("and", "or"):
            return f"({a[0]} {op.upper()} {a[1]})"
        if op == "not":
            return f"(NOT {a[0]})"
        if op == "neg":
            return f"(-{a[0]})"
        if op == "is_null":
            return f"({a[0]} IS NULL)"
        if op == "is_not_null":
            return f"({a[0]} IS NOT NULL)"
        if op == "day_of_week":  # 1 = Sunday ... 7 = Saturday, as OpenMLDB and MySQL count
            return f"(dayofweek({a[0]}) + 1)"
        if op in ("hour", "minute", "second", "day", "month", "year", "abs"):
            return f"{op}({a[0]})"
        if op == "coalesce":
            return f"coalesce({', '.join(a)})"
        if op == "case":
            whens = " ".join(f"WHEN {a[i]} THEN {a[i + 1]}" for i in range(0, len(a) - 1, 2))
            return f"(CASE {whens} ELSE {a[-1]} END)"
        if op.startswith("cast_"):
            target = {"cast_int": "BIGINT", "cast_float": "DOUBLE", "cast_str": "VARCHAR"}[op]
            if op == "cast_int" and e.args[0].kind is Kind.FLOAT:
                # A bare CAST rounds half to even; round() rounds half away from zero, as documented.
                # TRY_CAST: inf, NaN or a double beyond BIGINT is NULL, as in request mode, not an error.
                return f"TRY_CAST(round({a[0]}) AS BIGINT)"
            return f"TRY_CAST({a[0]} AS {target})"
        raise AssertionError(f"no DuckDB rendering for {op}")

    def agg(self, e: Agg) -> str:
        over = f"OVER {quote(e.window)}"
        a = [self.expr(x) for x in e.args]
        f = e.func
        if f == "count_star":
            return f"count(*) {over}"
        if f == "distinct_count":
            return f"count(DISTINCT {a[0]}) {over}"
        if f == "lag":
            n = e.args[1].value  # type: ignore[union-attr]
            return f"(CASE WHEN count(*) {over} > {n} THEN lag({a[0]}, {n}) {over} END)"
        if f in ("first_value", "last_value"):
            return f"{f}({a[0]}) {over}"
        base = f.removesuffix("_where")
        flt = f" FILTER (WHERE {a[1]})" if f.endswith("_where") else ""
        sql = f"{base}({a[0]}){flt} {over}"
        if base == "sum" and e.kind is Kind.INT:
            sql = f"CAST({sql} AS BIGINT)"  # DuckDB sums integers as HUGEINT
        if base in ("min", "max") and e.kind is Kind.FLOAT:
            # 0.0 and -0.0 tie; which one min/max returns is up to the implementation: make it 0.0.
            sql = f"({sql} + 0.0)"
        return sql

    def windows(self) -> str:
        parts = []
        for w in self.q.windows.values():
            keys = ", ".join(self.col(MAIN, k) for k in w.partition_by)
            order = self.col(MAIN, ORDER_KEY)
            if w.frame.kind == "rows":
                frame = f"ROWS BETWEEN {w.frame.size} PRECEDING AND CURRENT ROW"
            elif w.frame.kind == "range":
                frame = (
                    f"RANGE BETWEEN ({w.frame.size}::{self.order.type} * {self.order.shift} + {self.col(MAIN, SEQ)}) "
                    "PRECEDING AND CURRENT ROW"
                )
            else:
                frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
            parts.append(f"{quote(w.name)} AS (PARTITION BY {keys} ORDER BY {order} {frame})")
        return ", ".join(parts)


def _lit(e: Lit) -> str:
    if e.value is None:
        return "NULL"
    if e.kind is Kind.BOOL:
        return "TRUE" if e.value else "FALSE"
    if e.kind is Kind.STR:
        return literal(e.value)
    if e.kind is Kind.FLOAT:
        return f"CAST({e.value!r} AS DOUBLE)"
    return f"CAST({e.value} AS BIGINT)"  # a bare literal is a 32-bit INTEGER in DuckDB


# The one DuckDB type each kind is computed in: a 32-bit INTEGER or a DECIMAL column would
# overflow or round where request mode (Python int, float) does not.
_CANONICAL = {Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE", Kind.TIMESTAMP: "TIMESTAMP", Kind.STR: "VARCHAR",
              Kind.BOOL: "BOOLEAN"}


def _columns(schema: TableSchema, read: Sequence[str]) -> str:
    """`*`, with the columns the query reads cast to their kind's canonical type."""
    casts = []
    for c in read:
        kind = schema.kind(c)
        if kind is not None and schema.columns[c].upper() != _CANONICAL[kind]:
            casts.append(f"CAST({quote(c)} AS {_CANONICAL[kind]}) AS {quote(c)}")
    return f"* REPLACE ({', '.join(casts)})" if casts else "*"


def time_score(kind: Kind, column: str) -> str:
    return f"epoch_us({column})" if kind is Kind.TIMESTAMP else column


def offline_sql(
    query: FeatureQuery,
    relations: Mapping[str, str],
    *,
    keep_order: bool = True,
    with_seq: bool = False,
    order: OrderKey = OrderKey(),
) -> str:
    """The DuckDB statement computing every feature for every row of the main table."""
    r = _Sql(query, order)
    main_rel = relations[query.main]
    select_main = f"(SELECT {_columns(query.schemas[MAIN], query.main_columns)}"
    if query.time_column:
        score = time_score(query.schemas[MAIN].kind(query.time_column), quote(query.time_column))  # type: ignore[arg-type]
        select_main += f", {order.sql(score)} AS {ORDER_KEY}"
    select_main += f" FROM {main_rel}) AS {quote(query.main_alias)}"
    joins = []
    for j in query.joins:
        dim_keys = ", ".join(quote(d) for _, d in j.on)
        dedup = (
            f"(SELECT {_columns(query.schemas[j.alias], query.join_columns(j.alias))} "
            f"FROM {relations[j.table]} QUALIFY row_number() OVER "
            f"(PARTITION BY {dim_keys}, {quote(j.order_by)} ORDER BY {SEQ} DESC) = 1)"
        )
        on = " AND ".join(f"{r.col(MAIN, m)} = {r.col(j.alias, d)}" for m, d in j.on)
        on += f" AND {r.col(MAIN, query.time_column)} >= {r.col(j.alias, j.order_by)}"  # type: ignore[arg-type]
        joins.append(f"ASOF LEFT JOIN {dedup} AS {quote(j.alias)} ON {on}")
    items = ", ".join(f"{r.expr(f.expr)} AS {quote(f.name)}" for f in query.features)
    if with_seq:  # the row's arrival number, to line samples up with their input rows
        items += f", {r.col(MAIN, SEQ)} AS {SEQ}"
    sql = f"SELECT {items} FROM {select_main} {' '.join(joins)}"
    if query.windows:
        sql += f" WINDOW {r.windows()}"
    if keep_order:
        sql += f" ORDER BY {r.col(MAIN, SEQ)}"
    return sql


def write_parquet(con: duckdb.DuckDBPyConnection, select_sql: str, target: Path) -> int:
    """COPY a query's rows to `target` atomically (a temp file renamed into place); returns the count."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InvalidInput(f"cannot write {target}: {e.strerror or e}") from None
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"COPY ({select_sql}) TO {literal(str(tmp))} (FORMAT parquet)")
        rows = con.execute(f"SELECT count(*) FROM read_parquet({literal(str(tmp))})").fetchone()[0]
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise InvalidInput(f"cannot write {target}: {e.strerror or e}") from None
        return int(rows)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class ExtractResult:
    path: str
    rows: int
    seconds: float
    columns: list[str]


def prepare(
    con: duckdb.DuckDBPyConnection, query: FeatureQuery, sources: Mapping[str, Source]
) -> tuple[dict[str, str], OrderKey]:
    """Relations for every table, checked for rows without a time, and the order key that fits."""
    relations: dict[str, str] = {}
    for table in query.tables:
        if table not in sources:
            raise TableNotFound(f"no source given for table {table}")
        relations[table] = sources[table].relation(con, table)
    if not query.time_column:
        return relations, OrderKey()
    t = quote(query.time_column)
    score = time_score(query.schemas[MAIN].kind(query.time_column), t)  # type: ignore[arg-type]
    nulls, lo, hi, seqs = con.execute(
        f"SELECT count(*) FILTER (WHERE {t} IS NULL), min({score}), max({score}), max({SEQ}) "
        f"FROM {relations[query.main]}"
    ).fetchone()
    if nulls:
        raise FeatureSqlError(
            f"{nulls} row(s) of {query.main} have no {query.time_column}; every row needs a time to place it "
            "in its windows (filter them out or fill them in first)"
        )
    if lo is None:
        return relations, OrderKey()
    shift = 10 ** len(str(int(seqs or 0) + 1))
    span = max((w.frame.size for w in query.windows.values() if w.frame.kind == "range"), default=0)
    if (int(hi) - int(lo) + span + 2) * shift < 2**63:
        return relations, OrderKey(base=int(lo), shift=shift, wide=False)
    return relations, OrderKey()


def compute_offline(query: FeatureQuery, sources: Mapping[str, Source]) -> list[dict[str, Any]]:
    """Every row's features, in arrival order, as dicts (for small tables: tests and verify)."""
    con = connect()
    try:
        relations, order = prepare(con, query, sources)
        sql = offline_sql(query, relations, order=order)
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def extract(
    query: FeatureQuery,
    sources: Mapping[str, Source],
    output: str | Path,
    *,
    keep_order: bool = True,
    progress: Progress | None = None,
) -> ExtractResult:
    """Write every row's features to a Parquet file (atomically: a failed run leaves nothing).

    `progress(percent, 100)` follows DuckDB's own estimate of the query's progress.
    """
    out = check_output(output)
    con = connect()
    start = time.perf_counter()
    try:
        relations, order = prepare(con, query, sources)
        with _watched(con, progress):
            rows = write_parquet(con, offline_sql(query, relations, keep_order=keep_order, order=order), out)
    except duckdb.Error as e:
        raise FeatureSqlError(f"offline extract failed: {error_text(e)}") from None
    finally:
        con.close()
    return ExtractResult(str(out), rows, time.perf_counter() - start, [f.name for f in query.features])


@contextmanager
def _watched(con: duckdb.DuckDBPyConnection, progress: Progress | None, every: float = 0.2) -> Iterator[None]:
    """Report the running query's progress from a helper thread (one statement is one call into
    DuckDB, which reports nothing until it returns; `query_progress` may be asked meanwhile)."""
    if progress is None:
        yield
        return
    con.execute("SET enable_progress_bar=true")  # DuckDB tracks progress only when asked to
    con.execute("SET enable_progress_bar_print=false")  # ... and must not draw its own bar
    done = threading.Event()
    shown = 0

    def poll() -> None:
        nonlocal shown
        while not done.wait(every):
            try:
                percent = min(int(con.query_progress()), 99)  # -1: no estimate yet; 100 once it returns
            except duckdb.Error:  # the statement ended between the wait and the question
                return
            if percent > shown:  # DuckDB's estimate restarts per pipeline: only ever move forward
                shown = percent
                progress(shown, 100)

    progress(0, 100)
    watcher = threading.Thread(target=poll, name="shoal-extract-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    progress(100, 100)
