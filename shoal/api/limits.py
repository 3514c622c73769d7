"""The cap on request bodies, answered in the API's error shape.

FastAPI's own `max_body_size` answers a plain-text 413 from outside the app's error handlers;
this middleware answers `{"error": {"code": "too_large", ...}}` like every other 4xx: at once
when Content-Length says too much, and as soon as a body sent without one goes past the cap.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoal.api.deps import error_response
from shoal.spec.io import MAX_FILE_BYTES

# The largest request body: a workflow file at its size cap (spec.io), JSON-escaped.
MAX_BODY = 2 * MAX_FILE_BYTES + (64 << 10)


def too_large(limit: int) -> str:
    return f"request body over {limit} bytes; a workflow file may have at most {MAX_FILE_BYTES} bytes"


class BodyLimit:
    """Refuse request bodies over `limit` bytes with a 413 (code `too_large`)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await error_response(413, "too_large", too_large(self.limit))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # raised where the route reads its body: the app's handler answers
                raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)


__all__ = ["MAX_BODY", "BodyLimit"]
