"""What an online store keeps: per index and key, the recent rows of a table, sorted by time.

An index is one PARTITION BY of the feature SQL (or a LAST JOIN key). A store keeps, per key,
the rows it may still need: those within the largest time range of the index's windows of the
newest row, plus at least the newest `rows` rows (for ROWS windows), all of them when a window
is UNBOUNDED, and never more than `cap`. Rows with the same time keep their arrival order.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from shoal.features.schema import Kind

Key = tuple[Any, ...]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class IndexSpec:
    name: str  # unique within a feature set, e.g. "main:ip,app"
    table: str  # the table role: "main" or a LAST JOIN alias
    key: tuple[int, ...]  # positions of the key columns in the row layout
    time: int  # position of the time column
    span: int | None  # keep rows whose time >= newest - span (None: no time bound)
    rows: int  # ... and always the newest `rows`
    keep_all: bool  # an UNBOUNDED window: keep every row
    cap: int  # but never more than `cap` rows per key
    kinds: tuple[Kind, ...]  # the kinds of the row layout (for stores that serialize rows)

    def drop_count(self, scores: Sequence[int], old: int) -> int:
        """How many of the oldest rows to drop, given `old` rows older than newest - span."""
        n = len(scores)
        drop = 0
        if not self.keep_all:
            drop = max(0, min(old, n - self.rows)) if self.span is not None else max(0, n - self.rows)
        return max(drop, n - self.cap)


@dataclass(frozen=True)
class Fetch:
    index: IndexSpec
    key: Key
    until: int  # rows with time <= until
    latest_only: bool = False  # just the newest such row (LAST JOIN)


class OnlineStore(abc.ABC):
    """Rows per (namespace, index, key). Implementations are safe for concurrent use."""

    @abc.abstractmethod
    def insert(self, namespace: str, index: IndexSpec, items: Sequence[tuple[Key, int, Row]]) -> None:
        """Append rows (key, time score, row) in arrival order, then expire what is no longer needed."""

    @abc.abstractmethod
    def fetch(self, namespace: str, requests: Sequence[Fetch]) -> list[tuple[list[int], list[Row]]]:
        """For each request, the (scores, rows) stored for its key up to `until`, oldest first."""

    @abc.abstractmethod
    def clear(self, namespace: str) -> None:
        """Forget every row of a namespace (a feature set version)."""

    @abc.abstractmethod
    def stats(self, namespace: str) -> dict[str, int]:
        """{"keys": ..., "rows": ...} stored for a namespace."""

    def save(self) -> None:  # noqa: B027 - only stores with a snapshot persist explicitly
        """Persist what is in memory, for stores that keep a snapshot file."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group changes from one command; a snapshot store reloads and saves around it."""
        yield

    def close(self) -> None:  # noqa: B027
        pass
