"""How the services' answers become JSON, the same for the CLI's `--json` and the REST API."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["dumps", "jsonable"]


def jsonable(value: Any) -> Any:
    """`json.dumps(..., default=jsonable)`: a service's dataclass as its `to_json()` where it has
    one (its own shape, e.g. a model version with its history), else as its fields; a date or
    time as ISO 8601 text; anything else (paths, enums) as its text.

    One level at a time: the encoder calls it again for what the fields hold, so nothing is
    copied deeply (`dataclasses.asdict` was half the cost of a page of runs)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if callable(to_json := getattr(value, "to_json", None)):
        return to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return str(value)


def dumps(data: Any) -> bytes:
    """`data` as compact JSON bytes, as `json.dumps(data, default=jsonable)` writes it, about ten
    times faster (orjson: the API's hot path). What orjson refuses (an integer past 64 bits, from
    a task's outputs) falls back to the standard library's encoder. orjson comes with
    shoal[serve], as the API does: the command line alone never calls this."""
    import orjson

    # orjson hands dataclasses and dates to `jsonable` (so a `to_json()` and ISO text stay the
    # shape the CLI prints), and accepts the non-text keys json.dumps turns into text.
    option = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
    try:
        return orjson.dumps(data, default=jsonable, option=option)
    except orjson.JSONEncodeError:
        return json.dumps(data, default=jsonable, separators=(",", ":")).encode()
