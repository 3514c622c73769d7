"""Feature SQL text -> `FeatureQuery`, refusing anything the two engines do not both support.

sqlglot parses the text (DuckDB dialect). Two OpenMLDB spellings are first rewritten into
standard SQL by editing tokens, with a position map so that errors still point into the text the
user wrote:

- `ROWS_RANGE BETWEEN 1d PRECEDING`  ->  `RANGE BETWEEN INTERVAL '1' DAY PRECEDING`
  (a bare number is milliseconds, as in OpenMLDB);
- `LAST JOIN dim ORDER BY dim.ts ON ...`  ->  `LEFT JOIN dim ON ...`, the ORDER BY kept aside.

Binding then resolves every column against the table schemas, infers kinds (int, float, str,
bool, timestamp) and turns the tree into the small expression language of `query.py`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from shoal.features.errors import FeatureSqlError
from shoal.features.query import (
    MAIN,
    Agg,
    Call,
    Col,
    Expr,
    Feature,
    FeatureQuery,
    Frame,
    LastJoin,
    Lit,
    Window,
    aggregates,
    walk_cols,
)
from shoal.features.schema import Kind, TableSchema

_UNITS_US = {
    "MILLISECOND": 1_000, "MILLISECONDS": 1_000, "SECOND": 1_000_000, "SECONDS": 1_000_000,
    "MINUTE": 60_000_000, "MINUTES": 60_000_000, "HOUR": 3_600_000_000, "HOURS": 3_600_000_000,
    "DAY": 86_400_000_000, "DAYS": 86_400_000_000,
}
_OPENMLDB_UNITS = {"s": "SECOND", "m": "MINUTE", "h": "HOUR", "d": "DAY"}
_REFUSED_WORDS = {"MAXSIZE", "EXCLUDE", "INSTANCE_NOT_IN_WINDOW", "OPEN"}
# Numbers both engines hold: the offline engine computes integers (and window bounds) in BIGINT
# and decimals in DOUBLE, so anything beyond is refused here rather than failing offline only.
BIGINT_MAX = 2**63 - 1
# How deeply the expressions of a feature SQL may nest: far more than a feature needs, and far
# enough below Python's recursion limit for the binder, both engines and the error messages.
MAX_DEPTH = 100

# Aggregates over a window: name -> (number of args, whether the last arg is a condition).
_AGGREGATES = {
    "count": 1, "sum": 1, "avg": 1, "min": 1, "max": 1, "distinct_count": 1,
    "count_where": 2, "sum_where": 2, "avg_where": 2, "min_where": 2, "max_where": 2,
    "lag": 2, "first_value": 1, "last_value": 1,
}
_TIME_PARTS = {"hour": "hour", "minute": "minute", "second": "second", "day": "day",
               "dayofmonth": "day", "day_of_month": "day", "month": "month", "year": "year",
               "dayofweek": "day_of_week", "day_of_week": "day_of_week"}
_ARITH = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.IntDiv: "//", exp.Mod: "%"}
_COMPARE = {exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_CASTS = {exp.DataType.Type.BIGINT: Kind.INT, exp.DataType.Type.INT: Kind.INT,
          exp.DataType.Type.DOUBLE: Kind.FLOAT, exp.DataType.Type.VARCHAR: Kind.STR,
          exp.DataType.Type.TEXT: Kind.STR}
_CAST_FROM = {Kind.INT: {Kind.INT, Kind.FLOAT, Kind.BOOL}, Kind.FLOAT: {Kind.INT, Kind.FLOAT},
              Kind.STR: {Kind.INT, Kind.STR}}
SUPPORTED_FUNCTIONS = sorted({*_AGGREGATES, *_TIME_PARTS, "abs", "coalesce", "ifnull"})


@dataclass
class _Text:
    """The rewritten text and how to map its offsets back to the original."""

    original: str
    text: str
    # (offset in new text where an edit starts, length delta after it, original offset)
    edits: list[tuple[int, int, int]] = field(default_factory=list)
    last_joins: dict[int, tuple[str, int]] = field(default_factory=dict)  # table offset -> order text, offset

    def to_original(self, offset: int) -> int:
        i = bisect.bisect_right([e[0] for e in self.edits], offset) - 1
        if i < 0:
            return offset
        start, delta, orig = self.edits[i]
        return max(orig, offset - delta) if offset - start > 0 else orig

    def line_col(self, offset: int) -> tuple[int, int]:
        pos = self.to_original(offset)
        before = self.original[:pos]
        return before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1


def _rewrite(sql: str) -> _Text:
    nul = sql.find("\x00")
    if nul >= 0:
        before = sql[:nul]
        raise FeatureSqlError(
            "the feature SQL contains a NUL character (is it a text file?)",
            before.count("\n") + 1, nul - (before.rfind("\n") + 1) + 1,
        )
    try:
        tokens = DuckDB().tokenize(sql)
    except TokenError as e:
        raise FeatureSqlError(f"cannot read the SQL: {e}") from None
    out: list[str] = []
    edits: list[tuple[int, int, int]] = []
    last_joins: dict[int, tuple[str, int]] = {}
    pos = 0
    delta = 0

    def replace(start: int, end: int, new: str) -> None:
        nonlocal pos, delta
        out.append(sql[pos:start])
        new_start = start + delta
        out.append(new)
        delta += len(new) - (end - start + 1)
        edits.append((new_start, delta, start))
        pos = end + 1

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        word = tok.text.upper()
        if word in _REFUSED_WORDS and tok.token_type in (TokenType.VAR, TokenType.EXCEPT):
            raise FeatureSqlError(f"{word} is not supported in a window", tok.line, tok.col - len(tok.text) + 1)
        if word == "ROWS_RANGE" and tok.token_type == TokenType.VAR:
            replace(tok.start, tok.end, "RANGE")
            if i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.BETWEEN:
                num = tokens[i + 2]
                if num.token_type == TokenType.NUMBER:
                    unit = tokens[i + 3] if i + 3 < len(tokens) else None
                    if unit is not None and unit.start == num.end + 1 and unit.text.lower() in _OPENMLDB_UNITS:
                        replace(num.start, unit.end, f"INTERVAL '{num.text}' {_OPENMLDB_UNITS[unit.text.lower()]}")
                        i += 3
                    else:
                        replace(num.start, num.end, f"INTERVAL '{num.text}' MILLISECOND")
                        i += 2
        elif word == "LAST" and i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.JOIN:
            replace(tok.start, tok.end, "LEFT")
            table_tok = tokens[i + 2] if i + 2 < len(tokens) else None
            j = i + 2
            while j < len(tokens) and tokens[j].token_type not in (TokenType.ORDER_BY, TokenType.ON, TokenType.USING):
                j += 1
            if table_tok is not None and j < len(tokens) and tokens[j].token_type == TokenType.ORDER_BY:
                k = j + 1
                while k < len(tokens) and tokens[k].token_type not in (TokenType.ON, TokenType.USING):
                    k += 1
                if k < len(tokens):
                    order_text = sql[tokens[j + 1].start : tokens[k - 1].end + 1] if k > j + 1 else ""
                    last_joins[table_tok.start + delta] = (order_text, tokens[j].start)
                    replace(tokens[j].start, tokens[k].start - 1, " " * (tokens[k].start - tokens[j].start))
                    i = k
                    continue
            if table_tok is not None:
                last_joins[table_tok.start + delta] = ("", tok.start)
        i += 1
    out.append(sql[pos:])
    return _Text(original=sql, text="".join(out), edits=edits, last_joins=last_joins)


def _parse(sql: str) -> tuple[exp.Select, _Text]:
    text = _rewrite(sql)
    try:
        trees = sqlglot.parse(text.text, read="duckdb")
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        line, col = err.get("line"), err.get("col")
        if line is not None and col is not None:
            lines = text.text.split("\n")
            offset = sum(len(x) + 1 for x in lines[: line - 1]) + col - 1
            line, col = text.line_col(max(offset, 0))
        desc = err.get("description", str(e)).split("\n")[0]
        raise FeatureSqlError(f"cannot parse the feature SQL: {desc}", line, col) from None
    except RecursionError:
        raise FeatureSqlError(
            "the feature SQL nests too deeply to read (too many levels of parentheses or nested expressions)"
        ) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise FeatureSqlError(
            f"a feature SQL is exactly one SELECT statement, found {len(trees)} statements",
            *(_where(trees[1], text) if len(trees) > 1 else (None, None)),
        )
    tree = trees[0]
    if not isinstance(tree, exp.Select):
        raise FeatureSqlError(f"a feature SQL is one SELECT, not {tree.key.upper()}", *_where(tree, text))
    _check_depth(tree, text)
    return tree, text


def _check_depth(tree: exp.Expression, text: _Text) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH (walked without recursion: it may be very deep)."""
    stack: list[tuple[exp.Expression, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            start = next((n._meta["start"] for n in node.walk() if n._meta and "start" in n._meta), None)
            raise FeatureSqlError(
                f"an expression nests more than {MAX_DEPTH} levels deep; split it into simpler features",
                *(text.line_col(start) if start is not None else (None, None)),
            )
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def _leftmost(node: exp.Expression) -> int | None:
    """Where a construct starts in the (rewritten) text: its leftmost token that has a position."""
    starts = [n._meta["start"] for n in node.walk() if n._meta and "start" in n._meta]
    return min(starts) if starts else None


def _where(node: exp.Expression, text: _Text) -> tuple[int | None, int | None]:
    start = _leftmost(node)
    return text.line_col(start) if start is not None else (None, None)


def _keyword(text: _Text, token: TokenType, node: exp.Expression) -> tuple[int | None, int | None]:
    """The position of the keyword (WHERE, LIMIT, ...) that starts clause `node`."""
    before = _leftmost(node)
    starts = [t.start for t in DuckDB().tokenize(text.text) if t.token_type == token]
    if before is not None:
        starts = [s for s in starts if s <= before] or starts
        return text.line_col(starts[-1]) if starts else _where(node, text)
    return text.line_col(starts[0]) if starts else (None, None)


_CLAUSES = (
    ("where", "WHERE", TokenType.WHERE), ("group", "GROUP BY", TokenType.GROUP_BY),
    ("having", "HAVING", TokenType.HAVING), ("order", "ORDER BY", TokenType.ORDER_BY),
    ("limit", "LIMIT", TokenType.LIMIT), ("offset", "OFFSET", TokenType.OFFSET),
    ("qualify", "QUALIFY", TokenType.QUALIFY), ("with_", "WITH", TokenType.WITH), ("with", "WITH", TokenType.WITH),
    ("distinct", "DISTINCT", TokenType.DISTINCT),
)


def referenced_tables(sql: str) -> list[str]:
    """The main table and the LAST JOIN tables of a feature SQL (no schema needed)."""
    tree, text = _parse(sql)
    tables = [t.name for t in tree.find_all(exp.Table)]
    if not tables:
        raise FeatureSqlError("a feature SQL needs FROM <table>", *_where(tree, text))
    return list(dict.fromkeys(tables))


def compile_feature_sql(sql: str, schemas: Mapping[str, TableSchema]) -> FeatureQuery:
    """Parse, check and bind `sql` against `schemas` (table name -> schema)."""
    tree, text = _parse(sql)
    return _Binder(sql, tree, text, schemas).bind()


class _Binder:
    def __init__(self, sql: str, tree: exp.Select, text: _Text, schemas: Mapping[str, TableSchema]) -> None:
        self.sql = sql
        self.tree = tree
        self.text = text
        self.schemas = schemas
        self.tables: dict[str, TableSchema] = {}  # role (MAIN or join alias) -> schema
        self.aliases: dict[str, str] = {}  # name or alias as written (lowercase) -> role
        self.tables_used: set[str] = set()
        self.windows: dict[str, Window] = {}
        self.in_window_arg = False

    def fail(self, message: str, node: exp.Expression | None = None) -> FeatureSqlError:
        return FeatureSqlError(message, *(_where(node, self.text) if node is not None else (None, None)))

    # -- structure -------------------------------------------------------------------------

    def bind(self) -> FeatureQuery:
        tree = self.tree
        for key, what, token in _CLAUSES:
            node = tree.args.get(key)
            if node:
                raise FeatureSqlError(
                    f"{what} is not supported in a feature SQL: features are computed for every row",
                    *_keyword(self.text, token, node),
                )
        main_name, main_alias = self._main()
        joins = tuple(self._join(j) for j in tree.args.get("joins") or [])
        for w in tree.args.get("windows") or []:
            window = self._window(w)
            if window.name in self.windows:
                raise self.fail(f"window {window.name} is defined twice", w)
            self.windows[window.name] = window
        time_columns = {w.order_by for w in self.windows.values()}
        if len(time_columns) > 1:
            raise self.fail(
                f"every window must ORDER BY the same time column, found {', '.join(sorted(time_columns))}",
                tree.args["windows"][0],
            )
        time_column = next(iter(time_columns), None)
        features = self._features()
        used_windows = {a.window for f in features for a in aggregates(f.expr)}
        main_cols: list[str] = []
        for w in self.windows.values():
            main_cols += [*w.partition_by, w.order_by]
        for j in joins:
            main_cols += [m for m, _ in j.on]
        if joins and time_column is None:
            time_column = self._join_time_column(joins)
        if time_column:
            main_cols.append(time_column)
            tkind = self.tables[MAIN].kind(time_column)
            for j in joins:
                dkind = self.tables[j.alias].kind(j.order_by)
                if dkind != tkind:
                    raise self.fail(
                        f"type mismatch: LAST JOIN {j.table} ORDER BY {j.order_by} is {dkind} but "
                        f"{self.tables[MAIN].name}.{time_column} is {tkind}"
                    )
        for f in features:
            main_cols += [c.name for c in walk_cols(f.expr) if c.table == MAIN]
        windows = {n: w for n, w in self.windows.items() if n in used_windows}
        return FeatureQuery(
            sql=self.sql,
            main=main_name,
            main_alias=main_alias,
            time_column=time_column,
            schemas={MAIN: self.tables[MAIN], **{j.alias: self.tables[j.alias] for j in joins}},
            windows=windows,
            joins=joins,
            features=features,
            main_columns=tuple(dict.fromkeys(main_cols)),
        )

    def _join_time_column(self, joins: tuple[LastJoin, ...]) -> str:
        # With LAST JOIN but no window, the main table's time is the column compared with the
        # dimension's ORDER BY column: the main column of the same name, or its only timestamp.
        main = self.tables[MAIN]
        order = joins[0].order_by
        if order in main.columns:
            return order
        stamps = [c for c in main.columns if main.kind(c) is Kind.TIMESTAMP]
        if len(stamps) == 1:
            return stamps[0]
        raise self.fail(
            f"cannot tell which column of {main.name} is its time for LAST JOIN; "
            "add a WINDOW ... ORDER BY <time column>"
        )

    def _table(self, node: exp.Expression, role: str) -> tuple[str, str]:
        if not isinstance(node, exp.Table) or not node.name:
            raise self.fail("FROM and LAST JOIN take a table name, not a subquery or function", node)
        if node.args.get("db") or node.args.get("catalog"):
            raise self.fail(f"write the table as a plain name, not {_sql(node)}", node)
        name = node.name
        if name not in self.schemas:
            known = ", ".join(sorted(self.schemas)) or "none"
            raise self.fail(f"unknown table {name} (known tables: {known})", node)
        alias = node.alias or name
        if name in self.tables_used:
            raise self.fail(f"table {name} appears twice: a feature SQL reads each table once", node)
        self.tables_used.add(name)
        for key in {name.lower(), alias.lower()}:
            if key in self.aliases:
                raise self.fail(f"table name or alias {key} is used twice", node)
            self.aliases[key] = role
        self.tables[role] = self.schemas[name]
        return name, alias

    def _main(self) -> tuple[str, str]:
        from_ = self.tree.args.get("from_") or self.tree.args.get("from")
        if from_ is None:
            raise self.fail("a feature SQL needs FROM <table>", self.tree)
        return self._table(from_.this, MAIN)

    def _join(self, join: exp.Join) -> LastJoin:
        table = join.this
        start = _meta_start(table)
        if start not in self.text.last_joins:
            raise self.fail("only LAST JOIN is supported (the latest dimension row at or before each row's time)", join)
        order_text, order_offset = self.text.last_joins[start]
        if not order_text:
            raise FeatureSqlError(
                "LAST JOIN needs ORDER BY <dimension time column>, so that no row sees a later dimension row",
                *self._orig_line_col(order_offset),
            )
        alias = table.alias or table.name
        name, alias = self._table(table, alias)
        dim = self.tables[alias]
        order_col = order_text.split(".")[-1].strip().strip('"')
        if order_col not in dim.columns:
            raise FeatureSqlError(
                f"unknown column {order_text} in LAST JOIN ORDER BY", *self._orig_line_col(order_offset)
            )
        if join.args.get("using"):
            raise self.fail("LAST JOIN takes ON main.col = dim.col, not USING", join)
        on = join.args.get("on")
        if on is None:
            raise self.fail(f"LAST JOIN {name} needs ON <main column> = <{alias} column>", join)
        pairs: list[tuple[str, str]] = []
        for cond in _conjuncts(on):
            if not isinstance(cond, exp.EQ) or not all(isinstance(s, exp.Column) for s in (cond.this, cond.expression)):
                raise self.fail("LAST JOIN ON takes column equalities joined by AND", cond)
            a, b = self._column(cond.this), self._column(cond.expression)
            if a.table == alias and b.table == MAIN:
                a, b = b, a
            if a.table != MAIN or b.table != alias:
                raise self.fail(f"LAST JOIN ON compares a {self.tables[MAIN].name} column with a {name} column", cond)
            if a.kind != b.kind:
                raise self.fail(f"LAST JOIN ON compares {a.name} ({a.kind}) with {b.name} ({b.kind})", cond)
            pairs.append((a.name, b.name))
        return LastJoin(table=name, alias=alias, order_by=order_col, on=tuple(pairs))

    def _orig_line_col(self, offset: int) -> tuple[int, int]:
        before = self.sql[:offset]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1

    def _window(self, w: exp.Window) -> Window:
        name = w.this.name if isinstance(w.this, exp.Identifier) else str(w.this)
        parts = [self._main_column(p, f"window {name} PARTITION BY") for p in w.args.get("partition_by") or []]
        if not parts:
            raise self.fail(f"window {name} needs PARTITION BY <key columns>", w)
        order = w.args.get("order")
        if order is None or not order.expressions:
            raise self.fail(f"window {name} needs ORDER BY <time column>", w)
        if len(order.expressions) != 1:
            raise self.fail(f"window {name} orders by one time column, not {len(order.expressions)}", order)
        ordered = order.expressions[0]
        if ordered.args.get("desc"):
            raise self.fail(f"window {name} orders by time ascending (DESC is not supported)", ordered)
        time_col = self._main_column(ordered.this, f"window {name} ORDER BY")
        if time_col.kind not in (Kind.TIMESTAMP, Kind.INT):
            raise self.fail(
                f"window {name} ORDER BY {time_col.name} must be a TIMESTAMP or integer column, not {time_col.kind}",
                ordered,
            )
        frame = self._frame(name, w.args.get("spec"), time_col.kind)
        return Window(name=name, partition_by=tuple(p.name for p in parts), order_by=time_col.name, frame=frame)

    def _frame(self, name: str, spec: exp.WindowSpec | None, time_kind: Kind) -> Frame:
        if spec is None:
            return Frame("unbounded")
        end = spec.args.get("end")
        if str(end).upper() != "CURRENT ROW" or spec.args.get("end_side"):
            raise self.fail(f"window {name} must end AND CURRENT ROW", spec)
        if spec.args.get("exclude"):
            raise self.fail(f"window {name}: EXCLUDE is not supported", spec)
        kind = str(spec.args.get("kind", "")).upper()
        start = spec.args.get("start")
        side = str(spec.args.get("start_side", "")).upper()
        if str(start).upper() == "UNBOUNDED" and side == "PRECEDING":
            return Frame("unbounded")
        if side != "PRECEDING":
            raise self.fail(f"window {name} must start at N PRECEDING or UNBOUNDED PRECEDING", spec)
        if kind == "ROWS":
            if not (isinstance(start, exp.Literal) and not start.is_string and _is_whole(start.this)):
                raise self.fail(f"window {name}: ROWS BETWEEN takes a whole number of rows PRECEDING", spec)
            return Frame("rows", self._preceding(name, "ROWS", start, "rows"))
        if kind != "RANGE":
            raise self.fail(f"window {name}: frame must be ROWS, RANGE or ROWS_RANGE", spec)
        # A range is kept in the time column's unit: microseconds for a TIMESTAMP, and for an
        # integer time column (epoch milliseconds, OpenMLDB's convention) milliseconds.
        units = "microseconds" if time_kind is Kind.TIMESTAMP else "milliseconds"
        if isinstance(start, exp.Interval):
            unit = str(start.args.get("unit").this if start.args.get("unit") else "").upper()
            amount = start.this.this if isinstance(start.this, exp.Literal) else None
            if unit not in _UNITS_US or amount is None or not _is_whole(amount):
                raise self.fail(
                    f"window {name}: write the range as INTERVAL 'N' DAY|HOUR|MINUTE|SECOND|MILLISECOND or 1d/1h/1m/1s",
                    start,
                )
            us = _whole(amount) * _UNITS_US[unit]
            size = us if time_kind is Kind.TIMESTAMP else us // 1000
            if size > BIGINT_MAX:
                raise self.fail(
                    f"window {name}: a range of {_short(amount)} {unit} is more than {BIGINT_MAX} {units}, "
                    "the limit (the largest BIGINT); use UNBOUNDED PRECEDING for every earlier row",
                    start,
                )
            return Frame("range", size)
        if isinstance(start, exp.Literal) and not start.is_string and _is_whole(start.this):
            if time_kind is Kind.TIMESTAMP:
                raise self.fail(
                    f"window {name}: a TIMESTAMP column needs an INTERVAL range (e.g. INTERVAL '1' HOUR), "
                    f"not the number {start.this}",
                    start,
                )
            return Frame("range", self._preceding(name, "RANGE", start, units))
        raise self.fail(f"window {name}: unsupported range start {_sql(start) if start else ''}", spec)

    def _preceding(self, name: str, kind: str, start: exp.Literal, units: str) -> int:
        """`N` of `ROWS|RANGE BETWEEN N PRECEDING`, refused past the largest BIGINT (offline
        computes in BIGINT, so online must refuse what offline cannot run)."""
        size = _whole(start.this)
        if size > BIGINT_MAX:
            raise self.fail(
                f"window {name}: {kind} BETWEEN {_short(start.this)} PRECEDING is beyond the limit of "
                f"{BIGINT_MAX} {units} (the largest BIGINT); use UNBOUNDED PRECEDING for every earlier row",
                start,
            )
        return size

    def _features(self) -> tuple[Feature, ...]:
        features: list[Feature] = []
        seen: set[str] = set()
        for item in self.tree.expressions:
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                raise self.fail("name each feature: SELECT * is not supported", item)
            if isinstance(item, exp.Alias):
                name, node = item.alias, item.this
            elif isinstance(item, exp.Column):
                name, node = item.name, item
            else:
                raise self.fail(f"give {_sql(item)} a name with AS", item)
            if name.lower() in seen:
                raise self.fail(f"feature name {name} is used twice", item)
            seen.add(name.lower())
            features.append(Feature(name=name, expr=self._expr(node)))
        return tuple(features)

    # -- expressions -----------------------------------------------------------------------

    def _column(self, node: exp.Column, prefer_main: bool = False) -> Col:
        name = node.name
        qual = node.table
        if qual:
            role = self.aliases.get(qual.lower())
            if role is None:
                raise self.fail(f"unknown table {qual} in {_sql(node)}", node)
            roles = [role]
        else:
            roles = [r for r, s in self.tables.items() if name in s.columns]
            # Windows and their aggregates read the main table: no need to qualify there.
            if prefer_main and MAIN in roles:
                roles = [MAIN]
        if not roles or name not in self.tables[roles[0]].columns:
            where = self.tables[roles[0]].name if qual else " or ".join(s.name for s in self.tables.values())
            raise self.fail(f"unknown column {_sql(node)} in {where}", node)
        if len(roles) > 1:
            raise self.fail(f"column {name} is in several tables; qualify it (e.g. {self._alias(MAIN)}.{name})", node)
        role = roles[0]
        kind = self.tables[role].kind(name)
        if kind is None:
            raise self.fail(
                f"column {name} has type {self.tables[role].columns[name]}, which features cannot use", node
            )
        return Col(role, name, kind)

    def _alias(self, role: str) -> str:
        return next(a for a, r in self.aliases.items() if r == role)

    def _main_column(self, node: exp.Expression, what: str) -> Col:
        if not isinstance(node, exp.Column):
            raise self.fail(f"{what} takes columns, not {_sql(node)}", node)
        col = self._column(node, prefer_main=True)
        if col.table != MAIN:
            raise self.fail(f"{what} takes columns of {self.tables[MAIN].name}, not {_sql(node)}", node)
        return col

    def _expr(self, node: exp.Expression) -> Expr:
        if isinstance(node, exp.Paren):
            return self._expr(node.this)
        if isinstance(node, exp.Column):
            col = self._column(node, prefer_main=self.in_window_arg)
            if self.in_window_arg and col.table != MAIN:
                raise self.fail(f"window aggregates read {self.tables[MAIN].name} columns only, not {_sql(node)}", node)
            return col
        if isinstance(node, exp.Literal):
            if node.is_string:
                return Lit(node.this, Kind.STR)
            text = str(node.this)
            digits = text.removeprefix("-")
            try:
                value: int | float = float(text) if not _is_whole(digits) else (
                    -_whole(digits) if text.startswith("-") else _whole(digits)
                )
            except ValueError:
                raise self.fail(f"cannot read the number {_short(text)}", node) from None
            if isinstance(value, int):
                if not -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
                    raise self.fail(
                        f"the number {_short(text)} is beyond BIGINT, the integer type features compute in "
                        f"(at most {BIGINT_MAX})",
                        node,
                    )
                return Lit(value, Kind.INT)
            if not math.isfinite(value):
                raise self.fail(
                    f"the number {_short(text)} is beyond DOUBLE, the decimal type features compute in", node
                )
            return Lit(value, Kind.FLOAT)
        if isinstance(node, exp.Boolean):
            return Lit(bool(node.this), Kind.BOOL)
        if isinstance(node, exp.Null):
            return Lit(None, None)
        if isinstance(node, exp.Window):
            return self._window_call(node)
        if type(node) in _ARITH:
            return self._arith(_ARITH[type(node)], node)
        if type(node) in _COMPARE:
            a, b = self._expr(node.this), self._expr(node.expression)
            self._comparable(a, b, node)
            return Call(_COMPARE[type(node)], (a, b), Kind.BOOL)
        if isinstance(node, exp.Neg):
            a = self._expr(node.this)
            self._need(a, {Kind.INT, Kind.FLOAT}, "unary -", node)
            return Call("neg", (a,), a.kind)
        if isinstance(node, (exp.And, exp.Or)):
            a, b = self._expr(node.this), self._expr(node.expression)
            for x in (a, b):
                self._need(x, {Kind.BOOL}, node.key.upper(), node)
            return Call(node.key, (a, b), Kind.BOOL)
        if isinstance(node, exp.Not):
            if isinstance(node.this, exp.Is):
                inner = self._is_null(node.this)
                return Call("is_not_null", inner.args, Kind.BOOL)
            a = self._expr(node.this)
            self._need(a, {Kind.BOOL}, "NOT", node)
            return Call("not", (a,), Kind.BOOL)
        if isinstance(node, exp.Is):
            return self._is_null(node)
        if isinstance(node, exp.Case):
            return self._case(node)
        if isinstance(node, exp.Cast):
            return self._cast(node)
        if isinstance(node, exp.Func):
            return self._scalar_func(node)
        raise self.fail(f"{node.key.upper()} is not supported in a feature SQL: {_sql(node)}", node)

    def _is_null(self, node: exp.Is) -> Call:
        if not isinstance(node.expression, exp.Null):
            raise self.fail("IS takes NULL or NOT NULL here", node)
        return Call("is_null", (self._expr(node.this),), Kind.BOOL)

    def _need(self, e: Expr, kinds: set[Kind], what: str, node: exp.Expression) -> None:
        if e.kind is not None and e.kind not in kinds:
            want = " or ".join(sorted(k.value for k in kinds))
            raise self.fail(f"type mismatch: {what} needs {want}, got {e.kind.value} ({_sql(node)})", node)

    def _comparable(self, a: Expr, b: Expr, node: exp.Expression) -> None:
        if a.kind is None or b.kind is None or a.kind == b.kind or (a.kind.numeric and b.kind.numeric):
            return
        raise self.fail(f"type mismatch: cannot compare {a.kind.value} with {b.kind.value} ({_sql(node)})", node)

    def _arith(self, op: str, node: exp.Expression) -> Call:
        a, b = self._expr(node.this), self._expr(node.expression)
        nums = {Kind.INT, Kind.FLOAT}
        self._need(a, nums if op != "//" else {Kind.INT}, f"operator {op}", node)
        self._need(b, nums if op != "//" else {Kind.INT}, f"operator {op}", node)
        if op == "/":
            kind: Kind | None = Kind.FLOAT
        elif a.kind is None or b.kind is None:
            kind = a.kind or b.kind
        else:
            kind = Kind.INT if a.kind is Kind.INT and b.kind is Kind.INT else Kind.FLOAT
        return Call(op, (a, b), kind)

    def _unify(self, values: list[Expr], node: exp.Expression, what: str) -> Kind | None:
        kinds = {v.kind for v in values if v.kind is not None}
        if not kinds:
            return None
        if len(kinds) == 1:
            return kinds.pop()
        if kinds <= {Kind.INT, Kind.FLOAT}:
            return Kind.FLOAT
        raise self.fail(
            f"type mismatch: {what} mixes {', '.join(sorted(k.value for k in kinds))} ({_sql(node)})", node
        )

    def _case(self, node: exp.Case) -> Call:
        if node.this is not None:
            raise self.fail("write CASE WHEN <condition> THEN ..., not CASE <value> WHEN ...", node)
        args: list[Expr] = []
        values: list[Expr] = []
        for branch in node.args.get("ifs") or []:
            cond = self._expr(branch.this)
            self._need(cond, {Kind.BOOL}, "CASE WHEN", branch)
            value = self._expr(branch.args["true"])
            args += [cond, value]
            values.append(value)
        default = self._expr(node.args["default"]) if node.args.get("default") is not None else Lit(None, None)
        values.append(default)
        args.append(default)
        return Call("case", tuple(args), self._unify(values, node, "CASE"))

    def _cast(self, node: exp.Cast) -> Call:
        to = node.to.this if isinstance(node.to, exp.DataType) else None
        target = _CASTS.get(to) if to is not None else None
        if target is None:
            raise self.fail(
                f"CAST to {_type_name(node.to)} is not supported (use BIGINT, INT, DOUBLE or VARCHAR)", node
            )
        a = self._expr(node.this)
        if a.kind is not None and a.kind not in _CAST_FROM[target]:
            raise self.fail(f"type mismatch: cannot CAST {a.kind.value} to {_type_name(node.to)}", node)
        return Call(f"cast_{target.value}", (a,), target)

    def _func_name(self, node: exp.Func) -> str:
        # sql_name() is the name as written (FIRST_VALUE), not sqlglot's class key (firstvalue).
        return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()

    def _func_args(self, node: exp.Func) -> list[exp.Expression]:
        if isinstance(node, exp.Anonymous):
            return list(node.expressions)
        args = [node.this] if node.this is not None else []
        for key in ("expression", "offset", "expressions"):
            v = node.args.get(key)
            if isinstance(v, list):
                args += v
            elif v is not None:
                args.append(v)
        return args

    def _scalar_func(self, node: exp.Func) -> Call:
        name = self._func_name(node)
        if name in _AGGREGATES:
            raise self.fail(f"{name}() needs OVER <window name>", node)
        args = self._func_args(node)
        if name in _TIME_PARTS:
            if len(args) != 1:
                raise self.fail(f"{name}() takes one timestamp", node)
            a = self._expr(args[0])
            self._need(a, {Kind.TIMESTAMP}, f"{name}()", node)
            return Call(_TIME_PARTS[name], (a,), Kind.INT)
        if name == "abs":
            if len(args) != 1:
                raise self.fail("abs() takes one number", node)
            a = self._expr(args[0])
            self._need(a, {Kind.INT, Kind.FLOAT}, "abs()", node)
            return Call("abs", (a,), a.kind)
        if name in ("coalesce", "ifnull"):
            if len(args) < 2:
                raise self.fail(f"{name}() takes two or more values", node)
            bound = [self._expr(a) for a in args]
            return Call("coalesce", tuple(bound), self._unify(bound, node, name))
        raise self.fail(
            f"function {name}() is not supported in a feature SQL (supported: {', '.join(SUPPORTED_FUNCTIONS)})", node
        )

    def _window_call(self, node: exp.Window) -> Agg:
        if node.args.get("partition_by") or node.args.get("order") or node.args.get("spec"):
            raise self.fail("name the window in a WINDOW clause and write OVER <name>", node)
        wname = node.args["alias"].name if node.args.get("alias") else ""
        if wname not in self.windows:
            raise self.fail(f"unknown window {wname or '(none)'}; define it in WINDOW {wname or 'w'} AS (...)", node)
        if self.in_window_arg:
            raise self.fail("window aggregates cannot be nested", node)
        func = node.this
        if isinstance(func, (exp.IgnoreNulls, exp.RespectNulls)):
            raise self.fail("IGNORE/RESPECT NULLS is not supported", node)
        if not isinstance(func, exp.Func):
            raise self.fail(f"{_sql(func)} is not an aggregate", node)
        name = self._func_name(func)
        raw = self._func_args(func)
        if name == "count" and isinstance(func.this, exp.Distinct):
            name, raw = "distinct_count", list(func.this.expressions)
        if name not in _AGGREGATES:
            raise self.fail(
                f"{name}() is not a supported window aggregate (supported: {', '.join(sorted(_AGGREGATES))})", func
            )
        if name == "count" and raw and isinstance(raw[0], exp.Star):
            return Agg("count_star", (), wname, Kind.INT)
        if name == "lag" and len(raw) == 1:
            raw.append(exp.Literal.number(1))
        if len(raw) != _AGGREGATES[name]:
            raise self.fail(f"{name}() takes {_AGGREGATES[name]} argument(s), got {len(raw)}", func)
        self.in_window_arg = True
        try:
            args = [self._expr(a) for a in raw]
        finally:
            self.in_window_arg = False
        value = args[0]
        if name == "lag":
            n = args[1]
            if not (isinstance(n, Lit) and n.kind is Kind.INT and n.value >= 0):
                raise self.fail("lag(col, n) takes a whole number n >= 0", func)
            return Agg("lag", (value, n), wname, value.kind)
        if name.endswith("_where"):
            self._need(args[1], {Kind.BOOL}, f"the condition of {name}()", func)
        base = name.removesuffix("_where")
        if base in ("sum", "avg"):
            self._need(value, {Kind.INT, Kind.FLOAT}, f"{name}()", func)
        if base in ("count", "distinct_count"):
            kind: Kind | None = Kind.INT
        elif base == "avg":
            kind = Kind.FLOAT
        else:
            kind = value.kind
        return Agg(name, tuple(args), wname, kind)


def _is_whole(text: object) -> bool:
    """A whole number written in ASCII digits (str.isdigit alone also takes '²', which int() refuses)."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


def _whole(text: str) -> int:
    """The value of `_is_whole` digits; BIGINT_MAX + 1 for any longer than BIGINT's 19 digits (which
    int() may even refuse to read: Python caps integer strings at 4,300 digits)."""
    return int(text) if len(text.lstrip("0")) <= 19 else BIGINT_MAX + 1


def _short(text: str) -> str:
    """A number as written, shortened for a message."""
    return text if len(text) <= 30 else f"{text[:12]}...{text[-12:]} ({len(text)} digits)"


def _sql(node: exp.Expression) -> str:
    """A construct as the user would write it (DuckDB spelling: `a // b`, not CAST(a / b AS ...))."""
    return node.sql("duckdb")


def _type_name(node: exp.Expression) -> str:
    name = node.sql("duckdb")
    return "VARCHAR" if name == "TEXT" else name  # sqlglot reads VARCHAR as TEXT


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _meta_start(node: exp.Expression) -> int | None:
    for n in node.walk():
        meta = n._meta
        if meta and "start" in meta:
            return meta["start"]
    return None
