"""Request mode: the expression tree as Python functions, with DuckDB's semantics.

Every operator follows what the offline DuckDB statement does, so that the two engines agree
value for value: NULL in -> NULL out, three-valued AND/OR, `x/0` is ±inf (NaN for 0/0),
`x//0` and `x%0` are NULL for integers (NaN for doubles), `//` and `%` truncate toward zero,
CAST to an integer rounds half away from zero and is NULL when the value does not fit (TRY_CAST),
`day_of_week` counts 1 = Sunday. `tests/features/test_consistency.py` checks it.

A compiled function takes `(row, dims, aggs)`: the current row as a tuple in the query's column
layout, the joined dimension rows by alias, and the values of the query's aggregates.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from shoal.features.query import MAIN, Agg, Col, Expr, FeatureQuery, Lit
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
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            return None
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    a, b = float(a), float(b)
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan  # DuckDB's fmod: NaN where Python's raises
    return math.fmod(a, b)


_INT64 = 2**63


def _to_int(x: Any) -> int | None:
    """CAST(x AS BIGINT): half away from zero (as documented; offline rounds with DuckDB's round()),
    NULL for inf, NaN or a value beyond BIGINT (offline: TRY_CAST)."""
    if isinstance(x, int):
        return int(x)
    if not math.isfinite(x):
        return None
    a = abs(x)
    whole = math.floor(a)
    r = whole + 1 if a - whole >= 0.5 else whole  # exact, unlike floor(a + 0.5)
    r = -r if x < 0 else r
    return r if -_INT64 <= r < _INT64 else None


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


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _order(x: Any) -> tuple[int, Any]:
    """DuckDB's order of doubles: NaN is above every number (and inf) and equal to itself."""
    return (1, 0.0) if _isnan(x) else (0, x)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def cmp(a: Any, b: Any) -> bool:
        if _isnan(a) or _isnan(b):
            return op(_order(a), _order(b))
        return op(a, b)

    return cmp


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _strict(lambda a, b: a + b),
    "-": _strict(lambda a, b: a - b),
    "*": _strict(lambda a, b: a * b),
    "/": _strict(_div),
    "//": _strict(_intdiv),
    "%": _strict(_mod),
    "=": _strict(_compare(operator.eq)),
    "!=": _strict(_compare(operator.ne)),
    "<": _strict(_compare(operator.lt)),
    "<=": _strict(_compare(operator.le)),
    ">": _strict(_compare(operator.gt)),
    ">=": _strict(_compare(operator.ge)),
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
    "cast_int": _strict(_to_int),
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
    floats = agg.args[0].kind is Kind.FLOAT  # NaN: one distinct value, above every number
    if f == "distinct_count":
        return len({_order(v) for v in values} if floats else set(values))
    if not values:
        return None
    if f == "sum":
        return sum(values)
    if f == "avg":
        return float(sum(values)) / len(values)
    if f == "min":
        return min(values, key=_order) + 0.0 if floats else min(values)  # + 0.0: -0.0 is 0.0, as offline
    if f == "max":
        return max(values, key=_order) + 0.0 if floats else max(values)
    raise AssertionError(f"no Python aggregate {f}")
