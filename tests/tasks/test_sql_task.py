"""The `sql` task type in real runs: DuckDB (in memory and in a file) and SQLAlchemy URLs
(the real PostgreSQL, a SQLite file); results as outputs; database errors as task failures."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shoal.client import Client
from shoal.engine.paths import log_path
from shoal.engine.runs import RunInfo
from tests.conftest import PG_URL, require_pg
from tests.engine.conftest import RunYaml, outputs, states


def task_log(client: Client, info: RunInfo, task: str) -> str:
    attempt = next(t.attempt for t in info.tasks if t.task == task)
    return log_path(client.store.logs_dir, info.id, task, attempt).read_text()


def task_error(info: RunInfo, task: str) -> str:
    return next(t.error for t in info.tasks if t.task == task) or ""


def test_duckdb_first_row_feeds_a_downstream_reference(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_first_row
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: "select 42 as answer, 0.8 as auc, 'cn' as region, date '2026-03-01' as day"
          - name: use
            type: shell
            upstream: [q]
            command: "echo '##shoal:set got=${q.answer}/${q.auc}/${q.region}/${q.day}'"
        """)
    assert info.state == "success", info
    # DuckDB's DECIMAL and DATE become JSON-friendly values.
    assert outputs(info, "q") == {"answer": 42, "auc": 0.8, "region": "cn", "day": "2026-03-01"}
    assert outputs(info, "use") == {"got": "42/0.8/cn/2026-03-01"}


def test_duckdb_file_url_keeps_a_table_between_tasks(run_yaml: RunYaml, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    info = run_yaml(f"""
        name: sql_duckdb_file
        tasks:
          - name: create
            type: sql
            url: "duckdb:///{db}"
            sql: "create table t as select * from range(5) r(i); insert into t values (10)"
          - name: read
            type: sql
            upstream: [create]
            url: "duckdb:///{db}"
            output: first_row
            sql: "select count(*) as n, sum(i) as total from t"
        """)
    assert info.state == "success", info
    assert outputs(info, "read") == {"n": 6, "total": 20}
    assert db.exists()


def test_rows_output_lists_rows_up_to_max_rows(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_rows
        tasks:
          - name: all
            type: sql
            output: rows
            sql: "select * from (values (1, 'a'), (2, 'b'), (3, null)) v(id, name) order by id"
          - name: capped
            type: sql
            output: rows
            max_rows: 2
            sql: "select i from range(10) r(i) order by i"
        """)
    assert info.state == "success", info
    assert outputs(info, "all") == {
        "rows": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": None}],
        "row_count": 3,
    }
    # row_count counts every row the query returned, not only the max_rows kept.
    assert outputs(info, "capped") == {"rows": [{"i": 0}, {"i": 1}], "row_count": 10}


@pytest.fixture
def pg_table() -> Iterator[str]:
    """A unique table name in the real PostgreSQL test database, dropped afterwards."""
    require_pg()
    name = f"shoal_sqltask_{uuid.uuid4().hex[:10]}"
    yield name
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    engine.dispose()


@pytest.mark.integration
def test_sqlalchemy_url_to_postgresql(run_yaml: RunYaml, pg_table: str) -> None:
    info = run_yaml(f"""
        name: sql_pg
        tasks:
          - name: load
            type: sql
            url: "{PG_URL}"
            sql: |
              create table {pg_table} (id integer primary key, score numeric(4, 2), label text);
              insert into {pg_table} values (1, 0.75, 'a'), (2, 0.90, 'b'), (3, 0.10, 'c');
          - name: stats
            type: sql
            upstream: [load]
            url: "{PG_URL}"
            output: first_row
            sql: >-
              select count(*) as n, max(score) as best, string_agg(label, ',' order by id) as labels
              from {pg_table}
        """)
    assert info.state == "success", info
    assert outputs(info, "load") == {"row_count": 3}  # the last statement's INSERT
    assert outputs(info, "stats") == {"n": 3, "best": 0.9, "labels": "a,b,c"}
    # The table really is in the database, written by the task's own connection.
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        assert conn.execute(text(f"select count(*) from {pg_table}")).scalar_one() == 3
    engine.dispose()


def test_sqlalchemy_url_to_a_sqlite_file(run_yaml: RunYaml, tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite"
    info = run_yaml(f"""
        name: sql_sqlite
        tasks:
          - name: load
            type: sql
            url: "sqlite:///{db}"
            sql: |
              create table clicks (ip text, n integer);
              insert into clicks values ('1.1.1.1', 3);
              insert into clicks values ('2.2.2.2', 4);
          - name: rows
            type: sql
            upstream: [load]
            url: "sqlite:///{db}"
            output: rows
            sql: "select ip, n from clicks order by ip"
        """)
    assert info.state == "success", info
    assert outputs(info, "rows") == {
        "rows": [{"ip": "1.1.1.1", "n": 3}, {"ip": "2.2.2.2", "n": 4}], "row_count": 2,
    }


@pytest.mark.parametrize(
    ("url", "sql", "message"),
    [
        pytest.param(None, "selec 1", 'syntax error at or near "selec"', id="duckdb"),
        pytest.param("sqlite:///{tmp}/bad.sqlite", "select * from no_such_table", "no such table: no_such_table",
                     id="sqlalchemy-sqlite"),
    ],
)
def test_bad_sql_fails_the_task_with_the_database_message(
    run_yaml: RunYaml, client: Client, tmp_path: Path, url: str | None, sql: str, message: str
) -> None:
    url_line = f'url: "{url.format(tmp=tmp_path)}"' if url else ""
    info = run_yaml(f"""
        name: sql_bad
        tasks:
          - name: bad
            type: sql
            {url_line}
            sql: "{sql}"
          - name: after
            type: shell
            upstream: [bad]
            command: "true"
        """)
    assert info.state == "failed"
    assert states(info) == {"bad": "failed", "after": "upstream_failed"}
    assert info.error is not None and "bad" in info.error
    error = task_error(info, "bad")
    assert "SQL failed" in error and message in error
    assert message in task_log(client, info, "bad")


def test_first_row_with_no_rows_is_a_clear_failure(run_yaml: RunYaml, client: Client) -> None:
    info = run_yaml("""
        name: sql_empty
        tasks:
          - name: empty
            type: sql
            output: first_row
            sql: "select 1 as x where false"
        """)
    assert info.state == "failed"
    error = task_error(info, "empty")
    assert "first_row" in error and "no rows" in error
    assert "no rows" in task_log(client, info, "empty")


def test_string_literal_with_a_colon_reaches_the_database_as_written(run_yaml: RunYaml, tmp_path: Path) -> None:
    info = run_yaml(f"""
        name: sql_colon
        tasks:
          - name: q
            type: sql
            url: "sqlite:///{tmp_path}/colon.sqlite"
            output: first_row
            sql: |
              select '{{"auc":0.8}}' as payload, 'ratio :x' as label
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q") == {"payload": '{"auc":0.8}', "label": "ratio :x"}


def test_uuid_and_interval_columns_become_json_outputs(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_types
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: "select '6f1c1e4a-8a1e-4c52-9d55-0d3c7c1c0a11'::uuid as id, interval 90 minute as wait"
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q")["id"] == "6f1c1e4a-8a1e-4c52-9d55-0d3c7c1c0a11"
    assert outputs(info, "q")["wait"]


def test_nan_output_fails_the_task_instead_of_the_engine(run_yaml: RunYaml) -> None:
    # NaN/Infinity are not JSON (PostgreSQL's JSON columns reject them): the task must fail with
    # a clear error, or store JSON-safe values; either way the run ends on both stores.
    info = run_yaml("""
        name: sql_nan
        tasks:
          - {name: q, type: sql, output: first_row, sql: "select 'nan'::double as x, 'inf'::double as y"}
          - {name: after, type: shell, upstream: [q], command: "true"}
        """)
    assert info.is_finished
    q = info.tasks[0]
    if q.state == "failed":
        assert "NaN" in (q.error or ""), q.error
        assert states(info)["after"] == "upstream_failed"
    else:
        assert q.state == "success"
        assert all(isinstance(v, str) or v is None for v in q.outputs.values()), q.outputs


def _sql_url(kind: str, tmp_path: Path) -> str | None:
    """The url of a sql task: None (in-memory DuckDB), a SQLite file, or the real PostgreSQL."""
    if kind == "postgresql":
        require_pg()
        return PG_URL
    return f"sqlite:///{tmp_path}/t.sqlite" if kind == "sqlite" else None


def _sql_task(name: str, kind: str, tmp_path: Path, sql: str, **keys: object) -> str:
    url = _sql_url(kind, tmp_path)
    lines = [f"  - name: {name}", "    type: sql"] + ([f'    url: "{url}"'] if url else [])
    lines += [f"    {k}: {v}" for k, v in keys.items()]
    lines += ["    sql: |"] + [f"      {line}" for line in sql.strip().splitlines()]
    return "\n".join(lines)


ENGINES = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.integration),
]


@pytest.mark.parametrize("kind", ENGINES)
def test_percent_signs_reach_the_database_as_written(run_yaml: RunYaml, tmp_path: Path, kind: str) -> None:
    # psycopg read '%' as placeholder syntax: LIKE 'a%' and '50%' failed, '100%s' became '100$1'.
    task = _sql_task("q", kind, tmp_path, """
        select '50%' as pct, '100%s done' as s, 'a%%b' as doubled,
               case when 'abc' like 'a%' then 1 else 0 end as liked
        """, output="first_row")
    info = run_yaml(f"name: sql_percent\ntasks:\n{task}\n")
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q") == {"pct": "50%", "s": "100%s done", "doubled": "a%%b", "liked": 1}


def test_duckdb_timestamptz_becomes_an_iso_string(run_yaml: RunYaml) -> None:
    # DuckDB needs pytz to fetch a TIMESTAMPTZ: without it, "Required module 'pytz' failed to import".
    info = run_yaml("""
        name: sql_tz
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: "set TimeZone = 'UTC'; select timestamptz '2026-03-01 12:30:00+02' as t, now() as n"
        """)
    assert info.state == "success", info.tasks[0].error
    out = outputs(info, "q")
    assert out["t"] == "2026-03-01T10:30:00+00:00"
    assert dt.datetime.fromisoformat(out["n"]).tzinfo is not None


# Per engine: SQL making a 500-row table `t` (column i), and a table-generating query of 1000 rows.
_MAKE_T = {
    "duckdb": "create table t as select range as i from range(500)",
    "sqlite": "create table t as with recursive r(i) as (select 0 union all select i + 1 from r where i < 499) "
              "select i from r",
    "postgresql": "create table {t} as select g - 1 as i from generate_series(1, 500) g",
}
_THOUSAND = {
    "duckdb": "select * from range(1000)",
    "sqlite": "with recursive r(i) as (select 1 union all select i + 1 from r where i < 1000) select i from r",
    "postgresql": "select g from generate_series(1, 1000) g",
}


@pytest.mark.slow  # a workflow of many statements per engine, 3-10 s each
@pytest.mark.parametrize("kind", ENGINES)
def test_row_count_is_rows_returned_or_rows_changed(
    run_yaml: RunYaml, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    # DuckDB keeps one database per task in memory: use a file so the tasks share `t`.
    url_key = {"url": f'"duckdb:///{tmp_path}/t.duckdb"'} if kind == "duckdb" else {}
    t = request.getfixturevalue("pg_table") if kind == "postgresql" else "t"
    make = _MAKE_T[kind].format(t=t)
    tasks = [
        _sql_task("ctas", kind, tmp_path, make, **url_key),
        _sql_task("update", kind, tmp_path, f"update {t} set i = i + 1 where i < 300", upstream="[ctas]", **url_key),
        _sql_task("none", kind, tmp_path, f"select * from {t}", upstream="[update]", **url_key),
        _sql_task("rows", kind, tmp_path, f"select i from {t} order by i", output="rows", max_rows=2,
                  upstream="[none]", **url_key),
        _sql_task("many", kind, tmp_path, _THOUSAND[kind], upstream="[rows]"),
        _sql_task("delete", kind, tmp_path, f"delete from {t} where i >= 450", upstream="[many]", **url_key),
        _sql_task("nothing", kind, tmp_path, f"update {t} set i = 0 where i < 0", upstream="[delete]", **url_key),
    ]
    info = run_yaml("name: sql_row_count\ntasks:\n" + "\n".join(tasks) + "\n")
    assert info.state == "success", [(x.task, x.error) for x in info.tasks]
    counts = {x.task: x.outputs["row_count"] for x in info.tasks}
    assert counts == {
        # Python's sqlite3 reports no rowcount for CREATE TABLE AS (-1): row_count is then 0.
        "ctas": 0 if kind == "sqlite" else 500,
        "update": 300, "none": 500, "rows": 500, "many": 1000, "delete": 50, "nothing": 0,
    }
    assert outputs(info, "rows")["rows"] == [{"i": 1}, {"i": 2}]


@pytest.mark.integration
def test_postgresql_query_result_larger_than_a_fetch_chunk_is_counted(run_yaml: RunYaml) -> None:
    require_pg()
    info = run_yaml(f"""
        name: sql_pg_big
        tasks:
          - name: q
            type: sql
            url: "{PG_URL}"
            output: rows
            max_rows: 3
            sql: "select g from generate_series(1, 25000) g order by g"
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q") == {"rows": [{"g": 1}, {"g": 2}, {"g": 3}], "row_count": 25000}


def test_sqlite_trigger_body_is_one_statement(run_yaml: RunYaml, tmp_path: Path) -> None:
    # The ';' inside BEGIN ... END (and the CASE ... END within) must not end the statement.
    info = run_yaml(f"""
        name: sql_trigger
        tasks:
          - name: q
            type: sql
            url: "sqlite:///{tmp_path}/trig.sqlite"
            output: rows
            sql: |
              create table clicks (n integer);
              create table audit (msg text);
              create trigger log_click after insert on clicks
              begin
                insert into audit values (case when new.n > 1 then 'many; clicks' else 'one' end);
                insert into audit values ('done');
              end;
              insert into clicks values (1), (5);
              select msg from audit order by rowid;
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q")["rows"] == [
        {"msg": "one"}, {"msg": "done"}, {"msg": "many; clicks"}, {"msg": "done"},
    ]


def test_unterminated_string_is_a_clean_sql_failure(run_yaml: RunYaml, client: Client, tmp_path: Path) -> None:
    info = run_yaml(f"""
        name: sql_unterminated
        tasks:
          - name: bad
            type: sql
            url: "sqlite:///{tmp_path}/u.sqlite"
            sql: "select 1; select 'abc"
        """)
    assert info.state == "failed"
    error = task_error(info, "bad")
    assert error.startswith("SQL failed") and "Missing '" in error, error
    assert "Traceback" not in task_log(client, info, "bad")


@pytest.mark.integration
def test_postgresql_statements_run_as_written(run_yaml: RunYaml, pg_table: str) -> None:
    # The split used to re-generate each statement through sqlglot: serial became an identity column.
    info = run_yaml(f"""
        name: sql_pg_verbatim
        tasks:
          - name: q
            type: sql
            url: "{PG_URL}"
            output: first_row
            sql: |
              create table {pg_table} (id serial primary key, label text);  -- a comment; with a ';'
              insert into {pg_table} (label) values ($$semi;colon$$), ('it''s');
              select c.is_identity, c.column_default like 'nextval(%' as from_sequence,
                     (select string_agg(label, '|' order by id) from {pg_table}) as labels
              from information_schema.columns c
              where c.table_name = '{pg_table}' and c.column_name = 'id';
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q") == {"is_identity": "NO", "from_sequence": True, "labels": "semi;colon|it's"}
