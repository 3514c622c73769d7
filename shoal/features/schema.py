"""Column kinds shared by the offline (DuckDB) and online (Python) engines.

A feature SQL sees five kinds of values. Both engines agree on them: DuckDB types map onto a kind,
and a request row's JSON values are checked and converted to the same kind before any feature is
computed, so `1` for a string column or `"x"` for an integer column is refused, naming the field.
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


_EPOCH = dt.datetime(1970, 1, 1)


def coerce(value: Any, kind: Kind, field: str) -> Any:
    """`value` (from JSON or Python) as the Python value of `kind`; RowError naming `field` if wrong."""
    if value is None:
        return None
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise RowError(f"{field}: expected an integer, got {value!r}", field)
        return value
    if kind is Kind.FLOAT:
        if isinstance(value, decimal.Decimal):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RowError(f"{field}: expected a number, got {value!r}", field)
        value = float(value)
        if math.isnan(value):
            raise RowError(f"{field}: NaN is not a value; send null for a missing number", field)
        return value
    if kind is Kind.STR:
        if not isinstance(value, str):
            raise RowError(f"{field}: expected a string, got {value!r}", field)
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise RowError(f"{field}: expected true or false, got {value!r}", field)
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
            raise RowError(f"{field}: {value} is out of range for epoch milliseconds", field) from None
    if isinstance(value, str):
        try:
            return coerce(dt.datetime.fromisoformat(value), kind, field)
        except ValueError:
            pass
    raise RowError(
        f"{field}: expected a timestamp like '2017-11-07 09:30:00' or epoch milliseconds, got {value!r}", field
    )
