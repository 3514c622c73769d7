"""Errors of the model server's request handling; each carries the HTTP status it answers with.

    InvalidInput (shoal.errors)
     └── BadRequest              400: the body is not JSON, or not the shape an endpoint takes
          └── PayloadTooLarge    413: the body or its row count is over this server's limit

A row that is the right shape but has a missing field or a wrong value is a `RowError`
(shoal.features.errors, 422), raised while scoring.
"""

from __future__ import annotations

from typing import Any

from shoal.errors import InvalidInput


class BadRequest(InvalidInput):
    """Raised when a request body is empty, not JSON, or not the shape the endpoint takes."""

    code = "bad_request"
    status = 400


class PayloadTooLarge(BadRequest):
    """Raised when a request body or its number of rows is over the server's limit.

    `details` name the limit (`limit`: `max_body_bytes` or `max_rows`), its value (`max`) and
    what the request had (`value`; for a streamed body, the bytes read before refusing).
    """

    code = "payload_too_large"
    status = 413

    def __init__(self, message: str, *, limit: str, max: int, value: int, **details: Any) -> None:  # noqa: A002
        super().__init__(message, limit=limit, max=max, value=value, **details)
        self.limit = limit
