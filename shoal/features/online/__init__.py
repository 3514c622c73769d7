"""Online stores: recent rows per key for request mode (memory, Redis)."""

from shoal.features.online.base import Fetch, IndexSpec, OnlineStore
from shoal.features.online.memory import MemoryStore
from shoal.features.online.redis_store import RedisStore

__all__ = ["Fetch", "IndexSpec", "MemoryStore", "OnlineStore", "RedisStore"]
