"""Managed tables and deployed feature sets in the real metadata database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shoal.features import FeatureSqlError, TableNotFound, catalog, compute_offline
from shoal.features.errors import FeatureSetNotFound
from shoal.features.online import MemoryStore, RedisStore
from shoal.store import Store
from tests.features.conftest import TALKINGDATA_SQL, require_redis


def test_import_csv_then_append_keeps_arrival_order(store: Store, talkingdata_csv: Path, tmp_path: Path) -> None:
    v1 = catalog.import_table(store, "clicks", path=talkingdata_csv)
    assert (v1.version, v1.row_count) == (1, 3000)
    assert v1.schema.columns["click_time"] == "TIMESTAMP" and v1.schema.columns["ip"] in ("BIGINT", "INTEGER")
    extra = tmp_path / "more.csv"
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{talkingdata_csv}') LIMIT 10) TO '{extra}' (HEADER)")
    v2 = catalog.import_table(store, "clicks", path=extra, mode="append")
    assert (v2.version, v2.row_count) == (2, 3010)
    con = duckdb.connect()
    stored = [r[0] for r in con.execute(f"SELECT ip FROM read_parquet('{v2.location}')").fetchall()]
    original = [r[0] for r in con.execute(f"SELECT ip FROM read_csv('{talkingdata_csv}')").fetchall()]
    assert stored == original + original[:10]
    assert [t.version for t in catalog.list_tables(store)] == [2]


def test_bad_imports_change_nothing(store: Store, talkingdata_csv: Path, tmp_path: Path) -> None:
    catalog.import_table(store, "clicks", path=talkingdata_csv)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(FeatureSqlError, match="cannot append to clicks: columns"):
        catalog.import_table(store, "clicks", path=other, mode="append")
    with pytest.raises(TableNotFound, match="no such file"):
        catalog.import_table(store, "clicks", path=tmp_path / "missing.csv")
    with pytest.raises(TableNotFound, match="does not exist yet"):
        catalog.import_table(store, "nothing", path=other, mode="append")
    with pytest.raises(FeatureSqlError, match="cannot read the data"):
        catalog.import_table(store, "q", sql="SELECT * FROM no_such_table")
    assert [(t.name, t.version) for t in catalog.list_tables(store)] == [("clicks", 1)]
    files = sorted(p.name for p in Path(catalog.get_table(store, "clicks").location).parent.iterdir())
    assert files == ["v1.parquet"]


def test_import_from_sql_reads_managed_tables(store: Store, talkingdata_csv: Path) -> None:
    catalog.import_table(store, "clicks", path=talkingdata_csv)
    busy = catalog.import_table(store, "busy", sql="SELECT ip, count(*) AS n FROM clicks GROUP BY ip HAVING n > 20")
    assert busy.row_count > 0 and list(busy.schema.columns) == ["ip", "n"]


def test_deploy_versions_only_on_change_and_bad_sql_stores_nothing(store: Store, talkingdata_csv: Path) -> None:
    catalog.import_table(store, "talkingdata", path=talkingdata_csv)
    sql = TALKINGDATA_SQL.read_text()
    info, changed = catalog.deploy(store, "td", sql)
    assert (info.version, changed) == (1, True)
    assert catalog.deploy(store, "td", sql)[0].version == 1 and not catalog.deploy(store, "td", sql)[1]
    info2, changed = catalog.deploy(store, "td", sql.replace("ip_1h ", "ip_1h ", 1) + "\n")
    assert (info2.version, changed) == (2, True)
    with pytest.raises(FeatureSqlError, match=r"line 1, col 8: unknown column nope"):
        catalog.deploy(store, "broken", "SELECT nope, count(*) OVER w AS n FROM talkingdata "
                       "WINDOW w AS (PARTITION BY ip ORDER BY click_time)")
    with pytest.raises(TableNotFound, match="no table missing"):
        catalog.deploy(store, "broken", "SELECT a FROM missing")
    with pytest.raises(FeatureSetNotFound, match="deploy it with"):
        catalog.get_feature_set(store, "broken")
    assert [i.name for i in catalog.list_feature_sets(store)] == ["td"]
    assert catalog.get_feature_set(store, "td", version=1).version == 1


@pytest.mark.parametrize("kind", ["memory", pytest.param("redis", marks=pytest.mark.integration)])
def test_online_import_then_request_matches_offline(
    store: Store, talkingdata_csv: Path, kind: str, redis_prefix: str, tmp_path: Path
) -> None:
    """The README's promise: a new click's online features equal its offline row."""
    table = catalog.import_table(store, "talkingdata", path=talkingdata_csv)
    info, _ = catalog.deploy(store, "td", TALKINGDATA_SQL.read_text())
    online = (
        MemoryStore(tmp_path / "online.pkl") if kind == "memory" else RedisStore(require_redis(), prefix=redis_prefix)
    )
    try:
        _, fs = catalog.open_feature_set(store, online, "td")
        stored = fs.import_offline(catalog.table_sources(store, info))
        assert stored > 0
        # A new click after the imported ones: offline, it is the last row of table + click.
        new = {"ip": 5, "app": 1, "device": 2, "os": 3, "channel": 4, "click_time": "2017-11-08 23:59:59",
               "is_attributed": 0}
        online_value = fs.compute(new)
        both = duckdb.sql(
            f"SELECT * FROM read_parquet('{table.location}') UNION ALL "
            "SELECT 5, 1, 2, 3, 4, TIMESTAMP '2017-11-08 23:59:59', 0"
        ).fetchall()
        from shoal.features.offline import Source

        offline_value = compute_offline(info.query(), {"talkingdata": Source.from_rows(table.schema, both)})[-1]
        assert online_value == offline_value
        assert online_value["ip_clicks_1d"] >= 1
        # Importing again (a workflow's second run) replaces the rows instead of doubling them.
        before = fs.stats()
        assert fs.import_offline(catalog.table_sources(store, info)) == stored
        assert fs.stats() == before and fs.compute(new) == online_value
    finally:
        online.clear(info.namespace)
        online.close()


def test_open_online_store_by_setting(store: Store) -> None:
    assert isinstance(catalog.open_online_store(store.settings), MemoryStore)
    bad = store.settings.model_copy(update={"online_store": "kafka://x"})
    with pytest.raises(FeatureSqlError, match="use memory or a redis:// URL"):
        catalog.open_online_store(bad)
