"""Request mode and the online stores: row checking, retention, persistence and concurrency.

Every store test runs against MemoryStore and RedisStore (Redis at SHOAL_TEST_REDIS_URL, a key
prefix of its own per test; skipped when unreachable, a failure in CI).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.features import (
    FeatureSet,
    MemoryStore,
    OnlineStore,
    RedisStore,
    RowError,
    SnapshotReader,
    Source,
    TableSchema,
    compile_feature_sql,
    compute_offline,
)
from tests.features.conftest import require_redis

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
CLICKS = TableSchema("clicks", {"ip": "BIGINT", "app": "VARCHAR", "ts": "TIMESTAMP", "v": "DOUBLE",
                                "note": "VARCHAR"})
USERS = TableSchema("users", {"uid": "BIGINT", "uts": "TIMESTAMP", "score": "DOUBLE"})
SCHEMAS = {"clicks": CLICKS, "users": USERS}
SQL = """
SELECT
  count(*) OVER w1h AS n_1h,
  sum(v) OVER w1h AS v_1h,
  count(*) OVER w3 AS n_last3,
  lag(app, 1) OVER w3 AS prev_app,
  users.score AS score
FROM clicks
LAST JOIN users ORDER BY users.uts ON clicks.ip = users.uid
WINDOW
  w1h AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW),
  w3 AS (PARTITION BY ip, app ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)
"""
ALL_SQL = """
SELECT count(*) OVER w AS n, sum(v) OVER w AS total
FROM clicks
WINDOW w AS (PARTITION BY ip ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""


def nested(depth: int) -> list[Any]:
    """[[[...]]], `depth` lists deep (built without recursion)."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def click(ip: Any = 1, app: Any = "a", minutes: float = 0, v: Any = 1.0, **extra: Any) -> dict[str, Any]:
    return {"ip": ip, "app": app, "ts": T0 + dt.timedelta(minutes=minutes), "v": v, **extra}


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[OnlineStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    s = RedisStore(require_redis(), prefix=f"shoal-test-{uuid.uuid4().hex[:10]}")
    yield s
    s.close()


@pytest.fixture
def namespace(store: OnlineStore) -> Iterator[str]:
    ns = f"test/{uuid.uuid4().hex[:8]}/v1"
    yield ns
    store.clear(ns)


def feature_set(store: OnlineStore, namespace: str, sql: str = SQL, **kw: Any) -> FeatureSet:
    return FeatureSet(compile_feature_sql(sql, SCHEMAS), store, namespace=namespace, **kw)


# -- request-row errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ({"app": "a", "ts": T0}, "ip", ["no ip", "key or time"]),  # a window key
        ({"ip": 1, "ts": T0}, "app", ["no app"]),  # the key of the second window
        ({"ip": 1, "app": "a"}, "ts", ["no ts"]),  # the time column
        ({"ip": 1, "app": "a", "ts": None}, "ts", ["ts is null", "needs a time"]),
        (click(ip="1"), "ip", ["expected an integer", "'1'"]),
        (click(ip=1.5), "ip", ["expected an integer"]),
        (click(ip=True), "ip", ["expected an integer"]),
        (click(app=3), "app", ["expected a string", "3"]),
        ({"ip": 1, "app": "a", "ts": "yesterday"}, "ts", ["expected a timestamp", "'yesterday'"]),
        ({"ip": 1, "app": "a", "ts": 1714564800.5}, "ts", ["expected a timestamp", "epoch milliseconds"]),
        ({"ip": 1, "app": "a", "ts": 10**20}, "ts", ["out of range"]),
        (click(v="1.5"), "v", ["expected a number"]),
        (click(v=math.nan), "v", ["NaN is not a value"]),
        # Values a BIGINT column cannot hold offline are refused online too.
        (click(ip=2**70), "ip", ["1180591620717411303424 is out of range for BIGINT", "9223372036854775807"]),
        (click(ip=2**63), "ip", ["out of range for BIGINT"]),
        (click(ip=-(2**63) - 1), "ip", ["out of range for BIGINT"]),
        (click(ip=1e20), "ip", ["out of range for BIGINT"]),
        (click(v=10**400), "v", ["out of range for DOUBLE"]),
        ({"ip": 1, "app": "a", "ts": 10**5000}, "ts", ["a huge integer", "out of range"]),  # no repr: too long
        # Row values are scalars, in every field (one the SQL does not read too), however deep.
        (click(app=["a"]), "app", ["row values must be scalars", "a JSON array"]),
        (click(app=nested(100_000)), "app", ["row values must be scalars", "a JSON array"]),
        (click(note={"a": nested(100_000)}), "note", ["row values must be scalars", "a JSON object"]),
        (click(extra=nested(100_000)), "extra", ["row values must be scalars"]),
        (click(app="x" * 10_000, ip="y" * 10_000), "ip", ["expected an integer", "(10002 chars)"]),
    ],
)
def test_bad_request_rows_name_the_field_and_change_nothing(
    store: OnlineStore, namespace: str, row: dict[str, Any], field: str, words: list[str]
) -> None:
    fs = feature_set(store, namespace)
    fs.insert_many([click(minutes=-5), click(minutes=-1, app="b")])
    fs.insert({"uid": 1, "uts": T0 - dt.timedelta(days=1), "score": 0.5}, table="users")
    before = fs.stats()
    good = fs.compute(click(minutes=1))
    for action in (fs.compute, fs.insert, lambda r: fs.compute_batch([click(), r])):
        with pytest.raises(RowError) as info:
            action(row)
        assert info.value.field == field
        for w in words:
            assert w in str(info.value), f"{w!r} not in {info.value}"
        assert info.value.code == "row_error"
    assert fs.stats() == before
    assert fs.compute(click(minutes=1)) == good


def test_bad_dimension_rows_name_the_field(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace)
    for row, field in [
        ({"uts": T0, "score": 1.0}, "uid"),
        ({"uid": 1, "score": 1.0}, "uts"),
        ({"uid": "x", "uts": T0}, "uid"),
        ({"uid": 1, "uts": T0, "score": "high"}, "score"),
    ]:
        with pytest.raises(RowError) as info:
            fs.insert(row, table="users")
        assert info.value.field == field
    with pytest.raises(RowError) as info:
        fs.insert({"uid": 1, "uts": T0}, table="nope")
    assert info.value.field == "table" and "nope" in str(info.value)
    with pytest.raises(RowError):
        fs.compute([1, "a", T0])  # type: ignore[arg-type]
    assert fs.stats() == {"keys": 0, "rows": 0}


def test_insert_many_checks_every_row_before_storing_any(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace)
    fs.insert_many([click(minutes=0), click(minutes=1)])
    before = fs.stats()
    assert before["rows"] > 0
    rows = [click(minutes=2), click(minutes=3), click(ip="seven", minutes=4), click(minutes=5), click(minutes=6)]
    with pytest.raises(RowError) as info:
        fs.insert_many(rows)
    assert info.value.field == "ip"
    assert fs.stats() == before
    assert fs.compute(click(minutes=10))["n_1h"] == 3  # the two stored rows and the request
    # A generator of rows is checked whole before storing too.
    with pytest.raises(RowError):
        fs.insert_many(r for r in rows)
    assert fs.stats() == before


def test_timestamps_as_text_and_extra_fields(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace)
    fs.insert({"ip": 1, "app": "a", "ts": "2024-05-01 12:00:00", "v": 2, "unused": object()})
    fs.insert({"ip": 1, "app": "a", "ts": "2024-05-01T12:30:00+00:00", "v": 3.5})
    out = fs.compute({"ip": 1, "app": "a", "ts": "2024-05-01 12:45:00"})
    assert out["n_1h"] == 3 and out["v_1h"] == 5.5
    assert out["prev_app"] == "a" and out["score"] is None
    # Epoch milliseconds (OpenMLDB's timestamp form) name the same instant as the text.
    epoch_ms = int((T0 + dt.timedelta(minutes=45) - dt.datetime(1970, 1, 1)).total_seconds() * 1000)
    assert fs.compute({"ip": 1, "app": "a", "ts": epoch_ms}) == out


@pytest.mark.parametrize(
    ("column", "duckdb_type", "fits", "beyond"),
    [
        ("i8", "TINYINT", [-128, 127], [128, -129]),
        ("i32", "INTEGER", [2**31 - 1, -(2**31)], [2**31, -(2**31) - 1]),
        ("u8", "UTINYINT", [0, 255], [-1, 256]),
        ("u64", "UBIGINT", [2**63 - 1], [2**63, -1]),  # computed as BIGINT offline
        ("huge", "HUGEINT", [-(2**63)], [2**63]),
        ("real", "REAL", [3.4e38, -math.inf], [3.5e38, -1e39]),
        ("dec", "DECIMAL(5,2)", [999.99, -999.5], [1000.0, -12345]),
    ],
)
def test_values_the_column_type_cannot_hold_are_refused(
    column: str, duckdb_type: str, fits: list[Any], beyond: list[Any]
) -> None:
    """A request value outside the column's type cannot exist in the offline table: refused alike."""
    schema = TableSchema("t", {"k": "BIGINT", "ts": "TIMESTAMP", column: duckdb_type})
    sql = f"SELECT count(*) OVER w AS n, max({column}) OVER w AS m FROM t WINDOW w AS (PARTITION BY k ORDER BY ts)"
    fs = FeatureSet(compile_feature_sql(sql, {"t": schema}), MemoryStore())
    for value in fits:
        assert fs.compute({"k": 1, "ts": T0, column: value})["m"] == value
    for value in beyond:
        with pytest.raises(RowError) as info:
            fs.insert({"k": 1, "ts": T0, column: value})
        assert info.value.field == column and f"out of range for {duckdb_type}" in str(info.value)
    assert fs.stats() == {"keys": 0, "rows": 0}


# -- retention ---------------------------------------------------------------------------------------


def expected_kept(times: list[float], span_minutes: float | None, keep: int, cap: int) -> int:
    """What the store keeps for one key: rows within span of the newest, at least the newest `keep`."""
    newest = max(times)
    recent = len(times) if span_minutes is None else sum(1 for t in times if t >= newest - span_minutes)
    if span_minutes is None and keep:
        recent = 0  # a ROWS window alone keeps just the newest `keep`
    return min(max(recent, min(keep, len(times))), cap)


def test_old_rows_expire(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace)
    # ip 1 over five hours, two apps; ip 2 only a few rows long ago.
    minutes = [0, 10, 20, 70, 80, 130, 200, 240, 250, 290, 295, 300]
    rows = [click(ip=1, app="a" if i % 3 else "b", minutes=m) for i, m in enumerate(minutes)]
    rows += [click(ip=2, app="a", minutes=m) for m in (0, 5)]
    fs.insert_many(rows[:5])
    fs.insert_many(rows[5:])
    # index ip (1h range): rows within 60 min of the newest. index ip,app (ROWS 3): the newest 3.
    kept_ip = expected_kept(minutes, 60, 0, 10_000) + expected_kept([0, 5], 60, 0, 10_000)
    by_app: dict[tuple[int, str], list[float]] = {}
    for r in rows:
        by_app.setdefault((r["ip"], r["app"]), []).append((r["ts"] - T0).total_seconds() / 60)
    kept_app = sum(expected_kept(ts, None, 3, 10_000) for ts in by_app.values())
    assert fs.stats() == {"keys": 2 + len(by_app), "rows": kept_ip + kept_app}
    assert (kept_ip, kept_app) == (7, 8)  # of 14 rows in each index: old ones expired
    # ... and what is kept is enough: online equals offline for a new row.
    new = click(ip=1, app="b", minutes=301)
    got = fs.compute(new)
    src = Source.from_rows(CLICKS, [tuple(r.get(c) for c in CLICKS.columns) for r in [*rows, new]])
    want = compute_offline(fs.query, {"clicks": src, "users": Source.from_rows(USERS, [])})[-1]
    assert got == want
    assert got["n_1h"] == 5 and got["n_last3"] == 4


def test_cap_bounds_rows_per_key(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace, ALL_SQL, cap=5)
    fs.insert_many([click(ip=1, minutes=m, v=float(m)) for m in range(12)])
    fs.insert_many([click(ip=2, minutes=m) for m in range(3)])
    assert fs.stats() == {"keys": 2, "rows": 5 + 3}
    out = fs.compute(click(ip=1, minutes=20, v=100.0))
    assert out == {"n": 6, "total": 7.0 + 8 + 9 + 10 + 11 + 100}  # the newest 5 and the request
    fs.insert(click(ip=1, minutes=30, v=1.0))
    assert fs.stats()["rows"] == 8


def test_unbounded_window_keeps_everything_below_the_cap(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace, ALL_SQL)
    fs.insert_many([click(ip=1, minutes=m * 600) for m in range(50)])  # 500 hours
    assert fs.stats() == {"keys": 1, "rows": 50}
    assert fs.compute(click(ip=1, minutes=50 * 600))["n"] == 51


def test_dimension_rows_keep_all_versions_and_skip_null_keys(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace)
    fs.insert_many([{"uid": 1, "uts": T0 + dt.timedelta(minutes=m), "score": float(m)} for m in (0, 10, 20)],
                   table="users")
    fs.insert({"uid": None, "uts": T0, "score": 9.0}, table="users")
    assert fs.stats() == {"keys": 1, "rows": 3}
    assert fs.compute(click(minutes=15))["score"] == 10.0
    assert fs.compute(click(minutes=-1))["score"] is None
    assert fs.compute(click(ip=None, minutes=30))["score"] is None


def test_clear_forgets_one_namespace_only(store: OnlineStore, namespace: str) -> None:
    a = feature_set(store, namespace)
    b = feature_set(store, namespace + "-other")
    try:
        a.insert(click())
        b.insert(click())
        a.clear()
        assert a.stats() == {"keys": 0, "rows": 0}
        assert b.stats()["rows"] == 2
    finally:
        b.clear()


# -- persistence -------------------------------------------------------------------------------------


def test_memory_store_persists_through_transactions(tmp_path: Path) -> None:
    path = tmp_path / "online" / "store.pkl"
    query = compile_feature_sql(SQL, SCHEMAS)
    s1 = MemoryStore(path)
    with s1.transaction():
        FeatureSet(query, s1).insert_many([click(minutes=0), click(minutes=1, app="b")])
    assert path.exists()
    # A second store (another CLI command) sees them, adds its own in its own transaction.
    s2 = MemoryStore(path)
    assert FeatureSet(query, s2).stats() == FeatureSet(query, s1).stats()
    with s2.transaction():
        FeatureSet(query, s2).insert(click(minutes=2))
    # The first store reloads inside its next transaction: nothing is lost.
    with s1.transaction():
        FeatureSet(query, s1).insert(click(minutes=3, app="b"))
    s3 = MemoryStore(path)
    fs3 = FeatureSet(query, s3)
    assert fs3.compute(click(minutes=4)) == {"n_1h": 5, "v_1h": 5.0, "n_last3": 3, "prev_app": "a", "score": None}


def test_memory_store_save(tmp_path: Path) -> None:
    path = tmp_path / "store.pkl"
    query = compile_feature_sql(SQL, SCHEMAS)
    s1 = MemoryStore(path)
    fs1 = FeatureSet(query, s1, namespace="p/fs/v1")
    fs1.insert_many([click(minutes=m) for m in range(4)])
    assert not path.exists() or MemoryStore(path).stats("p/fs/v1")["rows"] == 0  # not saved yet
    s1.save()
    fs2 = FeatureSet(query, MemoryStore(path), namespace="p/fs/v1")
    assert fs2.stats() == fs1.stats()
    assert fs2.compute(click(minutes=5)) == fs1.compute(click(minutes=5))
    assert MemoryStore(path).stats("p/fs/v2") == {"keys": 0, "rows": 0}
    assert MemoryStore(tmp_path / "missing.pkl").stats("p/fs/v1") == {"keys": 0, "rows": 0}


EXACT = TableSchema("ex", {"k": "BIGINT", "s": "VARCHAR", "ts": "TIMESTAMP", "f": "DOUBLE", "b": "BOOLEAN",
                           "at": "TIMESTAMP"})
EXACT_SQL = """
SELECT count(*) OVER w AS n, last_value(f) OVER w AS f, last_value(b) OVER w AS b, last_value(at) OVER w AS at
FROM ex
LAST JOIN users ORDER BY users.uts ON ex.k = users.uid
WINDOW w AS (PARTITION BY k, s, f ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""


def _same_exactly(a: Any, b: Any) -> bool:
    """Equal, of the same type, NaN == NaN and -0.0 != 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(_same_exactly, a, b))
    return bool(a == b)


def test_memory_snapshot_keeps_every_value_exactly(tmp_path: Path) -> None:
    """ints (to BIGINT's ends), floats (NaN, inf, -0.0), text, booleans, timestamps and NULLs come
    back from the snapshot as they went in, keys included."""
    query = compile_feature_sql(EXACT_SQL, {"ex": EXACT, "users": USERS})
    s1 = MemoryStore(tmp_path / "online.snapshot")
    fs = FeatureSet(query, s1, namespace="p/exact/v1")
    odd_times = [dt.datetime(1, 1, 1), dt.datetime(1969, 12, 31, 23, 59, 59, 999_999), dt.datetime(9999, 12, 31)]
    rows = [
        {"k": k, "s": s, "ts": T0 + dt.timedelta(microseconds=i), "f": f, "b": b, "at": at}
        for i, (k, s, f, b, at) in enumerate([
            (2**63 - 1, "a", 0.1, True, odd_times[0]), (-(2**63), "", -0.0, False, odd_times[1]),
            (None, None, None, None, None), (0, "ünï\u2603\x00", math.nan, True, odd_times[2]),
            (7, "x" * 1000, math.inf, None, T0), (7, "x" * 1000, -math.inf, False, T0), (8, "a", 0.0, True, T0),
        ])
    ]
    users = [(2**63 - 1, T0, 1.5), (3, T0, None)]
    # Through an offline table: it may hold NaN, which a request row may not.
    fs.import_offline({
        "ex": Source.from_rows(EXACT, [tuple(r.values()) for r in rows]), "users": Source.from_rows(USERS, users),
    })
    fs.insert_many([{**rows[0], "ts": T0 + dt.timedelta(seconds=1)}])  # and a live row
    assert fs.stats()["rows"] == len(rows) + 1 + len(users)
    s1.save()
    s2 = MemoryStore(tmp_path / "online.snapshot")
    assert s2._data.keys() == s1._data.keys()
    for ns, indexes in s1._data.items():
        assert indexes.keys() == s2._data[ns].keys()
        for name, keys in indexes.items():
            loaded = s2._data[ns][name]
            assert len(loaded) == len(keys)
            for (k1, (sc1, rows1)), (k2, (sc2, rows2)) in zip(keys.items(), loaded.items(), strict=True):
                assert _same_exactly(k1, k2), (k1, k2)
                assert sc1 == sc2 and all(type(x) is int for x in sc2)
                assert len(rows1) == len(rows2) and all(map(_same_exactly, rows1, rows2)), (rows1, rows2)
    fs2 = FeatureSet(query, s2, namespace="p/exact/v1")
    # A SnapshotReader decodes only the keys a request needs: it must find exactly what a full
    # load finds (a 0.0 key finds the -0.0 one, a NULL key the NULL one, a NaN key nothing).
    fs3 = FeatureSet(query, SnapshotReader(tmp_path / "online.snapshot"), namespace="p/exact/v1")
    assert fs3.stats() == fs2.stats() == fs.stats()
    requests = [{**r, "ts": T0 + dt.timedelta(seconds=2), "f": None if r["f"] != r["f"] else r["f"]} for r in rows]
    requests.append({**requests[1], "f": 0.0})
    for request in requests:
        want = fs.compute(request)
        for got in (fs2.compute(request), fs3.compute(request)):
            assert got.keys() == want.keys()
            assert all(map(_same_exactly, got.values(), want.values())), (request, got, want)
    for got, want in zip(fs3.compute_batch(requests), fs.compute_batch(requests), strict=True):  # one read, many keys
        assert all(map(_same_exactly, got.values(), want.values())), (got, want)
    assert (tmp_path / "online.snapshot").stat().st_mode & 0o777 == 0o600


class _RunsCode:
    """Unpickling this creates a folder: the proof that a pickle ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.mkdir, (str(self.marker),))


def test_a_pickle_at_the_snapshot_path_is_never_loaded(tmp_path: Path) -> None:
    import pickle

    from shoal.errors import Conflict

    path = tmp_path / "online" / "memory.snapshot"
    path.parent.mkdir()
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps({"default/td/v1": _RunsCode(marker)}, protocol=pickle.HIGHEST_PROTOCOL))
    before = path.read_bytes()
    with pytest.raises(Conflict) as info:
        MemoryStore(path)
    assert "old pickle format" in str(info.value) and "online-import" in str(info.value)
    store = MemoryStore()
    store.path = path  # a store whose snapshot was replaced behind its back
    with pytest.raises(Conflict), store.transaction():
        pass
    assert not marker.exists()
    assert path.read_bytes() == before  # refused, not overwritten


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ["not a shoal online store snapshot"]),
        (b"ip,app\n1,2\n", ["not a shoal online store snapshot"]),
        (None, ["truncated"]),  # a real snapshot cut short
        ("footer", ["footer is unreadable"]),
        ("stream", ["corrupt"]),
    ],
)
def test_an_unreadable_snapshot_is_refused_saying_how_to_rebuild_it(
    tmp_path: Path, content: bytes | str | None, words: list[str]
) -> None:
    from shoal.errors import Conflict
    from shoal.features.online import _snapshot

    good = tmp_path / "good.snapshot"
    store = MemoryStore(good)
    FeatureSet(compile_feature_sql(SQL, SCHEMAS), store).insert_many([click(minutes=m) for m in range(3)])
    store.save()
    data = good.read_bytes()
    if content is None:
        content = data[: len(data) // 2]
    elif content == "footer":
        content = data.replace(b'"format":1', b'"format":9')
    elif content == "stream":
        start = len(_snapshot.MAGIC) + 8
        content = data[:start] + bytes(b ^ 0x5A for b in data[start : start + 200]) + data[start + 200 :]
    bad = tmp_path / "bad.snapshot"
    bad.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as info:
        MemoryStore(bad)
    for w in [*words, str(bad), "online-import"]:
        assert w in str(info.value), f"{w!r} not in {info.value}"


# -- concurrency -------------------------------------------------------------------------------------


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads very often, so that inserts and computes really interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


@pytest.mark.usefixtures("busy_switching")
def test_concurrent_inserts_and_computes(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace, ALL_SQL)
    writers, per_writer, readers = 4, 90, 4
    errors: list[BaseException] = []
    seen: dict[int, list[int]] = {}
    start = threading.Barrier(writers + readers)

    def write(w: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                ip = i % 3  # writers share keys
                if i % 10 == 9:
                    fs.insert_many([click(ip=ip, minutes=w * 1000 + i, v=1.0), click(ip=ip, minutes=w * 1000 + i)])
                else:
                    fs.insert(click(ip=ip, minutes=w * 1000 + i, v=1.0))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def read(r: int) -> None:
        try:
            start.wait()
            counts = seen.setdefault(r, [])
            for _ in range(per_writer):
                counts.append(fs.compute(click(ip=r % 3, minutes=10**6))["n"])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    threads += [threading.Thread(target=read, args=(r,)) for r in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    per_key = writers * (per_writer + per_writer // 10) // 3
    assert fs.stats() == {"keys": 3, "rows": writers * (per_writer + per_writer // 10)}
    for ip in range(3):
        assert fs.compute(click(ip=ip, minutes=10**6)) == {"n": per_key + 1, "total": float(per_key + 1)}
    for counts in seen.values():
        assert counts == sorted(counts)  # a key's count never goes back while rows are added
        assert all(1 <= c <= per_key + 1 for c in counts)


def test_compute_batch_equals_one_by_one(store: OnlineStore, namespace: str) -> None:
    fs = feature_set(store, namespace)
    fs.insert_many([click(ip=i % 2, app="ab"[i % 3 % 2], minutes=i * 7, v=float(i)) for i in range(20)])
    fs.insert_many([{"uid": 1, "uts": T0 + dt.timedelta(minutes=m), "score": m / 4} for m in (0, 50, 100)],
                   table="users")
    requests = [click(ip=1, minutes=m, app=a) for m in (30, 60, 140, 200) for a in ("a", "b")]
    requests.append(click(ip=None, minutes=60))
    # Each request sees the stored rows only, never the other requests of the batch.
    assert fs.compute_batch(requests) == [fs.compute(r) for r in requests]
    assert fs.compute_batch([]) == []
