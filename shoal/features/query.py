"""A compiled feature SQL: the expression tree both engines read, and the windows and joins.

`parse.compile_feature_sql` builds it from the text (sqlglot does the parsing); `offline`
translates it to DuckDB SQL and `evaluate` turns it into Python functions for request mode. Both
read this one tree, which is how the two stay in step.

Semantics (docs/features.md says the same for users): the row with time t and arrival number s
sees, in a window partitioned by k, the rows with the same k whose (time, arrival) is at or
before (t, s) and whose time is inside the frame: `ROWS N` = the N rows before it, `RANGE d`
= times in [t - d, t], `UNBOUNDED` = all of them. A LAST JOIN picks the dimension row with the
same join key and the greatest (time, arrival) whose time is at or before t.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shoal.features.schema import Kind, TableSchema

MAIN = "main"  # the role of the table in FROM; joins are named by their alias


@dataclass(frozen=True)
class Col:
    table: str  # MAIN or a join alias
    name: str
    kind: Kind


@dataclass(frozen=True)
class Lit:
    value: Any
    kind: Kind | None  # None: NULL


@dataclass(frozen=True)
class Call:
    """A scalar operation on the current row: an operator, a function, CASE or CAST."""

    op: str
    args: tuple[Expr, ...]
    kind: Kind | None


@dataclass(frozen=True)
class Agg:
    """An aggregate over a named window; `args` are scalar expressions over the window's rows."""

    func: str
    args: tuple[Expr, ...]
    window: str
    kind: Kind | None


Expr = Col | Lit | Call | Agg


@dataclass(frozen=True)
class Frame:
    kind: Literal["rows", "range", "unbounded"]
    # rows: how many rows before the current one; range: span in time-column units
    # (microseconds for a TIMESTAMP column, the column's own unit for an integer one).
    size: int = 0


@dataclass(frozen=True)
class Window:
    name: str
    partition_by: tuple[str, ...]
    order_by: str
    frame: Frame


@dataclass(frozen=True)
class LastJoin:
    table: str
    alias: str
    order_by: str
    on: tuple[tuple[str, str], ...]  # (main column, dimension column) pairs


@dataclass(frozen=True)
class Feature:
    name: str
    expr: Expr


@dataclass(frozen=True)
class FeatureQuery:
    sql: str
    main: str
    main_alias: str
    time_column: str | None  # the ORDER BY column of every window (one per query)
    schemas: dict[str, TableSchema]
    windows: dict[str, Window]
    joins: tuple[LastJoin, ...]
    features: tuple[Feature, ...]
    main_columns: tuple[str, ...] = field(default=())  # main-table columns the query reads

    @property
    def tables(self) -> list[str]:
        return [self.main, *(j.table for j in self.joins)]

    def join_columns(self, alias: str) -> tuple[str, ...]:
        """Columns of a joined table the query reads (its key and time first)."""
        join = next(j for j in self.joins if j.alias == alias)
        cols = [d for _, d in join.on] + [join.order_by]
        for f in self.features:
            for c in walk_cols(f.expr):
                if c.table == alias and c.name not in cols:
                    cols.append(c.name)
        return tuple(cols)


def walk(expr: Expr):  # type: ignore[no-untyped-def]
    yield expr
    if isinstance(expr, (Call, Agg)):
        for a in expr.args:
            yield from walk(a)


def walk_cols(expr: Expr) -> list[Col]:
    return [e for e in walk(expr) if isinstance(e, Col)]


def aggregates(expr: Expr) -> list[Agg]:
    return [e for e in walk(expr) if isinstance(e, Agg)]
