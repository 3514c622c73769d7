"""Offline (DuckDB) and online (request mode) compute the same features, row for row.

Hypothesis writes random event tables (repeating keys, NULLs, ties and gaps in time, a
TIMESTAMP or an epoch-millisecond time column, an optional dimension table) and random
feature SQL (windows of every frame kind, every aggregate, scalar expressions, LAST JOIN). For
every row, in arrival order, the online value computed from the rows stored before it must
equal the offline value of that row. The stores run it against MemoryStore and RedisStore.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.features import (
    FeatureSet,
    MemoryStore,
    OnlineStore,
    RedisStore,
    SnapshotReader,
    compile_feature_sql,
    compute_offline,
)
from tests.features._gen import (
    BASE,
    BASE_MS,
    Scenario,
    Table,
    main_schema,
    random_sql,
    same,
    scenarios,
)
from tests.features.conftest import require_redis

pytestmark = pytest.mark.slow  # seconds each: left out of `make test-fast`

# SHOAL_FEATURES_EXAMPLES=10 runs ten times as many examples (a deeper hunt, e.g. before a release).
SCALE = float(os.environ.get("SHOAL_FEATURES_EXAMPLES", "1"))


def examples(n: int) -> int:
    return max(1, int(n * SCALE))


SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                              HealthCheck.function_scoped_fixture],
}


@pytest.fixture(scope="module")
def redis_store() -> Iterator[RedisStore]:
    """One store for the module; each example uses a namespace of its own and clears it."""
    store = RedisStore(require_redis(), prefix=f"shoal-test-{uuid.uuid4().hex[:10]}")
    yield store
    store.close()


@pytest.fixture(scope="module", params=["memory", "redis"])
def any_store(request: pytest.FixtureRequest) -> Iterator[OnlineStore]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        yield request.getfixturevalue("redis_store")


def _explain(sc: Scenario, i: int, name: str, offline: Any, online: Any) -> str:
    return (
        f"row {i} feature {name}: offline {offline!r} != online {online!r}\n"
        f"SQL:\n{sc.sql}\nrow: {sc.main.rows[i]}\nrows: {sc.main.rows}\ndim: {sc.dim.rows if sc.dim else None}"
    )


def _request(row: dict[str, Any], as_text: bool) -> dict[str, Any]:
    # A JSON request sends timestamps as text: parse them the same way.
    if as_text:
        return {k: v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for k, v in row.items()}
    return row


def _rows_per_key(sc: Scenario) -> int:
    """The most rows any index of any query could hold for one key (every key combination)."""
    cols = list(sc.main.schema.columns)
    worst = 1
    for a in ("k1", "k2", "k3", "b", "fk"):
        for b in ("k1", "k2", "k3", "b", "fk"):
            ia, ib = cols.index(a), cols.index(b)
            counts = Counter((r[ia], r[ib]) for r in sc.main.rows)
            worst = max(worst, *counts.values())
    if sc.dim is not None:
        worst = max(worst, len(sc.dim.rows))
    return worst


def check_stream(sc: Scenario, store: OnlineStore, *, cap: int | None = None, as_text: bool = False) -> None:
    """compute(row) then insert(row), in arrival order: online == offline for every row."""
    query = compile_feature_sql(sc.sql, sc.schemas())
    expected = compute_offline(query, sc.sources())
    assert len(expected) == len(sc.main.rows)
    ns = f"test/{uuid.uuid4().hex}/v1"
    fs = FeatureSet(query, store, namespace=ns, **({"cap": cap} if cap is not None else {}))
    try:
        if sc.dim is not None:
            fs.insert_many(sc.dim.dicts(), table="dim")
        for i, (row, want) in enumerate(zip(sc.main.dicts(), expected, strict=True)):
            got = fs.compute(_request(row, as_text))
            assert list(got) == list(want)
            for name in want:
                assert same(want[name], got[name]), _explain(sc, i, name, want[name], got[name])
            fs.insert(_request(row, as_text))
    finally:
        fs.clear()
    assert fs.stats() == {"keys": 0, "rows": 0}


@settings(max_examples=examples(150), **SETTINGS)
@given(sc=scenarios(), as_text=st.booleans())
def test_memory_online_equals_offline(sc: Scenario, as_text: bool) -> None:
    check_stream(sc, MemoryStore(), as_text=as_text)


@settings(max_examples=examples(60), **SETTINGS)
@given(sc=scenarios(int_time=True))
def test_memory_online_equals_offline_integer_time(sc: Scenario) -> None:
    check_stream(sc, MemoryStore())


@settings(max_examples=examples(50), **SETTINGS)
@given(sc=scenarios())
def test_redis_online_equals_offline(redis_store: RedisStore, sc: Scenario) -> None:
    check_stream(sc, redis_store)


@settings(max_examples=examples(25), **SETTINGS)
@given(sc=scenarios(), slack=st.integers(0, 2))
def test_cap_above_rows_per_key_changes_nothing(any_store: OnlineStore, sc: Scenario, slack: int) -> None:
    # With fewer rows per key than the cap, the cap never drops a row a window needs.
    check_stream(sc, any_store, cap=_rows_per_key(sc) + slack)


def _later_row(sc: Scenario, draw: st.DrawFn) -> tuple[Any, ...]:
    """A new main-table row at or after the table's latest time, with keys that repeat."""
    template = draw(st.sampled_from(sc.main.rows))
    cols = list(sc.main.schema.columns)
    ti = cols.index("ts")
    latest = max(r[ti] for r in sc.main.rows)
    gap_ms = draw(st.sampled_from([0, 0, 1, 500, 1000, 10_000, 3_600_000]))
    t = latest + gap_ms if sc.int_time else latest + dt.timedelta(milliseconds=gap_ms)
    return tuple(t if i == ti else v for i, v in enumerate(template))


def check_new_row(sc: Scenario, new: tuple[Any, ...], store: OnlineStore, *, bulk: bool) -> None:
    """Load the table (import_offline or insert_many), then compute a new row: == offline of table + row."""
    query = compile_feature_sql(sc.sql, sc.schemas())
    want = compute_offline(query, sc.sources([*sc.main.rows, new]))[-1]
    fs = FeatureSet(query, store, namespace=f"test/{uuid.uuid4().hex}/v1")
    try:
        if bulk:
            imported = fs.import_offline(sc.sources(), batch=7)
            assert imported.total_stored == fs.stats()["rows"]  # it loads just what the store keeps
            assert imported.rows_read["ev"] == len(sc.main.rows)
        else:
            if sc.dim is not None:
                fs.insert_many(sc.dim.dicts(), table="dim")
            fs.insert_many(sc.main.dicts())
        got = fs.compute(dict(zip(sc.main.schema.columns, new, strict=True)))
    finally:
        fs.clear()
    assert list(got) == list(want)
    for name in want:
        assert same(want[name], got[name]), (
            f"feature {name}: offline {want[name]!r} != online {got[name]!r}\nSQL:\n{sc.sql}\n"
            f"new row: {new}\nrows: {sc.main.rows}\ndim: {sc.dim.rows if sc.dim else None}"
        )


@settings(max_examples=examples(25), **SETTINGS)
@given(data=st.data(), sc=scenarios(sorted_=False))
def test_import_offline_then_compute_new_row(any_store: OnlineStore, data: st.DataObject, sc: Scenario) -> None:
    # The table's rows arrive in any time order; the store keeps what each index needs.
    new = _later_row(sc, data.draw)
    check_new_row(sc, new, any_store, bulk=True)


@settings(max_examples=examples(25), **SETTINGS)
@given(data=st.data(), sc=scenarios(sorted_=False))
def test_snapshot_reader_computes_what_the_loaded_store_does(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, sc: Scenario
) -> None:
    """`features compute` reads only its rows' keys from the snapshot (SnapshotReader): for every
    table row asked again, and a new row, it gives what the store that wrote the snapshot gives."""
    path = tmp_path_factory.mktemp("snapshot") / "memory.snapshot"
    query = compile_feature_sql(sc.sql, sc.schemas())
    loaded = FeatureSet(query, MemoryStore(path), namespace="test/reader/v1")
    loaded.import_offline(sc.sources())
    loaded.store.save()
    reader = FeatureSet(query, SnapshotReader(path), namespace="test/reader/v1")
    assert reader.stats() == loaded.stats()
    cols = list(sc.main.schema.columns)
    requests = [*sc.main.dicts(), dict(zip(cols, _later_row(sc, data.draw), strict=True))]
    for want, got in zip(loaded.compute_batch(requests), reader.compute_batch(requests), strict=True):
        assert list(got) == list(want)
        assert all(same(want[n], got[n]) for n in want), (want, got)


@settings(max_examples=examples(20), **SETTINGS)
@given(data=st.data(), sc=scenarios(sorted_=False))
def test_late_inserts_then_compute_new_row(any_store: OnlineStore, data: st.DataObject, sc: Scenario) -> None:
    # Rows inserted out of time order (late rows) land at their time, after their earlier peers.
    new = _later_row(sc, data.draw)
    check_new_row(sc, new, any_store, bulk=False)


def test_generator_covers_the_constructs() -> None:
    """The SQL generator writes every construct the tests claim to cover (guards against drift)."""
    found: set[str] = set()
    patterns = [
        r"count\(\*\)", r"count\((?!\*|DISTINCT)", r"\bsum\(", r"\bavg\(", r"\bmin\(", r"\bmax\(",
        r"distinct_count\(", r"count\(DISTINCT", r"count_where\(", r"sum_where\(", r"avg_where\(",
        r"min_where\(", r"max_where\(", r"lag\([^()]*, \d\)", r"lag\([^(),]*\) OVER", r"first_value\(",
        r"last_value\(", r"hour\(", r"minute\(", r"(day_of_week|dayofweek)\(", r" // ", r" % ", r" / ",
        r"\+", r" - ", r"\*", r"CASE WHEN", r"AS BIGINT", r"AS DOUBLE", r"AS VARCHAR", r"coalesce\(",
        r"ifnull\(", r"abs\(", r"IS NULL", r"IS NOT NULL", r" AND ", r" OR ", r"NOT ", r" (<|<=|>|>=|=|!=|<>) ",
        r"LAST JOIN dim ORDER BY dim.dts ON ev.k1 = dim.dk AND", r"FROM ev AS e\nLAST JOIN dim AS d ORDER BY d.dts",
        r"ROWS BETWEEN \d PRECEDING", r"RANGE BETWEEN INTERVAL", r"ROWS_RANGE BETWEEN \d+[smhd] PRECEDING",
        r"ROWS_RANGE BETWEEN \d+ PRECEDING",
        r"(?<!ROWS_)RANGE BETWEEN \d+ PRECEDING", r"UNBOUNDED", r"ORDER BY ts\)", r"PARTITION BY \w+, \w+",
        r"PARTITION BY (b|fk)\b", r"OVER w2",
    ]

    for seed in range(300):
        sql, schemas = random_sql(seed)
        found.update(p for p in patterns if re.search(p, sql))
        compile_feature_sql(sql, schemas)  # and every statement it writes compiles
    assert [p for p in patterns if p not in found] == []


def test_known_tricky_case_ties_and_range_boundary() -> None:
    """A fixed example: ties in time, a row exactly on the range boundary, NULL keys together."""
    schema, kinds = main_schema(False)
    t0 = BASE
    rows = [
        (1, "a", 0, 0.0, t0, 5, 1, 1.5, 0.25, True, "x", t0),
        (1, "a", 0, 0.0, t0, 7, 2, None, 0.5, False, "y", None),
        (None, "b", 1, -0.0, t0 + dt.timedelta(seconds=10), 1, 3, 2.0, None, None, None, t0),
        (1, "b", 1, 1.5, t0 + dt.timedelta(seconds=10), None, 4, 4.0, 1.0, True, "x", t0),
        (None, "a", None, None, t0 + dt.timedelta(seconds=20), 3, 5, -1.0, 2.0, False, "", t0),
    ]
    sc = Scenario(
        "SELECT count(*) OVER w AS c, sum(v) OVER w AS s, lag(v, 1) OVER w AS l, avg(f) OVER w2 AS a, "
        "distinct_count(s) OVER w2 AS dc, count(*) OVER w3 AS c3\nFROM ev\n"
        "WINDOW w AS (PARTITION BY k1 ORDER BY ts ROWS_RANGE BETWEEN 10s PRECEDING AND CURRENT ROW),\n"
        "  w2 AS (PARTITION BY fk ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW),\n"
        "  w3 AS (PARTITION BY k3 ORDER BY ts)",
        main=Table(schema, rows, kinds),
        dim=None,
        int_time=False,
    )
    query = compile_feature_sql(sc.sql, sc.schemas())
    got = compute_offline(query, sc.sources())
    assert [r["c"] for r in got] == [1, 2, 1, 3, 2]  # NULL k1 rows form one group; row 3 sees t0 (10 s back)
    assert [r["s"] for r in got] == [5, 12, 1, 12, 4]
    assert [r["l"] for r in got] == [None, 5, None, 7, 1]
    assert [r["c3"] for r in got] == [1, 2, 1, 2, 1]
    check_stream(sc, MemoryStore())
    assert BASE == dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=BASE_MS)  # the generator's two epochs agree


# Features whose values depend on how NaN, infinities and -0.0 are ordered, grouped and cast.
SPECIAL_FEATURES = {
    "ratio_gt": "(f / fk) > 1",
    "ratio_eq_self": "(f / fk) = (f / fk)",
    "ratio_ne_self": "(f / fk) <> (f / fk)",
    "ratio_lt_inf": "(f / fk) < (1.0 / 0)",
    "max_ratio": "max(f / fk) OVER w",
    "min_ratio": "min(f / fk) OVER w",
    "min_where_ratio": "min_where(f / fk, (f / fk) > 0) OVER w",
    "max_where": "max_where(f, (f / fk) > 1) OVER w",
    "distinct_ratio": "distinct_count(f / fk) OVER w",
    "distinct_zero": "count(DISTINCT fk) OVER w",
    "count_nan": "count_where(f, (f - f) > 0) OVER w",
    "mod_zero": "f % fk",
    "int_mod_zero": "v % k3",
    "int_div_zero": "v // k3",
    "fmod_inf": "(f / fk) % 2",
    "cast_ratio": "CAST(f / fk AS BIGINT)",
    "cast_half": "CAST(d AS BIGINT)",
    "case_nan": "CASE WHEN (f / fk) >= 0 THEN 'big' ELSE 'small' END",
}


def _special_scenario() -> Scenario:
    schema, kinds = main_schema(False)
    t = BASE
    # (k1, k2, k3, fk, ts, v, n, f, d, b, s, at): one partition, f/fk walks through 0/0, x/0, x/-0.
    values = [(0.0, 0.0, 2.5), (-0.0, 3.0, -2.5), (1.5, math.inf, 3.5), (0.0, -3.0, 0.5), (1.5, 1.5, -0.5),
              (-0.0, 0.0, 1.5), (1.5, -math.inf, 2.25)]
    rows = [(1, "a", 0, fk, t + dt.timedelta(seconds=i), 7 - i, None, f, d, None, None, None)
            for i, (fk, f, d) in enumerate(values)]
    sql = ("SELECT " + ", ".join(f"{e} AS {n}" for n, e in SPECIAL_FEATURES.items())
           + "\nFROM ev\nWINDOW w AS (PARTITION BY k1 ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)")
    return Scenario(sql, Table(schema, rows, kinds), None, False)


def test_nan_infinity_and_signed_zero_semantics() -> None:
    """Pinned: NaN equals itself and sorts above +inf (DuckDB), -0.0 = 0.0, CAST rounds half away from zero."""
    sc = _special_scenario()
    got = compute_offline(compile_feature_sql(sc.sql, sc.schemas()), sc.sources())
    col = {name: [r[name] for r in got] for name in SPECIAL_FEATURES}
    nan, inf = math.nan, math.inf
    # f / fk per row: NaN, -inf, inf, -inf, 1.0, NaN, -inf (0/0, 3/-0.0, inf/1.5, -3/0.0, ...)
    expected = {
        "ratio_gt": [True, False, True, False, False, True, False],  # NaN > 1
        "ratio_eq_self": [True] * 7,
        "ratio_ne_self": [False] * 7,
        "ratio_lt_inf": [False, True, False, True, True, False, True],  # NaN is not below +inf
        "max_ratio": [nan, nan, nan, nan, inf, nan, nan],  # NaN is the largest
        "min_ratio": [nan, -inf, -inf, -inf, -inf, -inf, -inf],  # min passes over NaN
        "min_where_ratio": [nan, nan, inf, inf, 1.0, 1.0, 1.0],
        "max_where": [0.0, 0.0, inf, inf, inf, inf, 0.0],
        "distinct_ratio": [1, 2, 3, 3, 3, 4, 3],  # NaNs count once
        "distinct_zero": [1, 1, 2, 2, 2, 2, 2],  # 0.0 and -0.0 are one value
        "count_nan": [0, 0, 1, 1, 1, 1, 1],  # inf - inf is NaN, and NaN > 0
        "mod_zero": [nan, nan, nan, nan, 0.0, nan, nan],  # x % 0.0 and inf % x are NaN
        "int_mod_zero": [None] * 7,  # integer x % 0 is NULL
        "int_div_zero": [None] * 7,
        "fmod_inf": [nan, nan, nan, nan, 1.0, nan, nan],
        "cast_ratio": [None, None, None, None, 1, None, None],  # NaN and inf do not fit: NULL
        "cast_half": [3, -3, 4, 1, -1, 2, 2],  # half away from zero
        "case_nan": ["big", "small", "big", "small", "big", "big", "small"],
    }
    for name, want in expected.items():
        assert len(col[name]) == len(want) and all(map(same, col[name], want)), (name, col[name])
    check_stream(sc, MemoryStore())


def test_nan_infinity_and_signed_zero_semantics_redis(redis_store: RedisStore) -> None:
    check_stream(_special_scenario(), redis_store)


def test_cast_to_bigint_at_the_edges() -> None:
    schema, kinds = main_schema(False)
    edges = [0.49999999999999994, 4503599627370497.0, -2.5, 1e19, -9.223372036854775808e18, 9.223372036854775e18]
    rows = [(1, "a", 0, 0.0, BASE + dt.timedelta(seconds=i), None, None, f, None, None, None, None)
            for i, f in enumerate(edges)]
    sc = Scenario("SELECT CAST(f AS BIGINT) AS i, count(*) OVER w AS c FROM ev "
                  "WINDOW w AS (PARTITION BY k1 ORDER BY ts)", Table(schema, rows, kinds), None, False)
    got = compute_offline(compile_feature_sql(sc.sql, sc.schemas()), sc.sources())
    assert [r["i"] for r in got] == [0, 4503599627370497, -3, None, -(2**63), 9223372036854774784]
    check_stream(sc, MemoryStore())


@pytest.mark.parametrize("int_time", [False, True], ids=["timestamp", "epoch_ms"])
def test_window_bounds_at_the_limit_agree_offline_and_online(any_store: OnlineStore, int_time: bool) -> None:
    """The largest frames a feature SQL may have (BIGINT's largest value, in rows or in the time
    column's unit) run in both engines, with the same values, on times before 1970 too (where
    `newest - range` is below BIGINT); one beyond is refused when the SQL is compiled (test_parse)."""
    schema, kinds = main_schema(int_time)
    epoch = dt.datetime(1970, 1, 1)
    times_ms = [-5_000, -4_000, -3_000, -1_000, -1_000, 2_000]  # in time order, as check_stream needs
    rows = [
        (1 + i % 2, "a", 0, 0.0, t if int_time else epoch + dt.timedelta(milliseconds=t), i, None, None, None, None,
         None, None)
        for i, t in enumerate(times_ms)
    ]
    largest = 2**63 - 1
    days = largest // 86_400_000_000  # the most whole days that fit in BIGINT microseconds
    time_range = f"RANGE BETWEEN {largest} PRECEDING" if int_time else f"RANGE BETWEEN INTERVAL '{days}' DAY PRECEDING"
    sql = (
        "SELECT count(*) OVER r AS n_rows, lag(v, 2) OVER r AS lag2, count(*) OVER t AS n_time, "
        f"sum(v) OVER t AS v_time FROM ev "
        f"WINDOW r AS (PARTITION BY k1 ORDER BY ts ROWS BETWEEN {largest} PRECEDING AND CURRENT ROW), "
        f"t AS (PARTITION BY k1, k2 ORDER BY ts {time_range} AND CURRENT ROW)"  # an index of its own
    )
    sc = Scenario(sql, Table(schema, rows, kinds), None, int_time)
    check_stream(sc, any_store)
    later = rows[1][:4] + ((8_000 if int_time else epoch + dt.timedelta(seconds=8)),) + rows[1][5:]
    check_new_row(sc, later, any_store, bulk=True)  # import_offline keeps every row of the key
