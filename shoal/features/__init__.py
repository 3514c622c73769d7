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

from shoal.features.errors import FeatureSetNotFound, FeatureSqlError, RowError, TableNotFound
from shoal.features.featureset import FeatureSet
from shoal.features.offline import ExtractResult, Source, compute_offline, extract, offline_sql
from shoal.features.online import MemoryStore, OnlineStore, RedisStore
from shoal.features.parse import compile_feature_sql, referenced_tables
from shoal.features.query import FeatureQuery
from shoal.features.schema import Kind, TableSchema

__all__ = [
    "ExtractResult",
    "FeatureQuery",
    "FeatureSet",
    "FeatureSetNotFound",
    "FeatureSqlError",
    "Kind",
    "MemoryStore",
    "OnlineStore",
    "RedisStore",
    "RowError",
    "Source",
    "TableNotFound",
    "TableSchema",
    "compile_feature_sql",
    "compute_offline",
    "extract",
    "offline_sql",
    "referenced_tables",
]
