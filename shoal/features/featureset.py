"""A feature SQL served in request mode over an online store.

    fs = FeatureSet(query, MemoryStore())
    fs.import_offline({"talkingdata": Source.from_path("train.parquet")})   # recent rows
    fs.insert({"ip": 1, "app": 3, "click_time": "2017-11-09 10:00:00", ...})  # live rows
    fs.compute({"ip": 1, "app": 3, "click_time": "2017-11-09 10:00:05", ...})  # -> {feature: value}

A request row is the current row: its window is the rows stored for its key up to its time, plus
itself. It is not stored; `insert` is what adds rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shoal.features.errors import FeatureSqlError, RowError
from shoal.features.evaluate import Compiler, Fn, aggregate
from shoal.features.online.base import Fetch, IndexSpec, OnlineStore, Row
from shoal.features.progress import Progress
from shoal.features.query import MAIN, FeatureQuery, Window
from shoal.features.schema import (
    SCALARS_ONLY,
    Kind,
    TableSchema,
    check_range,
    coerce,
    is_scalar,
    show,
    to_micros,
    value_range,
)

if TYPE_CHECKING:
    from shoal.features.offline import Source

DEFAULT_CAP = 10_000
_PYTHON_TYPE = {Kind.INT: "BIGINT", Kind.FLOAT: "DOUBLE", Kind.STR: "VARCHAR", Kind.BOOL: "BOOLEAN",
                Kind.TIMESTAMP: "TIMESTAMP"}


@dataclass(frozen=True)
class ImportResult:
    """What `import_offline` did: rows read per table, rows stored per index.

    An index keeps its own copy of each row it needs, so with three PARTITION BYs one table row
    can be stored three times: `rows_stored` adds up to more than `rows_read` (or less, when old
    rows fall out of every window).
    """

    rows_read: dict[str, int]  # table -> rows in the offline table
    rows_stored: dict[str, int]  # index name ("main:ip,app", "join:d") -> rows it now holds from the import

    @property
    def total_read(self) -> int:
        return sum(self.rows_read.values())

    @property
    def total_stored(self) -> int:
        return sum(self.rows_stored.values())


@dataclass(frozen=True)
class _Layout:
    """How one table's rows are held: which columns, their kinds, which are required."""

    role: str
    table: str
    columns: tuple[str, ...]
    kinds: tuple[Kind, ...]
    time: int
    required: frozenset[str]
    # (position, limits, column type) of the numeric columns whose type holds less than their kind
    ranges: tuple[tuple[int, tuple[float, float, bool], str], ...] = ()

    @classmethod
    def of(
        cls, role: str, table: str, schema: TableSchema, columns: tuple[str, ...], time: str, required: set[str]
    ) -> _Layout:
        ranges = []
        for i, c in enumerate(columns):
            limits = value_range(schema.columns[c])
            if limits is not None:
                ranges.append((i, limits, schema.columns[c]))
        return cls(
            role, table, columns, tuple(schema.kind(c) for c in columns),  # type: ignore[misc]
            columns.index(time), frozenset(required), tuple(ranges),
        )

    def row(self, values: Mapping[str, Any]) -> Row:
        if not isinstance(values, Mapping):
            raise RowError(f"a row of {self.table} is a JSON object of column values, got {show(values)}", "")
        for name in self.required:
            if name not in values:
                raise RowError(f"the row has no {name}, which the feature SQL needs as a key or time", name)
        for name, value in values.items():
            # Even a column the SQL does not read: a request row is flat, as a table row is.
            if not is_scalar(value):
                raise RowError(f"{name}: {SCALARS_ONLY}, got {show(value)}", str(name))
        row = tuple(coerce(values.get(c), k, c) for c, k in zip(self.columns, self.kinds, strict=True))
        for i, limits, duckdb_type in self.ranges:
            check_range(row[i], limits, duckdb_type, self.columns[i])
        if row[self.time] is None:
            name = self.columns[self.time]
            raise RowError(f"{name} is null; every row needs a time", name)
        return row

    def score(self, row: Row) -> int:
        t = row[self.time]
        return to_micros(t) if self.kinds[self.time] is Kind.TIMESTAMP else t


class FeatureSet:
    def __init__(
        self,
        query: FeatureQuery,
        store: OnlineStore,
        *,
        namespace: str = "default/adhoc/v1",
        cap: int = DEFAULT_CAP,
    ) -> None:
        if query.time_column is None:
            raise RowError("this feature SQL has no window or LAST JOIN: there is nothing to serve online", "")
        self.query = query
        self.store = store
        self.namespace = namespace
        self.cap = cap
        self.layouts = self._layouts()
        self.indexes = self._indexes()
        self._windows = [(w, self.indexes[f"main:{','.join(w.partition_by)}"]) for w in query.windows.values()]
        compiler = Compiler(query)
        self.features: list[tuple[str, Fn]] = [(f.name, compiler.compile(f.expr)) for f in query.features]
        # Aggregates are compiled after the features that contain them: their args see rows only.
        agg_compiler = Compiler(query)
        self.aggs = [(a, [agg_compiler.compile(x) for x in a.args]) for a in compiler.aggs]

    # -- layout ------------------------------------------------------------------------------

    def _layouts(self) -> dict[str, _Layout]:
        q = self.query
        main_schema = q.schemas[MAIN]
        keys = {k for w in q.windows.values() for k in w.partition_by} | {m for j in q.joins for m, _ in j.on}
        time: str = q.time_column  # type: ignore[assignment]  # a FeatureSet always has one
        layouts = {MAIN: _Layout.of(MAIN, q.main, main_schema, q.main_columns, time, keys | {time})}
        for j in q.joins:
            layouts[j.alias] = _Layout.of(
                j.alias, j.table, q.schemas[j.alias], q.join_columns(j.alias), j.order_by,
                {d for _, d in j.on} | {j.order_by},
            )
        return layouts

    def _indexes(self) -> dict[str, IndexSpec]:
        q = self.query
        main = self.layouts[MAIN]
        by_key: dict[tuple[str, ...], list[Window]] = {}
        for w in q.windows.values():
            by_key.setdefault(w.partition_by, []).append(w)
        indexes: dict[str, IndexSpec] = {}
        for key, windows in by_key.items():
            ranges = [w.frame.size for w in windows if w.frame.kind == "range"]
            name = f"main:{','.join(key)}"
            indexes[name] = IndexSpec(
                name=name,
                table=MAIN,
                key=tuple(main.columns.index(k) for k in key),
                time=main.time,
                span=max(ranges) if ranges else None,
                rows=max([w.frame.size for w in windows if w.frame.kind == "rows"], default=0),
                keep_all=any(w.frame.kind == "unbounded" for w in windows),
                cap=self.cap,
                kinds=main.kinds,
            )
        for j in q.joins:
            layout = self.layouts[j.alias]
            name = f"join:{j.alias}"
            indexes[name] = IndexSpec(
                name=name,
                table=j.alias,
                key=tuple(layout.columns.index(d) for _, d in j.on),
                time=layout.time,
                span=None,
                rows=0,
                keep_all=True,
                cap=self.cap,
                kinds=layout.kinds,
            )
        return indexes

    def _role(self, table: str | None) -> str:
        if table is None or table == self.query.main or table == MAIN:
            return MAIN
        for j in self.query.joins:
            if table in (j.table, j.alias):
                return j.alias
        known = ", ".join(self.query.tables)
        raise RowError(f"table {table} is not read by this feature set (it reads {known})", "table")

    # -- writing -------------------------------------------------------------------------------

    def insert(self, row: Mapping[str, Any], table: str | None = None) -> None:
        """Store one live row of the main table (or of a LAST JOIN table)."""
        self.insert_many([row], table)

    def insert_many(self, rows: Iterable[Mapping[str, Any]], table: str | None = None) -> int:
        """Store rows in arrival order; all are checked before any is stored."""
        role = self._role(table)
        layout = self.layouts[role]
        typed = [layout.row(r) for r in rows]
        self._store(role, typed)
        return len(typed)

    def _store(self, role: str, rows: Sequence[Row]) -> None:
        layout = self.layouts[role]
        for index in self.indexes.values():
            if index.table != role:
                continue
            items = []
            for row in rows:
                key = tuple(row[i] for i in index.key)
                if role != MAIN and any(v is None for v in key):
                    continue  # a NULL join key never matches; nothing to keep
                items.append((key, layout.score(row), row))
            if items:
                self.store.insert(self.namespace, index, items)

    def import_offline(
        self,
        sources: Mapping[str, Source],
        *,
        progress: Progress | None = None,
        batch: int = 20_000,
        replace: bool = True,
    ) -> ImportResult:
        """Bulk-load, from offline tables, the recent rows each index keeps.

        Each index (one PARTITION BY, or a LAST JOIN key) keeps its own copy of the rows it
        needs, so one table row may be stored several times: the result counts the rows read per
        table and the rows stored per index apart. `progress(done, total)` counts stored rows.

        `replace` (default) first forgets what the store holds for this feature set version: the
        offline tables are the truth, and importing them again (a workflow's second run) must not
        store every row twice. Sources are checked before anything is forgotten. `replace=False`
        adds to what is there (rows that are not in the store yet).
        """
        import duckdb  # request mode (compute, insert) never needs it

        from shoal.features.offline import SEQ, connect, error_text

        layouts = {lay.table: lay for lay in self.layouts.values()}
        for table in layouts:
            if table not in sources:
                raise RowError(f"no source given for table {table}", table)
        con = connect()
        try:
            try:
                relations = {t: sources[t].relation(con, t) for t in layouts}
                read = {t: int(con.execute(f"SELECT count(*) FROM {r}").fetchone()[0])  # type: ignore[index]
                        for t, r in relations.items()}
                # What each index keeps, computed in DuckDB first: the total is known before the
                # (slower) inserting starts, for a progress bar that ends where the work does.
                kept: dict[str, int] = {}
                for n, index in enumerate(self.indexes.values()):
                    layout = self.layouts[index.table]
                    con.execute(f"CREATE TEMP TABLE __keep{n} AS "
                                f"{self._retained_sql(index, layout, relations[layout.table])}")
                    kept[index.name] = int(con.execute(f"SELECT count(*) FROM __keep{n}").fetchone()[0])  # type: ignore[index]
            except duckdb.Error as e:  # e.g. a file without the columns the feature set reads
                raise FeatureSqlError(f"cannot read the tables to import: {error_text(e)}") from None
            if replace:
                self.store.clear(self.namespace)
            total, done = sum(kept.values()), 0
            if progress:
                progress(0, total)
            for n, index in enumerate(self.indexes.values()):
                cur = con.execute(f"SELECT * EXCLUDE ({SEQ}) FROM __keep{n} ORDER BY __score, {SEQ}")
                key = index.key
                while chunk := cur.fetchmany(batch):
                    # DuckDB already typed every value (see _retained_sql): no per-value checks.
                    items = [(tuple(r[i] for i in key), r[-1], r[:-1]) for r in chunk]
                    self.store.insert(self.namespace, index, items)
                    done += len(items)
                    if progress:
                        progress(done, total)
        finally:
            con.close()
        return ImportResult(rows_read=read, rows_stored=kept)

    def _retained_sql(self, index: IndexSpec, layout: _Layout, relation: str) -> str:
        from shoal.features.offline import SEQ, quote

        # Only what the store would keep after inserting everything: the same rule as
        # IndexSpec.drop_count, applied in DuckDB so that old rows never reach Python.
        # Each column in the one Python type of its kind (DECIMAL -> float, TIMESTAMP_NS -> datetime).
        cols = ", ".join(
            f"CAST({quote(c)} AS {_PYTHON_TYPE[k]}) AS {quote(c)}"
            for c, k in zip(layout.columns, layout.kinds, strict=True)
        )
        keys = ", ".join(quote(layout.columns[i]) for i in index.key)
        t = quote(layout.columns[layout.time])
        score = f"epoch_us({t})" if layout.kinds[layout.time] is Kind.TIMESTAMP else t
        keep = [f"__rn <= {index.cap}"]
        if not index.keep_all:
            recent = [f"__rn <= {index.rows}"]
            if index.span is not None:
                recent.append(f"{score} >= __newest - {index.span}")
            keep.append(f"({' OR '.join(recent)})")
        not_null = f"{t} IS NOT NULL"
        if index.table != MAIN:
            not_null += "".join(f" AND {quote(layout.columns[i])} IS NOT NULL" for i in index.key)
        return (
            f"SELECT {cols}, {SEQ}, {score}::BIGINT AS __score FROM (SELECT *, "
            # HUGEINT: newest - span must not overflow for a range of up to BIGINT's largest value.
            f"CAST(max({score}) OVER (PARTITION BY {keys}) AS HUGEINT) AS __newest, "
            f"row_number() OVER (PARTITION BY {keys} ORDER BY {score} DESC, {SEQ} DESC) AS __rn "
            f"FROM {relation} WHERE {not_null}) WHERE {' AND '.join(keep)}"
        )

    # -- request mode ----------------------------------------------------------------------------

    def compute(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The features of one request row (not stored)."""
        return self.compute_batch([row])[0]

    def compute_batch(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Features of several request rows, reading the store once for all of them."""
        main = self.layouts[MAIN]
        typed = [main.row(r) for r in rows]
        requests: list[Fetch] = []
        for row in typed:
            t = main.score(row)
            for index in self.indexes.values():
                if index.table == MAIN:
                    requests.append(Fetch(index, tuple(row[i] for i in index.key), t))
            for j in self.query.joins:
                key = tuple(row[main.columns.index(m)] for m, _ in j.on)
                requests.append(Fetch(self.indexes[f"join:{j.alias}"], key, t, latest_only=True))
        fetched = iter(self.store.fetch(self.namespace, requests))
        out = []
        for row in typed:
            stored: dict[str, tuple[list[int], list[Row]]] = {}
            dims: dict[str, Row | None] = {}
            for index in self.indexes.values():
                if index.table == MAIN:
                    stored[index.name] = next(fetched)
            for j in self.query.joins:
                key_null = any(row[main.columns.index(m)] is None for m, _ in j.on)
                _, drows = next(fetched)
                dims[j.alias] = drows[-1] if drows and not key_null else None
            out.append(self._features(row, main.score(row), stored, dims))
        return out

    def _features(
        self, row: Row, t: int, stored: dict[str, tuple[list[int], list[Row]]], dims: dict[str, Row | None]
    ) -> dict[str, Any]:
        window_rows: dict[str, list[Row]] = {}
        for w, index in self._windows:
            scores, rows = stored[index.name]
            if w.frame.kind == "rows":
                chosen = rows[max(0, len(rows) - w.frame.size) :] if w.frame.size else []
            elif w.frame.kind == "range":
                chosen = rows[bisect.bisect_left(scores, t - w.frame.size) :]
            else:
                chosen = rows
            window_rows[w.name] = [*chosen, row]
        aggs = [aggregate(a, fns, window_rows[a.window]) for a, fns in self.aggs]
        return {name: fn(row, dims, aggs) for name, fn in self.features}

    def stats(self) -> dict[str, int]:
        return self.store.stats(self.namespace)

    def clear(self) -> None:
        self.store.clear(self.namespace)
