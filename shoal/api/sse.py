"""Server-sent events from the services' followed streams (a run's changes, a task's log).

A stream's generator does its reads (database, log files) on a worker thread one step at a time
and yields IDLE instead of sleeping; the waiting happens here, asynchronously, so a thousand
followers hold no thread while nothing changes. A comment line every KEEPALIVE seconds keeps
proxies from closing a quiet stream. At most MAX_STREAMS are open per process: one more is
answered 503, so followers cannot starve the requests of everyone else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
from fastapi.sse import EventSourceResponse

from shoal.errors import ShoalError
from shoal.services.encoding import dumps
from shoal.services.streams import Idle

POLL_SECONDS = 0.5
KEEPALIVE = 15.0
MAX_STREAMS = 200
_open = 0
_lock = threading.Lock()



class TooManyStreams(ShoalError):
    """This API process has MAX_STREAMS event streams open (HTTP 503)."""

    code = "too_many_streams"


Encode = Callable[[Any], tuple[str, Any]]  # an item -> (event name, JSON data)


def event(name: str, data: Any) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (name.encode(), dumps(data))


def open_stream(items: Iterator[Any], encode: Encode, poll: float = POLL_SECONDS) -> EventSourceResponse:
    """An event stream of `items`. Its first step is taken here, before the stream starts, so
    that a run that does not exist or may not be read is a 4xx answer, not an event."""
    if _open >= MAX_STREAMS:  # counted by the streams themselves: a stream never started holds nothing
        items.close()
        raise TooManyStreams(f"{MAX_STREAMS} live streams are open on this API process; try again shortly "
                             "or add API replicas")
    first = next(items, None)
    return EventSourceResponse(_events(_prefixed(first, items), encode, poll),
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _prefixed(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    try:
        if first is not None:
            yield first
            yield from rest
    finally:
        rest.close()


async def _events(items: Iterator[Any], encode: Encode, poll: float) -> AsyncIterator[bytes]:
    global _open
    with _lock:
        _open += 1
    quiet_since = time.monotonic()
    try:
        while True:
            try:
                item = await anyio.to_thread.run_sync(next, items, None)
            except ShoalError as exc:  # e.g. the run was deleted meanwhile: said, then the stream ends
                yield event("error", {"code": exc.code, "message": str(exc)})
                return
            except Exception:  # noqa: BLE001 - e.g. the database went away: said, and the client reconnects
                yield event("error", {"code": "unavailable", "message": "the stream broke off (the metadata "
                                      "database did not answer); reconnect to follow again"})
                return
            if item is None:
                yield event("end", {})
                return
            if isinstance(item, Idle):
                if time.monotonic() - quiet_since >= KEEPALIVE:
                    quiet_since = time.monotonic()
                    yield b": keepalive\n\n"
                await anyio.sleep(poll)
                continue
            quiet_since = time.monotonic()
            yield event(*encode(item))
    finally:
        items.close()
        with _lock:
            _open -= 1


__all__ = ["KEEPALIVE", "MAX_STREAMS", "POLL_SECONDS", "TooManyStreams", "event", "open_stream"]
