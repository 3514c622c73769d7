"""One page of a long list, and the cursor of the next.

Lists that grow without bound (runs, workflows, alert deliveries) are read by keyset: a page
asks for the rows after the last one it showed, so page 200 costs what page 1 does. The cursor
is opaque to callers (base64 of the last row's key) so its shape can change without breaking them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shoal.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """`items`, and `next_cursor` to ask for the page after them (None: this is the last)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, types: Sequence[type]) -> tuple[Any, ...] | None:
    """The key a cursor holds, checked against `types`; InvalidInput (naming `cursor`) if it is
    not one this list made."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    if (not isinstance(key, list) or len(key) != len(types)
            or not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(key, types, strict=True))):
        raise InvalidInput("cursor: not a cursor of this list; pass the next_cursor of the page before, "
                           "or leave it out for the first page", field="cursor")
    return tuple(key)


def page_of(rows: list[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """A page from `rows` read with `limit + 1` (the extra row only says another page exists)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode_cursor(key(rows[-1])))
    return Page(rows, None)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: expected 1 to {MAX_LIMIT}, got {limit}", field="limit")
    return limit


__all__ = ["MAX_LIMIT", "Page", "check_limit", "decode_cursor", "encode_cursor", "page_of"]
