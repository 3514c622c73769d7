"""Feature engine: one feature SQL, offline in DuckDB and online in request mode.

    from shoal.features import compile_feature_sql, Source, extract, FeatureSet, MemoryStore

    schemas = {"clicks": Source.from_path("clicks.parquet").describe("clicks")}
    query = compile_feature_sql(open("features.sql").read(), schemas)
    extract(query, {"clicks": Source.from_path("clicks.parquet")}, "samples.parquet")   # offline
    fs = FeatureSet(query, MemoryStore())
    fs.import_offline({"clicks": Source.from_path("clicks.parquet")})                   # online
    fs.compute({"ip": 1, "app": 3, "click_time": "2017-11-09 10:00:00"})

Usable without the scheduler; the task types and `shoal features` wrap this library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal._lazy import lazy_exports

if TYPE_CHECKING:
    from shoal.features.errors import FeatureSetNotFound, FeatureSqlError, RowError, TableNotFound
    from shoal.features.featureset import FeatureSet, ImportResult
    from shoal.features.offline import ExtractResult, Source, compute_offline, extract, offline_sql
    from shoal.features.online import MemoryStore, OnlineStore, SnapshotReader
    from shoal.features.online.redis_store import RedisStore
    from shoal.features.parse import compile_feature_sql, referenced_tables
    from shoal.features.query import FeatureQuery
    from shoal.features.schema import Kind, TableSchema

# Each name loads its module on first use: request mode (`features compute`, `shoal serve`)
# must not pay for DuckDB, and only a Redis store for the Redis client.
_HOMES = {
    "FeatureSetNotFound": "errors", "FeatureSqlError": "errors", "RowError": "errors", "TableNotFound": "errors",
    "FeatureSet": "featureset", "ImportResult": "featureset",
    "ExtractResult": "offline", "Source": "offline", "compute_offline": "offline", "extract": "offline",
    "offline_sql": "offline",
    "MemoryStore": "online", "OnlineStore": "online", "SnapshotReader": "online", "RedisStore": "online.redis_store",
    "compile_feature_sql": "parse", "referenced_tables": "parse",
    "FeatureQuery": "query",
    "Kind": "schema", "TableSchema": "schema",
}
__getattr__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "ExtractResult", "FeatureQuery", "FeatureSet", "FeatureSetNotFound", "FeatureSqlError", "ImportResult", "Kind",
    "MemoryStore", "OnlineStore", "RedisStore", "RowError", "SnapshotReader", "Source", "TableNotFound",
    "TableSchema", "compile_feature_sql", "compute_offline", "extract", "offline_sql", "referenced_tables",
]
