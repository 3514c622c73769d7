"""Column kinds shared by the offline (DuckDB) and online (Python) engines.

A feature SQL sees five kinds of values. Both engines agree on them: DuckDB types map onto a kind,
and a request row's JSON values are checked and converted to the same kind before any feature is
computed, so `1` for a string column or `"x"` for an integer column is refused, naming the field.
So is a value the column's type cannot hold offline (`2**70` for a BIGINT, `300` for a TINYINT):
online and offline see the same rows.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shoal.features.errors import RowError


class Kind(StrEnum):
    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    TIMESTAMP = "timestamp"

    @property
    def numeric(self) -> bool:
        return self in (Kind.INT, Kind.FLOAT)


_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
_TS_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME"}


def kind_of(duckdb_type: str) -> Kind | None:
    """The kind of a DuckDB column type, or None when features cannot use it."""
    t = duckdb_type.upper()
    if t in _INT_TYPES:
        return Kind.INT
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return Kind.FLOAT
    if t == "VARCHAR" or t.startswith("VARCHAR("):
        return Kind.STR
    if t == "BOOLEAN":
        return Kind.BOOL
    if t in _TS_TYPES:
        return Kind.TIMESTAMP
    return None


@dataclass(frozen=True)
class TableSchema:
    """A table's columns in order: name -> DuckDB type (as DESCRIBE prints it)."""

    name: str
    columns: dict[str, str]

    def kind(self, column: str) -> Kind | None:
        return kind_of(self.columns[column])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": dict(self.columns)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSchema:
        return cls(name=data["name"], columns=dict(data["columns"]))


_EPOCH = dt.datetime(1970, 1, 1)


def to_micros(value: dt.datetime) -> int:
    """Microseconds since the epoch of a naive timestamp (exact: no float on the way)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


_BIGINT = (-(2**63), 2**63 - 1)
# The integers each type holds, within BIGINT: the offline engine computes every integer column
# as BIGINT, so a HUGEINT or UBIGINT value beyond it cannot be used there either.
_INT_RANGES = {
    "TINYINT": (-(2**7), 2**7 - 1), "SMALLINT": (-(2**15), 2**15 - 1), "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": _BIGINT, "HUGEINT": _BIGINT, "UTINYINT": (0, 2**8 - 1), "USMALLINT": (0, 2**16 - 1),
    "UINTEGER": (0, 2**32 - 1), "UBIGINT": (0, 2**63 - 1),
}
_REAL_MAX = 3.4028234663852886e38  # the largest finite FLOAT (REAL)


def value_range(duckdb_type: str) -> tuple[float, float, bool] | None:
    """(lowest, highest, whether ±inf fits) of the numbers a column type holds, or None when its
    kind's own check is enough (DOUBLE, strings, booleans, timestamps)."""
    t = duckdb_type.upper()
    if t in _INT_RANGES:
        lo, hi = _INT_RANGES[t]
        return lo, hi, False
    if t in ("FLOAT", "REAL"):
        return -_REAL_MAX, _REAL_MAX, True
    if t.startswith("DECIMAL(") and t.endswith(")"):
        try:
            width, scale = (int(x) for x in t[len("DECIMAL(") : -1].split(","))
        except ValueError:
            return None
        bound = math.nextafter(10.0 ** (width - scale), 0)  # DECIMAL(5,2) holds -999.99 ... 999.99
        return -bound, bound, False
    return None


def check_range(value: Any, limits: tuple[float, float, bool], duckdb_type: str, field: str) -> None:
    """RowError naming `field` when a coerced number is outside what its column type holds."""
    lo, hi, inf_fits = limits
    if value is None or lo <= value <= hi or (inf_fits and math.isinf(value)):
        return
    what = f"{lo} to {hi}" if isinstance(lo, int) else f"less than {hi:g} in magnitude"
    raise RowError(f"{field}: {show(value)} is out of range for {duckdb_type} ({what})", field)


def show(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut short (a request value may be megabytes long)."""
    if isinstance(value, (list, dict, tuple, set)):
        # repr() of a deeply nested value would itself recurse too deep.
        return "a JSON array" if isinstance(value, (list, tuple)) else "a JSON object"
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 4000 else "a huge integer"
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


SCALARS_ONLY = "row values must be scalars (a number, string, true/false or null)"


def is_scalar(value: Any) -> bool:
    return not isinstance(value, (list, dict, tuple, set))


def coerce(value: Any, kind: Kind, field: str) -> Any:
    """`value` (from JSON or Python) as the Python value of `kind`; RowError naming `field` if wrong."""
    if value is None:
        return None
    if not is_scalar(value):
        raise RowError(f"{field}: {SCALARS_ONLY}, got {show(value)}", field)
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise RowError(f"{field}: expected an integer, got {show(value)}", field)
        return value
    if kind is Kind.FLOAT:
        if isinstance(value, decimal.Decimal):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RowError(f"{field}: expected a number, got {show(value)}", field)
        try:
            value = float(value)
        except OverflowError:  # an integer beyond every double
            raise RowError(f"{field}: {show(value)} is out of range for DOUBLE", field) from None
        if math.isnan(value):
            raise RowError(f"{field}: NaN is not a value; send null for a missing number", field)
        return value
    if kind is Kind.STR:
        if not isinstance(value, str):
            raise RowError(f"{field}: expected a string, got {show(value)}", field)
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise RowError(f"{field}: expected true or false, got {show(value)}", field)
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, int) and not isinstance(value, bool):
        # Epoch milliseconds, as OpenMLDB and the TalkingData request examples send click_time.
        try:
            return _EPOCH + dt.timedelta(milliseconds=value)
        except OverflowError:
            raise RowError(f"{field}: {show(value)} is out of range for epoch milliseconds", field) from None
    if isinstance(value, str):
        try:
            return coerce(dt.datetime.fromisoformat(value), kind, field)
        except ValueError:
            pass
    raise RowError(
        f"{field}: expected a timestamp like '2017-11-07 09:30:00' or epoch milliseconds, got {show(value)}", field
    )
