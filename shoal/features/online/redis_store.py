"""The production online store: one Redis sorted set per (index, key), scored by time.

A member is a 12-hex-digit arrival number followed by the row as JSON, so that rows with the
same time sort in arrival order. Appending and expiring run in one Lua script, atomic against
concurrent inserts and requests; a request reads every index it needs in one pipeline (one
round trip). Timestamps travel as integer microseconds; scores stay below 2^53, exact in a double.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis

from shoal.errors import ShoalError
from shoal.features.online.base import Fetch, IndexSpec, Key, OnlineStore, Row
from shoal.features.schema import Kind, from_micros, to_micros

_INSERT = """
local span = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local all = ARGV[4] == '1'
local touched = {}
for i = 5, #ARGV, 3 do
  local key = ARGV[i]
  local seq = redis.call('INCR', KEYS[1])
  redis.call('ZADD', key, ARGV[i + 1], string.format('%012x', seq) .. ARGV[i + 2])
  touched[key] = true
end
for key, _ in pairs(touched) do
  local n = redis.call('ZCARD', key)
  local drop = 0
  if not all then
    if span >= 0 then
      local newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
      local old = redis.call('ZCOUNT', key, '-inf', '(' .. string.format('%.0f', newest - span))
      drop = math.min(old, n - keep)
    else
      drop = n - keep
    end
    if drop < 0 then drop = 0 end
  end
  if n - drop > cap then drop = n - cap end
  if drop > 0 then redis.call('ZREMRANGEBYRANK', key, 0, drop - 1) end
end
return 0
"""
# A member is a fixed-width hex arrival number, then the row: short members keep Redis's compact
# (listpack) encoding of small sorted sets, about a third of the memory of its skiplist.
_SEQ_DIGITS = 12
_BATCH = 500  # rows per script call: large enough to amortize the round trip, small enough not to block Redis


class OnlineStoreError(ShoalError):
    code = "online_store_error"


def _encode(row: Row, kinds: tuple[Kind, ...]) -> str:
    values = [to_micros(v) if k is Kind.TIMESTAMP and v is not None else v for v, k in zip(row, kinds, strict=True)]
    return json.dumps(values, separators=(",", ":"))


def _decoder(kinds: tuple[Kind, ...], time: int):  # type: ignore[no-untyped-def]
    stamps = [i for i, k in enumerate(kinds) if k is Kind.TIMESTAMP]
    floats = [i for i, k in enumerate(kinds) if k is Kind.FLOAT]

    def decode(members: list[bytes]) -> tuple[list[int], list[Row]]:
        if not members:
            return [], []
        # One json.loads for all of a key's rows: far cheaper than one call per row.
        decoded = json.loads(b"[" + b",".join(m[_SEQ_DIGITS:] for m in members) + b"]")
        # The encoded time is the score (microseconds or the integer time): no WITHSCORES needed,
        # which redis-py parses slowly.
        scores = [v[time] for v in decoded]
        for values in decoded:
            for i in stamps:
                if values[i] is not None:
                    values[i] = from_micros(values[i])
            for i in floats:  # JSON reads 2.0 back as 2.0, but 2 (an int) must become a float
                if values[i] is not None:
                    values[i] = float(values[i])
        return scores, [tuple(v) for v in decoded]

    return decode


class RedisStore(OnlineStore):
    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "shoal:fs") -> None:
        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url)
        self._insert = self.client.register_script(_INSERT)
        self._decoders: dict[tuple[tuple[Kind, ...], int], Any] = {}
        try:
            self.client.ping()
        except redis.RedisError as e:
            raise OnlineStoreError(f"cannot reach the Redis online store at {url}: {e}") from None

    def _key(self, namespace: str, index: IndexSpec, key: Key) -> str:
        # -0.0 + 0.0 is 0.0: the two zeros are one key, as in DuckDB's PARTITION BY (and a dict).
        values = [v + 0.0 if isinstance(v, float) else v for v in key]
        return f"{self.prefix}:{namespace}:{index.name}:{json.dumps(values, separators=(',', ':'), default=str)}"

    def insert(self, namespace: str, index: IndexSpec, items: Sequence[tuple[Key, int, Row]]) -> None:
        head = [index.span if index.span is not None else -1, index.rows, index.cap, "1" if index.keep_all else "0"]
        seq_key = f"{self.prefix}:{namespace}:seq"
        for start in range(0, len(items), _BATCH):
            args: list[Any] = list(head)
            for key, score, row in items[start : start + _BATCH]:
                args += [self._key(namespace, index, key), score, _encode(row, index.kinds)]
            self._insert(keys=[seq_key], args=args)

    def fetch(self, namespace: str, requests: Sequence[Fetch]) -> list[tuple[list[int], list[Row]]]:
        pipe = self.client.pipeline(transaction=False)
        for r in requests:
            key = self._key(namespace, r.index, r.key)
            if r.latest_only:
                pipe.zrevrangebyscore(key, r.until, "-inf", start=0, num=1)
            else:
                pipe.zrangebyscore(key, "-inf", r.until)
        out: list[tuple[list[int], list[Row]]] = []
        for r, members in zip(requests, pipe.execute(), strict=True):
            decode = self._decoders.get((r.index.kinds, r.index.time))
            if decode is None:
                decode = self._decoders[(r.index.kinds, r.index.time)] = _decoder(r.index.kinds, r.index.time)
            out.append(decode(members))
        return out

    def _keys(self, namespace: str) -> list[bytes]:
        return list(self.client.scan_iter(match=f"{self.prefix}:{namespace}:*", count=1000))

    def clear(self, namespace: str) -> None:
        keys = self._keys(namespace)
        for start in range(0, len(keys), 1000):
            self.client.delete(*keys[start : start + 1000])

    def stats(self, namespace: str) -> dict[str, int]:
        keys = [k for k in self._keys(namespace) if not k.endswith(b":seq")]
        pipe = self.client.pipeline(transaction=False)
        for k in keys:
            pipe.zcard(k)
        return {"keys": len(keys), "rows": sum(pipe.execute()) if keys else 0}

    def close(self) -> None:
        self.client.close()
