"""The embedded online store: per key, sorted lists in a dict, behind one lock.

`path` makes it persistent across processes (the CLI's default): the whole store is loaded
from a snapshot file on open and written back atomically by `save()`, under a file lock so that
two CLI commands never lose each other's rows. A server process keeps it in memory and saves
when it is told to.
"""

from __future__ import annotations

import bisect
import fcntl
import os
import pickle
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shoal.features.online.base import Fetch, IndexSpec, Key, OnlineStore, Row

# namespace -> index name -> key -> ([scores], [rows])
_Data = dict[str, dict[str, dict[Key, tuple[list[int], list[Row]]]]]


class MemoryStore(OnlineStore):
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._data: _Data = {}
        if self.path and self.path.exists():
            with self._file_lock(shared=True):
                self._data = self._read()

    @contextmanager
    def _file_lock(self, shared: bool = False) -> Iterator[None]:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _read(self) -> _Data:
        assert self.path is not None
        if not self.path.exists():
            return {}
        with open(self.path, "rb") as f:
            return pickle.load(f)  # our own snapshot under SHOAL_HOME

    def insert(self, namespace: str, index: IndexSpec, items: Sequence[tuple[Key, int, Row]]) -> None:
        with self._lock:
            keys = self._data.setdefault(namespace, {}).setdefault(index.name, {})
            touched: set[Key] = set()
            for key, score, row in items:
                entry = keys.get(key)
                if entry is None:
                    entry = keys[key] = ([], [])
                scores, rows = entry
                if not scores or score >= scores[-1]:
                    scores.append(score)
                    rows.append(row)
                else:  # a late row: after the rows with the same time, which arrived earlier
                    i = bisect.bisect_right(scores, score)
                    scores.insert(i, score)
                    rows.insert(i, row)
                touched.add(key)
            for key in touched:
                scores, rows = keys[key]
                old = bisect.bisect_left(scores, scores[-1] - index.span) if index.span is not None else 0
                drop = index.drop_count(scores, old)
                if drop > 0:
                    del scores[:drop]
                    del rows[:drop]

    def fetch(self, namespace: str, requests: Sequence[Fetch]) -> list[tuple[list[int], list[Row]]]:
        out: list[tuple[list[int], list[Row]]] = []
        with self._lock:
            indexes = self._data.get(namespace, {})
            for r in requests:
                entry = indexes.get(r.index.name, {}).get(r.key)
                if entry is None:
                    out.append(([], []))
                    continue
                scores, rows = entry
                end = bisect.bisect_right(scores, r.until)
                start = max(0, end - 1) if r.latest_only else 0
                out.append((scores[start:end], rows[start:end]))
        return out

    def clear(self, namespace: str) -> None:
        with self._lock:
            self._data.pop(namespace, None)

    def stats(self, namespace: str) -> dict[str, int]:
        with self._lock:
            indexes = self._data.get(namespace, {})
            return {
                "keys": sum(len(keys) for keys in indexes.values()),
                "rows": sum(len(s) for keys in indexes.values() for s, _ in keys.values()),
            }

    def _write(self) -> None:
        assert self.path is not None
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with self._lock, open(tmp, "wb") as f:
            pickle.dump(self._data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.path)

    def save(self) -> None:
        if self.path is not None:
            with self._file_lock():
                self._write()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Reload, change and save the snapshot under an exclusive lock (no lost updates)."""
        if self.path is None:
            yield
            return
        with self._file_lock():
            self._data = self._read()
            yield
            self._write()
