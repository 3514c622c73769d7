"""Online stores: recent rows per key for request mode (memory, Redis)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shoal.features.online.base import Fetch, IndexSpec, OnlineStore
from shoal.features.online.memory import MemoryStore, SnapshotReader

if TYPE_CHECKING:
    from shoal.features.online.redis_store import RedisStore


def __getattr__(name: str) -> Any:
    # The Redis client takes a tenth of a second to import: only for a store that is Redis.
    if name == "RedisStore":
        from shoal.features.online.redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module 'shoal.features.online' has no attribute {name!r}")


__all__ = ["Fetch", "IndexSpec", "MemoryStore", "OnlineStore", "RedisStore", "SnapshotReader"]
