"""Request bodies: read under a byte limit, parsed, and turned into request rows under a row limit.

One request must not be able to take the server's memory or its time: a body is refused (413)
as soon as it is known to be over `max_body_bytes` — from its Content-Length before any of it is
read, or, for a streamed (chunked) body, at the first chunk that crosses the limit — and a body
with more than `max_rows` rows is refused right after parsing, before any row is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from shoal.errors import InvalidInput
from shoal.serving.errors import BadRequest, PayloadTooLarge

# 8 MiB holds 10,000 rows of 100 numeric features as JSON; the TalkingData click is ~110 bytes.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
# 10,000 rows: a fraction of a second to score with online features, and ~1 MB of clicks.
DEFAULT_MAX_ROWS = 10_000


@dataclass(frozen=True)
class Limits:
    """What one request may send: body bytes and rows (`shoal serve --max-body-bytes/--max-rows`)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_rows: int = DEFAULT_MAX_ROWS

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(f"{name} must be a positive integer, got {value!r}", field=name)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _body_too_large(limit: int, value: int, *, streamed: bool) -> PayloadTooLarge:
    over = f"over this server's limit of {limit} bytes ({_size(limit)})"
    what = f"is {over} (refused after reading {value} bytes of it)" if streamed else f"is {value} bytes, {over}"
    return PayloadTooLarge(
        f"the request body {what}; send fewer rows per request, or start the server with a larger "
        "--max-body-bytes", limit="max_body_bytes", max=limit, value=value,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, never holding more than `limit` bytes of it; PayloadTooLarge past that."""
    length = request.headers.get("content-length")
    if length is not None:
        # A declared size over the limit is refused before a byte of the body is read.
        try:
            declared = int(length)
        except ValueError:
            raise BadRequest(f"Content-Length is not a number: {length[:40]!r}") from None
        if declared > limit:
            raise _body_too_large(limit, declared, streamed=False)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _body_too_large(limit, size, streamed=True)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse(raw: bytes) -> Any:
    """The JSON value of a body. orjson refuses nesting deeper than 1,024 levels, NaN and
    Infinity literals, and numbers that overflow a double, so none of them reaches a model."""
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object or a list of objects")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"the request body is not valid JSON: {e}") from None


def check_rows(count: int, limit: int) -> None:
    if count > limit:
        raise PayloadTooLarge(
            f"the request has {count} rows, over this server's limit of {limit} rows per request; "
            "split it into smaller requests, or start the server with a larger --max-rows",
            limit="max_rows", max=limit, value=count,
        )


def _objects(rows: list[Any], where: str) -> list[Any]:
    """The rows, each a JSON object; else BadRequest naming the first that is not."""
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadRequest(f"row {i} is {type(row).__name__}, not a JSON object", field=f"{where}[{i}]")
    return rows


def predict_rows(body: Any, max_rows: int) -> tuple[list[Any], bool]:
    """A `/predict` body's rows, and whether it was one object (answered as `score`, not `scores`)."""
    if isinstance(body, dict):
        return [body], True
    if not (isinstance(body, list) and body):
        raise BadRequest("send one JSON object, or a non-empty list of objects")
    check_rows(len(body), max_rows)
    return _objects(body, ""), False


def mlflow_rows(body: Any, max_rows: int) -> list[Any]:
    """The rows of an `/invocations` body: MLflow's `dataframe_records` or `dataframe_split`."""
    if not isinstance(body, dict):
        raise BadRequest("an /invocations body is a JSON object with dataframe_split or dataframe_records")
    if "dataframe_records" in body:
        records = body["dataframe_records"]
        if not isinstance(records, list):
            raise BadRequest("dataframe_records must be a list of objects", field="dataframe_records")
        check_rows(len(records), max_rows)
        return _objects(records, "dataframe_records")
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        if not isinstance(split, dict) or not isinstance(split.get("columns"), list) \
                or not isinstance(split.get("data"), list):
            raise BadRequest("dataframe_split needs 'columns' (a list of names) and 'data' (a list of rows)",
                             field="dataframe_split")
        columns, data = split["columns"], split["data"]
        for i, name in enumerate(columns):
            if not isinstance(name, str):
                raise BadRequest(f"dataframe_split.columns[{i}] is {type(name).__name__}, not a column name",
                                 field=f"dataframe_split.columns[{i}]")
        check_rows(len(data), max_rows)
        rows = []
        for i, values in enumerate(data):
            if not isinstance(values, list) or len(values) != len(columns):
                raise BadRequest(f"dataframe_split.data[{i}] must be a list of {len(columns)} values",
                                 field=f"dataframe_split.data[{i}]")
            rows.append(dict(zip(columns, values, strict=True)))
        return rows
    keys = ", ".join(sorted(body)[:10]) + (", ..." if len(body) > 10 else "") if body else "none"
    raise BadRequest(f"an /invocations body needs dataframe_split or dataframe_records (got keys: {keys})")
