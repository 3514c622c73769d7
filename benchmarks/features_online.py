"""Online feature serving: shoal `FeatureSet.compute(row)` latency vs a naive recompute in pandas.

One run, on this machine:
1. generates (or reuses from the cache dir) a Parquet file of transactions: --keys users
   (default 100,000), ~--rows-per-key rows each (default 100, so ~10M rows), all within the last
   day before END, in time order;
2. compiles a feature SQL of 10 features partitioned by user_id: count(*), sum, avg, min, max,
   distinct_count, count_where, lag and first_value over a 1-day window and count(*) over a 1-hour
   window (one online index: both windows share PARTITION BY user_id);
3. loads a MemoryStore and a RedisStore with `FeatureSet.import_offline` (load time, rows/s,
   memory per stored row: RSS delta and a sampled deep object size for memory, INFO memory
   used_memory delta for Redis; Redis uses a unique namespace, cleared at the end);
4. prepares the pandas anchor: the same Parquet read into a DataFrame and split up front into a
   dict user_id -> that user's rows (groupby), sorted by time;
5. times --requests (default 20,000) random requests (random user, time = END + 1-10 s, random
   row values) through each of MemoryStore, RedisStore and pandas, one request at a time and
   interleaved (the order rotates per request), after an untimed warm-up;
6. checks a sample (--check, default 200) of requests: shoal's values (both stores) against
   pandas' (floats compared with a relative tolerance of 1e-9), and reports mismatches.

The pandas recompute per request: take the user's frame, filter it with boolean masks to the
rows within the last day / hour of the request time, and compute the 10 aggregates with pandas
methods, folding the request row itself in with scalar arithmetic (cheaper than concatenating a
one-row frame). It is the same definition as shoal's: the window is the stored rows with time in
[t - range, t] plus the request row.

Prints ONE JSON line on stdout and writes it to benchmarks/results/features_online.json.
Usage: python benchmarks/features_online.py [--keys N] [--rows-per-key R] [--requests N]
       [--redis-url URL] [--skip-redis] [--no-write]
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import gc
import json
import math
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _features_common import (
    DATA_DIR,
    latency_summary,
    logger,
    machine_facts,
    write_result,
)

from shoal.features import (
    FeatureSet,
    MemoryStore,
    RedisStore,
    Source,
    compile_feature_sql,
)

log = logger("features_online")

GENERATOR_VERSION = 1
END = dt.datetime(2024, 6, 1, 0, 0, 0)  # every generated row is within the day before END
SEED = 20240601
TARGETS_P99_MS = {"memory": 2.0, "redis": 5.0}
CATEGORIES = [f"c{i}" for i in range(20)]

FEATURE_SQL = """\
SELECT
  count(*) OVER d1 AS tx_count_1d,
  sum(amount) OVER d1 AS amount_sum_1d,
  avg(amount) OVER d1 AS amount_avg_1d,
  min(amount) OVER d1 AS amount_min_1d,
  max(amount) OVER d1 AS amount_max_1d,
  distinct_count(merchant) OVER d1 AS merchants_1d,
  count_where(amount, amount > 100) OVER d1 AS big_tx_1d,
  lag(amount, 1) OVER d1 AS prev_amount,
  first_value(category) OVER d1 AS first_category_1d,
  count(*) OVER h1 AS tx_count_1h
FROM tx
WINDOW
  d1 AS (PARTITION BY user_id ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW),
  h1 AS (PARTITION BY user_id ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)"""


def _u(h: str) -> str:
    return f"(({h}) % 4294967296) / 4294967296.0"


def generate(keys: int, rows_per_key: int, path: Path) -> float:
    rows = keys * rows_per_key
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    con = duckdb.connect()
    t0 = time.perf_counter()
    cats = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    con.execute(f"""
        COPY (
          SELECT
            CAST(hash(i, 1) % {keys} AS INTEGER) AS user_id,
            TIMESTAMP '{END:%Y-%m-%d %H:%M:%S}' - to_milliseconds(CAST(hash(i, 2) % 86400000 AS BIGINT)) AS ts,
            round(1 + 499 * pow({_u('hash(i, 3)')}, 2), 2) AS amount,
            CAST(floor(5000 * pow({_u('hash(i, 4)')}, 2)) AS INTEGER) AS merchant,
            ({cats})[1 + CAST(hash(i, 5) % {len(CATEGORIES)} AS INTEGER)] AS category
          FROM range({rows}) t(i)
          ORDER BY ts, i
        ) TO '{tmp}' (FORMAT parquet)
    """)
    os.replace(tmp, path)
    con.close()
    return time.perf_counter() - t0


def describe_data(path: Path) -> dict[str, Any]:
    con = duckdb.connect()
    r = con.execute(f"""
        SELECT count(*), count(DISTINCT user_id), min(ts)::VARCHAR, max(ts)::VARCHAR,
               count(DISTINCT merchant), count(DISTINCT category)
        FROM read_parquet('{path}')
    """).fetchone()
    per_key = con.execute(f"""
        SELECT min(c), median(c), max(c) FROM (SELECT count(*) c FROM read_parquet('{path}') GROUP BY user_id)
    """).fetchone()
    con.close()
    return {
        "rows": r[0], "keys": r[1], "min_ts": r[2], "max_ts": r[3], "distinct_merchant": r[4],
        "distinct_category": r[5], "rows_per_key_min": per_key[0], "rows_per_key_median": per_key[1],
        "rows_per_key_max": per_key[2], "bytes": path.stat().st_size,
    }


# ----------------------------------------------------------------------------------------- memory


_libc = ctypes.CDLL("libc.so.6") if sys.platform.startswith("linux") else None


def rss_bytes() -> int:
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)  # give freed heap back, so RSS tracks live memory
    return psutil.Process().memory_info().rss


def sampled_deep_size(store: MemoryStore, namespace: str, sample: int, rng: random.Random) -> dict[str, Any]:
    """Bytes per stored row of the MemoryStore's Python objects, from a sample of keys.

    Counts, for each sampled key, the key tuple, its ([scores], [rows]) entry, each score, each row
    tuple and every value in it (each object once), plus the key's share of the dict tables.
    """
    indexes = store._data[namespace]
    total_keys = sum(len(k) for k in indexes.values())
    seen: set[int] = set()
    size = 0
    rows = 0

    def add(obj: object) -> None:
        nonlocal size
        if id(obj) not in seen:
            seen.add(id(obj))
            size += sys.getsizeof(obj)

    dict_bytes = 0
    for keys in indexes.values():
        dict_bytes += sys.getsizeof(keys)
        picked = rng.sample(list(keys), min(sample, len(keys)))
        for key in picked:
            add(key)
            for v in key:
                add(v)
            entry = keys[key]
            add(entry)
            scores, rws = entry
            add(scores)
            add(rws)
            for s in scores:
                add(s)
            for row in rws:
                add(row)
                for v in row:
                    add(v)
            rows += len(scores)
    per_row = size / rows if rows else math.nan
    stored = sum(len(s) for keys in indexes.values() for s, _ in keys.values())
    return {
        "sample_keys": sample, "sample_rows": rows,
        "bytes_per_row": round(per_row + dict_bytes / stored, 1) if stored else None,
        "dict_bytes_per_row": round(dict_bytes / stored, 1) if stored else None,
        "total_keys": total_keys,
    }


def redis_used_memory(client) -> int:  # type: ignore[no-untyped-def]
    return int(client.info("memory")["used_memory"])


# ----------------------------------------------------------------------------------------- pandas


class PandasAnchor:
    def __init__(self, path: Path) -> None:
        import pandas as pd

        self.pd = pd
        t0 = time.perf_counter()
        con = duckdb.connect()
        df = con.execute(f"SELECT user_id, ts, amount, merchant, category FROM read_parquet('{path}')").df()
        con.close()
        self.read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = df.sort_values("ts", kind="stable")
        self.frames = {k: g for k, g in df.groupby("user_id", sort=False)}
        self.groupby_s = time.perf_counter() - t0
        self.rows = len(df)
        self.day = pd.Timedelta(days=1)
        self.hour = pd.Timedelta(hours=1)
        self.empty = df.iloc[:0]
        del df

    def compute(self, req: dict[str, Any]) -> dict[str, Any]:
        pd = self.pd
        t = pd.Timestamp(req["ts"])
        a, m, c = req["amount"], req["merchant"], req["category"]
        g = self.frames.get(req["user_id"], self.empty)
        ts = g["ts"]
        day = g[(ts >= t - self.day) & (ts <= t)]
        hour = day[day["ts"] >= t - self.hour]
        amounts = day["amount"]
        n = len(day)
        total = float(amounts.sum()) + a
        merchants = day["merchant"]
        return {
            "tx_count_1d": n + 1,
            "amount_sum_1d": total,
            "amount_avg_1d": total / (n + 1),
            "amount_min_1d": min(float(amounts.min()), a) if n else a,
            "amount_max_1d": max(float(amounts.max()), a) if n else a,
            "merchants_1d": int(merchants.nunique()) + (0 if (merchants == m).any() else 1),
            "big_tx_1d": int((amounts > 100).sum()) + (1 if a > 100 else 0),
            "prev_amount": float(amounts.iloc[-1]) if n else None,
            "first_category_1d": day["category"].iloc[0] if n else c,
            "tx_count_1h": len(hour) + 1,
        }


# ------------------------------------------------------------------------------------------- main


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def make_requests(n: int, keys: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        out.append({
            "user_id": rng.randrange(keys),
            "ts": END + dt.timedelta(seconds=rng.randint(1, 10)),
            "amount": round(1 + 499 * rng.random() ** 2, 2),
            "merchant": int(5000 * rng.random() ** 2),
            "category": rng.choice(CATEGORIES),
        })
    return out


def load(fs: FeatureSet, data: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = fs.import_offline({"tx": Source.from_path(data)}).total_stored
    s = time.perf_counter() - t0
    return {"rows": n, "seconds": round(s, 2), "rows_per_s": round(n / s)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--rows-per-key", type=int, default=100, help="mean rows per key (default 100)")
    ap.add_argument("--requests", type=int, default=20_000, help="timed requests per system (default 20,000)")
    ap.add_argument("--warmup", type=int, default=500, help="untimed requests per system first")
    ap.add_argument("--check", type=int, default=200, help="requests whose values are compared with pandas")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--skip-redis", action="store_true")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--no-write", action="store_true", help="print the JSON, do not write benchmarks/results")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    facts = machine_facts()
    rng = random.Random(SEED)

    args.data_dir.mkdir(parents=True, exist_ok=True)
    data = args.data_dir / f"tx_{args.keys}x{args.rows_per_key}_v{GENERATOR_VERSION}.parquet"
    gen_s = None
    if not data.exists():
        log(f"generating {args.keys:,} keys x ~{args.rows_per_key} rows into {data}")
        gen_s = round(generate(args.keys, args.rows_per_key, data), 2)
    dataset = describe_data(data)
    log(f"data: {dataset}")

    query = compile_feature_sql(FEATURE_SQL, {"tx": Source.from_path(data).describe("tx")})
    names = [f.name for f in query.features]

    # -- memory store
    log("loading the MemoryStore")
    rss0 = rss_bytes()
    mem_fs = FeatureSet(query, MemoryStore(), namespace="bench/online/memory")
    mem_load = load(mem_fs, data)
    rss1 = rss_bytes()
    stored = mem_fs.stats()["rows"]
    mem_load["stored_rows"] = stored
    mem_load["keys"] = mem_fs.stats()["keys"]
    mem_load["rss_delta_bytes"] = rss1 - rss0
    mem_load["rss_bytes_per_row"] = round((rss1 - rss0) / stored, 1)
    mem_load["deep_size"] = sampled_deep_size(mem_fs.store, mem_fs.namespace, 1000, random.Random(SEED))  # type: ignore[arg-type]
    log(f"memory store: {mem_load}")

    # -- redis store
    redis_fs = None
    redis_load: dict[str, Any] = {"skipped": True}
    if not args.skip_redis:
        namespace = f"bench/online/{uuid.uuid4().hex[:12]}"
        store = RedisStore(args.redis_url)
        redis_fs = FeatureSet(query, store, namespace=namespace)
        redis_fs.clear()
        log(f"loading the RedisStore (namespace {namespace})")
        used0 = redis_used_memory(store.client)
        try:
            redis_load = load(redis_fs, data)
        except BaseException:
            redis_fs.clear()
            raise
        used1 = redis_used_memory(store.client)
        rstats = redis_fs.stats()
        redis_load.update({
            "namespace": namespace, "stored_rows": rstats["rows"], "keys": rstats["keys"],
            "used_memory_delta_bytes": used1 - used0,
            "used_memory_bytes_per_row": round((used1 - used0) / rstats["rows"], 1),
            "used_memory_after_bytes": used1,
        })
        log(f"redis store: {redis_load}")

    try:
        # -- pandas
        log("preparing pandas (read + groupby)")
        rss_p0 = rss_bytes()
        anchor = PandasAnchor(data)
        rss_p1 = rss_bytes()
        pandas_prep = {
            "read_s": round(anchor.read_s, 2), "groupby_s": round(anchor.groupby_s, 2), "rows": anchor.rows,
            "rss_delta_bytes": rss_p1 - rss_p0, "rss_bytes_per_row": round((rss_p1 - rss_p0) / anchor.rows, 1),
        }
        log(f"pandas: {pandas_prep}")

        systems: dict[str, Any] = {"memory": mem_fs.compute, "pandas": anchor.compute}
        if redis_fs is not None:
            systems["redis"] = redis_fs.compute

        # -- correctness sample
        check_reqs = make_requests(args.check, args.keys, rng)
        mismatches: dict[str, int] = {s: 0 for s in systems if s != "pandas"}
        examples: list[dict[str, Any]] = []
        for req in check_reqs:
            expect = anchor.compute(req)
            for s in mismatches:
                got = systems[s](req)
                bad = [n for n in names if not same(got[n], expect[n])]
                if bad:
                    mismatches[s] += 1
                    if len(examples) < 5:
                        examples.append({"system": s, "request": req, "features": {
                            n: {"shoal": got[n], "pandas": expect[n]} for n in bad}})
        log(f"check: mismatching requests {mismatches} of {args.check}")

        # -- latency
        warm = make_requests(args.warmup, args.keys, rng)
        reqs = make_requests(args.requests, args.keys, rng)
        order = list(systems)
        for req in warm:
            for s in order:
                systems[s](req)
        lat: dict[str, list[float]] = {s: [] for s in order}
        log(f"timing {args.requests:,} requests x {order}")
        clock = time.perf_counter_ns
        for i, req in enumerate(reqs):
            k = i % len(order)
            for s in order[k:] + order[:k]:
                f = systems[s]
                t0 = clock()
                f(req)
                lat[s].append((clock() - t0) / 1e6)
        latency = {s: latency_summary(v) for s, v in lat.items()}
        log(f"latency: {latency}")
    finally:
        if redis_fs is not None:
            redis_fs.clear()
            after_clear = redis_used_memory(redis_fs.store.client)  # type: ignore[attr-defined]
            left = redis_fs.stats()
            redis_load["namespace_cleared"] = left["keys"] == 0
            redis_load["used_memory_after_clear_bytes"] = after_clear
            redis_fs.store.close()

    ratios = {
        "pandas_p50_over_memory_p50": round(latency["pandas"]["p50_ms"] / latency["memory"]["p50_ms"], 2),
        "pandas_p99_over_memory_p99": round(latency["pandas"]["p99_ms"] / latency["memory"]["p99_ms"], 2),
    }
    if "redis" in latency:
        ratios["pandas_p50_over_redis_p50"] = round(latency["pandas"]["p50_ms"] / latency["redis"]["p50_ms"], 2)
        ratios["pandas_p99_over_redis_p99"] = round(latency["pandas"]["p99_ms"] / latency["redis"]["p99_ms"], 2)
    result = {
        "benchmark": "features_online",
        "machine": facts,
        "config": {
            "keys": args.keys, "rows_per_key_mean": args.rows_per_key, "requests": args.requests,
            "warmup": args.warmup, "check": args.check, "seed": SEED, "end": END.isoformat(sep=" "),
            "request_time": "END + 1..10 s", "redis_url": args.redis_url, "generate_s": gen_s,
            "feature_sql": FEATURE_SQL,
            "method": "one request at a time through FeatureSet.compute(row) (MemoryStore, RedisStore) and "
                      "the pandas recompute, interleaved per request (order rotates); perf_counter_ns "
                      "around each call; percentiles are nearest-rank over all timed requests.",
            "memory_method": "MemoryStore: RSS delta (gc + malloc_trim before each reading) around "
                             "import_offline, and the sampled deep sys.getsizeof of 1,000 keys' entries "
                             "(each object once) + the dict tables' share. Redis: INFO memory used_memory "
                             "delta around import_offline (the server is shared: other clients' keys "
                             "count too).",
            "pandas_method": "per-key frames prepared up front (sort by ts, dict(groupby(user_id))); per "
                             "request: boolean-mask filter to [t - 1 day, t] and [t - 1 hour, t], pandas "
                             "aggregates, the request row folded in with scalar arithmetic.",
        },
        "dataset": dataset,
        "load": {"memory": mem_load, "redis": redis_load, "pandas": pandas_prep},
        "latency": latency,
        "ratios": ratios,
        "check": {"requests": args.check, "mismatching_requests": mismatches, "examples": examples,
                  "tolerance": "floats: rel 1e-9"},
        "targets": {"p99_ms": TARGETS_P99_MS},
        "targets_met": {
            "memory_p99_le_2ms": latency["memory"]["p99_ms"] <= TARGETS_P99_MS["memory"],
            "redis_p99_le_5ms": (latency["redis"]["p99_ms"] <= TARGETS_P99_MS["redis"]) if "redis" in latency
            else None,
            "values_match_pandas": all(v == 0 for v in mismatches.values()),
        },
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    if args.no_write:
        result["machine"]["loadavg_end"] = list(os.getloadavg())
        print(json.dumps(result, separators=(",", ":"), default=str), flush=True)
    else:
        write_result("features_online", result, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
