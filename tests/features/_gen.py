"""Hypothesis strategies for the consistency tests: random event tables and random feature SQL.

The SQL generator is typed: it asks for an expression of a kind (int, float, str, bool,
timestamp) and builds one from columns, literals, operators, functions and window aggregates,
so every statement it writes compiles. Integer expressions carry a bound on their magnitude so
that nothing overflows int64 (an overflow is an error in DuckDB and a big int in Python).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from shoal.features import Source, TableSchema

BASE = dt.datetime(2024, 3, 2, 22, 58, 30)  # a Saturday near midnight: hours and weekdays change
BASE_MS = 1_709_420_310_000  # BASE as epoch milliseconds, for the integer-time tables
INT_LIMIT = 2**62

# Gaps between consecutive rows, in milliseconds: many ties, some window-sized jumps.
GAPS_MS = [0, 0, 0, 0, 1, 250, 500, 1000, 1000, 2000, 5000, 10_000, 60_000, 3_600_000, 86_400_000]
# Range frames as (standard text, OpenMLDB text, milliseconds).
RANGES = [
    ("INTERVAL '0' SECOND", "0s", 0),
    ("INTERVAL '500' MILLISECOND", "500", 500),
    ("INTERVAL '1' SECOND", "1s", 1000),
    ("INTERVAL '2' SECOND", "2000", 2000),
    ("INTERVAL '10' SECOND", "10s", 10_000),
    ("INTERVAL '1' MINUTE", "1m", 60_000),
    ("INTERVAL '1' HOUR", "1h", 3_600_000),
    ("INTERVAL '1' DAY", "1d", 86_400_000),
]

INT_KEYS = [1, 2, 3, None]
STR_KEYS = ["a", "b", "é", None]
SMALL_KEYS = [0, 1, None]
FLOAT_KEYS = [0.0, -0.0, 1.5, None]
STRINGS = ["x", "y", "", "Zz", "x y", "é"]
# Multiples of 1/4: exact sums in any order. Zeros often, for x/0, 0/0 (NaN) and x%0.
QUARTERS = st.one_of(st.sampled_from([0.0, 0.5, -1.0, 2.0]), st.integers(-4000, 4000).map(lambda q: q / 4))


@dataclass
class Table:
    """A generated table: its schema, rows (tuples in column order) and kinds by column."""

    schema: TableSchema
    rows: list[tuple[Any, ...]]
    kinds: dict[str, str]

    def source(self) -> Source:
        return Source.from_rows(self.schema, self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        cols = list(self.schema.columns)
        return [dict(zip(cols, r, strict=True)) for r in self.rows]


def main_schema(int_time: bool) -> tuple[TableSchema, dict[str, str]]:
    cols = {
        "k1": ("BIGINT", "int"),
        "k2": ("VARCHAR", "str"),
        "k3": ("INTEGER", "int"),
        "fk": ("DOUBLE", "float"),
        "ts": ("BIGINT", "int") if int_time else ("TIMESTAMP", "ts"),
        "v": ("BIGINT", "int"),
        "n": ("INTEGER", "int"),  # 32-bit in DuckDB: must not overflow where Python does not
        "f": ("DOUBLE", "float"),
        "d": ("DECIMAL(12,2)", "float"),
        "b": ("BOOLEAN", "bool"),
        "s": ("VARCHAR", "str"),
        "at": ("TIMESTAMP", "ts"),
    }
    return TableSchema("ev", {c: t for c, (t, _) in cols.items()}), {c: k for c, (_, k) in cols.items()}


def dim_schema(int_time: bool) -> tuple[TableSchema, dict[str, str]]:
    cols = {
        "dk": ("BIGINT", "int"),
        "dk2": ("VARCHAR", "str"),
        "dts": ("BIGINT", "int") if int_time else ("TIMESTAMP", "ts"),
        "dv": ("BIGINT", "int"),
        "df": ("DOUBLE", "float"),
        "dsv": ("VARCHAR", "str"),
    }
    return TableSchema("dim", {c: t for c, (t, _) in cols.items()}), {c: k for c, (_, k) in cols.items()}


# Magnitude bounds of the generated columns (for int overflow bookkeeping).
COLUMN_BOUNDS = {"k1": 3, "k3": 1, "v": 1000, "n": 100_000, "dk": 3, "dv": 1000}


def ms_to_time(ms: int, int_time: bool) -> Any:
    return ms if int_time else BASE + dt.timedelta(milliseconds=ms - BASE_MS)


_GAP = st.sampled_from(GAPS_MS)


@st.composite
def time_offsets(draw: st.DrawFn, n: int, *, sorted_: bool = True) -> list[int]:
    """n times in ms from BASE_MS: non-decreasing with ties and gaps (or shuffled)."""
    t = BASE_MS
    out = []
    for gap in draw(st.lists(_GAP, min_size=n, max_size=n)):
        t += gap
        out.append(t)
    if not sorted_:
        out = draw(st.permutations(out))
    return out


_MAYBE_INT = st.one_of(st.none(), st.sampled_from([0, 1, -1]), st.integers(-1000, 1000))
_MAYBE_N = st.one_of(st.none(), st.integers(-100_000, 100_000))
_MAYBE_QUARTER = st.one_of(st.none(), QUARTERS)
_MAYBE_FLOAT = st.one_of(st.none(), QUARTERS, st.sampled_from([-0.0, math.inf, -math.inf]))
_MAYBE_BOOL = st.one_of(st.none(), st.booleans())
_MAYBE_STR = st.sampled_from([None, *STRINGS])
_MAYBE_AT = st.one_of(st.none(), st.integers(-200_000_000, 200_000_000).map(
    lambda ms: BASE + dt.timedelta(milliseconds=ms)))
_INT_KEY = st.sampled_from(INT_KEYS)
_STR_KEY = st.sampled_from(STR_KEYS)
_SMALL_KEY = st.sampled_from(SMALL_KEYS)
_FLOAT_KEY = st.sampled_from(FLOAT_KEYS)
_ROW = st.tuples(_INT_KEY, _STR_KEY, _SMALL_KEY, _FLOAT_KEY, _MAYBE_INT, _MAYBE_N, _MAYBE_FLOAT, _MAYBE_QUARTER,
                 _MAYBE_BOOL, _MAYBE_STR, _MAYBE_AT)  # every main column but ts, in schema order


@st.composite
def main_table(draw: st.DrawFn, int_time: bool, *, min_rows: int = 1, max_rows: int = 30,
               sorted_: bool = True) -> Table:
    schema, kinds = main_schema(int_time)
    n = draw(st.integers(min_rows, max_rows))
    times = draw(time_offsets(n, sorted_=sorted_))
    values = draw(st.lists(_ROW, min_size=n, max_size=n))
    rows = [(*r[:4], ms_to_time(t, int_time), *r[4:]) for t, r in zip(times, values, strict=True)]
    return Table(schema, rows, kinds)


@st.composite
def dim_table(draw: st.DrawFn, int_time: bool, lo_ms: int, hi_ms: int) -> Table:
    schema, kinds = dim_schema(int_time)
    row = st.tuples(_INT_KEY, _STR_KEY, st.integers(lo_ms - 2000, hi_ms + 2000).map(lambda ms: ms // 500 * 500),
                    _MAYBE_INT, _MAYBE_QUARTER, _MAYBE_STR)
    values = draw(st.lists(row, max_size=8))
    rows = [(k, k2, ms_to_time(t, int_time), *rest) for k, k2, t, *rest in values]
    return Table(schema, rows, kinds)


# -- SQL ---------------------------------------------------------------------------------------


@functools.cache
def _index(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


class Choices:
    """The generator's choices: Hypothesis draws (which shrink), or a seeded Random (see `random_sql`)."""

    def __init__(self, draw: st.DrawFn | None = None, rng: random.Random | None = None) -> None:
        self.draw = draw
        self.rng = rng

    def int_(self, lo: int, hi: int) -> int:
        if self.rng is not None:
            return self.rng.randint(lo, hi)
        assert self.draw is not None
        return lo + self.draw(_index(hi - lo + 1))

    def pick(self, options: list[Any]) -> Any:
        return options[self.int_(0, len(options) - 1)]

    def coin(self) -> bool:
        return self.int_(0, 1) == 1

    def some(self, options: list[Any], lo: int, hi: int) -> list[Any]:
        """lo..hi distinct options, in a chosen order."""
        left = list(options)
        return [left.pop(self.int_(0, len(left) - 1)) for _ in range(self.int_(lo, hi))]


@dataclass
class E:
    """A generated expression: its SQL, kind and (for numbers) a bound on its magnitude."""

    sql: str
    kind: str
    bound: float = math.inf
    has_agg: bool = False


@dataclass
class SqlGen:
    choices: Choices
    main_kinds: dict[str, str]
    dim_kinds: dict[str, str]  # empty without a LAST JOIN
    windows: list[str]
    max_rows: int
    int_time: bool
    main_alias: str = "ev"
    dim_alias: str = "dim"

    def pick(self, options: list[Any]) -> Any:
        return self.choices.pick(options)

    def coin(self) -> bool:
        return self.choices.coin()

    def int_(self, lo: int, hi: int) -> int:
        return self.choices.int_(lo, hi)

    # columns and literals

    def column(self, kind: str, scope: str) -> E | None:
        cols = [(self.main_alias, c) for c, k in self.main_kinds.items() if k == kind]
        if scope == "top":
            cols += [(self.dim_alias, c) for c, k in self.dim_kinds.items() if k == kind]
        if not cols:
            return None
        table, name = self.pick(cols)
        qualify = table != self.main_alias or self.coin()
        sql = f"{table}.{name}" if qualify else name
        bound = COLUMN_BOUNDS.get(name, 1000.0 if kind == "float" else math.inf)
        if name == "ts" and kind == "int":
            bound = BASE_MS * 2
        return E(sql, kind, bound)

    def literal(self, kind: str) -> E | None:
        if kind == "int":
            v = self.int_(-3, 20)
            return E(str(v) if v >= 0 else f"({v})", "int", abs(v))
        if kind == "float":
            v = self.pick([0.0, 0.5, 1.5, 2.25, 100.0, -3.75])
            return E(repr(v) if v >= 0 else f"({v!r})", "float", abs(v))
        if kind == "str":
            return E("'" + self.pick(STRINGS) + "'", "str")
        if kind == "bool":
            return E(self.pick(["TRUE", "FALSE"]), "bool")
        return None

    def leaf(self, kind: str, scope: str) -> E:
        options = ["col", "col", "lit"]
        if scope == "top":
            options += ["agg", "agg"]
        if kind == "float":
            options += ["ratio", "ratio"]
        choice = self.pick(options)
        e: E | None = None
        if choice == "agg":
            e = self.aggregate(kind, 0)
        elif choice == "lit":
            e = self.literal(kind)
        elif choice == "ratio":  # often +-inf or NaN (0/0, x%0): how the engines order NaN matters
            a, b = self.column("float", scope), self.column("float", scope)
            assert a is not None and b is not None
            e = E(f"({a.sql} {self.pick(['/', '%', '/'])} {b.sql})", "float")
        if e is None:
            e = self.column(kind, scope)
        assert e is not None, kind  # every kind has a column in scope: ts/at are timestamps
        return e

    # expressions

    def expr(self, kind: str, depth: int, scope: str) -> E:
        if depth <= 0 or self.int_(0, 2) == 0:
            return self.leaf(kind, scope)
        build = getattr(self, f"_{kind}")
        e = build(depth - 1, scope)
        return e if e is not None else self.leaf(kind, scope)

    def num(self, depth: int, scope: str) -> E:
        return self.expr(self.pick(["int", "float"]), depth, scope)

    def _int(self, depth: int, scope: str) -> E | None:
        choice = self.pick(["arith", "arith", "intdiv", "neg", "abs", "cast", "timepart", "timepart", "timepart",
                            "case", "coalesce", "agg", "agg"])
        if choice == "agg" and scope == "top":
            return self.aggregate("int", depth)
        if choice == "arith":
            a, b = self.expr("int", depth, scope), self.expr("int", depth, scope)
            op = self.pick(["+", "-", "*", "%"])
            bound = a.bound * b.bound if op == "*" else a.bound + b.bound if op in "+-" else a.bound
            if bound > INT_LIMIT:
                return a
            return E(f"({a.sql} {op} {b.sql})", "int", bound, a.has_agg or b.has_agg)
        if choice == "intdiv":
            a, b = self.expr("int", depth, scope), self.expr("int", depth, scope)
            return E(f"({a.sql} // {b.sql})", "int", a.bound, a.has_agg or b.has_agg)
        if choice in ("neg", "abs"):
            a = self.expr("int", depth, scope)
            return E(f"(-{a.sql})" if choice == "neg" else f"abs({a.sql})", "int", a.bound, a.has_agg)
        if choice == "cast":
            a = self.expr(self.pick(["float", "int", "bool"]), depth, scope)
            bound = a.bound if a.kind != "bool" else 1
            return E(f"CAST({a.sql} AS {self.pick(['BIGINT', 'INT'])})", "int", bound + 1, a.has_agg)
        if choice == "timepart":
            a = self.expr("ts", depth, scope)
            fn = self.pick(["hour", "minute", "day_of_week", "hour", "minute", "dayofweek", "second", "day", "month",
                            "year"])
            return E(f"{fn}({a.sql})", "int", 10_000, a.has_agg)
        if choice == "case":
            return self.case("int", depth, scope)
        if choice == "coalesce":
            a, b = self.expr("int", depth, scope), self.expr("int", depth, scope)
            return E(f"coalesce({a.sql}, {b.sql})", "int", max(a.bound, b.bound), a.has_agg or b.has_agg)
        return None

    def _float(self, depth: int, scope: str) -> E | None:
        choice = self.pick(["arith", "div", "mod", "cast", "case", "coalesce", "neg", "abs", "agg", "agg"])
        if choice == "agg" and scope == "top":
            return self.aggregate("float", depth)
        if choice in ("arith", "div", "mod"):
            a = self.expr("float", depth, scope)
            b = self.num(depth, scope)
            if self.coin():
                a, b = b, a
            op = self.pick(["+", "-", "*"]) if choice == "arith" else "/" if choice == "div" else "%"
            return E(f"({a.sql} {op} {b.sql})", "float", math.inf, a.has_agg or b.has_agg)
        if choice == "cast":
            a = self.expr("int", depth, scope)
            return E(f"CAST({a.sql} AS DOUBLE)", "float", a.bound, a.has_agg)
        if choice in ("neg", "abs"):
            a = self.expr("float", depth, scope)
            return E(f"(-{a.sql})" if choice == "neg" else f"abs({a.sql})", "float", a.bound, a.has_agg)
        if choice == "case":
            return self.case("float", depth, scope)
        if choice == "coalesce":
            a, b = self.expr("float", depth, scope), self.num(depth, scope)
            fn = self.pick(["coalesce", "ifnull"])
            return E(f"{fn}({a.sql}, {b.sql})", "float", math.inf, a.has_agg or b.has_agg)
        return None

    def _str(self, depth: int, scope: str) -> E | None:
        choice = self.pick(["cast", "case", "coalesce", "agg"])
        if choice == "agg" and scope == "top":
            return self.aggregate("str", depth)
        if choice == "cast":
            a = self.expr(self.pick(["int", "str"]), depth, scope)
            return E(f"CAST({a.sql} AS VARCHAR)", "str", has_agg=a.has_agg)
        if choice == "case":
            return self.case("str", depth, scope)
        if choice == "coalesce":
            a, b = self.expr("str", depth, scope), self.expr("str", depth, scope)
            return E(f"coalesce({a.sql}, {b.sql})", "str", has_agg=a.has_agg or b.has_agg)
        return None

    def _ts(self, depth: int, scope: str) -> E | None:
        choice = self.pick(["case", "coalesce", "agg", "agg"])
        if choice == "agg" and scope == "top":
            return self.aggregate("ts", depth)
        if choice == "case":
            return self.case("ts", depth, scope)
        if choice == "coalesce":
            a, b = self.expr("ts", depth, scope), self.expr("ts", depth, scope)
            return E(f"coalesce({a.sql}, {b.sql})", "ts", has_agg=a.has_agg or b.has_agg)
        return None

    def _bool(self, depth: int, scope: str) -> E | None:
        choice = self.pick(["cmp", "cmp", "cmp", "and", "not", "isnull", "agg"])
        if choice == "agg" and scope == "top":
            return self.aggregate("bool", depth)
        if choice == "cmp":
            kind = self.pick(["int", "float", "float", "num", "str", "ts", "bool"])
            if kind == "num":
                a, b = self.expr("int", depth, scope), self.expr("float", depth, scope)
            else:
                a, b = self.expr(kind, depth, scope), self.expr(kind, depth, scope)
            op = self.pick(["=", "!=", "<>", "<", "<=", ">", ">="])
            return E(f"({a.sql} {op} {b.sql})", "bool", has_agg=a.has_agg or b.has_agg)
        if choice == "and":
            a, b = self.expr("bool", depth, scope), self.expr("bool", depth, scope)
            op = self.pick(["AND", "OR"])
            return E(f"({a.sql} {op} {b.sql})", "bool", has_agg=a.has_agg or b.has_agg)
        if choice == "not":
            a = self.expr("bool", depth, scope)
            return E(f"(NOT {a.sql})", "bool", has_agg=a.has_agg)
        if choice == "isnull":
            a = self.expr(self.pick(["int", "float", "str", "bool", "ts"]), depth, scope)
            return E(f"({a.sql} IS {self.pick(['', 'NOT '])}NULL)", "bool", has_agg=a.has_agg)
        return None

    def case(self, kind: str, depth: int, scope: str) -> E:
        parts = []
        values = []
        for _ in range(self.int_(1, 2)):
            cond = self.expr("bool", depth, scope)
            value = self.expr(kind, depth, scope)
            parts.append(f"WHEN {cond.sql} THEN {value.sql}")
            values.append(value)
            values.append(cond)
        if self.coin():
            default = self.expr(kind, depth, scope)
            values.append(default)
            tail = f" ELSE {default.sql}"
        elif self.coin():
            tail = " ELSE NULL"
        else:
            tail = ""
        bound = max((v.bound for v in values if v.kind == kind), default=0)
        return E(f"CASE {' '.join(parts)}{tail} END", kind, bound, any(v.has_agg for v in values))

    # aggregates

    def aggregate(self, kind: str, depth: int) -> E | None:
        w = self.pick(self.windows)
        n = self.max_rows
        arg_depth = min(depth, 1)
        if kind == "int":
            choice = self.pick(["count_star", "count", "distinct_count", "count_where", "sum", "sum_where",
                                "minmax", "lag", "first_last"])
        elif kind == "float":
            choice = self.pick(["avg", "avg_where", "sum", "sum_where", "minmax", "lag", "first_last"])
        else:
            choice = self.pick(["minmax", "lag", "first_last"])
        if choice == "count_star":
            return E(f"count(*) OVER {w}", "int", n, True)
        if choice in ("count", "distinct_count"):
            a = self.expr(self.pick(["int", "float", "str", "bool", "ts"]), arg_depth, "agg")
            if choice == "distinct_count" and self.coin():
                return E(f"count(DISTINCT {a.sql}) OVER {w}", "int", n, True)
            return E(f"{choice}({a.sql}) OVER {w}", "int", n, True)
        if choice == "count_where":
            a = self.expr(self.pick(["int", "float", "str", "bool", "ts"]), arg_depth, "agg")
            c = self.expr("bool", arg_depth + 1, "agg")
            return E(f"count_where({a.sql}, {c.sql}) OVER {w}", "int", n, True)
        if choice in ("sum", "sum_where", "avg", "avg_where"):
            a = self.expr(kind if choice.startswith("sum") else self.pick(["int", "float"]), arg_depth, "agg")
            if a.kind == "int" and a.bound * n > INT_LIMIT:
                return None
            func = choice.removesuffix("_where")
            if choice.endswith("_where"):
                c = self.expr("bool", arg_depth + 1, "agg")
                return E(f"{func}_where({a.sql}, {c.sql}) OVER {w}", kind, a.bound * n, True)
            return E(f"{func}({a.sql}) OVER {w}", kind, a.bound * n, True)
        a = self.expr(kind, arg_depth, "agg")
        if choice == "minmax":
            func = self.pick(["min", "max"])
            if self.coin():
                c = self.expr("bool", arg_depth + 1, "agg")
                return E(f"{func}_where({a.sql}, {c.sql}) OVER {w}", kind, a.bound, True)
            return E(f"{func}({a.sql}) OVER {w}", kind, a.bound, True)
        if choice == "lag":
            k = self.int_(0, 3)
            text = f"lag({a.sql}) OVER {w}" if k == 1 and self.coin() else f"lag({a.sql}, {k}) OVER {w}"
            return E(text, kind, a.bound, True)
        func = self.pick(["first_value", "last_value"])
        return E(f"{func}({a.sql}) OVER {w}", kind, a.bound, True)


def frame_text(c: Choices, int_time: bool) -> str:
    choice = c.pick(["rows", "rows", "range", "range", "openmldb", "unbounded", "none"])
    if choice == "rows":
        return f"ROWS BETWEEN {c.int_(0, 4)} PRECEDING AND CURRENT ROW"
    if choice in ("range", "openmldb"):
        std, omldb, ms = c.pick(RANGES)
        if choice == "openmldb":
            return f"ROWS_RANGE BETWEEN {omldb} PRECEDING AND CURRENT ROW"
        if int_time and c.coin():
            return f"RANGE BETWEEN {ms} PRECEDING AND CURRENT ROW"
        return f"RANGE BETWEEN {std} PRECEDING AND CURRENT ROW"
    if choice == "unbounded":
        return f"{c.pick(['ROWS', 'RANGE'])} BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    return ""


@dataclass
class Scenario:
    sql: str
    main: Table
    dim: Table | None
    int_time: bool

    def sources(self, main_rows: list[tuple[Any, ...]] | None = None) -> dict[str, Source]:
        out = {"ev": Source.from_rows(self.main.schema, self.main.rows if main_rows is None else main_rows)}
        if self.dim is not None:
            out["dim"] = self.dim.source()
        return out

    def schemas(self) -> dict[str, TableSchema]:
        out = {"ev": self.main.schema}
        if self.dim is not None:
            out["dim"] = self.dim.schema
        return out


def make_sql(c: Choices, int_time: bool, max_rows: int, join: bool) -> str:
    """A random feature SQL over `ev` (and `dim` when `join`) that compiles."""
    main_kinds = main_schema(int_time)[1]
    dim_kinds = dim_schema(int_time)[1] if join else {}
    windows = [f"w{i}" for i in range(c.int_(1, 3))]
    ev, dim = c.pick([("ev", "dim"), ("ev", "dim"), ("e", "d")])  # the tables as written, or aliases
    gen = SqlGen(c, main_kinds, dim_kinds, windows, max_rows, int_time, main_alias=ev, dim_alias=dim)
    features = []
    for i in range(c.int_(1, 6)):
        kind = c.pick(["int", "int", "float", "float", "str", "bool", "ts"])
        e = gen.expr(kind, c.int_(0, 3), "top")
        features.append(f"{e.sql} AS f{i}")
    if not any(f"OVER {w}" in f for f in features for w in windows):
        features.append(f"count(*) OVER {c.pick(windows)} AS fc")
    window_defs = []
    for w in windows:
        part = c.some(["k1", "k2", "k3", "b", "fk"], 1, 2)
        frame = frame_text(c, int_time)
        window_defs.append(f"{w} AS (PARTITION BY {', '.join(part)} ORDER BY ts {frame})".replace(" )", ")"))
    sql = "SELECT\n  " + ",\n  ".join(features) + "\nFROM ev" + (" AS e" if ev == "e" else "")
    if join:
        on = f"{ev}.k1 = {dim}.dk"
        if c.coin():
            on += f" AND {dim}.dk2 = {ev}.k2"
        sql += f"\nLAST JOIN dim{' AS d' if dim == 'd' else ''} ORDER BY {dim}.dts ON {on}"
    sql += "\nWINDOW " + ",\n  ".join(window_defs)
    return sql


@st.composite
def feature_sql(draw: st.DrawFn, int_time: bool, max_rows: int, join: bool) -> str:
    return make_sql(Choices(draw=draw), int_time, max_rows, join)


def random_sql(seed: int, *, join: bool = True) -> tuple[str, dict[str, TableSchema]]:
    """The same generator driven by a seeded Random (uniform, for coverage checks): SQL and schemas."""
    rng = random.Random(seed)
    int_time = rng.random() < 0.5
    schemas = {"ev": main_schema(int_time)[0], "dim": dim_schema(int_time)[0]}
    return make_sql(Choices(rng=rng), int_time, 10, join), schemas


@st.composite
def scenarios(draw: st.DrawFn, *, int_time: bool | None = None, sorted_: bool = True,
              max_rows: int = 30) -> Scenario:
    if int_time is None:
        int_time = draw(st.booleans())
    main = draw(main_table(int_time, max_rows=max_rows, sorted_=sorted_))
    join = draw(st.integers(0, 9)) < 4
    dim = None
    if join:
        ms = [r[4] if int_time else BASE_MS + (r[4] - BASE) // dt.timedelta(milliseconds=1) for r in main.rows]
        dim = draw(dim_table(int_time, min(ms), max(ms)))
    sql = draw(feature_sql(int_time, max_rows + 1, join))
    return Scenario(sql, main, dim, int_time)


def same(a: Any, b: Any) -> bool:
    """Online and offline values agree: floats closely (NaN = NaN), everything else exactly."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if type(a) is not float or type(b) is not float:
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return type(a) is type(b) and a == b
