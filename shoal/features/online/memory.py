"""The embedded online store: per key, sorted lists in a dict, behind one lock.

`path` makes it persistent across processes (the CLI's default): the whole store is loaded
from a snapshot file on open and written back atomically by `save()`, under a file lock so that
two CLI commands never lose each other's rows. A server process keeps it in memory and saves
when it is told to. The snapshot holds typed Arrow columns (`_snapshot.py`), never a pickle:
loading it cannot run code.
"""

from __future__ import annotations

import bisect
import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shoal.features.online.base import Fetch, IndexSpec, Key, OnlineStore, Row
from shoal.features.schema import Kind

# index name -> key -> ([scores], [rows]): one namespace
Indexes = dict[str, dict[Key, tuple[list[int], list[Row]]]]
# namespace -> index name -> key -> ([scores], [rows])
Data = dict[str, Indexes]
# (namespace, index name) -> (row kinds, key positions): what a snapshot needs to type its columns
Specs = dict[tuple[str, str], tuple[tuple[Kind, ...], tuple[int, ...]]]


def rebuild_hint(path: Path) -> str:
    """What to do about a snapshot shoal will not read."""
    return (
        f"remove {path} and re-run `shoal features online-import NAME` for each deployed feature set "
        "(rows added with `features insert` since the last import must be inserted again)"
    )


class MemoryStore(OnlineStore):
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._data: Data = {}
        self._specs: Specs = {}
        if self.path and self.path.exists():
            with self._file_lock(shared=True):
                self._data, self._specs = self._read()

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

    def _read(self) -> tuple[Data, Specs]:
        assert self.path is not None
        if not self.path.exists():
            return {}, {}
        from shoal.features.online import _snapshot  # Arrow: only for a store with a snapshot

        return _snapshot.read(self.path)

    def insert(self, namespace: str, index: IndexSpec, items: Sequence[tuple[Key, int, Row]]) -> None:
        with self._lock:
            self._specs[(namespace, index.name)] = (index.kinds, index.key)
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
        with self._lock:
            return _fetch(self._data.get(namespace, {}), requests)

    def clear(self, namespace: str) -> None:
        with self._lock:
            self._data.pop(namespace, None)
            for spec in [s for s in self._specs if s[0] == namespace]:
                del self._specs[spec]

    def stats(self, namespace: str) -> dict[str, int]:
        with self._lock:
            indexes = self._data.get(namespace, {})
            return {
                "keys": sum(len(keys) for keys in indexes.values()),
                "rows": sum(len(s) for keys in indexes.values() for s, _ in keys.values()),
            }

    def _write(self) -> None:
        assert self.path is not None
        from shoal.features.online import _snapshot

        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            # Private to its owner, like everything under SHOAL_HOME.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with self._lock, os.fdopen(fd, "wb") as f:
                _snapshot.write(f, self._data, self._specs)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

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
            self._data, self._specs = self._read()
            yield
            self._write()


def _fetch(indexes: Indexes, requests: Sequence[Fetch]) -> list[tuple[list[int], list[Row]]]:
    out: list[tuple[list[int], list[Row]]] = []
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


class SnapshotReader(OnlineStore):
    """A read-only view of a MemoryStore's snapshot for one-off requests (`shoal features
    compute`, `list`, `show`): `fetch` decodes just the keys it is asked for and `stats` reads
    only lengths, where opening a MemoryStore would turn every stored row into Python objects
    first (seconds for a few hundred thousand rows). Each call reads the snapshot as it is then.
    A server answering many requests keeps a MemoryStore instead.

    It takes no file lock: the snapshot is replaced atomically (`os.replace`), so a reader sees
    either the old file or the new one, whole.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def fetch(self, namespace: str, requests: Sequence[Fetch]) -> list[tuple[list[int], list[Row]]]:
        if not self.path.exists():
            return [([], []) for _ in requests]
        from shoal.features.online import _snapshot

        wanted: dict[str, set[Key]] = {}
        for r in requests:
            wanted.setdefault(r.index.name, set()).add(r.key)
        return _fetch(_snapshot.read_keys(self.path, namespace, wanted), requests)

    def stats(self, namespace: str) -> dict[str, int]:
        if not self.path.exists():
            return {"keys": 0, "rows": 0}
        from shoal.features.online import _snapshot

        return _snapshot.stats(self.path, namespace)

    def insert(self, namespace: str, index: IndexSpec, items: Sequence[tuple[Key, int, Row]]) -> None:
        raise TypeError("a SnapshotReader is read-only: open a MemoryStore to insert rows")

    def clear(self, namespace: str) -> None:
        raise TypeError("a SnapshotReader is read-only: open a MemoryStore to clear a namespace")
