"""Managed tables and deployed feature sets in the real metadata database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shoal.errors import InvalidInput
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


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ["is empty", "nothing to import"]),
        (b"ip,app,click_time\n", ["has no data rows", "a header"]),
        (b"ip,app,click_time\r\n\r\n", ["has no data rows"]),
        (b"\n\n  \n", ["has no data rows"]),
    ],
    ids=["empty", "header_only", "header_and_blank_lines", "blank_lines"],
)
def test_a_csv_without_rows_is_refused(store: Store, tmp_path: Path, content: bytes, words: list[str]) -> None:
    """No rows, no column types (DuckDB would read every column as VARCHAR): nothing is registered."""
    path = tmp_path / "clicks.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as info:
        catalog.import_table(store, "clicks", path=path)
    for w in [*words, str(path)]:
        assert w in str(info.value), f"{w!r} not in {info.value}"
    assert catalog.list_tables(store) == []
    assert not (Path(store.settings.artifacts_url) / "tables").exists()


def test_unreadable_imports_get_one_line_errors(store: Store, tmp_path: Path, talkingdata_csv: Path) -> None:
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(FeatureSqlError) as info:
        catalog.import_table(store, "b", path=binary)
    assert str(binary) in str(info.value) and "\n" not in str(info.value) and len(str(info.value)) < 300
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InvalidInput, match="is a directory"):
        catalog.import_table(store, "f", path=folder)
    # --sql runs exactly one SELECT: a second statement would run (and change things) unchecked.
    catalog.import_table(store, "clicks", path=talkingdata_csv)
    for sql, found in [("SELECT 1 AS a; DROP TABLE clicks", "SELECT, DROP"),
                       (f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'", "COPY")]:
        with pytest.raises(FeatureSqlError, match=f"must be one SELECT statement, found: {found}"):
            catalog.import_table(store, "q", sql=sql)
    assert not (tmp_path / "out.csv").exists()
    assert catalog.import_table(store, "q", sql="SELECT ip FROM clicks -- a comment").row_count == 3000
    assert [t.name for t in catalog.list_tables(store)] == ["clicks", "q"]


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
    # Numbers the metadata database cannot hold: refused (a cap), not found (a version).
    with pytest.raises(FeatureSqlError, match="between 1 and 2147483647"):
        catalog.deploy(store, "big", sql, max_rows_per_key=10**20)
    for version in (0, -1, 2**31, 10**20):
        with pytest.raises(FeatureSetNotFound, match=f"no feature set td v{version}"):
            catalog.get_feature_set(store, "td", version=version)
    assert [i.name for i in catalog.list_feature_sets(store)] == ["td"]


def test_table_files_must_match_the_deployed_schema(store: Store, talkingdata_csv: Path, tmp_path: Path) -> None:
    catalog.import_table(store, "talkingdata", path=talkingdata_csv)
    info, _ = catalog.deploy(store, "td", TALKINGDATA_SQL.read_text())
    text_time = tmp_path / "text_time.csv"
    text_time.write_text("ip,app,device,os,channel,click_time,is_attributed\n1,2,3,4,5,yesterday,0\n")
    no_ip = tmp_path / "no_ip.csv"
    no_ip.write_text("app,device,os,channel,click_time\n2,3,4,5,2017-11-06 00:00:00\n")
    with pytest.raises(FeatureSqlError, match="column click_time is VARCHAR, but feature set td v1 was deployed "
                       "with TIMESTAMP"):
        catalog.table_sources(store, info, {"talkingdata": str(text_time)})
    with pytest.raises(FeatureSqlError, match="has no column ip, which feature set td v1 reads"):
        catalog.table_sources(store, info, {"talkingdata": str(no_ip)})
    assert set(catalog.table_sources(store, info)) == {"talkingdata"}


@pytest.mark.parametrize("kind", ["memory", pytest.param("redis", marks=pytest.mark.integration)])
@pytest.mark.slow
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
        # Every table row is read once; each index stores its own copy of the rows it keeps.
        assert stored.rows_read == {"talkingdata": table.row_count} == {"talkingdata": 3000}
        assert set(stored.rows_stored) == set(fs.indexes) and stored.total_stored == fs.stats()["rows"]
        assert all(0 < n <= 3000 for n in stored.rows_stored.values())
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


def test_an_old_pickle_snapshot_is_refused_not_loaded(store: Store, tmp_path: Path) -> None:
    """Earlier versions kept the embedded store as SHOAL_HOME/online/memory.pkl: loading a pickle
    runs code, so it is never opened; the message says how to rebuild the store."""
    import os
    import pickle

    from shoal.errors import Conflict

    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.mkdir, (str(marker),))

    legacy = store.settings.home_dir / "online" / "memory.pkl"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(pickle.dumps({"default/td/v1": RunsCode()}))
    with pytest.raises(Conflict) as info:
        catalog.open_online_store(store.settings)
    assert str(legacy) in str(info.value) and "old pickle format" in str(info.value)
    assert f"remove {legacy}" in str(info.value) and "shoal features online-import" in str(info.value)
    assert not marker.exists() and legacy.exists()
    assert sorted(p.name for p in legacy.parent.iterdir()) == ["memory.pkl"]  # nothing else written
    legacy.unlink()
    assert isinstance(catalog.open_online_store(store.settings), MemoryStore)


def test_extract_refuses_an_output_it_cannot_write(talkingdata_csv: Path, tmp_path: Path) -> None:
    from shoal.features import Source, compile_feature_sql, extract

    src = Source.from_path(talkingdata_csv)
    query = compile_feature_sql(TALKINGDATA_SQL.read_text(), {"talkingdata": src.describe("talkingdata")})
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for out, words in ((a_file / "deeper" / "s.parquet", f"{a_file} is not a directory"), (tmp_path, "a directory")):
        with pytest.raises(InvalidInput, match=words):
            extract(query, {"talkingdata": src}, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
