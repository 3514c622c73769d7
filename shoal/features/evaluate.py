"""Request mode: the expression tree as Python functions, with DuckDB's semantics.

Every operator follows what the offline DuckDB statement does, so that the two engines agree
value for value: NULL in -> NULL out, three-valued AND/OR, `x/0` is ±inf (NaN for 0/0),
`x//0` and `x%0` are NULL, `//` and `%` truncate toward zero, CAST to an integer rounds half away
from zero, `day_of_week` counts 1 = Sunday. `tests/features/test_consistency.py` checks it.

A compiled function takes `(row, dims, aggs)`: the current row as a tuple in the query's column
layout, the joined dimension rows by alias, and the values of the query's aggregates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from shoal.features.query import MAIN, Agg, Call, Col, Expr, FeatureQuery, Lit
from shoal.features.schema import Kind

Fn = Callable[[tuple, dict, list], Any]


def _strict(f: Callable[..., Any]) -> Callable[..., Any]:
    """NULL in any argument makes the result NULL."""

    def g(*xs: Any) -> Any:
        for x in xs:
            if x is None:
                return None
        return f(*xs)

    return g


def _div(a: Any, b: Any) -> float:
    if b == 0:
        a = float(a)
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return float(a) / b


def _intdiv(a: int, b: int) -> int | None:
    if b == 0:
        return None
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _mod(a: Any, b: Any) -> Any:
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    return math.fmod(a, b)


def _round_half_away(x: Any) -> int:
    if isinstance(x, bool) or isinstance(x, int):
        return int(x)
    return int(math.floor(x + 0.5)) if x >= 0 else int(math.ceil(x - 0.5))


def _and(a: Any, b: Any) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a: Any, b: Any) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _strict(lambda a, b: a + b),
    "-": _strict(lambda a, b: a - b),
    "*": _strict(lambda a, b: a * b),
    "/": _strict(_div),
    "//": _strict(_intdiv),
    "%": _strict(_mod),
    "=": _strict(lambda a, b: a == b),
    "!=": _strict(lambda a, b: a != b),
    "<": _strict(lambda a, b: a < b),
    "<=": _strict(lambda a, b: a <= b),
    ">": _strict(lambda a, b: a > b),
    ">=": _strict(lambda a, b: a >= b),
    "and": _and,
    "or": _or,
}
_UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": _strict(lambda a: -a),
    "not": _strict(lambda a: not a),
    "is_null": lambda a: a is None,
    "is_not_null": lambda a: a is not None,
    "hour": _strict(lambda a: a.hour),
    "minute": _strict(lambda a: a.minute),
    "second": _strict(lambda a: a.second),
    "day": _strict(lambda a: a.day),
    "month": _strict(lambda a: a.month),
    "year": _strict(lambda a: a.year),
    "day_of_week": _strict(lambda a: a.isoweekday() % 7 + 1),
    "abs": _strict(abs),
    "cast_int": _strict(_round_half_away),
    "cast_float": _strict(float),
    "cast_str": _strict(str),
}


def _as_float(kind: Kind | None, fn: Fn) -> Fn:
    # A CASE or COALESCE mixing INT and DOUBLE is DOUBLE in DuckDB.
    if kind is not Kind.FLOAT:
        return fn

    def g(row: tuple, dims: dict, aggs: list) -> Any:
        v = fn(row, dims, aggs)
        return float(v) if v is not None else None

    return g


class Compiler:
    """Compiles the expressions of one query; aggregates are numbered in `self.aggs`."""

    def __init__(self, query: FeatureQuery) -> None:
        self.query = query
        self.main_pos = {c: i for i, c in enumerate(query.main_columns)}
        self.dim_pos = {j.alias: {c: i for i, c in enumerate(query.join_columns(j.alias))} for j in query.joins}
        self.aggs: list[Agg] = []

    def compile(self, e: Expr) -> Fn:
        if isinstance(e, Col):
            if e.table == MAIN:
                i = self.main_pos[e.name]
                return lambda row, dims, aggs: row[i]
            alias, j = e.table, self.dim_pos[e.table][e.name]

            def dim_value(row: tuple, dims: dict, aggs: list) -> Any:
                d = dims.get(alias)
                return None if d is None else d[j]

            return dim_value
        if isinstance(e, Lit):
            v = e.value
            return lambda row, dims, aggs: v
        if isinstance(e, Agg):
            self.aggs.append(e)
            k = len(self.aggs) - 1
            return lambda row, dims, aggs: aggs[k]
        args = [self.compile(a) for a in e.args]
        if e.op in _BINARY:
            f2, (a, b) = _BINARY[e.op], args
            return _as_float(e.kind, lambda row, dims, aggs: f2(a(row, dims, aggs), b(row, dims, aggs)))
        if e.op in _UNARY:
            f1, a = _UNARY[e.op], args[0]
            return lambda row, dims, aggs: f1(a(row, dims, aggs))
        if e.op == "coalesce":

            def coalesce(row: tuple, dims: dict, aggs: list) -> Any:
                for f in args:
                    v = f(row, dims, aggs)
                    if v is not None:
                        return v
                return None

            return _as_float(e.kind, coalesce)
        if e.op == "case":
            pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
            default = args[-1]

            def case(row: tuple, dims: dict, aggs: list) -> Any:
                for cond, value in pairs:
                    if cond(row, dims, aggs) is True:
                        return value(row, dims, aggs)
                return default(row, dims, aggs)

            return _as_float(e.kind, case)
        raise AssertionError(f"no Python evaluation for {e.op}")


def aggregate(agg: Agg, fns: Sequence[Fn], rows: Sequence[tuple]) -> Any:
    """The aggregate over `rows` (oldest first, the current row last)."""
    f = agg.func
    if f == "count_star":
        return len(rows)
    value = fns[0]
    if f == "lag":
        n = agg.args[1].value  # type: ignore[union-attr]
        return value(rows[-1 - n], {}, []) if len(rows) > n else None
    if f == "first_value":
        return value(rows[0], {}, [])
    if f == "last_value":
        return value(rows[-1], {}, [])
    if f.endswith("_where"):
        cond = fns[1]
        values = [v for r in rows if cond(r, {}, []) is True and (v := value(r, {}, [])) is not None]
        f = f.removesuffix("_where")
    else:
        values = [v for r in rows if (v := value(r, {}, [])) is not None]
    if f == "count":
        return len(values)
    if f == "distinct_count":
        return len(set(values))
    if not values:
        return None
    if f == "sum":
        return sum(values)
    if f == "avg":
        return float(sum(values)) / len(values)
    if f == "min":
        return min(values)
    if f == "max":
        return max(values)
    raise AssertionError(f"no Python aggregate {f}")
