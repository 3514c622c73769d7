"""Feature SQL parsing: clear errors that name the construct and point into the text as written.

Each refusal says what is wrong and where: `err.line`/`err.col` locate the construct in the
ORIGINAL text, also after the OpenMLDB spellings (`ROWS_RANGE ... 1d`, `LAST JOIN ... ORDER BY`)
were rewritten to standard SQL. The OpenMLDB spellings mean the same frames as the standard ones.
"""

from __future__ import annotations

import pytest

from shoal.features import (
    FeatureSqlError,
    TableSchema,
    compile_feature_sql,
    referenced_tables,
)
from shoal.features.query import Agg, Call, Col, Frame, Lit
from shoal.features.schema import Kind

SCHEMAS = {
    "ev": TableSchema("ev", {"ip": "BIGINT", "app": "VARCHAR", "ts": "TIMESTAMP", "v": "DOUBLE", "n": "BIGINT",
                             "ts2": "TIMESTAMP", "ms": "BIGINT", "tags": "VARCHAR[]"}),
    "dim": TableSchema("dim", {"ip": "BIGINT", "dts": "TIMESTAMP", "score": "DOUBLE", "app": "VARCHAR"}),
    "evi": TableSchema("evi", {"ip": "BIGINT", "t": "BIGINT", "v": "DOUBLE"}),  # epoch-ms time column
}
W = "WINDOW w AS (PARTITION BY ip ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)"
HUGE = "99999999999999999999"  # beyond BIGINT (2^63 - 1 = 9223372036854775807)
COUNT = "SELECT count(*) OVER w AS c FROM ev"


def frame(text: str, time: str = "ts") -> str:
    return f"WINDOW w AS (PARTITION BY ip ORDER BY {time} {text} AND CURRENT ROW)"
J = "LAST JOIN dim ORDER BY dim.dts ON ev.ip = dim.ip"


def refused(sql: str) -> FeatureSqlError:
    with pytest.raises(FeatureSqlError) as info:
        compile_feature_sql(sql, SCHEMAS)
    return info.value


def text_at(sql: str, err: FeatureSqlError) -> str:
    """The original text from the error's line/col on."""
    assert err.line is not None and err.col is not None, f"no position in: {err}"
    line = sql.split("\n")[err.line - 1]
    return line[err.col - 1 :]


# (id, sql, substrings of the message, what the text at line/col starts with)
BAD = [
    ("where", f"SELECT count(*) OVER w AS c FROM ev WHERE ip > 1 {W}", ["WHERE is not supported"], "WHERE ip"),
    ("group_by", "SELECT count(*) AS c FROM ev GROUP BY ip", ["GROUP BY is not supported"], "GROUP BY"),
    ("having", "SELECT count(*) AS c FROM ev GROUP BY ip HAVING count(*) > 1", ["GROUP BY"], "GROUP BY"),
    ("order_by", f"SELECT count(*) OVER w AS c FROM ev {W} ORDER BY ip", ["ORDER BY is not supported"], "ORDER BY ip"),
    ("limit", f"SELECT count(*) OVER w AS c FROM ev {W} LIMIT 3", ["LIMIT is not supported"], "LIMIT 3"),
    ("distinct", f"SELECT DISTINCT ip AS c FROM ev {W}", ["DISTINCT is not supported"], "DISTINCT ip"),
    ("with", f"WITH x AS (SELECT * FROM ev) SELECT count(*) OVER w AS c FROM x {W}", ["WITH is not supported"],
     "WITH x"),
    ("subquery_from", f"SELECT count(*) OVER w AS c FROM (SELECT * FROM ev) t {W}", ["not a subquery"], None),
    ("subquery_expr", f"SELECT (SELECT 1) AS c FROM ev {W}", ["SUBQUERY is not supported"], None),
    ("union", "SELECT ip AS c FROM ev UNION SELECT ip AS c FROM ev", ["one SELECT, not UNION"], None),
    ("two_statements", "SELECT ip AS a FROM ev; SELECT ip AS b FROM ev", ["exactly one SELECT", "found 2"],
     "ip AS b"),
    ("insert", "INSERT INTO ev VALUES (1)", ["one SELECT, not INSERT"], None),
    ("unknown_function", f"SELECT foo(ip) AS c FROM ev {W}", ["function foo() is not supported", "supported:"],
     "foo(ip)"),
    ("unknown_aggregate", f"SELECT stddev(v) OVER w AS c FROM ev {W}",
     ["stddev() is not a supported window aggregate"], "stddev(v)"),
    ("aggregate_without_over", f"SELECT sum(v) AS c FROM ev {W}", ["sum() needs OVER"], "sum(v)"),
    ("unknown_window", f"SELECT sum(v) OVER w9 AS c FROM ev {W}", ["unknown window w9"], None),
    ("window_without_order", "SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip)",
     ["window w needs ORDER BY"], "w AS (PARTITION"),
    ("window_without_partition", "SELECT count(*) OVER w AS c FROM ev WINDOW w AS (ORDER BY ts)",
     ["window w needs PARTITION BY"], "w AS (ORDER"),
    ("desc", "SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY ts DESC)",
     ["DESC is not supported"], "ts DESC"),
    ("order_by_string", "SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY app)",
     ["ORDER BY app must be a TIMESTAMP or integer column"], "app)"),
    ("inline_over", "SELECT count(*) OVER (PARTITION BY ip ORDER BY ts) AS c FROM ev",
     ["name the window in a WINDOW clause"], "count(*)"),
    ("maxsize", ("SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY ts "
     "ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW MAXSIZE 10)"), ["MAXSIZE is not supported"], "MAXSIZE 10"),
    ("exclude", ("SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY ts "
     "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW)"), ["EXCLUDE is not supported"], "EXCLUDE"),
    ("following", ("SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY ts "
     "ROWS BETWEEN 3 PRECEDING AND 1 FOLLOWING)"), ["must end AND CURRENT ROW"], None),
    ("left_join", f"SELECT count(*) OVER w AS c FROM ev LEFT JOIN dim ON ev.ip = dim.ip {W}",
     ["only LAST JOIN is supported"], None),
    ("inner_join", f"SELECT count(*) OVER w AS c FROM ev JOIN dim ON ev.ip = dim.ip {W}",
     ["only LAST JOIN is supported"], None),
    ("last_join_without_order_by", f"SELECT count(*) OVER w AS c FROM ev LAST JOIN dim ON ev.ip = dim.ip {W}",
     ["LAST JOIN needs ORDER BY"], "LAST JOIN dim"),
    ("last_join_using", f"SELECT count(*) OVER w AS c FROM ev LAST JOIN dim ORDER BY dim.dts USING (ip) {W}",
     ["not USING"], None),
    ("last_join_unknown_order_column", (f"SELECT count(*) OVER w AS c FROM ev LAST JOIN dim ORDER BY dim.nope "
     f"ON ev.ip = dim.ip {W}"), ["unknown column dim.nope in LAST JOIN ORDER BY"], "ORDER BY dim.nope"),
    ("last_join_on_expression", (f"SELECT count(*) OVER w AS c FROM ev LAST JOIN dim ORDER BY dim.dts "
     f"ON ev.ip + 1 = dim.ip {W}"), ["column equalities"], None),
    ("last_join_on_kinds", (f"SELECT count(*) OVER w AS c FROM ev LAST JOIN dim ORDER BY dim.dts "
     f"ON ev.app = dim.ip {W}"), ["compares app (str) with ip (int)"], None),
    ("last_join_twice", (f"SELECT count(*) OVER w AS c FROM ev {J} LAST JOIN dim AS d2 ORDER BY d2.dts "
     f"ON ev.ip = d2.ip {W}"), ["table dim appears twice"], "dim AS d2"),
    ("unknown_column", f"SELECT sum(nope) OVER w AS c FROM ev {W}", ["unknown column nope in ev"], "nope)"),
    ("unknown_qualified_column", f"SELECT ev.nope AS c FROM ev {W}", ["unknown column ev.nope"], None),
    ("unknown_table", f"SELECT count(*) OVER w AS c FROM nope {W}", ["unknown table nope", "known tables"], "nope"),
    ("unknown_qualifier", f"SELECT x.ip AS c FROM ev {W}", ["unknown table x in x.ip"], "x.ip"),
    ("ambiguous_column", f"SELECT app AS a, count(*) OVER w AS c FROM ev {J} {W}",
     ["column app is in several tables", "qualify it"], "app AS a"),
    ("window_reads_dimension", f"SELECT sum(dim.score) OVER w AS c FROM ev {J} {W}",
     ["window aggregates read ev columns only"], "dim.score"),
    ("hour_of_string", f"SELECT hour(app) AS h FROM ev {W}", ["type mismatch", "needs timestamp, got str"],
     "hour(app)"),
    ("int_plus_string", f"SELECT ip + 'a' AS h FROM ev {W}", ["type mismatch", "operator +", "got str"], "ip + 'a'"),
    ("sum_of_string", f"SELECT sum(app) OVER w AS h FROM ev {W}", ["type mismatch", "sum() needs float or int"],
     "sum(app)"),
    ("compare_int_string", f"SELECT ip = 'a' AS c FROM ev {W}", ["cannot compare int with str"], None),
    ("case_mixes_kinds", f"SELECT CASE WHEN ip > 1 THEN 'a' ELSE 1 END AS c FROM ev {W}", ["CASE mixes int, str"],
     None),
    ("not_of_int", f"SELECT NOT ip AS c FROM ev {W}", ["NOT needs bool, got int"], None),
    ("intdiv_of_double", f"SELECT v // 2 AS c FROM ev {W}", ["operator // needs int", "(v // 2)"], "v // 2"),
    ("cast_to_date", f"SELECT CAST(ip AS DATE) AS c FROM ev {W}", ["CAST to DATE is not supported"], None),
    ("cast_double_to_varchar", f"SELECT CAST(v AS VARCHAR) AS c FROM ev {W}", ["cannot CAST float to VARCHAR"],
     None),
    ("unusable_column_type", f"SELECT tags AS c FROM ev {W}", ["column tags has type VARCHAR[]"], "tags"),
    ("lag_negative", f"SELECT lag(v, -1) OVER w AS c FROM ev {W}", ["lag(col, n) takes a whole number n >= 0"],
     None),
    ("nested_aggregates", f"SELECT sum(count(*) OVER w) OVER w AS c FROM ev {W}", ["cannot be nested"], None),
    ("range_number_on_timestamp", ("SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY ts "
     "RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW)"), ["TIMESTAMP column needs an INTERVAL range", "3000"],
     "3000 PRECEDING"),
    ("two_time_columns", ("SELECT count(*) OVER w AS c, count(*) OVER w2 AS d FROM ev "
     "WINDOW w AS (PARTITION BY ip ORDER BY ts), w2 AS (PARTITION BY ip ORDER BY ts2)"),
     ["every window must ORDER BY the same time column", "ts, ts2"], None),
    ("window_defined_twice", ("SELECT count(*) OVER w AS c FROM ev "
     "WINDOW w AS (PARTITION BY ip ORDER BY ts), w AS (PARTITION BY app ORDER BY ts)"), ["defined twice"], None),
    ("duplicate_feature_name", f"SELECT count(*) OVER w AS c, sum(v) OVER w AS C FROM ev {W}",
     ["feature name C is used twice"], "sum(v) OVER w AS C"),
    ("unnamed_aggregate", f"SELECT count(*) OVER w FROM ev {W}", ["a name with AS"], "count(*)"),
    ("unnamed_expression", f"SELECT ip + 1 FROM ev {W}", ["give ip + 1 a name with AS"], "ip + 1"),
    ("select_star", f"SELECT * FROM ev {W}", ["SELECT * is not supported"], "*"),
    ("select_table_star", f"SELECT ev.* FROM ev {W}", ["SELECT * is not supported"], None),
    ("no_from", "SELECT 1 AS a", ["needs FROM"], None),
    ("syntax", "SELECT count(*) OVER w AS c FROM ev WINDOW w AS (PARTITION BY ip ORDER BY ts", ["cannot parse"],
     None),
    ("empty", "", ["exactly one SELECT", "found 0"], None),
    # Numbers beyond what the offline engine holds (BIGINT, DOUBLE): refused here, not online-only.
    ("rows_beyond_bigint", f"{COUNT} {frame(f'ROWS BETWEEN {HUGE} PRECEDING')}",
     [f"ROWS BETWEEN {HUGE} PRECEDING", "limit of 9223372036854775807 rows"], HUGE),
    ("rows_thousands_of_digits", f"{COUNT} {frame('ROWS BETWEEN ' + '9' * 5000 + ' PRECEDING')}",
     ["(5000 digits)", "limit of 9223372036854775807 rows"], "9999"),
    ("range_interval_beyond_bigint", COUNT + " " + frame("RANGE BETWEEN INTERVAL '100000000000' DAY PRECEDING"),
     ["a range of 100000000000 DAY", "more than 9223372036854775807 microseconds"], "'100000000000' DAY"),
    ("rows_range_ms_beyond_bigint", f"{COUNT} {frame(f'ROWS_RANGE BETWEEN {HUGE} PRECEDING')}",
     [f"a range of {HUGE} MILLISECOND", "9223372036854775807 microseconds"], HUGE),
    ("rows_range_days_beyond_bigint", f"{COUNT} {frame('ROWS_RANGE BETWEEN 99999999999999d PRECEDING')}",
     ["a range of 99999999999999 DAY", "9223372036854775807"], "99999999999999d"),
    ("range_integer_time_beyond_bigint",
     f"SELECT count(*) OVER w AS c FROM evi {frame(f'RANGE BETWEEN {HUGE} PRECEDING', time='t')}",
     [f"RANGE BETWEEN {HUGE} PRECEDING", "limit of 9223372036854775807 milliseconds"], HUGE),
    ("interval_not_ascii_digits", COUNT + " " + frame("RANGE BETWEEN INTERVAL '\u00b2' DAY PRECEDING"),
     ["INTERVAL 'N' DAY"], None),
    ("integer_beyond_bigint", f"SELECT {HUGE} AS big FROM ev {W}", [f"the number {HUGE} is beyond BIGINT"], HUGE),
    ("integer_thousands_of_digits", f"SELECT {'9' * 5000} AS big FROM ev {W}", ["(5000 digits) is beyond BIGINT"],
     "9999"),
    ("double_beyond_double", f"SELECT 1e400 AS big FROM ev {W}", ["the number 1e400 is beyond DOUBLE"], "1e400"),
    ("lag_beyond_bigint", f"SELECT lag(v, {HUGE}) OVER w AS l FROM ev {W}", [f"the number {HUGE} is beyond BIGINT"],
     HUGE),
    ("nul_character", f"SELECT ip AS a\x00 FROM ev {W}", ["contains a NUL character"], "\x00"),
    ("nested_too_deep_to_parse", f"SELECT {'(' * 3000}ip{')' * 3000} AS x FROM ev {W}", ["nests too deeply"], None),
    ("nested_deeper_than_the_limit", f"SELECT {' + '.join(['ip'] * 150)} AS x FROM ev {W}",
     ["nests more than 100 levels deep"], "ip + ip"),
]


@pytest.mark.parametrize(("sql", "words", "at"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_refused_with_a_clear_message(sql: str, words: list[str], at: str | None) -> None:
    err = refused(sql)
    for w in words:
        assert w in str(err), f"{w!r} not in {err}"
    if at is not None:
        assert text_at(sql, err).startswith(at), f"{err} points at {text_at(sql, err)!r}, not {at!r}"
        assert str(err).startswith(f"line {err.line}, col {err.col}: ")
    assert err.code == "feature_sql_error"


def test_every_refusal_with_a_node_has_a_position() -> None:
    # Errors about one construct carry its place; only whole-text errors may have none.
    whole_text = {"empty", "no_from", "nested_too_deep_to_parse"}
    for case_id, sql, _, _ in BAD:
        err = refused(sql)
        if case_id not in whole_text:
            assert err.line is not None and err.col is not None, f"{case_id}: {err}"
            assert 1 <= err.line <= sql.count("\n") + 1
            assert 1 <= err.col <= len(sql.split("\n")[err.line - 1]) + 1


# -- positions after the OpenMLDB rewrites -------------------------------------------------------

MULTILINE = """SELECT
  count(*) OVER w1d AS c,
  dim.score AS s,
  {bad} AS bad
FROM ev
LAST JOIN dim ORDER BY dim.dts ON ev.ip = dim.ip
WINDOW w1d AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW),
  w10s AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 10s PRECEDING AND CURRENT ROW){tail}"""


@pytest.mark.parametrize(
    ("bad", "tail", "line", "col", "at", "words"),
    [
        # errors before the rewritten spans
        ("hour(ev.app)", "", 4, 3, "hour(ev.app)", ["hour() needs timestamp"]),
        ("app", "", 4, 3, "app AS bad", ["column app is in several tables"]),
        # errors after both rewrites, on the rewritten lines and after them
        ("ip", ",\n  w2 AS (PARTITION BY nope ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW)", 9, 23,
         "nope ORDER", ["unknown column nope"]),
        ("ip", ",\n  w2 AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW MAXSIZE 9)",
         9, 86, "MAXSIZE 9", ["MAXSIZE"]),
        ("ip", ",\n  w2 AS (PARTITION BY ip ORDER BY ts DESC)", 9, 35, "ts DESC", ["DESC"]),
        ("ip", ",\n  w2 AS (PARTITION BY ip ORDER BY ts RANGE BETWEEN 5 PRECEDING AND CURRENT ROW)", 9, 52,
         "5 PRECEDING", ["INTERVAL range"]),
        ("ip", "\nWHERE ip > 3", 9, 1, "WHERE ip > 3", ["WHERE is not supported"]),
        ("ip", "\nLIMIT 5", 9, 1, "LIMIT 5", ["LIMIT is not supported"]),
        ("ip", ",\n  w2 AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 10x PRECEDING AND CURRENT ROW)", 9, 57,
         "10x PRECEDING", ["window w2: write the range as INTERVAL"]),
    ],
)
def test_positions_point_into_the_original_text(
    bad: str, tail: str, line: int | None, col: int | None, at: str | None, words: list[str]
) -> None:
    sql = MULTILINE.format(bad=bad, tail=tail)
    err = refused(sql)
    for w in words:
        assert w in str(err)
    if line is not None:
        assert (err.line, err.col) == (line, col), f"{err} points at {text_at(sql, err)!r}"
        assert text_at(sql, err).startswith(at)  # type: ignore[arg-type]


def test_positions_on_one_line_after_rewrites() -> None:
    # Everything on one line: each rewrite changes the length of the text before the error.
    sql = (
        "SELECT count(*) OVER w AS c FROM ev LAST JOIN dim ORDER BY dim.dts ON ev.ip = dim.ip "
        "WINDOW w AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW), "
        "w2 AS (PARTITION BY ip ORDER BY ts ROWS_RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW), "
        "w3 AS (PARTITION BY ip ORDER BY ts2 DESC)"
    )
    err = refused(sql)
    assert err.line == 1
    assert text_at(sql, err).startswith("ts2 DESC")


def test_last_join_without_order_by_points_at_the_join() -> None:
    sql = "SELECT\n  dim.score AS s\nFROM ev\n  LAST JOIN dim ON ev.ip = dim.ip\n" + W
    err = refused(sql)
    assert (err.line, err.col) == (4, 3)
    assert "LAST JOIN needs ORDER BY" in str(err)


def test_unknown_last_join_order_column_points_at_it() -> None:
    sql = "SELECT\n  dim.score AS s\nFROM ev\nLAST JOIN dim\n  ORDER BY dim.when ON ev.ip = dim.ip\n" + W
    err = refused(sql)
    assert "unknown column dim.when in LAST JOIN ORDER BY" in str(err)
    assert (err.line, err.col) == (5, 3)  # the ORDER BY of the join


# -- good cases: the OpenMLDB spellings -------------------------------------------------------------


def window_frame(frame_sql: str, table: str = "ev", time: str = "ts") -> Frame:
    sql = f"SELECT count(*) OVER w AS c FROM {table} WINDOW w AS (PARTITION BY ip ORDER BY {time} {frame_sql})"
    return compile_feature_sql(sql, SCHEMAS).windows["w"].frame


@pytest.mark.parametrize(
    ("openmldb", "standard", "micros"),
    [
        ("ROWS_RANGE BETWEEN 1d PRECEDING AND CURRENT ROW",
         "RANGE BETWEEN INTERVAL '1' DAY PRECEDING AND CURRENT ROW", 86_400_000_000),
        ("ROWS_RANGE BETWEEN 2h PRECEDING AND CURRENT ROW",
         "RANGE BETWEEN INTERVAL '2' HOUR PRECEDING AND CURRENT ROW", 7_200_000_000),
        ("ROWS_RANGE BETWEEN 5m PRECEDING AND CURRENT ROW",
         "RANGE BETWEEN INTERVAL '5' MINUTE PRECEDING AND CURRENT ROW", 300_000_000),
        ("rows_range between 10s preceding and current row",
         "RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW", 10_000_000),
        ("ROWS_RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW",
         "RANGE BETWEEN INTERVAL '3000' MILLISECOND PRECEDING AND CURRENT ROW", 3_000_000),
        ("ROWS_RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
         "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", None),
    ],
)
def test_openmldb_frames_equal_standard_frames(openmldb: str, standard: str, micros: int | None) -> None:
    assert window_frame(openmldb) == window_frame(standard)
    expected = Frame("range", micros) if micros is not None else Frame("unbounded")
    assert window_frame(openmldb) == expected


def test_frames_on_an_integer_time_column_are_milliseconds() -> None:
    assert window_frame("ROWS_RANGE BETWEEN 3000 PRECEDING AND CURRENT ROW", "evi", "t") == Frame("range", 3000)
    assert window_frame("ROWS_RANGE BETWEEN 1m PRECEDING AND CURRENT ROW", "evi", "t") == Frame("range", 60_000)
    assert window_frame("RANGE BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW", "evi", "t") == Frame(
        "range", 2000
    )
    assert window_frame("RANGE BETWEEN 2500 PRECEDING AND CURRENT ROW", "evi", "t") == Frame("range", 2500)


def test_other_frames() -> None:
    assert window_frame("ROWS BETWEEN 5 PRECEDING AND CURRENT ROW") == Frame("rows", 5)
    assert window_frame("ROWS BETWEEN 0 PRECEDING AND CURRENT ROW") == Frame("rows", 0)
    assert window_frame("ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW") == Frame("unbounded")
    assert window_frame("") == Frame("unbounded")


def test_last_join_openmldb_form() -> None:
    sql = (
        "SELECT\n  count(*) OVER w AS c,\n  d.score AS s,\n  ev.app AS app\nFROM ev\n"
        "LAST JOIN dim AS d ORDER BY d.dts ON ev.ip = d.ip AND d.app = ev.app\n" + W
    )
    q = compile_feature_sql(sql, SCHEMAS)
    assert len(q.joins) == 1
    j = q.joins[0]
    assert (j.table, j.alias, j.order_by, j.on) == ("dim", "d", "dts", (("ip", "ip"), ("app", "app")))
    assert q.time_column == "ts"
    assert [f.name for f in q.features] == ["c", "s", "app"]
    assert q.features[1].expr == Col("d", "score", q.schemas["d"].kind("score"))
    assert referenced_tables(sql) == ["ev", "dim"]


def test_last_join_without_window_takes_the_time_column_of_the_same_name_or_the_only_timestamp() -> None:
    schemas = {
        "ev": TableSchema("ev", {"ip": "BIGINT", "ts": "TIMESTAMP"}),
        "dim": TableSchema("dim", {"ip": "BIGINT", "dts": "TIMESTAMP", "score": "DOUBLE"}),
    }
    q = compile_feature_sql("SELECT dim.score AS s FROM ev LAST JOIN dim ORDER BY dim.dts ON ev.ip = dim.ip", schemas)
    assert q.time_column == "ts"
    two = {**schemas, "ev": TableSchema("ev", {"ip": "BIGINT", "ts": "TIMESTAMP", "t2": "TIMESTAMP"})}
    with pytest.raises(FeatureSqlError, match="cannot tell which column of ev is its time"):
        compile_feature_sql("SELECT dim.score AS s FROM ev LAST JOIN dim ORDER BY dim.dts ON ev.ip = dim.ip", two)


def test_expression_tree() -> None:
    q = compile_feature_sql(
        "SELECT sum(v) OVER w / count(*) OVER w AS mean, count_where(v, v > 1.5) OVER w AS big, "
        "lag(app) OVER w AS prev, CAST(ip AS VARCHAR) AS ip_s, first_value(v) OVER w AS fv\n"
        f"FROM ev {W}",
        SCHEMAS,
    )
    f = {x.name: x.expr for x in q.features}
    v = Col("main", "v", Kind.FLOAT)
    assert f["mean"] == Call("/", (Agg("sum", (v,), "w", Kind.FLOAT), Agg("count_star", (), "w", Kind.INT)),
                             Kind.FLOAT)
    assert f["big"] == Agg("count_where", (v, Call(">", (v, Lit(1.5, Kind.FLOAT)), Kind.BOOL)), "w", Kind.INT)
    assert f["prev"] == Agg("lag", (Col("main", "app", Kind.STR), Lit(1, Kind.INT)), "w", Kind.STR)
    assert f["ip_s"] == Call("cast_str", (Col("main", "ip", Kind.INT),), Kind.STR)
    assert f["fv"] == Agg("first_value", (v,), "w", Kind.FLOAT)
    assert set(q.main_columns) == {"ip", "ts", "v", "app"}
