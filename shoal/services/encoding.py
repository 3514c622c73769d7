"""How the services' answers become JSON, the same for the CLI's `--json` and the REST API."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """`json.dumps(..., default=jsonable)`: a service's dataclass as its `to_json()` where it has
    one (its own shape, e.g. a model version with its history), else as its fields; a date or
    time as ISO 8601 text; anything else (paths, enums) as its text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if callable(to_json := getattr(value, "to_json", None)):
        return to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)
